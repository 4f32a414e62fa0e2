/*  =========================================================================
    zcq_feed - ordered, gap-free events from a write node (see zcq_feed.h)
    =========================================================================
*/

#include "zcq_feed.h"
#include "zcq_auth.h"

#include <endian.h>
#include <stdatomic.h>

#define EARLY_MAX      10000                //  live events held while a hole is repaired
#define CREDIT         (2 * ZCQ_MAX_EVENTS) //  default: ask for more below this many ready
#define REPLAY_TIMEOUT 2000                 //  default ms before a replay request is given up
#define REPLAY_BACKOFF 200    //  ms before asking again after an empty or failed batch
#define DEFAULT_BEAT   1000   //  ms between heartbeats until the write node says
#define SUB_HWM        100000 //  default SUB receive queue, messages
#define MEMBERS_MAX    9      //  write group members a feed can follow
#define WINDOW_MAX     16     //  most REPLAYs a feed keeps out at once

static const char *s_state_names [] = {"live", "repairing", "diverged", "refused"};

//  Events ready to deliver, in order: a ring of slots that grows by
//  doubling and is never shrunk, so that a burst taken in and delivered
//  costs no allocation per event (a list took a node for each).
typedef struct {
    zcq_msg_t **slot; //  size slots, count of them in use from first on
    size_t size;      //  slots allocated (0 or a power of two)
    size_t first;     //  slot of the oldest event
    size_t count;     //  events held
} s_ring_t;

//  Hold an event (ownership) after the others.
static void
s_ring_push (s_ring_t *ring, zcq_msg_t *event)
{
    if (ring->count == ring->size) {
        size_t size = ring->size ? 2 * ring->size : 256;
        zcq_msg_t **slot = (zcq_msg_t **) malloc (size * sizeof (zcq_msg_t *));
        assert (slot);
        //  The events in order from slot 0 of the new ring
        for (size_t index = 0; index < ring->count; index++) {
            slot [index] = ring->slot [(ring->first + index) & (ring->size - 1)];
        }
        free (ring->slot);
        ring->slot = slot;
        ring->size = size;
        ring->first = 0;
    }
    ring->slot [(ring->first + ring->count) & (ring->size - 1)] = event;
    ring->count++;
}

//  The oldest event (ownership), or NULL when none is held.
static zcq_msg_t *
s_ring_pop (s_ring_t *ring)
{
    if (ring->count == 0) {
        return NULL;
    }
    zcq_msg_t *event = ring->slot [ring->first];
    ring->first = (ring->first + 1) & (ring->size - 1);
    ring->count--;
    return event;
}

//  Destroy every event held.
static void
s_ring_purge (s_ring_t *ring)
{
    zcq_msg_t *event;
    while ((event = s_ring_pop (ring))) {
        zcq_msg_destroy (&event);
    }
    ring->first = 0;
}

struct _zcq_feed_t {
    zsock_t *sub;            //  SUB to the write node's PUB
    char *events_endpoint;   //  what sub connects to (the member followed)
    char *replay_endpoint;   //  what dealer connects to (the member followed)
    zlist_t *events_list;    //  a write group's members' PUB endpoints (owned)
    zlist_t *replay_list;    //  and their replay endpoints, in the same order
    size_t member;           //  index of the member followed
    int64_t moved;           //  zclock_mono () of the last move to another member
    zsock_t *dealer;         //  DEALER to the write node's replay ROUTER
    zsock_t *monitor;        //  PAIR: connection events of the DEALER
    bool disconnected;       //  the DEALER lost its connection, not yet back
    zcq_feed_state_t state;  //  live, repairing or diverged
    uint64_t next;           //  position zcq_feed_next delivers next (0: unknown)
    uint64_t expected;       //  position accepted next into ready (0: unknown)
    s_ring_t ready;          //  zcq_msg_t events next .. expected-1, in order
    zlistx_t *early;         //  zcq_msg_t events > expected, ascending
    size_t out;              //  REPLAYs out, for consecutive ranges (0: none)
    uint64_t replay_from;    //  the from of the oldest one out
    uint32_t replay_max;     //  its max (each later one's is ZCQ_MAX_EVENTS)
    uint64_t asked;          //  the position after the newest one's range
    size_t window;           //  most REPLAYs out at once (zcq_feed_set_window)
    int64_t replay_deadline; //  zclock_mono () to give up waiting for the oldest
    int replay_timeout;      //  ms from a request to its deadline
    uint64_t timeouts;       //  requests given up at their deadline
    int64_t retry_at;        //  zclock_mono () before which we do not ask again
    uint64_t head;           //  highest position known stored
    int64_t last_heard;      //  zclock_mono () of the last message from the node
    uint32_t interval;       //  announced heartbeat interval, ms
    size_t credit;           //  ask for more replay while fewer events are ready
    int silence;             //  heartbeat intervals of silence before unreachable
    bool silent;             //  the write node is past the silence limit
    uint64_t outages;        //  times it went past the limit (or disconnected)
    uint64_t reconnects;     //  times the connection came back after a loss
    uint64_t heartbeats;     //  heartbeats received
    uint64_t checked;        //  position the owner applied last (0: none)
    byte fingerprint [ZCQ_FEED_FINGERPRINT]; //  of the event at checked
    bool verify;             //  check checked against the write node's log first
    uint64_t replayed;       //  events received through replay
    uint64_t requests;       //  REPLAY requests sent
    zcq_msg_t *filter;       //  a REPLAY holding what the feed takes (NULL: every event)
    bool by_stream;          //  the filter is one stream, every type: its versions
                             //  follow on one by one, which proves a live event next
    bool version_known;      //  stream_version is the stream's version at expected - 1
    uint64_t stream_version; //  by_stream: version of the stream's last event taken
    bool checks_origin;      //  zcq_feed_set_origin was called: deliver nothing unheard
    bool heard_origin;       //  a HEARTBEAT or EVENTS of the right origin came
    char *domain;            //  the domain this node runs, or NULL
    char *cluster;           //  the write node's cluster id (expected, else first heard)
    char *incarnation;       //  its incarnation id as first heard, or NULL
    char *reason;            //  why the feed is diverged or refused, or NULL
};

//  Diverged or refused: nothing more is taken from the write node.
static bool
s_stopped (zcq_feed_t *self)
{
    return self->state == ZCQ_FEED_DIVERGED || self->state == ZCQ_FEED_REFUSED;
}

static void s_request (zcq_feed_t *self, uint32_t max);
static void s_replay_drop (zcq_feed_t *self);
static void s_settle (zcq_feed_t *self);
static void s_need_verify (zcq_feed_t *self);

static void
s_msg_destroy (void **item)
{
    zcq_msg_destroy ((zcq_msg_t **) item);
}

//  The comma-separated endpoints of a list, as owned strings.
static zlist_t *
s_split (const char *list)
{
    zlist_t *items = zlist_new ();
    zlist_autofree (items);
    while (*list && zlist_size (items) < MEMBERS_MAX) {
        size_t length = strcspn (list, ",");
        char *item = zsys_sprintf ("%.*s", (int) length, list);
        if (*item) {
            zlist_append (items, item);
        }
        zstr_free (&item);
        list += length + (list [length] == ',');
    }
    return items;
}

//  Connect sub and dealer to the member followed. Returns 0 or -1.
static int
s_connect (zcq_feed_t *self)
{
    zcq_auth_identity_apply (self->sub,
                             self->events_endpoint); //  CURVE, when the thread has keys
    zcq_auth_identity_apply (self->dealer, self->replay_endpoint);
    return zsock_connect (self->sub, "%s", self->events_endpoint) == 0
                   && zsock_connect (self->dealer, "%s", self->replay_endpoint) == 0
               ? 0
               : -1;
}

//  A write group: the member followed is silent or gone; follow the next
//  one from the position applied (checked first, as after any reconnect).
static void
s_move (zcq_feed_t *self)
{
    size_t members = zlist_size (self->events_list);
    zsock_disconnect (self->sub, "%s", self->events_endpoint);
    zsock_disconnect (self->dealer, "%s", self->replay_endpoint);
    self->member = (self->member + 1) % members;
    char *events = (char *) zlist_first (self->events_list);
    char *replay = (char *) zlist_first (self->replay_list);
    for (size_t index = 0; index < self->member; index++) {
        events = (char *) zlist_next (self->events_list);
        replay = (char *) zlist_next (self->replay_list);
    }
    free (self->events_endpoint);
    free (self->replay_endpoint);
    self->events_endpoint = strdup (events);
    self->replay_endpoint = strdup (replay);
    zsys_warning ("feed: following write group member %zu of %zu now (%s)", self->member + 1,
                  members, self->replay_endpoint);
    if (s_connect (self) != 0) {
        zsys_error ("feed: cannot connect to '%s' / '%s'", events, replay);
    }
    self->moved = zclock_mono ();
    s_need_verify (self);
    s_replay_drop (self);
    self->retry_at = 0;
}

zcq_feed_t *
zcq_feed_new (const char *events_endpoint, const char *replay_endpoint, uint64_t next)
{
    return zcq_feed_new_filtered (events_endpoint, replay_endpoint, next, NULL);
}

zcq_feed_t *
zcq_feed_new_filtered (const char *events_endpoint, const char *replay_endpoint, uint64_t next,
                       zcq_msg_t *filter)
{
    assert (events_endpoint);
    assert (replay_endpoint);
    zcq_feed_t *self = (zcq_feed_t *) zmalloc (sizeof (zcq_feed_t));
    assert (self);
    if (filter
        && (*zcq_msg_stream (filter) || *zcq_msg_category (filter)
            || zcq_msg_type_count (filter) || zcq_msg_since (filter))) {
        self->filter = zcq_msg_new (ZCQ_MSG_REPLAY);
        zcq_msg_filter_copy (filter, self->filter);
        self->by_stream = *zcq_msg_stream (filter) && zcq_msg_type_count (filter) == 0;
        //  Before position 1 every stream is at version 0 (a start at a time
        //  skips versions the feed never sees)
        self->version_known = next == 1 && !zcq_msg_since (filter);
    }
    self->sub = zsock_new (ZMQ_SUB);
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->sub && self->dealer);
    zsock_set_linger (self->sub, 0);
    zsock_set_linger (self->dealer, 0);
    zsock_set_maxmsgsize (self->sub, ZCQ_HARD_MAXMSG);
    zsock_set_maxmsgsize (self->dealer, ZCQ_HARD_MAXMSG);
    //  A deep SUB queue rides out bursts; whatever overflows is repaired
    zsock_set_rcvhwm (self->sub, SUB_HWM);
    //  Filtered at the publisher, as far as topic prefixes can say it
    zcq_msg_filter_subscribe (self->filter, self->sub);
    //  A write group's members, separated by commas: follow the first
    self->events_list = s_split (events_endpoint);
    self->replay_list = s_split (replay_endpoint);
    self->events_endpoint = strdup (
        zlist_first (self->events_list) ? (char *) zlist_first (self->events_list) : "");
    self->replay_endpoint = strdup (
        zlist_first (self->replay_list) ? (char *) zlist_first (self->replay_list) : "");
    if (zlist_size (self->events_list) != zlist_size (self->replay_list)
        || s_connect (self) != 0) {
        zsys_error ("feed: cannot connect to '%s' / '%s'", events_endpoint, replay_endpoint);
        zsock_destroy (&self->sub);
        zsock_destroy (&self->dealer);
        zlist_destroy (&self->events_list);
        zlist_destroy (&self->replay_list);
        free (self->events_endpoint);
        free (self->replay_endpoint);
        zcq_msg_destroy (&self->filter);
        free (self);
        return NULL;
    }
    //  The DEALER's connection drops the moment the write node's process
    //  ends, and comes back when it (or a new one) listens again: a restart
    //  is noticed even when it is faster than the silence limit
    //  A name never used before in this process: a feed's address may be
    //  reused while ZeroMQ still closes the previous feed's monitor
    static atomic_uint_fast64_t s_monitors;
    char monitor [64];
    snprintf (monitor, sizeof (monitor), "inproc://zcq-feed-monitor-%" PRIu64,
              (uint64_t) atomic_fetch_add (&s_monitors, 1));
    if (zmq_socket_monitor (zsock_resolve (self->dealer), monitor,
                            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED)
        == 0) {
        self->monitor = zsock_new (ZMQ_PAIR);
        assert (self->monitor);
        zsock_set_linger (self->monitor, 0);
        if (zsock_connect (self->monitor, "%s", monitor) != 0) {
            zsock_destroy (&self->monitor);
        }
    }
    self->early = zlistx_new ();
    zlistx_set_destructor (self->early, s_msg_destroy);
    self->silence = 3;
    self->credit = CREDIT;
    self->window = 1;
    self->replay_timeout = REPLAY_TIMEOUT;
    self->next = next;
    self->expected = next;
    if (next) {
        s_request (self, ZCQ_MAX_EVENTS); //  catch up at once; the answer says the head
    }
    s_settle (self);
    return self;
}

void
zcq_feed_destroy (zcq_feed_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_feed_t *self = *self_p;
        s_ring_purge (&self->ready);
        free (self->ready.slot);
        zlistx_destroy (&self->early);
        if (self->monitor) {
            zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
            zsock_destroy (&self->monitor);
        }
        zsock_destroy (&self->sub);
        zsock_destroy (&self->dealer);
        free (self->events_endpoint);
        free (self->replay_endpoint);
        zlist_destroy (&self->events_list);
        zlist_destroy (&self->replay_list);
        zcq_msg_destroy (&self->filter);
        free (self->domain);
        free (self->cluster);
        free (self->incarnation);
        free (self->reason);
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

zsock_t *
zcq_feed_monitor_sock (zcq_feed_t *self)
{
    assert (self);
    return self->monitor;
}

void
zcq_feed_set_rcvhwm (zcq_feed_t *self, int hwm)
{
    assert (self);
    //  ZeroMQ sizes a pipe when it connects: connect again with the new size
    zsock_disconnect (self->sub, "%s", self->events_endpoint);
    zsock_set_rcvhwm (self->sub, hwm);
    zsock_connect (self->sub, "%s", self->events_endpoint);
}

void
zcq_feed_set_silence (zcq_feed_t *self, int beats)
{
    assert (self);
    self->silence = beats > 0 ? beats : 1;
}

void
zcq_feed_set_credit (zcq_feed_t *self, size_t events)
{
    assert (self);
    self->credit = events > 0 ? events : 1;
}

void
zcq_feed_set_window (zcq_feed_t *self, size_t requests)
{
    assert (self);
    self->window = requests < 1 ? 1 : requests > WINDOW_MAX ? WINDOW_MAX : requests;
}

void
zcq_feed_set_replay_timeout (zcq_feed_t *self, int milliseconds)
{
    assert (self);
    self->replay_timeout = milliseconds > 0 ? milliseconds : 1;
}

void
zcq_feed_set_origin (zcq_feed_t *self, const char *domain, const char *cluster)
{
    assert (self);
    self->checks_origin = true;
    zstr_free (&self->domain);
    zstr_free (&self->cluster);
    self->domain = domain && *domain ? strdup (domain) : NULL;
    self->cluster = cluster && *cluster ? strdup (cluster) : NULL;
}

//  --- The state machine ------------------------------------------------------

//  Live or repairing, from what is missing; diverged and refused are final.
static void
s_settle (zcq_feed_t *self)
{
    if (s_stopped (self)) {
        return;
    }
    bool missing = self->out > 0 || zlistx_size (self->early) > 0
                   || (self->expected && self->expected <= self->head);
    self->state = missing ? ZCQ_FEED_REPAIRING : ZCQ_FEED_LIVE;
}

//  The write node's log is not the one we took events from: it ends below
//  what we took (wiped, or restored from an older copy), or holds another
//  event where ours was (replaced). Its positions may now name other events
//  than the ones we applied, so nothing more is taken from it, not even
//  what is ready.
static void
s_diverge (zcq_feed_t *self, const char *why)
{
    zsys_error ("feed: %s. Taking nothing more from it; once its log is right, restart this "
                "node with --rebuild (or on an empty folder)",
                why);
    zstr_free (&self->reason);
    self->reason = strdup (why);
    self->state = ZCQ_FEED_DIVERGED;
    s_replay_drop (self);
    self->verify = false;
    zlistx_purge (self->early);
    s_ring_purge (&self->ready);
}

//  The log may have changed under us (start, reconnect, back from silence):
//  before anything more is delivered, check the event we applied last.
static void
s_need_verify (zcq_feed_t *self)
{
    if (self->checked && !s_stopped (self)) {
        self->verify = true;
    }
}

//  Send a REPLAY of up to max events from `from`, after those out (from
//  is where the newest one's range ends). Returns 0, or -1 if it could not
//  be sent.
static int
s_request_at (zcq_feed_t *self, uint64_t from, uint32_t max)
{
    zcq_msg_t *request = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_from (request, from);
    zcq_msg_set_max (request, max);
    if (self->filter) {
        zcq_msg_filter_copy (self->filter, request);
    }
    self->requests++; //  tried: a send that failed touched the socket too
    int rc = zcq_msg_send (request, self->dealer);
    if (rc == 0) {
        if (self->out == 0) {
            self->replay_from = from;
            self->replay_max = max;
            self->replay_deadline = zclock_mono () + self->replay_timeout;
        }
        self->out++;
        self->asked = from + max;
    }
    zcq_msg_destroy (&request);
    return rc;
}

//  Send a REPLAY from the next position we lack (none is out).
static void
s_request (zcq_feed_t *self, uint32_t max)
{
    //  A verifying request starts one earlier: at the event we applied last
    s_request_at (self, self->verify ? self->checked : self->expected, max);
}

//  Give up every REPLAY out: an answer that still comes is ignored, unless
//  its from is that of a REPLAY sent since (it then holds the same events).
static void
s_replay_drop (zcq_feed_t *self)
{
    self->out = 0;
}

//  The oldest REPLAY out was answered: the next one, for the range after
//  it, is now the oldest, with the whole timeout from now (the write node
//  answers a connection's REPLAYs in order).
static void
s_replay_answered (zcq_feed_t *self)
{
    assert (self->out > 0);
    self->out--;
    self->replay_from += self->replay_max;
    self->replay_max = ZCQ_MAX_EVENTS;
    self->replay_deadline = zclock_mono () + self->replay_timeout;
}

//  May one more REPLAY go out after those out? Only on an unfiltered feed
//  that is not about to check its last applied event (each batch then
//  holds exactly the positions it asks for, unless the server's byte
//  limit cuts it short), for positions the write node is known to hold
//  (so that every position below its from was committed when it was sent,
//  as telling divergence needs), and within the credit: the events ready
//  and a whole batch for each REPLAY out stay below it.
static bool
s_window_open (zcq_feed_t *self)
{
    return self->out > 0 && self->out < self->window && !self->filter && !self->verify
           && self->asked <= self->head
           && self->ready.count + self->out * ZCQ_MAX_EVENTS < self->credit;
}

//  Ask for the next missing range, if one is missing, none is out, and the
//  owner holds fewer events than the credit (which bounds what the write
//  node reads and sends for us); then, with a window (zcq_feed_set_window),
//  for the ranges after it while s_window_open says so.
static void
s_maybe_replay (zcq_feed_t *self)
{
    if (s_stopped (self) || self->expected == 0) {
        return;
    }
    //  The clock last: live, nothing is missing (called for every event)
    if (self->out == 0
        && (self->verify || (self->expected <= self->head && self->ready.count < self->credit))
        && zclock_mono () >= self->retry_at) {
        s_request (self, ZCQ_MAX_EVENTS);
    }
    while (s_window_open (self) && s_request_at (self, self->asked, ZCQ_MAX_EVENTS) == 0) {
    }
}

static uint64_t
s_position (zcq_msg_t *event)
{
    return zcq_msg_position (event);
}

//  Move early events that now follow on into ready; drop those that are
//  old now.
static void
s_take_early (zcq_feed_t *self)
{
    zcq_msg_t *first;
    while ((first = (zcq_msg_t *) zlistx_first (self->early))
           && s_position (first) <= self->expected) {
        first = (zcq_msg_t *) zlistx_detach (self->early, NULL);
        if (s_position (first) == self->expected) {
            s_ring_push (&self->ready, first);
            self->expected++;
            if (self->by_stream) {
                self->stream_version = zcq_msg_version (first);
                self->version_known = true;
            }
        }
        else {
            zcq_msg_destroy (&first);
        }
    }
}

//  Take one event (ownership) into ready, early, or the bin. proven: every
//  position from expected to the event's that the filter takes is known to
//  have come already (a replay batch that covers them says so).
static void
s_accept (zcq_feed_t *self, zcq_msg_t *event, bool proven)
{
    uint64_t position = s_position (event);
    if (s_stopped (self)) {
        zcq_msg_destroy (&event);
        return;
    }
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
    if (self->filter && !zcq_msg_filter_takes (self->filter, event)) {
        //  Not ours (types the publisher cannot filter): it still tells
        //  that its position holds nothing for us
        if (position == self->expected) {
            self->expected++;
            s_take_early (self);
        }
        zcq_msg_destroy (&event);
        return;
    }
    //  One stream's versions follow on one by one: its next version is its
    //  next event, whatever other streams wrote in between
    if (self->by_stream && self->version_known
        && zcq_msg_version (event) == self->stream_version + 1) {
        proven = true;
    }
    if (position > self->expected && proven) {
        self->expected = position;
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
    if (self->by_stream) {
        self->stream_version = zcq_msg_version (event);
        self->version_known = true;
    }
    s_ring_push (&self->ready, event);
    self->expected++;
    //  The hole may be filled: move early events that now follow on
    s_take_early (self);
}

static void
s_handle_events (zcq_feed_t *self, zcq_msg_t *reply)
{
    uint64_t from = zcq_msg_from (reply);
    if (self->out == 0 || from != self->replay_from) {
        return; //  answer to a request we gave up on
    }
    s_replay_answered (self);
    if (self->verify && from != self->checked) {
        s_maybe_replay (self); //  asked before a check was due: ask again, checking
        return;
    }
    //  Every position below our from was committed before this answer was
    //  read: a head below it means the log lost them
    uint64_t taken = self->verify ? self->checked : from - 1;
    if (zcq_msg_head (reply) < taken && zlist_size (self->events_list) > 1) {
        //  A write group's member may not have applied yet what another
        //  one published (Raft commits on a majority first): ask again
        self->retry_at = zclock_mono () + REPLAY_BACKOFF;
        return;
    }
    if (zcq_msg_head (reply) < taken) {
        char *why = zsys_sprintf ("the write node's log ends at position %" PRIu64
                                  ", below position %" PRIu64 " that this node already took "
                                  "from it: its log lost events (wiped or restored from an "
                                  "older copy)",
                                  zcq_msg_head (reply), taken);
        s_diverge (self, why);
        zstr_free (&why);
        return;
    }
    if (zcq_msg_head (reply) > self->head) {
        self->head = zcq_msg_head (reply);
    }
    size_t count = zcq_msg_event_count (reply);
    uint64_t expected = self->expected;
    //  Only a filtered feed lets a batch prove positions empty: what it
    //  covers (its `to`, never past its head). An unfiltered feed takes
    //  every position one by one, so a batch that skips one (a broken or
    //  hostile peer) only fills what follows on, as live events do
    uint64_t covered = zcq_msg_covered (reply);
    covered = covered < zcq_msg_head (reply) ? covered : zcq_msg_head (reply);
    bool whole = true; //  every event frame decoded
    for (size_t index = 0; index < count; index++) {
        size_t size;
        const byte *body = zcq_msg_event_body (reply, index, &size);
        zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
        if (!zcq_msg_valid (event)) {
            zsys_error ("feed: replayed event does not decode: %s", zcq_msg_error (event));
            zcq_msg_destroy (&event);
            whole = false;
            break;
        }
        self->replayed++;
        if (self->verify && index == 0) {
            //  The event we applied last must be the one the log holds there
            byte fingerprint [ZCQ_FEED_FINGERPRINT];
            zcq_feed_fingerprint (event, fingerprint);
            if (zcq_msg_position (event) != self->checked
                || memcmp (fingerprint, self->fingerprint, sizeof (fingerprint)) != 0) {
                char *why = zsys_sprintf ("the write node's event at position %" PRIu64
                                          " is not the one this node applied there: its log "
                                          "was replaced",
                                          self->checked);
                s_diverge (self, why);
                zstr_free (&why);
                zcq_msg_destroy (&event);
                return;
            }
            self->verify = false;
            zsys_info ("feed: the write node's log holds the event this node applied at "
                       "position %" PRIu64 "; going on",
                       self->checked);
        }
        bool proven = self->filter && !self->verify && zcq_msg_position (event) <= covered;
        s_accept (self, event, proven);
    }
    //  The batch holds every event from its from to what it covers that we
    //  take: a filtered one says so with `to`, past the events it carries
    if (whole && self->filter && self->expected && covered >= self->expected && !self->verify) {
        self->expected = covered + 1;
        s_take_early (self);
    }
    if (count == 0 && self->expected == expected) {
        self->retry_at = zclock_mono () + REPLAY_BACKOFF;
    }
}

//  A write node of another cluster or domain: take nothing from it, ever
//  (this feed; a new one, after the node is pointed right, starts afresh).
static void
s_refuse (zcq_feed_t *self, char *why)
{
    zsys_error ("feed: refusing the write node: %s", why);
    zstr_free (&self->reason);
    self->reason = why;
    self->state = ZCQ_FEED_REFUSED;
    s_replay_drop (self);
    self->verify = false;
    zlistx_purge (self->early);
    s_ring_purge (&self->ready);
}

//  Is a HEARTBEAT or EVENTS from the write node we may follow (spec section
//  10.16)? Its domain must be ours and its cluster the one we follow (the
//  first one heard, when none was given); another incarnation of that
//  cluster is its log restored from a backup: diverged. A sender that names
//  no cluster or domain (from before cluster ids) is not checked on it.
static bool
s_origin_ok (zcq_feed_t *self, zcq_msg_t *msg)
{
    const char *domain = zcq_msg_domain (msg);
    const char *cluster = zcq_msg_cluster (msg);
    const char *incarnation = zcq_msg_incarnation (msg);
    if (self->state == ZCQ_FEED_REFUSED) {
        return false;
    }
    if (self->domain && *domain && !streq (domain, self->domain)) {
        s_refuse (self, zsys_sprintf ("it runs the domain '%s', this query node the domain "
                                      "'%s': start this node with --domain %s, or point it at "
                                      "a write node of '%s'",
                                      domain, self->domain, domain, self->domain));
        return false;
    }
    if (*cluster && self->cluster && !streq (cluster, self->cluster)) {
        s_refuse (self, zsys_sprintf ("it belongs to cluster %s, this query node follows "
                                      "cluster %s: point it at that cluster's write node, or "
                                      "start it on an empty folder to follow the other",
                                      cluster, self->cluster));
        return false;
    }
    if (*cluster && !self->cluster) {
        self->cluster = strdup (cluster);
    }
    if (*incarnation && self->incarnation && !streq (incarnation, self->incarnation)
        && !s_stopped (self)) {
        //  Diverged, its heartbeats still count (as for any diverged feed)
        uint64_t head = zcq_msg_head (msg);
        uint64_t taken = self->expected > 0 ? self->expected - 1 : 0;
        char *lost = head < taken ? zsys_sprintf ("positions %" PRIu64 " to %" PRIu64
                                                  " that this node applied are lost",
                                                  head + 1, taken)
                                  : strdup ("positions this node applied may name other "
                                            "events now");
        char *why =
            zsys_sprintf ("the write node's log was restored from a backup (incarnation "
                          "%s, this node followed %s), its head is %" PRIu64 ": %s",
                          incarnation, self->incarnation, head, lost);
        zstr_free (&lost);
        s_diverge (self, why);
        zstr_free (&why);
    }
    if (*incarnation && !self->incarnation) {
        self->incarnation = strdup (incarnation);
    }
    self->heard_origin = true;
    return true;
}

static void
s_handle_heartbeat (zcq_feed_t *self, zcq_msg_t *beat)
{
    uint64_t head = zcq_msg_head (beat);
    self->heartbeats++;
    self->interval = zcq_msg_interval (beat);
    if (self->expected == 0) {
        self->expected = self->next = head + 1;
    }
    if (head > self->head) {
        self->head = head;
    }
    if (self->expected > 1 && head < self->expected - 1 && self->out == 0
        && !s_stopped (self)) {
        //  A head below what we took: a heartbeat that waited in our queue
        //  while replay moved us on, or a write node that lost its log. A
        //  one-event REPLAY tells which (its answer's head is current).
        s_request (self, 1);
    }
}

//  The write node is heard again after a silence: a replay that was out
//  went to a node that may have restarted since, so ask again now.
static void
s_on_return (zcq_feed_t *self)
{
    int64_t silent_for = zclock_mono () - self->last_heard;
    zsys_info ("feed: write node heard again after %" PRId64 " ms of silence", silent_for);
    self->silent = false;
    s_need_verify (self);
    if (self->out > 0) {
        s_replay_drop (self);
        self->retry_at = 0;
    }
}

//  A connection event of the DEALER: lost (the write node's process is
//  gone: unreachable at once) or made again (ask again what was out).
static void
s_handle_monitor (zcq_feed_t *self)
{
    zmsg_t *event = zmsg_recv (self->monitor);
    zframe_t *frame = event ? zmsg_first (event) : NULL;
    uint16_t code = 0;
    if (frame && zframe_size (frame) >= 2) {
        memcpy (&code, zframe_data (frame), 2);
    }
    zmsg_destroy (&event);
    if (code == ZMQ_EVENT_DISCONNECTED && !self->disconnected) {
        self->disconnected = true;
        zsys_warning ("feed: lost the connection to the write node; answers may be stale "
                      "until it is back");
        if (!self->silent) {
            self->silent = true;
            self->outages++;
        }
    }
    else if (code == ZMQ_EVENT_CONNECTED && self->disconnected) {
        self->disconnected = false;
        self->reconnects++;
        zsys_info ("feed: connected to the write node again (it restarted, or the network "
                   "came back)");
        s_need_verify (self);
        if (self->out > 0) {
            s_replay_drop (self); //  went to the process that is gone: ask again
            self->retry_at = 0;
        }
        s_maybe_replay (self);
    }
}

//  Handle one message received on a feed socket (takes ownership).
static void
s_take (zcq_feed_t *self, zsock_t *which, zcq_msg_t *msg)
{
    if (self->silent) {
        s_on_return (self);
    }
    self->last_heard = zclock_mono ();
    zcq_msg_type_t type = zcq_msg_type (msg);
    if (!zcq_msg_valid (msg)) {
        zsys_warning ("feed: unreadable message from the write node: %s", zcq_msg_error (msg));
        zcq_msg_destroy (&msg);
    }
    else if (type == ZCQ_MSG_EVENT && which == self->sub) {
        s_accept (self, msg, false);
    }
    else if (type == ZCQ_MSG_HEARTBEAT) {
        if (s_origin_ok (self, msg)) {
            s_handle_heartbeat (self, msg);
        }
        zcq_msg_destroy (&msg);
    }
    else if (type == ZCQ_MSG_EVENTS) {
        if (s_origin_ok (self, msg)) {
            s_handle_events (self, msg);
        }
        else {
            s_replay_drop (self);
        }
        zcq_msg_destroy (&msg);
    }
    else if (type == ZCQ_MSG_ERROR) {
        zsys_warning ("feed: replay refused: %s: %s", zcq_status_name (zcq_msg_status (msg)),
                      zcq_msg_reason (msg));
        s_replay_drop (self);
        self->retry_at = zclock_mono () + REPLAY_BACKOFF;
        zcq_msg_destroy (&msg);
    }
    else {
        zcq_msg_destroy (&msg);
    }
    s_maybe_replay (self);
    s_settle (self);
}

void
zcq_feed_recv (zcq_feed_t *self, zsock_t *which)
{
    assert (self);
    if (which == self->monitor) {
        s_handle_monitor (self);
        return;
    }
    zcq_msg_t *msg = zcq_msg_recv (which);
    if (msg) {
        s_take (self, which, msg);
    }
}

bool
zcq_feed_recv_ready (zcq_feed_t *self, zsock_t *which)
{
    assert (self);
    if (which == self->monitor) {
        s_handle_monitor (self);
        return false;
    }
    zcq_msg_t *msg = zcq_msg_recv_nowait (which);
    if (msg) {
        s_take (self, which, msg);
    }
    return msg != NULL;
}

zcq_msg_t *
zcq_feed_next (zcq_feed_t *self)
{
    assert (self);
    if (self->verify || (self->checks_origin && !self->heard_origin)) {
        s_maybe_replay (self);
        return NULL; //  nothing until the log is known to be ours
    }
    zcq_msg_t *event = s_ring_pop (&self->ready);
    if (event) {
        self->next = s_position (event) + 1;
    }
    s_maybe_replay (self);
    return event;
}

void
zcq_feed_tick (zcq_feed_t *self)
{
    assert (self);
    if (self->out > 0 && zclock_mono () >= self->replay_deadline) {
        zsys_warning ("feed: no answer to replay from %" PRIu64 " within %d ms; asking again "
                      "once a position is known to be missing",
                      self->replay_from, self->replay_timeout);
        s_replay_drop (self);
        self->timeouts++;
    }
    //  Messages waiting in our own queues are not silence: we are behind
    int64_t beat = self->interval ? self->interval : DEFAULT_BEAT;
    bool queued =
        (zsock_events (self->sub) & ZMQ_POLLIN) || (zsock_events (self->dealer) & ZMQ_POLLIN);
    if (!self->silent && self->last_heard && !queued
        && zclock_mono () - self->last_heard > self->silence * beat) {
        self->silent = true;
        self->outages++;
        zsys_warning ("feed: write node silent for %" PRId64 " ms (%d heartbeats missed); "
                      "answers may be stale until it is back",
                      zclock_mono () - self->last_heard, self->silence);
    }
    //  A write group: a member silent (or gone) that long is left for the
    //  next, and that one for the next after as long again
    if (zlist_size (self->events_list) > 1 && (self->silent || self->disconnected)
        && zclock_mono () - self->moved > self->silence * beat
        && zclock_mono () - self->last_heard > self->silence * beat) {
        s_move (self);
    }
    s_maybe_replay (self);
    s_settle (self);
}

void
zcq_feed_rewind (zcq_feed_t *self, uint64_t next)
{
    assert (self);
    s_ring_purge (&self->ready);
    zlistx_purge (self->early);
    self->next = next;
    self->expected = next;
    s_replay_drop (self);
    if (next && !s_stopped (self)) {
        s_request (self, ZCQ_MAX_EVENTS);
    }
    s_settle (self);
}

uint64_t
zcq_feed_position (zcq_feed_t *self)
{
    assert (self);
    return self->next;
}

uint64_t
zcq_feed_covered (zcq_feed_t *self)
{
    assert (self);
    return self->expected ? self->expected - 1 : 0;
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

bool
zcq_feed_reachable (zcq_feed_t *self)
{
    assert (self);
    return self->last_heard && !self->silent;
}

zcq_feed_state_t
zcq_feed_state (zcq_feed_t *self)
{
    assert (self);
    return self->state;
}

const char *
zcq_feed_state_name (zcq_feed_t *self)
{
    assert (self);
    return s_state_names [self->state];
}

const char *
zcq_feed_reason (zcq_feed_t *self)
{
    assert (self);
    return self->reason ? self->reason : "";
}

const char *
zcq_feed_cluster (zcq_feed_t *self)
{
    assert (self);
    return self->cluster ? self->cluster : "";
}

const char *
zcq_feed_incarnation (zcq_feed_t *self)
{
    assert (self);
    return self->incarnation ? self->incarnation : "";
}

bool
zcq_feed_replaying (zcq_feed_t *self)
{
    assert (self);
    return self->out > 0;
}

size_t
zcq_feed_ready (zcq_feed_t *self)
{
    assert (self);
    return self->ready.count;
}

uint64_t
zcq_feed_replayed (zcq_feed_t *self)
{
    assert (self);
    return self->replayed;
}

uint64_t
zcq_feed_outages (zcq_feed_t *self)
{
    assert (self);
    return self->outages;
}

void
zcq_feed_fingerprint (zcq_msg_t *event, byte fingerprint [ZCQ_FEED_FINGERPRINT])
{
    assert (event);
    uint64_t numbers [3] = {htobe64 (zcq_msg_position (event)),
                            htobe64 (zcq_msg_version (event)),
                            htobe64 ((uint64_t) zcq_msg_time (event))};
    const char *stream = zcq_msg_stream (event) ? zcq_msg_stream (event) : "";
    const char *type = zcq_msg_name (event) ? zcq_msg_name (event) : "";
    byte separator = 0;
    zdigest_t *digest = zdigest_new ();
    assert (digest);
    zdigest_update (digest, (const byte *) numbers, sizeof (numbers));
    zdigest_update (digest, (byte *) stream, strlen (stream));
    zdigest_update (digest, &separator, 1); //  UTF-8 text holds no NUL
    zdigest_update (digest, (byte *) type, strlen (type));
    zdigest_update (digest, &separator, 1);
    if (zcq_msg_id_size (event)) {
        zdigest_update (digest, (byte *) zcq_msg_id (event), zcq_msg_id_size (event));
    }
    memcpy (fingerprint, zdigest_data (digest), ZCQ_FEED_FINGERPRINT);
    zdigest_destroy (&digest);
}

void
zcq_feed_applied (zcq_feed_t *self, uint64_t position,
                  const byte fingerprint [ZCQ_FEED_FINGERPRINT], bool check)
{
    assert (self);
    assert (fingerprint);
    self->checked = position;
    memcpy (self->fingerprint, fingerprint, ZCQ_FEED_FINGERPRINT);
    if (check) {
        s_need_verify (self);
        s_maybe_replay (self);
    }
}

uint64_t
zcq_feed_reconnects (zcq_feed_t *self)
{
    assert (self);
    return self->reconnects;
}

uint64_t
zcq_feed_requests (zcq_feed_t *self)
{
    assert (self);
    return self->requests;
}

uint64_t
zcq_feed_replay_timeouts (zcq_feed_t *self)
{
    assert (self);
    return self->timeouts;
}

uint64_t
zcq_feed_heartbeats (zcq_feed_t *self)
{
    assert (self);
    return self->heartbeats;
}
