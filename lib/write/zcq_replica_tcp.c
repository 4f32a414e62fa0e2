/*  =========================================================================
    zcq_replica_tcp - Raft's TCP transport, with connections that notice a
    peer that went silent (see zcq_replica_tcp.h)

    The outer transport is what Raft sees: raft_uv_init sets its `data`,
    its `impl` is this object. Each call goes to libraft's transport (the
    inner one, whose `data` is this object) with our own callback, which
    tunes the new connection's socket and hands it on to Raft's.
    =========================================================================
*/

#include "zcq_replica_tcp.h"

#include <czmq.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define KEEPALIVE_IDLE     1 //  s a connection is idle before the first probe
#define KEEPALIVE_INTERVAL 1 //  s between probes

struct _zcq_replica_tcp_t {
    struct raft_uv_transport outer;  //  given to Raft (its data is Raft's, its impl us)
    struct raft_uv_transport inner;  //  libraft's TCP transport (its data is us)
    unsigned user_timeout;           //  ms: TCP_USER_TIMEOUT of every connection
    raft_uv_accept_cb accept;        //  Raft's callback for accepted connections
    raft_uv_transport_close_cb done; //  Raft's callback once the transport is closed
    bool warned;                     //  a connection could not be tuned: said once
};

//  One connect request of Raft's, passed on to the inner transport
typedef struct {
    struct raft_uv_connect request; //  ours, given to the inner transport (data: this)
    zcq_replica_tcp_t *self;        //  the transport
    struct raft_uv_connect *outer;  //  Raft's request
    raft_uv_connect_cb cb;          //  Raft's callback
} s_connect_t;

//  Make a new connection give up on a silent peer, and send each Raft
//  message at once. A connection that cannot be tuned is still used, as
//  libraft would have: logged once.
static void
s_tune (zcq_replica_tcp_t *self, struct uv_stream_s *stream)
{
    if (!stream || stream->type != UV_TCP) {
        return;
    }
    //  libraft leaves Nagle's algorithm on: a message written while an
    //  earlier one is unacknowledged waited for the peer's delayed ACK
    //  (40 ms on Linux), which set the group's p99 and its throughput
    if (uv_tcp_nodelay ((uv_tcp_t *) stream, 1) != 0 && !self->warned) {
        zsys_warning ("write group: cannot set TCP_NODELAY on a Raft connection (%s)",
                      strerror (errno));
        self->warned = true;
    }
    uv_os_fd_t fd;
    unsigned timeout = self->user_timeout;
    int interval = KEEPALIVE_INTERVAL;
    //  Enough probes to reach the user timeout, which then decides
    int count = (int) (timeout / 1000 / KEEPALIVE_INTERVAL) + 1;
    if (uv_fileno ((uv_handle_t *) stream, &fd) != 0
        || setsockopt (fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof timeout) != 0
        || uv_tcp_keepalive ((uv_tcp_t *) stream, 1, KEEPALIVE_IDLE) != 0
        || setsockopt (fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) != 0
        || setsockopt (fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) != 0) {
        if (!self->warned) {
            zsys_warning ("write group: cannot set a Raft connection's TCP timeouts (%s); "
                          "a cut peer may then be noticed only after minutes",
                          strerror (errno));
            self->warned = true;
        }
    }
}

static void
s_connected (struct raft_uv_connect *request, struct uv_stream_s *stream, int status)
{
    s_connect_t *connect = (s_connect_t *) request->data;
    struct raft_uv_connect *outer = connect->outer;
    raft_uv_connect_cb cb = connect->cb;
    if (status == 0) {
        s_tune (connect->self, stream);
    }
    free (connect);
    cb (outer, stream, status);
}

static int
s_connect (struct raft_uv_transport *transport, struct raft_uv_connect *request, raft_id id,
           const char *address, raft_uv_connect_cb cb)
{
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) transport->impl;
    s_connect_t *connect = (s_connect_t *) calloc (1, sizeof (s_connect_t));
    if (!connect) {
        snprintf (transport->errmsg, sizeof transport->errmsg, "out of memory");
        return RAFT_NOMEM;
    }
    connect->request.data = connect;
    connect->self = self;
    connect->outer = request;
    connect->cb = cb;
    request->cb = cb;
    int rc = self->inner.connect (&self->inner, &connect->request, id, address, s_connected);
    if (rc != 0) {
        snprintf (transport->errmsg, sizeof transport->errmsg, "%s", self->inner.errmsg);
        free (connect);
    }
    return rc;
}

static void
s_accepted (struct raft_uv_transport *inner, raft_id id, const char *address,
            struct uv_stream_s *stream)
{
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) inner->data;
    s_tune (self, stream);
    self->accept (&self->outer, id, address, stream);
}

static int
s_listen (struct raft_uv_transport *transport, raft_uv_accept_cb cb)
{
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) transport->impl;
    self->accept = cb;
    int rc = self->inner.listen (&self->inner, s_accepted);
    if (rc != 0) {
        snprintf (transport->errmsg, sizeof transport->errmsg, "%s", self->inner.errmsg);
    }
    return rc;
}

static int
s_init (struct raft_uv_transport *transport, raft_id id, const char *address)
{
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) transport->impl;
    int rc = self->inner.init (&self->inner, id, address);
    if (rc != 0) {
        snprintf (transport->errmsg, sizeof transport->errmsg, "%s", self->inner.errmsg);
    }
    return rc;
}

static void
s_closed (struct raft_uv_transport *inner)
{
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) inner->data;
    if (self->done) {
        self->done (&self->outer);
    }
}

static void
s_close (struct raft_uv_transport *transport, raft_uv_transport_close_cb cb)
{
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) transport->impl;
    self->done = cb;
    self->inner.close (&self->inner, s_closed);
}

zcq_replica_tcp_t *
zcq_replica_tcp_new (uv_loop_t *loop, unsigned user_timeout_ms)
{
    assert (loop);
    zcq_replica_tcp_t *self = (zcq_replica_tcp_t *) zmalloc (sizeof (zcq_replica_tcp_t));
    assert (self);
    int rc = raft_uv_tcp_init (&self->inner, loop);
    if (rc != 0) {
        zsys_error ("write group: cannot make Raft's TCP transport (%s)", raft_strerror (rc));
        free (self);
        return NULL;
    }
    self->inner.data = self;
    self->user_timeout = user_timeout_ms ? user_timeout_ms : 1;
    self->outer.impl = self;
    self->outer.init = s_init;
    self->outer.listen = s_listen;
    self->outer.connect = s_connect;
    self->outer.close = s_close;
    return self;
}

struct raft_uv_transport *
zcq_replica_tcp_transport (zcq_replica_tcp_t *self)
{
    assert (self);
    return &self->outer;
}

void
zcq_replica_tcp_destroy (zcq_replica_tcp_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_replica_tcp_t *self = *self_p;
        raft_uv_tcp_close (&self->inner);
        free (self);
        *self_p = NULL;
    }
}
