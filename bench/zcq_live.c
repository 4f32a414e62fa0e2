/*  =========================================================================
    zcq_live - what live queries deliver, and what they cost a query node

        zcq_live watch QUERIES WATCHES IDLE_MS
            watch the bank "account" query of acct-0 .. acct-WATCHES-1 on
            the query node at QUERIES (one connection), print "ready" once
            every first result came, and, after IDLE_MS without an update,
            one line: "updates N seconds S per_second R cpu_ms C" (from the
            first update after ready to the last; this process's CPU)
        zcq_live caught-up COMMANDS QUERIES TIMEOUT_MS
            wait until the query node has applied the write node's head;
            print "head H ms T" (T: from the call to then), exit 1 on time-out

    bench/live.sh runs a command load against a query node with and without
    1,000 watches, and a catch-up of the query node with and without them.
    =========================================================================
*/

#include "zcq_bench_proc.h"
#include "zcqrs.h"

static int
s_watch (const char *queries, int watches, int idle)
{
    zcq_watcher_t *watcher = zcq_watcher_new (queries);
    if (!watcher) {
        return 1;
    }
    for (int index = 0; index < watches; index++) {
        char word [40];
        snprintf (word, sizeof (word), "id=acct-%d", index);
        const char *words [] = {word};
        msgpack_sbuffer params;
        msgpack_sbuffer_init (&params);
        char *error = NULL;
        zcq_words_pack (&params, 1, words, &error); //  a word we made: it packs
        zstr_free (&error);
        zcq_watcher_watch (watcher, "account", params.data, params.size);
        msgpack_sbuffer_destroy (&params);
    }
    int first = 0;
    uint64_t updates = 0;
    int64_t started = 0, last = 0, heard = zclock_mono ();
    double cpu = 0;
    while (!zsys_interrupted) {
        zcq_msg_t *update = zcq_watcher_recv (watcher, NULL, 50);
        if (update && zcq_msg_seq (update) == 0) {
            fprintf (stderr, "zcq_live: refused: %s\n", zcq_msg_reason (update));
            zcq_msg_destroy (&update);
            zcq_watcher_destroy (&watcher);
            return 1;
        }
        if (update && zcq_msg_seq (update) == 1 && first < watches) {
            if (++first == watches) {
                printf ("ready\n");
                fflush (stdout);
                cpu = zcq_bench_own_cpu ();
            }
        }
        else if (update) {
            if (updates++ == 0) {
                started = zclock_mono ();
            }
            last = zclock_mono ();
        }
        if (update) {
            heard = zclock_mono ();
        }
        zcq_msg_destroy (&update);
        if (first == watches && zclock_mono () - heard >= idle) {
            break;
        }
    }
    double seconds = updates > 1 ? (double) (last - started) / 1000.0 : 0.0;
    printf ("updates %" PRIu64 " seconds %.2f per_second %.0f cpu_ms %.1f\n", updates, seconds,
            seconds > 0 ? (double) updates / seconds : 0.0,
            (zcq_bench_own_cpu () - cpu) * 1000.0);
    zcq_watcher_destroy (&watcher);
    return 0;
}

//  A number in a status answer's map, or 0.
static uint64_t
s_status_number (zcq_msg_t *status, const char *key)
{
    uint64_t number = 0;
    msgpack_unpacked answer;
    msgpack_unpacked_init (&answer);
    if (status && zcq_msg_status (status) == ZCQ_OK
        && zcq_mpack_unpack (zcq_msg_data (status), zcq_msg_data_size (status), &answer) == 0) {
        const msgpack_object *value = zcq_map_get (&answer.data, key);
        number = value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? value->via.u64 : 0;
    }
    msgpack_unpacked_destroy (&answer);
    return number;
}

static int
s_caught_up (const char *commands, const char *queries, int timeout)
{
    int64_t start = zclock_mono ();
    zcq_client_t *client = zcq_client_new (commands);
    zcq_client_add_query_node (client, queries);
    zcq_msg_t *status = zcq_client_write_status (client, timeout);
    uint64_t head = s_status_number (status, "head");
    zcq_msg_destroy (&status);
    int rc = 1;
    while (head && zclock_mono () - start < timeout && !zsys_interrupted) {
        status = zcq_client_query (client, 0, "status", NULL, 0, 0, 1000);
        uint64_t applied = s_status_number (status, "applied");
        zcq_msg_destroy (&status);
        if (applied >= head) {
            printf ("head %" PRIu64 " ms %" PRId64 "\n", head, zclock_mono () - start);
            rc = 0;
            break;
        }
        zclock_sleep (20); //  polling the query node's position, bounded by timeout
    }
    zcq_client_destroy (&client);
    return rc;
}

int
main (int argc, char **argv)
{
    zsys_init ();
    if (argc == 5 && streq (argv [1], "watch")) {
        return s_watch (argv [2], atoi (argv [3]), atoi (argv [4]));
    }
    if (argc == 5 && streq (argv [1], "caught-up")) {
        return s_caught_up (argv [2], argv [3], atoi (argv [4]));
    }
    fprintf (stderr, "usage: zcq_live watch QUERIES WATCHES IDLE_MS\n"
                     "       zcq_live caught-up COMMANDS QUERIES TIMEOUT_MS\n");
    return 2;
}
