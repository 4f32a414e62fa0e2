/*  =========================================================================
    zcq_copy - a write group member copies another member's whole store
    (see zcq_copy.h)
    =========================================================================
*/

#include "zcq_copy.h"

#define COPY_SIGNATURE "ZCQCOPY1"
#define COPY_CHUNK     (1024 * 1024) //  about the most bytes of keys and values in a CHUNK
#define COPY_IDLE      30000         //  ms a copy may go without NEXT before another may begin
#define WIPE_BATCH     10000         //  most deletes in one batch while a store is emptied
#define GROUP_KEY      "m:group"     //  the store's last applied group (zcq_replica.c)
#define GROUP_KEY_SIZE 7

//  The server: at most one copy at a time, on one snapshot of the store.
typedef struct {
    zcq_store_t *store; //  the member's store
    zcq_store_t *keys;  //  the member's key table, or NULL
    zsock_t *router;    //  bound ROUTER
    zframe_t *peer;     //  routing id of the member copying now, or NULL
    zcq_iter_t *iter;   //  its snapshot, at the next key to send
    bool in_keys;       //  iter is on the key table's snapshot (after the store's)
    uint64_t group;     //  the group that snapshot holds last
    int64_t active;     //  zclock_mono () of its last request
    zchunk_t *chunk;    //  encoding scratch
} s_server_t;

static bool
s_is_group_key (const byte *key, size_t size)
{
    return size == GROUP_KEY_SIZE && memcmp (key, GROUP_KEY, GROUP_KEY_SIZE) == 0;
}

static void
s_reply (s_server_t *self, zframe_t *peer, const char *what, uint64_t group, zchunk_t *data)
{
    byte number [8];
    zcq_store_put_be64 (number, group);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &peer);
    zmsg_addstr (msg, COPY_SIGNATURE);
    zmsg_addstr (msg, what);
    zmsg_addmem (msg, number, 8);
    if (data) {
        zmsg_addmem (msg, zchunk_data (data), zchunk_size (data));
    }
    if (zmsg_send (&msg, self->router) != 0) {
        zmsg_destroy (&msg);
    }
}

static void
s_end (s_server_t *self)
{
    zframe_destroy (&self->peer);
    zcq_iter_destroy (&self->iter);
    self->in_keys = false;
}

//  Send the copier the next chunk of its snapshot (CHUNK), then of the
//  key table's (KEYS), or DONE. The key table's snapshot is taken once the
//  store's is sent, so it holds every key the copied events were sealed
//  with: a key is written before the first group that seals with it.
static void
s_next (s_server_t *self)
{
    zcq_batch_t *batch = zcq_batch_new ();
    size_t bytes = 0;
    if (!zcq_iter_valid (self->iter) && !self->in_keys && self->keys) {
        zcq_iter_destroy (&self->iter);
        self->iter = zcq_iter_new (self->keys, true);
        self->in_keys = true;
        if (!self->iter) {
            zsys_error ("copy: cannot read the key table; the copy is given up");
            zcq_batch_destroy (&batch);
            s_end (self);
            return;
        }
        zcq_iter_seek (self->iter, "", 0);
    }
    while (zcq_iter_valid (self->iter) && bytes < COPY_CHUNK) {
        size_t key_size, value_size;
        const byte *key = zcq_iter_key (self->iter, &key_size);
        const byte *value = zcq_iter_value (self->iter, &value_size);
        if (!s_is_group_key (key, key_size)) {
            zcq_batch_put (batch, key, key_size, value, value_size);
            bytes += key_size + value_size;
        }
        zcq_iter_next (self->iter);
    }
    zframe_t *peer = zframe_dup (self->peer);
    if (zcq_batch_size (batch) == 0 && (self->in_keys || !self->keys)) {
        s_reply (self, peer, "DONE", self->group, NULL);
        zsys_info ("copy: a member copied this store at group %" PRIu64, self->group);
        s_end (self);
    }
    else if (zcq_batch_size (batch) == 0) {
        zframe_destroy (&peer);
        zcq_batch_destroy (&batch);
        s_next (self); //  the store is sent: on to the key table
        return;
    }
    else {
        zchunk_set (self->chunk, NULL, 0);
        zcq_batch_encode (batch, self->chunk);
        s_reply (self, peer, self->in_keys ? "KEYS" : "CHUNK", self->group, self->chunk);
    }
    zcq_batch_destroy (&batch);
}

//  BEGIN from peer: start a copy on a snapshot that holds group at_least,
//  unless another copy is under way or the store is not there yet.
static void
s_begin (s_server_t *self, zframe_t *peer, uint64_t at_least)
{
    if (self->peer && !zframe_eq (self->peer, peer)
        && zclock_mono () - self->active < COPY_IDLE) {
        s_reply (self, peer, "BUSY", 0, NULL);
        return;
    }
    s_end (self);
    self->iter = zcq_iter_new (self->store, true);
    self->group = 0;
    if (self->iter) {
        zcq_iter_seek (self->iter, GROUP_KEY, GROUP_KEY_SIZE);
        size_t size = 0, value_size = 0;
        const byte *key = zcq_iter_valid (self->iter) ? zcq_iter_key (self->iter, &size) : NULL;
        if (key && s_is_group_key (key, size)) {
            const byte *value = zcq_iter_value (self->iter, &value_size);
            self->group = value_size == 8 ? zcq_store_get_be64 (value) : 0;
        }
    }
    if (!self->iter || self->group < at_least) {
        s_reply (self, peer, "BEHIND", self->group, NULL);
        zcq_iter_destroy (&self->iter);
        return;
    }
    self->peer = peer;
    zcq_iter_seek (self->iter, "", 0);
    s_next (self);
}

static void
s_serve (s_server_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    if (!msg) {
        return;
    }
    zframe_t *peer = zmsg_pop (msg);
    char *signature = zmsg_popstr (msg);
    char *what = zmsg_popstr (msg);
    zframe_t *number = zmsg_pop (msg);
    if (peer && signature && what && streq (signature, COPY_SIGNATURE)) {
        self->active = zclock_mono ();
        if (streq (what, "BEGIN") && number && zframe_size (number) == 8) {
            s_begin (self, peer, zcq_store_get_be64 (zframe_data (number)));
            peer = NULL; //  s_begin owns it
        }
        else if (streq (what, "NEXT") && self->peer && zframe_eq (self->peer, peer)) {
            s_next (self);
        }
        else {
            zsys_warning ("copy: a '%s' request out of place is ignored", what);
        }
    }
    else {
        zsys_warning ("copy: a message that is not a copy request is ignored");
    }
    zframe_destroy (&peer);
    zframe_destroy (&number);
    zstr_free (&signature);
    zstr_free (&what);
    zmsg_destroy (&msg);
}

void
zcq_copy_actor (zsock_t *pipe, void *args)
{
    zcq_copy_config_t *config = (zcq_copy_config_t *) args;
    s_server_t self = {.store = config->store,
                       .keys = config->keys,
                       .router = config->socket,
                       .chunk = zchunk_new (NULL, COPY_CHUNK)};
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, self.router, NULL);
    zpoller_set_nonstop (poller, true);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == self.router) {
            s_serve (&self);
        }
        else {
            char *command = which == pipe ? zstr_recv (pipe) : NULL;
            bool stop = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (stop) {
                break;
            }
        }
    }
    zpoller_destroy (&poller);
    s_end (&self);
    zsock_destroy (&self.router);
    zchunk_destroy (&self.chunk);
}

//  Empty the store: "m:group" first, synced, so that a store cut short
//  anywhere later says it holds no group. Returns 0 or -1 (logged).
static int
s_wipe (zcq_store_t *store)
{
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_delete (batch, GROUP_KEY, GROUP_KEY_SIZE);
    int rc = zcq_store_write (store, batch, true);
    zcq_batch_clear (batch);
    zcq_iter_t *iter = rc == 0 ? zcq_iter_new (store, true) : NULL;
    rc = iter ? 0 : -1;
    for (zcq_iter_seek (iter, "", 0); rc == 0 && zcq_iter_valid (iter); zcq_iter_next (iter)) {
        size_t size;
        const byte *key = zcq_iter_key (iter, &size);
        zcq_batch_delete (batch, key, size);
        if (zcq_batch_size (batch) >= WIPE_BATCH) {
            rc = zcq_store_write (store, batch, false);
            zcq_batch_clear (batch);
        }
    }
    if (rc == 0 && zcq_batch_size (batch)) {
        rc = zcq_store_write (store, batch, false);
    }
    zcq_iter_destroy (&iter);
    zcq_batch_destroy (&batch);
    return rc;
}

//  Send a request of what and at_least to the server.
static int
s_request (zsock_t *dealer, const char *what, uint64_t at_least)
{
    byte number [8];
    zcq_store_put_be64 (number, at_least);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, COPY_SIGNATURE);
    zmsg_addstr (msg, what);
    zmsg_addmem (msg, number, 8);
    int rc = zmsg_send (&msg, dealer);
    zmsg_destroy (&msg);
    return rc;
}

int
zcq_copy_fetch (zcq_store_t *store, zcq_store_t *keys, const char *endpoint, uint64_t at_least,
                int timeout_ms, uint64_t *group)
{
    assert (store);
    assert (endpoint);
    assert (group);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer) {
        return 1;
    }
    zsock_set_linger (dealer, 0);
    zsock_set_rcvtimeo (dealer, timeout_ms);
    zsock_set_sndtimeo (dealer, timeout_ms);
    int rc = 1;
    bool started = false; //  the store was emptied: a failure now is -1
    const char *why = "no answer";
    if (zsock_connect (dealer, "%s", endpoint) == 0
        && s_request (dealer, "BEGIN", at_least) == 0) {
        while (true) {
            zmsg_t *msg = zmsg_recv (dealer);
            char *signature = msg ? zmsg_popstr (msg) : NULL;
            char *what = msg ? zmsg_popstr (msg) : NULL;
            zframe_t *number = msg ? zmsg_pop (msg) : NULL;
            zframe_t *data = msg ? zmsg_pop (msg) : NULL;
            bool valid = signature && what && streq (signature, COPY_SIGNATURE) && number
                         && zframe_size (number) == 8;
            uint64_t held = valid ? zcq_store_get_be64 (zframe_data (number)) : 0;
            bool more = false;
            if (!valid) {
                why = msg ? "a malformed answer" : "no answer";
            }
            else if (streq (what, "BEHIND") || streq (what, "BUSY")) {
                why = streq (what, "BUSY") ? "busy" : "behind";
            }
            else if (streq (what, "CHUNK") && data && held >= at_least) {
                if (!started && (s_wipe (store) != 0 || (keys && s_wipe (keys) != 0))) {
                    why = "cannot empty the store";
                    started = true;
                }
                else {
                    started = true;
                    zcq_batch_t *batch =
                        zcq_batch_decode (zframe_data (data), zframe_size (data));
                    more = batch && zcq_store_write (store, batch, false) == 0
                           && s_request (dealer, "NEXT", at_least) == 0;
                    why = batch ? "cannot write or ask again" : "a damaged chunk";
                    zcq_batch_destroy (&batch);
                }
            }
            else if (streq (what, "KEYS") && data && started && keys && held >= at_least) {
                //  Synced: the key table must hold the keys before "m:group"
                //  says the store is whole
                zcq_batch_t *batch = zcq_batch_decode (zframe_data (data), zframe_size (data));
                more = batch && zcq_store_write (keys, batch, true) == 0
                       && s_request (dealer, "NEXT", at_least) == 0;
                why = batch ? "cannot write the key table or ask again" : "a damaged chunk";
                zcq_batch_destroy (&batch);
            }
            else if (streq (what, "DONE") && started && held >= at_least) {
                byte value [8];
                zcq_store_put_be64 (value, held);
                zcq_batch_t *batch = zcq_batch_new ();
                zcq_batch_put (batch, GROUP_KEY, GROUP_KEY_SIZE, value, 8);
                if (zcq_store_write (store, batch, true) == 0) {
                    *group = held;
                    rc = 0;
                    if (keys) {
                        //  The keys wiped and not copied (streams forgotten
                        //  since) leave the table's files too
                        zcq_store_compact (keys, NULL, 0, NULL, 0);
                    }
                }
                else {
                    why = "cannot write the group number";
                }
                zcq_batch_destroy (&batch);
            }
            else {
                why = "an answer out of place";
            }
            zframe_destroy (&data);
            zframe_destroy (&number);
            zstr_free (&signature);
            zstr_free (&what);
            zmsg_destroy (&msg);
            if (!more) {
                break;
            }
        }
    }
    if (rc != 0) {
        rc = started ? -1 : 1;
        zsys_warning ("copy: no copy of group %" PRIu64 " or later from %s (%s)%s", at_least,
                      endpoint, why,
                      started ? "; the store is cut short, copied again later" : "");
    }
    zsock_destroy (&dealer);
    return rc;
}
