/*  =========================================================================
    test_cluster - real node processes on their own ipc:// endpoints (and
    one tcp://127.0.0.1:* cluster), real LevelDB folders, the C client:
    the bank flow, refusals that store nothing, both query nodes agreeing,
    catch-up of a late query node, restarts and crashes, repeated command
    ids, the built-in store domain and a domain loaded from a .so
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#define WAIT 10000 //  ms any single wait may take at most

typedef struct {
    char *dir;           //  temporary folder for data and sockets
    char commands [256]; //  write node endpoints
    char events [256];
    char replay [256];
    char queries [2][256];        //  query node endpoints
    zcq_testkit_node_t write;     //  write node process
    zcq_testkit_node_t query [2]; //  query node processes
    zcq_client_t *client;         //  client of all three
} cluster_t;

static void
s_start_write (cluster_t *cluster, const char *domain)
{
    char data [300];
    snprintf (data, sizeof (data), "%s/write", cluster->dir);
    zcq_testkit_start (&cluster->write, cluster->dir, "zcqrs-write", "--commands",
                       cluster->commands, "--events", cluster->events, "--replay",
                       cluster->replay, "--data", data, "--domain", domain, "--heartbeat",
                       "200", NULL);
    assert_int_equal (zcq_testkit_wait_ready (cluster->commands, WAIT), 0);
}

static void
s_start_query (cluster_t *cluster, int index, const char *domain)
{
    char data [300], name [32];
    snprintf (data, sizeof (data), "%s/query-%d", cluster->dir, index + 1);
    snprintf (name, sizeof (name), "zcqrs-query");
    zcq_testkit_start (&cluster->query [index], cluster->dir, name, "--events", cluster->events,
                       "--replay", cluster->replay, "--queries", cluster->queries [index],
                       "--data", data, "--domain", domain, NULL);
    assert_int_equal (zcq_testkit_wait_ready (cluster->queries [index], WAIT), 0);
}

//  A cluster of one write node and two query nodes, all on ipc://.
static cluster_t *
s_cluster_new (const char *domain, int query_nodes)
{
    cluster_t *cluster = (cluster_t *) zmalloc (sizeof (cluster_t));
    cluster->dir = zcq_testkit_tmpdir ("cluster");
    snprintf (cluster->commands, 256, "ipc://%s/commands", cluster->dir);
    snprintf (cluster->events, 256, "ipc://%s/events", cluster->dir);
    snprintf (cluster->replay, 256, "ipc://%s/replay", cluster->dir);
    snprintf (cluster->queries [0], 256, "ipc://%s/queries-1", cluster->dir);
    snprintf (cluster->queries [1], 256, "ipc://%s/queries-2", cluster->dir);
    s_start_write (cluster, domain);
    for (int index = 0; index < query_nodes; index++) {
        s_start_query (cluster, index, domain);
    }
    cluster->client = zcq_client_new (cluster->commands);
    zcq_client_add_query_node (cluster->client, cluster->queries [0]);
    zcq_client_add_query_node (cluster->client, cluster->queries [1]);
    return cluster;
}

static void
s_cluster_destroy (cluster_t **cluster_p)
{
    cluster_t *cluster = *cluster_p;
    zcq_client_destroy (&cluster->client);
    //  A clean stop exits 0; anything else is a failure to report
    int status = zcq_testkit_stop (&cluster->write);
    for (int index = 0; index < 2; index++) {
        assert_int_equal (zcq_testkit_stop (&cluster->query [index]), 0);
    }
    assert_int_equal (status, 0);
    zcq_testkit_rmtree (cluster->dir);
    free (cluster->dir);
    free (cluster);
    *cluster_p = NULL;
}

//  Send a command with "field=value" words; returns the reply (asserted).
static zcq_msg_t *
s_send (cluster_t *cluster, const char *type, const char *stream, int64_t expect,
        const char *word, ...)
{
    const char *words [16];
    int count = 0;
    va_list args;
    va_start (args, word);
    while (word) {
        words [count++] = word;
        word = va_arg (args, const char *);
    }
    va_end (args);
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    char *error = NULL;
    assert_int_equal (zcq_words_pack (&data, count, words, &error), 0);
    zcq_msg_t *reply =
        zcq_client_send (cluster->client, type, stream, expect, data.data, data.size, WAIT);
    msgpack_sbuffer_destroy (&data);
    assert_non_null (reply);
    return reply;
}

//  Send a command and check its status; returns the reply's position.
static uint64_t
s_expect (cluster_t *cluster, zcq_status_t status, const char *type, const char *stream,
          int64_t expect, const char *word)
{
    zcq_msg_t *reply = s_send (cluster, type, stream, expect, word, NULL);
    if (zcq_msg_status (reply) != status) {
        fail_msg ("%s %s: got %s (%s), wanted %s", type, stream,
                  zcq_status_name (zcq_msg_status (reply)), zcq_msg_reason (reply),
                  zcq_status_name (status));
    }
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

//  Query a node with params words; returns the RESULT (asserted status ok).
static zcq_msg_t *
s_query (cluster_t *cluster, int node, const char *name, const char *word,
         uint64_t min_position)
{
    msgpack_sbuffer *params = word ? zcq_testkit_map (word, NULL) : zcq_testkit_map (NULL);
    zcq_msg_t *result = zcq_client_query (cluster->client, node, name, params->data,
                                          params->size, min_position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    if (zcq_msg_status (result) != ZCQ_OK) {
        fail_msg ("query %s on node %d: %s (%s)", name, node,
                  zcq_status_name (zcq_msg_status (result)), zcq_msg_reason (result));
    }
    return result;
}

//  Integer field of a query result.
static int64_t
s_result_int (zcq_msg_t *result, const char *key)
{
    return zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), key);
}

//  The write node's head, from its status.
static uint64_t
s_head (cluster_t *cluster)
{
    zcq_msg_t *status = zcq_client_write_status (cluster->client, WAIT);
    assert_non_null (status);
    uint64_t head = (uint64_t) s_result_int (status, "head");
    zcq_msg_destroy (&status);
    return head;
}

static void
test_bank_flow_and_refusals (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("bank", 2);
    assert_int_equal (
        s_expect (cluster, ZCQ_ACCEPTED, "OpenAccount", "account-1", 0, "owner=alice"), 1);
    assert_int_equal (
        s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-1", 1, "amount=1000"), 2);
    assert_int_equal (
        s_expect (cluster, ZCQ_ACCEPTED, "Withdraw", "account-1", ZCQ_EXPECT_ANY, "amount=300"),
        3);

    //  The overdraft is rejected and stores nothing
    zcq_msg_t *reply =
        s_send (cluster, "Withdraw", "account-1", ZCQ_EXPECT_ANY, "amount=5000", NULL);
    assert_int_equal (zcq_msg_status (reply), ZCQ_REJECTED);
    assert_non_null (strstr (zcq_msg_reason (reply), "insufficient funds: balance 700"));
    assert_int_equal (zcq_msg_count (reply), 0);
    zcq_msg_destroy (&reply);
    assert_int_equal (s_head (cluster), 3);

    //  A wrong expected version is a conflict that names the actual version
    reply = s_send (cluster, "Deposit", "account-1", 1, "amount=5", NULL);
    assert_int_equal (zcq_msg_status (reply), ZCQ_CONFLICT);
    assert_int_equal (zcq_msg_version (reply), 3);
    zcq_msg_destroy (&reply);
    //  ... and so is "no stream" on a stream that exists
    s_expect (cluster, ZCQ_CONFLICT, "OpenAccount", "account-1", 0, "owner=bob");
    s_expect (cluster, ZCQ_INVALID, "Deposit", "account-1", ZCQ_EXPECT_ANY, "amount=-5");
    s_expect (cluster, ZCQ_UNKNOWN_TYPE, "Transfer", "account-1", ZCQ_EXPECT_ANY, "amount=5");
    s_expect (cluster, ZCQ_REJECTED, "Deposit", "account-9", ZCQ_EXPECT_ANY, "amount=5");
    assert_int_equal (s_head (cluster), 3);

    s_expect (cluster, ZCQ_ACCEPTED, "OpenAccount", "account-2", 0, "owner=alice");
    uint64_t last = s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-2", 1, "amount=42");
    assert_int_equal (last, 5);
    assert_int_equal (zcq_client_position (cluster->client), 5);

    //  Both query nodes fold the same log into the same answers, and say
    //  which position they reflect (read-your-writes: the client's own)
    for (int node = 0; node < 2; node++) {
        zcq_msg_t *result = s_query (cluster, node, "account", "id=account-1", 0);
        assert_true (zcq_msg_position (result) >= last);
        assert_int_equal (s_result_int (result, "balance"), 700);
        assert_int_equal (s_result_int (result, "version"), 3);
        zcq_msg_destroy (&result);
        result = s_query (cluster, node, "totals", NULL, 0);
        assert_int_equal (s_result_int (result, "accounts"), 2);
        assert_int_equal (s_result_int (result, "balance"), 742);
        assert_int_equal (s_result_int (result, "events"), 5);
        zcq_msg_destroy (&result);
    }
    zcq_msg_t *result = s_query (cluster, 1, "accounts-by-owner", "owner=alice", 0);
    msgpack_unpacked list;
    zcq_testkit_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &list);
    assert_int_equal (list.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (list.data.via.array.size, 2);
    msgpack_unpacked_destroy (&list);
    zcq_msg_destroy (&result);

    //  An account that does not exist: not_found, with the position
    result = zcq_client_query (cluster->client, 0, "account", NULL, 0, 0, WAIT);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_INVALID);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

static void
test_read_your_writes_waits_then_says_stale (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("bank", 1);
    uint64_t position =
        s_expect (cluster, ZCQ_ACCEPTED, "OpenAccount", "account-7", 0, "owner=carol");
    //  A min_position nobody has reached: the node waits (bounded), then
    //  answers what it has and says so
    zcq_msg_t *result = zcq_client_query (cluster->client, 0, "account", NULL, 0, 0, WAIT);
    zcq_msg_destroy (&result);
    msgpack_sbuffer *params = zcq_testkit_map ("id=account-7", NULL);
    int64_t start = zclock_mono ();
    result = zcq_client_query (cluster->client, 0, "account", params->data, params->size,
                               position + 100, 800);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_STALE);
    assert_int_equal (zcq_msg_position (result), position);
    assert_true (zclock_mono () - start >= 400);
    assert_non_null (strstr (zcq_msg_reason (result), "below min_position"));
    zcq_msg_destroy (&result);
    msgpack_sbuffer_free (params);

    //  "Does not exist" is no final answer below min_position: still stale
    params = zcq_testkit_map ("id=account-8", NULL);
    result = zcq_client_query (cluster->client, 0, "account", params->data, params->size,
                               position + 100, 1000);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_STALE);
    assert_non_null (strstr (zcq_msg_reason (result), "at this position: not_found"));
    zcq_msg_destroy (&result);
    msgpack_sbuffer_free (params);
    s_cluster_destroy (&cluster);
}

static void
test_late_query_node_catches_up (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("bank", 0);
    //  1,000 events, pipelined, before the query node exists
    s_expect (cluster, ZCQ_ACCEPTED, "OpenAccount", "account-1", 0, "owner=dave");
    msgpack_sbuffer *data = zcq_testkit_map ("amount=3", NULL);
    for (int index = 0; index < 999; index++) {
        zcq_msg_t *command =
            zcq_client_command ("Deposit", "account-1", ZCQ_EXPECT_ANY, data->data, data->size);
        assert_int_equal (zcq_client_post (cluster->client, command), 0);
        zcq_msg_destroy (&command);
    }
    msgpack_sbuffer_free (data);
    for (int index = 0; index < 999; index++) {
        zcq_msg_t *reply = zcq_client_recv_reply (cluster->client, WAIT);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (s_head (cluster), 1000);

    s_start_query (cluster, 0, "bank");
    zcq_msg_t *result = s_query (cluster, 0, "totals", NULL, 1000);
    assert_int_equal (s_result_int (result, "events"), 1000);
    assert_int_equal (s_result_int (result, "balance"), 2997);
    assert_int_equal (zcq_msg_position (result), 1000);
    zcq_msg_destroy (&result);

    //  It then follows live events
    uint64_t position =
        s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-1", ZCQ_EXPECT_ANY, "amount=3");
    result = s_query (cluster, 0, "account", "id=account-1", position);
    assert_int_equal (s_result_int (result, "balance"), 3000);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

static void
test_write_node_restart_and_crash_keep_everything (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("bank", 1);
    s_expect (cluster, ZCQ_ACCEPTED, "OpenAccount", "account-1", 0, "owner=erin");
    s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-1", 1, "amount=10");

    //  A clean restart on the same folder: positions and versions continue
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_start_write (cluster, "bank");
    assert_int_equal (s_head (cluster), 2);
    zcq_msg_t *reply = s_send (cluster, "Deposit", "account-1", 2, "amount=5", NULL);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_version (reply), 3);
    assert_int_equal (zcq_msg_position (reply), 3);
    zcq_msg_destroy (&reply);

    //  A crash (SIGKILL) right after acknowledgements: every acknowledged
    //  command is on disk
    for (int index = 0; index < 20; index++) {
        s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-1", ZCQ_EXPECT_ANY, "amount=1");
    }
    zcq_testkit_kill (&cluster->write);
    s_start_write (cluster, "bank");
    assert_int_equal (s_head (cluster), 23);

    //  The query node reconnects by itself and converges
    uint64_t position =
        s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-1", 23, "amount=100");
    assert_int_equal (position, 24);
    zcq_msg_t *result = s_query (cluster, 0, "account", "id=account-1", position);
    assert_int_equal (s_result_int (result, "balance"), 135);
    assert_int_equal (s_result_int (result, "version"), 24);
    zcq_msg_destroy (&result);

    //  The query node restarted: resumes from its applied position
    assert_int_equal (zcq_testkit_stop (&cluster->query [0]), 0);
    position =
        s_expect (cluster, ZCQ_ACCEPTED, "Withdraw", "account-1", ZCQ_EXPECT_ANY, "amount=35");
    s_start_query (cluster, 0, "bank");
    result = s_query (cluster, 0, "totals", NULL, position);
    assert_int_equal (s_result_int (result, "balance"), 100);
    assert_int_equal (s_result_int (result, "events"), 25);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

static void
test_repeated_command_id_applies_once (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("bank", 0);
    s_expect (cluster, ZCQ_ACCEPTED, "OpenAccount", "account-1", 0, "owner=finn");
    msgpack_sbuffer *data = zcq_testkit_map ("amount=50", NULL);
    zcq_msg_t *command =
        zcq_client_command ("Deposit", "account-1", ZCQ_EXPECT_ANY, data->data, data->size);
    msgpack_sbuffer_free (data);
    zcq_msg_t *first = zcq_client_request (cluster->client, command, WAIT);
    assert_non_null (first);
    assert_int_equal (zcq_msg_status (first), ZCQ_ACCEPTED);

    //  Again, and twice in one burst (likely the same group): same outcome
    zcq_msg_t *again = zcq_client_request (cluster->client, command, WAIT);
    assert_non_null (again);
    assert_int_equal (zcq_msg_position (again), zcq_msg_position (first));
    assert_int_equal (zcq_msg_version (again), zcq_msg_version (first));
    zcq_msg_destroy (&again);
    zcq_client_post (cluster->client, command);
    zcq_client_post (cluster->client, command);
    for (int index = 0; index < 2; index++) {
        zcq_msg_t *reply = zcq_client_recv_reply (cluster->client, WAIT);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_position (reply), zcq_msg_position (first));
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (s_head (cluster), 2);

    //  Also after a restart: the id table is on disk, with the events
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_start_write (cluster, "bank");
    again = zcq_client_request (cluster->client, command, WAIT);
    assert_non_null (again);
    assert_int_equal (zcq_msg_status (again), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (again), zcq_msg_position (first));
    zcq_msg_destroy (&again);
    assert_int_equal (s_head (cluster), 2);

    //  A rejection is an outcome too: the retry gets it, even if the rule
    //  would pass now
    data = zcq_testkit_map ("amount=500", NULL);
    zcq_msg_t *withdraw =
        zcq_client_command ("Withdraw", "account-1", ZCQ_EXPECT_ANY, data->data, data->size);
    msgpack_sbuffer_free (data);
    zcq_msg_t *refused = zcq_client_request (cluster->client, withdraw, WAIT);
    assert_int_equal (zcq_msg_status (refused), ZCQ_REJECTED);
    zcq_msg_destroy (&refused);
    s_expect (cluster, ZCQ_ACCEPTED, "Deposit", "account-1", ZCQ_EXPECT_ANY, "amount=1000");
    refused = zcq_client_request (cluster->client, withdraw, WAIT);
    assert_int_equal (zcq_msg_status (refused), ZCQ_REJECTED);
    zcq_msg_destroy (&refused);
    zcq_msg_destroy (&withdraw);
    zcq_msg_destroy (&first);
    zcq_msg_destroy (&command);
    s_cluster_destroy (&cluster);
}

static void
test_store_domain_appends_and_reads_back (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("store", 1);
    //  Append {events: [{type: "A", data: {n: 1}}, {type: "B"}]}
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &data, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "events");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_map (&pk, 2);
    zcq_mpack_pack_str (&pk, "type");
    zcq_mpack_pack_str (&pk, "A");
    zcq_mpack_pack_str (&pk, "data");
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "n");
    msgpack_pack_int (&pk, 1);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "type");
    zcq_mpack_pack_str (&pk, "B");
    zcq_msg_t *reply =
        zcq_client_send (cluster->client, "Append", "orders-1", 0, data.data, data.size, WAIT);
    msgpack_sbuffer_destroy (&data);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_count (reply), 2);
    assert_int_equal (zcq_msg_version (reply), 2);
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);

    msgpack_sbuffer *params = zcq_testkit_map ("stream=orders-1", NULL);
    zcq_msg_t *result = zcq_client_query (cluster->client, 0, "stream", params->data,
                                          params->size, position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    msgpack_unpacked list;
    zcq_testkit_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &list);
    assert_int_equal (list.data.via.array.size, 2);
    const msgpack_object *type = zcq_map_get (&list.data.via.array.ptr [1], "type");
    assert_non_null (type);
    assert_memory_equal (type->via.str.ptr, "B", 1);
    msgpack_unpacked_destroy (&list);
    zcq_msg_destroy (&result);

    //  Five events of 230 KB: reading all at once cannot fit in one message;
    //  the node says so instead of going silent
    size_t big = 230 * 1024;
    char *blob = (char *) malloc (big);
    memset (blob, 'z', big);
    for (int index = 0; index < 5; index++) {
        msgpack_sbuffer_init (&data);
        msgpack_packer_init (&pk, &data, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 1);
        zcq_mpack_pack_str (&pk, "events");
        msgpack_pack_array (&pk, 1);
        msgpack_pack_map (&pk, 2);
        zcq_mpack_pack_str (&pk, "type");
        zcq_mpack_pack_str (&pk, "Blob");
        zcq_mpack_pack_str (&pk, "data");
        msgpack_pack_map (&pk, 1);
        zcq_mpack_pack_str (&pk, "bytes");
        msgpack_pack_bin (&pk, big);
        msgpack_pack_bin_body (&pk, blob, big);
        reply = zcq_client_send (cluster->client, "Append", "blobs", ZCQ_EXPECT_ANY, data.data,
                                 data.size, WAIT);
        msgpack_sbuffer_destroy (&data);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        position = zcq_msg_position (reply);
        zcq_msg_destroy (&reply);
    }
    free (blob);
    params = zcq_testkit_map ("stream=blobs", "max=5", NULL);
    result = zcq_client_query (cluster->client, 0, "stream", params->data, params->size,
                               position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_TOO_LARGE);
    assert_non_null (strstr (zcq_msg_reason (result), "ask for less"));
    zcq_msg_destroy (&result);
    params = zcq_testkit_map ("stream=blobs", "max=4", NULL);
    result = zcq_client_query (cluster->client, 0, "stream", params->data, params->size,
                               position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

static void
test_domain_from_shared_object (void **state)
{
    (void) state;
    char exe [512];
    ssize_t size = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
    assert_true (size > 0);
    exe [size] = 0;
    //  build/tests/test_cluster -> build/libzcq_counter.so
    *strrchr (exe, '/') = 0;
    *strrchr (exe, '/') = 0;
    char plugin [600];
    snprintf (plugin, sizeof (plugin), "%s/libzcq_counter.so", exe);
    cluster_t *cluster = s_cluster_new (plugin, 1);
    s_expect (cluster, ZCQ_ACCEPTED, "Increment", "clicks", ZCQ_EXPECT_ANY, "by=2");
    uint64_t position =
        s_expect (cluster, ZCQ_ACCEPTED, "Increment", "clicks", ZCQ_EXPECT_ANY, "by=5");
    s_expect (cluster, ZCQ_UNKNOWN_TYPE, "Deposit", "clicks", ZCQ_EXPECT_ANY, "amount=5");
    zcq_msg_t *result = s_query (cluster, 0, "counter", "id=clicks", position);
    assert_int_equal (s_result_int (result, "value"), 7);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

//  Find "name=value" in a node's ready line in its log; bounded wait.
static void
s_ready_endpoint (const char *log, const char *name, char *endpoint, size_t size)
{
    int64_t deadline = zclock_mono () + WAIT;
    char key [64];
    snprintf (key, sizeof (key), " %s=", name);
    while (zclock_mono () < deadline) {
        FILE *file = fopen (log, "r");
        char line [1024];
        while (file && fgets (line, sizeof (line), file)) {
            char *found = strstr (line, " ready ");
            found = found ? strstr (found, key) : NULL;
            if (found) {
                found += strlen (key);
                size_t length = strcspn (found, " \n");
                snprintf (endpoint, size, "%.*s", (int) length, found);
                fclose (file);
                return;
            }
        }
        if (file) {
            fclose (file);
        }
        zclock_sleep (20); //  polling a file another process writes; bounded
    }
    fail_msg ("no ready line with %s in %s", name, log);
}

static void
test_tcp_on_ephemeral_ports (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("tcp");
    char data [300];
    snprintf (data, sizeof (data), "%s/write", dir);
    zcq_testkit_node_t write = {0}, query = {0};
    zcq_testkit_start (&write, dir, "zcqrs-write", "--commands", "tcp://127.0.0.1:*",
                       "--events", "tcp://127.0.0.1:*", "--replay", "tcp://127.0.0.1:*",
                       "--data", data, NULL);
    char commands [128], events [128], replay [128], queries [128];
    s_ready_endpoint (write.log, "commands", commands, sizeof (commands));
    s_ready_endpoint (write.log, "events", events, sizeof (events));
    s_ready_endpoint (write.log, "replay", replay, sizeof (replay));
    assert_non_null (strstr (commands, "tcp://127.0.0.1:"));
    snprintf (data, sizeof (data), "%s/query", dir);
    zcq_testkit_start (&query, dir, "zcqrs-query", "--events", events, "--replay", replay,
                       "--queries", "tcp://127.0.0.1:*", "--data", data, NULL);
    s_ready_endpoint (query.log, "queries", queries, sizeof (queries));

    zcq_client_t *client = zcq_client_new (commands);
    assert_int_equal (zcq_client_add_query_node (client, queries), 0);
    msgpack_sbuffer *owner = zcq_testkit_map ("owner=gail", NULL);
    zcq_msg_t *reply =
        zcq_client_send (client, "OpenAccount", "account-1", 0, owner->data, owner->size, WAIT);
    msgpack_sbuffer_free (owner);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);
    msgpack_sbuffer *params = zcq_testkit_map ("id=account-1", NULL);
    zcq_msg_t *result =
        zcq_client_query (client, 0, "account", params->data, params->size, 0, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), 1);
    zcq_msg_destroy (&result);
    zcq_client_destroy (&client);
    assert_int_equal (zcq_testkit_stop (&query), 0);
    assert_int_equal (zcq_testkit_stop (&write), 0);
    zcq_testkit_rmtree (dir);
    free (dir);
}

static void
test_node_refuses_bad_settings (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("settings");
    char data [300];
    snprintf (data, sizeof (data), "%s/write", dir);
    //  Unknown domain: exits non-zero at once, saying why
    zcq_testkit_node_t node = {0};
    zcq_testkit_start (&node, dir, "zcqrs-write", "--commands", "ipc:///nonexistent/x",
                       "--data", data, "--domain", "nosuch", NULL);
    int status = zcq_testkit_wait_exit (&node, WAIT);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) != 0);
    char *log = NULL;
    size_t length = 0;
    FILE *file = fopen (node.log, "r");
    assert_non_null (file);
    assert_true (getdelim (&log, &length, 0, file) > 0);
    fclose (file);
    assert_non_null (strstr (log, "unknown domain 'nosuch'"));
    free (log);
    zcq_testkit_rmtree (dir);
    free (dir);
}

static void
test_second_node_cannot_take_a_served_endpoint (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("bank", 1);
    //  ZeroMQ would let a second ipc:// bind take the path over silently
    char data [300];
    snprintf (data, sizeof (data), "%s/other", cluster->dir);
    zcq_testkit_node_t other = {0};
    zcq_testkit_start (&other, cluster->dir, "zcqrs-query", "--events", cluster->events,
                       "--replay", cluster->replay, "--queries", cluster->queries [0], "--data",
                       data, NULL);
    int status = zcq_testkit_wait_exit (&other, WAIT);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);
    char *log = NULL;
    size_t length = 0;
    FILE *file = fopen (other.log, "r");
    assert_non_null (file);
    assert_true (getdelim (&log, &length, 0, file) > 0);
    fclose (file);
    assert_non_null (strstr (log, "another process serves it"));
    free (log);
    //  The first node still answers
    zcq_msg_t *result = s_query (cluster, 0, "totals", NULL, 0);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

//  After each test, failed or not: no node may outlive it
static int
s_teardown (void **state)
{
    (void) state;
    zcq_testkit_cleanup ();
    return 0;
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_teardown (test_bank_flow_and_refusals, s_teardown),
        cmocka_unit_test_teardown (test_read_your_writes_waits_then_says_stale, s_teardown),
        cmocka_unit_test_teardown (test_late_query_node_catches_up, s_teardown),
        cmocka_unit_test_teardown (test_write_node_restart_and_crash_keep_everything,
                                   s_teardown),
        cmocka_unit_test_teardown (test_repeated_command_id_applies_once, s_teardown),
        cmocka_unit_test_teardown (test_store_domain_appends_and_reads_back, s_teardown),
        cmocka_unit_test_teardown (test_domain_from_shared_object, s_teardown),
        cmocka_unit_test_teardown (test_tcp_on_ephemeral_ports, s_teardown),
        cmocka_unit_test_teardown (test_node_refuses_bad_settings, s_teardown),
        cmocka_unit_test_teardown (test_second_node_cannot_take_a_served_endpoint, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
