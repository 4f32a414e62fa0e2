#!/usr/bin/python3
"""Write the ZCQ1 test vectors of protocol/vectors/ (one JSON file each).

    /usr/bin/python3 protocol/vectors/generate.py [DIR]

The committed JSON files are the source of truth; this script is how they
were made, kept so that a new vector is one more line here. It packs bodies
with plain python3-msgpack (never with a zcqrs codec), in the key order of
the spec's tables, so that the codecs under test are checked against an
independent encoding. The meanings are written out by hand. See README.md
in this folder for the layout.
"""

import json
import os
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
ID16 = bytes(range(16))  # the spec's worked example command id
QID = bytes.fromhex("a1a2a3a4a5a6a7a8")
INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
UINT32_MAX = (1 << 32) - 1
UINT64_MAX = (1 << 64) - 1

VECTORS = []


class Raw(bytes):
    """Bytes already packed: put into a body as they are."""


def pack(value):
    return Raw(value) if isinstance(value, Raw) else msgpack.packb(value, use_bin_type=True)


def body(*pairs):
    """A msgpack map from (key, value) pairs, in this order, repeats allowed."""
    count = len(pairs)
    header = bytes([0x80 | count]) if count < 16 else b"\xde" + count.to_bytes(2, "big")
    return header + b"".join(pack(key) + pack(value) for key, value in pairs)


def frames(type, payload, *extra):
    return [b"ZCQ1", type.encode(), payload] + list(extra)


def hexid(value):
    return None if value is None else value.hex()


def valid(name, description, wire, type, fields, encoded=None):
    """A message that decodes to `fields`; `encoded` when the reference
    encoder writes the meaning differently from `wire` (defaults, key order,
    integer widths, ignored keys)."""
    vector = {"description": description, "valid": True,
              "frames": [frame.hex() for frame in wire],
              "message": {"type": type, "fields": fields}}
    if encoded is not None:
        vector["encoded"] = [frame.hex() for frame in encoded]
    VECTORS.append((name, vector))


def invalid(name, description, wire, status, reason, type=None, id=None):
    """Frames a decoder must refuse with this status and a reason holding `reason`;
    `type` is the message type frame 2 named (null when it did not decode that
    far) and `id` the request id read before the error (null if none)."""
    VECTORS.append((name, {"description": description, "valid": False,
                           "frames": [frame.hex() for frame in wire],
                           "error": {"status": status, "reason": reason, "type": type,
                                     "id": hexid(id)}}))


# --- Canonical bodies and their meanings (spec section 6 key order) -------------


def command(id=ID16, type="Deposit", stream="acct-1", expect=None, data=None,
            correlation=""):
    data = {} if data is None else data
    pairs = [("id", id), ("type", type), ("stream", stream), ("expect", expect),
             ("data", data)]
    if correlation:
        pairs.append(("correlation", correlation))
    fields = {"id": hexid(id), "type": type, "stream": stream, "expect": expect,
              "data": data, "correlation": correlation}
    return body(*pairs), fields


def reply(id=ID16, status="accepted", reason="", version=1, position=1, count=1,
          retry_after=0):
    fields = {"id": hexid(id), "status": status, "reason": reason, "version": version,
              "position": position, "count": count, "retry_after": retry_after}
    pairs = [("id", id), ("status", status), ("reason", reason), ("version", version),
             ("position", position), ("count", count)]
    if retry_after:
        pairs.append(("retry_after", retry_after))
    return body(*pairs), fields


def event(position=1, stream="acct-1", version=1, type="AccountOpened", data=None,
          command=ID16, time=1700000000000000, correlation="", user="", schema=1, deleted=0):
    data = {"owner": "alice"} if data is None else data
    meta = [("command", command), ("time", time)]
    if correlation:
        meta.append(("correlation", correlation))
    if user:
        meta.append(("user", user))
    if deleted:
        meta.append(("deleted", deleted))
    fields = {"position": position, "stream": stream, "version": version, "type": type,
              "schema": schema, "data": data, "meta": {"command": hexid(command),
                                                       "time": time,
                                                       "correlation": correlation}}
    if user:
        fields["meta"]["user"] = user
    if deleted:
        fields["meta"]["deleted"] = deleted
    # schema 1 is never written (section 6.3): an absent schema reads as 1
    pairs = [("position", position), ("stream", stream), ("version", version),
             ("type", type)] + ([("schema", schema)] if schema > 1 else [])
    return body(*pairs, ("data", data), ("meta", Raw(body(*meta)))), fields


def heartbeat(head=8, time=1700000000000000, interval=1000):
    return body(("head", head), ("time", time), ("interval", interval)), \
        {"head": head, "time": time, "interval": interval}


def replay(id=QID, start=1, max=1000):
    pairs = ([("id", id)] if id else []) + [("from", start), ("max", max)]
    return body(*pairs), {"id": hexid(id), "from": start, "max": max}


def events_body(id=None, start=1, head=2, count=0):
    pairs = ([("id", id)] if id else []) + [("from", start), ("head", head), ("count", count)]
    return body(*pairs)


def query(id=QID, name="account", params=None, min_position=0, timeout=0):
    params = {"id": "acct-1"} if params is None else params
    pairs = ([("id", id)] if id else []) + [("name", name), ("params", params),
                                            ("min_position", min_position)]
    if timeout:
        pairs.append(("timeout", timeout))
    return body(*pairs), {"id": hexid(id), "name": name, "params": params,
                          "min_position": min_position, "timeout": timeout}


def result(id=QID, status="ok", reason="", position=8, value=None):
    return body(("id", id), ("status", status), ("reason", reason), ("position", position),
                ("result", value)), \
        {"id": hexid(id), "status": status, "reason": reason, "position": position,
         "result": value}


def error(id=None, status="invalid", reason="frame 1 is not a zcqrs signature"):
    pairs = ([("id", id)] if id else []) + [("status", status), ("reason", reason)]
    return body(*pairs), {"id": hexid(id), "status": status, "reason": reason}


def both(type, made, name, description):
    """A canonical valid vector: frames and meaning from one builder call."""
    payload, fields = made
    valid(name, description, frames(type, payload), type, fields)


# --- Valid messages ----------------------------------------------------------------

STATUS_USES = {  # spec section 7: the types each status is answered in
    "REPLY": ["accepted", "rejected", "conflict", "invalid", "unknown", "too_large",
              "unavailable", "busy", "forbidden"],
    "RESULT": ["ok", "invalid", "unknown", "too_large", "not_found", "stale",
               "unavailable", "busy", "forbidden"],
    "ERROR": ["ok", "accepted", "rejected", "conflict", "invalid", "unknown", "too_large",
              "bad_version", "not_found", "stale", "unavailable", "busy", "forbidden"],
}
REASONS = {
    "ok": "", "accepted": "", "rejected": "insufficient funds: balance 70, withdrawal 1000",
    "conflict": "expected version 1 but stream 'acct-1' is at version 3",
    "invalid": "field 'amount' must be a positive integer, got -5",
    "unknown": "unknown command type 'Frobnicate' for domain 'bank'",
    "too_large": "COMMAND body is 1048577 bytes, limit is 1048576",
    "bad_version": "protocol 'ZCQ2' is not supported; this node speaks 'ZCQ1'",
    "not_found": "account 'acct-9' does not exist",
    "stale": "answer reflects position 7, below min_position 8 after waiting 1000 ms",
    "unavailable": "storage write failed; nothing was stored, retry with the same command id",
    "busy": "10000 queries already wait for newer positions; retry later",
    "forbidden": "key 'bob' may not send COMMAND: its roles are 'query'",
}


def valid_vectors():
    both("COMMAND", command(type="OpenAccount", expect=0, data={"owner": "alice"}),
         "command-open-account", "The spec's worked example (section 13): open acct-1 for "
         "alice, expecting a new stream")
    both("COMMAND", command(data={"amount": 250}, correlation="req-7"),
         "command-correlation", "Deposit with no expected version (nil) and a correlation id")
    both("COMMAND", command(expect=INT64_MAX, data={"amount": 1}),
         "command-expect-int64-max", "The largest expected version, 2^63-1 (uint64 on the wire)")
    both("COMMAND", command(type="CloseAccount"),
         "command-empty-data", "Empty data: an empty map (0x80)")
    both("COMMAND", command(type="Dépôt", stream="compte-é-账户-🏦", data={"note": "€ 5"}),
         "command-unicode", "Unicode command type, stream name and data (UTF-8; U+1F3E6 is "
         "4 bytes)")
    longest_stream = "é" * 128  # 256 bytes of UTF-8
    both("COMMAND", command(id=bytes([0xff] * 16), type="T" * 128, stream=longest_stream,
                            correlation="c" * 4096),
         "command-largest-fields", "Largest allowed fields: stream 256 bytes (128 x U+00E9), "
         "type 128 bytes, correlation 4096 bytes")
    blob = "x" * (262144 - len(msgpack.packb({"blob": ""})) - 4)  # str32 header: +4 bytes
    assert len(msgpack.packb({"blob": blob})) == 262144
    both("COMMAND", command(type="Append", data={"blob": blob}),
         "command-data-at-limit", "Data of exactly 262144 packed bytes (the largest allowed)")
    both("COMMAND", command(type="Record", data={
        "negative": -5, "int8": -128, "int64_min": INT64_MIN, "uint64_max": UINT64_MAX,
        "int64_max": INT64_MAX, "zero": 0, "float": 1.5, "yes": True, "no": False,
        "nothing": None, "list": [1, [2, [3]], {"deep": "ok"}], "text": "日本語",
        "empty_map": {}, "empty_list": [], "empty_string": ""}),
        "command-data-values", "Data with negative and 64-bit integers, a float, booleans, "
        "nil, nesting and empty values; packed as the shortest forms")

    # Non-canonical but valid: the meaning, then what the encoder writes
    payload, fields = command(type="Deposit", data={})
    minimal = body(("id", ID16), ("type", "Deposit"), ("stream", "acct-1"))
    valid("command-defaults", "Only the required keys: expect decodes as nil (any version) "
          "and data as {}; the encoder always writes both",
          frames("COMMAND", minimal), "COMMAND", fields, frames("COMMAND", payload))
    payload, fields = command(expect=3, data={"amount": 7})
    wide = body(("id", ID16), ("type", "Deposit"), ("stream", "acct-1"),
                ("expect", Raw(b"\xcf" + (3).to_bytes(8, "big"))),
                ("data", Raw(b"\xdf\x00\x00\x00\x01" + pack("amount") + b"\xd3"
                             + (7).to_bytes(8, "big"))))
    valid("command-wide-integers", "Integers in any width are accepted (expect as uint64, "
          "data as map32 with an int64); the encoder writes the shortest forms",
          frames("COMMAND", wide), "COMMAND", fields, frames("COMMAND", payload))
    reordered = body(("data", {"amount": 7}), ("expect", 3), ("stream", "acct-1"),
                     ("type", "Deposit"), ("id", ID16))
    valid("command-key-order", "Keys in any order; the encoder writes the spec's order",
          frames("COMMAND", reordered), "COMMAND", fields, frames("COMMAND", payload))
    extra = body(("id", ID16), ("priority", 9), ("type", "Deposit"), ("stream", "acct-1"),
                 ("status", 12345), ("position", "not a number"), ("expect", 3),
                 ("data", {"amount": 7}), ("x-trace", [1, 2]))
    valid("command-ignored-keys", "Unknown keys, and keys of other message types (status, "
          "position) whatever their value, are ignored",
          frames("COMMAND", extra), "COMMAND", fields, frames("COMMAND", payload))
    twice = body(("id", ID16), ("type", "Deposit"), ("stream", "other"), ("expect", 3),
                 ("data", {"amount": 7}), ("stream", "acct-1"))
    valid("command-repeated-key", "A key that occurs twice: the later value wins",
          frames("COMMAND", twice), "COMMAND", fields, frames("COMMAND", payload))

    for status in STATUS_USES["REPLY"]:
        # A domain's invalid is decided against the stream (spec 6.2); an undecodable
        # command's is not (reply-nil-id)
        decided = status in ("accepted", "rejected", "conflict", "invalid")
        both("REPLY", reply(status=status, reason=REASONS[status],
                            version=1 if status == "accepted" else 3 if decided else 0,
                            position=1 if status == "accepted" else 3 if decided else 0,
                            count=1 if status == "accepted" else 0,
                            retry_after=25 if status in ("busy", "unavailable") else 0),
             "reply-" + status.replace("_", "-"), "REPLY with status '%s'" % status)
    both("REPLY", reply(id=None, status="invalid", reason="REPLY body is not valid msgpack "
                        "(truncated)", version=0, position=0, count=0),
         "reply-nil-id", "REPLY to a command whose id could not be read: id is nil")
    both("REPLY", reply(version=INT64_MAX, position=INT64_MAX, count=UINT32_MAX),
         "reply-largest-integers", "Version and position 2^63-1, count 2^32-1")
    both("REPLY", reply(status="busy", reason=REASONS["busy"], version=0, position=0,
                        count=0, retry_after=UINT32_MAX),
         "reply-largest-retry-after", "retry_after 2^32-1 ms (sent only when above 0)")
    payload, fields = reply(status="busy", version=0, position=0, count=0)
    valid("reply-retry-after-zero", "retry_after 0 means no hint; the encoder leaves it out",
          frames("REPLY", body(("id", ID16), ("status", "busy"), ("reason", ""),
                               ("version", 0), ("position", 0), ("count", 0),
                               ("retry_after", 0))),
          "REPLY", fields, frames("REPLY", payload))
    payload, fields = reply(id=None, status="busy", reason="", version=0, position=0, count=0)
    valid("reply-defaults", "Only status: id nil, reason empty, numbers 0",
          frames("REPLY", body(("status", "busy"))), "REPLY", fields, frames("REPLY", payload))

    both("EVENT", event(), "event-account-opened", "The event the worked example publishes")
    both("EVENT", event(schema=2, type="MoneyDeposited", data={"amount": 250,
                                                                "currency": "EUR"}),
         "event-schema-2", "An event stored by a domain at schema version 2 of its type "
         "(section 6.3.1): `schema` is sent because it is not 1")
    payload, fields = event(schema=1)
    explicit = body(("position", 1), ("stream", "acct-1"), ("version", 1),
                    ("type", "AccountOpened"), ("schema", 1), ("data", {"owner": "alice"}),
                    ("meta", Raw(body(("command", ID16), ("time", 1700000000000000)))))
    valid("event-schema-1", "An explicit schema 1 is accepted; the encoder leaves it out",
          frames("EVENT", explicit), "EVENT", fields, encoded=frames("EVENT", payload))
    zero = explicit.replace(b"\xa6schema\x01", b"\xa6schema\x00")
    valid("event-schema-zero", "Schema 0 reads as 1, as absence does", frames("EVENT", zero),
          "EVENT", fields, encoded=frames("EVENT", payload))
    both("EVENT", event(position=3, version=2, type="MoneyDeposited", data={}, deleted=9),
         "event-hidden", "An event of a deleted stream as replay gives it after the deletion "
         "(section 10.13): its data is gone, meta.deleted is the tombstone's position")
    # A personal field sealed (section 6.3.2): opaque to the codec, an ext value of type 1
    # (24-byte nonce, then the ciphertext with its 16-byte tag); a meaning writes an ext
    # value as {"$ext": [type, hex]}
    sealed = bytes(range(24)) + bytes(range(0xa0, 0xa0 + 22))
    payload, fields = event(data={"owner": msgpack.ExtType(1, sealed)})
    fields["data"] = {"owner": {"$ext": [1, sealed.hex()]}}
    valid("event-sealed", "An event whose personal field `owner` is sealed, as the write node "
          "stores it and replays it once the stream's key is destroyed (sections 6.3.2, 10.14)",
          frames("EVENT", payload), "EVENT", fields)
    both("EVENT", event(user="alice"), "event-meta-user",
         "An event appended through a secured command endpoint: meta.user names the sender "
         "(section 14)")
    both("EVENT", event(position=INT64_MAX, version=INT64_MAX, time=-1,
                        correlation="req-7", type="MoneyDeposited", data={"amount": 250}),
         "event-largest-integers", "Position and version 2^63-1, a negative time (before "
         "1970) and a correlation id in meta")
    both("EVENT", event(time=INT64_MIN, command=None, stream="账户", data={}),
         "event-no-command", "meta.command nil, time -2^63, an empty data map, unicode stream")
    payload, fields = event(command=None, time=0)
    bare = body(("position", 1), ("stream", "acct-1"), ("version", 1),
                ("type", "AccountOpened"), ("data", {"owner": "alice"}))
    valid("event-defaults", "No meta: command nil and time 0; the encoder always writes meta",
          frames("EVENT", bare), "EVENT", fields, frames("EVENT", payload))
    payload, fields = event()
    odd_meta = body(("position", 1), ("stream", "acct-1"), ("version", 1),
                    ("type", "AccountOpened"), ("data", {"owner": "alice"}),
                    ("meta", {"host": "w1", "command": ID16, "time": 1700000000000000}))
    valid("event-meta-ignored-keys", "Unknown meta keys are ignored; meta key order is free",
          frames("EVENT", odd_meta), "EVENT", fields, frames("EVENT", payload))

    both("HEARTBEAT", heartbeat(), "heartbeat", "Heartbeat: head 8, every 1000 ms")
    both("HEARTBEAT", heartbeat(head=0, time=0, interval=UINT32_MAX),
         "heartbeat-empty-log", "Head 0 (empty log), interval 2^32-1")
    payload, fields = heartbeat(head=INT64_MAX, time=0, interval=0)
    valid("heartbeat-defaults", "Only head (2^63-1): time and interval 0",
          frames("HEARTBEAT", body(("head", INT64_MAX))), "HEARTBEAT", fields,
          frames("HEARTBEAT", payload))

    both("REPLAY", replay(), "replay", "REPLAY from 1, at most 1000, with an 8-byte id")
    both("REPLAY", replay(id=bytes(range(64)), start=INT64_MAX, max=1),
         "replay-largest", "A 64-byte id, from 2^63-1, max 1")
    payload, fields = replay(id=None, start=5)
    valid("replay-defaults", "Only from: no id, max absent means 1000 (the encoder writes it)",
          frames("REPLAY", body(("from", 5))), "REPLAY", fields, frames("REPLAY", payload))
    valid("replay-max-zero", "max 0 means 1000", frames("REPLAY", body(("from", 5),
                                                                       ("max", 0))),
          "REPLAY", fields, frames("REPLAY", payload))

    valid("events-empty", "EVENTS past the head: count 0, no event frames",
          frames("EVENTS", events_body(start=3, head=2, count=0)), "EVENTS",
          {"id": None, "from": 3, "head": 2, "count": 0, "events": []})
    first, first_fields = event()
    second, second_fields = event(position=2, version=2, type="MoneyDeposited",
                                  data={"amount": 250}, command=bytes([0xee] * 16))
    valid("events-two", "EVENTS with the REPLAY's id and two event frames (each an EVENT body)",
          frames("EVENTS", events_body(id=QID, start=1, head=9, count=2), first, second),
          "EVENTS", {"id": QID.hex(), "from": 1, "head": 9, "count": 2,
                     "events": [first_fields, second_fields]})

    both("QUERY", query(min_position=8, timeout=2000), "query-account",
         "Read-your-writes query: min_position 8, wait at most 2000 ms")
    both("QUERY", query(id=None, name="status", params={}),
         "query-status", "The built-in status query: no id, no params, no timeout")
    both("QUERY", query(name="accounts-by-owner", params={"owner": "zoë"},
                        min_position=INT64_MAX, timeout=UINT32_MAX),
         "query-largest", "min_position 2^63-1, timeout 2^32-1, unicode params")
    payload, fields = query(id=None, name="totals", params={})
    valid("query-defaults", "Only name: params {} and min_position 0 (the encoder writes "
          "both; timeout 0 is not written)",
          frames("QUERY", body(("name", "totals"))), "QUERY", fields,
          frames("QUERY", payload))

    account = {"id": "acct-1", "owner": "alice", "balance": 747, "status": "open",
               "version": 6}
    for status in STATUS_USES["RESULT"]:
        value = account if status in ("ok", "stale") else None
        both("RESULT", result(status=status, reason=REASONS[status], value=value,
                              position=7 if status == "stale" else 8),
             "result-" + status.replace("_", "-"), "RESULT with status '%s'" % status)
    both("RESULT", result(id=None, value=[{"id": "acct-1", "balance": -3, "status": "open"}]),
         "result-array", "A result that is an array, for a query sent without id")
    both("RESULT", result(value="plain text"), "result-string", "A result of any type")
    filler = 1048576 - len(result(value="")[0]) - 4  # "" becomes a str32: +4 bytes
    big, big_fields = result(value="r" * filler)
    assert len(big) == 1048576
    valid("result-body-at-limit", "A RESULT body of exactly 1048576 bytes (the largest "
          "allowed body; a result is bounded only by the body)",
          frames("RESULT", big), "RESULT", big_fields)

    for status in STATUS_USES["ERROR"]:
        both("ERROR", error(id=QID if status != "bad_version" else None, status=status,
                            reason=REASONS[status] or "status " + status),
             "error-" + status.replace("_", "-"), "ERROR with status '%s'" % status)
    both("ERROR", error(status="unknown",
                        reason="the replay endpoint takes REPLAY, not COMMAND"),
         "error-no-id", "ERROR for a request whose id could not be read: no id key")
    both("ERROR", error(status="invalid", reason="r" * 4096),
         "error-longest-reason", "A reason of 4096 bytes, the largest allowed")


# --- Invalid messages --------------------------------------------------------------


def invalid_vectors():
    good, _ = command(data={"amount": 1})
    invalid("frames-none", "No frames at all", [], "invalid",
            "a message needs 3 frames (signature, type, body), got 0")
    invalid("frames-two", "Signature and type, no body", frames("COMMAND", b"")[:2],
            "invalid", "a message needs 3 frames (signature, type, body), got 2")
    invalid("frames-extra", "A COMMAND with a fourth frame", frames("COMMAND", good, b"x"),
            "invalid", "COMMAND has 1 frames too many", "COMMAND", ID16)
    invalid("signature-foreign", "Frame 1 is not a zcqrs signature",
            [b"HTTP", b"COMMAND", good], "invalid",
            "frame 1 is not a zcqrs signature (expected 'ZCQ1')")
    invalid("signature-short", "Frame 1 shorter than 'ZCQ'", [b"ZC", b"COMMAND", good],
            "invalid", "frame 1 is not a zcqrs signature (expected 'ZCQ1')")
    invalid("signature-zcq2", "Another major version", [b"ZCQ2", b"COMMAND", good],
            "bad_version", "protocol 'ZCQ2' is not supported; this node speaks 'ZCQ1'")
    invalid("signature-zcq-only", "'ZCQ' without a version", [b"ZCQ", b"COMMAND", good],
            "bad_version", "protocol 'ZCQ' is not supported; this node speaks 'ZCQ1'")
    invalid("signature-zcq1-longer", "'ZCQ10' is not 'ZCQ1'", [b"ZCQ10", b"COMMAND", good],
            "bad_version", "protocol 'ZCQ10' is not supported")
    invalid("type-plural", "Type names are exact: COMMANDS", frames("COMMANDS", good),
            "unknown", "unknown message type 'COMMANDS'")
    invalid("type-lower-case", "Type names are upper case", frames("command", good),
            "unknown", "unknown message type 'command'")
    invalid("type-unprintable", "Bytes outside printable ASCII show as '?'",
            [b"ZCQ1", b"CMD\x00\xff", good], "unknown", "unknown message type 'CMD??'")
    invalid("type-long", "A long type name is cut at 40 bytes",
            [b"ZCQ1", b"A" * 50, good], "unknown",
            "unknown message type '" + "A" * 40 + "...'")

    def bad(name, description, type, payload, reason, status="invalid", id=None,
            extra=()):
        invalid(name, description, frames(type, payload, *extra), status, reason, type, id)

    bad("body-empty", "An empty body", "COMMAND", b"",
        "COMMAND body is not valid msgpack (truncated)")
    bad("body-truncated", "A map cut short", "QUERY", body(("name", "totals"))[:-2],
        "QUERY body is not valid msgpack (truncated)")
    bad("body-parse-error", "0xc1 is never used in msgpack", "REPLY", b"\xc1",
        "REPLY body is not valid msgpack (parse error)")
    bad("body-trailing-bytes", "Bytes after the map", "HEARTBEAT",
        heartbeat()[0] + b"\x00\x01", "HEARTBEAT body has 2 bytes after its map")
    bad("body-array", "A body that is not a map", "COMMAND", pack([1, 2]),
        "COMMAND body must be a msgpack map, got array")
    bad("body-nil", "A body that is nil", "ERROR", pack(None),
        "ERROR body must be a msgpack map, got nil")
    bad("body-integer-key", "A key that is not a string", "COMMAND",
        body(("id", ID16), (1, "x")), "COMMAND body has a key that is not a string",
        id=ID16)
    bad("body-binary-key", "A binary key is not a string key", "QUERY",
        body((b"name", "totals")), "QUERY body has a key that is not a string")
    bad("body-over-limit", "A body of 1048577 bytes is refused before it is parsed",
        "COMMAND", b"\xc0" * 1048577, "COMMAND body is 1048577 bytes, limit is 1048576",
        status="too_large")

    def cmd(*pairs):
        return body(*pairs)

    base = [("id", ID16), ("type", "Deposit"), ("stream", "acct-1")]

    def cmd_with(key, value, keep_id=True):
        pairs = [(k, value if k == key else v) for k, v in base]
        if key not in dict(base):
            pairs.append((key, value))
        return cmd(*pairs)

    bad("command-id-string", "A command id must be binary", "COMMAND",
        cmd_with("id", "0123456789abcdef"), "field 'id' must be binary, got string")
    bad("command-id-15-bytes", "A command id of 15 bytes", "COMMAND",
        cmd_with("id", ID16[:15]), "field 'id' of a COMMAND must be 16 bytes, got 15",
        id=ID16[:15])
    bad("command-id-65-bytes", "An id over 64 bytes", "COMMAND",
        cmd_with("id", bytes(65)), "field 'id' must be 1 to 64 bytes, got 65")
    bad("command-id-empty", "An empty id", "COMMAND", cmd_with("id", b""),
        "field 'id' must be 1 to 64 bytes, got 0")
    bad("command-id-nil", "A nil id counts as absent", "COMMAND", cmd_with("id", None),
        "COMMAND is missing field 'id'")
    bad("command-empty-body", "No keys: the first missing is reported", "COMMAND", body(),
        "COMMAND is missing field 'id'")
    bad("command-missing-stream", "No stream", "COMMAND",
        cmd(("id", ID16), ("type", "Deposit")), "COMMAND is missing field 'stream'", id=ID16)
    bad("command-missing-type-and-stream", "type is reported before stream", "COMMAND",
        cmd(("id", ID16)), "COMMAND is missing field 'type'", id=ID16)
    bad("command-stream-empty", "An empty stream", "COMMAND", cmd_with("stream", ""),
        "field 'stream' must not be empty", id=ID16)
    bad("command-type-empty", "An empty command type", "COMMAND", cmd_with("type", ""),
        "field 'type' must not be empty", id=ID16)
    bad("command-stream-257-bytes", "A stream one byte over the limit", "COMMAND",
        cmd_with("stream", "s" * 257), "field 'stream' is 257 bytes, limit is 256",
        status="too_large", id=ID16)
    bad("command-type-129-bytes", "A command type one byte over the limit", "COMMAND",
        cmd_with("type", "T" * 129), "field 'type' is 129 bytes, limit is 128",
        status="too_large", id=ID16)
    bad("command-stream-integer", "A stream that is not a string", "COMMAND",
        cmd_with("stream", 42), "field 'stream' must be a string, got integer", id=ID16)
    bad("command-stream-binary", "A stream sent as bin, not str", "COMMAND",
        cmd_with("stream", b"acct-1"), "field 'stream' must be a string, got binary",
        id=ID16)
    for label, raw in [("newline", b"acct\n1"), ("nul", b"acct\x001"), ("del", b"acct\x7f"),
                       ("overlong", b"\xc0\xaf"), ("surrogate", b"\xed\xa0\x80"),
                       ("truncated-utf8", b"acct\xe2\x82"), ("above-unicode", b"\xf4\x90\x80\x80"),
                       ("latin1", b"caf\xe9")]:
        bad("command-stream-" + label, "A stream with bytes that are not allowed text "
            "(%s)" % label, "COMMAND",
            cmd_with("stream", Raw(bytes([0xa0 | len(raw)]) + raw)),
            "field 'stream' must be UTF-8 without control characters", id=ID16)
    bad("command-expect-negative", "expect -1", "COMMAND", cmd_with("expect", -1),
        "field 'expect' must be a non-negative integer, got -1", id=ID16)
    bad("command-expect-2-63", "expect over 2^63-1", "COMMAND", cmd_with("expect", 1 << 63),
        "field 'expect' is 9223372036854775808, limit is 9223372036854775807", id=ID16)
    bad("command-expect-string", "expect as a string", "COMMAND", cmd_with("expect", "3"),
        "field 'expect' must be a non-negative integer, got string", id=ID16)
    bad("command-expect-boolean", "expect as a boolean", "COMMAND",
        cmd_with("expect", True),
        "field 'expect' must be a non-negative integer, got boolean", id=ID16)
    bad("command-data-array", "data must be a map", "COMMAND", cmd_with("data", [1]),
        "field 'data' must be a map, got array", id=ID16)
    bad("command-data-nil", "data nil is not a map", "COMMAND", cmd_with("data", None),
        "field 'data' must be a map, got nil", id=ID16)
    blob = "x" * (262145 - len(msgpack.packb({"blob": ""})) - 4)
    bad("command-data-over-limit", "Data of 262145 packed bytes", "COMMAND",
        cmd_with("data", {"blob": blob}), "field 'data' is 262145 bytes, limit is 262144",
        status="too_large", id=ID16)
    bad("command-correlation-4097-bytes", "A correlation id over 4096 bytes", "COMMAND",
        cmd_with("correlation", "c" * 4097),
        "field 'correlation' is 4097 bytes, limit is 4096", status="too_large", id=ID16)
    bad("command-correlation-integer", "A correlation id that is not a string", "COMMAND",
        cmd_with("correlation", 7), "field 'correlation' must be a string, got integer",
        id=ID16)
    bad("command-first-error-wins", "Two bad fields: the first in map order is reported",
        "COMMAND", cmd(("stream", ""), ("id", "x"), ("type", "Deposit")),
        "field 'stream' must not be empty")

    bad("reply-status-unknown", "Status names are exact and lower case", "REPLY",
        body(("id", ID16), ("status", "ACCEPTED")),
        "field 'status' is not a known status name", id=ID16)
    bad("reply-status-integer", "A status that is not a string", "REPLY",
        body(("status", 1)), "field 'status' is not a known status name")
    bad("reply-missing-status", "No status", "REPLY", body(("id", ID16), ("version", 1)),
        "REPLY is missing field 'status'", id=ID16)
    bad("reply-count-2-32", "count over 2^32-1", "REPLY",
        body(("status", "accepted"), ("count", 1 << 32)),
        "field 'count' is 4294967296, limit is 4294967295")
    bad("reply-reason-4097-bytes", "A reason over 4096 bytes", "REPLY",
        body(("status", "invalid"), ("reason", "r" * 4097)),
        "field 'reason' is 4097 bytes, limit is 4096", status="too_large")
    bad("reply-retry-after-2-32", "retry_after over 2^32-1", "REPLY",
        body(("status", "busy"), ("retry_after", 1 << 32)),
        "field 'retry_after' is 4294967296, limit is 4294967295")
    bad("reply-retry-after-negative", "A negative retry_after", "REPLY",
        body(("status", "busy"), ("retry_after", -1)),
        "field 'retry_after' must be a non-negative integer, got -1")
    bad("reply-version-negative", "A negative version", "REPLY",
        body(("status", "accepted"), ("version", -5)),
        "field 'version' must be a non-negative integer, got -5")
    bad("reply-position-float", "A position that is a float", "REPLY",
        body(("status", "accepted"), ("position", 1.0)),
        "field 'position' must be a non-negative integer, got float")

    ev, _ = event()

    def ev_pairs(**changes):
        pairs = [("position", 1), ("stream", "acct-1"), ("version", 1),
                 ("type", "AccountOpened"), ("schema", ...), ("data", {"owner": "alice"}),
                 ("meta", {"command": ID16, "time": 1})]
        return [(k, changes.get(k, v)) for k, v in pairs if changes.get(k, v) is not ...]

    bad("event-schema-string", "A schema version must be an integer", "EVENT",
        body(*ev_pairs(schema="2")), "field 'schema' must be a non-negative integer, got string")
    bad("event-schema-2-32", "schema over 2^32-1", "EVENT",
        body(*ev_pairs(schema=UINT32_MAX + 1)), "field 'schema' is 4294967296, limit is "
        "4294967295")
    bad("event-position-zero", "Positions start at 1", "EVENT",
        body(*ev_pairs(position=0)), "an EVENT's position and version start at 1", id=ID16)
    bad("event-version-zero", "Versions start at 1", "EVENT",
        body(*ev_pairs(version=0)), "an EVENT's position and version start at 1", id=ID16)
    bad("event-missing-data", "data is required in an EVENT", "EVENT",
        body(*ev_pairs(data=...)), "EVENT is missing field 'data'", id=ID16)
    bad("event-missing-position-and-version", "position is reported before version and data",
        "EVENT", body(*ev_pairs(position=..., version=..., data=...)),
        "EVENT is missing field 'position'", id=ID16)
    bad("event-missing-version-and-data", "version is reported before data", "EVENT",
        body(*ev_pairs(version=..., data=...)), "EVENT is missing field 'version'", id=ID16)
    bad("event-empty-body", "type is the first missing key of an EVENT", "EVENT", body(),
        "EVENT is missing field 'type'")
    bad("event-type-empty", "An empty event type", "EVENT", body(*ev_pairs(type="")),
        "field 'type' must not be empty")
    bad("event-meta-array", "meta must be a map", "EVENT", body(*ev_pairs(meta=[1])),
        "field 'meta' must be a map")
    bad("event-meta-user-integer", "meta.user must be a string", "EVENT",
        body(*ev_pairs(meta={"command": ID16, "time": 1, "user": 1})),
        "field 'meta.user' must be a string, got integer", id=ID16)
    bad("event-meta-time-string", "meta.time must be an integer", "EVENT",
        body(*ev_pairs(meta={"time": "now"})), "field 'meta.time' must be an integer, "
        "got string")
    bad("event-meta-time-2-63", "meta.time over the int64 range", "EVENT",
        body(*ev_pairs(meta={"time": 1 << 63})),
        "field 'meta.time' is 9223372036854775808, over the largest signed 64-bit integer")
    bad("event-meta-command-65-bytes", "meta.command over 64 bytes", "EVENT",
        body(*ev_pairs(meta={"command": bytes(65)})),
        "field 'meta.command' must be 1 to 64 bytes, got 65")
    bad("event-extra-frame", "An EVENT with a second body", "EVENT", ev,
        "EVENT has 1 frames too many", id=ID16, extra=(ev,))

    bad("heartbeat-missing-head", "head is required", "HEARTBEAT",
        body(("time", 1), ("interval", 1000)), "HEARTBEAT is missing field 'head'")
    bad("heartbeat-head-negative", "A negative head", "HEARTBEAT", body(("head", -1)),
        "field 'head' must be a non-negative integer, got -1")
    bad("heartbeat-interval-2-32", "interval over 2^32-1", "HEARTBEAT",
        body(("head", 1), ("interval", 1 << 32)),
        "field 'interval' is 4294967296, limit is 4294967295")
    bad("heartbeat-time-float", "time must be an integer", "HEARTBEAT",
        body(("head", 1), ("time", 1.5)), "field 'time' must be an integer, got float")

    bad("replay-from-zero", "Positions start at 1", "REPLAY", body(("id", QID), ("from", 0)),
        "field 'from' must be 1 or more (positions start at 1)", id=QID)
    bad("replay-max-1001", "At most 1000 events", "REPLAY",
        body(("from", 1), ("max", 1001)), "field 'max' is 1001, limit is 1000")
    bad("replay-missing-from", "from is required", "REPLAY", body(("id", QID), ("max", 5)),
        "REPLAY is missing field 'from'", id=QID)
    bad("replay-from-boolean", "from as a boolean", "REPLAY", body(("from", True)),
        "field 'from' must be a non-negative integer, got boolean")
    bad("replay-id-string", "A request id must be binary", "REPLAY",
        body(("id", "abc"), ("from", 1)), "field 'id' must be binary, got string")

    bad("events-empty-body", "from is the first missing key of EVENTS", "EVENTS", body(),
        "EVENTS is missing field 'from'")
    bad("events-missing-head", "head is reported before count", "EVENTS",
        body(("from", 1)), "EVENTS is missing field 'head'")
    bad("events-missing-count", "count is required", "EVENTS",
        body(("from", 1), ("head", 3)), "EVENTS is missing field 'count'")
    bad("events-count-more-than-frames", "count 2 but one event frame", "EVENTS",
        events_body(start=1, head=2, count=2), "EVENTS says count 2 but carries 1 event "
        "frames", extra=(ev,))
    bad("events-count-less-than-frames", "count 0 but one event frame", "EVENTS",
        events_body(id=QID, start=1, head=2, count=0),
        "EVENTS says count 0 but carries 1 event frames", id=QID, extra=(ev,))

    bad("query-name-empty", "An empty query name", "QUERY", body(("id", QID), ("name", "")),
        "field 'name' must not be empty", id=QID)
    bad("query-missing-name", "name is required", "QUERY",
        body(("id", QID), ("params", {})), "QUERY is missing field 'name'", id=QID)
    bad("query-name-129-bytes", "A query name over 128 bytes", "QUERY",
        body(("name", "q" * 129)), "field 'name' is 129 bytes, limit is 128",
        status="too_large")
    bad("query-params-array", "params must be a map", "QUERY",
        body(("name", "account"), ("params", ["acct-1"])),
        "field 'params' must be a map, got array")
    bad("query-min-position-negative", "A negative min_position", "QUERY",
        body(("name", "totals"), ("min_position", -1)),
        "field 'min_position' must be a non-negative integer, got -1")
    bad("query-timeout-2-32", "timeout over 2^32-1", "QUERY",
        body(("name", "totals"), ("timeout", 1 << 32)),
        "field 'timeout' is 4294967296, limit is 4294967295")

    bad("result-missing-status", "status is required", "RESULT",
        body(("id", QID), ("position", 1), ("result", None)),
        "RESULT is missing field 'status'", id=QID)
    bad("result-status-upper-case", "Status names are lower case", "RESULT",
        body(("status", "OK")), "field 'status' is not a known status name")
    bad("result-position-string", "position must be an integer", "RESULT",
        body(("status", "ok"), ("position", "8")),
        "field 'position' must be a non-negative integer, got string")
    bad("error-status-nil", "A nil status", "ERROR", body(("status", None)),
        "field 'status' is not a known status name")
    bad("error-reason-integer", "A reason that is not a string", "ERROR",
        body(("status", "invalid"), ("reason", 5)),
        "field 'reason' must be a string, got integer")
    bad("error-reason-newline", "Reasons are one line", "ERROR",
        body(("status", "invalid"), ("reason", "two\nlines")),
        "field 'reason' must be UTF-8 without control characters")


# --- Filtered subscriptions: REPLAY filters, EVENTS `to`, PUB topics -------------


def published(name, description, topic, message, type, fields=None, status=None, reason=None,
              id=None):
    """A message as a SUB receives it: its topic frame (section 10.5), then its frames."""
    wire = [topic] + frames(type, message)
    if fields is not None:
        vector = {"description": description, "valid": True, "published": True,
                  "frames": [frame.hex() for frame in wire],
                  "message": {"type": type, "fields": fields}}
    else:
        vector = {"description": description, "valid": False, "published": True,
                  "frames": [frame.hex() for frame in wire],
                  "error": {"status": status, "reason": reason, "type": type,
                            "id": hexid(id)}}
    VECTORS.append((name, vector))


def filter_vectors():
    def replay_fields(id=None, start=1, max=1000, stream="", category="", types=(), since=0):
        return {"id": hexid(id), "from": start, "max": max, "stream": stream,
                "category": category, "types": list(types), "since": since}

    types = ["MoneyDeposited", "MoneyWithdrawn"]
    valid("replay-filtered", "REPLAY with a filter: one stream, of one category, two event "
          "types (each key sent only when set)",
          frames("REPLAY", body(("id", QID), ("from", 5), ("max", 100), ("stream", "acct-1"),
                                ("category", "acct"), ("types", types))),
          "REPLAY", replay_fields(QID, 5, 100, "acct-1", "acct", types))
    valid("replay-category", "REPLAY of a category only",
          frames("REPLAY", body(("from", 1), ("max", 1000), ("category", "acct"))),
          "REPLAY", replay_fields(category="acct"))
    valid("replay-since", "REPLAY that starts at a time: the first position whose event was "
          "decided at or after 'since' (us since the epoch), when above 'from'",
          frames("REPLAY", body(("from", 1), ("max", 1000), ("since", 1700000000000000))),
          "REPLAY", replay_fields(since=1700000000000000))

    deposit, deposit_fields = event(position=4, version=2, type="MoneyDeposited",
                                    data={"amount": 250})
    valid("events-filtered", "A filtered EVENTS: positions 1 to 9 looked at (to), one event "
          "taken",
          frames("EVENTS", body(("id", QID), ("from", 1), ("to", 9), ("head", 12),
                                ("count", 1)), deposit),
          "EVENTS", {"id": hexid(QID), "from": 1, "to": 9, "head": 12, "count": 1,
                     "events": [deposit_fields]})
    valid("events-filtered-none", "A filtered EVENTS that took no event of positions 5 to 12 "
          "(to says so)",
          frames("EVENTS", body(("from", 5), ("to", 12), ("head", 12), ("count", 0))),
          "EVENTS", {"id": None, "from": 5, "to": 12, "head": 12, "count": 0, "events": []})

    def bad(name, description, payload, reason, status="invalid"):
        invalid(name, description, frames("REPLAY", payload), status, reason, "REPLAY")

    bad("replay-category-integer", "REPLAY whose category is an integer",
        body(("from", 1), ("category", 7)), "field 'category' must be a string, got integer")
    bad("replay-since-string", "REPLAY whose since is a string",
        body(("from", 1), ("since", "-10m")), "field 'since' must be an integer, got string")
    bad("replay-stream-257-bytes", "REPLAY filter on a stream name over 256 bytes",
        body(("from", 1), ("stream", "s" * 257)), "field 'stream' is 257 bytes, limit is 256",
        status="too_large")
    bad("replay-types-17", "REPLAY with 17 event types, one over the limit",
        body(("from", 1), ("types", ["T%d" % n for n in range(17)])),
        "field 'types' has 17 entries, limit is 16")
    bad("replay-types-empty-name", "REPLAY whose types holds an empty name",
        body(("from", 1), ("types", ["A", ""])), "field 'types' must not be empty")
    bad("replay-types-string", "REPLAY whose types is a string, not an array",
        body(("from", 1), ("types", "MoneyDeposited")),
        "field 'types' must be an array, got string")

    published("published-event", "An EVENT as a SUB receives it: the topic frame 'ZCQ1E' "
              "category NUL stream NUL type NUL, then the message",
              b"ZCQ1Eacct\x00acct-1\x00MoneyDeposited\x00", deposit, "EVENT", deposit_fields)
    ledger, ledger_fields = event(stream="ledger", type="Opened", data={}, command=None, time=5)
    published("published-event-no-dash", "An EVENT of a stream without '-': its category is "
              "its whole name", b"ZCQ1Eledger\x00ledger\x00Opened\x00", ledger, "EVENT",
              ledger_fields)
    published("published-event-wrong-topic", "An EVENT published under another stream's "
              "topic", b"ZCQ1Eacct\x00acct-2\x00MoneyDeposited\x00", deposit, "EVENT",
              status="invalid", reason="the topic frame of a published EVENT does not match it",
              id=ID16)
    beat, beat_fields = heartbeat(head=12)
    published("published-heartbeat", "A HEARTBEAT as a SUB receives it: topic 'ZCQ1H', then "
              "the message", b"ZCQ1H", beat, "HEARTBEAT", beat_fields)
    published("published-replay", "A REPLAY on PUB: only EVENT and HEARTBEAT are published",
              b"ZCQ1H", body(("from", 1), ("max", 1000)), "REPLAY", status="invalid",
              reason="a REPLAY is not published")


# --- Write group (section 10.15's not_leader) and a write node's origin ---------

CLUSTER = "6b1f0c2a9d3e4f5061728394a5b6c7d8"
INCARNATION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def group_and_origin_vectors():
    for name, description, reason, retry, leader in (
            ("reply-not-leader", "REPLY with status 'not_leader' from a follower that knows "
             "the leader's commands endpoint", 'this member follows; the leader is member 2 at tcp://127.0.0.1:5571; nothing was stored, send the same command id there', 20, "tcp://127.0.0.1:5571"),
            ("reply-not-leader-no-leader", "REPLY 'not_leader' from a member that knows no "
             "leader yet (an election is under way): no leader key", 'no leader is known (an election is under way); nothing was stored, retry with the same command id', 200, "")):
        pairs = [("id", ID16), ("status", "not_leader"), ("reason", reason), ("version", 0),
                 ("position", 0), ("count", 0), ("retry_after", retry)]
        if leader:
            pairs.append(("leader", leader))
        valid(name, description, frames("REPLY", body(*pairs)), "REPLY",
              {"id": ID16.hex(), "status": "not_leader", "reason": reason, "version": 0,
               "position": 0, "count": 0, "retry_after": retry, "leader": leader})
    invalid("reply-leader-integer", "A leader endpoint that is not a string",
            frames("REPLY", body(("status", "not_leader"), ("leader", 5))), "invalid",
            "field 'leader' must be a string, got integer", "REPLY")
    invalid("reply-leader-513-bytes", "A leader endpoint over 512 bytes",
            frames("REPLY", body(("status", "not_leader"), ("leader", "t" * 513))),
            "too_large", "field 'leader' is 513 bytes, limit is 512", "REPLY")
    origin = [("cluster", CLUSTER), ("incarnation", INCARNATION)]
    valid("heartbeat-origin", "A heartbeat that says where it comes from: the write node's "
          "cluster id, its log's incarnation id (32 hex digits each) and its domain (section "
          "10.16)",
          frames("HEARTBEAT", body(("head", 42), ("time", 1700000000000000), ("interval", 1000),
                                   *origin, ("domain", "bank"))), "HEARTBEAT",
          {"head": 42, "time": 1700000000000000, "interval": 1000, "cluster": CLUSTER,
           "incarnation": INCARNATION, "domain": "bank"})
    valid("events-origin", "An empty EVENTS that says where it comes from (cluster, "
          "incarnation and domain after count)",
          frames("EVENTS", body(("id", bytes([1, 2, 3, 4])), ("from", 7), ("head", 9),
                                ("count", 0), *origin, ("domain", "store"))), "EVENTS",
          {"id": "01020304", "from": 7, "head": 9, "count": 0, "events": [], "cluster": CLUSTER,
           "incarnation": INCARNATION, "domain": "store"})


# --- Live queries (section 10.17): WATCH, UPDATE, ACK, UNWATCH ----------------------

NODE = "3c5e7a9b1d2f40618293a4b5c6d7e8f9"  # a query node's incarnation
WID = b"w0"


def update(id=WID, seq=1, status="ok", reason="", position=8, value=None, stale=False,
           lease=10000, incarnation=NODE):
    pairs = [("id", id), ("seq", seq), ("status", status), ("reason", reason),
             ("position", position), ("result", value)]
    if stale:
        pairs.append(("may_be_stale", True))
    if lease:
        pairs.append(("lease", lease))
    if incarnation:
        pairs.append(("incarnation", incarnation))
    return body(*pairs), {"id": hexid(id), "seq": seq, "status": status, "reason": reason,
                          "position": position, "result": value, "may_be_stale": stale,
                          "lease": lease, "incarnation": incarnation}


def live_vectors():
    account = {"id": "acct-1", "owner": "alice", "balance": 250, "status": "open"}
    both("WATCH", (body(("id", WID), ("name", "account"), ("params", {"id": "acct-1"})),
                   {"id": hexid(WID), "name": "account", "params": {"id": "acct-1"}}),
         "watch-account", "WATCH the account query of acct-1 under watch id 'w0'")
    valid("watch-no-params", "A WATCH without params: an encoder writes params {}",
          frames("WATCH", body(("id", WID), ("name", "totals"))), "WATCH",
          {"id": hexid(WID), "name": "totals", "params": {}},
          frames("WATCH", body(("id", WID), ("name", "totals"), ("params", {}))))
    both("UPDATE", update(value=account), "update-first",
         "The first UPDATE of a watch: its current result at once (seq 1), the node's lease "
         "and incarnation")
    both("UPDATE", update(seq=7, status="not_found", reason="account 'acct-9' does not exist",
                          position=12),
         "update-not-found-result", "A result that says not_found is a result (seq 7): the "
         "watch is held, and a later UPDATE says when the account exists")
    both("UPDATE", update(seq=3, value=account, stale=True,
                          reason="may be stale: write node unreachable: silent for 3012 ms"),
         "update-may-be-stale", "An UPDATE from a node that is not following the write node")
    both("UPDATE", update(seq=0, status="busy", position=8,
                          reason="this query node holds 10000 live queries, its limit "
                          "(query/watch_max); retry later or watch on another node"),
         "update-refused-busy", "A WATCH refused at the node's cap: seq 0, the watch is not held")
    both("UPDATE", update(seq=0, status="not_found", position=0,
                          reason="no such watch on this query node (it expired, was never "
                          "made, or the node restarted): WATCH again"),
         "update-no-such-watch", "The answer to an ACK or UNWATCH of a watch the node does not "
         "hold (seq 0)")
    both("UPDATE", update(seq=INT64_MAX, value=1, lease=0, incarnation=""),
         "update-seq-at-limit", "seq at its limit, 2^63-1; no lease or incarnation keys")
    both("ACK", (body(("id", WID), ("seq", 3)), {"id": hexid(WID), "seq": 3}),
         "ack", "ACK of update 3: the node may send the next")
    both("ACK", (body(("id", WID), ("seq", 0)), {"id": hexid(WID), "seq": 0}),
         "ack-renewal", "ACK with seq 0: a renewal of the client's lease only")
    valid("ack-no-seq", "An ACK without seq is a renewal; an encoder writes seq 0",
          frames("ACK", body(("id", WID))), "ACK", {"id": hexid(WID), "seq": 0},
          frames("ACK", body(("id", WID), ("seq", 0))))
    both("UNWATCH", (body(("id", WID)), {"id": hexid(WID)}), "unwatch", "Stop watch 'w0'")

    def bad(name, description, type, payload, reason, status="invalid", id=None):
        invalid(name, description, frames(type, payload), status, reason, type, id)

    bad("watch-missing-id", "A WATCH needs the watch's id", "WATCH",
        body(("name", "account")), "WATCH is missing field 'id'")
    bad("watch-id-nil", "A nil id is no id", "WATCH",
        body(("id", None), ("name", "account")), "WATCH is missing field 'id'")
    bad("watch-missing-name", "A WATCH needs a query name", "WATCH", body(("id", WID)),
        "WATCH is missing field 'name'", id=WID)
    bad("watch-params-array", "params must be a map", "WATCH",
        body(("id", WID), ("name", "account"), ("params", ["acct-1"])),
        "field 'params' must be a map, got array", id=WID)
    bad("update-missing-seq", "seq is required in an UPDATE", "UPDATE",
        body(("id", WID), ("status", "ok")), "UPDATE is missing field 'seq'", id=WID)
    both("UPDATE", update(id=None, seq=0, status="invalid", position=3,
                          reason="WATCH is missing field 'id'"),
         "update-invalid-watch", "The answer to a WATCH whose id could not be read: id nil, "
         "seq 0, the decoder's status and reason")
    bad("update-seq-negative", "A negative seq", "UPDATE",
        body(("id", WID), ("seq", -1), ("status", "ok")),
        "field 'seq' must be a non-negative integer, got -1", id=WID)
    bad("ack-seq-2-63", "seq past its limit, 2^63", "ACK",
        body(("id", WID), ("seq", 1 << 63)),
        "field 'seq' is 9223372036854775808, limit is 9223372036854775807", id=WID)
    bad("ack-missing-id", "An ACK needs the watch's id", "ACK", body(("seq", 1)),
        "ACK is missing field 'id'")
    bad("update-lease-2-32", "lease over 2^32-1", "UPDATE",
        body(("id", WID), ("seq", 1), ("status", "ok"), ("lease", 1 << 32)),
        "field 'lease' is 4294967296, limit is 4294967295", id=WID)
    bad("unwatch-id-string", "An id is binary, not a string", "UNWATCH", body(("id", "w0")),
        "field 'id' must be binary")


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else HERE
    valid_vectors()
    invalid_vectors()
    filter_vectors()
    group_and_origin_vectors()
    live_vectors()
    names = [name for name, _ in VECTORS]
    assert len(names) == len(set(names)), "two vectors with one name"
    for stale in os.listdir(target):
        if stale.endswith(".json"):
            os.remove(os.path.join(target, stale))
    for name, vector in VECTORS:
        with open(os.path.join(target, name + ".json"), "w", encoding="utf-8") as out:
            json.dump(vector, out, ensure_ascii=False, indent=2)
            out.write("\n")
    print("%d vectors written to %s" % (len(VECTORS), target))


if __name__ == "__main__":
    main()
