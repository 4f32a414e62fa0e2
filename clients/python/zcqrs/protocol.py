"""The ZCQ1 wire codec in Python: encode, decode and validate every message.

This module mirrors ``protocol/zcq_msg.c``; ``protocol/zcqrs-v1.md`` is the
specification and ``protocol/vectors/`` holds the test vectors both codecs
pass. A message is three ZeroMQ frames (signature ``ZCQ1``, type name, one
MessagePack map), plus one frame per event on EVENTS.

A decoded message is a :class:`Message`; a frame list that breaks the
protocol raises :class:`DecodeError`, whose ``status`` and ``reason`` are
those a zcqrs node would answer with. The module keeps no state.
"""

from typing import Any, Dict

import msgpack

from .errors import DecodeError, EncodeError

SIGNATURE = b"ZCQ1"
MAX_BODY = 1024 * 1024  # bytes in the body frame (and each EVENTS frame)
MAX_DATA = 256 * 1024  # packed bytes of data / params
MAX_STREAM = 256  # bytes of a stream name
MAX_NAME = 128  # bytes of a command, event or query name
MAX_ID = 64  # bytes of a request id
MAX_TEXT = 4096  # bytes of a reason or correlation id
MAX_ENDPOINT = 512  # bytes of a REPLY's leader endpoint
MAX_USER = 128  # bytes of a user id (EVENT meta.user)
COMMAND_ID = 16  # bytes of a command id
MAX_EVENTS = 1000  # events in one EVENTS answer
MAX_TYPES = 16  # event types in one REPLAY filter
HARD_MAXMSG = 16 * 1024 * 1024  # ZMQ_MAXMSGSIZE of every receiving socket
INT64_MAX = (1 << 63) - 1
UINT32_MAX = (1 << 32) - 1

TYPES = ("COMMAND", "REPLY", "EVENT", "HEARTBEAT", "REPLAY", "EVENTS", "QUERY",
         "RESULT", "ERROR", "WATCH", "UPDATE", "ACK", "UNWATCH")

#: Status wire names, each with whether the same request can succeed later.
STATUSES = {
    "ok": False, "accepted": False, "rejected": False, "conflict": False,
    "invalid": False, "unknown": False, "too_large": False, "bad_version": False,
    "not_found": False, "stale": True, "unavailable": True, "busy": True,
    "forbidden": False, "not_leader": True,
}


def retryable(status):
    """True if sending the same request again later can succeed."""
    return STATUSES.get(status, False)


# The fields of each message type, as the decoder fills them: name -> default.
# Absent optional keys decode to these defaults.
_META_DEFAULT = {"command": None, "time": 0, "correlation": ""}
FIELDS: Dict[str, Dict[str, Any]] = {
    "COMMAND": {"id": None, "type": "", "stream": "", "expect": None, "data": {},
                "correlation": ""},
    "REPLY": {"id": None, "status": "ok", "reason": "", "version": 0, "position": 0,
              "count": 0, "retry_after": 0, "leader": ""},
    "EVENT": {"position": 0, "stream": "", "version": 0, "type": "", "schema": 1,
              "data": {}, "meta": _META_DEFAULT},
    "HEARTBEAT": {"head": 0, "time": 0, "interval": 0, "cluster": "", "incarnation": "",
                  "domain": ""},
    "REPLAY": {"id": None, "from": 0, "max": MAX_EVENTS, "stream": "", "category": "",
               "types": [], "since": 0},
    "EVENTS": {"id": None, "from": 0, "to": 0, "head": 0, "count": 0, "events": [],
               "cluster": "", "incarnation": "", "domain": ""},
    "QUERY": {"id": None, "name": "", "params": {}, "min_position": 0, "timeout": 0},
    "RESULT": {"id": None, "status": "ok", "reason": "", "position": 0, "result": None},
    "ERROR": {"id": None, "status": "ok", "reason": ""},
    # Live queries (spec section 10.17)
    "WATCH": {"id": None, "name": "", "params": {}},
    "UPDATE": {"id": None, "seq": 0, "status": "ok", "reason": "", "position": 0,
               "result": None, "may_be_stale": False, "lease": 0, "incarnation": ""},
    "ACK": {"id": None, "seq": 0},
    "UNWATCH": {"id": None},
}

# Keys each type reads from its body, and those it requires
_REQUIRED = {
    "COMMAND": {"id", "type", "stream"},
    "REPLY": {"status"},
    "EVENT": {"position", "stream", "version", "type", "data"},
    "HEARTBEAT": {"head"},
    "REPLAY": {"from"},
    "EVENTS": {"from", "head", "count"},
    "QUERY": {"name"},
    "RESULT": {"status"},
    "ERROR": {"status"},
    "WATCH": {"id", "name"},
    "UPDATE": {"seq", "status"},
    "ACK": {"id"},
    "UNWATCH": {"id"},
}
# The order in which a missing key is reported (spec section 5.2, step 7)
_MISSING_ORDER = ("id", "type", "stream", "seq", "status", "position", "version", "from",
                  "head", "name", "count", "data")


class Message:
    """One ZCQ1 message: its ``kind`` ("COMMAND", ...) and a dict of ``fields``.

    Fields are the wire keys of the kind (see ``FIELDS``); missing ones take
    their defaults. ``msg.status`` or ``msg["status"]`` reads a field
    (``msg.from_`` or ``msg["from"]`` for ``from``); EVENTS
    holds its event bodies decoded as EVENT field dicts under ``"events"``.
    """

    __slots__ = ("kind", "fields")
    kind: str
    fields: Dict[str, Any]

    def __init__(self, type: str, /, **fields: Any) -> None:
        if type not in FIELDS:
            raise EncodeError("unknown", "unknown message type '%s'" % type)
        self.kind = type
        self.fields = {name: _copy(default) for name, default in FIELDS[type].items()}
        for name, value in fields.items():
            name = name.rstrip("_")
            if name not in self.fields:
                raise TypeError("a %s has no field '%s'" % (type, name))
            self.fields[name] = value

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.fields[name.rstrip("_")]
        except KeyError:
            raise AttributeError(name) from None

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Message) and self.kind == other.kind
                and self.fields == other.fields)

    @property
    def id_hex(self) -> str:
        """The message's id as hex digits, as the CLI prints it ("" if none)."""
        id = self.fields.get("id")
        return id.hex() if isinstance(id, (bytes, bytearray)) else ""

    def __repr__(self) -> str:
        return "Message(%r, %r)" % (self.kind, self.fields)


def _copy(value):
    return dict(value) if isinstance(value, dict) else list(value) \
        if isinstance(value, list) else value


# --- Text -------------------------------------------------------------------------


def is_text(raw):
    """True if raw bytes are well-formed UTF-8 without a byte below 0x20 or 0x7F."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(byte < 0x20 or byte == 0x7F for byte in raw)


def _raw(text):
    """The wire bytes of a decoded string (invalid bytes were kept as escapes)."""
    return text.encode("utf-8", "surrogateescape")


def printable(raw):
    """At most 40 bytes shown as ASCII ('?' for the rest), then '...' if cut."""
    shown = "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in raw[:40])
    return shown + ("..." if len(raw) > 40 else "")


# --- Decoding ---------------------------------------------------------------------


class _Pairs(list):
    """A msgpack map as its (key, value) pairs in wire order."""


def _kind(value):
    """The msgpack type name the C codec uses in its reasons."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if value >= 0 else "negative integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, _Pairs):
        return "map"
    if isinstance(value, (list, tuple)):
        return "array"
    return "extension"


def plain(value):
    """Turn decoded pairs into dicts (the later of two equal keys wins)."""
    if isinstance(value, _Pairs):
        items = [(plain(k), plain(v)) for k, v in value]
        try:
            return dict(items)
        except TypeError:  # a key that Python cannot hash (an array, a map)
            return items
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _unpack(body):
    """Unpack exactly one object from body; return (object, offset) or raise."""
    unpacker = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape",
                                strict_map_key=False, object_pairs_hook=_Pairs,
                                max_buffer_size=max(len(body), 1))
    unpacker.feed(body)
    value = unpacker.unpack()
    return value, unpacker.tell()


class _Reader:
    """Decodes one body into fields; the first error stops it."""

    def __init__(self, type):
        self.type = type
        self.fields = Message(type).fields
        self.id = None  # the request id, once read (reported with errors)

    def fail(self, status, reason):
        raise DecodeError(status, reason, self.type, self.id)

    def string(self, name, value, limit, nonempty):
        if not isinstance(value, str):
            self.fail("invalid", "field '%s' must be a string, got %s" % (name, _kind(value)))
        raw = _raw(value)
        if len(raw) > limit:
            self.fail("too_large", "field '%s' is %d bytes, limit is %d"
                      % (name, len(raw), limit))
        if nonempty and not raw:
            self.fail("invalid", "field '%s' must not be empty" % name)
        if not is_text(raw):
            self.fail("invalid", "field '%s' must be UTF-8 without control characters"
                      % name)
        return value

    def uint(self, name, value, limit):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            got = value if isinstance(value, int) and not isinstance(value, bool) \
                else _kind(value)
            self.fail("invalid", "field '%s' must be a non-negative integer, got %s"
                      % (name, got))
        if value > limit:
            self.fail("invalid", "field '%s' is %d, limit is %d" % (name, value, limit))
        return value

    def int(self, name, value):
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail("invalid", "field '%s' must be an integer, got %s" % (name, _kind(value)))
        if value > INT64_MAX:
            self.fail("invalid", "field '%s' is %d, over the largest signed 64-bit integer"
                      % (name, value))
        return value

    def ident(self, name, value):
        if value is None:
            return None
        if not isinstance(value, bytes):
            self.fail("invalid", "field '%s' must be binary, got %s" % (name, _kind(value)))
        if not 1 <= len(value) <= MAX_ID:
            self.fail("invalid", "field '%s' must be 1 to %d bytes, got %d"
                      % (name, MAX_ID, len(value)))
        return value

    def payload(self, name, value, must_be_map, limit):
        if must_be_map and not isinstance(value, _Pairs):
            self.fail("invalid", "field '%s' must be a map, got %s" % (name, _kind(value)))
        value = plain(value)
        if limit is not None:
            size = len(msgpack.packb(value, use_bin_type=True,
                                     unicode_errors="surrogateescape"))
            if size > limit:
                self.fail("too_large", "field '%s' is %d bytes, limit is %d"
                          % (name, size, limit))
        return value

    def meta(self, value):
        if not isinstance(value, _Pairs):
            self.fail("invalid", "field 'meta' must be a map")
        meta = dict(_META_DEFAULT)
        for key, item in value:
            if key == "command":
                meta["command"] = self.id = self.ident("meta.command", item)
            elif key == "correlation":
                meta["correlation"] = self.string("meta.correlation", item, MAX_TEXT, False)
            elif key == "time":
                meta["time"] = self.int("meta.time", item)
            elif key == "user":  # who sent the command, on a secured write node
                meta["user"] = self.string("meta.user", item, MAX_USER, False)
            elif key == "deleted":  # the tombstone that hid this event's data
                meta["deleted"] = self.uint("meta.deleted", item, INT64_MAX)
        return meta

    def field(self, key, value):
        """Read one key; return True if the type reads it (it counts as seen)."""
        fields = self.fields
        if key not in fields or key == "events" or (key == "id" and self.type == "EVENT"):
            return False
        if key == "id":
            fields["id"] = self.ident("id", value)
            if fields["id"] is None:
                return False  # nil: as if absent
            self.id = fields["id"]
        elif key in ("type", "name"):
            fields[key] = self.string(key, value, MAX_NAME, True)
        elif key == "stream":  # a REPLAY's filter may leave it empty: every stream
            fields[key] = self.string(key, value, MAX_STREAM, self.type != "REPLAY")
        elif key == "category":
            fields[key] = self.string(key, value, MAX_STREAM, False)
        elif key == "types":
            if not isinstance(value, list):
                self.fail("invalid", "field 'types' must be an array, got %s" % _kind(value))
            if len(value) > MAX_TYPES:
                self.fail("invalid", "field 'types' has %d entries, limit is %d"
                          % (len(value), MAX_TYPES))
            fields[key] = [self.string(key, item, MAX_NAME, True) for item in value]
        elif key == "expect":
            fields[key] = None if value is None else self.uint(key, value, INT64_MAX)
        elif key in ("data", "params"):
            fields[key] = self.payload(key, value, True, MAX_DATA)
        elif key == "result":
            fields[key] = self.payload(key, value, False, None)  # bounded by the body
        elif key == "status":
            if not isinstance(value, str) or value not in STATUSES:
                self.fail("invalid", "field 'status' is not a known status name")
            fields[key] = value
        elif key in ("reason", "correlation"):
            fields[key] = self.string(key, value, MAX_TEXT, False)
        elif key == "leader":
            fields[key] = self.string(key, value, MAX_ENDPOINT, False)
        elif key in ("cluster", "incarnation", "domain"):  # where a write node's words come from
            fields[key] = self.string(key, value, MAX_NAME, False)
        elif key == "meta":
            fields[key] = self.meta(value)
        elif key == "may_be_stale":
            if not isinstance(value, bool):
                self.fail("invalid", "field 'may_be_stale' must be a boolean, got %s"
                          % _kind(value))
            fields[key] = value
        elif key in ("count", "interval", "timeout", "retry_after", "lease"):
            fields[key] = self.uint(key, value, UINT32_MAX)
        elif key == "schema":  # the version of the event type's data; 0 reads as 1
            fields[key] = self.uint(key, value, UINT32_MAX) or 1
        elif key == "max":
            fields[key] = self.uint(key, value, MAX_EVENTS)
        elif key in ("time", "since"):
            fields[key] = self.int(key, value)
        else:  # version, position, from, head, min_position, seq
            fields[key] = self.uint(key, value, INT64_MAX)
        return True

    def rules(self):
        fields = self.fields
        if self.type == "COMMAND" and len(fields["id"]) != COMMAND_ID:
            self.fail("invalid", "field 'id' of a COMMAND must be %d bytes, got %d"
                      % (COMMAND_ID, len(fields["id"])))
        if self.type == "REPLAY":
            if fields["from"] == 0:
                self.fail("invalid", "field 'from' must be 1 or more (positions start at 1)")
            if fields["max"] == 0:
                fields["max"] = MAX_EVENTS
        if self.type == "EVENT" and (fields["position"] == 0 or fields["version"] == 0):
            self.fail("invalid", "an EVENT's position and version start at 1")


def decode_body(type, body):
    """Decode one body (a msgpack map) as a message of this type.

    Returns a Message, or raises DecodeError naming what was wrong.
    """
    if type not in FIELDS:
        raise DecodeError("unknown", "unknown message type", None, None)
    reader = _Reader(type)
    if len(body) > MAX_BODY:
        reader.fail("too_large", "%s body is %d bytes, limit is %d"
                    % (type, len(body), MAX_BODY))
    try:
        value, offset = _unpack(body)
    except msgpack.OutOfData:
        reader.fail("invalid", "%s body is not valid msgpack (truncated)" % type)
    except Exception:  # msgpack raises several types for malformed input
        reader.fail("invalid", "%s body is not valid msgpack (parse error)" % type)
    if offset != len(body):
        reader.fail("invalid", "%s body has %d bytes after its map" % (type, len(body) - offset))
    if not isinstance(value, _Pairs):
        reader.fail("invalid", "%s body must be a msgpack map, got %s" % (type, _kind(value)))
    seen = set()
    for key, item in value:
        if not isinstance(key, str):
            reader.fail("invalid", "%s body has a key that is not a string" % type)
        if reader.field(key, item):
            seen.add(key)
    for key in _MISSING_ORDER:
        if key in _REQUIRED[type] and key not in seen:
            reader.fail("invalid", "%s is missing field '%s'" % (type, key))
    reader.rules()
    return Message(type, **reader.fields)


def decode(frames):
    """Decode a list of frames (bytes; no routing envelope) into a Message.

    EVENTS event frames are decoded as EVENT bodies into ``events``. Raises
    DecodeError with the status and reason a node would answer.
    """
    frames = [bytes(frame) for frame in frames]
    if len(frames) < 3:
        raise DecodeError("invalid", "a message needs 3 frames (signature, type, body), "
                          "got %d" % len(frames), None, None)
    signature, type_name, body = frames[:3]
    if not signature.startswith(b"ZCQ"):
        raise DecodeError("invalid", "frame 1 is not a zcqrs signature (expected 'ZCQ1')",
                          None, None)
    if signature != SIGNATURE:
        raise DecodeError("bad_version", "protocol '%s' is not supported; this node speaks "
                          "'ZCQ1'" % printable(signature), None, None)
    type = type_name.decode("latin-1")
    if type not in FIELDS:
        raise DecodeError("unknown", "unknown message type '%s'" % printable(type_name),
                          None, None)
    message = decode_body(type, body)
    extra = frames[3:]
    if type == "EVENTS":
        if len(extra) != message["count"]:
            raise DecodeError("invalid", "EVENTS says count %d but carries %d event frames"
                              % (message["count"], len(extra)), type, message["id"])
        # As the query node's feed does, an event frame that does not decode
        # ends the batch: the events before it are kept, the rest come again
        events = message.fields["events"]
        for frame in extra:
            try:
                events.append(decode_body("EVENT", frame).fields)
            except DecodeError:
                break
    elif extra:
        request_id = message["meta"]["command"] if type == "EVENT" else message["id"]
        raise DecodeError("invalid", "%s has %d frames too many" % (type, len(extra)),
                          type, request_id)
    return message


# --- Encoding ---------------------------------------------------------------------


def _pack(value):
    return msgpack.packb(value, use_bin_type=True)


def _check_limits(message):
    fields = message.fields
    type = message.kind
    stream = fields.get("stream")
    if stream is not None and len(stream.encode("utf-8")) > MAX_STREAM:
        raise EncodeError("too_large", "stream name is over %d bytes" % MAX_STREAM)
    name = fields.get("type" if type in ("COMMAND", "EVENT") else "name")
    if isinstance(name, str) and len(name.encode("utf-8")) > MAX_NAME:
        raise EncodeError("too_large", "name is over %d bytes" % MAX_NAME)
    for key in ("data", "params"):
        if key in fields and len(_pack(fields[key] or {})) > MAX_DATA:
            raise EncodeError("too_large", "%s is %d bytes, limit is %d"
                              % (key, len(_pack(fields[key] or {})), MAX_DATA))
    if type == "COMMAND" and len(fields["id"] or b"") != COMMAND_ID:
        raise EncodeError("invalid", "a COMMAND needs a %d-byte id" % COMMAND_ID)
    correlation = fields.get("correlation")
    if type == "EVENT":
        correlation = fields["meta"].get("correlation", "")
    raw = (correlation or "").encode("utf-8")
    if len(raw) > MAX_TEXT:
        raise EncodeError("too_large", "correlation id is %d bytes, limit is %d"
                          % (len(raw), MAX_TEXT))
    if raw and not is_text(raw):
        raise EncodeError("invalid", "correlation id must be UTF-8 without control characters")
    leader = (fields.get("leader") or "").encode("utf-8")
    if len(leader) > MAX_ENDPOINT:
        raise EncodeError("too_large", "leader endpoint is %d bytes, limit is %d"
                          % (len(leader), MAX_ENDPOINT))


def encode_body(message):
    """Pack the body (frame 3) of a message, keys in the reference order.

    Raises EncodeError if a field breaks the protocol's limits.
    """
    _check_limits(message)
    f = message.fields
    type = message.kind
    if type == "COMMAND":
        body = {"id": f["id"], "type": f["type"], "stream": f["stream"],
                "expect": f["expect"], "data": f["data"] or {}}
        if f["correlation"]:
            body["correlation"] = f["correlation"]
    elif type == "REPLY":
        body = {"id": f["id"], "status": f["status"], "reason": f["reason"],
                "version": f["version"], "position": f["position"], "count": f["count"]}
        if f["retry_after"]:
            body["retry_after"] = f["retry_after"]
        if f.get("leader"):
            body["leader"] = f["leader"]
    elif type == "EVENT":
        meta = dict(_META_DEFAULT, **f["meta"])
        wire_meta = {"command": meta["command"], "time": meta["time"]}
        if meta["correlation"]:
            wire_meta["correlation"] = meta["correlation"]
        if meta.get("user"):
            wire_meta["user"] = meta["user"]
        if meta.get("deleted"):
            wire_meta["deleted"] = meta["deleted"]
        body = {"position": f["position"], "stream": f["stream"], "version": f["version"],
                "type": f["type"]}
        if f["schema"] > 1:  # schema 1 is never written (spec section 6.3)
            body["schema"] = f["schema"]
        body.update({"data": f["data"] or {}, "meta": wire_meta})
    elif type == "HEARTBEAT":
        body = _with_origin(f, {"head": f["head"], "time": f["time"], "interval": f["interval"]})
    elif type == "REPLAY":
        body = _with_id(f, {"from": f["from"], "max": f["max"] or MAX_EVENTS})
        for key in ("stream", "category", "types", "since"):  # the filter, only when set
            if f[key]:
                body[key] = f[key]
    elif type == "EVENTS":
        body = _with_id(f, {"from": f["from"]})
        if f["to"]:  # only a filtered batch says it
            body["to"] = f["to"]
        body.update({"head": f["head"], "count": len(f["events"])})
        body = _with_origin(f, body)
    elif type == "QUERY":
        body = _with_id(f, {"name": f["name"], "params": f["params"] or {},
                            "min_position": f["min_position"]})
        if f["timeout"]:
            body["timeout"] = f["timeout"]
    elif type == "RESULT":
        body = {"id": f["id"], "status": f["status"], "reason": f["reason"],
                "position": f["position"], "result": f["result"]}
    elif type == "WATCH":
        body = {"id": f["id"], "name": f["name"], "params": f["params"] or {}}
    elif type == "UPDATE":
        body = {"id": f["id"], "seq": f["seq"], "status": f["status"], "reason": f["reason"],
                "position": f["position"], "result": f["result"]}
        for key in ("may_be_stale", "lease", "incarnation"):  # only when set
            if f[key]:
                body[key] = f[key]
    elif type == "ACK":
        body = {"id": f["id"], "seq": f["seq"]}
    elif type == "UNWATCH":
        body = {"id": f["id"]}
    else:  # ERROR
        body = _with_id(f, {"status": f["status"], "reason": f["reason"]})
    packed = _pack(body)
    if len(packed) > MAX_BODY:
        raise EncodeError("too_large", "%s body is %d bytes, limit is %d"
                          % (type, len(packed), MAX_BODY))
    return packed


def _with_id(fields, rest):
    """A body that carries the id first, only when one is set."""
    body = {"id": fields["id"]} if fields["id"] else {}
    body.update(rest)
    return body


def _with_origin(fields, body):
    """HEARTBEAT and EVENTS: the write node's cluster, incarnation and
    domain after the other keys, each only when set."""
    for key in ("cluster", "incarnation", "domain"):
        if fields.get(key):
            body[key] = fields[key]
    return body


def encode(message):
    """Encode a message into its frames (a list of bytes, no envelope)."""
    frames = [SIGNATURE, message.kind.encode("ascii"), encode_body(message)]
    if message.kind == "EVENTS":
        frames += [encode_body(Message("EVENT", **event)) for event in message["events"]]
    return frames


# --- Publishing: topics and filters (spec section 10.5) -----------------------------


def category(stream):
    """A stream's category: its name before the first '-' (all of it without one)."""
    return stream.split("-", 1)[0]


def _event_topic(category_name, stream=None, type=None):
    topic = SIGNATURE + b"E" + category_name.encode("utf-8") + b"\0"
    if stream is not None:
        topic += stream.encode("utf-8") + b"\0"
        if type is not None:
            topic += type.encode("utf-8") + b"\0"
    return topic


def topic(message):
    """The PUB topic frame a message is published under (EVENT, HEARTBEAT), or None."""
    if message.kind == "HEARTBEAT":
        return SIGNATURE + b"H"
    if message.kind == "EVENT":
        stream = message["stream"]
        return _event_topic(category(stream), stream, message["type"])
    return None


def decode_published(frames):
    """Decode what a SUB received: the topic frame, then the message, whose topic
    must be the one it is published under."""
    frames = [bytes(frame) for frame in frames]
    message = decode(frames[1:])
    wanted = topic(message)
    # An EVENT's id, in errors, is its meta.command
    found = (message["meta"]["command"] if message.kind == "EVENT"
             else message.fields.get("id"))
    if wanted is None:
        raise DecodeError("invalid", "a %s is not published" % message.kind, message.kind,
                          found)
    if frames[0] != wanted:
        raise DecodeError("invalid", "the topic frame of a published %s does not match it"
                          % message.kind, message.kind, found)
    return message


def encode_published(message):
    """The frames a PUB sends for a message: its topic, then the message."""
    return [topic(message)] + encode(message)


def filter_prefixes(stream="", category_name="", types=()):
    """The SUB prefixes for a filter: exact for a stream (with or without types)
    and a category; heartbeats always. Types without a stream are taken at
    the subscriber (filter_takes)."""
    if not stream and not category_name:
        return [SIGNATURE]
    prefixes = [SIGNATURE + b"H"]
    if stream:
        if types:
            prefixes += [_event_topic(category(stream), stream, type) for type in types]
        else:
            prefixes.append(_event_topic(category(stream), stream))
    else:
        prefixes.append(_event_topic(category_name))
    return prefixes


def filter_takes(stream, category_name, types, event):
    """Does the filter (empty parts: any) take this EVENT's fields?"""
    if stream and event["stream"] != stream:
        return False
    if category_name and category(event["stream"]) != category_name:
        return False
    return not types or event["type"] in types


def covered(events_message):
    """The last position an EVENTS batch covers: its `to`, or from + count - 1."""
    return events_message["to"] or events_message["from"] + len(events_message["events"]) - 1
