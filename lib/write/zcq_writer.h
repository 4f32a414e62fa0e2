/*  =========================================================================
    zcq_writer - the write node's writing thread: writes sealed groups to
    the store, one batch each, in the order they come, and forgets old
    command ids between groups

    The deciding thread seals a group and sends it here; while this thread
    waits on fdatasync, the decider goes on deciding the next group. Run it
    as a czmq actor:

        zcq_writer_config_t config = {store, true, keep_ids, max_age_us, sequence};
        zactor_t *writer = zactor_new (zcq_writer_actor, &config);
        zcq_writer_submit (writer, group);         //  the writer owns it now
        ...                                        //  writer becomes readable
        int rc = zcq_writer_collect (writer, &group, &kept, &oldest);  //  ours again
    =========================================================================
*/

#ifndef ZCQ_WRITER_H_INCLUDED
#define ZCQ_WRITER_H_INCLUDED

#include "zcq_group.h"
#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What the writer needs; read before zactor_new returns.
typedef struct {
    zcq_store_t *store;  //  the log's store (shared: LevelDB is thread-safe)
    bool sync;           //  fdatasync each group before reporting it written
    uint64_t keep_ids;   //  most command ids kept (0: no limit)
    int64_t max_age_us;  //  command ids older than this are forgotten (0: never)
    uint64_t newest_sequence; //  retention sequence of the newest command id on disk
    zcq_store_t *keys;   //  the key table's store: a group's new keys go there first
} zcq_writer_config_t;

//  The actor. Takes zcq_writer_submit's message; answers each with one
//  message for zcq_writer_collect, in order.
void
    zcq_writer_actor (zsock_t *pipe, void *args);

//  Hand a sealed group to the writer.
void
    zcq_writer_submit (zactor_t *writer, zcq_group_t *group);

//  Take back the group the writer finished (call when the actor is
//  readable). Returns 0 if the group is stored, -1 if it is not;
//  *ids_kept is the number of command ids kept on disk after this group,
//  *oldest the retention sequence of the oldest of them (0: not known).
int
    zcq_writer_collect (zactor_t *writer, zcq_group_t **group, uint64_t *ids_kept,
                        uint64_t *oldest);

#ifdef __cplusplus
}
#endif

#endif
