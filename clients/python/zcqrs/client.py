"""The zcqrs client: commands with retries, queries with read-your-writes,
pipelined sends and live event subscriptions.

Retries follow the C library and the zguide's Lazy Pirate pattern: when no
answer comes in time, the client closes its socket, opens a new one and sends
the same request again, at most ``retries`` more times, waiting a growing
back-off in between. A command keeps its 16-byte id across every attempt, so
the write node stores it at most once and answers a repeat with the first
outcome. ``busy`` and ``unavailable`` answers are retried the same way.
"""

import os
import time

import zmq

from . import protocol
from .errors import Timeout, error_for
from .sockets import Sockets, answers, receive, send
from .subscription import Subscription

DEFAULT_COMMANDS = "tcp://127.0.0.1:5601"
DEFAULT_EVENTS = "tcp://127.0.0.1:5602"
DEFAULT_REPLAY = "tcp://127.0.0.1:5603"
DEFAULT_QUERIES = ("tcp://127.0.0.1:5611",)
WRITE_NODE = -1  #: ``node`` value that sends a query to the write node ("status" only)

_RETRYABLE = ("busy", "unavailable")


class Client:
    """A connection to one zcqrs cluster.

    Use it as a context manager (or call :meth:`close`)::

        with Client("ipc:///tmp/zcq/commands", queries=["ipc:///tmp/zcq/q1"]) as client:
            reply = client.send("Deposit", "acct-1", {"amount": 250})
            account = client.query("account", {"id": "acct-1"})

    ``timeout`` is the time (seconds) one attempt waits for its answer;
    ``retries`` how many more attempts follow a time-out or a ``busy`` /
    ``unavailable`` answer; ``backoff`` the first pause between attempts
    (doubled each time, at most 2 s). In ``consistent`` mode (the default)
    every query carries the highest position this client saw accepted as
    ``min_position``, so the client always reads its own writes. CURVE keys:
    see :class:`zcqrs.sockets.Sockets`. A client is not thread-safe; it owns
    its ZeroMQ context unless one is passed in.
    """

    def __init__(self, commands=DEFAULT_COMMANDS, queries=DEFAULT_QUERIES,
                 events=DEFAULT_EVENTS, replay=DEFAULT_REPLAY, timeout=2.5, retries=3,
                 backoff=0.1, consistent=True, curve_server_key=None, curve_public_key=None,
                 curve_secret_key=None, context=None):
        self.endpoints = {"commands": commands, "events": events, "replay": replay}
        self.query_endpoints = list(queries)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.consistent = consistent
        self.position = 0  #: highest position this client saw in an accepted reply
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.sockets = Sockets(self.context, curve_server_key, curve_public_key,
                               curve_secret_key)
        self._commands = None  # DEALER to the write node, made when first used
        self._queries = {}  # query node index -> DEALER
        self._early = []  # replies to posted commands that arrived during a send
        self.last_attempts = 0  #: attempts the last send or query made

    # --- Life -----------------------------------------------------------------

    def close(self):
        """Close every socket (and the context, if the client made it)."""
        if self._commands is not None:
            self._commands.close()
            self._commands = None
        for sock in self._queries.values():
            sock.close()
        self._queries.clear()
        if self._own_context and not self.context.closed:
            self.context.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- Commands -------------------------------------------------------------

    @staticmethod
    def command(type, stream, data=None, expect=None, correlation="", id=None):
        """A COMMAND message with a fresh random 16-byte id (or the given one).

        ``expect``: None for any version, 0 for "the stream must not exist",
        N for "the stream must be at version N".
        """
        return protocol.Message("COMMAND", id=id or os.urandom(protocol.COMMAND_ID),
                                type=type, stream=stream, data=data or {},
                                expect=expect, correlation=correlation)

    def send(self, type, stream, data=None, expect=None, correlation="", id=None,
             timeout=None):
        """Send one command and wait for its outcome, with retries.

        Returns the REPLY (a :class:`~zcqrs.protocol.Message`; ``status`` is
        ``accepted``, ``version`` and ``position`` say where the events went).
        Raises :class:`~zcqrs.errors.Rejected`, ``Conflict``, ``Invalid``, ...
        for a refusal and :class:`~zcqrs.errors.Timeout` when no attempt got an
        answer.
        """
        return self.request(self.command(type, stream, data, expect, correlation, id),
                            timeout)

    def request(self, command, timeout=None):
        """Send a COMMAND message (see :meth:`command`) as :meth:`send` does."""
        return self._checked(self._retry("commands", None, command, "REPLY", timeout))

    def post(self, command):
        """Send a COMMAND without waiting (pipelining); collect its reply with
        :meth:`recv_reply`. Returns the command's id."""
        if not send(self._socket(None), command):
            raise Timeout("the write node's socket does not take more commands now")
        return command["id"]

    def recv_reply(self, timeout=None):
        """The next reply to a posted command (any order), or None after timeout
        seconds. Failure statuses are returned, not raised."""
        if self._early:
            return self._track(self._early.pop(0))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            message = receive(self._socket(None), deadline)
            if message is None or message.kind in ("REPLY", "ERROR"):
                return self._track(message)

    def send_many(self, commands, window=256, timeout=None):
        """Pipeline many COMMAND messages, at most `window` unanswered at a time.

        Returns their replies in the order of `commands`, refusals included
        (check each ``status``). An unanswered command, and one answered
        ``busy`` or ``unavailable``, is sent again with its id as :meth:`send`
        does; raises Timeout if one is still unanswered after every attempt.
        """
        commands = list(commands)
        replies = {}
        todo = list(range(len(commands)))[::-1]  # indexes not yet sent, last first
        pending = {}  # command id -> index of commands sent and unanswered
        attempt = 0  # time-outs so far (each resends every unanswered command)
        tries = [0] * len(commands)  # busy / unavailable answers per command
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while todo or pending:
            while todo and len(pending) < window:
                index = todo.pop()
                pending[commands[index]["id"]] = index
                self.post(commands[index])
            reply = self.recv_reply(max(0, deadline - time.monotonic()))
            if reply is not None and reply["id"] in pending:
                index = pending.pop(reply["id"])
                if reply["status"] in _RETRYABLE and tries[index] < self.retries:
                    self._pause(tries[index])
                    tries[index] += 1
                    todo.append(index)
                else:
                    replies[index] = reply
                deadline = time.monotonic() + wait  # progress: a full wait again
            elif reply is None:
                if attempt == self.retries:
                    raise Timeout("%d of %d commands unanswered after %d attempts"
                                  % (len(pending), len(commands), attempt + 1))
                self._pause(attempt)
                attempt += 1
                self._reset(None)
                todo.extend(sorted(pending.values(), reverse=True))
                pending.clear()
                deadline = time.monotonic() + wait
        return [replies[index] for index in range(len(commands))]

    # --- Queries --------------------------------------------------------------

    def query(self, name, params=None, node=0, min_position=None, timeout=None):
        """Run a named query on a query node and return its RESULT message.

        ``result["result"]`` is the answer and ``result["position"]`` the
        applied position it reflects. ``min_position`` None means: this
        client's own position in consistent mode, else 0. The node may wait up
        to three quarters of `timeout` for that position; if it cannot reach it
        the answer is :class:`~zcqrs.errors.Stale` (raised, with the result at
        the lower position in ``answer``). ``node`` is an index into
        ``queries``, or ``WRITE_NODE``.
        """
        wait = self.timeout if timeout is None else timeout
        if min_position is None:
            min_position = self.position if self.consistent else 0
        # Let the node wait for min_position for most of our own time budget,
        # keeping a quarter (at least 0.2 s, at most half) for the answer to
        # travel, so that the node answers "stale" before we give up on it
        margin = min(max(wait / 4, 0.2), wait / 2)
        query = protocol.Message("QUERY", id=os.urandom(8), name=name, params=params or {},
                                 min_position=min_position,
                                 timeout=max(1, int((wait - margin) * 1000)))
        return self._checked(self._retry("queries", node, query, "RESULT", wait))

    def write_status(self, timeout=None):
        """The write node's "status" result map (head, counters, ...)."""
        return self.query("status", node=WRITE_NODE, min_position=0,
                          timeout=timeout)["result"]

    def status(self, node=0, timeout=None):
        """A query node's "status" result map (applied, head, lag, state, ...)."""
        return self.query("status", node=node, min_position=0, timeout=timeout)["result"]

    # --- Events ---------------------------------------------------------------

    def subscribe(self, from_position=None, replay_timeout=2.0):
        """A :class:`~zcqrs.subscription.Subscription` to the event stream.

        Events come in position order with no gaps from ``from_position``
        (None: the write node's head + 1, i.e. only new events); holes in the
        live stream are filled through the replay endpoint.
        """
        if from_position is None:
            from_position = self.write_status()["head"] + 1
        return Subscription(self.sockets, self.endpoints["events"], self.endpoints["replay"],
                            from_position, replay_timeout)

    # --- Inside ---------------------------------------------------------------

    def _socket(self, node):
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

    def _reset(self, node):
        """Close a socket that did not answer; the next use opens a new one.

        Replies to posted commands still on their way are lost with it (their
        commands are not: sending them again with their ids is safe).
        """
        if node is None or node == WRITE_NODE:
            if self._commands is not None:
                self._commands.close()
                self._commands = None
        else:
            if isinstance(node, str):
                node = self.query_endpoints.index(node)
            sock = self._queries.pop(node, None)
            if sock is not None:
                sock.close()

    def _pause(self, attempt):
        time.sleep(min(self.backoff * (2 ** attempt), 2.0))

    def _retry(self, kind, node, request, want, timeout):
        """Send request until an answer that is not busy/unavailable, at most
        1 + retries times; return the last answer or raise Timeout."""
        wait = self.timeout if timeout is None else timeout
        node = None if kind == "commands" else node
        answer = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._pause(attempt - 1)
            self.last_attempts = attempt + 1
            sock = self._socket(node)
            if send(sock, request):
                answer = self._await(sock, want, request["id"], time.monotonic() + wait)
            if answer is None:
                self._reset(node)  # Lazy Pirate: a new socket, the same request
                continue
            if answer["status"] not in _RETRYABLE:
                break
        if answer is None:
            raise Timeout("no answer to %s '%s' from %s after %d attempts of %.1f s"
                          % (request.kind, request.fields.get("type") or request["name"],
                             self.endpoints["commands"] if node is None or node == WRITE_NODE
                             else self.query_endpoints[node] if isinstance(node, int)
                             else node, self.retries + 1, wait))
        return self._track(answer)

    def _await(self, sock, want, id, deadline):
        """The answer to request `id` on sock; replies to posted commands that
        come first are kept for recv_reply, anything else is dropped."""
        while True:
            message = receive(sock, deadline)
            if message is None or answers(message, want, id):
                return message
            if message.kind == "REPLY" and sock is self._commands:
                self._early.append(message)

    def _track(self, answer):
        """Remember the position of an accepted reply, for read-your-writes."""
        if answer is not None and answer.kind == "REPLY" and answer["status"] == "accepted":
            self.position = max(self.position, answer["position"])
        return answer

    @staticmethod
    def _checked(answer):
        """Return a successful answer; raise the typed error of a failed one."""
        success = {"REPLY": "accepted", "RESULT": "ok"}.get(answer.kind)
        if answer["status"] != success:
            raise error_for(answer)
        return answer


__all__ = ["Client", "WRITE_NODE"]
