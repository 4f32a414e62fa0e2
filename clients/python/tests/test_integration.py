"""The Python client against real zcqrs nodes (bank and store domains), and
beside the C client (the zcqrs CLI): each reads the other's writes.

    ZCQ_BUILD=build /usr/bin/python3 -m unittest discover -s clients/python/tests

The bank cluster's write node leaves every 4th event unpublished (its test
seam), so subscriptions and query nodes must repair holes through replay.
"""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from cluster import BUILD, Cluster  # noqa: E402
from zcqrs import (ANY_NODE, Client, Conflict, Invalid, NotFound, Rejected,  # noqa: E402
                   Timeout, Unknown)

DROP_EVERY = 4  # the bank write node publishes only 3 of every 4 events live


class BankTest(unittest.TestCase):
    """Commands, queries, pipelines and subscriptions on the bank domain."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster("bank", query_nodes=2,
                              write_args=("--fault-drop-every", str(DROP_EVERY)))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def client(self, **options):
        options.setdefault("timeout", 3.0)
        return Client(self.cluster.commands, queries=self.cluster.queries,
                      events=self.cluster.events, replay=self.cluster.replay, **options)

    def open(self, client, account, owner="alice", deposit=0):
        client.send("OpenAccount", account, {"owner": owner}, expect=0)
        if deposit:
            client.send("Deposit", account, {"amount": deposit})

    def test_commands_and_read_your_writes_on_each_query_node(self):
        with self.client() as client:
            reply = client.send("OpenAccount", "ryw-1", {"owner": "zoë"}, expect=0)
            self.assertEqual((reply.status, reply.version, reply.count), ("accepted", 1, 1))
            self.assertEqual(len(reply.id), 16)
            reply = client.send("Deposit", "ryw-1", {"amount": 250}, expect=1)
            self.assertEqual(reply.version, 2)
            self.assertEqual(client.position, reply.position)
            for node in range(2):
                result = client.query("account", {"id": "ryw-1"}, node=node)
                self.assertGreaterEqual(result.position, reply.position)
                self.assertEqual(result.result, {"id": "ryw-1", "owner": "zoë", "balance": 250,
                                                 "status": "open", "version": 2})

    def test_refusals_raise_typed_errors(self):
        with self.client() as client:
            self.open(client, "refuse-1", deposit=70)
            with self.assertRaises(Rejected) as raised:
                client.send("Withdraw", "refuse-1", {"amount": 1000})
            self.assertIn("insufficient funds: balance 70, withdrawal 1000", raised.exception.reason)
            self.assertEqual(raised.exception.answer.version, 2)
            with self.assertRaises(Conflict) as raised:
                client.send("Deposit", "refuse-1", {"amount": 5}, expect=1)
            self.assertIn("at version 2", raised.exception.reason)
            with self.assertRaises(Invalid) as raised:
                client.send("Deposit", "refuse-1", {"amount": -5})
            self.assertIn("field 'amount' must be a positive integer, got -5",
                          raised.exception.reason)
            with self.assertRaises(Unknown):
                client.send("Frobnicate", "refuse-1")
            with self.assertRaises(NotFound):
                client.query("account", {"id": "no-such-account"})
            with self.assertRaises(Unknown):
                client.query("no-such-query")
            with self.assertRaises(Invalid):
                client.query("account", {"idx": 3})

    def test_a_command_id_has_one_outcome(self):
        with self.client() as client:
            self.open(client, "once-1")
            command = client.command("Deposit", "once-1", {"amount": 7})
            first = client.request(command)
            again = client.request(command)
            self.assertEqual(first.fields, again.fields)
            result = client.query("account", {"id": "once-1"})
            self.assertEqual((result.result["balance"], result.result["version"]), (7, 2))

    def test_a_paused_write_node_gets_the_same_command_id_again(self):
        """Lazy Pirate against a real node: the write node is stopped (SIGSTOP)
        while the client times out, closes its socket and resends; whichever
        attempts reach the node, the deposit is stored once."""
        with self.client() as client:
            self.open(client, "pirate-1")
        with self.client(timeout=8.0, attempts=12) as client:
            command = client.command("Deposit", "pirate-1", {"amount": 5})
            outcome = {}

            def deposit():
                try:
                    outcome["reply"] = client.request(command)
                except Exception as error:  # reported by the assertions below
                    outcome["error"] = error

            self.cluster.pause("write")
            try:
                worker = threading.Thread(target=deposit)
                worker.start()
                time.sleep(1.0)  # several attempts time out meanwhile
            finally:
                self.cluster.resume("write")
            worker.join(30)
            self.assertNotIn("error", outcome)
            self.assertEqual(outcome["reply"].status, "accepted")
            self.assertEqual(outcome["reply"].id, command.id)
            self.assertGreater(client.last_attempts, 1)
        with self.client() as client:
            account = client.query("account", {"id": "pirate-1"},
                                   min_position=outcome["reply"].position).result
            self.assertEqual((account["balance"], account["version"]), (5, 2))

    def test_no_node_is_a_timeout_after_every_attempt(self):
        nobody = "ipc://%s/nobody" % self.cluster.dir
        with Client(nobody, queries=[nobody], timeout=0.6, attempts=3) as client:
            started = time.monotonic()
            with self.assertRaises(Timeout):
                client.send("Deposit", "x", {"amount": 1})
            self.assertEqual(client.last_attempts, 3)
            self.assertLess(time.monotonic() - started, 3.0)
            with self.assertRaises(Timeout):
                client.query("totals")

    def test_pipelined_commands(self):
        with self.client() as client:
            self.open(client, "pipe-1")
            commands = [client.command("Deposit", "pipe-1", {"amount": n + 1})
                        for n in range(300)]
            replies = client.send_many(commands, window=64)
            self.assertEqual([r.status for r in replies], ["accepted"] * 300)
            self.assertEqual([r.id for r in replies], [c.id for c in commands])
            self.assertEqual(sorted(r.version for r in replies), list(range(2, 302)))
            self.assertEqual(client.position, max(r.position for r in replies))
            account = client.query("account", {"id": "pipe-1"}).result
            self.assertEqual(account["balance"], 300 * 301 // 2)

            ids = [client.post(client.command("Deposit", "pipe-1", {"amount": 1}))
                   for _ in range(10)]
            got = [client.recv_reply() for _ in ids]
            self.assertEqual(sorted(r.id for r in got), sorted(ids))
            self.assertEqual(client.query("account", {"id": "pipe-1"}).result["balance"],
                             300 * 301 // 2 + 10)

    def test_subscription_is_ordered_and_repairs_gaps(self):
        with self.client() as client:
            self.open(client, "sub-1")
            head = client.write_status()["head"]
            with client.subscribe(from_position=1) as subscription:
                history = [subscription.next(timeout=5) for _ in range(head)]
                self.assertNotIn(None, history)
                self.assertEqual([e.position for e in history], list(range(1, head + 1)))
                self.assertGreaterEqual(subscription.replayed, head)
                replies = [client.send("Deposit", "sub-1", {"amount": n + 1})
                           for n in range(4 * DROP_EVERY)]
                live = [subscription.next(timeout=5) for _ in replies]
                self.assertNotIn(None, live)
                self.assertEqual([e.position for e in live],
                                 list(range(head + 1, head + 1 + len(replies))))
                self.assertEqual([e.data["amount"] for e in live
                                  if e.stream == "sub-1" and e.type == "MoneyDeposited"],
                                 list(range(1, len(replies) + 1)))
                self.assertEqual(live[-1].meta["command"], replies[-1].id)
                # Every 4th event never came live: each hole was found and replayed
                self.assertGreaterEqual(subscription.gaps, 1)
                self.assertIsNone(subscription.next(timeout=0.3))

    def test_closing_the_client_closes_its_subscriptions(self):
        client = self.client()
        subscription = client.subscribe(from_position=1)
        self.assertIsNotNone(subscription.next(timeout=5))
        client.close()  # would hang on the shared context if a socket stayed open
        self.assertTrue(client.context.closed)
        with self.assertRaises(ValueError):
            subscription.next(timeout=0.1)

    def test_subscription_from_now_sees_only_new_events(self):
        with self.client() as client:
            self.open(client, "now-1")
            with client.subscribe() as subscription:
                reply = client.send("Deposit", "now-1", {"amount": 3})
                event = subscription.next(timeout=5)
                self.assertEqual((event.position, event.stream, event.type),
                                 (reply.position, "now-1", "MoneyDeposited"))

    def test_status_of_both_kinds_of_node(self):
        with self.client() as client:
            self.open(client, "status-1")
            write = client.write_status()
            self.assertEqual((write["role"], write["domain"]), ("write", "bank"))
            self.assertGreaterEqual(write["head"], client.position)
            query = client.status(node=1)
            self.assertEqual(query["role"], "query")


class SpreadTest(unittest.TestCase):
    """Queries spread over two query nodes (ANY_NODE): one is killed under the
    query load and not one query fails; read-your-writes holds throughout."""

    def setUp(self):
        self.cluster = Cluster("bank", query_nodes=2)

    def tearDown(self):
        self.cluster.stop()

    def test_a_killed_query_node_costs_no_query(self):
        with Client(self.cluster.commands, queries=self.cluster.queries,
                    timeout=5.0) as client:
            client.send("OpenAccount", "spread-1", {"owner": "ann"}, expect=0)
            for round in range(60):
                if round == 20:
                    self.cluster.processes["query-2"].kill()
                    self.cluster.processes["query-2"].wait()
                reply = client.send("Deposit", "spread-1", {"amount": 1})
                result = client.query("account", {"id": "spread-1"}, node=ANY_NODE)
                self.assertGreaterEqual(result.position, reply.position)
                self.assertEqual(result.result["balance"], round + 1)
            self.assertGreater(client.retries, 0)


class MixedClientsTest(unittest.TestCase):
    """The C client (the zcqrs CLI) and the Python client read each other's
    writes through min_position."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster("bank", query_nodes=1)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def cli(self, *args):
        """Run the CLI on this cluster; return its first JSON line and exit code."""
        run = subprocess.run(
            [os.path.join(BUILD, "zcqrs"), "--commands", self.cluster.commands, "--events",
             self.cluster.events, "--replay", self.cluster.replay, "--node",
             self.cluster.queries[0], "--timeout", "3000"] + list(args),
            capture_output=True, text=True, timeout=20)
        lines = [line for line in run.stdout.splitlines() if line.strip()]
        return (json.loads(lines[0]) if lines else None), run.returncode

    def test_c_writes_python_reads(self):
        reply, code = self.cli("send", "OpenAccount", "mixed-c", "owner=carol", "--expect", "0")
        self.assertEqual((code, reply["status"]), (0, "accepted"))
        reply, code = self.cli("send", "Deposit", "mixed-c", "amount=41")
        self.assertEqual((code, reply["status"]), (0, "accepted"))
        with Client(self.cluster.commands, queries=self.cluster.queries, timeout=3.0,
                    consistent=False) as client:
            result = client.query("account", {"id": "mixed-c"}, min_position=reply["position"])
            self.assertGreaterEqual(result.position, reply["position"])
            self.assertEqual((result.result["owner"], result.result["balance"]), ("carol", 41))

    def test_python_writes_c_reads(self):
        with Client(self.cluster.commands, queries=self.cluster.queries, timeout=3.0) as client:
            client.send("OpenAccount", "mixed-py", {"owner": "dave"}, expect=0)
            reply = client.send("Deposit", "mixed-py", {"amount": 59})
        result, code = self.cli("query", "account", "id=mixed-py", "--min-position",
                                str(reply.position))
        self.assertEqual(code, 0, result)
        self.assertGreaterEqual(result["position"], reply.position)
        self.assertEqual((result["result"]["owner"], result["result"]["balance"]),
                         ("dave", 59))

    def test_the_same_command_id_from_both_clients(self):
        """A command id is one outcome whichever client sends it."""
        with Client(self.cluster.commands, queries=self.cluster.queries, timeout=3.0) as client:
            client.send("OpenAccount", "mixed-id", {"owner": "erin"}, expect=0)
            command = client.command("Deposit", "mixed-id", {"amount": 11})
            first = client.request(command)
        reply, code = self.cli("send", "Deposit", "mixed-id", "amount=11", "--id",
                               command.id.hex())
        self.assertEqual(code, 0)
        self.assertEqual((reply["status"], reply["position"], reply["version"]),
                         ("accepted", first.position, first.version))


class StoreTest(unittest.TestCase):
    """The store domain: clients append their own events."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster("store", query_nodes=1)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def test_append_and_read_back(self):
        with Client(self.cluster.commands, queries=self.cluster.queries, events=self.cluster.events,
                    replay=self.cluster.replay, timeout=3.0) as client:
            events = [{"type": "Placed", "data": {"items": [1, 2], "note": "é 🏦",
                                                  "big": 2 ** 63 - 1, "neg": -(2 ** 63)}},
                      {"type": "Paid"}]
            reply = client.send("Append", "orders-1", {"events": events}, expect=0)
            self.assertEqual((reply.count, reply.version), (2, 2))
            stream = client.query("stream", {"stream": "orders-1"}).result
            self.assertEqual([e["type"] for e in stream], ["Placed", "Paid"])
            self.assertEqual(stream[0]["data"], events[0]["data"])
            self.assertEqual(stream[1]["data"], {})
            with self.assertRaises(Invalid) as raised:
                client.send("Append", "orders-1", {"events": []})
            self.assertIn("must hold 1 to 1000 events, got 0", raised.exception.reason)
            with self.assertRaises(Conflict):
                client.send("Append", "orders-1", {"events": [{"type": "Again"}]}, expect=0)
            with client.subscribe(from_position=1) as subscription:
                first = subscription.next(timeout=5)
                self.assertEqual((first.type, first.data["note"]), ("Placed", "é 🏦"))

    def test_pipelined_appends_of_many_streams(self):
        with Client(self.cluster.commands, queries=self.cluster.queries, timeout=3.0) as client:
            commands = [client.command("Append", "bulk-%d" % (n % 10),
                                       {"events": [{"type": "Tick", "data": {"n": n}}]})
                        for n in range(100)]
            replies = client.send_many(commands)
            self.assertTrue(all(r.status == "accepted" for r in replies))
            everything = client.query("all", {"from": 1, "max": 1000}).result
            ticks = [e["data"]["n"] for e in everything if e["type"] == "Tick"]
            self.assertEqual(sorted(ticks), list(range(100)))


if __name__ == "__main__":
    unittest.main()
