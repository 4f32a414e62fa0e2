/*  =========================================================================
    test_write_group - a write group of three real zcqrs-write processes
    (Raft on 127.0.0.1 TCP ports, commands on ipc://, real LevelDB folders):
    followers hold the leader's very log and answer not_leader; a killed or
    stopped leader is replaced; a retried command id has one outcome; a
    leader deposed with several groups in Raft answers every one of them
    unavailable; a member started on an empty folder catches up; a
    forgotten stream's key is destroyed on every member
    =========================================================================
*/

#include "zcq_keys.h"
#include "zcq_replica.h"
#include "zcq_store.h"
#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>

#define WAIT     10000 //  ms any single wait may take at most
#define MEMBERS  3
#define ROUNDS   1600 //  groups of the long run (test_the_raft_log_stays_bounded)
#define FAILOVER 5000 //  ms a new leader may take (the target is 3 s: make bench measures it)
#define PURGE    5000 //  ms a forget may take to leave every file of a member (Raft log too)
#define GROUPS   ZCQ_REPLICA_IN_FLIGHT //  most groups a leader has in Raft at once

typedef struct {
    char *dir;                         //  temporary folder
    char raft [256];                   //  --raft list
    char endpoints [MEMBERS * 128];    //  --members list
    char commands [MEMBERS][128];      //  each member's commands endpoint
    zcq_testkit_node_t node [MEMBERS]; //  the processes
    zcq_client_t *client [MEMBERS];    //  a client of each member
    char copies [MEMBERS * 128];       //  --copy list
    const char *keep;                  //  --keep-ids, or NULL: the default
    const char *snapshot;              //  --raft-snapshot, or NULL: the default
    const char *trailing;              //  --raft-trailing, or NULL: the default
    const char *election;              //  --election, or NULL: the default
    const char *overlap;               //  --raft-overlap, or NULL: 16 (the default)
} group_t;

static void
s_start (group_t *group, int index)
{
    char member [16], data [300], events [300], replay [300];
    snprintf (member, sizeof (member), "%d", index + 1);
    snprintf (data, sizeof (data), "%s/member-%d", group->dir, index + 1);
    snprintf (events, sizeof (events), "ipc://%s/events-%d", group->dir, index + 1);
    snprintf (replay, sizeof (replay), "ipc://%s/replay-%d", group->dir, index + 1);
    zcq_testkit_start (&group->node [index], group->dir, "zcqrs-write", "--member", member,
                       "--raft", group->raft, "--members", group->endpoints, "--commands",
                       group->commands [index], "--events", events, "--replay", replay,
                       "--data", data, "--copy", group->copies, "--raft-snapshot",
                       group->snapshot ? group->snapshot : "4096", "--raft-trailing",
                       group->trailing ? group->trailing : "1024", "--raft-segment", "65536",
                       "--election", group->election ? group->election : "1000",
                       "--raft-overlap", group->overlap ? group->overlap : "16",
                       group->keep ? "--keep-ids" : NULL, group->keep, NULL);
    assert_int_equal (zcq_testkit_wait_ready (group->commands [index], WAIT), 0);
}

//  A group whose members take a Raft snapshot every `snapshot` entries
//  and keep `trailing` behind it (NULL: the defaults), keeping `keep`
//  command ids (NULL: the default).
static group_t *s_group_make (const char *keep, const char *snapshot, const char *trailing);

static group_t *
s_group_new_with (const char *keep, const char *snapshot, const char *trailing)
{
    group_t *group = s_group_make (keep, snapshot, trailing);
    for (int index = 0; index < MEMBERS; index++) {
        s_start (group, index);
    }
    return group;
}

//  The same, with nothing started yet.
static group_t *
s_group_make (const char *keep, const char *snapshot, const char *trailing)
{
    group_t *group = (group_t *) zmalloc (sizeof (group_t));
    group->keep = keep;
    group->snapshot = snapshot;
    group->trailing = trailing;
    group->dir = zcq_testkit_tmpdir ("write-group");
    for (int index = 0; index < MEMBERS; index++) {
        snprintf (group->commands [index], 128, "ipc://%s/commands-%d", group->dir, index + 1);
        char item [160];
        snprintf (item, sizeof (item), "%s127.0.0.1:%d", index ? "," : "",
                  zcq_testkit_free_port ());
        strcat (group->raft, item);
        snprintf (item, sizeof (item), "%s%s", index ? "," : "", group->commands [index]);
        strcat (group->endpoints, item);
        snprintf (item, sizeof (item), "%sipc://%s/copy-%d", index ? "," : "", group->dir,
                  index + 1);
        strcat (group->copies, item);
    }
    for (int index = 0; index < MEMBERS; index++) {
        group->client [index] = zcq_client_new (group->commands [index]);
        zcq_client_set_attempts (group->client [index], 1);
    }
    return group;
}

static group_t *
s_group_new_keeping (const char *keep)
{
    return s_group_new_with (keep, NULL, NULL);
}

static group_t *
s_group_new (void)
{
    return s_group_new_keeping (NULL);
}

//  Stop every member still running (a clean stop exits 0).
static void
s_group_stop (group_t *group)
{
    for (int index = 0; index < MEMBERS; index++) {
        if (group->node [index].pid) {
            assert_int_equal (zcq_testkit_stop (&group->node [index]), 0);
        }
    }
}

static void
s_group_destroy (group_t **group_p)
{
    group_t *group = *group_p;
    for (int index = 0; index < MEMBERS; index++) {
        zcq_client_destroy (&group->client [index]);
    }
    s_group_stop (group);
    zcq_testkit_rmtree (group->dir);
    free (group->dir);
    free (group);
    *group_p = NULL;
}

//  A member's status (NULL if it does not answer within timeout_ms).
static zcq_msg_t *
s_status (group_t *group, int index, int timeout_ms)
{
    zcq_msg_t *status = zcq_client_write_status (group->client [index], timeout_ms);
    if (status && zcq_msg_status (status) != ZCQ_OK) {
        zcq_msg_destroy (&status);
    }
    return status;
}

static int64_t
s_status_int (zcq_msg_t *status, const char *key)
{
    return zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status), key);
}

static bool
s_status_is (zcq_msg_t *status, const char *key, const char *value)
{
    char *text = zcq_testkit_str (zcq_msg_data (status), zcq_msg_data_size (status), key);
    bool same = text && streq (text, value);
    free (text);
    return same;
}

//  Wait for a member other than `except` to lead; returns its index, or -1
//  after timeout_ms.
static int
s_leader (group_t *group, int except, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        for (int index = 0; index < MEMBERS; index++) {
            if (index == except || !group->node [index].pid) {
                continue;
            }
            zcq_msg_t *status = s_status (group, index, 200);
            bool leads = status && s_status_is (status, "group_role", "leader");
            zcq_msg_destroy (&status);
            if (leads) {
                return index;
            }
        }
        zclock_sleep (20); //  a bounded poll of an observable state
    }
    return -1;
}

//  Wait until member index's status has key at value, failing at deadline
//  (zclock_mono ms).
static void
s_await_until (group_t *group, int index, const char *key, int64_t value, int64_t deadline)
{
    int64_t seen = -1;
    while (seen != value && zclock_mono () < deadline) {
        zcq_msg_t *status = s_status (group, index, 500);
        seen = status ? s_status_int (status, key) : -1;
        zcq_msg_destroy (&status);
        if (seen != value) {
            zclock_sleep (5);
        }
    }
    if (seen != value) {
        fail_msg ("member %d has %s %" PRId64 ", not %" PRId64, index + 1, key, seen, value);
    }
}

//  Wait until every running member's status has key at value.
static void
s_await (group_t *group, const char *key, uint64_t value)
{
    int64_t deadline = zclock_mono () + WAIT;
    for (int index = 0; index < MEMBERS; index++) {
        if (group->node [index].pid) {
            s_await_until (group, index, key, (int64_t) value, deadline);
        }
    }
}

//  A command of "field=value" words to a member; returns its reply.
static zcq_msg_t *
s_command (const char *type, const char *stream, const char *word)
{
    msgpack_sbuffer *data = zcq_testkit_map (word, NULL);
    zcq_msg_t *command =
        zcq_client_command (type, stream, ZCQ_EXPECT_ANY, data->data, data->size);
    msgpack_sbuffer_free (data);
    return command;
}

static zcq_msg_t *
s_send (group_t *group, int index, zcq_msg_t *command)
{
    zcq_msg_t *reply = zcq_client_request (group->client [index], command, WAIT);
    assert_non_null (reply);
    return reply;
}

//  Send a new command to a member and check its status; returns the position.
static uint64_t
s_expect (group_t *group, int index, zcq_status_t status, const char *type, const char *stream,
          const char *word)
{
    zcq_msg_t *command = s_command (type, stream, word);
    zcq_msg_t *reply = s_send (group, index, command);
    if (zcq_msg_status (reply) != status) {
        fail_msg ("%s on member %d: %s (%s), wanted %s", type, index + 1,
                  zcq_status_name (zcq_msg_status (reply)), zcq_msg_reason (reply),
                  zcq_status_name (status));
    }
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&command);
    return position;
}

//  Every key and value of a member's folder, as one chunk (they are
//  compared whole: same positions, bytes, outcomes, index, head).
static zchunk_t *
s_folder (group_t *group, int index)
{
    char path [300];
    snprintf (path, sizeof (path), "%s/member-%d", group->dir, index + 1);
    zcq_store_t *store = zcq_store_new (path);
    assert_non_null (store);
    zchunk_t *chunk = zcq_testkit_store_chunk (store);
    zcq_store_destroy (&store);
    return chunk;
}

//  Number of command outcomes ("c:" keys) in a stopped member's folder.
static size_t
s_outcomes (group_t *group, int index)
{
    char path [300];
    snprintf (path, sizeof (path), "%s/member-%d", group->dir, index + 1);
    zcq_store_t *store = zcq_store_new (path);
    assert_non_null (store);
    zcq_iter_t *iter = zcq_iter_new (store, false);
    size_t count = 0;
    for (zcq_iter_seek (iter, "c:", 2); zcq_iter_has_prefix (iter, "c:", 2);
         zcq_iter_next (iter)) {
        count++;
    }
    zcq_iter_destroy (&iter);
    zcq_store_destroy (&store);
    return count;
}

//  Stop the group and check that every member holds the same folder.
static void
s_assert_same_logs (group_t *group)
{
    s_group_stop (group);
    zchunk_t *first = s_folder (group, 0);
    assert_true (zchunk_size (first) > 0);
    for (int index = 1; index < MEMBERS; index++) {
        zchunk_t *other = s_folder (group, index);
        if (zchunk_size (other) != zchunk_size (first)
            || memcmp (zchunk_data (other), zchunk_data (first), zchunk_size (first)) != 0) {
            fail_msg ("member %d's folder differs from member 1's (%zu and %zu bytes)",
                      index + 1, zchunk_size (other), zchunk_size (first));
        }
        zchunk_destroy (&other);
    }
    zchunk_destroy (&first);
}

static void
test_followers_hold_the_leaders_log (void **state)
{
    (void) state;
    //  Retention keeps 8 outcomes: every member forgets the same ones
    group_t *group = s_group_new_keeping ("8");
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    int follower = (leader + 1) % MEMBERS;
    //  A follower learns who leads from the leader's first message to it,
    //  which may come after the leader knows it leads (seen under ASan)
    s_await (group, "group_leader", (uint64_t) leader + 1);

    //  A follower refuses commands and names the leader
    zcq_msg_t *command = s_command ("OpenAccount", "acc-1", "owner=ann");
    zcq_msg_t *reply = s_send (group, follower, command);
    assert_int_equal (zcq_msg_status (reply), ZCQ_NOT_LEADER);
    assert_string_equal (zcq_msg_leader (reply), group->commands [leader]);
    zcq_msg_destroy (&reply);
    //  ... and nothing was stored: the same id is decided by the leader
    reply = s_send (group, leader, command);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 1);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&command);

    uint64_t head = 1;
    for (int round = 0; round < 20; round++) {
        head = s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=10");
    }
    //  A rejection is an outcome too: replicated, stored, nothing appended
    s_expect (group, leader, ZCQ_REJECTED, "Withdraw", "acc-1", "amount=100000");
    assert_int_equal (head, 21);
    //  A deleted stream's events are hidden on every member alike
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acc-2", "owner=bob");
    head = s_expect (group, leader, ZCQ_ACCEPTED, "$DeleteStream", "acc-2", NULL);
    assert_int_equal (head, 23);
    s_await (group, "head", head);
    s_await (group, "group_applied", 24); //  the groups, the rejection's included

    //  Followers publish what they apply and serve replay: status says so
    zcq_msg_t *status = s_status (group, follower, WAIT);
    assert_non_null (status);
    assert_true (s_status_is (status, "group_role", "follower"));
    assert_int_equal (s_status_int (status, "group_leader"), leader + 1);
    assert_int_equal (s_status_int (status, "group_members"), MEMBERS);
    assert_true (s_status_int (status, "group_term") >= 1);
    zcq_msg_destroy (&status);
    s_assert_same_logs (group);
    assert_int_equal (s_outcomes (group, 0), 8);
    s_group_destroy (&group);
}

//  True if a file of the LevelDB folder path (its own files, not the Raft
//  log in its raft/ folder, searched apart) holds these bytes.
static bool
s_store_holds (const char *path, const void *bytes, size_t length)
{
    DIR *dir = opendir (path);
    assert_non_null (dir);
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir (dir))) {
        char *child = zsys_sprintf ("%s/%s", path, entry->d_name);
        struct stat info;
        if (stat (child, &info) == 0 && S_ISREG (info.st_mode)) {
            found = zcq_testkit_files_hold_bytes (child, bytes, length);
        }
        zstr_free (&child);
    }
    closedir (dir);
    return found;
}

//  True if any file of member index's folders (its data folder with its
//  Raft log in raft/, and its key table) holds these bytes.
static bool
s_member_holds (group_t *group, int index, const void *bytes, size_t length)
{
    char path [300];
    snprintf (path, sizeof path, "%s/member-%d", group->dir, index + 1);
    bool held = zcq_testkit_files_hold_bytes (path, bytes, length);
    snprintf (path, sizeof path, "%s/member-%d-keys", group->dir, index + 1);
    return held || zcq_testkit_files_hold_bytes (path, bytes, length);
}

//  Poll (bounded by PURGE ms) until no file of any member but `except`
//  (-1: none) holds the key or the text; true once none does. Prints how
//  long it took.
static bool
s_members_lose (group_t *group, int except, const byte key [ZCQ_SEAL_KEY], const char *text)
{
    int64_t start = zclock_mono ();
    while (true) {
        int held = -1;
        for (int index = 0; index < MEMBERS && held < 0; index++) {
            if (index != except
                && (s_member_holds (group, index, key, ZCQ_SEAL_KEY)
                    || s_member_holds (group, index, text, strlen (text)))) {
                held = index;
            }
        }
        if (held < 0) {
            printf ("test_write_group: the forgotten key left every file (Raft logs "
                    "included) after %" PRId64 " ms\n",
                    zclock_mono () - start);
            return true;
        }
        if (zclock_mono () - start > PURGE) {
            fprintf (stderr, "member %d still holds the forgotten stream's key or owner\n",
                     held + 1);
            return false;
        }
        zclock_sleep (20); //  a poll of the files
    }
}

static int s_log_count (group_t *group, const char *text);
static bool s_log_says (group_t *group, const char *text);

//  Poll (bounded) until `count` purges of a forget's entry from a Raft log
//  have ended, as the members' log says.
static bool
s_purges_end (group_t *group, int count)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (s_log_count (group, "holds no entry up to the forget") < count) {
        if (zclock_mono () > deadline) {
            return false;
        }
        zclock_sleep (20); //  a poll of the log
    }
    return true;
}

//  A stream's key in member index's key table: zcq_keys_find's answer.
static int
s_member_key (group_t *group, int index, const char *stream, byte key [ZCQ_SEAL_KEY])
{
    char path [300];
    snprintf (path, sizeof path, "%s/member-%d-keys", group->dir, index + 1);
    return zcq_testkit_table_key (path, stream, key);
}

//  A new group whose members all know their leader (*leader: its index),
//  and the stream opened with the secret as its owner.
static group_t *
s_group_with_owner (int *leader, const char *stream, const char *secret)
{
    group_t *group = s_group_new ();
    *leader = s_leader (group, -1, WAIT);
    assert_true (*leader >= 0);
    s_await (group, "group_leader", (uint64_t) *leader + 1);
    char word [64];
    snprintf (word, sizeof word, "owner=%s", secret);
    s_expect (group, *leader, ZCQ_ACCEPTED, "OpenAccount", stream, word);
    return group;
}

//  The log goes on after a forget (a deposit to stream reaches every
//  member), every member holds the same folder; the group is destroyed.
static void
s_group_goes_on (group_t **group_p, int leader, const char *stream)
{
    group_t *group = *group_p;
    uint64_t head = s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", stream, "amount=1");
    s_await (group, "head", head);
    s_assert_same_logs (group);
    s_group_destroy (group_p);
}

//  A personal field in a group: every member's key table gets the
//  stream's key through the replicated log (its data folder never does,
//  nor the owner in plain); a $Forget on the leader destroys it on every
//  member, followers included (they destroy it when they apply the
//  forget's group: the group carries the "f:" mark, not the deletion),
//  and within seconds no member's Raft log holds the entry that carried
//  the key either (each member purges its log up to the forget's entry)
static void
test_a_forget_destroys_the_key_on_every_member (void **state)
{
    (void) state;
    const char *secret = "Qw7Nd3Kx9Vb2Hs";
    int leader = -1;
    group_t *group = s_group_with_owner (&leader, "acct-secret", secret);
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acct-keep", "owner=Zp4Lm8Rt");
    uint64_t head =
        s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acct-secret", "amount=5");
    s_await (group, "head", head);
    byte key [ZCQ_SEAL_KEY], other [ZCQ_SEAL_KEY];
    assert_int_equal (s_member_key (group, 0, "acct-secret", key), 0);
    for (int index = 1; index < MEMBERS; index++) {
        assert_int_equal (s_member_key (group, index, "acct-secret", other), 0);
        assert_memory_equal (other, key, ZCQ_SEAL_KEY);
    }
    char path [300];
    for (int index = 0; index < MEMBERS; index++) {
        snprintf (path, sizeof path, "%s/member-%d", group->dir, index + 1);
        assert_false (s_store_holds (path, key, sizeof key));
        assert_false (zcq_testkit_files_hold (path, secret));
        snprintf (path, sizeof path, "%s/member-%d-keys", group->dir, index + 1);
        assert_true (s_store_holds (path, key, sizeof key)); //  the search finds it there
    }

    //  The Raft log holds the key's entry: the search can find it there
    snprintf (path, sizeof path, "%s/member-%d/raft", group->dir, leader + 1);
    assert_true (zcq_testkit_files_hold_bytes (path, key, sizeof key));

    head = s_expect (group, leader, ZCQ_ACCEPTED, "$Forget", "acct-secret", NULL);
    s_await (group, "head", head);
    assert_true (s_members_lose (group, -1, key, secret));
    for (int index = 0; index < MEMBERS; index++) {
        assert_int_equal (s_member_key (group, index, "acct-secret", other), 1);
        assert_int_equal (s_member_key (group, index, "acct-keep", other), 0);
        snprintf (path, sizeof path, "%s/member-%d", group->dir, index + 1);
        assert_false (zcq_testkit_files_hold (path, secret));
    }
    //  Each member's purge ended (it takes the configured snapshots again)
    assert_true (s_purges_end (group, MEMBERS));
    assert_false (s_log_says (group, "they go with a later snapshot"));
    s_group_goes_on (&group, leader, "acct-keep");
}

//  A member stopped before a forget and started after it: once it has
//  caught up (by the forget's entry, or by a snapshot and a store copy
//  when the leader kept too few entries), its Raft log no longer holds the
//  entry that carried the key, nor does any other file of it.
static void
test_a_member_back_after_a_forget_purges_its_raft_log (void **state)
{
    (void) state;
    const char *secret = "Jr5Tb8Wq2Mz6Yc";
    int leader = -1;
    group_t *group = s_group_with_owner (&leader, "acct-away", secret);
    uint64_t head = s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acct-away", "amount=5");
    s_await (group, "head", head);
    byte key [ZCQ_SEAL_KEY];
    assert_int_equal (s_member_key (group, leader, "acct-away", key), 0);

    int away = (leader + 1) % MEMBERS;
    assert_int_equal (zcq_testkit_stop (&group->node [away]), 0);
    char path [300];
    snprintf (path, sizeof path, "%s/member-%d/raft", group->dir, away + 1);
    assert_true (zcq_testkit_files_hold_bytes (path, key, sizeof key));
    head = s_expect (group, leader, ZCQ_ACCEPTED, "$Forget", "acct-away", NULL);
    s_await (group, "head", head);
    assert_true (s_members_lose (group, away, key, secret));
    //  Away all along: its Raft log still holds the key's entry
    assert_true (zcq_testkit_files_hold_bytes (path, key, sizeof key));

    s_start (group, away);
    s_await (group, "head", head);
    assert_true (s_members_lose (group, -1, key, secret));
    byte none [ZCQ_SEAL_KEY];
    assert_int_equal (s_member_key (group, away, "acct-away", none), 1);
    assert_true (s_purges_end (group, MEMBERS - 1));
    s_group_goes_on (&group, leader, "acct-away");
}

static void
test_a_killed_leader_is_replaced_and_a_retry_has_one_outcome (void **state)
{
    (void) state;
    group_t *group = s_group_new ();
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    zcq_msg_t *command = s_command ("OpenAccount", "acc-1", "owner=ann");
    zcq_msg_t *reply = s_send (group, leader, command);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    for (int round = 0; round < 10; round++) {
        s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=1");
    }

    int64_t killed = zclock_mono ();
    zcq_testkit_kill (&group->node [leader]);
    int next = s_leader (group, leader, WAIT);
    assert_true (next >= 0);
    //  The new leader takes commands
    s_expect (group, next, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=2");
    int64_t failover = zclock_mono () - killed;
    printf ("test_write_group: leader killed, a new one took a command after %" PRId64 " ms\n",
            failover);
    assert_true (failover < FAILOVER);

    //  The first command again, with its id: the outcome it had, once
    reply = s_send (group, next, command);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), position);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&command);

    //  The dead member comes back on an empty folder and catches up
    char path [300];
    snprintf (path, sizeof (path), "%s/member-%d", group->dir, leader + 1);
    zcq_testkit_rmtree (path);
    s_start (group, leader);
    s_await (group, "head", 12);
    s_assert_same_logs (group);
    s_group_destroy (&group);
}

static void
test_a_stopped_leader_is_replaced_and_steps_down (void **state)
{
    (void) state;
    group_t *group = s_group_new ();
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acc-1", "owner=ann");

    kill (group->node [leader].pid, SIGSTOP);
    int next = s_leader (group, leader, WAIT);
    assert_true (next >= 0);
    assert_int_equal (s_expect (group, next, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=3"), 2);
    kill (group->node [leader].pid, SIGCONT);

    //  The old leader learns of the new term and follows: no second leader
    int64_t deadline = zclock_mono () + WAIT;
    bool follows = false;
    while (!follows && zclock_mono () < deadline) {
        zcq_msg_t *status = s_status (group, leader, 500);
        follows = status && s_status_is (status, "group_role", "follower")
                  && s_status_int (status, "group_leader") == next + 1;
        zcq_msg_destroy (&status);
        if (!follows) {
            zclock_sleep (20);
        }
    }
    assert_true (follows);
    s_expect (group, leader, ZCQ_NOT_LEADER, "Deposit", "acc-1", "amount=4");
    s_await (group, "head", 2);
    s_assert_same_logs (group);
    s_group_destroy (&group);
}

//  Wait until member index's status has key at value.
static void
s_await_member (group_t *group, int index, const char *key, int64_t value)
{
    s_await_until (group, index, key, value, zclock_mono () + WAIT);
}

//  A group started with this election timeout and write/raft_overlap,
//  acc-1 opened on every member, then its followers stopped (SIGSTOP):
//  the leader, in *leader, can commit nothing more until they resume.
static group_t *
s_group_cut_off (const char *election, const char *overlap, int *leader)
{
    group_t *group = s_group_make (NULL, NULL, NULL);
    group->election = election;
    group->overlap = overlap;
    for (int index = 0; index < MEMBERS; index++) {
        s_start (group, index);
    }
    *leader = s_leader (group, -1, WAIT);
    assert_true (*leader >= 0);
    s_expect (group, *leader, ZCQ_ACCEPTED, "OpenAccount", "acc-1", "owner=ann");
    s_await (group, "head", 1);
    for (int index = 0; index < MEMBERS; index++) {
        if (index != *leader) {
            kill (group->node [index].pid, SIGSTOP);
        }
    }
    return group;
}

//  A leader pipelines groups through Raft. Cut off from its followers
//  (stopped) with GROUPS groups in Raft and one more staged, none can
//  commit: it steps down after an election timeout and answers every one
//  of them unavailable, none accepted. Each command retried with its id at
//  the next leader then has exactly one outcome, at dense positions,
//  whatever Raft made of the deposed leader's entries.
static void
test_a_deposed_leader_refuses_every_group_in_flight (void **state)
{
    (void) state;
    //  Room to put GROUPS groups in Raft before it steps down; a group of
    //  one command goes into Raft beside another
    int leader;
    group_t *group = s_group_cut_off ("2000", "1", &leader);
    //  Each command its own group: the next is sent once the one before is
    //  in Raft; the last, beyond the most in flight, waits staged
    zcq_client_t *poster = zcq_client_new (group->commands [leader]);
    assert_non_null (poster);
    zcq_msg_t *commands [GROUPS + 1];
    for (int index = 0; index <= GROUPS; index++) {
        commands [index] = s_command ("Deposit", "acc-1", "amount=1");
        assert_int_equal (zcq_client_post (poster, commands [index]), 0);
        if (index < GROUPS) {
            s_await_member (group, leader, "group_in_flight", index + 1);
        }
    }
    s_await_member (group, leader, "in_flight", GROUPS + 1); //  commands: the last staged
    s_await_member (group, leader, "group_in_flight", GROUPS);
    for (int index = 0; index <= GROUPS; index++) {
        zcq_msg_t *reply = zcq_client_recv_reply (poster, 3 * WAIT);
        assert_non_null (reply);
        if (zcq_msg_status (reply) != ZCQ_UNAVAILABLE) {
            fail_msg ("a command of the deposed leader was answered %s (%s)",
                      zcq_status_name (zcq_msg_status (reply)), zcq_msg_reason (reply));
        }
        zcq_msg_destroy (&reply);
    }
    zcq_client_destroy (&poster);
    s_await_member (group, leader, "group_in_flight", 0);
    s_await_member (group, leader, "in_flight", 0);
    for (int index = 0; index < MEMBERS; index++) {
        if (index != leader) {
            kill (group->node [index].pid, SIGCONT);
        }
    }

    zcq_client_t *client = zcq_client_new (group->endpoints);
    assert_non_null (client);
    zcq_client_set_attempts (client, 40);
    uint64_t positions [GROUPS + 1], seen = 0;
    for (int round = 0; round < 2; round++) {
        for (int index = 0; index <= GROUPS; index++) {
            zcq_msg_t *reply = zcq_client_request (client, commands [index], 3 * WAIT);
            assert_non_null (reply);
            assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
            uint64_t position = zcq_msg_position (reply);
            zcq_msg_destroy (&reply);
            if (round == 0) {
                //  Dense: positions 2 to GROUPS + 2, each once
                assert_in_range (position, 2, GROUPS + 2);
                assert_false (seen & (1u << position));
                seen |= 1u << position;
                positions [index] = position;
            }
            else {
                assert_int_equal (position, positions [index]); //  one outcome
            }
        }
    }
    for (int index = 0; index <= GROUPS; index++) {
        zcq_msg_destroy (&commands [index]);
    }
    zcq_client_destroy (&client);
    s_await (group, "head", GROUPS + 2);
    s_assert_same_logs (group);
    s_group_destroy (&group);
}

//  A group smaller than write/raft_overlap (16 here) is not proposed
//  while another is in Raft: it goes on filling until that one commits,
//  so that a closed loop makes fewer, larger entries. With the followers
//  stopped (for less than an election timeout), one command's group stays
//  in Raft; the next command waits staged, and its group goes into Raft
//  beside the first only once it holds 16 commands. Resumed, every command
//  is accepted, in two groups after the first.
static void
test_a_small_group_waits_for_the_entry_in_raft (void **state)
{
    (void) state;
    //  The leader keeps its lead while the others are stopped
    int leader;
    group_t *group = s_group_cut_off ("5000", "16", &leader);
    zcq_msg_t *before = s_status (group, leader, WAIT);
    assert_non_null (before);
    int64_t groups = s_status_int (before, "groups"); //  (none written since: cut off)
    zcq_msg_destroy (&before);
    zcq_client_t *poster = zcq_client_new (group->commands [leader]);
    assert_non_null (poster);
    zcq_msg_t *command = s_command ("Deposit", "acc-1", "amount=1");
    assert_int_equal (zcq_client_post (poster, command), 0);
    zcq_msg_destroy (&command);
    s_await_member (group, leader, "group_in_flight", 1);
    //  15 more: decided, staged, not proposed
    for (int index = 0; index < 15; index++) {
        command = s_command ("Deposit", "acc-1", "amount=1");
        assert_int_equal (zcq_client_post (poster, command), 0);
        zcq_msg_destroy (&command);
    }
    s_await_member (group, leader, "in_flight", 16);
    zcq_msg_t *status = s_status (group, leader, WAIT);
    assert_non_null (status);
    assert_int_equal (s_status_int (status, "group_in_flight"), 1);
    zcq_msg_destroy (&status);
    //  The 16th command of the staged group sends it into Raft
    command = s_command ("Deposit", "acc-1", "amount=1");
    assert_int_equal (zcq_client_post (poster, command), 0);
    zcq_msg_destroy (&command);
    s_await_member (group, leader, "group_in_flight", 2);
    for (int index = 0; index < MEMBERS; index++) {
        if (index != leader) {
            kill (group->node [index].pid, SIGCONT);
        }
    }
    for (int index = 0; index < 17; index++) {
        zcq_msg_t *reply = zcq_client_recv_reply (poster, 3 * WAIT);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        zcq_msg_destroy (&reply);
    }
    zcq_client_destroy (&poster);
    s_await (group, "head", 18);
    status = s_status (group, leader, WAIT);
    assert_non_null (status);
    assert_int_equal (s_status_int (status, "groups"), groups + 2);
    zcq_msg_destroy (&status);
    s_assert_same_logs (group);
    s_group_destroy (&group);
}

//  A client given every member goes to the leader, and after the leader's
//  death to the next one, within its retries: every command accepted once.
static void
test_a_client_of_every_member_follows_the_leader (void **state)
{
    (void) state;
    group_t *group = s_group_new ();
    assert_true (s_leader (group, -1, WAIT) >= 0);
    zcq_client_t *client = zcq_client_new (group->endpoints);
    assert_non_null (client);
    zcq_client_set_attempts (client, 20);
    uint64_t position = 0;
    for (int round = 0; round < 10; round++) {
        if (round == 5) {
            int leader = s_leader (group, -1, WAIT);
            zcq_testkit_kill (&group->node [leader]);
        }
        msgpack_sbuffer *data = zcq_testkit_map (round ? "amount=1" : "owner=ann", NULL);
        zcq_msg_t *reply = zcq_client_send (client, round ? "Deposit" : "OpenAccount", "acc-1",
                                            ZCQ_EXPECT_ANY, data->data, data->size, 3 * WAIT);
        msgpack_sbuffer_free (data);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        //  Dense: each command once, none lost in the failover
        assert_int_equal (zcq_msg_position (reply), ++position);
        zcq_msg_destroy (&reply);
    }
    zcq_client_destroy (&client);
    s_group_destroy (&group);
}

//  A query node given every member follows one; when that member dies it
//  goes on from another at its applied position: nothing twice, nothing
//  skipped (its read model equals the log's fold).
static void
test_a_query_node_moves_to_another_member (void **state)
{
    (void) state;
    group_t *group = s_group_new ();
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    //  Its lists start at the leader, the member that is killed below
    char events [MEMBERS * 160] = "", replay [MEMBERS * 160] = "";
    for (int step = 0; step < MEMBERS; step++) {
        int index = (leader + step) % MEMBERS;
        char item [160];
        snprintf (item, sizeof (item), "%sipc://%s/events-%d", step ? "," : "", group->dir,
                  index + 1);
        strcat (events, item);
        snprintf (item, sizeof (item), "%sipc://%s/replay-%d", step ? "," : "", group->dir,
                  index + 1);
        strcat (replay, item);
    }
    char queries [300], data [300];
    snprintf (queries, sizeof (queries), "ipc://%s/queries", group->dir);
    snprintf (data, sizeof (data), "%s/query", group->dir);
    zcq_testkit_node_t query;
    zcq_testkit_start (&query, group->dir, "zcqrs-query", "--events", events, "--replay",
                       replay, "--queries", queries, "--data", data, NULL);
    assert_int_equal (zcq_testkit_wait_ready (queries, WAIT), 0);

    zcq_client_t *client = zcq_client_new (group->endpoints);
    zcq_client_set_attempts (client, 20);
    zcq_client_add_query_node (client, queries);
    msgpack_sbuffer *open = zcq_testkit_map ("owner=ann", NULL);
    msgpack_sbuffer *deposit = zcq_testkit_map ("amount=5", NULL);
    for (int round = 0; round < 20; round++) {
        if (round == 10) {
            zcq_testkit_kill (&group->node [leader]);
        }
        zcq_msg_t *reply = zcq_client_send (client, round ? "Deposit" : "OpenAccount", "acc-1",
                                            ZCQ_EXPECT_ANY, round ? deposit->data : open->data,
                                            round ? deposit->size : open->size, 3 * WAIT);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        zcq_msg_destroy (&reply);
    }
    msgpack_sbuffer_free (open);
    msgpack_sbuffer_free (deposit);
    //  Read-your-writes: the answer waits for position 20, from the next member
    msgpack_sbuffer *params = zcq_testkit_map ("id=acc-1", NULL);
    zcq_msg_t *result =
        zcq_client_query (client, 0, "account", params->data, params->size, 20, 3 * WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), 20);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "balance"), 19 * 5);
    zcq_msg_destroy (&result);
    zcq_client_destroy (&client);
    assert_int_equal (zcq_testkit_stop (&query), 0);
    s_group_destroy (&group);
}

//  A member that nothing subscribes to publishes nothing (a follower does
//  not even read back the events it applied): only its head moves on, and
//  its heartbeats say it. A query node attached to a follower after N
//  events finds that head, replays what it missed, then takes the events
//  that come live: its read model is the fold of the whole log.
static void
test_a_query_node_attached_late_to_a_follower_catches_up (void **state)
{
    (void) state;
    group_t *group = s_group_new ();
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    int follower = (leader + 1) % MEMBERS;
    const int before = 30, after = 20;
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acc-1", "owner=ann");
    for (int index = 1; index < before; index++) {
        s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=5");
    }
    s_await (group, "head", before);
    s_await (group, "unpublished", before);
    s_await (group, "subscriptions", 0);

    //  Its heartbeats carry the head it did not publish
    char events [300], replay [300];
    snprintf (events, sizeof (events), "ipc://%s/events-%d", group->dir, follower + 1);
    snprintf (replay, sizeof (replay), "ipc://%s/replay-%d", group->dir, follower + 1);
    zsock_t *sub = zsock_new_sub (events, ZCQ_SIGNATURE "H");
    assert_non_null (sub);
    zsock_set_rcvtimeo (sub, WAIT);
    zmsg_t *zmsg = zmsg_recv (sub);
    assert_non_null (zmsg);
    zcq_msg_t *heartbeat = zcq_msg_decode_published (&zmsg);
    assert_true (zcq_msg_valid (heartbeat));
    assert_int_equal (zcq_msg_type (heartbeat), ZCQ_MSG_HEARTBEAT);
    assert_int_equal (zcq_msg_head (heartbeat), before);
    zcq_msg_destroy (&heartbeat);
    zsock_destroy (&sub);

    char queries [300], data [300];
    snprintf (queries, sizeof (queries), "ipc://%s/queries", group->dir);
    snprintf (data, sizeof (data), "%s/query", group->dir);
    zcq_testkit_node_t query;
    zcq_testkit_start (&query, group->dir, "zcqrs-query", "--events", events, "--replay",
                       replay, "--queries", queries, "--data", data, NULL);
    assert_int_equal (zcq_testkit_wait_ready (queries, WAIT), 0);
    //  Its subscription (and the end of the one above) reached the follower
    s_await_member (group, follower, "subscriptions", 1);
    for (int index = 0; index < after; index++) {
        s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=5");
    }
    zcq_client_t *client = zcq_client_new (group->commands [leader]);
    zcq_client_add_query_node (client, queries);
    msgpack_sbuffer *params = zcq_testkit_map ("id=acc-1", NULL);
    zcq_msg_t *result = zcq_client_query (client, 0, "account", params->data, params->size,
                                          before + after, 3 * WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), before + after);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result), "balance"),
        (before - 1 + after) * 5);
    zcq_msg_destroy (&result);
    zcq_client_destroy (&client);
    //  The follower published what came once it had a subscriber; the
    //  leader, which has none, still publishes nothing
    s_await_member (group, follower, "unpublished", before);
    s_await_member (group, leader, "unpublished", before + after);
    assert_int_equal (zcq_testkit_stop (&query), 0);
    s_group_destroy (&group);
}

//  Bytes on disk of a member's Raft folder (log segments, snapshots, term
//  and vote); *snapshots: how many snapshot files it holds.
static size_t
s_raft_bytes (group_t *group, int index, int *snapshots)
{
    char path [300];
    snprintf (path, sizeof (path), "%s/member-%d/raft", group->dir, index + 1);
    DIR *dir = opendir (path);
    assert_non_null (dir);
    size_t bytes = 0;
    *snapshots = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        char file [600];
        snprintf (file, sizeof (file), "%s/%s", path, entry->d_name);
        struct stat info;
        if (stat (file, &info) == 0 && S_ISREG (info.st_mode)) {
            bytes += (size_t) info.st_blocks * 512;
            *snapshots += strncmp (entry->d_name, "snapshot-", 9) == 0
                          && !strstr (entry->d_name, ".meta");
        }
    }
    closedir (dir);
    return bytes;
}

//  How many times the members' log (one file for all) holds text.
static int
s_log_count (group_t *group, const char *text)
{
    char *log = zsys_sprintf ("%s/zcqrs-write.log", group->dir);
    zfile_t *file = zfile_new (NULL, log);
    zchunk_t *chunk =
        file && zfile_input (file) == 0 ? zfile_read (file, 64 * 1024 * 1024, 0) : NULL;
    int count = 0;
    if (chunk) {
        zchunk_extend (chunk, "", 1);
        for (const char *at = strstr ((char *) zchunk_data (chunk), text); at;
             at = strstr (at + 1, text)) {
            count++;
        }
    }
    zchunk_destroy (&chunk);
    zfile_destroy (&file);
    zstr_free (&log);
    return count;
}

static bool
s_log_says (group_t *group, const char *text)
{
    return s_log_count (group, text) > 0;
}

//  A member wiped while the others go on past several Raft snapshots (the
//  entries it lacks are deleted) rejoins: the leader sends a snapshot, the
//  member copies a store holding it from a member, Raft applies the rest.
//  Then every member restarts on its own snapshot and the log goes on.
static void
test_a_wiped_member_rejoins_past_raft_snapshots (void **state)
{
    (void) state;
    group_t *group = s_group_new_with (NULL, "8", "4");
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    s_await (group, "group_leader", (uint64_t) leader + 1);
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acc-1", "owner=ann");
    for (int round = 0; round < 10; round++) {
        s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=1");
    }
    int wiped = (leader + 1) % MEMBERS;
    zcq_testkit_kill (&group->node [wiped]);
    char path [300];
    snprintf (path, sizeof (path), "%s/member-%d", group->dir, wiped + 1);
    zcq_testkit_rmtree (path);
    snprintf (path, sizeof (path), "%s/member-%d-keys", group->dir, wiped + 1);
    zcq_testkit_rmtree (path); //  a new machine: no key table either
    uint64_t head = 0;
    for (int round = 0; round < 40; round++) {
        head = s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=2");
    }
    assert_int_equal (head, 51);
    int snapshots = 0;
    s_raft_bytes (group, leader, &snapshots);
    assert_true (snapshots > 0);
    assert_false (s_log_says (group, "copied member"));

    s_start (group, wiped);
    s_await (group, "head", head);
    assert_int_equal (s_log_count (group, "copied member"), 1);
    //  The copy brought the key table: the owner's key is the group's
    byte key [ZCQ_SEAL_KEY], copied [ZCQ_SEAL_KEY];
    assert_int_equal (s_member_key (group, leader, "acc-1", key), 0);
    assert_int_equal (s_member_key (group, wiped, "acc-1", copied), 0);
    assert_memory_equal (copied, key, ZCQ_SEAL_KEY);
    //  A member that lost its store but not its Raft folder restores its
    //  own snapshot at start, which its store does not reach: it copies too
    int lost = MEMBERS - leader - wiped; //  the third member (indexes 0, 1, 2)
    assert_int_equal (zcq_testkit_stop (&group->node [lost]), 0);
    char command [700];
    snprintf (command, sizeof (command),
              "find %s/member-%d -mindepth 1 -maxdepth 1 ! -name raft -exec rm -rf {} +",
              group->dir, lost + 1);
    assert_int_equal (system (command), 0);
    s_start (group, lost);
    s_await (group, "head", head);
    assert_int_equal (s_log_count (group, "copied member"), 2);
    //  Restarted, each member restores its own snapshot, which its store
    //  reaches: nothing is copied, the log goes on
    s_group_stop (group);
    for (int index = 0; index < MEMBERS; index++) {
        s_start (group, index);
    }
    leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    head = s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=3");
    assert_int_equal (head, 52);
    s_await (group, "head", head);
    s_assert_same_logs (group);
    s_group_destroy (&group);
}

//  Over a long run the Raft log's disk use stays bounded: each snapshot
//  lets Raft delete the segments before it (all but the trailing entries).
static void
test_the_raft_log_stays_bounded (void **state)
{
    (void) state;
    group_t *group = s_group_new_with (NULL, "64", "32");
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acc-1", "owner=ann");
    size_t early = 0, most = 0;
    int snapshots = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        s_expect (group, leader, ZCQ_ACCEPTED, "Deposit", "acc-1", "amount=1");
        if (round % (ROUNDS / 8) == 0) {
            size_t bytes = s_raft_bytes (group, leader, &snapshots);
            early = early ? early : bytes;
            most = bytes > most ? bytes : most;
            printf ("test_write_group: after %d groups the leader's Raft folder holds %zu "
                    "bytes (%d snapshots)\n",
                    round, bytes, snapshots);
        }
    }
    int64_t ledger = 0;
    char path [300];
    snprintf (path, sizeof (path), "%s/member-%d", group->dir, leader + 1);
    zdir_t *store = zdir_new (path, "-");
    ledger = store ? (int64_t) zdir_cursize (store) : 0;
    zdir_destroy (&store);
    printf (
        "test_write_group: most %zu bytes, first look %zu; the member's whole folder %" PRId64
        " bytes\n",
        most, early, ledger);
    //  Bounded: it grows no further after the first look (a segment's worth
    //  of slack), while the log itself grew eightfold
    assert_true (most <= early + 2 * 65536);
    s_await (group, "head", ROUNDS + 1);
    s_assert_same_logs (group);
    s_group_destroy (&group);
}

//  A member's own small disk for test_a_member_whose_store_refuses_stops:
//  its folder is a 4 MiB tmpfs (root only), its Raft folder inside is
//  bound to the ordinary disk, so that its store fills up and Raft's log
//  does not. Teardown unmounts both whatever the test did.
#define FULL_MEMBER 2 //  index of the member whose disk fills up

static int
s_setup_full_member (void **state)
{
    group_t *group = s_group_make (NULL, NULL, NULL);
    char command [1200];
    snprintf (command, sizeof (command),
              "mkdir -p %s/member-%d %s/raft-%d && mount -t tmpfs -o size=4m zcq-test "
              "%s/member-%d 2>/dev/null && mkdir %s/member-%d/raft && mount --bind %s/raft-%d "
              "%s/member-%d/raft",
              group->dir, FULL_MEMBER + 1, group->dir, FULL_MEMBER + 1, group->dir,
              FULL_MEMBER + 1, group->dir, FULL_MEMBER + 1, group->dir, FULL_MEMBER + 1,
              group->dir, FULL_MEMBER + 1);
    if (system (command) != 0) {
        snprintf (command, sizeof (command), "umount %s/member-%d 2>/dev/null", group->dir,
                  FULL_MEMBER + 1);
        if (system (command) != 0) {
            //  nothing was mounted
        }
        s_group_destroy (&group);
    }
    *state = group;
    return 0;
}

static int
s_teardown_full_member (void **state)
{
    group_t *group = (group_t *) *state;
    if (group) {
        for (int index = 0; index < MEMBERS; index++) {
            zcq_testkit_kill (&group->node [index]);
        }
        char command [700];
        snprintf (command, sizeof (command), "umount %s/member-%d/raft; umount %s/member-%d",
                  group->dir, FULL_MEMBER + 1, group->dir, FULL_MEMBER + 1);
        if (system (command) != 0) {
            fprintf (stderr, "could not unmount %s/member-%d\n", group->dir, FULL_MEMBER + 1);
        }
        s_group_destroy (&group);
    }
    return 0;
}

//  A member whose store refuses a committed entry (its disk is full) stops
//  (role failed, exit code 1) rather than go on without the group; the
//  others go on. Restarted with room, it applies the group's log again from
//  its store's last group and holds the same log as the others.
static void
test_a_member_whose_store_refuses_stops (void **state)
{
    group_t *group = (group_t *) *state;
    if (!group) {
        skip (); //  not root: no small disk of its own
    }
    for (int index = 0; index < MEMBERS; index++) {
        s_start (group, index);
    }
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    zcq_client_t *client = zcq_client_new (group->endpoints);
    zcq_client_set_attempts (client, 20);
    char folder [300];
    snprintf (folder, sizeof (folder), "%s/member-%d", group->dir, FULL_MEMBER + 1);
    assert_int_equal (zcq_testkit_fill (folder, 16 * 1024), 0);
    msgpack_sbuffer *open = zcq_testkit_map ("owner=ann", NULL);
    msgpack_sbuffer *deposit = zcq_testkit_map ("amount=1", NULL);
    uint64_t head = 0;
    bool stopped = false;
    for (int round = 0; round < 400 && !stopped; round++) {
        zcq_msg_t *reply = zcq_client_send (client, round ? "Deposit" : "OpenAccount", "acc-1",
                                            ZCQ_EXPECT_ANY, round ? deposit->data : open->data,
                                            round ? deposit->size : open->size, 3 * WAIT);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        assert_int_equal (zcq_msg_position (reply), ++head);
        zcq_msg_destroy (&reply);
        if (round % 10 == 9) {
            zcq_msg_t *status = s_status (group, FULL_MEMBER, 500);
            stopped = !status;
            zcq_msg_destroy (&status);
        }
    }
    msgpack_sbuffer_free (open);
    msgpack_sbuffer_free (deposit);
    zcq_client_destroy (&client);
    assert_true (stopped);
    int status = zcq_testkit_wait_exit (&group->node [FULL_MEMBER], WAIT);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 1);
    assert_true (s_log_says (group, "this member stops serving"));
    printf ("test_write_group: member %d's full disk refused a committed group; it stopped "
            "(exit 1) at head %" PRIu64 "\n",
            FULL_MEMBER + 1, head);

    //  With room again it applies the log from its store's last group
    char filler [400];
    snprintf (filler, sizeof (filler), "%s/filler", folder);
    assert_int_equal (unlink (filler), 0);
    s_start (group, FULL_MEMBER);
    s_await (group, "head", head);
    s_assert_same_logs (group);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_followers_hold_the_leaders_log),
        cmocka_unit_test (test_a_forget_destroys_the_key_on_every_member),
        cmocka_unit_test (test_a_member_back_after_a_forget_purges_its_raft_log),
        cmocka_unit_test (test_a_killed_leader_is_replaced_and_a_retry_has_one_outcome),
        cmocka_unit_test (test_a_stopped_leader_is_replaced_and_steps_down),
        cmocka_unit_test (test_a_deposed_leader_refuses_every_group_in_flight),
        cmocka_unit_test (test_a_small_group_waits_for_the_entry_in_raft),
        cmocka_unit_test (test_a_client_of_every_member_follows_the_leader),
        cmocka_unit_test (test_a_query_node_moves_to_another_member),
        cmocka_unit_test (test_a_query_node_attached_late_to_a_follower_catches_up),
        cmocka_unit_test (test_a_wiped_member_rejoins_past_raft_snapshots),
        cmocka_unit_test (test_the_raft_log_stays_bounded),
        cmocka_unit_test_setup_teardown (test_a_member_whose_store_refuses_stops,
                                         s_setup_full_member, s_teardown_full_member),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
