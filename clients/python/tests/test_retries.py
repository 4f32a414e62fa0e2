"""The client's retry, matching and CURVE rules, seen from the node's side.

A scripted peer (a real ZeroMQ ROUTER speaking ZCQ1 through the package's
codec) answers each request as the test says: not at all, busy, unavailable
or accepted, and records what it received and from which connection. That
shows what no real node can be made to do on cue: that every attempt is a
new connection carrying the same command id, that busy and unavailable are
retried and bounded, and that CURVE keys are used.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from zcqrs import Busy, Client, Stale, Timeout, Unavailable, protocol  # noqa: E402


class ScriptedNode:
    """A ROUTER that answers the i-th request with script[i] (the last entry
    repeats): None for silence, else the status of a REPLY or RESULT;
    "stray:STATUS" sends a REPLY to another command id first."""

    def __init__(self, endpoint, script, position=42, retry_after=0, curve_secret_key=None,
                 leader=""):
        self.leader = leader  # endpoint named in "not_leader" replies
        self.script = list(script)
        self.position = position
        self.retry_after = retry_after  # hint sent with "busy" replies
        self.received = []  # (routing id, decoded request) in arrival order
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        if curve_secret_key:
            self.router.curve_server = True
            self.router.curve_secretkey = curve_secret_key
        self.router.bind(endpoint)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            if not self.router.poll(50):
                continue
            routing_id, *frames = self.router.recv_multipart()
            request = protocol.decode(frames)
            self.received.append((routing_id, request))
            step = len(self.received) - 1
            status = self.script[min(step, len(self.script) - 1)]
            if status is None:
                continue
            if status.startswith("stray:"):  # first an answer to some other request
                status = status[len("stray:"):]
                stray = protocol.Message("REPLY", id=os.urandom(16), status="accepted",
                                         version=9, position=999, count=1)
                self.router.send_multipart([routing_id] + protocol.encode(stray))
            if request.kind == "COMMAND":
                answer = protocol.Message("REPLY", id=request.id, status=status, version=1,
                                          position=self.position, count=1,
                                          retry_after=self.retry_after if status == "busy"
                                          else 0,
                                          leader=self.leader if status == "not_leader"
                                          else "")
            else:
                answer = protocol.Message("RESULT", id=request.id, status=status,
                                          position=self.position, result={"echo": step})
            self.router.send_multipart([routing_id] + protocol.encode(answer))

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.router.close()
        self.context.term()


class RetryTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zcq-pyr.")
        self.endpoint = "ipc://%s/node" % self.dir
        self.nodes = []

    def tearDown(self):
        for node in self.nodes:
            node.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def node(self, script, **options):
        node = ScriptedNode(self.endpoint, script, **options)
        self.nodes.append(node)
        return node

    def client(self, **options):
        options.setdefault("timeout", 1.5)
        return Client(self.endpoint, queries=[self.endpoint], **options)

    def test_time_outs_resend_the_same_id_on_a_new_connection(self):
        node = self.node([None, None, "accepted"])
        # Two silent attempts share the budget: 3 s, not 1.5, so that a loaded
        # machine (seen at load 12) still fits the third attempt in it
        with self.client(attempts=3, timeout=3.0) as client:
            reply = client.send("Deposit", "acct-1", {"amount": 1})
            self.assertEqual(reply.status, "accepted")
            self.assertEqual(client.last_attempts, 3)
        ids = {request.id for _, request in node.received}
        connections = {routing_id for routing_id, _ in node.received}
        self.assertEqual(len(node.received), 3)
        self.assertEqual(ids, {reply.id})
        self.assertEqual(len(connections), 3, "each attempt should come on a new socket")

    def test_not_leader_goes_to_the_leader_it_names_with_the_same_id(self):
        # A write group: the first member follows and names the third
        members = ["ipc://%s/member-%d" % (self.dir, k) for k in (1, 2, 3)]
        follower = ScriptedNode(members[0], ["not_leader"], leader=members[2])
        silent = ScriptedNode(members[1], ["accepted"])
        leader = ScriptedNode(members[2], ["accepted"])
        self.nodes += [follower, silent, leader]
        with Client(",".join(members), timeout=1.5, attempts=3) as client:
            reply = client.send("Deposit", "acct-1", {"amount": 1})
            self.assertEqual(reply.status, "accepted")
            self.assertEqual(client.last_attempts, 2)
            self.assertEqual(client.endpoints["commands"], members[2])
        self.assertEqual([request.id for _, request in follower.received], [reply.id])
        self.assertEqual([request.id for _, request in leader.received], [reply.id])
        self.assertEqual(silent.received, [])

    def test_not_leader_without_a_leader_tries_the_next_member(self):
        members = ["ipc://%s/member-%d" % (self.dir, k) for k in (1, 2)]
        candidate = ScriptedNode(members[0], ["not_leader"])
        leader = ScriptedNode(members[1], ["accepted"])
        self.nodes += [candidate, leader]
        with Client(members, timeout=1.5, attempts=3) as client:
            reply = client.send("Deposit", "acct-1", {"amount": 1})
        self.assertEqual(reply.status, "accepted")
        self.assertEqual(len(leader.received), 1)

    def test_busy_and_unavailable_are_retried_with_the_same_id(self):
        node = self.node(["busy", "unavailable", "accepted"])
        with self.client(attempts=3) as client:
            reply = client.send("Deposit", "acct-1", {"amount": 1})
        self.assertEqual(reply.status, "accepted")
        self.assertEqual({request.id for _, request in node.received}, {reply.id})
        self.assertEqual(len(node.received), 3)

    def test_retries_are_bounded(self):
        node = self.node(["busy"])
        with self.client(attempts=3) as client:
            with self.assertRaises(Busy):
                client.send("Deposit", "acct-1", {"amount": 1})
        self.assertEqual(len(node.received), 3)

    def test_unavailable_until_the_end_raises_unavailable(self):
        self.node(["unavailable"])
        with self.client(attempts=2) as client:
            with self.assertRaises(Unavailable):
                client.send("Deposit", "acct-1", {"amount": 1})

    def test_silence_until_the_end_raises_timeout(self):
        node = self.node([None])
        with self.client(attempts=3, timeout=0.9) as client:
            with self.assertRaises(Timeout):
                client.send("Deposit", "acct-1", {"amount": 1})
        self.assertEqual(len(node.received), 3)

    def test_queries_carry_the_acknowledged_position(self):
        node = self.node(["accepted", "ok", None, "ok"], position=42)
        with self.client(attempts=3) as client:
            client.send("Deposit", "acct-1", {"amount": 1})
            self.assertEqual(client.position, 42)
            result = client.query("account", {"id": "acct-1"})
            self.assertEqual(result.result, {"echo": 1})
            # A query that times out is sent again too
            client.query("account", {"id": "acct-1"})
            self.assertEqual(client.last_attempts, 2)
        queries = [request for _, request in node.received if request.kind == "QUERY"]
        self.assertEqual([q.min_position for q in queries], [42, 42, 42])
        self.assertTrue(all(0 < q.timeout < 1500 * 3 / 4 for q in queries))
        with self.client(consistent=False) as client:
            self.assertEqual(client.position, 0)

    def test_an_answer_to_another_request_is_not_taken(self):
        self.node(["stray:accepted"])
        with self.client(attempts=1) as client:
            command = client.command("Deposit", "acct-1", {"amount": 2})
            reply = client.request(command)
            self.assertEqual((reply.id, reply.position), (command.id, 42))
            self.assertEqual(client.position, 42)
            # The stray reply is kept for whoever pipelines: recv_reply gets it
            stray = client.recv_reply(timeout=1)
            self.assertEqual(stray.position, 999)

    def test_the_node_s_retry_after_hint_is_kept(self):
        node = self.node(["busy", "accepted"], retry_after=300)
        with self.client(attempts=3) as client:
            started = time.monotonic()
            reply = client.send("Deposit", "acct-1", {"amount": 1})
            waited = time.monotonic() - started
        self.assertEqual((reply.status, len(node.received)), ("accepted", 2))
        self.assertGreaterEqual(waited, 0.3)
        self.assertLess(waited, 1.0)

    def test_a_stale_query_is_asked_again_then_raised(self):
        node = self.node(["stale", "ok", "stale"])
        with self.client(attempts=2) as client:
            self.assertEqual(client.query("totals", min_position=9).status, "ok")
            with self.assertRaises(Stale) as raised:
                client.query("totals", min_position=9)
            self.assertEqual(raised.exception.answer.result, {"echo": 3})
        self.assertEqual(len(node.received), 4)

    @unittest.skipUnless(zmq.has("curve"), "libzmq without CURVE")
    def test_curve_keys_are_used(self):
        server_public, server_secret = zmq.curve_keypair()
        other_public, _ = zmq.curve_keypair()
        self.node(["accepted", "ok"], curve_secret_key=server_secret)
        with self.client(attempts=1, curve_server_key=server_public) as client:
            self.assertEqual(client.send("Deposit", "acct-1", {"amount": 1}).status,
                             "accepted")
        public, secret = zmq.curve_keypair()
        with self.client(attempts=1, curve_server_key=server_public.decode(),
                         curve_public_key=public, curve_secret_key=secret) as client:
            self.assertEqual(client.query("totals").status, "ok")
        with self.client(attempts=1, curve_server_key=other_public) as client:
            with self.assertRaises(Timeout):  # the handshake fails: no answer
                client.send("Deposit", "acct-1", {"amount": 1})
        with self.client(attempts=1) as client:
            with self.assertRaises(Timeout):  # plain text to a CURVE server
                client.send("Deposit", "acct-1", {"amount": 1})


if __name__ == "__main__":
    unittest.main()
