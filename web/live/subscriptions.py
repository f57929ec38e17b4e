"""POST /events/subscriptions: a new set of members for an open stream to follow.

The browser's stream-holding tab sends it whenever the union of what its tabs show changes
(static/js/live-sync.js): `{"stream": "<the id sync-ready gave>", "seq": 7, "members": [42, 43]}`.
The set replaces the stream's (the viewer stays in it); a later `seq` wins. Once the set is in
force, the stream itself says `event: subscribed` with its `seq`, and the page then checks the
avatars it added (what changed before they were followed). Answers:

- 204: in force on this process (or an older `seq`, ignored);
- 202: the stream is not here; every process was told through Redis, and the one holding it
  applies it (its `subscribed` frame is the confirmation);
- 404: no process can hold it (no Redis, and it is not here: it ended, or another process
  without Redis holds it); the tab reconnects with the set in the stream's URL instead;
- 503 + Retry-After: it is not here and Redis is away; the tab reconnects with the set too;
- 400: a malformed body, a member id out of range, more than EVENTS_MEMBERS_PER_STREAM members;
- 403: no CSRF token (Litestar's CSRF middleware, as for every form).

The stream's id is 128 random bits, sent only to the stream's reader: knowing it is the right
to change what that stream carries, and nothing more.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.exceptions import (
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.params import JSONBody
from litestar.response import Response

from web.live.hub import live_hub
from web.live.topics import Subscription, TooManyMembers, check_ceiling
from web.plumbing.deps import settings_of
from web.plumbing.replies import RETRY_AFTER_DRAINING, retry_after

GONE = "No open stream has this id here; reconnect with the members in the stream's URL."
UNSENT = "The stream is not on this process and the others can't be told just now; reconnect."


@post("/events/subscriptions", status_code=204)
async def change_subscriptions(
    request: Request[Any, Any, Any], data: JSONBody[Subscription]
) -> Response[None]:
    try:
        check_ceiling(data.members, settings_of(request.app.state).events_members_per_stream)
    except TooManyMembers as error:
        raise ValidationException(str(error)) from None
    outcome = await live_hub(request.app).resubscribe(data)
    if outcome == "unknown":
        raise NotFoundException(GONE)
    if outcome == "unsent":
        raise ServiceUnavailableException(UNSENT, headers=retry_after(RETRY_AFTER_DRAINING))
    return Response(None, status_code=202 if outcome == "forwarded" else 204)
