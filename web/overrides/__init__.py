"""Every override of, or reliance on, Litestar's and uvicorn's internals: one module each, named
for what it overrides, its docstring saying what it relies on upstream and why; each has a
canary test in tests/unit/test_overrides.py that fails, naming the upstream behaviour and its
issue, when an upgrade changes what the module relies on. The list: docs/architecture.md
("Overrides").

- server_limits: uvicorn's HTTP protocol classes (header deadline, 431, connection cap 503)
- sessions: Litestar's server-side session backend (no row for an empty session, id renewal)
- upload_memory: the default of UploadFile's `max_spool_size` (uploads parsed in memory)
- csrf_token: Litestar's CSRF token scheme and where the templates read the token
- litestar_entry: what `Litestar.__call__` does, for the /events stream that skips it
- worker_config: uvicorn's Config for `ppsync serve --workers N`, the protocol made per worker
- send_at_once: uvicorn's `send` run one step, for the fan-out's write to a waiting stream
"""
