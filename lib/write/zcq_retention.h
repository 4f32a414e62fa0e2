/*  =========================================================================
    zcq_retention - which command ids the log keeps: after each group, the
    oldest outcomes beyond the count limit or older than the age limit are
    forgotten, a bounded number at a time, in an unsynced batch of their
    own (a crash only means they are forgotten again)

    Used by the thread that writes groups: the writer of a single node, the
    replica of a write group member (which passes the group's own time, so
    that every member forgets the same ids).

        zcq_retention_t retention;
        zcq_retention_init (&retention, keep_ids, max_age_us, newest_sequence);
        ...  //  a group was written
        uint64_t kept = zcq_retention_apply (&retention, store, sequence, now);
    =========================================================================
*/

#ifndef ZCQ_RETENTION_H_INCLUDED
#define ZCQ_RETENTION_H_INCLUDED

#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Retention state: plain values, owned by one thread.
typedef struct {
    uint64_t keep_ids;      //  most command ids kept (0: no limit)
    int64_t max_age_us;     //  ids older than this are forgotten (0: never)
    uint64_t oldest;        //  oldest command-id sequence kept (0: not known yet)
    uint64_t newest;        //  newest command-id sequence stored
    int64_t next_age_check; //  zclock_mono () of the next look for expired ids
} zcq_retention_t;

//  Set retention up with its limits and the newest sequence on disk.
void
    zcq_retention_init (zcq_retention_t *self, uint64_t keep_ids, int64_t max_age_us,
                        uint64_t newest_sequence);

//  A group reached the store: note its newest sequence (0: it stored no
//  outcome) and forget what the limits say, `now` being the time (us since
//  the epoch) ages are measured against. Returns the number of ids kept.
uint64_t
    zcq_retention_apply (zcq_retention_t *self, zcq_store_t *store, uint64_t sequence,
                         int64_t now);

#ifdef __cplusplus
}
#endif

#endif
