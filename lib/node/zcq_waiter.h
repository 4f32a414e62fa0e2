/*  =========================================================================
    zcq_waiter - waits on a few ZeroMQ sockets with few system calls: the
    write node's loop (pipe, commands, a replica, a backup), the query
    node's (pipe, queries, its feeds' sockets)

    zpoller asks libzmq for every socket's events before and after each
    poll (a system call or two each, every wake-up). The waiter asks only
    about a socket that may hold messages its file descriptor does not
    announce: one touched (read or written) since it was last asked. Any
    other socket's ZMQ_FD is polled raw: libzmq signals it when commands
    reach the socket, and asking then (ZMQ_EVENTS) processes them.

    The caller's part of the contract: tell the waiter about every socket
    it sent to or received from outside what wait returned (touched); a
    socket wait returns counts as touched, until the caller says it read
    it empty (drained): a receive that found nothing leaves the next
    message to be announced by the fd, which spares asking it again.
    =========================================================================
*/

#ifndef ZCQ_WAITER_H_INCLUDED
#define ZCQ_WAITER_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_waiter_t zcq_waiter_t;

#define ZCQ_WAITER_MAX 8 //  sockets one waiter watches

//  Create a waiter on no sockets.
zcq_waiter_t *
    zcq_waiter_new (void);

//  Destroy a waiter (not its sockets); nulls the caller's pointer; safe on
//  NULL.
void
    zcq_waiter_destroy (zcq_waiter_t **self_p);

//  Watch a zsock_t or zactor_t (borrowed); it counts as touched. Returns
//  0, or -1 if ZCQ_WAITER_MAX are watched or it has no ZMQ_FD.
int
    zcq_waiter_add (zcq_waiter_t *self, void *sock);

//  Stop watching a socket (nothing if it is not watched).
void
    zcq_waiter_remove (zcq_waiter_t *self, void *sock);

//  The caller sent to or received from this watched socket: it may hold
//  messages its file descriptor will not announce (nothing if not watched).
void
    zcq_waiter_touched (zcq_waiter_t *self, void *sock);

//  The caller received from this watched socket until a receive without
//  waiting found nothing (EAGAIN), and has neither sent to it nor asked it
//  for its events since: its fd announces the next message, so the wait
//  need not ask it first (nothing if not watched).
void
    zcq_waiter_drained (zcq_waiter_t *self, void *sock);

//  Wait up to timeout ms (0: do not block, -1: forever) until a watched
//  socket has a message to read; returns it (as it was added, the sockets
//  taking turns when several have), or NULL on timeout or interruption.
void *
    zcq_waiter_wait (zcq_waiter_t *self, int timeout);

#ifdef __cplusplus
}
#endif

#endif
