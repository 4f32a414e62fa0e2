/*  =========================================================================
    test_subscription - filtered subscriptions against a real write node
    process (real LevelDB folder, real PUB and replay sockets): a feed by
    stream, by category, by event types and combinations delivers exactly
    the events it takes, in order, from position 1, live, across lost
    publications (the write node's --fault-drop-every seam) and a write node
    restart; the PUB sends a filtered SUB nothing else but heartbeats
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT   10000 //  ms any single wait may take at most
#define EVENTS 512   //  most events a test appends

//  One appended event, as the commands' replies said.
typedef struct {
    uint64_t position;
    char stream [32];
    const char *type;
} appended_t;

typedef struct {
    char *dir;           //  temporary folder for data and sockets
    char commands [256]; //  write node endpoints
    char events [256];
    char replay [256];
    zcq_testkit_node_t write; //  write node process
    zcq_client_t *client;     //  sends the commands
    appended_t log [EVENTS];  //  every event appended, in position order
    size_t count;             //  entries in log
} fixture_t;

static void
s_start_write (fixture_t *fixture, const char *drop_every)
{
    char data [300];
    snprintf (data, sizeof (data), "%s/write", fixture->dir);
    zcq_testkit_start (&fixture->write, fixture->dir, "zcqrs-write", "--commands",
                       fixture->commands, "--events", fixture->events, "--replay",
                       fixture->replay, "--data", data, "--heartbeat", "100",
                       "--fault-drop-every", drop_every, NULL);
    assert_int_equal (zcq_testkit_wait_ready (fixture->commands, WAIT), 0);
}

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("subscription");
    snprintf (fixture->commands, 256, "ipc://%s/commands", fixture->dir);
    snprintf (fixture->events, 256, "ipc://%s/events", fixture->dir);
    snprintf (fixture->replay, 256, "ipc://%s/replay", fixture->dir);
    s_start_write (fixture, "3"); //  every third event is not published
    fixture->client = zcq_client_new (fixture->commands);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_client_destroy (&fixture->client);
    int status = zcq_testkit_stop (&fixture->write);
    zcq_testkit_cleanup ();
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    assert_int_equal (status, 0);
    return 0;
}

//  Send one bank command (one event); note the event it appended.
static void
s_command (fixture_t *fixture, const char *type, const char *stream)
{
    const char *word = streq (type, "OpenAccount") ? "owner=test" : "amount=1";
    msgpack_sbuffer *data = zcq_testkit_map (word, NULL);
    zcq_msg_t *reply = zcq_client_send (fixture->client, type, stream, ZCQ_EXPECT_ANY,
                                        data->data, data->size, WAIT);
    msgpack_sbuffer_free (data);
    assert_non_null (reply);
    if (zcq_msg_status (reply) != ZCQ_ACCEPTED) {
        fail_msg ("%s %s: %s (%s)", type, stream, zcq_status_name (zcq_msg_status (reply)),
                  zcq_msg_reason (reply));
    }
    assert_int_equal (zcq_msg_position (reply), fixture->count + 1);
    assert_true (fixture->count < EVENTS);
    appended_t *event = &fixture->log [fixture->count++];
    event->position = zcq_msg_position (reply);
    snprintf (event->stream, sizeof (event->stream), "%s", stream);
    event->type = streq (type, "OpenAccount") ? "AccountOpened" : "MoneyDeposited";
    zcq_msg_destroy (&reply);
}

//  Append a round of events to streams of two categories.
static void
s_round (fixture_t *fixture, int round)
{
    char stream [32];
    for (int index = 0; index < 4; index++) {
        const char *category = index % 2 ? "acct" : "loan";
        snprintf (stream, sizeof (stream), "%s-%d", category, index / 2);
        s_command (fixture, round == 0 ? "OpenAccount" : "Deposit", stream);
    }
    //  A stream whose name has no '-' is a category of its own
    s_command (fixture, round == 0 ? "OpenAccount" : "Deposit", "acct");
}

//  A subscriber: its filter and feed, and what it delivered.
typedef struct {
    zcq_msg_t *filter;     //  a REPLAY holding the filter
    zcq_feed_t *feed;      //  the filtered feed
    uint64_t got [EVENTS]; //  positions delivered, in order
    size_t count;          //  entries in got
} subscriber_t;

static subscriber_t *
s_subscriber_since (fixture_t *fixture, const char *stream, const char *category,
                    const char *type, uint64_t from, int64_t since)
{
    subscriber_t *self = (subscriber_t *) zmalloc (sizeof (subscriber_t));
    self->filter = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_since (self->filter, since);
    if (stream) {
        zcq_msg_set_stream (self->filter, stream);
    }
    if (category) {
        zcq_msg_set_category (self->filter, category);
    }
    if (type) {
        assert_int_equal (zcq_msg_add_type (self->filter, type), 0);
    }
    self->feed = zcq_feed_new_filtered (fixture->events, fixture->replay, from, self->filter);
    assert_non_null (self->feed);
    return self;
}

static subscriber_t *
s_subscriber_new (fixture_t *fixture, const char *stream, const char *category,
                  const char *type, uint64_t from)
{
    return s_subscriber_since (fixture, stream, category, type, from, 0);
}

static void
s_subscriber_destroy (subscriber_t **self_p)
{
    subscriber_t *self = *self_p;
    zcq_feed_destroy (&self->feed);
    zcq_msg_destroy (&self->filter);
    free (self);
    *self_p = NULL;
}

//  Does the test's own reading of the filter take this event? (Written out
//  here, not with the codec's zcq_msg_filter_takes, which is under test.)
static bool
s_wanted (subscriber_t *self, const appended_t *event)
{
    const char *stream = zcq_msg_stream (self->filter);
    const char *category = zcq_msg_category (self->filter);
    if (*stream && strcmp (stream, event->stream) != 0) {
        return false;
    }
    if (*category) {
        const char *dash = strchr (event->stream, '-');
        size_t size = dash ? (size_t) (dash - event->stream) : strlen (event->stream);
        if (strlen (category) != size || strncmp (category, event->stream, size) != 0) {
            return false;
        }
    }
    return zcq_msg_type_count (self->filter) == 0
           || streq (zcq_msg_type_at (self->filter, 0), event->type);
}

//  Pump the feeds until each has covered the log's last position (bounded).
static void
s_pump (fixture_t *fixture, subscriber_t **subscribers, size_t count)
{
    uint64_t last = fixture->count;
    int64_t deadline = zclock_mono () + WAIT;
    while (zclock_mono () < deadline) {
        bool done = true;
        for (size_t index = 0; index < count; index++) {
            subscriber_t *self = subscribers [index];
            zpoller_t *poller = zpoller_new (zcq_feed_events_sock (self->feed),
                                             zcq_feed_replay_sock (self->feed), NULL);
            void *which;
            while ((which = zpoller_wait (poller, 0))) {
                zcq_feed_recv (self->feed, (zsock_t *) which);
            }
            zpoller_destroy (&poller);
            zcq_feed_tick (self->feed);
            zcq_msg_t *event;
            while ((event = zcq_feed_next (self->feed))) {
                assert_true (self->count < EVENTS);
                self->got [self->count++] = zcq_msg_position (event);
                zcq_msg_destroy (&event);
            }
            if (zcq_feed_covered (self->feed) < last) {
                done = false;
            }
        }
        if (done) {
            return;
        }
        zclock_sleep (5); //  polling the feeds' sockets; bounded by the deadline
    }
    fail_msg ("the feeds did not cover position %" PRIu64 " in time", last);
}

//  Each subscriber delivered exactly the events it takes, in order.
static void
s_check (fixture_t *fixture, subscriber_t **subscribers, size_t count, uint64_t from)
{
    for (size_t index = 0; index < count; index++) {
        subscriber_t *self = subscribers [index];
        size_t wanted = 0;
        for (size_t event = 0; event < fixture->count; event++) {
            if (fixture->log [event].position >= from
                && s_wanted (self, &fixture->log [event])) {
                if (wanted >= self->count
                    || self->got [wanted] != fixture->log [event].position) {
                    fail_msg ("subscriber %zu: event %zu should be position %" PRIu64
                              ", got %" PRIu64,
                              index, wanted, fixture->log [event].position,
                              wanted < self->count ? self->got [wanted] : 0);
                }
                wanted++;
            }
        }
        assert_int_equal (self->count, wanted);
        assert_true (wanted > 0);
    }
}

//  Append rounds first .. last - 1, then check every subscriber from `from`.
static void
s_rounds_then_check (fixture_t *fixture, int first, int last, subscriber_t **subscribers,
                     size_t count, uint64_t from)
{
    for (int round = first; round < last; round++) {
        s_round (fixture, round);
    }
    s_pump (fixture, subscribers, count);
    s_check (fixture, subscribers, count, from);
}

static void
s_destroy_all (subscriber_t **subscribers, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        s_subscriber_destroy (&subscribers [index]);
    }
}

static void
test_filtered_feeds_take_exactly_theirs_across_drops_and_a_restart (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_round (fixture, 0);
    s_round (fixture, 1);
    subscriber_t *subscribers [] = {
        s_subscriber_new (fixture, "acct-1", NULL, NULL, 1),
        s_subscriber_new (fixture, NULL, "acct", NULL, 1),
        s_subscriber_new (fixture, NULL, NULL, "AccountOpened", 1),
        s_subscriber_new (fixture, NULL, "loan", "MoneyDeposited", 1),
        s_subscriber_new (fixture, "loan-0", NULL, "MoneyDeposited", 1),
        s_subscriber_new (fixture, "acct", NULL, NULL, 1),
    };
    size_t count = sizeof (subscribers) / sizeof (subscribers [0]);
    //  Catch-up from position 1: filtered replay only
    s_pump (fixture, subscribers, count);
    s_check (fixture, subscribers, count, 1);

    //  Live, with every third publication lost: the holes are proven empty
    //  or filled by filtered replay
    s_rounds_then_check (fixture, 2, 12, subscribers, count, 1);

    //  A write node restart: the feeds reconnect and go on, nothing twice
    assert_int_equal (zcq_testkit_stop (&fixture->write), 0);
    s_start_write (fixture, "5");
    s_rounds_then_check (fixture, 12, 20, subscribers, count, 1);
    s_destroy_all (subscribers, count);
}

static void
test_a_feed_from_the_middle_takes_only_what_follows (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    for (int round = 0; round < 6; round++) {
        s_round (fixture, round);
    }
    //  From a position inside the log: the stream's version there is not
    //  known, so the first live event is proven by replay
    subscriber_t *subscribers [] = {
        s_subscriber_new (fixture, "loan-1", NULL, NULL, 13),
        s_subscriber_new (fixture, NULL, "acct", "MoneyDeposited", 13),
    };
    size_t count = sizeof (subscribers) / sizeof (subscribers [0]);
    s_pump (fixture, subscribers, count);
    s_rounds_then_check (fixture, 6, 10, subscribers, count, 13);
    s_destroy_all (subscribers, count);
}

//  --since: a feed from a time starts at the first event decided at or
//  after it (found by a binary search on the write node), filtered or not
static void
test_a_feed_from_a_time_starts_at_its_first_event (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    for (int round = 0; round < 5; round++) {
        s_round (fixture, round);
    }
    //  Every event so far was decided before its reply came, so before
    //  since; every later one after it (a microsecond's spin, no sleep)
    int64_t since = zcq_event_now () + 1;
    while (zcq_event_now () < since) {
    }
    uint64_t first = fixture->count + 1;
    for (int round = 5; round < 9; round++) {
        s_round (fixture, round);
    }
    subscriber_t *subscribers [] = {
        s_subscriber_since (fixture, NULL, NULL, NULL, 1, since),
        s_subscriber_since (fixture, "acct-0", NULL, NULL, 1, since),
        s_subscriber_since (fixture, NULL, "loan", "MoneyDeposited", 1, since),
    };
    size_t count = sizeof (subscribers) / sizeof (subscribers [0]);
    s_rounds_then_check (fixture, 9, 12, subscribers, count, first);
    //  A time after every event: nothing until new ones come
    subscriber_t *later =
        s_subscriber_since (fixture, NULL, NULL, NULL, 1, zcq_event_now () + 1);
    s_pump (fixture, &later, 1);
    assert_int_equal (later->count, 0);
    s_destroy_all (subscribers, count);
    s_subscriber_destroy (&later);
}

//  The PUB filters: a SUB to one stream receives that stream's events and
//  the heartbeats, nothing else.
static void
test_the_publisher_sends_a_stream_subscriber_only_its_stream (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_msg_t *filter = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_stream (filter, "acct-0");
    zsock_t *sub = zsock_new (ZMQ_SUB);
    assert_non_null (sub);
    zcq_msg_filter_subscribe (filter, sub);
    assert_int_equal (zsock_connect (sub, "%s", fixture->events), 0);
    //  Joined once a heartbeat arrives (bounded)
    int64_t deadline = zclock_mono () + WAIT;
    bool joined = false;
    while (!joined && zclock_mono () < deadline) {
        zcq_msg_t *msg = zsock_events (sub) & ZMQ_POLLIN ? zcq_msg_recv (sub) : NULL;
        joined = msg && zcq_msg_valid (msg) && zcq_msg_type (msg) == ZCQ_MSG_HEARTBEAT;
        zcq_msg_destroy (&msg);
        if (!joined) {
            zclock_sleep (5); //  waiting for the subscription; bounded
        }
    }
    assert_true (joined);
    for (int round = 0; round < 4; round++) {
        s_round (fixture, round);
    }
    //  Read until a heartbeat says the head is the last event: PUB keeps
    //  order, so everything published before it has come
    size_t events = 0, others = 0;
    bool seen_head = false;
    deadline = zclock_mono () + WAIT;
    while (!seen_head && zclock_mono () < deadline) {
        zcq_msg_t *msg = zsock_events (sub) & ZMQ_POLLIN ? zcq_msg_recv (sub) : NULL;
        if (!msg) {
            zclock_sleep (5); //  waiting for the next heartbeat; bounded
            continue;
        }
        assert_true (zcq_msg_valid (msg));
        if (zcq_msg_type (msg) == ZCQ_MSG_EVENT) {
            if (streq (zcq_msg_stream (msg), "acct-0")) {
                events++;
            }
            else {
                others++;
            }
        }
        else if (zcq_msg_type (msg) == ZCQ_MSG_HEARTBEAT) {
            seen_head = zcq_msg_head (msg) >= fixture->count;
        }
        zcq_msg_destroy (&msg);
    }
    assert_true (seen_head);
    assert_int_equal (others, 0);
    //  4 events of acct-0, less those the fault seam did not publish
    assert_true (events >= 1 && events <= 4);
    zsock_destroy (&sub);
    zcq_msg_destroy (&filter);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (
            test_filtered_feeds_take_exactly_theirs_across_drops_and_a_restart, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_a_feed_from_the_middle_takes_only_what_follows,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_the_publisher_sends_a_stream_subscriber_only_its_stream, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_feed_from_a_time_starts_at_its_first_event,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
