/*  =========================================================================
    zcq_mpack - a check that MessagePack bytes are plausible before
    msgpack-c unpacks them

    msgpack-c allocates room for every element an array or map header
    declares before it reads them: a 5-byte header that declares four
    billion entries makes it ask for 64 GiB. Every element takes at least
    one byte, so a header may declare at most as many elements as bytes
    follow; this walks the headers (no allocation) and refuses anything
    else, so that a decoder never asks for more memory than its input size
    justifies.
    =========================================================================
*/

#ifndef ZCQ_MPACK_H_INCLUDED
#define ZCQ_MPACK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  True if the first object in data declares no more elements (arrays,
//  maps, nested) and no longer strings than the bytes that follow can hold.
//  False for an object whose headers promise more than size bytes; such
//  input is truncated whatever comes after it.
bool
    zcq_mpack_plausible (const void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif
