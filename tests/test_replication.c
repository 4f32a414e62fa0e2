/*  =========================================================================
    test_replication - query nodes that never miss or double-apply an event.
    Real node processes on ipc:// endpoints in a temporary folder, real
    LevelDB folders: lost publications, a paused subscriber with a tiny
    queue, kill -9 while applying, a late joiner on a long log, a held-back
    node and read-your-writes, a write node that restarts (or comes back
    with a wiped log), a rebuild that never answers from empty models, and
    subscribers that come and go while events are published.
    Replicas are compared with the built-in "checksum" query, against a
    query node started afresh on the same log.
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT     10000 //  ms any single wait may take at most
#define NODES    4     //  query node slots of a cluster
#define ACCOUNTS 50    //  streams the load spreads over

typedef struct {
    char *dir;           //  temporary folder for data and sockets
    char commands [256]; //  write node endpoints
    char events [256];
    char replay [256];
    char write_data [300];            //  write node LevelDB folder
    char queries [NODES][256];        //  query node endpoints
    zcq_testkit_node_t write;         //  write node process
    zcq_testkit_node_t query [NODES]; //  query node processes
    zcq_client_t *client;             //  client of the write node and query nodes
    uint64_t deposits;                //  deposits sent so far (amounts are 1 each)
} cluster_t;

//  Start the write node on the cluster's data, with extra flags (NULL-ended).
static void
s_start_write (cluster_t *cluster, const char *flag, const char *value)
{
    zcq_testkit_start (&cluster->write, cluster->dir, "zcqrs-write", "--commands",
                       cluster->commands, "--events", cluster->events, "--replay",
                       cluster->replay, "--data", cluster->write_data, "--durability", "async",
                       "--heartbeat", "100", flag, value, NULL);
    assert_int_equal (zcq_testkit_wait_ready (cluster->commands, WAIT), 0);
}

//  Wipe the stopped write node's log and its key table (beside it, by
//  default): a write node made anew.
static void
s_wipe_write (cluster_t *cluster)
{
    char keys [320];
    snprintf (keys, sizeof keys, "%s-keys", cluster->write_data);
    zcq_testkit_rmtree (cluster->write_data);
    zcq_testkit_rmtree (keys);
}

//  Start query node `index` on its own folder, with one extra flag pair
//  (flag NULL: none). Waits until it answers.
static void
s_start_query (cluster_t *cluster, int index, const char *flag, const char *value)
{
    char data [300];
    snprintf (data, sizeof (data), "%s/query-%d", cluster->dir, index);
    zcq_testkit_start (&cluster->query [index], cluster->dir, "zcqrs-query", "--events",
                       cluster->events, "--replay", cluster->replay, "--queries",
                       cluster->queries [index], "--data", data, flag, value, NULL);
    assert_int_equal (zcq_testkit_wait_ready (cluster->queries [index], WAIT), 0);
}

static cluster_t *
s_cluster_new (const char *write_flag, const char *write_value)
{
    cluster_t *cluster = (cluster_t *) zmalloc (sizeof (cluster_t));
    cluster->dir = zcq_testkit_tmpdir ("replication");
    snprintf (cluster->commands, 256, "ipc://%s/commands", cluster->dir);
    snprintf (cluster->events, 256, "ipc://%s/events", cluster->dir);
    snprintf (cluster->replay, 256, "ipc://%s/replay", cluster->dir);
    snprintf (cluster->write_data, 300, "%s/write", cluster->dir);
    cluster->client = zcq_client_new (cluster->commands);
    zcq_client_set_consistent (cluster->client, false);
    for (int index = 0; index < NODES; index++) {
        snprintf (cluster->queries [index], 256, "ipc://%s/queries-%d", cluster->dir, index);
        zcq_client_add_query_node (cluster->client, cluster->queries [index]);
    }
    s_start_write (cluster, write_flag, write_value);
    return cluster;
}

static void
s_cluster_destroy (cluster_t **cluster_p)
{
    cluster_t *cluster = *cluster_p;
    zcq_client_destroy (&cluster->client);
    for (int index = 0; index < NODES; index++) {
        assert_int_equal (zcq_testkit_stop (&cluster->query [index]), 0);
    }
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    zcq_testkit_rmtree (cluster->dir);
    free (cluster->dir);
    free (cluster);
    *cluster_p = NULL;
}

//  Post one bank command without waiting for its reply.
static void
s_post (cluster_t *cluster, const char *type, int account, const char *word)
{
    char stream [32];
    snprintf (stream, sizeof (stream), "account-%d", account);
    msgpack_sbuffer *data = zcq_testkit_map (word, NULL);
    zcq_msg_t *command =
        zcq_client_command (type, stream, ZCQ_EXPECT_ANY, data->data, data->size);
    msgpack_sbuffer_free (data);
    assert_int_equal (zcq_client_post (cluster->client, command), 0);
    zcq_msg_destroy (&command);
}

//  Collect one reply; it must be accepted. Returns its position.
static uint64_t
s_collect (cluster_t *cluster)
{
    zcq_msg_t *reply = zcq_client_recv_reply (cluster->client, WAIT);
    assert_non_null (reply);
    if (zcq_msg_status (reply) != ZCQ_ACCEPTED) {
        fail_msg ("command refused: %s: %s", zcq_status_name (zcq_msg_status (reply)),
                  zcq_msg_reason (reply));
    }
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

//  Open the accounts (once per cluster).
static void
s_open_accounts (cluster_t *cluster)
{
    for (int account = 0; account < ACCOUNTS; account++) {
        s_post (cluster, "OpenAccount", account, "owner=load");
    }
    for (int account = 0; account < ACCOUNTS; account++) {
        s_collect (cluster);
    }
}

//  Send count deposits pipelined (at most 500 in flight); returns the
//  highest position acknowledged.
static uint64_t
s_deposits (cluster_t *cluster, int count)
{
    uint64_t head = 0;
    int sent = 0, received = 0;
    while (received < count) {
        while (sent < count && sent - received < 500) {
            s_post (cluster, "Deposit", (int) (cluster->deposits++ % ACCOUNTS), "amount=1");
            sent++;
        }
        uint64_t position = s_collect (cluster);
        head = position > head ? position : head;
        received++;
    }
    return head;
}

//  A built-in query (status, checksum) of query node index: the RESULT.
static zcq_msg_t *
s_builtin (cluster_t *cluster, int index, const char *name)
{
    zcq_msg_t *result = zcq_client_query (cluster->client, index, name, NULL, 0, 0, WAIT);
    assert_non_null (result);
    if (zcq_msg_status (result) != ZCQ_OK) {
        fail_msg ("%s of node %d: %s: %s", name, index,
                  zcq_status_name (zcq_msg_status (result)), zcq_msg_reason (result));
    }
    return result;
}

static int64_t
s_status_int (cluster_t *cluster, int index, const char *key)
{
    zcq_msg_t *status = s_builtin (cluster, index, "status");
    int64_t value = zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status), key);
    zcq_msg_destroy (&status);
    return value;
}

//  A text field of node index's status; caller frees.
static char *
s_status_str (cluster_t *cluster, int index, const char *key)
{
    zcq_msg_t *status = s_builtin (cluster, index, "status");
    char *value = zcq_testkit_str (zcq_msg_data (status), zcq_msg_data_size (status), key);
    zcq_msg_destroy (&status);
    assert_non_null (value);
    return value;
}

//  Wait (bounded by ms) until node index's status says key == expected.
static void
s_await_status (cluster_t *cluster, int index, const char *key, const char *expected, int ms)
{
    int64_t deadline = zclock_mono () + ms;
    char *value = NULL;
    while (zclock_mono () < deadline) {
        zstr_free (&value);
        value = s_status_str (cluster, index, key);
        if (streq (value, expected)) {
            zstr_free (&value);
            return;
        }
        zclock_sleep (20); //  polling another process's view of time; bounded
    }
    fail_msg ("node %d: %s is '%s' after %d ms, wanted '%s'", index, key, value, ms, expected);
}

//  Wait (bounded by ms) until the number key of node index's status is at
//  least minimum.
static void
s_await_count (cluster_t *cluster, int index, const char *key, int64_t minimum, int ms)
{
    int64_t deadline = zclock_mono () + ms;
    int64_t value = 0;
    while (zclock_mono () < deadline) {
        value = s_status_int (cluster, index, key);
        if (value >= minimum) {
            return;
        }
        zclock_sleep (20); //  polling another process's counter; bounded
    }
    fail_msg ("node %d: %s is %" PRId64 " after %d ms, wanted %" PRId64 " or more", index, key,
              value, ms, minimum);
}

//  Wait until node index has applied position, through a min_position
//  query (the node answers as soon as it gets there); returns the RESULT's
//  position.
static uint64_t
s_await_position (cluster_t *cluster, int index, uint64_t position)
{
    int64_t deadline = zclock_mono () + 4 * WAIT;
    while (zclock_mono () < deadline) {
        zcq_msg_t *result =
            zcq_client_query (cluster->client, index, "totals", NULL, 0, position, WAIT);
        assert_non_null (result);
        uint64_t reached = zcq_msg_position (result);
        zcq_msg_destroy (&result);
        if (reached >= position) {
            return reached;
        }
    }
    fail_msg ("node %d did not reach position %" PRIu64, index, position);
    return 0;
}

//  The checksum of node index once it has applied head; asserts the RESULT
//  is at head exactly. Caller frees.
static char *
s_checksum_at (cluster_t *cluster, int index, uint64_t head)
{
    assert_int_equal (s_await_position (cluster, index, head), head);
    zcq_msg_t *result = s_builtin (cluster, index, "checksum");
    assert_int_equal (zcq_msg_position (result), head);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "position"), head);
    char *checksum =
        zcq_testkit_str (zcq_msg_data (result), zcq_msg_data_size (result), "checksum");
    assert_non_null (checksum);
    assert_int_equal (strlen (checksum), 40);
    zcq_msg_destroy (&result);
    return checksum;
}

//  The write node's head.
static uint64_t
s_head (cluster_t *cluster)
{
    zcq_msg_t *status = zcq_client_write_status (cluster->client, WAIT);
    assert_non_null (status);
    uint64_t head = zcq_msg_position (status);
    zcq_msg_destroy (&status);
    return head;
}

//  Start node `fresh` on an empty folder, let it fold the whole log, and
//  check that every node in `nodes` (a -1 terminated list) has its checksum.
static void
s_assert_replicas_match_rebuild (cluster_t *cluster, int fresh, const int *nodes)
{
    uint64_t head = s_head (cluster);
    s_start_query (cluster, fresh, NULL, NULL);
    char *expected = s_checksum_at (cluster, fresh, head);
    for (const int *node = nodes; *node >= 0; node++) {
        char *checksum = s_checksum_at (cluster, *node, head);
        if (!streq (checksum, expected)) {
            fail_msg ("node %d has checksum %s at %" PRIu64 ", a fresh rebuild %s", *node,
                      checksum, head, expected);
        }
        zstr_free (&checksum);
    }
    zstr_free (&expected);
}

static void
test_lost_publications_are_repaired_on_every_replica (void **state)
{
    (void) state;
    //  Every 7th event is committed but never published
    cluster_t *cluster = s_cluster_new ("--fault-drop-every", "7");
    s_start_query (cluster, 0, NULL, NULL);
    s_start_query (cluster, 1, NULL, NULL);
    s_open_accounts (cluster);
    uint64_t head = s_deposits (cluster, 3000);
    //  The very last event may be one that was dropped: the heartbeat says so
    s_post (cluster, "Deposit", 0, "amount=1");
    head = s_collect (cluster);
    assert_int_equal (head, ACCOUNTS + 3001);
    const int nodes [] = {0, 1, -1};
    s_assert_replicas_match_rebuild (cluster, 2, nodes);
    for (int index = 0; index < 3; index++) {
        //  Each event applied exactly once, some of them through replay
        assert_int_equal (s_status_int (cluster, index, "events_applied"), head);
        assert_true (s_status_int (cluster, index, "replayed") > 0);
    }
    //  The read models hold every deposit once
    zcq_msg_t *totals = zcq_client_query (cluster->client, 0, "totals", NULL, 0, head, WAIT);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (totals), zcq_msg_data_size (totals), "balance"), 3001);
    zcq_msg_destroy (&totals);
    s_cluster_destroy (&cluster);
}

static void
test_a_cluster_of_leveldb_and_memory_nodes_agrees_by_checksum (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new ("--fault-drop-every", "7");
    s_start_query (cluster, 0, NULL, NULL);
    s_start_query (cluster, 1, "--storage", "memory");
    s_open_accounts (cluster);
    s_deposits (cluster, 2000);
    //  A memory node killed and started again folds the log from position 1
    zcq_testkit_kill (&cluster->query [1]);
    s_deposits (cluster, 500);
    s_start_query (cluster, 1, "--storage", "memory");
    s_deposits (cluster, 500);
    const int nodes [] = {0, 1, -1};
    s_assert_replicas_match_rebuild (cluster, 2, nodes);
    s_cluster_destroy (&cluster);
}

static void
test_paused_subscriber_with_tiny_queue_applies_each_event_once (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, "--hwm", "10");
    s_start_query (cluster, 1, NULL, NULL);
    s_open_accounts (cluster);
    s_await_position (cluster, 0, ACCOUNTS);
    //  Stopped during a burst: past its 10-message queue, the write node's
    //  PUB queues 100,000 more for it, then drops the rest
    kill (cluster->query [0].pid, SIGSTOP);
    uint64_t head = s_deposits (cluster, 110000);
    //  Let the burst and some heartbeats after it hit the full queue. Node 1
    //  hears the same PUB in the same order: once it has applied the burst,
    //  the heartbeats it hears next were published after it, to both nodes
    s_await_position (cluster, 1, head);
    int64_t beats = s_status_int (cluster, 1, "heartbeats");
    s_await_count (cluster, 1, "heartbeats", beats + 3, WAIT);
    kill (cluster->query [0].pid, SIGCONT);
    char *expected = s_checksum_at (cluster, 1, head);
    char *checksum = s_checksum_at (cluster, 0, head);
    assert_string_equal (checksum, expected);
    assert_int_equal (s_status_int (cluster, 0, "events_applied"), head);
    assert_true (s_status_int (cluster, 0, "replayed") > 0);
    zstr_free (&checksum);
    zstr_free (&expected);
    s_cluster_destroy (&cluster);
}

static void
test_killed_while_applying_converges_to_a_fresh_rebuild (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, NULL, NULL);
    s_open_accounts (cluster);
    uint64_t head = 0;
    for (int round = 0; round < 4; round++) {
        //  A burst is on its way to the node when it dies, at a random moment
        head = s_deposits (cluster, 1500 + randof (1500));
        zclock_sleep (randof (40)); //  a random moment inside the node's catch-up
        zcq_testkit_kill (&cluster->query [0]);
        s_start_query (cluster, 0, NULL, NULL);
    }
    s_await_position (cluster, 0, head);
    const int nodes [] = {0, -1};
    s_assert_replicas_match_rebuild (cluster, 1, nodes);
    zcq_msg_t *totals = zcq_client_query (cluster->client, 0, "totals", NULL, 0, head, WAIT);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (totals), zcq_msg_data_size (totals), "events"), head);
    zcq_msg_destroy (&totals);
    s_cluster_destroy (&cluster);
}

static void
test_late_joiner_on_a_long_log_converges_while_writes_go_on (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, NULL, NULL);
    s_open_accounts (cluster);
    s_deposits (cluster, 100000 - ACCOUNTS);
    //  Joins a log of 100,000 events while deposits keep coming
    s_start_query (cluster, 1, NULL, NULL);
    uint64_t head = s_deposits (cluster, 10000);
    assert_int_equal (head, 110000);
    char *expected = s_checksum_at (cluster, 0, head);
    char *checksum = s_checksum_at (cluster, 1, head);
    assert_string_equal (checksum, expected);
    assert_int_equal (s_status_int (cluster, 1, "events_applied"), head);
    zstr_free (&checksum);
    zstr_free (&expected);
    s_cluster_destroy (&cluster);
}

//  Query account-0 at min_position with a wait; returns the RESULT.
static zcq_msg_t *
s_read_own_write (cluster_t *cluster, int index, uint64_t position, int wait)
{
    msgpack_sbuffer *params = zcq_testkit_map ("id=account-0", NULL);
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_name (query, "account");
    zcq_msg_set_data (query, params->data, params->size);
    zcq_msg_set_min_position (query, position);
    zcq_msg_set_timeout (query, (uint32_t) wait);
    msgpack_sbuffer_free (params);
    zsock_t *dealer = zsock_new_dealer (cluster->queries [index]);
    assert_non_null (dealer);
    assert_int_equal (zcq_msg_send (query, dealer), 0);
    zcq_msg_destroy (&query);
    zsock_set_rcvtimeo (dealer, WAIT);
    zcq_msg_t *result = zcq_msg_recv (dealer);
    zsock_destroy (&dealer);
    assert_non_null (result);
    return result;
}

static void
test_read_your_writes_against_a_held_back_node (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    //  Every event waits 800 ms in this node before it is applied
    s_start_query (cluster, 0, "--fault-apply-delay-ms", "800");
    s_post (cluster, "OpenAccount", 0, "owner=ruth");
    uint64_t position = s_collect (cluster);
    s_post (cluster, "Deposit", 0, "amount=25");
    position = s_collect (cluster);

    //  Asked at once, with a wait longer than the hold: the answer has the write
    int64_t start = zclock_mono ();
    zcq_msg_t *result = s_read_own_write (cluster, 0, position, 3000);
    int64_t waited = zclock_mono () - start;
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_true (zcq_msg_position (result) >= position);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "balance"), 25);
    assert_true (waited >= 300); //  it was held back, and the query waited for it
    zcq_msg_destroy (&result);

    //  With a wait shorter than the hold: stale, saying where it is
    s_post (cluster, "Deposit", 0, "amount=5");
    position = s_collect (cluster);
    result = s_read_own_write (cluster, 0, position, 200);
    assert_int_equal (zcq_msg_status (result), ZCQ_STALE);
    assert_true (zcq_msg_position (result) < position);
    assert_non_null (strstr (zcq_msg_reason (result), "below min_position"));
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "balance"), 25);
    zcq_msg_destroy (&result);
    //  And the write shows up once the hold is over
    result = s_read_own_write (cluster, 0, position, 3000);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "balance"), 30);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

//  Deposit 1 into account-N through client and read it back at once from
//  whichever query node the client picks; the answer must be ok and show
//  the deposit (read-your-writes).
static void
s_deposit_and_read (zcq_client_t *client, int account, int64_t expected, int timeout)
{
    char stream [32], word [40];
    snprintf (stream, sizeof (stream), "account-%d", account);
    msgpack_sbuffer *data = zcq_testkit_map ("amount=1", NULL);
    zcq_msg_t *reply = zcq_client_send (client, "Deposit", stream, ZCQ_EXPECT_ANY, data->data,
                                        data->size, WAIT);
    msgpack_sbuffer_free (data);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    snprintf (word, sizeof (word), "id=%s", stream);
    msgpack_sbuffer *params = zcq_testkit_map (word, NULL);
    zcq_msg_t *result = zcq_client_query (client, ZCQ_ANY_QUERY_NODE, "account", params->data,
                                          params->size, 0, timeout);
    msgpack_sbuffer_free (params);
    if (!result || zcq_msg_status (result) != ZCQ_OK) {
        fail_msg ("query after deposit at %" PRIu64 ": %s", position,
                  result ? zcq_msg_reason (result) : "no answer");
    }
    assert_true (zcq_msg_position (result) >= position);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "balance"),
        expected);
    zcq_msg_destroy (&result);
}

static void
test_spread_queries_survive_a_killed_and_a_held_back_node (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, NULL, NULL);
    s_start_query (cluster, 1, "--storage", "memory");
    s_open_accounts (cluster);
    //  A client of the two query nodes that spreads its queries over them
    zcq_client_t *client = zcq_client_new (cluster->commands);
    zcq_client_add_query_node (client, cluster->queries [0]);
    zcq_client_add_query_node (client, cluster->queries [1]);
    int64_t balances [ACCOUNTS] = {0};
    for (int round = 0; round < 300; round++) {
        if (round == 100) {
            //  Killed under the query load: not one query fails
            zcq_testkit_kill (&cluster->query [1]);
        }
        int account = round % ACCOUNTS;
        s_deposit_and_read (client, account, ++balances [account], 5000);
    }
    assert_true (zcq_client_query_retries (client) > 0);
    assert_true (s_status_int (cluster, 0, "queries") >= 200);
    //  Back, but holding every event 800 ms: its answers would be stale, so
    //  they are asked again of the other node within the time budget
    //  (a new client: this one passes over node 1 for a while yet)
    s_start_query (cluster, 1, "--fault-apply-delay-ms", "800");
    zcq_client_destroy (&client);
    client = zcq_client_new (cluster->commands);
    zcq_client_add_query_node (client, cluster->queries [0]);
    zcq_client_add_query_node (client, cluster->queries [1]);
    for (int round = 0; round < 10; round++) {
        s_deposit_and_read (client, 0, ++balances [0], 1000);
    }
    assert_true (zcq_client_query_retries (client) > 0);
    assert_true (s_status_int (cluster, 1, "stale") > 0);
    zcq_client_destroy (&client);
    s_cluster_destroy (&cluster);
}

static void
test_write_node_restart_is_noticed_reported_and_survived (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, "--silence", "3");
    s_open_accounts (cluster);
    uint64_t head = s_deposits (cluster, 500);
    s_await_position (cluster, 0, head);
    s_await_status (cluster, 0, "write_node", "reachable", WAIT);

    //  Gone: after 3 missed heartbeats (100 ms each) the node says so, and
    //  keeps answering, flagged as possibly stale
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_await_status (cluster, 0, "write_node", "unreachable", WAIT);
    zcq_msg_t *result = zcq_client_query (cluster->client, 0, "totals", NULL, 0, 0, WAIT);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_true (zcq_msg_may_be_stale (result));
    assert_int_equal (zcq_msg_position (result), head);
    assert_non_null (strstr (zcq_msg_reason (result), "write node unreachable"));
    zcq_msg_destroy (&result);
    assert_true (s_status_int (cluster, 0, "outages") >= 1);

    //  Back on the same data: it resumes by itself
    s_start_write (cluster, NULL, NULL);
    head = s_deposits (cluster, 500);
    s_await_position (cluster, 0, head);
    s_await_status (cluster, 0, "write_node", "reachable", WAIT);
    result = zcq_client_query (cluster->client, 0, "totals", NULL, 0, head, WAIT);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_false (zcq_msg_may_be_stale (result));
    zcq_msg_destroy (&result);
    const int nodes [] = {0, -1};
    s_assert_replicas_match_rebuild (cluster, 1, nodes);

    //  Back with a wiped log: a new log, so another cluster, whose positions
    //  name other events. The node notices, takes nothing more, and says so
    //  (wiped with its key table: the write node refuses a key table bound
    //  to another cluster's log)
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_wipe_write (cluster);
    s_start_write (cluster, NULL, NULL);
    s_await_status (cluster, 0, "state", "refused", WAIT);
    char *why = s_status_str (cluster, 0, "state_reason");
    assert_non_null (strstr (why, "belongs to cluster"));
    zstr_free (&why);
    cluster->deposits = 0;
    s_open_accounts (cluster);
    result = zcq_client_query (cluster->client, 0, "totals", NULL, 0, 0, WAIT);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_true (zcq_msg_may_be_stale (result));
    assert_int_equal (zcq_msg_position (result), head);
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

static void
test_replaced_log_is_refused_after_a_restart (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, NULL, NULL);
    s_open_accounts (cluster);
    uint64_t head = s_deposits (cluster, 300);
    char *before = s_checksum_at (cluster, 0, head);
    assert_int_equal (zcq_testkit_stop (&cluster->query [0]), 0);

    //  While the query node is down, the write node's log is replaced by
    //  another that grows past the query node's position
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_wipe_write (cluster);
    s_start_write (cluster, NULL, NULL);
    cluster->deposits = 0;
    s_open_accounts (cluster);
    assert_true (s_deposits (cluster, 500) > head);

    //  Back, it knows the cluster it followed (its folder keeps it) and
    //  takes nothing from the new one
    s_start_query (cluster, 0, NULL, NULL);
    s_await_status (cluster, 0, "state", "refused", WAIT);
    zcq_msg_t *result = s_builtin (cluster, 0, "checksum");
    assert_int_equal (zcq_msg_position (result), head);
    assert_true (zcq_msg_may_be_stale (result));
    char *after =
        zcq_testkit_str (zcq_msg_data (result), zcq_msg_data_size (result), "checksum");
    assert_string_equal (after, before);
    zcq_msg_destroy (&result);
    zstr_free (&before);
    zstr_free (&after);

    //  Rebuilt on purpose, it follows the new cluster, to its head
    assert_int_equal (zcq_testkit_stop (&cluster->query [0]), 0);
    s_start_query (cluster, 0, "--rebuild", "1");
    uint64_t new_head = s_deposits (cluster, 1);
    s_await_status (cluster, 0, "state", "live", 4 * WAIT);
    s_await_position (cluster, 0, new_head);
    zcq_msg_t *write = zcq_client_write_status (cluster->client, WAIT);
    assert_non_null (write);
    char *cluster_id =
        zcq_testkit_str (zcq_msg_data (write), zcq_msg_data_size (write), "cluster");
    char *followed = s_status_str (cluster, 0, "cluster");
    assert_int_equal (strlen (cluster_id), 32);
    assert_string_equal (followed, cluster_id);
    zstr_free (&cluster_id);
    zstr_free (&followed);
    zcq_msg_destroy (&write);
    s_cluster_destroy (&cluster);
}

//  A backup taken while commands flow, put back: the write node restarts
//  at the backup's position as a new incarnation of the same cluster, the
//  query node that applied more goes diverged naming the lost positions,
//  and a rebuild follows the restored log
static void
test_backup_while_commands_flow_and_restore (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    char backups [300], copy [400];
    snprintf (backups, sizeof backups, "%s/backups", cluster->dir);
    snprintf (copy, sizeof copy, "%s/b1", backups);
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_start_write (cluster, "--backups", backups);
    s_start_query (cluster, 0, NULL, NULL);
    s_open_accounts (cluster);
    uint64_t before = s_deposits (cluster, 300);

    //  Commands in flight while the backup is taken
    for (int index = 0; index < 400; index++) {
        s_post (cluster, "Deposit", (int) (cluster->deposits++ % ACCOUNTS), "amount=1");
    }
    zcq_client_t *admin = zcq_client_new (cluster->commands);
    msgpack_sbuffer *params = zcq_testkit_map ("name=b1", NULL);
    zcq_msg_t *result =
        zcq_client_query (admin, ZCQ_WRITE_NODE, "backup", params->data, params->size, 0, WAIT);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    uint64_t saved = zcq_msg_position (result);
    char *path = zcq_testkit_str (zcq_msg_data (result), zcq_msg_data_size (result), "path");
    assert_string_equal (path, copy);
    zstr_free (&path);
    zcq_msg_destroy (&result);
    //  The same name again: refused, the first copy untouched
    result =
        zcq_client_query (admin, ZCQ_WRITE_NODE, "backup", params->data, params->size, 0, WAIT);
    assert_int_equal (zcq_msg_status (result), ZCQ_UNAVAILABLE);
    assert_non_null (strstr (zcq_msg_reason (result), "already exists"));
    zcq_msg_destroy (&result);
    msgpack_sbuffer_free (params);
    uint64_t head = 0;
    for (int index = 0; index < 400; index++) {
        uint64_t position = s_collect (cluster);
        head = position > head ? position : head;
    }
    assert_true (saved >= before && saved <= head);
    head = s_deposits (cluster, 200);
    s_await_position (cluster, 0, head);
    zcq_msg_t *status = zcq_client_write_status (admin, WAIT);
    char *cluster_id =
        zcq_testkit_str (zcq_msg_data (status), zcq_msg_data_size (status), "cluster");
    char *incarnation =
        zcq_testkit_str (zcq_msg_data (status), zcq_msg_data_size (status), "incarnation");
    zcq_msg_destroy (&status);

    //  Restore: stop, put the copy in place of the data folder, start
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    zcq_testkit_rmtree (cluster->write_data);
    assert_int_equal (rename (copy, cluster->write_data), 0);
    s_start_write (cluster, "--backups", backups);
    status = zcq_client_write_status (admin, WAIT);
    assert_non_null (status);
    assert_int_equal (zcq_msg_position (status), saved);
    char *restored_cluster =
        zcq_testkit_str (zcq_msg_data (status), zcq_msg_data_size (status), "cluster");
    char *restored_incarnation =
        zcq_testkit_str (zcq_msg_data (status), zcq_msg_data_size (status), "incarnation");
    assert_string_equal (restored_cluster, cluster_id);
    assert_string_not_equal (restored_incarnation, incarnation);
    zcq_msg_destroy (&status);
    assert_true (
        zcq_testkit_file_has (cluster->write.log, "restored from a backup taken at position"));

    //  The query node applied past the backup: diverged, naming what is lost
    s_await_status (cluster, 0, "state", "diverged", WAIT);
    char *why = s_status_str (cluster, 0, "state_reason");
    char *lost = zsys_sprintf ("positions %" PRIu64 " to %" PRIu64 " that this node applied "
                               "are lost",
                               saved + 1, head);
    if (!strstr (why, "restored from a backup") || !strstr (why, lost)) {
        fail_msg ("state_reason '%s' does not say '%s'", why, lost);
    }
    zstr_free (&lost);
    zstr_free (&why);

    //  Rebuilt, it follows the restored log
    assert_int_equal (zcq_testkit_stop (&cluster->query [0]), 0);
    s_start_query (cluster, 0, "--rebuild", "1");
    uint64_t again = s_deposits (cluster, 10);
    assert_true (again > saved);
    s_await_status (cluster, 0, "state", "live", 4 * WAIT);
    s_await_position (cluster, 0, again);
    zstr_free (&cluster_id);
    zstr_free (&incarnation);
    zstr_free (&restored_cluster);
    zstr_free (&restored_incarnation);
    zcq_client_destroy (&admin);
    s_cluster_destroy (&cluster);
}

//  A query node of another domain than its write node's takes nothing from
//  it and says why, in its status and in every answer
static void
test_write_node_of_another_domain_is_refused (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_open_accounts (cluster);
    s_start_query (cluster, 0, "--domain", "store");
    s_await_status (cluster, 0, "state", "refused", WAIT);
    char *why = s_status_str (cluster, 0, "state_reason");
    assert_non_null (
        strstr (why, "runs the domain 'bank', this query node the domain 'store'"));
    zstr_free (&why);
    assert_int_equal (s_status_int (cluster, 0, "applied"), 0);
    zcq_msg_t *result = s_builtin (cluster, 0, "checksum");
    assert_true (zcq_msg_may_be_stale (result));
    assert_non_null (strstr (zcq_msg_reason (result), "runs the domain 'bank'"));
    zcq_msg_destroy (&result);
    s_cluster_destroy (&cluster);
}

static void
test_fast_restart_is_noticed_by_the_lost_connection (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    //  Silence alone would take 10 s (100 heartbeats of 100 ms) to tell
    s_start_query (cluster, 0, "--silence", "100");
    s_open_accounts (cluster);
    uint64_t head = s_deposits (cluster, 200);
    s_await_position (cluster, 0, head);
    assert_int_equal (s_status_int (cluster, 0, "reconnects"), 0);
    assert_int_equal (zcq_testkit_stop (&cluster->write), 0);
    s_start_write (cluster, NULL, NULL);
    head = s_deposits (cluster, 200);
    s_await_position (cluster, 0, head);
    s_await_status (cluster, 0, "write_node", "reachable", WAIT);
    //  The replay connection comes back on its own schedule (ZeroMQ's
    //  reconnect interval), which the events on the SUB may well beat
    s_await_count (cluster, 0, "reconnects", 1, WAIT);
    assert_true (s_status_int (cluster, 0, "outages") >= 1);
    assert_int_equal (s_status_int (cluster, 0, "events_applied"), head);
    s_cluster_destroy (&cluster);
}

static void
test_rebuild_serves_the_old_models_until_it_switches (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    s_start_query (cluster, 0, NULL, NULL);
    s_open_accounts (cluster);
    uint64_t head = s_deposits (cluster, 20000);
    char *before = s_checksum_at (cluster, 0, head);
    assert_int_equal (zcq_testkit_stop (&cluster->query [0]), 0);

    //  Rebuilt while answering: every answer comes from complete models
    s_start_query (cluster, 0, "--rebuild", "1");
    bool seen_rebuilding = false;
    int64_t deadline = zclock_mono () + 4 * WAIT;
    while (zclock_mono () < deadline) {
        zcq_msg_t *status = s_builtin (cluster, 0, "status");
        msgpack_unpacked map;
        zcq_testkit_unpack (zcq_msg_data (status), zcq_msg_data_size (status), &map);
        bool rebuilding = zcq_map_get (&map.data, "rebuild") != NULL;
        msgpack_unpacked_destroy (&map);
        zcq_msg_destroy (&status);
        zcq_msg_t *totals = zcq_client_query (cluster->client, 0, "totals", NULL, 0, 0, WAIT);
        assert_int_equal (zcq_msg_status (totals), ZCQ_OK);
        assert_int_equal (
            zcq_testkit_int (zcq_msg_data (totals), zcq_msg_data_size (totals), "accounts"),
            ACCOUNTS);
        assert_int_equal (
            zcq_testkit_int (zcq_msg_data (totals), zcq_msg_data_size (totals), "balance"),
            20000);
        zcq_msg_destroy (&totals);
        seen_rebuilding |= rebuilding;
        if (!rebuilding && seen_rebuilding) {
            break;
        }
        if (!rebuilding && zclock_mono () > deadline - 3 * WAIT) {
            break; //  finished before we could look: still checked below
        }
    }
    char *after = s_checksum_at (cluster, 0, head);
    assert_string_equal (after, before);
    //  Writes go on into the rebuilt models
    head = s_deposits (cluster, 100);
    s_await_position (cluster, 0, head);
    const int nodes [] = {0, -1};
    s_assert_replicas_match_rebuild (cluster, 1, nodes);
    zstr_free (&before);
    zstr_free (&after);
    s_cluster_destroy (&cluster);
}

//  Query nodes that go while the write node publishes (killed, stopped,
//  reconnecting) cut a subscriber's connection between the frames of a
//  publication. The write node loses nothing by it: under AddressSanitizer
//  its exit status says whether it leaked (libzmq's PUB left such a
//  publication's first frame behind, once it was more than the 33 bytes a
//  message holds inline: here the topics of streams with long names).
static void
test_subscribers_that_go_while_events_are_published_cost_nothing (void **state)
{
    (void) state;
    cluster_t *cluster = s_cluster_new (NULL, NULL);
    zsock_t *subs [8] = {NULL};
    int churned = 0;
    for (int round = 0; round < 10; round++) {
        for (int index = 0; index < 400; index++) {
            char stream [64];
            snprintf (stream, sizeof stream, "account-with-a-long-name-%d-%d", round, index);
            msgpack_sbuffer *data = zcq_testkit_map ("owner=churn", NULL);
            zcq_msg_t *command =
                zcq_client_command ("OpenAccount", stream, 0, data->data, data->size);
            msgpack_sbuffer_free (data);
            assert_int_equal (zcq_client_post (cluster->client, command), 0);
            zcq_msg_destroy (&command);
            //  A subscriber comes, and the oldest of eight goes
            if (index % 4 == 0) {
                zsock_t **sub = &subs [churned++ % 8];
                zsock_destroy (sub);
                *sub = zsock_new_sub (cluster->events, "ZCQ");
                assert_non_null (*sub);
            }
        }
        for (int index = 0; index < 400; index++) {
            s_collect (cluster);
        }
    }
    for (int index = 0; index < 8; index++) {
        zsock_destroy (&subs [index]);
    }
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
        cmocka_unit_test_teardown (
            test_a_cluster_of_leveldb_and_memory_nodes_agrees_by_checksum, s_teardown),
        cmocka_unit_test_teardown (test_spread_queries_survive_a_killed_and_a_held_back_node,
                                   s_teardown),
        cmocka_unit_test_teardown (test_lost_publications_are_repaired_on_every_replica,
                                   s_teardown),
        cmocka_unit_test_teardown (
            test_paused_subscriber_with_tiny_queue_applies_each_event_once, s_teardown),
        cmocka_unit_test_teardown (test_killed_while_applying_converges_to_a_fresh_rebuild,
                                   s_teardown),
        cmocka_unit_test_teardown (test_late_joiner_on_a_long_log_converges_while_writes_go_on,
                                   s_teardown),
        cmocka_unit_test_teardown (test_read_your_writes_against_a_held_back_node, s_teardown),
        cmocka_unit_test_teardown (test_write_node_of_another_domain_is_refused, s_teardown),
        cmocka_unit_test_teardown (test_backup_while_commands_flow_and_restore, s_teardown),
        cmocka_unit_test_teardown (test_write_node_restart_is_noticed_reported_and_survived,
                                   s_teardown),
        cmocka_unit_test_teardown (test_replaced_log_is_refused_after_a_restart, s_teardown),
        cmocka_unit_test_teardown (test_fast_restart_is_noticed_by_the_lost_connection,
                                   s_teardown),
        cmocka_unit_test_teardown (test_rebuild_serves_the_old_models_until_it_switches,
                                   s_teardown),
        cmocka_unit_test_teardown (
            test_subscribers_that_go_while_events_are_published_cost_nothing, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
