/*  =========================================================================
    zcq_blocklist - bounded bookkeeping of peers that send garbage (see .h)
    =========================================================================
*/

#include "zcq_blocklist.h"

//  One peer's record.
typedef struct {
    char *key;             //  socket tag and hex routing id (hash key owner)
    unsigned errors;       //  refused messages since window_start
    int64_t window_start;  //  ms when the current count began
    int64_t blocked_until; //  ms until which its messages are discarded, 0: not
    void *handle;          //  position in the recency list
} s_peer_t;

struct _zcq_blocklist_t {
    zhashx_t *peers;     //  key -> s_peer_t
    zlistx_t *recent;    //  s_peer_t, least recently seen first (owns them)
    size_t max_peers;    //  records kept at most
    unsigned max_errors; //  refused messages allowed per window
    int64_t window;      //  ms of the counting window
    int64_t penalty;     //  ms a peer stays blocked
};

static void
s_peer_destroy (void **item)
{
    s_peer_t *peer = (s_peer_t *) *item;
    if (peer) {
        free (peer->key);
        free (peer);
        *item = NULL;
    }
}

zcq_blocklist_t *
zcq_blocklist_new (size_t max_peers, unsigned max_errors, int64_t window_ms, int64_t penalty_ms)
{
    assert (max_peers > 0);
    zcq_blocklist_t *self = (zcq_blocklist_t *) zmalloc (sizeof (zcq_blocklist_t));
    assert (self);
    self->peers = zhashx_new ();
    self->recent = zlistx_new ();
    zlistx_set_destructor (self->recent, s_peer_destroy);
    self->max_peers = max_peers;
    self->max_errors = max_errors;
    self->window = window_ms;
    self->penalty = penalty_ms;
    return self;
}

void
zcq_blocklist_destroy (zcq_blocklist_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_blocklist_t *self = *self_p;
        zhashx_destroy (&self->peers);
        zlistx_destroy (&self->recent);
        free (self);
        *self_p = NULL;
    }
}

//  Key of a peer: the socket's address and the routing id in hex.
static char *
s_key (const void *socket, zframe_t *routing_id)
{
    char *hex = zframe_strhex (routing_id);
    char *key = zsys_sprintf ("%p/%s", socket, hex);
    free (hex);
    return key;
}

//  Find a peer's record and mark it recently seen, or NULL.
static s_peer_t *
s_lookup (zcq_blocklist_t *self, const void *socket, zframe_t *routing_id)
{
    char *key = s_key (socket, routing_id);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, key);
    free (key);
    if (peer) {
        zlistx_move_end (self->recent, peer->handle);
    }
    return peer;
}

bool
zcq_blocklist_blocked (zcq_blocklist_t *self, const void *socket, zframe_t *routing_id,
                       int64_t now)
{
    assert (self);
    if (!routing_id || zhashx_size (self->peers) == 0) {
        return false;
    }
    s_peer_t *peer = s_lookup (self, socket, routing_id);
    return peer && peer->blocked_until > now;
}

bool
zcq_blocklist_error (zcq_blocklist_t *self, const void *socket, zframe_t *routing_id,
                     int64_t now, const char *endpoint)
{
    assert (self);
    if (!routing_id) {
        return false;
    }
    s_peer_t *peer = s_lookup (self, socket, routing_id);
    if (!peer) {
        if (zlistx_size (self->recent) >= self->max_peers) {
            s_peer_t *oldest = (s_peer_t *) zlistx_first (self->recent);
            zhashx_delete (self->peers, oldest->key);
            zlistx_delete (self->recent, oldest->handle);
        }
        peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
        assert (peer);
        peer->key = s_key (socket, routing_id);
        peer->window_start = now;
        peer->handle = zlistx_add_end (self->recent, peer);
        zhashx_insert (self->peers, peer->key, peer);
    }
    if (now - peer->window_start >= self->window) {
        peer->window_start = now;
        peer->errors = 0;
    }
    peer->errors++;
    if (peer->errors > self->max_errors && peer->blocked_until <= now) {
        peer->blocked_until = now + self->penalty;
        peer->errors = 0;
        peer->window_start = now;
        zsys_warning ("%s endpoint: peer %s sent %u refused messages within %" PRId64
                      " ms; ignoring it for %" PRId64 " ms",
                      endpoint ? endpoint : "?", strchr (peer->key, '/') + 1,
                      self->max_errors + 1, self->window, self->penalty);
        return true;
    }
    return false;
}

size_t
zcq_blocklist_size (zcq_blocklist_t *self)
{
    assert (self);
    return zhashx_size (self->peers);
}
