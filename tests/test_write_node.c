/*  =========================================================================
    test_write_node - the write node actor in-process, with its fault seams:
    a storage write that fails acknowledges nothing, leaves no trace in the
    log or in the decided state, and the node carries on; commands of one
    group see each other; a command id has one outcome (in flight, on disk,
    after a restart) until retention forgets it; snapshots spare folding a
    long stream; a saturated node answers "busy"; settings are checked
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  ms any single wait may take at most (slow sanitized builds on a loaded
//  machine: LevelDB compactions stall writes)
#define WAIT 30000

//  Events in the long stream of the snapshot test: the 100,000, or
//  fewer where AddressSanitizer makes each one ten times dearer
#if defined(__SANITIZE_ADDRESS__)
#define LONG_STREAM 20000
#else
#define LONG_STREAM 100000
#endif

typedef struct {
    char *dir;            //  temporary folder
    char commands [256];  //  ROUTER endpoint
    zconfig_t *config;    //  node settings
    zactor_t *node;       //  the write node actor
    zcq_client_t *client; //  client of it
} fixture_t;

//  Start (or restart) the node on the fixture's settings.
static void
s_start (fixture_t *fixture)
{
    //  The previous node's sockets close in ZeroMQ's I/O thread, a moment
    //  after it stopped: until then its ipc:// paths still answer
    char *message = NULL;
    for (int attempt = 0; attempt < 50 && !fixture->node; attempt++) {
        zstr_free (&message);
        if (attempt) {
            zclock_sleep (100);
        }
        fixture->node = zcq_node_start (zcq_write_node_actor, fixture->config, &message);
    }
    free (message);
    assert_non_null (fixture->node);
}

static void
s_restart (fixture_t *fixture)
{
    zactor_destroy (&fixture->node);
    s_start (fixture);
}

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("writer");
    snprintf (fixture->commands, sizeof (fixture->commands), "ipc://%s/commands", fixture->dir);
    char endpoint [300];
    fixture->config = zconfig_new ("root", NULL);
    zconfig_put (fixture->config, "write/commands", fixture->commands);
    snprintf (endpoint, sizeof (endpoint), "ipc://%s/events", fixture->dir);
    zconfig_put (fixture->config, "write/events", endpoint);
    snprintf (endpoint, sizeof (endpoint), "ipc://%s/replay", fixture->dir);
    zconfig_put (fixture->config, "write/replay", endpoint);
    snprintf (endpoint, sizeof (endpoint), "%s/write", fixture->dir);
    zconfig_put (fixture->config, "write/data", endpoint);
    char *message = NULL;
    fixture->node = zcq_node_start (zcq_write_node_actor, fixture->config, &message);
    assert_non_null (fixture->node);
    assert_non_null (strstr (message, "head=0"));
    free (message);
    fixture->client = zcq_client_new (fixture->commands);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_client_destroy (&fixture->client);
    zactor_destroy (&fixture->node);
    zconfig_destroy (&fixture->config);
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    return 0;
}

static zcq_msg_t *
s_send (fixture_t *fixture, const char *type, const char *word, int64_t expect)
{
    msgpack_sbuffer *data = zcq_testkit_map (word, NULL);
    zcq_msg_t *reply = zcq_client_send (fixture->client, type, "account-1", expect, data->data,
                                        data->size, WAIT);
    msgpack_sbuffer_free (data);
    assert_non_null (reply);
    return reply;
}

static uint64_t
s_head (fixture_t *fixture)
{
    zcq_msg_t *status = zcq_client_write_status (fixture->client, WAIT);
    assert_non_null (status);
    uint64_t head =
        (uint64_t) zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status), "head");
    zcq_msg_destroy (&status);
    return head;
}

//  A number from the write node's status.
static int64_t
s_status (fixture_t *fixture, const char *key)
{
    zcq_msg_t *status = zcq_client_write_status (fixture->client, WAIT);
    assert_non_null (status);
    int64_t value = zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status), key);
    zcq_msg_destroy (&status);
    return value;
}

static void
s_fail_writes (fixture_t *fixture, const char *count)
{
    zstr_sendx (fixture->node, "FAIL-WRITES", count, NULL);
    assert_int_equal (zsock_wait (fixture->node), 0);
}

static void
s_delay_writes (fixture_t *fixture, const char *milliseconds)
{
    zstr_sendx (fixture->node, "DELAY-WRITES", milliseconds, NULL);
    assert_int_equal (zsock_wait (fixture->node), 0);
}

//  Ask the node to say when it next begins writing a group (s_await_write);
//  it says at once that it will.
static void
s_arm_await_write (fixture_t *fixture)
{
    zstr_send (fixture->node, "AWAIT-WRITE");
    assert_int_equal (zsock_wait (fixture->node), 0);
}

//  Wait until the node begins writing a group (after s_arm_await_write):
//  what is sent from now on comes while that write is under way, and is
//  decided after it (bounded by WAIT).
static void
s_await_write (fixture_t *fixture)
{
    zsock_set_rcvtimeo (fixture->node, WAIT);
    assert_int_equal (zsock_wait (fixture->node), 0);
    zsock_set_rcvtimeo (fixture->node, -1);
}

//  Build a bank command on account-1 with one field=value word.
static zcq_msg_t *
s_command (const char *type, const char *word, int64_t expect)
{
    msgpack_sbuffer *data = zcq_testkit_map (word, NULL);
    zcq_msg_t *command = zcq_client_command (type, "account-1", expect, data->data, data->size);
    msgpack_sbuffer_free (data);
    return command;
}

//  Post a command without waiting; the command is destroyed.
static void
s_post (fixture_t *fixture, zcq_msg_t **command_p)
{
    assert_int_equal (zcq_client_post (fixture->client, *command_p), 0);
    zcq_msg_destroy (command_p);
}

static zcq_msg_t *
s_next_reply (fixture_t *fixture)
{
    zcq_msg_t *reply = zcq_client_recv_reply (fixture->client, WAIT);
    assert_non_null (reply);
    return reply;
}

static void
test_failed_write_acknowledges_nothing (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=hana", 0);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);
    reply = s_send (fixture, "Deposit", "amount=50", 1);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);

    //  The disk refuses the deposit's batch: "unavailable", retryable
    s_fail_writes (fixture, "1");
    msgpack_sbuffer *data = zcq_testkit_map ("amount=100", NULL);
    zcq_msg_t *deposit = zcq_client_command ("Deposit", "account-1", 2, data->data, data->size);
    msgpack_sbuffer_free (data);
    zcq_client_set_attempts (fixture->client, 1);
    reply = zcq_client_request (fixture->client, deposit, WAIT);
    zcq_client_set_attempts (fixture->client, 5);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_UNAVAILABLE);
    assert_true (zcq_status_retryable (zcq_msg_status (reply)));
    assert_non_null (strstr (zcq_msg_reason (reply), "nothing was stored"));
    assert_int_equal (zcq_msg_position (reply), 0);
    zcq_msg_destroy (&reply);
    assert_int_equal (s_head (fixture), 2);

    //  The decided state forgot the deposit: 120 is more than the 50 stored
    reply = s_send (fixture, "Withdraw", "amount=120", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_REJECTED);
    assert_non_null (strstr (zcq_msg_reason (reply), "balance 50"));
    zcq_msg_destroy (&reply);

    //  The same command id again now succeeds, at the next dense position,
    //  with the expected version it was sent with
    reply = zcq_client_request (fixture->client, deposit, WAIT);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 3);
    assert_int_equal (zcq_msg_version (reply), 3);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&deposit);
    reply = s_send (fixture, "Withdraw", "amount=120", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);
}

static void
test_client_retries_through_a_failed_write (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=lena", 0);
    zcq_msg_destroy (&reply);
    //  Two writes fail; the client's third attempt (same id) is stored once
    s_fail_writes (fixture, "2");
    reply = s_send (fixture, "Deposit", "amount=7", 1);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 2);
    zcq_msg_destroy (&reply);
    assert_int_equal (zcq_client_retries (fixture->client), 2);
    assert_int_equal (s_head (fixture), 2);
    assert_int_equal (s_status (fixture, "write_failures"), 2);
}

static void
test_later_command_in_a_group_sees_an_earlier_one (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=mira", 0);
    zcq_msg_destroy (&reply);
    //  While a slow write is under way, a deposit and a withdrawal of the
    //  same money come; they are decided into one group after it: the
    //  withdrawal sees the deposit that is not on disk yet
    s_delay_writes (fixture, "300");
    s_arm_await_write (fixture);
    zcq_msg_t *command = s_command ("Deposit", "amount=10", 1);
    s_post (fixture, &command);
    s_await_write (fixture); //  the deposit is being written
    command = s_command ("Deposit", "amount=90", 2);
    s_post (fixture, &command);
    command = s_command ("Withdraw", "amount=100", 3);
    s_post (fixture, &command);
    uint64_t positions [3];
    for (int index = 0; index < 3; index++) {
        reply = s_next_reply (fixture);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        positions [index] = zcq_msg_position (reply);
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (positions [0], 2);
    assert_int_equal (positions [1], 3);
    assert_int_equal (positions [2], 4);
    //  Open, then the first deposit alone, then the last two together
    assert_int_equal (s_status (fixture, "groups"), 3);
    assert_int_equal (s_status (fixture, "grouped_commands"), 4);
    s_delay_writes (fixture, "0");
    reply = s_send (fixture, "Withdraw", "amount=1", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_REJECTED);
    zcq_msg_destroy (&reply);
}

static void
test_a_command_id_has_one_outcome (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=nils", 0);
    zcq_msg_destroy (&reply);
    //  The same command twice, and once more while the first copy is
    //  still being written
    s_delay_writes (fixture, "200");
    s_arm_await_write (fixture);
    zcq_msg_t *deposit = s_command ("Deposit", "amount=5", ZCQ_EXPECT_ANY);
    for (int copy = 0; copy < 3; copy++) {
        assert_int_equal (zcq_client_post (fixture->client, deposit), 0);
        if (copy == 1) {
            s_await_write (fixture);
        }
    }
    for (int copy = 0; copy < 3; copy++) {
        reply = s_next_reply (fixture);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        assert_int_equal (zcq_msg_position (reply), 2);
        assert_int_equal (zcq_msg_version (reply), 2);
        assert_int_equal (zcq_msg_count (reply), 1);
        zcq_msg_destroy (&reply);
    }
    s_delay_writes (fixture, "0");
    assert_int_equal (s_head (fixture), 2);
    assert_int_equal (s_status (fixture, "duplicates"), 2);

    //  After a restart the outcome comes from disk
    s_restart (fixture);
    reply = zcq_client_request (fixture->client, deposit, WAIT);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 2);
    assert_int_equal (zcq_msg_version (reply), 2);
    zcq_msg_destroy (&reply);
    assert_int_equal (s_head (fixture), 2);
    zcq_msg_destroy (&deposit);
}

static void
test_failed_group_is_refused_and_forgotten (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=olga", 0);
    zcq_msg_destroy (&reply);
    //  The first deposit's write is slow, then fails: it is refused, and
    //  the two commands that come during that write are decided after it
    //  against what the disk has (version 1), never against the refused
    //  deposit's state (version 2): both expected versions conflict
    s_delay_writes (fixture, "200");
    s_fail_writes (fixture, "1");
    s_arm_await_write (fixture);
    zcq_msg_t *command = s_command ("Deposit", "amount=10", 1);
    s_post (fixture, &command);
    s_await_write (fixture);
    command = s_command ("Deposit", "amount=20", 2);
    s_post (fixture, &command);
    command = s_command ("Withdraw", "amount=30", 3);
    s_post (fixture, &command);
    reply = s_next_reply (fixture);
    assert_int_equal (zcq_msg_status (reply), ZCQ_UNAVAILABLE);
    assert_true (zcq_msg_retry_after (reply) > 0);
    zcq_msg_destroy (&reply);
    for (int index = 0; index < 2; index++) {
        reply = s_next_reply (fixture);
        assert_int_equal (zcq_msg_status (reply), ZCQ_CONFLICT);
        assert_int_equal (zcq_msg_version (reply), 1);
        zcq_msg_destroy (&reply);
    }
    s_delay_writes (fixture, "0");
    assert_int_equal (s_head (fixture), 1);
    //  State rolled back to the disk: version 1, balance 0
    reply = s_send (fixture, "Deposit", "amount=1", 1);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 2);
    zcq_msg_destroy (&reply);
    reply = s_send (fixture, "Withdraw", "amount=2", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_REJECTED);
    zcq_msg_destroy (&reply);
}

static void
test_state_with_unwritten_events_is_never_evicted (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/group", "2");
    zconfig_put (fixture->config, "write/cache", "1"); //  raised to 5
    s_start (fixture);
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=sami", 0);
    zcq_msg_destroy (&reply);
    //  account-1's deposit waits in a slow write while commands on ten
    //  other streams come to churn the tiny cache; its state must survive,
    //  or the next deposit would be decided against an older version
    s_delay_writes (fixture, "300");
    s_arm_await_write (fixture);
    zcq_msg_t *command = s_command ("Deposit", "amount=5", 1);
    s_post (fixture, &command);
    s_await_write (fixture);
    for (int index = 2; index <= 11; index++) {
        char stream [32];
        snprintf (stream, sizeof (stream), "account-%d", index);
        msgpack_sbuffer *data = zcq_testkit_map ("amount=-1", NULL);
        command =
            zcq_client_command ("Deposit", stream, ZCQ_EXPECT_ANY, data->data, data->size);
        msgpack_sbuffer_free (data);
        s_post (fixture, &command);
    }
    command = s_command ("Deposit", "amount=5", 2);
    s_post (fixture, &command);
    int accepted = 0, invalid = 0;
    for (int index = 0; index < 12; index++) {
        reply = s_next_reply (fixture);
        accepted += zcq_msg_status (reply) == ZCQ_ACCEPTED;
        invalid += zcq_msg_status (reply) == ZCQ_INVALID;
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (accepted, 2);
    assert_int_equal (invalid, 10);
    s_delay_writes (fixture, "0");
    assert_int_equal (s_head (fixture), 3);
}

//  Post count deposits of 1 on account-1, keeping at most window in flight;
//  asserts each is accepted.
static void
s_deposits (fixture_t *fixture, int count, int window)
{
    msgpack_sbuffer *data = zcq_testkit_map ("amount=1", NULL);
    int sent = 0, received = 0;
    while (received < count) {
        while (sent < count && sent - received < window) {
            zcq_msg_t *command = zcq_client_command ("Deposit", "account-1", ZCQ_EXPECT_ANY,
                                                     data->data, data->size);
            s_post (fixture, &command);
            sent++;
        }
        zcq_msg_t *reply = s_next_reply (fixture);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        zcq_msg_destroy (&reply);
        received++;
    }
    msgpack_sbuffer_free (data);
}

static void
test_snapshot_spares_folding_a_long_stream (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/snapshot", "1000");
    s_start (fixture);
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=pia", 0);
    zcq_msg_destroy (&reply);
    s_deposits (fixture, LONG_STREAM, 1000);
    assert_true (s_status (fixture, "snapshots") >= LONG_STREAM / 1000);

    //  Cold: the restarted node loads the last snapshot (version 100,000)
    //  and folds only the event after it, not 100,001 events
    s_restart (fixture);
    char amount [32];
    snprintf (amount, sizeof (amount), "amount=%d", LONG_STREAM);
    reply = s_send (fixture, "Withdraw", amount, LONG_STREAM + 1);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);
    assert_true (s_status (fixture, "events_folded") <= 1000);
    reply = s_send (fixture, "Withdraw", "amount=1", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_REJECTED);
    zcq_msg_destroy (&reply);

    //  Without snapshots the same stream is folded whole, to the same state
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/snapshot", "0");
    s_start (fixture);
    reply = s_send (fixture, "Withdraw", "amount=1", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_REJECTED);
    assert_non_null (strstr (zcq_msg_reason (reply), "balance 0"));
    zcq_msg_destroy (&reply);
    assert_int_equal (s_status (fixture, "events_folded"), LONG_STREAM + 2);
}

static void
test_retention_forgets_old_command_ids (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/ids/keep", "10");
    s_start (fixture);
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=quin", 0);
    zcq_msg_destroy (&reply);
    zcq_msg_t *first = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
    reply = zcq_client_request (fixture->client, first, WAIT);
    assert_int_equal (zcq_msg_position (reply), 2);
    zcq_msg_destroy (&reply);
    zcq_msg_t *last = NULL;
    for (int index = 0; index < 20; index++) {
        zcq_msg_destroy (&last);
        last = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
        reply = zcq_client_request (fixture->client, last, WAIT);
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (s_head (fixture), 22);
    assert_int_equal (s_status (fixture, "command_ids"), 10);
    //  The newest id is remembered; the first one was forgotten, so the
    //  same command is applied again (as documented)
    reply = zcq_client_request (fixture->client, last, WAIT);
    assert_int_equal (zcq_msg_position (reply), 22);
    zcq_msg_destroy (&reply);
    reply = zcq_client_request (fixture->client, first, WAIT);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 23);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&first);
    zcq_msg_destroy (&last);

    //  By age: ids older than a second are forgotten at the next write
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/ids/keep", "0");
    zconfig_put (fixture->config, "write/ids/max_age", "1");
    s_start (fixture);
    first = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
    reply = zcq_client_request (fixture->client, first, WAIT);
    assert_int_equal (zcq_msg_position (reply), 24);
    zcq_msg_destroy (&reply);
    //  Write until the writer reports only the ids stored after the first:
    //  the first and every older one are forgotten (it looks for expired
    //  ids at a write, at most once a second). A bounded poll of that count
    int64_t deadline = zclock_mono () + WAIT;
    int64_t after = 0;
    do {
        assert_true (zclock_mono () < deadline);
        zclock_sleep (50);
        reply = s_send (fixture, "Deposit", "amount=1", ZCQ_EXPECT_ANY);
        zcq_msg_destroy (&reply);
        after++;
    } while (s_status (fixture, "command_ids") > after);
    //  The first id again: applied anew, at the next position
    reply = zcq_client_request (fixture->client, first, WAIT);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 24 + after + 1);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&first);
}

static void
test_saturated_node_answers_busy (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/group", "8");
    zconfig_put (fixture->config, "write/queue", "8");
    zconfig_put (fixture->config, "write/client_inflight", "1000");
    s_start (fixture);
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=rosa", 0);
    zcq_msg_destroy (&reply);
    //  One deposit's write is slow (2 s: time for the other 39 to come
    //  during it even on a loaded machine); what comes during it is taken in
    //  after it, 8 decided into the next group, 8 queued undecided, the rest
    //  refused with a hint and nothing stored. The writes after it are fast
    s_delay_writes (fixture, "2000");
    s_arm_await_write (fixture);
    zcq_msg_t *first = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
    s_post (fixture, &first);
    s_await_write (fixture); //  the first deposit is being written
    for (int index = 1; index < 40; index++) {
        zcq_msg_t *command = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
        s_post (fixture, &command);
    }
    s_delay_writes (fixture, "0"); //  answered once that write is done
    int accepted = 0, busy = 0;
    for (int index = 0; index < 40; index++) {
        reply = s_next_reply (fixture);
        if (zcq_msg_status (reply) == ZCQ_BUSY) {
            busy++;
            assert_true (zcq_msg_retry_after (reply) >= 1);
            assert_non_null (strstr (zcq_msg_reason (reply), "saturated"));
        }
        else {
            assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
            accepted++;
        }
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (busy, 40 - 1 - 8 - 8);
    assert_int_equal (accepted + busy, 40);
    assert_int_equal (s_head (fixture), 1 + accepted);
    assert_int_equal (s_status (fixture, "busy"), busy);
    //  Service resumes
    reply = s_send (fixture, "Deposit", "amount=1", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);

    //  Groups of one: every write carries one command, the others queue
    //  (not refused) and are decided in arrival order
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/group", "1");
    zconfig_put (fixture->config, "write/queue", "10000");
    s_start (fixture);
    int64_t groups = s_status (fixture, "groups");
    //  The head before: a status query on the connection that waits for
    //  replies would take their place (it is answered between two writes)
    uint64_t position = s_head (fixture);
    s_delay_writes (fixture, "20");
    for (int index = 0; index < 20; index++) {
        zcq_msg_t *command = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
        s_post (fixture, &command);
    }
    for (int index = 0; index < 20; index++) {
        reply = s_next_reply (fixture);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        assert_int_equal (zcq_msg_position (reply), ++position);
        zcq_msg_destroy (&reply);
    }
    s_delay_writes (fixture, "0");
    assert_int_equal (s_status (fixture, "groups") - groups, 20);

    //  One connection's share: with 4 allowed, a burst from it gets "busy"
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/group", "1024");
    zconfig_put (fixture->config, "write/client_inflight", "4");
    s_start (fixture);
    s_delay_writes (fixture, "200");
    for (int index = 0; index < 20; index++) {
        zcq_msg_t *command = s_command ("Deposit", "amount=1", ZCQ_EXPECT_ANY);
        s_post (fixture, &command);
    }
    busy = 0;
    for (int index = 0; index < 20; index++) {
        reply = s_next_reply (fixture);
        if (zcq_msg_status (reply) == ZCQ_BUSY) {
            assert_non_null (strstr (zcq_msg_reason (reply), "too many commands waiting"));
            busy++;
        }
        zcq_msg_destroy (&reply);
    }
    assert_true (busy >= 10);
    s_delay_writes (fixture, "0");
}

static void
test_pipelined_group_failure_is_all_or_nothing (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *reply = s_send (fixture, "OpenAccount", "owner=ivan", 0);
    zcq_msg_destroy (&reply);
    s_fail_writes (fixture, "1");
    msgpack_sbuffer *data = zcq_testkit_map ("amount=1", NULL);
    for (int index = 0; index < 50; index++) {
        zcq_msg_t *command =
            zcq_client_command ("Deposit", "account-1", ZCQ_EXPECT_ANY, data->data, data->size);
        zcq_client_post (fixture->client, command);
        zcq_msg_destroy (&command);
    }
    msgpack_sbuffer_free (data);
    //  However the 50 fell into groups, the first group failed whole and
    //  the rest took dense positions after the one stored event
    uint64_t accepted = 0, refused = 0, highest = 0;
    for (int index = 0; index < 50; index++) {
        reply = zcq_client_recv_reply (fixture->client, WAIT);
        assert_non_null (reply);
        if (zcq_msg_status (reply) == ZCQ_ACCEPTED) {
            accepted++;
            highest = zcq_msg_position (reply) > highest ? zcq_msg_position (reply) : highest;
        }
        else {
            assert_int_equal (zcq_msg_status (reply), ZCQ_UNAVAILABLE);
            refused++;
        }
        zcq_msg_destroy (&reply);
    }
    assert_true (refused >= 1);
    assert_int_equal (accepted + refused, 50);
    assert_int_equal (s_head (fixture), 1 + accepted);
    if (accepted) {
        assert_int_equal (highest, 1 + accepted);
    }
}

//  A test domain whose one command emits `count` events.
static const char *const s_spray_commands [] = {"Spray", NULL};
static const char *const s_spray_queries [] = {NULL};

static void
s_spray_decide (const void *state, const zcq_command_t *command, zcq_decision_t *decision)
{
    (void) state;
    int64_t count;
    char reason [ZCQ_REASON_MAX];
    if (zcq_map_positive (command->data, "count", &count, reason)) {
        zcq_decision_invalid (decision, "%s", reason);
        return;
    }
    for (int64_t index = 0; index < count; index++) {
        msgpack_packer *packer = zcq_decision_emit (decision, "Sprayed");
        msgpack_pack_map (packer, 0);
    }
}

static int
s_spray_project (zcq_view_t *view, const zcq_event_t *event)
{
    (void) view;
    (void) event;
    return 0;
}

static void
s_spray_query (zcq_view_t *view, const char *name, const msgpack_object *params,
               zcq_result_t *answer)
{
    (void) view;
    (void) name;
    (void) params;
    (void) answer;
}

static const zcq_domain_t s_spray = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "spray",
    .command_types = s_spray_commands,
    .query_names = s_spray_queries,
    .decide = s_spray_decide,
    .project = s_spray_project,
    .query = s_spray_query,
};

static void
test_events_per_command_are_limited (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_domain_register (&s_spray);
    zactor_destroy (&fixture->node);
    zconfig_put (fixture->config, "write/domain", "spray");
    s_start (fixture);
    zcq_msg_t *reply = s_send (fixture, "Spray", "count=1000", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_count (reply), 1000);
    zcq_msg_destroy (&reply);
    reply = s_send (fixture, "Spray", "count=1001", ZCQ_EXPECT_ANY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_TOO_LARGE);
    assert_non_null (strstr (zcq_msg_reason (reply), "produced 1001 events for one command"));
    zcq_msg_destroy (&reply);
    assert_int_equal (s_head (fixture), 1000);
}

static void
test_bad_durability_is_refused (void **state)
{
    (void) state;
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, "write/durability", "maybe");
    char *message = NULL;
    zactor_t *node = zcq_node_start (zcq_write_node_actor, config, &message);
    assert_null (node);
    assert_non_null (strstr (message, "durability must be 'sync' or 'async', got 'maybe'"));
    free (message);
    zconfig_destroy (&config);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_failed_write_acknowledges_nothing, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_pipelined_group_failure_is_all_or_nothing,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_client_retries_through_a_failed_write, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_later_command_in_a_group_sees_an_earlier_one,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_command_id_has_one_outcome, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_failed_group_is_refused_and_forgotten, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_spares_folding_a_long_stream, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_state_with_unwritten_events_is_never_evicted,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retention_forgets_old_command_ids, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_saturated_node_answers_busy, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_events_per_command_are_limited, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_bad_durability_is_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
