"""The Python codec passes every ZCQ1 test vector in protocol/vectors/.

Each valid vector decodes to its stated meaning and the meaning encodes to
its frames (or to its "encoded" frames when given); each invalid vector is
refused with its status, a reason that holds the stated text, the type frame
2 named and the id read before the error.

    /usr/bin/python3 -m unittest discover -s clients/python/tests -p 'test_vectors.py'

ZCQ_VECTORS names another folder of vectors.
"""

import glob
import json
import os
import sys
import unittest

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from zcqrs import protocol  # noqa: E402
from zcqrs.errors import DecodeError  # noqa: E402

VECTORS = os.environ.get("ZCQ_VECTORS") or os.path.join(HERE, "..", "..", "..",
                                                        "protocol", "vectors")


def load_vectors():
    """Every vector file of the folder, as (name, vector) sorted by name."""
    paths = sorted(glob.glob(os.path.join(VECTORS, "*.json")))
    vectors = []
    for path in paths:
        with open(path, encoding="utf-8") as source:
            vectors.append((os.path.basename(path)[:-5], json.load(source)))
    return vectors


def from_meaning(meaning):
    """The Message a vector's meaning describes (hex ids become bytes)."""
    fields = dict(meaning["fields"])
    if fields.get("id") is not None:
        fields["id"] = bytes.fromhex(fields["id"])
    if "data" in fields:
        fields["data"] = _ext(fields["data"])
    if "meta" in fields:
        fields["meta"] = _event_meta(fields["meta"])
    if "events" in fields:
        fields["events"] = [dict(event, meta=_event_meta(event["meta"]))
                            for event in fields["events"]]
    return protocol.Message(meaning["type"], **fields)


def _ext(value):
    """A meaning's {"$ext": [type, hex]} is a MessagePack ext value."""
    if isinstance(value, dict):
        if list(value) == ["$ext"]:
            return msgpack.ExtType(value["$ext"][0], bytes.fromhex(value["$ext"][1]))
        return {key: _ext(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_ext(item) for item in value]
    return value


def _event_meta(meta):
    command = meta["command"]
    return dict(meta, command=bytes.fromhex(command) if command is not None else None)


class VectorTest(unittest.TestCase):
    """One subtest per vector file."""

    @classmethod
    def setUpClass(cls):
        cls.vectors = load_vectors()

    def test_there_are_vectors_of_every_kind(self):
        self.assertGreater(len(self.vectors), 100, "no vectors in %s" % VECTORS)
        types = {v["message"]["type"] for _, v in self.vectors if v["valid"]}
        self.assertEqual(types, set(protocol.TYPES))
        statuses = {v["message"]["fields"].get("status") for _, v in self.vectors
                    if v["valid"]}
        self.assertTrue(set(protocol.STATUSES) <= statuses)
        self.assertTrue(any(not v["valid"] for _, v in self.vectors))

    def test_valid_vectors_decode_and_encode(self):
        for name, vector in self.vectors:
            if not vector["valid"]:
                continue
            with self.subTest(vector=name):
                wire = [bytes.fromhex(frame) for frame in vector["frames"]]
                expected = from_meaning(vector["message"])
                published = vector.get("published", False)  # topic frame first
                decoded = (protocol.decode_published if published else protocol.decode)(wire)
                self.assertEqual(decoded.kind, expected.kind)
                self.assertEqual(decoded.fields, expected.fields)
                encoded = vector.get("encoded", vector["frames"])
                encode = protocol.encode_published if published else protocol.encode
                self.assertEqual([frame.hex() for frame in encode(expected)], encoded)

    def test_invalid_vectors_are_refused(self):
        for name, vector in self.vectors:
            if vector["valid"]:
                continue
            with self.subTest(vector=name):
                wire = [bytes.fromhex(frame) for frame in vector["frames"]]
                error = vector["error"]
                decode = (protocol.decode_published if vector.get("published")
                          else protocol.decode)
                with self.assertRaises(DecodeError) as raised:
                    decode(wire)
                self.assertEqual(raised.exception.status, error["status"])
                self.assertIn(error["reason"], raised.exception.reason)
                self.assertEqual(raised.exception.message_type, error["type"])
                found = raised.exception.id.hex() if raised.exception.id else None
                self.assertEqual(found, error["id"])


if __name__ == "__main__":
    unittest.main()
