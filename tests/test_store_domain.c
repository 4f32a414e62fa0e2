/*  =========================================================================
    test_store_domain - the "store" domain: Append stores the client's
    events as given, or is invalid as a whole; the stream and all queries
    read them back in order
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  --- Deciding ----------------------------------------------------------------

//  Start packing {events: [count items]}; the caller packs the items.
static msgpack_sbuffer *
s_events_begin (msgpack_packer *packer, uint32_t count)
{
    msgpack_sbuffer *buffer = msgpack_sbuffer_new ();
    msgpack_packer_init (packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (packer, 1);
    zcq_mpack_pack_str (packer, "events");
    msgpack_pack_array (packer, count);
    return buffer;
}

//  Pack one item {type}, with {data: {n}} when n > 0.
static void
s_event (msgpack_packer *packer, const char *type, int n)
{
    msgpack_pack_map (packer, n > 0 ? 2 : 1);
    zcq_mpack_pack_str (packer, "type");
    zcq_mpack_pack_str (packer, type);
    if (n > 0) {
        zcq_mpack_pack_str (packer, "data");
        msgpack_pack_map (packer, 1);
        zcq_mpack_pack_str (packer, "n");
        msgpack_pack_int (packer, n);
    }
}

//  Decide one command on stream "orders"; takes ownership of data.
static zcq_decision_t *
s_decide (const char *type, msgpack_sbuffer *data)
{
    return zcq_testkit_decide (zcq_store_domain (), NULL, type, "orders", data);
}

//  Expect an Append to be invalid with this reason, and emit nothing.
static void
s_invalid (msgpack_sbuffer *data, const char *reason)
{
    zcq_decision_t *decision = s_decide ("Append", data);
    assert_int_equal (zcq_decision_status (decision), ZCQ_INVALID);
    assert_string_equal (zcq_decision_reason (decision), reason);
    assert_int_equal (zcq_decision_count (decision), 0);
    zcq_decision_destroy (&decision);
}

static void
test_store_keeps_no_state (void **unused)
{
    (void) unused;
    const zcq_domain_t *store = zcq_store_domain ();
    assert_string_equal (store->name, "store");
    assert_null (store->state_new ());
    assert_null (store->evolve);
    assert_true (zcq_domain_has_command (store, "Append"));
    assert_true (zcq_domain_has_query (store, "stream"));
    assert_true (zcq_domain_has_query (store, "all"));
}

static void
test_append_emits_the_events_as_given (void **unused)
{
    (void) unused;
    msgpack_packer packer;
    msgpack_sbuffer *data = s_events_begin (&packer, 2);
    s_event (&packer, "OrderPlaced", 3);
    s_event (&packer, "OrderShipped", 0);
    zcq_decision_t *decision = s_decide ("Append", data);
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_int_equal (zcq_decision_count (decision), 2);
    assert_string_equal (zcq_decision_event_type (decision, 0), "OrderPlaced");
    size_t size;
    const byte *event = zcq_decision_event_data (decision, 0, &size);
    assert_int_equal (zcq_testkit_int (event, size, "n"), 3);
    //  No data: an empty map
    assert_string_equal (zcq_decision_event_type (decision, 1), "OrderShipped");
    event = zcq_decision_event_data (decision, 1, &size);
    assert_int_equal (size, 1);
    assert_memory_equal (event, "\x80", 1);
    zcq_decision_destroy (&decision);

    //  As many as one EVENTS reply can carry
    data = s_events_begin (&packer, ZCQ_MAX_EVENTS);
    for (int index = 0; index < ZCQ_MAX_EVENTS; index++) {
        s_event (&packer, "Tick", index + 1);
    }
    decision = s_decide ("Append", data);
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_int_equal (zcq_decision_count (decision), ZCQ_MAX_EVENTS);
    event = zcq_decision_event_data (decision, 999, &size);
    assert_int_equal (zcq_testkit_int (event, size, "n"), 1000);
    zcq_decision_destroy (&decision);
}

static void
test_append_refuses_malformed_events (void **unused)
{
    (void) unused;
    msgpack_packer packer;
    s_invalid (zcq_testkit_map (NULL), "field 'events' is missing");
    s_invalid (zcq_testkit_map ("events=5", NULL),
               "field 'events' must be an array, got an integer");
    s_invalid (s_events_begin (&packer, 0), "field 'events' must hold 1 to 1000 events, got 0");

    msgpack_sbuffer *data = s_events_begin (&packer, ZCQ_MAX_EVENTS + 1);
    for (int index = 0; index <= ZCQ_MAX_EVENTS; index++) {
        s_event (&packer, "Tick", 0);
    }
    s_invalid (data, "field 'events' must hold 1 to 1000 events, got 1001");

    //  One bad item spoils the whole command, and the reason names it
    data = s_events_begin (&packer, 2);
    s_event (&packer, "Fine", 1);
    zcq_mpack_pack_str (&packer, "OrderPlaced");
    s_invalid (data, "events[1] must be a map, got a string");

    data = s_events_begin (&packer, 3);
    s_event (&packer, "Fine", 1);
    s_event (&packer, "Fine", 2);
    msgpack_pack_map (&packer, 0);
    s_invalid (data, "events[2].type must be a non-empty string");

    data = s_events_begin (&packer, 1);
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "type");
    msgpack_pack_int (&packer, 7);
    s_invalid (data, "events[0].type must be a non-empty string");

    data = s_events_begin (&packer, 1);
    s_event (&packer, "", 0);
    s_invalid (data, "events[0].type must be a non-empty string");

    char long_type [ZCQ_MAX_NAME + 2];
    memset (long_type, 'T', ZCQ_MAX_NAME + 1);
    long_type [ZCQ_MAX_NAME + 1] = 0;
    data = s_events_begin (&packer, 1);
    s_event (&packer, long_type, 0);
    s_invalid (data, "events[0].type must be at most 128 bytes, got 129");

    data = s_events_begin (&packer, 1);
    s_event (&packer, "Bad\nType", 0);
    s_invalid (data, "events[0].type must be UTF-8 text without control characters");

    data = s_events_begin (&packer, 1);
    msgpack_pack_map (&packer, 2);
    zcq_mpack_pack_str (&packer, "type");
    zcq_mpack_pack_str (&packer, "OrderPlaced");
    zcq_mpack_pack_str (&packer, "data");
    msgpack_pack_array (&packer, 0);
    s_invalid (data, "events[0].data must be a map, got an array");

    zcq_decision_t *decision = s_decide ("Delete", zcq_testkit_map (NULL));
    assert_int_equal (zcq_decision_status (decision), ZCQ_INVALID);
    assert_string_equal (zcq_decision_reason (decision), "unknown command type 'Delete'");
    zcq_decision_destroy (&decision);
}

//  --- Read models -------------------------------------------------------------

typedef zcq_testkit_models_t s_fixture_t; //  real store, view, position

//  Project an event {n} at the next position (not yet committed).
static void
s_project (s_fixture_t *fixture, const char *stream, uint64_t version, const char *type, int n)
{
    char word [32];
    snprintf (word, sizeof word, "n=%d", n);
    msgpack_sbuffer *data = zcq_testkit_map (word, NULL);
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (data->data, data->size, &unpacked);
    fixture->position++;
    zcq_event_t event = {type,
                         stream,
                         version,
                         fixture->position,
                         1700000000000000 + (int64_t) fixture->position,
                         &unpacked.data,
                         1};
    assert_int_equal (zcq_store_domain ()->project (fixture->view, &event), 0);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (data);
}

//  Write what was projected, as a query node does after each batch.
static void
s_commit (s_fixture_t *fixture)
{
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (fixture->view, batch);
    assert_int_equal (zcq_store_write (fixture->store, batch, false), 0);
    zcq_batch_destroy (&batch);
}

//  Three events on "a", two on "a/b" (a stream whose name starts like "a").
static void
s_populate (s_fixture_t *fixture)
{
    s_project (fixture, "a", 1, "Opened", 10);
    s_project (fixture, "a/b", 1, "Opened", 20);
    s_project (fixture, "a", 2, "Changed", 11);
    s_project (fixture, "a", 3, "Changed", 12);
    s_project (fixture, "a/b", 2, "Changed", 21);
    s_commit (fixture);
}

//  A query's answer and its result array of events, unpacked.
typedef struct {
    zcq_result_t *answer;    //  the answer, which owns the bytes
    msgpack_unpacked result; //  its result, unpacked from those bytes
    uint32_t count;          //  events in the result
} s_result_t;

//  Ask a query; takes ownership of params. Unpacks the result when ok.
static s_result_t
s_query (s_fixture_t *fixture, const char *name, msgpack_sbuffer *params)
{
    s_result_t result = {zcq_result_new (), {0}, 0};
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (params->data, params->size, &unpacked);
    zcq_store_domain ()->query (fixture->view, name, &unpacked.data, result.answer);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (params);
    if (zcq_result_status (result.answer) == ZCQ_OK) {
        size_t size;
        const byte *data = zcq_result_data (result.answer, &size);
        zcq_testkit_unpack (data, size, &result.result);
        assert_int_equal (result.result.data.type, MSGPACK_OBJECT_ARRAY);
        result.count = result.result.data.via.array.size;
    }
    return result;
}

static void
s_result_free (s_result_t *result)
{
    msgpack_unpacked_destroy (&result->result);
    zcq_result_destroy (&result->answer);
}

//  Integer field of the i-th event in a result.
static int64_t
s_int (s_result_t *result, uint32_t index, const char *key)
{
    assert_true (index < result->count);
    const msgpack_object *event = &result->result.data.via.array.ptr [index];
    const msgpack_object *value = zcq_map_get (event, key);
    assert_non_null (value);
    return value->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t) value->via.u64
                                                          : value->via.i64;
}

//  True if the i-th event in a result has this string field.
static bool
s_has (s_result_t *result, uint32_t index, const char *key, const char *text)
{
    const msgpack_object *event = &result->result.data.via.array.ptr [index];
    const msgpack_object *value = zcq_map_get (event, key);
    return value && value->type == MSGPACK_OBJECT_STR && value->via.str.size == strlen (text)
           && memcmp (value->via.str.ptr, text, strlen (text)) == 0;
}

static void
test_stream_query_reads_one_stream_in_order (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_populate (fixture);
    s_result_t result = s_query (fixture, "stream", zcq_testkit_map ("stream=a", NULL));
    assert_int_equal (result.count, 3);
    for (uint32_t index = 0; index < 3; index++) {
        assert_int_equal (s_int (&result, index, "version"), index + 1);
        assert_true (s_has (&result, index, "stream", "a"));
    }
    //  Every field of the stored event comes back
    assert_true (s_has (&result, 0, "type", "Opened"));
    assert_int_equal (s_int (&result, 0, "position"), 1);
    assert_int_equal (s_int (&result, 0, "time"), 1700000000000001);
    const msgpack_object *data = zcq_map_get (&result.result.data.via.array.ptr [0], "data");
    assert_int_equal (zcq_map_get (data, "n")->via.u64, 10);
    assert_int_equal (s_int (&result, 2, "position"), 4);
    s_result_free (&result);

    result = s_query (fixture, "stream", zcq_testkit_map ("stream=a", "from=2", "max=1", NULL));
    assert_int_equal (result.count, 1);
    assert_int_equal (s_int (&result, 0, "version"), 2);
    s_result_free (&result);

    result = s_query (fixture, "stream", zcq_testkit_map ("stream=a/b", NULL));
    assert_int_equal (result.count, 2);
    assert_true (s_has (&result, 1, "type", "Changed"));
    s_result_free (&result);

    //  Nothing there: an empty array, not a failure
    result = s_query (fixture, "stream", zcq_testkit_map ("stream=a", "from=4", NULL));
    assert_int_equal (result.count, 0);
    s_result_free (&result);
    result = s_query (fixture, "stream", zcq_testkit_map ("stream=nobody", NULL));
    assert_int_equal (result.count, 0);
    s_result_free (&result);
}

static void
test_all_query_reads_the_log_in_order (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_populate (fixture);
    s_result_t result = s_query (fixture, "all", zcq_testkit_map (NULL));
    assert_int_equal (result.count, 5);
    for (uint32_t index = 0; index < 5; index++) {
        assert_int_equal (s_int (&result, index, "position"), index + 1);
    }
    assert_true (s_has (&result, 1, "stream", "a/b"));
    s_result_free (&result);

    result = s_query (fixture, "all", zcq_testkit_map ("from=4", "max=1", NULL));
    assert_int_equal (result.count, 1);
    assert_int_equal (s_int (&result, 0, "position"), 4);
    s_result_free (&result);

    result = s_query (fixture, "all", zcq_testkit_map ("from=6", NULL));
    assert_int_equal (result.count, 0);
    s_result_free (&result);
}

static void
test_queries_return_at_most_max (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    for (uint64_t version = 1; version <= 1200; version++) {
        s_project (fixture, "busy", version, "Tick", (int) version);
    }
    s_commit (fixture);
    s_result_t result = s_query (fixture, "all", zcq_testkit_map (NULL));
    assert_int_equal (result.count, 100);
    s_result_free (&result);
    result = s_query (fixture, "stream", zcq_testkit_map ("stream=busy", "max=1000", NULL));
    assert_int_equal (result.count, 1000);
    assert_int_equal (s_int (&result, 999, "version"), 1000);
    s_result_free (&result);
    //  Versions sort as numbers, not as text: 1000 follows 999
    result =
        s_query (fixture, "stream", zcq_testkit_map ("stream=busy", "from=999", "max=3", NULL));
    assert_int_equal (s_int (&result, 2, "version"), 1001);
    s_result_free (&result);
}

//  Expect a query to be invalid with this reason.
static void
s_query_invalid (s_fixture_t *fixture, const char *name, msgpack_sbuffer *params,
                 zcq_status_t status, const char *reason)
{
    s_result_t result = s_query (fixture, name, params);
    assert_string_equal (zcq_status_name (zcq_result_status (result.answer)),
                         zcq_status_name (status));
    assert_string_equal (zcq_result_reason (result.answer), reason);
    s_result_free (&result);
}

static void
test_queries_name_the_bad_parameter (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_query_invalid (fixture, "stream", zcq_testkit_map (NULL), ZCQ_INVALID,
                     "field 'stream' is missing");
    s_query_invalid (fixture, "stream", zcq_testkit_map ("stream=3", NULL), ZCQ_INVALID,
                     "field 'stream' must be a string, got 3");
    s_query_invalid (fixture, "stream", zcq_testkit_map ("stream=a", "from=-1", NULL),
                     ZCQ_INVALID, "field 'from' must be an integer >= 0, got -1");
    s_query_invalid (fixture, "all", zcq_testkit_map ("max=0", NULL), ZCQ_INVALID,
                     "field 'max' must be 1 to 1000, got 0");
    s_query_invalid (fixture, "all", zcq_testkit_map ("max=1001", NULL), ZCQ_INVALID,
                     "field 'max' must be 1 to 1000, got 1001");
    s_query_invalid (fixture, "all", zcq_testkit_map ("max=lots", NULL), ZCQ_INVALID,
                     "field 'max' must be an integer >= 0, got a string");
    s_query_invalid (fixture, "streams", zcq_testkit_map (NULL), ZCQ_UNKNOWN_TYPE,
                     "unknown query 'streams'");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_store_keeps_no_state),
        cmocka_unit_test (test_append_emits_the_events_as_given),
        cmocka_unit_test (test_append_refuses_malformed_events),
        ZCQ_TESTKIT_MODELS_TEST (test_stream_query_reads_one_stream_in_order),
        ZCQ_TESTKIT_MODELS_TEST (test_all_query_reads_the_log_in_order),
        ZCQ_TESTKIT_MODELS_TEST (test_queries_return_at_most_max),
        ZCQ_TESTKIT_MODELS_TEST (test_queries_name_the_bad_parameter),
    };
    return ZCQ_TESTKIT_RUN_ON_BOTH_BACKENDS (tests);
}
