/*  =========================================================================
    zcq_replay - the write node's replay server (see zcq_replay.h)
    =========================================================================
*/

#include "zcq_replay.h"
#include "zcq_log.h"
#include "zcq_endpoint.h"

#define REPLAY_BYTES (8 * 1024 * 1024) //  about the most bytes in one EVENTS reply

static int
s_add_event (const byte *body, size_t size, void *arg)
{
    zcq_msg_add_event ((zcq_msg_t *) arg, body, size);
    return 0;
}

//  Answer one REPLAY with a bounded batch of stored events.
static void
s_serve (zcq_store_t *store, zsock_t *socket)
{
    zcq_msg_t *request = zcq_msg_recv (socket);
    if (!request) {
        return;
    }
    if (!zcq_endpoint_refuse (request, socket, "replay", ZCQ_ENDPOINT_TAKES (ZCQ_MSG_REPLAY))) {
        zcq_msg_t *reply = zcq_msg_reply_to (request, ZCQ_OK);
        zcq_msg_set_from (reply, zcq_msg_from (request));
        uint64_t head = 0;
        int read = zcq_log_replay (store, zcq_msg_from (request), zcq_msg_max (request),
                                   REPLAY_BYTES, s_add_event, reply, &head);
        zcq_msg_set_head (reply, head);
        if (read < 0) {
            zcq_msg_destroy (&reply);
            reply = zcq_msg_reply_to (request, ZCQ_UNAVAILABLE);
            zcq_msg_set_reason (reply, "storage read failed; retry");
        }
        if (zcq_msg_send (reply, socket) != 0) {
            zsys_warning ("replay: could not deliver %s (%s): peer gone or its queue is full",
                          zcq_msg_type_name (zcq_msg_type (reply)),
                          zmq_strerror (zmq_errno ()));
        }
        zcq_msg_destroy (&reply);
    }
    zcq_msg_destroy (&request);
}

void
zcq_replay_actor (zsock_t *pipe, void *args)
{
    zcq_replay_config_t config = *(zcq_replay_config_t *) args;
    zpoller_t *poller = zpoller_new (pipe, config.socket, NULL);
    zpoller_set_nonstop (poller, true);
    uint64_t served = 0;
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == config.socket) {
            s_serve (config.store, config.socket);
            served++;
        }
        else if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "SERVED")) {
                zsock_send (pipe, "8", served);
            }
            zstr_free (&command);
            if (stop) {
                break;
            }
        }
        else if (zpoller_terminated (poller)) {
            break;
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&config.socket);
}
