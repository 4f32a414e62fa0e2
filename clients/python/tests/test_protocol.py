"""The Python codec beyond the vectors: what its encoder refuses to send, and
how it reads an EVENTS batch whose event frames do not all decode."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from zcqrs import Client, EncodeError, protocol  # noqa: E402


def command(**fields):
    values = dict(id=bytes(16), type="Deposit", stream="acct-1", data={"amount": 1})
    values.update(fields)
    return protocol.Message("COMMAND", **values)


class EncoderTest(unittest.TestCase):

    def refused(self, message, status, reason):
        with self.assertRaises(EncodeError) as raised:
            protocol.encode(message)
        self.assertEqual(raised.exception.status, status)
        self.assertIn(reason, raised.exception.reason)

    def test_what_a_decoder_would_refuse_is_not_sent(self):
        self.refused(command(stream="s" * 257), "too_large", "stream name is over 256 bytes")
        self.refused(command(type="T" * 129), "too_large", "name is over 128 bytes")
        self.refused(command(data={"blob": "x" * 262144}), "too_large",
                     "data is 262155 bytes, limit is 262144")
        self.refused(command(id=bytes(15)), "invalid", "a COMMAND needs a 16-byte id")
        self.refused(command(id=None), "invalid", "a COMMAND needs a 16-byte id")
        self.refused(command(correlation="c" * 4097), "too_large",
                     "correlation id is 4097 bytes, limit is 4096")
        self.refused(command(correlation="a\nb"), "invalid",
                     "correlation id must be UTF-8 without control characters")
        self.refused(protocol.Message("RESULT", status="ok", result="r" * protocol.MAX_BODY),
                     "too_large", "RESULT body is")

    def test_a_client_refuses_before_sending(self):
        with Client("ipc:///nonexistent/zcq", timeout=0.2, attempts=1) as client:
            with self.assertRaises(EncodeError):
                client.send("Deposit", "s" * 300, {"amount": 1})

    def test_the_largest_fields_are_sent(self):
        frames = protocol.encode(command(stream="é" * 128, type="T" * 128,
                                         correlation="c" * 4096))
        self.assertEqual(protocol.decode(frames)["stream"], "é" * 128)

    def test_unknown_fields_and_types_are_programming_errors(self):
        with self.assertRaises(TypeError):
            protocol.Message("COMMAND", colour="red")
        with self.assertRaises(EncodeError):
            protocol.Message("COMMANDS")


class EventsTest(unittest.TestCase):

    def test_an_event_frame_that_does_not_decode_ends_the_batch(self):
        event = dict(position=1, stream="acct-1", version=1, type="AccountOpened",
                     data={"owner": "alice"}, meta={"command": bytes(16), "time": 5,
                                                    "correlation": ""})
        second = dict(event, position=2, version=2)
        third = dict(event, position=3, version=3)
        frames = protocol.encode(protocol.Message("EVENTS", head=3, count=3,
                                                  events=[event, second, third],
                                                  **{"from": 1}))
        frames[4] = b"\xc1"  # the second event frame is garbage
        message = protocol.decode(frames)
        self.assertEqual(message["count"], 3)
        self.assertEqual([e["position"] for e in message["events"]], [1])


if __name__ == "__main__":
    unittest.main()
