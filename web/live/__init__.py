"""Live sync inside the server: channel (the avatars channel, its SSE frames, a stream's queue),
transport (Redis pub/sub that never dies), feed (each event once, in order, the database filling
any gap) and hub (the process's live hub, a façade over streams, link, upkeep, freezer and
shutdown: see its docstring). The stream itself: web/live/events.py."""
