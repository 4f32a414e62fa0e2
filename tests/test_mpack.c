/*  =========================================================================
    test_mpack - MessagePack headers may not promise more than their bytes:
    the check that keeps msgpack-c from allocating what a header declares
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_mpack.h"
#include "zcq_event.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define PLAUSIBLE(bytes) zcq_mpack_plausible (bytes, sizeof (bytes) - 1)

static void
test_well_formed_objects_pass (void **state)
{
    (void) state;
    assert_true (PLAUSIBLE ("\x01"));
    assert_true (PLAUSIBLE ("\xc0"));
    assert_true (PLAUSIBLE ("\x80"));                         //  {}
    assert_true (PLAUSIBLE ("\x81\xa1k\x92\x01\xa1x"));       //  {k: [1, "x"]}
    assert_true (PLAUSIBLE ("\xdc\x00\x02\xcd\x01\x00\xc3")); //  array16 [256, true]
    assert_true (PLAUSIBLE ("\xc4\x03"
                            "abc"));        //  bin8
    assert_true (PLAUSIBLE ("\xd9\x02hi")); //  str8
    assert_true (PLAUSIBLE ("\xcb\x00\x00\x00\x00\x00\x00\x00\x00"));
    assert_true (PLAUSIBLE ("\xd6\x01\x00\x00\x00\x00")); //  fixext4
    assert_true (PLAUSIBLE ("\xc7\x02\x01\xaa\xbb"));     //  ext8
    //  Only the first object is checked; what follows is the decoder's
    assert_true (PLAUSIBLE ("\x80\xff\xff"));
    //  Every body the codec makes passes
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, 1);
    zcq_msg_set_stream (event, "s");
    zcq_msg_set_version (event, 1);
    zcq_msg_set_name (event, "T");
    zcq_msg_set_data (event,
                      "\x81\xa1"
                      "a\x92\x01\x02",
                      6);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (zcq_msg_encode_body (event, &buffer), 0);
    assert_true (zcq_mpack_plausible (buffer.data, buffer.size));
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_destroy (&event);
}

static void
test_headers_that_promise_too_much_fail (void **state)
{
    (void) state;
    assert_false (zcq_mpack_plausible ("", 0));
    assert_false (PLAUSIBLE ("\x92\x01"));                     //  array of 2, one follows
    assert_false (PLAUSIBLE ("\x81\xa1k"));                    //  map of 1, no value
    assert_false (PLAUSIBLE ("\xdd\xff\xff\xff\xff\x01"));     //  array32 of 4 billion
    assert_false (PLAUSIBLE ("\xdf\x8f\x90\x73\x69\x01\x02")); //  map32 (the finding)
    assert_false (PLAUSIBLE ("\xc6\xff\xff\xff\xff"
                             "ab")); //  bin32 of 4 GiB
    assert_false (PLAUSIBLE ("\xdb\x00\x00\x00\x05"
                             "abc"));      //  str32 of 5, 3 follow
    assert_false (PLAUSIBLE ("\xcd\x01")); //  uint16, 1 byte
    assert_false (PLAUSIBLE ("\xdc\x00")); //  array16, half a count
    assert_false (PLAUSIBLE ("\xd8\x01")); //  fixext16, no data
}

//  fuzz_msg found it: a RESULT body whose map32 header declares 2.4 billion
//  entries in 40 bytes made msgpack-c ask for 128 GiB. Now: invalid, named.
static void
test_regression_map32_count_oom (void **state)
{
    (void) state;
    FILE *file = fopen ("fuzz/regressions/fuzz_msg-map32-count-oom", "rb");
    assert_non_null (file);
    byte input [256];
    size_t size = fread (input, 1, sizeof input, file);
    fclose (file);
    assert_true (size > 1);
    zcq_msg_t *msg = zcq_msg_decode_body (ZCQ_MSG_RESULT, input + 1, size - 1);
    assert_false (zcq_msg_valid (msg));
    assert_int_equal (zcq_msg_error_status (msg), ZCQ_INVALID);
    assert_string_equal (zcq_msg_error (msg), "RESULT body is not valid msgpack (truncated)");
    zcq_msg_destroy (&msg);
    //  Through zcq_mpack_unpack (command data, stored events) as well
    msgpack_unpacked unpacked;
    assert_int_equal (zcq_mpack_unpack (input + 1, size - 1, &unpacked), -1);
    msgpack_unpacked_destroy (&unpacked);
}

//  One map, whole, and nothing else: what a domain must pack as event data
static void
test_one_map_is_told_without_unpacking (void **state)
{
    (void) state;
    assert_true (zcq_mpack_is_map ("\x80", 1));
    assert_true (zcq_mpack_is_map ("\x81\xa1"
                                   "a\x05",
                                   4));
    assert_true (zcq_mpack_is_map ("\xde\x00\x01\xa1"
                                   "a\x90",
                                   6));
    assert_false (zcq_mpack_is_map ("", 0));
    assert_false (zcq_mpack_is_map ("\x90", 1)); //  an array
    assert_false (zcq_mpack_is_map ("\x81\xa1"
                                    "a",
                                    3));             //  cut short
    assert_false (zcq_mpack_is_map ("\x80\x80", 2)); //  two maps
    assert_false (zcq_mpack_is_map ("\x81\xa1"
                                    "a\xc1",
                                    4)); //  0xc1 is never valid
    //  Whatever msgpack-c makes of the same bytes
    msgpack_unpacked unpacked;
    assert_int_equal (zcq_mpack_unpack ("\x81\xa1"
                                        "a\xc1",
                                        4, &unpacked),
                      -1);
    msgpack_unpacked_destroy (&unpacked);
}

//  zcq_mpack_object_size counts the bytes of what msgpack-c packs, and of
//  nothing that msgpack-c would pack otherwise once decoded: the bytes it
//  counts are what unpacking and packing again would give.
static void
test_object_size_is_what_packs_alike (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    static const int64_t numbers [] = {0,
                                       1,
                                       31,
                                       -1,
                                       -32,
                                       -33,
                                       -128,
                                       -129,
                                       127,
                                       128,
                                       255,
                                       256,
                                       -32768,
                                       -32769,
                                       65535,
                                       65536,
                                       INT32_MIN,
                                       (int64_t) INT32_MIN - 1,
                                       4294967295LL,
                                       4294967296LL,
                                       INT64_MAX,
                                       INT64_MIN};
    static const size_t lengths [] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    char *text = (char *) calloc (1, 65536);
    assert_non_null (text);
    for (int kind = 0; kind < 4; kind++) {
        size_t count = kind == 0 ? sizeof (numbers) / sizeof (numbers [0])
                                 : sizeof (lengths) / sizeof (lengths [0]);
        for (size_t index = 0; index < count; index++) {
            msgpack_sbuffer_clear (&buffer);
            if (kind == 0) {
                msgpack_pack_int64 (&pk, numbers [index]);
            }
            else if (kind == 1) {
                msgpack_pack_str (&pk, lengths [index]);
                msgpack_pack_str_body (&pk, text, lengths [index]);
            }
            else if (kind == 2) {
                msgpack_pack_bin (&pk, lengths [index]);
                msgpack_pack_bin_body (&pk, text, lengths [index]);
            }
            else {
                size_t pairs = lengths [index] > 300 ? 300 : lengths [index];
                msgpack_pack_map (&pk, (uint32_t) (pairs ? 16 + pairs % 2 : 15));
                for (size_t pair = 0; pair < (pairs ? 16 + pairs % 2 : 15); pair++) {
                    msgpack_pack_uint64 (&pk, pair);
                    msgpack_pack_nil (&pk);
                }
            }
            assert_int_equal (zcq_mpack_object_size (buffer.data, buffer.size), buffer.size);
            //  Unpacked and packed again: the same bytes
            msgpack_unpacked unpacked;
            assert_int_equal (zcq_mpack_unpack (buffer.data, buffer.size, &unpacked), 0);
            msgpack_unpacked_destroy (&unpacked);
            zcq_testkit_assert_repacks (buffer.data, buffer.size);
        }
    }
    free (text);
    msgpack_sbuffer_destroy (&buffer);
    //  Only the first object counts
    assert_int_equal (zcq_mpack_object_size ("\x81\xa1"
                                             "a\x05\x07",
                                             5),
                      4);
    //  Wider than needed, signed for what is not negative, floats and
    //  extensions, cut short, never valid: 0
    static const struct {
        const char *bytes;
        size_t size;
    } others [] = {{"\xcc\x05", 2},
                   {"\xcd\x00\x05", 3},
                   {"\xd0\x05", 2},
                   {"\xd0\xf0", 2},
                   {"\xd1\xff\xa0", 3},
                   {"\xd9\x01"
                    "a",
                    3},
                   {"\xde\x00\x01\xa1"
                    "a\x05",
                    6},
                   {"\xdc\x00\x00", 3},
                   {"\xca\x00\x00\x00\x00", 5},
                   {"\xd4\x01\x00", 3},
                   {"\x81\xa1"
                    "a\xcc\x05",
                    5},
                   {"\x81\xa1"
                    "a",
                    3},
                   {"\xc1", 1},
                   {"", 0}};
    for (size_t index = 0; index < sizeof (others) / sizeof (others [0]); index++) {
        assert_int_equal (zcq_mpack_object_size (others [index].bytes, others [index].size), 0);
    }
}

//  Both unpackers, on the same bytes: the pool's object must be msgpack-c's.
static void
s_assert_same (const void *data, size_t size)
{
    msgpack_object_kv pool [32];
    msgpack_object fast;
    msgpack_unpacked slow;
    assert_int_equal (zcq_mpack_unpack_pool (data, size, pool, 32, &fast), 0);
    assert_int_equal (zcq_mpack_unpack (data, size, &slow), 0);
    assert_true (msgpack_object_equal (fast, slow.data));
    msgpack_unpacked_destroy (&slow);
}

static void
test_pool_unpacks_maps_without_allocating (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    //  Every integer width either sign, strings and bins of each length
    //  form, nil, booleans, nested and empty maps
    msgpack_pack_map (&packer, 19);
    const int64_t numbers [] = {0,  5,   127, 128,  255,  256,    65535,  65536,
                                -1, -32, -33, -128, -129, -32768, -32769, INT64_MIN};
    for (size_t index = 0; index < sizeof numbers / sizeof numbers [0]; index++) {
        msgpack_pack_int64 (&packer, (int64_t) index);
        msgpack_pack_int64 (&packer, numbers [index]);
    }
    zcq_mpack_pack_str (&packer, "big");
    msgpack_pack_uint64 (&packer, UINT64_MAX);
    char text [300];
    memset (text, 'x', sizeof text);
    msgpack_pack_str (&packer, 40);
    msgpack_pack_str_body (&packer, text, 40);
    msgpack_pack_str (&packer, sizeof text);
    msgpack_pack_str_body (&packer, text, sizeof text);
    msgpack_pack_bin (&packer, 3);
    msgpack_pack_bin_body (&packer, "\x00\x01\x02", 3);
    msgpack_pack_map (&packer, 3);
    msgpack_pack_nil (&packer);
    msgpack_pack_true (&packer);
    msgpack_pack_false (&packer);
    msgpack_pack_map (&packer, 0);
    zcq_mpack_pack_str (&packer, "");
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "deep");
    msgpack_pack_int8 (&packer, -7);
    s_assert_same (buffer.data, buffer.size);
    //  Every cut of it is refused by both
    msgpack_object_kv pool [32];
    msgpack_object object;
    for (size_t size = 0; size < buffer.size; size++) {
        assert_int_equal (zcq_mpack_unpack_pool (buffer.data, size, pool, 32, &object), -1);
    }
    //  A pool one pair short is refused, so is a byte after the object
    assert_int_equal (zcq_mpack_unpack_pool (buffer.data, buffer.size, pool, 22, &object), -1);
    assert_int_equal (zcq_mpack_unpack_pool (buffer.data, buffer.size, pool, 23, &object), 0);
    msgpack_pack_nil (&packer);
    assert_int_equal (zcq_mpack_unpack_pool (buffer.data, buffer.size, pool, 32, &object), -1);
    msgpack_sbuffer_destroy (&buffer);
    //  Plain scalars and the empty map
    s_assert_same ("\x80", 1);
    s_assert_same ("\xc0", 1);
    s_assert_same ("\xd0\x05", 2); //  an int8 that is not negative is positive
    s_assert_same ("\xde\x00\x01\xa1"
                   "a\x01",
                   6);
}

static void
test_pool_leaves_the_rest_to_msgpack (void **state)
{
    (void) state;
    msgpack_object_kv pool [4];
    msgpack_object object;
    const char *refused [] = {"\x81\xa1"
                              "a\x90", //  an array
                              "\x81\xa1"
                              "a\xca\x00\x00\x00\x00", //  a float
                              "\x81\xa1"
                              "a\xd4\x01\x00", //  an ext
                              "\x81\xa1"
                              "a\xc1", //  never used
                              "\x81\xa1"
                              "a\x81\xa1"
                              "b\x81\xa1"
                              "c\x81\xa1"
                              "d\x80", //  four maps in four: the pool is full
                              NULL};
    const size_t sizes [] = {4, 8, 6, 4, 13};
    for (size_t index = 0; refused [index]; index++) {
        assert_int_equal (
            zcq_mpack_unpack_pool (refused [index], sizes [index], pool, 3, &object), -1);
    }
    //  Deeper than ZCQ_MPACK_DEPTH
    char deep [2 * ZCQ_MPACK_DEPTH + 1];
    for (int level = 0; level < ZCQ_MPACK_DEPTH; level++) {
        deep [2 * level] = (char) 0x81;
        deep [2 * level + 1] = (char) 0xc0;
    }
    deep [2 * ZCQ_MPACK_DEPTH] = (char) 0x80;
    msgpack_object_kv big [ZCQ_MPACK_DEPTH + 1];
    assert_int_equal (
        zcq_mpack_unpack_pool (deep, sizeof deep, big, ZCQ_MPACK_DEPTH + 1, &object), -1);
    assert_int_equal (
        zcq_mpack_unpack_pool (deep + 2, sizeof deep - 2, big, ZCQ_MPACK_DEPTH + 1, &object),
        0);
    assert_int_equal (zcq_mpack_unpack_pool (NULL, 0, pool, 4, &object), -1);
}

//  zcq_event_data_unpack: a flat map in the data's own pool, anything else
//  by msgpack-c (the same object), and not one object refused.
static void
test_event_data_unpacks_in_place_when_it_can (void **state)
{
    (void) state;
    zcq_event_data_t data;
    const char flat [] = "\x82\xa1"
                         "a\x05\xa1"
                         "b\xa2"
                         "hi";
    assert_int_equal (zcq_event_data_unpack (&data, flat, sizeof flat - 1), 0);
    assert_int_equal (data.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal (data.data.via.map.size, 2);
    assert_ptr_equal (data.data.via.map.ptr, data.pairs); //  no allocation
    assert_int_equal (data.data.via.map.ptr [0].val.via.u64, 5);
    zcq_event_data_destroy (&data);

    const char listed [] = "\x81\xa1"
                           "a\x92\x01\x02"; //  an array: msgpack-c's
    assert_int_equal (zcq_event_data_unpack (&data, listed, sizeof listed - 1), 0);
    assert_int_equal (data.data.type, MSGPACK_OBJECT_MAP);
    assert_ptr_not_equal (data.data.via.map.ptr, data.pairs);
    assert_int_equal (data.data.via.map.ptr [0].val.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (data.data.via.map.ptr [0].val.via.array.size, 2);
    zcq_event_data_destroy (&data);

    assert_int_equal (zcq_event_data_unpack (&data,
                                             "\x82\xa1"
                                             "a",
                                             3),
                      -1);                                               //  truncated
    assert_int_equal (zcq_event_data_unpack (&data, "\x80\x80", 2), -1); //  two objects
}

//  zcq_mpack_skip steps over one object of any form (floats, extensions,
//  larger forms than needed too) and says 0 for one that does not fit or
//  holds the never-used byte
static void
test_skip_steps_over_one_object (void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
        size_t used;
    } cases [] = {
        {"\xc0\x01", 2, 1},                                     //  nil, then more
        {"\xcb\x3f\xe0\0\0\0\0\0\0", 9, 9},                     //  float64
        {"\xd4\x01\x02", 3, 3},                                 //  fixext1
        {"\xcd\x00\x05", 3, 3},                                 //  uint16 holding 5
        {"\x82\xa1k\x92\x01\xc3\xa1j\xc4\x01\x00\xff", 12, 11}, //  nested
        {"\xd9\x02\x61\x62", 4, 4},                             //  str8
        {"\xd9\x03\x61\x62", 4, 0},                             //  str8 cut short
        {"\x92\x01", 2, 0},                                     //  array cut short
        {"\x91\xc1", 2, 0},                                     //  never used
        {"", 0, 0},                                             //  nothing
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        assert_int_equal (zcq_mpack_skip (cases [index].bytes, cases [index].size),
                          cases [index].used);
    }
}

//  Expect take to read all of the packed bytes, and to refuse every cut of
//  them, leaving the cursor where it was.
typedef bool (s_take_fn) (zcq_mpack_cursor_t *cursor, const msgpack_sbuffer *packed);

static void
s_takes_whole_only (s_take_fn *take, const msgpack_sbuffer *packed)
{
    const uint8_t *bytes = (const uint8_t *) packed->data;
    zcq_mpack_cursor_t whole = {bytes, bytes + packed->size};
    assert_true (take (&whole, packed));
    assert_ptr_equal (whole.at, bytes + packed->size);
    for (size_t cut = 0; cut < packed->size; cut++) {
        zcq_mpack_cursor_t cursor = {bytes, bytes + cut};
        assert_false (take (&cursor, packed));
        assert_ptr_equal (cursor.at, bytes);
    }
}

//  What the packed bytes hold: an integer, or a run of bytes (a str or a
//  bin) of this size that ends with them.
static uint64_t s_expected_uint;
static size_t s_expected_size;

static bool
s_take_uint_is (zcq_mpack_cursor_t *cursor, const msgpack_sbuffer *packed)
{
    (void) packed;
    uint64_t value = 0;
    bool taken = zcq_mpack_take_uint (cursor, &value);
    assert_true (!taken || value == s_expected_uint);
    return taken;
}

//  Take a str (or a bin, with s_as_bin) and check it is the expected one.
static bool s_as_bin;

static bool
s_take_run_is (zcq_mpack_cursor_t *cursor, const msgpack_sbuffer *packed)
{
    const uint8_t *run = NULL;
    size_t size = 0;
    bool taken = s_as_bin ? zcq_mpack_take_bin (cursor, &run, &size)
                          : zcq_mpack_take_str (cursor, &run, &size);
    assert_true (!taken
                 || (size == s_expected_size
                     && run + size == (const uint8_t *) packed->data + packed->size));
    return taken;
}

static void
test_a_cursor_reads_in_place (void **state)
{
    (void) state;
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &packed, msgpack_sbuffer_write);
    //  Unsigned integers at each boundary of their forms, as msgpack-c packs
    const uint64_t values [] = {0,     1,     127,        128,        255,       256,
                                65535, 65536, 4294967295, 4294967296, UINT64_MAX};
    for (size_t index = 0; index < sizeof values / sizeof values [0]; index++) {
        msgpack_sbuffer_clear (&packed);
        msgpack_pack_uint64 (&packer, values [index]);
        s_expected_uint = values [index];
        s_takes_whole_only (s_take_uint_is, &packed);
    }
    //  Not unsigned integers: negative ones, a str, nil
    const char *others [] = {"\xff", "\xd0\x80", "\xd3\0\0\0\0\0\0\0\x01", "\xa1x", "\xc0"};
    for (size_t index = 0; index < sizeof others / sizeof others [0]; index++) {
        size_t size = index == 2 ? 9 : strlen (others [index]);
        zcq_mpack_cursor_t cursor = {(const uint8_t *) others [index],
                                     (const uint8_t *) others [index] + size};
        uint64_t value;
        assert_false (zcq_mpack_take_uint (&cursor, &value));
        assert_ptr_equal (cursor.at, (const uint8_t *) others [index]);
    }
    //  Strings as fixstr, str 8 and str 16; bins as bin 8 and bin 16
    char text [300];
    memset (text, 'a', sizeof text);
    const size_t sizes [] = {0, 1, 31, 32, 255, 256, 300};
    for (size_t index = 0; index < sizeof sizes / sizeof sizes [0]; index++) {
        s_expected_size = sizes [index];
        msgpack_sbuffer_clear (&packed);
        msgpack_pack_str_with_body (&packer, text, sizes [index]);
        s_as_bin = false;
        s_takes_whole_only (s_take_run_is, &packed);
        zcq_mpack_cursor_t cursor = {(const uint8_t *) packed.data,
                                     (const uint8_t *) packed.data + packed.size};
        const uint8_t *data;
        size_t size;
        assert_false (zcq_mpack_take_bin (&cursor, &data, &size)); //  a str is no bin
        msgpack_sbuffer_clear (&packed);
        msgpack_pack_bin_with_body (&packer, text, sizes [index]);
        s_as_bin = true;
        s_takes_whole_only (s_take_run_is, &packed);
        cursor.at = (const uint8_t *) packed.data;
        cursor.end = cursor.at + packed.size;
        assert_false (zcq_mpack_take_str (&cursor, &data, &size)); //  nor a bin a str
    }
    //  Exact bytes: all of them or nothing
    zcq_mpack_cursor_t cursor = {(const uint8_t *) "\xa4type",
                                 (const uint8_t *) "\xa4type" + 5};
    assert_false (ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4typo"));
    assert_int_equal (cursor.end - cursor.at, 5);
    assert_true (ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4type"));
    assert_ptr_equal (cursor.at, cursor.end);
    assert_false (ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"));
    msgpack_sbuffer_destroy (&packed);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_well_formed_objects_pass),
        cmocka_unit_test (test_headers_that_promise_too_much_fail),
        cmocka_unit_test (test_regression_map32_count_oom),
        cmocka_unit_test (test_one_map_is_told_without_unpacking),
        cmocka_unit_test (test_object_size_is_what_packs_alike),
        cmocka_unit_test (test_pool_unpacks_maps_without_allocating),
        cmocka_unit_test (test_pool_leaves_the_rest_to_msgpack),
        cmocka_unit_test (test_event_data_unpacks_in_place_when_it_can),
        cmocka_unit_test (test_skip_steps_over_one_object),
        cmocka_unit_test (test_a_cursor_reads_in_place),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
