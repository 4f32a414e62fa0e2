/*  =========================================================================
    zcq_memstore - an ordered in-memory map (see zcq_memstore.h)

    A skip list: every entry is on level 0, a quarter of them also on level
    1, and so on, so a search visits about 2 entries a level over log4 (n)
    levels. Level 0 is also linked backwards for zcq_memstore_prev. An
    entry is one allocation (links, then key bytes) and its value another,
    which a put of a value that fits reuses.

    A hash index beside the list (open addressing, linear probing, at most
    3/4 full) finds an entry by its key without walking the list: reads
    and puts of keys that exist (a read model updated event after event)
    take one hash and mostly one key comparison; only new keys and deletes
    walk the list, for its order.
    =========================================================================
*/

#include "zcq_memstore.h"
#include "zcq_store.h" //  its be64 numbers

#include <unistd.h>

#define HEIGHT_MAX     16                    //  levels: 4^16 entries before searches slow down
#define ALLOC_COST     16                    //  bytes malloc keeps beside each allocation
#define SNAPSHOT_MAGIC "ZCQMEM1\n"           //  first 8 bytes of a snapshot file
#define DIGEST_SIZE    20                    //  SHA-1 at the end of a snapshot file
#define ENTRY_MAX      (64 * 1024 * 1024)    //  bytes of a key or value a snapshot may hold
#define SLOTS_MIN      64                    //  slots of the hash index at first
#define SLOT_COST      (3 * sizeof (void *)) //  an entry's share of the index: at most 8/3 slots

struct _zcq_memstore_entry_t {
    byte *value;                   //  value bytes (one allocation)
    size_t size;                   //  bytes in value
    size_t capacity;               //  bytes allocated for value
    zcq_memstore_entry_t *prev;    //  entry before on level 0, NULL for the first
    size_t key_size;               //  bytes of key, after the links
    uint64_t hash;                 //  of the key, for the hash index
    int height;                    //  levels the entry is on
    zcq_memstore_entry_t *next []; //  next entry on each level, then the key
};

struct _zcq_memstore_t {
    zcq_memstore_entry_t *head;   //  entry before the first, on every level, no key
    int height;                   //  levels in use
    size_t keys;                  //  entries held
    size_t bytes;                 //  bytes held, as s_cost counts them
    size_t limit;                 //  most bytes (0: no limit)
    uint32_t seed;                //  xorshift state for entry heights
    zcq_memstore_entry_t **slots; //  the hash index: entries or NULL
    size_t slot_count;            //  slots, a power of 2
};

static byte *
s_key (zcq_memstore_entry_t *entry)
{
    return (byte *) (entry->next + entry->height);
}

//  Bytes an entry costs besides its value's capacity.
static size_t
s_cost (int height, size_t key_size)
{
    return sizeof (zcq_memstore_entry_t) + (size_t) height * sizeof (void *) + key_size
           + 2 * ALLOC_COST + SLOT_COST;
}

//  FNV-1a of the key bytes.
static uint64_t
s_hash (const void *key, size_t key_size)
{
    const byte *bytes = (const byte *) key;
    uint64_t hash = 14695981039346656037ull;
    for (size_t index = 0; index < key_size; index++) {
        hash = (hash ^ bytes [index]) * 1099511628211ull;
    }
    return hash;
}

//  The slot of key in the index: its entry's, or the empty one where it
//  would go.
static size_t
s_slot (zcq_memstore_t *self, const void *key, size_t key_size, uint64_t hash)
{
    size_t mask = self->slot_count - 1;
    size_t slot = (size_t) hash & mask;
    zcq_memstore_entry_t *entry;
    while ((entry = self->slots [slot])
           && (entry->hash != hash || entry->key_size != key_size
               || (key_size && memcmp (s_key (entry), key, key_size) != 0))) {
        slot = (slot + 1) & mask;
    }
    return slot;
}

//  Put a new entry into the index, which grows to stay at most 3/4 full.
static void
s_index_add (zcq_memstore_t *self, zcq_memstore_entry_t *entry)
{
    if ((self->keys + 1) * 4 > self->slot_count * 3) {
        size_t count = self->slot_count ? 2 * self->slot_count : SLOTS_MIN;
        free (self->slots);
        self->slots = (zcq_memstore_entry_t **) calloc (count, sizeof (zcq_memstore_entry_t *));
        assert (self->slots);
        self->slot_count = count;
        for (zcq_memstore_entry_t *at = self->head->next [0]; at; at = at->next [0]) {
            self->slots [s_slot (self, s_key (at), at->key_size, at->hash)] = at;
        }
    }
    self->slots [s_slot (self, s_key (entry), entry->key_size, entry->hash)] = entry;
}

//  Take an entry out of the index, moving back the ones after it that
//  would no longer be found (linear probing keeps no tombstones).
static void
s_index_remove (zcq_memstore_t *self, zcq_memstore_entry_t *entry)
{
    size_t mask = self->slot_count - 1;
    size_t hole = s_slot (self, s_key (entry), entry->key_size, entry->hash);
    assert (self->slots [hole] == entry);
    self->slots [hole] = NULL;
    for (size_t slot = (hole + 1) & mask; self->slots [slot]; slot = (slot + 1) & mask) {
        size_t home = (size_t) self->slots [slot]->hash & mask;
        //  Move it into the hole unless its home lies after the hole, up to it
        bool stays =
            hole <= slot ? (home > hole && home <= slot) : (home > hole || home <= slot);
        if (!stays) {
            self->slots [hole] = self->slots [slot];
            self->slots [slot] = NULL;
            hole = slot;
        }
    }
}

//  The entry of exactly key, through the index, or NULL.
static zcq_memstore_entry_t *
s_get (zcq_memstore_t *self, const void *key, size_t key_size)
{
    if (self->slot_count == 0) {
        return NULL;
    }
    return self->slots [s_slot (self, key, key_size, s_hash (key, key_size))];
}

static zcq_memstore_entry_t *
s_entry_new (int height, const void *key, size_t key_size)
{
    zcq_memstore_entry_t *entry = (zcq_memstore_entry_t *) zmalloc (
        sizeof (zcq_memstore_entry_t) + (size_t) height * sizeof (void *) + key_size);
    assert (entry);
    entry->height = height;
    entry->key_size = key_size;
    if (key_size) {
        memcpy (s_key (entry), key, key_size);
    }
    return entry;
}

zcq_memstore_t *
zcq_memstore_new (size_t limit)
{
    zcq_memstore_t *self = (zcq_memstore_t *) zmalloc (sizeof (zcq_memstore_t));
    assert (self);
    self->head = s_entry_new (HEIGHT_MAX, NULL, 0);
    self->height = 1;
    self->limit = limit;
    self->seed = 2463534242u;
    return self;
}

void
zcq_memstore_destroy (zcq_memstore_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_memstore_t *self = *self_p;
        zcq_memstore_entry_t *entry = self->head;
        while (entry) {
            zcq_memstore_entry_t *next = entry->next [0];
            free (entry->value);
            free (entry);
            entry = next;
        }
        free (self->slots);
        free (self);
        *self_p = NULL;
    }
}

//  Bytewise order, a prefix first: LevelDB's default comparator.
static int
s_compare (zcq_memstore_entry_t *entry, const void *key, size_t key_size)
{
    size_t common = entry->key_size < key_size ? entry->key_size : key_size;
    int rc = common ? memcmp (s_key (entry), key, common) : 0;
    if (rc == 0) {
        rc = entry->key_size < key_size ? -1 : entry->key_size > key_size ? 1 : 0;
    }
    return rc;
}

//  The last entry before key on each level into before (if not NULL), and
//  the first entry >= key, or NULL.
static zcq_memstore_entry_t *
s_find (zcq_memstore_t *self, const void *key, size_t key_size, zcq_memstore_entry_t **before)
{
    zcq_memstore_entry_t *at = self->head;
    for (int level = self->height - 1; level >= 0; level--) {
        while (at->next [level] && s_compare (at->next [level], key, key_size) < 0) {
            at = at->next [level];
        }
        if (before) {
            before [level] = at;
        }
    }
    return at->next [0];
}

const byte *
zcq_memstore_get (zcq_memstore_t *self, const void *key, size_t key_size, size_t *size)
{
    assert (self);
    assert (size);
    zcq_memstore_entry_t *entry = s_get (self, key, key_size);
    *size = entry ? entry->size : 0;
    return entry ? (entry->value ? entry->value : (const byte *) "") : NULL;
}

//  A height of 1 with chance 3/4, 2 with 3/16, ...
static int
s_height (zcq_memstore_t *self)
{
    uint32_t bits = self->seed;
    bits ^= bits << 13;
    bits ^= bits >> 17;
    bits ^= bits << 5;
    self->seed = bits;
    int height = 1;
    while (height < HEIGHT_MAX && (bits & 3) == 0) {
        height++;
        bits >>= 2;
    }
    return height;
}

//  Set an entry's value to a copy of value; returns the change in bytes held.
static ptrdiff_t
s_set_value (zcq_memstore_entry_t *entry, const void *value, size_t size)
{
    ptrdiff_t delta = 0;
    if (size > entry->capacity) {
        free (entry->value);
        entry->value = (byte *) malloc (size);
        assert (entry->value);
        delta = (ptrdiff_t) size - (ptrdiff_t) entry->capacity;
        entry->capacity = size;
    }
    if (size) {
        memcpy (entry->value, value, size);
    }
    entry->size = size;
    return delta;
}

static void
s_put (zcq_memstore_t *self, const void *key, size_t key_size, const void *value, size_t size)
{
    zcq_memstore_entry_t *entry = s_get (self, key, key_size);
    if (entry) {
        self->bytes += s_set_value (entry, value, size);
        return;
    }
    zcq_memstore_entry_t *before [HEIGHT_MAX];
    s_find (self, key, key_size, before);
    int height = s_height (self);
    for (int level = self->height; level < height; level++) {
        before [level] = self->head;
    }
    if (height > self->height) {
        self->height = height;
    }
    entry = s_entry_new (height, key, key_size);
    entry->hash = s_hash (key, key_size);
    for (int level = 0; level < height; level++) {
        entry->next [level] = before [level]->next [level];
        before [level]->next [level] = entry;
    }
    entry->prev = before [0] == self->head ? NULL : before [0];
    if (entry->next [0]) {
        entry->next [0]->prev = entry;
    }
    self->bytes += s_cost (height, key_size) + s_set_value (entry, value, size);
    s_index_add (self, entry);
    self->keys++;
}

static void
s_delete (zcq_memstore_t *self, const void *key, size_t key_size)
{
    zcq_memstore_entry_t *entry = s_get (self, key, key_size);
    if (!entry) {
        return;
    }
    zcq_memstore_entry_t *before [HEIGHT_MAX];
    s_find (self, key, key_size, before);
    s_index_remove (self, entry);
    for (int level = 0; level < entry->height; level++) {
        before [level]->next [level] = entry->next [level];
    }
    if (entry->next [0]) {
        entry->next [0]->prev = entry->prev;
    }
    while (self->height > 1 && !self->head->next [self->height - 1]) {
        self->height--;
    }
    self->bytes -= s_cost (entry->height, key_size) + entry->capacity;
    self->keys--;
    free (entry->value);
    free (entry);
}

//  Bytes held after changes, as far as can be told before applying them:
//  a put of a key that the changes themselves add twice is counted twice,
//  which errs on the side of the limit.
static size_t
s_bytes_after (zcq_memstore_t *self, const zcq_memstore_change_t *changes, size_t count)
{
    ptrdiff_t delta = 0;
    for (size_t index = 0; index < count; index++) {
        const zcq_memstore_change_t *change = &changes [index];
        zcq_memstore_entry_t *entry = s_get (self, change->key, change->key_size);
        if (change->value && entry) {
            delta += change->size > entry->capacity
                         ? (ptrdiff_t) change->size - (ptrdiff_t) entry->capacity
                         : 0;
        }
        else if (change->value) {
            //  An average height: 4/3 levels
            delta += (ptrdiff_t) (s_cost (1, change->key_size) + change->size);
        }
        else if (entry) {
            delta -= (ptrdiff_t) (s_cost (entry->height, entry->key_size) + entry->capacity);
        }
    }
    return delta < 0 && (size_t) -delta > self->bytes ? 0 : self->bytes + (size_t) delta;
}

int
zcq_memstore_write (zcq_memstore_t *self, const zcq_memstore_change_t *changes, size_t count)
{
    assert (self);
    assert (changes || count == 0);
    if (self->limit && s_bytes_after (self, changes, count) > self->limit) {
        return -1;
    }
    for (size_t index = 0; index < count; index++) {
        const zcq_memstore_change_t *change = &changes [index];
        if (change->value) {
            s_put (self, change->key, change->key_size, change->value, change->size);
        }
        else {
            s_delete (self, change->key, change->key_size);
        }
    }
    return 0;
}

size_t
zcq_memstore_bytes (zcq_memstore_t *self)
{
    assert (self);
    return self->bytes;
}

size_t
zcq_memstore_limit (zcq_memstore_t *self)
{
    assert (self);
    return self->limit;
}

size_t
zcq_memstore_keys (zcq_memstore_t *self)
{
    assert (self);
    return self->keys;
}

zcq_memstore_entry_t *
zcq_memstore_seek (zcq_memstore_t *self, const void *key, size_t key_size)
{
    assert (self);
    return s_find (self, key, key_size, NULL);
}

zcq_memstore_entry_t *
zcq_memstore_last (zcq_memstore_t *self)
{
    assert (self);
    zcq_memstore_entry_t *at = self->head;
    for (int level = self->height - 1; level >= 0; level--) {
        while (at->next [level]) {
            at = at->next [level];
        }
    }
    return at == self->head ? NULL : at;
}

zcq_memstore_entry_t *
zcq_memstore_next (zcq_memstore_entry_t *entry)
{
    assert (entry);
    return entry->next [0];
}

zcq_memstore_entry_t *
zcq_memstore_prev (zcq_memstore_entry_t *entry)
{
    assert (entry);
    return entry->prev;
}

const byte *
zcq_memstore_entry_key (zcq_memstore_entry_t *entry, size_t *size)
{
    assert (entry);
    *size = entry->key_size;
    return s_key (entry);
}

const byte *
zcq_memstore_entry_value (zcq_memstore_entry_t *entry, size_t *size)
{
    assert (entry);
    *size = entry->size;
    return entry->value ? entry->value : (const byte *) "";
}

//  --- Snapshot files ---------------------------------------------------------

//  Write bytes to file and into the digest; false on a write error.
static bool
s_write (FILE *file, zdigest_t *digest, const void *data, size_t size)
{
    if (size == 0) {
        return true;
    }
    zdigest_update (digest, (byte *) data, size);
    return fwrite (data, 1, size, file) == size;
}

int
zcq_memstore_save (zcq_memstore_t *self, const char *path)
{
    assert (self);
    assert (path);
    char *temporary = zsys_sprintf ("%s.tmp", path);
    FILE *file = fopen (temporary, "wb");
    if (!file) {
        zstr_free (&temporary);
        return -1;
    }
    zdigest_t *digest = zdigest_new ();
    byte header [16];
    memcpy (header, SNAPSHOT_MAGIC, 8);
    zcq_store_put_be64 (header + 8, self->keys);
    bool ok = s_write (file, digest, header, sizeof (header));
    for (zcq_memstore_entry_t *entry = self->head->next [0]; ok && entry;
         entry = entry->next [0]) {
        byte sizes [16];
        zcq_store_put_be64 (sizes, entry->key_size);
        zcq_store_put_be64 (sizes + 8, entry->size);
        ok = s_write (file, digest, sizes, sizeof (sizes))
             && s_write (file, digest, s_key (entry), entry->key_size)
             && s_write (file, digest, entry->value, entry->size);
    }
    ok = ok && fwrite (zdigest_data (digest), 1, DIGEST_SIZE, file) == DIGEST_SIZE;
    ok = ok && fflush (file) == 0 && fsync (fileno (file)) == 0;
    int saved = errno;
    ok = fclose (file) == 0 && ok;
    ok = ok && rename (temporary, path) == 0;
    if (!ok) {
        saved = errno ? errno : saved;
        unlink (temporary);
        errno = saved;
    }
    zdigest_destroy (&digest);
    zstr_free (&temporary);
    return ok ? 0 : -1;
}

//  Read exactly size bytes into data and the digest; false if the file ends.
static bool
s_read (FILE *file, zdigest_t *digest, void *data, size_t size)
{
    if (size == 0) {
        return true;
    }
    if (fread (data, 1, size, file) != size) {
        return false;
    }
    zdigest_update (digest, (byte *) data, size);
    return true;
}

zcq_memstore_t *
zcq_memstore_load (const char *path, size_t limit, char **error)
{
    assert (path);
    assert (error);
    FILE *file = fopen (path, "rb");
    if (!file) {
        *error = zsys_sprintf ("cannot open snapshot '%s': %s", path, strerror (errno));
        return NULL;
    }
    zcq_memstore_t *self = zcq_memstore_new (limit);
    zdigest_t *digest = zdigest_new ();
    byte header [16], sizes [16], stored [DIGEST_SIZE];
    bool ok = s_read (file, digest, header, sizeof (header))
              && memcmp (header, SNAPSHOT_MAGIC, 8) == 0;
    uint64_t count = ok ? zcq_store_get_be64 (header + 8) : 0;
    byte *key = NULL, *value = NULL;
    for (uint64_t index = 0; ok && index < count; index++) {
        ok = s_read (file, digest, sizes, sizeof (sizes));
        uint64_t key_size = ok ? zcq_store_get_be64 (sizes) : 0;
        uint64_t size = ok ? zcq_store_get_be64 (sizes + 8) : 0;
        //  No size a damaged file claims is allocated: an entry is at most
        //  what a store batch can hold
        ok = ok && key_size <= ENTRY_MAX && size <= ENTRY_MAX;
        byte *bigger = ok ? (byte *) realloc (key, key_size + 1) : NULL;
        key = bigger ? bigger : key;
        ok = ok && bigger;
        bigger = ok ? (byte *) realloc (value, size + 1) : NULL;
        value = bigger ? bigger : value;
        ok = ok && bigger && s_read (file, digest, key, key_size)
             && s_read (file, digest, value, size);
        if (ok) {
            //  Entries come in key order: each goes after the last one
            s_put (self, key, key_size, value, size);
        }
    }
    ok = ok && fread (stored, 1, DIGEST_SIZE, file) == DIGEST_SIZE
         && memcmp (stored, zdigest_data (digest), DIGEST_SIZE) == 0 && fgetc (file) == EOF
         && self->keys == count;
    free (key);
    free (value);
    zdigest_destroy (&digest);
    fclose (file);
    if (!ok) {
        *error = zsys_sprintf ("snapshot '%s' is not a whole, intact snapshot", path);
        zcq_memstore_destroy (&self);
    }
    return self;
}
