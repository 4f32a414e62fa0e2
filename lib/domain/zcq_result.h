/*  =========================================================================
    zcq_result - what a domain's query function answers: one result object,
    or a failure status with its reason
    =========================================================================
*/

#ifndef ZCQ_RESULT_H_INCLUDED
#define ZCQ_RESULT_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_result_t zcq_result_t;

//  Create an empty answer (status ZCQ_OK, result nil).
zcq_result_t *
    zcq_result_new (void);
void
    zcq_result_destroy (zcq_result_t **self_p);

//  Return the packer for the result: pack exactly one msgpack object with
//  it. Calling it again starts the result over. Borrowed.
msgpack_packer *
    zcq_result_packer (zcq_result_t *self);

//  Fail the query with a status (ZCQ_INVALID, ZCQ_NOT_FOUND, ...) and a
//  reason; the result is dropped.
void
    zcq_result_fail (zcq_result_t *self, zcq_status_t status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Outcome so far: ZCQ_OK, or the status given to zcq_result_fail.
zcq_status_t
    zcq_result_status (zcq_result_t *self);
//  Reason given to zcq_result_fail ("" when none).
const char *
    zcq_result_reason (zcq_result_t *self);
//  The packed result, size 0 when none was packed.
const byte *
    zcq_result_data (zcq_result_t *self, size_t *size);

//  Forget everything, ready for the next query.
void
    zcq_result_reset (zcq_result_t *self);

#ifdef __cplusplus
}
#endif

#endif
