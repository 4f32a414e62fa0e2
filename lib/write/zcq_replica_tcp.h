/*  =========================================================================
    zcq_replica_tcp - Raft's TCP transport, with connections that notice a
    peer that went silent

    libraft's own TCP transport (raft_uv_tcp_init) keeps a connection as
    long as the kernel does. When a link is cut so that packets are dropped
    (not refused), a connection with unacknowledged data stays "connected"
    until TCP gives up retransmitting, which takes minutes: heartbeats and
    votes queue in the kernel meanwhile, and once the link is back they
    leave only at the next retransmission, seconds later. A member healed
    from a cut can then neither hear nor answer the others, and when the
    leader is cut next, nobody gets a majority for many seconds.

    This transport wraps libraft's (its public raft_uv_transport interface,
    nothing of its inside): every connection it makes or accepts gets
    TCP_USER_TIMEOUT (data unacknowledged that long closes the connection)
    and TCP keepalive (an idle connection is probed every second), so a
    dead connection fails within user_timeout_ms, and Raft connects again
    (raft_uv_set_connect_retry_delay says how soon). It also sets
    TCP_NODELAY, which libraft does not: with Nagle's algorithm a Raft
    message written behind an unacknowledged one waits for the peer's
    delayed ACK (40 ms on Linux).

        zcq_replica_tcp_t *tcp = zcq_replica_tcp_new (&loop, 2000);
        raft_uv_init (&io, &loop, folder, zcq_replica_tcp_transport (tcp));
        ...
        //  once Raft is closed (raft_close's callback, then raft_uv_close):
        zcq_replica_tcp_destroy (&tcp);
    =========================================================================
*/

#ifndef ZCQ_REPLICA_TCP_H_INCLUDED
#define ZCQ_REPLICA_TCP_H_INCLUDED

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_replica_tcp_t zcq_replica_tcp_t;

//  A TCP transport for Raft on loop whose connections close after
//  user_timeout_ms (at least 1) of unacknowledged data or unanswered
//  keepalive probes. Returns NULL if libraft's transport cannot be made
//  (logged).
zcq_replica_tcp_t *
    zcq_replica_tcp_new (uv_loop_t *loop, unsigned user_timeout_ms);

//  The transport to give raft_uv_init; borrowed, valid until destroy.
struct raft_uv_transport *
    zcq_replica_tcp_transport (zcq_replica_tcp_t *self);

//  Destroy the transport: after Raft closed it (raft_close's callback), or
//  if Raft never used it; safe to call twice; nulls the caller's pointer.
void
    zcq_replica_tcp_destroy (zcq_replica_tcp_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
