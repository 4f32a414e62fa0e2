/*  =========================================================================
    zcq_waiter - waits on a few ZeroMQ sockets with few system calls (see
    zcq_waiter.h)
    =========================================================================
*/

#include "zcq_waiter.h"

#include <poll.h>

typedef struct {
    void *sock;   //  as added (zsock_t or zactor_t)
    void *handle; //  its libzmq socket
    int fd;       //  its ZMQ_FD
    bool touched; //  may hold messages its fd does not announce: ask first
} s_watch_t;

struct _zcq_waiter_t {
    s_watch_t watch [ZCQ_WAITER_MAX]; //  the sockets, in the order added
    size_t count;                     //  watched
    size_t next;                      //  whose turn it is to be asked first
};

zcq_waiter_t *
zcq_waiter_new (void)
{
    zcq_waiter_t *self = (zcq_waiter_t *) zmalloc (sizeof (zcq_waiter_t));
    assert (self);
    return self;
}

void
zcq_waiter_destroy (zcq_waiter_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
zcq_waiter_add (zcq_waiter_t *self, void *sock)
{
    assert (self);
    assert (sock);
    if (self->count == ZCQ_WAITER_MAX) {
        return -1;
    }
    void *handle = zsock_resolve (sock);
    int fd = -1;
    size_t size = sizeof (fd);
    if (!handle || zmq_getsockopt (handle, ZMQ_FD, &fd, &size) != 0) {
        return -1;
    }
    self->watch [self->count++] = (s_watch_t){sock, handle, fd, true};
    return 0;
}

void
zcq_waiter_remove (zcq_waiter_t *self, void *sock)
{
    assert (self);
    for (size_t index = 0; index < self->count; index++) {
        if (self->watch [index].sock == sock) {
            memmove (&self->watch [index], &self->watch [index + 1],
                     (self->count - index - 1) * sizeof (s_watch_t));
            self->count--;
            self->next = 0;
            return;
        }
    }
}

//  Mark sock's watch touched (asked before the waiter sleeps) or not.
static void
s_mark (zcq_waiter_t *self, void *sock, bool touched)
{
    assert (self);
    for (size_t index = 0; index < self->count; index++) {
        if (self->watch [index].sock == sock) {
            self->watch [index].touched = touched;
        }
    }
}

void
zcq_waiter_touched (zcq_waiter_t *self, void *sock)
{
    s_mark (self, sock, true);
}

void
zcq_waiter_drained (zcq_waiter_t *self, void *sock)
{
    s_mark (self, sock, false);
}

//  The first touched socket (from the one whose turn it is) that has a
//  message, or NULL; the others asked are untouched now.
static void *
s_readable (zcq_waiter_t *self)
{
    for (size_t turn = 0; turn < self->count; turn++) {
        size_t index = (self->next + turn) % self->count;
        s_watch_t *watch = &self->watch [index];
        if (!watch->touched) {
            continue;
        }
        uint32_t events = 0;
        size_t size = sizeof (events);
        if (zmq_getsockopt (watch->handle, ZMQ_EVENTS, &events, &size) == 0
            && (events & ZMQ_POLLIN)) {
            self->next = (index + 1) % self->count;
            return watch->sock; //  stays touched: the caller reads it
        }
        watch->touched = false;
    }
    return NULL;
}

void *
zcq_waiter_wait (zcq_waiter_t *self, int timeout)
{
    assert (self);
    void *sock = s_readable (self);
    if (sock || self->count == 0) {
        return sock;
    }
    struct pollfd fds [ZCQ_WAITER_MAX];
    for (size_t index = 0; index < self->count; index++) {
        fds [index] = (struct pollfd){.fd = self->watch [index].fd, .events = POLLIN};
    }
    //  Woken by a socket's fd (or not, when the commands it got were not
    //  messages): ask the sockets signalled, and wait again if none has
    //  one, for what is left of the timeout
    int64_t deadline = timeout > 0 ? zclock_mono () + timeout : 0;
    while (true) {
        int rc = poll (fds, (nfds_t) self->count, timeout);
        if (rc <= 0) {
            return NULL; //  timeout, or a signal ($TERM comes on the pipe)
        }
        for (size_t index = 0; index < self->count; index++) {
            if (fds [index].revents) {
                self->watch [index].touched = true;
            }
        }
        sock = s_readable (self);
        if (sock) {
            return sock;
        }
        if (timeout > 0) {
            timeout = (int) (deadline - zclock_mono ());
            if (timeout <= 0) {
                return NULL;
            }
        }
        else if (timeout == 0) {
            return NULL;
        }
    }
}
