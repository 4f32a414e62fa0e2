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

    It also unpacks, without allocating, the flat maps that events and read
    models mostly are (zcq_mpack_unpack_pool), leaving anything else to
    msgpack-c.
    =========================================================================
*/

#ifndef ZCQ_MPACK_H_INCLUDED
#define ZCQ_MPACK_H_INCLUDED

#include <msgpack.h>
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

//  True if data is exactly one well-formed msgpack map, without unpacking
//  it (no allocation): what msgpack-c would unpack whole as one map.
bool
    zcq_mpack_is_map (const void *data, size_t size);

//  Bytes taken by the first object in data if it is well formed (as
//  zcq_mpack_is_map checks it), fits in size, and is written as msgpack-c
//  packs the object it decodes to (smallest forms, no floats or
//  extensions): those bytes can stand for the object packed again. Else 0.
size_t
    zcq_mpack_object_size (const void *data, size_t size);

//  Bytes taken by the first object in data if its headers promise no more
//  than size bytes and it holds no never-used byte 0xc1 (as msgpack-c would
//  parse it), else 0: to step over a value without unpacking it.
size_t
    zcq_mpack_skip (const void *data, size_t size);

//  Unpack packed msgpack bytes into result (caller destroys it with
//  msgpack_unpacked_destroy). Returns 0, or -1 if the bytes are not exactly
//  one object.
int
    zcq_mpack_unpack (const void *data, size_t size, msgpack_unpacked *result);

//  Unpack bytes that are exactly one msgpack object made of maps and
//  scalars (nil, booleans, integers, str, bin) into *result WITHOUT
//  allocating: its strings point into data, and the pairs of its maps are
//  taken from the caller's pool (pool_size of them), so the object lives
//  as long as both. For events and read models decoded by the thousand.
//  Returns 0, or -1 if the bytes hold anything else (an array, a float, an
//  ext, more pairs than the pool holds, maps nested more than
//  ZCQ_MPACK_DEPTH deep, truncated or trailing bytes, the never-used byte
//  0xc1): then zcq_mpack_unpack gives the same object, or the error.
#define ZCQ_MPACK_DEPTH 8 //  nested maps zcq_mpack_unpack_pool reads
int
    zcq_mpack_unpack_pool (const void *data, size_t size, msgpack_object_kv *pool,
                           size_t pool_size, msgpack_object *result);

//  Pack a C string as a msgpack str.
void
    zcq_mpack_pack_str (msgpack_packer *packer, const char *text);

#ifdef __cplusplus
}
#endif

#endif
