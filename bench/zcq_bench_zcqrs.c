/*  =========================================================================
    zcq_bench_zcqrs - the zcqrs side of the workloads (see the header)
    =========================================================================
*/

#include "zcq_bench_zcqrs.h"
#include "zcq_bench_proc.h"

#include "zcqrs.h"

#include <pthread.h>

#define TIMEOUT_MS 10000 //  longest wait for one reply before giving up
#define ATTEMPTS   50    //  sends of one command, "busy" answers included

//  --- Packed command data, made once ----------------------------------------

static msgpack_sbuffer s_deposit, s_withdraw, s_open, s_append, s_probe;
static pthread_once_t s_packed_once = PTHREAD_ONCE_INIT;

//  Pack {key: integer}
static void
s_pack_int (msgpack_sbuffer *buffer, const char *key, int64_t value)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, key);
    msgpack_pack_int64 (&pk, value);
}

static void
s_pack_all (void)
{
    s_pack_int (&s_deposit, "amount", 5);
    s_pack_int (&s_withdraw, "amount", 3);
    s_pack_int (&s_probe, "amount", 1);
    msgpack_sbuffer_init (&s_open);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &s_open, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "owner");
    zcq_mpack_pack_str (&pk, "bench");
    //  {events: [{type: "Recorded", data: {payload: "xxx..."}}]}, the payload
    //  sized so that the stored event is about ZCQ_BENCH_EVENT_SIZE bytes
    char payload [ZCQ_BENCH_EVENT_SIZE - 60 + 1];
    memset (payload, 'x', sizeof (payload) - 1);
    payload [sizeof (payload) - 1] = 0;
    msgpack_sbuffer_init (&s_append);
    msgpack_packer_init (&pk, &s_append, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "events");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 2);
    zcq_mpack_pack_str (&pk, "type");
    zcq_mpack_pack_str (&pk, "Recorded");
    zcq_mpack_pack_str (&pk, "data");
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "payload");
    zcq_mpack_pack_str (&pk, payload);
}

static void
s_packed (void)
{
    pthread_once (&s_packed_once, s_pack_all);
}

//  Write "bench-<account>" into stream (at least 32 bytes). Digits by
//  hand: snprintf's format parsing was a tenth of a pipelined client's
//  own instructions, which the benchmark counts as the client's CPU.
static void
s_account_stream (char *stream, int account)
{
    char digits [16];
    int count = 0;
    unsigned value = (unsigned) account;
    do {
        digits [count++] = (char) ('0' + value % 10);
        value /= 10;
    } while (value && count < (int) sizeof (digits));
    memcpy (stream, "bench-", 6);
    for (int index = 0; index < count; index++) {
        stream [6 + index] = digits [count - 1 - index];
    }
    stream [6 + count] = 0;
}

//  Bank command for an account expected at version expect.
static zcq_msg_t *
s_bank_command (int account, uint64_t expect)
{
    char stream [32];
    s_account_stream (stream, account);
    if (expect == 0) {
        return zcq_client_command ("OpenAccount", stream, 0, s_open.data, s_open.size);
    }
    msgpack_sbuffer *data = expect % 4 == 3 ? &s_withdraw : &s_deposit;
    return zcq_client_command (expect % 4 == 3 ? "Withdraw" : "Deposit", stream,
                               (int64_t) expect, data->data, data->size);
}

//  What became of a command, from its reply (NULL: none came)
static zcq_bench_outcome_t
s_outcome (zcq_msg_t *reply)
{
    if (!reply) {
        return ZCQ_BENCH_NO_ANSWER;
    }
    zcq_status_t status = zcq_msg_status (reply);
    return status == ZCQ_ACCEPTED   ? ZCQ_BENCH_DONE
           : status == ZCQ_CONFLICT ? ZCQ_BENCH_CONFLICT
                                    : ZCQ_BENCH_REFUSED;
}

//  --- Closed-loop drivers -----------------------------------------------------

//  A client as a user would run it: it retries "busy" after the node's
//  hint (a write node with small groups answers many), within TIMEOUT_MS
static void *
s_connect (void *target, int client)
{
    (void) client;
    s_packed ();
    zcq_client_t *connection = zcq_client_new ((const char *) target);
    if (connection) {
        zcq_client_set_attempts (connection, ATTEMPTS);
    }
    return connection;
}

static void
s_disconnect (void *connection)
{
    zcq_client_destroy ((zcq_client_t **) &connection);
}

//  Send a command, wait for its reply, report the stream's version.
static zcq_bench_outcome_t
s_request (zcq_client_t *client, zcq_msg_t *command, uint64_t *version)
{
    zcq_msg_t *reply = zcq_client_request (client, command, TIMEOUT_MS);
    zcq_bench_outcome_t outcome = s_outcome (reply);
    if (outcome == ZCQ_BENCH_DONE || outcome == ZCQ_BENCH_CONFLICT) {
        *version = zcq_msg_version (reply);
    }
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&command);
    return outcome;
}

static zcq_bench_outcome_t
s_bank_append (void *connection, int stream, uint64_t expect, uint64_t *version)
{
    return s_request ((zcq_client_t *) connection, s_bank_command (stream, expect), version);
}

static zcq_bench_outcome_t
s_store_append (void *connection, int stream, uint64_t expect, uint64_t *version)
{
    char name [32];
    snprintf (name, sizeof (name), "stream-%d", stream);
    zcq_msg_t *command =
        zcq_client_command ("Append", name, (int64_t) expect, s_append.data, s_append.size);
    return s_request ((zcq_client_t *) connection, command, version);
}

const zcq_bench_driver_t zcq_bench_bank_driver = {
    .name = "zcqrs",
    .connect = s_connect,
    .append = s_bank_append,
    .disconnect = s_disconnect,
};

const zcq_bench_driver_t zcq_bench_store_driver = {
    .name = "zcqrs",
    .connect = s_connect,
    .append = s_store_append,
    .disconnect = s_disconnect,
};

//  --- Pipelined -----------------------------------------------------------------

//  A command in flight
typedef struct {
    zcq_msg_t *command; //  the command, kept to resend it after "busy"
    int64_t sent;       //  zcq_bench_now () when first posted
    int64_t resend_at;  //  when to send it again after "busy" (0: not waiting)
    int account;        //  its account
} s_flight_t;

//  One pipelined client's state
typedef struct {
    zcq_bench_pipeline_t *pipeline; //  shared settings
    zcq_bench_load_t *load;         //  the load it is part of
    int worker;                     //  its number
    zcq_client_t *client;           //  its connection
    s_flight_t *flights;            //  pipeline->window slots
    int outstanding;                //  slots in use
    int account;                    //  next account to send to
    int free_at, hint;              //  where to look for a free slot, a reply's slot
    int waiting;                    //  slots whose command waits to be resent
} s_pipe_t;

//  The slot of the command this reply answers, or NULL.
static s_flight_t *
s_find (s_pipe_t *pipe, zcq_msg_t *reply)
{
    if (zcq_msg_id_size (reply) != ZCQ_COMMAND_ID) {
        return NULL;
    }
    //  Replies mostly come in the order sent: start after the last found
    int window = pipe->pipeline->window;
    for (int step = 0; step < window; step++) {
        s_flight_t *flight = &pipe->flights [(pipe->hint + step) % window];
        if (flight->command
            && memcmp (zcq_msg_id (flight->command), zcq_msg_id (reply), ZCQ_COMMAND_ID) == 0) {
            pipe->hint = (pipe->hint + step + 1) % window;
            return flight;
        }
    }
    return NULL;
}

//  Send new commands until the window is full; false when this client is
//  to send no more (the window closed, the limit was reached, or a failure).
static bool
s_fill_window (s_pipe_t *pipe)
{
    zcq_bench_pipeline_t *pipeline = pipe->pipeline;
    bool sending = zcq_bench_load_running (pipe->load);
    while (sending && pipe->outstanding < pipeline->window) {
        if (pipeline->limit && atomic_fetch_add (&pipeline->sent, 1) >= pipeline->limit) {
            return false;
        }
        while (pipe->flights [pipe->free_at].command) {
            pipe->free_at = (pipe->free_at + 1) % pipeline->window;
        }
        s_flight_t *flight = &pipe->flights [pipe->free_at];
        //  Count the version ahead: every command in flight is expected to
        //  be accepted; a conflict resynchronises the account
        flight->command = s_bank_command (pipe->account, pipeline->versions [pipe->account]++);
        flight->account = pipe->account;
        flight->sent = zcq_bench_now ();
        flight->resend_at = 0;
        if (zcq_client_post (pipe->client, flight->command) != 0) {
            zcq_bench_load_fail (pipe->load, pipe->worker, "cannot post a command");
            zcq_msg_destroy (&flight->command);
            return false;
        }
        pipe->outstanding++;
        pipe->account += zcq_bench_load_workers (pipe->load);
        if (pipe->account >= pipeline->streams) {
            pipe->account = pipe->worker;
        }
    }
    return sending;
}

//  Send again the commands whose "busy" wait is over; returns the ms until
//  the next one is due (at most max_ms).
static int
s_resend_due (s_pipe_t *pipe, int max_ms)
{
    if (pipe->waiting == 0) {
        return max_ms; //  the usual case: no slot to look at
    }
    int64_t now = zcq_bench_now (), next = now + (int64_t) max_ms * 1000000;
    for (int index = 0; index < pipe->pipeline->window; index++) {
        s_flight_t *flight = &pipe->flights [index];
        if (flight->command && flight->resend_at && flight->resend_at <= now) {
            flight->resend_at = 0;
            pipe->waiting--;
            zcq_client_post (pipe->client, flight->command);
        }
        else if (flight->command && flight->resend_at && flight->resend_at < next) {
            next = flight->resend_at;
        }
    }
    return (int) ((next - now) / 1000000) + 1;
}

//  Take one reply: record its command's outcome, or schedule the command
//  again after "busy" (nothing was stored; the node's hint says when).
static void
s_take_reply (s_pipe_t *pipe, zcq_msg_t *reply)
{
    s_flight_t *flight = s_find (pipe, reply);
    if (!flight) {
        return;
    }
    if (zcq_msg_status (reply) == ZCQ_BUSY) {
        //  A busy answer to a command already waiting (a duplicate) moves
        //  its time; it does not count it twice
        pipe->waiting += flight->resend_at == 0;
        flight->resend_at = zcq_bench_now () + (int64_t) zcq_msg_retry_after (reply) * 1000000;
        pipe->pipeline->busy++;
        return;
    }
    zcq_bench_outcome_t outcome = s_outcome (reply);
    if (outcome == ZCQ_BENCH_CONFLICT) {
        pipe->pipeline->versions [flight->account] = zcq_msg_version (reply);
    }
    //  The latency of a resent command counts from its first send
    zcq_bench_load_record (pipe->load, pipe->worker, zcq_bench_now () - flight->sent, outcome);
    pipe->waiting -= flight->resend_at != 0;
    flight->resend_at = 0;
    zcq_msg_destroy (&flight->command);
    pipe->outstanding--;
}

void
zcq_bench_pipelined (zcq_bench_load_t *load, int worker, void *arg)
{
    zcq_bench_pipeline_t *pipeline = (zcq_bench_pipeline_t *) arg;
    s_packed ();
    s_pipe_t pipe = {pipeline,
                     load,
                     worker,
                     zcq_client_new (pipeline->commands),
                     (s_flight_t *) calloc ((size_t) pipeline->window, sizeof (s_flight_t)),
                     0,
                     worker,
                     0,
                     0,
                     0};
    if (!pipe.client || !pipe.flights || worker >= pipeline->streams) {
        zcq_bench_load_fail (load, worker, "cannot make a pipelined client");
    }
    int64_t answered = zcq_bench_now (); //  when the node last answered
    bool sending = pipe.client && pipe.flights && worker < pipeline->streams;
    while (sending || pipe.outstanding > 0) {
        sending = sending && s_fill_window (&pipe);
        int wait_ms = s_resend_due (&pipe, 100);
        zcq_msg_t *reply = zcq_client_recv_reply (pipe.client, wait_ms);
        if (reply) {
            answered = zcq_bench_now ();
            s_take_reply (&pipe, reply);
            zcq_msg_destroy (&reply);
        }
        else if (zcq_bench_now () - answered > (int64_t) TIMEOUT_MS * 1000000) {
            zcq_bench_load_fail (load, worker, "no reply from the write node in 10 s");
            break;
        }
    }
    for (int index = 0; pipe.flights && index < pipeline->window; index++) {
        zcq_msg_destroy (&pipe.flights [index].command);
    }
    free (pipe.flights);
    zcq_client_destroy (&pipe.client);
}

//  --- Queries ------------------------------------------------------------------

void
zcq_bench_query_loop (zcq_bench_load_t *load, int worker, void *arg)
{
    zcq_bench_queries_t *queries = (zcq_bench_queries_t *) arg;
    //  A client needs a write node endpoint; the query node's serves (unused)
    zcq_client_t *client = zcq_client_new (queries->queries);
    bool failed = !client;
    for (int node = 0; !failed && node < (queries->spread ? queries->spread : 1); node++) {
        failed = zcq_client_add_query_node (client, queries->spread ? queries->nodes [node]
                                                                    : queries->queries)
                 < 0;
    }
    if (failed) {
        zcq_bench_load_fail (load, worker, "cannot make a query client");
        zcq_client_destroy (&client);
        return;
    }
    int target = queries->spread > 1 ? ZCQ_ANY_QUERY_NODE : 0;
    zcq_client_set_consistent (client, false);
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    int account = worker, failures = 0;
    while (zcq_bench_load_running (load)) {
        char id [32];
        snprintf (id, sizeof (id), "bench-%d", account);
        msgpack_sbuffer_clear (&params);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 1);
        zcq_mpack_pack_str (&pk, "id");
        zcq_mpack_pack_str (&pk, id);
        int64_t start = zcq_bench_now ();
        zcq_msg_t *result = zcq_client_query (client, target, "account", params.data,
                                              params.size, 0, TIMEOUT_MS);
        zcq_bench_outcome_t outcome = !result                             ? ZCQ_BENCH_NO_ANSWER
                                      : zcq_msg_status (result) == ZCQ_OK ? ZCQ_BENCH_DONE
                                                                          : ZCQ_BENCH_REFUSED;
        zcq_bench_load_record (load, worker, zcq_bench_now () - start, outcome);
        zcq_msg_destroy (&result);
        if (outcome == ZCQ_BENCH_NO_ANSWER && ++failures == 3) {
            zcq_bench_load_fail (load, worker, "the query node did not answer three times");
            break;
        }
        account = (account + zcq_bench_load_workers (load)) % queries->accounts;
    }
    msgpack_sbuffer_destroy (&params);
    zcq_client_destroy (&client);
}

//  --- End-to-end probe --------------------------------------------------------

int
zcq_bench_query_all (zsock_t *const *socks, int nodes, const char *name, const void *params,
                     size_t size, uint64_t min_position, int timeout_ms, int *stale)
{
    assert (socks);
    assert (name);
    assert (stale);
    assert (nodes > 0 && nodes <= ZCQ_BENCH_PROBE_NODES);
    *stale = 0;
    //  A fresh id a call: a late answer to an earlier one is told apart
    static _Thread_local uint64_t calls;
    uint64_t id = ++calls;
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_id (query, &id, sizeof (id));
    zcq_msg_set_name (query, name);
    zcq_msg_set_data (query, params, size);
    zcq_msg_set_min_position (query, min_position);
    zcq_msg_set_timeout (query, (uint32_t) (timeout_ms * 3 / 4 > 0 ? timeout_ms * 3 / 4 : 1));
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    int rc = zcq_msg_encode_body (query, &body);
    assert (rc == 0);
    (void) rc;
    //  Every node is asked before any answer is awaited: asked one after
    //  the other, each node's round trip would add to the time the event
    //  took to become visible on the next
    bool waiting [ZCQ_BENCH_PROBE_NODES] = {false};
    zpoller_t *poller = zpoller_new (NULL);
    int asked = 0;
    for (int node = 0; node < nodes; node++) {
        if (zcq_msg_send_encoded (query, socks [node], &body) == 0) {
            waiting [node] = true;
            zpoller_add (poller, socks [node]);
            asked++;
        }
    }
    msgpack_sbuffer_destroy (&body);
    zcq_msg_destroy (&query);
    int answered = 0, ok = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (answered < asked) {
        int64_t left = deadline - zclock_mono ();
        zsock_t *which = left > 0 ? (zsock_t *) zpoller_wait (poller, (int) left) : NULL;
        if (!which) {
            break;
        }
        zcq_msg_t *answer = zcq_msg_recv (which);
        int node = 0;
        while (node < nodes && socks [node] != which) {
            node++;
        }
        if (answer && waiting [node] && zcq_msg_id_size (answer) == sizeof (id)
            && memcmp (zcq_msg_id (answer), &id, sizeof (id)) == 0) {
            waiting [node] = false;
            answered++;
            if (zcq_msg_type (answer) == ZCQ_MSG_RESULT && zcq_msg_status (answer) == ZCQ_OK) {
                ok++;
            }
            else if (zcq_msg_status (answer) == ZCQ_STALE) {
                (*stale)++;
            }
        }
        zcq_msg_destroy (&answer);
    }
    zpoller_destroy (&poller);
    return ok;
}

void
zcq_bench_probe (zcq_bench_load_t *load, int worker, void *arg)
{
    (void) worker;
    zcq_bench_probe_t *probe = (zcq_bench_probe_t *) arg;
    s_packed ();
    zcq_client_t *client = zcq_client_new (probe->commands);
    zsock_t *socks [ZCQ_BENCH_PROBE_NODES] = {NULL};
    bool connected = client && probe->nodes > 0 && probe->nodes <= ZCQ_BENCH_PROBE_NODES;
    for (int node = 0; connected && node < probe->nodes; node++) {
        socks [node] = zsock_new_dealer (probe->queries [node]);
        connected = socks [node] != NULL;
    }
    if (!connected) {
        for (int node = 0; node < ZCQ_BENCH_PROBE_NODES; node++) {
            zsock_destroy (&socks [node]);
        }
        zcq_client_destroy (&client);
        zcq_bench_load_fail (load, -1, "cannot make the probe's client");
        return;
    }
    //  Its own account: opened here (a refusal says it was open already)
    zcq_msg_t *reply = zcq_client_send (client, "OpenAccount", "bench-probe", ZCQ_EXPECT_ANY,
                                        s_open.data, s_open.size, TIMEOUT_MS);
    zcq_msg_destroy (&reply);
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "id");
    zcq_mpack_pack_str (&pk, "bench-probe");
    int64_t next = zcq_bench_now ();
    while (zcq_bench_load_running (load)) {
        next += (int64_t) probe->interval_us * 1000;
        zcq_bench_sleep_until (next);
        reply = zcq_client_send (client, "Deposit", "bench-probe", ZCQ_EXPECT_ANY, s_probe.data,
                                 s_probe.size, TIMEOUT_MS);
        int64_t accepted = zcq_bench_now ();
        bool ok = reply && zcq_msg_status (reply) == ZCQ_ACCEPTED;
        uint64_t position = reply ? zcq_msg_position (reply) : 0;
        zcq_msg_destroy (&reply);
        bool measuring = zcq_bench_load_measuring (load);
        if (!ok) {
            probe->failed += measuring;
            continue;
        }
        int stale = 0;
        int visible = zcq_bench_query_all (socks, probe->nodes, "account", params.data,
                                           params.size, position, 2000, &stale);
        if (visible == probe->nodes && measuring) {
            zcq_bench_latency_add (probe->visible, zcq_bench_now () - accepted);
        }
        else if (measuring) {
            probe->stale += (uint64_t) stale;
            probe->failed += (uint64_t) (probe->nodes - visible - stale);
        }
    }
    for (int node = 0; node < probe->nodes; node++) {
        zsock_destroy (&socks [node]);
    }
    msgpack_sbuffer_destroy (&params);
    zcq_client_destroy (&client);
}
