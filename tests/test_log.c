/*  =========================================================================
    test_log - the event log: atomic group append, dense positions, stream
    versions, stored replies, reads, reopen, and a failed write that leaves
    nothing behind (the storage fault seam)
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_log.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

typedef struct {
    char *dir;      //  temporary folder
    zcq_log_t *log; //  log under test
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("log");
    fixture->log = zcq_log_new (fixture->dir, NULL);
    assert_non_null (fixture->log);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_destroy (&fixture->log);
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    return 0;
}

//  Stage one event of stream at version; returns its position.
static uint64_t
s_stage (zcq_log_t *log, const char *stream, uint64_t version, const char *type)
{
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_stream (event, stream);
    zcq_msg_set_version (event, version);
    zcq_msg_set_name (event, type);
    msgpack_sbuffer *data = zcq_testkit_map ("amount=5", NULL);
    zcq_msg_set_data (event, data->data, data->size);
    msgpack_sbuffer_free (data);
    byte id [ZCQ_COMMAND_ID] = {1};
    zcq_msg_set_id (event, id, sizeof (id));
    zcq_msg_set_time (event, zcq_event_now ());
    uint64_t position = zcq_log_stage_event (log, event);
    zcq_msg_destroy (&event);
    return position;
}

typedef struct {
    uint64_t positions [64]; //  positions visited
    uint64_t versions [64];  //  their stream versions
    char streams [64][32];   //  their streams
    int count;               //  events visited
} s_seen_t;

static int
s_collect (const byte *body, size_t size, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    assert_true (zcq_msg_valid (event));
    assert_true (seen->count < 64);
    seen->positions [seen->count] = zcq_msg_position (event);
    seen->versions [seen->count] = zcq_msg_version (event);
    snprintf (seen->streams [seen->count], 32, "%s", zcq_msg_stream (event));
    seen->count++;
    zcq_msg_destroy (&event);
    return 0;
}

static void
test_new_log_is_empty (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    assert_int_equal (zcq_log_head (fixture->log), 0);
    uint64_t version = 99;
    assert_int_equal (zcq_log_stream_version (fixture->log, "account-1", &version), 0);
    assert_int_equal (version, 0);
    s_seen_t seen = {0};
    assert_int_equal (zcq_log_read (fixture->log, 1, 100, 1 << 20, s_collect, &seen), 0);
}

//  The log holds positions 1 to count, in order.
static void
s_assert_dense (zcq_log_t *log, uint64_t count)
{
    s_seen_t seen = {0};
    assert_int_equal (zcq_log_read (log, 1, 100, 1 << 20, s_collect, &seen), count);
    for (uint64_t index = 0; index < count; index++) {
        assert_int_equal (seen.positions [index], index + 1);
    }
}

static void
test_group_gets_dense_positions (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    assert_int_equal (s_stage (fixture->log, "a", 1, "Opened"), 1);
    assert_int_equal (s_stage (fixture->log, "b", 1, "Opened"), 2);
    assert_int_equal (s_stage (fixture->log, "a", 2, "Deposited"), 3);
    //  Nothing is visible before the commit
    assert_int_equal (zcq_log_head (fixture->log), 0);
    assert_int_equal (zcq_log_staged_head (fixture->log), 3);
    assert_int_equal (zcq_log_staged_count (fixture->log), 3);
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
    assert_int_equal (zcq_log_head (fixture->log), 3);

    //  The next group continues where this one ended
    zcq_log_begin (fixture->log);
    assert_int_equal (zcq_log_staged_count (fixture->log), 0);
    assert_int_equal (s_stage (fixture->log, "b", 2, "Deposited"), 4);
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);

    s_assert_dense (fixture->log, 4);
    uint64_t version;
    assert_int_equal (zcq_log_stream_version (fixture->log, "a", &version), 0);
    assert_int_equal (version, 2);
    assert_int_equal (zcq_log_stream_version (fixture->log, "b", &version), 0);
    assert_int_equal (version, 2);
}

static void
test_reads_are_bounded_and_start_anywhere (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    for (uint64_t version = 1; version <= 20; version++) {
        s_stage (fixture->log, "s", version, "Tick");
    }
    assert_int_equal (zcq_log_commit (fixture->log, false), 0);

    s_seen_t seen = {0};
    assert_int_equal (zcq_log_read (fixture->log, 5, 3, 1 << 20, s_collect, &seen), 3);
    assert_int_equal (seen.positions [0], 5);
    assert_int_equal (seen.positions [2], 7);

    //  A byte budget smaller than one event still gives one event
    memset (&seen, 0, sizeof (seen));
    assert_int_equal (zcq_log_read (fixture->log, 10, 100, 1, s_collect, &seen), 1);
    assert_int_equal (seen.positions [0], 10);

    //  Past the head: nothing; position 0 reads from the start
    memset (&seen, 0, sizeof (seen));
    assert_int_equal (zcq_log_read (fixture->log, 21, 100, 1 << 20, s_collect, &seen), 0);
    assert_int_equal (zcq_log_read (fixture->log, 0, 1, 1 << 20, s_collect, &seen), 1);
    assert_int_equal (seen.positions [0], 1);
}

static void
test_stream_read_visits_one_stream_in_order (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "acc", 1, "Opened");
    s_stage (fixture->log, "acc-2", 1, "Opened"); //  shares a prefix with "acc"
    s_stage (fixture->log, "acc", 2, "Deposited");
    s_stage (fixture->log, "acc", 3, "Deposited");
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);

    s_seen_t seen = {0};
    assert_int_equal (zcq_log_read_stream (fixture->log, "acc", 1, s_collect, &seen), 3);
    assert_int_equal (seen.versions [0], 1);
    assert_int_equal (seen.versions [2], 3);
    assert_int_equal (seen.positions [1], 3);
    for (int index = 0; index < 3; index++) {
        assert_string_equal (seen.streams [index], "acc");
    }
    memset (&seen, 0, sizeof (seen));
    assert_int_equal (zcq_log_read_stream (fixture->log, "acc", 3, s_collect, &seen), 1);
    assert_int_equal (seen.positions [0], 4);
    assert_int_equal (zcq_log_read_stream (fixture->log, "nope", 1, s_collect, &seen), 0);
}

static void
test_replies_are_stored_with_the_group (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    byte id [ZCQ_COMMAND_ID];
    memset (id, 0xab, sizeof (id));
    byte *stored = NULL;
    size_t size = 0;
    assert_int_equal (zcq_log_find_reply (fixture->log, id, &stored, &size), 1);

    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    zcq_msg_t *reply = zcq_msg_new (ZCQ_MSG_REPLY);
    zcq_msg_set_id (reply, id, sizeof (id));
    zcq_msg_set_status (reply, ZCQ_ACCEPTED);
    zcq_msg_set_version (reply, 1);
    zcq_msg_set_position (reply, 1);
    zcq_msg_set_count (reply, 1);
    assert_int_equal (zcq_log_stage_reply (fixture->log, reply, zcq_event_now ()), 0);
    zcq_msg_destroy (&reply);
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);

    assert_int_equal (zcq_log_find_reply (fixture->log, id, &stored, &size), 0);
    zcq_msg_t *found = zcq_msg_decode_body (ZCQ_MSG_REPLY, stored, size);
    assert_true (zcq_msg_valid (found));
    assert_int_equal (zcq_msg_status (found), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (found), 1);
    zcq_msg_destroy (&found);
    free (stored);
}

//  A sealed group tells whether it records a forget: the one that stages
//  the "f:" record does, an ordinary group does not.
static void
test_a_group_tells_if_it_forgets (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    zcq_group_t *group = zcq_log_seal (fixture->log);
    assert_false (zcq_log_batch_forgets (zcq_group_batch (group)));
    zcq_log_sealed (fixture->log, group, false);
    zcq_group_destroy (&group);

    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    zcq_log_stage_forgotten (fixture->log, "a", 1);
    group = zcq_log_seal (fixture->log);
    assert_true (zcq_log_batch_forgets (zcq_group_batch (group)));
    zcq_log_sealed (fixture->log, group, false);
    zcq_group_destroy (&group);
}

//  Write a sealed group as the write node does, and record it written.
static void
s_write_sealed (zcq_log_t *log, zcq_group_t *group)
{
    assert_int_equal (zcq_store_write (zcq_log_store (log), zcq_group_batch (group), true), 0);
    zcq_log_sealed (log, group, true);
}

//  A recycled group is the next one staged into, emptied: the next group
//  writes only its own events, at the positions after the last one; a
//  second group recycled while one is kept is destroyed instead.
static void
test_a_recycled_group_is_staged_into_anew (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    s_stage (fixture->log, "b", 1, "Opened");
    zcq_group_t *first = zcq_log_seal (fixture->log);
    s_write_sealed (fixture->log, first);
    zcq_group_t *kept = first;
    zcq_log_recycle (fixture->log, &first);
    assert_null (first);
    zcq_group_t *spare = zcq_group_new ();
    zcq_log_recycle (fixture->log, &spare); //  one is kept already
    assert_null (spare);
    zcq_log_recycle (fixture->log, &spare); //  safe on NULL

    //  The group being staged now was made at the last seal; the recycled
    //  one is staged into after the next
    zcq_log_begin (fixture->log);
    assert_int_equal (s_stage (fixture->log, "a", 2, "Deposited"), 3);
    zcq_group_t *second = zcq_log_seal (fixture->log);
    assert_ptr_not_equal (second, kept);
    s_write_sealed (fixture->log, second);
    zcq_group_destroy (&second);

    zcq_log_begin (fixture->log);
    assert_int_equal (zcq_log_staged_count (fixture->log), 0);
    assert_int_equal (s_stage (fixture->log, "b", 2, "Deposited"), 4);
    zcq_group_t *third = zcq_log_seal (fixture->log);
    assert_ptr_equal (third, kept);
    assert_int_equal (zcq_group_count (third), 1);
    assert_int_equal (zcq_group_head (third), 4);
    s_write_sealed (fixture->log, third);
    zcq_log_recycle (fixture->log, &third);

    s_assert_dense (fixture->log, 4);
    uint64_t version;
    assert_int_equal (zcq_log_stream_version (fixture->log, "b", &version), 0);
    assert_int_equal (version, 2);
}

static void
test_failed_write_leaves_nothing (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);

    //  The disk refuses the next write: the whole group is gone, and its
    //  positions are handed out again
    zcq_store_fail_writes (zcq_log_store (fixture->log), 1);
    zcq_log_begin (fixture->log);
    assert_int_equal (s_stage (fixture->log, "a", 2, "Deposited"), 2);
    assert_int_equal (s_stage (fixture->log, "b", 1, "Opened"), 3);
    assert_int_equal (zcq_log_commit (fixture->log, true), -1);
    assert_int_equal (zcq_log_head (fixture->log), 1);
    assert_int_equal (zcq_log_staged_head (fixture->log), 1);
    uint64_t version;
    assert_int_equal (zcq_log_stream_version (fixture->log, "b", &version), 0);
    assert_int_equal (version, 0);
    assert_int_equal (zcq_log_stream_version (fixture->log, "a", &version), 0);
    assert_int_equal (version, 1);

    zcq_log_begin (fixture->log);
    assert_int_equal (s_stage (fixture->log, "b", 1, "Opened"), 2);
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
    s_seen_t seen = {0};
    assert_int_equal (zcq_log_read (fixture->log, 1, 100, 1 << 20, s_collect, &seen), 2);
    assert_string_equal (seen.streams [1], "b");
}

static void
test_reopen_keeps_everything (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    s_stage (fixture->log, "a", 2, "Deposited");
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
    //  Staged but never committed: lost with the close, as after a crash
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 3, "Deposited");
    char cluster [ZCQ_LOG_ID_TEXT], incarnation [ZCQ_LOG_ID_TEXT];
    snprintf (cluster, sizeof cluster, "%s", zcq_log_cluster (fixture->log));
    snprintf (incarnation, sizeof incarnation, "%s", zcq_log_incarnation (fixture->log));
    assert_int_equal (strspn (cluster, "0123456789abcdef"), 32);
    assert_int_equal (strspn (incarnation, "0123456789abcdef"), 32);
    assert_string_not_equal (cluster, incarnation);
    zcq_log_destroy (&fixture->log);

    //  The identity is the log's: the same after a reopen
    fixture->log = zcq_log_new (fixture->dir, NULL);
    assert_non_null (fixture->log);
    assert_string_equal (zcq_log_cluster (fixture->log), cluster);
    assert_string_equal (zcq_log_incarnation (fixture->log), incarnation);
    assert_int_equal (zcq_log_head (fixture->log), 2);
    uint64_t version;
    assert_int_equal (zcq_log_stream_version (fixture->log, "a", &version), 0);
    assert_int_equal (version, 2);
    zcq_log_begin (fixture->log);
    assert_int_equal (s_stage (fixture->log, "a", 3, "Deposited"), 3);
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
}

//  Seal a group of one event in a write group member's log, as its leader
//  proposes it: numbered (the replica's "m:group") and, as the write node
//  does, with the identity carried (zcq_log_carry_identity), then applied
//  to the store given. Returns true if the group carried the identity.
static bool
s_propose (zcq_log_t *log, zcq_store_t *store, uint64_t number, uint64_t version)
{
    zcq_log_begin (log);
    s_stage (log, "a", version, "Deposited");
    zcq_group_t *group = zcq_log_seal (log);
    zcq_log_carry_identity (log, group);
    zcq_batch_t *batch = zcq_group_batch (group);
    bool carried = zcq_batch_puts_prefix (batch, "m:cluster", 9);
    assert_int_equal (zcq_batch_puts_prefix (batch, "m:incarnation", 13), carried);
    byte value [8];
    zcq_store_put_be64 (value, number);
    zcq_batch_put (batch, "m:group", 7, value, 8);
    assert_int_equal (zcq_store_write (store, batch, true), 0);
    zcq_log_sealed (log, group, true);
    zcq_group_destroy (&group);
    return carried;
}

//  A leader carries its log's identity in the first group of each lead
//  (a lead begins with a reload), not in every group: a member that
//  applies the groups takes the identity with the first, and finds it
//  again after a restart, though later groups hold none.
static void
test_a_lead_carries_the_identity_in_its_first_group (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    assert_int_equal (zcq_log_set_group_member (fixture->log), 0);
    char *dir = zcq_testkit_tmpdir ("log-member");
    zcq_log_t *member = zcq_log_new (dir, NULL);
    assert_non_null (member);
    assert_int_equal (zcq_log_set_group_member (member), 0);
    assert_string_equal (zcq_log_cluster (member), ""); //  no group applied yet

    //  The leader's groups, applied to its own store and to the member's
    zcq_store_t *store = zcq_log_store (member);
    assert_true (s_propose (fixture->log, store, 1, 1));
    assert_false (s_propose (fixture->log, store, 2, 2));
    assert_false (s_propose (fixture->log, store, 3, 3));
    assert_int_equal (zcq_log_reload (fixture->log), 0); //  a new lead
    assert_true (s_propose (fixture->log, store, 4, 4));
    assert_false (s_propose (fixture->log, store, 5, 5));

    //  The leader's own log is settled by its own groups: the same ids
    char cluster [ZCQ_LOG_ID_TEXT], incarnation [ZCQ_LOG_ID_TEXT];
    snprintf (cluster, sizeof cluster, "%s", zcq_log_cluster (fixture->log));
    snprintf (incarnation, sizeof incarnation, "%s", zcq_log_incarnation (fixture->log));
    assert_int_equal (strspn (cluster, "0123456789abcdef"), 32);
    assert_int_equal (zcq_log_reload (member), 0);
    assert_string_equal (zcq_log_cluster (member), cluster);
    assert_string_equal (zcq_log_incarnation (member), incarnation);

    //  Restarted, the member still holds the group's identity, not its own
    zcq_log_destroy (&member);
    member = zcq_log_new (dir, NULL);
    assert_non_null (member);
    assert_int_equal (zcq_log_set_group_member (member), 0);
    assert_string_equal (zcq_log_cluster (member), cluster);
    assert_string_equal (zcq_log_incarnation (member), incarnation);
    zcq_log_destroy (&member);
    zcq_testkit_rmtree (dir);
    free (dir);
}

//  Table files (*.ldb) in a store's folder: LevelDB writes one when a
//  memtable fills up.
static int
s_tables (const char *dir)
{
    int tables = 0;
    DIR *folder = opendir (dir);
    assert_non_null (folder);
    struct dirent *entry;
    while ((entry = readdir (folder))) {
        size_t length = strlen (entry->d_name);
        tables += length > 4 && streq (entry->d_name + length - 4, ".ldb");
    }
    closedir (folder);
    return tables;
}

//  zcq_log_open's memtable is the store's: a small one is written to a
//  table while the default one (zcq_log_new, 16 MiB) still holds the same
//  events; both logs read them back alike.
static void
test_open_sets_the_memtable (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *dir = zcq_testkit_tmpdir ("small");
    zcq_log_t *small = zcq_log_open (dir, NULL, 256 * 1024);
    assert_non_null (small);
    zcq_log_t *logs [] = {fixture->log, small};
    for (int log = 0; log < 2; log++) {
        for (int group = 0; group < 80; group++) {
            zcq_log_begin (logs [log]);
            for (int event = 0; event < 50; event++) {
                char stream [32];
                snprintf (stream, sizeof stream, "account-%d", event);
                s_stage (logs [log], stream, (uint64_t) group + 1, "Deposited");
            }
            assert_int_equal (zcq_log_commit (logs [log], false), 0);
        }
    }
    //  The flush runs on LevelDB's own thread: wait for it, bounded
    int64_t deadline = zclock_mono () + 10000;
    while (s_tables (dir) == 0 && zclock_mono () < deadline) {
        zclock_sleep (10);
    }
    assert_true (s_tables (dir) > 0);
    assert_int_equal (s_tables (fixture->dir), 0);
    for (int log = 0; log < 2; log++) {
        assert_int_equal (zcq_log_head (logs [log]), 4000);
        s_seen_t seen = {0};
        assert_int_equal (zcq_log_read (logs [log], 3990, 64, 1 << 20, s_collect, &seen), 11);
        assert_int_equal (seen.positions [10], 4000);
        assert_string_equal (seen.streams [10], "account-49");
        assert_int_equal (seen.versions [10], 80);
    }
    zcq_log_destroy (&small);
    zcq_testkit_rmtree (dir);
    free (dir);
}

static void
test_refuses_a_folder_that_is_not_a_log (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("notlog");
    zcq_store_t *store = zcq_store_new (dir);
    assert_non_null (store);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "m:format", 8, "something-else", 14);
    assert_int_equal (zcq_store_write (store, batch, true), 0);
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&store);

    zcq_log_t *log = zcq_log_new (dir, NULL);
    assert_null (log);
    zcq_testkit_rmtree (dir);
    free (dir);
}

//  An outcome body for command id `tag` (all its bytes), as staged
static void
s_stage_outcome (zcq_log_t *log, byte tag)
{
    byte id [ZCQ_COMMAND_ID];
    memset (id, tag, sizeof (id));
    zcq_log_stage_outcome (log, id, "\x80", 1, zcq_event_now ());
}

static bool
s_has_outcome (zcq_log_t *log, byte tag)
{
    byte id [ZCQ_COMMAND_ID];
    memset (id, tag, sizeof (id));
    byte *stored = NULL;
    size_t size = 0;
    int rc = zcq_log_find_reply (log, id, &stored, &size);
    assert_true (rc >= 0);
    free (stored);
    return rc == 0;
}

typedef struct {
    byte tags [16];          //  first byte of each id visited
    uint64_t sequences [16]; //  its sequence
    int count;               //  ids visited
} s_ids_seen_t;

static void
s_collect_id (const byte *id, uint64_t sequence, void *arg)
{
    s_ids_seen_t *seen = (s_ids_seen_t *) arg;
    assert_true (seen->count < 16);
    seen->tags [seen->count] = id [0];
    seen->sequences [seen->count++] = sequence;
}

static int
s_count_event (const byte *body, size_t size, void *arg)
{
    (void) body;
    (void) size;
    (*(int *) arg)++;
    return 0;
}

//  A store that moved on under its log (a write group member's replica
//  wrote it): zcq_log_follow_head takes the new head alone,
//  zcq_log_follow_store the head and the events after the old one (none
//  with no visitor); a store below the log is read as a reload reads it
static void
test_follow_takes_the_head_the_store_moved_to (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    s_stage (fixture->log, "a", 1, "Opened");
    s_stage (fixture->log, "b", 1, "Opened");
    s_stage (fixture->log, "a", 2, "Deposited");
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
    uint64_t sequence = zcq_log_newest_sequence (fixture->log);

    zcq_log_follow (fixture->log, 1, sequence); //  as if it stood at 1
    assert_int_equal (zcq_log_follow_head (fixture->log), 0);
    assert_int_equal (zcq_log_head (fixture->log), 3);
    assert_int_equal (zcq_log_newest_sequence (fixture->log), sequence);

    int visited = 0;
    zcq_log_follow (fixture->log, 1, sequence);
    assert_int_equal (zcq_log_follow_store (fixture->log, s_count_event, &visited), 2);
    assert_int_equal (visited, 2);
    assert_int_equal (zcq_log_head (fixture->log), 3);
    zcq_log_follow (fixture->log, 1, sequence);
    assert_int_equal (zcq_log_follow_store (fixture->log, NULL, NULL), 0);
    assert_int_equal (zcq_log_head (fixture->log), 3);

    zcq_log_follow (fixture->log, 10, 0); //  above the store
    assert_int_equal (zcq_log_follow_head (fixture->log), 0);
    assert_int_equal (zcq_log_head (fixture->log), 3);
    assert_int_equal (zcq_log_newest_sequence (fixture->log), sequence);
    s_assert_dense (fixture->log, 3);
}

//  One retention record per group; forgetting may stop inside a record,
//  and where it stopped is kept across a reopen
static void
test_retention_records_are_per_group (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_log_begin (fixture->log);
    for (byte tag = 1; tag <= 3; tag++) {
        s_stage_outcome (fixture->log, tag);
    }
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
    zcq_log_begin (fixture->log);
    s_stage_outcome (fixture->log, 4);
    s_stage_outcome (fixture->log, 5);
    assert_int_equal (zcq_log_commit (fixture->log, true), 0);
    assert_int_equal (zcq_log_newest_sequence (fixture->log), 5);
    zcq_store_t *store = zcq_log_store (fixture->log);

    //  Keep 3: the first two ids go, the first record stays for its third
    uint64_t oldest = 0;
    assert_int_equal (zcq_log_forget_ids (store, &oldest, 5, 3, INT64_MIN, 100), 2);
    assert_int_equal (oldest, 3);
    assert_false (s_has_outcome (fixture->log, 1));
    assert_false (s_has_outcome (fixture->log, 2));
    assert_true (s_has_outcome (fixture->log, 3));

    //  Reopened, the walk starts where it stopped
    zcq_log_destroy (&fixture->log);
    fixture->log = zcq_log_new (fixture->dir, NULL);
    assert_non_null (fixture->log);
    assert_int_equal (zcq_log_newest_sequence (fixture->log), 5);
    store = zcq_log_store (fixture->log);
    oldest = 0;
    assert_int_equal (zcq_log_forget_ids (store, &oldest, 5, 3, INT64_MIN, 100), 0);
    assert_int_equal (oldest, 3);
    //  Keep 1, at most one at a time: the limit stops the walk
    assert_int_equal (zcq_log_forget_ids (store, &oldest, 5, 1, INT64_MIN, 1), 1);
    assert_int_equal (oldest, 4);
    assert_int_equal (zcq_log_forget_ids (store, &oldest, 5, 1, INT64_MIN, 100), 1);
    assert_int_equal (oldest, 5);
    assert_false (s_has_outcome (fixture->log, 4));
    assert_true (s_has_outcome (fixture->log, 5));
    //  The first record is gone, the second is visited whole
    s_ids_seen_t seen = {{0}, {0}, 0};
    assert_int_equal (zcq_log_visit_ids (fixture->log, s_collect_id, &seen), 0);
    assert_int_equal (seen.count, 2);
    assert_int_equal (seen.tags [0], 4);
    assert_int_equal (seen.sequences [0], 4);
    assert_int_equal (seen.tags [1], 5);
    assert_int_equal (seen.sequences [1], 5);
    //  By age: everything older than now goes, and the sequence goes on
    assert_int_equal (zcq_log_forget_ids (store, &oldest, 5, 0, INT64_MAX, 100), 1);
    assert_int_equal (oldest, 6);
    assert_false (s_has_outcome (fixture->log, 5));
}

//  A folder of the layout before (zcqrs-log-1) is converted on open: its
//  stream version keys go, everything else reads as it did
static void
test_old_layout_is_converted (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("oldlog");
    zcq_store_t *store = zcq_store_new (dir);
    assert_non_null (store);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "m:format", 8, "zcqrs-log-1", 11);
    byte number [8];
    zcq_store_put_be64 (number, 1);
    zcq_batch_put (batch, "m:head", 6, number, 8);
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_stream (event, "a");
    zcq_msg_set_version (event, 1);
    zcq_msg_set_position (event, 1);
    zcq_msg_set_name (event, "Opened");
    zcq_msg_set_time (event, zcq_event_now ());
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (zcq_msg_encode_body (event, &buffer), 0);
    byte key [16] = {'e', ':'};
    zcq_store_put_be64 (key + 2, 1);
    zcq_batch_put (batch, key, 10, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_destroy (&event);
    memcpy (key, "s:a\0", 4);
    zcq_store_put_be64 (key + 4, 1);
    zcq_batch_put (batch, key, 12, number, 8);
    zcq_batch_put (batch, "v:a", 3, number, 8);
    byte id [ZCQ_COMMAND_ID];
    memset (id, 7, sizeof (id));
    byte outcome [2 + ZCQ_COMMAND_ID] = {'c', ':'};
    memcpy (outcome + 2, id, sizeof (id));
    zcq_batch_put (batch, outcome, sizeof (outcome), "\x80", 1);
    byte order [10] = {'t', ':'}, value [8 + ZCQ_COMMAND_ID];
    zcq_store_put_be64 (order + 2, 1);
    zcq_store_put_be64 (value, (uint64_t) zcq_event_now ());
    memcpy (value + 8, id, sizeof (id));
    zcq_batch_put (batch, order, sizeof (order), value, sizeof (value));
    assert_int_equal (zcq_store_write (store, batch, true), 0);
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&store);

    zcq_log_t *log = zcq_log_new (dir, NULL);
    assert_non_null (log);
    assert_int_equal (zcq_log_head (log), 1);
    assert_int_equal (zcq_log_newest_sequence (log), 1);
    uint64_t version = 0;
    assert_int_equal (zcq_log_stream_version (log, "a", &version), 0);
    assert_int_equal (version, 1);
    assert_true (s_has_outcome (log, 7));
    //  Its event, one body under its own key, reads as a record of one
    s_seen_t seen = {0};
    assert_int_equal (zcq_log_read (log, 1, 100, 1 << 20, s_collect, &seen), 1);
    assert_int_equal (seen.positions [0], 1);
    assert_int_equal (zcq_log_read_stream (log, "a", 1, s_collect, &seen), 1);
    byte *stored = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (zcq_log_store (log), "v:a", 3, &stored, &size), 1);
    assert_int_equal (zcq_store_get (zcq_log_store (log), "m:format", 8, &stored, &size), 0);
    assert_memory_equal (stored, "zcqrs-log-3", 11);
    free (stored);
    zcq_log_destroy (&log);
    zcq_testkit_rmtree (dir);
    free (dir);
}

static void
test_big_endian_keys_sort_by_number (void **state)
{
    (void) state;
    byte low [8], high [8];
    zcq_store_put_be64 (low, 255);
    zcq_store_put_be64 (high, 256);
    assert_true (memcmp (low, high, 8) < 0);
    assert_int_equal (zcq_store_get_be64 (high), 256);
    zcq_store_put_be64 (high, UINT64_MAX);
    assert_true (zcq_store_get_be64 (high) == UINT64_MAX);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_new_log_is_empty, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_group_gets_dense_positions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_follow_takes_the_head_the_store_moved_to, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_reads_are_bounded_and_start_anywhere, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_stream_read_visits_one_stream_in_order, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replies_are_stored_with_the_group, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_group_tells_if_it_forgets, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_recycled_group_is_staged_into_anew, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_failed_write_leaves_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reopen_keeps_everything, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_lead_carries_the_identity_in_its_first_group,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_open_sets_the_memtable, s_setup, s_teardown),
        cmocka_unit_test (test_refuses_a_folder_that_is_not_a_log),
        cmocka_unit_test_setup_teardown (test_retention_records_are_per_group, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_old_layout_is_converted),
        cmocka_unit_test (test_big_endian_keys_sort_by_number),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
