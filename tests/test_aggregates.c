/*  =========================================================================
    test_aggregates - the write node's aggregate cache over a real event log
    in a temporary folder: a cold load folds every stored event, a snapshot
    shortens the fold, a snapshot the domain cannot load is passed over,
    the least recently used state is evicted but never one that holds
    events not yet on disk, purge drops every state, a stored event
    that does not decode caches nothing, and a forgotten stream's state
    leaves the memory with its personal values once its key is destroyed
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_aggregates.h"
#include "zcq_log.h"
#include "zcq_seal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  --- A test domain: its state counts events and sums their amounts -------

typedef struct {
    uint64_t events; //  events folded into this state
    int64_t sum;     //  sum of their "amount" fields
} s_tally_t;

static void *
s_tally_new (void)
{
    s_tally_t *tally = (s_tally_t *) zmalloc (sizeof (s_tally_t));
    assert (tally);
    return tally;
}

static void
s_tally_destroy (void *state)
{
    free (state);
}

static void
s_tally_evolve (void *state, const zcq_event_t *event)
{
    s_tally_t *tally = (s_tally_t *) state;
    int64_t amount = 0;
    char reason [ZCQ_REASON_MAX];
    if (zcq_map_positive (event->data, "amount", &amount, reason) == 0) {
        tally->sum += amount;
    }
    tally->events++;
}

//  Saved as [events, sum]; anything else does not load.
static int
s_tally_save (const void *state, msgpack_packer *packer)
{
    const s_tally_t *tally = (const s_tally_t *) state;
    msgpack_pack_array (packer, 2);
    msgpack_pack_uint64 (packer, tally->events);
    msgpack_pack_int64 (packer, tally->sum);
    return 0;
}

static int
s_tally_load (void *state, const msgpack_object *saved)
{
    s_tally_t *tally = (s_tally_t *) state;
    if (saved->type != MSGPACK_OBJECT_ARRAY || saved->via.array.size != 2
        || saved->via.array.ptr [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return -1;
    }
    const msgpack_object *sum = &saved->via.array.ptr [1];
    if (sum->type != MSGPACK_OBJECT_POSITIVE_INTEGER
        && sum->type != MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return -1;
    }
    tally->events = saved->via.array.ptr [0].via.u64;
    tally->sum = sum->via.i64;
    return 0;
}

static const zcq_domain_t s_tally = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "tally",
    .state_new = s_tally_new,
    .state_destroy = s_tally_destroy,
    .evolve = s_tally_evolve,
    .state_save = s_tally_save,
    .state_load = s_tally_load,
};

//  The same without state: only versions are cached.
static const zcq_domain_t s_stateless = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "stateless",
};

//  --- Fixture: each test has a fresh event log in a temporary folder ------

static int
s_setup (void **state)
{
    char *dir = zcq_testkit_tmpdir ("aggregates");
    *state = zcq_log_new (dir, NULL);
    free (dir);
    assert_non_null (*state);
    return 0;
}

static int
s_teardown (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    char *dir = strdup (zcq_store_path (zcq_log_store (log)));
    zcq_log_destroy (&log);
    zcq_testkit_rmtree (dir);
    free (dir);
    return 0;
}

//  A test with its own log as its state.
#define LOG_TEST(test) cmocka_unit_test_setup_teardown (test, s_setup, s_teardown)

//  Stage count events of amount 2 on stream, as the write node does for one
//  accepted command: staged in the log, folded into the cached state, then
//  noted as staged. Nothing is committed. Returns the aggregate.
static const zcq_aggregate_t *
s_command (zcq_aggregates_t *cache, zcq_log_t *log, const char *stream, int count)
{
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, stream);
    assert_non_null (aggregate);
    msgpack_sbuffer *data = zcq_testkit_map ("amount=2", NULL);
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    byte id [ZCQ_COMMAND_ID] = {7};
    zcq_msg_set_id (event, id, sizeof (id));
    zcq_msg_set_stream (event, stream);
    zcq_msg_set_name (event, "Counted");
    zcq_msg_set_data (event, data->data, data->size);
    zcq_msg_set_time (event, zcq_event_now ());
    for (int index = 0; index < count; index++) {
        zcq_msg_set_version (event, aggregate->version + 1);
        assert_true (zcq_log_stage_event (log, event) > 0);
        zcq_aggregates_evolve (cache, aggregate, event);
    }
    zcq_aggregates_staged (cache, aggregate);
    zcq_msg_destroy (&event);
    msgpack_sbuffer_free (data);
    return aggregate;
}

//  The same, committed to disk at once.
static void
s_committed (zcq_aggregates_t *cache, zcq_log_t *log, const char *stream, int count)
{
    s_command (cache, log, stream, count);
    assert_int_equal (zcq_log_commit (log, true), 0);
}

static const s_tally_t *
s_tally_of (const zcq_aggregate_t *aggregate)
{
    return (const s_tally_t *) aggregate->state;
}

//  --- Tests ----------------------------------------------------------------

static void
test_cold_load_folds_every_event (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    for (int index = 0; index < 10; index++) {
        s_committed (cache, log, "a", 1);
    }
    //  The first cache built "a" from nothing and folded what it staged
    assert_int_equal (zcq_aggregates_folded (cache), 0);
    zcq_aggregates_destroy (&cache);
    assert_null (cache);

    cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, "a");
    assert_non_null (aggregate);
    assert_string_equal (aggregate->stream, "a");
    assert_int_equal (aggregate->version, 10);
    assert_int_equal (s_tally_of (aggregate)->events, 10);
    assert_int_equal (s_tally_of (aggregate)->sum, 20);
    assert_int_equal (zcq_aggregates_folded (cache), 10);
    //  Cached now: no fold the second time
    assert_ptr_equal (zcq_aggregates_get (cache, "a"), aggregate);
    assert_int_equal (zcq_aggregates_folded (cache), 10);
    //  A stream without events starts at version 0 from the domain's state
    aggregate = zcq_aggregates_get (cache, "empty");
    assert_int_equal (aggregate->version, 0);
    assert_int_equal (s_tally_of (aggregate)->events, 0);
    assert_int_equal (zcq_aggregates_size (cache), 2);
    assert_int_equal (zcq_aggregates_snapshots (cache), 0);
    zcq_aggregates_destroy (&cache);
    zcq_aggregates_destroy (&cache); //  safe twice
}

static void
test_stateless_domain_caches_versions (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_stateless, log, 10, 5);
    s_committed (cache, log, "a", 7);
    assert_int_equal (zcq_aggregates_get (cache, "a")->version, 7);
    assert_int_equal (zcq_aggregates_snapshots (cache), 0); //  nothing to save
    zcq_aggregates_destroy (&cache);
    cache = zcq_aggregates_new (&s_stateless, log, 10, 5);
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, "a");
    assert_int_equal (aggregate->version, 7);
    assert_null (aggregate->state);
    assert_int_equal (zcq_aggregates_folded (cache), 0); //  read from the version key
    zcq_aggregates_destroy (&cache);
}

static void
test_snapshot_shortens_the_fold (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    //  Commands of 3 events with a snapshot every 4: versions 3, 6 (crossed
    //  4: snapshot), 9 (crossed 8: snapshot), 10 (none). A snapshot is of
    //  the state after the whole command, staged in the command's group
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 10, 4);
    for (int index = 0; index < 3; index++) {
        s_committed (cache, log, "a", 3);
    }
    s_committed (cache, log, "a", 1);
    assert_int_equal (zcq_aggregates_snapshots (cache), 2);
    uint64_t version = 0;
    byte *saved = NULL;
    size_t size = 0;
    assert_int_equal (zcq_log_find_state (log, "a", &version, &saved, &size), 0);
    assert_int_equal (version, 9);
    free (saved);
    zcq_aggregates_destroy (&cache);

    //  Cold: from the snapshot at 9, only event 10 is folded
    cache = zcq_aggregates_new (&s_tally, log, 10, 4);
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, "a");
    assert_int_equal (aggregate->version, 10);
    assert_int_equal (s_tally_of (aggregate)->events, 10);
    assert_int_equal (s_tally_of (aggregate)->sum, 20);
    assert_int_equal (zcq_aggregates_folded (cache), 1);
    zcq_aggregates_destroy (&cache);

    //  Snapshots off: the stored snapshot is not read, every event is folded
    cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    aggregate = zcq_aggregates_get (cache, "a");
    assert_int_equal (aggregate->version, 10);
    assert_int_equal (s_tally_of (aggregate)->sum, 20);
    assert_int_equal (zcq_aggregates_folded (cache), 10);
    zcq_aggregates_destroy (&cache);
}

static void
test_snapshot_the_domain_cannot_load_is_passed_over (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    s_committed (cache, log, "a", 6);
    zcq_aggregates_destroy (&cache);
    //  A snapshot at version 5 in a format the domain does not know (a
    //  string where it saves an array), as after a change of its state
    const char other [] = {(char) 0xa3, 'o', 'l', 'd'};
    zcq_log_stage_state (log, "a", 5, other, sizeof (other));
    assert_int_equal (zcq_log_commit (log, true), 0);

    cache = zcq_aggregates_new (&s_tally, log, 10, 5);
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, "a");
    assert_non_null (aggregate);
    assert_int_equal (aggregate->version, 6);
    assert_int_equal (s_tally_of (aggregate)->events, 6);
    assert_int_equal (s_tally_of (aggregate)->sum, 12);
    assert_int_equal (zcq_aggregates_folded (cache), 6);
    zcq_aggregates_destroy (&cache);
}

static void
test_least_recently_used_is_evicted (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 3, 0);
    s_committed (cache, log, "a", 1);
    s_committed (cache, log, "b", 1);
    s_committed (cache, log, "c", 1);
    zcq_aggregates_destroy (&cache);

    //  Room for two: a, b, a again, then c evicts b (least recently used)
    cache = zcq_aggregates_new (&s_tally, log, 2, 0);
    zcq_aggregates_get (cache, "a");
    zcq_aggregates_get (cache, "b");
    zcq_aggregates_get (cache, "a");
    zcq_aggregates_get (cache, "c");
    assert_int_equal (zcq_aggregates_size (cache), 2);
    assert_int_equal (zcq_aggregates_folded (cache), 3);
    zcq_aggregates_get (cache, "a"); //  still cached
    assert_int_equal (zcq_aggregates_folded (cache), 3);
    zcq_aggregates_get (cache, "b"); //  loaded again; evicts c
    assert_int_equal (zcq_aggregates_folded (cache), 4);
    zcq_aggregates_get (cache, "a"); //  still cached
    assert_int_equal (zcq_aggregates_folded (cache), 4);
    zcq_aggregates_get (cache, "c"); //  loaded again; evicts b
    assert_int_equal (zcq_aggregates_folded (cache), 5);
    assert_int_equal (zcq_aggregates_size (cache), 2);
    zcq_aggregates_destroy (&cache);
}

static void
test_state_with_staged_events_is_never_evicted (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 2, 0);
    //  "a" holds an event staged and not on disk: the log could not give
    //  it back, so however the cache churns, "a" stays
    const zcq_aggregate_t *pinned = s_command (cache, log, "a", 1);
    const char *others [] = {"b", "c", "d", "e"};
    for (int index = 0; index < 4; index++) {
        zcq_aggregates_get (cache, others [index]);
        assert_int_equal (zcq_aggregates_size (cache), 2);
    }
    assert_ptr_equal (zcq_aggregates_get (cache, "a"), pinned);
    assert_int_equal (pinned->version, 1);
    assert_int_equal (s_tally_of (pinned)->sum, 2);

    //  With every state pinned the cache grows rather than drop one
    s_command (cache, log, "e", 1);
    zcq_aggregates_get (cache, "f");
    assert_int_equal (zcq_aggregates_size (cache), 3);

    //  Once on disk they may go: "a" is the least recently used
    assert_int_equal (zcq_log_commit (log, true), 0);
    uint64_t folded = zcq_aggregates_folded (cache);
    zcq_aggregates_get (cache, "g");
    assert_int_equal (zcq_aggregates_size (cache), 3);
    const zcq_aggregate_t *reloaded = zcq_aggregates_get (cache, "a");
    assert_int_equal (zcq_aggregates_folded (cache), folded + 1);
    assert_int_equal (reloaded->version, 1);
    assert_int_equal (s_tally_of (reloaded)->sum, 2);
    zcq_aggregates_destroy (&cache);
}

static void
test_purge_drops_every_state (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    s_committed (cache, log, "a", 2);
    //  A group that fails to write: its events are in the cached states
    s_command (cache, log, "a", 3);
    s_command (cache, log, "b", 1);
    assert_int_equal (zcq_aggregates_get (cache, "a")->version, 5);
    zcq_store_fail_writes (zcq_log_store (log), 1);
    assert_int_equal (zcq_log_commit (log, true), -1);
    zcq_aggregates_purge (cache);
    assert_int_equal (zcq_aggregates_size (cache), 0);

    //  Loaded again from what the disk has
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, "a");
    assert_int_equal (aggregate->version, 2);
    assert_int_equal (s_tally_of (aggregate)->sum, 4);
    assert_int_equal (zcq_aggregates_get (cache, "b")->version, 0);
    assert_int_equal (zcq_aggregates_folded (cache), 2);
    zcq_aggregates_destroy (&cache);
}

static void
test_undecodable_event_caches_nothing (void **state)
{
    zcq_log_t *log = (zcq_log_t *) *state;
    zcq_aggregates_t *cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    s_committed (cache, log, "a", 2);
    zcq_aggregates_destroy (&cache);
    //  Damage the stored event at position 2 ("e:" be64(2))
    byte key [10] = {'e', ':'};
    zcq_store_put_be64 (key + 2, 2);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, key, sizeof (key), "\xc1", 1); //  0xc1: never valid msgpack
    assert_int_equal (zcq_store_write (zcq_log_store (log), batch, true), 0);
    zcq_batch_destroy (&batch);

    cache = zcq_aggregates_new (&s_tally, log, 10, 0);
    assert_null (zcq_aggregates_get (cache, "a"));
    assert_int_equal (zcq_aggregates_size (cache), 0);
    assert_non_null (zcq_aggregates_get (cache, "b")); //  other streams are served
    zcq_aggregates_destroy (&cache);
}

//  Stage one event of the bank on stream, as the write node does: stored
//  with its personal fields sealed under the stream's key, folded in plain.
//  Returns its position.
static uint64_t
s_bank_event (zcq_aggregates_t *cache, zcq_log_t *log, const zcq_aggregate_t *aggregate,
              const char *type, msgpack_sbuffer *data)
{
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    byte id [ZCQ_COMMAND_ID] = {9};
    zcq_msg_set_id (event, id, sizeof (id));
    zcq_msg_set_stream (event, aggregate->stream);
    zcq_msg_set_name (event, type);
    zcq_msg_set_time (event, zcq_event_now ());
    zcq_msg_set_version (event, aggregate->version + 1);
    msgpack_unpacked plain;
    zcq_testkit_unpack (data->data, data->size, &plain);
    msgpack_sbuffer sealed;
    msgpack_sbuffer_init (&sealed);
    byte key [ZCQ_SEAL_KEY];
    assert_int_equal (zcq_log_stream_key (log, aggregate->stream, true, key), 0);
    if (zcq_seal_data (&plain.data, zcq_domain_personal_fields (zcq_bank_domain ()), key,
                       aggregate->stream, &sealed)
        > 0) {
        zcq_msg_set_data (event, (const byte *) sealed.data, sealed.size);
    }
    else {
        zcq_msg_set_data (event, (const byte *) data->data, data->size);
    }
    uint64_t position = zcq_log_stage_event (log, event);
    assert_true (position > 0);
    zcq_msg_set_data (event, (const byte *) data->data, data->size);
    zcq_aggregates_evolve (cache, aggregate, event);
    zcq_aggregates_staged (cache, aggregate);
    msgpack_unpacked_destroy (&plain);
    msgpack_sbuffer_destroy (&sealed);
    msgpack_sbuffer_free (data);
    zcq_msg_destroy (&event);
    return position;
}

//  True if the cached state of stream, as the domain saves it, holds text.
static bool
s_state_holds (zcq_aggregates_t *cache, const char *stream, const char *text)
{
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, stream);
    assert_non_null (aggregate);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    assert_int_equal (zcq_bank_domain ()->state_save (aggregate->state, &packer), 0);
    bool holds = memmem (buffer.data, buffer.size, text, strlen (text)) != NULL;
    msgpack_sbuffer_destroy (&buffer);
    return holds;
}

//  Forget a stream, as the write node does: $StreamForgotten staged and
//  written, then the key destroyed and the cache told.
static void
s_forget (zcq_aggregates_t *cache, zcq_log_t *log, const char *stream)
{
    const zcq_aggregate_t *aggregate = zcq_aggregates_get (cache, stream);
    uint64_t position =
        s_bank_event (cache, log, aggregate, ZCQ_STREAM_FORGOTTEN, zcq_testkit_map (NULL));
    zcq_log_stage_forgotten (log, stream, position);
    assert_int_equal (zcq_log_commit (log, true), 0);
    assert_int_equal (zcq_log_forget_key (log, stream, position), 0);
}

static void
test_forgotten_state_leaves_the_memory (void **unused)
{
    (void) unused;
    char *dir = zcq_testkit_tmpdir ("aggregates-forget");
    char *data = zsys_sprintf ("%s/write", dir), *path = zsys_sprintf ("%s/keys", dir);
    char *error = NULL;
    zcq_keys_t *keys = zcq_keys_new (path, data, &error);
    assert_non_null (keys);
    zcq_log_t *log = zcq_log_new (data, keys);
    assert_non_null (log);
    zcq_log_set_sealing (log, true);
    zcq_aggregates_t *cache = zcq_aggregates_new (zcq_bank_domain (), log, 10, 0);
    const char *secret = "Jr5Wc2Pv8Ym1Tq";
    char word [64];
    snprintf (word, sizeof word, "owner=%s", secret);
    for (int index = 0; index < 2; index++) {
        const char *stream = index ? "acct-2" : "acct-1";
        const zcq_aggregate_t *account = zcq_aggregates_get (cache, stream);
        s_bank_event (cache, log, account, "AccountOpened", zcq_testkit_map (word, NULL));
        account = zcq_aggregates_get (cache, stream);
        s_bank_event (cache, log, account, "MoneyDeposited",
                      zcq_testkit_map ("amount=5", NULL));
        assert_int_equal (zcq_log_commit (log, true), 0);
        //  Cached in plain (the check can fail: it finds it there)
        assert_true (s_state_holds (cache, stream, secret));
    }
    assert_false (zcq_testkit_files_hold (data, secret));

    //  Forgotten: the state is folded again, the owner nil
    uint64_t folded = zcq_aggregates_folded (cache);
    s_forget (cache, log, "acct-1");
    zcq_aggregates_forgotten (cache, "acct-1");
    assert_false (s_state_holds (cache, "acct-1", secret));
    assert_true (zcq_aggregates_folded (cache) > folded);
    assert_int_equal (zcq_aggregates_get (cache, "acct-1")->version, 3);

    //  A command on the stream staged before the key went pins the state:
    //  it is dropped at the first use once that command is on disk
    const zcq_aggregate_t *account = zcq_aggregates_get (cache, "acct-2");
    uint64_t position =
        s_bank_event (cache, log, account, ZCQ_STREAM_FORGOTTEN, zcq_testkit_map (NULL));
    zcq_log_stage_forgotten (log, "acct-2", position);
    zcq_group_t *group = zcq_log_seal (log); //  written while the next is decided
    account = zcq_aggregates_get (cache, "acct-2");
    s_bank_event (cache, log, account, "MoneyDeposited", zcq_testkit_map ("amount=1", NULL));
    assert_int_equal (zcq_store_write (zcq_log_store (log), zcq_group_batch (group), true), 0);
    zcq_log_sealed (log, group, true);
    zcq_group_destroy (&group);
    assert_int_equal (zcq_log_forget_key (log, "acct-2", position), 0);
    zcq_aggregates_forgotten (cache, "acct-2");
    assert_true (s_state_holds (cache, "acct-2", secret)); //  pinned: its event is not on disk
    assert_int_equal (zcq_log_commit (log, true), 0);
    assert_false (s_state_holds (cache, "acct-2", secret));
    assert_int_equal (zcq_aggregates_get (cache, "acct-2")->version, 4);

    zcq_aggregates_destroy (&cache);
    zcq_log_destroy (&log);
    zcq_keys_destroy (&keys);
    zcq_testkit_rmtree (dir);
    zstr_free (&data);
    zstr_free (&path);
    zstr_free (&error);
    free (dir);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        LOG_TEST (test_cold_load_folds_every_event),
        LOG_TEST (test_stateless_domain_caches_versions),
        LOG_TEST (test_snapshot_shortens_the_fold),
        LOG_TEST (test_snapshot_the_domain_cannot_load_is_passed_over),
        LOG_TEST (test_least_recently_used_is_evicted),
        LOG_TEST (test_state_with_staged_events_is_never_evicted),
        LOG_TEST (test_purge_drops_every_state),
        LOG_TEST (test_undecodable_event_caches_nothing),
        cmocka_unit_test (test_forgotten_state_leaves_the_memory),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
