"""zcqrs: a Python client of the zcqrs CQRS event backbone (protocol ZCQ1).

    from zcqrs import Client
    with Client("tcp://127.0.0.1:5601", queries=["tcp://127.0.0.1:5611"]) as client:
        reply = client.send("OpenAccount", "acct-1", {"owner": "alice"}, expect=0)
        print(client.query("account", {"id": "acct-1"})["result"])

Needs only Debian's python3-zmq and python3-msgpack.
"""

from .client import ANY_NODE, WRITE_NODE, Client
from .errors import (BadVersion, Busy, Conflict, DecodeError, EncodeError, Invalid,
                     NotFound, NotLeader, ProtocolError, Rejected, RequestFailed, Stale, Timeout,
                     TooLarge, Unavailable, Unknown, ZcqrsError)
from .protocol import Message
from .subscription import Subscription

__all__ = ["Client", "Subscription", "Message", "WRITE_NODE", "ANY_NODE", "ZcqrsError",
           "ProtocolError",
           "DecodeError", "EncodeError", "Timeout", "RequestFailed", "Rejected", "Conflict",
           "Invalid", "Unknown", "TooLarge", "BadVersion", "NotFound", "Stale", "Unavailable",
           "Busy", "NotLeader"]
