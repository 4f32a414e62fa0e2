/*  =========================================================================
    fuzz_query - the query path of a query node on any bytes

    In this process: two write nodes (bank, store) and a query node that
    follows each, with its domain (a query node refuses a write node of
    another domain), each on a real LevelDB in a temporary folder, over
    inproc://. A few accounts are opened and a few events appended first so
    that queries find read models. Each input is one or
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

static zactor_t *s_write, *s_write_store, *s_bank, *s_store;
static char *s_dir;

static void
s_stop (void)
{
    zactor_destroy (&s_bank);
    zactor_destroy (&s_store);
    zactor_destroy (&s_write);
    zactor_destroy (&s_write_store);
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

//  Send one command to a write node and wait for its reply.
static void
s_command (const char *endpoint, int index, const char *type, const char *stream,
           const char *data, size_t size)
{
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    byte id [ZCQ_COMMAND_ID] = {(byte) index, 1};
    zcq_msg_set_id (command, id, sizeof id);
    zcq_msg_set_name (command, type);
    zcq_msg_set_stream (command, stream);
    zcq_msg_set_data (command, data, size);
    zmsg_t *frames = zcq_msg_encode (command);
    zmsg_t *answer = fuzz_kit_ask (endpoint, frames, STATUS_WAIT);
    assert (answer);
    zmsg_destroy (&answer);
    zmsg_destroy (&frames);
    zcq_msg_destroy (&command);
}

//  Open accounts (bank) and append events (store), then wait until both
//  query nodes applied them.
static void
s_populate (void)
{
    const char *owners [] = {"alice", "bob", "carol"};
    for (int index = 0; index < 3; index++) {
        char stream [16];
        snprintf (stream, sizeof stream, "acct-%d", index + 1);
        char data [32];
        memcpy (data, "\x81\xa5owner", 7);
        data [7] = (char) (0xa0 | strlen (owners [index]));
        memcpy (data + 8, owners [index], strlen (owners [index]));
        s_command ("inproc://fuzz-query-commands", index, "OpenAccount", stream, data,
                   8 + strlen (owners [index]));
        //  {"events": [{"type": "Noted"}]}
        static const char append [] = "\x81\xa6"
                                      "events"
                                      "\x91\x81\xa4"
                                      "type"
                                      "\xa5"
                                      "Noted";
        s_command ("inproc://fuzz-query-store-commands", index, "Append", stream, append,
                   sizeof append - 1);
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
    char write [300], write_store [300], bank [300], store [300];
    snprintf (write, sizeof write, "write/data=%s/write", s_dir);
    snprintf (write_store, sizeof write_store, "write/data=%s/write-store", s_dir);
    snprintf (bank, sizeof bank, "query/data=%s/bank", s_dir);
    snprintf (store, sizeof store, "query/data=%s/store", s_dir);
    s_write = fuzz_kit_node (zcq_write_node_actor, write, "write/durability=async",
                             "write/commands=inproc://fuzz-query-commands",
                             "write/events=inproc://fuzz-query-events",
                             "write/replay=inproc://fuzz-query-replay", NULL);
    s_write_store = fuzz_kit_node (zcq_write_node_actor, write_store, "write/durability=async",
                                   "write/domain=store",
                                   "write/commands=inproc://fuzz-query-store-commands",
                                   "write/events=inproc://fuzz-query-store-events",
                                   "write/replay=inproc://fuzz-query-store-replay", NULL);
    s_bank =
        fuzz_kit_node (zcq_query_node_actor, bank, "query/domain=bank",
                       "query/queries=" QUERIES_BANK, "query/events=inproc://fuzz-query-events",
                       "query/replay=inproc://fuzz-query-replay", NULL);
    s_store = fuzz_kit_node (zcq_query_node_actor, store, "query/domain=store",
                             "query/queries=" QUERIES_STORE,
                             "query/events=inproc://fuzz-query-store-events",
                             "query/replay=inproc://fuzz-query-store-replay", NULL);
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
