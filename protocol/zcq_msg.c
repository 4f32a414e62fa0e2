/*  =========================================================================
    zcq_msg - the ZCQ1 wire codec (see zcq_msg.h and zcqrs-v1.md)

    Decoding is strict about what it needs and lenient about what it does not
    know: a missing or mistyped field is an error that names the field, an
    unknown key is ignored so that minor additions stay compatible in v1.
    =========================================================================
*/

#include "zcq_msg.h"
#include "zcq_mpack.h"
#include "zcq_text.h"

#include <stdarg.h>

struct _zcq_msg_t {
    zcq_msg_type_t type;       //  message type (frame 2)
    zframe_t *routing_id;      //  ROUTER envelope, or NULL
    bool delimiter;            //  peer put an empty frame after the id (REQ)
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
    uint64_t position;         //  global position
    uint32_t count;            //  events appended (REPLY)
    int64_t time;              //  microseconds since the epoch
    char *correlation;         //  caller's correlation id
    char *user;                //  ZAP user id of the sender, or EVENT meta.user
    char *roles;               //  ZAP roles of the sender (received only), or NULL
    uint64_t from;             //  REPLAY / EVENTS first position
    uint32_t max;              //  REPLAY batch size
    uint64_t head;             //  last stored position
    uint32_t interval;         //  heartbeat interval, ms
    uint32_t retry_after;      //  REPLY busy/unavailable: ms to wait before a retry
    uint64_t min_position;     //  QUERY read-your-writes bound
    uint32_t timeout;          //  QUERY wait bound, ms
    bool may_be_stale;         //  RESULT: the node is not following the write node
    zframe_t **events;         //  EVENTS body frames, in order
    size_t event_count;        //  frames in events
    size_t event_alloc;        //  slots allocated in events
};

static const char *s_type_names [ZCQ_MSG_TYPES] = {
    [ZCQ_MSG_UNKNOWN] = "UNKNOWN",     [ZCQ_MSG_COMMAND] = "COMMAND",
    [ZCQ_MSG_REPLY] = "REPLY",         [ZCQ_MSG_EVENT] = "EVENT",
    [ZCQ_MSG_HEARTBEAT] = "HEARTBEAT", [ZCQ_MSG_REPLAY] = "REPLAY",
    [ZCQ_MSG_EVENTS] = "EVENTS",       [ZCQ_MSG_QUERY] = "QUERY",
    [ZCQ_MSG_RESULT] = "RESULT",       [ZCQ_MSG_ERROR] = "ERROR",
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
};

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
        if (strlen (s_type_names [type]) == size
            && memcmp (s_type_names [type], name, size) == 0) {
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
        if (strlen (s_statuses [status].name) == size
            && memcmp (s_statuses [status].name, name, size) == 0) {
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

zcq_msg_t *
zcq_msg_new (zcq_msg_type_t type)
{
    zcq_msg_t *self = (zcq_msg_t *) zmalloc (sizeof (zcq_msg_t));
    assert (self);
    self->type = type;
    self->expect = ZCQ_EXPECT_ANY;
    return self;
}

void
zcq_msg_destroy (zcq_msg_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_msg_t *self = *self_p;
        zframe_destroy (&self->routing_id);
        zstr_free (&self->error);
        zstr_free (&self->name);
        zstr_free (&self->stream);
        free (self->data);
        zstr_free (&self->reason);
        zstr_free (&self->correlation);
        zstr_free (&self->user);
        zstr_free (&self->roles);
        for (size_t index = 0; index < self->event_count; index++) {
            zframe_destroy (&self->events [index]);
        }
        free (self->events);
        free (self);
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

//  Compare a msgpack string key with a C string.
static bool
s_key_is (const msgpack_object *key, const char *name)
{
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen (name)
           && memcmp (key->via.str.ptr, name, key->via.str.size) == 0;
}

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
    zstr_free (dest);
    *dest = (char *) malloc (size + 1);
    assert (*dest);
    memcpy (*dest, value->via.str.ptr, size);
    (*dest) [size] = 0;
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

//  Keep a payload object as packed msgpack; maps only when must_be_map.
static int
s_take_payload (zcq_msg_t *self, const char *field, const msgpack_object *value,
                bool must_be_map, size_t limit)
{
    if (must_be_map && value->type != MSGPACK_OBJECT_MAP) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be a map, got %s", field,
                           zcq_text_msgpack_type (value->type));
        return -1;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *value);
    int rc = 0;
    if (buffer.size > limit) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "field '%s' is %zu bytes, limit is %zu", field,
                           buffer.size, limit);
        rc = -1;
    }
    else {
        zcq_msg_set_data (self, buffer.data, buffer.size);
    }
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

static int
s_take_status (zcq_msg_t *self, const msgpack_object *value)
{
    int status = -1;
    if (value->type == MSGPACK_OBJECT_STR) {
        status = zcq_status_from_name (value->via.str.ptr, value->via.str.size);
    }
    if (status < 0) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field 'status' is not a known status name");
        return -1;
    }
    self->status = (zcq_status_t) status;
    return 0;
}

//  EVENT meta map: command id, correlation id, time.
static int
s_take_meta (zcq_msg_t *self, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_MAP) {
        zcq_msg_set_error (self, ZCQ_INVALID, "field 'meta' must be a map");
        return -1;
    }
    for (uint32_t index = 0; index < value->via.map.size; index++) {
        const msgpack_object *key = &value->via.map.ptr [index].key;
        const msgpack_object *item = &value->via.map.ptr [index].val;
        int rc = 0;
        if (s_key_is (key, "command")) {
            rc = s_take_id (self, "meta.command", item);
        }
        else if (s_key_is (key, "correlation")) {
            rc = s_take_string (self, "meta.correlation", item, ZCQ_MAX_TEXT, false,
                                &self->correlation);
        }
        else if (s_key_is (key, "time")) {
            rc = s_take_int (self, "meta.time", item, &self->time);
        }
        else if (s_key_is (key, "user")) {
            rc = s_take_string (self, "meta.user", item, ZCQ_MAX_USER, false, &self->user);
        }
        if (rc) {
            return -1;
        }
    }
    return 0;
}

//  Every body key of the protocol. A message type reads only its own keys
//  (others are ignored, like unknown keys) and requires some of them.
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
    K_KEYS
} s_key_t;

static const char *s_key_names [K_KEYS] = {
    [K_ID] = "id",
    [K_TYPE] = "type",
    [K_NAME] = "name",
    [K_STREAM] = "stream",
    [K_EXPECT] = "expect",
    [K_DATA] = "data",
    [K_PARAMS] = "params",
    [K_RESULT] = "result",
    [K_STATUS] = "status",
    [K_REASON] = "reason",
    [K_CORRELATION] = "correlation",
    [K_META] = "meta",
    [K_VERSION] = "version",
    [K_POSITION] = "position",
    [K_COUNT] = "count",
    [K_TIME] = "time",
    [K_FROM] = "from",
    [K_MAX] = "max",
    [K_HEAD] = "head",
    [K_INTERVAL] = "interval",
    [K_MIN_POSITION] = "min_position",
    [K_TIMEOUT] = "timeout",
    [K_RETRY_AFTER] = "retry_after",
    [K_MAY_BE_STALE] = "may_be_stale",
};

#define B(key) (1u << (key))

static const struct {
    unsigned allowed;  //  keys this type reads
    unsigned required; //  keys it must have
} s_schemas [ZCQ_MSG_TYPES] = {
    [ZCQ_MSG_COMMAND] = {B (K_ID) | B (K_TYPE) | B (K_STREAM) | B (K_EXPECT) | B (K_DATA)
                             | B (K_CORRELATION),
                         B (K_ID) | B (K_TYPE) | B (K_STREAM)},
    [ZCQ_MSG_REPLY] = {B (K_ID) | B (K_STATUS) | B (K_REASON) | B (K_VERSION) | B (K_POSITION)
                           | B (K_COUNT) | B (K_RETRY_AFTER),
                       B (K_STATUS)},
    [ZCQ_MSG_EVENT] = {B (K_POSITION) | B (K_STREAM) | B (K_VERSION) | B (K_TYPE) | B (K_DATA)
                           | B (K_META),
                       B (K_POSITION) | B (K_STREAM) | B (K_VERSION) | B (K_TYPE) | B (K_DATA)},
    [ZCQ_MSG_HEARTBEAT] = {B (K_HEAD) | B (K_TIME) | B (K_INTERVAL), B (K_HEAD)},
    [ZCQ_MSG_REPLAY] = {B (K_ID) | B (K_FROM) | B (K_MAX), B (K_FROM)},
    [ZCQ_MSG_EVENTS] = {B (K_ID) | B (K_FROM) | B (K_HEAD) | B (K_COUNT),
                        B (K_FROM) | B (K_HEAD) | B (K_COUNT)},
    [ZCQ_MSG_QUERY] = {B (K_ID) | B (K_NAME) | B (K_PARAMS) | B (K_MIN_POSITION)
                           | B (K_TIMEOUT),
                       B (K_NAME)},
    [ZCQ_MSG_RESULT] = {B (K_ID) | B (K_STATUS) | B (K_REASON) | B (K_POSITION) | B (K_RESULT)
                            | B (K_MAY_BE_STALE),
                        B (K_STATUS)},
    [ZCQ_MSG_ERROR] = {B (K_ID) | B (K_STATUS) | B (K_REASON), B (K_STATUS)},
};

//  Read one key of a body; sets *seen bits for required-field checks.
static int
s_take_field (zcq_msg_t *self, const msgpack_object *key, const msgpack_object *value,
              unsigned *seen)
{
    int field = 0;
    while (field < K_KEYS && !s_key_is (key, s_key_names [field])) {
        field++;
    }
    if (field == K_KEYS || !(s_schemas [self->type].allowed & B (field))) {
        return 0; //  not ours: ignored, so minor additions stay compatible
    }
    const char *name = s_key_names [field];
    uint64_t number = 0;
    int rc = 0;
    switch ((s_key_t) field) {
        case K_ID:
            rc = s_take_id (self, name, value);
            if (self->id_size == 0) {
                return rc; //  nil: as if absent
            }
            break;
        case K_TYPE:
        case K_NAME:
            rc = s_take_string (self, name, value, ZCQ_MAX_NAME, true, &self->name);
            break;
        case K_STREAM:
            rc = s_take_string (self, name, value, ZCQ_MAX_STREAM, true, &self->stream);
            break;
        case K_EXPECT:
            if (value->type == MSGPACK_OBJECT_NIL) {
                self->expect = ZCQ_EXPECT_ANY;
            }
            else if ((rc = s_take_uint (self, name, value, INT64_MAX, &number)) == 0) {
                self->expect = (int64_t) number;
            }
            break;
        case K_DATA:
        case K_PARAMS:
            rc = s_take_payload (self, name, value, true, ZCQ_MAX_DATA);
            break;
        case K_RESULT:
            //  A result is bounded by the body, not by the data limit
            rc = s_take_payload (self, name, value, false, ZCQ_MAX_BODY);
            break;
        case K_STATUS:
            rc = s_take_status (self, value);
            break;
        case K_REASON:
            rc = s_take_string (self, name, value, ZCQ_MAX_TEXT, false, &self->reason);
            break;
        case K_CORRELATION:
            rc = s_take_string (self, name, value, ZCQ_MAX_TEXT, false, &self->correlation);
            break;
        case K_META:
            rc = s_take_meta (self, value);
            break;
        case K_VERSION:
            rc = s_take_uint (self, name, value, INT64_MAX, &self->version);
            break;
        case K_POSITION:
            rc = s_take_uint (self, name, value, INT64_MAX, &self->position);
            break;
        case K_COUNT:
            rc = s_take_uint (self, name, value, UINT32_MAX, &number);
            self->count = (uint32_t) number;
            break;
        case K_TIME:
            rc = s_take_int (self, name, value, &self->time);
            break;
        case K_FROM:
            rc = s_take_uint (self, name, value, INT64_MAX, &self->from);
            break;
        case K_MAX:
            rc = s_take_uint (self, name, value, ZCQ_MAX_EVENTS, &number);
            self->max = (uint32_t) number;
            break;
        case K_HEAD:
            rc = s_take_uint (self, name, value, INT64_MAX, &self->head);
            break;
        case K_INTERVAL:
            rc = s_take_uint (self, name, value, UINT32_MAX, &number);
            self->interval = (uint32_t) number;
            break;
        case K_MIN_POSITION:
            rc = s_take_uint (self, name, value, INT64_MAX, &self->min_position);
            break;
        case K_TIMEOUT:
            rc = s_take_uint (self, name, value, UINT32_MAX, &number);
            self->timeout = (uint32_t) number;
            break;
        case K_RETRY_AFTER:
            rc = s_take_uint (self, name, value, UINT32_MAX, &number);
            self->retry_after = (uint32_t) number;
            break;
        case K_MAY_BE_STALE:
            if (value->type != MSGPACK_OBJECT_BOOLEAN) {
                zcq_msg_set_error (self, ZCQ_INVALID, "field '%s' must be a boolean, got %s",
                                   name, zcq_text_msgpack_type (value->type));
                rc = -1;
            }
            else {
                self->may_be_stale = value->via.boolean;
            }
            break;
        default:
            break;
    }
    *seen |= B (field);
    return rc;
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
    if (self->type == ZCQ_MSG_REPLAY) {
        if (self->from == 0) {
            zcq_msg_set_error (self, ZCQ_INVALID,
                               "field 'from' must be 1 or more (positions start at 1)");
        }
        if (self->max == 0) {
            self->max = ZCQ_MAX_EVENTS;
        }
    }
    if ((self->type == ZCQ_MSG_EVENT) && (self->position == 0 || self->version == 0)) {
        zcq_msg_set_error (self, ZCQ_INVALID, "an EVENT's position and version start at 1");
    }
}

zcq_msg_t *
zcq_msg_decode_body (zcq_msg_type_t type, const void *body, size_t size)
{
    zcq_msg_t *self = zcq_msg_new (type);
    if (type <= ZCQ_MSG_UNKNOWN || type >= ZCQ_MSG_TYPES) {
        zcq_msg_set_error (self, ZCQ_UNKNOWN_TYPE, "unknown message type");
        return self;
    }
    if (size > ZCQ_MAX_BODY) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "%s body is %zu bytes, limit is %d",
                           zcq_msg_type_name (type), size, ZCQ_MAX_BODY);
        return self;
    }
    //  One zone on the stack, its first chunk sized to the body: a message
    //  decodes with one allocation instead of msgpack's default 8 KiB chunk
    msgpack_zone zone;
    if (!msgpack_zone_init (&zone, 256 + 2 * size)) {
        zcq_msg_set_error (self, ZCQ_UNAVAILABLE, "out of memory decoding %s",
                           zcq_msg_type_name (type));
        return self;
    }
    msgpack_unpacked result;
    size_t offset = 0;
    //  Headers that declare more than the bytes can hold are truncated, and
    //  msgpack-c would allocate what they declare: refuse before it does
    msgpack_unpack_return ret =
        zcq_mpack_plausible (body, size)
            ? msgpack_unpack ((const char *) body, size, &offset, &zone, &result.data)
            : MSGPACK_UNPACK_CONTINUE;
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
        unsigned seen = 0;
        const msgpack_object_map *map = &result.data.via.map;
        for (uint32_t index = 0; index < map->size; index++) {
            if (map->ptr [index].key.type != MSGPACK_OBJECT_STR) {
                zcq_msg_set_error (self, ZCQ_INVALID, "%s body has a key that is not a string",
                                   zcq_msg_type_name (type));
                break;
            }
            if (s_take_field (self, &map->ptr [index].key, &map->ptr [index].val, &seen)) {
                break;
            }
        }
        //  When several keys are missing, report the first in the spec's
        //  order (section 5.2, step 7), which is not the order of s_key_t
        static const s_key_t missing_order [] = {K_ID,       K_TYPE,    K_STREAM, K_STATUS,
                                                 K_POSITION, K_VERSION, K_FROM,   K_HEAD,
                                                 K_NAME,     K_COUNT,   K_DATA};
        unsigned missing = s_schemas [type].required & ~seen;
        for (size_t index = 0; self->error_status == ZCQ_OK && missing
                               && index < sizeof (missing_order) / sizeof (missing_order [0]);
             index++) {
            if (missing & B (missing_order [index])) {
                zcq_msg_set_error (self, ZCQ_INVALID, "%s is missing field '%s'",
                                   zcq_msg_type_name (type),
                                   s_key_names [missing_order [index]]);
            }
        }
        if (self->error_status == ZCQ_OK) {
            s_check_rules (self);
        }
    }
    msgpack_zone_destroy (&zone);
    return self;
}

//  One received frame, borrowed.
typedef struct {
    const byte *data;
    size_t size;
} s_frame_t;

//  Decode frames that carry no envelope (signature first): the rules of
//  zcq_msg_decode, shared by the zmsg path and the raw receive path.
static zcq_msg_t *
s_decode_frames (const s_frame_t *frames, size_t count)
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
                    zcq_msg_add_event (self, frames [index].data, frames [index].size);
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

zcq_msg_t *
zcq_msg_decode (zmsg_t **zmsg_p)
{
    assert (zmsg_p && *zmsg_p);
    zmsg_t *zmsg = *zmsg_p;
    *zmsg_p = NULL;
    size_t count = zmsg_size (zmsg);
    s_frame_t *frames = (s_frame_t *) malloc ((count ? count : 1) * sizeof (s_frame_t));
    assert (frames);
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (zmsg); frame; frame = zmsg_next (zmsg)) {
        frames [index].data = zframe_data (frame);
        frames [index++].size = zframe_size (frame);
    }
    zcq_msg_t *self = s_decode_frames (frames, count);
    free (frames);
    zmsg_destroy (&zmsg);
    return self;
}

#define RECV_FRAMES 8 //  frames received without allocating (all but EVENTS)

zcq_msg_t *
zcq_msg_recv (zsock_t *sock)
{
    assert (sock);
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
        if (zmq_msg_recv (&parts [count], handle, 0) < 0) {
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
        zframe_t *routing_id = NULL;
        bool delimiter = false;
        if (zsock_type (sock) == ZMQ_ROUTER && count > 0) {
            routing_id = zframe_new (frames [0].data, frames [0].size);
            first = 1;
            if (count > 1 && frames [1].size == 0) {
                delimiter = true;
                first = 2;
            }
        }
        self = s_decode_frames (frames + first, count - first);
        self->routing_id = routing_id;
        self->delimiter = delimiter;
        //  Who the peer is, as the ZAP handler said at the handshake: every
        //  part that came off the wire carries the connection's metadata (a
        //  ROUTER's routing id part does not). Without it (a plain endpoint,
        //  or the connecting side) an EVENT keeps its meta.user
        zmq_msg_t *wire = first < count ? &parts [first] : NULL;
        const char *user = wire ? zmq_msg_gets (wire, "User-Id") : NULL;
        const char *roles = wire ? zmq_msg_gets (wire, "Roles") : NULL;
        if (user && *user) {
            //  The id names who did it in every event the command appends,
            //  as meta.user: one that could not be stored refuses the
            //  message (a certificate's name may be anything)
            zstr_free (&self->user);
            if (s_check_text (self, USER_ID_FROM_ZAP, user, ZCQ_MAX_USER) == 0) {
                self->user = strdup (user);
            }
        }
        self->roles = roles ? strdup (roles) : NULL;
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

//  --- Encoding ---------------------------------------------------------------

static void
s_pack_str (msgpack_packer *packer, const char *text)
{
    size_t size = strlen (text);
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, text, size);
}

static void
s_pack_key (msgpack_packer *packer, const char *key)
{
    s_pack_str (packer, key);
}

static void
s_pack_bin (msgpack_packer *packer, const byte *data, size_t size)
{
    msgpack_pack_bin (packer, size);
    msgpack_pack_bin_body (packer, data, size);
}

//  Append packed payload bytes as the value of a key (payload is one object).
static void
s_pack_payload (msgpack_packer *packer, zcq_msg_t *self, bool empty_map)
{
    if (self->data_size) {
        msgpack_sbuffer_write (packer->data, (const char *) self->data, self->data_size);
    }
    else if (empty_map) {
        msgpack_pack_map (packer, 0);
    }
    else {
        msgpack_pack_nil (packer);
    }
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
    if (self->data_size > ZCQ_MAX_DATA && self->type != ZCQ_MSG_RESULT) {
        zcq_msg_set_error (self, ZCQ_TOO_LARGE, "data is %zu bytes, limit is %d",
                           self->data_size, ZCQ_MAX_DATA);
    }
    if (self->type == ZCQ_MSG_COMMAND && self->id_size != ZCQ_COMMAND_ID) {
        zcq_msg_set_error (self, ZCQ_INVALID, "a COMMAND needs a %d-byte id", ZCQ_COMMAND_ID);
    }
    if (self->type == ZCQ_MSG_EVENT) {
        s_check_text (self, "user id", self->user, ZCQ_MAX_USER);
    }
    s_check_text (self, "correlation id", self->correlation, ZCQ_MAX_TEXT);
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
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    const char *reason = self->reason ? self->reason : "";
    const char *correlation = self->correlation ? self->correlation : "";
    const char *user = self->user ? self->user : "";

    switch (self->type) {
        case ZCQ_MSG_COMMAND:
            msgpack_pack_map (&packer, 5 + (*correlation != 0));
            s_pack_key (&packer, "id");
            s_pack_bin (&packer, self->id, self->id_size);
            s_pack_key (&packer, "type");
            s_pack_str (&packer, self->name ? self->name : "");
            s_pack_key (&packer, "stream");
            s_pack_str (&packer, self->stream ? self->stream : "");
            s_pack_key (&packer, "expect");
            if (self->expect == ZCQ_EXPECT_ANY) {
                msgpack_pack_nil (&packer);
            }
            else {
                msgpack_pack_int64 (&packer, self->expect);
            }
            s_pack_key (&packer, "data");
            s_pack_payload (&packer, self, true);
            if (*correlation) {
                s_pack_key (&packer, "correlation");
                s_pack_str (&packer, correlation);
            }
            break;
        case ZCQ_MSG_REPLY:
            msgpack_pack_map (&packer, 6 + (self->retry_after > 0));
            s_pack_key (&packer, "id");
            if (self->id_size) {
                s_pack_bin (&packer, self->id, self->id_size);
            }
            else {
                msgpack_pack_nil (&packer);
            }
            s_pack_key (&packer, "status");
            s_pack_str (&packer, zcq_status_name (self->status));
            s_pack_key (&packer, "reason");
            s_pack_str (&packer, reason);
            s_pack_key (&packer, "version");
            msgpack_pack_uint64 (&packer, self->version);
            s_pack_key (&packer, "position");
            msgpack_pack_uint64 (&packer, self->position);
            s_pack_key (&packer, "count");
            msgpack_pack_uint32 (&packer, self->count);
            if (self->retry_after) {
                s_pack_key (&packer, "retry_after");
                msgpack_pack_uint32 (&packer, self->retry_after);
            }
            break;
        case ZCQ_MSG_EVENT:
            msgpack_pack_map (&packer, 6);
            s_pack_key (&packer, "position");
            msgpack_pack_uint64 (&packer, self->position);
            s_pack_key (&packer, "stream");
            s_pack_str (&packer, self->stream ? self->stream : "");
            s_pack_key (&packer, "version");
            msgpack_pack_uint64 (&packer, self->version);
            s_pack_key (&packer, "type");
            s_pack_str (&packer, self->name ? self->name : "");
            s_pack_key (&packer, "data");
            s_pack_payload (&packer, self, true);
            s_pack_key (&packer, "meta");
            msgpack_pack_map (&packer, 2 + (*correlation != 0) + (*user != 0));
            s_pack_key (&packer, "command");
            if (self->id_size) {
                s_pack_bin (&packer, self->id, self->id_size);
            }
            else {
                msgpack_pack_nil (&packer);
            }
            s_pack_key (&packer, "time");
            msgpack_pack_int64 (&packer, self->time);
            if (*correlation) {
                s_pack_key (&packer, "correlation");
                s_pack_str (&packer, correlation);
            }
            if (*user) {
                s_pack_key (&packer, "user");
                s_pack_str (&packer, user);
            }
            break;
        case ZCQ_MSG_HEARTBEAT:
            msgpack_pack_map (&packer, 3);
            s_pack_key (&packer, "head");
            msgpack_pack_uint64 (&packer, self->head);
            s_pack_key (&packer, "time");
            msgpack_pack_int64 (&packer, self->time);
            s_pack_key (&packer, "interval");
            msgpack_pack_uint32 (&packer, self->interval);
            break;
        case ZCQ_MSG_REPLAY:
            msgpack_pack_map (&packer, 2 + (self->id_size > 0));
            if (self->id_size) {
                s_pack_key (&packer, "id");
                s_pack_bin (&packer, self->id, self->id_size);
            }
            s_pack_key (&packer, "from");
            msgpack_pack_uint64 (&packer, self->from);
            s_pack_key (&packer, "max");
            msgpack_pack_uint32 (&packer, self->max ? self->max : ZCQ_MAX_EVENTS);
            break;
        case ZCQ_MSG_EVENTS:
            msgpack_pack_map (&packer, 3 + (self->id_size > 0));
            if (self->id_size) {
                s_pack_key (&packer, "id");
                s_pack_bin (&packer, self->id, self->id_size);
            }
            s_pack_key (&packer, "from");
            msgpack_pack_uint64 (&packer, self->from);
            s_pack_key (&packer, "head");
            msgpack_pack_uint64 (&packer, self->head);
            s_pack_key (&packer, "count");
            msgpack_pack_uint64 (&packer, zcq_msg_event_count (self));
            break;
        case ZCQ_MSG_QUERY:
            msgpack_pack_map (&packer, 3 + (self->id_size > 0) + (self->timeout > 0));
            if (self->id_size) {
                s_pack_key (&packer, "id");
                s_pack_bin (&packer, self->id, self->id_size);
            }
            s_pack_key (&packer, "name");
            s_pack_str (&packer, self->name ? self->name : "");
            s_pack_key (&packer, "params");
            s_pack_payload (&packer, self, true);
            s_pack_key (&packer, "min_position");
            msgpack_pack_uint64 (&packer, self->min_position);
            if (self->timeout) {
                s_pack_key (&packer, "timeout");
                msgpack_pack_uint32 (&packer, self->timeout);
            }
            break;
        case ZCQ_MSG_RESULT:
            //  may_be_stale is sent only when true: v1 peers that predate it
            //  see the same five keys as before
            msgpack_pack_map (&packer, 5 + self->may_be_stale);
            s_pack_key (&packer, "id");
            if (self->id_size) {
                s_pack_bin (&packer, self->id, self->id_size);
            }
            else {
                msgpack_pack_nil (&packer);
            }
            s_pack_key (&packer, "status");
            s_pack_str (&packer, zcq_status_name (self->status));
            s_pack_key (&packer, "reason");
            s_pack_str (&packer, reason);
            s_pack_key (&packer, "position");
            msgpack_pack_uint64 (&packer, self->position);
            s_pack_key (&packer, "result");
            s_pack_payload (&packer, self, false);
            if (self->may_be_stale) {
                s_pack_key (&packer, "may_be_stale");
                msgpack_pack_true (&packer);
            }
            break;
        case ZCQ_MSG_ERROR:
            msgpack_pack_map (&packer, 2 + (self->id_size > 0));
            if (self->id_size) {
                s_pack_key (&packer, "id");
                s_pack_bin (&packer, self->id, self->id_size);
            }
            s_pack_key (&packer, "status");
            s_pack_str (&packer, zcq_status_name (self->status));
            s_pack_key (&packer, "reason");
            s_pack_str (&packer, reason);
            break;
        default:
            zcq_msg_set_error (self, ZCQ_UNKNOWN_TYPE, "cannot encode message type %d",
                               (int) self->type);
            return -1;
    }
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
            zmsg_addmem (zmsg, zframe_data (self->events [index]),
                         zframe_size (self->events [index]));
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
    if (self->routing_id) {
        rc = s_send_frame (handle, zframe_data (self->routing_id),
                           zframe_size (self->routing_id), true);
    }
    if (rc == 0 && self->delimiter) {
        rc = s_send_frame (handle, NULL, 0, true);
    }
    if (rc == 0) {
        const char *name = zcq_msg_type_name (self->type);
        s_send_frame (handle, ZCQ_SIGNATURE, strlen (ZCQ_SIGNATURE), true);
        s_send_frame (handle, name, strlen (name), true);
        rc = s_send_frame (handle, body->data, body->size, self->event_count > 0);
        for (size_t index = 0; rc == 0 && index < self->event_count; index++) {
            rc = s_send_frame (handle, zframe_data (self->events [index]),
                               zframe_size (self->events [index]),
                               index + 1 < self->event_count);
        }
    }
    return rc;
}

int
zcq_msg_send_event_body (zsock_t *sock, const void *body, size_t size)
{
    assert (sock);
    void *handle = zsock_resolve (sock);
    if (s_send_frame (handle, ZCQ_SIGNATURE, strlen (ZCQ_SIGNATURE), true) != 0) {
        return -1;
    }
    s_send_frame (handle, "EVENT", 5, true);
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
            default:
                type = ZCQ_MSG_ERROR;
                break;
        }
    }
    zcq_msg_t *reply = zcq_msg_new (type);
    reply->status = status;
    if (request->routing_id) {
        reply->routing_id = zframe_dup (request->routing_id);
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

zframe_t *
zcq_msg_routing_id (zcq_msg_t *self)
{
    assert (self);
    return self->routing_id;
}

void
zcq_msg_set_routing_id (zcq_msg_t *self, zframe_t *routing_id)
{
    assert (self);
    zframe_destroy (&self->routing_id);
    self->routing_id = routing_id ? zframe_dup (routing_id) : NULL;
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
s_set_string (char **dest, const char *value)
{
    zstr_free (dest);
    *dest = value ? strdup (value) : NULL;
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
    s_set_string (&self->name, name);
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
    s_set_string (&self->stream, stream);
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
    free (self->data);
    self->data = NULL;
    self->data_size = 0;
    if (size) {
        self->data = (byte *) malloc (size);
        assert (self->data);
        memcpy (self->data, data, size);
        self->data_size = size;
    }
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
    zstr_free (&self->reason);
    self->reason = text;
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
    s_set_string (&self->correlation, correlation);
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
    s_set_string (&self->user, user);
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
    return index < self->event_count ? self->events [index] : NULL;
}

void
zcq_msg_add_event (zcq_msg_t *self, const void *body, size_t size)
{
    assert (self);
    if (self->event_count == self->event_alloc) {
        self->event_alloc = self->event_alloc ? self->event_alloc * 2 : 16;
        self->events =
            (zframe_t **) realloc (self->events, self->event_alloc * sizeof (zframe_t *));
        assert (self->events);
    }
    self->events [self->event_count++] = zframe_new (body, size);
}
