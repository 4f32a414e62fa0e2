"""ZeroMQ sockets as every zcqrs client socket is set up, and one answer read
from them.

A :class:`Sockets` makes DEALER and SUB sockets with the same options: no
linger (closing never blocks), the protocol's 16 MiB receive limit, and CURVE
when a server key is given. It holds no socket itself.
"""

from __future__ import annotations

import logging
import time
from typing import List, Optional, Sequence, Union

import zmq

from . import protocol
from .errors import DecodeError

log = logging.getLogger("zcqrs")


class Sockets:
    """Makes the client's sockets on one ZeroMQ context.

    ``curve_server_key`` is the cluster's public key; ``curve_public_key`` and
    ``curve_secret_key`` the client's keypair (Z85 text, 40 characters, or 32
    raw bytes, as pyzmq takes them). Without a server key, sockets are plain.
    A client keypair is made with ``zmq.curve_keypair()`` when only the server
    key is given.
    """

    def __init__(self, context: zmq.Context, curve_server_key: Optional[Union[str, bytes]] = None,
                 curve_public_key: Optional[Union[str, bytes]] = None,
                 curve_secret_key: Optional[Union[str, bytes]] = None) -> None:
        self.context = context
        self.curve = None
        if curve_server_key is not None:
            if not zmq.has("curve"):
                raise RuntimeError("this libzmq has no CURVE support")
            if curve_public_key is None or curve_secret_key is None:
                curve_public_key, curve_secret_key = zmq.curve_keypair()
            self.curve = tuple(_key(key) for key in
                               (curve_server_key, curve_public_key, curve_secret_key))

    def _socket(self, kind: int) -> zmq.Socket:
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, protocol.HARD_MAXMSG)
        if self.curve:
            sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = self.curve
        return sock

    def dealer(self, endpoint: str) -> zmq.Socket:
        """A DEALER connected to endpoint."""
        sock = self._socket(zmq.DEALER)
        sock.connect(endpoint)
        return sock

    def subscriber(self, endpoint: str,
                   prefixes: Sequence[bytes] = (protocol.SIGNATURE,)) -> zmq.Socket:
        """A SUB connected to endpoint, subscribed to these topic prefixes
        (default: every message of this protocol)."""
        sock = self._socket(zmq.SUB)
        for prefix in prefixes:
            sock.setsockopt(zmq.SUBSCRIBE, prefix)
        sock.connect(endpoint)
        return sock


def _key(key: Optional[Union[str, bytes]]) -> Optional[bytes]:
    return key.encode("ascii") if isinstance(key, str) else key


def send(sock: zmq.Socket, message: protocol.Message) -> bool:
    """Encode and send a message without blocking; False if it could not go out."""
    try:
        sock.send_multipart(protocol.encode(message), flags=zmq.NOBLOCK)
        return True
    except zmq.Again:
        return False


def _decode(sock: zmq.Socket, frames: List[bytes]) -> protocol.Message:
    """A SUB receives a topic frame first (spec section 10.5)."""
    if sock.type == zmq.SUB:
        return protocol.decode_published(frames)
    return protocol.decode(frames)


def receive(sock: zmq.Socket, deadline: float) -> Optional[protocol.Message]:
    """The next message that decodes, or None once the monotonic deadline passes.

    Messages that do not decode are logged and dropped.
    """
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(int(left * 1000) + 1, zmq.POLLIN):
            if time.monotonic() >= deadline:
                return None
            continue
        frames = sock.recv_multipart(copy=True)
        try:
            return _decode(sock, frames)
        except DecodeError as error:
            log.warning("zcqrs: dropped a message that does not decode: %s", error)


def receive_waiting(sock: zmq.Socket, most: int = 1000) -> List[protocol.Message]:
    """The messages already waiting on sock (at most `most`) that decode."""
    messages = []
    for _ in range(most):
        try:
            frames = sock.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            break
        try:
            messages.append(_decode(sock, frames))
        except DecodeError as error:
            log.warning("zcqrs: dropped a message that does not decode: %s", error)
    return messages


def answers(message: protocol.Message, want: str, id: Optional[bytes]) -> bool:
    """True if message is the answer (of type `want`, or ERROR) to the request
    with this id. An answer with no id answers a request the node could not
    read far enough to find its id: on a DEALER of our own, that is ours."""
    return message.kind in (want, "ERROR") and message.fields.get("id") in (id, None)
