/*  =========================================================================
    test_bench_probe - the end-to-end probe's query step: every query node
    is asked at once, and the step ends when each has answered, so that
    the figure "accepted -> visible on N query nodes" holds no round trip
    of one node behind another's
    =========================================================================
*/

#include "zcq_testkit.h"

#include "../bench/zcq_bench_zcqrs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define NODES 2

//  How the stand-in query nodes answer
typedef enum {
    S_TOGETHER, //  each answers ok once every node holds a query
    S_LATE,     //  node 0 first answers "stale" under another id, then ok;
                //  node 1 answers "stale"
} s_mode_t;

typedef struct {
    s_mode_t mode;
    char endpoints [NODES][64];
} s_nodes_t;

//  Two stand-in query nodes on one actor: ROUTERs that take one QUERY each
//  and answer as the mode says.
static void
s_nodes_actor (zsock_t *pipe, void *arg)
{
    s_nodes_t *nodes = (s_nodes_t *) arg;
    zsock_t *routers [NODES];
    zpoller_t *poller = zpoller_new (pipe, NULL);
    for (int node = 0; node < NODES; node++) {
        routers [node] = zsock_new_router (nodes->endpoints [node]);
        assert (routers [node]);
        zpoller_add (poller, routers [node]);
    }
    zsock_signal (pipe, 0);
    zcq_msg_t *queries [NODES] = {NULL};
    int held = 0;
    bool terminated = false;
    while (!terminated) {
        void *which = zpoller_wait (poller, -1);
        if (!which || which == pipe) {
            terminated = true;
            continue;
        }
        for (int node = 0; node < NODES; node++) {
            if (which == routers [node] && !queries [node]) {
                queries [node] = zcq_msg_recv (routers [node]);
                held += queries [node] != NULL;
            }
            else if (which == routers [node]) {
                zcq_msg_t *extra = zcq_msg_recv (routers [node]);
                zcq_msg_destroy (&extra);
            }
        }
        if (held < NODES) {
            continue;
        }
        for (int node = 0; node < NODES; node++) {
            if (nodes->mode == S_LATE && node == 0) {
                zcq_msg_t *late = zcq_msg_reply_to (queries [node], ZCQ_STALE);
                zcq_msg_set_id (late, "earlier", 7);
                zcq_msg_send (late, routers [node]);
                zcq_msg_destroy (&late);
            }
            zcq_status_t status = nodes->mode == S_LATE && node == 1 ? ZCQ_STALE : ZCQ_OK;
            zcq_msg_t *answer = zcq_msg_reply_to (queries [node], status);
            zcq_msg_set_position (answer, zcq_msg_min_position (queries [node]));
            zcq_msg_send (answer, routers [node]);
            zcq_msg_destroy (&answer);
            zcq_msg_destroy (&queries [node]);
        }
        held = 0;
    }
    for (int node = 0; node < NODES; node++) {
        zcq_msg_destroy (&queries [node]);
        zsock_destroy (&routers [node]);
    }
    zpoller_destroy (&poller);
}

//  Start the stand-in nodes in a mode and connect one DEALER to each.
static zactor_t *
s_nodes_start (s_nodes_t *nodes, s_mode_t mode, zsock_t **socks)
{
    static int made;
    nodes->mode = mode;
    made++;
    for (int node = 0; node < NODES; node++) {
        snprintf (nodes->endpoints [node], sizeof (nodes->endpoints [node]),
                  "inproc://probe-%d-%d-%d", (int) getpid (), made, node);
    }
    zactor_t *actor = zactor_new (s_nodes_actor, nodes);
    assert_non_null (actor);
    for (int node = 0; node < NODES; node++) {
        socks [node] = zsock_new_dealer (nodes->endpoints [node]);
        assert_non_null (socks [node]);
    }
    return actor;
}

static void
s_nodes_stop (zactor_t **actor, zsock_t **socks)
{
    for (int node = 0; node < NODES; node++) {
        zsock_destroy (&socks [node]);
    }
    zactor_destroy (actor);
}

//  Nodes that answer only once both were asked: asked one after the
//  other, the first would never answer within the time given
static void
test_every_node_is_asked_before_any_answer_is_awaited (void **state)
{
    (void) state;
    s_nodes_t nodes;
    zsock_t *socks [NODES];
    zactor_t *actor = s_nodes_start (&nodes, S_TOGETHER, socks);
    for (int round = 0; round < 3; round++) {
        int stale = -1;
        int ok =
            zcq_bench_query_all (socks, NODES, "account", "\x80", 1, 42 + round, 5000, &stale);
        assert_int_equal (ok, NODES);
        assert_int_equal (stale, 0);
    }
    s_nodes_stop (&actor, socks);
}

//  An answer under another id (a late one to an earlier call) is dropped,
//  and a "stale" answer is counted as such
static void
test_answers_of_another_call_are_dropped (void **state)
{
    (void) state;
    s_nodes_t nodes;
    zsock_t *socks [NODES];
    zactor_t *actor = s_nodes_start (&nodes, S_LATE, socks);
    int stale = -1;
    int ok = zcq_bench_query_all (socks, NODES, "account", "\x80", 1, 7, 5000, &stale);
    assert_int_equal (ok, 1);
    assert_int_equal (stale, 1);
    s_nodes_stop (&actor, socks);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_every_node_is_asked_before_any_answer_is_awaited),
        cmocka_unit_test (test_answers_of_another_call_are_dropped),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
