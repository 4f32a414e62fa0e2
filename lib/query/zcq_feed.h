/*  =========================================================================
    zcq_feed - the write node's events, in position order, with no holes:
    live from its PUB, repaired through its replay ROUTER when a position is
    missing (a dropped message, a late join, a restart)

    The feed delivers position p only after p-1, each position once. It is a
    small state machine (protocol/zcqrs-v1.md, section 10.7):

        live       nothing missing: EVENT p == expected is taken at once
        repairing  a position is missing (an early EVENT, or a head ahead
                   of us): REPLAY batches fill the hole while live events
                   wait in order; back to live when nothing is missing
        diverged   the write node's log ends below what we already took (its
                   log was wiped or restored from an older copy), or holds
                   another event where the owner's last applied one was
                   (replaced): nothing more is taken from it, since its
                   positions now name other events; or it is another
                   incarnation of its cluster (restored from a backup).
                   Left only by a new feed (restart, rebuild).
        refused    the write node is of another cluster or runs another
                   domain (zcq_feed_set_origin): nothing is taken from it.

    Replay is credit-based: one REPLAY out at a time, and the next is sent
    as soon as the events ready for the owner are fewer than the credit
    (default two batches), so the write node reads the next batch while the
    owner applies what it has, and never holds more than one batch for us.
    With a window (zcq_feed_set_window), an unfiltered feed far behind keeps
    up to that many REPLAYs out, for consecutive batches, as long as the
    events ready and asked for stay within the credit: the write node then
    reads batch after batch while the owner applies a large one.

    Beside the state, the feed watches the write node's heartbeats and its
    connection: silent for more than `silence` heartbeat intervals, or its
    connection lost, it is unreachable; when it is heard again (or connected
    again) a replay that was out is asked again at once (a restarted write
    node has forgotten it).

    Poll the three sockets; call zcq_feed_recv on the one that is readable, then
    take events with zcq_feed_next until it returns NULL; call zcq_feed_tick
    at least every 100 ms for the timers.
    =========================================================================
*/

#ifndef ZCQ_FEED_H_INCLUDED
#define ZCQ_FEED_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_feed_t zcq_feed_t;

#define ZCQ_FEED_FINGERPRINT 20 //  bytes of an event's fingerprint (SHA-1)

//  States of the feed (see above).
typedef enum {
    ZCQ_FEED_LIVE = 0,
    ZCQ_FEED_REPAIRING,
    ZCQ_FEED_DIVERGED,
    ZCQ_FEED_REFUSED //  the write node is of another cluster or domain: final
} zcq_feed_state_t;

//  Create a feed that delivers from position next (1: the whole log; 0: from
//  whatever the write node publishes after we join).
zcq_feed_t *
    zcq_feed_new (const char *events_endpoint, const char *replay_endpoint, uint64_t next);

//  Create a feed of the events a filter takes (a REPLAY message's stream,
//  category, types and since, copied; NULL or all empty: every event; with
//  since, from the first position at or after that time, if above next). Live events
//  are filtered at the write node's PUB by topic (zcq_msg_filter_subscribe)
//  and holes are filled by filtered REPLAYs, whose batches say which
//  positions they cover: the feed still delivers each event it takes once,
//  in order, and none that it takes is skipped, although the positions it
//  delivers are not consecutive.
zcq_feed_t *
    zcq_feed_new_filtered (const char *events_endpoint, const char *replay_endpoint,
                           uint64_t next, zcq_msg_t *filter);

//  Destroy the feed; nulls the caller's pointer.
void
    zcq_feed_destroy (zcq_feed_t **self_p);

//  The SUB and DEALER sockets to poll (borrowed).
zsock_t *
    zcq_feed_events_sock (zcq_feed_t *self);
zsock_t *
    zcq_feed_replay_sock (zcq_feed_t *self);

//  The PAIR that reports the replay connection's events (borrowed; NULL if
//  ZeroMQ could not monitor it): poll it with the other two.
zsock_t *
    zcq_feed_monitor_sock (zcq_feed_t *self);

//  Set the SUB's receive high-water mark (messages; default 100000); the
//  SUB connects again to apply it. Call right after zcq_feed_new.
void
    zcq_feed_set_rcvhwm (zcq_feed_t *self, int hwm);

//  Heartbeat intervals of silence after which the write node counts as
//  unreachable (default 3).
void
    zcq_feed_set_silence (zcq_feed_t *self, int beats);

//  Events the owner may hold ready before replay waits (default 2000).
void
    zcq_feed_set_credit (zcq_feed_t *self, size_t events);

//  Most REPLAYs out at once (default 1, at most 16): after the one for the
//  first missing position, an unfiltered feed asks for the batches that
//  follow while the write node is known to hold them and the events ready
//  plus a whole batch for each REPLAY out stay below the credit. Answers
//  are taken in order; one with fewer events than asked leaves a hole that
//  the events after it wait in the hold for, as early live events do.
void
    zcq_feed_set_window (zcq_feed_t *self, size_t requests);

//  Milliseconds a REPLAY may go unanswered (default 2000; at least 1). Then
//  the feed gives it up (zcq_feed_replay_timeouts counts it), ignores its
//  answer if one still comes, and sends a new one as soon as a position is
//  known to be missing.
void
    zcq_feed_set_replay_timeout (zcq_feed_t *self, int milliseconds);

//  Check where the write node's words come from (spec section 10.16): a
//  HEARTBEAT or EVENTS naming another domain than domain, or another
//  cluster than cluster (NULL or "": the first one heard), makes the feed
//  refused; another incarnation of that cluster than the first heard makes
//  it diverged (a restored log). Until one of the right origin comes,
//  zcq_feed_next delivers nothing. Call right after zcq_feed_new.
void
    zcq_feed_set_origin (zcq_feed_t *self, const char *domain, const char *cluster);

//  Why the feed is diverged or refused, "" otherwise.
const char *
    zcq_feed_reason (zcq_feed_t *self);

//  The write node's cluster and incarnation ids as heard (or given), ""
//  until known.
const char *
    zcq_feed_cluster (zcq_feed_t *self);
const char *
    zcq_feed_incarnation (zcq_feed_t *self);

//  The owner applied every event up to position, and the event there has
//  this fingerprint. With check (at start), and after every reconnect or
//  return from silence, the feed checks before it delivers anything more
//  that the write node's log holds that very event at that position; if
//  not, the feed is diverged.
void
    zcq_feed_applied (zcq_feed_t *self, uint64_t position,
                      const byte fingerprint [ZCQ_FEED_FINGERPRINT], bool check);

//  The fingerprint of an event: SHA-1 over its position, version, time,
//  stream, type and command id. The same event gives the same fingerprint
//  in any log; another event at that position, almost surely another.
void
    zcq_feed_fingerprint (zcq_msg_t *event, byte fingerprint [ZCQ_FEED_FINGERPRINT]);

//  Read one message from a readable feed socket.
void
    zcq_feed_recv (zcq_feed_t *self, zsock_t *which);

//  Read one message from a feed socket if it holds one, without waiting.
//  Returns true if a message was taken (false also for the monitor socket,
//  whose one event is handled): call it again until it returns false to
//  drain a burst without asking the socket whether it is readable first.
bool
    zcq_feed_recv_ready (zcq_feed_t *self, zsock_t *which);

//  Take the next event in order (a valid EVENT; the caller destroys it), or
//  NULL if none is ready.
zcq_msg_t *
    zcq_feed_next (zcq_feed_t *self);

//  Timers: give up a replay request that got no answer in time (and ask
//  again if something is missing), notice silence.
void
    zcq_feed_tick (zcq_feed_t *self);

//  Deliver again from position next (the caller could not use what it took).
void
    zcq_feed_rewind (zcq_feed_t *self, uint64_t next);

//  Next position the feed will deliver.
uint64_t
    zcq_feed_position (zcq_feed_t *self);

//  Last position the feed has dealt with: everything up to it that it
//  takes is delivered or ready (0: none yet). Past the last position it
//  delivered when a filter skips what follows.
uint64_t
    zcq_feed_covered (zcq_feed_t *self);

//  Highest position the write node is known to have stored.
uint64_t
    zcq_feed_head (zcq_feed_t *self);

//  zclock_mono () when the write node was last heard from, 0 if never.
int64_t
    zcq_feed_last_heard (zcq_feed_t *self);

//  Heartbeat interval the write node announced, ms (0 until heard).
uint32_t
    zcq_feed_interval (zcq_feed_t *self);

//  True if the write node was heard from within the silence limit (as of
//  the last zcq_feed_tick or message).
bool
    zcq_feed_reachable (zcq_feed_t *self);

//  Current state, and its name: "live", "repairing", "diverged" or "refused".
zcq_feed_state_t
    zcq_feed_state (zcq_feed_t *self);
const char *
    zcq_feed_state_name (zcq_feed_t *self);

//  True while a REPLAY is out (more events are on their way).
bool
    zcq_feed_replaying (zcq_feed_t *self);

//  Events ready for zcq_feed_next.
size_t
    zcq_feed_ready (zcq_feed_t *self);

//  Events received through replay since creation.
uint64_t
    zcq_feed_replayed (zcq_feed_t *self);

//  Times the write node went silent past the limit, or its connection was
//  lost, since creation.
uint64_t
    zcq_feed_outages (zcq_feed_t *self);

//  Times the connection to the write node came back after a loss.
uint64_t
    zcq_feed_reconnects (zcq_feed_t *self);

//  REPLAY requests sent since creation (each a send on the replay socket,
//  which a caller polling that socket's fd must know of: zcq_waiter.h).
uint64_t
    zcq_feed_requests (zcq_feed_t *self);

//  REPLAY requests given up after the replay timeout since creation.
uint64_t
    zcq_feed_replay_timeouts (zcq_feed_t *self);

//  HEARTBEATs received since creation.
uint64_t
    zcq_feed_heartbeats (zcq_feed_t *self);

#ifdef __cplusplus
}
#endif

#endif
