/*  =========================================================================
    test_msg - the ZCQ1 wire codec: every message type encoded and decoded
    back, every kind of garbage refused with a status and a reason that
    names what was wrong, messages over real ROUTER / DEALER / REQ sockets,
    and the text checks the codec relies on.

    Read it as the codec's usage example: build a message with
    zcq_msg_new and the setters, send it with zcq_msg_send (or turn it into
    frames with zcq_msg_encode), take one with zcq_msg_recv (or
    zcq_msg_decode), and always ask zcq_msg_valid before using it.
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define RECV_TIMEOUT 2000 //  ms any test waits for a message

//  --- Helpers ----------------------------------------------------------------

//  Fail, showing both texts, unless part occurs in text.
static void
s_assert_contains (const char *text, const char *part)
{
    if (!strstr (text, part)) {
        print_error ("'%s' does not contain '%s'\n", text, part);
        fail ();
    }
}

//  The command id most tests use: bytes 0x00 .. 0x0f.
static const byte s_command_id [ZCQ_COMMAND_ID] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

//  Frames of a message: signature, type name, body (and nothing else).
static zmsg_t *
s_frames (const char *signature, const char *type, const void *body, size_t size)
{
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, signature);
    zmsg_addstr (zmsg, type);
    zmsg_addmem (zmsg, body, size);
    return zmsg;
}

//  Encode a message into frames and decode those frames again.
static zcq_msg_t *
s_round_trip (zcq_msg_t *msg)
{
    zmsg_t *zmsg = zcq_msg_encode (msg);
    assert_non_null (zmsg);
    zcq_msg_t *copy = zcq_msg_decode (&zmsg);
    assert_null (zmsg);
    assert_non_null (copy);
    if (!zcq_msg_valid (copy)) {
        print_error ("round trip of %s failed: %s\n", zcq_msg_type_name (zcq_msg_type (msg)),
                     zcq_msg_error (copy));
        fail ();
    }
    assert_int_equal (zcq_msg_type (copy), zcq_msg_type (msg));
    return copy;
}

//  Expect msg to be refused with this status and a reason containing part;
//  destroys msg.
static void
s_expect_refused (zcq_msg_t *msg, zcq_status_t status, const char *part)
{
    assert_non_null (msg);
    assert_false (zcq_msg_valid (msg));
    if (zcq_msg_error_status (msg) != status) {
        print_error ("expected %s, got %s: %s\n", zcq_status_name (status),
                     zcq_status_name (zcq_msg_error_status (msg)), zcq_msg_error (msg));
        fail ();
    }
    s_assert_contains (zcq_msg_error (msg), part);
    zcq_msg_destroy (&msg);
}

//  --- Bodies built field by field -------------------------------------------
//
//  The garbage tests start from a valid body of each type and take one
//  field away or put a wrong value in its place. A field is a key and a
//  value from the list below.

//  Values a field can take: V_ the valid ones, W_ wrong ones; the last
//  three are sized by the test through s_id_size, s_text_* and s_blob_size.
typedef enum {
    V_NONE = 0,         //  nothing replaced
    V_COMMAND_ID,       //  the 16-byte s_command_id
    V_SHORT_ID,         //  a 4-byte request id
    V_DEPOSIT,          //  "Deposit"
    V_DEPOSITED,        //  "MoneyDeposited"
    V_STREAM,           //  "acct-1"
    V_ZERO,             //  0
    V_ONE,              //  1
    V_THREE,            //  3
    V_NINE,             //  9
    V_AMOUNT,           //  {"amount": 5}
    V_CORRELATION,      //  "order-7"
    V_ACCEPTED,         //  "accepted"
    V_OK,               //  "ok"
    V_INVALID,          //  "invalid"
    V_EMPTY_TEXT,       //  ""
    V_TIME,             //  a time in microseconds
    V_INTERVAL,         //  1000
    V_ACCOUNT,          //  "account"
    V_PARAMS,           //  {"id": "acct-1"}
    V_ARRAY,            //  [1, 2]
    V_META,             //  {"command": id, "time": t, "correlation": c}
    W_NIL,              //  nil
    W_TRUE,             //  true
    W_FLOAT,            //  2.5
    W_STRING,           //  "x"
    W_INTEGER,          //  7
    W_NEGATIVE,         //  -5
    W_ARRAY,            //  []
    W_MAP,              //  {}
    W_BINARY,           //  binary "ab"
    W_OVER_UINT32,      //  UINT32_MAX + 1
    W_OVER_INT64,       //  INT64_MAX + 1
    W_NO_STATUS,        //  "maybe"
    W_META_TIME,        //  {"time": "noon"}
    W_META_COMMAND,     //  {"command": "id"}
    W_META_CORRELATION, //  {"correlation": 1}
    W_SIZED_ID,         //  binary of s_id_size zero bytes
    W_TEXT,             //  string of s_text_size bytes from s_text_bytes
    W_BLOB_MAP,         //  {"blob": string of s_blob_size bytes}
} s_value_t;

static size_t s_id_size;         //  bytes of W_SIZED_ID
static const char *s_text_bytes; //  bytes of W_TEXT
static size_t s_text_size;       //  size of W_TEXT
static size_t s_blob_size;       //  bytes of the string in W_BLOB_MAP

typedef struct {
    const char *key; //  map key
    s_value_t value; //  its valid value
} s_field_t;

static void
s_pack_text (msgpack_packer *packer, const char *text)
{
    zcq_mpack_pack_str (packer, text);
}

static void
s_pack_value (msgpack_packer *packer, s_value_t value)
{
    switch (value) {
        case V_COMMAND_ID:
            msgpack_pack_bin (packer, ZCQ_COMMAND_ID);
            msgpack_pack_bin_body (packer, s_command_id, ZCQ_COMMAND_ID);
            break;
        case V_SHORT_ID:
            msgpack_pack_bin (packer, 4);
            msgpack_pack_bin_body (packer, "q-01", 4);
            break;
        case V_DEPOSIT:
            s_pack_text (packer, "Deposit");
            break;
        case V_DEPOSITED:
            s_pack_text (packer, "MoneyDeposited");
            break;
        case V_STREAM:
            s_pack_text (packer, "acct-1");
            break;
        case V_ZERO:
            msgpack_pack_uint64 (packer, 0);
            break;
        case V_ONE:
            msgpack_pack_uint64 (packer, 1);
            break;
        case V_THREE:
            msgpack_pack_uint64 (packer, 3);
            break;
        case V_NINE:
            msgpack_pack_uint64 (packer, 9);
            break;
        case V_AMOUNT:
            msgpack_pack_map (packer, 1);
            s_pack_text (packer, "amount");
            msgpack_pack_uint64 (packer, 5);
            break;
        case V_CORRELATION:
            s_pack_text (packer, "order-7");
            break;
        case V_ACCEPTED:
            s_pack_text (packer, "accepted");
            break;
        case V_OK:
            s_pack_text (packer, "ok");
            break;
        case V_INVALID:
            s_pack_text (packer, "invalid");
            break;
        case V_EMPTY_TEXT:
            s_pack_text (packer, "");
            break;
        case V_TIME:
            msgpack_pack_int64 (packer, 1700000000000000);
            break;
        case V_INTERVAL:
            msgpack_pack_uint32 (packer, 1000);
            break;
        case V_ACCOUNT:
            s_pack_text (packer, "account");
            break;
        case V_PARAMS:
            msgpack_pack_map (packer, 1);
            s_pack_text (packer, "id");
            s_pack_text (packer, "acct-1");
            break;
        case V_ARRAY:
            msgpack_pack_array (packer, 2);
            msgpack_pack_uint64 (packer, 1);
            msgpack_pack_uint64 (packer, 2);
            break;
        case V_META:
            msgpack_pack_map (packer, 3);
            s_pack_text (packer, "command");
            s_pack_value (packer, V_COMMAND_ID);
            s_pack_text (packer, "time");
            s_pack_value (packer, V_TIME);
            s_pack_text (packer, "correlation");
            s_pack_value (packer, V_CORRELATION);
            break;
        case W_NIL:
            msgpack_pack_nil (packer);
            break;
        case W_TRUE:
            msgpack_pack_true (packer);
            break;
        case W_FLOAT:
            msgpack_pack_double (packer, 2.5);
            break;
        case W_STRING:
            s_pack_text (packer, "x");
            break;
        case W_INTEGER:
            msgpack_pack_uint64 (packer, 7);
            break;
        case W_NEGATIVE:
            msgpack_pack_int64 (packer, -5);
            break;
        case W_ARRAY:
            msgpack_pack_array (packer, 0);
            break;
        case W_MAP:
            msgpack_pack_map (packer, 0);
            break;
        case W_BINARY:
            msgpack_pack_bin (packer, 2);
            msgpack_pack_bin_body (packer, "ab", 2);
            break;
        case W_OVER_UINT32:
            msgpack_pack_uint64 (packer, (uint64_t) UINT32_MAX + 1);
            break;
        case W_OVER_INT64:
            msgpack_pack_uint64 (packer, (uint64_t) INT64_MAX + 1);
            break;
        case W_NO_STATUS:
            s_pack_text (packer, "maybe");
            break;
        case W_META_TIME:
            msgpack_pack_map (packer, 1);
            s_pack_text (packer, "time");
            s_pack_text (packer, "noon");
            break;
        case W_META_COMMAND:
            msgpack_pack_map (packer, 1);
            s_pack_text (packer, "command");
            s_pack_text (packer, "id");
            break;
        case W_META_CORRELATION:
            msgpack_pack_map (packer, 1);
            s_pack_text (packer, "correlation");
            msgpack_pack_uint64 (packer, 1);
            break;
        case W_SIZED_ID: {
            byte id [ZCQ_MAX_ID + 1] = {0};
            assert_true (s_id_size <= sizeof id);
            msgpack_pack_bin (packer, s_id_size);
            msgpack_pack_bin_body (packer, id, s_id_size);
            break;
        }
        case W_TEXT:
            msgpack_pack_str (packer, s_text_size);
            msgpack_pack_str_body (packer, s_text_bytes, s_text_size);
            break;
        case W_BLOB_MAP: {
            char *blob = (char *) malloc (s_blob_size);
            assert_non_null (blob);
            memset (blob, 'x', s_blob_size);
            msgpack_pack_map (packer, 1);
            s_pack_text (packer, "blob");
            msgpack_pack_str (packer, s_blob_size);
            msgpack_pack_str_body (packer, blob, s_blob_size);
            free (blob);
            break;
        }
        case V_NONE:
            fail ();
            break;
    }
}

//  A valid body of each type, every field set, in the encoder's key order.
static const s_field_t s_command_body [] = {
    {"id", V_COMMAND_ID}, {"type", V_DEPOSIT}, {"stream", V_STREAM},
    {"expect", V_THREE},  {"data", V_AMOUNT},  {"correlation", V_CORRELATION},
    {NULL, V_NONE},
};
static const s_field_t s_reply_body [] = {
    {"id", V_COMMAND_ID}, {"status", V_ACCEPTED}, {"reason", V_EMPTY_TEXT},
    {"version", V_THREE}, {"position", V_NINE},   {"count", V_ONE},
    {NULL, V_NONE},
};
static const s_field_t s_event_body [] = {
    {"position", V_NINE}, {"stream", V_STREAM}, {"version", V_THREE}, {"type", V_DEPOSITED},
    {"data", V_AMOUNT},   {"meta", V_META},     {NULL, V_NONE},
};
static const s_field_t s_heartbeat_body [] = {
    {"head", V_NINE},
    {"time", V_TIME},
    {"interval", V_INTERVAL},
    {NULL, V_NONE},
};
static const s_field_t s_replay_body [] = {
    {"id", V_SHORT_ID},
    {"from", V_ONE},
    {"max", V_THREE},
    {NULL, V_NONE},
};
static const s_field_t s_events_body [] = {
    {"id", V_SHORT_ID}, {"from", V_ONE}, {"head", V_NINE}, {"count", V_ZERO}, {NULL, V_NONE},
};
static const s_field_t s_query_body [] = {
    {"id", V_SHORT_ID},       {"name", V_ACCOUNT},     {"params", V_PARAMS},
    {"min_position", V_NINE}, {"timeout", V_INTERVAL}, {NULL, V_NONE},
};
static const s_field_t s_result_body [] = {
    {"id", V_SHORT_ID},   {"status", V_OK},    {"reason", V_EMPTY_TEXT},
    {"position", V_NINE}, {"result", V_ARRAY}, {NULL, V_NONE},
};
static const s_field_t s_error_body [] = {
    {"id", V_SHORT_ID},
    {"status", V_INVALID},
    {"reason", V_CORRELATION},
    {NULL, V_NONE},
};
static const s_field_t s_watch_body [] = {
    {"id", V_SHORT_ID},
    {"name", V_ACCOUNT},
    {"params", V_PARAMS},
    {NULL, V_NONE},
};
static const s_field_t s_update_body [] = {
    {"id", V_SHORT_ID},   {"seq", V_THREE},    {"status", V_OK},      {"reason", V_EMPTY_TEXT},
    {"position", V_NINE}, {"result", V_ARRAY}, {"lease", V_INTERVAL}, {NULL, V_NONE},
};
static const s_field_t s_ack_body [] = {
    {"id", V_SHORT_ID},
    {"seq", V_THREE},
    {NULL, V_NONE},
};
static const s_field_t s_unwatch_body [] = {
    {"id", V_SHORT_ID},
    {NULL, V_NONE},
};

static const s_field_t *
s_body_of (zcq_msg_type_t type)
{
    switch (type) {
        case ZCQ_MSG_COMMAND:
            return s_command_body;
        case ZCQ_MSG_REPLY:
            return s_reply_body;
        case ZCQ_MSG_EVENT:
            return s_event_body;
        case ZCQ_MSG_HEARTBEAT:
            return s_heartbeat_body;
        case ZCQ_MSG_REPLAY:
            return s_replay_body;
        case ZCQ_MSG_EVENTS:
            return s_events_body;
        case ZCQ_MSG_QUERY:
            return s_query_body;
        case ZCQ_MSG_RESULT:
            return s_result_body;
        case ZCQ_MSG_ERROR:
            return s_error_body;
        case ZCQ_MSG_WATCH:
            return s_watch_body;
        case ZCQ_MSG_UPDATE:
            return s_update_body;
        case ZCQ_MSG_ACK:
            return s_ack_body;
        case ZCQ_MSG_UNWATCH:
            return s_unwatch_body;
        default:
            return NULL;
    }
}

//  Pack the valid body of a type, leaving out the field `skip` and packing
//  `with` as the value of the field `replace` (either may be NULL). The
//  caller frees the buffer with msgpack_sbuffer_free.
static msgpack_sbuffer *
s_body (zcq_msg_type_t type, const char *skip, const char *replace, s_value_t with)
{
    const s_field_t *fields = s_body_of (type);
    assert_non_null (fields);
    size_t count = 0;
    for (const s_field_t *field = fields; field->key; field++) {
        count += !(skip && streq (field->key, skip));
    }
    msgpack_sbuffer *buffer = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, count);
    for (const s_field_t *field = fields; field->key; field++) {
        if (skip && streq (field->key, skip)) {
            continue;
        }
        s_pack_text (&packer, field->key);
        if (replace && streq (field->key, replace)) {
            s_pack_value (&packer, with);
        }
        else {
            s_pack_value (&packer, field->value);
        }
    }
    return buffer;
}

//  Decode a body built by s_body as a message of type.
static zcq_msg_t *
s_decode_body (zcq_msg_type_t type, const char *skip, const char *replace, s_value_t with)
{
    msgpack_sbuffer *buffer = s_body (type, skip, replace, with);
    zcq_msg_t *msg = zcq_msg_decode_body (type, buffer->data, buffer->size);
    msgpack_sbuffer_free (buffer);
    return msg;
}

//  --- Names ------------------------------------------------------------------

static void
test_type_names_both_ways (void **state)
{
    (void) state;
    static const char *names [] = {
        NULL,    "COMMAND", "REPLY", "EVENT", "HEARTBEAT", "REPLAY", "EVENTS",
        "QUERY", "RESULT",  "ERROR", "WATCH", "UPDATE",    "ACK",    "UNWATCH",
    };
    for (int type = ZCQ_MSG_COMMAND; type < ZCQ_MSG_TYPES; type++) {
        assert_string_equal (zcq_msg_type_name ((zcq_msg_type_t) type), names [type]);
        assert_int_equal (zcq_msg_type_from_name (names [type], strlen (names [type])), type);
    }
    //  Names are exact: case, length and the frame size all count
    assert_int_equal (zcq_msg_type_from_name ("command", 7), ZCQ_MSG_UNKNOWN);
    assert_int_equal (zcq_msg_type_from_name ("COMMANDS", 8), ZCQ_MSG_UNKNOWN);
    assert_int_equal (zcq_msg_type_from_name ("COMMAND", 6), ZCQ_MSG_UNKNOWN);
    assert_int_equal (zcq_msg_type_from_name ("EVENTS", 5), ZCQ_MSG_EVENT);
    assert_int_equal (zcq_msg_type_from_name ("", 0), ZCQ_MSG_UNKNOWN);
    assert_int_equal (zcq_msg_type_from_name ("UNKNOWN", 7), ZCQ_MSG_UNKNOWN);
    //  A name's bytes after a zero byte still count
    assert_int_equal (zcq_msg_type_from_name ("REPLY\0", 6), ZCQ_MSG_UNKNOWN);
    assert_int_equal (zcq_msg_type_from_name ("REP\0Y", 5), ZCQ_MSG_UNKNOWN);
    assert_string_equal (zcq_msg_type_name (ZCQ_MSG_UNKNOWN), "UNKNOWN");
    assert_string_equal (zcq_msg_type_name (ZCQ_MSG_TYPES), "UNKNOWN");
    assert_string_equal (zcq_msg_type_name ((zcq_msg_type_t) 99), "UNKNOWN");
}

static void
test_status_names_both_ways_and_retryable (void **state)
{
    (void) state;
    static const struct {
        zcq_status_t status;
        const char *name;
        bool retryable;
    } table [] = {
        {ZCQ_OK, "ok", false},
        {ZCQ_ACCEPTED, "accepted", false},
        {ZCQ_REJECTED, "rejected", false},
        {ZCQ_CONFLICT, "conflict", false},
        {ZCQ_INVALID, "invalid", false},
        {ZCQ_UNKNOWN_TYPE, "unknown", false},
        {ZCQ_TOO_LARGE, "too_large", false},
        {ZCQ_BAD_VERSION, "bad_version", false},
        {ZCQ_NOT_FOUND, "not_found", false},
        {ZCQ_STALE, "stale", true},
        {ZCQ_UNAVAILABLE, "unavailable", true},
        {ZCQ_BUSY, "busy", true},
        {ZCQ_FORBIDDEN, "forbidden", false},
        {ZCQ_NOT_LEADER, "not_leader", true},
    };
    assert_int_equal (sizeof table / sizeof table [0], ZCQ_STATUSES);
    for (size_t index = 0; index < sizeof table / sizeof table [0]; index++) {
        assert_string_equal (zcq_status_name (table [index].status), table [index].name);
        assert_int_equal (
            zcq_status_from_name (table [index].name, strlen (table [index].name)),
            table [index].status);
        assert_int_equal (zcq_status_retryable (table [index].status), table [index].retryable);
    }
    assert_int_equal (zcq_status_from_name ("OK", 2), -1);
    assert_int_equal (zcq_status_from_name ("accepte", 7), -1);
    assert_int_equal (zcq_status_from_name ("ok\0", 3), -1);
    assert_int_equal (zcq_status_from_name ("o\0", 2), -1);
    assert_int_equal (zcq_status_from_name ("unknown_status", 14), -1);
    assert_int_equal (zcq_status_from_name ("", 0), -1);
    assert_string_equal (zcq_status_name (ZCQ_STATUSES), "unknown_status");
    assert_string_equal (zcq_status_name ((zcq_status_t) -1), "unknown_status");
    assert_false (zcq_status_retryable (ZCQ_STATUSES));
    assert_false (zcq_status_retryable ((zcq_status_t) -1));
}

//  --- Round trips ------------------------------------------------------------

static void
test_command_round_trip (void **state)
{
    (void) state;
    msgpack_sbuffer *data = zcq_testkit_map ("amount=250", NULL);
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, "acct-1");
    zcq_msg_set_expect (command, 7);
    zcq_msg_set_data (command, data->data, data->size);
    zcq_msg_set_correlation (command, "order-7");

    zcq_msg_t *copy = s_round_trip (command);
    assert_int_equal (zcq_msg_id_size (copy), ZCQ_COMMAND_ID);
    assert_memory_equal (zcq_msg_id (copy), s_command_id, ZCQ_COMMAND_ID);
    assert_string_equal (zcq_msg_name (copy), "Deposit");
    assert_string_equal (zcq_msg_stream (copy), "acct-1");
    assert_int_equal (zcq_msg_expect (copy), 7);
    assert_int_equal (zcq_msg_data_size (copy), data->size);
    assert_memory_equal (zcq_msg_data (copy), data->data, data->size);
    assert_int_equal (zcq_testkit_int (zcq_msg_data (copy), zcq_msg_data_size (copy), "amount"),
                      250);
    assert_string_equal (zcq_msg_correlation (copy), "order-7");
    assert_null (zcq_msg_routing_id (copy));
    assert_string_equal (zcq_msg_error (copy), "");
    assert_int_equal (zcq_msg_error_status (copy), ZCQ_OK);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&command);
    assert_null (command);
    zcq_msg_destroy (&command); //  safe twice
    msgpack_sbuffer_free (data);
}

static void
test_command_expect_any_zero_and_n (void **state)
{
    (void) state;
    //  A new message expects any version; a negative setting means any too
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    assert_int_equal (zcq_msg_expect (command), ZCQ_EXPECT_ANY);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (command, "OpenAccount");
    zcq_msg_set_stream (command, "acct-1");

    //  Any: packed as nil; no data: an empty map
    zcq_msg_t *copy = s_round_trip (command);
    assert_int_equal (zcq_msg_expect (copy), ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_data_size (copy), 1);
    assert_memory_equal (zcq_msg_data (copy), "\x80", 1);
    assert_string_equal (zcq_msg_correlation (copy), "");
    zcq_msg_destroy (&copy);

    //  0: the stream must not exist yet
    zcq_msg_set_expect (command, 0);
    copy = s_round_trip (command);
    assert_int_equal (zcq_msg_expect (copy), 0);
    zcq_msg_destroy (&copy);

    zcq_msg_set_expect (command, INT64_MAX);
    copy = s_round_trip (command);
    assert_true (zcq_msg_expect (copy) == INT64_MAX);
    zcq_msg_destroy (&copy);

    zcq_msg_set_expect (command, -42);
    assert_int_equal (zcq_msg_expect (command), ZCQ_EXPECT_ANY);
    zcq_msg_destroy (&command);

    //  An absent "expect" decodes as any, too
    copy = s_decode_body (ZCQ_MSG_COMMAND, "expect", NULL, V_NONE);
    assert_true (zcq_msg_valid (copy));
    assert_int_equal (zcq_msg_expect (copy), ZCQ_EXPECT_ANY);
    zcq_msg_destroy (&copy);
}

static void
test_command_body_bytes (void **state)
{
    (void) state;
    //  The worked example of protocol/zcqrs-v1.md, byte for byte
    static const char *expected =
        "85a26964c410000102030405060708090a0b0c0d0e0fa474797065ab4f70656e4163636f756e74"
        "a673747265616da6616363742d31a665787065637400a46461746181a56f776e6572a5616c696365";
    msgpack_sbuffer *data = zcq_testkit_map ("owner=alice", NULL);
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (command, "OpenAccount");
    zcq_msg_set_stream (command, "acct-1");
    zcq_msg_set_expect (command, 0);
    zcq_msg_set_data (command, data->data, data->size);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (zcq_msg_encode_body (command, &buffer), 0);
    char hex [256] = "";
    assert_true (buffer.size * 2 < sizeof hex);
    for (size_t index = 0; index < buffer.size; index++) {
        snprintf (hex + index * 2, 3, "%02x", (byte) buffer.data [index]);
    }
    assert_string_equal (hex, expected);

    //  ... and its REPLY
    static const char *reply_expected =
        "86a26964c410000102030405060708090a0b0c0d0e0fa6737461747573a86163636570746564"
        "a6726561736f6ea0a776657273696f6e01a8706f736974696f6e01a5636f756e7401";
    zcq_msg_t *reply = zcq_msg_reply_to (command, ZCQ_ACCEPTED);
    zcq_msg_set_version (reply, 1);
    zcq_msg_set_position (reply, 1);
    zcq_msg_set_count (reply, 1);
    msgpack_sbuffer_clear (&buffer);
    assert_int_equal (zcq_msg_encode_body (reply, &buffer), 0);
    for (size_t index = 0; index < buffer.size; index++) {
        snprintf (hex + index * 2, 3, "%02x", (byte) buffer.data [index]);
    }
    assert_string_equal (hex, reply_expected);
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&command);
    msgpack_sbuffer_free (data);
}

static void
test_reply_round_trip (void **state)
{
    (void) state;
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
    zcq_msg_set_id (reply, s_command_id, sizeof s_command_id);
    zcq_msg_set_status (reply, ZCQ_REJECTED);
    zcq_msg_set_reason (reply, "insufficient funds: balance %d, withdrawal %d", 500, 5000);
    zcq_msg_set_version (reply, 12);
    zcq_msg_set_position (reply, (uint64_t) 1 << 40);
    zcq_msg_set_count (reply, UINT32_MAX);

    zcq_msg_t *copy = s_round_trip (reply);
    assert_memory_equal (zcq_msg_id (copy), s_command_id, ZCQ_COMMAND_ID);
    assert_int_equal (zcq_msg_status (copy), ZCQ_REJECTED);
    assert_string_equal (zcq_msg_reason (copy),
                         "insufficient funds: balance 500, withdrawal 5000");
    assert_int_equal (zcq_msg_version (copy), 12);
    assert_true (zcq_msg_position (copy) == (uint64_t) 1 << 40);
    assert_true (zcq_msg_count (copy) == UINT32_MAX);
    zcq_msg_destroy (&copy);

    //  A reply to a request whose id could not be read carries nil
    zcq_msg_set_id (reply, NULL, 0);
    copy = s_round_trip (reply);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&reply);
}

//  Pack a complete EVENT body for position (and version) n.
static void
s_pack_event (uint64_t position, msgpack_sbuffer *buffer)
{
    msgpack_sbuffer *data = zcq_testkit_map ("amount=5", NULL);
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, position);
    zcq_msg_set_stream (event, "acct-1");
    zcq_msg_set_version (event, position);
    zcq_msg_set_name (event, "MoneyDeposited");
    zcq_msg_set_data (event, data->data, data->size);
    zcq_msg_set_id (event, s_command_id, sizeof s_command_id);
    zcq_msg_set_time (event, 1700000000000000);
    msgpack_sbuffer_clear (buffer);
    assert_int_equal (zcq_msg_encode_body (event, buffer), 0);
    zcq_msg_destroy (&event);
    msgpack_sbuffer_free (data);
}

static void
test_event_round_trip (void **state)
{
    (void) state;
    msgpack_sbuffer *data = zcq_testkit_map ("amount=5", "note=hello", NULL);
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, 41);
    zcq_msg_set_stream (event, "acct-1");
    zcq_msg_set_version (event, 3);
    zcq_msg_set_name (event, "MoneyDeposited");
    zcq_msg_set_data (event, data->data, data->size);
    zcq_msg_set_id (event, s_command_id, sizeof s_command_id);
    zcq_msg_set_correlation (event, "order-7");
    zcq_msg_set_time (event, -1); //  signed: before the epoch is representable

    zcq_msg_t *copy = s_round_trip (event);
    assert_int_equal (zcq_msg_position (copy), 41);
    assert_string_equal (zcq_msg_stream (copy), "acct-1");
    assert_int_equal (zcq_msg_version (copy), 3);
    assert_string_equal (zcq_msg_name (copy), "MoneyDeposited");
    assert_int_equal (zcq_msg_data_size (copy), data->size);
    assert_memory_equal (zcq_msg_data (copy), data->data, data->size);
    //  meta: the command id, the correlation id, the time
    assert_int_equal (zcq_msg_id_size (copy), ZCQ_COMMAND_ID);
    assert_memory_equal (zcq_msg_id (copy), s_command_id, ZCQ_COMMAND_ID);
    assert_string_equal (zcq_msg_correlation (copy), "order-7");
    assert_int_equal (zcq_msg_time (copy), -1);
    zcq_msg_destroy (&copy);

    //  Without a command id or correlation: meta.command is nil
    zcq_msg_set_id (event, NULL, 0);
    zcq_msg_set_correlation (event, NULL);
    zcq_msg_set_time (event, 1700000000000000);
    copy = s_round_trip (event);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    assert_string_equal (zcq_msg_correlation (copy), "");
    assert_true (zcq_msg_time (copy) == 1700000000000000);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&event);
    msgpack_sbuffer_free (data);
}

//  meta.user: who caused the event, kept through encode and decode; absent
//  from the body when empty; refused over its limit or with control bytes
static void
test_event_user (void **state)
{
    (void) state;
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, 1);
    zcq_msg_set_stream (event, "acct-1");
    zcq_msg_set_version (event, 1);
    zcq_msg_set_name (event, "AccountOpened");
    zcq_msg_set_data (event, "\x80", 1);
    assert_string_equal (zcq_msg_user (event), "");
    zcq_msg_t *copy = s_round_trip (event);
    assert_string_equal (zcq_msg_user (copy), "");
    assert_null (zcq_msg_roles (copy));
    zcq_msg_destroy (&copy);

    zcq_msg_set_user (event, "alice");
    copy = s_round_trip (event);
    assert_string_equal (zcq_msg_user (copy), "alice");
    zcq_msg_destroy (&copy);
    msgpack_sbuffer *buffer = msgpack_sbuffer_new ();
    assert_int_equal (zcq_msg_encode_body (event, buffer), 0);
    assert_non_null (memmem (buffer->data, buffer->size,
                             "\xa4user\xa5"
                             "alice",
                             11));
    msgpack_sbuffer_free (buffer);

    //  A user id on another type is not encoded (only EVENT carries it)
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
    zcq_msg_set_user (reply, "alice");
    buffer = msgpack_sbuffer_new ();
    assert_int_equal (zcq_msg_encode_body (reply, buffer), 0);
    assert_null (memmem (buffer->data, buffer->size, "alice", 5));
    msgpack_sbuffer_free (buffer);
    zcq_msg_destroy (&reply);

    char big [ZCQ_MAX_USER + 2];
    memset (big, 'u', sizeof big - 1);
    big [sizeof big - 1] = 0;
    zcq_msg_set_user (event, big);
    buffer = msgpack_sbuffer_new ();
    assert_int_equal (zcq_msg_encode_body (event, buffer), -1);
    s_assert_contains (zcq_msg_error (event), "user id is 129 bytes, limit is 128");
    msgpack_sbuffer_free (buffer);
    zcq_msg_destroy (&event);

    //  The decoder checks meta.user like any string
    const char bad [] = "\x86\xa8position\x01\xa6stream\xa1s\xa7version\x01\xa4type\xa1t"
                        "\xa4"
                        "data\x80\xa4meta\x81\xa4user\x01";
    zcq_msg_t *decoded = zcq_msg_decode_body (ZCQ_MSG_EVENT, bad, sizeof bad - 1);
    assert_false (zcq_msg_valid (decoded));
    assert_string_equal (zcq_msg_error (decoded),
                         "field 'meta.user' must be a string, got integer");
    zcq_msg_destroy (&decoded);
}

//  An answer to a peer that is gone fails (ROUTER_MANDATORY) and frees what
//  it encoded: under LeakSanitizer (the ASan build) a leak fails this test
//  --- The topic of a stored EVENT, from its body ----------------------------

static uint32_t s_seed = 20261204;

static uint32_t
s_random (uint32_t below)
{
    s_seed = s_seed * 1103515245u + 12345u;
    return (s_seed >> 8) % below;
}

//  A name of 1 to max bytes: ASCII, '-' (the category's end), and 2-, 3-
//  and 4-byte UTF-8.
static void
s_random_name (char *name, size_t max)
{
    static const char *const pieces [] = {"a",
                                          "Z",
                                          "7",
                                          "-",
                                          "_",
                                          ".",
                                          " ",
                                          "\xc3\xa9",
                                          "\xd0\xb6",
                                          "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80"};
    size_t target = 1 + s_random ((uint32_t) max);
    size_t length = 0;
    while (length < target) {
        const char *piece = pieces [s_random (sizeof (pieces) / sizeof (pieces [0]))];
        size_t size = strlen (piece);
        if (length + size > max) {
            if (length) {
                break;
            }
            continue;
        }
        memcpy (name + length, piece, size);
        length += size;
    }
    name [length] = 0;
}

static void s_random_map (msgpack_packer *packer, int depth);

//  Any object an event's data may hold, nested up to depth 3.
static void
s_random_object (msgpack_packer *packer, int depth)
{
    char text [64];
    switch (s_random (depth > 2 ? 7 : 9)) {
        case 0:
            msgpack_pack_nil (packer);
            break;
        case 1:
            msgpack_pack_true (packer);
            break;
        case 2:
            msgpack_pack_int64 (packer, (int64_t) s_random (1u << 30) - (1 << 29));
            break;
        case 3:
            msgpack_pack_uint64 (packer, (uint64_t) s_random (1u << 30) << 20);
            break;
        case 4:
            msgpack_pack_double (packer, s_random (1000) / 7.0);
            break;
        case 5:
            s_random_name (text, 60);
            zcq_mpack_pack_str (packer, text);
            break;
        case 6:
            msgpack_pack_bin (packer, 3);
            msgpack_pack_bin_body (packer, "\0\1\2", 3);
            break;
        case 7:
            msgpack_pack_array (packer, 3);
            for (int index = 0; index < 3; index++) {
                s_random_object (packer, depth + 1);
            }
            break;
        default:
            s_random_map (packer, depth + 1);
            break;
    }
}

//  A map of up to 4 keys; its first two are "stream" and "type", which
//  are not the event's.
static void
s_random_map (msgpack_packer *packer, int depth)
{
    uint32_t count = s_random (5);
    msgpack_pack_map (packer, count);
    for (uint32_t index = 0; index < count; index++) {
        char key [16];
        snprintf (key, sizeof (key), "k%u", index);
        zcq_mpack_pack_str (packer, index == 0 ? "stream" : index == 1 ? "type" : key);
        s_random_object (packer, depth);
    }
}

//  Both functions agree on body: the same topic, or both refuse it.
//  Returns whether the decoder took it.
static bool
s_topics_agree (const void *body, size_t size)
{
    zcq_msg_t *decoded = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    byte want [ZCQ_MAX_TOPIC], got [ZCQ_MAX_TOPIC];
    bool valid = zcq_msg_valid (decoded);
    size_t want_size = valid ? zcq_msg_topic (decoded, want) : 0;
    size_t got_size = zcq_msg_event_topic (body, size, got);
    if (valid) {
        assert_int_not_equal (want_size, 0);
    }
    if (got_size != want_size || memcmp (got, want, want_size) != 0) {
        fail_msg ("topics of %zu bytes and %zu bytes (decoder: %s)", got_size, want_size,
                  valid ? "ok" : zcq_msg_error (decoded));
    }
    zcq_msg_destroy (&decoded);
    return valid;
}

//  Many generated events: the topic from the body is the decoded event's,
//  and every cut of a body is refused by both.
static void
test_event_topic_of_generated_events (void **state)
{
    (void) state;
    msgpack_sbuffer buffer, data;
    msgpack_sbuffer_init (&buffer);
    msgpack_sbuffer_init (&data);
    for (int round = 0; round < 3000; round++) {
        char stream [ZCQ_MAX_STREAM + 1], type [ZCQ_MAX_NAME + 1], text [64];
        s_random_name (stream, round % 10 ? 40 : ZCQ_MAX_STREAM);
        s_random_name (type, round % 10 ? 30 : ZCQ_MAX_NAME);
        msgpack_sbuffer_clear (&data);
        msgpack_packer packer;
        msgpack_packer_init (&packer, &data, msgpack_sbuffer_write);
        s_random_map (&packer, 0);
        zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
        zcq_msg_set_position (event, 1 + s_random (1u << 30));
        zcq_msg_set_stream (event, stream);
        zcq_msg_set_version (event, 1 + s_random (1000));
        zcq_msg_set_name (event, type);
        zcq_msg_set_data (event, data.data, data.size);
        if (s_random (2)) {
            zcq_msg_set_id (event, s_command_id, sizeof s_command_id);
        }
        if (s_random (3) == 0) {
            s_random_name (text, 60);
            zcq_msg_set_correlation (event, text);
        }
        zcq_msg_set_time (event, (int64_t) s_random (1u << 30) << 20);
        msgpack_sbuffer_clear (&buffer);
        assert_int_equal (zcq_msg_encode_body (event, &buffer), 0);
        zcq_msg_destroy (&event);
        assert_true (s_topics_agree (buffer.data, buffer.size));
        assert_false (s_topics_agree (buffer.data, s_random ((uint32_t) buffer.size)));
    }
    msgpack_sbuffer_destroy (&buffer);
    msgpack_sbuffer_destroy (&data);
}

//  What a hand-made body has for its "stream" or "type".
typedef enum {
    R_NAME,     //  the name
    R_ABSENT,   //  nothing
    R_EMPTY,    //  ""
    R_LONG,     //  one byte over the limit
    R_INTEGER,  //  7
    R_NIL,      //  nil
    R_BINARY,   //  bin "abc"
    R_BAD_UTF8, //  "ab" 0xff
    R_CONTROL,  //  "a" 0x01 "b"
    R_TWICE,    //  another name, then the name (the last counts)
    R_GOOD_BAD, //  the name, then ""
    R_BAD_GOOD, //  an integer, then the name
    R_KINDS
} s_raw_t;

static void
s_raw_value (msgpack_packer *packer, s_raw_t kind, const char *name, size_t max)
{
    char text [ZCQ_MAX_STREAM + 2];
    switch (kind) {
        case R_EMPTY:
            zcq_mpack_pack_str (packer, "");
            break;
        case R_LONG:
            memset (text, 'x', max + 1);
            text [max + 1] = 0;
            zcq_mpack_pack_str (packer, text);
            break;
        case R_INTEGER:
            msgpack_pack_int (packer, 7);
            break;
        case R_NIL:
            msgpack_pack_nil (packer);
            break;
        case R_BINARY:
            msgpack_pack_bin (packer, 3);
            msgpack_pack_bin_body (packer, "abc", 3);
            break;
        case R_BAD_UTF8:
            zcq_mpack_pack_str (packer, "ab\xff");
            break;
        case R_CONTROL:
            zcq_mpack_pack_str (packer, "a\x01"
                                        "b");
            break;
        default:
            zcq_mpack_pack_str (packer, name);
            break;
    }
}

//  Pack key and what kind says (up to two pairs); returns the pairs packed.
static uint32_t
s_raw_field (msgpack_packer *packer, const char *key, s_raw_t kind, const char *name,
             size_t max)
{
    if (kind == R_ABSENT) {
        return 0;
    }
    if (kind == R_TWICE || kind == R_GOOD_BAD || kind == R_BAD_GOOD) {
        zcq_mpack_pack_str (packer, key);
        s_raw_value (packer, kind == R_BAD_GOOD ? R_INTEGER : R_NAME,
                     kind == R_TWICE ? "other-1" : name, max);
        zcq_mpack_pack_str (packer, key);
        s_raw_value (packer, kind == R_GOOD_BAD ? R_EMPTY : R_NAME, name, max);
        return 2;
    }
    zcq_mpack_pack_str (packer, key);
    s_raw_value (packer, kind, name, max);
    return 1;
}

//  An EVENT body made by hand: its fields in the order `order` rotates
//  them to, stream and type as the kinds say, and (form) a key that is not
//  a string (1), a byte after the map (2), or a map16 header (3).
static void
s_raw_event (msgpack_sbuffer *buffer, s_raw_t stream, s_raw_t type, int order, int form)
{
    msgpack_sbuffer pairs;
    msgpack_sbuffer_init (&pairs);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &pairs, msgpack_sbuffer_write);
    uint32_t count = 0;
    for (int field = 0; field < 6; field++) {
        switch ((field + order) % 6) {
            case 0:
                zcq_mpack_pack_str (&packer, "position");
                msgpack_pack_uint64 (&packer, 5);
                count++;
                break;
            case 1:
                zcq_mpack_pack_str (&packer, "version");
                msgpack_pack_uint64 (&packer, 2);
                count++;
                break;
            case 2:
                zcq_mpack_pack_str (&packer, "data");
                msgpack_pack_map (&packer, 2);
                zcq_mpack_pack_str (&packer, "stream");
                msgpack_pack_int (&packer, 1);
                zcq_mpack_pack_str (&packer, "type");
                msgpack_pack_array (&packer, 1);
                msgpack_pack_double (&packer, 0.5);
                count++;
                break;
            case 3:
                zcq_mpack_pack_str (&packer, "meta");
                msgpack_pack_map (&packer, 1);
                zcq_mpack_pack_str (&packer, "time");
                msgpack_pack_int64 (&packer, 1700000000000000);
                count++;
                break;
            case 4:
                count += s_raw_field (&packer, "stream", stream, "acct-42", ZCQ_MAX_STREAM);
                break;
            default:
                count += s_raw_field (&packer, "type", type, "MoneyDeposited", ZCQ_MAX_NAME);
                break;
        }
    }
    if (form == 1) {
        msgpack_pack_int (&packer, 1);
        msgpack_pack_int (&packer, 2);
        count++;
    }
    msgpack_sbuffer_clear (buffer);
    if (form == 3) {
        byte header [3] = {0xde, 0, (byte) count};
        msgpack_sbuffer_write (buffer, (const char *) header, sizeof (header));
    }
    else {
        msgpack_packer outer;
        msgpack_packer_init (&outer, buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&outer, count);
    }
    msgpack_sbuffer_write (buffer, pairs.data, pairs.size);
    if (form == 2) {
        msgpack_sbuffer_write (buffer, "\xc0", 1);
    }
    msgpack_sbuffer_destroy (&pairs);
}

//  Bodies whose stream, type or form the decoder refuses are refused from
//  the body too; those it takes give the same topic, whatever the order of
//  their fields, and a stream or type given twice counts as the decoder
//  counts it.
static void
test_event_topic_refuses_what_the_decoder_refuses (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int taken = 0, refused = 0;
    for (int stream = 0; stream < R_KINDS; stream++) {
        for (int type = 0; type < R_KINDS; type++) {
            for (int order = 0; order < 6; order++) {
                for (int form = 0; form < 4; form++) {
                    s_raw_event (&buffer, (s_raw_t) stream, (s_raw_t) type, order, form);
                    bool valid = s_topics_agree (buffer.data, buffer.size);
                    bool good = (stream == R_NAME || stream == R_TWICE)
                                && (type == R_NAME || type == R_TWICE) && form != 1
                                && form != 2;
                    assert_int_equal (valid, good);
                    taken += valid;
                    refused += !valid;
                }
            }
        }
    }
    assert_int_equal (taken, 2 * 2 * 6 * 2);
    assert_true (refused > 1000);
    //  The topic itself: category, stream and type, each ended by a NUL
    s_raw_event (&buffer, R_NAME, R_NAME, 0, 0);
    byte topic [ZCQ_MAX_TOPIC];
    size_t size = zcq_msg_event_topic (buffer.data, buffer.size, topic);
    assert_int_equal (size, 5 + 5 + 8 + 15);
    assert_memory_equal (topic, "ZCQ1Eacct\0acct-42\0MoneyDeposited\0", size);
    assert_int_equal (zcq_msg_event_topic (NULL, 0, topic), 0);
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_send_to_gone_peer_fails_and_frees (void **state)
{
    (void) state;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_non_null (router);
    zsock_set_router_mandatory (router, 1);
    zsock_set_sndtimeo (router, 0);
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_ERROR);
    zcq_msg_set_status (reply, ZCQ_INVALID);
    zframe_t *nobody = zframe_new ("\0gone", 5);
    zcq_msg_set_routing_id (reply, nobody);
    zframe_destroy (&nobody);
    for (int index = 0; index < 100; index++) {
        assert_int_equal (zcq_msg_send (reply, router), -1);
    }
    zcq_msg_destroy (&reply);
    zsock_destroy (&router);
}

//  A message received on a plain (unsecured) socket has no user and no roles
static void
test_recv_plain_has_no_user (void **state)
{
    (void) state;
    zsock_t *server = zsock_new_router ("inproc://test-msg-user");
    zsock_t *client = zsock_new_dealer (">inproc://test-msg-user");
    assert_non_null (server);
    assert_non_null (client);
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_name (query, "status");
    assert_int_equal (zcq_msg_send (query, client), 0);
    zcq_msg_destroy (&query);
    zcq_msg_t *received = zcq_msg_recv (server);
    assert_non_null (received);
    assert_true (zcq_msg_valid (received));
    assert_string_equal (zcq_msg_user (received), "");
    assert_null (zcq_msg_roles (received));
    zcq_msg_destroy (&received);
    //  Without a ZAP user id, a received EVENT keeps the user in its meta
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, 1);
    zcq_msg_set_stream (event, "s");
    zcq_msg_set_version (event, 1);
    zcq_msg_set_name (event, "T");
    zcq_msg_set_data (event, "\x80", 1);
    zcq_msg_set_user (event, "alice");
    assert_int_equal (zcq_msg_send (event, client), 0);
    zcq_msg_destroy (&event);
    received = zcq_msg_recv (server);
    assert_non_null (received);
    assert_string_equal (zcq_msg_user (received), "alice");
    assert_null (zcq_msg_roles (received));
    zcq_msg_destroy (&received);
    zsock_destroy (&client);
    zsock_destroy (&server);
}

static void
test_heartbeat_round_trip (void **state)
{
    (void) state;
    zcq_msg_t *heartbeat = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
    zcq_msg_set_head (heartbeat, 1234567);
    zcq_msg_set_time (heartbeat, 1700000000123456);
    zcq_msg_set_interval (heartbeat, 1000);
    zcq_msg_t *copy = s_round_trip (heartbeat);
    assert_int_equal (zcq_msg_head (copy), 1234567);
    assert_true (zcq_msg_time (copy) == 1700000000123456);
    assert_int_equal (zcq_msg_interval (copy), 1000);
    zcq_msg_destroy (&copy);

    //  An empty log has head 0
    zcq_msg_set_head (heartbeat, 0);
    copy = s_round_trip (heartbeat);
    assert_int_equal (zcq_msg_head (copy), 0);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&heartbeat);
}

static void
test_replay_round_trip (void **state)
{
    (void) state;
    zcq_msg_t *replay = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_id (replay, "r1", 2);
    zcq_msg_set_from (replay, 1001);
    zcq_msg_set_max (replay, 250);
    zcq_msg_t *copy = s_round_trip (replay);
    assert_int_equal (zcq_msg_id_size (copy), 2);
    assert_memory_equal (zcq_msg_id (copy), "r1", 2);
    assert_int_equal (zcq_msg_from (copy), 1001);
    assert_int_equal (zcq_msg_max (copy), 250);
    zcq_msg_destroy (&copy);

    //  No id and no max: the encoder sends max 1000, the most there is
    zcq_msg_set_id (replay, NULL, 0);
    zcq_msg_set_max (replay, 0);
    copy = s_round_trip (replay);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    assert_int_equal (zcq_msg_max (copy), ZCQ_MAX_EVENTS);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&replay);

    //  A body without max, or with max 0, means ZCQ_MAX_EVENTS too
    copy = s_decode_body (ZCQ_MSG_REPLAY, "max", NULL, V_NONE);
    assert_true (zcq_msg_valid (copy));
    assert_int_equal (zcq_msg_max (copy), ZCQ_MAX_EVENTS);
    zcq_msg_destroy (&copy);
    copy = s_decode_body (ZCQ_MSG_REPLAY, NULL, "max", V_ZERO);
    assert_true (zcq_msg_valid (copy));
    assert_int_equal (zcq_msg_max (copy), ZCQ_MAX_EVENTS);
    zcq_msg_destroy (&copy);
}

static void
test_events_round_trip_with_several_frames (void **state)
{
    (void) state;
    zcq_msg_t *events = zcq_msg_new (ZCQ_MSG_EVENTS);
    zcq_msg_set_id (events, "r1", 2);
    zcq_msg_set_from (events, 5);
    zcq_msg_set_head (events, 40);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    for (uint64_t position = 5; position < 8; position++) {
        s_pack_event (position, &body);
        zcq_msg_add_event (events, body.data, body.size);
    }
    assert_int_equal (zcq_msg_event_count (events), 3);

    //  Frames: signature, type, body, then one frame per event
    zmsg_t *zmsg = zcq_msg_encode (events);
    assert_non_null (zmsg);
    assert_int_equal (zmsg_size (zmsg), 6);
    zmsg_destroy (&zmsg);

    zcq_msg_t *copy = s_round_trip (events);
    assert_int_equal (zcq_msg_id_size (copy), 2);
    assert_int_equal (zcq_msg_from (copy), 5);
    assert_int_equal (zcq_msg_head (copy), 40);
    assert_int_equal (zcq_msg_count (copy), 3);
    assert_int_equal (zcq_msg_event_count (copy), 3);
    for (size_t index = 0; index < 3; index++) {
        zframe_t *frame = zcq_msg_event_frame (copy, index);
        assert_non_null (frame);
        //  Each frame is an EVENT body: decode it as one
        zcq_msg_t *event =
            zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
        assert_true (zcq_msg_valid (event));
        assert_int_equal (zcq_msg_position (event), 5 + index);
        assert_string_equal (zcq_msg_name (event), "MoneyDeposited");
        zcq_msg_destroy (&event);
    }
    assert_null (zcq_msg_event_frame (copy, 3));
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&events);

    //  An empty batch: count 0, three frames
    events = zcq_msg_new (ZCQ_MSG_EVENTS);
    zcq_msg_set_from (events, 41);
    zcq_msg_set_head (events, 40);
    copy = s_round_trip (events);
    assert_int_equal (zcq_msg_event_count (copy), 0);
    assert_int_equal (zcq_msg_count (copy), 0);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    zcq_msg_destroy (&copy);

    //  Many events: the frame table grows
    for (int index = 0; index < 40; index++) {
        zcq_msg_add_event (events, body.data, body.size);
    }
    copy = s_round_trip (events);
    assert_int_equal (zcq_msg_event_count (copy), 40);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&events);
    msgpack_sbuffer_destroy (&body);
}

static void
test_query_round_trip (void **state)
{
    (void) state;
    msgpack_sbuffer *params = zcq_testkit_map ("id=acct-1", NULL);
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_id (query, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (query, "account");
    zcq_msg_set_data (query, params->data, params->size);
    zcq_msg_set_min_position (query, 77);
    zcq_msg_set_timeout (query, 1500);
    zcq_msg_t *copy = s_round_trip (query);
    assert_int_equal (zcq_msg_id_size (copy), ZCQ_COMMAND_ID);
    assert_string_equal (zcq_msg_name (copy), "account");
    assert_int_equal (zcq_msg_data_size (copy), params->size);
    assert_memory_equal (zcq_msg_data (copy), params->data, params->size);
    assert_int_equal (zcq_msg_min_position (copy), 77);
    assert_int_equal (zcq_msg_timeout (copy), 1500);
    zcq_msg_destroy (&copy);

    //  Defaults: no params is an empty map, no timeout is 0 (node default)
    zcq_msg_set_data (query, NULL, 0);
    zcq_msg_set_timeout (query, 0);
    zcq_msg_set_min_position (query, 0);
    zcq_msg_set_id (query, NULL, 0);
    copy = s_round_trip (query);
    assert_memory_equal (zcq_msg_data (copy), "\x80", 1);
    assert_int_equal (zcq_msg_timeout (copy), 0);
    assert_int_equal (zcq_msg_min_position (copy), 0);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&query);
    msgpack_sbuffer_free (params);
}

static void
test_result_round_trip (void **state)
{
    (void) state;
    //  A result is any msgpack object: here an array of two maps
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &result, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, 2);
    for (int index = 0; index < 2; index++) {
        msgpack_pack_map (&packer, 1);
        zcq_mpack_pack_str (&packer, "balance");
        msgpack_pack_int64 (&packer, index * 100);
    }
    zcq_msg_t *answer = zcq_msg_new (ZCQ_MSG_RESULT);
    zcq_msg_set_id (answer, "q-1", 3);
    zcq_msg_set_status (answer, ZCQ_STALE);
    zcq_msg_set_reason (answer, "answer reflects position 4, below min_position 9");
    zcq_msg_set_position (answer, 4);
    zcq_msg_set_data (answer, result.data, result.size);
    zcq_msg_t *copy = s_round_trip (answer);
    assert_memory_equal (zcq_msg_id (copy), "q-1", 3);
    assert_int_equal (zcq_msg_status (copy), ZCQ_STALE);
    assert_string_equal (zcq_msg_reason (copy),
                         "answer reflects position 4, below min_position 9");
    assert_int_equal (zcq_msg_position (copy), 4);
    assert_int_equal (zcq_msg_data_size (copy), result.size);
    assert_memory_equal (zcq_msg_data (copy), result.data, result.size);
    zcq_msg_destroy (&copy);

    //  No result: nil on the wire, kept as the packed nil
    zcq_msg_set_data (answer, NULL, 0);
    zcq_msg_set_id (answer, NULL, 0);
    zcq_msg_set_status (answer, ZCQ_NOT_FOUND);
    copy = s_round_trip (answer);
    assert_int_equal (zcq_msg_status (copy), ZCQ_NOT_FOUND);
    assert_int_equal (zcq_msg_data_size (copy), 1);
    assert_memory_equal (zcq_msg_data (copy), "\xc0", 1);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&answer);
    msgpack_sbuffer_destroy (&result);
}

static void
test_error_round_trip (void **state)
{
    (void) state;
    zcq_msg_t *error = zcq_msg_new (ZCQ_MSG_ERROR);
    zcq_msg_set_id (error, "r1", 2);
    zcq_msg_set_status (error, ZCQ_BAD_VERSION);
    zcq_msg_set_reason (error, "protocol 'ZCQ2' is not supported; this node speaks 'ZCQ1'");
    zcq_msg_t *copy = s_round_trip (error);
    assert_memory_equal (zcq_msg_id (copy), "r1", 2);
    assert_int_equal (zcq_msg_status (copy), ZCQ_BAD_VERSION);
    assert_string_equal (zcq_msg_reason (copy),
                         "protocol 'ZCQ2' is not supported; this node speaks 'ZCQ1'");
    zcq_msg_destroy (&copy);

    zcq_msg_set_id (error, NULL, 0);
    copy = s_round_trip (error);
    assert_int_equal (zcq_msg_id_size (copy), 0);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&error);
}

//  --- Garbage: frames --------------------------------------------------------

static void
test_wrong_frame_counts (void **state)
{
    (void) state;
    zmsg_t *zmsg = zmsg_new ();
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_INVALID, "needs 3 frames");

    zmsg = zmsg_new ();
    zmsg_addstr (zmsg, "ZCQ1");
    zcq_msg_t *msg = zcq_msg_decode (&zmsg);
    assert_int_equal (zcq_msg_type (msg), ZCQ_MSG_UNKNOWN);
    s_expect_refused (msg, ZCQ_INVALID, "got 1");

    zmsg = zmsg_new ();
    zmsg_addstr (zmsg, "ZCQ1");
    zmsg_addstr (zmsg, "COMMAND");
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_INVALID,
                      "a message needs 3 frames (signature, type, body), got 2");

    //  Every type but EVENTS is exactly three frames
    for (int type = ZCQ_MSG_COMMAND; type < ZCQ_MSG_TYPES; type++) {
        if (type == ZCQ_MSG_EVENTS) {
            continue;
        }
        msgpack_sbuffer *body = s_body ((zcq_msg_type_t) type, NULL, NULL, V_NONE);
        zmsg = s_frames ("ZCQ1", zcq_msg_type_name ((zcq_msg_type_t) type), body->data,
                         body->size);
        msg = zcq_msg_decode (&zmsg);
        assert_true (zcq_msg_valid (msg));
        zcq_msg_destroy (&msg);

        zmsg = s_frames ("ZCQ1", zcq_msg_type_name ((zcq_msg_type_t) type), body->data,
                         body->size);
        zmsg_addstr (zmsg, "extra");
        zmsg_addstr (zmsg, "extra");
        msg = zcq_msg_decode (&zmsg);
        char *expected = zsys_sprintf ("%s has 2 frames too many",
                                       zcq_msg_type_name ((zcq_msg_type_t) type));
        s_expect_refused (msg, ZCQ_INVALID, expected);
        zstr_free (&expected);
        msgpack_sbuffer_free (body);
    }
}

static void
test_signature_must_be_zcq (void **state)
{
    (void) state;
    msgpack_sbuffer *body = s_body (ZCQ_MSG_HEARTBEAT, NULL, NULL, V_NONE);
    static const char *not_ours [] = {"", "ZC", "HTTP/1.1", "zcq1", "MDPC01"};
    for (size_t index = 0; index < sizeof not_ours / sizeof not_ours [0]; index++) {
        zmsg_t *zmsg = s_frames (not_ours [index], "HEARTBEAT", body->data, body->size);
        zcq_msg_t *msg = zcq_msg_decode (&zmsg);
        assert_int_equal (zcq_msg_type (msg), ZCQ_MSG_UNKNOWN);
        s_expect_refused (msg, ZCQ_INVALID,
                          "frame 1 is not a zcqrs signature (expected 'ZCQ1')");
    }
    msgpack_sbuffer_free (body);
}

static void
test_signature_wrong_version (void **state)
{
    (void) state;
    msgpack_sbuffer *body = s_body (ZCQ_MSG_COMMAND, NULL, NULL, V_NONE);
    zmsg_t *zmsg = s_frames ("ZCQ2", "COMMAND", body->data, body->size);
    zcq_msg_t *msg = zcq_msg_decode (&zmsg);
    //  The reason says what we got and what this node speaks
    assert_string_equal (zcq_msg_error (msg),
                         "protocol 'ZCQ2' is not supported; this node speaks 'ZCQ1'");
    s_expect_refused (msg, ZCQ_BAD_VERSION, "ZCQ1");

    //  Any other "ZCQ..." is a version we do not speak; odd bytes are shown as '?'
    zmsg = s_frames ("ZCQ", "COMMAND", body->data, body->size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_BAD_VERSION, "protocol 'ZCQ'");
    zmsg = s_frames ("ZCQ10", "COMMAND", body->data, body->size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_BAD_VERSION, "protocol 'ZCQ10'");
    zmsg = s_frames ("ZCQ\x01\n", "COMMAND", body->data, body->size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_BAD_VERSION,
                      "protocol 'ZCQ?"
                      "?'");

    //  A bad version gets an ERROR, whatever the type frame says
    zmsg = s_frames ("ZCQ2", "COMMAND", body->data, body->size);
    msg = zcq_msg_decode (&zmsg);
    zcq_msg_t *reply = zcq_msg_reply_to (msg, zcq_msg_error_status (msg));
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_ERROR);
    assert_int_equal (zcq_msg_status (reply), ZCQ_BAD_VERSION);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&msg);
    msgpack_sbuffer_free (body);
}

static void
test_unknown_type_name (void **state)
{
    (void) state;
    msgpack_sbuffer *body = s_body (ZCQ_MSG_COMMAND, NULL, NULL, V_NONE);
    zmsg_t *zmsg = s_frames ("ZCQ1", "command", body->data, body->size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_UNKNOWN_TYPE,
                      "unknown message type 'command'");
    zmsg = s_frames ("ZCQ1", "UNKNOWN", body->data, body->size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_UNKNOWN_TYPE,
                      "unknown message type 'UNKNOWN'");
    zmsg = s_frames ("ZCQ1", "", body->data, body->size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_UNKNOWN_TYPE, "unknown message type ''");
    msgpack_sbuffer_free (body);

    //  decode_body is told the type; it must be a real one
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_UNKNOWN, "\x80", 1), ZCQ_UNKNOWN_TYPE,
                      "unknown message type");
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_TYPES, "\x80", 1), ZCQ_UNKNOWN_TYPE,
                      "unknown message type");
}

//  --- Garbage: bodies --------------------------------------------------------

static void
test_body_not_msgpack (void **state)
{
    (void) state;
    //  0xc1 is the one byte msgpack never uses
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_COMMAND, "\xc1\xc1", 2), ZCQ_INVALID,
                      "COMMAND body is not valid msgpack (parse error)");
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_QUERY, "", 0), ZCQ_INVALID,
                      "QUERY body is not valid msgpack (truncated)");
    zmsg_t *zmsg = s_frames ("ZCQ1", "REPLAY", "{\"from\": 1}", 11);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_INVALID, "REPLAY body");
}

static void
test_every_prefix_of_a_body_is_invalid (void **state)
{
    (void) state;
    for (int type = ZCQ_MSG_COMMAND; type < ZCQ_MSG_TYPES; type++) {
        msgpack_sbuffer *body = s_body ((zcq_msg_type_t) type, NULL, NULL, V_NONE);
        zcq_msg_t *msg = zcq_msg_decode_body ((zcq_msg_type_t) type, body->data, body->size);
        assert_true (zcq_msg_valid (msg));
        zcq_msg_destroy (&msg);
        //  Copy each prefix to its own allocation, so that ASan sees any read
        //  past its end
        for (size_t size = 0; size < body->size; size++) {
            char *prefix = (char *) malloc (size ? size : 1);
            assert_non_null (prefix);
            memcpy (prefix, body->data, size);
            msg = zcq_msg_decode_body ((zcq_msg_type_t) type, prefix, size);
            assert_false (zcq_msg_valid (msg));
            assert_int_equal (zcq_msg_error_status (msg), ZCQ_INVALID);
            s_assert_contains (zcq_msg_error (msg), "(truncated)");
            zcq_msg_destroy (&msg);

            //  The same through frames
            zmsg_t *zmsg =
                s_frames ("ZCQ1", zcq_msg_type_name ((zcq_msg_type_t) type), prefix, size);
            msg = zcq_msg_decode (&zmsg);
            assert_false (zcq_msg_valid (msg));
            zcq_msg_destroy (&msg);
            free (prefix);
        }
        msgpack_sbuffer_free (body);
    }
}

static void
test_trailing_bytes (void **state)
{
    (void) state;
    msgpack_sbuffer *body = s_body (ZCQ_MSG_COMMAND, NULL, NULL, V_NONE);
    msgpack_sbuffer_write (body, "\x80\x01", 2);
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_COMMAND, body->data, body->size),
                      ZCQ_INVALID, "COMMAND body has 2 bytes after its map");
    msgpack_sbuffer_free (body);
}

static void
test_body_not_a_map (void **state)
{
    (void) state;
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_HEARTBEAT, "\x92\x01\x02", 3), ZCQ_INVALID,
                      "HEARTBEAT body must be a msgpack map, got array");
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_COMMAND, "\xc0", 1), ZCQ_INVALID,
                      "COMMAND body must be a msgpack map, got nil");
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_ERROR, "\xa2ok", 3), ZCQ_INVALID,
                      "got string");
}

static void
test_non_string_key (void **state)
{
    (void) state;
    //  {1: 2, "head": 3}
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_HEARTBEAT, "\x82\x01\x02\xa4head\x03", 9),
                      ZCQ_INVALID, "HEARTBEAT body has a key that is not a string");
    //  A binary key that spells "head" is not a string either
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_HEARTBEAT, "\x81\xc4\x04head\x03", 8),
                      ZCQ_INVALID, "key that is not a string");
}

static void
test_body_over_max_body (void **state)
{
    (void) state;
    size_t size = ZCQ_MAX_BODY + 1;
    char *body = (char *) calloc (1, size);
    assert_non_null (body);
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_COMMAND, body, size), ZCQ_TOO_LARGE,
                      "COMMAND body is 1048577 bytes, limit is 1048576");
    free (body);
}

static void
test_each_required_field_missing (void **state)
{
    (void) state;
    static const struct {
        zcq_msg_type_t type;
        const char *field;
    } required [] = {
        {ZCQ_MSG_COMMAND, "id"},     {ZCQ_MSG_COMMAND, "type"},   {ZCQ_MSG_COMMAND, "stream"},
        {ZCQ_MSG_REPLY, "status"},   {ZCQ_MSG_EVENT, "position"}, {ZCQ_MSG_EVENT, "stream"},
        {ZCQ_MSG_EVENT, "version"},  {ZCQ_MSG_EVENT, "type"},     {ZCQ_MSG_EVENT, "data"},
        {ZCQ_MSG_HEARTBEAT, "head"}, {ZCQ_MSG_REPLAY, "from"},    {ZCQ_MSG_EVENTS, "from"},
        {ZCQ_MSG_EVENTS, "head"},    {ZCQ_MSG_EVENTS, "count"},   {ZCQ_MSG_QUERY, "name"},
        {ZCQ_MSG_RESULT, "status"},  {ZCQ_MSG_ERROR, "status"},
    };
    for (size_t index = 0; index < sizeof required / sizeof required [0]; index++) {
        zcq_msg_t *msg =
            s_decode_body (required [index].type, required [index].field, NULL, V_NONE);
        char *expected =
            zsys_sprintf ("%s is missing field '%s'", zcq_msg_type_name (required [index].type),
                          required [index].field);
        s_expect_refused (msg, ZCQ_INVALID, expected);
        zstr_free (&expected);
    }
    //  A nil COMMAND id is as good as none
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "id", W_NIL), ZCQ_INVALID,
                      "COMMAND is missing field 'id'");

    //  Everything else is optional: each body still decodes without it
    static const struct {
        zcq_msg_type_t type;
        const char *field;
    } optional [] = {
        {ZCQ_MSG_COMMAND, "expect"},
        {ZCQ_MSG_COMMAND, "data"},
        {ZCQ_MSG_COMMAND, "correlation"},
        {ZCQ_MSG_REPLY, "id"},
        {ZCQ_MSG_REPLY, "reason"},
        {ZCQ_MSG_REPLY, "version"},
        {ZCQ_MSG_REPLY, "position"},
        {ZCQ_MSG_REPLY, "count"},
        {ZCQ_MSG_EVENT, "meta"},
        {ZCQ_MSG_HEARTBEAT, "time"},
        {ZCQ_MSG_HEARTBEAT, "interval"},
        {ZCQ_MSG_REPLAY, "id"},
        {ZCQ_MSG_REPLAY, "max"},
        {ZCQ_MSG_EVENTS, "id"},
        {ZCQ_MSG_QUERY, "id"},
        {ZCQ_MSG_QUERY, "params"},
        {ZCQ_MSG_QUERY, "min_position"},
        {ZCQ_MSG_QUERY, "timeout"},
        {ZCQ_MSG_RESULT, "id"},
        {ZCQ_MSG_RESULT, "reason"},
        {ZCQ_MSG_RESULT, "position"},
        {ZCQ_MSG_RESULT, "result"},
        {ZCQ_MSG_ERROR, "id"},
        {ZCQ_MSG_ERROR, "reason"},
    };
    for (size_t index = 0; index < sizeof optional / sizeof optional [0]; index++) {
        zcq_msg_t *msg =
            s_decode_body (optional [index].type, optional [index].field, NULL, V_NONE);
        if (!zcq_msg_valid (msg)) {
            print_error ("%s without '%s': %s\n", zcq_msg_type_name (optional [index].type),
                         optional [index].field, zcq_msg_error (msg));
            fail ();
        }
        zcq_msg_destroy (&msg);
    }
}

static void
test_each_field_mistyped (void **state)
{
    (void) state;
    static const struct {
        zcq_msg_type_t type;
        const char *field;
        s_value_t value;
        const char *reason;
    } cases [] = {
        {ZCQ_MSG_COMMAND, "id", W_STRING, "field 'id' must be binary, got string"},
        {ZCQ_MSG_COMMAND, "type", W_INTEGER, "field 'type' must be a string, got integer"},
        {ZCQ_MSG_COMMAND, "stream", W_ARRAY, "field 'stream' must be a string, got array"},
        {ZCQ_MSG_COMMAND, "stream", W_BINARY, "field 'stream' must be a string, got binary"},
        {ZCQ_MSG_COMMAND, "expect", W_STRING,
         "field 'expect' must be a non-negative integer, got string"},
        {ZCQ_MSG_COMMAND, "expect", W_FLOAT,
         "field 'expect' must be a non-negative integer, got float"},
        {ZCQ_MSG_COMMAND, "expect", W_OVER_INT64,
         "field 'expect' is 9223372036854775808, limit is 9223372036854775807"},
        {ZCQ_MSG_COMMAND, "data", W_STRING, "field 'data' must be a map, got string"},
        {ZCQ_MSG_COMMAND, "data", W_NIL, "field 'data' must be a map, got nil"},
        {ZCQ_MSG_COMMAND, "correlation", W_INTEGER,
         "field 'correlation' must be a string, got integer"},
        {ZCQ_MSG_REPLY, "status", W_INTEGER, "field 'status' is not a known status name"},
        {ZCQ_MSG_REPLY, "status", W_NO_STATUS, "field 'status' is not a known status name"},
        {ZCQ_MSG_REPLY, "reason", W_TRUE, "field 'reason' must be a string, got boolean"},
        {ZCQ_MSG_REPLY, "version", W_STRING,
         "field 'version' must be a non-negative integer, got string"},
        {ZCQ_MSG_REPLY, "position", W_TRUE,
         "field 'position' must be a non-negative integer, got boolean"},
        {ZCQ_MSG_REPLY, "count", W_FLOAT,
         "field 'count' must be a non-negative integer, got float"},
        {ZCQ_MSG_REPLY, "count", W_OVER_UINT32,
         "field 'count' is 4294967296, limit is 4294967295"},
        {ZCQ_MSG_REPLY, "id", W_MAP, "field 'id' must be binary, got map"},
        {ZCQ_MSG_EVENT, "data", W_ARRAY, "field 'data' must be a map, got array"},
        {ZCQ_MSG_EVENT, "type", W_NIL, "field 'type' must be a string, got nil"},
        {ZCQ_MSG_EVENT, "meta", W_STRING, "field 'meta' must be a map"},
        {ZCQ_MSG_EVENT, "meta", W_META_TIME,
         "field 'meta.time' must be an integer, got string"},
        {ZCQ_MSG_EVENT, "meta", W_META_COMMAND,
         "field 'meta.command' must be binary, got string"},
        {ZCQ_MSG_EVENT, "meta", W_META_CORRELATION,
         "field 'meta.correlation' must be a string, got integer"},
        {ZCQ_MSG_HEARTBEAT, "head", W_STRING,
         "field 'head' must be a non-negative integer, got string"},
        {ZCQ_MSG_HEARTBEAT, "time", W_FLOAT, "field 'time' must be an integer, got float"},
        {ZCQ_MSG_HEARTBEAT, "interval", W_OVER_UINT32, "field 'interval' is 4294967296"},
        {ZCQ_MSG_REPLAY, "from", W_NIL, "field 'from' must be a non-negative integer, got nil"},
        {ZCQ_MSG_REPLAY, "max", W_STRING,
         "field 'max' must be a non-negative integer, got string"},
        {ZCQ_MSG_EVENTS, "head", W_MAP, "field 'head' must be a non-negative integer, got map"},
        {ZCQ_MSG_EVENTS, "count", W_STRING,
         "field 'count' must be a non-negative integer, got string"},
        {ZCQ_MSG_QUERY, "name", W_INTEGER, "field 'name' must be a string, got integer"},
        {ZCQ_MSG_QUERY, "params", W_ARRAY, "field 'params' must be a map, got array"},
        {ZCQ_MSG_QUERY, "min_position", W_STRING,
         "field 'min_position' must be a non-negative integer, got string"},
        {ZCQ_MSG_QUERY, "timeout", W_OVER_UINT32, "field 'timeout' is 4294967296"},
        {ZCQ_MSG_RESULT, "position", W_STRING,
         "field 'position' must be a non-negative integer, got string"},
        {ZCQ_MSG_RESULT, "status", W_NIL, "field 'status' is not a known status name"},
        {ZCQ_MSG_ERROR, "status", W_NO_STATUS, "field 'status' is not a known status name"},
        {ZCQ_MSG_ERROR, "reason", W_ARRAY, "field 'reason' must be a string, got array"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        zcq_msg_t *msg =
            s_decode_body (cases [index].type, NULL, cases [index].field, cases [index].value);
        if (zcq_msg_valid (msg) || !strstr (zcq_msg_error (msg), cases [index].reason)
            || zcq_msg_error_status (msg) != ZCQ_INVALID) {
            print_error ("%s with a wrong '%s': expected '%s', got %s '%s'\n",
                         zcq_msg_type_name (cases [index].type), cases [index].field,
                         cases [index].reason, zcq_status_name (zcq_msg_error_status (msg)),
                         zcq_msg_error (msg));
            fail ();
        }
        zcq_msg_destroy (&msg);
    }
}

static void
test_negative_where_unsigned (void **state)
{
    (void) state;
    static const struct {
        zcq_msg_type_t type;
        const char *field;
    } cases [] = {
        {ZCQ_MSG_COMMAND, "expect"}, {ZCQ_MSG_REPLY, "version"},
        {ZCQ_MSG_REPLY, "position"}, {ZCQ_MSG_REPLY, "count"},
        {ZCQ_MSG_EVENT, "position"}, {ZCQ_MSG_EVENT, "version"},
        {ZCQ_MSG_HEARTBEAT, "head"}, {ZCQ_MSG_HEARTBEAT, "interval"},
        {ZCQ_MSG_REPLAY, "from"},    {ZCQ_MSG_REPLAY, "max"},
        {ZCQ_MSG_EVENTS, "from"},    {ZCQ_MSG_EVENTS, "head"},
        {ZCQ_MSG_EVENTS, "count"},   {ZCQ_MSG_QUERY, "min_position"},
        {ZCQ_MSG_QUERY, "timeout"},  {ZCQ_MSG_RESULT, "position"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        zcq_msg_t *msg =
            s_decode_body (cases [index].type, NULL, cases [index].field, W_NEGATIVE);
        char *expected = zsys_sprintf ("field '%s' must be a non-negative integer, got -5",
                                       cases [index].field);
        s_expect_refused (msg, ZCQ_INVALID, expected);
        zstr_free (&expected);
    }
    //  Times are signed
    zcq_msg_t *msg = s_decode_body (ZCQ_MSG_HEARTBEAT, NULL, "time", W_NEGATIVE);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_time (msg), -5);
    zcq_msg_destroy (&msg);
}

static void
test_command_id_must_be_16_bytes (void **state)
{
    (void) state;
    static const size_t sizes [] = {1, 15, 17, ZCQ_MAX_ID};
    for (size_t index = 0; index < sizeof sizes / sizeof sizes [0]; index++) {
        s_id_size = sizes [index];
        char *expected =
            zsys_sprintf ("field 'id' of a COMMAND must be 16 bytes, got %zu", s_id_size);
        s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "id", W_SIZED_ID), ZCQ_INVALID,
                          expected);
        zstr_free (&expected);
    }
    //  Ids of other messages are 1 to 64 bytes, never empty or longer
    s_id_size = 0;
    s_expect_refused (s_decode_body (ZCQ_MSG_QUERY, NULL, "id", W_SIZED_ID), ZCQ_INVALID,
                      "field 'id' must be 1 to 64 bytes, got 0");
    s_id_size = ZCQ_MAX_ID + 1;
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "id", W_SIZED_ID), ZCQ_INVALID,
                      "field 'id' must be 1 to 64 bytes, got 65");
    s_id_size = ZCQ_MAX_ID;
    zcq_msg_t *msg = s_decode_body (ZCQ_MSG_QUERY, NULL, "id", W_SIZED_ID);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_id_size (msg), ZCQ_MAX_ID);
    zcq_msg_destroy (&msg);

    //  The encoder refuses a COMMAND without a 16-byte id
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, "acct-1");
    assert_null (zcq_msg_encode (command));
    assert_int_equal (zcq_msg_error_status (command), ZCQ_INVALID);
    s_assert_contains (zcq_msg_error (command), "16-byte id");
    zcq_msg_destroy (&command);
}

//  Decode a COMMAND whose stream is the given bytes.
static zcq_msg_t *
s_command_with_stream (const char *bytes, size_t size)
{
    s_text_bytes = bytes;
    s_text_size = size;
    return s_decode_body (ZCQ_MSG_COMMAND, NULL, "stream", W_TEXT);
}

static void
test_stream_names (void **state)
{
    (void) state;
    char name [ZCQ_MAX_STREAM + 2];
    memset (name, 's', sizeof name);

    s_expect_refused (s_command_with_stream ("", 0), ZCQ_INVALID,
                      "field 'stream' must not be empty");
    s_expect_refused (s_command_with_stream (name, ZCQ_MAX_STREAM + 1), ZCQ_TOO_LARGE,
                      "field 'stream' is 257 bytes, limit is 256");
    s_expect_refused (s_command_with_stream ("acct\n1", 6), ZCQ_INVALID,
                      "field 'stream' must be UTF-8 without control characters");
    s_expect_refused (s_command_with_stream ("acct\0001", 6), ZCQ_INVALID,
                      "control characters");
    s_expect_refused (s_command_with_stream ("acct\x7f", 5), ZCQ_INVALID, "control characters");
    s_expect_refused (s_command_with_stream ("acct-\xc3", 6), ZCQ_INVALID, "UTF-8");
    s_expect_refused (s_command_with_stream ("\xff\xfe", 2), ZCQ_INVALID, "UTF-8");

    //  Exactly the limit, and any UTF-8, are fine
    zcq_msg_t *msg = s_command_with_stream (name, ZCQ_MAX_STREAM);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (strlen (zcq_msg_stream (msg)), ZCQ_MAX_STREAM);
    zcq_msg_destroy (&msg);
    msg = s_command_with_stream ("konto/\xc3\xa9t\xc3\xa9-\xf0\x9f\x98\x80", 16);
    assert_true (zcq_msg_valid (msg));
    assert_string_equal (zcq_msg_stream (msg), "konto/\xc3\xa9t\xc3\xa9-\xf0\x9f\x98\x80");
    zcq_msg_destroy (&msg);

    //  The encoder will not send what a decoder refuses as too large
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (command, "Deposit");
    name [ZCQ_MAX_STREAM + 1] = 0;
    zcq_msg_set_stream (command, name);
    assert_null (zcq_msg_encode (command));
    assert_int_equal (zcq_msg_error_status (command), ZCQ_TOO_LARGE);
    s_assert_contains (zcq_msg_error (command), "stream name is over 256 bytes");
    zcq_msg_destroy (&command);
}

static void
test_names_and_texts_have_limits (void **state)
{
    (void) state;
    char *text = (char *) malloc (ZCQ_MAX_TEXT + 2);
    assert_non_null (text);
    memset (text, 'n', ZCQ_MAX_TEXT + 1);
    text [ZCQ_MAX_NAME + 1] = 0;

    //  A command type over ZCQ_MAX_NAME is refused both ways
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_stream (command, "acct-1");
    zcq_msg_set_name (command, text);
    assert_null (zcq_msg_encode (command));
    assert_int_equal (zcq_msg_error_status (command), ZCQ_TOO_LARGE);
    zcq_msg_destroy (&command);

    s_text_bytes = text;
    s_text_size = ZCQ_MAX_NAME + 1;
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "type", W_TEXT), ZCQ_TOO_LARGE,
                      "field 'type' is 129 bytes, limit is 128");
    s_expect_refused (s_decode_body (ZCQ_MSG_QUERY, NULL, "name", W_TEXT), ZCQ_TOO_LARGE,
                      "field 'name' is 129 bytes, limit is 128");
    s_text_size = 0;
    s_expect_refused (s_decode_body (ZCQ_MSG_EVENT, NULL, "type", W_TEXT), ZCQ_INVALID,
                      "field 'type' must not be empty");

    //  A reason or correlation id over ZCQ_MAX_TEXT is too large
    s_text_size = ZCQ_MAX_TEXT + 1;
    s_expect_refused (s_decode_body (ZCQ_MSG_REPLY, NULL, "reason", W_TEXT), ZCQ_TOO_LARGE,
                      "field 'reason' is 4097 bytes, limit is 4096");
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "correlation", W_TEXT),
                      ZCQ_TOO_LARGE, "field 'correlation' is 4097 bytes");
    //  ... an empty one is fine
    s_text_size = 0;
    zcq_msg_t *msg = s_decode_body (ZCQ_MSG_ERROR, NULL, "reason", W_TEXT);
    assert_true (zcq_msg_valid (msg));
    zcq_msg_destroy (&msg);
    free (text);

    //  A correlation id over its limit is not encoded
    char *big = (char *) malloc (ZCQ_MAX_BODY + 1);
    assert_non_null (big);
    memset (big, 'c', ZCQ_MAX_BODY);
    big [ZCQ_MAX_BODY] = 0;
    command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, "acct-1");
    zcq_msg_set_correlation (command, big);
    assert_null (zcq_msg_encode (command));
    assert_int_equal (zcq_msg_error_status (command), ZCQ_TOO_LARGE);
    s_assert_contains (zcq_msg_error (command), "correlation id is 1048576 bytes");
    zcq_msg_destroy (&command);

    //  A body over ZCQ_MAX_BODY is not encoded (a result has no smaller limit)
    zcq_msg_t *result = zcq_msg_new (ZCQ_MSG_RESULT);
    zcq_msg_set_data (result, big, ZCQ_MAX_BODY);
    assert_null (zcq_msg_encode (result));
    assert_int_equal (zcq_msg_error_status (result), ZCQ_TOO_LARGE);
    s_assert_contains (zcq_msg_error (result), "limit is 1048576");
    zcq_msg_destroy (&result);
    free (big);
}

static void
test_data_must_be_a_map_within_limit (void **state)
{
    (void) state;
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "data", W_ARRAY), ZCQ_INVALID,
                      "field 'data' must be a map, got array");
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "data", W_INTEGER), ZCQ_INVALID,
                      "field 'data' must be a map, got integer");

    //  {"blob": ...} packs to 1 + 5 + 5 + size bytes (str32 header)
    s_blob_size = ZCQ_MAX_DATA - 11;
    zcq_msg_t *msg = s_decode_body (ZCQ_MSG_COMMAND, NULL, "data", W_BLOB_MAP);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_data_size (msg), ZCQ_MAX_DATA);
    zcq_msg_destroy (&msg);

    s_blob_size = ZCQ_MAX_DATA - 10;
    s_expect_refused (s_decode_body (ZCQ_MSG_COMMAND, NULL, "data", W_BLOB_MAP), ZCQ_TOO_LARGE,
                      "field 'data' is 262145 bytes, limit is 262144");
    s_expect_refused (s_decode_body (ZCQ_MSG_EVENT, NULL, "data", W_BLOB_MAP), ZCQ_TOO_LARGE,
                      "field 'data' is 262145 bytes");
    s_expect_refused (s_decode_body (ZCQ_MSG_QUERY, NULL, "params", W_BLOB_MAP), ZCQ_TOO_LARGE,
                      "field 'params' is 262145 bytes");

    //  The encoder refuses data over the limit too
    size_t size = ZCQ_MAX_DATA + 1;
    byte *data = (byte *) calloc (1, size);
    assert_non_null (data);
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, sizeof s_command_id);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, "acct-1");
    zcq_msg_set_data (command, data, size);
    assert_null (zcq_msg_encode (command));
    assert_int_equal (zcq_msg_error_status (command), ZCQ_TOO_LARGE);
    s_assert_contains (zcq_msg_error (command), "data is 262145 bytes, limit is 262144");
    zcq_msg_destroy (&command);
    free (data);
}

static void
test_events_count_must_match_frames (void **state)
{
    (void) state;
    msgpack_sbuffer event;
    msgpack_sbuffer_init (&event);
    s_pack_event (1, &event);

    //  count 0 with one event frame
    msgpack_sbuffer *body = s_body (ZCQ_MSG_EVENTS, NULL, NULL, V_NONE);
    zmsg_t *zmsg = s_frames ("ZCQ1", "EVENTS", body->data, body->size);
    zmsg_addmem (zmsg, event.data, event.size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_INVALID,
                      "EVENTS says count 0 but carries 1 event frames");
    msgpack_sbuffer_free (body);

    //  count 3 with two
    body = s_body (ZCQ_MSG_EVENTS, NULL, "count", V_THREE);
    zmsg = s_frames ("ZCQ1", "EVENTS", body->data, body->size);
    zmsg_addmem (zmsg, event.data, event.size);
    zmsg_addmem (zmsg, event.data, event.size);
    s_expect_refused (zcq_msg_decode (&zmsg), ZCQ_INVALID, "count 3 but carries 2");

    //  count 3 with three
    zmsg = s_frames ("ZCQ1", "EVENTS", body->data, body->size);
    for (int index = 0; index < 3; index++) {
        zmsg_addmem (zmsg, event.data, event.size);
    }
    zcq_msg_t *msg = zcq_msg_decode (&zmsg);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_event_count (msg), 3);
    zcq_msg_destroy (&msg);
    msgpack_sbuffer_free (body);
    msgpack_sbuffer_destroy (&event);
}

static void
test_replay_from_and_max (void **state)
{
    (void) state;
    s_expect_refused (s_decode_body (ZCQ_MSG_REPLAY, NULL, "from", V_ZERO), ZCQ_INVALID,
                      "field 'from' must be 1 or more (positions start at 1)");

    msgpack_sbuffer *body = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, body, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 2);
    zcq_mpack_pack_str (&packer, "from");
    msgpack_pack_uint64 (&packer, 1);
    zcq_mpack_pack_str (&packer, "max");
    msgpack_pack_uint64 (&packer, ZCQ_MAX_EVENTS + 1);
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_REPLAY, body->data, body->size), ZCQ_INVALID,
                      "field 'max' is 1001, limit is 1000");

    msgpack_sbuffer_clear (body);
    msgpack_pack_map (&packer, 2);
    zcq_mpack_pack_str (&packer, "from");
    msgpack_pack_uint64 (&packer, 1);
    zcq_mpack_pack_str (&packer, "max");
    msgpack_pack_uint64 (&packer, ZCQ_MAX_EVENTS);
    zcq_msg_t *msg = zcq_msg_decode_body (ZCQ_MSG_REPLAY, body->data, body->size);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_max (msg), ZCQ_MAX_EVENTS);
    zcq_msg_destroy (&msg);
    msgpack_sbuffer_free (body);

    //  An EVENT's position and version start at 1 too
    s_expect_refused (s_decode_body (ZCQ_MSG_EVENT, NULL, "position", V_ZERO), ZCQ_INVALID,
                      "an EVENT's position and version start at 1");
    s_expect_refused (s_decode_body (ZCQ_MSG_EVENT, NULL, "version", V_ZERO), ZCQ_INVALID,
                      "an EVENT's position and version start at 1");
}

static void
test_unknown_keys_are_ignored (void **state)
{
    (void) state;
    //  A later minor version may add keys: a v1 decoder skips them
    for (int type = ZCQ_MSG_COMMAND; type < ZCQ_MSG_TYPES; type++) {
        const s_field_t *fields = s_body_of ((zcq_msg_type_t) type);
        size_t count = 0;
        while (fields [count].key) {
            count++;
        }
        msgpack_sbuffer *body = msgpack_sbuffer_new ();
        msgpack_packer packer;
        msgpack_packer_init (&packer, body, msgpack_sbuffer_write);
        msgpack_pack_map (&packer, count + 3);
        zcq_mpack_pack_str (&packer, "priority");
        msgpack_pack_array (&packer, 1);
        msgpack_pack_nil (&packer);
        for (size_t index = 0; index < count; index++) {
            zcq_mpack_pack_str (&packer, fields [index].key);
            s_pack_value (&packer, fields [index].value);
        }
        zcq_mpack_pack_str (&packer, "x-trace");
        msgpack_pack_bin (&packer, 3);
        msgpack_pack_bin_body (&packer, "\x00\x01\x02", 3);
        zcq_mpack_pack_str (&packer, "");
        msgpack_pack_map (&packer, 0);
        zcq_msg_t *msg = zcq_msg_decode_body ((zcq_msg_type_t) type, body->data, body->size);
        if (!zcq_msg_valid (msg)) {
            print_error ("%s with unknown keys: %s\n",
                         zcq_msg_type_name ((zcq_msg_type_t) type), zcq_msg_error (msg));
            fail ();
        }
        zcq_msg_destroy (&msg);
        msgpack_sbuffer_free (body);
    }
    //  Unknown keys inside an EVENT's meta too
    zcq_msg_t *msg = s_decode_body (ZCQ_MSG_EVENT, NULL, "meta", W_MAP);
    assert_true (zcq_msg_valid (msg));
    zcq_msg_destroy (&msg);
}

static void
test_keys_of_other_types_are_ignored (void **state)
{
    (void) state;
    //  "status" and "head" mean nothing in a COMMAND: they are skipped,
    //  whatever their value, like any unknown key
    msgpack_sbuffer *body = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, body, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 5);
    zcq_mpack_pack_str (&packer, "id");
    msgpack_pack_bin (&packer, ZCQ_COMMAND_ID);
    msgpack_pack_bin_body (&packer, s_command_id, ZCQ_COMMAND_ID);
    zcq_mpack_pack_str (&packer, "type");
    zcq_mpack_pack_str (&packer, "Deposit");
    zcq_mpack_pack_str (&packer, "stream");
    zcq_mpack_pack_str (&packer, "account-1");
    zcq_mpack_pack_str (&packer, "status");
    zcq_mpack_pack_str (&packer, "maybe");
    zcq_mpack_pack_str (&packer, "head");
    msgpack_pack_int (&packer, -1);
    zcq_msg_t *msg = zcq_msg_decode_body (ZCQ_MSG_COMMAND, body->data, body->size);
    assert_true (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_head (msg), 0);
    zcq_msg_destroy (&msg);
    msgpack_sbuffer_free (body);

    //  A time past the signed range says so
    body = msgpack_sbuffer_new ();
    msgpack_packer_init (&packer, body, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 2);
    zcq_mpack_pack_str (&packer, "head");
    msgpack_pack_int (&packer, 1);
    zcq_mpack_pack_str (&packer, "time");
    msgpack_pack_uint64 (&packer, UINT64_MAX);
    msg = zcq_msg_decode_body (ZCQ_MSG_HEARTBEAT, body->data, body->size);
    assert_false (zcq_msg_valid (msg));
    s_assert_contains (zcq_msg_error (msg), "over the largest signed 64-bit integer");
    zcq_msg_destroy (&msg);
    msgpack_sbuffer_free (body);
}

static void
test_results_may_exceed_the_data_limit (void **state)
{
    (void) state;
    //  A query answer is bounded by the body (1 MiB), not by the 256 KiB
    //  limit on command and event data
    size_t size = 400 * 1024;
    char *text = (char *) malloc (size);
    memset (text, 'r', size);
    msgpack_sbuffer payload;
    msgpack_sbuffer_init (&payload);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &payload, msgpack_sbuffer_write);
    msgpack_pack_str (&packer, size);
    msgpack_pack_str_body (&packer, text, size);
    zcq_msg_t *result = zcq_msg_new (ZCQ_MSG_RESULT);
    zcq_msg_set_data (result, payload.data, payload.size);
    zcq_msg_t *copy = s_round_trip (result);
    assert_true (zcq_msg_valid (copy));
    assert_int_equal (zcq_msg_data_size (copy), payload.size);
    zcq_msg_destroy (&copy);
    zcq_msg_destroy (&result);
    msgpack_sbuffer_destroy (&payload);
    free (text);
}

static void
test_reasons_are_made_safe_to_send (void **state)
{
    (void) state;
    //  A domain's reason with a newline or broken UTF-8 must not make an
    //  unreadable REPLY: control characters become spaces, bad bytes '?'
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
    zcq_msg_set_reason (reply, "line one\nline two \xff end");
    assert_string_equal (zcq_msg_reason (reply), "line one line two ? end");
    zcq_msg_t *copy = s_round_trip (reply);
    assert_true (zcq_msg_valid (copy));
    zcq_msg_destroy (&copy);
    //  A correlation id that breaks the rules is refused by the encoder
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, s_command_id, ZCQ_COMMAND_ID);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, "account-1");
    zcq_msg_set_correlation (command, "bad\tid");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (zcq_msg_encode_body (command, &buffer), -1);
    s_assert_contains (zcq_msg_error (command), "correlation");
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_destroy (&command);
    zcq_msg_destroy (&reply);
}

static void
test_first_error_is_kept (void **state)
{
    (void) state;
    zcq_msg_t *msg = zcq_msg_new (ZCQ_MSG_QUERY);
    assert_true (zcq_msg_valid (msg));
    zcq_msg_set_error (msg, ZCQ_INVALID, "field '%s' is wrong", "name");
    zcq_msg_set_error (msg, ZCQ_TOO_LARGE, "and something else");
    assert_false (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_error_status (msg), ZCQ_INVALID);
    assert_string_equal (zcq_msg_error (msg), "field 'name' is wrong");
    zcq_msg_destroy (&msg);
}

//  --- Sockets ----------------------------------------------------------------

//  A socket with a bounded receive, so no test waits forever.
static zsock_t *
s_socket (int type, const char *endpoint, bool bind)
{
    zsock_t *sock = zsock_new (type);
    assert_non_null (sock);
    zsock_set_linger (sock, 0);
    zsock_set_rcvtimeo (sock, RECV_TIMEOUT);
    int rc = bind ? zsock_bind (sock, "%s", endpoint) : zsock_connect (sock, "%s", endpoint);
    assert_int_equal (rc, 0);
    return sock;
}

//  Send a COMMAND with this id and stream from sock.
static void
s_send_command (zsock_t *sock, byte first, const char *stream)
{
    byte id [ZCQ_COMMAND_ID];
    memset (id, first, sizeof id);
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_id (command, id, sizeof id);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, stream);
    assert_int_equal (zcq_msg_send (command, sock), 0);
    zcq_msg_destroy (&command);
}

static void
test_router_keeps_the_routing_id (void **state)
{
    (void) state;
    zsock_t *router = s_socket (ZMQ_ROUTER, "inproc://test-msg-router", true);
    zsock_t *alice = s_socket (ZMQ_DEALER, "inproc://test-msg-router", false);
    zsock_t *bob = s_socket (ZMQ_DEALER, "inproc://test-msg-router", false);
    s_send_command (alice, 0xaa, "alice");
    s_send_command (bob, 0xbb, "bob");

    //  The ROUTER takes both, each with its sender's routing id, and answers
    //  each through zcq_msg_reply_to, which keeps the envelope; the second
    //  is received with the socket's type given, and answered with no frame
    //  ever made of its envelope
    for (int index = 0; index < 2; index++) {
        zcq_msg_t *command = index == 0
                                 ? zcq_msg_recv (router)
                                 : zcq_msg_recv_typed (router, ZMQ_ROUTER, ZCQ_RECV_PLAIN);
        assert_non_null (command);
        assert_true (zcq_msg_valid (command));
        assert_int_equal (zcq_msg_type (command), ZCQ_MSG_COMMAND);
        assert_null (zcq_msg_roles (command)); //  a plain socket: nobody authenticated
        size_t size = 0;
        const byte *routing = zcq_msg_routing (command, &size);
        assert_non_null (routing);
        assert_true (size > 0 && size <= ZCQ_MAX_ROUTING);
        zcq_msg_t *reply = zcq_msg_reply_to (command, ZCQ_ACCEPTED);
        size_t reply_size = 0;
        const byte *reply_routing = zcq_msg_routing (reply, &reply_size);
        assert_int_equal (reply_size, size);
        assert_memory_equal (reply_routing, routing, size);
        if (index == 0) {
            zframe_t *frame = zcq_msg_routing_id (command);
            assert_non_null (frame);
            assert_int_equal (zframe_size (frame), size);
            assert_memory_equal (zframe_data (frame), routing, size);
            assert_ptr_equal (zcq_msg_routing_id (command), frame); //  made once
            assert_true (zframe_eq (zcq_msg_routing_id (reply), frame));
        }
        zcq_msg_set_reason (reply, "for %s", zcq_msg_stream (command));
        assert_int_equal (zcq_msg_send (reply, router), 0);
        zcq_msg_destroy (&reply);
        zcq_msg_destroy (&command);
    }
    //  Each DEALER gets its own reply, with no envelope
    zcq_msg_t *reply = zcq_msg_recv (alice);
    assert_non_null (reply);
    assert_true (zcq_msg_valid (reply));
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_REPLY);
    assert_null (zcq_msg_routing_id (reply));
    size_t none = 1;
    assert_null (zcq_msg_routing (reply, &none));
    assert_int_equal (none, 0);
    assert_int_equal (zcq_msg_id (reply) [0], 0xaa);
    assert_string_equal (zcq_msg_reason (reply), "for alice");
    zcq_msg_destroy (&reply);
    reply = zcq_msg_recv_typed (bob, ZMQ_DEALER, ZCQ_RECV_NOWAIT); //  there or on its way
    if (!reply) {
        assert_int_equal (zmq_errno (), EAGAIN);
        reply = zcq_msg_recv_typed (bob, ZMQ_DEALER, 0);
    }
    assert_non_null (reply);
    assert_int_equal (zcq_msg_id (reply) [0], 0xbb);
    assert_string_equal (zcq_msg_reason (reply), "for bob");
    zcq_msg_destroy (&reply);

    //  Garbage from a peer: decoded as invalid, envelope kept, an ERROR goes back
    zstr_send (alice, "hello");
    zcq_msg_t *garbage = zcq_msg_recv (router);
    assert_non_null (garbage);
    assert_false (zcq_msg_valid (garbage));
    assert_non_null (zcq_msg_routing_id (garbage));
    zcq_msg_t *error = zcq_msg_reply_to (garbage, zcq_msg_error_status (garbage));
    zcq_msg_set_reason (error, "%s", zcq_msg_error (garbage));
    assert_int_equal (zcq_msg_send (error, router), 0);
    zcq_msg_destroy (&error);
    zcq_msg_destroy (&garbage);
    error = zcq_msg_recv (alice);
    assert_non_null (error);
    assert_true (zcq_msg_valid (error));
    assert_int_equal (zcq_msg_type (error), ZCQ_MSG_ERROR);
    assert_int_equal (zcq_msg_status (error), ZCQ_INVALID);
    assert_string_equal (zcq_msg_reason (error),
                         "a message needs 3 frames (signature, type, body), got 1");
    zcq_msg_destroy (&error);

    zsock_destroy (&bob);
    zsock_destroy (&alice);
    zsock_destroy (&router);
}

static void
test_req_peer_gets_its_reply (void **state)
{
    (void) state;
    zsock_t *router = s_socket (ZMQ_ROUTER, "inproc://test-msg-req", true);
    zsock_t *req = s_socket (ZMQ_REQ, "inproc://test-msg-req", false);

    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_id (query, "q-1", 3);
    zcq_msg_set_name (query, "status");
    assert_int_equal (zcq_msg_send (query, req), 0);
    zcq_msg_destroy (&query);

    //  REQ puts an empty delimiter after the routing id: it is not frame 1
    query = zcq_msg_recv (router);
    assert_non_null (query);
    assert_true (zcq_msg_valid (query));
    assert_int_equal (zcq_msg_type (query), ZCQ_MSG_QUERY);
    assert_string_equal (zcq_msg_name (query), "status");

    //  ... and the reply puts it back, or REQ would drop the reply
    zcq_msg_t *result = zcq_msg_reply_to (query, ZCQ_OK);
    zcq_msg_set_position (result, 12);
    assert_int_equal (zcq_msg_send (result, router), 0);
    zcq_msg_destroy (&result);
    zcq_msg_destroy (&query);

    result = zcq_msg_recv (req);
    assert_non_null (result);
    assert_true (zcq_msg_valid (result));
    assert_int_equal (zcq_msg_type (result), ZCQ_MSG_RESULT);
    assert_memory_equal (zcq_msg_id (result), "q-1", 3);
    assert_int_equal (zcq_msg_position (result), 12);
    zcq_msg_destroy (&result);

    zsock_destroy (&req);
    zsock_destroy (&router);
}

static void
test_reply_to_each_request_type (void **state)
{
    (void) state;
    static const struct {
        zcq_msg_type_t request;
        zcq_status_t status;
        zcq_msg_type_t answer;
    } cases [] = {
        {ZCQ_MSG_COMMAND, ZCQ_ACCEPTED, ZCQ_MSG_REPLY},
        {ZCQ_MSG_COMMAND, ZCQ_UNAVAILABLE, ZCQ_MSG_REPLY},
        {ZCQ_MSG_QUERY, ZCQ_OK, ZCQ_MSG_RESULT},
        {ZCQ_MSG_QUERY, ZCQ_STALE, ZCQ_MSG_RESULT},
        {ZCQ_MSG_REPLAY, ZCQ_OK, ZCQ_MSG_EVENTS},
        {ZCQ_MSG_REPLAY, ZCQ_UNAVAILABLE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_REPLY, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_EVENT, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_HEARTBEAT, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_EVENTS, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_RESULT, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_WATCH, ZCQ_OK, ZCQ_MSG_UPDATE},
        {ZCQ_MSG_WATCH, ZCQ_BUSY, ZCQ_MSG_UPDATE},
        {ZCQ_MSG_ACK, ZCQ_NOT_FOUND, ZCQ_MSG_UPDATE},
        {ZCQ_MSG_UNWATCH, ZCQ_NOT_FOUND, ZCQ_MSG_UPDATE},
        {ZCQ_MSG_UPDATE, ZCQ_UNKNOWN_TYPE, ZCQ_MSG_ERROR},
        {ZCQ_MSG_UNKNOWN, ZCQ_INVALID, ZCQ_MSG_ERROR},
    };
    zframe_t *routing_id = zframe_new ("\x00\x6b\x8b\x45\x67", 5);
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        zcq_msg_t *request = zcq_msg_new (cases [index].request);
        zcq_msg_set_id (request, "req-7", 5);
        zcq_msg_set_routing_id (request, routing_id);
        zcq_msg_t *reply = zcq_msg_reply_to (request, cases [index].status);
        assert_int_equal (zcq_msg_type (reply), cases [index].answer);
        assert_int_equal (zcq_msg_status (reply), cases [index].status);
        assert_int_equal (zcq_msg_id_size (reply), 5);
        assert_memory_equal (zcq_msg_id (reply), "req-7", 5);
        assert_true (zframe_eq (zcq_msg_routing_id (reply), routing_id));
        assert_true (zcq_msg_valid (reply));
        zcq_msg_destroy (&reply);
        zcq_msg_destroy (&request);
    }
    zframe_destroy (&routing_id);

    //  A request that did not decode still gets the answer of its type:
    //  an invalid COMMAND a REPLY, an invalid QUERY a RESULT
    zcq_msg_t *request = s_decode_body (ZCQ_MSG_COMMAND, "stream", NULL, V_NONE);
    assert_false (zcq_msg_valid (request));
    zcq_msg_t *reply = zcq_msg_reply_to (request, zcq_msg_error_status (request));
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_REPLY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_INVALID);
    assert_memory_equal (zcq_msg_id (reply), s_command_id, ZCQ_COMMAND_ID);
    assert_null (zcq_msg_routing_id (reply));
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&request);

    request = s_decode_body (ZCQ_MSG_QUERY, NULL, "params", W_STRING);
    reply = zcq_msg_reply_to (request, zcq_msg_error_status (request));
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_RESULT);
    assert_int_equal (zcq_msg_status (reply), ZCQ_INVALID);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&request);

    //  The type can be changed after the fact: a node refusing a message it
    //  does not take marks it UNKNOWN to answer with an ERROR
    request = s_decode_body (ZCQ_MSG_HEARTBEAT, NULL, NULL, V_NONE);
    zcq_msg_set_type (request, ZCQ_MSG_UNKNOWN);
    reply = zcq_msg_reply_to (request, ZCQ_UNKNOWN_TYPE);
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_ERROR);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&request);
}

//  --- Text -------------------------------------------------------------------

static void
test_set_reason_truncates_on_a_utf8_boundary (void **state)
{
    (void) state;
    //  A reason of 4095 'a' and one character of 2, 3 or 4 bytes: the
    //  character would straddle the 4096-byte limit, so it is dropped whole
    static const char *characters [] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    char *filler = (char *) malloc (ZCQ_MAX_TEXT);
    assert_non_null (filler);
    memset (filler, 'a', ZCQ_MAX_TEXT - 1);
    filler [ZCQ_MAX_TEXT - 1] = 0;
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
    for (size_t index = 0; index < 3; index++) {
        zcq_msg_set_reason (reply, "%s%s", filler, characters [index]);
        assert_int_equal (strlen (zcq_msg_reason (reply)), ZCQ_MAX_TEXT - 1);
        assert_true (zcq_text_is_utf8 (zcq_msg_reason (reply), ZCQ_MAX_TEXT - 1));
    }
    //  A character that ends exactly on the limit stays
    zcq_msg_set_reason (reply, "%.*s%s", ZCQ_MAX_TEXT - 2, filler, "\xc3\xa9");
    assert_int_equal (strlen (zcq_msg_reason (reply)), ZCQ_MAX_TEXT);
    //  Plain ASCII is cut at the limit exactly
    zcq_msg_set_reason (reply, "%s%s", filler, "bcd");
    assert_int_equal (strlen (zcq_msg_reason (reply)), ZCQ_MAX_TEXT);
    assert_int_equal (zcq_msg_reason (reply) [ZCQ_MAX_TEXT - 1], 'b');
    //  A cut reason still travels: it decodes on the other side
    zcq_msg_set_status (reply, ZCQ_REJECTED);
    zcq_msg_t *copy = s_round_trip (reply);
    assert_string_equal (zcq_msg_reason (copy), zcq_msg_reason (reply));
    zcq_msg_destroy (&copy);
    //  Short reasons are kept as they are
    zcq_msg_set_reason (reply, "account '%s' is closed", "acct-\xc3\xa9");
    assert_string_equal (zcq_msg_reason (reply), "account 'acct-\xc3\xa9' is closed");
    zcq_msg_destroy (&reply);
    free (filler);

    //  zcq_text_truncate itself
    char text [] = "ab\xe2\x82\xac";
    zcq_text_truncate (text, 4);
    assert_string_equal (text, "ab");
    char whole [] = "ab\xe2\x82\xac";
    zcq_text_truncate (whole, 5);
    assert_string_equal (whole, "ab\xe2\x82\xac");
    char none [] = "\xc3\xa9";
    zcq_text_truncate (none, 1);
    assert_string_equal (none, "");
}

static void
test_text_is_utf8 (void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
        bool valid;
        const char *what;
    } cases [] = {
        {"", 0, true, "empty"},
        {"acct-1 / Ze Bank", 16, true, "printable ASCII"},
        {"\xc3\xa9", 2, true, "2-byte e-acute"},
        {"\xe2\x82\xac", 3, true, "3-byte euro sign"},
        {"\xf0\x9f\x98\x80", 4, true, "4-byte emoji"},
        {"a\xf0\x9f\x98\x80z", 6, true, "emoji between ASCII"},
        {"\xed\x9f\xbf", 3, true, "U+D7FF, just below the surrogates"},
        {"\xee\x80\x80", 3, true, "U+E000, just above the surrogates"},
        {"\xf4\x8f\xbf\xbf", 4, true, "U+10FFFF, the last code point"},
        {"\xc2\x80", 2, true, "U+0080 (C1 controls are not refused)"},
        {"\t", 1, false, "tab"},
        {"a\nb", 3, false, "newline"},
        {"a\0b", 3, false, "NUL"},
        {"\x7f", 1, false, "DEL"},
        {"\x1f", 1, false, "unit separator"},
        {"\xc0\xaf", 2, false, "overlong '/' in 2 bytes"},
        {"\xc1\xbf", 2, false, "overlong in 2 bytes"},
        {"\xe0\x80\xaf", 3, false, "overlong '/' in 3 bytes"},
        {"\xf0\x82\x82\xac", 4, false, "overlong euro in 4 bytes"},
        {"\xed\xa0\x80", 3, false, "surrogate U+D800"},
        {"\xed\xbf\xbf", 3, false, "surrogate U+DFFF"},
        {"\xf4\x90\x80\x80", 4, false, "U+110000, past Unicode"},
        {"\xf7\xbf\xbf\xbf", 4, false, "U+1FFFFF"},
        {"\xf8\x88\x80\x80\x80", 5, false, "5-byte form"},
        {"\xff", 1, false, "0xff"},
        {"\x80", 1, false, "lone continuation byte"},
        {"\xc3", 1, false, "truncated 2-byte"},
        {"\xe2\x82", 2, false, "truncated 3-byte"},
        {"\xf0\x9f\x98", 3, false, "truncated 4-byte"},
        {"ok\xf0\x9f", 4, false, "truncated at the end"},
        {"\xc3\x28", 2, false, "bad continuation byte"},
        {"\xe2\x28\xa1", 3, false, "bad continuation in 3 bytes"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        //  Own allocation of exactly size bytes, so ASan catches over-reads
        char *bytes = (char *) malloc (cases [index].size ? cases [index].size : 1);
        assert_non_null (bytes);
        memcpy (bytes, cases [index].bytes, cases [index].size);
        if (zcq_text_is_utf8 (bytes, cases [index].size) != cases [index].valid) {
            print_error ("%s: expected %s\n", cases [index].what,
                         cases [index].valid ? "valid" : "invalid");
            fail ();
        }
        free (bytes);
    }
    //  Size counts, not the NUL: a prefix that cuts a character is invalid
    assert_false (zcq_text_is_utf8 ("\xf0\x9f\x98\x80", 2));
    assert_true (zcq_text_is_utf8 ("abc\x01", 3));
}

static void
test_text_printable (void **state)
{
    (void) state;
    char *text = zcq_text_printable ("hello", 5);
    assert_string_equal (text, "hello");
    free (text);
    text = zcq_text_printable ("", 0);
    assert_string_equal (text, "");
    free (text);
    //  Anything outside printable ASCII becomes '?', one per byte
    text = zcq_text_printable ("\x01"
                               "a\xff\n\xc3\xa9\x7f",
                               7);
    assert_string_equal (text, "?a?????");
    free (text);
    //  At most 40 bytes, then "..."
    char long_text [50];
    memset (long_text, 'x', sizeof long_text);
    text = zcq_text_printable (long_text, 40);
    assert_int_equal (strlen (text), 40);
    free (text);
    text = zcq_text_printable (long_text, 41);
    assert_int_equal (strlen (text), 43);
    assert_string_equal (text + 40, "...");
    free (text);

    assert_string_equal (zcq_text_msgpack_type (MSGPACK_OBJECT_NIL), "nil");
    assert_string_equal (zcq_text_msgpack_type (MSGPACK_OBJECT_POSITIVE_INTEGER), "integer");
    assert_string_equal (zcq_text_msgpack_type (MSGPACK_OBJECT_NEGATIVE_INTEGER),
                         "negative integer");
    assert_string_equal (zcq_text_msgpack_type (MSGPACK_OBJECT_FLOAT64), "float");
    assert_string_equal (zcq_text_msgpack_type (MSGPACK_OBJECT_BIN), "binary");
    assert_string_equal (zcq_text_msgpack_type (MSGPACK_OBJECT_EXT), "extension");
}

//  A RESULT body {status: "ok", may_be_stale: value}, the value packed as a
//  boolean or as an integer. Caller frees with msgpack_sbuffer_free.
static msgpack_sbuffer *
s_result_flagged (bool as_boolean, int value)
{
    msgpack_sbuffer *body = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, body, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 2);
    msgpack_pack_str (&packer, 6);
    msgpack_pack_str_body (&packer, "status", 6);
    msgpack_pack_str (&packer, 2);
    msgpack_pack_str_body (&packer, "ok", 2);
    msgpack_pack_str (&packer, 12);
    msgpack_pack_str_body (&packer, "may_be_stale", 12);
    if (as_boolean) {
        value ? msgpack_pack_true (&packer) : msgpack_pack_false (&packer);
    }
    else {
        msgpack_pack_int (&packer, value);
    }
    return body;
}

//  may_be_stale: an optional RESULT key, sent only when true, so a RESULT
//  without it is byte for byte what v1 peers that predate it send.
static void
test_result_may_be_stale (void **state)
{
    (void) state;
    zcq_msg_t *result = zcq_msg_new (ZCQ_MSG_RESULT);
    zcq_msg_set_status (result, ZCQ_OK);
    zcq_msg_set_position (result, 7);
    msgpack_sbuffer plain;
    msgpack_sbuffer_init (&plain);
    assert_int_equal (zcq_msg_encode_body (result, &plain), 0);
    assert_int_equal ((byte) plain.data [0], 0x85); //  map of 5: no may_be_stale
    zcq_msg_t *copy = s_round_trip (result);
    assert_false (zcq_msg_may_be_stale (copy));
    zcq_msg_destroy (&copy);

    zcq_msg_set_may_be_stale (result, true);
    msgpack_sbuffer flagged;
    msgpack_sbuffer_init (&flagged);
    assert_int_equal (zcq_msg_encode_body (result, &flagged), 0);
    assert_int_equal ((byte) flagged.data [0], 0x86);
    //  The same five keys first, then the flag
    assert_memory_equal (flagged.data + 1, plain.data + 1, plain.size - 1);
    copy = s_round_trip (result);
    assert_true (zcq_msg_may_be_stale (copy));
    assert_int_equal (zcq_msg_position (copy), 7);
    zcq_msg_destroy (&copy);
    msgpack_sbuffer_destroy (&plain);
    msgpack_sbuffer_destroy (&flagged);
    zcq_msg_destroy (&result);

    //  Not a boolean: named; false is accepted; other types ignore the key
    msgpack_sbuffer *body = s_result_flagged (false, 1);
    s_expect_refused (zcq_msg_decode_body (ZCQ_MSG_RESULT, body->data, body->size), ZCQ_INVALID,
                      "field 'may_be_stale' must be a boolean, got integer");
    zcq_msg_t *query = zcq_msg_decode_body (ZCQ_MSG_QUERY, body->data, body->size);
    assert_int_equal (zcq_msg_error_status (query), ZCQ_INVALID); //  no name: but not the flag
    s_assert_contains (zcq_msg_error (query), "missing field 'name'");
    zcq_msg_destroy (&query);
    msgpack_sbuffer_free (body);
    body = s_result_flagged (true, 0);
    result = zcq_msg_decode_body (ZCQ_MSG_RESULT, body->data, body->size);
    assert_true (zcq_msg_valid (result));
    assert_false (zcq_msg_may_be_stale (result));
    zcq_msg_destroy (&result);
    msgpack_sbuffer_free (body);
}

//  Encoded bodies are exactly what msgpack-c packs from the objects they
//  hold (the codec writes msgpack itself): every kind of header at each of
//  its boundaries, for numbers, texts, ids, payloads and name arrays.
static void
s_assert_canonical (zcq_msg_t *msg)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    assert_int_equal (zcq_msg_encode_body (msg, &body), 0);
    zcq_testkit_assert_repacks (body.data, body.size);
    msgpack_sbuffer_destroy (&body);
}

static void
test_encoded_bodies_are_msgpack_c_bytes (void **state)
{
    (void) state;
    static const uint64_t unsigned_edges [] = {
        0,         1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t) UINT32_MAX + 1,
        UINT64_MAX};
    static const int64_t signed_edges [] = {INT64_MIN,  (int64_t) INT32_MIN - 1,
                                            INT32_MIN,  -32769,
                                            -32768,     -129,
                                            -128,       -33,
                                            -32,        -1,
                                            0,          1,
                                            127,        128,
                                            255,        256,
                                            65535,      65536,
                                            UINT32_MAX, (int64_t) UINT32_MAX + 1,
                                            INT64_MAX};
    static const size_t text_edges [] = {1, 31, 32, 255, 256};
    char text [ZCQ_MAX_STREAM + 1];
    for (size_t index = 0; index < sizeof (unsigned_edges) / sizeof (unsigned_edges [0]);
         index++) {
        uint64_t number = unsigned_edges [index];
        zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
        byte id [ZCQ_COMMAND_ID] = {1, 2, 3};
        zcq_msg_set_id (reply, id, sizeof (id));
        zcq_msg_set_status (reply, ZCQ_ACCEPTED);
        zcq_msg_set_version (reply, number);
        zcq_msg_set_position (reply, number);
        zcq_msg_set_count (reply, (uint32_t) number);
        zcq_msg_set_retry_after (reply, (uint32_t) number);
        s_assert_canonical (reply);
        zcq_msg_destroy (&reply);
    }
    for (size_t index = 0; index < sizeof (signed_edges) / sizeof (signed_edges [0]); index++) {
        zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
        zcq_msg_set_stream (event, "account-1");
        zcq_msg_set_name (event, "Deposited");
        zcq_msg_set_version (event, 1);
        zcq_msg_set_position (event, 1);
        zcq_msg_set_time (event, signed_edges [index]);
        s_assert_canonical (event);
        zcq_msg_destroy (&event);
        zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
        byte id [ZCQ_COMMAND_ID] = {9};
        zcq_msg_set_id (command, id, sizeof (id));
        zcq_msg_set_stream (command, "account-1");
        zcq_msg_set_name (command, "Deposit");
        zcq_msg_set_expect (command, signed_edges [index]);
        s_assert_canonical (command);
        zcq_msg_destroy (&command);
    }
    for (size_t index = 0; index < sizeof (text_edges) / sizeof (text_edges [0]); index++) {
        memset (text, 'a' + (int) index, text_edges [index]);
        text [text_edges [index]] = 0;
        zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
        byte id [ZCQ_COMMAND_ID] = {7};
        zcq_msg_set_id (command, id, sizeof (id));
        zcq_msg_set_stream (command, text);
        zcq_msg_set_name (command, text_edges [index] <= ZCQ_MAX_NAME ? text : "Deposit");
        zcq_msg_set_correlation (command, text);
        //  A payload of map16 with a bin16 in it, as msgpack-c packs them
        msgpack_sbuffer data;
        msgpack_sbuffer_init (&data);
        msgpack_packer packer;
        msgpack_packer_init (&packer, &data, msgpack_sbuffer_write);
        msgpack_pack_map (&packer, 16 + index);
        for (size_t pair = 0; pair < 16 + index; pair++) {
            msgpack_pack_uint64 (&packer, pair * 1000);
            msgpack_pack_bin (&packer, pair == 0 ? 300 : pair);
            msgpack_pack_bin_body (&packer, text, pair == 0 ? 0 : pair);
            if (pair == 0) {
                byte zeros [300] = {0};
                msgpack_pack_bin_body (&packer, zeros, sizeof (zeros));
            }
        }
        zcq_msg_set_data (command, data.data, data.size);
        msgpack_sbuffer_destroy (&data);
        s_assert_canonical (command);
        zcq_msg_destroy (&command);
    }
    //  Texts past str8 and str16: a reason of each size
    static const size_t long_edges [] = {65535, 65536, 70000};
    char *reason = (char *) malloc (70001);
    for (size_t index = 0; index < sizeof (long_edges) / sizeof (long_edges [0]); index++) {
        memset (reason, 'r', long_edges [index]);
        reason [long_edges [index]] = 0;
        zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
        byte id [ZCQ_COMMAND_ID] = {5};
        zcq_msg_set_id (reply, id, sizeof (id));
        zcq_msg_set_status (reply, ZCQ_REJECTED);
        zcq_msg_set_reason (reply, "%s", reason);
        s_assert_canonical (reply);
        zcq_msg_destroy (&reply);
    }
    free (reason);
    //  A name array of fixarray and of array16 size
    for (size_t types = 1; types <= ZCQ_MAX_TYPES; types += ZCQ_MAX_TYPES - 1) {
        zcq_msg_t *replay = zcq_msg_new (ZCQ_MSG_REPLAY);
        zcq_msg_set_from (replay, 1);
        for (size_t index = 0; index < types; index++) {
            snprintf (text, sizeof (text), "Type%zu", index);
            assert_int_equal (zcq_msg_add_type (replay, text), 0);
        }
        s_assert_canonical (replay);
        zcq_msg_destroy (&replay);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_type_names_both_ways),
        cmocka_unit_test (test_status_names_both_ways_and_retryable),
        cmocka_unit_test (test_command_round_trip),
        cmocka_unit_test (test_event_user),
        cmocka_unit_test (test_recv_plain_has_no_user),
        cmocka_unit_test (test_send_to_gone_peer_fails_and_frees),
        cmocka_unit_test (test_command_expect_any_zero_and_n),
        cmocka_unit_test (test_command_body_bytes),
        cmocka_unit_test (test_reply_round_trip),
        cmocka_unit_test (test_event_round_trip),
        cmocka_unit_test (test_heartbeat_round_trip),
        cmocka_unit_test (test_replay_round_trip),
        cmocka_unit_test (test_events_round_trip_with_several_frames),
        cmocka_unit_test (test_query_round_trip),
        cmocka_unit_test (test_result_round_trip),
        cmocka_unit_test (test_error_round_trip),
        cmocka_unit_test (test_wrong_frame_counts),
        cmocka_unit_test (test_signature_must_be_zcq),
        cmocka_unit_test (test_signature_wrong_version),
        cmocka_unit_test (test_unknown_type_name),
        cmocka_unit_test (test_body_not_msgpack),
        cmocka_unit_test (test_every_prefix_of_a_body_is_invalid),
        cmocka_unit_test (test_trailing_bytes),
        cmocka_unit_test (test_body_not_a_map),
        cmocka_unit_test (test_non_string_key),
        cmocka_unit_test (test_body_over_max_body),
        cmocka_unit_test (test_each_required_field_missing),
        cmocka_unit_test (test_each_field_mistyped),
        cmocka_unit_test (test_negative_where_unsigned),
        cmocka_unit_test (test_command_id_must_be_16_bytes),
        cmocka_unit_test (test_stream_names),
        cmocka_unit_test (test_names_and_texts_have_limits),
        cmocka_unit_test (test_data_must_be_a_map_within_limit),
        cmocka_unit_test (test_events_count_must_match_frames),
        cmocka_unit_test (test_replay_from_and_max),
        cmocka_unit_test (test_unknown_keys_are_ignored),
        cmocka_unit_test (test_keys_of_other_types_are_ignored),
        cmocka_unit_test (test_results_may_exceed_the_data_limit),
        cmocka_unit_test (test_reasons_are_made_safe_to_send),
        cmocka_unit_test (test_first_error_is_kept),
        cmocka_unit_test (test_router_keeps_the_routing_id),
        cmocka_unit_test (test_req_peer_gets_its_reply),
        cmocka_unit_test (test_reply_to_each_request_type),
        cmocka_unit_test (test_set_reason_truncates_on_a_utf8_boundary),
        cmocka_unit_test (test_text_is_utf8),
        cmocka_unit_test (test_text_printable),
        cmocka_unit_test (test_result_may_be_stale),
        cmocka_unit_test (test_event_topic_of_generated_events),
        cmocka_unit_test (test_event_topic_refuses_what_the_decoder_refuses),
        cmocka_unit_test (test_encoded_bodies_are_msgpack_c_bytes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
