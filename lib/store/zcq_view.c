/*  =========================================================================
    zcq_view - a domain's handle on its read models (see zcq_view.h)

    Read-model keys live under "r:" (or another keyspace prefix) in the
    query node's store, apart from the node's own keys. One table holds
    what the view knows of its keys, each entry in one of three states:
    pending (written since the last commit, so that several events
    projected into one batch see each other's writes), committing (in the
    caller's batch, until it says the batch is written or rolls it back)
    and stored (the cache: what the store holds, or that it holds nothing,
    bounded by cache_max). A key keeps its entry from state to state, so
    that an account touched batch after batch is hashed and allocated
    once, not at every put, commit and write. The view is the only writer
    of its keyspace, so stored entries stay true to the store.
    =========================================================================
*/

#include "zcq_view_store.h"

#define VIEW_PREFIX     "r:" //  default keyspace of the read models
#define VIEW_PREFIX_MAX 15   //  bytes of a keyspace prefix at most

typedef enum {
    S_STORED,     //  as the store holds it (a cache entry)
    S_PENDING,    //  changed since the last commit
    S_COMMITTING, //  in the caller's batch
} s_state_t;

typedef struct {
    s_state_t state; //  see above
    bool deleted;    //  true: absent (a delete); false: value holds it
    bool in_pending; //  listed in pending
    bool in_batch;   //  listed in committing
    byte *value;     //  value bytes, owned
    size_t size;     //  bytes in value
    size_t capacity; //  bytes allocated for value
    const char *key; //  the table's copy of the key (borrowed from it)
    //  Held (zcq_view_commit_more) and changed again before the held batch
    //  was written: the value the held batch is to write
    bool held_deleted;    //  true: it deletes the key
    byte *held;           //  else its bytes, owned
    size_t held_size;     //  bytes in held
    size_t held_capacity; //  bytes allocated for held
} s_entry_t;

//  Entries in the order they became pending or committing.
typedef struct {
    s_entry_t **entries; //  borrowed from the table
    size_t count;        //  entries listed
    size_t capacity;     //  slots allocated
} s_list_t;

struct _zcq_view_t {
    zcq_store_t *store;                //  read-model store (borrowed)
    char prefix [VIEW_PREFIX_MAX + 1]; //  keyspace prefix in the store
    size_t prefix_size;                //  bytes in prefix
    zhashx_t *entries;                 //  key -> s_entry_t, every state
    s_entry_t *recent [2];             //  entries last found or made in entries, or NULL
    size_t recent_next;                //  the slot of recent the next one takes
    s_list_t pending;                  //  entries pending, not yet committed
    s_list_t committing;               //  entries in the caller's batch
    size_t stored;                     //  entries stored (the cache's size)
    size_t cache_max;                  //  most stored entries (0: no cache)
    byte *peeked;                      //  a value zcq_view_peek read from the store, owned
    char *key;                         //  scratch store key, key_capacity bytes
    size_t key_capacity;               //  bytes allocated for key
    zhashx_t *touched;                 //  set: keys commits wrote, or NULL (borrowed)
    zlistx_t *reads;                   //  what reads asked for, or NULL (borrowed)
    zcq_view_unwritten_fn *unwritten;  //  called before iterating over an unwritten batch
    void *unwritten_arg;               //  its argument
};

static void
s_entry_destroy (void **item)
{
    s_entry_t *entry = (s_entry_t *) *item;
    if (entry) {
        free (entry->value);
        free (entry->held);
        free (entry);
        *item = NULL;
    }
}

static void
s_list_add (s_list_t *list, s_entry_t *entry)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 64;
        list->entries =
            (s_entry_t **) realloc (list->entries, list->capacity * sizeof (s_entry_t *));
        assert (list->entries);
    }
    list->entries [list->count++] = entry;
}

zcq_view_t *
zcq_view_new (zcq_store_t *store)
{
    return zcq_view_new_keyspace (store, VIEW_PREFIX);
}

zcq_view_t *
zcq_view_new_keyspace (zcq_store_t *store, const char *prefix)
{
    assert (store);
    assert (prefix && *prefix && strlen (prefix) <= VIEW_PREFIX_MAX);
    zcq_view_t *self = (zcq_view_t *) zmalloc (sizeof (zcq_view_t));
    assert (self);
    self->store = store;
    strcpy (self->prefix, prefix);
    self->prefix_size = strlen (prefix);
    self->entries = zhashx_new ();
    assert (self->entries);
    zhashx_set_destructor (self->entries, s_entry_destroy);
    return self;
}

const char *
zcq_view_keyspace (zcq_view_t *self)
{
    assert (self);
    return self->prefix;
}

//  Remember an entry found or made: a projection reads a key and then
//  writes it (an account, the totals), and each lookup in the table hashes
//  and compares the whole key.
static void
s_recent_keep (zcq_view_t *self, s_entry_t *entry)
{
    self->recent [self->recent_next] = entry;
    self->recent_next = (self->recent_next + 1) % 2;
}

//  Forget the recent entries: any entry may be leaving the table.
static void
s_recent_forget (zcq_view_t *self)
{
    self->recent [0] = self->recent [1] = NULL;
}

//  The entry for key in the table, or NULL.
static s_entry_t *
s_entry_find (zcq_view_t *self, const char *key)
{
    for (size_t slot = 0; slot < 2; slot++) {
        if (self->recent [slot] && streq (self->recent [slot]->key, key)) {
            return self->recent [slot];
        }
    }
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (entry) {
        s_recent_keep (self, entry);
    }
    return entry;
}

//  Forget every stored entry (the cache); pending and committing ones stay.
static void
s_drop_stored (zcq_view_t *self)
{
    if (self->stored == 0) {
        return;
    }
    s_recent_forget (self);
    if (self->pending.count == 0 && self->committing.count == 0) {
        zhashx_purge (self->entries);
    }
    else {
        zlistx_t *keys = zhashx_keys (self->entries);
        for (const char *key = (const char *) zlistx_first (keys); key;
             key = (const char *) zlistx_next (keys)) {
            s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, key);
            if (entry->state == S_STORED) {
                zhashx_delete (self->entries, key);
            }
        }
        zlistx_destroy (&keys);
    }
    self->stored = 0;
}

void
zcq_view_set_cache (zcq_view_t *self, size_t max)
{
    assert (self);
    self->cache_max = max;
    if (self->stored > max) {
        s_drop_stored (self);
    }
}

void
zcq_view_destroy (zcq_view_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_view_t *self = *self_p;
        zhashx_destroy (&self->entries);
        free (self->pending.entries);
        free (self->committing.entries);
        free (self->peeked);
        free (self->key);
        free (self);
        *self_p = NULL;
    }
}

//  Build the store key for a read-model key; caller frees.
static char *
s_store_key (zcq_view_t *self, const char *key, size_t *size)
{
    size_t length = strlen (key);
    char *full = (char *) malloc (self->prefix_size + length + 1);
    assert (full);
    memcpy (full, self->prefix, self->prefix_size);
    memcpy (full + self->prefix_size, key, length + 1);
    *size = self->prefix_size + length;
    return full;
}

//  The store key for a read-model key in the view's scratch (borrowed,
//  valid until the next call): no allocation per key read or committed.
static const char *
s_scratch_key (zcq_view_t *self, const char *key, size_t *size)
{
    size_t length = strlen (key);
    if (self->prefix_size + length + 1 > self->key_capacity) {
        self->key_capacity = 2 * (self->prefix_size + length + 1);
        free (self->key);
        self->key = (char *) malloc (self->key_capacity);
        assert (self->key);
        memcpy (self->key, self->prefix, self->prefix_size);
    }
    memcpy (self->key + self->prefix_size, key, length + 1);
    *size = self->prefix_size + length;
    return self->key;
}

//  A new entry for key in the table, absent and stored until told otherwise.
static s_entry_t *
s_entry_new (zcq_view_t *self, const char *key)
{
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    assert (entry);
    entry->deleted = true;
    int rc = zhashx_insert (self->entries, key, entry);
    assert (rc == 0);
    entry->key = (const char *) zhashx_cursor (self->entries);
    s_recent_keep (self, entry);
    return entry;
}

//  Make room for one more stored entry: the cache is emptied when full.
static void
s_room_for_stored (zcq_view_t *self)
{
    if (self->stored >= self->cache_max) {
        s_drop_stored (self);
    }
}

//  Set an entry's value (a copy of size bytes; NULL: deleted), reusing its
//  buffer when the value fits.
static void
s_entry_set (s_entry_t *entry, const void *value, size_t size)
{
    entry->deleted = value == NULL;
    entry->size = value ? size : 0;
    if (!value) {
        return;
    }
    if (size > entry->capacity || !entry->value) {
        free (entry->value);
        entry->capacity = size ? size : 1;
        entry->value = (byte *) malloc (entry->capacity);
        assert (entry->value);
    }
    if (size) {
        memcpy (entry->value, value, size);
    }
}

int
zcq_view_peek (zcq_view_t *self, const char *key, const byte **value, size_t *size)
{
    assert (self);
    assert (key);
    assert (value && size);
    if (self->reads) {
        zlistx_add_end (self->reads, zsys_sprintf ("=%s", key));
    }
    s_entry_t *entry = s_entry_find (self, key);
    if (entry) {
        *value = entry->deleted ? NULL : entry->value;
        *size = entry->deleted ? 0 : entry->size;
        return entry->deleted ? 1 : 0;
    }
    size_t key_size;
    const char *full = s_scratch_key (self, key, &key_size);
    //  The memory backend lends its bytes, and keeps no cache
    int rc = zcq_store_lend (self->store, full, key_size, value, size);
    if (rc != 2) {
        return rc;
    }
    free (self->peeked);
    self->peeked = NULL;
    rc = zcq_store_get (self->store, full, key_size, &self->peeked, size);
    *value = self->peeked;
    //  What the store holds (or lacks) is worth remembering: the cache
    //  then owns the value read
    if (rc >= 0 && self->cache_max) {
        s_room_for_stored (self);
        entry = s_entry_new (self, key);
        entry->deleted = rc == 1;
        entry->value = self->peeked;
        entry->size = rc == 0 ? *size : 0;
        entry->capacity = rc == 0 ? *size + 1 : 0;
        self->peeked = NULL;
        self->stored++;
    }
    return rc;
}

int
zcq_view_get (zcq_view_t *self, const char *key, byte **value, size_t *size)
{
    assert (self);
    assert (value && size);
    const byte *found = NULL;
    int rc = zcq_view_peek (self, key, &found, size);
    *value = NULL;
    if (rc == 0) {
        *value = (byte *) malloc (*size + 1);
        assert (*value);
        if (*size) {
            memcpy (*value, found, *size);
        }
        (*value) [*size] = 0;
    }
    return rc;
}

//  Keep an entry's value as the held batch is to write it.
static void
s_keep_held (s_entry_t *entry)
{
    entry->held_deleted = entry->deleted;
    entry->held_size = entry->deleted ? 0 : entry->size;
    if (entry->held_size > entry->held_capacity || !entry->held) {
        free (entry->held);
        entry->held_capacity = entry->held_size ? entry->held_size : 1;
        entry->held = (byte *) malloc (entry->held_capacity);
        assert (entry->held);
    }
    if (entry->held_size) {
        memcpy (entry->held, entry->value, entry->held_size);
    }
}

//  The entry of a key about to change: made pending (and listed) once.
static s_entry_t *
s_pending (zcq_view_t *self, const char *key)
{
    s_entry_t *entry = s_entry_find (self, key);
    if (!entry) {
        entry = s_entry_new (self, key);
        entry->state = S_PENDING;
    }
    else if (entry->state == S_STORED) {
        entry->state = S_PENDING;
        self->stored--;
    }
    else if (entry->state == S_COMMITTING) {
        //  Changed again before its batch was written: it stays listed as
        //  committing, and zcq_view_written leaves it pending. A held batch
        //  not yet filled keeps what it is to write (a scan may have it
        //  written before this change is folded)
        s_keep_held (entry);
        entry->state = S_PENDING;
    }
    if (!entry->in_pending) {
        s_list_add (&self->pending, entry);
        entry->in_pending = true;
    }
    return entry;
}

void
zcq_view_put (zcq_view_t *self, const char *key, const void *value, size_t size)
{
    assert (self);
    assert (key);
    //  A key put again (a total, an account touched by many events)
    //  reuses its entry and its buffer: no allocation per event
    s_entry_set (s_pending (self, key), value ? value : "", size);
}

void
zcq_view_delete (zcq_view_t *self, const char *key)
{
    assert (self);
    assert (key);
    s_entry_set (s_pending (self, key), NULL, 0);
}

void
zcq_view_set_unwritten (zcq_view_t *self, zcq_view_unwritten_fn *fn, void *arg)
{
    assert (self);
    self->unwritten = fn;
    self->unwritten_arg = arg;
}

//  Before iterating over the store: a batch committed and not yet written
//  is written first (or rolled back), so that the store holds what gets see.
static void
s_written_first (zcq_view_t *self)
{
    if (self->unwritten && self->committing.count > 0) {
        self->unwritten (self->unwritten_arg);
    }
}

int
zcq_view_scan (zcq_view_t *self, const char *prefix, const char *start, zcq_view_scan_fn *fn,
               void *arg)
{
    assert (self);
    assert (prefix);
    assert (fn);
    s_written_first (self);
    if (self->reads) {
        zlistx_add_end (self->reads, zsys_sprintf ("*%s", prefix));
    }
    size_t prefix_size;
    char *full_prefix = s_store_key (self, prefix, &prefix_size);
    size_t start_size = prefix_size;
    char *full_start = start ? s_store_key (self, start, &start_size) : NULL;

    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    int visited = 0;
    if (!iter) {
        visited = -1;
    }
    else {
        if (full_start && strcmp (full_start, full_prefix) > 0) {
            zcq_iter_seek (iter, full_start, start_size);
        }
        else {
            zcq_iter_seek (iter, full_prefix, prefix_size);
        }
        while (zcq_iter_has_prefix (iter, full_prefix, prefix_size)) {
            size_t key_size, value_size;
            const byte *key = zcq_iter_key (iter, &key_size);
            const byte *value = zcq_iter_value (iter, &value_size);
            size_t name_size = key_size - self->prefix_size;
            char *name = (char *) malloc (name_size + 1);
            assert (name);
            memcpy (name, key + self->prefix_size, name_size);
            name [name_size] = 0;
            int stop = fn (name, value, value_size, arg);
            free (name);
            visited++;
            if (stop) {
                break;
            }
            zcq_iter_next (iter);
        }
        zcq_iter_destroy (&iter);
    }
    free (full_prefix);
    free (full_start);
    return visited;
}

//  Drop the entries of a list from the table, but those pending again
//  (listed there too) when keep_pending; empties the list.
static void
s_list_drop (zcq_view_t *self, s_list_t *list, bool keep_pending)
{
    s_recent_forget (self);
    for (size_t index = 0; index < list->count; index++) {
        s_entry_t *entry = list->entries [index];
        if (keep_pending && entry->in_pending) {
            entry->in_batch = false;
        }
        else {
            zhashx_delete (self->entries, entry->key);
        }
    }
    list->count = 0;
}

//  Put or delete an entry's key in batch.
static void
s_batch_entry (zcq_view_t *self, zcq_batch_t *batch, s_entry_t *entry, bool deleted,
               const byte *value, size_t size)
{
    size_t key_size;
    const char *full = s_scratch_key (self, entry->key, &key_size);
    if (deleted) {
        zcq_batch_delete (batch, full, key_size);
    }
    else {
        zcq_batch_put (batch, full, key_size, value, size);
    }
}

//  Move the pending entries into batch; more: into the held set instead
//  (the committing list, each entry once), which zcq_view_commit_held puts
//  into a batch when it is written.
static void
s_commit (zcq_view_t *self, zcq_batch_t *batch, bool more)
{
    if (!more) {
        //  A batch committed before and never said written nor rolled
        //  back: what it holds is not known to be stored
        s_list_drop (self, &self->committing, true);
    }
    for (size_t index = 0; index < self->pending.count; index++) {
        s_entry_t *entry = self->pending.entries [index];
        if (!more) {
            s_batch_entry (self, batch, entry, entry->deleted, entry->value, entry->size);
        }
        entry->state = S_COMMITTING;
        entry->in_pending = false;
        if (more && !entry->in_batch) {
            s_list_add (&self->committing, entry);
        }
        entry->in_batch = true;
        if (self->touched) {
            zhashx_insert (self->touched, entry->key, (void *) "");
        }
    }
    if (more) {
        self->pending.count = 0;
        return;
    }
    //  The pending list becomes the batch in flight
    s_list_t swap = self->committing;
    self->committing = self->pending;
    self->pending = swap;
}

void
zcq_view_commit (zcq_view_t *self, zcq_batch_t *batch)
{
    assert (self);
    assert (batch);
    s_commit (self, batch, false);
}

void
zcq_view_commit_more (zcq_view_t *self)
{
    assert (self);
    s_commit (self, NULL, true);
}

void
zcq_view_commit_held (zcq_view_t *self, zcq_batch_t *batch)
{
    assert (self);
    assert (batch);
    for (size_t index = 0; index < self->committing.count; index++) {
        s_entry_t *entry = self->committing.entries [index];
        if (entry->state == S_COMMITTING) {
            s_batch_entry (self, batch, entry, entry->deleted, entry->value, entry->size);
        }
        else {
            s_batch_entry (self, batch, entry, entry->held_deleted, entry->held,
                           entry->held_size);
        }
    }
}

void
zcq_view_written (zcq_view_t *self)
{
    assert (self);
    if (self->cache_max == 0 || self->committing.count > self->cache_max) {
        s_list_drop (self, &self->committing, true);
        return;
    }
    if (self->stored + self->committing.count > self->cache_max) {
        s_drop_stored (self);
    }
    //  Each entry of the batch is now what the store holds, unless it was
    //  changed again since (then it stays pending)
    for (size_t index = 0; index < self->committing.count; index++) {
        s_entry_t *entry = self->committing.entries [index];
        entry->in_batch = false;
        if (entry->state == S_COMMITTING) {
            entry->state = S_STORED;
            self->stored++;
        }
    }
    self->committing.count = 0;
}

void
zcq_view_rollback (zcq_view_t *self)
{
    assert (self);
    //  Entries pending and committing both: dropped once, from the pending
    //  list (the committing one forgets them first)
    s_recent_forget (self);
    for (size_t index = 0; index < self->committing.count; index++) {
        s_entry_t *entry = self->committing.entries [index];
        entry->in_batch = false;
        if (!entry->in_pending) {
            zhashx_delete (self->entries, entry->key);
        }
    }
    self->committing.count = 0;
    s_list_drop (self, &self->pending, false);
}

void
zcq_view_track (zcq_view_t *self, zhashx_t *touched)
{
    assert (self);
    self->touched = touched;
}

void
zcq_view_record (zcq_view_t *self, zlistx_t *reads)
{
    assert (self);
    self->reads = reads;
}

bool
zcq_view_reads_touched (zlistx_t *reads, zhashx_t *touched)
{
    assert (reads);
    assert (touched);
    for (const char *read = (const char *) zlistx_first (reads); read;
         read = (const char *) zlistx_next (reads)) {
        if (*read == '=' && zhashx_lookup (touched, read + 1)) {
            return true;
        }
        if (*read == '*') {
            size_t size = strlen (read + 1);
            for (void *item = zhashx_first (touched); item; item = zhashx_next (touched)) {
                if (strncmp ((const char *) zhashx_cursor (touched), read + 1, size) == 0) {
                    return true;
                }
            }
        }
    }
    return false;
}

size_t
zcq_view_pending (zcq_view_t *self)
{
    assert (self);
    return self->pending.count;
}

size_t
zcq_view_cached (zcq_view_t *self)
{
    assert (self);
    return self->stored;
}

//  Feed one length-prefixed field into the digest.
static void
s_digest_field (zdigest_t *digest, const byte *data, size_t size)
{
    byte length [4] = {(byte) (size >> 24), (byte) (size >> 16), (byte) (size >> 8),
                       (byte) size};
    zdigest_update (digest, length, 4);
    if (size) {
        zdigest_update (digest, (byte *) data, size);
    }
}

int
zcq_view_checksum (zcq_view_t *self, char hex [41], uint64_t *keys)
{
    assert (self);
    assert (keys);
    s_written_first (self);
    zcq_iter_t *iter = zcq_iter_new (self->store, true);
    if (!iter) {
        return -1;
    }
    zdigest_t *digest = zdigest_new ();
    assert (digest);
    *keys = 0;
    zcq_iter_seek (iter, self->prefix, self->prefix_size);
    while (zcq_iter_has_prefix (iter, self->prefix, self->prefix_size)) {
        size_t key_size, value_size;
        const byte *key = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &value_size);
        s_digest_field (digest, key + self->prefix_size, key_size - self->prefix_size);
        s_digest_field (digest, value, value_size);
        (*keys)++;
        zcq_iter_next (iter);
    }
    snprintf (hex, 41, "%s", zdigest_string (digest));
    zdigest_destroy (&digest);
    zcq_iter_destroy (&iter);
    return 0;
}

int
zcq_view_clear (zcq_view_t *self, size_t max)
{
    assert (self);
    s_drop_stored (self);
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return -1;
    }
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_iter_seek (iter, self->prefix, self->prefix_size);
    while (zcq_batch_size (batch) < max
           && zcq_iter_has_prefix (iter, self->prefix, self->prefix_size)) {
        size_t key_size;
        const byte *key = zcq_iter_key (iter, &key_size);
        zcq_batch_delete (batch, key, key_size);
        zcq_iter_next (iter);
    }
    zcq_iter_destroy (&iter);
    int deleted = (int) zcq_batch_size (batch);
    if (deleted && zcq_store_write (self->store, batch, false) != 0) {
        deleted = -1;
    }
    zcq_batch_destroy (&batch);
    return deleted;
}
