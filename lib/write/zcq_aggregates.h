/*  =========================================================================
    zcq_aggregates - the write node's aggregate cache: each stream's domain
    state, kept in memory for the next command on it

    A stream not in the cache is loaded from the event log: from its latest
    snapshot (when snapshots are on and the domain keeps them), then its
    later events folded in with the domain's evolve. The cache holds at
    most `size` states and evicts the least recently used, except a state
    that holds events staged but not yet on disk ("pinned": the log could
    not give it back). Every `snapshot` events a stream's state is staged
    as a snapshot in the same group as the events that crossed the mark.

        zcq_aggregates_t *cache = zcq_aggregates_new (domain, log, 10000, 1000);
        const zcq_aggregate_t *account = zcq_aggregates_get (cache, "account-1");
        ...                                //  decide against account->state
        zcq_log_stage_event (log, event);  //  for each event decided
        zcq_aggregates_evolve (cache, account, event);
        zcq_aggregates_staged (cache, account);
        ...
        zcq_aggregates_purge (cache);      //  a group failed to write

    One thread uses a cache (the thread that stages into the log).
    =========================================================================
*/

#ifndef ZCQ_AGGREGATES_H_INCLUDED
#define ZCQ_AGGREGATES_H_INCLUDED

#include "zcq_domain.h"
#include "zcq_log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_aggregates_t zcq_aggregates_t;

//  One stream's state as the cache holds it. The cache owns it and changes
//  it only in zcq_aggregates_evolve; it stays valid until the next
//  zcq_aggregates_get or zcq_aggregates_purge (either may drop it).
typedef struct {
    const char *stream;         //  stream name
    void *state;                //  domain state after `version` events (NULL: none kept)
    uint64_t version;           //  stream version the state reflects
    uint64_t deleted;           //  position of the stream's tombstone, 0 if not deleted
} zcq_aggregate_t;

//  Create a cache of the domain's states (domain and log borrowed; both
//  must outlive it), holding at most size states (at least 1) unless more
//  are pinned, with a snapshot staged every snapshot events of a stream
//  (0: none written or read).
zcq_aggregates_t *
    zcq_aggregates_new (const zcq_domain_t *domain, zcq_log_t *log, size_t size,
                        uint64_t snapshot);

//  Destroy the cache and the domain's states in it; nulls the caller's
//  pointer; safe on NULL.
void
    zcq_aggregates_destroy (zcq_aggregates_t **self_p);

//  Return a stream's state, now the most recently used: cached, or loaded
//  from the log's committed events (a snapshot the domain cannot load is
//  passed over: folding every event gives the same state). Loading may
//  evict the least recently used unpinned state. Returns NULL, caching
//  nothing, on a storage error or a stored event that does not decode
//  (logged).
const zcq_aggregate_t *
    zcq_aggregates_get (zcq_aggregates_t *self, const char *stream);

//  Fold an EVENT the caller has just staged in the log on this aggregate's
//  stream into its state; its version becomes the event's.
void
    zcq_aggregates_evolve (zcq_aggregates_t *self, const zcq_aggregate_t *aggregate,
                           zcq_msg_t *event);

//  Say that the events folded since the last call (one command's) are
//  staged: the state is pinned until the log's head reaches the staged
//  head, and a snapshot of it is staged if those events crossed a multiple
//  of the snapshot interval.
void
    zcq_aggregates_staged (zcq_aggregates_t *self, const zcq_aggregate_t *aggregate);

//  A stream's key was destroyed ($Forget): drop its state, which may hold
//  what its personal fields held in plain, so that its next use folds it
//  again from the log (where they read as nil). A state that events staged
//  since still pin is dropped at its first zcq_aggregates_get once they
//  are on disk.
void
    zcq_aggregates_forgotten (zcq_aggregates_t *self, const char *stream);

//  Drop every state (after a failed write some hold events that never
//  reached the disk); each is loaded again on its next use.
void
    zcq_aggregates_purge (zcq_aggregates_t *self);

//  Number of states cached.
size_t
    zcq_aggregates_size (zcq_aggregates_t *self);

//  Stored events folded while loading states, since the cache was created.
uint64_t
    zcq_aggregates_folded (zcq_aggregates_t *self);

//  Snapshots staged since the cache was created.
uint64_t
    zcq_aggregates_snapshots (zcq_aggregates_t *self);

#ifdef __cplusplus
}
#endif

#endif
