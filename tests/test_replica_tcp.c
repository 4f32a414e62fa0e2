/*  =========================================================================
    test_replica_tcp - Raft's TCP transport, wrapped (zcq_replica_tcp): the
    transport is driven as libraft drives it (init, listen, connect, close)
    on a real loop and a real 127.0.0.1 port; both ends of a connection it
    makes carry TCP_USER_TIMEOUT, keepalive and TCP_NODELAY, the callbacks
    reach the caller with its own request and transport, a refused connect
    is reported, and closing leaves nothing on the loop
    =========================================================================
*/

#include "zcq_replica_tcp.h"
#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define USER_TIMEOUT 1500 //  ms given to the transport
#define BOUND        5000 //  ms any step may take

typedef struct {
    uv_loop_t loop;                      //  the loop the transport runs on
    uv_timer_t bound;                    //  stops the loop after BOUND ms
    zcq_replica_tcp_t *tcp;              //  the transport under test
    struct raft_uv_transport *transport; //  its face
    struct raft_uv_connect request;      //  our connect request
    char address [64];                   //  127.0.0.1:port
    int connected;                       //  connect callbacks seen
    int connect_status;                  //  the last one's status
    uv_stream_t *outgoing;               //  the connected stream, or NULL
    int accepted;                        //  accept callbacks seen
    uv_stream_t *incoming;               //  the accepted stream, or NULL
    raft_id accepted_id;                 //  the id the other end gave
    bool closed;                         //  the close callback fired
} tcp_test_t;

static void
s_stop (uv_timer_t *timer)
{
    uv_stop (timer->loop);
}

//  Run the loop until done says so or BOUND ms pass
static void
s_run_until (tcp_test_t *self, bool (*done) (tcp_test_t *))
{
    uv_timer_start (&self->bound, s_stop, BOUND, 0);
    while (!done (self) && uv_is_active ((uv_handle_t *) &self->bound)) {
        uv_run (&self->loop, UV_RUN_ONCE);
    }
    uv_timer_stop (&self->bound);
}

static void
s_connected (struct raft_uv_connect *request, uv_stream_t *stream, int status)
{
    tcp_test_t *self = (tcp_test_t *) request->data;
    assert_ptr_equal (request, &self->request);
    self->connected++;
    self->connect_status = status;
    self->outgoing = stream;
}

static void
s_accepted (struct raft_uv_transport *transport, raft_id id, const char *address,
            uv_stream_t *stream)
{
    tcp_test_t *self = (tcp_test_t *) transport->data;
    assert_ptr_equal (transport, self->transport);
    assert_non_null (address);
    self->accepted++;
    self->accepted_id = id;
    self->incoming = stream;
}

static void
s_transport_closed (struct raft_uv_transport *transport)
{
    ((tcp_test_t *) transport->data)->closed = true;
}

static void
s_stream_closed (uv_handle_t *handle)
{
    raft_free (handle); //  libraft allocated it; ours once handed over
}

static bool
s_both_ends (tcp_test_t *self)
{
    return self->connected && self->accepted;
}

static bool
s_connect_done (tcp_test_t *self)
{
    return self->connected > 0;
}

static bool
s_closed (tcp_test_t *self)
{
    return self->closed;
}

//  A transport on a free port, initialised as member 1 and listening
static tcp_test_t *
s_tcp_test_new (void)
{
    tcp_test_t *self = (tcp_test_t *) zmalloc (sizeof (tcp_test_t));
    assert_int_equal (uv_loop_init (&self->loop), 0);
    uv_timer_init (&self->loop, &self->bound);
    snprintf (self->address, sizeof self->address, "127.0.0.1:%d", zcq_testkit_free_port ());
    self->tcp = zcq_replica_tcp_new (&self->loop, USER_TIMEOUT);
    assert_non_null (self->tcp);
    self->transport = zcq_replica_tcp_transport (self->tcp);
    self->transport->data = self; //  as raft_uv_init does with its own
    assert_int_equal (self->transport->init (self->transport, 1, self->address), 0);
    assert_int_equal (self->transport->listen (self->transport, s_accepted), 0);
    self->request.data = self;
    return self;
}

//  Close every stream and the transport; nothing may be left on the loop
static void
s_tcp_test_destroy (tcp_test_t **self_p)
{
    tcp_test_t *self = *self_p;
    if (self->outgoing) {
        uv_close ((uv_handle_t *) self->outgoing, s_stream_closed);
    }
    if (self->incoming) {
        uv_close ((uv_handle_t *) self->incoming, s_stream_closed);
    }
    self->transport->close (self->transport, s_transport_closed);
    s_run_until (self, s_closed);
    assert_true (self->closed);
    zcq_replica_tcp_destroy (&self->tcp);
    zcq_replica_tcp_destroy (&self->tcp);
    assert_null (self->tcp);
    uv_close ((uv_handle_t *) &self->bound, NULL);
    uv_run (&self->loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&self->loop), 0);
    free (self);
    *self_p = NULL;
}

//  The socket options a stream of the transport carries
static void
s_assert_tuned (uv_stream_t *stream)
{
    assert_non_null (stream);
    uv_os_fd_t fd;
    assert_int_equal (uv_fileno ((uv_handle_t *) stream, &fd), 0);
    unsigned timeout = 0;
    int keepalive = 0, interval = 0, count = 0;
    socklen_t size = sizeof timeout;
    assert_int_equal (getsockopt (fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, &size), 0);
    assert_int_equal (timeout, USER_TIMEOUT);
    size = sizeof keepalive;
    assert_int_equal (getsockopt (fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &size), 0);
    assert_int_equal (keepalive, 1);
    size = sizeof interval;
    assert_int_equal (getsockopt (fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, &size), 0);
    assert_int_equal (interval, 1);
    size = sizeof count;
    assert_int_equal (getsockopt (fd, IPPROTO_TCP, TCP_KEEPCNT, &count, &size), 0);
    assert_true (count >= 2); //  enough probes for the user timeout to decide
    int nodelay = 0;
    size = sizeof nodelay;
    assert_int_equal (getsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &size), 0);
    assert_int_equal (nodelay, 1); //  no message waits for the peer's delayed ACK
}

static void
test_both_ends_of_a_connection_give_up_on_a_silent_peer (void **state)
{
    (void) state;
    tcp_test_t *self = s_tcp_test_new ();
    assert_int_equal (self->transport->connect (self->transport, &self->request, 1,
                                                self->address, s_connected),
                      0);
    s_run_until (self, s_both_ends);
    assert_int_equal (self->connected, 1);
    assert_int_equal (self->connect_status, 0);
    assert_int_equal (self->accepted, 1);
    assert_int_equal (self->accepted_id, 1); //  libraft's handshake went through
    s_assert_tuned (self->outgoing);
    s_assert_tuned (self->incoming);
    s_tcp_test_destroy (&self);
}

static void
test_a_refused_connect_reaches_the_caller (void **state)
{
    (void) state;
    tcp_test_t *self = s_tcp_test_new ();
    char nobody [64];
    snprintf (nobody, sizeof nobody, "127.0.0.1:%d", zcq_testkit_free_port ());
    assert_int_equal (
        self->transport->connect (self->transport, &self->request, 2, nobody, s_connected), 0);
    s_run_until (self, s_connect_done);
    assert_int_equal (self->connected, 1);
    assert_int_not_equal (self->connect_status, 0);
    assert_null (self->outgoing);
    assert_int_equal (self->accepted, 0);
    s_tcp_test_destroy (&self);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_both_ends_of_a_connection_give_up_on_a_silent_peer),
        cmocka_unit_test (test_a_refused_connect_reaches_the_caller),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
