/*  =========================================================================
    zcq_upcast - raise stored events to their types' current schema versions

    A stored event keeps the schema version it was appended at (EVENT
    `schema`, protocol section 6.3.1). A domain that changed a type's data
    gives upcasters k -> k + 1 (zcq_domain.h); this class applies them, one
    version at a time, until every event a stored one became is at its
    type's current version, and hands each to a callback. The write node's
    evolve and a query node's project see events only through it; a client
    that holds the domain's .so can use it too:

        const zcq_domain_t *domain = zcq_domain_load ("./libmine.so", &error);
        zcq_upcast_t *upcast = zcq_upcast_new (domain);
        zcq_upcast_msg (upcast, event_msg, print_one, NULL);   //  per event

    One instance serves one thread.
    =========================================================================
*/

#ifndef ZCQ_UPCAST_H_INCLUDED
#define ZCQ_UPCAST_H_INCLUDED

#include "zcq_domain.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_UPCAST_DEPTH 32 //  most versions one stored event is raised by

typedef struct _zcq_upcast_t zcq_upcast_t;

//  Called with each event at its current version; return 0 to go on, or
//  non-zero to stop (zcq_upcast_event returns it). The event is borrowed.
typedef int (zcq_upcast_each_fn) (const zcq_event_t *event, void *arg);

//  Create an upcaster runner for a domain (borrowed; must outlive it).
zcq_upcast_t *
    zcq_upcast_new (const zcq_domain_t *domain);

//  Destroy it; nulls the caller's pointer; safe on NULL.
void
    zcq_upcast_destroy (zcq_upcast_t **self_p);

//  Call fn with what event is at its type's current version: the event
//  itself when it is there already (or newer than the domain knows), else
//  the events its upcasters make of it (none if dropped, several if split),
//  each with the stored event's stream, version, position and time. At
//  most ZCQ_MAX_EVENTS events come of one. Returns 0; fn's non-zero
//  answer; or -1 if an upcaster refused, packed something that is not one
//  map, or made too many events or versions (zcq_upcast_error says which).
int
    zcq_upcast_event (zcq_upcast_t *self, const zcq_event_t *event, zcq_upcast_each_fn *fn,
                      void *arg);

//  The same for a decoded EVENT message; one whose data was erased by its
//  stream's deletion (meta.deleted) is handed to fn as it is. Returns -1
//  also if its data is not one msgpack map.
int
    zcq_upcast_msg (zcq_upcast_t *self, zcq_msg_t *msg, zcq_upcast_each_fn *fn, void *arg);

//  Why the last call returned -1 ("" if it did not, or fn stopped it).
const char *
    zcq_upcast_error (zcq_upcast_t *self);

#ifdef __cplusplus
}
#endif

#endif
