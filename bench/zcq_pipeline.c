/*  =========================================================================
    zcq_pipeline - pipelined command throughput against one write node

        zcq_pipeline ENDPOINT COMMANDS WINDOW

    Opens 1,000 bank accounts, then sends COMMANDS deposits spread over them
    with at most WINDOW unanswered at any time, and prints one line:
    replies, accepted, seconds, commands/s. A seed for `make bench`; the
    full comparison suite is planned separately.
    =========================================================================
*/

#include "zcqrs.h"

#define ACCOUNTS 1000 //  streams the deposits are spread over

//  Post one command built from "field=value" words; returns 0 or -1.
static int
s_post (zcq_client_t *client, const char *type, const char *stream, const char *word)
{
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    char *error = NULL;
    int rc = zcq_kv_pack (&data, 1, &word, &error);
    if (rc == 0) {
        zcq_msg_t *command =
            zcq_client_command (type, stream, ZCQ_EXPECT_ANY, data.data, data.size);
        rc = zcq_client_post (client, command);
        zcq_msg_destroy (&command);
    }
    free (error);
    msgpack_sbuffer_destroy (&data);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc != 4 || atoi (argv [2]) < 1 || atoi (argv [3]) < 1) {
        fprintf (stderr, "usage: zcq_pipeline ENDPOINT COMMANDS WINDOW\n");
        return 2;
    }
    int total = atoi (argv [2]), window = atoi (argv [3]);
    zcq_client_t *client = zcq_client_new (argv [1]);
    if (!client) {
        return 2;
    }
    char stream [32];
    for (int index = 0; index < ACCOUNTS; index++) {
        snprintf (stream, sizeof (stream), "bench-%d", index);
        s_post (client, "OpenAccount", stream, "owner=bench");
    }
    for (int index = 0; index < ACCOUNTS; index++) {
        zcq_msg_t *reply = zcq_client_recv_reply (client, 10000);
        if (!reply) {
            fprintf (stderr, "zcq_pipeline: no reply from %s\n", argv [1]);
            return 1;
        }
        zcq_msg_destroy (&reply);
    }
    int64_t start = zclock_usecs ();
    int sent = 0, received = 0, accepted = 0;
    while (received < total) {
        while (sent < total && sent - received < window) {
            snprintf (stream, sizeof (stream), "bench-%d", sent % ACCOUNTS);
            s_post (client, "Deposit", stream, "amount=5");
            sent++;
        }
        zcq_msg_t *reply = zcq_client_recv_reply (client, 10000);
        if (!reply) {
            fprintf (stderr, "zcq_pipeline: no reply in 10 s after %d\n", received);
            break;
        }
        accepted += zcq_msg_status (reply) == ZCQ_ACCEPTED;
        zcq_msg_destroy (&reply);
        received++;
    }
    double seconds = (zclock_usecs () - start) / 1e6;
    printf ("replies %d accepted %d seconds %.3f commands/s %.0f\n", received, accepted,
            seconds, received / seconds);
    zcq_client_destroy (&client);
    return received == total ? 0 : 1;
}
