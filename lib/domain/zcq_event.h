/*  =========================================================================
    zcq_event - turn a decoded EVENT message into the zcq_event_t view that
    a domain's evolve and project functions read
    =========================================================================
*/

#ifndef ZCQ_EVENT_H_INCLUDED
#define ZCQ_EVENT_H_INCLUDED

#include "zcq_domain.h"

#ifdef __cplusplus
extern "C" {
#endif

//  An event's data unpacked without allocating when it can be: its pairs
//  in pairs, else msgpack-c's object in unpacked.
#define ZCQ_EVENT_PAIRS 16 //  pairs of event data unpacked in place
typedef struct {
    msgpack_object data;                       //  the event's data, a map
    msgpack_object_kv pairs [ZCQ_EVENT_PAIRS]; //  its pairs, when they fit
    msgpack_unpacked unpacked;                 //  else unpacked by msgpack-c
} zcq_event_data_t;

//  Unpack bytes (exactly one msgpack object) into data->data: in place (no
//  allocation) when it is maps and scalars within ZCQ_EVENT_PAIRS pairs,
//  else by msgpack-c. data->data borrows from bytes: keep them until done,
//  then zcq_event_data_destroy (data). Returns 0, or -1 if the bytes are
//  not exactly one object (nothing to destroy then).
int
    zcq_event_data_unpack (zcq_event_data_t *data, const void *bytes, size_t size);

//  Fill event from msg (a valid EVENT), its data in *data: in place (no
//  allocation) when it is a map of at most ZCQ_EVENT_PAIRS pairs of maps
//  and scalars, else unpacked by msgpack-c. The event borrows from msg and
//  data: keep both until done, then zcq_event_data_destroy (data). Returns
//  0, or -1 if the data is not one msgpack map (nothing to destroy then).
int
    zcq_event_from_msg (zcq_event_t *event, zcq_msg_t *msg, zcq_event_data_t *data);

//  Free what zcq_event_from_msg or zcq_event_data_unpack unpacked (nothing
//  when it was in place).
void
    zcq_event_data_destroy (zcq_event_data_t *data);

//  Current time in microseconds since the Unix epoch.
int64_t
    zcq_event_now (void);

#ifdef __cplusplus
}
#endif

#endif
