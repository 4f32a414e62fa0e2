/*  =========================================================================
    zcq_writer - how a single write node writes its groups: one sealed
    group at a time as ONE store batch (fdatasync'ed in sync mode), its new
    stream keys first, and, between groups, the forgetting of old command
    ids (zcq_retention)

    It runs on the deciding thread: a hand-off to a thread of its own cost
    two thread wake-ups a group, and in the closed loop they cost more than
    deciding the next group beside the fsync gained (issue 13). While a
    group syncs, ZeroMQ queues the commands that come; they are decided
    into the next group once it is written.

        zcq_writer_config_t config = {store, true, keep_ids, max_age_us, sequence, keys};
        zcq_writer_t *writer = zcq_writer_new (&config);
        int rc = zcq_writer_write (writer, group);   //  0: on disk
        ...                                          //  reply, publish
        uint64_t kept = zcq_writer_retain (writer, rc == 0 ? sequence : 0, &oldest);
        zcq_writer_destroy (&writer);
    =========================================================================
*/

#ifndef ZCQ_WRITER_H_INCLUDED
#define ZCQ_WRITER_H_INCLUDED

#include "zcq_group.h"
#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What the writer needs; copied by zcq_writer_new.
typedef struct {
    zcq_store_t *store;  //  the log's store (shared: LevelDB is thread-safe)
    bool sync;           //  fdatasync each group before reporting it written
    uint64_t keep_ids;   //  most command ids kept (0: no limit)
    int64_t max_age_us;  //  command ids older than this are forgotten (0: never)
    uint64_t newest_sequence; //  retention sequence of the newest command id on disk
    zcq_store_t *keys;   //  the key table's store: a group's new keys go there first
} zcq_writer_config_t;

typedef struct _zcq_writer_t zcq_writer_t;

//  Create a writer for these settings.
zcq_writer_t *
    zcq_writer_new (const zcq_writer_config_t *config);

//  Destroy a writer; nulls the caller's pointer; safe on NULL.
void
    zcq_writer_destroy (zcq_writer_t **self_p);

//  Write a sealed group: its new keys to the key table, then its batch to
//  the log's store (synced in sync mode). Returns 0 if the group is stored
//  (durable in sync mode), -1 if it is not (nothing of its batch is).
int
    zcq_writer_write (zcq_writer_t *self, zcq_group_t *group);

//  After a group was written, forget the command ids the retention limits
//  say; sequence is the group's (zcq_group_sequence), 0 if it was not
//  stored or stored no outcome. Returns the number of command ids kept on
//  disk; *oldest is the retention sequence of the oldest of them (0: not
//  known).
uint64_t
    zcq_writer_retain (zcq_writer_t *self, uint64_t sequence, uint64_t *oldest);

#ifdef __cplusplus
}
#endif

#endif
