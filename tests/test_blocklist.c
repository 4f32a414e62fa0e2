/*  =========================================================================
    test_peers - the bookkeeping of peers that send garbage: counting per
    socket and routing id, the window, the penalty, the bound on records
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_blocklist.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static zframe_t *
s_routing_id (int number)
{
    byte id [5] = {0, 0, 0, (byte) (number >> 8), (byte) number};
    return zframe_new (id, sizeof id);
}

static void
test_blocked_after_limit_until_penalty_ends (void **state)
{
    (void) state;
    zcq_blocklist_t *peers = zcq_blocklist_new (10, 3, 1000, 5000);
    zframe_t *peer = s_routing_id (1);
    zframe_t *other = s_routing_id (2);
    int socket = 0;
    assert_false (zcq_blocklist_blocked (peers, &socket, peer, 0));
    assert_false (zcq_blocklist_error (peers, &socket, peer, 0, "test"));
    assert_false (zcq_blocklist_error (peers, &socket, peer, 10, "test"));
    assert_false (zcq_blocklist_error (peers, &socket, peer, 20, "test"));
    assert_false (zcq_blocklist_blocked (peers, &socket, peer, 20));
    //  The fourth error within the window blocks it, for the penalty
    assert_true (zcq_blocklist_error (peers, &socket, peer, 30, "test"));
    assert_true (zcq_blocklist_blocked (peers, &socket, peer, 31));
    assert_true (zcq_blocklist_blocked (peers, &socket, peer, 5029));
    assert_false (zcq_blocklist_blocked (peers, &socket, peer, 5030));
    //  Another peer, or the same routing id on another socket, is not
    int other_socket = 0;
    assert_false (zcq_blocklist_blocked (peers, &socket, other, 31));
    assert_false (zcq_blocklist_blocked (peers, &other_socket, peer, 31));
    //  No routing id (not a ROUTER): never counted
    assert_false (zcq_blocklist_error (peers, &socket, NULL, 40, "test"));
    assert_false (zcq_blocklist_blocked (peers, &socket, NULL, 40));
    zframe_destroy (&peer);
    zframe_destroy (&other);
    zcq_blocklist_destroy (&peers);
    zcq_blocklist_destroy (&peers);
}

static void
test_errors_spread_over_windows_do_not_block (void **state)
{
    (void) state;
    zcq_blocklist_t *peers = zcq_blocklist_new (10, 3, 1000, 5000);
    zframe_t *peer = s_routing_id (1);
    int socket = 0;
    //  Three errors a window, for many windows: never over the limit
    for (int64_t now = 0; now < 20000; now += 400) {
        assert_false (zcq_blocklist_error (peers, &socket, peer, now, "test"));
    }
    assert_false (zcq_blocklist_blocked (peers, &socket, peer, 20000));
    zframe_destroy (&peer);
    zcq_blocklist_destroy (&peers);
}

static void
test_records_are_bounded (void **state)
{
    (void) state;
    zcq_blocklist_t *peers = zcq_blocklist_new (100, 0, 1000, 5000);
    int socket = 0;
    //  Each peer is blocked by its first error (limit 0); 1000 peers, 100 kept
    for (int number = 0; number < 1000; number++) {
        zframe_t *peer = s_routing_id (number);
        assert_true (zcq_blocklist_error (peers, &socket, peer, 0, "test"));
        zframe_destroy (&peer);
        assert_true (zcq_blocklist_size (peers) <= 100);
    }
    assert_int_equal (zcq_blocklist_size (peers), 100);
    //  The most recent are remembered, the oldest forgotten
    zframe_t *recent = s_routing_id (999);
    zframe_t *oldest = s_routing_id (0);
    assert_true (zcq_blocklist_blocked (peers, &socket, recent, 1));
    assert_false (zcq_blocklist_blocked (peers, &socket, oldest, 1));
    zframe_destroy (&recent);
    zframe_destroy (&oldest);
    zcq_blocklist_destroy (&peers);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_blocked_after_limit_until_penalty_ends),
        cmocka_unit_test (test_errors_spread_over_windows_do_not_block),
        cmocka_unit_test (test_records_are_bounded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
