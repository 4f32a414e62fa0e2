/*  =========================================================================
    test_crash - a real write node process under a load of concurrent
    retrying clients, killed with SIGKILL at random moments and restarted:
    every client's command is answered, every acknowledged command's events
    are in the log exactly once, positions are dense, stream versions
    contiguous, and nothing exists for a refused command. Also: a flood far
    beyond the node's bounds gets "busy", its memory stays bounded, and
    service resumes. And a stored outcome damaged while the node was
    stopped is never answered from after the restart.
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_log.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT     10000 //  ms any single wait may take at most
#define CLIENTS  8     //  concurrent client threads
#define COMMANDS 400   //  commands each client sends after opening its account
#define KILLS    2     //  SIGKILLs of the write node during the load

typedef struct {
    char *dir;           //  temporary folder
    char commands [256]; //  write node endpoints
    char events [256];
    char replay [256];
    char data [300]; //  write node's LevelDB folder
    zcq_testkit_node_t node;
} fixture_t;

//  What one client sent and what it was told.
typedef struct {
    byte id [ZCQ_COMMAND_ID];
    zcq_status_t status; //  -1: never answered
    uint64_t position;   //  last position of its events (accepted)
    uint32_t count;      //  events it appended (accepted)
} s_record_t;

typedef struct {
    fixture_t *fixture;
    int index;                         //  client number
    s_record_t records [COMMANDS + 1]; //  open + commands
    uint64_t retries;                  //  resends its client made
} s_worker_t;

static void
s_start (fixture_t *fixture, const char *arg, ...)
{
    //  Flags after the endpoints: up to eight extra
    const char *extra [8] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    va_list args;
    va_start (args, arg);
    for (int index = 0; arg && index < 8; index++) {
        extra [index] = arg;
        arg = va_arg (args, const char *);
    }
    va_end (args);
    zcq_testkit_start (&fixture->node, fixture->dir, "zcqrs-write", "--commands",
                       fixture->commands, "--events", fixture->events, "--replay",
                       fixture->replay, "--data", fixture->data, extra [0], extra [1],
                       extra [2], extra [3], extra [4], extra [5], extra [6], extra [7], NULL);
    assert_int_equal (zcq_testkit_wait_ready (fixture->commands, WAIT), 0);
}

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("crash");
    snprintf (fixture->commands, 256, "ipc://%s/commands", fixture->dir);
    snprintf (fixture->events, 256, "ipc://%s/events", fixture->dir);
    snprintf (fixture->replay, 256, "ipc://%s/replay", fixture->dir);
    snprintf (fixture->data, 300, "%s/write", fixture->dir);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_testkit_cleanup ();
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    return 0;
}

//  One client: open its account, then deposits with a withdrawal every
//  fifth command, each sent and waited for with retries.
static void *
s_worker (void *arg)
{
    s_worker_t *worker = (s_worker_t *) arg;
    zcq_client_t *client = zcq_client_new (worker->fixture->commands);
    zcq_client_set_attempts (client, 40);
    char stream [32];
    snprintf (stream, sizeof (stream), "account-%d", worker->index);
    for (int index = 0; index <= COMMANDS; index++) {
        msgpack_sbuffer *data = index == 0       ? zcq_testkit_map ("owner=crash", NULL)
                                : index % 5 == 0 ? zcq_testkit_map ("amount=5", NULL)
                                                 : zcq_testkit_map ("amount=1", NULL);
        const char *type = index == 0 ? "OpenAccount" : index % 5 == 0 ? "Withdraw" : "Deposit";
        zcq_msg_t *command = zcq_client_command (type, stream, index == 0 ? 0 : ZCQ_EXPECT_ANY,
                                                 data->data, data->size);
        msgpack_sbuffer_free (data);
        s_record_t *record = &worker->records [index];
        memcpy (record->id, zcq_msg_id (command), ZCQ_COMMAND_ID);
        record->status = (zcq_status_t) -1;
        zcq_msg_t *reply = zcq_client_request (client, command, 30000);
        if (reply) {
            record->status = zcq_msg_status (reply);
            record->position = zcq_msg_position (reply);
            record->count = zcq_msg_count (reply);
        }
        zcq_msg_destroy (&reply);
        zcq_msg_destroy (&command);
    }
    worker->retries = zcq_client_retries (client);
    zcq_client_destroy (&client);
    return NULL;
}

//  What the log holds for one command id.
typedef struct {
    uint32_t events; //  events carrying this id
    uint64_t last;   //  highest position among them
} s_found_t;

typedef struct {
    uint64_t expected;  //  next position the log must hold
    zhashx_t *versions; //  stream -> last version seen (as uintptr_t)
    zhashx_t *commands; //  hex id -> s_found_t
    int broken;         //  events that broke an invariant
} s_scan_t;

static void
s_hex (const byte *id, char *hex)
{
    for (int index = 0; index < ZCQ_COMMAND_ID; index++) {
        sprintf (hex + index * 2, "%02x", id [index]);
    }
}

static int
s_scan_event (const byte *body, size_t size, void *arg)
{
    s_scan_t *scan = (s_scan_t *) arg;
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    if (!zcq_msg_valid (event) || zcq_msg_position (event) != scan->expected
        || zcq_msg_id_size (event) != ZCQ_COMMAND_ID) {
        fprintf (stderr, "event at %" PRIu64 " is not dense or does not decode\n",
                 scan->expected);
        scan->broken++;
    }
    else {
        uintptr_t last = (uintptr_t) zhashx_lookup (scan->versions, zcq_msg_stream (event));
        if (zcq_msg_version (event) != last + 1) {
            fprintf (stderr, "stream %s jumps from version %zu to %" PRIu64 "\n",
                     zcq_msg_stream (event), (size_t) last, zcq_msg_version (event));
            scan->broken++;
        }
        zhashx_update (scan->versions, zcq_msg_stream (event),
                       (void *) (uintptr_t) zcq_msg_version (event));
        char hex [ZCQ_COMMAND_ID * 2 + 1];
        s_hex (zcq_msg_id (event), hex);
        s_found_t *found = (s_found_t *) zhashx_lookup (scan->commands, hex);
        if (!found) {
            found = (s_found_t *) zmalloc (sizeof (s_found_t));
            zhashx_insert (scan->commands, hex, found);
        }
        found->events++;
        found->last = zcq_msg_position (event);
    }
    scan->expected++;
    zcq_msg_destroy (&event);
    return 0;
}

static void
s_free_found (void **item)
{
    free (*item);
    *item = NULL;
}

static void
test_kill_under_load_loses_nothing (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    unsigned seed = (unsigned) zclock_usecs ();
    fprintf (stderr, "crash test seed %u\n", seed);
    srandom (seed);
    s_start (fixture, NULL);
    s_worker_t *workers = (s_worker_t *) zmalloc (CLIENTS * sizeof (s_worker_t));
    pthread_t threads [CLIENTS];
    for (int index = 0; index < CLIENTS; index++) {
        workers [index].fixture = fixture;
        workers [index].index = index;
        assert_int_equal (pthread_create (&threads [index], NULL, s_worker, &workers [index]),
                          0);
    }
    for (int kill = 0; kill < KILLS; kill++) {
        zclock_sleep (150 + (int) (random () % 400));
        zcq_testkit_kill (&fixture->node);
        zclock_sleep ((int) (random () % 200));
        s_start (fixture, NULL);
    }
    for (int index = 0; index < CLIENTS; index++) {
        pthread_join (threads [index], NULL);
    }
    assert_int_equal (zcq_testkit_stop (&fixture->node), 0);

    //  Read the log straight from its LevelDB folder
    zcq_log_t *log = zcq_log_new (fixture->data, NULL);
    assert_non_null (log);
    s_scan_t scan = {1, zhashx_new (), zhashx_new (), 0};
    zhashx_set_destructor (scan.commands, s_free_found);
    uint64_t from = 1;
    while (from <= zcq_log_head (log)) {
        int read = zcq_log_read (log, from, 1000, 1 << 20, s_scan_event, &scan);
        assert_true (read > 0);
        from += (uint64_t) read;
    }
    assert_int_equal (scan.broken, 0);
    assert_int_equal (scan.expected - 1, zcq_log_head (log));

    uint64_t accepted = 0, rejected = 0, retries = 0, events = 0;
    for (int index = 0; index < CLIENTS; index++) {
        retries += workers [index].retries;
        for (int command = 0; command <= COMMANDS; command++) {
            s_record_t *record = &workers [index].records [command];
            char hex [ZCQ_COMMAND_ID * 2 + 1];
            s_hex (record->id, hex);
            s_found_t *found = (s_found_t *) zhashx_lookup (scan.commands, hex);
            //  Every command was answered, and its answer is the log's truth
            assert_true (record->status == ZCQ_ACCEPTED || record->status == ZCQ_REJECTED);
            if (record->status == ZCQ_ACCEPTED) {
                accepted++;
                assert_non_null (found);
                assert_int_equal (found->events, record->count);
                assert_int_equal (found->last, record->position);
                events += found->events;
                zhashx_delete (scan.commands, hex);
            }
            else {
                rejected++;
                assert_null (found);
            }
        }
    }
    //  No event belongs to a command that nobody was told was accepted
    assert_int_equal (zhashx_size (scan.commands), 0);
    assert_int_equal (events, zcq_log_head (log));
    fprintf (stderr,
             "crash test: %" PRIu64 " accepted, %" PRIu64 " rejected, %" PRIu64
             " retries, %d kills, head %" PRIu64 "\n",
             accepted, rejected, retries, KILLS, zcq_log_head (log));
    //  (Retries are usual but not certain: a DEALER keeps what it queued
    //  for a peer that went away and delivers it after the reconnect.)
    zhashx_destroy (&scan.versions);
    zhashx_destroy (&scan.commands);
    zcq_log_destroy (&log);
    free (workers);
}

//  Resident memory of a process, in kB.
static long
s_rss (pid_t pid)
{
    char path [64], line [256];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    long rss = -1;
    while (fgets (line, sizeof (line), file)) {
        if (strncmp (line, "VmRSS:", 6) == 0) {
            rss = atol (line + 6);
        }
    }
    fclose (file);
    return rss;
}

//  Send count deposits as fast as possible, then take every reply.
static void
s_flood (zcq_client_t *client, int count, int *accepted, int *busy)
{
    msgpack_sbuffer *data = zcq_testkit_map ("amount=1", NULL);
    int received = 0;
    for (int index = 0; index < count; index++) {
        zcq_msg_t *command = zcq_client_command ("Deposit", "account-flood", ZCQ_EXPECT_ANY,
                                                 data->data, data->size);
        assert_int_equal (zcq_client_post (client, command), 0);
        zcq_msg_destroy (&command);
        //  Take replies as they come, so that neither side's queue fills
        zcq_msg_t *reply;
        while ((reply = zcq_client_recv_reply (client, 0))) {
            *accepted += zcq_msg_status (reply) == ZCQ_ACCEPTED;
            *busy += zcq_msg_status (reply) == ZCQ_BUSY;
            zcq_msg_destroy (&reply);
            received++;
        }
    }
    while (received < count) {
        zcq_msg_t *reply = zcq_client_recv_reply (client, WAIT);
        assert_non_null (reply);
        *accepted += zcq_msg_status (reply) == ZCQ_ACCEPTED;
        *busy += zcq_msg_status (reply) == ZCQ_BUSY;
        zcq_msg_destroy (&reply);
        received++;
    }
    msgpack_sbuffer_free (data);
}

static void
test_flood_gets_busy_and_memory_stays_bounded (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    //  A slow disk (200 ms a write) and small bounds make the flood far
    //  bigger than what the node takes in: it accepts some 320 commands a
    //  second, however fast the machine. The command-id filter is sized for
    //  10,000 ids (30 KB): at the default 10 million, each accepted id
    //  touches a page of its 30 MB table, memory that is bounded but grows
    //  with every command accepted until all of it is touched
    s_start (fixture, "--group", "64", "--queue", "256", "--fault-write-delay", "200",
             "--keep-ids", "10000");
    zcq_client_t *client = zcq_client_new (fixture->commands);
    zcq_msg_t *reply = zcq_client_send (client, "OpenAccount", "account-flood", 0,
                                        "\x81\xa5owner\xa4rush", 12, WAIT);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    zcq_msg_destroy (&reply);
    long rss [4];
    int accepted = 0, busy = 0, accepted_first = 0;
    for (int round = 0; round < 4; round++) {
        s_flood (client, 20000, &accepted, &busy);
        rss [round] = s_rss (fixture->node.pid);
        accepted_first = round == 0 ? accepted : accepted_first;
    }
    fprintf (stderr, "flood: %d accepted, %d busy; RSS kB after each round: %ld %ld %ld %ld\n",
             accepted, busy, rss [0], rss [1], rss [2], rss [3]);
    assert_true (busy > 0);
    assert_int_equal (accepted + busy, 80000);
    //  Memory does not grow with what the node refuses: rounds 2 to 4 turn
    //  some 55,000 commands away and hold what round 1 did, but for what
    //  they accepted, which LevelDB's memtable keeps until it writes a
    //  table (about 0.5 KiB a command here; 1 KiB allowed, a bound that
    //  follows a slow machine's longer rounds). A leak of 100 bytes in a
    //  busy reply would pass 4 MiB. (AddressSanitizer keeps freed memory in
    //  quarantine, so its RSS says nothing about growth.)
#if !defined(__SANITIZE_ADDRESS__)
    long allowed = 4 * 1024 + (accepted - accepted_first); //  kB
    if (rss [3] - rss [0] >= allowed) {
        fail_msg ("RSS grew %ld kB in rounds 2 to 4, which accepted %d commands: more than "
                  "%ld kB",
                  rss [3] - rss [0], accepted - accepted_first, allowed);
    }
#endif
    //  Service resumes, and only the accepted deposits were stored
    reply = zcq_client_send (client, "Withdraw", "account-flood", ZCQ_EXPECT_ANY,
                             "\x81\xa6"
                             "amount\x01",
                             9, WAIT);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), (uint64_t) accepted + 2);
    zcq_msg_destroy (&reply);
    zcq_client_destroy (&client);
    assert_int_equal (zcq_testkit_stop (&fixture->node), 0);
}

//  Key of the outcome stored for a command id: "c:" + the 16-byte id.
static void
s_outcome_key (zcq_msg_t *command, byte key [2 + ZCQ_COMMAND_ID])
{
    key [0] = 'c';
    key [1] = ':';
    memcpy (key + 2, zcq_msg_id (command), ZCQ_COMMAND_ID);
}

//  Send a command once (no retries); the reply must come.
static zcq_msg_t *
s_once (zcq_client_t *client, zcq_msg_t *command)
{
    zcq_msg_t *reply = zcq_client_request (client, command, WAIT);
    assert_non_null (reply);
    return reply;
}

//  Store under key_of's id a REPLY of body_of's id, as the log stores one.
static void
s_put_reply (zcq_batch_t *batch, zcq_msg_t *key_of, zcq_msg_t *body_of, zcq_status_t status,
             uint64_t position)
{
    zcq_msg_t *reply = zcq_msg_reply_to (body_of, status);
    zcq_msg_set_version (reply, 1);
    zcq_msg_set_position (reply, position);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (zcq_msg_encode_body (reply, &buffer), 0);
    byte key [2 + ZCQ_COMMAND_ID];
    s_outcome_key (key_of, key);
    zcq_batch_put (batch, key, sizeof (key), buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_destroy (&reply);
}

//  A stored outcome read back for a repeated command id is checked as
//  anything from outside the process: damaged on disk (cut short, another
//  id's, a status that is never stored, a position the log does not have)
//  it gets "unavailable" and a logged error naming the id and the damage,
//  never a reply made of it, and the command is not decided again
static void
test_damaged_stored_outcome_is_not_answered (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_start (fixture, NULL);
    zcq_client_t *client = zcq_client_new (fixture->commands);
    zcq_client_set_attempts (client, 1);
    zcq_msg_t *commands [5];
    commands [0] =
        zcq_client_command ("OpenAccount", "account-d", 0, "\x81\xa5owner\xa4rita", 12);
    for (int index = 1; index < 5; index++) {
        commands [index] = zcq_client_command ("Deposit", "account-d", ZCQ_EXPECT_ANY,
                                               "\x81\xa6"
                                               "amount\x01",
                                               9);
    }
    for (int index = 0; index < 5; index++) {
        zcq_msg_t *reply = s_once (client, commands [index]);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        assert_int_equal (zcq_msg_position (reply), index + 1);
        zcq_msg_destroy (&reply);
    }
    assert_int_equal (zcq_testkit_stop (&fixture->node), 0);

    //  Damage four of the five stored outcomes while the node is stopped
    zcq_store_t *store = zcq_store_new (fixture->data);
    assert_non_null (store);
    byte key [2 + ZCQ_COMMAND_ID];
    s_outcome_key (commands [0], key);
    byte *value = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (store, key, sizeof (key), &value, &size), 0);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, key, sizeof (key), value, size / 2); //  cut short
    free (value);
    s_put_reply (batch, commands [1], commands [2], ZCQ_ACCEPTED, 3);
    s_put_reply (batch, commands [2], commands [2], ZCQ_UNAVAILABLE, 0);
    s_put_reply (batch, commands [3], commands [3], ZCQ_ACCEPTED, 99);
    assert_int_equal (zcq_store_write (store, batch, true), 0);
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&store);

    s_start (fixture, NULL);
    for (int index = 0; index < 4; index++) {
        zcq_msg_t *reply = s_once (client, commands [index]);
        assert_int_equal (zcq_msg_status (reply), ZCQ_UNAVAILABLE);
        assert_non_null (strstr (zcq_msg_reason (reply), "is damaged"));
        assert_int_equal (zcq_msg_position (reply), 0);
        zcq_msg_destroy (&reply);
    }
    //  The intact one is answered from disk; nothing was decided again
    zcq_msg_t *reply = s_once (client, commands [4]);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    assert_int_equal (zcq_msg_position (reply), 5);
    zcq_msg_destroy (&reply);
    reply = zcq_client_send (client, "Deposit", "account-d", ZCQ_EXPECT_ANY,
                             "\x81\xa6"
                             "amount\x01",
                             9, WAIT);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_position (reply), 6);
    zcq_msg_destroy (&reply);
    zcq_client_destroy (&client);
    assert_int_equal (zcq_testkit_stop (&fixture->node), 0);

    //  Each refusal is logged with the command id and what is wrong
    const char *damage [] = {"it does not decode", "it is the outcome of command",
                             "status 'unavailable' is never stored",
                             "position 99 is beyond the log's head 5"};
    char log [400];
    snprintf (log, sizeof (log), "%s/zcqrs-write.log", fixture->dir);
    for (int index = 0; index < 4; index++) {
        char hex [ZCQ_COMMAND_ID * 2 + 1];
        s_hex (zcq_msg_id (commands [index]), hex);
        char *line =
            zsys_sprintf ("outcome stored for command %s is damaged (%s", hex, damage [index]);
        if (!zcq_testkit_file_has (log, line)) {
            fail_msg ("the log lacks '%s'", line);
        }
        zstr_free (&line);
        zcq_msg_destroy (&commands [index]);
    }
    zcq_msg_destroy (&commands [4]);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_kill_under_load_loses_nothing, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_flood_gets_busy_and_memory_stays_bounded, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_damaged_stored_outcome_is_not_answered, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
