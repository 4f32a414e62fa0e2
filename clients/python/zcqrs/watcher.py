"""Live queries on one query node (spec section 10.17).

A :class:`Watcher` holds one DEALER to a query node and any number of
watches: named queries with their params whose result the node sends at
once, and again each time an applied batch changes it. As the C watcher
(``lib/client/zcq_watcher.h``) does, it ACKs each UPDATE as it hands it over
(the node then sends the next, which is the newest: a slow reader skips
results, it never queues them), renews its lease every third of it while
the caller is quiet, and watches again by itself when the node says it does
not hold a watch (it restarted, or the lease ran out) or names a new
incarnation.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

import zmq

from . import protocol
from .sockets import Sockets, receive, send

_LEASE_GUESS = 10.0  # seconds: the node's lease until an UPDATE says it


class Watcher:
    """Watches on the query node at ``endpoint``.

    Made by :meth:`zcqrs.Client.watcher` (or with a
    :class:`~zcqrs.sockets.Sockets`). :meth:`watch` returns a watch's number;
    :meth:`next` returns ``(number, update)``: an UPDATE
    :class:`~zcqrs.protocol.Message` with ``seq`` >= 1 is a result
    (``status``, ``result``, ``position``, ``may_be_stale``), ``seq`` 0 a
    refusal after which the watch is not held. ``rewatches`` counts watches
    sent again because the node lost them. Close it (or use it as a context
    manager) to close its socket.
    """

    def __init__(self, sockets: Sockets, endpoint: str) -> None:
        self._sock: Optional[zmq.Socket] = sockets.dealer(endpoint)
        self._watches: List[Tuple[str, Dict[str, Any]]] = []  # number -> (name, params)
        self._held: List[bool] = []  # number -> watching (not unwatched nor refused)
        self.lease = _LEASE_GUESS  #: seconds the node keeps a silent client's watches
        self.incarnation = ""  #: the node's, as its last UPDATE said
        self.rewatches = 0  #: watches sent again after the node lost them
        self._sent_at = time.monotonic()

    def close(self) -> None:
        """Close the socket (the node drops the watches when the lease ends)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def watch(self, name: str, params: Optional[Dict[str, Any]] = None) -> int:
        """Watch query ``name`` with ``params``; returns the watch's number.

        Raises :class:`~zcqrs.errors.EncodeError` if the WATCH breaks a limit.
        """
        number = len(self._watches)
        message = self._message("WATCH", number, name=name, params=params or {})
        protocol.encode(message)  # raises before anything is kept
        self._watches.append((name, params or {}))
        self._held.append(True)
        self._send(message)
        return number

    def unwatch(self, number: int) -> None:
        """Stop a watch; its updates still on the way are dropped."""
        if 0 <= number < len(self._held) and self._held[number]:
            self._held[number] = False
            self._send(self._message("UNWATCH", number))

    def next(self, timeout: Optional[float] = None
             ) -> Optional[Tuple[int, protocol.Message]]:
        """The next update of a watch, as ``(number, update)``, or None after
        ``timeout`` seconds (None: wait for ever)."""
        if self._sock is None:
            raise ValueError("the watcher is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._renew()
            now = time.monotonic()
            wake = self._sent_at + self.lease / 3
            if deadline is not None:
                if now >= deadline:
                    return None
                wake = min(wake, deadline)
            update = receive(self._sock, max(wake, now + 0.001))
            if update is None or update.kind != "UPDATE":
                continue
            number = self._number(update)
            if number is not None and self._take(update, number):
                return number, update

    # --- Inside ---------------------------------------------------------------

    def _message(self, kind: str, number: int, **fields: Any) -> protocol.Message:
        return protocol.Message(kind, id=b"w%d" % number, **fields)

    def _send(self, message: protocol.Message) -> None:
        assert self._sock is not None
        send(self._sock, message)  # one that cannot go out is made good by the renewal
        self._sent_at = time.monotonic()

    def _number(self, update: protocol.Message) -> Optional[int]:
        id = update["id"] or b""
        if len(id) < 2 or not id.startswith(b"w") or not id[1:].isdigit():
            return None
        number = int(id[1:])
        return number if number < len(self._watches) else None

    def _renew(self) -> None:
        """An ACK with seq 0 of the first watch held, a third of the lease
        after anything was last sent."""
        if time.monotonic() - self._sent_at < self.lease / 3:
            return
        for number, held in enumerate(self._held):
            if held:
                self._send(self._message("ACK", number, seq=0))
                return

    def _rewatch(self) -> None:
        for number, (name, params) in enumerate(self._watches):
            if self._held[number]:
                self._send(self._message("WATCH", number, name=name, params=params))
                self.rewatches += 1

    def _take(self, update: protocol.Message, number: int) -> bool:
        """ACK a result, watch again what the node lost; True if the caller gets it."""
        if not self._held[number]:
            return False  # unwatched meanwhile
        if update["lease"]:
            self.lease = update["lease"] / 1000.0
        incarnation = update["incarnation"]
        restarted = bool(self.incarnation and incarnation and incarnation != self.incarnation)
        if incarnation:
            self.incarnation = incarnation
        if update["seq"] == 0 and update["status"] == "not_found":
            self._rewatch()
            return False
        if restarted:
            self._rewatch()  # a new node answered: the other watches are lost too
        if update["seq"] == 0:
            self._held[number] = False  # refused
            return True
        self._send(self._message("ACK", number, seq=update["seq"]))
        return True
