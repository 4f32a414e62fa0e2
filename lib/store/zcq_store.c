/*  =========================================================================
    zcq_store - the only LevelDB user (see zcq_store.h)

    LevelDB's C API reports errors through a char ** that must be freed with
    leveldb_free; every call here turns that into -1 and one log line.
    =========================================================================
*/

#include "zcq_store.h"
#include "zcq_memstore.h"

#include <leveldb/c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

struct _zcq_store_t {
    leveldb_t *db;                       //  open database
    leveldb_options_t *options;          //  open options (cache, compression)
    leveldb_cache_t *cache;              //  block cache
    leveldb_filterpolicy_t *filter;      //  bloom filter: a miss rarely reads a block
    leveldb_readoptions_t *read;         //  default read options
    leveldb_writeoptions_t *write_sync;  //  writes that fdatasync
    leveldb_writeoptions_t *write_async; //  writes that reach the OS only
    char *path;                          //  folder, or the name of a memory store
    zcq_memstore_t *memory;              //  the memory backend, or NULL: LevelDB
    bool full;                           //  memory: the last write passed the limit
    //  A store is read from several threads and written from one (LevelDB
    //  allows both); the counters and fault seams are therefore atomic
    //  After a failed write LevelDB's log may end in a torn record, and
    //  LevelDB would append the next records after it; on the next open it
    //  drops the torn block, and with it those later records, which were
    //  acknowledged. So a failed write marks the handle broken, and the next
    //  write first closes and reopens it (recovery cuts the log at the tear,
    //  where nothing acknowledged follows). The lock keeps readers (gets,
    //  iterators, other threads) off the handle while it is swapped.
    pthread_rwlock_t lock;          //  readers: every use of db; writer: reopen
    atomic_bool broken;             //  a write failed: reopen before the next
    _Atomic int64_t next_reopen;    //  zclock_mono () of the next reopen try
    _Atomic int64_t next_complaint; //  zclock_mono () of the next "closed" log line
    atomic_int fail_writes;         //  fault seam: writes still to fail
    atomic_int write_delay;         //  fault seam: ms each write waits
    atomic_uint_fast64_t writes;    //  successful writes
    atomic_uint_fast64_t changes;   //  puts and deletes of the successful writes
};

struct _zcq_batch_t {
    leveldb_writebatch_t *batch; //  LevelDB batch
    size_t size;                 //  puts + deletes
};

struct _zcq_iter_t {
    zcq_store_t *store;                 //  store iterated (borrowed)
    zcq_memstore_entry_t *entry;        //  memory: the current entry, NULL past the end
    leveldb_iterator_t *iter;           //  LevelDB iterator
    const leveldb_snapshot_t *snapshot; //  fixed view, or NULL
    leveldb_readoptions_t *read;        //  read options with the snapshot
};

#define BLOCK_CACHE (32 * 1024 * 1024) //  bytes of LevelDB block cache

//  Log and free a LevelDB error; returns -1 if there was one.
static int
s_check (zcq_store_t *self, char **error, const char *operation)
{
    if (*error) {
        zsys_error ("store %s: %s failed: %s", self->path, operation, *error);
        leveldb_free (*error);
        *error = NULL;
        return -1;
    }
    return 0;
}

//  mkdir -p: create path and its missing parents. A folder that another
//  process creates at the same moment is not an error. Returns 0 or -1.
static int
s_make_folders (const char *path)
{
    if (*path == 0) {
        errno = ENOENT;
        return -1;
    }
    char *copy = strdup (path);
    assert (copy);
    int rc = 0;
    for (char *slash = copy + 1; rc == 0; slash++) {
        if (*slash == '/' || *slash == 0) {
            char saved = *slash;
            *slash = 0;
            if (mkdir (copy, 0755) != 0 && errno != EEXIST) {
                rc = -1;
            }
            *slash = saved;
            if (saved == 0) {
                break;
            }
        }
    }
    free (copy);
    return rc;
}

zcq_store_t *
zcq_store_new (const char *path)
{
    return zcq_store_open (path, NULL);
}

zcq_store_t *
zcq_store_open (const char *path, const zcq_store_options_t *tuning)
{
    assert (path);
    zcq_store_options_t defaults = {0};
    tuning = tuning ? tuning : &defaults;
    if (s_make_folders (path) != 0) {
        zsys_error ("store %s: cannot create folder: %s", path, strerror (errno));
        return NULL;
    }
    zcq_store_t *self = (zcq_store_t *) zmalloc (sizeof (zcq_store_t));
    assert (self);
    self->path = strdup (path);
    pthread_rwlock_init (&self->lock, NULL);
    self->options = leveldb_options_create ();
    self->cache =
        leveldb_cache_create_lru (tuning->cache_size ? tuning->cache_size : BLOCK_CACHE);
    leveldb_options_set_cache (self->options, self->cache);
    leveldb_options_set_create_if_missing (self->options, 1);
    leveldb_options_set_compression (self->options, tuning->uncompressed
                                                        ? leveldb_no_compression
                                                        : leveldb_snappy_compression);
    leveldb_options_set_write_buffer_size (
        self->options, tuning->write_buffer ? tuning->write_buffer : 16 * 1024 * 1024);
    if (tuning->file_size) {
        leveldb_options_set_max_file_size (self->options, tuning->file_size);
    }
    if (tuning->block_size) {
        leveldb_options_set_block_size (self->options, tuning->block_size);
    }
    //  Most lookups of a missing key (a read model not there yet) are then
    //  answered without reading a table block
    if (!tuning->no_filter) {
        self->filter = leveldb_filterpolicy_create_bloom (10);
        leveldb_options_set_filter_policy (self->options, self->filter);
    }
    self->read = leveldb_readoptions_create ();
    self->write_sync = leveldb_writeoptions_create ();
    leveldb_writeoptions_set_sync (self->write_sync, 1);
    self->write_async = leveldb_writeoptions_create ();
    leveldb_writeoptions_set_sync (self->write_async, 0);

    char *error = NULL;
    self->db = leveldb_open (self->options, path, &error);
    if (s_check (self, &error, "open")) {
        zcq_store_destroy (&self);
    }
    return self;
}

zcq_store_t *
zcq_store_new_memory (const char *name, size_t limit)
{
    assert (name);
    zcq_store_t *self = (zcq_store_t *) zmalloc (sizeof (zcq_store_t));
    assert (self);
    self->path = strdup (name);
    self->memory = zcq_memstore_new (limit);
    return self;
}

zcq_store_t *
zcq_store_load_memory (const char *name, size_t limit, const char *path, char **error)
{
    assert (name);
    zcq_memstore_t *memory = zcq_memstore_load (path, limit, error);
    if (!memory) {
        return NULL;
    }
    zcq_store_t *self = zcq_store_new_memory (name, limit);
    zcq_memstore_destroy (&self->memory);
    self->memory = memory;
    return self;
}

int
zcq_store_save_memory (zcq_store_t *self, const char *path)
{
    assert (self);
    assert (self->memory);
    if (zcq_memstore_save (self->memory, path) != 0) {
        zsys_error ("store %s: cannot write snapshot '%s': %s", self->path, path,
                    strerror (errno));
        return -1;
    }
    return 0;
}

void
zcq_store_destroy (zcq_store_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_store_t *self = *self_p;
        if (self->memory) {
            zcq_memstore_destroy (&self->memory);
            free (self->path);
            free (self);
            *self_p = NULL;
            return;
        }
        if (self->db) {
            leveldb_close (self->db);
        }
        leveldb_writeoptions_destroy (self->write_async);
        leveldb_writeoptions_destroy (self->write_sync);
        leveldb_readoptions_destroy (self->read);
        leveldb_options_destroy (self->options);
        leveldb_cache_destroy (self->cache);
        if (self->filter) {
            leveldb_filterpolicy_destroy (self->filter);
        }
        pthread_rwlock_destroy (&self->lock);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

const char *
zcq_store_path (zcq_store_t *self)
{
    assert (self);
    return self->path;
}

//  Close and reopen the database after a failed write (see the struct). Waits
//  up to 2 s for readers to let go; tries at most every 100 ms. Returns 0,
//  or -1 (the write is refused) if the handle cannot be swapped or the
//  folder cannot be opened (the disk may still be full).
static int
s_reopen (zcq_store_t *self)
{
    if (zclock_mono () < atomic_load (&self->next_reopen)) {
        return -1;
    }
    atomic_store (&self->next_reopen, zclock_mono () + 100);
    int64_t deadline = zclock_mono () + 2000;
    while (pthread_rwlock_trywrlock (&self->lock) != 0) {
        if (zclock_mono () > deadline) {
            zsys_error ("store %s: cannot reopen after a failed write: still in use",
                        self->path);
            return -1;
        }
        zclock_sleep (1);
    }
    if (self->db) {
        leveldb_close (self->db);
        self->db = NULL;
    }
    char *error = NULL;
    self->db = leveldb_open (self->options, self->path, &error);
    int rc = s_check (self, &error, "reopen after a failed write") ? -1 : 0;
    if (rc != 0) {
        self->db = NULL;
    }
    else {
        atomic_store (&self->broken, false);
        zsys_notice ("store %s: reopened after a failed write", self->path);
    }
    pthread_rwlock_unlock (&self->lock);
    return rc;
}

//  If the database is closed (a reopen failed: the disk may still be full),
//  try to open it again (at most every 100 ms). Returns true, after saying
//  so in the log at most once a second, if it is still closed.
static bool
s_down (zcq_store_t *self, const char *operation)
{
    pthread_rwlock_rdlock (&self->lock);
    bool closed = !self->db;
    pthread_rwlock_unlock (&self->lock);
    if (closed && s_reopen (self) == 0) {
        closed = false;
    }
    if (closed && zclock_mono () >= atomic_load (&self->next_complaint)) {
        atomic_store (&self->next_complaint, zclock_mono () + 1000);
        zsys_error ("store %s: %s refused: the store closed after a failed write and cannot "
                    "be reopened yet (disk full?)",
                    self->path, operation);
    }
    return closed;
}

//  A copy in our own allocation, so that callers free with free (), with a
//  NUL after it so that string values can be used as they are.
static byte *
s_copy (const byte *data, size_t size)
{
    byte *copy = (byte *) malloc (size + 1);
    assert (copy);
    memcpy (copy, data, size);
    copy [size] = 0;
    return copy;
}

int
zcq_store_lend (zcq_store_t *self, const void *key, size_t key_size, const byte **value,
                size_t *size)
{
    assert (self);
    assert (value && size);
    if (!self->memory) {
        return 2;
    }
    *value = zcq_memstore_get (self->memory, key, key_size, size);
    if (!*value) {
        *size = 0;
    }
    return *value ? 0 : 1;
}

int
zcq_store_get (zcq_store_t *self, const void *key, size_t key_size, byte **value, size_t *size)
{
    assert (self);
    assert (value && size);
    if (self->memory) {
        size_t length;
        const byte *found = zcq_memstore_get (self->memory, key, key_size, &length);
        *value = found ? s_copy (found, length) : NULL;
        *size = found ? length : 0;
        return found ? 0 : 1;
    }
    char *error = NULL;
    size_t length = 0;
    if (s_down (self, "get")) {
        return -1;
    }
    pthread_rwlock_rdlock (&self->lock);
    char *found = self->db ? leveldb_get (self->db, self->read, (const char *) key, key_size,
                                          &length, &error)
                           : NULL;
    bool down = !self->db;
    pthread_rwlock_unlock (&self->lock);
    if (down) {
        return -1;
    }
    if (s_check (self, &error, "get")) {
        return -1;
    }
    if (!found) {
        *value = NULL;
        *size = 0;
        return 1;
    }
    *value = s_copy ((const byte *) found, length);
    *size = length;
    leveldb_free (found);
    return 0;
}

//  Collect a batch's changes for the memory backend (they point into the
//  batch, which is not changed while they are applied).
typedef struct {
    zcq_memstore_change_t *changes; //  array of size entries
    size_t count;                   //  changes collected
} s_changes_t;

static void
s_collect_put (void *arg, const char *key, size_t key_size, const char *value, size_t size)
{
    s_changes_t *changes = (s_changes_t *) arg;
    changes->changes [changes->count++] =
        (zcq_memstore_change_t){key, key_size, value ? value : "", size};
}

static void
s_collect_delete (void *arg, const char *key, size_t key_size)
{
    s_changes_t *changes = (s_changes_t *) arg;
    changes->changes [changes->count++] = (zcq_memstore_change_t){key, key_size, NULL, 0};
}

//  Apply a batch to the memory backend, whole or not at all; a batch that
//  would pass the limit is refused, and said so once until one fits again.
static int
s_write_memory (zcq_store_t *self, zcq_batch_t *batch)
{
    s_changes_t changes = {NULL, 0};
    changes.changes = (zcq_memstore_change_t *) malloc ((batch->size ? batch->size : 1)
                                                        * sizeof (zcq_memstore_change_t));
    assert (changes.changes);
    leveldb_writebatch_iterate (batch->batch, &changes, s_collect_put, s_collect_delete);
    assert (changes.count == batch->size);
    int rc = zcq_memstore_write (self->memory, changes.changes, changes.count);
    free (changes.changes);
    if (rc != 0 && !self->full) {
        zsys_error ("store %s: write refused: the read models would pass the memory limit "
                    "of %zu bytes (they hold %zu bytes in %zu keys); raise the limit or use "
                    "LevelDB",
                    self->path, zcq_memstore_limit (self->memory),
                    zcq_memstore_bytes (self->memory), zcq_memstore_keys (self->memory));
    }
    else if (rc == 0 && self->full) {
        zsys_notice ("store %s: writes fit in the memory limit again", self->path);
    }
    self->full = rc != 0;
    if (rc == 0) {
        atomic_fetch_add (&self->writes, 1);
        atomic_fetch_add (&self->changes, batch->size);
    }
    return rc;
}

int
zcq_store_write (zcq_store_t *self, zcq_batch_t *batch, bool sync)
{
    assert (self);
    assert (batch);
    int delay = atomic_load (&self->write_delay);
    if (delay > 0) {
        zclock_sleep (delay);
    }
    int failing = atomic_load (&self->fail_writes);
    while (failing > 0
           && !atomic_compare_exchange_weak (&self->fail_writes, &failing, failing - 1)) {
    }
    if (failing > 0) {
        zsys_error ("store %s: write failed: injected fault", self->path);
        return -1;
    }
    if (self->memory) {
        return s_write_memory (self, batch);
    }
    if (atomic_load (&self->broken) && s_reopen (self) != 0) {
        s_down (self, "write");
        return -1;
    }
    char *error = NULL;
    pthread_rwlock_rdlock (&self->lock);
    leveldb_write (self->db, sync ? self->write_sync : self->write_async, batch->batch, &error);
    pthread_rwlock_unlock (&self->lock);
    if (s_check (self, &error, "write")) {
        atomic_store (&self->broken, true);
        return -1;
    }
    atomic_fetch_add (&self->writes, 1);
    atomic_fetch_add (&self->changes, batch->size);
    return 0;
}

void
zcq_store_fail_writes (zcq_store_t *self, int count)
{
    assert (self);
    atomic_store (&self->fail_writes, count);
}

void
zcq_store_delay_writes (zcq_store_t *self, int milliseconds)
{
    assert (self);
    atomic_store (&self->write_delay, milliseconds);
}

bool
zcq_store_memory (zcq_store_t *self, size_t *bytes, size_t *limit, bool *full)
{
    assert (self);
    if (self->memory) {
        *bytes = zcq_memstore_bytes (self->memory);
        *limit = zcq_memstore_limit (self->memory);
        *full = self->full;
    }
    return self->memory != NULL;
}

void
zcq_store_compact (zcq_store_t *self, const void *start, size_t start_size, const void *limit,
                   size_t limit_size)
{
    assert (self);
    if (self->memory || atomic_load (&self->broken)) {
        return; //  no files to compact, or a store that is down
    }
    pthread_rwlock_rdlock (&self->lock);
    leveldb_compact_range (self->db, (const char *) start, start ? start_size : 0,
                           (const char *) limit, limit ? limit_size : 0);
    pthread_rwlock_unlock (&self->lock);
}

uint64_t
zcq_store_writes (zcq_store_t *self)
{
    assert (self);
    return atomic_load (&self->writes);
}

uint64_t
zcq_store_changes (zcq_store_t *self)
{
    assert (self);
    return atomic_load (&self->changes);
}

//  --- Batches ----------------------------------------------------------------

zcq_batch_t *
zcq_batch_new (void)
{
    zcq_batch_t *self = (zcq_batch_t *) zmalloc (sizeof (zcq_batch_t));
    assert (self);
    self->batch = leveldb_writebatch_create ();
    return self;
}

void
zcq_batch_destroy (zcq_batch_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_batch_t *self = *self_p;
        leveldb_writebatch_destroy (self->batch);
        free (self);
        *self_p = NULL;
    }
}

void
zcq_batch_put (zcq_batch_t *self, const void *key, size_t key_size, const void *value,
               size_t value_size)
{
    assert (self);
    leveldb_writebatch_put (self->batch, (const char *) key, key_size, (const char *) value,
                            value_size);
    self->size++;
}

void
zcq_batch_delete (zcq_batch_t *self, const void *key, size_t key_size)
{
    assert (self);
    leveldb_writebatch_delete (self->batch, (const char *) key, key_size);
    self->size++;
}

void
zcq_batch_clear (zcq_batch_t *self)
{
    assert (self);
    leveldb_writebatch_clear (self->batch);
    self->size = 0;
}

size_t
zcq_batch_size (zcq_batch_t *self)
{
    assert (self);
    return self->size;
}

//  What zcq_batch_puts_prefix looks for, and whether it found it.
typedef struct {
    const char *prefix; //  the key's first bytes
    size_t size;        //  bytes of prefix
    bool found;         //  a put's key starts with them
} s_prefix_t;

static void
s_prefix_put (void *arg, const char *key, size_t key_size, const char *value, size_t value_size)
{
    (void) value;
    (void) value_size;
    s_prefix_t *look = (s_prefix_t *) arg;
    if (key_size >= look->size && memcmp (key, look->prefix, look->size) == 0) {
        look->found = true;
    }
}

static void
s_prefix_delete (void *arg, const char *key, size_t key_size)
{
    (void) arg;
    (void) key;
    (void) key_size;
}

bool
zcq_batch_puts_prefix (zcq_batch_t *self, const void *prefix, size_t size)
{
    assert (self);
    assert (prefix || size == 0);
    s_prefix_t look = {(const char *) prefix, size, false};
    leveldb_writebatch_iterate (self->batch, &look, s_prefix_put, s_prefix_delete);
    return look.found;
}

//  The bytes of one put or delete: tag (1 put, 0 delete), be32 key size,
//  key, and for a put be32 value size, value
#define BATCH_PUT    1
#define BATCH_DELETE 0

static void
s_encode_part (zchunk_t *chunk, const char *data, size_t size)
{
    byte length [4] = {(byte) (size >> 24), (byte) (size >> 16), (byte) (size >> 8),
                       (byte) size};
    zchunk_extend (chunk, length, 4);
    zchunk_extend (chunk, data, size);
}

static void
s_encode_put (void *arg, const char *key, size_t key_size, const char *value, size_t value_size)
{
    byte tag = BATCH_PUT;
    zchunk_extend ((zchunk_t *) arg, &tag, 1);
    s_encode_part ((zchunk_t *) arg, key, key_size);
    s_encode_part ((zchunk_t *) arg, value, value_size);
}

static void
s_encode_delete (void *arg, const char *key, size_t key_size)
{
    byte tag = BATCH_DELETE;
    zchunk_extend ((zchunk_t *) arg, &tag, 1);
    s_encode_part ((zchunk_t *) arg, key, key_size);
}

void
zcq_batch_encode (zcq_batch_t *self, zchunk_t *chunk)
{
    assert (self);
    assert (chunk);
    leveldb_writebatch_iterate (self->batch, chunk, s_encode_put, s_encode_delete);
}

//  Read one be32-sized part at *offset; returns its size, or -1 if it runs
//  past the end.
static int64_t
s_decode_part (const byte *data, size_t size, size_t *offset, const byte **part)
{
    if (size - *offset < 4) {
        return -1;
    }
    const byte *at = data + *offset;
    size_t length = ((size_t) at [0] << 24) | ((size_t) at [1] << 16) | ((size_t) at [2] << 8)
                    | (size_t) at [3];
    if (size - *offset - 4 < length) {
        return -1;
    }
    *part = at + 4;
    *offset += 4 + length;
    return (int64_t) length;
}

zcq_batch_t *
zcq_batch_decode (const byte *data, size_t size)
{
    assert (data || size == 0);
    zcq_batch_t *self = zcq_batch_new ();
    size_t offset = 0;
    while (offset < size) {
        byte tag = data [offset++];
        const byte *key = NULL, *value = NULL;
        int64_t key_size = s_decode_part (data, size, &offset, &key);
        int64_t value_size = 0;
        if (key_size >= 0 && tag == BATCH_PUT) {
            value_size = s_decode_part (data, size, &offset, &value);
        }
        if (key_size < 0 || value_size < 0 || (tag != BATCH_PUT && tag != BATCH_DELETE)) {
            zcq_batch_destroy (&self);
            return NULL;
        }
        if (tag == BATCH_PUT) {
            zcq_batch_put (self, key, (size_t) key_size, value, (size_t) value_size);
        }
        else {
            zcq_batch_delete (self, key, (size_t) key_size);
        }
    }
    return self;
}

//  --- Iterators --------------------------------------------------------------

zcq_iter_t *
zcq_iter_new (zcq_store_t *store, bool snapshot)
{
    assert (store);
    zcq_iter_t *self = (zcq_iter_t *) zmalloc (sizeof (zcq_iter_t));
    assert (self);
    if (store->memory) {
        //  One thread owns a memory store and writes nothing while it
        //  iterates, so every iterator sees a fixed view
        self->store = store;
        return self;
    }
    //  An iterator holds the store's read lock until it is destroyed
    if (s_down (store, "iterate")) {
        free (self);
        return NULL;
    }
    pthread_rwlock_rdlock (&store->lock);
    if (!store->db) {
        pthread_rwlock_unlock (&store->lock);
        free (self);
        return NULL;
    }
    self->store = store;
    self->read = leveldb_readoptions_create ();
    //  Long scans would evict the hot blocks that point reads need
    leveldb_readoptions_set_fill_cache (self->read, 0);
    if (snapshot) {
        self->snapshot = leveldb_create_snapshot (store->db);
        leveldb_readoptions_set_snapshot (self->read, self->snapshot);
    }
    self->iter = leveldb_create_iterator (store->db, self->read);
    return self;
}

void
zcq_iter_destroy (zcq_iter_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_iter_t *self = *self_p;
        if (self->store->memory) {
            free (self);
            *self_p = NULL;
            return;
        }
        char *error = NULL;
        leveldb_iter_get_error (self->iter, &error);
        s_check (self->store, &error, "iterate");
        leveldb_iter_destroy (self->iter);
        if (self->snapshot) {
            leveldb_release_snapshot (self->store->db, self->snapshot);
        }
        leveldb_readoptions_destroy (self->read);
        pthread_rwlock_unlock (&self->store->lock);
        free (self);
        *self_p = NULL;
    }
}

void
zcq_iter_seek (zcq_iter_t *self, const void *key, size_t key_size)
{
    assert (self);
    if (self->store->memory) {
        self->entry = zcq_memstore_seek (self->store->memory, key, key_size);
        return;
    }
    leveldb_iter_seek (self->iter, (const char *) key, key_size);
}

void
zcq_iter_seek_last (zcq_iter_t *self)
{
    assert (self);
    if (self->store->memory) {
        self->entry = zcq_memstore_last (self->store->memory);
        return;
    }
    leveldb_iter_seek_to_last (self->iter);
}

bool
zcq_iter_valid (zcq_iter_t *self)
{
    assert (self);
    if (self->store->memory) {
        return self->entry != NULL;
    }
    return leveldb_iter_valid (self->iter) != 0;
}

void
zcq_iter_next (zcq_iter_t *self)
{
    assert (self);
    if (self->store->memory) {
        self->entry = self->entry ? zcq_memstore_next (self->entry) : NULL;
        return;
    }
    leveldb_iter_next (self->iter);
}

void
zcq_iter_prev (zcq_iter_t *self)
{
    assert (self);
    if (self->store->memory) {
        self->entry = self->entry ? zcq_memstore_prev (self->entry) : NULL;
        return;
    }
    leveldb_iter_prev (self->iter);
}

const byte *
zcq_iter_key (zcq_iter_t *self, size_t *size)
{
    assert (self);
    if (self->store->memory) {
        return zcq_memstore_entry_key (self->entry, size);
    }
    return (const byte *) leveldb_iter_key (self->iter, size);
}

const byte *
zcq_iter_value (zcq_iter_t *self, size_t *size)
{
    assert (self);
    if (self->store->memory) {
        return zcq_memstore_entry_value (self->entry, size);
    }
    return (const byte *) leveldb_iter_value (self->iter, size);
}

bool
zcq_iter_has_prefix (zcq_iter_t *self, const void *prefix, size_t size)
{
    assert (self);
    if (!zcq_iter_valid (self)) {
        return false;
    }
    size_t key_size;
    const byte *key = zcq_iter_key (self, &key_size);
    return key_size >= size && memcmp (key, prefix, size) == 0;
}

void
zcq_store_put_be64 (byte *dest, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        dest [index] = (byte) (value & 0xff);
        value >>= 8;
    }
}

uint64_t
zcq_store_get_be64 (const byte *source)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++) {
        value = (value << 8) | source [index];
    }
    return value;
}

int
zcq_store_get_number (zcq_store_t *store, const void *key, size_t key_size, uint64_t *value)
{
    byte *found = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, key, key_size, &found, &size);
    *value = 0;
    if (rc == 0 && size == 8) {
        *value = zcq_store_get_be64 (found);
    }
    else if (rc == 0) {
        zsys_error ("store %s: key of %zu bytes holds %zu bytes, expected 8",
                    zcq_store_path (store), key_size, size);
        rc = -1;
    }
    free (found);
    return rc < 0 ? -1 : 0;
}
