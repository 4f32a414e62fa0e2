/*  =========================================================================
    test_live - live queries (spec section 10.17) on real node processes: each
    update equals a fresh query at its position; many events in one batch
    give one update; a slow reader gets the latest result, not a queue;
    caps and refusals by name; a silent client's watches expire; a client
    of a restarted query node watches again by itself; updates say when
    the node may be stale
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 10000 //  ms any single wait may take at most

//  Send a command; check its status; return the reply's position.
static uint64_t
s_send (zcq_testkit_cluster_t *cluster, const char *type, const char *stream,
        msgpack_sbuffer *data)
{
    zcq_msg_t *reply = zcq_testkit_send (cluster, ZCQ_ACCEPTED, type, stream, data);
    assert_non_null (reply);
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

//  Watch "account" id on a watcher; returns the watch's number.
static int
s_watch_account (zcq_watcher_t *watcher, const char *id)
{
    char word [80];
    snprintf (word, sizeof word, "id=%s", id);
    msgpack_sbuffer *params = zcq_testkit_map (word, NULL);
    int watch = zcq_watcher_watch (watcher, "account", params->data, params->size);
    msgpack_sbuffer_free (params);
    assert_true (watch >= 0);
    return watch;
}

//  The next update of a watcher (asserted to come within WAIT).
static zcq_msg_t *
s_next (zcq_watcher_t *watcher, int *watch)
{
    zcq_msg_t *update = zcq_watcher_recv (watcher, watch, WAIT);
    assert_non_null (update);
    assert_int_equal (zcq_msg_type (update), ZCQ_MSG_UPDATE);
    return update;
}

//  The balance an account update carries.
static int64_t
s_balance (zcq_msg_t *update)
{
    assert_int_equal (zcq_msg_status (update), ZCQ_OK);
    return zcq_testkit_int (zcq_msg_data (update), zcq_msg_data_size (update), "balance");
}

//  Updates until one at position or above (asserted within WAIT); the
//  earlier ones are counted in *skipped when it is not NULL.
static zcq_msg_t *
s_until (zcq_watcher_t *watcher, uint64_t position, int *skipped)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (zclock_mono () < deadline) {
        zcq_msg_t *update = zcq_watcher_recv (watcher, NULL, 200);
        if (update && zcq_msg_position (update) >= position) {
            return update;
        }
        if (update && skipped) {
            (*skipped)++;
        }
        zcq_msg_destroy (&update);
    }
    fail_msg ("no update at position %" PRIu64 " in time", position);
    return NULL;
}

//  A write node and query node 0 (with one more flag and its value, or
//  NULL) in a fresh cluster named after tag.
static void
s_cluster (zcq_testkit_cluster_t *cluster, const char *tag, const char *flag, const char *value)
{
    zcq_testkit_cluster_init (cluster, tag);
    assert_int_equal (zcq_testkit_cluster_start_write (cluster, "bank", NULL, NULL), 0);
    assert_int_equal (zcq_testkit_cluster_start_query (cluster, 0, 1, "bank", flag, value), 0);
}

//  A watcher of "account" acc-1 on query node 0, acc-1 opened first; the
//  updates up to the opening taken (not stale: the write node is up), the
//  seq of the last in *seq unless it is NULL.
static zcq_watcher_t *
s_opened_and_watched (zcq_testkit_cluster_t *cluster, uint64_t *seq)
{
    uint64_t opened =
        s_send (cluster, "OpenAccount", "acc-1", zcq_testkit_map ("owner=ann", NULL));
    zcq_watcher_t *watcher = zcq_watcher_new (cluster->queries [0]);
    assert_non_null (watcher);
    s_watch_account (watcher, "acc-1");
    zcq_msg_t *update = s_until (watcher, opened, NULL);
    assert_false (zcq_msg_may_be_stale (update));
    if (seq) {
        *seq = zcq_msg_seq (update);
    }
    zcq_msg_destroy (&update);
    return watcher;
}

//  A field of the query node's "status" answer, in its "live" map.
static int64_t
s_live_status (zcq_testkit_cluster_t *cluster, int node, const char *field)
{
    zcq_msg_t *status = zcq_client_query (cluster->client, node, "status", NULL, 0, 0, WAIT);
    assert_non_null (status);
    msgpack_unpacked answer;
    zcq_testkit_unpack (zcq_msg_data (status), zcq_msg_data_size (status), &answer);
    const msgpack_object *live = zcq_map_get (&answer.data, "live");
    assert_non_null (live);
    const msgpack_object *value = zcq_map_get (live, field);
    assert_non_null (value);
    int64_t number = value->via.i64;
    msgpack_unpacked_destroy (&answer);
    zcq_msg_destroy (&status);
    return number;
}

static void
test_updates_equal_fresh_queries (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster (&cluster, "live-equal", NULL, NULL);
    zcq_watcher_t *watcher = zcq_watcher_new (cluster.queries [0]);
    assert_non_null (watcher);
    int watch = s_watch_account (watcher, "acc-1");
    int other = s_watch_account (watcher, "acc-2");

    //  At once: the current result, "not_found" before the account exists
    int said = -1;
    zcq_msg_t *update = s_next (watcher, &said);
    assert_int_equal (zcq_msg_seq (update), 1);
    assert_int_equal (zcq_msg_status (update), ZCQ_NOT_FOUND);
    assert_false (zcq_msg_may_be_stale (update));
    assert_int_equal (strlen (zcq_watcher_incarnation (watcher)), 32);
    zcq_msg_destroy (&update);
    update = s_next (watcher, &said);
    zcq_msg_destroy (&update);

    //  Then one update per change, each what a query at its position says
    const char *words [] = {"owner=ann", "amount=10", "amount=25", "amount=7"};
    const char *types [] = {"OpenAccount", "Deposit", "Deposit", "Withdraw"};
    int64_t balances [] = {0, 10, 35, 28};
    for (int step = 0; step < 4; step++) {
        uint64_t position =
            s_send (&cluster, types [step], "acc-1", zcq_testkit_map (words [step], NULL));
        update = s_next (watcher, &said);
        assert_int_equal (said, watch); //  acc-2 did not change: nothing for it
        assert_int_equal (zcq_msg_position (update), position);
        assert_int_equal (zcq_msg_seq (update), step + 2);
        assert_int_equal (s_balance (update), balances [step]);
        msgpack_sbuffer *params = zcq_testkit_map ("id=acc-1", NULL);
        zcq_msg_t *fresh = zcq_client_query (cluster.client, 0, "account", params->data,
                                             params->size, position, WAIT);
        msgpack_sbuffer_free (params);
        assert_non_null (fresh);
        assert_int_equal (zcq_msg_position (fresh), position);
        assert_int_equal (zcq_msg_status (fresh), zcq_msg_status (update));
        assert_int_equal (zcq_msg_data_size (fresh), zcq_msg_data_size (update));
        assert_memory_equal (zcq_msg_data (fresh), zcq_msg_data (update),
                             zcq_msg_data_size (update));
        zcq_msg_destroy (&fresh);
        zcq_msg_destroy (&update);
    }
    //  The other account's watch gets its own change only
    uint64_t position =
        s_send (&cluster, "OpenAccount", "acc-2", zcq_testkit_map ("owner=bo", NULL));
    update = s_next (watcher, &said);
    assert_int_equal (said, other);
    assert_int_equal (zcq_msg_position (update), position);
    zcq_msg_destroy (&update);
    assert_null (zcq_watcher_recv (watcher, NULL, 300));

    //  Unwatched: no more updates for it
    zcq_watcher_unwatch (watcher, watch);
    s_send (&cluster, "Deposit", "acc-1", zcq_testkit_map ("amount=1", NULL));
    assert_null (zcq_watcher_recv (watcher, NULL, 300));
    assert_int_equal (s_live_status (&cluster, 0, "watches"), 1);
    zcq_watcher_destroy (&watcher);
    zcq_testkit_cluster_destroy (&cluster);
}

static void
test_one_update_per_batch (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    //  Every event held a second before it is applied: what arrives
    //  meanwhile is applied in one batch
    s_cluster (&cluster, "live-batch", "--fault-apply-delay-ms", "1000");
    uint64_t seq = 0;
    zcq_watcher_t *watcher = s_opened_and_watched (&cluster, &seq);
    zcq_msg_t *update = NULL;
    zcq_client_t *client = zcq_client_new (cluster.commands);
    msgpack_sbuffer *data = zcq_testkit_map ("amount=3", NULL);
    uint64_t last = 0;
    for (int deposit = 0; deposit < 40; deposit++) {
        zcq_msg_t *command =
            zcq_client_command ("Deposit", "acc-1", ZCQ_EXPECT_ANY, data->data, data->size);
        assert_int_equal (zcq_client_post (client, command), 0);
        zcq_msg_destroy (&command);
    }
    for (int reply = 0; reply < 40; reply++) {
        zcq_msg_t *answer = zcq_client_recv_reply (client, WAIT);
        assert_non_null (answer);
        assert_int_equal (zcq_msg_status (answer), ZCQ_ACCEPTED);
        last = zcq_msg_position (answer) > last ? zcq_msg_position (answer) : last;
        zcq_msg_destroy (&answer);
    }
    msgpack_sbuffer_free (data);
    zcq_client_destroy (&client);
    //  40 events, one batch, one update: the final balance
    update = s_next (watcher, NULL);
    assert_int_equal (zcq_msg_position (update), last);
    assert_int_equal (s_balance (update), 120);
    assert_int_equal (zcq_msg_seq (update), seq + 1);
    zcq_msg_destroy (&update);
    assert_null (zcq_watcher_recv (watcher, NULL, 1500));
    zcq_watcher_destroy (&watcher);
    zcq_testkit_cluster_destroy (&cluster);
}

static void
test_slow_reader_gets_the_latest (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster (&cluster, "live-slow", NULL, NULL);
    zcq_watcher_t *watcher = s_opened_and_watched (&cluster, NULL);
    zcq_msg_t *update = NULL;
    int64_t evaluations = s_live_status (&cluster, 0, "evaluations");
    //  (updates before the opening was applied, "not_found", count too)
    int64_t sent = s_live_status (&cluster, 0, "updates");

    //  30 changes, each its own batch, while the watcher reads nothing
    uint64_t last = 0;
    for (int deposit = 0; deposit < 30; deposit++) {
        last = s_send (&cluster, "Deposit", "acc-1", zcq_testkit_map ("amount=2", NULL));
        zcq_msg_t *fresh = NULL;
        msgpack_sbuffer *params = zcq_testkit_map ("id=acc-1", NULL);
        fresh = zcq_client_query (cluster.client, 0, "account", params->data, params->size,
                                  last, WAIT);
        msgpack_sbuffer_free (params);
        assert_non_null (fresh);
        zcq_msg_destroy (&fresh);
    }
    //  The node ran the query for each change but holds one result: the
    //  update in flight (the first change) and the latest, nothing between
    assert_true (s_live_status (&cluster, 0, "evaluations") - evaluations >= 30);
    assert_true (s_live_status (&cluster, 0, "updates") - sent <= 1);
    int skipped = 0;
    update = s_until (watcher, last, &skipped);
    assert_true (skipped <= 1);
    assert_int_equal (s_balance (update), 60);
    zcq_msg_destroy (&update);
    assert_true (s_live_status (&cluster, 0, "updates") - sent <= 2);
    assert_null (zcq_watcher_recv (watcher, NULL, 300));
    zcq_watcher_destroy (&watcher);
    zcq_testkit_cluster_destroy (&cluster);
}

//  A refusal: seq 0, the status, and a reason that holds text.
static void
s_refused (zcq_watcher_t *watcher, zcq_status_t status, const char *text)
{
    zcq_msg_t *update = s_next (watcher, NULL);
    assert_int_equal (zcq_msg_seq (update), 0);
    assert_int_equal (zcq_msg_status (update), status);
    if (!strstr (zcq_msg_reason (update), text)) {
        fail_msg ("reason '%s' does not say '%s'", zcq_msg_reason (update), text);
    }
    zcq_msg_destroy (&update);
}

static void
test_caps_and_refusals (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster (&cluster, "live-caps", "--watch-max", "3");
    zcq_watcher_t *first = zcq_watcher_new (cluster.queries [0]);
    zcq_watcher_t *second = zcq_watcher_new (cluster.queries [0]);
    s_watch_account (first, "acc-1");
    s_watch_account (first, "acc-2");
    s_watch_account (second, "acc-3");
    for (int watch = 0; watch < 3; watch++) {
        zcq_msg_t *update = s_next (watch < 2 ? first : second, NULL);
        assert_int_equal (zcq_msg_seq (update), 1);
        zcq_msg_destroy (&update);
    }
    //  A fourth, from either client: the node's cap, by name
    s_watch_account (second, "acc-4");
    s_refused (second, ZCQ_BUSY, "query/watch_max");
    //  Queries that cannot be watched, by name
    assert_true (zcq_watcher_watch (first, "nope", NULL, 0) >= 0);
    s_refused (first, ZCQ_UNKNOWN_TYPE, "unknown query 'nope'");
    assert_true (zcq_watcher_watch (first, "status", NULL, 0) >= 0);
    s_refused (first, ZCQ_INVALID, "cannot be watched");
    zcq_watcher_destroy (&first);
    zcq_watcher_destroy (&second);
    assert_int_equal (zcq_testkit_stop (&cluster.query [0]), 0);

    //  The cap per client: a second client still gets its watch
    assert_int_equal (
        zcq_testkit_cluster_start_query (&cluster, 0, 1, "bank", "--watch-client-max", "2"), 0);
    first = zcq_watcher_new (cluster.queries [0]);
    second = zcq_watcher_new (cluster.queries [0]);
    s_watch_account (first, "acc-1");
    s_watch_account (first, "acc-2");
    s_watch_account (first, "acc-3");
    for (int watch = 0; watch < 2; watch++) {
        zcq_msg_t *update = s_next (first, NULL);
        assert_int_equal (zcq_msg_seq (update), 1);
        zcq_msg_destroy (&update);
    }
    s_refused (first, ZCQ_BUSY, "query/watch_client_max");
    s_watch_account (second, "acc-3");
    zcq_msg_t *update = s_next (second, NULL);
    assert_int_equal (zcq_msg_seq (update), 1);
    zcq_msg_destroy (&update);
    zcq_watcher_destroy (&first);
    zcq_watcher_destroy (&second);
    assert_int_equal (zcq_testkit_stop (&cluster.query [0]), 0);

    //  Settings out of range are refused by name: the node does not start
    const char *wrong [][3] = {{"--watch-client-max", "0", "setting query/watch_client_max"},
                               {"--watch-max", "-1", "setting query/watch_max"},
                               {"--watch-lease", "5", "setting query/watch_lease"}};
    for (size_t index = 0; index < sizeof (wrong) / sizeof (wrong [0]); index++) {
        zcq_testkit_node_t node = {0};
        char data [300];
        snprintf (data, sizeof data, "%s/wrong", cluster.dir);
        zcq_testkit_start (&node, cluster.dir, "zcqrs-query", "--data", data, "--queries",
                           cluster.queries [1], wrong [index][0], wrong [index][1], NULL);
        assert_int_not_equal (zcq_testkit_wait_exit (&node, WAIT), 0);
        assert_true (zcq_testkit_file_has (node.log, wrong [index][2]));
    }
    zcq_testkit_cluster_destroy (&cluster);
}

static void
test_silent_client_expires (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster (&cluster, "live-expire", "--watch-lease", "500");
    //  A client that watches, takes its update and goes silent (no renewal)
    zsock_t *dealer = zsock_new_dealer (cluster.queries [0]);
    assert_non_null (dealer);
    zcq_msg_t *watch = zcq_msg_new (ZCQ_MSG_WATCH);
    zcq_msg_set_id (watch, "x", 1);
    zcq_msg_set_name (watch, "account");
    msgpack_sbuffer *params = zcq_testkit_map ("id=acc-1", NULL);
    zcq_msg_set_data (watch, params->data, params->size);
    msgpack_sbuffer_free (params);
    assert_int_equal (zcq_msg_send (watch, dealer), 0);
    zcq_msg_destroy (&watch);
    zsock_set_rcvtimeo (dealer, WAIT);
    zcq_msg_t *update = zcq_msg_recv (dealer);
    assert_non_null (update);
    assert_int_equal (zcq_msg_type (update), ZCQ_MSG_UPDATE);
    assert_int_equal (zcq_msg_seq (update), 1);
    assert_int_equal (zcq_msg_lease (update), 500);
    zcq_msg_destroy (&update);
    assert_int_equal (s_live_status (&cluster, 0, "watches"), 1);
    int64_t deadline = zclock_mono () + WAIT;
    while (s_live_status (&cluster, 0, "watches") > 0 && zclock_mono () < deadline) {
        zclock_sleep (50); //  polling an observable state, bounded
    }
    assert_int_equal (s_live_status (&cluster, 0, "watches"), 0);
    assert_int_equal (s_live_status (&cluster, 0, "expired"), 1);
    //  Its ACK now is answered: no such watch, watch again
    zcq_msg_t *ack = zcq_msg_new (ZCQ_MSG_ACK);
    zcq_msg_set_id (ack, "x", 1);
    zcq_msg_set_seq (ack, 1);
    assert_int_equal (zcq_msg_send (ack, dealer), 0);
    zcq_msg_destroy (&ack);
    update = zcq_msg_recv (dealer);
    assert_non_null (update);
    assert_int_equal (zcq_msg_seq (update), 0);
    assert_int_equal (zcq_msg_status (update), ZCQ_NOT_FOUND);
    zcq_msg_destroy (&update);
    zsock_destroy (&dealer);

    //  A watcher that is quiet for longer than the lease renews it
    zcq_watcher_t *watcher = zcq_watcher_new (cluster.queries [0]);
    s_watch_account (watcher, "acc-1");
    update = s_next (watcher, NULL);
    zcq_msg_destroy (&update);
    assert_null (zcq_watcher_recv (watcher, NULL, 1500));
    assert_int_equal (s_live_status (&cluster, 0, "watches"), 1);
    assert_int_equal (zcq_watcher_rewatches (watcher), 0);
    zcq_watcher_destroy (&watcher);
    zcq_testkit_cluster_destroy (&cluster);
}

static void
test_restarted_node_is_watched_again (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster (&cluster, "live-restart", "--watch-lease", "600");
    zcq_watcher_t *watcher = s_opened_and_watched (&cluster, NULL);
    char *before = strdup (zcq_watcher_incarnation (watcher));
    zcq_msg_t *update = NULL;

    assert_int_equal (zcq_testkit_stop (&cluster.query [0]), 0);
    assert_int_equal (
        zcq_testkit_cluster_start_query (&cluster, 0, 1, "bank", "--watch-lease", "600"), 0);
    uint64_t position =
        s_send (&cluster, "Deposit", "acc-1", zcq_testkit_map ("amount=9", NULL));
    //  No word from the caller: the watcher finds the new node by itself
    update = s_until (watcher, position, NULL);
    assert_int_equal (s_balance (update), 9);
    assert_true (zcq_watcher_rewatches (watcher) >= 1);
    assert_string_not_equal (zcq_watcher_incarnation (watcher), before);
    zcq_msg_destroy (&update);
    free (before);
    zcq_watcher_destroy (&watcher);
    zcq_testkit_cluster_destroy (&cluster);
}

static void
test_updates_say_may_be_stale (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster (&cluster, "live-stale", NULL, NULL);
    zcq_watcher_t *watcher = s_opened_and_watched (&cluster, NULL);
    zcq_msg_t *update = NULL;
    //  The write node goes: the same result, now said to be maybe stale
    assert_int_equal (zcq_testkit_stop (&cluster.write), 0);
    update = s_next (watcher, NULL);
    assert_true (zcq_msg_may_be_stale (update));
    assert_non_null (strstr (zcq_msg_reason (update), "may be stale"));
    assert_int_equal (s_balance (update), 0);
    zcq_msg_destroy (&update);
    //  It is back: no longer stale
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "bank", NULL, NULL), 0);
    update = s_next (watcher, NULL);
    assert_false (zcq_msg_may_be_stale (update));
    zcq_msg_destroy (&update);
    zcq_watcher_destroy (&watcher);
    zcq_testkit_cluster_destroy (&cluster);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_updates_equal_fresh_queries),
        cmocka_unit_test (test_one_update_per_batch),
        cmocka_unit_test (test_slow_reader_gets_the_latest),
        cmocka_unit_test (test_caps_and_refusals),
        cmocka_unit_test (test_silent_client_expires),
        cmocka_unit_test (test_restarted_node_is_watched_again),
        cmocka_unit_test (test_updates_say_may_be_stale),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
