"""A live, gap-free subscription to a write node's events.

The write node publishes each committed event once on PUB, where it can be
lost (a late join, a slow subscriber). A :class:`Subscription` turns PUB and
the replay endpoint into one ordered sequence, as the query node's feed does
(spec section 10.7):

* it holds ``expected``, the next position to hand out, and ``head``, the
  highest position known committed (from events, heartbeats and replays);
* an event below ``expected`` is dropped (old or repeated), the one at
  ``expected`` is handed out, one above it is held: a gap;
* while ``expected <= head`` and every ready event was taken (one batch of
  credit: never more than one REPLAY out), it asks the replay endpoint for
  the events from ``expected`` (REPLAY, at most 1000) and takes the EVENTS
  answer like live events. A REPLAY unanswered for ``replay_timeout`` is
  sent again on a new socket; an empty batch or an ERROR waits 0.2 s.

A filtered subscription (a ``stream``, a ``category``, event ``types``)
subscribes to the topics that name what it takes, so the write node's PUB
sends it nothing else (types without a stream are sorted out here), and
its REPLAYs carry the filter. Positions it hands out are not consecutive:
``expected`` moves on past what a batch covers (its ``to``), past an event
of another type, and, for one stream, past an event whose version follows
the last one taken (a stream's versions have no holes), so it still proves
that it missed nothing it takes.
"""

from __future__ import annotations

import collections
import os
import time
from typing import Any, Deque, Dict, Iterator, Optional, Sequence

import zmq

from . import protocol
from .sockets import Sockets, receive_waiting, send

_MAX_HELD = 10000  # early events held while a gap is repaired
_BACKOFF = 0.2  # seconds after an empty batch or an ERROR


class Subscription:
    """Events from ``from_position`` on, in position order and without gaps.

    Made by :meth:`zcqrs.Client.subscribe`. Iterate over it (blocks) or call
    :meth:`next` with a time-out; each event is an EVENT
    :class:`~zcqrs.protocol.Message` (``position``, ``stream``, ``version``,
    ``type``, ``data``, ``meta``). ``gaps`` counts holes found in the live
    stream, ``replayed`` events received through replay. Close it (or use it
    as a context manager) to close its sockets.
    """

    def __init__(self, sockets: Sockets, events: str, replay: str, from_position: int = 1,
                 replay_timeout: float = 2.0, stream: str = "", category: str = "",
                 types: Sequence[str] = (), since: int = 0) -> None:
        if from_position < 1:
            raise ValueError("positions start at 1, got %d" % from_position)
        if len(types) > protocol.MAX_TYPES:
            raise ValueError("at most %d types, got %d" % (protocol.MAX_TYPES, len(types)))
        self.stream, self.category, self.types = stream, category, list(types)
        self.since = since  # us since the epoch: start at the first event decided then
        # One stream, every type: its versions follow on one by one
        self._by_stream = bool(stream) and not types
        # The stream's version at expected - 1, when known
        self._version = 0 if from_position == 1 and not since else None
        self.expected = from_position  #: next position to hand out
        self.head = 0  #: highest position known committed
        self.gaps = 0  #: holes found in the live stream
        self.replayed = 0  #: events received through replay
        self.replay_timeout = replay_timeout
        self._sockets = sockets
        self._replay_endpoint = replay
        self._sub: Optional[zmq.Socket] = sockets.subscriber(
            events, protocol.filter_prefixes(stream, category, self.types))
        self._replay: Optional[zmq.Socket] = sockets.dealer(replay)
        self._held: Dict[int, Dict[str, Any]] = {}  # position -> EVENT fields, above expected
        self._ready: Deque[protocol.Message] = collections.deque()  # to hand out, in order
        self._out: Optional[protocol.Message] = None  # the REPLAY out, or None
        self._out_since = 0.0  # when it was sent (monotonic seconds)
        self._quiet_until = 0.0  # back-off end (monotonic seconds)
        self._ask(force=True)  # at once: learns the head, fills from the start

    def close(self) -> None:
        """Close the subscription's sockets."""
        for sock in (self._sub, self._replay):
            if sock is not None:
                sock.close()
        self._sub = self._replay = None

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[protocol.Message]:
        return self

    def __next__(self) -> protocol.Message:
        event = self.next(timeout=None)
        assert event is not None  # without a timeout, next waits for one
        return event

    def next(self, timeout: Optional[float] = None) -> Optional[protocol.Message]:
        """The next event, or None after `timeout` seconds (None: wait for ever)."""
        if self._sub is None:
            raise ValueError("the subscription is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = zmq.Poller()
        poller.register(self._sub, zmq.POLLIN)
        poller.register(self._replay, zmq.POLLIN)
        while not self._ready:
            now = time.monotonic()
            if self._out is not None and now - self._out_since > self.replay_timeout:
                self._resend()
                poller = zmq.Poller()
                poller.register(self._sub, zmq.POLLIN)
                poller.register(self._replay, zmq.POLLIN)
            self._ask()
            if deadline is not None and now >= deadline:
                return None
            # Wake for the deadline, a replay time-out or the end of a back-off
            wake = [0.1]
            if deadline is not None:
                wake.append(deadline - now)
            ready = dict(poller.poll(max(1, int(min(wake) * 1000))))
            if self._sub in ready:
                for message in receive_waiting(self._sub):
                    self._on_live(message)
            if self._replay is not None and self._replay in ready:
                for message in receive_waiting(self._replay):
                    self._on_replay(message)
        return self._ready.popleft()

    # --- Inside ---------------------------------------------------------------

    def _filtered(self) -> bool:
        return bool(self.stream or self.category or self.types)

    def _take(self, fields: Dict[str, Any], proven: bool = False) -> None:
        """Order one event: hand out, hold or drop it. proven: a replay batch
        covers every position from expected to this one."""
        position = fields["position"]
        self.head = max(self.head, position)
        if position < self.expected:
            return  # old or repeated
        if not protocol.filter_takes(self.stream, self.category, self.types, fields):
            if position == self.expected:  # not ours, but it fills its position
                self.expected += 1
                self._release()
            return
        if (self._by_stream and self._version is not None
                and fields["version"] == self._version + 1):
            proven = True
        if position > self.expected and proven:
            self.expected = position
        if position > self.expected:
            if not self._held:
                self.gaps += 1
            if len(self._held) < _MAX_HELD:
                self._held[position] = fields
            return  # others come back by replay
        self._hand_out(fields)
        self._release()

    def _hand_out(self, fields: Dict[str, Any]) -> None:
        self._ready.append(protocol.Message("EVENT", **fields))
        self.expected = fields["position"] + 1
        if self._by_stream:
            self._version = fields["version"]

    def _release(self) -> None:
        """Hand out held events that now follow on; forget those now old."""
        for position in [p for p in self._held if p < self.expected]:
            del self._held[position]
        while self.expected in self._held:
            self._hand_out(self._held.pop(self.expected))

    def _on_live(self, message: protocol.Message) -> None:
        if message.kind == "EVENT":
            self._take(message.fields)
        elif message.kind == "HEARTBEAT":
            self.head = max(self.head, message["head"])

    def _on_replay(self, message: protocol.Message) -> None:
        """An EVENTS answer counts only if it answers the REPLAY that is out."""
        if self._out is None or message["id"] != self._out["id"]:
            return
        asked = self._out
        self._out = None
        if message.kind == "ERROR" or message["from"] != asked["from"]:
            self._quiet_until = time.monotonic() + _BACKOFF
            return
        self.head = max(self.head, message["head"])
        expected = self.expected
        for fields in message["events"]:
            self.replayed += 1
            self._take(fields, proven=True)
        # Nothing it takes lies between the batch's events, up to what it covers
        covered = protocol.covered(message)
        if len(message["events"]) == message["count"] and covered >= self.expected:
            self.expected = covered + 1
            self._release()
        if not message["events"] and self.expected == expected:
            self._quiet_until = time.monotonic() + _BACKOFF

    def _ask(self, force: bool = False) -> None:
        """Send a REPLAY if one is due (see the module's description)."""
        if self._out is not None:
            return
        due = self.expected <= self.head and not self._ready
        if not force and (not due or time.monotonic() < self._quiet_until):
            return
        self._out = protocol.Message("REPLAY", id=os.urandom(8), max=protocol.MAX_EVENTS,
                                     stream=self.stream, category=self.category,
                                     types=self.types, since=self.since,
                                     **{"from": self.expected})
        self._out_since = time.monotonic()
        if self._replay is not None:
            send(self._replay, self._out)

    def _resend(self) -> None:
        """Lazy Pirate for replay: a new socket, the same REPLAY again."""
        if self._replay is None or self._out is None:
            return  # closed, or nothing out
        self._replay.close()
        self._replay = self._sockets.dealer(self._replay_endpoint)
        self._out_since = time.monotonic()
        self._out.fields["from"] = self.expected  # live events may have moved it on
        send(self._replay, self._out)
