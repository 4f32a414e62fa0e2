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

//  Fill event from msg (a valid EVENT), unpacking its data into *unpacked.
//  The event borrows from msg and unpacked: keep both until done, then
//  msgpack_unpacked_destroy (unpacked). Returns 0, or -1 if the data is not
//  one msgpack map (unpacked is then already destroyed).
int
    zcq_event_from_msg (zcq_event_t *event, zcq_msg_t *msg, msgpack_unpacked *unpacked);

//  Current time in microseconds since the Unix epoch.
int64_t
    zcq_event_now (void);

#ifdef __cplusplus
}
#endif

#endif
