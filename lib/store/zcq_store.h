/*  =========================================================================
    zcq_store - the only LevelDB user: open, get, batch, iterate, fault seam

    Every leveldb_* call in zcqrs lives in zcq_store.c. Errors from LevelDB
    become a -1 return and a log line that names the operation and the path;
    values come back as owned copies. Batches and iterators belong to this
    seam too, so they are declared here.
    =========================================================================
*/

#ifndef ZCQ_STORE_H_INCLUDED
#define ZCQ_STORE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_store_t zcq_store_t;
typedef struct _zcq_batch_t zcq_batch_t;
typedef struct _zcq_iter_t zcq_iter_t;

//  A store may be read and iterated from several threads at once; writes
//  come from one thread at a time.

//  How a store is tuned. Zero fields take the defaults of zcq_store_new.
typedef struct {
    bool uncompressed;    //  store blocks as they are (no snappy): less CPU, more disk
    bool no_filter;       //  no bloom filters in tables (the owner filters misses itself)
    size_t write_buffer;  //  bytes of memtable before a flush to a table (0: 16 MiB)
    size_t file_size;     //  bytes of a table file (0: LevelDB's 2 MiB)
    size_t block_size;    //  bytes of a table block (0: LevelDB's 4 KiB)
    size_t cache_size;    //  bytes of block cache (0: 32 MiB)
} zcq_store_options_t;

//  Open the LevelDB folder at path, creating it (and missing parents) if
//  needed. Returns NULL, after logging why, if it cannot be opened.
zcq_store_t *
    zcq_store_new (const char *path);

//  The same, tuned by options (NULL: as zcq_store_new).
zcq_store_t *
    zcq_store_open (const char *path, const zcq_store_options_t *options);

//  Create a store held in memory only (zcq_memstore.h), named name in log
//  lines, that may hold up to limit bytes (0: no limit); a write past it is
//  refused whole and logged. It belongs to one thread (no locks), and its
//  iterators see a fixed view because that thread writes nothing while one
//  is open; snapshot iterators are the same as plain ones.
zcq_store_t *
    zcq_store_new_memory (const char *name, size_t limit);

//  A memory store filled from the snapshot file at path (zcq_memstore.h).
//  Returns NULL with the reason in *error (caller frees) if there is no
//  whole, intact snapshot there.
zcq_store_t *
    zcq_store_load_memory (const char *name, size_t limit, const char *path, char **error);

//  Write a memory store's snapshot file at path, whole or not at all (the
//  file it replaces stays until the new one is complete and synced).
//  Returns 0, or -1 (logged).
int
    zcq_store_save_memory (zcq_store_t *self, const char *path);

//  Close the store; nulls the caller's pointer; safe on NULL.
void
    zcq_store_destroy (zcq_store_t **self_p);

//  Return the folder this store was opened on.
const char *
    zcq_store_path (zcq_store_t *self);

//  Read a key. Returns 0 and a copy of the value in *value (caller frees;
//  NUL-terminated for convenience, *size excludes the NUL), 1 if the key is
//  absent, -1 on a storage error (logged).
int
    zcq_store_get (zcq_store_t *self, const void *key, size_t key_size, byte **value,
                   size_t *size);

//  Read a key without copying it, where the backend can: the memory
//  backend lends its own bytes (*value borrowed until the next write to the
//  store, not NUL-terminated). Returns 0 with *value set, 1 if the key is
//  absent, or 2 if the backend cannot lend (LevelDB: use zcq_store_get).
int
    zcq_store_lend (zcq_store_t *self, const void *key, size_t key_size, const byte **value,
                    size_t *size);

//  Apply a batch atomically. With sync, returns only once the data is on
//  disk (fdatasync). Returns 0, or -1 on failure, when nothing was applied.
int
    zcq_store_write (zcq_store_t *self, zcq_batch_t *batch, bool sync);

//  Fault seam for tests: make the next `count` writes fail as a full or
//  broken disk would (nothing applied, -1 returned).
void
    zcq_store_fail_writes (zcq_store_t *self, int count);

//  Fault seam for tests: every write first waits this long, as a slow disk
//  would (0: no delay). Safe to call from any thread.
void
    zcq_store_delay_writes (zcq_store_t *self, int milliseconds);

//  True if the store is held in memory; then *bytes is what it holds, *limit
//  its limit (0: none) and *full whether its last write was refused for it.
bool
    zcq_store_memory (zcq_store_t *self, size_t *bytes, size_t *limit, bool *full);

//  Compact the keys from start to limit (inclusive; NULL: from the first,
//  to the last): the memtable and the write-ahead log are written out and
//  the tables holding the range are rewritten, so that values overwritten
//  or deleted there are gone from the files, not only from reads. Waits
//  until done (as long as the range is big).
void
    zcq_store_compact (zcq_store_t *self, const void *start, size_t start_size,
                       const void *limit, size_t limit_size);

//  Return the number of writes this store applied successfully.
uint64_t
    zcq_store_writes (zcq_store_t *self);

//  Return the number of puts and deletes those writes held (a key put
//  twice in one batch counts twice: LevelDB inserts both).
uint64_t
    zcq_store_changes (zcq_store_t *self);

//  Big-endian 64-bit numbers, as keys and values hold them (keys of numbers
//  then sort in numeric order).
void
    zcq_store_put_be64 (byte *dest, uint64_t value);
uint64_t
    zcq_store_get_be64 (const byte *source);

//  Read a key that holds a be64 number. Returns 0 with the number in *value
//  (0 when the key is absent), or -1 on a storage error or a value that is
//  not 8 bytes (logged).
int
    zcq_store_get_number (zcq_store_t *self, const void *key, size_t key_size,
                          uint64_t *value);

//  --- Batches: puts and deletes applied together by zcq_store_write ---------

//  Create an empty batch.
zcq_batch_t *
    zcq_batch_new (void);
//  Destroy a batch (unwritten changes are dropped); nulls the pointer.
void
    zcq_batch_destroy (zcq_batch_t **self_p);
//  Add a put (key and value are copied).
void
    zcq_batch_put (zcq_batch_t *self, const void *key, size_t key_size, const void *value,
                   size_t value_size);
//  Add a delete of key.
void
    zcq_batch_delete (zcq_batch_t *self, const void *key, size_t key_size);
//  Forget everything put so far.
void
    zcq_batch_clear (zcq_batch_t *self);
//  Number of puts and deletes in the batch.
size_t
    zcq_batch_size (zcq_batch_t *self);

//  True if the batch puts a key that starts with prefix (size bytes); its
//  deletes do not count.
bool
    zcq_batch_puts_prefix (zcq_batch_t *self, const void *prefix, size_t size);

//  Append the batch's puts and deletes, in order, to chunk as bytes that
//  zcq_batch_decode reads back (how a write group ships a batch).
void
    zcq_batch_encode (zcq_batch_t *self, zchunk_t *chunk);

//  A new batch from the bytes of zcq_batch_encode (caller destroys), or
//  NULL if they are damaged.
zcq_batch_t *
    zcq_batch_decode (const byte *data, size_t size);

//  --- Iterators: ordered reads; with a snapshot, a fixed view of the data ---

//  Create an iterator. With snapshot true it sees the store as it was now,
//  whatever is written later. Returns NULL on failure.
zcq_iter_t *
    zcq_iter_new (zcq_store_t *store, bool snapshot);
void
    zcq_iter_destroy (zcq_iter_t **self_p);
//  Position at the first key >= key.
void
    zcq_iter_seek (zcq_iter_t *self, const void *key, size_t key_size);
//  Position at the last key of the store.
void
    zcq_iter_seek_last (zcq_iter_t *self);
bool
    zcq_iter_valid (zcq_iter_t *self);
void
    zcq_iter_next (zcq_iter_t *self);
void
    zcq_iter_prev (zcq_iter_t *self);
//  Borrowed key and value at the current position (valid until next move).
const byte *
    zcq_iter_key (zcq_iter_t *self, size_t *size);
const byte *
    zcq_iter_value (zcq_iter_t *self, size_t *size);
//  True if the current key starts with prefix.
bool
    zcq_iter_has_prefix (zcq_iter_t *self, const void *prefix, size_t size);

#ifdef __cplusplus
}
#endif

#endif
