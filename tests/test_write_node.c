/*  =========================================================================
    test_write_node - the write node actor in-process: a storage write that
    fails acknowledges nothing, leaves no trace in the log or in the decided
    state, and the node carries on; durability settings are checked
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
    char *dir;            //  temporary folder
    char commands [256];  //  ROUTER endpoint
    zconfig_t *config;    //  node settings
    zactor_t *node;       //  the write node actor
    zcq_client_t *client; //  client of it
} fixture_t;

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

static void
s_fail_writes (fixture_t *fixture, const char *count)
{
    zstr_sendx (fixture->node, "FAIL-WRITES", count, NULL);
    assert_int_equal (zsock_wait (fixture->node), 0);
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
    reply = zcq_client_request (fixture->client, deposit, WAIT);
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
        cmocka_unit_test (test_bad_durability_is_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
