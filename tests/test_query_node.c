/*  =========================================================================
    test_query_node - the query node actor in-process, on ipc:// endpoints
    in a temporary folder: an answer too big for one message is refused
    "too_large" (and a big one that fits goes whole)
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 10000 //  ms any single wait may take at most

typedef struct {
    char *dir;           //  temporary folder of data and sockets
    char commands [300]; //  write node endpoints
    char events [300];
    char replay [300];
    char queries [300];   //  query node endpoint
    zconfig_t *config;    //  settings of both nodes
    zactor_t *write;      //  write node actor, or NULL
    zactor_t *query;      //  query node actor
    zcq_client_t *client; //  client of both
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("query-node");
    snprintf (fixture->commands, sizeof fixture->commands, "ipc://%s/commands", fixture->dir);
    snprintf (fixture->events, sizeof fixture->events, "ipc://%s/events", fixture->dir);
    snprintf (fixture->replay, sizeof fixture->replay, "ipc://%s/replay", fixture->dir);
    snprintf (fixture->queries, sizeof fixture->queries, "ipc://%s/queries", fixture->dir);
    fixture->config = zconfig_new ("root", NULL);
    char data [320];
    zconfig_put (fixture->config, "write/commands", fixture->commands);
    zconfig_put (fixture->config, "write/events", fixture->events);
    zconfig_put (fixture->config, "write/replay", fixture->replay);
    snprintf (data, sizeof data, "%s/write", fixture->dir);
    zconfig_put (fixture->config, "write/data", data);
    zconfig_put (fixture->config, "query/events", fixture->events);
    zconfig_put (fixture->config, "query/replay", fixture->replay);
    zconfig_put (fixture->config, "query/queries", fixture->queries);
    snprintf (data, sizeof data, "%s/query", fixture->dir);
    zconfig_put (fixture->config, "query/data", data);
    fixture->client = zcq_client_new (fixture->commands);
    zcq_client_add_query_node (fixture->client, fixture->queries);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_client_destroy (&fixture->client);
    zactor_destroy (&fixture->query);
    zactor_destroy (&fixture->write);
    zconfig_destroy (&fixture->config);
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    return 0;
}

//  Start a node actor on the fixture's settings; asserts it serves.
static zactor_t *
s_start (fixture_t *fixture, zactor_fn *actor)
{
    char *message = NULL;
    zactor_t *node = zcq_node_start (actor, fixture->config, &message);
    if (!node) {
        fail_msg ("node did not start: %s", message);
    }
    free (message);
    return node;
}

//  Append one event to stream "blobs" whose data holds size bytes of text.
//  Returns its position.
static uint64_t
s_append_blob (fixture_t *fixture, size_t size)
{
    char *blob = (char *) malloc (size + 1);
    assert_non_null (blob);
    memset (blob, 'x', size);
    blob [size] = 0;
    msgpack_sbuffer *data = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, data, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "events");
    msgpack_pack_array (&packer, 1);
    msgpack_pack_map (&packer, 2);
    zcq_mpack_pack_str (&packer, "type");
    zcq_mpack_pack_str (&packer, "Blob");
    zcq_mpack_pack_str (&packer, "data");
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "blob");
    zcq_mpack_pack_str (&packer, blob);
    free (blob);
    zcq_msg_t *reply = zcq_client_send (fixture->client, "Append", "blobs", ZCQ_EXPECT_ANY,
                                        data->data, data->size, WAIT);
    msgpack_sbuffer_free (data);
    assert_non_null (reply);
    if (zcq_msg_status (reply) != ZCQ_ACCEPTED) {
        fail_msg ("Append refused: %s", zcq_msg_reason (reply));
    }
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

//  Ask the store domain's "all" query for up to max events, at position.
static zcq_msg_t *
s_all (fixture_t *fixture, const char *max, uint64_t position)
{
    char word [32];
    snprintf (word, sizeof word, "max=%s", max);
    msgpack_sbuffer *params = zcq_testkit_map (word, NULL);
    zcq_msg_t *result = zcq_client_query (fixture->client, 0, "all", params->data, params->size,
                                          position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_type (result), ZCQ_MSG_RESULT);
    return result;
}

static void
test_an_answer_too_big_for_one_message_is_refused (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zconfig_put (fixture->config, "write/domain", "store");
    zconfig_put (fixture->config, "query/domain", "store");
    fixture->write = s_start (fixture, zcq_write_node_actor);
    fixture->query = s_start (fixture, zcq_query_node_actor);
    //  Six events of 200 KiB: together more than one message's body (1 MiB)
    uint64_t position = 0;
    for (int index = 0; index < 6; index++) {
        position = s_append_blob (fixture, 200 * 1024);
    }
    assert_int_equal (position, 6);

    zcq_msg_t *result = s_all (fixture, "10", position);
    assert_int_equal (zcq_msg_status (result), ZCQ_TOO_LARGE);
    assert_int_equal (zcq_msg_position (result), position);
    const char *reason = zcq_msg_reason (result);
    assert_non_null (
        strstr (reason, "the answer does not fit in one message (RESULT body is "));
    assert_non_null (strstr (reason, "limit is 1048576); ask for less"));
    zcq_msg_destroy (&result);

    //  Asking for less: a big answer that fits comes whole
    result = s_all (fixture, "4", position);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), position);
    assert_true (zcq_msg_data_size (result) > 4 * 200 * 1024);
    msgpack_unpacked events;
    zcq_testkit_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &events);
    assert_int_equal (events.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (events.data.via.array.size, 4);
    msgpack_unpacked_destroy (&events);
    zcq_msg_destroy (&result);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_an_answer_too_big_for_one_message_is_refused,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
