/*  =========================================================================
    zcq_catchup - catch-up speed of a fresh query node

        zcq_catchup log DIR EVENTS          write a bank event log of EVENTS
                                            events into the folder DIR
        zcq_catchup wait ENDPOINT HEAD SECS poll a query node's status until
                                            it has applied HEAD; print the rate

    The log is written through the event log's own API (the same bodies, keys
    and batches a write node stores), so that a million events take seconds
    to prepare instead of the write node's command rate: 1,000 accounts
    opened, then deposits spread over them. `wait` prints one line:
    "events N seconds S events/s R", timed from its first status answer.
    =========================================================================
*/

#include "zcqrs.h"
#include "zcq_log.h" //  writes the log directly, as the write node would

#define ACCOUNTS 1000 //  streams the deposits are spread over
#define GROUP    1000 //  events per log batch

static int
s_make_log (const char *dir, uint64_t total)
{
    zcq_log_t *log = zcq_log_new (dir, NULL);
    if (!log) {
        return 1;
    }
    if (zcq_log_head (log) != 0) {
        fprintf (stderr, "zcq_catchup: '%s' already holds a log\n", dir);
        zcq_log_destroy (&log);
        return 1;
    }
    uint64_t versions [ACCOUNTS] = {0};
    msgpack_sbuffer open, deposit;
    msgpack_sbuffer_init (&open);
    msgpack_sbuffer_init (&deposit);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &open, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "owner");
    zcq_mpack_pack_str (&packer, "bench");
    msgpack_packer_init (&packer, &deposit, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "amount");
    msgpack_pack_uint64 (&packer, 5);
    byte id [ZCQ_COMMAND_ID];
    char stream [32];
    int rc = 0;
    zcq_log_begin (log);
    for (uint64_t index = 0; index < total && rc == 0; index++) {
        int account = (int) (index % ACCOUNTS);
        bool opening = versions [account] == 0;
        snprintf (stream, sizeof (stream), "bench-%d", account);
        for (size_t byte_index = 0; byte_index < sizeof (id); byte_index++) {
            id [byte_index] = (byte) randof (256);
        }
        zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
        zcq_msg_set_stream (event, stream);
        zcq_msg_set_version (event, ++versions [account]);
        zcq_msg_set_name (event, opening ? "AccountOpened" : "MoneyDeposited");
        zcq_msg_set_data (event, opening ? open.data : deposit.data,
                          opening ? open.size : deposit.size);
        zcq_msg_set_id (event, id, sizeof (id));
        zcq_msg_set_time (event, zcq_event_now ());
        if (zcq_log_stage_event (log, event) == 0) {
            fprintf (stderr, "zcq_catchup: cannot stage event: %s\n", zcq_msg_error (event));
            rc = 1;
        }
        zcq_msg_destroy (&event);
        if (rc == 0 && (index + 1 == total || zcq_log_staged_count (log) == GROUP)) {
            rc = zcq_log_commit (log, false);
            zcq_log_begin (log);
        }
    }
    msgpack_sbuffer_destroy (&open);
    msgpack_sbuffer_destroy (&deposit);
    zcq_log_destroy (&log);
    return rc ? 1 : 0;
}

//  The query node's "applied", or -1 if it did not answer.
static int64_t
s_applied (zcq_client_t *client)
{
    zcq_msg_t *result = zcq_client_query (client, 0, "status", NULL, 0, 0, 2000);
    int64_t applied = -1;
    if (result && zcq_msg_status (result) == ZCQ_OK) {
        applied = (int64_t) zcq_msg_position (result);
    }
    zcq_msg_destroy (&result);
    return applied;
}

static int
s_wait (const char *endpoint, uint64_t head, int seconds)
{
    zcq_client_t *client = zcq_client_new (NULL);
    zcq_client_set_consistent (client, false);
    zcq_client_add_query_node (client, endpoint);
    int64_t deadline = zclock_mono () + (int64_t) seconds * 1000;
    int64_t start = 0, first = 0, applied = -1;
    while (zclock_mono () < deadline) {
        applied = s_applied (client);
        if (applied >= 0 && !start) {
            start = zclock_usecs ();
            first = applied;
        }
        if (applied >= (int64_t) head) {
            break;
        }
        zclock_sleep (20); //  polling another process's progress; bounded by deadline
    }
    zcq_client_destroy (&client);
    if (applied < (int64_t) head) {
        fprintf (stderr, "zcq_catchup: applied %" PRId64 " of %" PRIu64 " after %d s\n",
                 applied, head, seconds);
        return 1;
    }
    double elapsed = (zclock_usecs () - start) / 1e6;
    printf ("events %" PRId64 " seconds %.3f events/s %.0f\n", applied - first, elapsed,
            (applied - first) / elapsed);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc == 4 && streq (argv [1], "log") && atoll (argv [3]) > 0) {
        return s_make_log (argv [2], (uint64_t) atoll (argv [3]));
    }
    if (argc == 5 && streq (argv [1], "wait") && atoi (argv [4]) > 0) {
        return s_wait (argv [2], (uint64_t) atoll (argv [3]), atoi (argv [4]));
    }
    fprintf (stderr, "usage: zcq_catchup log DIR EVENTS\n"
                     "       zcq_catchup wait ENDPOINT HEAD SECONDS\n");
    return 2;
}
