/*  =========================================================================
    test_query_node - the query node actor in-process, on ipc:// endpoints
    in a temporary folder: an answer too big for one message is refused
    "too_large" (and a big one that fits goes whole); a REPLAY that goes
    unanswered is given up after query/replay_timeout and asked again once
    a position is known to be missing, both counted in "status"; nodes
    stopped together mid-replay never abort; settings are checked
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
    zconfig_put (fixture->config, "query/storage", zcq_testkit_storage ());
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

//  Send a command of type on stream with data (taken); asserts it is
//  accepted. Returns its position.
static uint64_t
s_accepted (fixture_t *fixture, const char *type, const char *stream, msgpack_sbuffer *data)
{
    zcq_msg_t *reply = zcq_client_send (fixture->client, type, stream, ZCQ_EXPECT_ANY,
                                        data->data, data->size, WAIT);
    msgpack_sbuffer_free (data);
    assert_non_null (reply);
    if (zcq_msg_status (reply) != ZCQ_ACCEPTED) {
        fail_msg ("%s refused: %s", type, zcq_msg_reason (reply));
    }
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
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
    return s_accepted (fixture, "Append", "blobs", data);
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

//  A number in the query node's status.
static int64_t
s_status_int (fixture_t *fixture, const char *key)
{
    zcq_msg_t *status = zcq_client_query (fixture->client, 0, "status", NULL, 0, 0, WAIT);
    assert_non_null (status);
    assert_int_equal (zcq_msg_status (status), ZCQ_OK);
    int64_t value = zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status), key);
    zcq_msg_destroy (&status);
    return value;
}

//  Wait until the query node's status says key >= minimum (bounded).
static void
s_await_count (fixture_t *fixture, const char *key, int64_t minimum)
{
    int64_t deadline = zclock_mono () + WAIT;
    int64_t value = 0;
    while (zclock_mono () < deadline) {
        value = s_status_int (fixture, key);
        if (value >= minimum) {
            return;
        }
        zclock_sleep (20); //  polling the node's counter; bounded
    }
    fail_msg ("status %s is %" PRId64 ", wanted %" PRId64 " or more", key, value, minimum);
}

//  Wait for the node's next REPLAY on the router; it must ask from from.
static void
s_expect_replay (zsock_t *router, uint64_t from)
{
    zsock_set_rcvtimeo (router, WAIT);
    zcq_msg_t *request = zcq_msg_recv (router);
    assert_non_null (request);
    assert_true (zcq_msg_valid (request));
    assert_int_equal (zcq_msg_type (request), ZCQ_MSG_REPLAY);
    assert_int_equal (zcq_msg_from (request), from);
    zcq_msg_destroy (&request);
}

static void
test_an_unanswered_replay_is_given_up_after_the_replay_timeout (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    //  The test plays a write node that never answers a REPLAY
    zsock_t *pub = zsock_new_pub (fixture->events);
    zsock_t *router = zsock_new_router (fixture->replay);
    assert_non_null (pub);
    assert_non_null (router);
    zconfig_put (fixture->config, "query/replay_timeout", "150");
    int64_t started = zclock_mono ();
    fixture->query = s_start (fixture, zcq_query_node_actor);
    //  A new node asks at once from position 1, and gives it up on time
    s_expect_replay (router, 1);
    s_await_count (fixture, "replay_timeouts", 1);
    assert_true (zclock_mono () - started >= 150);
    //  Nothing is known to be missing, so nothing is asked until a
    //  heartbeat says the log holds 3 events (heartbeats until one is
    //  counted: a SUB joins asynchronously)
    int64_t deadline = zclock_mono () + WAIT;
    while (s_status_int (fixture, "heartbeats") == 0 && zclock_mono () < deadline) {
        zcq_msg_t *beat = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
        zcq_msg_set_head (beat, 3);
        zcq_msg_set_interval (beat, 100);
        assert_int_equal (zcq_msg_send (beat, pub), 0);
        zcq_msg_destroy (&beat);
        zclock_sleep (20); //  polling for the subscription to take; bounded
    }
    assert_true (s_status_int (fixture, "heartbeats") >= 1);
    s_expect_replay (router, 1);
    //  Unanswered again: given up again
    s_await_count (fixture, "replay_timeouts", 2);
    assert_int_equal (s_status_int (fixture, "applied"), 0);
    zactor_destroy (&fixture->query);
    zsock_destroy (&pub);
    zsock_destroy (&router);
}

//  A field of the map under "storage" in the query node's status, as text
//  (a number in decimal); caller frees.
static char *
s_storage_text (fixture_t *fixture, const char *key)
{
    zcq_msg_t *status = zcq_client_query (fixture->client, 0, "status", NULL, 0, 0, WAIT);
    assert_non_null (status);
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (zcq_msg_data (status), zcq_msg_data_size (status), &unpacked);
    char *value = NULL;
    msgpack_object_map *map = &unpacked.data.via.map;
    for (uint32_t index = 0; index < map->size; index++) {
        msgpack_object *name = &map->ptr [index].key;
        msgpack_object *storage = &map->ptr [index].val;
        if (name->via.str.size == 7 && memcmp (name->via.str.ptr, "storage", 7) == 0) {
            assert_int_equal (storage->type, MSGPACK_OBJECT_MAP);
            for (uint32_t field = 0; field < storage->via.map.size; field++) {
                msgpack_object_kv *pair = &storage->via.map.ptr [field];
                bool named = pair->key.via.str.size == strlen (key)
                             && memcmp (pair->key.via.str.ptr, key, strlen (key)) == 0;
                if (named && pair->val.type == MSGPACK_OBJECT_STR) {
                    value = strndup (pair->val.via.str.ptr, pair->val.via.str.size);
                }
                else if (named && pair->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                    value = zsys_sprintf ("%" PRIu64, pair->val.via.u64);
                }
            }
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    zcq_msg_destroy (&status);
    assert_non_null (value);
    return value;
}

static void
test_the_status_names_the_storage (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    fixture->write = s_start (fixture, zcq_write_node_actor);
    fixture->query = s_start (fixture, zcq_query_node_actor);
    char *backend = s_storage_text (fixture, "backend");
    assert_string_equal (backend, zcq_testkit_storage ());
    free (backend);
    char *storage_state = s_storage_text (fixture, "state");
    assert_string_equal (storage_state, "ok");
    free (storage_state);
}

//  The store domain's nodes, the query node's read models in memory of at
//  most 1 MiB; the write node started. Queries ask for what the node has,
//  not for the client's last write.
static void
s_start_in_small_memory (fixture_t *fixture)
{
    zconfig_put (fixture->config, "write/domain", "store");
    zconfig_put (fixture->config, "query/domain", "store");
    zconfig_put (fixture->config, "query/storage", "memory");
    zconfig_put (fixture->config, "query/memory_limit", "1");
    zcq_client_set_consistent (fixture->client, false);
    fixture->write = s_start (fixture, zcq_write_node_actor);
}

static void
test_read_models_past_the_memory_limit_stop_and_say_so (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_in_small_memory (fixture);
    fixture->query = s_start (fixture, zcq_query_node_actor);
    //  Eight events of 200 KiB cannot all be held in 1 MiB
    uint64_t position = 0;
    for (int index = 0; index < 8; index++) {
        position = s_append_blob (fixture, 200 * 1024);
    }
    s_await_count (fixture, "write_failures", 1);
    char *storage_state = s_storage_text (fixture, "state");
    assert_string_equal (storage_state, "full");
    free (storage_state);
    //  It still answers, from what it holds, at the position it reached
    int64_t applied = s_status_int (fixture, "applied");
    assert_true (applied < (int64_t) position);
    zcq_msg_t *result = s_all (fixture, "1", 0);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), applied);
    zcq_msg_destroy (&result);
}

//  Start a node actor again on the fixture's settings, once the one just
//  stopped has let go of its endpoints (ZeroMQ unbinds in the background).
static zactor_t *
s_start_again (fixture_t *fixture, zactor_fn *actor)
{
    int64_t deadline = zclock_mono () + WAIT;
    char *message = NULL;
    zactor_t *node = NULL;
    while (!node && zclock_mono () < deadline) {
        zstr_free (&message);
        node = zcq_node_start (actor, fixture->config, &message);
        if (!node) {
            zclock_sleep (20); //  polling for the endpoint to be free; bounded
        }
    }
    if (!node) {
        fail_msg ("node did not start again: %s", message);
    }
    zstr_free (&message);
    return node;
}

//  Start the query node again (s_start_again), with a new client of it
//  that asks for what the node has.
static zactor_t *
s_restart_query (fixture_t *fixture)
{
    zactor_t *node = s_start_again (fixture, zcq_query_node_actor);
    //  A new client: a query sent as the old node went could be lost with
    //  its connection
    zcq_client_destroy (&fixture->client);
    fixture->client = zcq_client_new (fixture->commands);
    zcq_client_add_query_node (fixture->client, fixture->queries);
    zcq_client_set_consistent (fixture->client, false);
    return node;
}

//  Wait until the storage field key of the status says expected (bounded).
static void
s_await_storage (fixture_t *fixture, const char *key, const char *expected)
{
    int64_t deadline = zclock_mono () + WAIT;
    char *value = NULL;
    while (zclock_mono () < deadline) {
        zstr_free (&value);
        value = s_storage_text (fixture, key);
        if (streq (value, expected)) {
            zstr_free (&value);
            return;
        }
        zclock_sleep (20); //  polling the node's status; bounded
    }
    fail_msg ("storage %s is '%s', wanted '%s'", key, value, expected);
}

static void
test_memory_read_models_come_back_from_their_snapshot (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zconfig_put (fixture->config, "write/domain", "store");
    zconfig_put (fixture->config, "query/domain", "store");
    zconfig_put (fixture->config, "query/storage", "memory");
    zconfig_put (fixture->config, "query/snapshot", "1");
    zcq_client_set_consistent (fixture->client, false);
    fixture->write = s_start (fixture, zcq_write_node_actor);
    fixture->query = s_start (fixture, zcq_query_node_actor);
    s_await_storage (fixture, "loaded_from", "replay");
    for (int index = 0; index < 3; index++) {
        s_append_blob (fixture, 100);
    }
    //  Written within a second of the events
    s_await_storage (fixture, "snapshot_position", "3");
    zactor_destroy (&fixture->query);
    //  Started again: the models come from the snapshot, at its position
    fixture->query = s_restart_query (fixture);
    char *from = s_storage_text (fixture, "loaded_from");
    assert_string_equal (from, "snapshot");
    free (from);
    assert_int_equal (s_status_int (fixture, "applied"), 3);
    //  An event more, then a clean stop writes a snapshot at once
    s_append_blob (fixture, 100);
    s_await_count (fixture, "applied", 4);
    zactor_destroy (&fixture->query);
    fixture->query = s_restart_query (fixture);
    assert_int_equal (s_status_int (fixture, "applied"), 4);
    zactor_destroy (&fixture->query);
    //  A damaged snapshot is not loaded: the models come from replay
    char path [400];
    snprintf (path, sizeof path, "%s/query/memory.snapshot", fixture->dir);
    FILE *file = fopen (path, "r+b");
    assert_non_null (file);
    fseek (file, 30, SEEK_SET);
    fputc ('!', file);
    fclose (file);
    fixture->query = s_restart_query (fixture);
    from = s_storage_text (fixture, "loaded_from");
    assert_string_equal (from, "replay");
    free (from);
    s_await_count (fixture, "applied", 4);
    zcq_msg_t *result = s_all (fixture, "10", 4);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    zcq_msg_destroy (&result);
}

//  A write node and its query node stopped together while big replay
//  answers are on their way (the query node, its memory full, keeps asking
//  again): neither may abort the process, however the two stops interleave
//  (the replay server once closed without linger, and libzmq aborted when a
//  half-sent answer's connection dropped: 5 runs of 30 failed).
static void
test_nodes_stopped_together_while_a_big_replay_is_on_its_way (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_in_small_memory (fixture);
    for (int index = 0; index < 8; index++) {
        s_append_blob (fixture, 200 * 1024);
    }
    for (int round = 0; round < 12; round++) {
        if (!fixture->write) {
            fixture->write = s_start_again (fixture, zcq_write_node_actor);
        }
        fixture->query = s_restart_query (fixture);
        s_await_count (fixture, "write_failures", 1);
        zactor_destroy (&fixture->query);
        zactor_destroy (&fixture->write);
    }
}

static void
test_settings_are_checked (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zconfig_put (fixture->config, "query/replay_timeout", "0");
    char *message = NULL;
    zactor_t *node = zcq_node_start (zcq_query_node_actor, fixture->config, &message);
    assert_null (node);
    assert_non_null (message);
    assert_non_null (strstr (
        message, "setting query/replay_timeout must be a whole number from 1 to 3600000, "
                 "got '0'"));
    free (message);
    zconfig_put (fixture->config, "query/replay_timeout", "2000");
    zconfig_put (fixture->config, "query/storage", "disk");
    node = zcq_node_start (zcq_query_node_actor, fixture->config, &message);
    assert_null (node);
    assert_non_null (strstr (message, "query/storage"));
    assert_non_null (strstr (message, "must be 'leveldb' or 'memory', got 'disk'"));
    free (message);
}

//  Ask a bank query with params (taken) at the client's last position;
//  asserts it is answered ok there.
static void
s_bank_query (fixture_t *fixture, const char *name, msgpack_sbuffer *params, uint64_t position)
{
    zcq_msg_t *result =
        zcq_client_query (fixture->client, 0, name, params->data, params->size, 0, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), position);
    zcq_msg_destroy (&result);
}

//  On LevelDB the read models' batch is held (query/hold): a query that
//  gets keys reads it there and leaves it held, one that scans the store
//  has it written first. Nothing else writes it within the hold.
static void
test_only_a_scan_writes_the_held_batch_before_its_answer (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zconfig_put (fixture->config, "query/storage", "leveldb");
    zconfig_put (fixture->config, "query/hold", "60000");
    fixture->write = s_start (fixture, zcq_write_node_actor);
    fixture->query = s_start (fixture, zcq_query_node_actor);
    s_accepted (fixture, "OpenAccount", "acc-1", zcq_testkit_map ("owner=ann", NULL));
    uint64_t position =
        s_accepted (fixture, "Deposit", "acc-1", zcq_testkit_map ("amount=5", NULL));
    s_bank_query (fixture, "account", zcq_testkit_map ("id=acc-1", NULL), position);
    assert_int_equal (s_status_int (fixture, "applied"), position);
    assert_int_equal (s_status_int (fixture, "written"), 0);
    s_bank_query (fixture, "accounts-by-owner", zcq_testkit_map ("owner=ann", NULL), position);
    assert_int_equal (s_status_int (fixture, "written"), position);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_an_answer_too_big_for_one_message_is_refused,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_an_unanswered_replay_is_given_up_after_the_replay_timeout, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_the_status_names_the_storage, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_read_models_past_the_memory_limit_stop_and_say_so,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_memory_read_models_come_back_from_their_snapshot,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_nodes_stopped_together_while_a_big_replay_is_on_its_way, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_settings_are_checked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_only_a_scan_writes_the_held_batch_before_its_answer, s_setup, s_teardown),
    };
    return ZCQ_TESTKIT_RUN_ON_BOTH_BACKENDS (tests);
}
