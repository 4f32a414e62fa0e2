/*  =========================================================================
    zcq_feed - ordered, gap-free events from a write node (see zcq_feed.h)
    =========================================================================
*/

#include "zcq_feed.h"
#include "zcq_auth.h"

#define EARLY_MAX      10000 //  live events held while a hole is repaired
#define REPLAY_TIMEOUT 2000  //  ms before a replay request is sent again
#define REPLAY_BACKOFF 200   //  ms before asking again after an empty or failed batch

struct _zcq_feed_t {
    zsock_t *sub;            //  SUB to the write node's PUB
    zsock_t *dealer;         //  DEALER to the write node's replay ROUTER
    uint64_t next;           //  position zcq_feed_next delivers next (0: unknown)
    uint64_t expected;       //  position accepted next into ready (0: unknown)
    zlistx_t *ready;         //  zcq_msg_t events next .. expected-1, in order
    zlistx_t *early;         //  zcq_msg_t events > expected, ascending
    bool replaying;          //  a REPLAY is out
    uint64_t replay_from;    //  its from
    int64_t replay_deadline; //  zclock_mono () to give up waiting for it
    int64_t retry_at;        //  zclock_mono () before which we do not ask again
    uint64_t head;           //  highest position known stored
    int64_t last_heard;      //  zclock_mono () of the last message from the node
    uint32_t interval;       //  announced heartbeat interval, ms
    uint64_t replayed;       //  events received through replay
};

static void s_request (zcq_feed_t *self);

static void
s_msg_destroy (void **item)
{
    zcq_msg_destroy ((zcq_msg_t **) item);
}

zcq_feed_t *
zcq_feed_new (const char *events_endpoint, const char *replay_endpoint, uint64_t next)
{
    assert (events_endpoint);
    assert (replay_endpoint);
    zcq_feed_t *self = (zcq_feed_t *) zmalloc (sizeof (zcq_feed_t));
    assert (self);
    self->sub = zsock_new (ZMQ_SUB);
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->sub && self->dealer);
    zsock_set_linger (self->sub, 0);
    zsock_set_linger (self->dealer, 0);
    zsock_set_maxmsgsize (self->sub, ZCQ_HARD_MAXMSG);
    zsock_set_maxmsgsize (self->dealer, ZCQ_HARD_MAXMSG);
    //  A deep SUB queue rides out bursts; whatever overflows is repaired
    zsock_set_rcvhwm (self->sub, 100000);
    zsock_set_subscribe (self->sub, ZCQ_SIGNATURE);
    zcq_auth_identity_apply (self->sub, events_endpoint);    //  CURVE, when this thread has an identity
    zcq_auth_identity_apply (self->dealer, replay_endpoint);
    if (zsock_connect (self->sub, "%s", events_endpoint) != 0
        || zsock_connect (self->dealer, "%s", replay_endpoint) != 0) {
        zsys_error ("feed: cannot connect to '%s' / '%s'", events_endpoint, replay_endpoint);
        zsock_destroy (&self->sub);
        zsock_destroy (&self->dealer);
        free (self);
        return NULL;
    }
    self->ready = zlistx_new ();
    self->early = zlistx_new ();
    zlistx_set_destructor (self->ready, s_msg_destroy);
    zlistx_set_destructor (self->early, s_msg_destroy);
    self->next = next;
    self->expected = next;
    if (next) {
        s_request (self); //  catch up at once; the answer says the head
    }
    return self;
}

void
zcq_feed_destroy (zcq_feed_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_feed_t *self = *self_p;
        zlistx_destroy (&self->ready);
        zlistx_destroy (&self->early);
        zsock_destroy (&self->sub);
        zsock_destroy (&self->dealer);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
zcq_feed_events_sock (zcq_feed_t *self)
{
    assert (self);
    return self->sub;
}

zsock_t *
zcq_feed_replay_sock (zcq_feed_t *self)
{
    assert (self);
    return self->dealer;
}

//  Send a REPLAY from the next position we lack.
static void
s_request (zcq_feed_t *self)
{
    zcq_msg_t *request = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_from (request, self->expected);
    zcq_msg_set_max (request, ZCQ_MAX_EVENTS);
    if (zcq_msg_send (request, self->dealer) == 0) {
        self->replaying = true;
        self->replay_from = self->expected;
        self->replay_deadline = zclock_mono () + REPLAY_TIMEOUT;
    }
    zcq_msg_destroy (&request);
}

//  Ask for the next missing range, if one is missing, none is out, and the
//  owner has taken what the last batch brought (one batch of credit).
static void
s_maybe_replay (zcq_feed_t *self)
{
    if (self->replaying || self->expected == 0 || self->expected > self->head
        || zlistx_size (self->ready) > 0 || zclock_mono () < self->retry_at) {
        return;
    }
    s_request (self);
}

static uint64_t
s_position (zcq_msg_t *event)
{
    return zcq_msg_position (event);
}

//  Take one event (ownership) into ready, early, or the bin.
static void
s_accept (zcq_feed_t *self, zcq_msg_t *event)
{
    uint64_t position = s_position (event);
    if (position > self->head) {
        self->head = position;
    }
    if (self->expected == 0) {
        self->expected = position; //  live start: begin here
        self->next = position;
    }
    if (position < self->expected) {
        zcq_msg_destroy (&event); //  old or repeated
        return;
    }
    if (position > self->expected) {
        //  Early: keep it in order, unless the hold is full (replay brings it)
        zcq_msg_t *last = (zcq_msg_t *) zlistx_last (self->early);
        if (!last || s_position (last) < position) {
            if (zlistx_size (self->early) < EARLY_MAX) {
                zlistx_add_end (self->early, event);
                return;
            }
        }
        zcq_msg_destroy (&event);
        return;
    }
    zlistx_add_end (self->ready, event);
    self->expected++;
    //  The hole may be filled: move early events that now follow on
    zcq_msg_t *first;
    while ((first = (zcq_msg_t *) zlistx_first (self->early))
           && s_position (first) <= self->expected) {
        first = (zcq_msg_t *) zlistx_detach (self->early, NULL);
        if (s_position (first) == self->expected) {
            zlistx_add_end (self->ready, first);
            self->expected++;
        }
        else {
            zcq_msg_destroy (&first);
        }
    }
}

static void
s_handle_events (zcq_feed_t *self, zcq_msg_t *reply)
{
    if (!self->replaying || zcq_msg_from (reply) != self->replay_from) {
        return; //  answer to a request we gave up on
    }
    self->replaying = false;
    if (zcq_msg_head (reply) > self->head) {
        self->head = zcq_msg_head (reply);
    }
    size_t count = zcq_msg_event_count (reply);
    for (size_t index = 0; index < count; index++) {
        zframe_t *frame = zcq_msg_event_frame (reply, index);
        zcq_msg_t *event =
            zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
        if (!zcq_msg_valid (event)) {
            zsys_error ("feed: replayed event does not decode: %s", zcq_msg_error (event));
            zcq_msg_destroy (&event);
            break;
        }
        self->replayed++;
        s_accept (self, event);
    }
    if (count == 0) {
        self->retry_at = zclock_mono () + REPLAY_BACKOFF;
    }
}

void
zcq_feed_recv (zcq_feed_t *self, zsock_t *which)
{
    assert (self);
    zcq_msg_t *msg = zcq_msg_recv (which);
    if (!msg) {
        return;
    }
    self->last_heard = zclock_mono ();
    zcq_msg_type_t type = zcq_msg_type (msg);
    if (!zcq_msg_valid (msg)) {
        zsys_warning ("feed: unreadable message from the write node: %s", zcq_msg_error (msg));
        zcq_msg_destroy (&msg);
    }
    else if (type == ZCQ_MSG_EVENT && which == self->sub) {
        s_accept (self, msg);
    }
    else if (type == ZCQ_MSG_HEARTBEAT) {
        if (zcq_msg_head (msg) > self->head) {
            self->head = zcq_msg_head (msg);
        }
        if (self->expected == 0) {
            self->expected = self->next = zcq_msg_head (msg) + 1;
        }
        self->interval = zcq_msg_interval (msg);
        zcq_msg_destroy (&msg);
    }
    else if (type == ZCQ_MSG_EVENTS) {
        s_handle_events (self, msg);
        zcq_msg_destroy (&msg);
    }
    else if (type == ZCQ_MSG_ERROR) {
        zsys_warning ("feed: replay refused: %s: %s", zcq_status_name (zcq_msg_status (msg)),
                      zcq_msg_reason (msg));
        self->replaying = false;
        self->retry_at = zclock_mono () + REPLAY_BACKOFF;
        zcq_msg_destroy (&msg);
    }
    else {
        zcq_msg_destroy (&msg);
    }
    s_maybe_replay (self);
}

zcq_msg_t *
zcq_feed_next (zcq_feed_t *self)
{
    assert (self);
    zcq_msg_t *event = (zcq_msg_t *) zlistx_detach (self->ready, NULL);
    if (event) {
        self->next = s_position (event) + 1;
    }
    else {
        s_maybe_replay (self);
    }
    return event;
}

void
zcq_feed_tick (zcq_feed_t *self)
{
    assert (self);
    if (self->replaying && zclock_mono () >= self->replay_deadline) {
        zsys_warning ("feed: no answer to replay from %" PRIu64 "; asking again",
                      self->replay_from);
        self->replaying = false;
    }
    s_maybe_replay (self);
}

void
zcq_feed_rewind (zcq_feed_t *self, uint64_t next)
{
    assert (self);
    zlistx_purge (self->ready);
    zlistx_purge (self->early);
    self->next = next;
    self->expected = next;
    self->replaying = false;
    if (next) {
        s_request (self);
    }
}

uint64_t
zcq_feed_position (zcq_feed_t *self)
{
    assert (self);
    return self->next;
}

uint64_t
zcq_feed_head (zcq_feed_t *self)
{
    assert (self);
    return self->head;
}

int64_t
zcq_feed_last_heard (zcq_feed_t *self)
{
    assert (self);
    return self->last_heard;
}

uint32_t
zcq_feed_interval (zcq_feed_t *self)
{
    assert (self);
    return self->interval;
}

const char *
zcq_feed_state (zcq_feed_t *self)
{
    assert (self);
    return self->replaying || zlistx_size (self->early) > 0 ? "repairing" : "live";
}

uint64_t
zcq_feed_replayed (zcq_feed_t *self)
{
    assert (self);
    return self->replayed;
}
