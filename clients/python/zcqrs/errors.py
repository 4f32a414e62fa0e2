"""Exceptions of the zcqrs client: one class per failure a node can answer.

Every answer with a failure status raises the class named after it (status
``rejected`` raises :class:`Rejected`, ...); all derive from
:class:`RequestFailed`, which carries the answer. :class:`Timeout` means no
answer came in time, after every retry.
"""

from typing import Any, Dict, Optional, Type


class ZcqrsError(Exception):
    """Base class of every error this package raises."""


class ProtocolError(ZcqrsError):
    """A message that breaks the ZCQ1 protocol (see the subclasses)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__("%s: %s" % (status, reason))
        self.status = status  #: the status a node would answer ("invalid", ...)
        self.reason = reason  #: what was wrong, in the words of the C codec


class DecodeError(ProtocolError):
    """Frames that do not decode. ``message_type`` is the type named in frame
    2 when it was known, ``id`` the request id if it was read before the error.
    """

    def __init__(self, status: str, reason: str, message_type: Optional[str],
                 id: Optional[bytes]) -> None:
        super().__init__(status, reason)
        self.message_type = message_type
        self.id = id


class EncodeError(ProtocolError, ValueError):
    """A message this side refuses to send (over a limit, no command id, ...)."""


class Timeout(ZcqrsError):
    """No answer in time, after every attempt (the request may still be done:
    resend a command with the same id to learn its outcome)."""


class RequestFailed(ZcqrsError):
    """A node answered with a failure status.

    ``answer`` is the REPLY, RESULT or ERROR message; ``status`` and
    ``reason`` are its fields.
    """

    status: Optional[str] = None

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.reason = answer["reason"]
        self.status = answer["status"]
        super().__init__("%s: %s" % (self.status, self.reason))


class Rejected(RequestFailed):
    """A domain rule refused the command (stored: resending the id gives this again)."""


class Conflict(RequestFailed):
    """The command's expected version did not match the stream's."""


class Invalid(RequestFailed):
    """A malformed message, a missing or mistyped field, or data the domain refuses."""


class Unknown(RequestFailed):
    """An unknown message type, command type or query name."""


class TooLarge(RequestFailed):
    """A frame or field over its limit."""


class BadVersion(RequestFailed):
    """The node does not speak this protocol version."""


class NotFound(RequestFailed):
    """The query's target does not exist."""


class Stale(RequestFailed):
    """The answer reflects a position below the asked min_position; ``answer``
    still holds the result at that position."""


class Unavailable(RequestFailed):
    """Storage failed on the node; nothing was stored (retried before raising)."""


class Busy(RequestFailed):
    """The node is saturated (retried before raising)."""


class Forbidden(RequestFailed):
    """The client's key lacks the role the request needs; nothing was stored."""


class NotLeader(RequestFailed):
    """A write-group member that does not lead answered (retried at the leader before raising)."""


_BY_STATUS: Dict[str, Type[RequestFailed]] = {
    "rejected": Rejected, "conflict": Conflict, "invalid": Invalid, "unknown": Unknown,
    "too_large": TooLarge, "bad_version": BadVersion, "not_found": NotFound,
    "stale": Stale, "unavailable": Unavailable, "busy": Busy, "forbidden": Forbidden,
    "not_leader": NotLeader,
}


def error_for(answer: Any) -> RequestFailed:
    """The exception for an answer with a failure status."""
    return _BY_STATUS.get(answer["status"], RequestFailed)(answer)
