/*  =========================================================================
    test_write_group - a write group of three real zcqrs-write processes
    (Raft on 127.0.0.1 TCP ports, commands on ipc://, real LevelDB folders):
    followers hold the leader's very log and answer not_leader; a killed or
    stopped leader is replaced; a retried command id has one outcome; a
    member started on an empty folder catches up; a forgotten stream's key
    is destroyed on every member
    =========================================================================
*/

#include "zcq_keys.h"
#include "zcq_store.h"
#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>

#define WAIT     10000 //  ms any single wait may take at most
#define MEMBERS  3
#define FAILOVER 5000 //  ms a new leader may take (the target is 3 s: make bench measures it)

typedef struct {
    char *dir;                         //  temporary folder
    char raft [256];                   //  --raft list
    char endpoints [MEMBERS * 128];    //  --members list
    char commands [MEMBERS][128];      //  each member's commands endpoint
    zcq_testkit_node_t node [MEMBERS]; //  the processes
    zcq_client_t *client [MEMBERS];    //  a client of each member
    const char *keep;                  //  --keep-ids, or NULL: the default
} group_t;

//  A TCP port on 127.0.0.1 that is free now (the kernel's pick).
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (fd, (struct sockaddr *) &address, sizeof (address)), 0);
    socklen_t size = sizeof (address);
    assert_int_equal (getsockname (fd, (struct sockaddr *) &address, &size), 0);
    close (fd);
    return ntohs (address.sin_port);
}

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
                       "--data", data, group->keep ? "--keep-ids" : NULL, group->keep, NULL);
    assert_int_equal (zcq_testkit_wait_ready (group->commands [index], WAIT), 0);
}

static group_t *
s_group_new_keeping (const char *keep)
{
    group_t *group = (group_t *) zmalloc (sizeof (group_t));
    group->keep = keep;
    group->dir = zcq_testkit_tmpdir ("write-group");
    for (int index = 0; index < MEMBERS; index++) {
        snprintf (group->commands [index], 128, "ipc://%s/commands-%d", group->dir, index + 1);
        char item [160];
        snprintf (item, sizeof (item), "%s127.0.0.1:%d", index ? "," : "", s_free_port ());
        strcat (group->raft, item);
        snprintf (item, sizeof (item), "%s%s", index ? "," : "", group->commands [index]);
        strcat (group->endpoints, item);
    }
    for (int index = 0; index < MEMBERS; index++) {
        s_start (group, index);
        group->client [index] = zcq_client_new (group->commands [index]);
        zcq_client_set_attempts (group->client [index], 1);
    }
    return group;
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

//  Wait until every running member's status has key at value.
static void
s_await (group_t *group, const char *key, uint64_t value)
{
    int64_t deadline = zclock_mono () + WAIT;
    for (int index = 0; index < MEMBERS; index++) {
        if (!group->node [index].pid) {
            continue;
        }
        int64_t seen = -1;
        while (zclock_mono () < deadline) {
            zcq_msg_t *status = s_status (group, index, 500);
            seen = status ? s_status_int (status, key) : -1;
            zcq_msg_destroy (&status);
            if (seen == (int64_t) value) {
                break;
            }
            zclock_sleep (20);
        }
        if (seen != (int64_t) value) {
            fail_msg ("member %d has %s %" PRId64 ", not %" PRIu64, index + 1, key, seen,
                      value);
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
    zchunk_t *chunk = zchunk_new (NULL, 0);
    zcq_iter_t *iter = zcq_iter_new (store, false);
    zcq_iter_seek (iter, "", 0);
    while (zcq_iter_valid (iter)) {
        size_t key_size, value_size;
        const byte *key = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &value_size);
        zchunk_extend (chunk, &key_size, sizeof (key_size));
        zchunk_extend (chunk, key, key_size);
        zchunk_extend (chunk, &value_size, sizeof (value_size));
        zchunk_extend (chunk, value, value_size);
        zcq_iter_next (iter);
    }
    zcq_iter_destroy (&iter);
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
//  log in its raft/ folder: README, "Write group", says what that keeps)
//  holds these bytes.
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

//  Poll (bounded) until neither the key table nor the data folder of any
//  member holds these bytes; true once none does.
static bool
s_members_lose (group_t *group, const void *bytes, size_t length)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (true) {
        bool held = false;
        for (int index = 0; index < MEMBERS && !held; index++) {
            char path [300];
            snprintf (path, sizeof path, "%s/member-%d", group->dir, index + 1);
            held = s_store_holds (path, bytes, length);
            snprintf (path, sizeof path, "%s/member-%d-keys", group->dir, index + 1);
            held = held || s_store_holds (path, bytes, length);
        }
        if (!held) {
            return true;
        }
        if (zclock_mono () > deadline) {
            return false;
        }
        zclock_sleep (20); //  a poll of the files
    }
}

//  A stream's key in member index's key table: zcq_keys_find's answer.
static int
s_member_key (group_t *group, int index, const char *stream, byte key [ZCQ_SEAL_KEY])
{
    char path [300];
    snprintf (path, sizeof path, "%s/member-%d-keys", group->dir, index + 1);
    return zcq_testkit_table_key (path, stream, key);
}

//  A personal field in a group: every member's key table gets the
//  stream's key through the replicated log (its data folder never does,
//  nor the owner in plain); a $Forget on the leader destroys it on every
//  member, followers included (they destroy it when they apply the
//  forget's group: the group carries the "f:" mark, not the deletion)
static void
test_a_forget_destroys_the_key_on_every_member (void **state)
{
    (void) state;
    group_t *group = s_group_new ();
    int leader = s_leader (group, -1, WAIT);
    assert_true (leader >= 0);
    s_await (group, "group_leader", (uint64_t) leader + 1);
    const char *secret = "Qw7Nd3Kx9Vb2Hs";
    char word [64];
    snprintf (word, sizeof word, "owner=%s", secret);
    s_expect (group, leader, ZCQ_ACCEPTED, "OpenAccount", "acct-secret", word);
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

    head = s_expect (group, leader, ZCQ_ACCEPTED, "$Forget", "acct-secret", NULL);
    s_await (group, "head", head);
    assert_true (s_members_lose (group, key, sizeof key));
    for (int index = 0; index < MEMBERS; index++) {
        assert_int_equal (s_member_key (group, index, "acct-secret", other), 1);
        assert_int_equal (s_member_key (group, index, "acct-keep", other), 0);
        snprintf (path, sizeof path, "%s/member-%d", group->dir, index + 1);
        assert_false (zcq_testkit_files_hold (path, secret));
    }
    s_assert_same_logs (group);
    s_group_destroy (&group);
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

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_followers_hold_the_leaders_log),
        cmocka_unit_test (test_a_forget_destroys_the_key_on_every_member),
        cmocka_unit_test (test_a_killed_leader_is_replaced_and_a_retry_has_one_outcome),
        cmocka_unit_test (test_a_stopped_leader_is_replaced_and_steps_down),
        cmocka_unit_test (test_a_client_of_every_member_follows_the_leader),
        cmocka_unit_test (test_a_query_node_moves_to_another_member),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
