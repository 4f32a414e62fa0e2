/*  =========================================================================
    test_json - JSON text of msgpack values and of messages, as the CLI
    prints them
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_every_msgpack_type (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 9);
    msgpack_pack_nil (&pk);
    msgpack_pack_true (&pk);
    msgpack_pack_int64 (&pk, INT64_MIN);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    msgpack_pack_double (&pk, 0.5);
    zcq_mpack_pack_str (&pk, "q\"b\\n\n\x01é");
    msgpack_pack_bin (&pk, 2);
    msgpack_pack_bin_body (&pk, "\x00\xff", 2);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_int (&pk, 7); //  a key that is not a string
    msgpack_pack_str (&pk, 2);
    msgpack_pack_str_body (&pk, "\xff\x41", 2); //  not UTF-8: escaped
    msgpack_pack_double (&pk, 1.0 / 0.0);       //  JSON has no infinity
    char *json = zcq_json_from_msgpack (buffer.data, buffer.size);
    assert_string_equal (json,
                         "[null,true,-9223372036854775808,18446744073709551615,0.5,"
                         "\"q\\\"b\\\\n\\n\\u0001é\",\"00ff\",{\"7\":\"\\u00ffA\"},null]");
    free (json);
    assert_null (zcq_json_from_msgpack ("\xc1", 1));
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_messages_print_what_they_reflect (void **state)
{
    (void) state;
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
    zcq_msg_set_status (reply, ZCQ_CONFLICT);
    zcq_msg_set_version (reply, 5);
    zcq_msg_set_position (reply, 17);
    zcq_msg_set_reason (reply, "expected version %d", 3);
    char *json = zcq_json_from_msg (reply);
    assert_string_equal (json,
                         "{\"status\":\"conflict\",\"version\":5,\"position\":17,\"count\":0,"
                         "\"reason\":\"expected version 3\"}");
    free (json);
    zcq_msg_destroy (&reply);

    zcq_msg_t *result = zcq_msg_new (ZCQ_MSG_RESULT);
    msgpack_sbuffer *data = zcq_testkit_map ("balance=700", NULL);
    zcq_msg_set_data (result, data->data, data->size);
    msgpack_sbuffer_free (data);
    zcq_msg_set_position (result, 9);
    json = zcq_json_from_msg (result);
    assert_string_equal (json,
                         "{\"status\":\"ok\",\"position\":9,\"result\":{\"balance\":700}}");
    free (json);
    zcq_msg_destroy (&result);

    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, 3);
    zcq_msg_set_stream (event, "account-1");
    zcq_msg_set_version (event, 2);
    zcq_msg_set_name (event, "MoneyDeposited");
    zcq_msg_set_id (event, "\x01\x02", 2);
    zcq_msg_set_time (event, 1234);
    zcq_msg_set_correlation (event, "order-9");
    json = zcq_json_from_msg (event);
    assert_string_equal (json,
                         "{\"position\":3,\"stream\":\"account-1\",\"version\":2,"
                         "\"type\":\"MoneyDeposited\",\"data\":null,\"meta\":{"
                         "\"command\":\"0102\",\"time\":1234,\"correlation\":\"order-9\"}}");
    free (json);
    //  On a secured write node the event also says who sent the command
    zcq_msg_set_user (event, "alice");
    json = zcq_json_from_msg (event);
    assert_non_null (strstr (json, "\"correlation\":\"order-9\",\"user\":\"alice\"}}"));
    free (json);
    zcq_msg_destroy (&event);
}

//  Parse JSON and print it back as JSON (through msgpack).
static char *
s_round_trip (const char *text, char **error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    char *json = NULL;
    if (zcq_json_to_msgpack (text, &buffer, error) == 0) {
        json = zcq_json_from_msgpack (buffer.data, buffer.size);
    }
    msgpack_sbuffer_destroy (&buffer);
    return json;
}

static void
test_json_text_becomes_msgpack (void **state)
{
    (void) state;
    char *error = NULL;
    char *json = s_round_trip (" {\"events\": [ {\"type\":\"A\", \"data\":{\"n\":-1}},"
                               " {\"type\":\"B\"} ], \"ok\":true, \"no\":false,"
                               " \"none\":null, \"big\":18446744073709551615, \"x\":0.25,"
                               " \"s\":\"\\u00e9\\ud83d\\ude00\\n\\\"\"} ",
                               &error);
    assert_null (error);
    assert_string_equal (json, "{\"events\":[{\"type\":\"A\",\"data\":{\"n\":-1}},"
                               "{\"type\":\"B\"}],\"ok\":true,\"no\":false,\"none\":null,"
                               "\"big\":18446744073709551615,\"x\":0.25,"
                               "\"s\":\"é😀\\n\\\"\"}");
    free (json);
    json = s_round_trip ("[]", &error);
    assert_string_equal (json, "[]");
    free (json);
    json = s_round_trip ("{}", &error);
    assert_string_equal (json, "{}");
    free (json);
}

static void
test_bad_json_says_where (void **state)
{
    (void) state;
    const char *cases [][2] = {
        {"{\"a\" 1}", "offset 5: expected ':' after a key"},
        {"{\"a\":1,}", "offset 7: expected a string key"},
        {"[1 2]", "offset 3: expected ',' or ']'"},
        {"\"open", "string not closed"},
        {"01", "bad number"},
        {"tru", "expected a value"},
        {"{} x", "text after the value"},
        {"\"\\ud800\"", "lone high surrogate"},
        {"\"\\q\"", "unknown escape"},
        {"", "unexpected end"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        char *error = NULL;
        char *json = s_round_trip (cases [index][0], &error);
        assert_null (json);
        assert_non_null (error);
        if (!strstr (error, cases [index][1])) {
            fail_msg ("'%s': got '%s', wanted '%s'", cases [index][0], error, cases [index][1]);
        }
        free (error);
    }
    //  Nesting is bounded
    char deep [200];
    memset (deep, '[', sizeof (deep) - 1);
    deep [sizeof (deep) - 1] = 0;
    char *error = NULL;
    assert_null (s_round_trip (deep, &error));
    assert_non_null (strstr (error, "nested too deep"));
    free (error);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_every_msgpack_type),
        cmocka_unit_test (test_messages_print_what_they_reflect),
        cmocka_unit_test (test_json_text_becomes_msgpack),
        cmocka_unit_test (test_bad_json_says_where),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
