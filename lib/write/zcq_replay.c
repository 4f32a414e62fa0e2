/*  =========================================================================
    zcq_replay - the write node's replay server (see zcq_replay.h)
    =========================================================================
*/

#include "zcq_replay.h"
#include "zcq_log.h"
#include "zcq_endpoint.h"
#include "zcq_metrics.h"

#define REPLAY_BYTES (8 * 1024 * 1024) //  about the most bytes in one EVENTS reply

static int
s_add_event (const byte *body, size_t size, void *arg)
{
    zcq_msg_add_event ((zcq_msg_t *) arg, body, size);
    return 0;
}

//  Answer one REPLAY with a bounded batch of stored events; count it and
//  its events in the config's cells.
static void
s_serve (zcq_replay_config_t *config)
{
    zsock_t *socket = config->socket;
    zcq_msg_t *request = zcq_msg_recv (socket);
    if (!request) {
        return;
    }
    if (!zcq_endpoint_refuse (request, socket, "replay", ZCQ_ENDPOINT_TAKES (ZCQ_MSG_REPLAY))) {
        zcq_msg_t *reply = zcq_msg_reply_to (request, ZCQ_OK);
        zcq_msg_set_from (reply, zcq_msg_from (request));
        uint64_t head = 0;
        int read = zcq_log_replay (config->store, zcq_msg_from (request), zcq_msg_max (request),
                                   REPLAY_BYTES, s_add_event, reply, &head);
        zcq_msg_set_head (reply, head);
        zcq_msg_set_origin (reply, config->cluster, config->incarnation, config->domain);
        if (read < 0) {
            zcq_msg_destroy (&reply);
            reply = zcq_msg_reply_to (request, ZCQ_UNAVAILABLE);
            zcq_msg_set_reason (reply, "storage read failed; retry");
        }
        zcq_metrics_add (config->served, 1);
        zcq_metrics_add (config->events, read > 0 ? (uint64_t) read : 0);
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
    uint64_t served = 0, events = 0; //  the counts when the owner keeps none
    config.served = config.served ? config.served : &served;
    config.events = config.events ? config.events : &events;
    //  Ours: the owner's strings may go before we do
    config.cluster = config.cluster ? strdup (config.cluster) : NULL;
    config.incarnation = config.incarnation ? strdup (config.incarnation) : NULL;
    config.domain = config.domain ? strdup (config.domain) : NULL;
    zpoller_t *poller = zpoller_new (pipe, config.socket, NULL);
    zpoller_set_nonstop (poller, true);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == config.socket) {
            s_serve (&config);
        }
        else if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "SERVED")) {
                zsock_send (pipe, "8", zcq_metrics_get (config.served));
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
    free ((char *) config.cluster);
    free ((char *) config.incarnation);
    free ((char *) config.domain);
}
