/*  =========================================================================
    zcq_feed - the write node's events, in position order, with no holes:
    live from its PUB, repaired through its replay ROUTER when a position is
    missing (a dropped message, a late join, a restart)

    The feed delivers position p only after p-1. A live event that arrives
    early waits (bounded); a hole or a heartbeat that shows the write node
    ahead starts a replay of the missing range, one bounded batch at a time
    (the reader asks for the next batch only when it has taken the last, so
    the write node never queues more than one batch for it). States:

        live       expecting the next position from PUB
        repairing  a REPLAY is out; live events wait in order

    Poll both sockets; call zcq_feed_recv on the one that is readable, then
    take events with zcq_feed_next until it returns NULL; call zcq_feed_tick
    at least every 100 ms so that lost replay requests are sent again.
    =========================================================================
*/

#ifndef ZCQ_FEED_H_INCLUDED
#define ZCQ_FEED_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_feed_t zcq_feed_t;

//  Create a feed that delivers from position next (1: the whole log; 0: from
//  whatever the write node publishes after we join).
zcq_feed_t *
    zcq_feed_new (const char *events_endpoint, const char *replay_endpoint, uint64_t next);

//  Destroy the feed; nulls the caller's pointer.
void
    zcq_feed_destroy (zcq_feed_t **self_p);

//  The SUB and DEALER sockets to poll (borrowed).
zsock_t *
    zcq_feed_events_sock (zcq_feed_t *self);
zsock_t *
    zcq_feed_replay_sock (zcq_feed_t *self);

//  Read one message from a readable feed socket.
void
    zcq_feed_recv (zcq_feed_t *self, zsock_t *which);

//  Take the next event in order (a valid EVENT; the caller destroys it), or
//  NULL if none is ready.
zcq_msg_t *
    zcq_feed_next (zcq_feed_t *self);

//  Timers: resend a replay request that got no answer.
void
    zcq_feed_tick (zcq_feed_t *self);

//  Deliver again from position next (the caller could not use what it took).
void
    zcq_feed_rewind (zcq_feed_t *self, uint64_t next);

//  Next position the feed will deliver.
uint64_t
    zcq_feed_position (zcq_feed_t *self);

//  Highest position the write node is known to have stored.
uint64_t
    zcq_feed_head (zcq_feed_t *self);

//  zclock_mono () when the write node was last heard from, 0 if never.
int64_t
    zcq_feed_last_heard (zcq_feed_t *self);

//  Heartbeat interval the write node announced, ms (0 until heard).
uint32_t
    zcq_feed_interval (zcq_feed_t *self);

//  "live" or "repairing".
const char *
    zcq_feed_state (zcq_feed_t *self);

//  Events received through replay since creation.
uint64_t
    zcq_feed_replayed (zcq_feed_t *self);

#ifdef __cplusplus
}
#endif

#endif
