/*  =========================================================================
    zcq_verdict - what the chaos checker found, per invariant: how many
    violations, and the details of the first one
    =========================================================================
*/

#ifndef ZCQ_VERDICT_H_INCLUDED
#define ZCQ_VERDICT_H_INCLUDED

#include <stddef.h>

#define ZCQ_INVARIANTS 5        //  invariants 1..5 of the chaos suite
#define ZCQ_VERDICT_MORE 4      //  violations kept after the first, per invariant

typedef struct {
    size_t violations [ZCQ_INVARIANTS + 1]; //  per invariant (index 1..5)
    char *first [ZCQ_INVARIANTS + 1];       //  first violation's details, or NULL
    char *more [ZCQ_INVARIANTS + 1];        //  the next few, one a line, or NULL
    char *note [ZCQ_INVARIANTS + 1];        //  how it was checked, when it needs saying
} zcq_verdict_t;

//  Count a violation of invariant (1..5); the details of the first one and
//  of the next ZCQ_VERDICT_MORE are kept (for diagnosis).
void
    zcq_verdict_add (zcq_verdict_t *self, int invariant, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Set a note on how an invariant was checked (replaces an earlier one).
void
    zcq_verdict_note (zcq_verdict_t *self, int invariant, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Total violations.
size_t
    zcq_verdict_total (zcq_verdict_t *self);

//  Free the texts.
void
    zcq_verdict_free (zcq_verdict_t *self);

#endif
