/*  =========================================================================
    zcq_watches - a query node's live queries (see zcq_watches.h)

    Clients are kept by routing id, watches by routing id and watch id. A
    watch holds its WATCH (name, params, envelope), what its query read the
    last time it ran, and the last result it evaluated: sent, or waiting
    for the ACK of the one before. That is all the memory a slow reader
    costs: one result per watch, however many batches change it.
    =========================================================================
*/

#include "zcq_watches.h"
#include "zcq_view_store.h"

//  A client: a routing id on the query ROUTER
typedef struct {
    char *key;      //  routing id in hex: the key in clients
    int64_t heard;  //  zclock_mono () of its last message
    size_t watches; //  watches it holds
} s_client_t;

//  A live query
typedef struct {
    s_client_t *client; //  its client (owned by clients)
    zcq_msg_t *watch;   //  the WATCH, with its envelope
    zlistx_t *reads;    //  what its query read when it last ran ("=KEY", "*PREFIX")
    zcq_msg_t *last;    //  the last result evaluated (an UPDATE), or NULL before any
    bool unsent;        //  last is not sent yet
    bool in_flight;     //  an UPDATE was sent and its ACK has not come
    uint64_t seq;       //  number of the last UPDATE sent
} s_watch_t;

struct _zcq_watches_t {
    zsock_t *router;           //  the query ROUTER (borrowed)
    zcq_watches_eval_fn *eval; //  runs a watch's query
    void *arg;                 //  for eval
    size_t node_max;           //  most watches in all
    size_t client_max;         //  most watches per client
    uint32_t lease;            //  ms a silent client keeps its watches
    zhashx_t *clients;         //  routing id hex -> s_client_t
    zhashx_t *watches;         //  routing id hex "/" watch id hex -> s_watch_t
    char incarnation [33];     //  this node's, new at every start
    bool retry;                //  some update could not be sent: try again at the tick
    uint64_t sent;             //  updates sent since start
    uint64_t evaluations;      //  watch queries run since start
    uint64_t expired;          //  watches dropped with their silent client
};

static void
s_client_destroy (void **item)
{
    s_client_t *client = (s_client_t *) *item;
    if (client) {
        free (client->key);
        free (client);
        *item = NULL;
    }
}

static void
s_watch_destroy (void **item)
{
    s_watch_t *watch = (s_watch_t *) *item;
    if (watch) {
        zcq_msg_destroy (&watch->watch);
        zcq_msg_destroy (&watch->last);
        zlistx_destroy (&watch->reads);
        watch->client->watches--;
        free (watch);
        *item = NULL;
    }
}

zcq_watches_t *
zcq_watches_new (zsock_t *router, zcq_watches_eval_fn *eval, void *arg, size_t node_max,
                 size_t client_max, uint32_t lease_ms)
{
    assert (router);
    assert (eval);
    zcq_watches_t *self = (zcq_watches_t *) zmalloc (sizeof (zcq_watches_t));
    assert (self);
    self->router = router;
    self->eval = eval;
    self->arg = arg;
    self->node_max = node_max;
    self->client_max = client_max;
    self->lease = lease_ms;
    self->clients = zhashx_new ();
    zhashx_set_destructor (self->clients, s_client_destroy);
    self->watches = zhashx_new ();
    zhashx_set_destructor (self->watches, s_watch_destroy);
    zuuid_t *uuid = zuuid_new ();
    snprintf (self->incarnation, sizeof (self->incarnation), "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    return self;
}

void
zcq_watches_destroy (zcq_watches_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_watches_t *self = *self_p;
        zhashx_destroy (&self->watches); //  before the clients they point at
        zhashx_destroy (&self->clients);
        free (self);
        *self_p = NULL;
    }
}

//  Hex of a routing id (and, with a watch id, "/" and its hex); caller frees.
static char *
s_key (zcq_msg_t *msg, bool with_id)
{
    zframe_t *routing = zcq_msg_routing_id (msg);
    char *client = routing ? zframe_strhex (routing) : strdup ("");
    if (!with_id) {
        return client;
    }
    char hex [2 * ZCQ_MAX_ID + 1];
    const byte *id = zcq_msg_id (msg);
    for (size_t index = 0; index < zcq_msg_id_size (msg); index++) {
        snprintf (hex + 2 * index, 3, "%02X", id [index]);
    }
    hex [2 * zcq_msg_id_size (msg)] = 0;
    char *key = zsys_sprintf ("%s/%s", client, hex);
    free (client);
    return key;
}

void
zcq_watches_refuse (zcq_watches_t *self, zcq_msg_t *msg, zcq_status_t status,
                    const char *reason)
{
    assert (self);
    assert (msg);
    zcq_msg_t *update = zcq_msg_reply_to (msg, status);
    zcq_msg_set_type (update, ZCQ_MSG_UPDATE);
    zcq_msg_set_reason (update, "%s", reason);
    zcq_msg_set_lease (update, self->lease);
    zcq_msg_set_origin (update, NULL, self->incarnation, NULL);
    if (zcq_msg_send (update, self->router) != 0) {
        zsys_warning ("query node: could not deliver a refused %s: peer gone or its queue is "
                      "full",
                      zcq_msg_type_name (zcq_msg_type (msg)));
    }
    zcq_msg_destroy (&update);
}

//  Send the watch's last result if it is unsent and nothing is in flight.
//  A peer that cannot take it (gone, or its queue full) keeps it unsent:
//  the tick tries again, or the client's lease runs out.
static void
s_flush (zcq_watches_t *self, s_watch_t *watch)
{
    if (!watch->unsent || watch->in_flight) {
        return;
    }
    zcq_msg_set_seq (watch->last, watch->seq + 1);
    if (zcq_msg_send (watch->last, self->router) != 0) {
        self->retry = true;
        return;
    }
    watch->seq++;
    watch->unsent = false;
    watch->in_flight = true;
    self->sent++;
}

//  Two results are the same when their status, result and staleness are:
//  reasons may name times ("silent for 3012 ms") that change every time.
static bool
s_same (zcq_msg_t *one, zcq_msg_t *other)
{
    return zcq_msg_status (one) == zcq_msg_status (other)
           && zcq_msg_may_be_stale (one) == zcq_msg_may_be_stale (other)
           && zcq_msg_data_size (one) == zcq_msg_data_size (other)
           //  no result (not_found, a refusal) has no data: memcmp takes no NULL
           && (zcq_msg_data_size (one) == 0
               || memcmp (zcq_msg_data (one), zcq_msg_data (other), zcq_msg_data_size (one))
                      == 0);
}

//  Run a watch's query; keep the result if it changed, and send it if the
//  client may have it now.
static void
s_evaluate (zcq_watches_t *self, s_watch_t *watch)
{
    zcq_msg_t *update = zcq_msg_reply_to (watch->watch, ZCQ_OK);
    zlistx_purge (watch->reads);
    self->eval (self->arg, watch->watch, update, watch->reads);
    self->evaluations++;
    zcq_msg_set_lease (update, self->lease);
    zcq_msg_set_origin (update, NULL, self->incarnation, NULL);
    if (watch->last && s_same (watch->last, update)) {
        zcq_msg_destroy (&update);
        return;
    }
    zcq_msg_destroy (&watch->last); //  a result not sent yet is replaced: coalesced
    watch->last = update;
    watch->unsent = true;
    s_flush (self, watch);
}

//  The client of a message, made if new; renewed.
static s_client_t *
s_client (zcq_watches_t *self, zcq_msg_t *msg)
{
    char *key = s_key (msg, false);
    s_client_t *client = (s_client_t *) zhashx_lookup (self->clients, key);
    if (!client) {
        client = (s_client_t *) zmalloc (sizeof (s_client_t));
        assert (client);
        client->key = key;
        zhashx_insert (self->clients, key, client);
    }
    else {
        free (key);
    }
    client->heard = zclock_mono ();
    return client;
}

static void
s_watch (zcq_watches_t *self, s_client_t *client, zcq_msg_t **msg_p)
{
    zcq_msg_t *msg = *msg_p;
    char *key = s_key (msg, true);
    //  The same id again replaces the watch (a client that lost track of it)
    zhashx_delete (self->watches, key);
    char *reason = NULL;
    if (zhashx_size (self->watches) >= self->node_max) {
        reason = zsys_sprintf ("this query node holds %zu live queries, its limit "
                               "(query/watch_max); retry later or watch on another node",
                               zhashx_size (self->watches));
    }
    else if (client->watches >= self->client_max) {
        reason = zsys_sprintf ("this client holds %zu live queries on this node, the limit per "
                               "client (query/watch_client_max); unwatch one first",
                               client->watches);
    }
    if (reason) {
        zcq_watches_refuse (self, msg, ZCQ_BUSY, reason);
        zstr_free (&reason);
        zstr_free (&key);
        zcq_msg_destroy (msg_p);
        return;
    }
    s_watch_t *watch = (s_watch_t *) zmalloc (sizeof (s_watch_t));
    assert (watch);
    watch->client = client;
    watch->watch = msg;
    *msg_p = NULL;
    watch->reads = zlistx_new ();
    zlistx_set_destructor (watch->reads, (zlistx_destructor_fn *) zstr_free);
    client->watches++;
    zhashx_insert (self->watches, key, watch);
    zstr_free (&key);
    s_evaluate (self, watch); //  the current result, at once
}

void
zcq_watches_handle (zcq_watches_t *self, zcq_msg_t **msg_p)
{
    assert (self);
    assert (msg_p && *msg_p);
    zcq_msg_t *msg = *msg_p;
    s_client_t *client = s_client (self, msg);
    if (zcq_msg_type (msg) == ZCQ_MSG_WATCH) {
        s_watch (self, client, msg_p);
        return;
    }
    char *key = s_key (msg, true);
    s_watch_t *watch = (s_watch_t *) zhashx_lookup (self->watches, key);
    if (!watch) {
        zcq_watches_refuse (self, msg, ZCQ_NOT_FOUND,
                            "no such watch on this query node (it expired, was never made, or "
                            "the node restarted): WATCH again");
    }
    else if (zcq_msg_type (msg) == ZCQ_MSG_UNWATCH) {
        zhashx_delete (self->watches, key);
    }
    else if (zcq_msg_seq (msg) && zcq_msg_seq (msg) == watch->seq && watch->in_flight) {
        watch->in_flight = false;
        s_flush (self, watch); //  whatever changed meanwhile, the latest only
    }
    zstr_free (&key);
    zcq_msg_destroy (msg_p);
}

void
zcq_watches_changed (zcq_watches_t *self, zhashx_t *touched)
{
    assert (self);
    for (s_watch_t *watch = (s_watch_t *) zhashx_first (self->watches); watch;
         watch = (s_watch_t *) zhashx_next (self->watches)) {
        //  A query that read nothing (it failed, say) runs every time
        if (!touched || zlistx_size (watch->reads) == 0
            || zcq_view_reads_touched (watch->reads, touched)) {
            s_evaluate (self, watch);
        }
    }
}

void
zcq_watches_tick (zcq_watches_t *self)
{
    assert (self);
    int64_t now = zclock_mono ();
    zlistx_t *silent = zlistx_new ();
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients)) {
        if (now - client->heard > (int64_t) self->lease) {
            zlistx_add_end (silent, client);
        }
    }
    if (zlistx_size (silent)) {
        zlistx_t *gone = zlistx_new ();
        for (s_watch_t *watch = (s_watch_t *) zhashx_first (self->watches); watch;
             watch = (s_watch_t *) zhashx_next (self->watches)) {
            if (now - watch->client->heard > (int64_t) self->lease) {
                zlistx_add_end (gone, (void *) zhashx_cursor (self->watches));
            }
        }
        for (const char *key = (const char *) zlistx_first (gone); key;
             key = (const char *) zlistx_next (gone)) {
            zhashx_delete (self->watches, key);
            self->expired++;
        }
        zlistx_destroy (&gone);
        for (s_client_t *client = (s_client_t *) zlistx_first (silent); client;
             client = (s_client_t *) zlistx_next (silent)) {
            zhashx_delete (self->clients, client->key);
        }
    }
    zlistx_destroy (&silent);
    if (self->retry) {
        self->retry = false;
        for (s_watch_t *watch = (s_watch_t *) zhashx_first (self->watches); watch;
             watch = (s_watch_t *) zhashx_next (self->watches)) {
            s_flush (self, watch);
        }
    }
}

size_t
zcq_watches_size (zcq_watches_t *self)
{
    assert (self);
    return zhashx_size (self->watches);
}

uint64_t
zcq_watches_sent (zcq_watches_t *self)
{
    assert (self);
    return self->sent;
}

uint64_t
zcq_watches_evaluations (zcq_watches_t *self)
{
    assert (self);
    return self->evaluations;
}

uint64_t
zcq_watches_expired (zcq_watches_t *self)
{
    assert (self);
    return self->expired;
}

const char *
zcq_watches_incarnation (zcq_watches_t *self)
{
    assert (self);
    return self->incarnation;
}
