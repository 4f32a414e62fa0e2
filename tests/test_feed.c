/*  =========================================================================
    test_feed - the ordered, gap-free event feed. The test plays the write
    node's part of the protocol on real sockets (a PUB and a replay ROUTER)
    so that it can lose, repeat and reorder events at will, and checks that
    the feed delivers every position exactly once, in order, asking for
    exactly the missing ranges
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 5000 //  ms any single wait may take at most

typedef struct {
    zsock_t *pub;              //  plays the write node's PUB
    zsock_t *router;           //  plays the write node's replay ROUTER
    zcq_feed_t *feed;          //  feed under test
    uint64_t delivered [8192]; //  positions the feed delivered, in order
    size_t count;              //  entries in delivered
} fixture_t;

static int s_endpoint_id = 0;             //  makes inproc endpoints unique per test
static const char *s_event_type = "Tick"; //  type of the events the test writes

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    char events [64], replay [64];
    snprintf (events, sizeof (events), "inproc://feed-events-%d", s_endpoint_id);
    snprintf (replay, sizeof (replay), "inproc://feed-replay-%d", s_endpoint_id++);
    fixture->pub = zsock_new_pub (events);
    fixture->router = zsock_new_router (replay);
    assert_non_null (fixture->pub);
    assert_non_null (fixture->router);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    s_event_type = "Tick";
    fixture_t *fixture = (fixture_t *) *state;
    zcq_feed_destroy (&fixture->feed);
    zsock_destroy (&fixture->pub);
    zsock_destroy (&fixture->router);
    free (fixture);
    return 0;
}

//  Start the feed from next; the probing heartbeats say the head is head.
static void
s_start_feed (fixture_t *fixture, uint64_t next, uint64_t head)
{
    char events [64], replay [64];
    snprintf (events, sizeof (events), "inproc://feed-events-%d", s_endpoint_id - 1);
    snprintf (replay, sizeof (replay), "inproc://feed-replay-%d", s_endpoint_id - 1);
    fixture->feed = zcq_feed_new (events, replay, next);
    assert_non_null (fixture->feed);
    //  A SUB joins asynchronously: publish heartbeats until one arrives, so
    //  that no test event is lost to the slow joiner (bounded)
    int64_t deadline = zclock_mono () + WAIT;
    zsock_t *sub = zcq_feed_events_sock (fixture->feed);
    while (zclock_mono () < deadline) {
        zcq_msg_t *beat = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
        zcq_msg_set_head (beat, head);
        zcq_msg_send (beat, fixture->pub);
        zcq_msg_destroy (&beat);
        if (zsock_events (sub) & ZMQ_POLLIN) {
            zcq_feed_recv (fixture->feed, sub);
            return;
        }
        zclock_sleep (5); //  waiting for a subscription to propagate; bounded
    }
    fail_msg ("the feed never subscribed");
}

//  The packed EVENT body of a position.
static void
s_event_body (uint64_t position, msgpack_sbuffer *buffer)
{
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, position);
    zcq_msg_set_stream (event, "s");
    zcq_msg_set_version (event, position);
    zcq_msg_set_name (event, s_event_type);
    assert_int_equal (zcq_msg_encode_body (event, buffer), 0);
    zcq_msg_destroy (&event);
}

static void
s_publish (fixture_t *fixture, uint64_t position)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    s_event_body (position, &body);
    //  As the write node publishes it: topic, signature, type, body
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body.data, body.size);
    assert_int_equal (zcq_msg_send (event, fixture->pub), 0);
    zcq_msg_destroy (&event);
    msgpack_sbuffer_destroy (&body);
}

static void
s_heartbeat (fixture_t *fixture, uint64_t head)
{
    zcq_msg_t *beat = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
    zcq_msg_set_head (beat, head);
    zcq_msg_set_interval (beat, 100);
    zcq_msg_send (beat, fixture->pub);
    zcq_msg_destroy (&beat);
}

//  Let the feed read what is waiting, for up to ms, taking what it delivers.
static void
s_pump (fixture_t *fixture, int ms)
{
    zpoller_t *poller = zpoller_new (zcq_feed_events_sock (fixture->feed),
                                     zcq_feed_replay_sock (fixture->feed), NULL);
    int64_t deadline = zclock_mono () + ms;
    while (zclock_mono () < deadline) {
        void *which = zpoller_wait (poller, 10);
        if (which) {
            zcq_feed_recv (fixture->feed, (zsock_t *) which);
        }
        zcq_feed_tick (fixture->feed);
        zcq_msg_t *event;
        while ((event = zcq_feed_next (fixture->feed))) {
            assert_true (fixture->count < 8192);
            fixture->delivered [fixture->count++] = zcq_msg_position (event);
            zcq_msg_destroy (&event);
        }
        if (!which) {
            break;
        }
    }
    zpoller_destroy (&poller);
}

//  Wait for the feed's next REPLAY request; returns it (with its envelope).
static zcq_msg_t *
s_expect_replay (fixture_t *fixture, uint64_t from)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (zclock_mono () < deadline) {
        if (zsock_events (fixture->router) & ZMQ_POLLIN) {
            zcq_msg_t *request = zcq_msg_recv (fixture->router);
            assert_true (zcq_msg_valid (request));
            assert_int_equal (zcq_msg_type (request), ZCQ_MSG_REPLAY);
            assert_int_equal (zcq_msg_from (request), from);
            assert_true (zcq_msg_max (request) >= 1 && zcq_msg_max (request) <= ZCQ_MAX_EVENTS);
            return request;
        }
        s_pump (fixture, 10);
    }
    fail_msg ("no REPLAY from %" PRIu64, from);
    return NULL;
}

//  Answer a REPLAY with positions from .. to (inclusive), head.
static void
s_answer (fixture_t *fixture, zcq_msg_t **request_p, uint64_t to, uint64_t head)
{
    zcq_msg_t *reply = zcq_msg_reply_to (*request_p, ZCQ_OK);
    zcq_msg_set_from (reply, zcq_msg_from (*request_p));
    zcq_msg_set_head (reply, head);
    for (uint64_t position = zcq_msg_from (*request_p); position <= to; position++) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        s_event_body (position, &body);
        zcq_msg_add_event (reply, body.data, body.size);
        msgpack_sbuffer_destroy (&body);
    }
    assert_int_equal (zcq_msg_send (reply, fixture->router), 0);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (request_p);
}

static void
s_assert_dense (fixture_t *fixture, uint64_t first, uint64_t last)
{
    assert_int_equal (fixture->count, last - first + 1);
    for (size_t index = 0; index < fixture->count; index++) {
        assert_int_equal (fixture->delivered [index], first + index);
    }
}

//  Start a feed from position 1 on a log of last events and take them all.
static void
s_feed_at (fixture_t *fixture, uint64_t last)
{
    s_start_feed (fixture, 1, 0);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, last, last);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, last);
}

static void
test_catches_up_from_the_start_in_batches (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    //  A new feed asks at once, from its position
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 1000, 1500);
    //  It asks for the next batch only when the first was taken
    request = s_expect_replay (fixture, 1001);
    s_answer (fixture, &request, 1500, 1500);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, 1500);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "live");
    assert_int_equal (zcq_feed_position (fixture->feed), 1501);

    //  Then live events flow straight through
    s_publish (fixture, 1501);
    s_publish (fixture, 1502);
    s_pump (fixture, 100);
    s_assert_dense (fixture, 1, 1502);
    assert_false (zsock_events (fixture->router) & ZMQ_POLLIN);
}

//  An unfiltered feed takes every position one by one: a batch that skips
//  one, even with a 'to' that claims to cover it (a broken or hostile
//  peer), fills only what follows on (found by fuzz_replay)
//  Receive one message on a feed socket, waiting for it (bounded).
static void
s_recv_one (fixture_t *fixture, zsock_t *which)
{
    zpoller_t *poller = zpoller_new (which, NULL);
    assert_non_null (zpoller_wait (poller, WAIT));
    zpoller_destroy (&poller);
    zcq_feed_recv (fixture->feed, which);
}

//  Take up to count ready events, recording them.
static void
s_take (fixture_t *fixture, size_t count)
{
    zcq_msg_t *event;
    while (count-- && (event = zcq_feed_next (fixture->feed))) {
        assert_true (fixture->count < 8192);
        fixture->delivered [fixture->count++] = zcq_msg_position (event);
        zcq_msg_destroy (&event);
    }
}

//  Events ready wait in a ring: one that has wrapped round (some taken,
//  more come) and then grows keeps them in order
static void
test_ready_events_keep_their_order_as_the_ring_wraps_and_grows (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 200, 2000);
    s_recv_one (fixture, zcq_feed_replay_sock (fixture->feed));
    assert_int_equal (zcq_feed_ready (fixture->feed), 200);
    s_take (fixture, 150); //  the ring's first slot is now past its middle
    assert_int_equal (zcq_feed_ready (fixture->feed), 50);
    //  Taking asked for more: 500 come on top of the 50 left
    zpoller_t *poller = zpoller_new (fixture->router, NULL);
    assert_non_null (zpoller_wait (poller, WAIT));
    zpoller_destroy (&poller);
    request = s_expect_replay (fixture, 201);
    s_answer (fixture, &request, 700, 2000);
    s_recv_one (fixture, zcq_feed_replay_sock (fixture->feed));
    assert_int_equal (zcq_feed_ready (fixture->feed), 550);
    s_take (fixture, 300);
    assert_int_equal (zcq_feed_ready (fixture->feed), 250);
    s_take (fixture, SIZE_MAX);
    s_assert_dense (fixture, 1, 700);
}

static void
test_unfiltered_feed_takes_no_position_a_batch_skips (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    zcq_msg_t *reply = zcq_msg_reply_to (request, ZCQ_OK);
    zcq_msg_set_from (reply, 1);
    zcq_msg_set_to (reply, 10);
    zcq_msg_set_head (reply, 10);
    uint64_t positions [] = {1, 3, 10};
    for (size_t index = 0; index < 3; index++) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        s_event_body (positions [index], &body);
        zcq_msg_add_event (reply, body.data, body.size);
        msgpack_sbuffer_destroy (&body);
    }
    assert_int_equal (zcq_msg_send (reply, fixture->router), 0);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&request);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, 1);
    assert_int_equal (zcq_feed_covered (fixture->feed), 1);
    //  and it asks for position 2 again
    request = s_expect_replay (fixture, 2);
    zcq_msg_destroy (&request);
}

static void
test_repairs_a_hole_and_drops_repeats (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 0, 0); //  empty log
    s_publish (fixture, 1);
    s_publish (fixture, 2);
    //  3 and 4 are lost; 5 and 6 arrive early, 2 arrives twice
    s_publish (fixture, 5);
    s_publish (fixture, 2);
    s_publish (fixture, 6);
    request = s_expect_replay (fixture, 3);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "repairing");
    //  Live events keep arriving during the repair
    s_publish (fixture, 7);
    s_pump (fixture, 50);
    s_answer (fixture, &request, 6, 7);
    s_pump (fixture, 100);
    s_publish (fixture, 8);
    s_pump (fixture, 100);
    s_assert_dense (fixture, 1, 8);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "live");
}

static void
test_heartbeat_ahead_of_us_starts_a_repair (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_feed_at (fixture, 2);
    //  Event 3 was lost and nothing follows it: only the heartbeat says so
    s_heartbeat (fixture, 3);
    zcq_msg_t *request = s_expect_replay (fixture, 3);
    s_answer (fixture, &request, 3, 3);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, 3);
    assert_int_equal (zcq_feed_head (fixture->feed), 3);
    assert_true (zcq_feed_last_heard (fixture->feed) > 0);
    assert_int_equal (zcq_feed_interval (fixture->feed), 100);
}

static void
test_lost_replay_request_is_sent_again (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 5, 9);
    zcq_msg_t *request = s_expect_replay (fixture, 5);
    //  No answer: a write node that restarted lost it; the feed asks again
    zcq_msg_destroy (&request);
    int64_t start = zclock_mono ();
    request = s_expect_replay (fixture, 5);
    assert_true (zclock_mono () - start >= 1000);
    //  An answer to a request it gave up on is ignored; the current one is used
    zcq_msg_t *stale = zcq_msg_reply_to (request, ZCQ_OK);
    zcq_msg_set_from (stale, 4);
    zcq_msg_set_head (stale, 9);
    zcq_msg_send (stale, fixture->router);
    zcq_msg_destroy (&stale);
    s_answer (fixture, &request, 9, 9);
    s_pump (fixture, 100);
    s_assert_dense (fixture, 5, 9);
}

static void
test_live_start_begins_at_the_next_event (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    //  next 0: no history, whatever comes after joining
    s_start_feed (fixture, 0, 41);
    s_heartbeat (fixture, 41);
    s_pump (fixture, 50);
    s_publish (fixture, 42);
    s_publish (fixture, 43);
    s_pump (fixture, 100);
    s_assert_dense (fixture, 42, 43);
    assert_false (zsock_events (fixture->router) & ZMQ_POLLIN);
}

static void
test_rewind_delivers_again (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_feed_at (fixture, 3);
    //  The owner could not store 2 and 3: it asks for them again
    zcq_feed_rewind (fixture->feed, 2);
    fixture->count = 0;
    zcq_msg_t *request = s_expect_replay (fixture, 2);
    s_answer (fixture, &request, 3, 3);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 2, 3);
}

//  Receive what the feed's sockets hold for up to ms, without taking events.
static void
s_receive_only (fixture_t *fixture, int ms)
{
    zpoller_t *poller = zpoller_new (zcq_feed_events_sock (fixture->feed),
                                     zcq_feed_replay_sock (fixture->feed), NULL);
    int64_t deadline = zclock_mono () + ms;
    while (zclock_mono () < deadline) {
        void *which = zpoller_wait (poller, 10);
        if (which) {
            zcq_feed_recv (fixture->feed, (zsock_t *) which);
        }
    }
    zpoller_destroy (&poller);
}

//  A REPLAY waiting on the router, or NULL (checks nothing else).
static zcq_msg_t *
s_pending_replay (fixture_t *fixture)
{
    if (!(zsock_events (fixture->router) & ZMQ_POLLIN)) {
        return NULL;
    }
    return zcq_msg_recv (fixture->router);
}

static void
test_replay_credit_bounds_what_is_asked (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_feed_set_credit (fixture->feed, 1500);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 1000, 5000);
    //  1000 ready, under the credit: the next batch is asked at once,
    //  before the owner takes anything
    s_receive_only (fixture, 100);
    assert_int_equal (zcq_feed_ready (fixture->feed), 1000);
    request = s_pending_replay (fixture);
    assert_non_null (request);
    assert_int_equal (zcq_msg_from (request), 1001);
    assert_true (zcq_feed_replaying (fixture->feed));
    s_answer (fixture, &request, 2000, 5000);
    //  2000 ready, over the credit: nothing more until the owner takes some
    s_receive_only (fixture, 100);
    zcq_feed_tick (fixture->feed);
    assert_int_equal (zcq_feed_ready (fixture->feed), 2000);
    assert_false (zcq_feed_replaying (fixture->feed));
    assert_null (s_pending_replay (fixture));
    assert_string_equal (zcq_feed_state_name (fixture->feed), "repairing");
    request = s_expect_replay (fixture, 2001); //  takes them, then asks
    zcq_msg_destroy (&request);
    s_assert_dense (fixture, 1, 2000);
}

//  Receive what the feed sends (taking no event): two REPLAYs, for the
//  batches from `from` and from + 1000, and no third.
static void
s_expect_two_out (fixture_t *fixture, uint64_t from, zcq_msg_t **first, zcq_msg_t **second)
{
    s_receive_only (fixture, 100);
    *first = s_pending_replay (fixture);
    *second = s_pending_replay (fixture);
    assert_non_null (*first);
    assert_non_null (*second);
    assert_int_equal (zcq_msg_from (*first), from);
    assert_int_equal (zcq_msg_from (*second), from + ZCQ_MAX_EVENTS);
    assert_null (s_pending_replay (fixture));
}

//  A window keeps the REPLAYs for the next batches out beside the first,
//  as many as the window and the credit allow, for positions the write node
//  is known to hold; their answers are taken in order, and one shorter than
//  asked leaves a hole that is asked for again while what follows it waits
static void
test_replay_window_asks_for_the_next_batches_at_once (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_feed_set_credit (fixture->feed, 3000);
    zcq_feed_set_window (fixture->feed, 4);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 1000, 5000);
    //  1000 ready and two batches asked for reach the credit: two out
    zcq_msg_t *second, *third;
    s_expect_two_out (fixture, 1001, &second, &third);
    s_answer (fixture, &second, 2000, 5000);
    s_answer (fixture, &third, 3000, 5000);
    s_receive_only (fixture, 100);
    assert_int_equal (zcq_feed_ready (fixture->feed), 3000);
    assert_false (zcq_feed_replaying (fixture->feed));
    assert_null (s_pending_replay (fixture));
    //  Taken, they make room for the last two batches: up to the head only
    s_take (fixture, 3000);
    zcq_msg_t *fourth, *fifth;
    s_expect_two_out (fixture, 3001, &fourth, &fifth);
    //  The first of them is cut short (the server's byte limit): the next
    //  batch waits in the hold while the hole is asked for again
    s_answer (fixture, &fourth, 3500, 5000);
    s_answer (fixture, &fifth, 5000, 5000);
    s_receive_only (fixture, 100);
    assert_int_equal (zcq_feed_ready (fixture->feed), 500);
    zcq_msg_t *hole = s_pending_replay (fixture);
    assert_non_null (hole);
    assert_int_equal (zcq_msg_from (hole), 3501);
    s_answer (fixture, &hole, 4500, 5000);
    s_pump (fixture, 100);
    //  Asked beside the hole, for positions that came meanwhile: dropped
    zcq_msg_t *late = s_pending_replay (fixture);
    if (late) {
        assert_int_equal (zcq_msg_from (late), 4501);
        s_answer (fixture, &late, 5000, 5000);
        s_pump (fixture, 100);
    }
    s_assert_dense (fixture, 1, 5000);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "live");
    assert_false (zcq_feed_replaying (fixture->feed));
    assert_null (s_pending_replay (fixture));
}

//  A window given up at the deadline of its oldest REPLAY is given up
//  whole: the feed asks again from the first missing position, and the
//  late answers to what it gave up on are not taken as new ones
static void
test_replay_window_is_given_up_whole (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_feed_set_window (fixture->feed, 2);
    zcq_feed_set_replay_timeout (fixture->feed, 200);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 0, 2000); //  says the head only
    //  After the back-off of an empty answer, two REPLAYs go out together
    zcq_msg_t *first = s_expect_replay (fixture, 1);
    zcq_msg_t *second = s_pending_replay (fixture);
    assert_non_null (second);
    assert_int_equal (zcq_msg_from (second), 1001);
    //  No answer in time: both are given up, the first asked again alone
    zcq_msg_t *again = s_expect_replay (fixture, 1);
    assert_int_equal (zcq_feed_replay_timeouts (fixture->feed), 1);
    s_answer (fixture, &second, 2000, 2000); //  late: ignored
    s_answer (fixture, &first, 1000, 2000);  //  late, but the same from as again's
    s_pump (fixture, 100);
    s_assert_dense (fixture, 1, 1000);
    zcq_msg_destroy (&again);
}

static void
test_log_shorter_than_what_was_taken_diverges (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_feed_at (fixture, 5);
    //  The write node comes back with an empty log: its heartbeat says head 0.
    //  The feed does not trust one heartbeat: it asks for one event
    s_heartbeat (fixture, 0);
    zcq_msg_t *request = s_expect_replay (fixture, 6);
    assert_int_equal (zcq_msg_max (request), 1);
    assert_int_equal (zcq_feed_state (fixture->feed), ZCQ_FEED_REPAIRING);
    s_answer (fixture, &request, 5, 0);
    s_pump (fixture, 50);
    assert_int_equal (zcq_feed_state (fixture->feed), ZCQ_FEED_DIVERGED);
    //  Its new events at our positions are other events: none is taken,
    //  and nothing more is asked
    s_publish (fixture, 6);
    s_heartbeat (fixture, 9);
    s_pump (fixture, 100);
    zcq_feed_tick (fixture->feed);
    s_assert_dense (fixture, 1, 5);
    assert_null (s_pending_replay (fixture));
    assert_string_equal (zcq_feed_state_name (fixture->feed), "diverged");
}

static void
test_heartbeat_that_waited_in_the_queue_is_not_divergence (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 5, 8);
    request = s_expect_replay (fixture, 6);
    s_answer (fixture, &request, 8, 8);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, 8);
    //  An old heartbeat (head 3) read after replay moved us to 8
    s_heartbeat (fixture, 3);
    request = s_expect_replay (fixture, 9);
    s_answer (fixture, &request, 9, 9); //  the answer's head is current
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, 9);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "live");
}

static void
test_silence_then_return_asks_again_at_once (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start_feed (fixture, 1, 0);
    zcq_feed_set_silence (fixture->feed, 2);
    zcq_msg_t *request = s_expect_replay (fixture, 1);
    s_answer (fixture, &request, 2, 2);
    s_heartbeat (fixture, 2); //  announces 100 ms between heartbeats
    s_pump (fixture, 50);
    assert_true (zcq_feed_reachable (fixture->feed));
    s_heartbeat (fixture, 4); //  3 and 4 are missing
    request = s_expect_replay (fixture, 3);
    zcq_msg_destroy (&request); //  lost with the write node, which goes silent
    int64_t deadline = zclock_mono () + WAIT;
    while (zcq_feed_reachable (fixture->feed) && zclock_mono () < deadline) {
        s_pump (fixture, 20);
    }
    assert_false (zcq_feed_reachable (fixture->feed));
    assert_int_equal (zcq_feed_outages (fixture->feed), 1);
    //  Heard again: the lost request is asked again now, not after 2 s
    int64_t back = zclock_mono ();
    s_heartbeat (fixture, 4);
    request = s_expect_replay (fixture, 3);
    assert_true (zclock_mono () - back < 1000);
    assert_true (zcq_feed_reachable (fixture->feed));
    s_answer (fixture, &request, 4, 4);
    s_pump (fixture, 50);
    s_assert_dense (fixture, 1, 4);
}

//  The fingerprint of the event the test writes at position.
static void
s_fingerprint (uint64_t position, byte fingerprint [ZCQ_FEED_FINGERPRINT])
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    s_event_body (position, &body);
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body.data, body.size);
    assert_true (zcq_msg_valid (event));
    zcq_feed_fingerprint (event, fingerprint);
    zcq_msg_destroy (&event);
    msgpack_sbuffer_destroy (&body);
}

static void
test_restart_checks_the_last_applied_event_first (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    byte fingerprint [ZCQ_FEED_FINGERPRINT];
    s_fingerprint (5, fingerprint);
    //  A node restarted at applied 5: the first REPLAY (from 6) is not used;
    //  the check asks from 5, and the same event there lets it go on
    s_start_feed (fixture, 6, 0);
    zcq_feed_applied (fixture->feed, 5, fingerprint, true);
    zcq_msg_t *request = s_expect_replay (fixture, 6);
    s_answer (fixture, &request, 7, 7);
    request = s_expect_replay (fixture, 5);
    s_answer (fixture, &request, 7, 7);
    s_pump (fixture, 100);
    s_assert_dense (fixture, 6, 7);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "live");
}

static void
test_replaced_log_is_refused (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    byte fingerprint [ZCQ_FEED_FINGERPRINT];
    s_fingerprint (5, fingerprint);
    s_start_feed (fixture, 6, 0);
    zcq_feed_applied (fixture->feed, 5, fingerprint, true);
    zcq_msg_t *request = s_expect_replay (fixture, 6);
    zcq_msg_destroy (&request); //  lost
    //  The log was replaced and grew past us: other events at our positions
    s_event_type = "Tock";
    s_publish (fixture, 6);
    s_pump (fixture, 50);
    assert_int_equal (fixture->count, 0);   //  nothing before the check
    request = s_expect_replay (fixture, 5); //  asked again, as the check
    s_answer (fixture, &request, 9, 9);
    s_pump (fixture, 100);
    assert_int_equal (fixture->count, 0);
    assert_string_equal (zcq_feed_state_name (fixture->feed), "diverged");
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_catches_up_from_the_start_in_batches, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_ready_events_keep_their_order_as_the_ring_wraps_and_grows, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_unfiltered_feed_takes_no_position_a_batch_skips,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_repairs_a_hole_and_drops_repeats, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_heartbeat_ahead_of_us_starts_a_repair, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_lost_replay_request_is_sent_again, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_live_start_begins_at_the_next_event, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_rewind_delivers_again, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_credit_bounds_what_is_asked, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_window_asks_for_the_next_batches_at_once,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_window_is_given_up_whole, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_log_shorter_than_what_was_taken_diverges, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_heartbeat_that_waited_in_the_queue_is_not_divergence, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_silence_then_return_asks_again_at_once, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_restart_checks_the_last_applied_event_first,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_replaced_log_is_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
