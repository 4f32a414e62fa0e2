/*  =========================================================================
    fuzz_command - the write node's command path on any bytes: receive,
    decode, validate, decide (bank and store domains), group, commit

    In this process: two write nodes (bank, store), each on a real LevelDB
    in a temporary folder, over inproc://, durability async. Each input is
    one or more messages (fuzz_kit.h) sent on a fresh DEALER to the node the
    first byte picks, as fast as they come, so that they are decided as one
    group. Every message must get exactly one answer that decodes: a missing
    answer is a finding (the harness aborts).
    =========================================================================
*/

#include "fuzz_kit.h"
#include "zcq_blocklist.h"

#define BANK   "inproc://fuzz-command-bank"
#define STORE  "inproc://fuzz-command-store"
#define ANSWER 10000 //  ms an answer may take (a group commit, under ASan)

static zactor_t *s_bank, *s_store;
static char *s_dir;

static void
s_stop (void)
{
    zactor_destroy (&s_bank);
    zactor_destroy (&s_store);
    fuzz_kit_rmtree (s_dir);
    zstr_free (&s_dir);
}

static void
s_init (void)
{
    fuzz_kit_init (s_stop);
    s_dir = fuzz_kit_tmpdir ("command");
    assert (s_dir);
    char bank [300], store [300], backups [300];
    snprintf (bank, sizeof bank, "write/data=%s/bank", s_dir);
    snprintf (store, sizeof store, "write/data=%s/store", s_dir);
    //  A "backup" query the fuzzer makes stays in the temporary folder
    snprintf (backups, sizeof backups, "write/backups=%s/backups", s_dir);
    s_bank = fuzz_kit_node (zcq_write_node_actor, bank, backups, "write/durability=async",
                            "write/domain=bank", "write/commands=" BANK,
                            "write/events=inproc://fuzz-command-bank-events",
                            "write/replay=inproc://fuzz-command-bank-replay", NULL);
    s_store = fuzz_kit_node (zcq_write_node_actor, store, backups, "write/durability=async",
                             "write/domain=store", "write/commands=" STORE,
                             "write/events=inproc://fuzz-command-store-events",
                             "write/replay=inproc://fuzz-command-store-replay", NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_bank) {
        s_init ();
    }
    if (size == 0) {
        return 0;
    }
    zsock_t *dealer = fuzz_kit_dealer ((data [0] & 1) ? STORE : BANK);
    int sent = fuzz_kit_send_all (dealer, data + 1, size - 1);
    //  A node ignores a peer over the garbage limit: past it, silence is right
    int due = sent < ZCQ_BLOCKLIST_MAX_ERRORS ? sent : ZCQ_BLOCKLIST_MAX_ERRORS;
    for (int index = 0; index < due; index++) {
        zmsg_t *answer = fuzz_kit_recv (dealer, ANSWER);
        if (!answer) {
            fprintf (stderr, "fuzz_command: message %d of %d got no answer\n", index + 1, sent);
            abort ();
        }
        zcq_msg_t *msg = zcq_msg_decode (&answer);
        if (!zcq_msg_valid (msg)) {
            fprintf (stderr, "fuzz_command: an answer does not decode: %s\n",
                     zcq_msg_error (msg));
            abort ();
        }
        zcq_msg_destroy (&msg);
    }
    zsock_destroy (&dealer);
    return 0;
}
