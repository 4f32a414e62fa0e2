/*  =========================================================================
    zcq_random - random bytes for request ids, all of them or none

    A command id must be unpredictable and unique: a short read, an
    interrupted call or a failing kernel source must never leave a buffer
    half random. The source is a parameter so that a test can hand in one
    that returns a few bytes at a time or fails; the client uses getrandom.
    =========================================================================
*/

#ifndef ZCQ_RANDOM_H_INCLUDED
#define ZCQ_RANDOM_H_INCLUDED

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A source of random bytes with getrandom's contract: writes up to size
//  bytes into buffer and returns how many, or -1 with errno set (EINTR:
//  interrupted, try again).
typedef ssize_t (zcq_random_source_fn) (void *buffer, size_t size, unsigned int flags);

//  Fill size bytes of buffer from source (NULL: the kernel's getrandom),
//  asking again after a short read or EINTR. Returns 0 once every byte is
//  filled, or -1 with errno set when the source fails (a source that gives
//  0 bytes fails with EIO): then the buffer holds nothing usable.
int
    zcq_random_fill (void *buffer, size_t size, zcq_random_source_fn *source);

#ifdef __cplusplus
}
#endif

#endif
