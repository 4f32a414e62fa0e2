/*  =========================================================================
    zcq_watches - a query node's live queries (spec section 10.17)

    A client WATCHes a named query with its params on the query endpoint;
    the node answers with an UPDATE of the current result at once, then with
    a new UPDATE each time an applied batch changed it, at most one per
    batch. Each watch has at most one UPDATE in flight: the next is sent
    only when the client ACKs the last, and while it is out only the latest
    result is kept (one per watch), so a slow reader gets the latest result,
    never a queue, and the ROUTER's per-peer queue holds at most one UPDATE
    per watch (the per-client cap keeps that far below its SNDHWM, where a
    ROUTER would refuse or drop). A client's watches expire when it is
    silent for the lease; it renews by any message (ACK with seq 0 when it
    has nothing else to say).

    The class does not know the read models: the query node evaluates a
    watch through a callback, which also records the read-model keys the
    query read, so that after a batch only the watches whose keys the batch
    touched run again.
    =========================================================================
*/

#ifndef ZCQ_WATCHES_H_INCLUDED
#define ZCQ_WATCHES_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_watches_t zcq_watches_t;

//  Fill update (an UPDATE addressed to the watch's client) with the watch's
//  result at the node's applied position: status, reason, result, position,
//  may_be_stale; add to reads ("=KEY" / "*PREFIX" strings) what the query
//  read (zcq_view_record).
typedef void (zcq_watches_eval_fn) (void *arg, zcq_msg_t *watch, zcq_msg_t *update,
                                    zlistx_t *reads);

//  Create the live queries of a node that answers on router (borrowed),
//  evaluating through eval (with arg). At most node_max watches in all and
//  client_max per client (routing id); a client silent for lease_ms loses
//  its watches.
zcq_watches_t *
    zcq_watches_new (zsock_t *router, zcq_watches_eval_fn *eval, void *arg, size_t node_max,
                     size_t client_max, uint32_t lease_ms);

//  Destroy them; nulls the caller's pointer.
void
    zcq_watches_destroy (zcq_watches_t **self_p);

//  Take a valid WATCH, ACK or UNWATCH (takes ownership, nulls *msg_p):
//  WATCH is held and answered with the current result, or refused (an
//  UPDATE with seq 0 and "busy" at a cap); ACK of the update in flight lets
//  the next go; ACK or UNWATCH of a watch not held is answered "not_found"
//  (seq 0), so that a client of a restarted node learns it. Every message
//  renews the client's lease.
void
    zcq_watches_handle (zcq_watches_t *self, zcq_msg_t **msg_p);

//  Refuse a WATCH (or ACK, UNWATCH) with a status and reason: an UPDATE
//  with seq 0. The message stays the caller's.
void
    zcq_watches_refuse (zcq_watches_t *self, zcq_msg_t *msg, zcq_status_t status,
                        const char *reason);

//  An applied batch wrote the keys in touched (zcq_view_track; NULL: any
//  key may have changed, e.g. the models were switched or the node's
//  staleness changed): evaluate the watches whose reads it touched, and
//  send what changed to clients without an update in flight.
void
    zcq_watches_changed (zcq_watches_t *self, zhashx_t *touched);

//  Expire the watches of silent clients, and retry updates a full or gone
//  peer could not take. Call every tick.
void
    zcq_watches_tick (zcq_watches_t *self);

//  Watches held.
size_t
    zcq_watches_size (zcq_watches_t *self);

//  Counters since start: updates sent, evaluations run, watches expired.
uint64_t
    zcq_watches_sent (zcq_watches_t *self);
uint64_t
    zcq_watches_evaluations (zcq_watches_t *self);
uint64_t
    zcq_watches_expired (zcq_watches_t *self);

//  The node's incarnation that every UPDATE carries (32 hex digits, new for
//  every zcq_watches_new).
const char *
    zcq_watches_incarnation (zcq_watches_t *self);

#ifdef __cplusplus
}
#endif

#endif
