/*  =========================================================================
    zcq_msg - the ZCQ1 wire codec: encode, decode and validate every message

    Every zcqrs message is a ZeroMQ multipart message of three frames (plus a
    routing envelope on ROUTER sockets):

        frame 1  signature    "ZCQ1"                (protocol and major version)
        frame 2  message type "COMMAND", "REPLY", ... (ASCII, upper case)
        frame 3  body         one msgpack map with string keys
        frame 4+ (EVENTS only) one EVENT body per frame

    protocol/zcqrs-v1.md is the specification; this class is its C mirror.
    A decoded message never fails silently: zcq_msg_valid () says whether it
    decoded, zcq_msg_error_status () and zcq_msg_error () say what was wrong.
    =========================================================================
*/

#ifndef ZCQ_MSG_H_INCLUDED
#define ZCQ_MSG_H_INCLUDED

#include <czmq.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_SIGNATURE      "ZCQ1"        //  frame 1 of every message
#define ZCQ_MAX_BODY       (1024 * 1024) //  bytes in frame 3 (and each EVENTS frame)
#define ZCQ_MAX_DATA       (256 * 1024)  //  bytes of a command's data / an event's data
#define ZCQ_MAX_STREAM     256           //  bytes of a stream name (UTF-8)
#define ZCQ_MAX_NAME       128           //  bytes of a command, event or query name
#define ZCQ_MAX_ID         64            //  bytes of a request id (commands: exactly 16)
#define ZCQ_MAX_ROUTING    255           //  bytes of a ROUTER routing id (libzmq's limit)
#define ZCQ_MAX_TEXT       4096          //  bytes of a reason or correlation id
#define ZCQ_MAX_ENDPOINT   512           //  bytes of a REPLY's leader endpoint
#define ZCQ_COMMAND_ID     16            //  bytes of a command id
#define ZCQ_EXPECT_ANY     (-1)          //  expected version: do not check
#define ZCQ_MAX_EVENTS     1000          //  events in one EVENTS reply
#define ZCQ_HARD_MAXMSG    (16 * 1024 * 1024)  //  ZMQ_MAXMSGSIZE: larger frames drop the peer
#define ZCQ_MAX_USER       128           //  bytes of a user id (EVENT meta.user)
#define ZCQ_MAX_TYPES      16            //  event types in one REPLAY filter
//  Bytes of a PUB topic frame: "ZCQ1E" category NUL stream NUL type NUL
#define ZCQ_MAX_TOPIC      (5 + ZCQ_MAX_STREAM + 1 + ZCQ_MAX_STREAM + 1 + ZCQ_MAX_NAME + 1)

//  The endpoints of section 3: where a local cluster's nodes bind by default,
//  and where clients look for them.
#define ZCQ_DEFAULT_COMMANDS "tcp://127.0.0.1:5601"    //  write node ROUTER
#define ZCQ_DEFAULT_EVENTS   "tcp://127.0.0.1:5602"    //  write node PUB
#define ZCQ_DEFAULT_REPLAY   "tcp://127.0.0.1:5603"    //  write node replay ROUTER
#define ZCQ_DEFAULT_QUERIES  "tcp://127.0.0.1:5611"    //  first query node ROUTER

//  Message types (frame 2). Values are this library's; the wire carries names.
typedef enum {
    ZCQ_MSG_UNKNOWN = 0,    //  not (yet) recognised
    ZCQ_MSG_COMMAND,        //  client -> write node: do something to a stream
    ZCQ_MSG_REPLY,          //  write node -> client: the command's outcome
    ZCQ_MSG_EVENT,          //  write node PUB: one stored event
    ZCQ_MSG_HEARTBEAT,      //  write node PUB: liveness and head position
    ZCQ_MSG_REPLAY,         //  reader -> write node: send stored events from a position
    ZCQ_MSG_EVENTS,         //  write node -> reader: a batch of stored events
    ZCQ_MSG_QUERY,          //  client -> query node (or write node): a named query
    ZCQ_MSG_RESULT,         //  query node -> client: the answer and its position
    ZCQ_MSG_ERROR,          //  any node -> peer: a message it could not read at all
    ZCQ_MSG_WATCH,          //  client -> query node: keep me told of a query's result
    ZCQ_MSG_UPDATE,         //  query node -> client: a watched query's result, or a refusal
    ZCQ_MSG_ACK,            //  client -> query node: update taken (send the next); renewal
    ZCQ_MSG_UNWATCH,        //  client -> query node: stop watching
    ZCQ_MSG_TYPES           //  count, not a type
} zcq_msg_type_t;

//  Status codes carried in REPLY, RESULT and ERROR. Each has a fixed wire name.
typedef enum {
    ZCQ_OK = 0,             //  "ok": query answered
    ZCQ_ACCEPTED,           //  "accepted": command stored, events published
    ZCQ_REJECTED,           //  "rejected": a domain rule refused the command
    ZCQ_CONFLICT,           //  "conflict": expected version does not match the stream
    ZCQ_INVALID,            //  "invalid": malformed message, missing or mistyped field
    ZCQ_UNKNOWN_TYPE,       //  "unknown": unknown message type, command type or query
    ZCQ_TOO_LARGE,          //  "too_large": a frame or field is over its limit
    ZCQ_BAD_VERSION,        //  "bad_version": signature is not ZCQ1
    ZCQ_NOT_FOUND,          //  "not_found": query target does not exist
    ZCQ_STALE,              //  "stale": query answered below the asked min_position
    ZCQ_UNAVAILABLE,        //  "unavailable": storage failed; nothing stored, retry
    ZCQ_BUSY,               //  "busy": node saturated, retry later
    ZCQ_FORBIDDEN,          //  "forbidden": the peer's key lacks the role this needs
    ZCQ_NOT_LEADER,         //  "not_leader": a write-group member that does not lead
    ZCQ_STATUSES            //  count, not a status
} zcq_status_t;

typedef struct _zcq_msg_t zcq_msg_t;

//  Return the wire name of a message type ("COMMAND"), or "UNKNOWN".
const char *
    zcq_msg_type_name (zcq_msg_type_t type);

//  Return the message type with this wire name, or ZCQ_MSG_UNKNOWN.
zcq_msg_type_t
    zcq_msg_type_from_name (const char *name, size_t size);

//  Return the wire name of a status ("accepted"), or "unknown_status".
const char *
    zcq_status_name (zcq_status_t status);

//  Return the status with this wire name, or -1 if there is none.
int
    zcq_status_from_name (const char *name, size_t size);

//  Return true if sending the same request again later can succeed.
bool
    zcq_status_retryable (zcq_status_t status);

//  Create an empty message of the given type.
zcq_msg_t *
    zcq_msg_new (zcq_msg_type_t type);

//  Destroy a message; nulls the caller's pointer; safe on NULL.
void
    zcq_msg_destroy (zcq_msg_t **self_p);

//  Receive one message from a socket and decode it. On a ROUTER socket the
//  routing id (and an empty delimiter, as REQ peers send) is kept for the
//  reply. Returns NULL only if the receive was interrupted; a message that
//  did not decode, or came with a ZAP user id that cannot be one (over
//  ZCQ_MAX_USER bytes, or not UTF-8 without control characters), is
//  returned with zcq_msg_valid () false and no user. The ZAP user id and
//  roles are read on a ROUTER only (the sockets that authenticate peers).
zcq_msg_t *
    zcq_msg_recv (zsock_t *sock);

//  The same, but only a message already queued: returns NULL with
//  zmq_errno () EAGAIN at once when there is none.
zcq_msg_t *
    zcq_msg_recv_nowait (zsock_t *sock);

//  Flags of zcq_msg_recv_typed
#define ZCQ_RECV_NOWAIT 1 //  only a message already queued, as zcq_msg_recv_nowait
#define ZCQ_RECV_PLAIN  2 //  the socket is no CURVE server: no ZAP user id or roles to look up

//  The same for a socket whose libzmq type (zsock_type) the caller looked
//  up once, as a socket's type never changes: zcq_msg_recv and
//  zcq_msg_recv_nowait look it up per message. socket_type must be the
//  socket's; ZCQ_RECV_PLAIN only for a socket that authenticates nobody
//  (ours set a ZAP domain on CURVE servers only), whose messages then
//  carry no user.
zcq_msg_t *
    zcq_msg_recv_typed (zsock_t *sock, int socket_type, int flags);

//  Decode frames that carry no envelope (signature first). Takes ownership
//  of *zmsg_p and nulls it. Never returns NULL.
zcq_msg_t *
    zcq_msg_decode (zmsg_t **zmsg_p);

//  Decode a message as a SUB receives it from the PUB: a topic frame, then
//  the message's frames; the topic must be the one zcq_msg_topic forms for
//  it. Takes ownership of *zmsg_p and nulls it. Never returns NULL.
zcq_msg_t *
    zcq_msg_decode_published (zmsg_t **zmsg_p);

//  Decode one body (a msgpack map) as a message of the given type.
//  Returns a message; check zcq_msg_valid (). Never returns NULL.
zcq_msg_t *
    zcq_msg_decode_body (zcq_msg_type_t type, const void *body, size_t size);

//  Encode the message body (frame 3) into a new buffer. Returns 0, or -1 if
//  a field breaks the protocol's limits or the message already carries an
//  error (zcq_msg_set_error, a failed decode): the reason is in
//  zcq_msg_error ().
int
    zcq_msg_encode_body (zcq_msg_t *self, msgpack_sbuffer *buffer);

//  Encode the message into frames (no envelope). Returns NULL on -1 above.
zmsg_t *
    zcq_msg_encode (zcq_msg_t *self);

//  Send the message, with the routing id if one is set. The message stays
//  the caller's. Returns 0, or -1 if it could not be encoded or sent.
int
    zcq_msg_send (zcq_msg_t *self, zsock_t *sock);

//  Send the message with its body already encoded by zcq_msg_encode_body
//  (a sender that encoded it to check it fits need not encode it again):
//  the routing id if one is set, the signature and type, body, then the
//  message's event frames. Message and body stay the caller's. Returns 0,
//  or -1 if it could not be sent.
int
    zcq_msg_send_encoded (zcq_msg_t *self, zsock_t *sock, const msgpack_sbuffer *body);

//  Send an EVENT whose packed body is already at hand (as stored in the
//  log), without decoding it: the write node publishes this way. Returns 0,
//  or -1 if ZeroMQ refused it.
int
    zcq_msg_send_event_body (zsock_t *sock, const byte *topic, size_t topic_size,
                             const void *body, size_t size);

//  Send a REPLY whose packed body is already at hand (encoded once when the
//  command was decided) to the peer with this routing id, after an empty
//  delimiter frame if the peer sent one. Returns 0, or -1 if ZeroMQ
//  refused it (nothing was queued then).
int
    zcq_msg_send_reply_body (zsock_t *sock, const byte *routing_id, size_t routing_size,
                             bool delimiter, const void *body, size_t size);

//  Make a reply to this request: the type that answers it (COMMAND -> REPLY,
//  QUERY -> RESULT, REPLAY -> EVENTS, anything else -> ERROR), the same
//  routing envelope and request id. Returns a new message.
zcq_msg_t *
    zcq_msg_reply_to (zcq_msg_t *request, zcq_status_t status);

//  True if the message decoded and passed validation.
bool
    zcq_msg_valid (zcq_msg_t *self);

//  Why decoding failed (a status such as ZCQ_INVALID) and what was wrong;
//  ZCQ_OK and "" for a valid message.
zcq_status_t
    zcq_msg_error_status (zcq_msg_t *self);
const char *
    zcq_msg_error (zcq_msg_t *self);

//  Mark the message as failed with a status and a printf-style reason.
void
    zcq_msg_set_error (zcq_msg_t *self, zcq_status_t status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  --- Fields -----------------------------------------------------------------
//  Getters return borrowed values; setters copy. Which fields a message type
//  uses is in the spec's frame tables. Strings are NUL-terminated copies.

//  Message type (frame 2); ZCQ_MSG_UNKNOWN when frames did not decode.
zcq_msg_type_t
    zcq_msg_type (zcq_msg_t *self);
void
    zcq_msg_set_type (zcq_msg_t *self, zcq_msg_type_t type);

//  ROUTER envelope (routing id frame), NULL when the socket adds none.
//  The frame is made on the first call and owned by the message.
zframe_t *
    zcq_msg_routing_id (zcq_msg_t *self);

//  The same envelope's bytes, and in *size their count (at most
//  ZCQ_MAX_ROUTING), without making a frame; NULL (*size 0) when none.
const byte *
    zcq_msg_routing (zcq_msg_t *self, size_t *size);

//  True if the peer put an empty delimiter frame after its routing id.
bool
    zcq_msg_delimiter (zcq_msg_t *self);
void
    zcq_msg_set_routing_id (zcq_msg_t *self, zframe_t *routing_id);

//  Request id: 16 bytes for commands (the command id), 1-64 otherwise.
const byte *
    zcq_msg_id (zcq_msg_t *self);
size_t
    zcq_msg_id_size (zcq_msg_t *self);
void
    zcq_msg_set_id (zcq_msg_t *self, const void *id, size_t size);

//  Command type, event type or query name.
const char *
    zcq_msg_name (zcq_msg_t *self);
void
    zcq_msg_set_name (zcq_msg_t *self, const char *name);

//  Stream (aggregate id) of a COMMAND or EVENT.
const char *
    zcq_msg_stream (zcq_msg_t *self);
void
    zcq_msg_set_stream (zcq_msg_t *self, const char *stream);

//  Expected stream version of a command: ZCQ_EXPECT_ANY, 0 (no stream) or N.
int64_t
    zcq_msg_expect (zcq_msg_t *self);
void
    zcq_msg_set_expect (zcq_msg_t *self, int64_t expect);

//  Payload, packed msgpack: command data, event data, query params (maps),
//  or a query's result (any object). Empty (size 0) when absent.
const byte *
    zcq_msg_data (zcq_msg_t *self);
size_t
    zcq_msg_data_size (zcq_msg_t *self);
void
    zcq_msg_set_data (zcq_msg_t *self, const void *data, size_t size);

//  Status of a REPLY, RESULT or ERROR.
zcq_status_t
    zcq_msg_status (zcq_msg_t *self);
void
    zcq_msg_set_status (zcq_msg_t *self, zcq_status_t status);

//  Human-readable reason of a REPLY, RESULT or ERROR ("" when none).
const char *
    zcq_msg_reason (zcq_msg_t *self);
void
    zcq_msg_set_reason (zcq_msg_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Stream version (REPLY: after the command; EVENT: of this event).
uint64_t
    zcq_msg_version (zcq_msg_t *self);
void
    zcq_msg_set_version (zcq_msg_t *self, uint64_t version);

//  EVENT: the schema version of its type's data (1, 2, ...; section 6.3):
//  the version of the domain that appended it. Absent on the wire, and 0
//  when set, mean 1.
uint32_t
    zcq_msg_schema (zcq_msg_t *self);
void
    zcq_msg_set_schema (zcq_msg_t *self, uint32_t schema);

//  EVENT meta.deleted: the position of the tombstone of its stream that
//  hid this event's data (section 10.13), or 0 for an event as appended.
uint64_t
    zcq_msg_deleted (zcq_msg_t *self);
void
    zcq_msg_set_deleted (zcq_msg_t *self, uint64_t tombstone);

//  Global position (REPLY: of the command's last event, or the head when it
//  appended none; EVENT: of this event; RESULT: applied position answered).
uint64_t
    zcq_msg_position (zcq_msg_t *self);
void
    zcq_msg_set_position (zcq_msg_t *self, uint64_t position);

//  REPLY: number of events the command appended.
uint32_t
    zcq_msg_count (zcq_msg_t *self);
void
    zcq_msg_set_count (zcq_msg_t *self, uint32_t count);

//  EVENT and HEARTBEAT: microseconds since the Unix epoch.
int64_t
    zcq_msg_time (zcq_msg_t *self);
void
    zcq_msg_set_time (zcq_msg_t *self, int64_t time);

//  COMMAND and EVENT: the caller's correlation id, "" when none.
const char *
    zcq_msg_correlation (zcq_msg_t *self);
void
    zcq_msg_set_correlation (zcq_msg_t *self, const char *correlation);

//  Who sent or caused the message: on a received message, the user id the
//  node's ZAP handler gave the peer's CURVE key (frame metadata "User-Id");
//  on an EVENT, meta.user, the user whose command appended it. "" when none
//  (an unsecured endpoint).
const char *
    zcq_msg_user (zcq_msg_t *self);
void
    zcq_msg_set_user (zcq_msg_t *self, const char *user);

//  Received messages only: the roles the ZAP handler granted the peer's key
//  (frame metadata "Roles", e.g. "commands,query"), or NULL when the
//  connection went through no ZAP handler (an unsecured endpoint). Never on
//  the wire.
const char *
    zcq_msg_roles (zcq_msg_t *self);

//  REPLAY and EVENTS: first position asked for.
uint64_t
    zcq_msg_from (zcq_msg_t *self);
void
    zcq_msg_set_from (zcq_msg_t *self, uint64_t from);

//  EVENTS: last position the batch covers: every event from `from` to it
//  that the REPLAY's filter takes is in the batch. 0 when not sent (an
//  unfiltered batch): then it is from + count - 1, see zcq_msg_covered.
uint64_t
    zcq_msg_to (zcq_msg_t *self);
void
    zcq_msg_set_to (zcq_msg_t *self, uint64_t to);
//  EVENTS: last position the batch covers, sent or implied.
uint64_t
    zcq_msg_covered (zcq_msg_t *self);

//  REPLAY filter: the category (a stream's name before its first '-', the
//  whole name if it has none); "" when none.
const char *
    zcq_msg_category (zcq_msg_t *self);
void
    zcq_msg_set_category (zcq_msg_t *self, const char *category);

//  REPLAY filter: the event types taken (none: every type). Adding more
//  than ZCQ_MAX_TYPES returns -1.
size_t
    zcq_msg_type_count (zcq_msg_t *self);
const char *
    zcq_msg_type_at (zcq_msg_t *self, size_t index);
int
    zcq_msg_add_type (zcq_msg_t *self, const char *type);

//  REPLAY: start at the first position whose event was decided at or after
//  this time (us since the epoch), when that is above `from`; 0: not set.
int64_t
    zcq_msg_since (zcq_msg_t *self);
void
    zcq_msg_set_since (zcq_msg_t *self, int64_t since);

//  The filter of a REPLAY (its stream, category and types; all empty:
//  everything) and an EVENT: does the filter take the event? Every key that
//  is set must match.
bool
    zcq_msg_filter_takes (zcq_msg_t *filter, zcq_msg_t *event);

//  Copy filter's stream, category and types into another message (a new
//  REPLAY).
void
    zcq_msg_filter_copy (zcq_msg_t *filter, zcq_msg_t *into);

//  Subscribe a SUB socket to what a filter takes (and to heartbeats), as
//  exactly as topic prefixes can say it: a stream (with or without types)
//  and a category are exact; types without a stream are taken at the
//  subscriber (zcq_msg_filter_takes). NULL filter: everything.
void
    zcq_msg_filter_subscribe (zcq_msg_t *filter, zsock_t *sub);

//  The length of a category in a stream name: bytes before its first '-'.
size_t
    zcq_msg_category_size (const char *stream);

//  The PUB topic frame of an EVENT ("ZCQ1E" category NUL stream NUL type
//  NUL) or a HEARTBEAT ("ZCQ1H"), written into topic; returns its size (0:
//  another type, which is not published).
size_t
    zcq_msg_topic (zcq_msg_t *self, byte topic [ZCQ_MAX_TOPIC]);

//  The topic an EVENT of this body is published under, from its body alone
//  (a stored event), as zcq_msg_topic gives it for the decoded EVENT,
//  without decoding it: only the map's form (string keys, no bytes after
//  it) and its "stream" and "type" are read and checked as the decoder
//  checks them. Returns the topic's size, or 0 if the body is not such a
//  map or its stream or type is missing or one the decoder refuses. What
//  else the body holds is not checked.
size_t
    zcq_msg_event_topic (const void *body, size_t size, byte topic [ZCQ_MAX_TOPIC]);

//  REPLAY: most events wanted in the reply (1 to ZCQ_MAX_EVENTS).
uint32_t
    zcq_msg_max (zcq_msg_t *self);
void
    zcq_msg_set_max (zcq_msg_t *self, uint32_t max);

//  EVENTS and HEARTBEAT: the write node's last stored position.
uint64_t
    zcq_msg_head (zcq_msg_t *self);
void
    zcq_msg_set_head (zcq_msg_t *self, uint64_t head);

//  REPLY: milliseconds the node asks a client to wait before retrying a
//  "busy" (or "unavailable") command; 0 (absent on the wire) means no hint.
uint32_t
    zcq_msg_retry_after (zcq_msg_t *self);
void
    zcq_msg_set_retry_after (zcq_msg_t *self, uint32_t milliseconds);

//  REPLY "not_leader": the commands endpoint of the write group's leader as
//  the answering member knows it, "" when it knows none (absent on the wire).
const char *
    zcq_msg_leader (zcq_msg_t *self);
void
    zcq_msg_set_leader (zcq_msg_t *self, const char *endpoint);

//  HEARTBEAT: milliseconds between heartbeats.
uint32_t
    zcq_msg_interval (zcq_msg_t *self);
void
    zcq_msg_set_interval (zcq_msg_t *self, uint32_t interval);

//  HEARTBEAT and EVENTS: where they come from (section 10.16): the write
//  node's cluster id and its log's incarnation id (32 hex digits each) and
//  its domain's name; "" each when the sender did not say (a v1 peer from
//  before cluster ids).
const char *
    zcq_msg_cluster (zcq_msg_t *self);
const char *
    zcq_msg_incarnation (zcq_msg_t *self);
const char *
    zcq_msg_domain (zcq_msg_t *self);
//  Set all three (copied; NULL or "" leaves one off the wire).
void
    zcq_msg_set_origin (zcq_msg_t *self, const char *cluster, const char *incarnation,
                        const char *domain);

//  QUERY: lowest applied position the answer may reflect (0: any).
uint64_t
    zcq_msg_min_position (zcq_msg_t *self);
void
    zcq_msg_set_min_position (zcq_msg_t *self, uint64_t min_position);

//  QUERY: milliseconds the node may wait for min_position (0: node default).
uint32_t
    zcq_msg_timeout (zcq_msg_t *self);
void
    zcq_msg_set_timeout (zcq_msg_t *self, uint32_t timeout);

//  UPDATE: the watch's result number (1, 2, ...; 0: the watch is not, or no
//  longer, held: a refusal); ACK: the update taken (0: a renewal only).
uint64_t
    zcq_msg_seq (zcq_msg_t *self);
void
    zcq_msg_set_seq (zcq_msg_t *self, uint64_t seq);

//  UPDATE: milliseconds the node keeps a client's watches after it last
//  heard from it (0: absent on the wire).
uint32_t
    zcq_msg_lease (zcq_msg_t *self);
void
    zcq_msg_set_lease (zcq_msg_t *self, uint32_t lease);

//  UPDATE: the query node's incarnation (32 hex digits, new at every start
//  of the node), read and set with zcq_msg_incarnation / zcq_msg_set_origin.

//  RESULT and UPDATE: true when the answering query node is not following
//  the write node (silent past its limit, or its log is behind the node):
//  the answer may miss committed events. Sent only when true.
bool
    zcq_msg_may_be_stale (zcq_msg_t *self);
void
    zcq_msg_set_may_be_stale (zcq_msg_t *self, bool may_be_stale);

//  EVENTS: the event bodies, one frame each, in position order.
size_t
    zcq_msg_event_count (zcq_msg_t *self);
//  Return the i-th event body frame (borrowed), or NULL past the end.
zframe_t *
    zcq_msg_event_frame (zcq_msg_t *self, size_t index);
//  Return the i-th event body's bytes (borrowed, *size of them), or NULL
//  past the end: the body as it was received, without a frame made of it.
const byte *
    zcq_msg_event_body (zcq_msg_t *self, size_t index, size_t *size);
//  Append one packed EVENT body (copied).
void
    zcq_msg_add_event (zcq_msg_t *self, const void *body, size_t size);

#ifdef __cplusplus
}
#endif

#endif
