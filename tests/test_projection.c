/*  =========================================================================
    test_projection - a generation of read models and its position, over a
    real store (LevelDB in a temporary folder, then memory), the bank domain and a real
    feed. The test plays the write node's replay ROUTER on inproc sockets,
    so that it decides which events the feed gets and when: a batch writes
    the read models and the position together; a failed write leaves both as
    they were and the events come again after the rewind; a held batch is
    read at once and written later, whole; a rebuilt
    generation switches in with one batch; a store of other data is refused
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_projection.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 5000 //  ms any single wait may take at most

typedef struct {
    zcq_testkit_models_t *models; //  real store in a temporary folder
    zsock_t *pub;                 //  plays the write node's PUB (silent)
    zsock_t *router;              //  plays the write node's replay ROUTER
    char events [64];             //  their endpoints
    char replay [64];
    zcq_projection_t *serving; //  the generation under test
} fixture_t;

static int s_endpoint_id = 0; //  makes inproc endpoints unique per test

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->models = zcq_testkit_models_new ("projection");
    snprintf (fixture->events, sizeof (fixture->events), "inproc://projection-events-%d",
              s_endpoint_id);
    snprintf (fixture->replay, sizeof (fixture->replay), "inproc://projection-replay-%d",
              s_endpoint_id++);
    fixture->pub = zsock_new_pub (fixture->events);
    fixture->router = zsock_new_router (fixture->replay);
    assert_non_null (fixture->pub);
    assert_non_null (fixture->router);
    char *error = NULL;
    fixture->serving = zcq_projection_open (fixture->models->store, zcq_bank_domain (), &error);
    assert_null (error);
    assert_non_null (fixture->serving);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_projection_destroy (&fixture->serving);
    zsock_destroy (&fixture->pub);
    zsock_destroy (&fixture->router);
    zcq_testkit_models_destroy (&fixture->models);
    free (fixture);
    return 0;
}

//  The event at a position of the test's log, all on stream "account-1":
//  1 opens the account, every later one deposits 1.
static zcq_msg_t *
s_event (uint64_t position)
{
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, position);
    zcq_msg_set_stream (event, "account-1");
    zcq_msg_set_version (event, position);
    zcq_msg_set_time (event, 1700000000000000 + (int64_t) position);
    zcq_msg_set_name (event, position == 1 ? "AccountOpened" : "MoneyDeposited");
    msgpack_sbuffer *data = zcq_testkit_map (position == 1 ? "owner=ann" : "amount=1", NULL);
    zcq_msg_set_data (event, data->data, data->size);
    msgpack_sbuffer_free (data);
    return event;
}

//  The fingerprint of the test log's event at position.
static void
s_fingerprint (uint64_t position, byte fingerprint [ZCQ_FEED_FINGERPRINT])
{
    zcq_msg_t *event = s_event (position);
    zcq_feed_fingerprint (event, fingerprint);
    zcq_msg_destroy (&event);
}

//  A feed on the test's endpoints from position next.
static zcq_feed_t *
s_feed_new (fixture_t *fixture, uint64_t next)
{
    zcq_feed_t *feed = zcq_feed_new (fixture->events, fixture->replay, next);
    assert_non_null (feed);
    return feed;
}

//  Let the feed read what reached its replay socket, for up to ms.
static void
s_pump (zcq_feed_t *feed, int ms)
{
    zsock_t *dealer = zcq_feed_replay_sock (feed);
    zpoller_t *poller = zpoller_new (dealer, NULL);
    void *which = zpoller_wait (poller, ms);
    zpoller_destroy (&poller);
    if (which) {
        zcq_feed_recv (feed, dealer);
    }
}

//  Play the write node: take the feed's next REPLAY, which must ask from
//  position from, and answer it with the events from .. to, the log's head
//  being to (so that the feed asks for nothing more); then wait until the
//  feed holds them ready.
static void
s_serve (fixture_t *fixture, zcq_feed_t *feed, uint64_t from, uint64_t to)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (!(zsock_events (fixture->router) & ZMQ_POLLIN) && zclock_mono () < deadline) {
        s_pump (feed, 10); //  polling for the request to arrive; bounded
    }
    if (!(zsock_events (fixture->router) & ZMQ_POLLIN)) {
        fail_msg ("no REPLAY from %" PRIu64, from);
    }
    zcq_msg_t *request = zcq_msg_recv (fixture->router);
    assert_true (zcq_msg_valid (request));
    assert_int_equal (zcq_msg_type (request), ZCQ_MSG_REPLAY);
    assert_int_equal (zcq_msg_from (request), from);
    zcq_msg_t *reply = zcq_msg_reply_to (request, ZCQ_OK);
    zcq_msg_set_from (reply, from);
    zcq_msg_set_head (reply, to);
    for (uint64_t position = from; position <= to; position++) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        zcq_msg_t *event = s_event (position);
        assert_int_equal (zcq_msg_encode_body (event, &body), 0);
        zcq_msg_add_event (reply, body.data, body.size);
        zcq_msg_destroy (&event);
        msgpack_sbuffer_destroy (&body);
    }
    assert_int_equal (zcq_msg_send (reply, fixture->router), 0);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&request);
    while (zcq_feed_ready (feed) < to - from + 1 && zclock_mono () < deadline) {
        s_pump (feed, 10);
    }
    assert_int_equal (zcq_feed_ready (feed), to - from + 1);
}

//  Read a be64 key of the store (0 when absent).
static uint64_t
s_number (fixture_t *fixture, const char *key)
{
    uint64_t value = 1234567;
    assert_int_equal (zcq_store_get_number (fixture->models->store, key, strlen (key), &value),
                      0);
    return value;
}

//  Read a key of the store as text; NULL when absent. Caller frees.
static char *
s_text (fixture_t *fixture, const char *key)
{
    byte *value = NULL;
    size_t size = 0;
    int rc = zcq_store_get (fixture->models->store, key, strlen (key), &value, &size);
    assert_true (rc == 0 || rc == 1);
    return (char *) value;
}

//  A field of a read model of the generation.
static int64_t
s_model_int (zcq_projection_t *models, const char *key, const char *field)
{
    byte *value = NULL;
    size_t size = 0;
    assert_int_equal (zcq_view_get (zcq_projection_view (models), key, &value, &size), 0);
    int64_t number = zcq_testkit_int (value, size, field);
    free (value);
    return number;
}

//  Check the store's q:last holds the fingerprint of the event at position.
static void
s_assert_last (fixture_t *fixture, uint64_t position)
{
    byte expected [ZCQ_FEED_FINGERPRINT];
    s_fingerprint (position, expected);
    byte *last = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (fixture->models->store, "q:last", 6, &last, &size), 0);
    assert_int_equal (size, ZCQ_FEED_FINGERPRINT);
    assert_memory_equal (last, expected, ZCQ_FEED_FINGERPRINT);
    free (last);
}

//  Check that a serving generation and the store stand at position
//  together: its position, "q:applied", "q:last", and read models that hold
//  the events 1 .. position (an account with position - 1 deposits).
static void
s_assert_at (fixture_t *fixture, zcq_projection_t *models, uint64_t position)
{
    assert_int_equal (zcq_projection_applied (models), position);
    assert_int_equal (s_number (fixture, "q:applied"), position);
    s_assert_last (fixture, position);
    assert_int_equal (s_model_int (models, "account/account-1", "balance"), position - 1);
    assert_int_equal (s_model_int (models, "totals", "events"), position);
}

static void
test_a_batch_writes_the_models_and_the_position_together (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_projection_t *serving = fixture->serving;
    //  A new store is claimed for the domain and starts at position 0
    assert_true (zcq_projection_serving (serving));
    assert_string_equal (zcq_projection_keyspace (serving), "r:");
    assert_int_equal (zcq_projection_applied (serving), 0);
    assert_null (zcq_projection_fingerprint (serving));
    char *domain = s_text (fixture, "q:domain");
    assert_string_equal (domain, "bank");
    free (domain);

    zcq_feed_t *feed = s_feed_new (fixture, 1);
    s_serve (fixture, feed, 1, 15);
    //  Ten events in one store batch: models, position and fingerprint
    uint64_t writes = zcq_store_writes (fixture->models->store);
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 10);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes + 1);
    s_assert_at (fixture, serving, 10);
    assert_int_equal (zcq_feed_ready (feed), 5);
    //  The rest in a second batch; then nothing is ready and nothing written
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 5);
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 0);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes + 2);
    assert_int_equal (zcq_projection_events (serving), 15);
    byte expected [ZCQ_FEED_FINGERPRINT];
    s_fingerprint (15, expected);
    assert_memory_equal (zcq_projection_fingerprint (serving), expected, ZCQ_FEED_FINGERPRINT);
    zcq_feed_destroy (&feed);

    //  Opened again, the store says where it was
    zcq_projection_destroy (&fixture->serving);
    char *error = NULL;
    fixture->serving = zcq_projection_open (fixture->models->store, zcq_bank_domain (), &error);
    assert_non_null (fixture->serving);
    s_assert_at (fixture, fixture->serving, 15);
    assert_memory_equal (zcq_projection_fingerprint (fixture->serving), expected,
                         ZCQ_FEED_FINGERPRINT);
}

static void
test_a_failed_write_changes_nothing_and_the_events_come_again (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_projection_t *serving = fixture->serving;
    //  With a cache, so that values of a failed batch could linger there
    zcq_view_set_cache (zcq_projection_view (serving), 100);
    zcq_feed_t *feed = s_feed_new (fixture, 1);
    s_serve (fixture, feed, 1, 10);
    assert_int_equal (zcq_projection_apply (serving, feed, 5), 5);

    //  The disk refuses the next batch: models and position stay at 5
    zcq_store_fail_writes (fixture->models->store, 1);
    assert_int_equal (zcq_projection_apply (serving, feed, 5), -1);
    s_assert_at (fixture, serving, 5);
    assert_int_equal (zcq_view_pending (zcq_projection_view (serving)), 0);

    //  The feed was rewound: it asks for 6 again and delivers it once more
    assert_int_equal (zcq_feed_ready (feed), 0);
    s_serve (fixture, feed, 6, 10);
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 5);
    //  Each event counted once
    s_assert_at (fixture, serving, 10);
    assert_int_equal (zcq_projection_events (serving), 10);
    zcq_feed_destroy (&feed);
}

//  Check the store (not the generation) stands at position: q:applied
//  and q:last.
static void
s_assert_written (fixture_t *fixture, uint64_t position)
{
    assert_int_equal (s_number (fixture, "q:applied"), position);
    if (position) {
        s_assert_last (fixture, position);
    }
}

static void
test_a_held_batch_is_read_at_once_and_written_later (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_projection_t *serving = fixture->serving;
    zcq_view_set_cache (zcq_projection_view (serving), 100);
    zcq_projection_set_delay (serving, 60000);
    assert_int_equal (zcq_projection_due (serving), INT64_MAX);
    zcq_feed_t *feed = s_feed_new (fixture, 1);
    s_serve (fixture, feed, 1, 15);
    uint64_t writes = zcq_store_writes (fixture->models->store);

    //  Two bursts folded: read at once, held in one batch, nothing written
    int64_t before = zclock_mono ();
    assert_int_equal (zcq_projection_apply (serving, feed, 5), 5);
    assert_int_equal (zcq_projection_apply (serving, feed, 5), 5);
    assert_int_equal (zcq_projection_applied (serving), 10);
    assert_int_equal (zcq_projection_written (serving), 0);
    assert_int_equal (s_model_int (serving, "account/account-1", "balance"), 9);
    assert_int_equal (s_model_int (serving, "totals", "events"), 10);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes);
    s_assert_written (fixture, 0);
    int64_t due = zcq_projection_due (serving);
    assert_true (due >= before + 60000 && due <= zclock_mono () + 60000);

    //  Flushed: one write, models and position together, each key once
    //  although both bursts changed the totals and account-1: the read
    //  models (all made by these bursts), q:applied and q:last
    uint64_t changes = zcq_store_changes (fixture->models->store);
    assert_int_equal (zcq_projection_flush (serving, feed), 0);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes + 1);
    char hex [41];
    uint64_t keys = 0;
    assert_int_equal (zcq_view_checksum (zcq_projection_view (serving), hex, &keys), 0);
    assert_int_equal (zcq_store_changes (fixture->models->store), changes + keys + 2);
    assert_int_equal (zcq_projection_due (serving), INT64_MAX);
    assert_int_equal (zcq_projection_flush (serving, feed), 0); //  nothing held: nothing
    assert_int_equal (zcq_store_writes (fixture->models->store), writes + 1);
    s_assert_at (fixture, serving, 10);

    //  A held batch the disk refuses: back to what was written, and the
    //  events come again, each applied once
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 5);
    assert_int_equal (s_model_int (serving, "totals", "events"), 15);
    zcq_store_fail_writes (fixture->models->store, 1);
    assert_int_equal (zcq_projection_flush (serving, feed), -1);
    s_assert_at (fixture, serving, 10);
    assert_int_equal (zcq_projection_events (serving), 10);
    assert_int_equal (zcq_feed_ready (feed), 0);
    s_serve (fixture, feed, 11, 20);
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 10);
    assert_int_equal (zcq_projection_flush (serving, feed), 0);
    s_assert_at (fixture, serving, 20);
    assert_int_equal (zcq_projection_events (serving), 20);

    //  Once the delay has passed, the next burst writes the batch with it
    zcq_projection_set_delay (serving, 20);
    zcq_feed_rewind (feed, 21);
    s_serve (fixture, feed, 21, 25);
    writes = zcq_store_writes (fixture->models->store);
    assert_int_equal (zcq_projection_apply (serving, feed, 2), 2);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes);
    due = zcq_projection_due (serving);
    while (zclock_mono () < due) {
        zclock_sleep (1); //  until the observable deadline; bounded by the delay
    }
    assert_int_equal (zcq_projection_apply (serving, feed, 10), 3);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes + 1);
    s_assert_at (fixture, serving, 25);
    zcq_feed_destroy (&feed);
}

//  The checksum of a generation's read models, and the number of keys.
static void
s_checksum (zcq_projection_t *models, char hex [41], uint64_t *keys)
{
    assert_int_equal (zcq_view_checksum (zcq_projection_view (models), hex, keys), 0);
}

static void
test_a_rebuilt_generation_switches_in_one_batch (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_projection_t *serving = fixture->serving;
    zcq_feed_t *feed = s_feed_new (fixture, 1);
    s_serve (fixture, feed, 1, 20);
    assert_int_equal (zcq_projection_apply (serving, feed, 100), 20);
    zcq_feed_destroy (&feed);
    char served [41];
    uint64_t keys;
    s_checksum (serving, served, &keys);
    assert_true (keys > 0);

    //  Beside it, the other keyspace, holding what an interrupted rebuild left
    zcq_projection_t *rebuilt = zcq_projection_new_beside (serving);
    assert_false (zcq_projection_serving (rebuilt));
    assert_string_equal (zcq_projection_keyspace (rebuilt), "n:");
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "n:account/left-over", 19, "x", 1);
    assert_int_equal (zcq_store_write (fixture->models->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    assert_int_equal (zcq_projection_restart (rebuilt), 0);
    char hex [41];
    s_checksum (rebuilt, hex, &keys);
    assert_int_equal (keys, 0);

    //  The rebuild folds the log from 1, its position kept apart
    feed = s_feed_new (fixture, 1);
    s_serve (fixture, feed, 1, 20);
    assert_int_equal (zcq_projection_apply (rebuilt, feed, 100), 20);
    zcq_feed_destroy (&feed);
    assert_int_equal (s_number (fixture, "q:rebuilt"), 20);
    assert_int_equal (s_number (fixture, "q:applied"), 20);
    s_checksum (rebuilt, hex, &keys);
    assert_string_equal (hex, served);

    //  A switch that cannot be written changes nothing
    zcq_store_fail_writes (fixture->models->store, 1);
    assert_int_equal (zcq_projection_switch (rebuilt, serving), -1);
    assert_true (zcq_projection_serving (serving));
    assert_false (zcq_projection_serving (rebuilt));
    assert_null (s_text (fixture, "q:keyspace"));
    assert_int_equal (s_number (fixture, "q:rebuilt"), 20);

    //  One batch makes the rebuilt keyspace serve
    uint64_t writes = zcq_store_writes (fixture->models->store);
    assert_int_equal (zcq_projection_switch (rebuilt, serving), 0);
    assert_int_equal (zcq_store_writes (fixture->models->store), writes + 1);
    assert_true (zcq_projection_serving (rebuilt));
    assert_false (zcq_projection_serving (serving));
    char *keyspace = s_text (fixture, "q:keyspace");
    assert_string_equal (keyspace, "n:");
    free (keyspace);
    assert_int_equal (s_number (fixture, "q:applied"), 20);
    assert_null (s_text (fixture, "q:rebuilt"));
    s_assert_last (fixture, 20);

    //  The old keyspace is cleared a slice at a time; the new one serves
    int deleted, slices = 0;
    while ((deleted = zcq_projection_clear (serving, 2)) > 0) {
        assert_true (deleted <= 2);
        slices++;
    }
    assert_int_equal (deleted, 0);
    assert_true (slices >= 2);
    s_checksum (serving, hex, &keys);
    assert_int_equal (keys, 0);
    s_checksum (rebuilt, hex, &keys);
    assert_string_equal (hex, served);

    //  Opened again, the store serves the rebuilt keyspace at its position
    zcq_projection_destroy (&rebuilt);
    zcq_projection_destroy (&fixture->serving);
    char *error = NULL;
    fixture->serving = zcq_projection_open (fixture->models->store, zcq_bank_domain (), &error);
    assert_non_null (fixture->serving);
    assert_string_equal (zcq_projection_keyspace (fixture->serving), "n:");
    s_assert_at (fixture, fixture->serving, 20);
    zcq_projection_t *beside = zcq_projection_new_beside (fixture->serving);
    assert_string_equal (zcq_projection_keyspace (beside), "r:");
    zcq_projection_destroy (&beside);
}

static void
test_a_store_of_other_data_is_refused (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    //  Another domain's read models
    char *error = NULL;
    zcq_projection_t *other =
        zcq_projection_open (fixture->models->store, zcq_store_domain (), &error);
    assert_null (other);
    assert_non_null (error);
    assert_non_null (strstr (error, "holds read models of domain 'bank', not 'store'"));
    zstr_free (&error);
    //  Something that is not query-node read models at all
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "q:format", 8, "zcqrs-log-1", 11);
    assert_int_equal (zcq_store_write (fixture->models->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    other = zcq_projection_open (fixture->models->store, zcq_bank_domain (), &error);
    assert_null (other);
    assert_non_null (strstr (error, "holds 'zcqrs-log-1', not query-node read models"));
    zstr_free (&error);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (
            test_a_batch_writes_the_models_and_the_position_together, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_failed_write_changes_nothing_and_the_events_come_again, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_held_batch_is_read_at_once_and_written_later,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_rebuilt_generation_switches_in_one_batch,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_store_of_other_data_is_refused, s_setup,
                                         s_teardown),
    };
    return ZCQ_TESTKIT_RUN_ON_BOTH_BACKENDS (tests);
}
