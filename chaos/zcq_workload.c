/*  =========================================================================
    zcq-workload - many concurrent bank clients against a cluster, for chaos
    runs: opens, deposits, withdrawals, closes and balance queries across many
    accounts, every command retried with its SAME id until it has a final
    answer, everything sent and received written to a history file that
    zcq-check verifies.

    usage: zcq-workload --commands EP --query EP [--query EP ...] --history FILE
                        [--threads 8] [--accounts 64] [--seconds 30] [--seed 1]
                        [--timeout 1000] [--give-up 60000] [--pause 0] [--prefix acc]

    --pause MS makes each thread wait between operations (to bound the rate
    and the size of the history on long runs). Each thread has its own zcq_client and its own random sequence (from the
    seed and the thread number), so a seed chooses the same operations; the
    cluster's answers, and so the interleaving, vary. The run ends after
    --seconds or on SIGINT/SIGTERM; each thread then finishes the command it
    has in flight (retrying for at most --give-up ms in all) and stops.
    Prints one summary line; exits 0, or 1 if a command was given up.
    =========================================================================
*/

#include "zcq_history.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAX_NODES 16

//  One account slot: its generation names the stream ("acc-7-2"); a closed
//  account is replaced by the next generation.
typedef struct {
    atomic_int state;      //  0 not known to exist, 1 open, 2 closed
    atomic_int generation; //  stream suffix
} slot_t;

typedef struct {
    const char *commands;            //  write node endpoint
    const char *queries [MAX_NODES]; //  query node endpoints
    int query_count;                 //  entries in queries
    int threads;                     //  concurrent clients
    int accounts;                    //  account slots
    int seconds;                     //  run time
    uint64_t seed;                   //  random seed
    int timeout;                     //  ms to wait for one answer
    int give_up;                     //  ms to keep retrying one command
    int pause;                       //  ms each thread waits between steps
    const char *prefix;              //  stream name prefix
    zcq_history_t *history;          //  shared history writer
    slot_t *slots;                   //  accounts[] slots
    int64_t deadline;                //  zclock_mono () when the run ends
    atomic_long sent, tries, resends, timeouts, retryable, given_up, answers;
    atomic_long statuses [ZCQ_STATUSES];
} workload_t;

typedef struct {
    workload_t *workload; //  shared settings and counters
    int number;           //  thread number, 0..threads-1
    uint64_t random;      //  xorshift64* state
    zcq_client_t *client; //  this thread's client
} worker_t;

static uint64_t
s_next (worker_t *self)
{
    self->random ^= self->random >> 12;
    self->random ^= self->random << 25;
    self->random ^= self->random >> 27;
    return self->random * 2685821657736338717ULL;
}

static bool
s_running (workload_t *workload)
{
    return !zsys_interrupted && zclock_mono () < workload->deadline;
}

//  Send one command and retry it, with the same id, until it has a final
//  answer or give_up ms passed. Returns the final status, or -1 if given up.
static int
s_command (worker_t *self, const char *type, const char *stream, int64_t expect, int64_t amount,
           const char *owner)
{
    workload_t *workload = self->workload;
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &data, msgpack_sbuffer_write);
    if (amount > 0) {
        msgpack_pack_map (&packer, 1);
        zcq_mpack_pack_str (&packer, "amount");
        msgpack_pack_int64 (&packer, amount);
    }
    else if (owner) {
        msgpack_pack_map (&packer, 1);
        zcq_mpack_pack_str (&packer, "owner");
        zcq_mpack_pack_str (&packer, owner);
    }
    else {
        msgpack_pack_map (&packer, 0);
    }
    zcq_msg_t *command = zcq_client_command (type, stream, expect, data.data, data.size);
    msgpack_sbuffer_destroy (&data);
    if (!zcq_msg_valid (command)) {
        zsys_error ("workload: %s", zcq_msg_error (command)); //  no id: never sent
        zcq_msg_destroy (&command);
        return -1;
    }
    char id [2 * ZCQ_COMMAND_ID + 1];
    zcq_history_hex (zcq_msg_id (command), ZCQ_COMMAND_ID, id);
    atomic_fetch_add (&workload->sent, 1);

    int64_t give_up = zclock_mono () + workload->give_up;
    int outcome = -1;
    int backoff = 20;
    for (int attempt = 1; zclock_mono () < give_up; attempt++) {
        atomic_fetch_add (&workload->tries, 1);
        zcq_history_write (workload->history,
                           "{\"op\":\"send\",\"id\":\"%s\",\"thread\":%d,\"try\":%d,"
                           "\"type\":\"%s\",\"stream\":\"%s\",\"expect\":%" PRId64
                           ",\"amount\":%" PRId64 ",\"t\":%" PRId64 "}",
                           id, self->number, attempt, type, stream, expect, amount,
                           zclock_usecs ());
        //  The client resends on its own within the time-out (same id);
        //  the history counts those resends too
        uint64_t before = zcq_client_retries (self->client);
        zcq_msg_t *reply = zcq_client_request (self->client, command, workload->timeout);
        uint64_t resends = zcq_client_retries (self->client) - before;
        atomic_fetch_add (&workload->resends, (long) resends);
        if (!reply) {
            atomic_fetch_add (&workload->timeouts, 1);
            zcq_history_write (workload->history,
                               "{\"op\":\"timeout\",\"id\":\"%s\",\"resends\":%" PRIu64
                               ",\"t\":%" PRId64 "}",
                               id, resends, zclock_usecs ());
            continue;
        }
        char reason [600];
        zcq_history_quote (reason, sizeof (reason), zcq_msg_reason (reply));
        zcq_status_t status = zcq_msg_status (reply);
        if (zcq_msg_type (reply) == ZCQ_MSG_ERROR) {
            //  The node could not read it: the same bytes will not do better
            zcq_history_write (workload->history,
                               "{\"op\":\"error\",\"id\":\"%s\",\"status\":\"%s\","
                               "\"reason\":%s,\"t\":%" PRId64 "}",
                               id, zcq_status_name (status), reason, zclock_usecs ());
            zcq_msg_destroy (&reply);
            break;
        }
        zcq_history_write (workload->history,
                           "{\"op\":\"reply\",\"id\":\"%s\",\"resends\":%" PRIu64
                           ",\"status\":\"%s\",\"version\":%" PRIu64 ",\"position\":%" PRIu64
                           ",\"count\":%" PRIu32 ",\"reason\":%s,\"t\":%" PRId64 "}",
                           id, resends, zcq_status_name (status), zcq_msg_version (reply),
                           zcq_msg_position (reply), zcq_msg_count (reply), reason,
                           zclock_usecs ());
        zcq_msg_destroy (&reply);
        atomic_fetch_add (&workload->statuses [status], 1);
        if (!zcq_status_retryable (status)) {
            outcome = (int) status;
            break;
        }
        atomic_fetch_add (&workload->retryable, 1);
        zclock_sleep (backoff);
        backoff = backoff < 500 ? backoff * 2 : 1000;
    }
    if (outcome < 0) {
        atomic_fetch_add (&workload->given_up, 1);
        zcq_history_write (workload->history,
                           "{\"op\":\"giveup\",\"id\":\"%s\",\"t\":%" PRId64 "}", id,
                           zclock_usecs ());
    }
    zcq_msg_destroy (&command);
    return outcome;
}

//  Ask a query node for an account; record an "ok" answer. Returns the
//  balance, or -1 if there was no ok answer.
static int64_t
s_balance (worker_t *self, const char *stream)
{
    workload_t *workload = self->workload;
    int node = (int) (s_next (self) % (uint64_t) workload->query_count);
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &params, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "id");
    zcq_mpack_pack_str (&packer, stream);
    zcq_msg_t *result = zcq_client_query (self->client, node, "account", params.data,
                                          params.size, 0, workload->timeout);
    msgpack_sbuffer_destroy (&params);
    int64_t balance = -1;
    if (result && zcq_msg_type (result) == ZCQ_MSG_RESULT
        && zcq_msg_status (result) == ZCQ_OK) {
        msgpack_unpacked unpacked;
        if (zcq_mpack_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &unpacked)
            == 0) {
            const msgpack_object *value = zcq_map_get (&unpacked.data, "balance");
            const msgpack_object *version = zcq_map_get (&unpacked.data, "version");
            if (value && version && version->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                && (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                    || value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
                balance = value->via.i64;
                atomic_fetch_add (&workload->answers, 1);
                zcq_history_write (workload->history,
                                   "{\"op\":\"query\",\"node\":%d,\"stream\":\"%s\","
                                   "\"status\":\"ok\",\"position\":%" PRIu64
                                   ",\"version\":%" PRIu64 ",\"balance\":%" PRId64
                                   ",\"t\":%" PRId64 "}",
                                   node, stream, zcq_msg_position (result), version->via.u64,
                                   balance, zclock_usecs ());
            }
            msgpack_unpacked_destroy (&unpacked);
        }
    }
    zcq_msg_destroy (&result);
    return balance;
}

//  One step: pick an account and do something to it.
static void
s_step (worker_t *self)
{
    workload_t *workload = self->workload;
    slot_t *slot = &workload->slots [s_next (self) % (uint64_t) workload->accounts];
    int generation = atomic_load (&slot->generation);
    char stream [96];
    snprintf (stream, sizeof (stream), "%s-%d-%d", workload->prefix,
              (int) (slot - workload->slots), generation);
    int state = atomic_load (&slot->state);
    if (state == 2) {
        //  Closed: the slot moves on to a new account (once, whoever sees it)
        if (atomic_compare_exchange_strong (&slot->generation, &generation, generation + 1)) {
            atomic_store (&slot->state, 0);
        }
        return;
    }
    if (state == 0) {
        char owner [32];
        snprintf (owner, sizeof (owner), "owner-%d", self->number);
        int status = s_command (self, "OpenAccount", stream, 0, 0, owner);
        if (status == ZCQ_ACCEPTED || status == ZCQ_CONFLICT || status == ZCQ_REJECTED) {
            atomic_store (&slot->state, 1);
        }
        return;
    }
    uint64_t dice = s_next (self) % 100;
    int64_t amount = 1 + (int64_t) (s_next (self) % 500);
    if (dice < 45) {
        s_command (self, "Deposit", stream, ZCQ_EXPECT_ANY, amount, NULL);
    }
    else if (dice < 85) {
        s_command (self, "Withdraw", stream, ZCQ_EXPECT_ANY, amount, NULL);
    }
    else if (dice < 95) {
        s_balance (self, stream);
    }
    else {
        //  Empty the account at the balance a query node shows, then close
        //  it: both may lose a race with other threads and be rejected
        int64_t balance = s_balance (self, stream);
        if (balance > 0) {
            s_command (self, "Withdraw", stream, ZCQ_EXPECT_ANY, balance, NULL);
        }
        int status = s_command (self, "CloseAccount", stream, ZCQ_EXPECT_ANY, 0, NULL);
        if (status == ZCQ_ACCEPTED) {
            atomic_store (&slot->state, 2);
        }
    }
}

static void *
s_worker (void *argument)
{
    worker_t *self = (worker_t *) argument;
    workload_t *workload = self->workload;
    self->client = zcq_client_new (workload->commands);
    if (!self->client) {
        return NULL;
    }
    for (int index = 0; index < workload->query_count; index++) {
        zcq_client_add_query_node (self->client, workload->queries [index]);
    }
    while (s_running (workload)) {
        s_step (self);
        if (workload->pause) {
            zclock_sleep (workload->pause);
        }
    }
    zcq_client_destroy (&self->client);
    return NULL;
}

static int
s_usage (void)
{
    fprintf (
        stderr,
        "usage: zcq-workload --commands EP --query EP [--query EP ...] --history FILE\n"
        "                    [--threads 8] [--accounts 64] [--seconds 30] [--seed 1]\n"
        "                    [--timeout 1000] [--give-up 60000] [--pause 0] [--prefix acc]\n");
    return 2;
}

int
main (int argc, char **argv)
{
    workload_t workload = {.threads = 8,
                           .accounts = 64,
                           .seconds = 30,
                           .seed = 1,
                           .timeout = 1000,
                           .give_up = 60000,
                           .prefix = "acc"};
    const char *history_path = NULL;
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc ? argv [index + 1] : NULL;
        if (!value) {
            return s_usage ();
        }
        index++;
        if (streq (arg, "--commands")) {
            workload.commands = value;
        }
        else if (streq (arg, "--query") && workload.query_count < MAX_NODES) {
            workload.queries [workload.query_count++] = value;
        }
        else if (streq (arg, "--history")) {
            history_path = value;
        }
        else if (streq (arg, "--threads")) {
            workload.threads = atoi (value);
        }
        else if (streq (arg, "--accounts")) {
            workload.accounts = atoi (value);
        }
        else if (streq (arg, "--seconds")) {
            workload.seconds = atoi (value);
        }
        else if (streq (arg, "--seed")) {
            workload.seed = strtoull (value, NULL, 10);
        }
        else if (streq (arg, "--timeout")) {
            workload.timeout = atoi (value);
        }
        else if (streq (arg, "--give-up")) {
            workload.give_up = atoi (value);
        }
        else if (streq (arg, "--pause")) {
            workload.pause = atoi (value);
        }
        else if (streq (arg, "--prefix")) {
            workload.prefix = value;
        }
        else {
            fprintf (stderr, "zcq-workload: unknown option '%s'\n", arg);
            return s_usage ();
        }
    }
    if (!workload.commands || !workload.query_count || !history_path || workload.threads < 1
        || workload.threads > 256 || workload.accounts < 1 || workload.timeout < 1
        || workload.seconds < 0 || workload.pause < 0) {
        return s_usage ();
    }
    zsys_init ();
    zsys_set_logident ("zcq-workload");
    workload.history = zcq_history_new (history_path);
    if (!workload.history) {
        fprintf (stderr, "zcq-workload: cannot write '%s': %s\n", history_path,
                 strerror (errno));
        return 2;
    }
    workload.slots = (slot_t *) calloc ((size_t) workload.accounts, sizeof (slot_t));
    assert (workload.slots);
    workload.deadline = zclock_mono () + (int64_t) workload.seconds * 1000;
    int64_t started = zclock_mono ();
    worker_t *workers = (worker_t *) calloc ((size_t) workload.threads, sizeof (worker_t));
    pthread_t *threads = (pthread_t *) calloc ((size_t) workload.threads, sizeof (pthread_t));
    assert (workers && threads);
    for (int index = 0; index < workload.threads; index++) {
        workers [index].workload = &workload;
        workers [index].number = index;
        //  Never zero: xorshift would stay at zero
        workers [index].random =
            (workload.seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t) index + 1;
        pthread_create (&threads [index], NULL, s_worker, &workers [index]);
    }
    for (int index = 0; index < workload.threads; index++) {
        pthread_join (threads [index], NULL);
    }
    double seconds = (double) (zclock_mono () - started) / 1000.0;
    printf ("zcq-workload: %ld commands (%ld sends, %ld client resends, %ld time-outs, "
            "%ld busy/unavailable), "
            "%ld accepted, %ld rejected, %ld conflict, %ld given up, %ld queries, "
            "%.1f s, %.0f commands/s\n",
            atomic_load (&workload.sent), atomic_load (&workload.tries),
            atomic_load (&workload.resends), atomic_load (&workload.timeouts),
            atomic_load (&workload.retryable), atomic_load (&workload.statuses [ZCQ_ACCEPTED]),
            atomic_load (&workload.statuses [ZCQ_REJECTED]),
            atomic_load (&workload.statuses [ZCQ_CONFLICT]), atomic_load (&workload.given_up),
            atomic_load (&workload.answers), seconds,
            seconds > 0 ? (double) atomic_load (&workload.sent) / seconds : 0.0);
    long given_up = atomic_load (&workload.given_up);
    zcq_history_destroy (&workload.history);
    free (workers);
    free (threads);
    free (workload.slots);
    return given_up ? 1 : 0;
}
