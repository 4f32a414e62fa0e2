"""zcqrs: a Python client of the zcqrs CQRS event backbone (protocol ZCQ1).

    from zcqrs import Client
    with Client("tcp://127.0.0.1:5601", queries=["tcp://127.0.0.1:5611"]) as client:
        reply = client.send("OpenAccount", "acct-1", {"owner": "alice"}, expect=0)
        print(client.query("account", {"id": "acct-1"})["result"])

Needs only Debian's python3-zmq and python3-msgpack.
"""

from .client import ANY_NODE, WRITE_NODE, Client, Node
from .errors import (BadVersion, Busy, Conflict, DecodeError, EncodeError, Forbidden,
                     Invalid, NotFound, NotLeader, ProtocolError, Rejected, RequestFailed,
                     Stale, Timeout, TooLarge, Unavailable, Unknown, ZcqrsError)
from .protocol import Message
from .subscription import Subscription
from .watcher import Watcher

#: The version of this package: that of the zcqrs C library and nodes it
#: ships with (lib/zcqrs.h, ZCQRS_VERSION_*)
__version__ = "0.2.0"

__all__ = ["__version__", "Client", "Subscription", "Watcher", "Message", "WRITE_NODE", "ANY_NODE",
           "Node", "ZcqrsError", "ProtocolError", "DecodeError", "EncodeError", "Timeout",
           "RequestFailed", "Rejected", "Conflict", "Invalid", "Unknown", "TooLarge",
           "BadVersion", "NotFound", "Stale", "Unavailable", "Busy", "Forbidden", "NotLeader"]
