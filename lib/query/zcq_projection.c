/*  =========================================================================
    zcq_projection - one generation of read models and its position (see
    zcq_projection.h)
    =========================================================================
*/

#include "zcq_projection.h"
#include "zcq_seal.h"
#include "zcq_event.h"
#include "zcq_upcast.h"
#include "zcq_view_store.h"

#define QUERY_FORMAT "zcqrs-query-1" //  value of "q:format"
#define KEYSPACE_A   "r:"            //  the two keyspaces of the read models
#define KEYSPACE_B   "n:"
#define CLEAR_SLICE  100000 //  keys deleted per batch when a generation restarts
#define HOLD_MAX     10000  //  events a held batch takes at most before it is written

struct _zcq_projection_t {
    zcq_store_t *store;                        //  the read-model store (borrowed)
    const zcq_domain_t *domain;                //  projects events (borrowed)
    zcq_upcast_t *upcast;                      //  raises events to what project reads
    zcq_view_t *view;                          //  the read models, in their keyspace
    zcq_batch_t *batch;                        //  the batch held, or scratch
    bool serving;                              //  queries are answered from it
    uint64_t applied;                          //  last position folded into the view
    uint64_t written;                          //  last position written to the store
    byte written_print [ZCQ_FEED_FINGERPRINT]; //  fingerprint of the event at written
    bool written_printed;                      //  written_print holds that event's
    int delay;                                 //  ms a batch may be held unwritten (0: none)
    size_t held;                               //  events folded into the batch held
    int64_t held_since;                        //  zclock_mono () the held batch began
    uint64_t tombstones;                       //  of deleted streams, in the batch folded
    uint32_t version;                          //  projection version that built the view
    byte fingerprint [ZCQ_FEED_FINGERPRINT];   //  of the event at applied
    bool fingerprinted;                        //  fingerprint holds that event's
    zcq_msg_t *last;                           //  or NULL: the event at applied, until it
                                               //  is fingerprinted (fingerprint is older)
    uint64_t events;                           //  events applied since started
    int64_t started;                           //  zclock_mono () at open or restart
};

//  The key that holds the generation's position.
static const char *
s_applied_key (zcq_projection_t *self)
{
    return self->serving ? "q:applied" : "q:rebuilt";
}

static zcq_projection_t *
s_new (zcq_store_t *store, const zcq_domain_t *domain, const char *keyspace, bool serving)
{
    zcq_projection_t *self = (zcq_projection_t *) zmalloc (sizeof (zcq_projection_t));
    assert (self);
    self->store = store;
    self->domain = domain;
    self->upcast = zcq_upcast_new (domain);
    self->view = zcq_view_new_keyspace (store, keyspace);
    self->batch = zcq_batch_new ();
    self->serving = serving;
    self->version = zcq_domain_projection_version (domain);
    self->started = zclock_mono ();
    return self;
}

//  Check the store holds this domain's read models, or claim a new one.
//  Returns 0, or -1 with *error set.
static int
s_claim (zcq_store_t *store, const zcq_domain_t *domain, char **error)
{
    const char *path = zcq_store_path (store);
    byte *format = NULL, *name = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, "q:format", 8, &format, &size);
    if (rc == 1) {
        zcq_batch_t *batch = zcq_batch_new ();
        zcq_batch_put (batch, "q:format", 8, QUERY_FORMAT, strlen (QUERY_FORMAT));
        zcq_batch_put (batch, "q:domain", 8, domain->name, strlen (domain->name));
        byte version [8];
        zcq_store_put_be64 (version, zcq_domain_projection_version (domain));
        zcq_batch_put (batch, "q:projection", 12, version, 8);
        rc = zcq_store_write (store, batch, true);
        zcq_batch_destroy (&batch);
        if (rc) {
            *error = zsys_sprintf ("cannot initialise '%s'", path);
        }
    }
    else if (rc == 0 && !streq ((char *) format, QUERY_FORMAT)) {
        *error = zsys_sprintf ("folder '%s' holds '%s', not query-node read models", path,
                               (char *) format);
        rc = -1;
    }
    else if (rc == 0) {
        int found = zcq_store_get (store, "q:domain", 8, &name, &size);
        if (found != 0) {
            *error = zsys_sprintf ("cannot read the domain of the read models in '%s'", path);
            rc = -1;
        }
        else if (!streq ((char *) name, domain->name)) {
            *error = zsys_sprintf ("folder '%s' holds read models of domain '%s', not '%s'; "
                                   "use another folder",
                                   path, (char *) name, domain->name);
            rc = -1;
        }
    }
    else {
        *error = zsys_sprintf ("cannot read '%s'", path);
    }
    free (format);
    free (name);
    return rc;
}

zcq_projection_t *
zcq_projection_open (zcq_store_t *store, const zcq_domain_t *domain, char **error)
{
    assert (store);
    assert (domain);
    assert (error);
    if (s_claim (store, domain, error)) {
        return NULL;
    }
    const char *path = zcq_store_path (store);
    uint64_t applied;
    if (zcq_store_get_number (store, "q:applied", 9, &applied)) {
        *error = zsys_sprintf ("cannot read the applied position in '%s'", path);
        return NULL;
    }
    byte *keyspace = NULL;
    size_t size = 0;
    int found = zcq_store_get (store, "q:keyspace", 10, &keyspace, &size);
    if (found < 0) {
        *error = zsys_sprintf ("cannot read the serving keyspace in '%s'", path);
        return NULL;
    }
    bool other = found == 0 && streq ((char *) keyspace, KEYSPACE_B);
    free (keyspace);
    //  Models built before projections had versions were built by version 1
    uint64_t version = 0;
    if (zcq_store_get_number (store, "q:projection", 12, &version)) {
        *error = zsys_sprintf ("cannot read the projection version in '%s'", path);
        return NULL;
    }
    zcq_projection_t *self = s_new (store, domain, other ? KEYSPACE_B : KEYSPACE_A, true);
    self->applied = self->written = applied;
    self->version = version && version <= UINT32_MAX ? (uint32_t) version : 1;
    byte *last = NULL;
    if (zcq_store_get (store, "q:last", 6, &last, &size) == 0 && size == ZCQ_FEED_FINGERPRINT) {
        memcpy (self->fingerprint, last, ZCQ_FEED_FINGERPRINT);
        memcpy (self->written_print, last, ZCQ_FEED_FINGERPRINT);
        self->fingerprinted = self->written_printed = true;
    }
    free (last);
    return self;
}

zcq_projection_t *
zcq_projection_new_beside (zcq_projection_t *serving)
{
    assert (serving);
    assert (serving->serving);
    const char *keyspace = zcq_view_keyspace (serving->view);
    return s_new (serving->store, serving->domain,
                  streq (keyspace, KEYSPACE_A) ? KEYSPACE_B : KEYSPACE_A, false);
}

void
zcq_projection_destroy (zcq_projection_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_projection_t *self = *self_p;
        zcq_view_destroy (&self->view);
        zcq_batch_destroy (&self->batch);
        zcq_msg_destroy (&self->last);
        zcq_upcast_destroy (&self->upcast);
        free (self);
        *self_p = NULL;
    }
}

//  Project one event, at its current schema version, into the view.
static int
s_project_one (const zcq_event_t *event, void *arg)
{
    zcq_projection_t *self = (zcq_projection_t *) arg;
    return self->domain->project (self->view, event) != 0 ? -1 : 0;
}

//  Fold one event (the next position), raised to its types' current schema
//  versions, through the domain into the view. Returns 0, or -1 if its data
//  is not a map, an upcaster or the domain failed.
static int
s_project (zcq_projection_t *self, zcq_msg_t *event)
{
    if (zcq_msg_deleted (event)) {
        return 0; //  data hidden by its stream's tombstone: nothing to fold
    }
    const char *type = zcq_msg_name (event);
    if (type [0] == '$'
        && (streq (type, ZCQ_STREAM_DELETED) || streq (type, ZCQ_STREAM_FORGOTTEN))) {
        self->tombstones++; //  the domain drops (or rewrites) the stream's entries
    }
    if (zcq_seal_maybe (zcq_msg_data (event), zcq_msg_data_size (event))) {
        //  A query node holds no keys: what still comes sealed (its key
        //  destroyed, section 10.14) is forgotten, and the domain sees nil
        msgpack_sbuffer opened;
        msgpack_sbuffer_init (&opened);
        if (zcq_seal_open (zcq_msg_data (event), zcq_msg_data_size (event), NULL,
                           zcq_msg_stream (event), false, &opened)
            > 0) {
            zcq_msg_set_data (event, (const byte *) opened.data, opened.size);
        }
        msgpack_sbuffer_destroy (&opened);
    }
    int rc = zcq_upcast_msg (self->upcast, event, s_project_one, self);
    if (rc != 0 && *zcq_upcast_error (self->upcast)) {
        zsys_error ("query node: %s", zcq_upcast_error (self->upcast));
    }
    return rc;
}

//  Nothing since the last write stays: the view's changes are dropped, the
//  position is the written one again and the feed delivers from there.
static void
s_undo (zcq_projection_t *self, zcq_feed_t *feed)
{
    zcq_msg_destroy (&self->last);
    zcq_batch_clear (self->batch);
    zcq_view_rollback (self->view);
    self->applied = self->written;
    memcpy (self->fingerprint, self->written_print, sizeof (self->fingerprint));
    self->fingerprinted = self->written_printed;
    self->events -= self->held; //  counted again when they come again
    self->held = 0;
    self->tombstones = 0;
    zcq_feed_rewind (feed, self->written + 1);
    if (self->written_printed) {
        zcq_feed_applied (feed, self->written, self->written_print, false);
    }
}

//  The fingerprint of the event at applied, taken once per write rather
//  than once per burst (a SHA-1 and a digest allocated).
static void
s_fingerprint (zcq_projection_t *self)
{
    if (self->last) {
        zcq_feed_fingerprint (self->last, self->fingerprint);
        self->fingerprinted = true;
        zcq_msg_destroy (&self->last);
    }
}

//  Write the held batch: the view's changes, the position they reach and
//  (serving) the fingerprint there. Returns 0, or -1 (everything since the
//  last write undone, s_undo).
static int
s_write (zcq_projection_t *self, zcq_feed_t *feed)
{
    s_fingerprint (self);
    //  The held bursts' changes, each key once with its last value: a key
    //  changed in many bursts (the totals, a busy account) costs the store
    //  one put, not one per burst
    zcq_view_commit_held (self->view, self->batch);
    //  Invariant 5: the changes and the position they reach, one batch
    byte value [8];
    zcq_store_put_be64 (value, self->applied);
    const char *key = s_applied_key (self);
    zcq_batch_put (self->batch, key, strlen (key), value, 8);
    if (self->serving) {
        zcq_batch_put (self->batch, "q:last", 6, self->fingerprint, sizeof (self->fingerprint));
    }
    if (self->tombstones) {
        //  Deleted entries stay in LevelDB's files until compacted: the
        //  old values go to the tables first, so that they never share
        //  a memtable (a table made from one keeps both) with the deletes
        zcq_store_compact (self->store, NULL, 0, NULL, 0);
    }
    bool failed = zcq_store_write (self->store, self->batch, false) != 0;
    zcq_batch_clear (self->batch);
    if (failed) {
        s_undo (self, feed);
        return -1;
    }
    self->held = 0;
    zcq_view_written (self->view);
    self->written = self->applied;
    memcpy (self->written_print, self->fingerprint, sizeof (self->fingerprint));
    self->written_printed = self->fingerprinted;
    if (self->fingerprinted) {
        zcq_feed_applied (feed, self->written, self->written_print, false);
    }
    if (self->tombstones) {
        //  ... and now the deletes meet them, so that the data of a deleted
        //  stream leaves this node's disk
        zcq_store_compact (self->store, NULL, 0, NULL, 0);
        zsys_info ("query node: %" PRIu64 " deleted or forgotten streams' read models "
                   "compacted in "
                   "keyspace '%s'",
                   self->tombstones, zcq_view_keyspace (self->view));
        self->tombstones = 0;
    }
    return 0;
}

int
zcq_projection_apply (zcq_projection_t *self, zcq_feed_t *feed, size_t max)
{
    assert (self);
    assert (feed);
    uint64_t last = self->applied;
    size_t count = 0;
    bool failed = false;
    zcq_msg_t *event, *last_event = NULL;
    while (count < max && (event = zcq_feed_next (feed))) {
        uint64_t position = zcq_msg_position (event);
        if (position != last + 1) {
            //  The feed guarantees order; anything else is a broken invariant
            zsys_error ("query node: feed gave position %" PRIu64 " after %" PRIu64, position,
                        last);
            failed = true;
        }
        else {
            failed = s_project (self, event) != 0;
        }
        if (failed) {
            zcq_msg_destroy (&event);
            break;
        }
        //  The last event is kept for its fingerprint
        zcq_msg_destroy (&last_event);
        last_event = event;
        last = position;
        count++;
    }
    if (failed) {
        zcq_msg_destroy (&last_event);
        s_undo (self, feed);
        return -1;
    }
    if (last_event) {
        zcq_msg_destroy (&self->last);
        self->last = last_event; //  fingerprinted when written
    }
    if (count == 0) {
        return 0;
    }
    //  Folded: queries read the view's changes from now on, written or held
    if (self->held == 0) {
        zcq_batch_clear (self->batch);
        self->held_since = zclock_mono ();
    }
    zcq_view_commit_more (self->view);
    self->held += count;
    self->applied = last;
    self->events += count;
    if ((self->tombstones || self->delay == 0 || self->held >= HOLD_MAX
         || zclock_mono () - self->held_since >= self->delay)
        && s_write (self, feed) != 0) {
        return -1;
    }
    return (int) count;
}

void
zcq_projection_set_delay (zcq_projection_t *self, int milliseconds)
{
    assert (self);
    self->delay = milliseconds > 0 ? milliseconds : 0;
}

int64_t
zcq_projection_due (zcq_projection_t *self)
{
    assert (self);
    return self->held ? self->held_since + self->delay : INT64_MAX;
}

int
zcq_projection_flush (zcq_projection_t *self, zcq_feed_t *feed)
{
    assert (self);
    assert (feed);
    return self->held ? s_write (self, feed) : 0;
}

uint64_t
zcq_projection_written (zcq_projection_t *self)
{
    assert (self);
    return self->written;
}

int
zcq_projection_switch (zcq_projection_t *rebuilt, zcq_projection_t *serving)
{
    assert (rebuilt && !rebuilt->serving);
    assert (serving && serving->serving);
    assert (rebuilt->store == serving->store);
    byte value [8];
    zcq_store_put_be64 (value, rebuilt->applied);
    const char *keyspace = zcq_view_keyspace (rebuilt->view);
    zcq_batch_clear (rebuilt->batch);
    zcq_batch_put (rebuilt->batch, "q:keyspace", 10, keyspace, strlen (keyspace));
    zcq_batch_put (rebuilt->batch, "q:applied", 9, value, 8);
    zcq_batch_put (rebuilt->batch, "q:last", 6, rebuilt->fingerprint, ZCQ_FEED_FINGERPRINT);
    zcq_batch_delete (rebuilt->batch, "q:rebuilt", 9);
    byte version [8];
    zcq_store_put_be64 (version, rebuilt->version);
    zcq_batch_put (rebuilt->batch, "q:projection", 12, version, 8);
    int rc = zcq_store_write (rebuilt->store, rebuilt->batch, true);
    zcq_batch_clear (rebuilt->batch);
    if (rc) {
        zsys_error ("query node: could not switch to the rebuilt read models; will try again");
        return -1;
    }
    int64_t elapsed = zclock_mono () - rebuilt->started;
    zsys_info ("query node: rebuild done: %" PRIu64 " events in %" PRId64 " ms (%" PRIu64
               " events/s); keyspace '%s' serves at position %" PRIu64
               ", projection version %u (was '%s' at %" PRIu64 ", version %u)",
               rebuilt->events, elapsed, zcq_projection_rate (rebuilt), keyspace,
               rebuilt->applied, rebuilt->version, zcq_view_keyspace (serving->view),
               serving->applied, serving->version);
    rebuilt->serving = true;
    serving->serving = false;
    return 0;
}

int
zcq_projection_clear (zcq_projection_t *self, size_t max)
{
    assert (self);
    assert (!self->serving);
    return zcq_view_clear (self->view, max);
}

int
zcq_projection_restart (zcq_projection_t *self)
{
    assert (self);
    assert (!self->serving);
    int deleted;
    do {
        deleted = zcq_view_clear (self->view, CLEAR_SLICE);
    } while (deleted > 0);
    if (deleted < 0) {
        return -1;
    }
    zcq_batch_clear (self->batch);
    zcq_view_rollback (self->view);
    zcq_msg_destroy (&self->last);
    self->applied = self->written = 0;
    self->held = 0;
    memset (self->fingerprint, 0, sizeof (self->fingerprint));
    memset (self->written_print, 0, sizeof (self->written_print));
    self->fingerprinted = self->written_printed = false;
    self->events = 0;
    self->started = zclock_mono ();
    return 0;
}

zcq_view_t *
zcq_projection_view (zcq_projection_t *self)
{
    assert (self);
    return self->view;
}

const char *
zcq_projection_keyspace (zcq_projection_t *self)
{
    assert (self);
    return zcq_view_keyspace (self->view);
}

uint32_t
zcq_projection_version (zcq_projection_t *self)
{
    assert (self);
    return self->version;
}

bool
zcq_projection_serving (zcq_projection_t *self)
{
    assert (self);
    return self->serving;
}

uint64_t
zcq_projection_applied (zcq_projection_t *self)
{
    assert (self);
    return self->applied;
}

const byte *
zcq_projection_fingerprint (zcq_projection_t *self)
{
    assert (self);
    s_fingerprint (self);
    return self->fingerprinted ? self->fingerprint : NULL;
}

uint64_t
zcq_projection_events (zcq_projection_t *self)
{
    assert (self);
    return self->events;
}

uint64_t
zcq_projection_rate (zcq_projection_t *self)
{
    assert (self);
    int64_t elapsed = zclock_mono () - self->started;
    return elapsed > 0 ? self->events * 1000 / (uint64_t) elapsed : 0;
}
