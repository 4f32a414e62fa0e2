/*  =========================================================================
    test_vectors - the C codec passes every ZCQ1 test vector

    protocol/vectors/ holds one JSON file per vector (README.md there says
    how they are laid out). For each valid vector the frames decode to the
    stated meaning, and the meaning, built with the setters, encodes to the
    same frames (or to the vector's "encoded" frames, when the wire form is
    not the one the encoder writes). Each invalid vector is refused with the
    stated status, a reason that contains the stated text, the type frame 2
    named and the id read before the error.

    The vectors are read with zcq_json_to_msgpack, so a meaning is walked as
    a msgpack object. ZCQ_VECTORS names another folder (default:
    protocol/vectors, relative to where the test runs: the repository).
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

typedef zcq_testkit_vector_t vector_t;

//  Every vector of the folder, sorted by name.
typedef struct {
    vector_t *items; //  the vectors
    size_t count;    //  entries in items
} vectors_t;

static int s_failures; //  mismatches found in the current test

//  Report a mismatch of one vector and count it; the test fails at its end.
static void
s_mismatch (const vector_t *vector, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    print_error ("vector %s: %s\n", vector->name, text);
    zstr_free (&text);
    s_failures++;
}

//  --- Reading the vectors ----------------------------------------------------

//  Read and parse every *.json of the folder; asserts on unreadable files.
static int
s_vectors_setup (void **state)
{
    vectors_t *vectors = (vectors_t *) zmalloc (sizeof (vectors_t));
    vectors->items = zcq_testkit_vectors_new (&vectors->count);
    if (!vectors->items) {
        free (vectors);
        return -1;
    }
    *state = vectors;
    return 0;
}

static int
s_vectors_teardown (void **state)
{
    vectors_t *vectors = (vectors_t *) *state;
    zcq_testkit_vectors_destroy (&vectors->items, vectors->count);
    free (vectors);
    return 0;
}

//  A string object as a new C string (caller frees); asserts on other types.
static char *
s_text (const msgpack_object *object)
{
    assert_non_null (object);
    assert_int_equal (object->type, MSGPACK_OBJECT_STR);
    return zsys_sprintf ("%.*s", (int) object->via.str.size, object->via.str.ptr);
}

//  The frames of an array of hex strings.
static zmsg_t *
s_frames (const msgpack_object *array)
{
    assert_non_null (array);
    assert_int_equal (array->type, MSGPACK_OBJECT_ARRAY);
    zmsg_t *zmsg = zmsg_new ();
    for (uint32_t index = 0; index < array->via.array.size; index++) {
        zframe_t *frame = zcq_testkit_unhex (&array->via.array.ptr [index]);
        zmsg_append (zmsg, &frame);
    }
    return zmsg;
}

//  --- Meaning to message -----------------------------------------------------

//  An integer object as int64 (uint64 above INT64_MAX wraps, as setters take).
static int64_t
s_int (const msgpack_object *object)
{
    assert_non_null (object);
    if (object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return object->via.i64;
    }
    assert_int_equal (object->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    return (int64_t) object->via.u64;
}

static void
s_set_id (zcq_msg_t *msg, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_NIL) {
        zframe_t *id = zcq_testkit_unhex (value);
        zcq_msg_set_id (msg, zframe_data (id), zframe_size (id));
        zframe_destroy (&id);
    }
}

//  A payload (data, params, result) as its packed bytes.
//  Pack a meaning's value; a map {"$ext": [type, hex]} is an ext value
//  (the vectors' JSON has no other way to say one, protocol/vectors).
static void
s_pack_meaning (msgpack_packer *packer, const msgpack_object *value)
{
    const msgpack_object_kv *pair =
        value->type == MSGPACK_OBJECT_MAP && value->via.map.size == 1 ? value->via.map.ptr
                                                                      : NULL;
    if (pair && pair->key.type == MSGPACK_OBJECT_STR && pair->key.via.str.size == 4
        && memcmp (pair->key.via.str.ptr, "$ext", 4) == 0) {
        assert_int_equal (pair->val.type, MSGPACK_OBJECT_ARRAY);
        assert_int_equal (pair->val.via.array.size, 2);
        char *hex = s_text (&pair->val.via.array.ptr [1]);
        size_t size = strlen (hex) / 2;
        byte *bytes = (byte *) malloc (size + 1);
        assert_non_null (bytes);
        for (size_t index = 0; index < size; index++) {
            unsigned int octet;
            assert_int_equal (sscanf (hex + index * 2, "%2x", &octet), 1);
            bytes [index] = (byte) octet;
        }
        msgpack_pack_ext (packer, size, (int8_t) s_int (&pair->val.via.array.ptr [0]));
        msgpack_pack_ext_body (packer, bytes, size);
        free (bytes);
        zstr_free (&hex);
    }
    else if (value->type == MSGPACK_OBJECT_MAP) {
        msgpack_pack_map (packer, value->via.map.size);
        for (uint32_t index = 0; index < value->via.map.size; index++) {
            msgpack_pack_object (packer, value->via.map.ptr [index].key);
            s_pack_meaning (packer, &value->via.map.ptr [index].val);
        }
    }
    else if (value->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array (packer, value->via.array.size);
        for (uint32_t index = 0; index < value->via.array.size; index++) {
            s_pack_meaning (packer, &value->via.array.ptr [index]);
        }
    }
    else {
        msgpack_pack_object (packer, *value);
    }
}

static void
s_set_payload (zcq_msg_t *msg, const msgpack_object *value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    s_pack_meaning (&packer, value);
    zcq_msg_set_data (msg, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

static zcq_msg_t *s_message (zcq_msg_type_t type, const msgpack_object *fields);

//  Set one field of the meaning on msg; false if the key is not a field.
static bool
s_set_field (zcq_msg_t *msg, const char *key, const msgpack_object *value)
{
    if (streq (key, "id")) {
        s_set_id (msg, value);
    }
    else if (streq (key, "type") || streq (key, "name")) {
        char *text = s_text (value);
        zcq_msg_set_name (msg, text);
        zstr_free (&text);
    }
    else if (streq (key, "user")) {
        char *text = s_text (value);
        zcq_msg_set_user (msg, text);
        zstr_free (&text);
    }
    else if (streq (key, "cluster") || streq (key, "incarnation") || streq (key, "domain")) {
        char *text = s_text (value);
        zcq_msg_set_origin (msg, streq (key, "cluster") ? text : zcq_msg_cluster (msg),
                            streq (key, "incarnation") ? text : zcq_msg_incarnation (msg),
                            streq (key, "domain") ? text : zcq_msg_domain (msg));
        zstr_free (&text);
    }
    else if (streq (key, "stream") || streq (key, "reason") || streq (key, "correlation")) {
        char *text = s_text (value);
        if (streq (key, "stream")) {
            zcq_msg_set_stream (msg, text);
        }
        else if (streq (key, "reason")) {
            zcq_msg_set_reason (msg, "%s", text);
        }
        else {
            zcq_msg_set_correlation (msg, text);
        }
        zstr_free (&text);
    }
    else if (streq (key, "expect")) {
        zcq_msg_set_expect (msg,
                            value->type == MSGPACK_OBJECT_NIL ? ZCQ_EXPECT_ANY : s_int (value));
    }
    else if (streq (key, "data") || streq (key, "params") || streq (key, "result")) {
        s_set_payload (msg, value);
    }
    else if (streq (key, "status")) {
        assert_int_equal (value->type, MSGPACK_OBJECT_STR);
        int status = zcq_status_from_name (value->via.str.ptr, value->via.str.size);
        assert_true (status >= 0);
        zcq_msg_set_status (msg, (zcq_status_t) status);
    }
    else if (streq (key, "version")) {
        zcq_msg_set_version (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "position")) {
        zcq_msg_set_position (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "deleted")) {
        zcq_msg_set_deleted (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "schema")) {
        zcq_msg_set_schema (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "count")) {
        zcq_msg_set_count (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "time")) {
        zcq_msg_set_time (msg, s_int (value));
    }
    else if (streq (key, "from")) {
        zcq_msg_set_from (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "since")) {
        zcq_msg_set_since (msg, s_int (value));
    }
    else if (streq (key, "to")) {
        zcq_msg_set_to (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "category")) {
        char *text = s_text (value);
        zcq_msg_set_category (msg, text);
        zstr_free (&text);
    }
    else if (streq (key, "types")) {
        assert_int_equal (value->type, MSGPACK_OBJECT_ARRAY);
        for (uint32_t index = 0; index < value->via.array.size; index++) {
            char *text = s_text (&value->via.array.ptr [index]);
            assert_int_equal (zcq_msg_add_type (msg, text), 0);
            zstr_free (&text);
        }
    }
    else if (streq (key, "max")) {
        zcq_msg_set_max (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "head")) {
        zcq_msg_set_head (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "interval")) {
        zcq_msg_set_interval (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "min_position")) {
        zcq_msg_set_min_position (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "timeout")) {
        zcq_msg_set_timeout (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "retry_after")) {
        zcq_msg_set_retry_after (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "seq")) {
        zcq_msg_set_seq (msg, (uint64_t) s_int (value));
    }
    else if (streq (key, "lease")) {
        zcq_msg_set_lease (msg, (uint32_t) s_int (value));
    }
    else if (streq (key, "may_be_stale")) {
        assert_int_equal (value->type, MSGPACK_OBJECT_BOOLEAN);
        zcq_msg_set_may_be_stale (msg, value->via.boolean);
    }
    else if (streq (key, "leader")) {
        char *text = s_text (value);
        zcq_msg_set_leader (msg, text);
        zstr_free (&text);
    }
    else if (streq (key, "meta")) {
        //  EVENT meta: command (the id), time, correlation, user
        assert_int_equal (value->type, MSGPACK_OBJECT_MAP);
        for (uint32_t index = 0; index < value->via.map.size; index++) {
            char *name = s_text (&value->via.map.ptr [index].key);
            bool known = s_set_field (msg, streq (name, "command") ? "id" : name,
                                      &value->via.map.ptr [index].val);
            assert_true (known);
            zstr_free (&name);
        }
    }
    else if (streq (key, "events")) {
        //  EVENTS: each event meaning becomes one EVENT body frame
        assert_int_equal (value->type, MSGPACK_OBJECT_ARRAY);
        for (uint32_t index = 0; index < value->via.array.size; index++) {
            zcq_msg_t *event = s_message (ZCQ_MSG_EVENT, &value->via.array.ptr [index]);
            msgpack_sbuffer body;
            msgpack_sbuffer_init (&body);
            assert_int_equal (zcq_msg_encode_body (event, &body), 0);
            zcq_msg_add_event (msg, body.data, body.size);
            msgpack_sbuffer_destroy (&body);
            zcq_msg_destroy (&event);
        }
    }
    else {
        return false;
    }
    return true;
}

//  The message a meaning's fields describe, built with the setters.
static zcq_msg_t *
s_message (zcq_msg_type_t type, const msgpack_object *fields)
{
    assert_non_null (fields);
    assert_int_equal (fields->type, MSGPACK_OBJECT_MAP);
    zcq_msg_t *msg = zcq_msg_new (type);
    for (uint32_t index = 0; index < fields->via.map.size; index++) {
        char *key = s_text (&fields->via.map.ptr [index].key);
        if (!s_set_field (msg, key, &fields->via.map.ptr [index].val)) {
            print_error ("a meaning has an unknown field '%s'\n", key);
            fail ();
        }
        zstr_free (&key);
    }
    return msg;
}

//  --- Comparing messages -----------------------------------------------------

//  A payload's bytes, with "absent" shown as what it decodes to.
static void
s_payload (zcq_msg_t *msg, const byte **data, size_t *size)
{
    static const byte empty_map = 0x80;
    static const byte nil = 0xc0;
    *data = zcq_msg_data (msg);
    *size = zcq_msg_data_size (msg);
    if (*size == 0) {
        *data = zcq_msg_type (msg) == ZCQ_MSG_RESULT || zcq_msg_type (msg) == ZCQ_MSG_UPDATE
                    ? &nil
                    : &empty_map;
        *size = 1;
    }
}

//  Report every field in which the decoded message differs from the meaning.
static void
s_compare (const vector_t *vector, zcq_msg_t *got, zcq_msg_t *want)
{
#define S_SAME_NUMBER(getter)                                                                  \
    if (getter (got) != getter (want)) {                                                       \
        s_mismatch (vector, "%s is %" PRId64 ", the meaning says %" PRId64, #getter,           \
                    (int64_t) getter (got), (int64_t) getter (want));                          \
    }
#define S_SAME_TEXT(getter)                                                                    \
    if (!streq (getter (got), getter (want))) {                                                \
        s_mismatch (vector, "%s is '%s', the meaning says '%s'", #getter, getter (got),        \
                    getter (want));                                                            \
    }
    S_SAME_NUMBER (zcq_msg_type);
    S_SAME_TEXT (zcq_msg_name);
    S_SAME_TEXT (zcq_msg_stream);
    S_SAME_TEXT (zcq_msg_reason);
    S_SAME_TEXT (zcq_msg_correlation);
    S_SAME_TEXT (zcq_msg_user);
    S_SAME_TEXT (zcq_msg_leader);
    S_SAME_TEXT (zcq_msg_cluster);
    S_SAME_TEXT (zcq_msg_incarnation);
    S_SAME_TEXT (zcq_msg_domain);
    S_SAME_NUMBER (zcq_msg_expect);
    S_SAME_NUMBER (zcq_msg_status);
    S_SAME_NUMBER (zcq_msg_version);
    S_SAME_NUMBER (zcq_msg_position);
    S_SAME_NUMBER (zcq_msg_schema);
    S_SAME_NUMBER (zcq_msg_deleted);
    S_SAME_NUMBER (zcq_msg_count);
    S_SAME_NUMBER (zcq_msg_time);
    S_SAME_NUMBER (zcq_msg_from);
    S_SAME_NUMBER (zcq_msg_max);
    S_SAME_NUMBER (zcq_msg_head);
    S_SAME_NUMBER (zcq_msg_interval);
    S_SAME_NUMBER (zcq_msg_min_position);
    S_SAME_NUMBER (zcq_msg_timeout);
    S_SAME_NUMBER (zcq_msg_retry_after);
    S_SAME_NUMBER (zcq_msg_seq);
    S_SAME_NUMBER (zcq_msg_lease);
    S_SAME_NUMBER (zcq_msg_may_be_stale);
    S_SAME_NUMBER (zcq_msg_event_count);
    S_SAME_NUMBER (zcq_msg_to);
    S_SAME_NUMBER (zcq_msg_since);
    S_SAME_TEXT (zcq_msg_category);
    S_SAME_NUMBER (zcq_msg_type_count);
    for (size_t index = 0;
         index < zcq_msg_type_count (got) && index < zcq_msg_type_count (want); index++) {
        if (!streq (zcq_msg_type_at (got, index), zcq_msg_type_at (want, index))) {
            s_mismatch (vector, "types [%zu] is '%s', the meaning says '%s'", index,
                        zcq_msg_type_at (got, index), zcq_msg_type_at (want, index));
        }
    }
#undef S_SAME_NUMBER
#undef S_SAME_TEXT
    if (zcq_msg_id_size (got) != zcq_msg_id_size (want)
        || memcmp (zcq_msg_id (got), zcq_msg_id (want), zcq_msg_id_size (got)) != 0) {
        s_mismatch (vector, "the id differs from the meaning's");
    }
    const byte *got_data, *want_data;
    size_t got_size, want_size;
    s_payload (got, &got_data, &got_size);
    s_payload (want, &want_data, &want_size);
    if (got_size != want_size || memcmp (got_data, want_data, got_size) != 0) {
        char *got_json = zcq_json_from_msgpack (got_data, got_size);
        char *want_json = zcq_json_from_msgpack (want_data, want_size);
        s_mismatch (vector, "payload %.200s, the meaning says %.200s", got_json, want_json);
        zstr_free (&got_json);
        zstr_free (&want_json);
    }
    //  EVENTS: each event frame decodes, as an EVENT, to the meaning's event
    for (size_t index = 0;
         index < zcq_msg_event_count (got) && index < zcq_msg_event_count (want); index++) {
        zframe_t *got_frame = zcq_msg_event_frame (got, index);
        zframe_t *want_frame = zcq_msg_event_frame (want, index);
        zcq_msg_t *got_event = zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (got_frame),
                                                    zframe_size (got_frame));
        zcq_msg_t *want_event = zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (want_frame),
                                                     zframe_size (want_frame));
        if (!zcq_msg_valid (got_event)) {
            s_mismatch (vector, "event frame %zu does not decode: %s", index,
                        zcq_msg_error (got_event));
        }
        else {
            s_compare (vector, got_event, want_event);
        }
        zcq_msg_destroy (&got_event);
        zcq_msg_destroy (&want_event);
    }
}

//  Report where two frame lists differ.
static void
s_compare_frames (const vector_t *vector, zmsg_t *got, zmsg_t *want)
{
    if (zmsg_size (got) != zmsg_size (want)) {
        s_mismatch (vector, "encoded into %zu frames, expected %zu", zmsg_size (got),
                    zmsg_size (want));
        return;
    }
    zframe_t *got_frame = zmsg_first (got);
    zframe_t *want_frame = zmsg_first (want);
    for (int index = 1; got_frame; index++) {
        if (!zframe_eq (got_frame, want_frame)) {
            char *hex = zframe_strhex (got_frame);
            s_mismatch (vector, "encoded frame %d is %.120s%s (%zu bytes, expected %zu)", index,
                        hex, strlen (hex) > 120 ? "..." : "", zframe_size (got_frame),
                        zframe_size (want_frame));
            zstr_free (&hex);
        }
        got_frame = zmsg_next (got);
        want_frame = zmsg_next (want);
    }
}

//  --- Tests ------------------------------------------------------------------

static bool
s_is_valid (const vector_t *vector)
{
    const msgpack_object *valid = zcq_testkit_get (&vector->root.data, "valid");
    assert_non_null (valid);
    assert_int_equal (valid->type, MSGPACK_OBJECT_BOOLEAN);
    return valid->via.boolean;
}

static void
test_there_are_vectors_of_every_kind (void **state)
{
    vectors_t *vectors = (vectors_t *) *state;
    assert_true (vectors->count > 100);
    bool types [ZCQ_MSG_TYPES] = {false};
    bool statuses [ZCQ_STATUSES] = {false};
    size_t invalid = 0;
    for (size_t index = 0; index < vectors->count; index++) {
        vector_t *vector = &vectors->items [index];
        if (!s_is_valid (vector)) {
            invalid++;
            continue;
        }
        const msgpack_object *message = zcq_testkit_get (&vector->root.data, "message");
        const msgpack_object *type = zcq_testkit_get (message, "type");
        assert_non_null (type);
        types [zcq_msg_type_from_name (type->via.str.ptr, type->via.str.size)] = true;
        const msgpack_object *status =
            zcq_testkit_get (zcq_testkit_get (message, "fields"), "status");
        if (status) {
            int known = zcq_status_from_name (status->via.str.ptr, status->via.str.size);
            assert_true (known >= 0);
            statuses [known] = true;
        }
    }
    for (int type = ZCQ_MSG_UNKNOWN + 1; type < ZCQ_MSG_TYPES; type++) {
        if (!types [type]) {
            print_error ("no valid vector of type %s\n", zcq_msg_type_name (type));
            fail ();
        }
    }
    for (int status = 0; status < ZCQ_STATUSES; status++) {
        if (!statuses [status]) {
            print_error ("no valid vector with status %s\n", zcq_status_name (status));
            fail ();
        }
    }
    assert_true (invalid > 50);
}

//  Is the vector a message as a SUB receives it (topic frame first)?
static bool
s_published (const vector_t *vector)
{
    const msgpack_object *published = zcq_testkit_get (&vector->root.data, "published");
    return published && published->type == MSGPACK_OBJECT_BOOLEAN && published->via.boolean;
}

static void
test_valid_vectors_decode_and_encode (void **state)
{
    vectors_t *vectors = (vectors_t *) *state;
    s_failures = 0;
    for (size_t index = 0; index < vectors->count; index++) {
        vector_t *vector = &vectors->items [index];
        if (!s_is_valid (vector)) {
            continue;
        }
        const msgpack_object *root = &vector->root.data;
        const msgpack_object *message = zcq_testkit_get (root, "message");
        const msgpack_object *type_name = zcq_testkit_get (message, "type");
        assert_non_null (type_name);
        zcq_msg_type_t type =
            zcq_msg_type_from_name (type_name->via.str.ptr, type_name->via.str.size);
        assert_int_not_equal (type, ZCQ_MSG_UNKNOWN);
        zcq_msg_t *want = s_message (type, zcq_testkit_get (message, "fields"));

        //  Frames to meaning; a published vector's first frame is its topic
        bool published = s_published (vector);
        zmsg_t *zmsg = s_frames (zcq_testkit_get (root, "frames"));
        zcq_msg_t *got = published ? zcq_msg_decode_published (&zmsg) : zcq_msg_decode (&zmsg);
        if (!zcq_msg_valid (got)) {
            s_mismatch (vector, "does not decode: %s: %s",
                        zcq_status_name (zcq_msg_error_status (got)), zcq_msg_error (got));
        }
        else {
            s_compare (vector, got, want);
        }
        //  Meaning to frames
        const msgpack_object *encoded = zcq_testkit_get (root, "encoded");
        zmsg_t *expected = s_frames (encoded ? encoded : zcq_testkit_get (root, "frames"));
        zmsg_t *made = zcq_msg_encode (want);
        if (made && published) {
            byte topic [ZCQ_MAX_TOPIC];
            zmsg_pushmem (made, topic, zcq_msg_topic (want, topic));
        }
        if (!made) {
            s_mismatch (vector, "the meaning does not encode: %s", zcq_msg_error (want));
        }
        else {
            s_compare_frames (vector, made, expected);
        }
        zmsg_destroy (&made);
        zmsg_destroy (&expected);
        zcq_msg_destroy (&got);
        zcq_msg_destroy (&want);
    }
    assert_int_equal (s_failures, 0);
}

//  The topic of an EVENT from its body alone (what a write group follower
//  publishes a stored event under) is the decoded event's, for every
//  vector with an EVENT body; a body the decoder refuses for its form, its
//  stream or its type is refused from the body too.
static void
test_event_topic_from_the_body_agrees (void **state)
{
    vectors_t *vectors = (vectors_t *) *state;
    s_failures = 0;
    int taken = 0, refused = 0;
    for (size_t index = 0; index < vectors->count; index++) {
        vector_t *vector = &vectors->items [index];
        zmsg_t *zmsg = s_frames (zcq_testkit_get (&vector->root.data, "frames"));
        zframe_t *frame = zmsg_first (zmsg);
        while (frame && !zframe_streq (frame, "EVENT")) {
            frame = zmsg_next (zmsg);
        }
        zframe_t *body = frame ? zmsg_next (zmsg) : NULL;
        if (body) {
            zcq_msg_t *event =
                zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (body), zframe_size (body));
            byte want [ZCQ_MAX_TOPIC], got [ZCQ_MAX_TOPIC];
            size_t want_size = zcq_msg_valid (event) ? zcq_msg_topic (event, want) : 0;
            size_t got_size = zcq_msg_event_topic (zframe_data (body), zframe_size (body), got);
            const char *error = zcq_msg_valid (event) ? "" : zcq_msg_error (event);
            bool ours = strstr (error, "'stream'") || strstr (error, "'type'")
                        || strstr (error, "msgpack") || strstr (error, "not a string")
                        || strstr (error, "after its map");
            if (want_size && (got_size != want_size || memcmp (got, want, want_size) != 0)) {
                s_mismatch (vector, "the topic from the body is not the event's");
            }
            else if (!want_size && ours && got_size) {
                s_mismatch (vector, "the decoder refuses it (%s), not the topic", error);
            }
            taken += want_size > 0;
            refused += !want_size && ours;
            zcq_msg_destroy (&event);
        }
        zmsg_destroy (&zmsg);
    }
    assert_int_equal (s_failures, 0);
    assert_true (taken >= 10);
    assert_true (refused >= 2);
}

static void
test_invalid_vectors_are_refused (void **state)
{
    vectors_t *vectors = (vectors_t *) *state;
    s_failures = 0;
    for (size_t index = 0; index < vectors->count; index++) {
        vector_t *vector = &vectors->items [index];
        if (s_is_valid (vector)) {
            continue;
        }
        const msgpack_object *error = zcq_testkit_get (&vector->root.data, "error");
        char *status = s_text (zcq_testkit_get (error, "status"));
        char *reason = s_text (zcq_testkit_get (error, "reason"));
        const msgpack_object *type = zcq_testkit_get (error, "type");
        const msgpack_object *id = zcq_testkit_get (error, "id");
        assert_non_null (type);
        assert_non_null (id);

        zmsg_t *zmsg = s_frames (zcq_testkit_get (&vector->root.data, "frames"));
        zcq_msg_t *got =
            s_published (vector) ? zcq_msg_decode_published (&zmsg) : zcq_msg_decode (&zmsg);
        if (zcq_msg_valid (got)) {
            s_mismatch (vector, "decoded, but must be refused with %s", status);
        }
        else {
            const char *got_status = zcq_status_name (zcq_msg_error_status (got));
            if (!streq (got_status, status) || !strstr (zcq_msg_error (got), reason)) {
                s_mismatch (vector, "refused with %s '%s', expected %s '%s'", got_status,
                            zcq_msg_error (got), status, reason);
            }
            const char *got_type = zcq_msg_type (got) == ZCQ_MSG_UNKNOWN
                                       ? ""
                                       : zcq_msg_type_name (zcq_msg_type (got));
            char *want_type = type->type == MSGPACK_OBJECT_NIL ? strdup ("") : s_text (type);
            if (!streq (got_type, want_type)) {
                s_mismatch (vector, "refused as type '%s', expected '%s'", got_type, want_type);
            }
            zstr_free (&want_type);
            zframe_t *want_id =
                id->type == MSGPACK_OBJECT_NIL ? zframe_new (NULL, 0) : zcq_testkit_unhex (id);
            if (zframe_size (want_id) != zcq_msg_id_size (got)
                || memcmp (zframe_data (want_id), zcq_msg_id (got), zcq_msg_id_size (got))
                       != 0) {
                s_mismatch (vector, "the id read before the error is not the stated one");
            }
            zframe_destroy (&want_id);
        }
        zcq_msg_destroy (&got);
        zstr_free (&status);
        zstr_free (&reason);
    }
    assert_int_equal (s_failures, 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_there_are_vectors_of_every_kind),
        cmocka_unit_test (test_valid_vectors_decode_and_encode),
        cmocka_unit_test (test_invalid_vectors_are_refused),
        cmocka_unit_test (test_event_topic_from_the_body_agrees),
    };
    return cmocka_run_group_tests (tests, s_vectors_setup, s_vectors_teardown);
}
