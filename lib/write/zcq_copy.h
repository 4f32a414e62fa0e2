/*  =========================================================================
    zcq_copy - a write group member copies another member's whole store:
    how a member that lacks what a Raft snapshot covers (started on an
    empty folder, or behind the entries the leader still keeps) gets it

    A Raft snapshot of ours is small (zcq_replica.c): the group number it
    covers, the member that took it and the newest command-id sequence. The
    data it covers is the LevelDB log every member already holds. A member
    that restores a snapshot its store does not reach copies a store that
    does from a member, then lets Raft apply the entries after it.

    Each member runs the server, an actor that takes over a ROUTER bound
    on its write/copy endpoint:

        zcq_copy_config_t config = {store, router};
        zactor_t *server = zactor_new (zcq_copy_actor, &config);

    and a member that needs the data calls, on its replication thread:

        uint64_t group = 0;
        zcq_copy_fetch (store, keys, "ipc://var/copy-2", 1000, 10000, &group);

    Member to member only, like Raft's own transport (frames, every number
    big-endian; the first frame of each is "ZCQCOPY1"):

        BEGIN  be64 at_least  ->  CHUNK be64 group, batch  (zcq_batch_encode:
        NEXT                  ->  CHUNK ...                  puts, key order)
                                  KEYS  be64 group, batch  (the key
                                         table's, after the store's chunks)
                                  DONE  be64 group
                                  BEHIND be64 group  (the store has not
                                         applied at_least yet: ask another)
                                  BUSY   (another member copies now)

    Every CHUNK of one copy comes from one LevelDB snapshot of the server's
    store, so the copy is a state that store was in: group `group` applied,
    and nothing of any later group. The "m:group" key is not in the chunks:
    the copier writes it last, synced, so that a copy cut short leaves a
    store that says it holds nothing (and is copied again). The KEYS chunks
    come from a snapshot of the key table (zcq_keys) taken after the
    store's chunks are sent: a key is written before the first group that
    seals with it, so it holds every key the copied events need, and no key
    of a stream forgotten before it. The copier replaces its key table with
    them (synced) before it writes "m:group".
    =========================================================================
*/

#ifndef ZCQ_COPY_H_INCLUDED
#define ZCQ_COPY_H_INCLUDED

#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What the server needs; read before zactor_new returns.
typedef struct {
    zcq_store_t *store; //  the member's store (shared; LevelDB is thread-safe)
    zcq_store_t *keys;  //  the member's key table's store, or NULL (none sent)
    zsock_t *socket;    //  bound ROUTER; the actor owns and destroys it
} zcq_copy_config_t;

//  The server actor; leaves on $TERM.
void
    zcq_copy_actor (zsock_t *pipe, void *args);

//  Replace everything in store with a copy of the store of the member
//  serving at endpoint, if that one has applied group at_least: its group
//  number goes into *group; and everything in keys (a key table's store;
//  NULL: none) with that member's key table. Waits at most timeout_ms for
//  each answer.
//  Returns 0; 1 if that member is behind, busy or silent (store untouched);
//  -1 if the copy failed part way (logged: store then says "m:group" 0).
int
    zcq_copy_fetch (zcq_store_t *store, zcq_store_t *keys, const char *endpoint,
                    uint64_t at_least, int timeout_ms, uint64_t *group);

#ifdef __cplusplus
}
#endif

#endif
