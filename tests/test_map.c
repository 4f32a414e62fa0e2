/*  =========================================================================
    test_fields - reading typed fields out of msgpack maps, and the reasons
    given for every kind of wrong value
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  A map under test: the packed bytes and the object unpacked from them
//  (its strings point into the bytes, so both live together).
typedef struct {
    msgpack_sbuffer *buffer;   //  packed map
    msgpack_unpacked unpacked; //  the map as an object
} s_map_t;

//  Unpack a packed map; takes ownership of buffer.
static s_map_t
s_map (msgpack_sbuffer *buffer)
{
    s_map_t map = {buffer, {0}};
    zcq_testkit_unpack (buffer->data, buffer->size, &map.unpacked);
    return map;
}

static void
s_map_free (s_map_t *map)
{
    msgpack_unpacked_destroy (&map->unpacked);
    msgpack_sbuffer_free (map->buffer);
}

//  Pack {key: <one value packed by the caller>}: returns the packer after
//  the key, so the caller packs the value.
static msgpack_packer *
s_start (msgpack_sbuffer **buffer, msgpack_packer *packer, const char *key)
{
    *buffer = msgpack_sbuffer_new ();
    msgpack_packer_init (packer, *buffer, msgpack_sbuffer_write);
    msgpack_pack_map (packer, 1);
    zcq_mpack_pack_str (packer, key);
    return packer;
}

static void
test_get_finds_keys_and_nothing_else (void **state)
{
    (void) state;
    s_map_t map = s_map (zcq_testkit_map ("amount=5", "owner=alice", NULL));
    const msgpack_object *amount = zcq_map_get (&map.unpacked.data, "amount");
    assert_non_null (amount);
    assert_int_equal (amount->via.u64, 5);
    assert_null (zcq_map_get (&map.unpacked.data, "amoun"));
    assert_null (zcq_map_get (&map.unpacked.data, "amounts"));
    assert_null (zcq_map_get (NULL, "amount"));
    //  Not a map: the value itself is no map
    assert_null (zcq_map_get (amount, "amount"));
    s_map_free (&map);
}

static void
test_positive_accepts_positive_integers (void **state)
{
    (void) state;
    char reason [ZCQ_REASON_MAX];
    int64_t value = 0;
    s_map_t map = s_map (zcq_testkit_map ("amount=250", NULL));
    assert_int_equal (zcq_map_positive (&map.unpacked.data, "amount", &value, reason), 0);
    assert_int_equal (value, 250);
    s_map_free (&map);

    map = s_map (zcq_testkit_map ("amount=9223372036854775807", NULL));
    assert_int_equal (zcq_map_positive (&map.unpacked.data, "amount", &value, reason), 0);
    assert_true (value == INT64_MAX);
    s_map_free (&map);
}

//  Expect zcq_map_positive to refuse the "amount" in map with reason.
static void
s_positive_refuses (s_map_t map, const char *expected)
{
    char reason [ZCQ_REASON_MAX];
    int64_t value = 0;
    assert_int_equal (zcq_map_positive (&map.unpacked.data, "amount", &value, reason), -1);
    assert_string_equal (reason, expected);
    s_map_free (&map);
}

static void
test_positive_refuses_what_is_not (void **state)
{
    (void) state;
    s_positive_refuses (s_map (zcq_testkit_map ("owner=alice", NULL)),
                        "field 'amount' is missing");
    s_positive_refuses (s_map (zcq_testkit_map ("amount=-5", NULL)),
                        "field 'amount' must be a positive integer, got -5");
    s_positive_refuses (s_map (zcq_testkit_map ("amount=0", NULL)),
                        "field 'amount' must be a positive integer, got 0");
    s_positive_refuses (s_map (zcq_testkit_map ("amount:=5", NULL)),
                        "field 'amount' must be a positive integer, got a string");
    s_positive_refuses (s_map (zcq_testkit_map ("amount=true", NULL)),
                        "field 'amount' must be a positive integer, got a boolean");

    msgpack_sbuffer *buffer;
    msgpack_packer packer;
    msgpack_pack_uint64 (s_start (&buffer, &packer, "amount"), UINT64_MAX);
    s_positive_refuses (s_map (buffer), "field 'amount' must be a positive integer, "
                                        "got 18446744073709551615");
    msgpack_pack_double (s_start (&buffer, &packer, "amount"), 2.5);
    s_positive_refuses (s_map (buffer), "field 'amount' must be a positive integer, got 2.5");
    msgpack_pack_nil (s_start (&buffer, &packer, "amount"));
    s_positive_refuses (s_map (buffer), "field 'amount' must be a positive integer, got nil");
    msgpack_pack_array (s_start (&buffer, &packer, "amount"), 0);
    s_positive_refuses (s_map (buffer),
                        "field 'amount' must be a positive integer, got an array");
}

static void
test_uint_has_a_default (void **state)
{
    (void) state;
    char reason [ZCQ_REASON_MAX];
    uint64_t value = 0;
    s_map_t map = s_map (zcq_testkit_map ("from=0", NULL));
    assert_int_equal (zcq_map_uint (&map.unpacked.data, "from", 1, &value, reason), 0);
    assert_int_equal (value, 0);
    assert_int_equal (zcq_map_uint (&map.unpacked.data, "max", 100, &value, reason), 0);
    assert_int_equal (value, 100);
    s_map_free (&map);

    map = s_map (zcq_testkit_map ("from=-1", NULL));
    assert_int_equal (zcq_map_uint (&map.unpacked.data, "from", 1, &value, reason), -1);
    assert_string_equal (reason, "field 'from' must be an integer >= 0, got -1");
    s_map_free (&map);

    map = s_map (zcq_testkit_map ("from:=7", NULL));
    assert_int_equal (zcq_map_uint (&map.unpacked.data, "from", 1, &value, reason), -1);
    assert_string_equal (reason, "field 'from' must be an integer >= 0, got a string");
    s_map_free (&map);

    //  nil means "not given"
    msgpack_sbuffer *buffer;
    msgpack_packer packer;
    msgpack_pack_nil (s_start (&buffer, &packer, "from"));
    map = s_map (buffer);
    assert_int_equal (zcq_map_uint (&map.unpacked.data, "from", 1, &value, reason), 0);
    assert_int_equal (value, 1);
    s_map_free (&map);
}

static void
test_string_copies_and_checks (void **state)
{
    (void) state;
    char reason [ZCQ_REASON_MAX];
    char *value = NULL;
    s_map_t map = s_map (zcq_testkit_map ("owner=Zoë", "empty:=", "count=3", NULL));
    assert_int_equal (zcq_map_string (&map.unpacked.data, "owner", 128, &value, reason), 0);
    assert_string_equal (value, "Zoë");
    free (value);

    assert_int_equal (zcq_map_string (&map.unpacked.data, "owner", 3, &value, reason), -1);
    assert_string_equal (reason, "field 'owner' must be at most 3 bytes, got 4");
    assert_int_equal (zcq_map_string (&map.unpacked.data, "empty", 128, &value, reason), -1);
    assert_string_equal (reason, "field 'empty' must not be empty");
    assert_int_equal (zcq_map_string (&map.unpacked.data, "count", 128, &value, reason), -1);
    assert_string_equal (reason, "field 'count' must be a string, got 3");
    assert_int_equal (zcq_map_string (&map.unpacked.data, "name", 128, &value, reason), -1);
    assert_string_equal (reason, "field 'name' is missing");
    s_map_free (&map);

    //  Broken UTF-8, and an embedded NUL, never reach C strings
    const char *garbage [] = {"\xff\xfe", "a\0b", "tab\there"};
    const size_t sizes [] = {2, 3, 8};
    for (size_t index = 0; index < 3; index++) {
        msgpack_sbuffer *buffer;
        msgpack_packer packer;
        s_start (&buffer, &packer, "owner");
        msgpack_pack_str (&packer, sizes [index]);
        msgpack_pack_str_body (&packer, garbage [index], sizes [index]);
        map = s_map (buffer);
        assert_int_equal (zcq_map_string (&map.unpacked.data, "owner", 128, &value, reason),
                          -1);
        assert_string_equal (reason,
                             "field 'owner' must be UTF-8 text without control characters");
        s_map_free (&map);
    }
}

static void
test_unpack_wants_exactly_one_object (void **state)
{
    (void) state;
    msgpack_unpacked result;
    msgpack_sbuffer *buffer = zcq_testkit_map ("a=1", NULL);
    assert_int_equal (zcq_mpack_unpack (buffer->data, buffer->size, &result), 0);
    assert_int_equal (result.data.type, MSGPACK_OBJECT_MAP);
    msgpack_unpacked_destroy (&result);

    //  Truncated, trailing bytes, nothing at all
    assert_int_equal (zcq_mpack_unpack (buffer->data, buffer->size - 1, &result), -1);
    msgpack_unpacked_destroy (&result);
    msgpack_sbuffer_write (buffer, "\x01", 1);
    assert_int_equal (zcq_mpack_unpack (buffer->data, buffer->size, &result), -1);
    msgpack_unpacked_destroy (&result);
    assert_int_equal (zcq_mpack_unpack (NULL, 0, &result), -1);
    msgpack_unpacked_destroy (&result);
    assert_int_equal (zcq_mpack_unpack ("\xc1", 1, &result), -1);
    msgpack_unpacked_destroy (&result);
    msgpack_sbuffer_free (buffer);
}

static void
test_pack_str_packs_a_string (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    zcq_mpack_pack_str (&packer, "hello");
    assert_int_equal (buffer.size, 6);
    assert_memory_equal (buffer.data, "\xa5hello", 6);
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_only_names_the_keys_it_does_not_take (void **state)
{
    (void) state;
    static const char *const amount [] = {"amount", NULL};
    static const char *const nothing [] = {NULL};
    char reason [ZCQ_REASON_MAX];
    s_map_t map = s_map (zcq_testkit_map ("amount=5", NULL));
    assert_int_equal (zcq_map_only (&map.unpacked.data, amount, reason), 0);
    assert_int_equal (zcq_map_only (&map.unpacked.data, nothing, reason), -1);
    assert_string_equal (reason, "unknown field 'amount' (it takes none)");
    s_map_free (&map);
    map = s_map (zcq_testkit_map ("amount=5", "extra=zzz", "note=x", NULL));
    assert_int_equal (zcq_map_only (&map.unpacked.data, amount, reason), -1);
    assert_string_equal (reason, "unknown fields 'extra', 'note' (it takes amount)");
    s_map_free (&map);
    //  No map at all holds no unknown key
    assert_int_equal (zcq_map_only (NULL, amount, reason), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_only_names_the_keys_it_does_not_take),
        cmocka_unit_test (test_get_finds_keys_and_nothing_else),
        cmocka_unit_test (test_positive_accepts_positive_integers),
        cmocka_unit_test (test_positive_refuses_what_is_not),
        cmocka_unit_test (test_uint_has_a_default),
        cmocka_unit_test (test_string_copies_and_checks),
        cmocka_unit_test (test_unpack_wants_exactly_one_object),
        cmocka_unit_test (test_pack_str_packs_a_string),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
