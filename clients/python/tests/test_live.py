"""Live queries from Python (spec section 10.17) against real nodes: the
current result at once, then each change, each equal to a query at its
position; refusals; a restarted query node watched again by itself.

    ZCQ_BUILD=build /usr/bin/python3 -m unittest discover -s clients/python/tests -p 'test_live.py'
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from cluster import Cluster  # noqa: E402
from zcqrs import Client  # noqa: E402

WAIT = 10.0  # seconds any one wait may take


class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster("bank", query_args=("--watch-lease", "600"))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def client(self):
        return Client(self.cluster.commands, queries=self.cluster.queries,
                      events=self.cluster.events, replay=self.cluster.replay, timeout=5.0)

    def until(self, watcher, position):
        """The first update at position or above."""
        while True:
            got = watcher.next(timeout=WAIT)
            self.assertIsNotNone(got, "no update at position %d in time" % position)
            if got[1]["position"] >= position:
                return got

    def test_results_then_each_change(self):
        with self.client() as client:
            watcher = client.watcher()
            number = watcher.watch("account", {"id": "live-1"})
            got = watcher.next(timeout=WAIT)
            self.assertEqual((got[0], got[1]["seq"], got[1]["status"]), (number, 1, "not_found"))
            self.assertEqual(len(watcher.incarnation), 32)
            client.send("OpenAccount", "live-1", {"owner": "ann"}, expect=0)
            for amount, balance in ((10, 10), (5, 15)):
                reply = client.send("Deposit", "live-1", {"amount": amount})
                number, update = self.until(watcher, reply.position)
                self.assertEqual(update["position"], reply.position)
                self.assertEqual(update["result"]["balance"], balance)
                fresh = client.query("account", {"id": "live-1"}, min_position=reply.position)
                self.assertEqual(fresh.position, update["position"])
                self.assertEqual(fresh.result, update["result"])
            self.assertIsNone(watcher.next(timeout=0.3))

    def test_refusals(self):
        with self.client() as client:
            watcher = client.watcher()
            watcher.watch("nope")
            number, update = watcher.next(timeout=WAIT)
            self.assertEqual((update["seq"], update["status"]), (0, "unknown"))
            self.assertIn("unknown query 'nope'", update["reason"])
            watcher.watch("status")
            number, update = watcher.next(timeout=WAIT)
            self.assertEqual((number, update["seq"], update["status"]), (1, 0, "invalid"))

    def test_restarted_node_is_watched_again(self):
        with self.client() as client:
            client.send("OpenAccount", "live-2", {"owner": "bo"}, expect=0)
            watcher = client.watcher()
            watcher.watch("account", {"id": "live-2"})
            self.until(watcher, client.position)
            before = watcher.incarnation
            self.cluster.restart("query-1")
            reply = client.send("Deposit", "live-2", {"amount": 9})
            number, update = self.until(watcher, reply.position)
            self.assertEqual(update["result"]["balance"], 9)
            self.assertGreaterEqual(watcher.rewatches, 1)
            self.assertNotEqual(watcher.incarnation, before)


if __name__ == "__main__":
    unittest.main()
