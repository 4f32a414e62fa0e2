/*  =========================================================================
    fuzz_query - the query path of a query node on any bytes

    In this process: a write node (bank) and two query nodes that follow it,
    one projecting with the bank domain, one with the store domain, each on
    a real LevelDB in a temporary folder, over inproc://. A few accounts are
    opened first so that queries find read models. Each input is one or
    more messages (fuzz_kit.h) sent on a fresh DEALER to the query node the
    first byte picks; the node must keep answering (a "status" query after
    every 64 inputs must be answered, else the harness aborts).
    =========================================================================
*/

#include "fuzz_kit.h"

#define QUERIES_BANK  "inproc://fuzz-query-bank"
#define QUERIES_STORE "inproc://fuzz-query-store"
#define ANSWER_WAIT   100   //  ms an answer may take (queries may wait longer)
#define STATUS_WAIT   10000 //  ms the status query after each input may take

static zactor_t *s_write, *s_bank, *s_store;
static char *s_dir;

static void
s_stop (void)
{
    zactor_destroy (&s_bank);
    zactor_destroy (&s_store);
    zactor_destroy (&s_write);
    fuzz_kit_rmtree (s_dir);
    zstr_free (&s_dir);
}

//  A "status" query as frames.
static zmsg_t *
s_status (void)
{
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_name (query, "status");
    zmsg_t *frames = zcq_msg_encode (query);
    zcq_msg_destroy (&query);
    return frames;
}

//  Status of a node, decoded; aborts if it does not answer.
static zcq_msg_t *
s_ask_status (const char *endpoint)
{
    zmsg_t *frames = s_status ();
    zmsg_t *answer = fuzz_kit_ask (endpoint, frames, STATUS_WAIT);
    zmsg_destroy (&frames);
    if (!answer) {
        fprintf (stderr, "fuzz_query: %s stopped answering\n", endpoint);
        abort ();
    }
    zcq_msg_t *msg = zcq_msg_decode (&answer);
    return msg;
}

//  Open accounts and deposit, then wait until both query nodes applied it.
static void
s_populate (void)
{
    const char *owners [] = {"alice", "bob", "carol"};
    for (int index = 0; index < 3; index++) {
        zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
        byte id [ZCQ_COMMAND_ID] = {(byte) index, 1};
        zcq_msg_set_id (command, id, sizeof id);
        zcq_msg_set_name (command, "OpenAccount");
        char stream [16];
        snprintf (stream, sizeof stream, "acct-%d", index + 1);
        zcq_msg_set_stream (command, stream);
        char data [32];
        memcpy (data, "\x81\xa5owner", 7);
        data [7] = (char) (0xa0 | strlen (owners [index]));
        memcpy (data + 8, owners [index], strlen (owners [index]));
        zcq_msg_set_data (command, data, 8 + strlen (owners [index]));
        zmsg_t *frames = zcq_msg_encode (command);
        zmsg_t *answer = fuzz_kit_ask ("inproc://fuzz-query-commands", frames, STATUS_WAIT);
        assert (answer);
        zmsg_destroy (&answer);
        zmsg_destroy (&frames);
        zcq_msg_destroy (&command);
    }
    const char *nodes [] = {QUERIES_BANK, QUERIES_STORE};
    for (int node = 0; node < 2; node++) {
        int64_t deadline = zclock_mono () + STATUS_WAIT;
        uint64_t applied = 0;
        while (applied < 3 && zclock_mono () < deadline) {
            zcq_msg_t *status = s_ask_status (nodes [node]);
            applied = zcq_msg_position (status);
            zcq_msg_destroy (&status);
            zclock_sleep (10); //  waiting for another thread's progress; bounded
        }
        assert (applied >= 3);
    }
}

static void
s_init (void)
{
    fuzz_kit_init (s_stop);
    s_dir = fuzz_kit_tmpdir ("query");
    assert (s_dir);
    char write [300], bank [300], store [300];
    snprintf (write, sizeof write, "write/data=%s/write", s_dir);
    snprintf (bank, sizeof bank, "query/data=%s/bank", s_dir);
    snprintf (store, sizeof store, "query/data=%s/store", s_dir);
    s_write = fuzz_kit_node (zcq_write_node_actor, write, "write/durability=async",
                             "write/commands=inproc://fuzz-query-commands",
                             "write/events=inproc://fuzz-query-events",
                             "write/replay=inproc://fuzz-query-replay", NULL);
    s_bank =
        fuzz_kit_node (zcq_query_node_actor, bank, "query/domain=bank",
                       "query/queries=" QUERIES_BANK, "query/events=inproc://fuzz-query-events",
                       "query/replay=inproc://fuzz-query-replay", NULL);
    s_store = fuzz_kit_node (zcq_query_node_actor, store, "query/domain=store",
                             "query/queries=" QUERIES_STORE,
                             "query/events=inproc://fuzz-query-events",
                             "query/replay=inproc://fuzz-query-replay", NULL);
    s_populate ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_write) {
        s_init ();
    }
    if (size == 0) {
        return 0;
    }
    const char *endpoint = (data [0] & 1) ? QUERIES_STORE : QUERIES_BANK;
    zsock_t *dealer = fuzz_kit_dealer (endpoint);
    int sent = fuzz_kit_send_all (dealer, data + 1, size - 1);
    for (int index = 0; index < sent; index++) {
        zmsg_t *answer = fuzz_kit_recv (dealer, ANSWER_WAIT);
        if (!answer) {
            break; //  a query that waits for a position; not an error
        }
        zcq_msg_t *msg = zcq_msg_decode (&answer);
        if (!zcq_msg_valid (msg)) {
            fprintf (stderr, "fuzz_query: the node's answer does not decode: %s\n",
                     zcq_msg_error (msg));
            abort ();
        }
        zcq_msg_destroy (&msg);
    }
    zsock_destroy (&dealer);
    //  Now and then: the node still serves
    static unsigned inputs = 0;
    if (++inputs % 64 == 0) {
        zcq_msg_t *status = s_ask_status (endpoint);
        zcq_msg_destroy (&status);
    }
    return 0;
}
