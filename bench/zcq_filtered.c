/*  =========================================================================
    zcq_filtered - what a filtered subscription costs its subscriber

        zcq_filtered open COMMANDS STREAMS
            open STREAMS bank accounts (acct-0 .. acct-STREAMS-1)
        zcq_filtered deposit COMMANDS STREAMS DEPOSITS
            send DEPOSITS deposits spread over those accounts in turn;
            both pipelined, 256 commands out
        zcq_filtered sub EVENTS REPLAY IDLE_MS [STREAM]
            follow the log live (one stream, or everything), print "ready"
            once the write node is heard, and, after IDLE_MS without an
            event, one line: "delivered N cpu_ms C us_per_event U" (this
            process's user + system CPU from ready to the end)

    bench/filtered.sh runs one subscriber to one stream among 10,000 and one
    to everything over the same load and compares their CPU.
    =========================================================================
*/

#include "zcqrs.h"

#include <sys/resource.h>

#define WINDOW 256 //  commands out at once

static int64_t
s_cpu_us (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (int64_t) usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec
           + (int64_t) usage.ru_stime.tv_sec * 1000000 + usage.ru_stime.tv_usec;
}

//  Send count commands (command i: type, stream acct-(i % streams)), at most
//  WINDOW unanswered. Returns 0 when every one was accepted.
static int
s_send (zcq_client_t *client, const char *type, const char *data, size_t data_size,
        uint64_t count, uint64_t streams)
{
    uint64_t sent = 0, answered = 0;
    while (answered < count) {
        while (sent < count && sent - answered < WINDOW) {
            char stream [32];
            snprintf (stream, sizeof (stream), "acct-%" PRIu64, sent % streams);
            zcq_msg_t *command =
                zcq_client_command (type, stream, ZCQ_EXPECT_ANY, data, data_size);
            int rc = zcq_client_post (client, command);
            zcq_msg_destroy (&command); //  post sends it and leaves it ours
            if (rc != 0) {
                return -1;
            }
            sent++;
        }
        zcq_msg_t *reply = zcq_client_recv_reply (client, 10000);
        if (!reply || zcq_msg_status (reply) != ZCQ_ACCEPTED) {
            fprintf (stderr, "zcq_filtered: %s\n",
                     reply ? zcq_msg_reason (reply) : "no reply in 10 s");
            zcq_msg_destroy (&reply);
            return -1;
        }
        zcq_msg_destroy (&reply);
        answered++;
    }
    return 0;
}

//  Open the accounts (deposits 0), or deposit into them.
static int
s_load (const char *commands, uint64_t streams, uint64_t deposits)
{
    zcq_client_t *client = zcq_client_new (commands);
    //  {"owner": "bench"} and {"amount": 1}
    static const char open [] = "\x81\xa5owner\xa5"
                                "bench";
    static const char deposit [] = "\x81\xa6"
                                   "amount\x01";
    int rc = deposits == 0
                 ? s_send (client, "OpenAccount", open, sizeof (open) - 1, streams, streams)
                 : s_send (client, "Deposit", deposit, sizeof (deposit) - 1, deposits, streams);
    zcq_client_destroy (&client);
    return rc == 0 ? 0 : 1;
}

static int
s_sub (const char *events, const char *replay, int idle, const char *stream)
{
    zcq_msg_t *filter = zcq_msg_new (ZCQ_MSG_REPLAY);
    if (stream) {
        zcq_msg_set_stream (filter, stream);
    }
    zcq_feed_t *feed = zcq_feed_new_filtered (events, replay, 0, filter);
    zcq_msg_destroy (&filter);
    if (!feed) {
        return 1;
    }
    zpoller_t *poller =
        zpoller_new (zcq_feed_events_sock (feed), zcq_feed_replay_sock (feed), NULL);
    bool ready = false;
    uint64_t delivered = 0;
    int64_t started = 0, last = zclock_mono ();
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 50);
        if (which) {
            zcq_feed_recv (feed, (zsock_t *) which);
        }
        zcq_feed_tick (feed);
        if (!ready && zcq_feed_last_heard (feed)) {
            ready = true;
            started = s_cpu_us ();
            printf ("ready\n");
            fflush (stdout);
            last = zclock_mono ();
        }
        zcq_msg_t *event;
        while ((event = zcq_feed_next (feed))) {
            delivered++;
            last = zclock_mono ();
            zcq_msg_destroy (&event);
        }
        if (ready && zclock_mono () - last >= idle) {
            break;
        }
    }
    int64_t cpu = s_cpu_us () - started;
    printf ("delivered %" PRIu64 " cpu_ms %.1f us_per_event %.2f\n", delivered, cpu / 1000.0,
            delivered ? (double) cpu / (double) delivered : 0.0);
    zpoller_destroy (&poller);
    zcq_feed_destroy (&feed);
    return 0;
}

int
main (int argc, char **argv)
{
    zsys_init ();
    if (argc == 4 && streq (argv [1], "open")) {
        return s_load (argv [2], strtoull (argv [3], NULL, 10), 0);
    }
    if (argc == 5 && streq (argv [1], "deposit") && strtoull (argv [4], NULL, 10) > 0) {
        return s_load (argv [2], strtoull (argv [3], NULL, 10), strtoull (argv [4], NULL, 10));
    }
    if ((argc == 5 || argc == 6) && streq (argv [1], "sub")) {
        return s_sub (argv [2], argv [3], atoi (argv [4]), argc == 6 ? argv [5] : NULL);
    }
    fprintf (stderr, "usage: zcq_filtered open COMMANDS STREAMS\n"
                     "       zcq_filtered deposit COMMANDS STREAMS DEPOSITS\n"
                     "       zcq_filtered sub EVENTS REPLAY IDLE_MS [STREAM]\n");
    return 2;
}
