/*  =========================================================================
    test_kv - "field=value" words into msgpack maps, as the CLI takes them
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_values_are_typed (void **state)
{
    (void) state;
    const char *words [] = {
        "amount=500", "owner=alice", "note:=42", "negative=-7",
        "flag=true",  "off=false",   "empty=",   "huge=99999999999999999999",
        "text=a=b"};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    char *error = NULL;
    assert_int_equal (zcq_words_pack (&buffer, 9, words, &error), 0);
    assert_null (error);
    char *json = zcq_json_from_msgpack (buffer.data, buffer.size);
    assert_string_equal (json,
                         "{\"amount\":500,\"owner\":\"alice\",\"note\":\"42\",\"negative\":-7,"
                         "\"flag\":true,\"off\":false,\"empty\":\"\","
                         "\"huge\":\"99999999999999999999\",\"text\":\"a=b\"}");
    free (json);
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_bad_words_are_named (void **state)
{
    (void) state;
    const char *words [] = {"amount=5", "oops"};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    char *error = NULL;
    assert_int_equal (zcq_words_pack (&buffer, 2, words, &error), -1);
    assert_string_equal (error, "'oops' is not field=value");
    free (error);
    const char *nameless [] = {"=5"};
    assert_int_equal (zcq_words_pack (&buffer, 1, nameless, &error), -1);
    free (error);
    //  No words: an empty map
    buffer.size = 0;
    assert_int_equal (zcq_words_pack (&buffer, 0, NULL, &error), 0);
    assert_int_equal (buffer.size, 1);
    msgpack_sbuffer_destroy (&buffer);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_values_are_typed),
        cmocka_unit_test (test_bad_words_are_named),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
