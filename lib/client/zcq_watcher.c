/*  =========================================================================
    zcq_watcher - live queries on one query node (see zcq_watcher.h)

    Each watch has an id of its own on this connection ("w" and its
    number). The node keeps one update in flight per watch: the watcher
    ACKs an update before it hands it to the caller, so while the caller
    works on it the node keeps only the newest result, never a queue.
    =========================================================================
*/

#include "zcq_watcher.h"
#include "zcq_auth.h"

#define LEASE_GUESS_MS  10000 //  the node's lease until an update says it
#define SEND_TIMEOUT_MS 1000  //  longest a send may wait for a usable connection
#define WATCHES_MAX     10000 //  watches one watcher may hold (the node's per-client cap)

//  A watch
typedef struct {
    char *name;   //  query name
    byte *params; //  packed params map, or NULL
    size_t size;  //  bytes in params
    bool held;    //  watching (not unwatched, not refused)
} s_watch_t;

struct _zcq_watcher_t {
    zsock_t *sock;         //  DEALER to the query node
    s_watch_t *watches;    //  by number
    size_t count;          //  watches made
    size_t alloc;          //  slots in watches
    uint32_t lease;        //  ms the node keeps silent clients' watches
    int64_t sent_at;       //  zclock_mono () of the last message sent
    char incarnation [33]; //  the node's, as its last update said
    uint64_t rewatches;    //  watches sent again after the node lost them
};

zcq_watcher_t *
zcq_watcher_new (const char *endpoint)
{
    endpoint = endpoint ? endpoint : ZCQ_DEFAULT_QUERIES;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, ZCQ_HARD_MAXMSG);
    zsock_set_sndtimeo (sock, SEND_TIMEOUT_MS);
    zcq_auth_identity_apply (sock, endpoint);
    if (zsock_connect (sock, "%s", endpoint) != 0) {
        zsys_error ("watcher: cannot connect to '%s'", endpoint);
        zsock_destroy (&sock);
        return NULL;
    }
    zcq_watcher_t *self = (zcq_watcher_t *) zmalloc (sizeof (zcq_watcher_t));
    assert (self);
    self->sock = sock;
    self->lease = LEASE_GUESS_MS;
    return self;
}

void
zcq_watcher_destroy (zcq_watcher_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_watcher_t *self = *self_p;
        for (size_t index = 0; index < self->count; index++) {
            free (self->watches [index].name);
            free (self->watches [index].params);
        }
        free (self->watches);
        zsock_destroy (&self->sock);
        free (self);
        *self_p = NULL;
    }
}

//  Send a WATCH, ACK or UNWATCH of a watch (seq for an ACK).
static int
s_send (zcq_watcher_t *self, zcq_msg_type_t type, size_t number, uint64_t seq)
{
    s_watch_t *watch = &self->watches [number];
    zcq_msg_t *msg = zcq_msg_new (type);
    char id [16];
    snprintf (id, sizeof (id), "w%zu", number);
    zcq_msg_set_id (msg, id, strlen (id));
    if (type == ZCQ_MSG_WATCH) {
        zcq_msg_set_name (msg, watch->name);
        zcq_msg_set_data (msg, watch->params, watch->size);
    }
    zcq_msg_set_seq (msg, seq);
    int rc = zcq_msg_send (msg, self->sock);
    if (rc != 0 && !zcq_msg_valid (msg)) {
        zsys_error ("watcher: cannot send %s '%s': %s", zcq_msg_type_name (type), watch->name,
                    zcq_msg_error (msg));
    }
    zcq_msg_destroy (&msg);
    self->sent_at = zclock_mono ();
    return rc;
}

int
zcq_watcher_watch (zcq_watcher_t *self, const char *name, const void *params, size_t size)
{
    assert (self);
    assert (name);
    if (self->count >= WATCHES_MAX) {
        zsys_error ("watcher: %d watches on one connection at most", WATCHES_MAX);
        return -1;
    }
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 8;
        self->watches = (s_watch_t *) realloc (self->watches, self->alloc * sizeof (s_watch_t));
        assert (self->watches);
    }
    s_watch_t *watch = &self->watches [self->count];
    memset (watch, 0, sizeof (s_watch_t));
    watch->name = strdup (name);
    if (size) {
        watch->params = (byte *) malloc (size);
        assert (watch->params);
        memcpy (watch->params, params, size);
        watch->size = size;
    }
    zcq_msg_t *check = zcq_msg_new (ZCQ_MSG_WATCH);
    zcq_msg_set_id (check, "w", 1);
    zcq_msg_set_name (check, name);
    zcq_msg_set_data (check, params, size);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    int rc = zcq_msg_encode_body (check, &body);
    if (rc != 0) {
        zsys_error ("watcher: cannot watch '%s': %s", name, zcq_msg_error (check));
    }
    msgpack_sbuffer_destroy (&body);
    zcq_msg_destroy (&check);
    if (rc != 0) {
        free (watch->name);
        free (watch->params);
        return -1;
    }
    watch->held = true;
    size_t number = self->count++;
    //  A send that fails (no connection yet) is made good by the renewal:
    //  the node answers it "not_found", and the watch is sent again
    s_send (self, ZCQ_MSG_WATCH, number, 0);
    return (int) number;
}

void
zcq_watcher_unwatch (zcq_watcher_t *self, int watch)
{
    assert (self);
    if (watch >= 0 && (size_t) watch < self->count && self->watches [watch].held) {
        self->watches [watch].held = false;
        s_send (self, ZCQ_MSG_UNWATCH, (size_t) watch, 0);
    }
}

//  The number of the watch an update is for, or -1 if it is none of ours.
static int
s_number (zcq_watcher_t *self, zcq_msg_t *update)
{
    size_t size = zcq_msg_id_size (update);
    const byte *id = zcq_msg_id (update);
    if (size < 2 || size > 10 || id [0] != 'w') {
        return -1;
    }
    size_t number = 0;
    for (size_t index = 1; index < size; index++) {
        if (id [index] < '0' || id [index] > '9') {
            return -1;
        }
        number = number * 10 + (size_t) (id [index] - '0');
    }
    return number < self->count ? (int) number : -1;
}

//  The node does not hold the watches it had (restarted, or the lease ran
//  out): watch all of them again.
static void
s_rewatch (zcq_watcher_t *self)
{
    for (size_t number = 0; number < self->count; number++) {
        if (self->watches [number].held) {
            s_send (self, ZCQ_MSG_WATCH, number, 0);
            self->rewatches++;
        }
    }
}

//  Renew the lease when nothing was sent for a third of it: an ACK with
//  seq 0 of the first watch held.
static void
s_renew (zcq_watcher_t *self)
{
    if (zclock_mono () - self->sent_at < self->lease / 3) {
        return;
    }
    for (size_t number = 0; number < self->count; number++) {
        if (self->watches [number].held) {
            s_send (self, ZCQ_MSG_ACK, number, 0);
            return;
        }
    }
}

//  Take one update: ACK a result, watch again what the node lost. Returns
//  true if the caller gets it.
static bool
s_take (zcq_watcher_t *self, zcq_msg_t *update, int number)
{
    s_watch_t *watch = &self->watches [number];
    if (!watch->held) {
        return false; //  unwatched meanwhile
    }
    if (zcq_msg_lease (update)) {
        self->lease = zcq_msg_lease (update);
    }
    const char *incarnation = zcq_msg_incarnation (update);
    bool restarted =
        *self->incarnation && *incarnation && strcmp (incarnation, self->incarnation);
    if (*incarnation) {
        snprintf (self->incarnation, sizeof (self->incarnation), "%s", incarnation);
    }
    if (zcq_msg_seq (update) == 0 && zcq_msg_status (update) == ZCQ_NOT_FOUND) {
        s_rewatch (self);
        return false;
    }
    if (restarted) {
        //  A new node answered a watch sent again: the others are lost too
        s_rewatch (self);
    }
    if (zcq_msg_seq (update) == 0) {
        watch->held = false; //  refused
        return true;
    }
    s_send (self, ZCQ_MSG_ACK, (size_t) number, zcq_msg_seq (update));
    return true;
}

zcq_msg_t *
zcq_watcher_recv (zcq_watcher_t *self, int *watch, int timeout_ms)
{
    assert (self);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        s_renew (self);
        int64_t now = zclock_mono ();
        int64_t wake = self->sent_at + self->lease / 3;
        wake = wake < deadline ? wake : deadline;
        int wait = wake > now ? (int) (wake - now) : 0;
        zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, wait) == -1) {
            return NULL; //  interrupted
        }
        if (item.revents & ZMQ_POLLIN) {
            zcq_msg_t *msg = zcq_msg_recv_typed (self->sock, ZMQ_DEALER, 0);
            if (!msg) {
                return NULL;
            }
            int number = zcq_msg_type (msg) == ZCQ_MSG_UPDATE && zcq_msg_valid (msg)
                             ? s_number (self, msg)
                             : -1;
            if (number >= 0 && s_take (self, msg, number)) {
                if (watch) {
                    *watch = number;
                }
                return msg;
            }
            if (number < 0) {
                zsys_warning ("watcher: dropped a %s that is no update of ours%s%s",
                              zcq_msg_type_name (zcq_msg_type (msg)),
                              zcq_msg_valid (msg) ? "" : ": ", zcq_msg_error (msg));
            }
            zcq_msg_destroy (&msg);
        }
        else if (zclock_mono () >= deadline) {
            return NULL;
        }
    }
}

uint64_t
zcq_watcher_rewatches (zcq_watcher_t *self)
{
    assert (self);
    return self->rewatches;
}

const char *
zcq_watcher_incarnation (zcq_watcher_t *self)
{
    assert (self);
    return self->incarnation;
}
