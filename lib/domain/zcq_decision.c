/*  =========================================================================
    zcq_decision - events to append, or a refusal (see zcq_decision.h)

    Event data is packed straight into one buffer; each event remembers
    where its data starts, and it ends where the next one starts.
    =========================================================================
*/

#include "zcq_decision.h"
#include "zcq_text.h"

#include <stdarg.h>

typedef struct {
    char *type;      //  event type, owned
    uint32_t schema; //  schema version it was emitted at, 0 when not said
    size_t offset;   //  where its data starts in buffer
} s_event_t;

struct _zcq_decision_t {
    zcq_status_t status;            //  ZCQ_ACCEPTED, ZCQ_REJECTED or ZCQ_INVALID
    char reason [ZCQ_MAX_TEXT + 1]; //  why it was refused, "" when accepted
    s_event_t *events;              //  events emitted, in order
    size_t count;                   //  number of events emitted
    size_t capacity;                //  room in events
    msgpack_sbuffer buffer;         //  packed data of all events
    msgpack_packer packer;          //  packs into buffer
};

zcq_decision_t *
zcq_decision_new (void)
{
    zcq_decision_t *self = (zcq_decision_t *) zmalloc (sizeof (zcq_decision_t));
    assert (self);
    self->status = ZCQ_ACCEPTED;
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, msgpack_sbuffer_write);
    return self;
}

void
zcq_decision_destroy (zcq_decision_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_decision_t *self = *self_p;
        zcq_decision_reset (self);
        free (self->events);
        msgpack_sbuffer_destroy (&self->buffer);
        free (self);
        *self_p = NULL;
    }
}

//  Forget the events emitted so far.
static void
s_drop_events (zcq_decision_t *self)
{
    for (size_t index = 0; index < self->count; index++) {
        free (self->events [index].type);
    }
    self->count = 0;
    msgpack_sbuffer_clear (&self->buffer);
}

msgpack_packer *
zcq_decision_emit (zcq_decision_t *self, const char *event_type)
{
    return zcq_decision_emit_schema (self, event_type, 0);
}

msgpack_packer *
zcq_decision_emit_schema (zcq_decision_t *self, const char *event_type, uint32_t schema)
{
    assert (self);
    assert (event_type);
    //  After a refusal the data is packed but thrown away with the next call
    if (self->status != ZCQ_ACCEPTED) {
        msgpack_sbuffer_clear (&self->buffer);
        return &self->packer;
    }
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 4;
        self->events =
            (s_event_t *) realloc (self->events, self->capacity * sizeof (s_event_t));
        assert (self->events);
    }
    s_event_t *event = &self->events [self->count++];
    event->type = strdup (event_type);
    assert (event->type);
    event->schema = schema;
    event->offset = self->buffer.size;
    return &self->packer;
}

//  Refuse with a status and a reason, dropping the events.
static void
s_refuse (zcq_decision_t *self, zcq_status_t status, const char *format, va_list args)
{
    s_drop_events (self);
    self->status = status;
    vsnprintf (self->reason, sizeof self->reason, format, args);
    zcq_text_truncate (self->reason, ZCQ_MAX_TEXT);
}

void
zcq_decision_reject (zcq_decision_t *self, const char *format, ...)
{
    assert (self);
    va_list args;
    va_start (args, format);
    s_refuse (self, ZCQ_REJECTED, format, args);
    va_end (args);
}

void
zcq_decision_invalid (zcq_decision_t *self, const char *format, ...)
{
    assert (self);
    va_list args;
    va_start (args, format);
    s_refuse (self, ZCQ_INVALID, format, args);
    va_end (args);
}

zcq_status_t
zcq_decision_status (zcq_decision_t *self)
{
    assert (self);
    return self->status;
}

const char *
zcq_decision_reason (zcq_decision_t *self)
{
    assert (self);
    return self->reason;
}

size_t
zcq_decision_count (zcq_decision_t *self)
{
    assert (self);
    return self->count;
}

const char *
zcq_decision_event_type (zcq_decision_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->events [index].type;
}

uint32_t
zcq_decision_event_schema (zcq_decision_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->events [index].schema;
}

const byte *
zcq_decision_event_data (zcq_decision_t *self, size_t index, size_t *size)
{
    assert (self);
    assert (index < self->count);
    assert (size);
    size_t start = self->events [index].offset;
    size_t end = index + 1 < self->count ? self->events [index + 1].offset : self->buffer.size;
    *size = end - start;
    return self->buffer.data ? (const byte *) self->buffer.data + start : NULL;
}

void
zcq_decision_reset (zcq_decision_t *self)
{
    assert (self);
    s_drop_events (self);
    self->status = ZCQ_ACCEPTED;
    self->reason [0] = 0;
}
