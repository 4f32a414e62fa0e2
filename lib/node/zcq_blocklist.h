/*  =========================================================================
    zcq_blocklist - bounded bookkeeping of peers that send garbage, so that a
    node can stop answering one that keeps doing it

    ZeroMQ gives a ROUTER no way to close one peer's connection (and a peer
    that is cut off reconnects at once), so "dropping" a peer means: count
    the messages a node refuses from each routing id; a peer that has more
    than max_errors refused within window_ms is blocked for penalty_ms, and
    every message it sends meanwhile is discarded unread and unanswered. A
    blocked peer costs the node one hash lookup per message, no reply, no
    log line (one line when it is blocked).

    Only peers that sent something refused get an entry, and there are at
    most max_peers entries: when full, the least recently seen is forgotten.
    =========================================================================
*/

#ifndef ZCQ_BLOCKLIST_H_INCLUDED
#define ZCQ_BLOCKLIST_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_BLOCKLIST_MAX        10000   //  peers with an error record, per node thread
#define ZCQ_BLOCKLIST_MAX_ERRORS 100     //  refused messages allowed within the window
#define ZCQ_BLOCKLIST_WINDOW     10000   //  ms over which refused messages are counted
#define ZCQ_BLOCKLIST_PENALTY    30000   //  ms a peer over the limit stays blocked

typedef struct _zcq_blocklist_t zcq_blocklist_t;

//  Create the bookkeeping with its limits (see above).
zcq_blocklist_t *
    zcq_blocklist_new (size_t max_peers, unsigned max_errors, int64_t window_ms, int64_t penalty_ms);

//  Destroy it; nulls the caller's pointer; safe on NULL.
void
    zcq_blocklist_destroy (zcq_blocklist_t **self_p);

//  True if the peer (a socket tag and its routing id) is blocked at now
//  (zclock_mono () ms): discard its message.
bool
    zcq_blocklist_blocked (zcq_blocklist_t *self, const void *socket, zframe_t *routing_id,
                           int64_t now);

//  Count one refused message from the peer at now. Returns true if this
//  error blocked it (logged once, naming the endpoint).
bool
    zcq_blocklist_error (zcq_blocklist_t *self, const void *socket, zframe_t *routing_id, int64_t now,
                         const char *endpoint);

//  Peers with an error record (at most max_peers).
size_t
    zcq_blocklist_size (zcq_blocklist_t *self);

#ifdef __cplusplus
}
#endif

#endif
