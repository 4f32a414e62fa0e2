/*  =========================================================================
    zcq_answer - what a domain's query function answers: one result object,
    or a failure status with its reason
    =========================================================================
*/

#ifndef ZCQ_ANSWER_H_INCLUDED
#define ZCQ_ANSWER_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_answer_t zcq_answer_t;

//  Create an empty answer (status ZCQ_OK, result nil).
zcq_answer_t *
    zcq_answer_new (void);
void
    zcq_answer_destroy (zcq_answer_t **self_p);

//  Return the packer for the result: pack exactly one msgpack object with
//  it. Calling it again starts the result over. Borrowed.
msgpack_packer *
    zcq_answer_result (zcq_answer_t *self);

//  Fail the query with a status (ZCQ_INVALID, ZCQ_NOT_FOUND, ...) and a
//  reason; the result is dropped.
void
    zcq_answer_fail (zcq_answer_t *self, zcq_status_t status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Outcome so far: ZCQ_OK, or the status given to zcq_answer_fail.
zcq_status_t
    zcq_answer_status (zcq_answer_t *self);
//  Reason given to zcq_answer_fail ("" when none).
const char *
    zcq_answer_reason (zcq_answer_t *self);
//  The packed result, size 0 when none was packed.
const byte *
    zcq_answer_data (zcq_answer_t *self, size_t *size);

//  Forget everything, ready for the next query.
void
    zcq_answer_reset (zcq_answer_t *self);

#ifdef __cplusplus
}
#endif

#endif
