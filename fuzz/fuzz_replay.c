/*  =========================================================================
    fuzz_replay - the query node's side of replication on any bytes: what
    its feed receives from the write node's PUB and replay ROUTER

    Per input, a fresh feed (from position 1) connects to this harness's
    XPUB and ROUTER over inproc://; the harness waits for its subscription
    and its first REPLAY, then delivers the input's messages (fuzz_kit.h),
    each led by a byte whose low bit picks the channel: 0 the PUB (EVENT,
    HEARTBEAT), 1 the answer to the last REPLAY (EVENTS, ERROR). After each
    message the feed reads what arrived and the events it orders are taken
    as the query node takes them; the order it delivers must be dense.
    =========================================================================
*/

#include "fuzz_kit.h"

#define EVENTS_EP "inproc://fuzz-replay-events"
#define REPLAY_EP "inproc://fuzz-replay-replay"
#define WAIT      5000 //  ms for what must arrive (subscription, REPLAY, our sends)

static zsock_t *s_xpub, *s_router;

static void
s_stop (void)
{
    zsock_destroy (&s_xpub);
    zsock_destroy (&s_router);
}

typedef struct {
    zcq_feed_t *feed; //  the feed under test
    zframe_t *reader; //  routing id of the feed's DEALER at our ROUTER
    uint64_t next;    //  position the feed must deliver next
} s_run_t;

//  Let the feed read the one message we sent to sock (it must arrive),
//  then take the events it orders.
static void
s_pump (s_run_t *run, zsock_t *sock)
{
    if (!fuzz_kit_wait (sock, WAIT)) {
        fprintf (stderr, "fuzz_replay: a message to the feed did not arrive\n");
        abort ();
    }
    zcq_feed_recv (run->feed, sock);
    zcq_feed_tick (run->feed);
    zcq_msg_t *event;
    while ((event = zcq_feed_next (run->feed))) {
        if (zcq_msg_position (event) != run->next) {
            fprintf (stderr,
                     "fuzz_replay: feed delivered position %" PRIu64 " where %" PRIu64
                     " was due\n",
                     zcq_msg_position (event), run->next);
            abort ();
        }
        run->next++;
        zcq_msg_destroy (&event);
    }
    //  The feed may have asked for more: keep the newest reader id
    zmsg_t *request;
    while ((request = fuzz_kit_recv (s_router, 0))) {
        zframe_destroy (&run->reader);
        run->reader = zmsg_pop (request);
        zmsg_destroy (&request);
    }
}

static void
s_deliver (zmsg_t **frames_p, void *arg)
{
    s_run_t *run = (s_run_t *) arg;
    zmsg_t *frames = *frames_p;
    zframe_t *first = zmsg_first (frames);
    if (!first || zframe_size (first) == 0) {
        return; //  no channel byte: nothing to deliver
    }
    bool replay = zframe_data (first) [0] & 1;
    //  Strip the channel byte from the first frame
    zframe_t *rest = zframe_new (zframe_data (first) + 1, zframe_size (first) - 1);
    zmsg_remove (frames, first);
    zframe_destroy (&first);
    zmsg_prepend (frames, &rest);
    if (replay && run->reader) {
        zframe_t *reader = zframe_dup (run->reader);
        zmsg_prepend (frames, &reader);
        zmsg_send (frames_p, s_router);
        s_pump (run, zcq_feed_replay_sock (run->feed));
    }
    else if (!replay) {
        //  The feed subscribes to the prefix ZCQ1 (every topic): anything else is
        //  filtered out at the publisher and never reaches it
        zframe_t *head = zmsg_first (frames);
        bool passes = zframe_size (head) >= 4 && memcmp (zframe_data (head), "ZCQ1", 4) == 0;
        zmsg_send (frames_p, s_xpub);
        if (passes) {
            s_pump (run, zcq_feed_events_sock (run->feed));
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_xpub) {
        fuzz_kit_init (s_stop);
        s_xpub = zsock_new (ZMQ_XPUB);
        s_router = zsock_new (ZMQ_ROUTER);
        zsock_set_linger (s_xpub, 0);
        zsock_set_linger (s_router, 0);
        zsock_set_xpub_verbose (s_xpub, 1); //  every subscription, also repeated ones
        if (zsock_bind (s_xpub, EVENTS_EP) != 0 || zsock_bind (s_router, REPLAY_EP) != 0) {
            abort ();
        }
    }
    //  ZeroMQ closes the previous input's sockets in its own threads: on a
    //  loaded machine a new feed can find no room yet; wait for it
    s_run_t run = {zcq_feed_new (EVENTS_EP, REPLAY_EP, 1), NULL, 1};
    for (int attempt = 0; !run.feed && attempt < 200; attempt++) {
        zclock_sleep (10);
        run.feed = zcq_feed_new (EVENTS_EP, REPLAY_EP, 1);
    }
    if (!run.feed) {
        fprintf (stderr, "fuzz_replay: no feed could be made for 2 s (%s)\n",
                 zmq_strerror (zmq_errno ()));
        abort ();
    }
    //  Its subscription, then its first REPLAY (from 1)
    zmsg_t *subscription = fuzz_kit_recv (s_xpub, WAIT);
    zmsg_t *request = fuzz_kit_recv (s_router, WAIT);
    if (!subscription || !request) {
        fprintf (stderr, "fuzz_replay: the feed did not subscribe and ask\n");
        abort ();
    }
    run.reader = zmsg_pop (request);
    zmsg_destroy (&request);
    zmsg_destroy (&subscription);
    fuzz_kit_messages (data, size, s_deliver, &run);
    zframe_destroy (&run.reader);
    zcq_feed_destroy (&run.feed);
    //  The XPUB reports the unsubscription; drop it
    zmsg_t *left;
    while ((left = fuzz_kit_recv (s_xpub, 0))) {
        zmsg_destroy (&left);
    }
    return 0;
}
