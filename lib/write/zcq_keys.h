/*  =========================================================================
    zcq_keys - the write node's key table: each stream's sealing key
    (crypto-shredding, protocol section 10.14), in a LevelDB folder of its
    own beside the event log's (`write/keys`), so that a copy of the data
    (a backup) never holds a key. Key layout (protocol section 12.1.1):

        "m:format"     -> "zcqrs-keys-1"
        "m:cluster"    -> the cluster id of the log the keys belong to
        "k:" stream    -> ZCQ_SEAL_KEY bytes: the stream's key
        "x:" stream    -> be64 position of the $StreamForgotten that
                          destroyed its key: kept, so that no key of the
                          stream ever comes back from an older folder

    A key is written (synced) before the first group that seals with it
    (zcq_group_write_keys), so that no event on disk was sealed with a key
    that is not. A key is destroyed by deleting it, in one synced batch
    with its "x:" record, compacting its key range before and after.
    =========================================================================
*/

#ifndef ZCQ_KEYS_H_INCLUDED
#define ZCQ_KEYS_H_INCLUDED

#include "zcq_store.h"
#include "zcq_seal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_keys_t zcq_keys_t;

//  Open (or create) the key table in folder path, for the event log in
//  folder data. Refused, with *error naming setting write/keys (caller
//  frees), when path is the data folder, one inside it or around it, a
//  folder that holds something else than a key table, or cannot be opened.
zcq_keys_t *
    zcq_keys_new (const char *path, const char *data, char **error);

//  Close the key table; nulls the caller's pointer; safe on NULL.
void
    zcq_keys_destroy (zcq_keys_t **self_p);

//  The store under the table (borrowed): readers on any thread use it.
zcq_store_t *
    zcq_keys_store (zcq_keys_t *self);

//  Bind the table to the log's cluster id: recorded the first time, then
//  checked. Returns 0, or -1 with *error set (caller frees) when the table
//  holds the keys of another cluster.
int
    zcq_keys_bind (zcq_keys_t *self, const char *cluster, char **error);

//  Read a stream's key from a key table's store (any thread). Returns 0
//  with it in key, 1 if the stream has none (never sealed, or forgotten),
//  -1 on a storage error or a damaged key (logged).
int
    zcq_keys_find (zcq_store_t *store, const char *stream, byte key [ZCQ_SEAL_KEY]);

//  Add the put of a stream's new key to batch (a group's key batch).
void
    zcq_keys_stage (zcq_batch_t *batch, const char *stream, const byte key [ZCQ_SEAL_KEY]);

//  Destroy a stream's key, forgotten at position: deleted with its "x:"
//  record in one synced batch, its key range compacted before and after so
//  that no LevelDB table keeps it. Returns 0, or -1 (nothing written).
int
    zcq_keys_shred (zcq_keys_t *self, const char *stream, uint64_t position);

//  Move the "k:" keys that an event log of the layout before held in its
//  own store into the table (synced), except those of streams the table
//  has seen forgotten (an older folder must not undo a forget), then delete
//  them from data, adding the deletes to batch (the caller's format change)
//  and writing it synced, and compact data's "k:" range. Returns the number
//  of keys moved, or -1 (data unchanged).
int
    zcq_keys_take (zcq_keys_t *self, zcq_store_t *data, zcq_batch_t *batch);

//  True if a store holds any "k:" key (an event log of the layout before).
//  *found is set; returns 0, or -1 on a storage error.
int
    zcq_keys_held (zcq_store_t *store, bool *found);

#ifdef __cplusplus
}
#endif

#endif
