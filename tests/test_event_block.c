/*  =========================================================================
    test_event_block - an EVENT or a COMMAND decoded into one block (an
    EVENT read in place when in the layout it is written in) reads exactly
    as one decoded from the schema field by field: the codec is linked
    twice, as built and built with ZCQ_MSG_BLOCKS=0 (which reads no EVENT
    in place either; every function renamed unblocked_zcq_...), and both
    decode the spec's EVENT vectors, generated events and tens of
    thousands of damaged bodies (seeded), each as an EVENT and as a
    COMMAND. They must agree on accepting or
    refusing each, on the error and on every field; none may crash (the
    sanitizer build runs this too)
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define DAMAGED 20000 //  damaged bodies decoded by both
#define SEED    14    //  of the damage: a failure is repeatable

//  The codec without blocks (tests/zcq_msg_unblocked.o, see the Makefile)
zcq_msg_t *unblocked_zcq_msg_decode_body (zcq_msg_type_t type, const void *body, size_t size);
void unblocked_zcq_msg_destroy (zcq_msg_t **self_p);
bool unblocked_zcq_msg_valid (zcq_msg_t *self);
zcq_status_t unblocked_zcq_msg_error_status (zcq_msg_t *self);
const char *unblocked_zcq_msg_error (zcq_msg_t *self);
zcq_msg_type_t unblocked_zcq_msg_type (zcq_msg_t *self);
const byte *unblocked_zcq_msg_id (zcq_msg_t *self);
size_t unblocked_zcq_msg_id_size (zcq_msg_t *self);
const char *unblocked_zcq_msg_name (zcq_msg_t *self);
const char *unblocked_zcq_msg_stream (zcq_msg_t *self);
const byte *unblocked_zcq_msg_data (zcq_msg_t *self);
size_t unblocked_zcq_msg_data_size (zcq_msg_t *self);
uint64_t unblocked_zcq_msg_version (zcq_msg_t *self);
uint32_t unblocked_zcq_msg_schema (zcq_msg_t *self);
uint64_t unblocked_zcq_msg_deleted (zcq_msg_t *self);
uint64_t unblocked_zcq_msg_position (zcq_msg_t *self);
int64_t unblocked_zcq_msg_time (zcq_msg_t *self);
const char *unblocked_zcq_msg_correlation (zcq_msg_t *self);
const char *unblocked_zcq_msg_user (zcq_msg_t *self);
int64_t unblocked_zcq_msg_expect (zcq_msg_t *self);
zcq_status_t unblocked_zcq_msg_status (zcq_msg_t *self);
const char *unblocked_zcq_msg_reason (zcq_msg_t *self);
uint32_t unblocked_zcq_msg_count (zcq_msg_t *self);

//  What both made of one body
typedef struct {
    size_t bodies;   //  decoded
    size_t accepted; //  of them, valid
} s_tally_t;

static void
s_same_text (const char *blocked, const char *unblocked, const char *what)
{
    if (!streq (blocked ? blocked : "(null)", unblocked ? unblocked : "(null)")) {
        fail_msg ("%s: '%s' in a block, '%s' without", what, blocked, unblocked);
    }
}

//  Decode body both ways and compare everything a reader can see.
static void
s_compare_as (zcq_msg_type_t type, const byte *body, size_t size, s_tally_t *tally)
{
    zcq_msg_t *blocked = zcq_msg_decode_body (type, body, size);
    zcq_msg_t *unblocked = unblocked_zcq_msg_decode_body (type, body, size);
    assert_non_null (blocked);
    assert_non_null (unblocked);
    tally->bodies++;
    assert_int_equal (zcq_msg_valid (blocked), unblocked_zcq_msg_valid (unblocked));
    assert_int_equal (zcq_msg_error_status (blocked),
                      unblocked_zcq_msg_error_status (unblocked));
    s_same_text (zcq_msg_error (blocked), unblocked_zcq_msg_error (unblocked), "error");
    assert_int_equal (zcq_msg_type (blocked), unblocked_zcq_msg_type (unblocked));
    if (zcq_msg_valid (blocked)) {
        tally->accepted++;
    }
    //  Every field, accepted or not (a refused one holds what was read)
    assert_int_equal (zcq_msg_position (blocked), unblocked_zcq_msg_position (unblocked));
    assert_int_equal (zcq_msg_version (blocked), unblocked_zcq_msg_version (unblocked));
    assert_int_equal (zcq_msg_schema (blocked), unblocked_zcq_msg_schema (unblocked));
    assert_int_equal (zcq_msg_deleted (blocked), unblocked_zcq_msg_deleted (unblocked));
    assert_int_equal (zcq_msg_time (blocked), unblocked_zcq_msg_time (unblocked));
    assert_int_equal (zcq_msg_expect (blocked), unblocked_zcq_msg_expect (unblocked));
    assert_int_equal (zcq_msg_status (blocked), unblocked_zcq_msg_status (unblocked));
    s_same_text (zcq_msg_reason (blocked), unblocked_zcq_msg_reason (unblocked), "reason");
    assert_int_equal (zcq_msg_count (blocked), unblocked_zcq_msg_count (unblocked));
    s_same_text (zcq_msg_stream (blocked), unblocked_zcq_msg_stream (unblocked), "stream");
    s_same_text (zcq_msg_name (blocked), unblocked_zcq_msg_name (unblocked), "type");
    s_same_text (zcq_msg_correlation (blocked), unblocked_zcq_msg_correlation (unblocked),
                 "correlation");
    s_same_text (zcq_msg_user (blocked), unblocked_zcq_msg_user (unblocked), "user");
    assert_int_equal (zcq_msg_id_size (blocked), unblocked_zcq_msg_id_size (unblocked));
    if (zcq_msg_id_size (blocked)) {
        assert_memory_equal (zcq_msg_id (blocked), unblocked_zcq_msg_id (unblocked),
                             zcq_msg_id_size (blocked));
    }
    assert_int_equal (zcq_msg_data_size (blocked), unblocked_zcq_msg_data_size (unblocked));
    if (zcq_msg_data_size (blocked)) {
        assert_memory_equal (zcq_msg_data (blocked), unblocked_zcq_msg_data (unblocked),
                             zcq_msg_data_size (blocked));
    }
    zcq_msg_destroy (&blocked);
    unblocked_zcq_msg_destroy (&unblocked);
}

//  The same body as an EVENT, a COMMAND and a REPLY (whose fields it partly has:
//  the write node decodes every command it takes into a block).
static void
s_compare (const byte *body, size_t size, s_tally_t *tally)
{
    s_compare_as (ZCQ_MSG_EVENT, body, size, tally);
    s_compare_as (ZCQ_MSG_COMMAND, body, size, tally);
    s_compare_as (ZCQ_MSG_REPLY, body, size, tally);
}

//  The EVENT bodies of the spec's vectors (frames after "ZCQ1", "EVENT").
static size_t
s_vector_bodies (zlist_t *bodies)
{
    size_t count = 0;
    zcq_testkit_vector_t *vectors = zcq_testkit_vectors_new (&count);
    assert_non_null (vectors);
    for (size_t index = 0; index < count; index++) {
        const msgpack_object *frames = zcq_testkit_get (&vectors [index].root.data, "frames");
        assert_non_null (frames); //  every vector has its frames
        assert_int_equal (frames->type, MSGPACK_OBJECT_ARRAY);
        //  Wherever "ZCQ1", "EVENT" stand in the frames, the next is a body
        uint32_t size = frames->via.array.size;
        zframe_t *frame [size ? size : 1];
        for (uint32_t at = 0; at < size; at++) {
            frame [at] = zcq_testkit_unhex (&frames->via.array.ptr [at]);
        }
        for (uint32_t at = 0; at + 2 < size; at++) {
            if (zframe_streq (frame [at], "ZCQ1") && zframe_streq (frame [at + 1], "EVENT")) {
                zlist_append (bodies, zchunk_new (zframe_data (frame [at + 2]),
                                                  zframe_size (frame [at + 2])));
            }
        }
        for (uint32_t at = 0; at < size; at++) {
            zframe_destroy (&frame [at]);
        }
    }
    zcq_testkit_vectors_destroy (&vectors, count);
    return zlist_size (bodies);
}

static uint64_t s_state = SEED; //  xorshift64*: the same damage on every run

static uint64_t
s_random (void)
{
    return zcq_testkit_random (&s_state);
}

//  A well-formed EVENT (or COMMAND: as) of random texts, payload and meta,
//  encoded.
static zchunk_t *
s_generated (zcq_msg_type_t as)
{
    zcq_msg_t *event = zcq_msg_new (as);
    char stream [64], type [64];
    //  Some names with bytes past ASCII (2-byte UTF-8: é)
    snprintf (stream, sizeof (stream), "acct-%" PRIu64 "%s", s_random () % 100000,
              s_random () % 4 ? "" : "\xc3\xa9");
    snprintf (type, sizeof (type), "%s%" PRIu64, s_random () % 2 ? "Deposited" : "Opened",
              s_random () % 10);
    zcq_msg_set_stream (event, stream);
    zcq_msg_set_name (event, type);
    zcq_msg_set_position (event, 1 + s_random () % 1000000);
    zcq_msg_set_version (event, 1 + s_random () % 1000);
    zcq_msg_set_time (event, (int64_t) (s_random () % 2000000000000000));
    if (s_random () % 3 == 0) {
        zcq_msg_set_schema (event, 2 + s_random () % 3);
    }
    if (s_random () % 3 == 0) {
        zcq_msg_set_correlation (event, "corr-42");
    }
    if (s_random () % 3 == 0) {
        zcq_msg_set_user (event, "alice");
    }
    if (s_random () % 4 == 0) {
        zcq_msg_set_deleted (event, 1 + s_random () % 1000000);
    }
    if (as == ZCQ_MSG_REPLY) {
        static const zcq_status_t statuses [] = {ZCQ_ACCEPTED, ZCQ_REJECTED, ZCQ_CONFLICT,
                                                 ZCQ_INVALID, ZCQ_UNAVAILABLE};
        zcq_msg_set_status (event, statuses [s_random () % 5]);
        if (s_random () % 3 == 0) {
            zcq_msg_set_reason (event, "not enough funds in %s", stream);
        }
        zcq_msg_set_count (event, (uint32_t) (s_random () % 4));
    }
    if (as == ZCQ_MSG_COMMAND && s_random () % 2) {
        zcq_msg_set_expect (event,
                            (int64_t) (s_random () % (s_random () % 2 ? 1000 : INT64_MAX)));
    }
    if (as == ZCQ_MSG_COMMAND || s_random () % 2 == 0) {
        byte id [16];
        for (size_t index = 0; index < sizeof (id); index++) {
            id [index] = (byte) s_random ();
        }
        zcq_msg_set_id (event, id, sizeof (id));
    }
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &data, msgpack_sbuffer_write);
    size_t pairs = s_random () % 5;
    msgpack_pack_map (&packer, pairs);
    for (size_t index = 0; index < pairs; index++) {
        char key [16];
        snprintf (key, sizeof (key), "k%zu", index);
        msgpack_pack_str_with_body (&packer, key, strlen (key));
        if (s_random () % 2) {
            msgpack_pack_uint64 (&packer, s_random ());
        }
        else {
            msgpack_pack_str_with_body (&packer, "value", 5);
        }
    }
    zcq_msg_set_data (event, data.data, data.size);
    msgpack_sbuffer_destroy (&data);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    assert_int_equal (zcq_msg_encode_body (event, &body), 0);
    zchunk_t *chunk = zchunk_new (body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    zcq_msg_destroy (&event);
    return chunk;
}

//  A copy of body with a random kind of damage.
static zchunk_t *
s_damaged (zchunk_t *original)
{
    size_t size = zchunk_size (original);
    zchunk_t *copy = zchunk_new (NULL, size + 16);
    zchunk_extend (copy, zchunk_data (original), size);
    byte *bytes = zchunk_data (copy);
    size_t hits = 1 + s_random () % 3;
    for (size_t hit = 0; hit < hits && zchunk_size (copy) > 0; hit++) {
        size_t at = s_random () % zchunk_size (copy);
        switch (s_random () % 6) {
            case 0: //  a bit flipped
                bytes [at] ^= (byte) (1 << (s_random () % 8));
                break;
            case 1: //  a byte replaced
                bytes [at] = (byte) s_random ();
                break;
            case 2: //  cut short
                zchunk_set (copy, bytes, at);
                break;
            case 3: //  a msgpack header in the middle
            {
                static const byte headers [] = {0xc0, 0xc2, 0xc3, 0xc4, 0xd9, 0xdc, 0xde, 0x80,
                                                0x90, 0xa0, 0xff, 0xcf, 0xd3, 0xdf, 0xdd, 0x81};
                bytes [at] = headers [s_random () % sizeof (headers)];
                break;
            }
            case 4: //  a byte too many (the room was kept)
                if (zchunk_size (copy) < size + 16) {
                    byte extra = (byte) s_random ();
                    zchunk_extend (copy, &extra, 1);
                }
                break;
            default: //  a text made invalid UTF-8 or a control character
                bytes [at] = s_random () % 2 ? 0x80 : 0x01;
                break;
        }
    }
    return copy;
}

static void
test_vectors_decode_the_same (void **state)
{
    (void) state;
    zlist_t *bodies = zlist_new ();
    size_t count = s_vector_bodies (bodies);
    assert_true (count >= 20); //  the spec has EVENT vectors, valid and not
    print_message ("%zu EVENT bodies of the spec's vectors\n", count);
    s_tally_t tally = {0, 0};
    for (zchunk_t *body = (zchunk_t *) zlist_first (bodies); body;
         body = (zchunk_t *) zlist_next (bodies)) {
        s_compare (zchunk_data (body), zchunk_size (body), &tally);
    }
    assert_int_equal (tally.bodies, 3 * count); //  each as an EVENT, a COMMAND and a REPLY
    assert_true (tally.accepted > 0 && tally.accepted < 3 * count); //  both kinds
    for (zchunk_t *body = (zchunk_t *) zlist_pop (bodies); body;
         body = (zchunk_t *) zlist_pop (bodies)) {
        zchunk_destroy (&body);
    }
    zlist_destroy (&bodies);
}

static void
test_damaged_bodies_decode_the_same (void **state)
{
    (void) state;
    zlist_t *originals = zlist_new ();
    s_vector_bodies (originals);
    for (int index = 0; index < 200; index++) {
        zlist_append (originals, s_generated (ZCQ_MSG_EVENT));
        zlist_append (originals, s_generated (ZCQ_MSG_COMMAND));
        zlist_append (originals, s_generated (ZCQ_MSG_REPLY));
    }
    s_tally_t tally = {0, 0};
    //  The generated ones whole first: they must be accepted
    for (zchunk_t *body = (zchunk_t *) zlist_first (originals); body;
         body = (zchunk_t *) zlist_next (originals)) {
        s_compare (zchunk_data (body), zchunk_size (body), &tally);
    }
    size_t whole = tally.accepted;
    assert_true (whole >= 600); //  each EVENT as one, each COMMAND and REPLY as one
    size_t count = zlist_size (originals);
    zchunk_t **array = (zchunk_t **) malloc (count * sizeof (zchunk_t *));
    size_t index = 0;
    for (zchunk_t *body = (zchunk_t *) zlist_first (originals); body;
         body = (zchunk_t *) zlist_next (originals)) {
        array [index++] = body;
    }
    for (int round = 0; round < DAMAGED; round++) {
        zchunk_t *damaged = s_damaged (array [s_random () % count]);
        s_compare (zchunk_data (damaged), zchunk_size (damaged), &tally);
        zchunk_destroy (&damaged);
    }
    //  Damage is refused mostly, not always (a changed digit is an event)
    size_t accepted = tally.accepted - whole;
    assert_true (accepted > 0 && accepted < DAMAGED / 2);
    for (index = 0; index < count; index++) {
        zchunk_destroy (&array [index]);
    }
    free (array);
    zlist_destroy (&originals);
}

//  A block-decoded event's fields can be set again, even from themselves:
//  what lived in the block is never freed (the sanitizer build says).
static void
test_fields_of_a_block_set_again (void **state)
{
    (void) state;
    zchunk_t *body = s_generated (ZCQ_MSG_EVENT);
    zcq_msg_t *event =
        zcq_msg_decode_body (ZCQ_MSG_EVENT, zchunk_data (body), zchunk_size (body));
    assert_true (zcq_msg_valid (event));
    char *stream = strdup (zcq_msg_stream (event));
    zcq_msg_set_stream (event, zcq_msg_stream (event));
    assert_string_equal (zcq_msg_stream (event), stream);
    zcq_msg_set_name (event, "Renamed");
    assert_string_equal (zcq_msg_name (event), "Renamed");
    zcq_msg_set_user (event, zcq_msg_user (event));
    zcq_msg_set_correlation (event, "again");
    size_t size = zcq_msg_data_size (event);
    byte *data = (byte *) malloc (size);
    memcpy (data, zcq_msg_data (event), size);
    zcq_msg_set_data (event, zcq_msg_data (event), size); //  from itself
    assert_int_equal (zcq_msg_data_size (event), size);
    assert_memory_equal (zcq_msg_data (event), data, size);
    zcq_msg_set_data (event, NULL, 0);
    assert_int_equal (zcq_msg_data_size (event), 0);
    zcq_msg_destroy (&event);
    free (data);
    free (stream);
    zchunk_destroy (&body);
}

//  A thread keeps destroyed EVENTs to make its next ones from: a batch of
//  them decoded, destroyed, and a batch decoded again from what was kept
//  (more than are kept, so some are new) reads as one decoded afresh.
static void
test_kept_events_decode_as_new (void **state)
{
    (void) state;
    enum { BATCH = ZCQ_MAX_EVENTS + 200 };
    zchunk_t **bodies = (zchunk_t **) malloc (BATCH * sizeof (zchunk_t *));
    zcq_msg_t **events = (zcq_msg_t **) malloc (BATCH * sizeof (zcq_msg_t *));
    for (size_t index = 0; index < BATCH; index++) {
        bodies [index] = s_generated (ZCQ_MSG_EVENT);
        events [index] = zcq_msg_decode_body (ZCQ_MSG_EVENT, zchunk_data (bodies [index]),
                                              zchunk_size (bodies [index]));
        assert_true (zcq_msg_valid (events [index]));
    }
    for (size_t index = 0; index < BATCH; index++) {
        zcq_msg_destroy (&events [index]);
    }
    s_tally_t tally = {0, 0};
    for (size_t index = BATCH; index-- > 0;) {
        s_compare_as (ZCQ_MSG_EVENT, zchunk_data (bodies [index]), zchunk_size (bodies [index]),
                      &tally);
        zchunk_destroy (&bodies [index]);
    }
    assert_int_equal (tally.accepted, BATCH);
    free (events);
    free (bodies);
}

//  A message made (not decoded) keeps what its setters copy in its block
//  until the block is full, then in allocations of their own: whatever
//  the mix, each getter gives what was set last, also when set from the
//  message's own field (the sanitizer build checks that no block byte is
//  freed and nothing leaks).
static void
test_fields_set_past_a_block (void **state)
{
    (void) state;
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    byte data [1500];
    for (size_t index = 0; index < sizeof (data); index++) {
        data [index] = (byte) (index * 7);
    }
    for (size_t round = 0; round < 40; round++) {
        char stream [32];
        snprintf (stream, sizeof (stream), "account-%zu", round);
        zcq_msg_set_stream (command, stream);
        zcq_msg_set_name (command, round % 2 ? "Deposit" : "Withdraw");
        zcq_msg_set_user (command, zcq_msg_stream (command)); //  from another field
        zcq_msg_set_correlation (command, round % 3 ? "c" : NULL);
        size_t size = (round * 37) % sizeof (data);
        zcq_msg_set_data (command, data, size);
        zcq_msg_set_data (command, zcq_msg_data (command), size); //  from itself
        zcq_msg_set_stream (command, zcq_msg_stream (command));
        assert_string_equal (zcq_msg_stream (command), stream);
        assert_string_equal (zcq_msg_user (command), stream);
        assert_string_equal (zcq_msg_name (command), round % 2 ? "Deposit" : "Withdraw");
        assert_string_equal (zcq_msg_correlation (command), round % 3 ? "c" : "");
        assert_int_equal (zcq_msg_data_size (command), size);
        if (size) {
            assert_memory_equal (zcq_msg_data (command), data, size);
        }
    }
    zcq_msg_destroy (&command);
    //  Made again from the spare it left: nothing of the last one shows
    command = zcq_msg_new (ZCQ_MSG_REPLY);
    assert_string_equal (zcq_msg_stream (command), "");
    assert_int_equal (zcq_msg_data_size (command), 0);
    zcq_msg_set_name (command, "fresh");
    assert_string_equal (zcq_msg_name (command), "fresh");
    zcq_msg_destroy (&command);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_vectors_decode_the_same),
        cmocka_unit_test (test_damaged_bodies_decode_the_same),
        cmocka_unit_test (test_fields_of_a_block_set_again),
        cmocka_unit_test (test_kept_events_decode_as_new),
        cmocka_unit_test (test_fields_set_past_a_block),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
