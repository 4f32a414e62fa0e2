/*  =========================================================================
    test_client - the C client keeps each call's time budget

    Against a scripted write node (a ROUTER in an actor) that accepts the
    commands to streams named "answer-..." and never answers the others:
    a call waits as long as its own budget says, whatever the calls before
    it waited (the client sets a socket's receive time-out only when it
    must change), and a client that gave up on a silent attempt goes on
    with the next command.
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  The scripted write node: sends its endpoint up the pipe, then answers
//  "answer-..." commands as accepted (position 1, version 1) until $TERM.
static void
s_scripted_node (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert (router);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (port > 0);
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    bool running = true;
    while (running) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            running = !command || !streq (command, "$TERM");
            zstr_free (&command);
        }
        else if (which == router) {
            zcq_msg_t *request = zcq_msg_recv (router);
            if (request && zcq_msg_type (request) == ZCQ_MSG_COMMAND
                && strncmp (zcq_msg_stream (request), "answer-", 7) == 0) {
                zcq_msg_t *reply = zcq_msg_reply_to (request, ZCQ_ACCEPTED);
                zcq_msg_set_position (reply, 1);
                zcq_msg_set_version (reply, 1);
                zcq_msg_send (reply, router);
                zcq_msg_destroy (&reply);
            }
            zcq_msg_destroy (&request);
        }
        else {
            running = false; //  interrupted
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

typedef struct {
    zactor_t *node;       //  the scripted write node
    char *endpoint;       //  its commands endpoint
    zcq_client_t *client; //  a client of it, one attempt per request
} fixture_t;

static fixture_t
s_fixture_new (void)
{
    fixture_t fixture = {zactor_new (s_scripted_node, NULL), NULL, NULL};
    assert_non_null (fixture.node);
    fixture.endpoint = zstr_recv (fixture.node);
    assert_non_null (fixture.endpoint);
    fixture.client = zcq_client_new (fixture.endpoint);
    assert_non_null (fixture.client);
    zcq_client_set_attempts (fixture.client, 1);
    return fixture;
}

static void
s_fixture_destroy (fixture_t *fixture)
{
    zcq_client_destroy (&fixture->client);
    zstr_free (&fixture->endpoint);
    zactor_destroy (&fixture->node);
}

//  Send a Deposit to stream with a budget of 8 s: it is accepted.
static void
s_accepted (zcq_client_t *client, const char *stream)
{
    zcq_msg_t *reply =
        zcq_client_send (client, "Deposit", stream, ZCQ_EXPECT_ANY, NULL, 0, 8000);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);
}

//  Send a Deposit to a stream the node never answers with a budget of
//  timeout_ms: no reply, after about that budget (not the 8 s of a call
//  before it)
static void
s_unanswered (zcq_client_t *client, const char *stream, int timeout_ms)
{
    int64_t start = zclock_mono ();
    zcq_msg_t *reply =
        zcq_client_send (client, "Deposit", stream, ZCQ_EXPECT_ANY, NULL, 0, timeout_ms);
    int64_t elapsed = zclock_mono () - start;
    assert_null (reply);
    assert_true (elapsed >= timeout_ms - 50);
    assert_true (elapsed < 3000);
}

//  A short budget after long ones: the call gives up after its own budget,
//  not after the receive time-out that the long calls left on the socket
static void
test_a_short_budget_after_a_long_one_is_kept (void **state)
{
    (void) state;
    fixture_t fixture = s_fixture_new ();
    s_accepted (fixture.client, "answer-1");
    s_accepted (fixture.client, "answer-2"); //  the same budget, the same socket
    s_unanswered (fixture.client, "silent-1", 300);
    s_fixture_destroy (&fixture);
}

//  After a silent attempt the client talks on a new socket: the next
//  command is answered, and a short wait for a reply that never comes
//  ends after its own time
static void
test_after_a_silent_attempt_the_next_command_is_answered (void **state)
{
    (void) state;
    fixture_t fixture = s_fixture_new ();
    s_unanswered (fixture.client, "silent-1", 200);
    s_accepted (fixture.client, "answer-1");
    assert_int_equal (zcq_client_position (fixture.client), 1);

    //  Pipelined: one posted command is answered, a second wait gets none
    zcq_msg_t *command = zcq_client_command ("Deposit", "answer-2", ZCQ_EXPECT_ANY, NULL, 0);
    assert_int_equal (zcq_client_post (fixture.client, command), 0);
    zcq_msg_t *reply = zcq_client_recv_reply (fixture.client, 8000);
    assert_non_null (reply);
    assert_memory_equal (zcq_msg_id (reply), zcq_msg_id (command), ZCQ_COMMAND_ID);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&command);
    //  A time-out of 0 looks once and does not wait
    int64_t start = zclock_mono ();
    assert_null (zcq_client_recv_reply (fixture.client, 0));
    assert_true (zclock_mono () - start < 100);
    start = zclock_mono ();
    reply = zcq_client_recv_reply (fixture.client, 200);
    int64_t elapsed = zclock_mono () - start;
    assert_null (reply);
    assert_true (elapsed >= 150);
    assert_true (elapsed < 3000);
    s_fixture_destroy (&fixture);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_a_short_budget_after_a_long_one_is_kept),
        cmocka_unit_test (test_after_a_silent_attempt_the_next_command_is_answered),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
