/*  =========================================================================
    zcq_group - one group commit of the event log: the LevelDB batch that
    holds its events, stream index, head and command replies, the packed
    bodies of its events for publishing once the batch is on disk, and the
    command ids it stores outcomes for (its record in the retention order)

    New stream keys travel beside the batch, for the key table.

    A group is built on the deciding thread (zcq_log stages into it), then
    written there (a single node) or handed whole to the replica thread (a
    write group member) and back for replies and publishing: one owner at
    a time, never shared.
    =========================================================================
*/

#ifndef ZCQ_GROUP_H_INCLUDED
#define ZCQ_GROUP_H_INCLUDED

#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_group_t zcq_group_t;

//  Create an empty group.
zcq_group_t *
    zcq_group_new (void);

//  Destroy a group; nulls the caller's pointer; safe on NULL.
void
    zcq_group_destroy (zcq_group_t **self_p);

//  The batch of writes (borrowed).
zcq_batch_t *
    zcq_group_batch (zcq_group_t *self);

//  The puts of the new stream keys the group seals with (borrowed): they go
//  to the key table (zcq_keys), never to the log's store.
zcq_batch_t *
    zcq_group_keys (zcq_group_t *self);

//  Write the group's new keys into the key table keys, synced, before the
//  group's batch is written (a write that fails leaves keys no event uses,
//  found again by the next group). Returns 0 (also when there are none),
//  or -1 if they could not be written (then the group must not be).
int
    zcq_group_write_keys (zcq_group_t *self, zcq_store_t *keys);

//  Keep a copy of one event's packed body, in log order, with the topic it
//  is published under (zcq_msg_topic).
void
    zcq_group_add_body (zcq_group_t *self, const void *body, size_t size, const byte *topic,
                        size_t topic_size);

//  Number of event bodies kept, and the i-th (borrowed while the group lives).
size_t
    zcq_group_count (zcq_group_t *self);
const byte *
    zcq_group_body (zcq_group_t *self, size_t index, size_t *size);
//  The i-th event's PUB topic (borrowed while the group lives).
const byte *
    zcq_group_topic (zcq_group_t *self, size_t index, size_t *size);

//  Last log position the group covers once written (0: none set).
uint64_t
    zcq_group_head (zcq_group_t *self);
void
    zcq_group_set_head (zcq_group_t *self, uint64_t head);

//  Retention sequence of the newest command id in the group (0: none).
uint64_t
    zcq_group_sequence (zcq_group_t *self);
void
    zcq_group_set_sequence (zcq_group_t *self, uint64_t sequence);

//  Note a command id whose outcome the group stores (ZCQ_COMMAND_ID bytes,
//  copied), in the order of their retention sequences; time (us since the
//  epoch) is kept from the first id noted, as the group's retention time.
void
    zcq_group_add_id (zcq_group_t *self, const byte *id, int64_t time);

//  The ids noted, back to back (borrowed), and how many there are.
const byte *
    zcq_group_ids (zcq_group_t *self, size_t *count);

//  Retention time of the group's ids (0: no id noted).
int64_t
    zcq_group_time (zcq_group_t *self);

//  Empty the group for reuse.
void
    zcq_group_clear (zcq_group_t *self);

#ifdef __cplusplus
}
#endif

#endif
