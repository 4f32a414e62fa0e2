/*  =========================================================================
    zcq_aggregates - the write node's aggregate cache (see zcq_aggregates.h)

    A hash finds a stream's entry; a list orders the entries from least to
    most recently used. An entry is pinned while `staged`, the position of
    the last event staged on it, is beyond the log's head: its state holds
    events the disk does not have yet, so it cannot be loaded again.
    =========================================================================
*/

#include "zcq_aggregates.h"
#include "zcq_event.h"
#include "zcq_mpack.h"
#include "zcq_upcast.h"

//  One cached state. The caller sees `aggregate` (the first field, so that
//  the entry is found from the pointer it was given).
typedef struct {
    zcq_aggregate_t aggregate; //  stream, state and version, as the caller sees them
    char *stream;              //  stream name (aggregate.stream points here)
    uint64_t noted;            //  version at load or at the last zcq_aggregates_staged
    uint64_t staged;           //  log position of its last staged event (0: none)
    void *handle;              //  position in the LRU list
    bool forgotten;            //  forgotten while cached: the state may hold what
                               //  the personal fields held, so no more snapshots
    void (*evolve) (void *state, const zcq_event_t *event); //  the domain's, while folding
} s_entry_t;

struct _zcq_aggregates_t {
    const zcq_domain_t *domain; //  decide / evolve / state_save / state_load
    zcq_upcast_t *upcast;       //  raises stored events to what evolve reads
    zcq_log_t *log;             //  where states are loaded from and snapshots staged
    zhashx_t *entries;          //  stream -> s_entry_t
    zlistx_t *lru;              //  s_entry_t, least recently used first (owns them)
    size_t size;                //  states kept unless more are pinned
    uint64_t snapshot;          //  events between snapshots (0: none)
    uint64_t folded;            //  stored events folded while loading
    uint64_t snapshots;         //  snapshots staged
};

static void
s_entry_destroy (void **item)
{
    s_entry_t *entry = (s_entry_t *) *item;
    if (entry) {
        free (entry->stream);
        free (entry);
        *item = NULL;
    }
}

//  The entry behind an aggregate the cache handed out (the caller's view
//  is read-only; the entry is the cache's own, never a const object).
static s_entry_t *
s_entry (const zcq_aggregate_t *aggregate)
{
    return (s_entry_t *) aggregate;
}

static void
s_state_destroy (zcq_aggregates_t *self, void *state)
{
    if (self->domain->state_destroy) {
        self->domain->state_destroy (state);
    }
}

//  Free the domain's states of every entry (the entries stay).
static void
s_states_destroy (zcq_aggregates_t *self)
{
    s_entry_t *entry = (s_entry_t *) zlistx_first (self->lru);
    while (entry) {
        s_state_destroy (self, entry->aggregate.state);
        entry = (s_entry_t *) zlistx_next (self->lru);
    }
}

zcq_aggregates_t *
zcq_aggregates_new (const zcq_domain_t *domain, zcq_log_t *log, size_t size, uint64_t snapshot)
{
    assert (domain);
    assert (log);
    assert (size >= 1);
    zcq_aggregates_t *self = (zcq_aggregates_t *) zmalloc (sizeof (zcq_aggregates_t));
    assert (self);
    self->domain = domain;
    self->upcast = zcq_upcast_new (domain);
    self->log = log;
    self->size = size;
    self->snapshot = snapshot;
    self->entries = zhashx_new ();
    self->lru = zlistx_new ();
    zlistx_set_destructor (self->lru, s_entry_destroy);
    return self;
}

void
zcq_aggregates_destroy (zcq_aggregates_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_aggregates_t *self = *self_p;
        //  States belong to the domain: free them before the entries
        s_states_destroy (self);
        zhashx_destroy (&self->entries);
        zlistx_destroy (&self->lru);
        zcq_upcast_destroy (&self->upcast);
        free (self);
        *self_p = NULL;
    }
}

//  Fold one event, at its current schema version, into the state arg is.
static int
s_evolve_one (const zcq_event_t *event, void *arg)
{
    s_entry_t *entry = (s_entry_t *) arg;
    entry->evolve (entry->aggregate.state, event);
    return 0;
}

//  Fold one EVENT, raised to its current schema version, into an entry's
//  state; its version becomes the event's. Returns 0, or -1 if the event's
//  data is not a map or its upcaster failed (the domain does not see it).
static int
s_evolve (zcq_aggregates_t *self, s_entry_t *entry, zcq_msg_t *msg)
{
    entry->aggregate.version = zcq_msg_version (msg);
    if (streq (zcq_msg_name (msg), ZCQ_STREAM_DELETED)) {
        entry->aggregate.deleted = zcq_msg_position (msg);
        return 0; //  the node's own event, never the domain's
    }
    if (!self->domain->evolve || zcq_msg_deleted (msg)
        || streq (zcq_msg_name (msg), ZCQ_STREAM_FORGOTTEN)) {
        return 0; //  a stateless domain, or data hidden: only the version counts
    }
    entry->evolve = self->domain->evolve;
    if (zcq_upcast_msg (self->upcast, msg, s_evolve_one, entry) != 0) {
        zsys_error ("write node: cannot fold an event of '%s': %s", entry->stream,
                    zcq_upcast_error (self->upcast));
        return -1;
    }
    return 0;
}

//  Open the sealed values of a stored event for evolve: with the stream's
//  key, or nil once it is forgotten. Returns 0, or -1 on a storage error.
static int
s_open (zcq_aggregates_t *self, zcq_msg_t *msg)
{
    if (!zcq_seal_maybe (zcq_msg_data (msg), zcq_msg_data_size (msg))) {
        return 0;
    }
    byte key [ZCQ_SEAL_KEY];
    int rc = zcq_log_stream_key (self->log, zcq_msg_stream (msg), false, key);
    if (rc < 0) {
        return -1;
    }
    msgpack_sbuffer opened;
    msgpack_sbuffer_init (&opened);
    if (zcq_seal_open (zcq_msg_data (msg), zcq_msg_data_size (msg), rc == 0 ? key : NULL,
                       zcq_msg_stream (msg), false, &opened)
        > 0) {
        zcq_msg_set_data (msg, (const byte *) opened.data, opened.size);
    }
    msgpack_sbuffer_destroy (&opened);
    return 0;
}

typedef struct {
    zcq_aggregates_t *self; //  cache
    s_entry_t *entry;       //  state being loaded
    int rc;                 //  -1 if an event could not be read
} s_fold_t;

//  Fold one stored event into the state being loaded.
static int
s_fold (const byte *body, size_t size, void *arg)
{
    s_fold_t *fold = (s_fold_t *) arg;
    zcq_msg_t *msg = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    if (zcq_msg_valid (msg) && s_open (fold->self, msg) != 0) {
        fold->rc = -1; //  the stream's key could not be read
        zcq_msg_destroy (&msg);
        return 1;
    }
    if (!zcq_msg_valid (msg) || s_evolve (fold->self, fold->entry, msg) != 0) {
        zsys_error ("write node: stored event of '%s' does not decode: %s", fold->entry->stream,
                    zcq_msg_error (msg));
        zcq_msg_destroy (&msg);
        fold->rc = -1;
        return 1;
    }
    fold->self->folded++;
    zcq_msg_destroy (&msg);
    return 0;
}

//  Start an entry from its stream's latest snapshot, if snapshots are on,
//  the domain keeps them and one is stored. A snapshot the domain cannot
//  load (its state format changed) is passed over: the events are the
//  truth, and folding them all gives the same state. Returns 0, or -1 on
//  a storage error.
static int
s_load_snapshot (zcq_aggregates_t *self, s_entry_t *entry)
{
    if (!self->snapshot || !zcq_domain_has_snapshots (self->domain)) {
        return 0;
    }
    byte *saved = NULL;
    size_t size = 0;
    uint64_t version = 0;
    int rc = zcq_log_find_state (self->log, entry->stream, &version, &saved, &size);
    if (rc != 0) {
        return rc < 0 ? -1 : 0;
    }
    void *state = self->domain->state_new ? self->domain->state_new () : NULL;
    msgpack_unpacked unpacked;
    rc = zcq_mpack_unpack ((const char *) saved, size, &unpacked);
    if (rc == 0) {
        rc = self->domain->state_load (state, &unpacked.data);
        msgpack_unpacked_destroy (&unpacked);
    }
    free (saved);
    if (rc != 0) {
        zsys_warning ("write node: snapshot of '%s' does not load into domain '%s'; folding "
                      "its events from the first",
                      entry->stream, self->domain->name);
        s_state_destroy (self, state);
        return 0;
    }
    s_state_destroy (self, entry->aggregate.state);
    entry->aggregate.state = state;
    entry->aggregate.version = version;
    return 0;
}

//  Load a stream's state from the log into a new entry. Returns NULL on a
//  storage error or an undecodable event.
static s_entry_t *
s_load (zcq_aggregates_t *self, const char *stream)
{
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    assert (entry);
    entry->stream = strdup (stream);
    assert (entry->stream);
    entry->aggregate.stream = entry->stream;
    entry->aggregate.state = self->domain->state_new ? self->domain->state_new () : NULL;
    int rc = 0;
    if (self->domain->evolve) {
        rc = s_load_snapshot (self, entry);
        s_fold_t fold = {self, entry, 0};
        if (rc == 0) {
            int read = zcq_log_read_stream (self->log, stream, entry->aggregate.version + 1,
                                            s_fold, &fold);
            rc = read < 0 ? -1 : fold.rc;
        }
    }
    else {
        rc = zcq_log_stream_version (self->log, stream, &entry->aggregate.version);
    }
    //  Folding meets the tombstone (always the last event, never in a
    //  snapshot); a stateless domain folds nothing, so it reads the record
    uint64_t tombstone = 0;
    if (rc == 0 && !self->domain->evolve && entry->aggregate.version
        && zcq_log_stream_deleted (self->log, stream, &tombstone) < 0) {
        rc = -1;
    }
    entry->aggregate.deleted = entry->aggregate.deleted ? entry->aggregate.deleted : tombstone;
    if (rc != 0) {
        s_state_destroy (self, entry->aggregate.state);
        s_entry_destroy ((void **) &entry);
        return NULL;
    }
    entry->noted = entry->aggregate.version;
    return entry;
}

//  Make room for one more state: evict the least recently used one that
//  is not pinned. Pinned states sit near the end of the list (the write
//  node keeps the cache over twice its group size), so the walk is short;
//  if all are pinned the cache grows a little.
//  Drop an entry and its state.
static void
s_drop (zcq_aggregates_t *self, s_entry_t *entry)
{
    zhashx_delete (self->entries, entry->stream);
    s_state_destroy (self, entry->aggregate.state);
    zlistx_delete (self->lru, entry->handle);
}

static void
s_evict (zcq_aggregates_t *self)
{
    uint64_t head = zcq_log_head (self->log);
    s_entry_t *oldest = (s_entry_t *) zlistx_first (self->lru);
    while (oldest && oldest->staged > head) {
        oldest = (s_entry_t *) zlistx_next (self->lru);
    }
    if (oldest) {
        s_drop (self, oldest);
    }
}

//  A forgotten stream's state holds what its personal fields held, in
//  plain: once nothing staged pins it (its key is destroyed by then), it
//  is dropped, to be folded again from the log, where they read as nil.
//  Returns true if it was dropped.
static bool
s_drop_forgotten (zcq_aggregates_t *self, s_entry_t *entry)
{
    if (!entry->forgotten || entry->staged > zcq_log_head (self->log)) {
        return false;
    }
    s_drop (self, entry);
    return true;
}

const zcq_aggregate_t *
zcq_aggregates_get (zcq_aggregates_t *self, const char *stream)
{
    assert (self);
    assert (stream);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, stream);
    if (entry && !s_drop_forgotten (self, entry)) {
        zlistx_move_end (self->lru, entry->handle);
        return &entry->aggregate;
    }
    entry = s_load (self, stream);
    if (!entry) {
        return NULL;
    }
    if (zlistx_size (self->lru) >= self->size) {
        s_evict (self);
    }
    entry->handle = zlistx_add_end (self->lru, entry);
    zhashx_insert (self->entries, entry->stream, entry);
    return &entry->aggregate;
}

void
zcq_aggregates_evolve (zcq_aggregates_t *self, const zcq_aggregate_t *aggregate,
                       zcq_msg_t *event)
{
    assert (self);
    assert (aggregate);
    assert (event);
    //  The caller checked that the event's data is one map before staging
    //  it; should it not be, the version still moves on, as the log's did
    s_entry_t *entry = s_entry (aggregate);
    s_evolve (self, entry, event);
    //  Folded again from the log (after an eviction or a restart), its
    //  personal fields read as nil; until then no snapshot may store them
    entry->forgotten |= streq (zcq_msg_name (event), ZCQ_STREAM_FORGOTTEN);
}

//  Stage a snapshot of an entry if the events since the last note crossed
//  a multiple of the snapshot interval.
static void
s_snapshot (zcq_aggregates_t *self, s_entry_t *entry)
{
    if (!self->snapshot || !zcq_domain_has_snapshots (self->domain)
        || entry->noted / self->snapshot == entry->aggregate.version / self->snapshot) {
        return;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (self->domain->state_save (entry->aggregate.state, &packer) == 0
        && zcq_log_stage_state (self->log, entry->stream, entry->aggregate.version, buffer.data,
                                buffer.size)) {
        self->snapshots++;
    }
    msgpack_sbuffer_destroy (&buffer);
}

void
zcq_aggregates_staged (zcq_aggregates_t *self, const zcq_aggregate_t *aggregate)
{
    assert (self);
    assert (aggregate);
    s_entry_t *entry = s_entry (aggregate);
    entry->staged = zcq_log_staged_head (self->log);
    if (!entry->aggregate.deleted && !entry->forgotten) {
        s_snapshot (self, entry);
    }
    entry->noted = entry->aggregate.version;
}

void
zcq_aggregates_forgotten (zcq_aggregates_t *self, const char *stream)
{
    assert (self);
    assert (stream);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, stream);
    if (entry) {
        s_drop_forgotten (self, entry);
    }
}

void
zcq_aggregates_purge (zcq_aggregates_t *self)
{
    assert (self);
    s_states_destroy (self);
    zhashx_purge (self->entries);
    zlistx_purge (self->lru);
}

size_t
zcq_aggregates_size (zcq_aggregates_t *self)
{
    assert (self);
    return zlistx_size (self->lru);
}

uint64_t
zcq_aggregates_folded (zcq_aggregates_t *self)
{
    assert (self);
    return self->folded;
}

uint64_t
zcq_aggregates_snapshots (zcq_aggregates_t *self)
{
    assert (self);
    return self->snapshots;
}
