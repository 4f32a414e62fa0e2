/*  =========================================================================
    zcq_verdict - violations per invariant (see zcq_verdict.h)
    =========================================================================
*/

#include "zcq_verdict.h"

#include <assert.h>
#include <czmq.h>
#include <stdarg.h>

void
zcq_verdict_add (zcq_verdict_t *self, int invariant, const char *format, ...)
{
    assert (self);
    assert (invariant >= 1 && invariant <= ZCQ_INVARIANTS);
    size_t seen = self->violations [invariant]++;
    if (seen > ZCQ_VERDICT_MORE) {
        return;
    }
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    if (seen == 0) {
        self->first [invariant] = text;
    }
    else {
        char *more = self->more [invariant];
        self->more [invariant] = more ? zsys_sprintf ("%s\n%s", more, text) : text;
        if (more) {
            free (more);
            free (text);
        }
    }
}

void
zcq_verdict_note (zcq_verdict_t *self, int invariant, const char *format, ...)
{
    assert (self);
    assert (invariant >= 1 && invariant <= ZCQ_INVARIANTS);
    free (self->note [invariant]);
    va_list args;
    va_start (args, format);
    self->note [invariant] = zsys_vprintf (format, args);
    va_end (args);
}

size_t
zcq_verdict_total (zcq_verdict_t *self)
{
    size_t total = 0;
    for (int invariant = 1; invariant <= ZCQ_INVARIANTS; invariant++) {
        total += self->violations [invariant];
    }
    return total;
}

void
zcq_verdict_free (zcq_verdict_t *self)
{
    for (int invariant = 1; invariant <= ZCQ_INVARIANTS; invariant++) {
        free (self->first [invariant]);
        free (self->more [invariant]);
        free (self->note [invariant]);
        self->first [invariant] = self->more [invariant] = self->note [invariant] = NULL;
    }
}
