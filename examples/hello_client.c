/*  =========================================================================
    hello_client - send one command to a write node, print the reply as JSON

    Build:  cc -std=c11 -o hello_client examples/hello_client.c \
               $(pkg-config --cflags --libs zcqrs)
            (after make install; in the source tree `make` builds it)
    Run:    hello_client tcp://127.0.0.1:5601 Deposit acc-1 amount=5
            {"status":"accepted","version":2,"position":7,"count":1,"id":"..."}

    The words after the stream are the command's data, "field=value" as
    the zcqrs CLI takes them. The client keeps the command's id across its
    retries, so a command that the node took once is never taken twice.
    Exit: 0 accepted, 1 refused (the reply says why), 2 bad usage, 3 no
    answer within 5 s.
    =========================================================================
*/

#include "zcqrs.h"

#include <stdio.h>
#include <stdlib.h>

#define TIMEOUT_MS 5000 //  most time for the reply, retries included

int
main (int argc, char *argv [])
{
    if (argc < 4) {
        fprintf (stderr, "usage: hello_client ENDPOINT TYPE STREAM [field=value ...]\n");
        return 2;
    }
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    char *error = NULL;
    if (zcq_words_pack (&data, argc - 4, (const char *const *) argv + 4, &error) != 0) {
        fprintf (stderr, "hello_client: %s\n", error);
        free (error);
        msgpack_sbuffer_destroy (&data);
        return 2;
    }
    //  A fresh random id; the command stays ours through every retry
    zcq_msg_t *command =
        zcq_client_command (argv [2], argv [3], ZCQ_EXPECT_ANY, data.data, data.size);
    msgpack_sbuffer_destroy (&data);
    int code = 2;
    zcq_client_t *client = zcq_client_new (argv [1]);
    if (client) {
        zcq_msg_t *reply = zcq_client_request (client, command, TIMEOUT_MS);
        if (reply) {
            char *json = zcq_json_from_msg (reply);
            printf ("%s\n", json);
            free (json);
            code = zcq_msg_status (reply) == ZCQ_ACCEPTED ? 0 : 1;
            zcq_msg_destroy (&reply);
        }
        else if (!zcq_msg_valid (command)) {
            //  Never sent: a field over its limit, or no random id to be had
            fprintf (stderr, "hello_client: cannot send: %s\n", zcq_msg_error (command));
        }
        else {
            fprintf (stderr, "hello_client: no answer from %s in time\n", argv [1]);
            code = 3;
        }
        zcq_client_destroy (&client);
    }
    zcq_msg_destroy (&command);
    return code;
}
