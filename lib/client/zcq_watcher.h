/*  =========================================================================
    zcq_watcher - live queries on one query node (spec section 10.17)

    A watcher holds one DEALER to a query node and any number of watches:
    named queries with their params whose result the node sends at once
    and again each time an applied batch changes it. The watcher takes care
    of the protocol: it ACKs each update as it hands it over (so the node
    sends the next, which is the latest: a slow caller skips results, it
    never queues them), renews its lease while the caller is quiet, and
    watches again by itself when the node says it does not hold a watch
    (it restarted, or the lease ran out while the caller did not call).
    Not thread-safe: one watcher per thread.
    =========================================================================
*/

#ifndef ZCQ_WATCHER_H_INCLUDED
#define ZCQ_WATCHER_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_watcher_t zcq_watcher_t;

//  Create a watcher of the query node at endpoint (NULL: the default
//  queries endpoint). Connecting is asynchronous. With a CURVE identity on
//  this thread (zcq_auth.h) it connects with it. Returns NULL if the
//  endpoint cannot be connected to.
zcq_watcher_t *
    zcq_watcher_new (const char *endpoint);

//  Destroy the watcher (its watches expire on the node with its lease);
//  nulls the caller's pointer.
void
    zcq_watcher_destroy (zcq_watcher_t **self_p);

//  Watch a named query with params (a packed msgpack map; NULL/0: none).
//  Returns the watch's number (0, 1, ...), which zcq_watcher_recv names,
//  or -1 if params cannot be sent (not a map, too large: logged).
int
    zcq_watcher_watch (zcq_watcher_t *self, const char *name, const void *params,
                       size_t size);

//  Stop a watch; its updates still on the way are dropped.
void
    zcq_watcher_unwatch (zcq_watcher_t *self, int watch);

//  Wait up to timeout_ms for the next update of one of the watches and
//  return it (the caller's), with *watch set to its number: a result
//  (zcq_msg_seq () >= 1: status, result, position, may_be_stale, as a
//  RESULT has them), or a refusal (seq 0: "busy" at a cap, "unknown" or
//  "invalid" query), after which the watch is no longer held: watch again
//  to retry. Returns NULL on time-out. Meanwhile it renews the lease and
//  watches again what a restarted node lost (zcq_watcher_rewatches).
zcq_msg_t *
    zcq_watcher_recv (zcq_watcher_t *self, int *watch, int timeout_ms);

//  Times the watcher watched again because the node did not hold its
//  watches (a restart, or an expired lease).
uint64_t
    zcq_watcher_rewatches (zcq_watcher_t *self);

//  The query node's incarnation as its last update said (32 hex digits;
//  "" before any): it changes when the node restarts.
const char *
    zcq_watcher_incarnation (zcq_watcher_t *self);

#ifdef __cplusplus
}
#endif

#endif
