"""The zcqrs client: commands with retries, queries with read-your-writes,
pipelined sends and live event subscriptions.

Retries follow the C library and the spec (section 10.4.1, the zguide's Lazy
Pirate pattern): one call has a time budget shared among at most ``attempts``
sends. When an attempt gets no answer in its share, the client closes its
socket, opens a new one and sends the same request again; on ``busy`` or
``unavailable`` it waits the node's ``retry_after`` hint (or a back-off that
doubles from 20 ms to 1 s, with jitter) and sends it again. A command keeps
its 16-byte id across every attempt, so the write node stores it at most once
and answers a repeat with the first outcome.

A client of a write group is given every member (``commands`` a list, or one
string with commas): on ``not_leader`` it sends the command again at once to
the leader the reply names, or to the next member after the hint, and an
unanswered attempt also moves it to the next member.
"""

from __future__ import annotations

import datetime
import os
import random
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import zmq

from . import protocol
from .errors import Timeout, error_for
from .sockets import Sockets, answers, receive, send
from .subscription import Subscription
from .watcher import Watcher

DEFAULT_COMMANDS = "tcp://127.0.0.1:5601"
DEFAULT_EVENTS = "tcp://127.0.0.1:5602"
DEFAULT_REPLAY = "tcp://127.0.0.1:5603"
DEFAULT_QUERIES = ("tcp://127.0.0.1:5611",)
WRITE_NODE = -1  #: ``node`` value that sends a query to the write node ("status" only)
ANY_NODE = -2  #: ``node`` value that spreads queries over every query node

#: Which query node: an index into ``queries``, an endpoint, WRITE_NODE or ANY_NODE
Node = Union[int, str]

_RETRYABLE = ("busy", "unavailable")  # statuses resent (a query also on "stale")
_ATTEMPT_MIN = 0.1  # shortest wait for one attempt's answer (seconds)
_BACKOFF_FIRST = 0.02  # first pause before a retry without a hint (seconds)
_BACKOFF_MAX = 1.0  # longest pause before a retry (seconds)
_SKIP = 1.0  # a query node that did not answer is first passed over this long (seconds)


class Client:
    """A connection to one zcqrs cluster.

    Use it as a context manager (or call :meth:`close`)::

        with Client("ipc:///tmp/zcq/commands", queries=["ipc:///tmp/zcq/q1"]) as client:
            reply = client.send("Deposit", "acct-1", {"amount": 250})
            account = client.query("account", {"id": "acct-1"})

    ``timeout`` is the time budget (seconds) of one call, retries included;
    ``attempts`` the most sends of one request, the first included (1: no
    retries). In ``consistent`` mode (the default)
    every query carries the highest position this client saw accepted as
    ``min_position``, so the client always reads its own writes. CURVE keys:
    see :class:`zcqrs.sockets.Sockets`. A client is not thread-safe; it owns
    its ZeroMQ context unless one is passed in.
    """

    def __init__(self, commands: Union[str, Sequence[str]] = DEFAULT_COMMANDS,
                 queries: Sequence[str] = DEFAULT_QUERIES, events: str = DEFAULT_EVENTS,
                 replay: str = DEFAULT_REPLAY, timeout: float = 5.0, attempts: int = 5,
                 consistent: bool = True, curve_server_key: Optional[Union[str, bytes]] = None,
                 curve_public_key: Optional[Union[str, bytes]] = None,
                 curve_secret_key: Optional[Union[str, bytes]] = None,
                 context: Optional[zmq.Context] = None) -> None:
        if isinstance(commands, str):
            commands = [member for member in commands.split(",") if member]
        self.members = list(commands)  #: every write group member's commands endpoint
        self.endpoints = {"commands": self.members[0], "events": events, "replay": replay}
        self.query_endpoints = list(queries)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self._random = random.Random()  # jitter of back-offs
        self.consistent = consistent
        self.position = 0  #: highest position this client saw in an accepted reply
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.sockets = Sockets(self.context, curve_server_key, curve_public_key,
                               curve_secret_key)
        self._commands: Optional[zmq.Socket] = None  # DEALER to the write node, when used
        self._queries: Dict[int, zmq.Socket] = {}  # query node index -> DEALER
        self._early: List[protocol.Message] = []  # replies to posted commands met early
        self._subscriptions: List[Subscription] = []  # closed with the client
        self._watchers: List[Watcher] = []  # closed with the client
        self._next_node = 0  # where spreading (ANY_NODE) starts next: round robin
        #: query node index -> monotonic time it is passed over until
        self._skip_until: Dict[int, float] = {}
        self._failures: Dict[int, int] = {}  # query node index -> silent times in a row
        self.last_attempts = 0  #: attempts the last send or query made
        self.retries = 0  #: resends made so far, by every call

    # --- Life -----------------------------------------------------------------

    def close(self) -> None:
        """Close every socket, its subscriptions' too (and the context, if the
        client made it)."""
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions.clear()
        for watcher in self._watchers:
            watcher.close()
        self._watchers.clear()
        if self._commands is not None:
            self._commands.close()
            self._commands = None
        for sock in self._queries.values():
            sock.close()
        self._queries.clear()
        if self._own_context and not self.context.closed:
            self.context.term()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- Commands -------------------------------------------------------------

    @staticmethod
    def command(type: str, stream: str, data: Optional[Dict[str, Any]] = None,
                expect: Optional[int] = None, correlation: str = "",
                id: Optional[Union[str, bytes]] = None) -> protocol.Message:
        """A COMMAND message with a fresh random 16-byte id (or the given one:
        32 hex digits, as the CLI prints them, or 16 bytes).

        ``expect``: None for any version, 0 for "the stream must not exist",
        N for "the stream must be at version N".
        """
        return protocol.Message("COMMAND", id=_command_id(id),
                                type=type, stream=stream, data=data or {},
                                expect=expect, correlation=correlation)

    def send(self, type: str, stream: str, data: Optional[Dict[str, Any]] = None,
             expect: Optional[int] = None, correlation: str = "",
             id: Optional[Union[str, bytes]] = None,
             timeout: Optional[float] = None) -> protocol.Message:
        """Send one command and wait for its outcome, with retries.

        Returns the REPLY (a :class:`~zcqrs.protocol.Message`; ``status`` is
        ``accepted``, ``version`` and ``position`` say where the events went).
        Raises :class:`~zcqrs.errors.Rejected`, ``Conflict``, ``Invalid``, ...
        for a refusal and :class:`~zcqrs.errors.Timeout` when no attempt got an
        answer.
        """
        return self.request(self.command(type, stream, data, expect, correlation, id),
                            timeout)

    def request(self, command: protocol.Message,
                timeout: Optional[float] = None) -> protocol.Message:
        """Send a COMMAND message (see :meth:`command`) as :meth:`send` does."""
        return self._checked(self._retry("commands", None, command, "REPLY", timeout))

    def post(self, command: protocol.Message) -> str:
        """Send a COMMAND without waiting (pipelining); collect its reply with
        :meth:`recv_reply`. Returns the command's id in hex (its ``id_hex``)."""
        if not send(self._socket(None), command):
            raise Timeout("the write node's socket does not take more commands now")
        return command.id_hex

    def recv_reply(self, timeout: Optional[float] = None) -> Optional[protocol.Message]:
        """The next reply to a posted command (any order), or None after timeout
        seconds. Failure statuses are returned, not raised."""
        if self._early:
            return self._track(self._early.pop(0))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            message = receive(self._socket(None), deadline)
            if message is None or message.kind in ("REPLY", "ERROR"):
                return self._track(message)

    def send_many(self, commands: Iterable[protocol.Message], window: int = 256,
                  timeout: Optional[float] = None) -> List[protocol.Message]:
        """Pipeline many COMMAND messages, at most `window` unanswered at a time.

        Returns their replies in the order of `commands`, refusals included
        (check each ``status``). `timeout` (default: the client's) is how long
        to wait with no reply at all before every unanswered command is sent
        again, with its id, on a new socket; a command answered ``busy`` or
        ``unavailable`` is sent again after the node's hint. Each command is
        sent at most ``attempts`` times; raises Timeout if one is still
        unanswered then.
        """
        commands = list(commands)
        replies: Dict[int, protocol.Message] = {}
        todo = list(range(len(commands)))[::-1]  # indexes to send, next last
        pending: Dict[bytes, int] = {}  # command id -> index, sent and unanswered
        sends = [0] * len(commands)  # sends of each command
        backoff = [_BACKOFF_FIRST]
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while todo or pending:
            while todo and len(pending) < window:
                index = todo.pop()
                pending[commands[index]["id"]] = index
                sends[index] += 1
                self.retries += sends[index] > 1
                self.post(commands[index])
            reply = self.recv_reply(max(0, deadline - time.monotonic()))
            if reply is not None and reply["id"] in pending:
                index = pending.pop(reply["id"])
                if (reply.kind == "REPLY" and reply["status"] in _RETRYABLE
                        and sends[index] < self.attempts):
                    self._pause(None, reply["retry_after"], backoff)
                    todo.append(index)
                else:
                    replies[index] = reply
                deadline = time.monotonic() + wait  # progress: a full wait again
            elif reply is None:
                if any(sends[index] >= self.attempts for index in pending.values()):
                    raise Timeout("%d of %d commands unanswered after %d attempts"
                                  % (len(pending), len(commands), self.attempts))
                self._pause(None, 0, backoff)
                self._reset(None)
                todo.extend(sorted(pending.values(), reverse=True))
                pending.clear()
                deadline = time.monotonic() + wait
        return [replies[index] for index in range(len(commands))]

    # --- Queries --------------------------------------------------------------

    def query(self, name: str, params: Optional[Dict[str, Any]] = None, node: Node = 0,
              min_position: Optional[int] = None,
              timeout: Optional[float] = None) -> protocol.Message:
        """Run a named query on a query node and return its RESULT message.

        ``result["result"]`` is the answer and ``result["position"]`` the
        applied position it reflects. ``min_position`` None means: this
        client's own position in consistent mode, else 0. Each attempt lets the
        node wait for that position for three quarters of the attempt's share
        of `timeout`; a ``stale`` answer is retried like ``busy``, and raised as
        :class:`~zcqrs.errors.Stale` (with the result at the lower position in
        ``answer``) when the attempts are spent. ``node`` is an index into
        ``queries``, an endpoint, or ``WRITE_NODE``.
        """
        if min_position is None:
            min_position = self.position if self.consistent else 0
        query = protocol.Message("QUERY", id=os.urandom(8), name=name, params=params or {},
                                 min_position=min_position)
        return self._checked(self._retry("queries", node, query, "RESULT", timeout))

    def write_status(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The write node's "status" result map (head, counters, ...)."""
        return self.query("status", node=WRITE_NODE, min_position=0,
                          timeout=timeout)["result"]

    def status(self, node: Node = 0, timeout: Optional[float] = None) -> Dict[str, Any]:
        """A query node's "status" result map (applied, head, lag, state, ...)."""
        return self.query("status", node=node, min_position=0, timeout=timeout)["result"]

    # --- Events ---------------------------------------------------------------

    def subscribe(self, from_position: Optional[int] = None, replay_timeout: float = 2.0,
                  stream: str = "", category: str = "", types: Sequence[str] = (),
                  since: Optional[Union[datetime.datetime, int]] = None) -> Subscription:
        """A :class:`~zcqrs.subscription.Subscription` to the event stream.

        Events come in position order with no gaps from ``from_position``
        (None: the write node's head + 1, i.e. only new events); holes in the
        live stream are filled through the replay endpoint. ``stream``,
        ``category`` (a stream name's part before its first '-') and
        ``types`` keep only those events, filtered at the write node.
        ``since`` (a timezone-aware :class:`datetime.datetime`, or
        microseconds since the epoch) starts at the first event decided at or
        after that time, found by the write node without a scan.
        """
        if isinstance(since, datetime.datetime):
            since = int(since.timestamp() * 1000000)
        if from_position is None:
            from_position = 1 if since else self.write_status()["head"] + 1
        subscription = Subscription(self.sockets, self.endpoints["events"],
                                    self.endpoints["replay"], from_position, replay_timeout,
                                    stream=stream, category=category, types=types,
                                    since=since or 0)
        self._subscriptions.append(subscription)
        return subscription

    # --- Live queries -----------------------------------------------------------

    def watcher(self, node: int = 0) -> Watcher:
        """A :class:`~zcqrs.watcher.Watcher` of live queries on query node
        ``node`` (an index into ``queries``), closed with the client."""
        watcher = Watcher(self.sockets, self.query_endpoints[node])
        self._watchers.append(watcher)
        return watcher

    # --- Inside ---------------------------------------------------------------

    def _socket(self, node: Optional[Node]) -> zmq.Socket:
        """The DEALER for commands (node None) or a query node, made when needed."""
        if node is None or node == WRITE_NODE:
            if self._commands is None:
                self._commands = self.sockets.dealer(self.endpoints["commands"])
            return self._commands
        if isinstance(node, str):
            if node not in self.query_endpoints:
                self.query_endpoints.append(node)
            node = self.query_endpoints.index(node)
        if not 0 <= node < len(self.query_endpoints):
            raise IndexError("no query node %d (the client has %d)"
                             % (node, len(self.query_endpoints)))
        if node not in self._queries:
            self._queries[node] = self.sockets.dealer(self.query_endpoints[node])
        return self._queries[node]

    def _move(self, endpoint: Optional[str]) -> None:
        """Talk to the write group member at endpoint from now on (None: the
        member after the one in use), on a new socket."""
        if self._commands is not None:
            self._commands.close()
            self._commands = None
        if endpoint is None:
            current = self.endpoints["commands"]
            at = self.members.index(current) if current in self.members else -1
            endpoint = self.members[(at + 1) % len(self.members)]
        self.endpoints["commands"] = endpoint

    def _reset(self, node: Optional[Node]) -> None:
        """Close a socket that did not answer; the next use opens a new one.

        Replies to posted commands still on their way are lost with it (their
        commands are not: sending them again with their ids is safe).
        """
        if node is None or node == WRITE_NODE:
            self._move(None)
        else:
            if isinstance(node, str):
                node = self.query_endpoints.index(node)
            sock = self._queries.pop(node, None)
            if sock is not None:
                sock.close()

    def _pause(self, deadline: Optional[float], hint_ms: int, backoff: List[float]) -> bool:
        """Sleep before a retry: the node's hint, else the back-off (doubled in
        backoff[0] for next time), plus up to half of it as jitter so that
        clients refused together do not return together. Returns False, without
        sleeping, if the pause would reach the deadline (None: no deadline)."""
        pause = hint_ms / 1000.0 if hint_ms else backoff[0]
        pause += self._random.uniform(0, pause / 2)
        backoff[0] = min(backoff[0] * 2, _BACKOFF_MAX)
        if deadline is not None and deadline - time.monotonic() <= pause:
            return False
        time.sleep(pause)
        return True

    def _retry(self, kind: str, node: Optional[Node], request: protocol.Message, want: str,
               timeout: Optional[float]) -> protocol.Message:
        """Send request until an answer that is not to be retried, at most
        ``attempts`` times within the time budget; return the last answer, or
        raise Timeout if no attempt was answered."""
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        node = None if kind == "commands" else node
        retry = _RETRYABLE + (("stale",) if want == "RESULT" else ())
        backoff = [_BACKOFF_FIRST]
        for attempt in range(1, self.attempts + 1):
            self.last_attempts = attempt
            self.retries += attempt > 1
            # Share the time left among the attempts left
            left = deadline - time.monotonic()
            wait = left / (self.attempts - attempt + 1)
            if wait < _ATTEMPT_MIN:
                wait = min(left, _ATTEMPT_MIN)
            if want == "RESULT":
                # The node may wait for min_position for most of the attempt,
                # so that it answers "stale" before we give up on it
                request.fields["timeout"] = max(1, int(wait * 750))
            picked = self._pick() if node == ANY_NODE else None
            target = node if picked is None else picked
            sock = self._socket(target)
            answer = None
            if send(sock, request):
                answer = self._await(sock, want, request["id"], time.monotonic() + max(wait, 0))
            spread = picked is not None
            if picked is not None:
                self._noted(picked, answer is not None)
                if (answer is not None and answer.kind == want and attempt < self.attempts
                        and len(self.query_endpoints) > 1 and time.monotonic() < deadline
                        and (answer["status"] in retry or answer.fields.get("may_be_stale"))):
                    continue  # another node may do better: no pause
            if answer is None:
                self._reset(target)  # Lazy Pirate: a new socket, the same request
                if attempt < self.attempts and (spread or self._pause(deadline, 0, backoff)):
                    continue
                raise Timeout("no answer to %s '%s' from %s in %.1f s (%d attempts)"
                              % (request.kind, request.fields.get("type") or request["name"],
                                 self._endpoint(target), budget, attempt))
            if (kind == "commands" and answer.kind == "REPLY"
                    and answer["status"] == "not_leader" and attempt < self.attempts):
                # Straight to the leader it names; else the next member, after the hint
                leader = answer.fields.get("leader", "")
                named = bool(leader) and leader != self.endpoints["commands"]
                self._move(leader if named else None)
                if named or self._pause(deadline, answer.fields.get("retry_after", 0),
                                        backoff):
                    continue
            if (answer.kind == want and answer["status"] in retry and attempt < self.attempts
                    and self._pause(deadline, answer.fields.get("retry_after", 0), backoff)):
                continue
            self._track(answer)
            return answer
        raise AssertionError("attempts is at least 1")

    def _pick(self) -> int:
        """The next query node in turn, passing over those recently silent
        (unless every one is)."""
        count = len(self.query_endpoints)
        if count == 0:
            raise IndexError("no query node to spread the query over")
        now = time.monotonic()
        start = self._next_node
        self._next_node = (start + 1) % count
        for step in range(count):
            index = (start + step) % count
            if self._skip_until.get(index, 0) <= now:
                return index
        return min(range(count), key=lambda index: self._skip_until.get(index, 0))

    def _noted(self, index: int, answered: bool) -> None:
        """Remember whether a query node answered: a silent one is passed over
        for _SKIP seconds, doubling while it stays silent (at most 32 x)."""
        if answered:
            self._skip_until.pop(index, None)
            self._failures.pop(index, None)
        else:
            failures = self._failures.get(index, 0)
            self._failures[index] = failures + 1
            self._skip_until[index] = time.monotonic() + _SKIP * (2 ** min(failures, 5))

    def _endpoint(self, node: Optional[Node]) -> str:
        if node is None or node == WRITE_NODE:
            return self.endpoints["commands"]
        return node if isinstance(node, str) else self.query_endpoints[node]

    def _await(self, sock: zmq.Socket, want: str, id: bytes,
               deadline: float) -> Optional[protocol.Message]:
        """The answer to request `id` on sock; replies to posted commands that
        come first are kept for recv_reply, anything else is dropped."""
        while True:
            message = receive(sock, deadline)
            if message is None or answers(message, want, id):
                return message
            if message.kind == "REPLY" and sock is self._commands:
                self._early.append(message)

    def _track(self, answer: Optional[protocol.Message]) -> Optional[protocol.Message]:
        """Remember the position of an accepted reply, for read-your-writes."""
        if answer is not None and answer.kind == "REPLY" and answer["status"] == "accepted":
            self.position = max(self.position, answer["position"])
        return answer

    @staticmethod
    def _checked(answer: protocol.Message) -> protocol.Message:
        """Return a successful answer; raise the typed error of a failed one."""
        success = {"REPLY": "accepted", "RESULT": "ok"}.get(answer.kind)
        if answer["status"] != success:
            raise error_for(answer)
        return answer


def _command_id(id: Optional[Union[str, bytes]]) -> bytes:
    """A command id as its bytes: a fresh random one (None), 32 hex digits
    (what the CLI prints and ``id_hex`` gives), or the bytes themselves."""
    if id is None:
        return os.urandom(protocol.COMMAND_ID)
    if isinstance(id, str):
        try:
            raw = bytes.fromhex(id)
        except ValueError:
            raw = b""
        if len(raw) != protocol.COMMAND_ID:
            raise ValueError("a command id is %d hex digits, got '%s'"
                             % (2 * protocol.COMMAND_ID, id))
        return raw
    return bytes(id)


__all__ = ["Client", "WRITE_NODE", "ANY_NODE", "Node"]
