/*  =========================================================================
    zcq_view - a domain's handle on its read models in a query node

    Keys are C strings chosen by the domain; values are bytes (usually packed
    msgpack). Writes are buffered and become part of the same LevelDB batch
    as the query node's applied position, so a read model never reflects a
    half-applied event. Reads see the buffered writes first.
    =========================================================================
*/

#ifndef ZCQ_VIEW_H_INCLUDED
#define ZCQ_VIEW_H_INCLUDED

#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_view_t zcq_view_t;

//  Called for each key a scan visits; return 0 to go on, non-zero to stop.
typedef int (zcq_view_scan_fn) (const char *key, const byte *value, size_t size, void *arg);

//  Create a view over a store (borrowed; it must outlive the view), on the
//  read-model keyspace "r:".
zcq_view_t *
    zcq_view_new (zcq_store_t *store);

//  Create a view over another keyspace of the store: every key the domain
//  uses is stored under prefix (e.g. "n:"), so that a second generation of
//  read models can be built beside the one that serves.
zcq_view_t *
    zcq_view_new_keyspace (zcq_store_t *store, const char *prefix);

//  The store prefix of this view's keyspace ("r:" by default; borrowed).
const char *
    zcq_view_keyspace (zcq_view_t *self);

//  Keep up to max committed values in memory, so that reads of hot keys do
//  not go to LevelDB (0, the default: no cache). Values enter the cache only
//  through zcq_view_written, so it never holds what the store does not.
void
    zcq_view_set_cache (zcq_view_t *self, size_t max);

//  Destroy the view and drop unwritten changes; nulls the caller's pointer.
void
    zcq_view_destroy (zcq_view_t **self_p);

//  Read a read-model value. Returns 0 with an owned copy in *value (caller
//  frees, NUL-terminated for convenience), 1 if absent, -1 on storage error.
int
    zcq_view_get (zcq_view_t *self, const char *key, byte **value, size_t *size);

//  Write or replace a value; buffered until zcq_view_commit.
void
    zcq_view_put (zcq_view_t *self, const char *key, const void *value, size_t size);

//  Delete a value; buffered until zcq_view_commit.
void
    zcq_view_delete (zcq_view_t *self, const char *key);

//  Visit committed keys that start with prefix, in key order, from the first
//  key >= start (start NULL: from the prefix). Buffered writes are not seen:
//  scans are for queries, which run between commits. Returns the number of
//  keys visited, or -1 on storage error.
int
    zcq_view_scan (zcq_view_t *self, const char *prefix, const char *start,
                   zcq_view_scan_fn *fn, void *arg);

//  Move the buffered changes into batch (which the caller writes together
//  with its own keys); they are no longer pending. Cached values of those
//  keys are dropped until zcq_view_written says the batch is stored.
void
    zcq_view_commit (zcq_view_t *self, zcq_batch_t *batch);

//  The batch of the last zcq_view_commit was written: its values may be
//  served from the cache from now on.
void
    zcq_view_written (zcq_view_t *self);

//  Drop the buffered changes (the batch they were for was not written).
void
    zcq_view_rollback (zcq_view_t *self);

//  Number of changes buffered since the last commit or rollback.
size_t
    zcq_view_pending (zcq_view_t *self);

//  SHA-1 over every committed key and value of the keyspace, in key order
//  (each as a 4-byte big-endian length then its bytes, keys without the
//  keyspace prefix), as 40 upper-case hex digits in hex. Equal read models
//  give equal checksums whatever their keyspace. Sets *keys to the number
//  of keys. Returns 0, or -1 on storage error.
int
    zcq_view_checksum (zcq_view_t *self, char hex [41], uint64_t *keys);

//  Delete up to max committed keys of the keyspace in one batch (the cache
//  is emptied). Returns the number deleted (0: the keyspace is empty), or -1
//  on storage error.
int
    zcq_view_clear (zcq_view_t *self, size_t max);

//  Number of values held in the cache.
size_t
    zcq_view_cached (zcq_view_t *self);

#ifdef __cplusplus
}
#endif

#endif
