"""Every way a fetch is refused: one exception class each, a stable code, a sentence for the member.

The code is what a route maps to a status and what tests assert; the message is shown to the
member as it is, so it never holds the link (which may carry a password or a token).
"""

from __future__ import annotations

MIB = 1024 * 1024


class FetchError(Exception):
    """A link that was not fetched. `code` is stable; `message` is for the member."""

    code = "fetch_failed"
    message = "The link could not be fetched."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class BadUrl(FetchError):
    code = "bad_url"
    message = "That is not a web address we can open: paste a link that starts with https://."


class BadScheme(FetchError):
    code = "bad_scheme"
    message = "Only http:// and https:// links can be imported."


class NotPublic(FetchError):
    code = "not_public"
    message = "That address is not on the public internet."


class FetchTimeout(FetchError):
    code = "timeout"
    message = "The link did not answer in time."


class NotAPicture(FetchError):
    code = "not_a_picture"
    message = "That link is not a picture."


class TooLarge(FetchError):
    code = "too_large"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"The picture at that link is larger than {max_bytes / MIB:g} MB.")


class TooManyRedirects(FetchError):
    code = "too_many_redirects"

    def __init__(self, max_redirects: int) -> None:
        super().__init__(f"The link redirected more than {max_redirects} times.")


class ErrorStatus(FetchError):
    code = "error_status"

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"The link answered {status}.")


class Unreachable(FetchError):
    """The name does not resolve, nothing accepts the connection, or TLS fails."""

    code = "unreachable"
    message = "The link could not be reached."


class BadAnswer(FetchError):
    """The server's answer broke HTTP: cut short, malformed, or in an encoding we refuse."""

    code = "bad_answer"
    message = "The link's answer could not be read."
