/*  =========================================================================
    zcq_decision - what a domain's decide function answers for one command:
    the events to append (zero or more), or a refusal with its reason
    =========================================================================
*/

#ifndef ZCQ_DECISION_H_INCLUDED
#define ZCQ_DECISION_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_decision_t zcq_decision_t;

//  Create an empty decision (no events, outcome ZCQ_ACCEPTED).
zcq_decision_t *
    zcq_decision_new (void);
void
    zcq_decision_destroy (zcq_decision_t **self_p);

//  Start a new event of the given type and return the packer for its data:
//  the domain MUST pack exactly one msgpack map with it, before any other
//  call on this decision. The packer is borrowed.
msgpack_packer *
    zcq_decision_emit (zcq_decision_t *self, const char *event_type);

//  The same, saying the schema version of the event's data (an upcaster
//  does, see zcq_upcast.h); 0 is what zcq_decision_emit says: not given.
msgpack_packer *
    zcq_decision_emit_schema (zcq_decision_t *self, const char *event_type, uint32_t schema);

//  Refuse the command because a domain rule forbids it (status "rejected").
//  Drops any events emitted so far.
void
    zcq_decision_reject (zcq_decision_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Refuse the command because its data is malformed (status "invalid").
//  Drops any events emitted so far.
void
    zcq_decision_invalid (zcq_decision_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Outcome: ZCQ_ACCEPTED, ZCQ_REJECTED or ZCQ_INVALID.
zcq_status_t
    zcq_decision_status (zcq_decision_t *self);
//  Reason of a refusal ("" when accepted).
const char *
    zcq_decision_reason (zcq_decision_t *self);

//  Number of events emitted, and the type and packed data of the i-th.
size_t
    zcq_decision_count (zcq_decision_t *self);
const char *
    zcq_decision_event_type (zcq_decision_t *self, size_t index);
//  The schema version the i-th event was emitted at (0: not given).
uint32_t
    zcq_decision_event_schema (zcq_decision_t *self, size_t index);
const byte *
    zcq_decision_event_data (zcq_decision_t *self, size_t index, size_t *size);

//  Forget everything, ready for the next command.
void
    zcq_decision_reset (zcq_decision_t *self);

#ifdef __cplusplus
}
#endif

#endif
