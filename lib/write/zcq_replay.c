/*  =========================================================================
    zcq_replay - the write node's replay server (see zcq_replay.h)
    =========================================================================
*/

#include "zcq_replay.h"
#include "zcq_log.h"
#include "zcq_endpoint.h"
#include "zcq_metrics.h"

#define REPLAY_BYTES  (8 * 1024 * 1024) //  about the most bytes in one EVENTS reply
#define REPLAY_SCAN   100000            //  most positions one filtered REPLAY looks at
#define REPLAY_LINGER 1000              //  ms a stop lets an EVENTS answer on its way finish

typedef struct {
    zcq_store_t *keys;      //  the key table's, for the stream keys
    zcq_msg_t *reply;       //  EVENTS being filled
    msgpack_sbuffer opened; //  scratch: a body with its personal fields opened
    int failed;             //  a key could not be read
} s_batch_t;

//  Add one stored event, its sealed values opened while its stream's key
//  lives (protocol section 10.14: the replay endpoint admits the replicate
//  role only); forgotten, they stay ciphertext.
static int
s_add_event (const byte *body, size_t size, void *arg)
{
    s_batch_t *batch = (s_batch_t *) arg;
    int opened = zcq_log_open_event (batch->keys, body, size, &batch->opened);
    if (opened < 0) {
        batch->failed = 1;
        return 1;
    }
    if (opened == 1) {
        body = (const byte *) batch->opened.data;
        size = batch->opened.size;
    }
    zcq_msg_add_event (batch->reply, body, size);
    return 0;
}

//  A filtered batch being read: what it takes, and how far it looked.
typedef struct {
    zcq_msg_t *filter; //  the REPLAY: its stream, category and types
    s_batch_t *add;    //  the EVENTS being filled, through s_add_event
    uint32_t max;      //  most events it may take
    size_t bytes;      //  bytes of the events taken
    uint64_t last;     //  last position looked at (0: none)
    bool full;         //  stopped because the batch is full
} s_filtered_t;

static int
s_add_if_taken (const byte *body, size_t size, void *arg)
{
    s_filtered_t *batch = (s_filtered_t *) arg;
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    if (zcq_msg_valid (event)) {
        batch->last = zcq_msg_position (event);
        if (zcq_msg_filter_takes (batch->filter, event)) {
            if (s_add_event (body, size, batch->add) != 0) {
                zcq_msg_destroy (&event);
                return 1; //  a key could not be read: batch->add says so
            }
            batch->bytes += size;
        }
    }
    zcq_msg_destroy (&event);
    batch->full =
        zcq_msg_event_count (batch->add->reply) >= batch->max || batch->bytes >= REPLAY_BYTES;
    return batch->full ? 1 : 0;
}

//  Read a filtered batch: look at up to REPLAY_SCAN positions from `from`,
//  take those the filter takes, and say in `to` how far the batch covers
//  (so that a reader knows that nothing it wants lies between the events
//  it got). Returns the events taken, or -1 on a storage error.
static int
s_read_filtered (zcq_replay_config_t *config, zcq_msg_t *request, s_batch_t *add,
                 uint64_t *head)
{
    zcq_msg_t *reply = add->reply;
    uint64_t from = zcq_msg_from (request);
    //  A time to start at: the positions before it hold nothing asked for
    uint64_t first = from;
    if (zcq_msg_since (request)) {
        if (zcq_log_first_at (config->store, zcq_msg_since (request), &first) != 0) {
            return -1;
        }
        first = first > from ? first : from;
    }
    s_filtered_t batch = {request, add, zcq_msg_max (request), 0, 0, false};
    int visited = zcq_log_replay (config->store, first, REPLAY_SCAN, SIZE_MAX, s_add_if_taken,
                                  &batch, head);
    if (visited < 0) {
        return -1;
    }
    from = first;
    //  Stopped full or at the scan limit: covered up to the last one looked
    //  at; otherwise every event of the snapshot was looked at
    uint64_t to = batch.full || visited >= REPLAY_SCAN ? batch.last : *head;
    zcq_msg_set_to (reply, to >= from ? to : from - 1);
    return (int) zcq_msg_event_count (reply);
}

//  Does a REPLAY ask for some events only?
static bool
s_filtered (zcq_msg_t *request)
{
    return *zcq_msg_stream (request) || *zcq_msg_category (request)
           || zcq_msg_type_count (request) > 0 || zcq_msg_since (request) != 0;
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
        s_batch_t batch = {config->keys, reply, {0, NULL, 0}, 0};
        msgpack_sbuffer_init (&batch.opened);
        int read = s_filtered (request) ? s_read_filtered (config, request, &batch, &head)
                                        : zcq_log_replay (config->store, zcq_msg_from (request),
                                                          zcq_msg_max (request), REPLAY_BYTES,
                                                          s_add_event, &batch, &head);
        msgpack_sbuffer_destroy (&batch.opened);
        zcq_msg_set_head (reply, head);
        zcq_msg_set_origin (reply, config->cluster, config->incarnation, config->domain);
        if (read < 0 || batch.failed) {
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
    //  An EVENTS answer is many frames. Closed without linger while one is
    //  half on the wire, libzmq stops reading the rest from the queue at
    //  once, and if the peer's connection drops in that moment it aborts
    //  the whole process (errno_assert in session_base_t::clean_pipes,
    //  zeromq/libzmq#3442): a query node that stops as the write node does.
    //  With a linger the rest stays readable and the answer is finished, or
    //  dropped whole when its peer goes; a stalled peer holds the stop up
    //  REPLAY_LINGER at most.
    zsock_set_linger (config.socket, REPLAY_LINGER);
    zsock_destroy (&config.socket);
    free ((char *) config.cluster);
    free ((char *) config.incarnation);
    free ((char *) config.domain);
}
