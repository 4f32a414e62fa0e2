/*  =========================================================================
    zcq_upcast - raise stored events to their current schema versions (see
    zcq_upcast.h)

    Raising is a walk down a tree: each upcast event's children are what
    its upcaster emitted, one version up. Each depth has its own decision,
    so that the events of one level stay put while the next level is made.
    =========================================================================
*/

#include "zcq_upcast.h"
#include "zcq_event.h"
#include "zcq_mpack.h"

#include <stdarg.h>

struct _zcq_upcast_t {
    const zcq_domain_t *domain;                //  its schemas and upcasters (borrowed)
    zcq_decision_t *levels [ZCQ_UPCAST_DEPTH]; //  what each depth's upcaster emitted
    size_t made;                               //  events handed to fn in this call
    char error [ZCQ_MAX_NAME + 256];           //  why the last call failed, or ""
};

zcq_upcast_t *
zcq_upcast_new (const zcq_domain_t *domain)
{
    assert (domain);
    zcq_upcast_t *self = (zcq_upcast_t *) zmalloc (sizeof (zcq_upcast_t));
    assert (self);
    self->domain = domain;
    return self;
}

void
zcq_upcast_destroy (zcq_upcast_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_upcast_t *self = *self_p;
        for (size_t depth = 0; depth < ZCQ_UPCAST_DEPTH; depth++) {
            zcq_decision_destroy (&self->levels [depth]);
        }
        free (self);
        *self_p = NULL;
    }
}

static int s_fail (zcq_upcast_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Say why the call failed; returns -1.
static int
s_fail (zcq_upcast_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
    return -1;
}

//  Hand the event to fn, or raise it one version and do the same with each
//  event it becomes.
static int
s_raise (zcq_upcast_t *self, const zcq_event_t *event, size_t depth, zcq_upcast_each_fn *fn,
         void *arg)
{
    const zcq_upcaster_t *upcaster =
        zcq_domain_upcaster (self->domain, event->type, event->schema);
    if (!upcaster) {
        if (++self->made > ZCQ_MAX_EVENTS) {
            return s_fail (self, "upcasting event %" PRIu64 " made more than %d events",
                           event->position, ZCQ_MAX_EVENTS);
        }
        return fn (event, arg);
    }
    if (depth == ZCQ_UPCAST_DEPTH) {
        return s_fail (self, "upcasting event %" PRIu64 " went more than %d versions up",
                       event->position, ZCQ_UPCAST_DEPTH);
    }
    if (!self->levels [depth]) {
        self->levels [depth] = zcq_decision_new ();
    }
    zcq_decision_t *out = self->levels [depth];
    zcq_decision_reset (out);
    upcaster->upcast (event, out);
    if (zcq_decision_status (out) != ZCQ_ACCEPTED) {
        return s_fail (self,
                       "the upcaster of '%.128s' from %u refused event %" PRIu64 ": %.100s",
                       event->type, event->schema, event->position, zcq_decision_reason (out));
    }
    for (size_t index = 0; index < zcq_decision_count (out); index++) {
        zcq_event_t next = *event;
        next.type = zcq_decision_event_type (out, index);
        next.schema = zcq_decision_event_schema (out, index);
        if (next.schema == 0) {
            next.schema = streq (next.type, event->type) ? event->schema + 1 : 1;
        }
        size_t size;
        const byte *data = zcq_decision_event_data (out, index, &size);
        msgpack_unpacked unpacked;
        if (!*next.type || zcq_mpack_unpack (data, size, &unpacked) != 0) {
            return s_fail (self,
                           "the upcaster of '%.128s' from %u made event %zu of %" PRIu64
                           " without a type or one msgpack map",
                           event->type, event->schema, index, event->position);
        }
        if (unpacked.data.type != MSGPACK_OBJECT_MAP) {
            msgpack_unpacked_destroy (&unpacked);
            return s_fail (self,
                           "the upcaster of '%.128s' from %u made event %zu of %" PRIu64
                           " with data that is not a map",
                           event->type, event->schema, index, event->position);
        }
        next.data = &unpacked.data;
        int rc = s_raise (self, &next, depth + 1, fn, arg);
        msgpack_unpacked_destroy (&unpacked);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int
zcq_upcast_event (zcq_upcast_t *self, const zcq_event_t *event, zcq_upcast_each_fn *fn,
                  void *arg)
{
    assert (self);
    assert (event);
    assert (fn);
    self->error [0] = 0;
    self->made = 0;
    return s_raise (self, event, 0, fn, arg);
}

int
zcq_upcast_msg (zcq_upcast_t *self, zcq_msg_t *msg, zcq_upcast_each_fn *fn, void *arg)
{
    assert (self);
    assert (msg);
    zcq_event_data_t data;
    zcq_event_t event;
    if (zcq_event_from_msg (&event, msg, &data) != 0) {
        self->error [0] = 0;
        return s_fail (self, "event %" PRIu64 " has data that is not one msgpack map",
                       zcq_msg_position (msg));
    }
    //  An event whose data its stream's deletion erased has nothing to
    //  raise: upcasters would read defaults into it (protocol 10.13)
    int rc =
        zcq_msg_deleted (msg) ? fn (&event, arg) : zcq_upcast_event (self, &event, fn, arg);
    zcq_event_data_destroy (&data);
    return rc;
}

const char *
zcq_upcast_error (zcq_upcast_t *self)
{
    assert (self);
    return self->error;
}
