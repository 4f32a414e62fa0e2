/*  =========================================================================
    zcq_projection - one generation of a query node's read models: a
    domain's view in one keyspace of the read-model store, and the log
    position it reflects, always written together

    Invariant 5: the read-model changes of a batch of events and the
    position they reach are written in ONE store batch, so a crash can
    neither skip nor repeat an event. When that batch cannot be made or
    written, nothing of it remains (the view's buffered changes are dropped,
    the position stays) and the feed is rewound to deliver the events again.

    A store holds two keyspaces of read models, "r:" and "n:". One serves
    queries; the other is free for a rebuild: a second generation folds the
    log from position 1 there, beside the serving one, and once it has caught
    up one batch makes it serve (zcq_projection_switch). The generation it
    replaced is then emptied a slice at a time (zcq_projection_clear).

    Keys of the store besides the two keyspaces:
        q:format    "zcqrs-query-1": the folder holds query-node read models
        q:domain    name of the domain they are the read models of
        q:keyspace  "r:" or "n:", the keyspace that serves (absent: "r:")
        q:applied   be64, the position the serving models reflect (absent: 0)
        q:last      the fingerprint (zcq_feed.h) of the event at q:applied
        q:rebuilt   be64, the position a rebuild has reached (a rebuild
                    always starts again from 1, so it is never read back)
        q:projection  be64, the version of the domain's projection that
                    built the serving models (absent: 1); written when a
                    folder is claimed and with every switch

    Batches of events are not synced: read models can always be rebuilt
    from the log, so a crash loses at most the last batches, which replay
    brings back. The switch is synced. For the same reason a generation
    may hold its batch a few milliseconds (zcq_projection_set_delay): the
    events of several bursts are then folded into the view at once (queries
    read them at once) and written in one batch, with the position they
    reach, instead of one store write each.
    =========================================================================
*/

#ifndef ZCQ_PROJECTION_H_INCLUDED
#define ZCQ_PROJECTION_H_INCLUDED

#include "zcq_domain.h"
#include "zcq_feed.h"
#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_projection_t zcq_projection_t;

//  Open the serving read models of a store (borrowed: it must outlive every
//  generation of it) for a domain (borrowed), at the position the store
//  holds. A new store is claimed for the domain; one that holds something
//  else, or another domain's read models, is refused. Returns the serving
//  generation, or NULL with the reason in *error (the caller frees it).
zcq_projection_t *
    zcq_projection_open (zcq_store_t *store, const zcq_domain_t *domain, char **error);

//  Create the generation beside serving: the keyspace that does not serve,
//  at position 0. Whatever that keyspace still holds (an interrupted
//  rebuild, models switched away from) stays until it is cleared.
zcq_projection_t *
    zcq_projection_new_beside (zcq_projection_t *serving);

//  Destroy a generation (changes not yet written, a held batch too, are
//  dropped, nothing in the store changes); nulls the caller's pointer; safe on NULL.
void
    zcq_projection_destroy (zcq_projection_t **self_p);

//  Take up to max events that the feed has ready, fold them through the
//  domain into the view, and write their changes together with the new
//  position (and, serving, the fingerprint of the last event) in one store
//  batch; then tell the feed what was written. With a delay, the batch is
//  held (and later events folded into it) until the delay has passed since
//  it began, it holds 10,000 events, or a stream was deleted; reads see its
//  changes at once. Returns the number of events applied (0: none was
//  ready), or -1 when the domain or the store failed: then the view and the
//  position are as they were at the last write and the feed is rewound to
//  deliver from there again.
int
    zcq_projection_apply (zcq_projection_t *self, zcq_feed_t *feed, size_t max);

//  Hold batches up to milliseconds before writing them (0, the default:
//  every call of zcq_projection_apply writes its batch).
void
    zcq_projection_set_delay (zcq_projection_t *self, int milliseconds);

//  zclock_mono () time by which the held batch is to be written, or
//  INT64_MAX when none is held.
int64_t
    zcq_projection_due (zcq_projection_t *self);

//  Write the held batch now, if one is held (before a scan of the store, a
//  switch, a stop). Returns 0, or -1 as zcq_projection_apply fails (the
//  events since the last write come again through the feed).
int
    zcq_projection_flush (zcq_projection_t *self, zcq_feed_t *feed);

//  Last position written to the store (applied, less a held batch).
uint64_t
    zcq_projection_written (zcq_projection_t *self);

//  Make rebuilt, a generation beside serving, the one that serves, in one
//  synced batch: the serving keyspace, position and fingerprint become
//  rebuilt's, and the rebuild's position goes. On success rebuilt is the
//  serving generation and serving the one beside it, whose keyspace is to be
//  cleared; the caller swaps what it holds them as. Logs what was done, or
//  that it failed. Returns 0, or -1 if the batch failed (nothing changed).
int
    zcq_projection_switch (zcq_projection_t *rebuilt, zcq_projection_t *serving);

//  Delete up to max keys of a generation that does not serve, in one batch.
//  Returns the number deleted (0: its keyspace is empty), or -1 on a
//  storage error.
int
    zcq_projection_clear (zcq_projection_t *self, size_t max);

//  Start a generation that does not serve again from nothing: every key of
//  its keyspace deleted, position 0, no events counted. Returns 0, or -1 on
//  a storage error (some keys may be left; it can be called again).
int
    zcq_projection_restart (zcq_projection_t *self);

//  The read models, as the domain's queries read them (borrowed).
zcq_view_t *
    zcq_projection_view (zcq_projection_t *self);

//  The keyspace of the read models, "r:" or "n:" (borrowed).
const char *
    zcq_projection_keyspace (zcq_projection_t *self);

//  The version of the domain's projection that built this generation: for
//  the serving models of a store, the one it recorded; for a generation
//  built now, the domain's (zcq_domain_projection_version).
uint32_t
    zcq_projection_version (zcq_projection_t *self);

//  True if this generation is the one that serves.
bool
    zcq_projection_serving (zcq_projection_t *self);

//  Last position folded into the read models (0: none): written, or in a
//  held batch (zcq_projection_set_delay) that reads already see.
uint64_t
    zcq_projection_applied (zcq_projection_t *self);

//  The fingerprint of the event at the applied position (borrowed), or NULL
//  if it is not known (nothing applied, or a store written before
//  fingerprints were kept).
const byte *
    zcq_projection_fingerprint (zcq_projection_t *self);

//  Events applied since the generation was opened or restarted, and
//  their rate over that time, events/s.
uint64_t
    zcq_projection_events (zcq_projection_t *self);
uint64_t
    zcq_projection_rate (zcq_projection_t *self);

#ifdef __cplusplus
}
#endif

#endif
