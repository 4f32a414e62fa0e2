/*  =========================================================================
    zcq_msg - the ZCQ1 wire codec (see zcq_msg.h and zcqrs-v1.md)

    Decoding is strict about what it needs and lenient about what it does not
    know: a missing or mistyped field is an error that names the field, an
    unknown key is ignored so that minor additions stay compatible in v1.

    One schema table (s_schemas: each body's fields in wire order, with key,
    value type, limit and presence) drives both directions: decoding looks
    keys up in it, encoding walks it and counts the map from it.
    =========================================================================
*/

#include "zcq_msg.h"
#include "zcq_mpack.h"
#include "zcq_text.h"

#include <pthread.h>
#include <stdarg.h>

//  A message keeps its texts and data in one block right after it, in the
//  message's own allocation: a decoded one a block as large as its body
//  (every field is copied from its own bytes of it, once), a made one a
//  block of BLOCK_ROOM bytes that its setters fill; a field that does not
//  fit gets an allocation of its own. A command, its event and its reply
//  are made and destroyed for every command the write node takes (and an
//  EVENT decoded for every event a query node applies): with the spares
//  below, none of them allocates.
//  Built with ZCQ_MSG_BLOCKS=0 (a test compares the two), each field has
//  an allocation of its own.
#ifndef ZCQ_MSG_BLOCKS
#define ZCQ_MSG_BLOCKS 1
#endif

//  An EVENT in the layout it is written in is read in place (see
//  s_event_in_place); built with ZCQ_MSG_BLOCKS=0 it is not either, so that
//  the same test compares it with the schema's decoding.
#ifndef ZCQ_MSG_IN_PLACE
#define ZCQ_MSG_IN_PLACE ZCQ_MSG_BLOCKS
#endif

struct _zcq_msg_t {
    zcq_msg_type_t type;       //  message type (frame 2)
    bool routed;               //  a ROUTER envelope came with it: routing holds it
    size_t routing_size;       //  bytes in routing
    zframe_t *routing_id;      //  that envelope as a frame, made when asked, or NULL
    bool delimiter;            //  peer put an empty frame after the id (REQ)
    bool loose;                //  a text or data field may be allocated outside the block
    zcq_status_t error_status; //  decode outcome; ZCQ_OK when valid
    char *error;               //  what was wrong when not valid
    byte id [ZCQ_MAX_ID];      //  request / command id
    size_t id_size;            //  bytes in id, 0 when absent
    char *name;                //  command type, event type or query name
    char *stream;              //  stream name
    int64_t expect;            //  expected version or ZCQ_EXPECT_ANY
    byte *data;                //  packed payload (data, params, result)
    size_t data_size;          //  bytes in data
    zcq_status_t status;       //  REPLY / RESULT / ERROR status
    char *reason;              //  REPLY / RESULT / ERROR reason text
    uint64_t version;          //  stream version
    uint32_t schema;           //  EVENT: schema version of its type (0 reads as 1)
    uint64_t deleted;          //  EVENT meta.deleted: the tombstone that hid it, or 0
    uint64_t position;         //  global position
    uint32_t count;            //  events appended (REPLY)
    int64_t time;              //  microseconds since the epoch
    char *correlation;         //  caller's correlation id
    char *user;                //  ZAP user id of the sender, or EVENT meta.user
    char *roles;               //  ZAP roles of the sender (received only), or NULL
    uint64_t from;             //  REPLAY / EVENTS first position
    uint64_t to;               //  EVENTS: last position the batch covers (0: from + count - 1)
    char *category;            //  REPLAY filter: category (stream name before its first '-')
    char **types;              //  REPLAY filter: event types (type_count of them)
    size_t type_count;         //  entries in types
    uint32_t max;              //  REPLAY batch size
    uint64_t head;             //  last stored position
    uint32_t interval;         //  heartbeat interval, ms
    char *cluster;             //  HEARTBEAT / EVENTS: the write node's cluster id
    char *incarnation;         //  HEARTBEAT / EVENTS: its log's incarnation id
    char *domain;              //  HEARTBEAT / EVENTS: its domain's name
    uint32_t retry_after;      //  REPLY busy/unavailable: ms to wait before a retry
    char *leader;              //  REPLY not_leader: the leader's commands endpoint, or NULL
    uint64_t min_position;     //  QUERY read-your-writes bound
    uint32_t timeout;          //  QUERY wait bound, ms
    bool may_be_stale;         //  RESULT / UPDATE: the node is not following the write node
    uint64_t seq;              //  UPDATE / ACK: the watch's result number
    uint32_t lease;            //  UPDATE: ms the node keeps a silent client's watches
    zmq_msg_t *bodies;         //  EVENTS bodies, in order: the parts received, or copies
    size_t event_count;        //  parts in bodies
    size_t event_alloc;        //  slots allocated in bodies
    zframe_t **events;         //  frames made of bodies when zcq_msg_event_frame asks, or NULL
    byte *block;               //  where its texts and data live (after the message, in
                               //  its allocation), or NULL
    size_t block_size;         //  bytes in block
    size_t block_used;         //  bytes of block handed out
    //  Last, as zcq_msg_new does not clear it: only routing_size bytes count.
    //  One spare byte ends it on the struct's alignment, so that the
    //  assertion below catches a member added after it (it would not be
    //  cleared): add members above this one
    byte routing [ZCQ_MAX_ROUTING + 1]; //  the ROUTER envelope's bytes (no frame made)
};
_Static_assert(offsetof (struct _zcq_msg_t, routing) + ZCQ_MAX_ROUTING + 1
                   == sizeof (struct _zcq_msg_t),
               "routing is zcq_msg_t's last member");

static const char *s_type_names [ZCQ_MSG_TYPES] = {
    [ZCQ_MSG_UNKNOWN] = "UNKNOWN",
    [ZCQ_MSG_COMMAND] = "COMMAND",
    [ZCQ_MSG_REPLY] = "REPLY",
    [ZCQ_MSG_EVENT] = "EVENT",
    [ZCQ_MSG_HEARTBEAT] = "HEARTBEAT",
    [ZCQ_MSG_REPLAY] = "REPLAY",
    [ZCQ_MSG_EVENTS] = "EVENTS",
    [ZCQ_MSG_QUERY] = "QUERY",
    [ZCQ_MSG_RESULT] = "RESULT",
    [ZCQ_MSG_ERROR] = "ERROR",
    [ZCQ_MSG_WATCH] = "WATCH",
    [ZCQ_MSG_UPDATE] = "UPDATE",
    [ZCQ_MSG_ACK] = "ACK",
    [ZCQ_MSG_UNWATCH] = "UNWATCH",
};

static const struct {
    const char *name; //  wire name
    bool retryable;   //  can the same request succeed later
} s_statuses [ZCQ_STATUSES] = {
    [ZCQ_OK] = {"ok", false},
    [ZCQ_ACCEPTED] = {"accepted", false},
    [ZCQ_REJECTED] = {"rejected", false},
    [ZCQ_CONFLICT] = {"conflict", false},
    [ZCQ_INVALID] = {"invalid", false},
    [ZCQ_UNKNOWN_TYPE] = {"unknown", false},
    [ZCQ_TOO_LARGE] = {"too_large", false},
    [ZCQ_BAD_VERSION] = {"bad_version", false},
    [ZCQ_NOT_FOUND] = {"not_found", false},
    [ZCQ_STALE] = {"stale", true},
    [ZCQ_UNAVAILABLE] = {"unavailable", true},
    [ZCQ_BUSY] = {"busy", true},
    [ZCQ_FORBIDDEN] = {"forbidden", false},
    [ZCQ_NOT_LEADER] = {"not_leader", true},
};

//  Is name (size bytes, not terminated) the known text? Compared byte by
//  byte inline: a type or status name of every message received is looked
//  up, and most names are matched or told apart in their first bytes.
static bool
s_name_is (const char *known, const char *name, size_t size)
{
    for (size_t index = 0; index < size; index++) {
        if (known [index] == 0 || known [index] != name [index]) {
            return false;
        }
    }
    return known [size] == 0;
}

const char *
zcq_msg_type_name (zcq_msg_type_t type)
{
    if (type > ZCQ_MSG_UNKNOWN && type < ZCQ_MSG_TYPES) {
        return s_type_names [type];
    }
    return "UNKNOWN";
}

zcq_msg_type_t
zcq_msg_type_from_name (const char *name, size_t size)
{
    for (int type = ZCQ_MSG_UNKNOWN + 1; type < ZCQ_MSG_TYPES; type++) {
        if (s_name_is (s_type_names [type], name, size)) {
            return (zcq_msg_type_t) type;
        }
    }
    return ZCQ_MSG_UNKNOWN;
}

const char *
zcq_status_name (zcq_status_t status)
{
    if ((int) status >= 0 && status < ZCQ_STATUSES) {
        return s_statuses [status].name;
    }
    return "unknown_status";
}

int
zcq_status_from_name (const char *name, size_t size)
{
    for (int status = 0; status < ZCQ_STATUSES; status++) {
        if (s_name_is (s_statuses [status].name, name, size)) {
            return status;
        }
    }
    return -1;
}

bool
zcq_status_retryable (zcq_status_t status)
{
    return (int) status >= 0 && status < ZCQ_STATUSES && s_statuses [status].retryable;
}

//  Spare messages: a command and its reply are made and destroyed over
//  and over, and a zeroed allocation of a message cost about 300
//  instructions (glibc's calloc does not use its per-thread cache), so
//  each thread keeps the last few destroyed ones to make its next ones
//  from. They are freed when the thread exits. Under AddressSanitizer
//  there are none: it must see each message freed to catch a use after
//  free.
#if defined(__SANITIZE_ADDRESS__)
#define SPARES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPARES 0
#endif
#endif
#ifndef SPARES
#define SPARES 4 //  destroyed messages a thread keeps for its next ones
#endif
//  The checked (AddressSanitizer) build also verifies what callers promise
#define CHECKED (SPARES == 0)

//  Decoded EVENTs come by the thousand (a replay batch is decoded whole
//  before it is applied), each a message with its block after it in one
//  allocation of its own size; glibc's per-thread cache keeps 7 chunks of
//  a size, and the rest go through its slower paths. So those whose block
//  fits BLOCK_ROOM bytes are all made that size (with the message, a size
//  that cache still takes), and a thread keeps up to a batch's worth of
//  them destroyed (ZCQ_MAX_EVENTS, under 1 MiB) to make its next ones from.
#define BLOCK_ROOM   256                           //  bytes of block of a small message
#define BLOCK_SPARES (SPARES ? ZCQ_MAX_EVENTS : 0) //  kept ones a thread holds at most

typedef struct {
    zcq_msg_t *spare [SPARES + 1]; //  kept messages (one more: never an empty array)
    int count;                     //  how many
    zcq_msg_t *block_spare [BLOCK_SPARES + 1]; //  kept messages with a block of BLOCK_ROOM
    int block_count;                           //  how many
} s_spares_t;

static pthread_key_t s_spares_key; //  frees a thread's spares when it exits
static pthread_once_t s_spares_once = PTHREAD_ONCE_INIT;
static _Thread_local s_spares_t *s_spares; //  this thread's, or NULL

static void
s_spares_free (void *arg)
{
    s_spares_t *spares = (s_spares_t *) arg;
    for (int index = 0; index < spares->count; index++) {
        free (spares->spare [index]);
    }
    for (int index = 0; index < spares->block_count; index++) {
        free (spares->block_spare [index]);
    }
    free (spares);
    s_spares = NULL; //  a message destroyed later in this thread is freed
}

static void
s_spares_key_create (void)
{
    pthread_key_create (&s_spares_key, s_spares_free);
}

//  Keep a destroyed message's memory as a spare, or free it.
static void
s_spare_keep (zcq_msg_t *self)
{
    if (SPARES > 0 && !s_spares) {
        pthread_once (&s_spares_once, s_spares_key_create);
        s_spares = (s_spares_t *) calloc (1, sizeof (s_spares_t));
        if (s_spares && pthread_setspecific (s_spares_key, s_spares) != 0) {
            free (s_spares);
            s_spares = NULL;
        }
    }
    bool block_room = self->block == (byte *) (self + 1) && self->block_size == BLOCK_ROOM;
    if (block_room && s_spares && s_spares->block_count < BLOCK_SPARES) {
        s_spares->block_spare [s_spares->block_count++] = self;
    }
    else if (!block_room && s_spares && s_spares->count < SPARES) {
        s_spares->spare [s_spares->count++] = self;
    }
    else {
        free (self);
    }
}

//  Free what a field held, unless it lives in the message's block.
static void
s_release (zcq_msg_t *self, void *held)
{
    uintptr_t at = (uintptr_t) held, block = (uintptr_t) self->block;
    if (held && (at < block || at >= block + self->block_size)) {
        free (held);
    }
}

//  Room for size bytes of a field: in the block while it has them, else an
//  allocation of the field's own (s_release tells which).
static void *
s_field_alloc (zcq_msg_t *self, size_t size)
{
    if (self->block && self->block_size - self->block_used >= size) {
        void *room = self->block + self->block_used;
        self->block_used += size;
        return room;
    }
    void *room = malloc (size);
    assert (room);
    self->loose = true;
    return room;
}

static void s_reset (zcq_msg_t *self, zcq_msg_type_t type);

//  A message with room for a block of size bytes after it, one allocation
//  (kept as a spare when destroyed, as any other).
static zcq_msg_t *
s_new_with_block (zcq_msg_type_t type, size_t size)
{
    //  Small blocks are all BLOCK_ROOM bytes, so that kept ones fit any
    size_t room = size <= BLOCK_ROOM ? BLOCK_ROOM : size;
    zcq_msg_t *self = room == BLOCK_ROOM && s_spares && s_spares->block_count > 0
                          ? s_spares->block_spare [--s_spares->block_count]
                          : (zcq_msg_t *) malloc (sizeof (zcq_msg_t) + room);
    assert (self);
    s_reset (self, type);
    self->block = (byte *) (self + 1);
    self->block_size = room;
    return self;
}

static void
s_reset (zcq_msg_t *self, zcq_msg_type_t type)
{
    memset (self, 0, offsetof (zcq_msg_t, routing));
    self->type = type;
    self->expect = ZCQ_EXPECT_ANY;
}

zcq_msg_t *
zcq_msg_new (zcq_msg_type_t type)
{
    if (ZCQ_MSG_BLOCKS) {
        return s_new_with_block (type, 0); //  a block of BLOCK_ROOM for its setters
    }
    zcq_msg_t *self = s_spares && s_spares->count > 0
                          ? s_spares->spare [--s_spares->count]
                          : (zcq_msg_t *) malloc (sizeof (zcq_msg_t));
    assert (self);
    s_reset (self, type);
    return self;
}

void
zcq_msg_destroy (zcq_msg_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_msg_t *self = *self_p;
        if (self->routing_id) {
            zframe_destroy (&self->routing_id);
        }
        //  Most of these are NULL or in the block in most messages: nothing
        //  to free unless one was allocated outside it
        void *owned [] = {self->error,  self->name,        self->stream,  self->data,
                          self->reason, self->correlation, self->leader,  self->user,
                          self->roles,  self->category,    self->cluster, self->incarnation,
                          self->domain};
        for (size_t index = 0; self->loose && index < sizeof (owned) / sizeof (owned [0]);
             index++) {
            if (owned [index]) {
                s_release (self, owned [index]);
            }
        }
        for (size_t index = 0; index < self->type_count; index++) {
            s_release (self, self->types [index]);
        }
        free (self->types);
        for (size_t index = 0; index < self->event_count; index++) {
            zmq_msg_close (&self->bodies [index]);
            if (self->events) {
                zframe_destroy (&self->events [index]);
            }
        }
        free (self->bodies);
        free (self->events);
        s_spare_keep (self);
        *self_p = NULL;
    }
}

void
zcq_msg_set_error (zcq_msg_t *self, zcq_status_t status, const char *format, ...)
{
    assert (self);
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    assert (text);
    //  The first error is the one worth reporting; later ones follow from it
    if (self->error_status == ZCQ_OK) {
        self->error_status = status;
        zstr_free (&self->error);
        self->error = text;
        self->loose = true;
    }
    else {
        zstr_free (&text);
    }
}

//  What a received message's user id is, in the reason when it is refused.
#define USER_ID_FROM_ZAP                                                                       \
    "the user id this key was given at the handshake (the name in its certificate)"

//  Check a text the codec carries beside a body's keys (a user id, a
//  correlation id): at most limit bytes of UTF-8 without control characters
//  (NULL and "" pass). what names it in the error. Returns 0, or -1 with
//  the message's error set (too_large or invalid).
static int
s_check_text (zcq_msg_t *self, const char *what, const char *text, size_t limit)
{
    size_t size = text ? strlen (text) : 0;
    if (size > limit) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "%s is %zu bytes, limit is %zu", what, size,
                           limit);
        return -1;
    }
    if (size && !zcq_text_is_utf8 (text, size)) {
        zcq_msg_set_error (self, ZCQ_INVALID, "%s must be UTF-8 without control characters",
                           what);
        return -1;
    }
    return 0;
}

//  --- Decoding helpers -------------------------------------------------------

//  Copy a string field into *dest after checking type, size and encoding.
static int
s_take_string (zcq_msg_t *self, const char *field, const msgpack_object *value, size_t max_size,
               bool nonempty, char **dest)
{
    if (value->type != MSGPACK_OBJECT_STR) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be a string, got %s", field,
                           zcq_text_msgpack_type (value->type));
        return -1;
    }
    size_t size = value->via.str.size;
    if (size > max_size) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "field '%s' is %zu bytes, limit is %zu", field,
                           size, max_size);
        return -1;
    }
    if (nonempty && size == 0) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must not be empty", field);
        return -1;
    }
    if (!zcq_text_is_utf8 (value->via.str.ptr, size)) {
        zcq_msg_set_error (self, ZCQ_INVALID,
                           "field '%s' must be UTF-8 without control characters", field);
        return -1;
    }
    //  An empty text is kept as none (its getter says ""): no allocation
    //  for the empty reason of every accepted reply
    s_release (self, *dest);
    *dest = NULL;
    if (size) {
        *dest = (char *) s_field_alloc (self, size + 1);
        memcpy (*dest, value->via.str.ptr, size);
        (*dest) [size] = 0;
    }
    return 0;
}

//  Read a non-negative integer field.
static int
s_take_uint (zcq_msg_t *self, const char *field, const msgpack_object *value,
             uint64_t max_value, uint64_t *dest)
{
    if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            zcq_msg_set_error (self, ZCQ_INVALID,
                               "field '%s' must be a non-negative integer, got %" PRId64, field,
                               value->via.i64);
        }
        else {
            zcq_msg_set_error (self, ZCQ_INVALID,
                               "field '%s' must be a non-negative integer, got %s", field,
                               zcq_text_msgpack_type (value->type));
        }
        return -1;
    }
    if (value->via.u64 > max_value) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' is %" PRIu64 ", limit is %" PRIu64,
                           field, value->via.u64, max_value);
        return -1;
    }
    *dest = value->via.u64;
    return 0;
}

//  Read a signed integer field.
static int
s_take_int (zcq_msg_t *self, const char *field, const msgpack_object *value, int64_t *dest)
{
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER && value->via.u64 <= INT64_MAX) {
        *dest = (int64_t) value->via.u64;
        return 0;
    }
    if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *dest = value->via.i64;
        return 0;
    }
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        zcq_msg_set_error (self, ZCQ_INVALID,
                           "field '%s' is %" PRIu64 ", over the largest "
                           "signed 64-bit integer",
                           field, value->via.u64);
    }
    else {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be an integer, got %s", field,
                           zcq_text_msgpack_type (value->type));
    }
    return -1;
}

//  Read a binary id field of 1..ZCQ_MAX_ID bytes (nil: none).
static int
s_take_id (zcq_msg_t *self, const char *field, const msgpack_object *value)
{
    if (value->type == MSGPACK_OBJECT_NIL) {
        self->id_size = 0;
        return 0;
    }
    if (value->type != MSGPACK_OBJECT_BIN) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be binary, got %s", field,
                           zcq_text_msgpack_type (value->type));
        return -1;
    }
    if (value->via.bin.size == 0 || value->via.bin.size > ZCQ_MAX_ID) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be 1 to %d bytes, got %u", field,
                           ZCQ_MAX_ID, value->via.bin.size);
        return -1;
    }
    zcq_msg_set_id (self, value->via.bin.ptr, value->via.bin.size);
    return 0;
}

//  The body a message is decoded from: where its payloads' bytes are.
typedef struct {
    const byte *bytes; //  the packed body
    size_t size;       //  bytes in it
} s_body_t;

//  Keep a payload object as packed msgpack; maps only when must_be_map.
//  key is the object's key in a map of the body, whose packed bytes the
//  object follows. The payload's bytes are copied as they are in the body
//  (they were read whole already); a key that does not point into the body
//  (msgpack-c copied it) has the object packed again instead.
static int
s_take_payload (zcq_msg_t *self, const char *field, const msgpack_object *key,
                const msgpack_object *value, bool must_be_map, size_t limit,
                const s_body_t *body)
{
    if (must_be_map && value->type != MSGPACK_OBJECT_MAP) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be a map, got %s", field,
                           zcq_text_msgpack_type (value->type));
        return -1;
    }
    const byte *start = key->type == MSGPACK_OBJECT_STR
                            ? (const byte *) key->via.str.ptr + key->via.str.size
                            : NULL;
    bool inside = start && start > body->bytes && start < body->bytes + body->size;
    size_t raw =
        inside ? zcq_mpack_object_size (start, body->size - (size_t) (start - body->bytes)) : 0;
    if (raw > limit) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "field '%s' is %zu bytes, limit is %zu", field,
                           raw, limit);
        return -1;
    }
    if (raw > 0) {
        //  As it is in the body: into the block
        s_release (self, self->data);
        self->data = (byte *) s_field_alloc (self, raw);
        memcpy (self->data, start, raw);
        self->data_size = raw;
        return 0;
    }
    //  Else packed again from the decoded object, into a buffer as large as
    //  the body it came from (packing again never takes more bytes than it
    //  was read from, and the buffer would grow if it did)
    msgpack_sbuffer buffer = {0, NULL, 0};
    size_t room = body->size ? body->size : 1;
    buffer.data = (char *) malloc (room);
    assert (buffer.data);
    buffer.alloc = room;
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *value);
    if (buffer.size > limit) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "field '%s' is %zu bytes, limit is %zu", field,
                           buffer.size, limit);
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    s_release (self, self->data);
    self->data = (byte *) buffer.data;
    self->loose = true;
    self->data_size = buffer.size;
    return 0;
}

//  Read a status name.
static int
s_take_status (zcq_msg_t *self, const char *field, const msgpack_object *value)
{
    int status = -1;
    if (value->type == MSGPACK_OBJECT_STR) {
        status = zcq_status_from_name (value->via.str.ptr, value->via.str.size);
    }
    if (status < 0) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' is not a known status name", field);
        return -1;
    }
    self->status = (zcq_status_t) status;
    return 0;
}

//  Forget the filter's event types.
static void
s_types_clear (zcq_msg_t *self)
{
    for (size_t index = 0; index < self->type_count; index++) {
        s_release (self, self->types [index]);
    }
    free (self->types);
    self->types = NULL;
    self->type_count = 0;
}

//  Read an array of 1..ZCQ_MAX_TYPES names, each 1..limit bytes of text.
static int
s_take_names (zcq_msg_t *self, const char *field, const msgpack_object *value, size_t limit)
{
    if (value->type != MSGPACK_OBJECT_ARRAY) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be an array, got %s", field,
                           zcq_text_msgpack_type (value->type));
        return -1;
    }
    uint32_t count = value->via.array.size;
    if (count > ZCQ_MAX_TYPES) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' has %u entries, limit is %d", field,
                           count, ZCQ_MAX_TYPES);
        return -1;
    }
    s_types_clear (self);
    self->types = (char **) calloc (count ? count : 1, sizeof (char *));
    assert (self->types);
    for (uint32_t index = 0; index < count; index++) {
        char *name = NULL;
        if (s_take_string (self, field, &value->via.array.ptr [index], limit, true, &name)) {
            return -1;
        }
        self->types [self->type_count++] = name;
    }
    return 0;
}

//  --- The schema: every message body, for decoding and encoding --------------

//  Every body key of the protocol, EVENT meta's keys included.
typedef enum {
    K_ID,
    K_TYPE,
    K_NAME,
    K_STREAM,
    K_EXPECT,
    K_DATA,
    K_PARAMS,
    K_RESULT,
    K_STATUS,
    K_REASON,
    K_CORRELATION,
    K_META,
    K_VERSION,
    K_POSITION,
    K_COUNT,
    K_TIME,
    K_FROM,
    K_MAX,
    K_HEAD,
    K_INTERVAL,
    K_MIN_POSITION,
    K_TIMEOUT,
    K_RETRY_AFTER,
    K_MAY_BE_STALE,
    K_COMMAND,
    K_USER,
    K_SCHEMA,
    K_CATEGORY,
    K_TYPES,
    K_TO,
    K_SINCE,
    K_DELETED,
    K_LEADER,
    K_CLUSTER,
    K_INCARNATION,
    K_DOMAIN,
    K_SEQ,
    K_LEASE,
    K_KEYS
} s_key_t;

#define KEY(text)                                                                              \
    {                                                                                          \
        0xa0 | (sizeof (text) - 1), text, sizeof (text) - 1                                    \
    }

//  Each key with its msgpack header (a fixstr: every key is under 32 bytes)
//  right before it, so that writing a key is one copy of size + 1 bytes
//  from the entry's start.
typedef struct {
    unsigned char header; //  0xa0 | size
    char name [31];       //  key on the wire
    size_t size;          //  its length in bytes
} s_key_entry_t;
_Static_assert(offsetof (s_key_entry_t, name) == 1, "a key follows its header");

static const s_key_entry_t s_keys [K_KEYS] = {
    [K_ID] = KEY ("id"),
    [K_TYPE] = KEY ("type"),
    [K_NAME] = KEY ("name"),
    [K_STREAM] = KEY ("stream"),
    [K_EXPECT] = KEY ("expect"),
    [K_DATA] = KEY ("data"),
    [K_PARAMS] = KEY ("params"),
    [K_RESULT] = KEY ("result"),
    [K_STATUS] = KEY ("status"),
    [K_REASON] = KEY ("reason"),
    [K_CORRELATION] = KEY ("correlation"),
    [K_META] = KEY ("meta"),
    [K_VERSION] = KEY ("version"),
    [K_POSITION] = KEY ("position"),
    [K_COUNT] = KEY ("count"),
    [K_TIME] = KEY ("time"),
    [K_FROM] = KEY ("from"),
    [K_MAX] = KEY ("max"),
    [K_HEAD] = KEY ("head"),
    [K_INTERVAL] = KEY ("interval"),
    [K_MIN_POSITION] = KEY ("min_position"),
    [K_TIMEOUT] = KEY ("timeout"),
    [K_RETRY_AFTER] = KEY ("retry_after"),
    [K_MAY_BE_STALE] = KEY ("may_be_stale"),
    [K_COMMAND] = KEY ("command"),
    [K_USER] = KEY ("user"),
    [K_SCHEMA] = KEY ("schema"),
    [K_CATEGORY] = KEY ("category"),
    [K_TYPES] = KEY ("types"),
    [K_TO] = KEY ("to"),
    [K_SINCE] = KEY ("since"),
    [K_DELETED] = KEY ("deleted"),
    [K_LEADER] = KEY ("leader"),
    [K_CLUSTER] = KEY ("cluster"),
    [K_INCARNATION] = KEY ("incarnation"),
    [K_DOMAIN] = KEY ("domain"),
    [K_SEQ] = KEY ("seq"),
    [K_LEASE] = KEY ("lease"),
};

//  What a field's value is, which says how it is read, checked and written.
typedef enum {
    V_ID,     //  binary of 1..ZCQ_MAX_ID bytes, or nil (none): id, id_size
    V_TEXT,   //  UTF-8 string of at most limit bytes (char *; NULL writes "")
    V_NAME,   //  the same, never empty
    V_UINT64, //  integer 0..limit (uint64_t)
    V_UINT32, //  integer 0..limit (uint32_t)
    V_INT64,  //  signed 64-bit integer (int64_t)
    V_EXPECT, //  nil (ZCQ_EXPECT_ANY) or integer 0..limit (int64_t)
    V_MAP,    //  a map, kept packed, of at most limit bytes: data; {} when none
    V_OBJECT, //  any object, kept packed, of at most limit bytes: data; nil when none
    V_STATUS, //  a status name (zcq_status_t)
    V_BOOL,   //  true or false (bool)
    V_META,   //  the EVENT meta map: the fields of s_meta
    V_FRAMES, //  EVENTS count: written from the event frames, read into count
    V_NAMES,  //  an array of at most ZCQ_MAX_TYPES names (types, type_count)
} s_value_t;

//  When a field is on the wire.
typedef enum {
    P_OPTIONAL, //  may be absent when read; always written
    P_REQUIRED, //  must be there when read; always written
    P_IF_SET,   //  may be absent; written only when set (not 0, "", false or no id)
} s_presence_t;

typedef struct {
    s_key_t key;           //  its key
    s_value_t value;       //  what its value is
    s_presence_t presence; //  when it is on the wire
    size_t offset;         //  where the value lives in zcq_msg_t (ids and payloads
                           //  have their own members: id, data)
    uint64_t limit;        //  most bytes (text, payloads) or largest value (integers)
    uint64_t fallback;     //  integers: what 0 (or absence) stands for; 0: itself
    const char *label;     //  name in error messages when not the key ("meta.user")
} s_field_t;

#define FIELD(key_, value_, presence_, member)                                                 \
    .key = key_, .value = value_, .presence = presence_, .offset = offsetof (zcq_msg_t, member)

//  The fields of each body, in the order they are written. Reading looks a
//  key up here (a key that is not here is ignored, so that minor additions
//  stay compatible), writing walks the list: the map's size is the number of
//  fields present, so what is written and what is read are one description.
static const s_field_t s_command [] = {
    {FIELD (K_ID, V_ID, P_REQUIRED, id)},
    {FIELD (K_TYPE, V_NAME, P_REQUIRED, name), .limit = ZCQ_MAX_NAME},
    {FIELD (K_STREAM, V_NAME, P_REQUIRED, stream), .limit = ZCQ_MAX_STREAM},
    {FIELD (K_EXPECT, V_EXPECT, P_OPTIONAL, expect), .limit = INT64_MAX},
    {FIELD (K_DATA, V_MAP, P_OPTIONAL, data), .limit = ZCQ_MAX_DATA},
    {FIELD (K_CORRELATION, V_TEXT, P_IF_SET, correlation), .limit = ZCQ_MAX_TEXT},
};
static const s_field_t s_reply [] = {
    {FIELD (K_ID, V_ID, P_OPTIONAL, id)},
    {FIELD (K_STATUS, V_STATUS, P_REQUIRED, status)},
    {FIELD (K_REASON, V_TEXT, P_OPTIONAL, reason), .limit = ZCQ_MAX_TEXT},
    {FIELD (K_VERSION, V_UINT64, P_OPTIONAL, version), .limit = INT64_MAX},
    {FIELD (K_POSITION, V_UINT64, P_OPTIONAL, position), .limit = INT64_MAX},
    {FIELD (K_COUNT, V_UINT32, P_OPTIONAL, count), .limit = UINT32_MAX},
    {FIELD (K_RETRY_AFTER, V_UINT32, P_IF_SET, retry_after), .limit = UINT32_MAX},
    {FIELD (K_LEADER, V_TEXT, P_IF_SET, leader), .limit = ZCQ_MAX_ENDPOINT},
};
static const s_field_t s_event [] = {
    {FIELD (K_POSITION, V_UINT64, P_REQUIRED, position), .limit = INT64_MAX},
    {FIELD (K_STREAM, V_NAME, P_REQUIRED, stream), .limit = ZCQ_MAX_STREAM},
    {FIELD (K_VERSION, V_UINT64, P_REQUIRED, version), .limit = INT64_MAX},
    {FIELD (K_TYPE, V_NAME, P_REQUIRED, name), .limit = ZCQ_MAX_NAME},
    //  Absent (or 0) is schema 1, and schema 1 is never written: the events
    //  of a log from before schemas read as they always did, byte for byte
    {FIELD (K_SCHEMA, V_UINT32, P_IF_SET, schema), .limit = UINT32_MAX, .fallback = 1},
    {FIELD (K_DATA, V_MAP, P_REQUIRED, data), .limit = ZCQ_MAX_DATA},
    {.key = K_META, .value = V_META, .presence = P_OPTIONAL},
};
//  EVENT meta: who and what appended the event, and when
static const s_field_t s_meta [] = {
    {FIELD (K_COMMAND, V_ID, P_OPTIONAL, id), .label = "meta.command"},
    {FIELD (K_TIME, V_INT64, P_OPTIONAL, time), .label = "meta.time"},
    {FIELD (K_CORRELATION, V_TEXT, P_IF_SET, correlation), .limit = ZCQ_MAX_TEXT,
     .label = "meta.correlation"},
    {FIELD (K_USER, V_TEXT, P_IF_SET, user), .limit = ZCQ_MAX_USER, .label = "meta.user"},
    {FIELD (K_DELETED, V_UINT64, P_IF_SET, deleted), .limit = INT64_MAX,
     .label = "meta.deleted"},
};
static const s_field_t s_heartbeat [] = {
    {FIELD (K_HEAD, V_UINT64, P_REQUIRED, head), .limit = INT64_MAX},
    {FIELD (K_TIME, V_INT64, P_OPTIONAL, time)},
    {FIELD (K_INTERVAL, V_UINT32, P_OPTIONAL, interval), .limit = UINT32_MAX},
    {FIELD (K_CLUSTER, V_TEXT, P_IF_SET, cluster), .limit = ZCQ_MAX_NAME},
    {FIELD (K_INCARNATION, V_TEXT, P_IF_SET, incarnation), .limit = ZCQ_MAX_NAME},
    {FIELD (K_DOMAIN, V_TEXT, P_IF_SET, domain), .limit = ZCQ_MAX_NAME},
};
//  The filter keys (stream, category, types) are sent only when set: an
//  unfiltered REPLAY is byte for byte what it was before filters existed
static const s_field_t s_replay [] = {
    {FIELD (K_ID, V_ID, P_IF_SET, id)},
    {FIELD (K_FROM, V_UINT64, P_REQUIRED, from), .limit = INT64_MAX},
    {FIELD (K_MAX, V_UINT32, P_OPTIONAL, max), .limit = ZCQ_MAX_EVENTS,
     .fallback = ZCQ_MAX_EVENTS},
    {FIELD (K_STREAM, V_TEXT, P_IF_SET, stream), .limit = ZCQ_MAX_STREAM},
    {FIELD (K_CATEGORY, V_TEXT, P_IF_SET, category), .limit = ZCQ_MAX_STREAM},
    {FIELD (K_TYPES, V_NAMES, P_IF_SET, types), .limit = ZCQ_MAX_NAME},
    {FIELD (K_SINCE, V_INT64, P_IF_SET, time)},
};
//  to is sent only by a filtered batch: without it a batch covers from to
//  from + count - 1, as an unfiltered one always does
static const s_field_t s_events [] = {
    {FIELD (K_ID, V_ID, P_IF_SET, id)},
    {FIELD (K_FROM, V_UINT64, P_REQUIRED, from), .limit = INT64_MAX},
    {FIELD (K_TO, V_UINT64, P_IF_SET, to), .limit = INT64_MAX},
    {FIELD (K_HEAD, V_UINT64, P_REQUIRED, head), .limit = INT64_MAX},
    {FIELD (K_COUNT, V_FRAMES, P_REQUIRED, count), .limit = UINT32_MAX},
    {FIELD (K_CLUSTER, V_TEXT, P_IF_SET, cluster), .limit = ZCQ_MAX_NAME},
    {FIELD (K_INCARNATION, V_TEXT, P_IF_SET, incarnation), .limit = ZCQ_MAX_NAME},
    {FIELD (K_DOMAIN, V_TEXT, P_IF_SET, domain), .limit = ZCQ_MAX_NAME},
};
static const s_field_t s_query [] = {
    {FIELD (K_ID, V_ID, P_IF_SET, id)},
    {FIELD (K_NAME, V_NAME, P_REQUIRED, name), .limit = ZCQ_MAX_NAME},
    {FIELD (K_PARAMS, V_MAP, P_OPTIONAL, data), .limit = ZCQ_MAX_DATA},
    {FIELD (K_MIN_POSITION, V_UINT64, P_OPTIONAL, min_position), .limit = INT64_MAX},
    {FIELD (K_TIMEOUT, V_UINT32, P_IF_SET, timeout), .limit = UINT32_MAX},
};
//  A result is bounded by the body, not by the data limit. may_be_stale is
//  sent only when true: v1 peers that predate it see the same five keys
static const s_field_t s_result [] = {
    {FIELD (K_ID, V_ID, P_OPTIONAL, id)},
    {FIELD (K_STATUS, V_STATUS, P_REQUIRED, status)},
    {FIELD (K_REASON, V_TEXT, P_OPTIONAL, reason), .limit = ZCQ_MAX_TEXT},
    {FIELD (K_POSITION, V_UINT64, P_OPTIONAL, position), .limit = INT64_MAX},
    {FIELD (K_RESULT, V_OBJECT, P_OPTIONAL, data), .limit = ZCQ_MAX_BODY},
    {FIELD (K_MAY_BE_STALE, V_BOOL, P_IF_SET, may_be_stale)},
};
//  Live queries (section 10.17): a WATCH is a QUERY that stays; each UPDATE
//  is a RESULT with its number, sent one at a time until the client ACKs it
static const s_field_t s_watch [] = {
    {FIELD (K_ID, V_ID, P_REQUIRED, id)},
    {FIELD (K_NAME, V_NAME, P_REQUIRED, name), .limit = ZCQ_MAX_NAME},
    {FIELD (K_PARAMS, V_MAP, P_OPTIONAL, data), .limit = ZCQ_MAX_DATA},
};
//  An UPDATE's id is nil when it answers a request whose id could not be read
static const s_field_t s_update [] = {
    {FIELD (K_ID, V_ID, P_OPTIONAL, id)},
    {FIELD (K_SEQ, V_UINT64, P_REQUIRED, seq), .limit = INT64_MAX},
    {FIELD (K_STATUS, V_STATUS, P_REQUIRED, status)},
    {FIELD (K_REASON, V_TEXT, P_OPTIONAL, reason), .limit = ZCQ_MAX_TEXT},
    {FIELD (K_POSITION, V_UINT64, P_OPTIONAL, position), .limit = INT64_MAX},
    {FIELD (K_RESULT, V_OBJECT, P_OPTIONAL, data), .limit = ZCQ_MAX_BODY},
    {FIELD (K_MAY_BE_STALE, V_BOOL, P_IF_SET, may_be_stale)},
    {FIELD (K_LEASE, V_UINT32, P_IF_SET, lease), .limit = UINT32_MAX},
    {FIELD (K_INCARNATION, V_TEXT, P_IF_SET, incarnation), .limit = ZCQ_MAX_NAME},
};
static const s_field_t s_ack [] = {
    {FIELD (K_ID, V_ID, P_REQUIRED, id)},
    {FIELD (K_SEQ, V_UINT64, P_OPTIONAL, seq), .limit = INT64_MAX},
};
static const s_field_t s_unwatch [] = {
    {FIELD (K_ID, V_ID, P_REQUIRED, id)},
};
static const s_field_t s_error [] = {
    {FIELD (K_ID, V_ID, P_IF_SET, id)},
    {FIELD (K_STATUS, V_STATUS, P_REQUIRED, status)},
    {FIELD (K_REASON, V_TEXT, P_OPTIONAL, reason), .limit = ZCQ_MAX_TEXT},
};

typedef struct {
    const s_field_t *fields; //  in wire order
    size_t count;            //  fields in the list
} s_schema_t;

#define SCHEMA(list) list, sizeof (list) / sizeof (list [0]) //  a field list and its length

static const s_schema_t s_schemas [ZCQ_MSG_TYPES] = {
    [ZCQ_MSG_COMMAND] = {SCHEMA (s_command)}, [ZCQ_MSG_REPLY] = {SCHEMA (s_reply)},
    [ZCQ_MSG_EVENT] = {SCHEMA (s_event)},     [ZCQ_MSG_HEARTBEAT] = {SCHEMA (s_heartbeat)},
    [ZCQ_MSG_REPLAY] = {SCHEMA (s_replay)},   [ZCQ_MSG_EVENTS] = {SCHEMA (s_events)},
    [ZCQ_MSG_QUERY] = {SCHEMA (s_query)},     [ZCQ_MSG_RESULT] = {SCHEMA (s_result)},
    [ZCQ_MSG_ERROR] = {SCHEMA (s_error)},     [ZCQ_MSG_WATCH] = {SCHEMA (s_watch)},
    [ZCQ_MSG_UPDATE] = {SCHEMA (s_update)},   [ZCQ_MSG_ACK] = {SCHEMA (s_ack)},
    [ZCQ_MSG_UNWATCH] = {SCHEMA (s_unwatch)},
};
static const s_schema_t s_meta_schema = {SCHEMA (s_meta)};

#define B(key) ((uint64_t) 1 << (key))
_Static_assert(K_KEYS <= 64, "the keys seen are bits of a uint64_t");

//  Where a field's value lives in the message.
#define MEMBER(self, field, type) ((type *) ((char *) (self) + (field)->offset))

//  Is this msgpack key the field's key?
static bool
s_key_is (const msgpack_object *key, s_key_t field)
{
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == s_keys [field].size
           && s_name_is (s_keys [field].name, key->via.str.ptr, key->via.str.size);
}

//  --- Decoding from the schema ------------------------------------------------

static int s_take_fields (zcq_msg_t *self, const s_schema_t *schema,
                          const msgpack_object_map *map, bool keys_are_strings, uint64_t *seen,
                          const s_body_t *body);

//  Read one field's value; sets its bit in *seen (a nil id counts as absent).
static int
s_take_field (zcq_msg_t *self, const s_field_t *field, const msgpack_object *key,
              const msgpack_object *value, uint64_t *seen, const s_body_t *body)
{
    const char *name = field->label ? field->label : s_keys [field->key].name;
    uint64_t number = 0;
    int rc = 0;
    switch (field->value) {
        case V_ID:
            rc = s_take_id (self, name, value);
            if (self->id_size == 0) {
                return rc; //  nil: as if absent
            }
            break;
        case V_TEXT:
        case V_NAME:
            rc = s_take_string (self, name, value, field->limit, field->value == V_NAME,
                                MEMBER (self, field, char *));
            break;
        case V_UINT64:
            rc = s_take_uint (self, name, value, field->limit, MEMBER (self, field, uint64_t));
            break;
        case V_UINT32:
        case V_FRAMES:
            rc = s_take_uint (self, name, value, field->limit, &number);
            *MEMBER (self, field, uint32_t) = (uint32_t) number;
            break;
        case V_INT64:
            rc = s_take_int (self, name, value, MEMBER (self, field, int64_t));
            break;
        case V_EXPECT:
            if (value->type == MSGPACK_OBJECT_NIL) {
                *MEMBER (self, field, int64_t) = ZCQ_EXPECT_ANY;
            }
            else if ((rc = s_take_uint (self, name, value, field->limit, &number)) == 0) {
                *MEMBER (self, field, int64_t) = (int64_t) number;
            }
            break;
        case V_MAP:
        case V_OBJECT:
            rc = s_take_payload (self, name, key, value, field->value == V_MAP, field->limit,
                                 body);
            break;
        case V_STATUS:
            rc = s_take_status (self, name, value);
            break;
        case V_BOOL:
            if (value->type != MSGPACK_OBJECT_BOOLEAN) {
                zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be a boolean, got %s",
                                   name, zcq_text_msgpack_type (value->type));
                rc = -1;
            }
            else {
                *MEMBER (self, field, bool) = value->via.boolean;
            }
            break;
        case V_NAMES:
            rc = s_take_names (self, name, value, field->limit);
            break;
        case V_META:
            if (value->type != MSGPACK_OBJECT_MAP) {
                zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be a map", name);
                rc = -1;
            }
            else {
                uint64_t meta_seen = 0;
                rc = s_take_fields (self, &s_meta_schema, &value->via.map, false, &meta_seen,
                                    body);
            }
            break;
    }
    *seen |= B (field->key);
    return rc;
}

//  Read every key of a map that the schema has; ignore the others. With
//  keys_are_strings, a key that is not a string is an error (a body's keys
//  must be; meta's others are ignored). Returns 0, or -1 at the first error.
static int
s_take_fields (zcq_msg_t *self, const s_schema_t *schema, const msgpack_object_map *map,
               bool keys_are_strings, uint64_t *seen, const s_body_t *body)
{
    size_t next = 0; //  the field to look at first
    for (uint32_t index = 0; index < map->size; index++) {
        const msgpack_object *key = &map->ptr [index].key;
        if (keys_are_strings && key->type != MSGPACK_OBJECT_STR) {
            zcq_msg_set_error (self, ZCQ_INVALID, "%s body has a key that is not a string",
                               zcq_msg_type_name (self->type));
            return -1;
        }
        //  Encoders write the schema's order (ours do): look at the field
        //  after the last one found first, then at all of them
        size_t count = schema->count;
        for (size_t step = 0; step < count; step++) {
            size_t field = next + step; //  wrapped round without a division
            field = field < count ? field : field - count;
            if (s_key_is (key, schema->fields [field].key)) {
                if (s_take_field (self, &schema->fields [field], key, &map->ptr [index].val,
                                  seen, body)) {
                    return -1;
                }
                next = field + 1;
                break;
            }
        }
    }
    return 0;
}

//  The keys a body must have, as bits of s_key_t.
static uint64_t
s_required (const s_schema_t *schema)
{
    uint64_t required = 0;
    for (size_t field = 0; field < schema->count; field++) {
        if (schema->fields [field].presence == P_REQUIRED) {
            required |= B (schema->fields [field].key);
        }
    }
    return required;
}

//  Integers whose 0 stands for another value (REPLAY max) get that value.
static void
s_apply_fallbacks (zcq_msg_t *self, const s_schema_t *schema)
{
    for (size_t index = 0; index < schema->count; index++) {
        const s_field_t *field = &schema->fields [index];
        if (field->fallback && field->value == V_UINT32
            && *MEMBER (self, field, uint32_t) == 0) {
            *MEMBER (self, field, uint32_t) = (uint32_t) field->fallback;
        }
    }
}

//  Cross-field rules that the field readers cannot see alone.
static void
s_check_rules (zcq_msg_t *self)
{
    if (self->type == ZCQ_MSG_COMMAND && self->id_size != ZCQ_COMMAND_ID) {
        zcq_msg_set_error (self, ZCQ_INVALID,
                           "field 'id' of a COMMAND must be %d bytes, got %zu", ZCQ_COMMAND_ID,
                           self->id_size);
    }
    if (self->type == ZCQ_MSG_REPLAY && self->from == 0) {
        zcq_msg_set_error (self, ZCQ_INVALID,
                           "field 'from' must be 1 or more (positions start at 1)");
    }
    if ((self->type == ZCQ_MSG_EVENT) && (self->position == 0 || self->version == 0)) {
        zcq_msg_set_error (self, ZCQ_INVALID, "an EVENT's position and version start at 1");
    }
}

//  --- An EVENT read in place ---------------------------------------------------

//  A query node decodes every EVENT it applies, and every EVENT is written
//  in one layout: the schema's fields in its order (s_event, then s_meta in
//  meta), each key a fixstr, each integer in its smallest form. A body in
//  that layout is read straight from its bytes here, with the checks of
//  the schema's readers, without unpacking it into objects nor looking its
//  keys up; any other body, and any that one of these checks refuses, is
//  decoded from the schema (which names what is wrong). Both give the same
//  message for the same bytes.

//  Take a text of at most limit bytes of UTF-8 (never empty if nonempty).
static bool
s_take_text_in_place (zcq_mpack_cursor_t *cursor, size_t limit, bool nonempty,
                      const byte **text, size_t *size)
{
    return zcq_mpack_take_str (cursor, text, size) && *size <= limit && (*size || !nonempty)
           && zcq_text_is_utf8 (*text, *size);
}

//  Take an integer 0..INT64_MAX; positive: 1..INT64_MAX.
static bool
s_take_count_in_place (zcq_mpack_cursor_t *cursor, bool positive, uint64_t *value)
{
    return zcq_mpack_take_uint (cursor, value) && *value <= INT64_MAX && (*value || !positive);
}

//  Take an id: nil (as if absent: *id stays NULL) or 1..ZCQ_MAX_ID bytes.
static bool
s_take_id_in_place (zcq_mpack_cursor_t *cursor, const byte **id, size_t *size)
{
    zcq_mpack_cursor_t start = *cursor;
    if (ZCQ_MPACK_TAKE_PACKED (cursor, "\xc0")) {
        return true;
    }
    if (zcq_mpack_take_bin (cursor, id, size) && *size > 0 && *size <= ZCQ_MAX_ID) {
        return true;
    }
    *cursor = start;
    *id = NULL;
    *size = 0;
    return false;
}

//  Take the key "data" and its value: a map of at most ZCQ_MAX_DATA bytes,
//  kept as its bytes (they are as the schema's reader keeps them).
static bool
s_take_data_in_place (zcq_mpack_cursor_t *cursor, const byte **data, size_t *size)
{
    zcq_mpack_cursor_t start = *cursor;
    if (!ZCQ_MPACK_TAKE_PACKED (cursor, "\xa4"
                                        "data")
        || cursor->at == cursor->end
        || !((*cursor->at & 0xf0) == 0x80 || *cursor->at == 0xde || *cursor->at == 0xdf)) {
        *cursor = start;
        return false;
    }
    *data = cursor->at;
    *size = zcq_mpack_object_size (*data, (size_t) (cursor->end - *data));
    if (*size == 0 || *size > ZCQ_MAX_DATA) {
        *cursor = start;
        return false;
    }
    cursor->at += *size;
    return true;
}

//  A copy of size bytes into the message (its block while it has room);
//  with terminate, as a C string; NULL for an empty terminated text.
static void *
s_copy_in (zcq_msg_t *self, const byte *bytes, size_t size, bool terminate)
{
    if (terminate && size == 0) {
        return NULL;
    }
    byte *copy = (byte *) s_field_alloc (self, size + (terminate ? 1 : 0));
    memcpy (copy, bytes, size);
    if (terminate) {
        copy [size] = 0;
    }
    return copy;
}

//  Read an EVENT body in the layout it is written in into self (new, with
//  nothing set). Returns true, or false with self untouched.
static bool
s_event_in_place (zcq_msg_t *self, const byte *body, size_t size)
{
    zcq_mpack_cursor_t cursor = {body, body + size};
    uint64_t position, version, schema = 0, time = 0, deleted = 0;
    const byte *stream, *type, *data, *id = NULL, *correlation = NULL, *user = NULL;
    size_t stream_size, type_size, data_size, id_size = 0, correlation_size = 0, user_size = 0;
    //  A fixmap of 6 pairs, 7 with a schema
    bool with_schema = ZCQ_MPACK_TAKE_PACKED (&cursor, "\x87");
    if (!(with_schema || ZCQ_MPACK_TAKE_PACKED (&cursor, "\x86"))
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa8"
                                            "position")
        || !s_take_count_in_place (&cursor, true, &position)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                            "stream")
        || !s_take_text_in_place (&cursor, ZCQ_MAX_STREAM, true, &stream, &stream_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                            "version")
        || !s_take_count_in_place (&cursor, true, &version)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"
                                            "type")
        || !s_take_text_in_place (&cursor, ZCQ_MAX_NAME, true, &type, &type_size)) {
        return false;
    }
    if (with_schema
        && !(ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                             "schema")
             && zcq_mpack_take_uint (&cursor, &schema) && schema <= UINT32_MAX)) {
        return false;
    }
    if (!s_take_data_in_place (&cursor, &data, &data_size)) {
        return false;
    }
    //  The meta: command and time, then what is set of correlation, user
    //  and deleted, in that order
    if (!ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"
                                         "meta")
        || cursor.at == cursor.end || *cursor.at < 0x82 || *cursor.at > 0x85) {
        return false;
    }
    size_t more = (size_t) (*cursor.at++ - 0x82); //  pairs after command and time
    if (!ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                         "command")
        || !s_take_id_in_place (&cursor, &id, &id_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"
                                            "time")
        || !s_take_count_in_place (&cursor, false, &time)) {
        return false;
    }
    if (more
        && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xab"
                                           "correlation")) {
        if (!s_take_text_in_place (&cursor, ZCQ_MAX_TEXT, false, &correlation,
                                   &correlation_size)) {
            return false;
        }
        more--;
    }
    if (more
        && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"
                                           "user")) {
        if (!s_take_text_in_place (&cursor, ZCQ_MAX_USER, false, &user, &user_size)) {
            return false;
        }
        more--;
    }
    if (more
        && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                           "deleted")) {
        if (!s_take_count_in_place (&cursor, false, &deleted)) {
            return false;
        }
        more--;
    }
    if (more || cursor.at != cursor.end) {
        return false;
    }
    self->position = position;
    self->version = version;
    self->schema = schema ? (uint32_t) schema : 1; //  its fallback (s_apply_fallbacks)
    self->time = (int64_t) time;
    self->deleted = deleted;
    self->stream = (char *) s_copy_in (self, stream, stream_size, true);
    self->name = (char *) s_copy_in (self, type, type_size, true);
    self->data = (byte *) s_copy_in (self, data, data_size, false);
    self->data_size = data_size;
    self->correlation = (char *) s_copy_in (self, correlation, correlation_size, true);
    self->user = (char *) s_copy_in (self, user, user_size, true);
    if (id) {
        zcq_msg_set_id (self, id, id_size);
    }
    return true;
}

//  Read a COMMAND body in the layout the codec writes it in (the schema's
//  fields in its order, each key a fixstr: id, type, stream, expect, data
//  and a correlation id when set) into self (new, with nothing set), as
//  the write node does for every command it takes. Returns true, or false
//  with self untouched (then the schema decodes it and names what is
//  wrong); both give the same message for the same bytes.
static bool
s_command_in_place (zcq_msg_t *self, const byte *body, size_t size)
{
    zcq_mpack_cursor_t cursor = {body, body + size};
    const byte *id, *type, *stream, *data, *correlation = NULL;
    size_t id_size, type_size, stream_size, data_size, correlation_size = 0;
    uint64_t expect = 0;
    //  A fixmap of 5 pairs, 6 with a correlation id
    bool with_correlation = ZCQ_MPACK_TAKE_PACKED (&cursor, "\x86");
    if (!(with_correlation || ZCQ_MPACK_TAKE_PACKED (&cursor, "\x85"))
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa2"
                                            "id")
        || !zcq_mpack_take_bin (&cursor, &id, &id_size) || id_size != ZCQ_COMMAND_ID
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"
                                            "type")
        || !s_take_text_in_place (&cursor, ZCQ_MAX_NAME, true, &type, &type_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                            "stream")
        || !s_take_text_in_place (&cursor, ZCQ_MAX_STREAM, true, &stream, &stream_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                            "expect")) {
        return false;
    }
    bool any = ZCQ_MPACK_TAKE_PACKED (&cursor, "\xc0");
    if ((!any && !(zcq_mpack_take_uint (&cursor, &expect) && expect <= INT64_MAX))
        || !s_take_data_in_place (&cursor, &data, &data_size)) {
        return false;
    }
    if (with_correlation
        && !(ZCQ_MPACK_TAKE_PACKED (&cursor, "\xab"
                                             "correlation")
             && s_take_text_in_place (&cursor, ZCQ_MAX_TEXT, false, &correlation,
                                      &correlation_size))) {
        return false;
    }
    if (cursor.at != cursor.end) {
        return false;
    }
    zcq_msg_set_id (self, id, id_size);
    self->name = (char *) s_copy_in (self, type, type_size, true);
    self->stream = (char *) s_copy_in (self, stream, stream_size, true);
    self->expect = any ? ZCQ_EXPECT_ANY : (int64_t) expect;
    self->data = (byte *) s_copy_in (self, data, data_size, false);
    self->data_size = data_size;
    self->correlation = (char *) s_copy_in (self, correlation, correlation_size, true);
    return true;
}

//  Read a REPLY body in the layout the codec writes it in (id or nil,
//  status, reason, version, position and count; no retry_after nor
//  leader) into self (new, with nothing set), as a client does for every
//  command it sends. Returns true, or false with self untouched (then the
//  schema decodes it); both give the same message for the same bytes.
static bool
s_reply_in_place (zcq_msg_t *self, const byte *body, size_t size)
{
    zcq_mpack_cursor_t cursor = {body, body + size};
    const byte *id = NULL, *status, *reason;
    size_t id_size = 0, status_size, reason_size;
    uint64_t version, position, count;
    if (!ZCQ_MPACK_TAKE_PACKED (&cursor, "\x86"
                                         "\xa2"
                                         "id")
        || !s_take_id_in_place (&cursor, &id, &id_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                            "status")
        || !zcq_mpack_take_str (&cursor, &status, &status_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                            "reason")
        || !s_take_text_in_place (&cursor, ZCQ_MAX_TEXT, false, &reason, &reason_size)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                            "version")
        || !s_take_count_in_place (&cursor, false, &version)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa8"
                                            "position")
        || !s_take_count_in_place (&cursor, false, &position)
        || !ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa5"
                                            "count")
        || !zcq_mpack_take_uint (&cursor, &count) || count > UINT32_MAX
        || cursor.at != cursor.end) {
        return false;
    }
    int known = zcq_status_from_name ((const char *) status, status_size);
    if (known < 0) {
        return false;
    }
    if (id) {
        zcq_msg_set_id (self, id, id_size);
    }
    self->status = (zcq_status_t) known;
    self->reason = (char *) s_copy_in (self, reason, reason_size, true);
    self->version = version;
    self->position = position;
    self->count = (uint32_t) count;
    return true;
}

#define DECODE_PAIRS 64 //  map pairs a body decodes into on the stack

zcq_msg_t *
zcq_msg_decode_body (zcq_msg_type_t type, const void *body, size_t size)
{
    //  Every text and payload of a body fits in as many bytes as the body:
    //  each is copied from its own bytes of it, and a text's header byte
    //  pays for its terminating zero
    zcq_msg_t *self = ZCQ_MSG_BLOCKS && size <= ZCQ_MAX_BODY ? s_new_with_block (type, size)
                                                             : zcq_msg_new (type);
    if (type <= ZCQ_MSG_UNKNOWN || type >= ZCQ_MSG_TYPES) {
        zcq_msg_set_error (self, ZCQ_UNKNOWN_TYPE, "unknown message type");
        return self;
    }
    if (size > ZCQ_MAX_BODY) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "%s body is %zu bytes, limit is %d",
                           zcq_msg_type_name (type), size, ZCQ_MAX_BODY);
        return self;
    }
    if (ZCQ_MSG_IN_PLACE && type == ZCQ_MSG_EVENT
        && s_event_in_place (self, (const byte *) body, size)) {
        return self;
    }
    if (ZCQ_MSG_IN_PLACE && type == ZCQ_MSG_COMMAND
        && s_command_in_place (self, (const byte *) body, size)) {
        return self;
    }
    if (ZCQ_MSG_IN_PLACE && type == ZCQ_MSG_REPLY
        && s_reply_in_place (self, (const byte *) body, size)) {
        return self;
    }
    //  Most bodies (every EVENT of a flat payload) are maps of maps and
    //  scalars: their objects go into a pool on the stack, no allocation
    msgpack_object_kv pool [DECODE_PAIRS];
    msgpack_unpacked result;
    size_t offset = size;
    msgpack_unpack_return ret = MSGPACK_UNPACK_SUCCESS;
    bool pooled = zcq_mpack_unpack_pool (body, size, pool, DECODE_PAIRS, &result.data) == 0;
    //  Else one zone on the stack, its first chunk sized to the body: a
    //  message decodes with one allocation instead of msgpack's default 8 KiB
    msgpack_zone zone;
    if (!pooled && !msgpack_zone_init (&zone, 256 + 2 * size)) {
        zcq_msg_set_error (self, ZCQ_UNAVAILABLE, "out of memory decoding %s",
                           zcq_msg_type_name (type));
        return self;
    }
    if (!pooled) {
        //  Headers that declare more than the bytes can hold are truncated,
        //  and msgpack-c would allocate what they declare: refuse before it
        //  does
        offset = 0;
        ret = zcq_mpack_plausible (body, size)
                  ? msgpack_unpack ((const char *) body, size, &offset, &zone, &result.data)
                  : MSGPACK_UNPACK_CONTINUE;
    }
    if (ret == MSGPACK_UNPACK_EXTRA_BYTES) {
        ret = MSGPACK_UNPACK_SUCCESS; //  reported below, naming the extra bytes
    }
    if (ret != MSGPACK_UNPACK_SUCCESS) {
        zcq_msg_set_error (self, ZCQ_INVALID, "%s body is not valid msgpack (%s)",
                           zcq_msg_type_name (type),
                           ret == MSGPACK_UNPACK_CONTINUE ? "truncated" : "parse error");
    }
    else if (offset != size) {
        zcq_msg_set_error (self, ZCQ_INVALID, "%s body has %zu bytes after its map",
                           zcq_msg_type_name (type), size - offset);
    }
    else if (result.data.type != MSGPACK_OBJECT_MAP) {
        zcq_msg_set_error (self, ZCQ_INVALID, "%s body must be a msgpack map, got %s",
                           zcq_msg_type_name (type), zcq_text_msgpack_type (result.data.type));
    }
    else {
        uint64_t seen = 0;
        const s_schema_t *schema = &s_schemas [type];
        s_body_t whole = {(const byte *) body, size};
        s_take_fields (self, schema, &result.data.via.map, true, &seen, &whole);
        //  When several keys are missing, report the first in the spec's
        //  order (section 5.2, step 7), which is not the order of s_key_t
        static const s_key_t missing_order [] = {K_ID,     K_TYPE,     K_STREAM,  K_SEQ,
                                                 K_STATUS, K_POSITION, K_VERSION, K_FROM,
                                                 K_HEAD,   K_NAME,     K_COUNT,   K_DATA};
        uint64_t missing = s_required (schema) & ~seen;
        for (size_t index = 0; self->error_status == ZCQ_OK && missing
                               && index < sizeof (missing_order) / sizeof (missing_order [0]);
             index++) {
            if (missing & B (missing_order [index])) {
                zcq_msg_set_error (self, ZCQ_INVALID, "%s is missing field '%s'",
                                   zcq_msg_type_name (type),
                                   s_keys [missing_order [index]].name);
            }
        }
        if (self->error_status == ZCQ_OK) {
            s_apply_fallbacks (self, schema);
            s_check_rules (self);
        }
    }
    if (!pooled) {
        msgpack_zone_destroy (&zone);
    }
    return self;
}

//  One received frame, borrowed.
typedef struct {
    const byte *data;
    size_t size;
} s_frame_t;

static void s_take_event (zcq_msg_t *self, zmq_msg_t *part);

//  Decode frames that carry no envelope (signature first): the rules of
//  zcq_msg_decode, shared by the zmsg path and the raw receive path.
static zcq_msg_t *
s_decode_frames (const s_frame_t *frames, zmq_msg_t *parts, size_t count)
{
    zcq_msg_t *self = NULL;
    const s_frame_t *signature = count > 0 ? &frames [0] : NULL;
    const s_frame_t *type_frame = count > 1 ? &frames [1] : NULL;
    const s_frame_t *body = count > 2 ? &frames [2] : NULL;
    if (!body) {
        self = zcq_msg_new (ZCQ_MSG_UNKNOWN);
        zcq_msg_set_error (self, ZCQ_INVALID,
                           "a message needs 3 frames (signature, type, body), got %zu", count);
    }
    else if (signature->size < 3 || memcmp (signature->data, "ZCQ", 3) != 0) {
        self = zcq_msg_new (ZCQ_MSG_UNKNOWN);
        zcq_msg_set_error (self, ZCQ_INVALID,
                           "frame 1 is not a zcqrs signature (expected '%s')", ZCQ_SIGNATURE);
    }
    else if (signature->size != strlen (ZCQ_SIGNATURE)
             || memcmp (signature->data, ZCQ_SIGNATURE, signature->size) != 0) {
        self = zcq_msg_new (ZCQ_MSG_UNKNOWN);
        char *version = zcq_text_printable (signature->data, signature->size);
        zcq_msg_set_error (self, ZCQ_BAD_VERSION,
                           "protocol '%s' is not supported; this node speaks '%s'", version,
                           ZCQ_SIGNATURE);
        zstr_free (&version);
    }
    else {
        zcq_msg_type_t type =
            zcq_msg_type_from_name ((const char *) type_frame->data, type_frame->size);
        if (type == ZCQ_MSG_UNKNOWN) {
            self = zcq_msg_new (ZCQ_MSG_UNKNOWN);
            char *name = zcq_text_printable (type_frame->data, type_frame->size);
            zcq_msg_set_error (self, ZCQ_UNKNOWN_TYPE, "unknown message type '%s'", name);
            zstr_free (&name);
        }
        else {
            self = zcq_msg_decode_body (type, body->data, body->size);
            size_t extra = count - 3;
            if (type == ZCQ_MSG_EVENTS) {
                if (zcq_msg_valid (self) && extra != self->count) {
                    zcq_msg_set_error (self, ZCQ_INVALID,
                                       "EVENTS says count %u but carries %zu event frames",
                                       self->count, extra);
                }
                for (size_t index = 3; zcq_msg_valid (self) && index < count; index++) {
                    if (parts) {
                        s_take_event (self, &parts [index]); //  no copy
                    }
                    else {
                        zcq_msg_add_event (self, frames [index].data, frames [index].size);
                    }
                }
            }
            else if (extra) {
                zcq_msg_set_error (self, ZCQ_INVALID, "%s has %zu frames too many",
                                   zcq_msg_type_name (type), extra);
            }
        }
    }
    return self;
}

//  Decode what a SUB received: a topic frame, then the message, whose
//  topic must be the one it is published under (a PUB publishes only EVENT
//  and HEARTBEAT).
static zcq_msg_t *
s_decode_published (const s_frame_t *frames, size_t count)
{
    zcq_msg_t *self = s_decode_frames (frames + (count ? 1 : 0), NULL, count ? count - 1 : 0);
    if (zcq_msg_valid (self)) {
        byte topic [ZCQ_MAX_TOPIC];
        size_t size = zcq_msg_topic (self, topic);
        if (size == 0) {
            zcq_msg_set_error (self, ZCQ_INVALID, "a %s is not published",
                               zcq_msg_type_name (self->type));
        }
        else if (frames [0].size != size || memcmp (frames [0].data, topic, size) != 0) {
            zcq_msg_set_error (self, ZCQ_INVALID,
                               "the topic frame of a published %s does not match it",
                               zcq_msg_type_name (self->type));
        }
    }
    return self;
}

//  The frames of a zmsg, borrowed (the caller frees the array).
static s_frame_t *
s_zmsg_frames (zmsg_t *zmsg, size_t *count)
{
    *count = zmsg_size (zmsg);
    s_frame_t *frames = (s_frame_t *) malloc ((*count ? *count : 1) * sizeof (s_frame_t));
    assert (frames);
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (zmsg); frame; frame = zmsg_next (zmsg)) {
        frames [index].data = zframe_data (frame);
        frames [index++].size = zframe_size (frame);
    }
    return frames;
}

zcq_msg_t *
zcq_msg_decode_published (zmsg_t **zmsg_p)
{
    assert (zmsg_p && *zmsg_p);
    size_t count;
    s_frame_t *frames = s_zmsg_frames (*zmsg_p, &count);
    zcq_msg_t *self = s_decode_published (frames, count);
    free (frames);
    zmsg_destroy (zmsg_p);
    return self;
}

zcq_msg_t *
zcq_msg_decode (zmsg_t **zmsg_p)
{
    assert (zmsg_p && *zmsg_p);
    size_t count;
    s_frame_t *frames = s_zmsg_frames (*zmsg_p, &count);
    zcq_msg_t *self = s_decode_frames (frames, NULL, count);
    free (frames);
    zmsg_destroy (zmsg_p);
    return self;
}

#define RECV_FRAMES 8 //  frames received without allocating (all but EVENTS)

//  Receive and decode one message; flags apply to its first part (the
//  others of a multipart message are there once the first is).
static zcq_msg_t *
s_recv (zsock_t *sock, int socket_type, int flags, bool plain)
{
    assert (sock);
#if CHECKED
    //  The checked build holds callers of zcq_msg_recv_typed to their word
    assert (socket_type == zsock_type (sock));
    assert (!plain || !zsock_curve_server (sock));
#endif
    //  Frames come straight from libzmq into zmq_msg_t parts: no zmsg and
    //  no frame objects on the hot path; only an EVENTS batch needs more
    //  parts than fit on the stack
    void *handle = zsock_resolve (sock);
    zmq_msg_t stack [RECV_FRAMES];
    zmq_msg_t *parts = stack;
    size_t count = 0, slots = RECV_FRAMES;
    bool more = true;
    while (more) {
        if (count == slots) {
            zmq_msg_t *bigger = (zmq_msg_t *) malloc (slots * 2 * sizeof (zmq_msg_t));
            assert (bigger);
            memcpy (bigger, parts, count * sizeof (zmq_msg_t));
            if (parts != stack) {
                free (parts);
            }
            parts = bigger;
            slots *= 2;
        }
        zmq_msg_init (&parts [count]);
        if (zmq_msg_recv (&parts [count], handle, count ? 0 : flags) < 0) {
            zmq_msg_close (&parts [count]);
            break;
        }
        more = zmq_msg_more (&parts [count]);
        count++;
    }
    zcq_msg_t *self = NULL;
    if (!more) {
        s_frame_t frames_stack [RECV_FRAMES] = {{NULL, 0}};
        s_frame_t *frames = count <= RECV_FRAMES
                                ? frames_stack
                                : (s_frame_t *) malloc (count * sizeof (s_frame_t));
        assert (frames);
        for (size_t index = 0; index < count; index++) {
            frames [index].data = (const byte *) zmq_msg_data (&parts [index]);
            frames [index].size = zmq_msg_size (&parts [index]);
        }
        size_t first = 0;
        bool delimiter = false;
        bool router = socket_type == ZMQ_ROUTER;
        if (router && count > 0) {
            first = 1;
            if (count > 1 && frames [1].size == 0) {
                delimiter = true;
                first = 2;
            }
        }
        self = socket_type == ZMQ_SUB && count > 0
                   ? s_decode_published (frames, count)
                   : s_decode_frames (frames + first, parts + first, count - first);
        if (router && count > 0) {
            //  libzmq's routing ids are 1 to 255 bytes
            assert (frames [0].size <= ZCQ_MAX_ROUTING);
            memcpy (self->routing, frames [0].data, frames [0].size);
            self->routing_size = frames [0].size;
            self->routed = true;
        }
        self->delimiter = delimiter;
        //  Who the peer is, as the ZAP handler said at the handshake: every
        //  part that came off the wire carries the connection's metadata (a
        //  ROUTER's routing id part does not). Without it (a plain endpoint,
        //  or the connecting side) an EVENT keeps its meta.user. Only a
        //  ROUTER is asked (two lookups in libzmq's map a message): every
        //  zcqrs endpoint that authenticates the peers it hears from is one
        //  (commands, queries, replay), and a connecting socket never went
        //  through our ZAP handler. Our handler gives roles only with a
        //  user id (zcq_auth), so without one they are not looked up
        zmq_msg_t *wire = router && !plain && first < count ? &parts [first] : NULL;
        const char *user = wire ? zmq_msg_gets (wire, "User-Id") : NULL;
        const char *roles = user && *user ? zmq_msg_gets (wire, "Roles") : NULL;
        if (user && *user) {
            //  The id names who did it in every event the command appends,
            //  as meta.user: one that could not be stored refuses the
            //  message (a certificate's name may be anything)
            s_release (self, self->user);
            self->user = NULL;
            if (s_check_text (self, USER_ID_FROM_ZAP, user, ZCQ_MAX_USER) == 0) {
                self->user = strdup (user);
                self->loose = true;
            }
        }
        self->roles = roles ? strdup (roles) : NULL;
        self->loose |= roles != NULL;
        if (frames != frames_stack) {
            free (frames);
        }
    }
    for (size_t index = 0; index < count; index++) {
        zmq_msg_close (&parts [index]);
    }
    if (parts != stack) {
        free (parts);
    }
    return self;
}

zcq_msg_t *
zcq_msg_recv (zsock_t *sock)
{
    assert (sock);
    return s_recv (sock, zsock_type (sock), 0, false);
}

zcq_msg_t *
zcq_msg_recv_nowait (zsock_t *sock)
{
    assert (sock);
    return s_recv (sock, zsock_type (sock), ZMQ_DONTWAIT, false);
}

zcq_msg_t *
zcq_msg_recv_typed (zsock_t *sock, int socket_type, int flags)
{
    return s_recv (sock, socket_type, flags & ZCQ_RECV_NOWAIT ? ZMQ_DONTWAIT : 0,
                   (flags & ZCQ_RECV_PLAIN) != 0);
}

//  --- Encoding ---------------------------------------------------------------

//  The schema encoder writes msgpack itself, straight into the buffer, in
//  the very encodings msgpack-c picks (the smallest that holds each value;
//  test_msg checks that encoded bodies are the bytes msgpack-c packs from
//  them, over every boundary of every kind): each value costs a check of
//  the room left and a few stores, not a packer's callback and a memcpy
//  call for each header. A body is written by s_out_* calls between
//  s_room (room for at most so many bytes) and s_done (that many used).

//  Grow buffer as msgpack-c grows it (doubled, from its initial size)
//  until size more bytes fit.
static void
s_grow (msgpack_sbuffer *buffer, size_t size)
{
    size_t alloc = buffer->alloc ? buffer->alloc : MSGPACK_SBUFFER_INIT_SIZE;
    while (alloc - buffer->size < size) {
        alloc *= 2;
    }
    char *data = (char *) realloc (buffer->data, alloc);
    assert (data);
    buffer->data = data;
    buffer->alloc = alloc;
}

//  Where the next size bytes of buffer go.
static inline byte *
s_room (msgpack_sbuffer *buffer, size_t size)
{
    if (buffer->alloc - buffer->size < size) {
        s_grow (buffer, size);
    }
    return (byte *) buffer->data + buffer->size;
}

//  The bytes written at the end of buffer since s_room returned start.
static void
s_done (msgpack_sbuffer *buffer, const byte *end)
{
    buffer->size = (size_t) (end - (const byte *) buffer->data);
}

//  The header of a byte string of size (at most 5 bytes).
static byte *
s_out_bin_header (byte *at, size_t size)
{
    return zcq_mpack_put_sized (at, size, 0, 0, 0xc4, false);
}

//  The header of a map or an array of size entries: one byte (fix, or'ed
//  with the size) under 16, else tag and 2 bytes, else tag + 1 and 4.
static byte *
s_out_count_header (byte *at, size_t size, byte fix, byte tag)
{
    if (size < 16) {
        *at = (byte) (fix | size);
        return at + 1;
    }
    return size < 65536 ? zcq_mpack_put_tagged (at, tag, size, 2)
                        : zcq_mpack_put_tagged (at, tag + 1, size, 4);
}

//  A text with its header, in the room of buffer (its end is returned).
static byte *
s_out_str (msgpack_sbuffer *buffer, byte *at, const char *text)
{
    size_t size = strlen (text);
    s_done (buffer, at);
    at = s_room (buffer, size + 5);
    at = zcq_mpack_put_str_header (at, size);
    memcpy (at, text, size);
    return at + size;
}

//  Bytes as they are (size of them), in the room of buffer.
static byte *
s_out_raw (msgpack_sbuffer *buffer, byte *at, const void *bytes, size_t size)
{
    s_done (buffer, at);
    at = s_room (buffer, size);
    memcpy (at, bytes, size);
    return at + size;
}

//  Is the field's value set: not 0, "", false, an absent id or payload?
static bool
s_is_set (zcq_msg_t *self, const s_field_t *field)
{
    switch (field->value) {
        case V_ID:
            return self->id_size > 0;
        case V_TEXT:
        case V_NAME: {
            const char *text = *MEMBER (self, field, char *);
            return text && *text;
        }
        case V_UINT64:
            return *MEMBER (self, field, uint64_t) != 0;
        case V_UINT32: {
            //  The value a fallback stands for is as good as absent
            uint32_t number = *MEMBER (self, field, uint32_t);
            return number != 0 && number != field->fallback;
        }
        case V_INT64:
            return *MEMBER (self, field, int64_t) != 0;
        case V_EXPECT:
            return *MEMBER (self, field, int64_t) != ZCQ_EXPECT_ANY;
        case V_MAP:
        case V_OBJECT:
            return self->data_size > 0;
        case V_BOOL:
            return *MEMBER (self, field, bool);
        case V_FRAMES:
            return self->event_count > 0;
        case V_NAMES:
            return self->type_count > 0;
        case V_STATUS:
        case V_META:
            break;
    }
    return true;
}

static byte *s_out_fields (msgpack_sbuffer *buffer, byte *at, zcq_msg_t *self,
                           const s_schema_t *schema);

//  Bytes a value takes at most besides what s_out_str and s_out_raw make
//  room for themselves: a header, a number, an id.
#define VALUE_ROOM (1 + 8 + ZCQ_MAX_ID)

//  Write one field's value (its key is written already), with VALUE_ROOM
//  bytes of room at at; returns where it ends.
static byte *
s_out_value (msgpack_sbuffer *buffer, byte *at, zcq_msg_t *self, const s_field_t *field)
{
    switch (field->value) {
        case V_ID:
            if (self->id_size) {
                at = s_out_bin_header (at, self->id_size);
                memcpy (at, self->id, self->id_size);
                return at + self->id_size;
            }
            *at = 0xc0;
            return at + 1;
        case V_TEXT:
        case V_NAME: {
            const char *text = *MEMBER (self, field, char *);
            return s_out_str (buffer, at, text ? text : "");
        }
        case V_UINT64:
            return zcq_mpack_put_uint (at, *MEMBER (self, field, uint64_t));
        case V_UINT32: {
            uint32_t number = *MEMBER (self, field, uint32_t);
            return zcq_mpack_put_uint (at, number ? number : (uint32_t) field->fallback);
        }
        case V_INT64:
            return zcq_mpack_put_int (at, *MEMBER (self, field, int64_t));
        case V_EXPECT:
            if (*MEMBER (self, field, int64_t) == ZCQ_EXPECT_ANY) {
                *at = 0xc0;
                return at + 1;
            }
            return zcq_mpack_put_int (at, *MEMBER (self, field, int64_t));
        case V_MAP:
        case V_OBJECT:
            //  Packed payload bytes as they are (one object)
            if (self->data_size) {
                return s_out_raw (buffer, at, self->data, self->data_size);
            }
            *at = field->value == V_MAP ? 0x80 : 0xc0; //  an empty map, or nil
            return at + 1;
        case V_STATUS:
            return s_out_str (buffer, at,
                              zcq_status_name (*MEMBER (self, field, zcq_status_t)));
        case V_BOOL:
            *at = *MEMBER (self, field, bool) ? 0xc3 : 0xc2;
            return at + 1;
        case V_META:
            return s_out_fields (buffer, at, self, &s_meta_schema);
        case V_FRAMES:
            return zcq_mpack_put_uint (at, self->event_count);
        case V_NAMES:
            at = s_out_count_header (at, self->type_count, 0x90, 0xdc);
            for (size_t index = 0; index < self->type_count; index++) {
                at = s_out_str (buffer, at, self->types [index]);
            }
            return at;
    }
    return at;
}

//  Write the schema's fields as one map: those always written, and those
//  written only when set that are; the map's size is their number. Each
//  key is one copy of its entry's first bytes (header and name), into the
//  room made for it and its value's fixed part.
static byte *
s_out_fields (msgpack_sbuffer *buffer, byte *at, zcq_msg_t *self, const s_schema_t *schema)
{
    assert (schema->count <= 32); //  a bit each in present
    uint32_t present = 0;
    uint32_t size = 0;
    for (size_t index = 0; index < schema->count; index++) {
        const s_field_t *field = &schema->fields [index];
        if (field->presence != P_IF_SET || s_is_set (self, field)) {
            present |= 1u << index;
            size++;
        }
    }
    s_done (buffer, at);
    at = s_out_count_header (s_room (buffer, 5), size, 0x80, 0xde);
    for (size_t index = 0; index < schema->count; index++) {
        if (present & (1u << index)) {
            const s_field_t *field = &schema->fields [index];
            const s_key_entry_t *key = &s_keys [field->key];
            s_done (buffer, at);
            at = s_room (buffer, 1 + sizeof (key->name) + VALUE_ROOM);
            memcpy (at, key, 1 + sizeof (key->name)); //  only size + 1 of them count
            at = s_out_value (buffer, at + key->size + 1, self, field);
        }
    }
    return at;
}

//  Write the schema's fields of self at the end of buffer.
static void
s_pack_fields (msgpack_sbuffer *buffer, zcq_msg_t *self, const s_schema_t *schema)
{
    byte *end = s_out_fields (buffer, s_room (buffer, 1), self, schema);
    s_done (buffer, end);
}

//  Check the limits an encoder must keep, so we never send what we would refuse.
static int
s_check_limits (zcq_msg_t *self)
{
    if (self->stream && strlen (self->stream) > ZCQ_MAX_STREAM) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "stream name is over %d bytes", ZCQ_MAX_STREAM);
    }
    if (self->name && strlen (self->name) > ZCQ_MAX_NAME) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "name is over %d bytes", ZCQ_MAX_NAME);
    }
    if (self->data_size > ZCQ_MAX_DATA && self->type != ZCQ_MSG_RESULT
        && self->type != ZCQ_MSG_UPDATE) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "data is %zu bytes, limit is %d",
                           self->data_size, ZCQ_MAX_DATA);
    }
    if (self->type == ZCQ_MSG_COMMAND && self->id_size != ZCQ_COMMAND_ID) {
        zcq_msg_set_error (self, ZCQ_INVALID, "a COMMAND needs a %d-byte id", ZCQ_COMMAND_ID);
    }
    if (self->type == ZCQ_MSG_EVENT) {
        s_check_text (self, "user id", self->user, ZCQ_MAX_USER);
    }
    if (self->category && strlen (self->category) > ZCQ_MAX_STREAM) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "category is over %d bytes", ZCQ_MAX_STREAM);
    }
    s_check_text (self, "correlation id", self->correlation, ZCQ_MAX_TEXT);
    s_check_text (self, "leader endpoint", self->leader, ZCQ_MAX_ENDPOINT);
    return self->error_status == ZCQ_OK ? 0 : -1;
}

int
zcq_msg_encode_body (zcq_msg_t *self, msgpack_sbuffer *buffer)
{
    assert (self);
    assert (buffer);
    if (s_check_limits (self)) {
        return -1;
    }
    const s_schema_t *schema = self->type > ZCQ_MSG_UNKNOWN && self->type < ZCQ_MSG_TYPES
                                   ? &s_schemas [self->type]
                                   : NULL;
    if (!schema) {
        zcq_msg_set_error (self, ZCQ_UNKNOWN_TYPE, "cannot encode message type %d",
                           (int) self->type);
        return -1;
    }
    s_pack_fields (buffer, self, schema);
    if (buffer->size > ZCQ_MAX_BODY) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "%s body is %zu bytes, limit is %d",
                           zcq_msg_type_name (self->type), buffer->size, ZCQ_MAX_BODY);
        return -1;
    }
    return 0;
}

zmsg_t *
zcq_msg_encode (zcq_msg_t *self)
{
    assert (self);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zmsg_t *zmsg = NULL;
    if (zcq_msg_encode_body (self, &buffer) == 0) {
        zmsg = zmsg_new ();
        zmsg_addstr (zmsg, ZCQ_SIGNATURE);
        zmsg_addstr (zmsg, zcq_msg_type_name (self->type));
        zmsg_addmem (zmsg, buffer.data, buffer.size);
        for (size_t index = 0; index < self->event_count; index++) {
            zmsg_addmem (zmsg, zmq_msg_data (&self->bodies [index]),
                         zmq_msg_size (&self->bodies [index]));
        }
    }
    msgpack_sbuffer_destroy (&buffer);
    return zmsg;
}

//  Send one frame; more says whether others follow. Returns 0 or -1.
static int
s_send_frame (void *handle, const void *data, size_t size, bool more)
{
    return zmq_send (handle, data, size, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

//  Send the signature and a type name frame, both constant text that
//  libzmq may point at instead of copying. Returns 0 or -1.
static int
s_send_head (void *handle, const char *type_name)
{
    if (zmq_send_const (handle, ZCQ_SIGNATURE, sizeof (ZCQ_SIGNATURE) - 1, ZMQ_SNDMORE) < 0) {
        return -1;
    }
    return zmq_send_const (handle, type_name, strlen (type_name), ZMQ_SNDMORE) < 0 ? -1 : 0;
}

int
zcq_msg_send (zcq_msg_t *self, zsock_t *sock)
{
    assert (self);
    assert (sock);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = zcq_msg_encode_body (self, &buffer);
    if (rc == 0) {
        rc = zcq_msg_send_encoded (self, sock, &buffer);
    }
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

int
zcq_msg_send_encoded (zcq_msg_t *self, zsock_t *sock, const msgpack_sbuffer *body)
{
    assert (self);
    assert (sock);
    assert (body);
    //  Frames go straight to libzmq from one buffer: no zmsg, no frame copies.
    //  ZeroMQ sends a multipart message whole or not at all, and a ROUTER
    //  refuses (unroutable, queue full) at the first frame, so a failure can
    //  only come before anything was queued
    void *handle = zsock_resolve (sock);
    int rc = 0;
    if (self->routed) {
        rc = s_send_frame (handle, self->routing, self->routing_size, true);
    }
    if (rc == 0 && self->delimiter) {
        rc = s_send_frame (handle, NULL, 0, true);
    }
    //  What a PUB or XPUB sends starts with its topic, for SUB prefix
    //  filtering; only the published types have one, so only those ask the
    //  socket's type
    bool published = self->type == ZCQ_MSG_EVENT || self->type == ZCQ_MSG_HEARTBEAT;
    int type = published ? zsock_type (sock) : 0;
    if (rc == 0 && (type == ZMQ_PUB || type == ZMQ_XPUB)) {
        byte topic [ZCQ_MAX_TOPIC];
        rc = s_send_frame (handle, topic, zcq_msg_topic (self, topic), true);
    }
    if (rc == 0) {
        s_send_head (handle, zcq_msg_type_name (self->type));
        rc = s_send_frame (handle, body->data, body->size, self->event_count > 0);
        for (size_t index = 0; rc == 0 && index < self->event_count; index++) {
            rc = s_send_frame (handle, zmq_msg_data (&self->bodies [index]),
                               zmq_msg_size (&self->bodies [index]),
                               index + 1 < self->event_count);
        }
    }
    return rc;
}

int
zcq_msg_send_event_body (zsock_t *sock, const byte *topic, size_t topic_size, const void *body,
                         size_t size)
{
    assert (sock);
    assert (topic);
    void *handle = zsock_resolve (sock);
    if (s_send_frame (handle, topic, topic_size, true) != 0
        || s_send_head (handle, "EVENT") != 0) {
        return -1;
    }
    return s_send_frame (handle, body, size, false);
}

int
zcq_msg_send_reply_body (zsock_t *sock, const byte *routing_id, size_t routing_size,
                         bool delimiter, const void *body, size_t size)
{
    assert (sock);
    void *handle = zsock_resolve (sock);
    //  A ROUTER refuses (unroutable, queue full) at the first frame only
    if (routing_id && s_send_frame (handle, routing_id, routing_size, true) != 0) {
        return -1;
    }
    if (delimiter) {
        s_send_frame (handle, NULL, 0, true);
    }
    s_send_head (handle, "REPLY");
    return s_send_frame (handle, body, size, false);
}

zcq_msg_t *
zcq_msg_reply_to (zcq_msg_t *request, zcq_status_t status)
{
    assert (request);
    zcq_msg_type_t type = ZCQ_MSG_ERROR;
    if (zcq_msg_valid (request) || request->type != ZCQ_MSG_UNKNOWN) {
        switch (request->type) {
            case ZCQ_MSG_COMMAND:
                type = ZCQ_MSG_REPLY;
                break;
            case ZCQ_MSG_QUERY:
                type = ZCQ_MSG_RESULT;
                break;
            case ZCQ_MSG_REPLAY:
                type = status == ZCQ_OK ? ZCQ_MSG_EVENTS : ZCQ_MSG_ERROR;
                break;
            case ZCQ_MSG_WATCH:
            case ZCQ_MSG_ACK:
            case ZCQ_MSG_UNWATCH:
                type = ZCQ_MSG_UPDATE;
                break;
            default:
                type = ZCQ_MSG_ERROR;
                break;
        }
    }
    zcq_msg_t *reply = zcq_msg_new (type);
    reply->status = status;
    if (request->routed) {
        memcpy (reply->routing, request->routing, request->routing_size);
        reply->routing_size = request->routing_size;
        reply->routed = true;
    }
    reply->delimiter = request->delimiter;
    zcq_msg_set_id (reply, request->id, request->id_size);
    return reply;
}

//  --- Fields -----------------------------------------------------------------

bool
zcq_msg_valid (zcq_msg_t *self)
{
    assert (self);
    return self->error_status == ZCQ_OK;
}

zcq_status_t
zcq_msg_error_status (zcq_msg_t *self)
{
    assert (self);
    return self->error_status;
}

const char *
zcq_msg_error (zcq_msg_t *self)
{
    assert (self);
    return self->error ? self->error : "";
}

zcq_msg_type_t
zcq_msg_type (zcq_msg_t *self)
{
    assert (self);
    return self->type;
}

void
zcq_msg_set_type (zcq_msg_t *self, zcq_msg_type_t type)
{
    assert (self);
    self->type = type;
}

bool
zcq_msg_delimiter (zcq_msg_t *self)
{
    assert (self);
    return self->delimiter;
}

zframe_t *
zcq_msg_routing_id (zcq_msg_t *self)
{
    assert (self);
    if (self->routed && !self->routing_id) {
        self->routing_id = zframe_new (self->routing, self->routing_size);
    }
    return self->routing_id;
}

const byte *
zcq_msg_routing (zcq_msg_t *self, size_t *size)
{
    assert (self);
    assert (size);
    *size = self->routing_size;
    return self->routed ? self->routing : NULL;
}

void
zcq_msg_set_routing_id (zcq_msg_t *self, zframe_t *routing_id)
{
    assert (self);
    zframe_destroy (&self->routing_id);
    self->routed = routing_id != NULL;
    self->routing_size = routing_id ? zframe_size (routing_id) : 0;
    assert (self->routing_size <= ZCQ_MAX_ROUTING);
    if (self->routing_size) {
        memcpy (self->routing, zframe_data (routing_id), self->routing_size);
    }
}

const byte *
zcq_msg_id (zcq_msg_t *self)
{
    assert (self);
    return self->id;
}

size_t
zcq_msg_id_size (zcq_msg_t *self)
{
    assert (self);
    return self->id_size;
}

void
zcq_msg_set_id (zcq_msg_t *self, const void *id, size_t size)
{
    assert (self);
    assert (size <= ZCQ_MAX_ID);
    if (size) {
        memcpy (self->id, id, size);
    }
    self->id_size = size;
}

static void
s_set_string (zcq_msg_t *self, char **dest, const char *value)
{
    //  Copied before the release: value may be *dest
    char *copy = NULL;
    if (value) {
        size_t size = strlen (value) + 1;
        copy = (char *) s_field_alloc (self, size);
        memcpy (copy, value, size);
    }
    s_release (self, *dest);
    *dest = copy;
}

const char *
zcq_msg_name (zcq_msg_t *self)
{
    assert (self);
    return self->name ? self->name : "";
}

void
zcq_msg_set_name (zcq_msg_t *self, const char *name)
{
    assert (self);
    s_set_string (self, &self->name, name);
}

const char *
zcq_msg_stream (zcq_msg_t *self)
{
    assert (self);
    return self->stream ? self->stream : "";
}

void
zcq_msg_set_stream (zcq_msg_t *self, const char *stream)
{
    assert (self);
    s_set_string (self, &self->stream, stream);
}

int64_t
zcq_msg_expect (zcq_msg_t *self)
{
    assert (self);
    return self->expect;
}

void
zcq_msg_set_expect (zcq_msg_t *self, int64_t expect)
{
    assert (self);
    self->expect = expect < 0 ? ZCQ_EXPECT_ANY : expect;
}

const byte *
zcq_msg_data (zcq_msg_t *self)
{
    assert (self);
    return self->data;
}

size_t
zcq_msg_data_size (zcq_msg_t *self)
{
    assert (self);
    return self->data_size;
}

void
zcq_msg_set_data (zcq_msg_t *self, const void *data, size_t size)
{
    assert (self);
    //  Copied before the old data goes: data may point into it
    byte *copy = size ? (byte *) s_field_alloc (self, size) : NULL;
    if (size) {
        memcpy (copy, data, size);
    }
    s_release (self, self->data);
    self->data = copy;
    self->data_size = size;
}

zcq_status_t
zcq_msg_status (zcq_msg_t *self)
{
    assert (self);
    return self->status;
}

void
zcq_msg_set_status (zcq_msg_t *self, zcq_status_t status)
{
    assert (self);
    self->status = status;
}

const char *
zcq_msg_reason (zcq_msg_t *self)
{
    assert (self);
    return self->reason ? self->reason : "";
}

void
zcq_msg_set_reason (zcq_msg_t *self, const char *format, ...)
{
    assert (self);
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    assert (text);
    //  A reason travels in a bounded text field: make it one line of valid
    //  UTF-8 (a domain's text may be anything) and cut it on a boundary
    zcq_text_sanitize (text);
    zcq_text_truncate (text, ZCQ_MAX_TEXT);
    s_release (self, self->reason);
    self->reason = text;
    self->loose = true;
}

uint64_t
zcq_msg_version (zcq_msg_t *self)
{
    assert (self);
    return self->version;
}

void
zcq_msg_set_version (zcq_msg_t *self, uint64_t version)
{
    assert (self);
    self->version = version;
}

uint64_t
zcq_msg_deleted (zcq_msg_t *self)
{
    assert (self);
    return self->deleted;
}

void
zcq_msg_set_deleted (zcq_msg_t *self, uint64_t tombstone)
{
    assert (self);
    self->deleted = tombstone;
}

uint32_t
zcq_msg_schema (zcq_msg_t *self)
{
    assert (self);
    return self->schema ? self->schema : 1;
}

void
zcq_msg_set_schema (zcq_msg_t *self, uint32_t schema)
{
    assert (self);
    self->schema = schema;
}

uint64_t
zcq_msg_position (zcq_msg_t *self)
{
    assert (self);
    return self->position;
}

void
zcq_msg_set_position (zcq_msg_t *self, uint64_t position)
{
    assert (self);
    self->position = position;
}

uint32_t
zcq_msg_count (zcq_msg_t *self)
{
    assert (self);
    return self->count;
}

void
zcq_msg_set_count (zcq_msg_t *self, uint32_t count)
{
    assert (self);
    self->count = count;
}

int64_t
zcq_msg_time (zcq_msg_t *self)
{
    assert (self);
    return self->time;
}

void
zcq_msg_set_time (zcq_msg_t *self, int64_t time)
{
    assert (self);
    self->time = time;
}

const char *
zcq_msg_correlation (zcq_msg_t *self)
{
    assert (self);
    return self->correlation ? self->correlation : "";
}

void
zcq_msg_set_correlation (zcq_msg_t *self, const char *correlation)
{
    assert (self);
    s_set_string (self, &self->correlation, correlation);
}

const char *
zcq_msg_leader (zcq_msg_t *self)
{
    assert (self);
    return self->leader ? self->leader : "";
}

void
zcq_msg_set_leader (zcq_msg_t *self, const char *endpoint)
{
    assert (self);
    s_set_string (self, &self->leader, endpoint);
}

const char *
zcq_msg_cluster (zcq_msg_t *self)
{
    assert (self);
    return self->cluster ? self->cluster : "";
}

const char *
zcq_msg_incarnation (zcq_msg_t *self)
{
    assert (self);
    return self->incarnation ? self->incarnation : "";
}

const char *
zcq_msg_domain (zcq_msg_t *self)
{
    assert (self);
    return self->domain ? self->domain : "";
}

void
zcq_msg_set_origin (zcq_msg_t *self, const char *cluster, const char *incarnation,
                    const char *domain)
{
    assert (self);
    s_set_string (self, &self->cluster, cluster);
    s_set_string (self, &self->incarnation, incarnation);
    s_set_string (self, &self->domain, domain);
}

const char *
zcq_msg_user (zcq_msg_t *self)
{
    assert (self);
    return self->user ? self->user : "";
}

void
zcq_msg_set_user (zcq_msg_t *self, const char *user)
{
    assert (self);
    s_set_string (self, &self->user, user);
}

const char *
zcq_msg_roles (zcq_msg_t *self)
{
    assert (self);
    return self->roles;
}

uint64_t
zcq_msg_from (zcq_msg_t *self)
{
    assert (self);
    return self->from;
}

void
zcq_msg_set_from (zcq_msg_t *self, uint64_t from)
{
    assert (self);
    self->from = from;
}

uint32_t
zcq_msg_max (zcq_msg_t *self)
{
    assert (self);
    return self->max;
}

void
zcq_msg_set_max (zcq_msg_t *self, uint32_t max)
{
    assert (self);
    self->max = max;
}

uint64_t
zcq_msg_head (zcq_msg_t *self)
{
    assert (self);
    return self->head;
}

void
zcq_msg_set_head (zcq_msg_t *self, uint64_t head)
{
    assert (self);
    self->head = head;
}

uint32_t
zcq_msg_retry_after (zcq_msg_t *self)
{
    assert (self);
    return self->retry_after;
}

void
zcq_msg_set_retry_after (zcq_msg_t *self, uint32_t milliseconds)
{
    assert (self);
    self->retry_after = milliseconds;
}

uint32_t
zcq_msg_interval (zcq_msg_t *self)
{
    assert (self);
    return self->interval;
}

void
zcq_msg_set_interval (zcq_msg_t *self, uint32_t interval)
{
    assert (self);
    self->interval = interval;
}

uint64_t
zcq_msg_min_position (zcq_msg_t *self)
{
    assert (self);
    return self->min_position;
}

void
zcq_msg_set_min_position (zcq_msg_t *self, uint64_t min_position)
{
    assert (self);
    self->min_position = min_position;
}

bool
zcq_msg_may_be_stale (zcq_msg_t *self)
{
    assert (self);
    return self->may_be_stale;
}

void
zcq_msg_set_may_be_stale (zcq_msg_t *self, bool may_be_stale)
{
    assert (self);
    self->may_be_stale = may_be_stale;
}

uint64_t
zcq_msg_seq (zcq_msg_t *self)
{
    assert (self);
    return self->seq;
}

void
zcq_msg_set_seq (zcq_msg_t *self, uint64_t seq)
{
    assert (self);
    self->seq = seq;
}

uint32_t
zcq_msg_lease (zcq_msg_t *self)
{
    assert (self);
    return self->lease;
}

void
zcq_msg_set_lease (zcq_msg_t *self, uint32_t lease)
{
    assert (self);
    self->lease = lease;
}

uint32_t
zcq_msg_timeout (zcq_msg_t *self)
{
    assert (self);
    return self->timeout;
}

void
zcq_msg_set_timeout (zcq_msg_t *self, uint32_t timeout)
{
    assert (self);
    self->timeout = timeout;
}

size_t
zcq_msg_event_count (zcq_msg_t *self)
{
    assert (self);
    return self->event_count;
}

zframe_t *
zcq_msg_event_frame (zcq_msg_t *self, size_t index)
{
    assert (self);
    if (index >= self->event_count) {
        return NULL;
    }
    if (!self->events) {
        //  Made once, when first asked: the feed reads bodies in place
        self->events = (zframe_t **) malloc (self->event_count * sizeof (zframe_t *));
        assert (self->events);
        for (size_t body = 0; body < self->event_count; body++) {
            self->events [body] = zframe_new (zmq_msg_data (&self->bodies [body]),
                                              zmq_msg_size (&self->bodies [body]));
        }
    }
    return self->events [index];
}

const byte *
zcq_msg_event_body (zcq_msg_t *self, size_t index, size_t *size)
{
    assert (self);
    assert (size);
    if (index >= self->event_count) {
        *size = 0;
        return NULL;
    }
    *size = zmq_msg_size (&self->bodies [index]);
    return (const byte *) zmq_msg_data (&self->bodies [index]);
}

//  A slot for one more body at the end, initialised empty.
static zmq_msg_t *
s_body_slot (zcq_msg_t *self)
{
    if (self->events) {
        //  Frames made before: made again, with this one, when asked
        for (size_t index = 0; index < self->event_count; index++) {
            zframe_destroy (&self->events [index]);
        }
        free (self->events);
        self->events = NULL;
    }
    if (self->event_count == self->event_alloc) {
        self->event_alloc = self->event_alloc ? self->event_alloc * 2 : 16;
        self->bodies =
            (zmq_msg_t *) realloc (self->bodies, self->event_alloc * sizeof (zmq_msg_t));
        assert (self->bodies);
    }
    return &self->bodies [self->event_count++];
}

void
zcq_msg_add_event (zcq_msg_t *self, const void *body, size_t size)
{
    assert (self);
    zmq_msg_t *slot = s_body_slot (self);
    int rc = zmq_msg_init_size (slot, size);
    assert (rc == 0);
    (void) rc;
    if (size) {
        memcpy (zmq_msg_data (slot), body, size);
    }
}

//  Append a received part as one body, without copying it (the part is
//  left empty).
static void
s_take_event (zcq_msg_t *self, zmq_msg_t *part)
{
    zmq_msg_t *slot = s_body_slot (self);
    zmq_msg_init (slot);
    int rc = zmq_msg_move (slot, part);
    assert (rc == 0);
    (void) rc;
}

uint64_t
zcq_msg_to (zcq_msg_t *self)
{
    assert (self);
    return self->to;
}

void
zcq_msg_set_to (zcq_msg_t *self, uint64_t to)
{
    assert (self);
    self->to = to;
}

uint64_t
zcq_msg_covered (zcq_msg_t *self)
{
    assert (self);
    if (self->to) {
        return self->to;
    }
    uint64_t count = self->event_count ? self->event_count : self->count;
    return self->from + count ? self->from + count - 1 : 0;
}

const char *
zcq_msg_category (zcq_msg_t *self)
{
    assert (self);
    return self->category ? self->category : "";
}

void
zcq_msg_set_category (zcq_msg_t *self, const char *category)
{
    assert (self);
    s_set_string (self, &self->category, category);
}

size_t
zcq_msg_type_count (zcq_msg_t *self)
{
    assert (self);
    return self->type_count;
}

const char *
zcq_msg_type_at (zcq_msg_t *self, size_t index)
{
    assert (self);
    return index < self->type_count ? self->types [index] : NULL;
}

int
zcq_msg_add_type (zcq_msg_t *self, const char *type)
{
    assert (self);
    assert (type);
    if (self->type_count >= ZCQ_MAX_TYPES) {
        return -1;
    }
    char **types = (char **) realloc (self->types, (self->type_count + 1) * sizeof (char *));
    assert (types);
    self->types = types;
    self->types [self->type_count] = strdup (type);
    assert (self->types [self->type_count]);
    self->type_count++;
    return 0;
}

size_t
zcq_msg_category_size (const char *stream)
{
    return stream ? strcspn (stream, "-") : 0;
}

bool
zcq_msg_filter_takes (zcq_msg_t *filter, zcq_msg_t *event)
{
    assert (filter);
    assert (event);
    const char *stream = zcq_msg_stream (event);
    if (filter->stream && *filter->stream && strcmp (filter->stream, stream) != 0) {
        return false;
    }
    if (filter->category && *filter->category) {
        size_t size = zcq_msg_category_size (stream);
        if (strlen (filter->category) != size || memcmp (filter->category, stream, size) != 0) {
            return false;
        }
    }
    if (filter->type_count == 0) {
        return true;
    }
    for (size_t index = 0; index < filter->type_count; index++) {
        if (streq (filter->types [index], zcq_msg_name (event))) {
            return true;
        }
    }
    return false;
}

void
zcq_msg_filter_copy (zcq_msg_t *filter, zcq_msg_t *into)
{
    assert (filter);
    assert (into);
    into->time = filter->time; //  since
    zcq_msg_set_stream (into, filter->stream);
    zcq_msg_set_category (into, filter->category);
    s_types_clear (into);
    for (size_t index = 0; index < filter->type_count; index++) {
        zcq_msg_add_type (into, filter->types [index]);
    }
}

//  Write part (size bytes) and the NUL that ends it at topic + at; returns
//  the size written up to there.
static size_t
s_topic_part (byte *topic, size_t at, const void *part, size_t size)
{
    memcpy (topic + at, part, size);
    topic [at + size] = 0;
    return at + size + 1;
}

//  Write "ZCQ1E" category NUL [stream NUL [type NUL]] into topic, each part
//  of the size given (stream or type NULL: it and what follows it left
//  out); returns its size. No text holds a NUL (section 5.1), so the NUL
//  after each part ends it: a prefix that names one stream cannot be a
//  prefix of another's.
static size_t
s_event_topic (byte *topic, const char *category, size_t category_size, const char *stream,
               size_t stream_size, const char *type, size_t type_size)
{
    memcpy (topic, ZCQ_SIGNATURE "E", 5);
    size_t size = s_topic_part (topic, 5, category, category_size);
    if (stream) {
        size = s_topic_part (topic, size, stream, stream_size);
        if (type) {
            size = s_topic_part (topic, size, type, type_size);
        }
    }
    return size;
}

size_t
zcq_msg_topic (zcq_msg_t *self, byte topic [ZCQ_MAX_TOPIC])
{
    assert (self);
    if (self->type == ZCQ_MSG_HEARTBEAT) {
        memcpy (topic, ZCQ_SIGNATURE "H", 5);
        return 5;
    }
    if (self->type != ZCQ_MSG_EVENT) {
        return 0;
    }
    const char *stream = zcq_msg_stream (self);
    const char *type = zcq_msg_name (self);
    size_t stream_size = strlen (stream), type_size = strlen (type);
    if (stream_size > ZCQ_MAX_STREAM || type_size > ZCQ_MAX_NAME) {
        return 0; //  not an event we could publish (the encoder refuses it too)
    }
    return s_event_topic (topic, stream, zcq_msg_category_size (stream), stream, stream_size,
                          type, type_size);
}

//  Read the msgpack str at *offset of bytes (size in all): its bytes and
//  their length; moves *offset past it. Returns 0, or -1 if it is not a
//  str or does not fit.
static int
s_topic_str (const byte *bytes, size_t size, size_t *offset, const byte **text, size_t *length)
{
    size_t at = *offset;
    if (at >= size) {
        return -1;
    }
    byte head = bytes [at++];
    size_t width = head == 0xd9 ? 1 : head == 0xda ? 2 : head == 0xdb ? 4 : 0;
    if (head >= 0xa0 && head <= 0xbf) {
        *length = head & 0x1f;
    }
    else if (width && size - at >= width) {
        *length = 0;
        for (size_t index = 0; index < width; index++) {
            *length = (*length << 8) | bytes [at++];
        }
    }
    else {
        return -1;
    }
    if (*length > size - at) {
        return -1;
    }
    *text = bytes + at;
    *offset = at + *length;
    return 0;
}

//  The same for a name the decoder takes: never empty, at most max bytes,
//  UTF-8 without control characters (s_take_string).
static int
s_topic_name (const byte *bytes, size_t size, size_t *offset, size_t max, const byte **text,
              size_t *length)
{
    return s_topic_str (bytes, size, offset, text, length) == 0 && *length > 0 && *length <= max
                   && zcq_text_is_utf8 (*text, *length)
               ? 0
               : -1;
}

size_t
zcq_msg_event_topic (const void *body, size_t size, byte topic [ZCQ_MAX_TOPIC])
{
    assert (topic);
    const byte *bytes = (const byte *) body;
    if (!body || size == 0 || size > ZCQ_MAX_BODY) {
        return 0;
    }
    //  The map's header
    uint64_t pairs = 0;
    size_t offset = 1;
    if (bytes [0] >= 0x80 && bytes [0] <= 0x8f) {
        pairs = bytes [0] & 0x0f;
    }
    else if ((bytes [0] == 0xde && size >= 3) || (bytes [0] == 0xdf && size >= 5)) {
        size_t width = bytes [0] == 0xde ? 2 : 4;
        for (size_t index = 0; index < width; index++) {
            pairs = (pairs << 8) | bytes [offset++];
        }
    }
    else {
        return 0;
    }
    //  Each key a string; stream and type names (each time they come, the
    //  last one counts, as in the decoder), every other value stepped over
    const byte *stream = NULL, *type = NULL;
    size_t stream_size = 0, type_size = 0;
    for (uint64_t pair = 0; pair < pairs; pair++) {
        const byte *key;
        size_t key_size;
        if (s_topic_str (bytes, size, &offset, &key, &key_size) != 0) {
            return 0; //  the decoder refuses a key that is not a string
        }
        if (key_size == 6 && memcmp (key, "stream", 6) == 0) {
            if (s_topic_name (bytes, size, &offset, ZCQ_MAX_STREAM, &stream, &stream_size)
                != 0) {
                return 0;
            }
        }
        else if (key_size == 4 && memcmp (key, "type", 4) == 0) {
            if (s_topic_name (bytes, size, &offset, ZCQ_MAX_NAME, &type, &type_size) != 0) {
                return 0;
            }
        }
        else {
            size_t used = offset < size ? zcq_mpack_skip (bytes + offset, size - offset) : 0;
            if (used == 0) {
                return 0;
            }
            offset += used;
        }
    }
    if (offset != size || !stream || !type) {
        return 0;
    }
    //  The category: the stream up to its first '-' (zcq_msg_category_size)
    const byte *dash = (const byte *) memchr (stream, '-', stream_size);
    size_t category_size = dash ? (size_t) (dash - stream) : stream_size;
    return s_event_topic (topic, (const char *) stream, category_size, (const char *) stream,
                          stream_size, (const char *) type, type_size);
}

void
zcq_msg_filter_subscribe (zcq_msg_t *filter, zsock_t *sub)
{
    assert (sub);
    void *handle = zsock_resolve (sub);
    const char *stream = filter && filter->stream && *filter->stream ? filter->stream : NULL;
    const char *category =
        filter && filter->category && *filter->category ? filter->category : NULL;
    if (!stream && !category) {
        //  Everything: events and heartbeats alike start with the signature
        zmq_setsockopt (handle, ZMQ_SUBSCRIBE, ZCQ_SIGNATURE, strlen (ZCQ_SIGNATURE));
        return;
    }
    zmq_setsockopt (handle, ZMQ_SUBSCRIBE, ZCQ_SIGNATURE "H", 5);
    byte topic [ZCQ_MAX_TOPIC];
    if (stream && strlen (stream) <= ZCQ_MAX_STREAM) {
        size_t category_size = zcq_msg_category_size (stream);
        if (filter->type_count == 0) {
            size_t size =
                s_event_topic (topic, stream, category_size, stream, strlen (stream), NULL, 0);
            zmq_setsockopt (handle, ZMQ_SUBSCRIBE, topic, size);
        }
        for (size_t index = 0; index < filter->type_count; index++) {
            if (strlen (filter->types [index]) <= ZCQ_MAX_NAME) {
                const char *type = filter->types [index];
                size_t size = s_event_topic (topic, stream, category_size, stream,
                                             strlen (stream), type, strlen (type));
                zmq_setsockopt (handle, ZMQ_SUBSCRIBE, topic, size);
            }
        }
    }
    else if (!stream && strlen (category) <= ZCQ_MAX_STREAM) {
        size_t size = s_event_topic (topic, category, strlen (category), NULL, 0, NULL, 0);
        zmq_setsockopt (handle, ZMQ_SUBSCRIBE, topic, size);
    }
}

int64_t
zcq_msg_since (zcq_msg_t *self)
{
    assert (self);
    return self->type == ZCQ_MSG_REPLAY ? self->time : 0;
}

void
zcq_msg_set_since (zcq_msg_t *self, int64_t since)
{
    assert (self);
    self->time = since;
}
