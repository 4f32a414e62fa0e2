/*  =========================================================================
    zcq_view_store - the query node's side of a view: a view kept in a
    LevelDB store, in one keyspace, with a cache of committed values; its
    buffered writes committed into the caller's batch

    A domain reads and writes through zcq_view.h only; the query node creates
    views here, commits them with its applied position, checksums and clears
    them.
    =========================================================================
*/

#ifndef ZCQ_VIEW_STORE_H_INCLUDED
#define ZCQ_VIEW_STORE_H_INCLUDED

#include "zcq_store.h"
#include "zcq_view.h"

#ifdef __cplusplus
extern "C" {
#endif

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

//  Move the buffered changes into batch (which the caller writes together
//  with its own keys); they are no longer pending. Reads see them until
//  zcq_view_written says the batch is stored (then they are cached) or
//  zcq_view_rollback drops them; a second commit before either drops the
//  first batch's.
void
    zcq_view_commit (zcq_view_t *self, zcq_batch_t *batch);

//  The same into a held batch, not yet filled, that holds what the commits
//  since the last zcq_view_written or zcq_view_rollback moved into it: each
//  key once, with its last value committed (a query node holds its batch
//  over several bursts, and a key changed in many of them, such as a
//  total, is then written once). zcq_view_commit_held fills a batch with
//  it; one zcq_view_written or zcq_view_rollback then settles them all.
void
    zcq_view_commit_more (zcq_view_t *self);

//  Put what the held batch holds (zcq_view_commit_more) into batch, each
//  key once with the value committed last (not a change made since and not
//  yet committed), for the caller to write with its own keys.
void
    zcq_view_commit_held (zcq_view_t *self, zcq_batch_t *batch);

//  The batch of the last zcq_view_commit was written: its values may be
//  served from the cache from now on.
void
    zcq_view_written (zcq_view_t *self);

//  Drop the buffered changes (the batch they were for was not written).
void
    zcq_view_rollback (zcq_view_t *self);

//  What a view calls before it reads its keyspace from the store by
//  iterating (zcq_view_scan, zcq_view_checksum) while a committed batch is
//  neither said written nor rolled back: the iteration reads the store
//  only, and would miss what that batch holds (a get sees it). It is to
//  write the batch (then zcq_view_written) or roll it back (a failed
//  write); the read then goes on from the store either way.
typedef void (zcq_view_unwritten_fn) (void *arg);

//  Set the function called so (NULL: none, the default), with arg.
void
    zcq_view_set_unwritten (zcq_view_t *self, zcq_view_unwritten_fn *fn, void *arg);

//  Change detection for live queries. With a set (a zhashx, values
//  ignored), every key a commit writes or deletes is inserted into it
//  until called with NULL; the set stays the caller's, who empties it.
void
    zcq_view_track (zcq_view_t *self, zhashx_t *touched);

//  With a list (of strings, destructor set by the caller), every read adds
//  what it asked for until called with NULL: "=KEY" for a get, "*PREFIX"
//  for a scan (whatever key the scan visited or did not find).
void
    zcq_view_record (zcq_view_t *self, zlistx_t *reads);

//  True if a write of one of the touched keys (zcq_view_track) could change
//  what the recorded reads (zcq_view_record) found: a key read, or a key
//  under a prefix scanned.
bool
    zcq_view_reads_touched (zlistx_t *reads, zhashx_t *touched);

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
