/*  =========================================================================
    zcq_result - one query result, or a failure (see zcq_result.h)
    =========================================================================
*/

#include "zcq_result.h"
#include "zcq_text.h"

#include <stdarg.h>

struct _zcq_result_t {
    zcq_status_t status;            //  ZCQ_OK, or why the query failed
    char reason [ZCQ_MAX_TEXT + 1]; //  why it failed, "" when ok
    msgpack_sbuffer buffer;         //  the packed result
    msgpack_packer packer;          //  packs into buffer
};

zcq_result_t *
zcq_result_new (void)
{
    zcq_result_t *self = (zcq_result_t *) zmalloc (sizeof (zcq_result_t));
    assert (self);
    self->status = ZCQ_OK;
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, msgpack_sbuffer_write);
    return self;
}

void
zcq_result_destroy (zcq_result_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_result_t *self = *self_p;
        msgpack_sbuffer_destroy (&self->buffer);
        free (self);
        *self_p = NULL;
    }
}

msgpack_packer *
zcq_result_packer (zcq_result_t *self)
{
    assert (self);
    msgpack_sbuffer_clear (&self->buffer);
    return &self->packer;
}

void
zcq_result_fail (zcq_result_t *self, zcq_status_t status, const char *format, ...)
{
    assert (self);
    msgpack_sbuffer_clear (&self->buffer);
    self->status = status;
    va_list args;
    va_start (args, format);
    vsnprintf (self->reason, sizeof self->reason, format, args);
    va_end (args);
    zcq_text_truncate (self->reason, ZCQ_MAX_TEXT);
}

zcq_status_t
zcq_result_status (zcq_result_t *self)
{
    assert (self);
    return self->status;
}

const char *
zcq_result_reason (zcq_result_t *self)
{
    assert (self);
    return self->reason;
}

const byte *
zcq_result_data (zcq_result_t *self, size_t *size)
{
    assert (self);
    assert (size);
    //  A failed answer has no result, whatever was packed after the failure
    if (self->status != ZCQ_OK || self->buffer.size == 0) {
        *size = 0;
        return NULL;
    }
    *size = self->buffer.size;
    return (const byte *) self->buffer.data;
}

void
zcq_result_reset (zcq_result_t *self)
{
    assert (self);
    msgpack_sbuffer_clear (&self->buffer);
    self->status = ZCQ_OK;
    self->reason [0] = 0;
}
