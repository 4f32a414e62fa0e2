/*  =========================================================================
    zcq_view - a domain's handle on its read models (see zcq_view.h)

    Read-model keys live under "r:" (or another keyspace prefix) in the
    query node's LevelDB, apart from the node's own keys. Pending writes sit
    in an overlay (key -> change) so that several events projected into one
    batch see each other's writes. A commit moves the overlay aside until
    the caller says the batch is written; only then do its values enter the
    cache, which also remembers what reads found (or did not find) in the
    store. The view is the only writer of its keyspace, so the cache stays
    true to the store.
    =========================================================================
*/

#include "zcq_view_store.h"

#define VIEW_PREFIX     "r:" //  default keyspace of the read models
#define VIEW_PREFIX_MAX 15   //  bytes of a keyspace prefix at most

typedef struct {
    bool deleted;    //  true: a delete; false: a put
    byte *value;     //  value of a put
    size_t size;     //  bytes in value
    size_t capacity; //  bytes allocated for value
} s_change_t;

struct _zcq_view_t {
    zcq_store_t *store;                //  read-model store (borrowed)
    char prefix [VIEW_PREFIX_MAX + 1]; //  keyspace prefix in the store
    size_t prefix_size;                //  bytes in prefix
    zhashx_t *overlay;                 //  key -> s_change_t, not yet committed
    zhashx_t *committing;              //  key -> s_change_t, in the caller's batch
    zhashx_t *cache;                   //  key -> s_change_t, as stored
    size_t cache_max;                  //  most entries in cache (0: no cache)
    zhashx_t *touched;                 //  set: keys commits wrote, or NULL (borrowed)
    zlistx_t *reads;                   //  what reads asked for, or NULL (borrowed)
};

static void
s_change_destroy (void **item)
{
    s_change_t *change = (s_change_t *) *item;
    if (change) {
        free (change->value);
        free (change);
        *item = NULL;
    }
}

static zhashx_t *
s_changes_new (void)
{
    zhashx_t *changes = zhashx_new ();
    assert (changes);
    zhashx_set_destructor (changes, s_change_destroy);
    return changes;
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
    self->overlay = s_changes_new ();
    self->committing = s_changes_new ();
    self->cache = s_changes_new ();
    return self;
}

const char *
zcq_view_keyspace (zcq_view_t *self)
{
    assert (self);
    return self->prefix;
}

void
zcq_view_set_cache (zcq_view_t *self, size_t max)
{
    assert (self);
    self->cache_max = max;
    if (max == 0) {
        zhashx_purge (self->cache);
    }
}

void
zcq_view_destroy (zcq_view_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_view_t *self = *self_p;
        zhashx_destroy (&self->overlay);
        zhashx_destroy (&self->committing);
        zhashx_destroy (&self->cache);
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

//  A new change: a put of a copy of value, or a delete when value is NULL.
static s_change_t *
s_change_new (const void *value, size_t size)
{
    s_change_t *change = (s_change_t *) zmalloc (sizeof (s_change_t));
    assert (change);
    change->deleted = value == NULL;
    if (value) {
        change->capacity = size ? size : 1;
        change->value = (byte *) malloc (change->capacity);
        assert (change->value);
        if (size) {
            memcpy (change->value, value, size);
        }
        change->size = size;
    }
    return change;
}

//  Remember a value as stored (a cache insert; the cache is emptied when full).
static void
s_cache_put (zcq_view_t *self, const char *key, s_change_t *change)
{
    if (zhashx_size (self->cache) >= self->cache_max) {
        zhashx_purge (self->cache);
    }
    zhashx_update (self->cache, key, change);
}

int
zcq_view_get (zcq_view_t *self, const char *key, byte **value, size_t *size)
{
    assert (self);
    assert (key);
    if (self->reads) {
        zlistx_add_end (self->reads, zsys_sprintf ("=%s", key));
    }
    s_change_t *change = (s_change_t *) zhashx_lookup (self->overlay, key);
    if (!change && self->cache_max) {
        change = (s_change_t *) zhashx_lookup (self->cache, key);
    }
    if (change) {
        if (change->deleted) {
            *value = NULL;
            *size = 0;
            return 1;
        }
        *value = (byte *) malloc (change->size + 1);
        assert (*value);
        memcpy (*value, change->value, change->size);
        (*value) [change->size] = 0;
        *size = change->size;
        return 0;
    }
    size_t key_size;
    char *full = s_store_key (self, key, &key_size);
    int rc = zcq_store_get (self->store, full, key_size, value, size);
    free (full);
    //  What the store holds (or lacks) is worth remembering, unless a batch
    //  that changes this key is still on its way to the store
    if (rc >= 0 && self->cache_max && !zhashx_lookup (self->committing, key)) {
        s_cache_put (self, key, s_change_new (rc == 0 ? *value : NULL, rc == 0 ? *size : 0));
    }
    return rc;
}

void
zcq_view_put (zcq_view_t *self, const char *key, const void *value, size_t size)
{
    assert (self);
    assert (key);
    //  A key put again in the same batch (a total, an account touched by
    //  many events) reuses its buffer: no allocation per event
    s_change_t *change = (s_change_t *) zhashx_lookup (self->overlay, key);
    if (change && !change->deleted && size <= change->capacity) {
        if (size) {
            memcpy (change->value, value, size);
        }
        change->size = size;
        return;
    }
    zhashx_update (self->overlay, key, s_change_new (value ? value : "", size));
}

void
zcq_view_delete (zcq_view_t *self, const char *key)
{
    assert (self);
    assert (key);
    zhashx_update (self->overlay, key, s_change_new (NULL, 0));
}

int
zcq_view_scan (zcq_view_t *self, const char *prefix, const char *start, zcq_view_scan_fn *fn,
               void *arg)
{
    assert (self);
    assert (prefix);
    assert (fn);
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

void
zcq_view_commit (zcq_view_t *self, zcq_batch_t *batch)
{
    assert (self);
    assert (batch);
    s_change_t *change = (s_change_t *) zhashx_first (self->overlay);
    while (change) {
        const char *key = (const char *) zhashx_cursor (self->overlay);
        size_t key_size;
        char *full = s_store_key (self, key, &key_size);
        if (change->deleted) {
            zcq_batch_delete (batch, full, key_size);
        }
        else {
            zcq_batch_put (batch, full, key_size, change->value, change->size);
        }
        free (full);
        zhashx_delete (self->cache, key);
        if (self->touched) {
            zhashx_insert (self->touched, key, (void *) "");
        }
        change = (s_change_t *) zhashx_next (self->overlay);
    }
    //  The overlay becomes the batch in flight; a fresh one buffers what follows
    zhashx_destroy (&self->committing);
    self->committing = self->overlay;
    self->overlay = s_changes_new ();
}

void
zcq_view_written (zcq_view_t *self)
{
    assert (self);
    if (self->cache_max) {
        //  Hand each change over to the cache: the batch no longer owns it
        zhashx_set_destructor (self->committing, NULL);
        s_change_t *change = (s_change_t *) zhashx_first (self->committing);
        while (change) {
            s_cache_put (self, (const char *) zhashx_cursor (self->committing), change);
            change = (s_change_t *) zhashx_next (self->committing);
        }
        zhashx_purge (self->committing);
        zhashx_set_destructor (self->committing, s_change_destroy);
    }
    else {
        zhashx_purge (self->committing);
    }
}

void
zcq_view_rollback (zcq_view_t *self)
{
    assert (self);
    zhashx_purge (self->overlay);
    zhashx_purge (self->committing);
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
    return zhashx_size (self->overlay);
}

size_t
zcq_view_cached (zcq_view_t *self)
{
    assert (self);
    return zhashx_size (self->cache);
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
    zhashx_purge (self->cache);
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
