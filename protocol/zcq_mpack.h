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
#include <stdint.h>
#include <string.h>

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

//  A reader of msgpack bytes in place, for bodies and records whose layout
//  is known (keys in a fixed order): each zcq_mpack_take_* reads one object
//  at the cursor and steps over it, or returns false and leaves the cursor
//  where it was when the bytes there are not that object (or are cut
//  short). The caller then reads the bytes the general way.
typedef struct {
    const uint8_t *at;  //  next byte to read
    const uint8_t *end; //  one past the last byte
} zcq_mpack_cursor_t;

//  Take these exact bytes (a header, a key packed as a fixstr). Inline: a
//  layout is read as a run of these, and a memcmp of a size known when
//  compiled is then a compare or two.
static inline bool
zcq_mpack_take_bytes (zcq_mpack_cursor_t *cursor, const void *bytes, size_t size)
{
    if ((size_t) (cursor->end - cursor->at) < size || memcmp (cursor->at, bytes, size) != 0) {
        return false;
    }
    cursor->at += size;
    return true;
}

//  The same for a string literal of packed bytes, as "\xa4" "type".
#define ZCQ_MPACK_TAKE_PACKED(cursor, packed) \
    zcq_mpack_take_bytes (cursor, packed, sizeof (packed) - 1)

//  Take an unsigned integer written in a positive fixint or uint 8/16/32/64
//  (what msgpack-c packs for a uint64 or a non-negative int64). Inline too:
//  records and events are mostly integers.
static inline bool
zcq_mpack_take_uint (zcq_mpack_cursor_t *cursor, uint64_t *value)
{
    const uint8_t *at = cursor->at;
    size_t left = (size_t) (cursor->end - at);
    //  Bytes after the head byte for 0xcc..0xcf: 1, 2, 4, 8
    size_t width = left && at [0] >= 0xcc && at [0] <= 0xcf ? (size_t) 1 << (at [0] - 0xcc) : 0;
    if (left && at [0] <= 0x7f) {
        *value = at [0];
        cursor->at = at + 1;
        return true;
    }
    if (width == 0 || left < 1 + width) {
        return false;
    }
    if (width == 1) {
        *value = at [1];
    }
    else if (width == 2) {
        *value = (uint64_t) at [1] << 8 | at [2];
    }
    else if (width == 4) {
        uint32_t big;
        memcpy (&big, at + 1, 4);
        *value = __builtin_bswap32 (big);
    }
    else {
        uint64_t big;
        memcpy (&big, at + 1, 8);
        *value = __builtin_bswap64 (big);
    }
    cursor->at = at + 1 + width;
    return true;
}

//  The writer's side: each zcq_mpack_put_* writes one header or scalar at
//  at, in the smallest form msgpack-c packs it in (the same bytes), and
//  returns where it ends. The caller makes room: at most ZCQ_MPACK_PUT_MAX
//  bytes each. Inline, as the cursor's: bodies and records are written as
//  runs of these.
#define ZCQ_MPACK_PUT_MAX 9

//  A tag byte, then value big-endian in bytes bytes.
static inline uint8_t *
zcq_mpack_put_tagged (uint8_t *at, uint8_t tag, uint64_t value, size_t bytes)
{
    *at++ = tag;
    for (size_t index = 0; index < bytes; index++) {
        at [index] = (uint8_t) (value >> (8 * (bytes - 1 - index)));
    }
    return at + bytes;
}

//  A value in the smallest of msgpack's forms for it: under fixes, one
//  byte (fix or'ed with it); else tag and 1 byte, tag + 1 and 2, tag + 2
//  and 4, or (wide only) tag + 3 and 8.
static inline uint8_t *
zcq_mpack_put_sized (uint8_t *at, uint64_t value, uint64_t fixes, uint8_t fix, uint8_t tag,
                     bool wide)
{
    if (value < fixes) {
        *at = (uint8_t) (fix | value);
        return at + 1;
    }
    return value < 256                     ? zcq_mpack_put_tagged (at, tag, value, 1)
           : value < 65536                 ? zcq_mpack_put_tagged (at, tag + 1, value, 2)
           : value < (1ULL << 32) || !wide ? zcq_mpack_put_tagged (at, tag + 2, value, 4)
                                           : zcq_mpack_put_tagged (at, tag + 3, value, 8);
}

//  A non-negative integer, as msgpack-c packs a uint64.
static inline uint8_t *
zcq_mpack_put_uint (uint8_t *at, uint64_t value)
{
    return zcq_mpack_put_sized (at, value, 128, 0, 0xcc, true);
}

//  A signed integer, as msgpack-c packs an int64 (a non-negative one as
//  zcq_mpack_put_uint).
static inline uint8_t *
zcq_mpack_put_int (uint8_t *at, int64_t value)
{
    if (value >= 0) {
        return zcq_mpack_put_uint (at, (uint64_t) value);
    }
    if (value >= -32) {
        *at = (uint8_t) value;
        return at + 1;
    }
    return value >= -128        ? zcq_mpack_put_tagged (at, 0xd0, (uint64_t) value, 1)
           : value >= -32768    ? zcq_mpack_put_tagged (at, 0xd1, (uint64_t) value, 2)
           : value >= INT32_MIN ? zcq_mpack_put_tagged (at, 0xd2, (uint64_t) value, 4)
                                : zcq_mpack_put_tagged (at, 0xd3, (uint64_t) value, 8);
}

//  The header of a str of size bytes (at most 5 bytes).
static inline uint8_t *
zcq_mpack_put_str_header (uint8_t *at, size_t size)
{
    return zcq_mpack_put_sized (at, size, 32, 0xa0, 0xd9, false);
}

//  Take a str (fixstr, str 8/16/32): *text points at its bytes, unchecked.
bool
    zcq_mpack_take_str (zcq_mpack_cursor_t *cursor, const uint8_t **text, size_t *size);

//  Take a bin (bin 8/16/32): *data points at its bytes.
bool
    zcq_mpack_take_bin (zcq_mpack_cursor_t *cursor, const uint8_t **data, size_t *size);

//  Pack a C string as a msgpack str.
void
    zcq_mpack_pack_str (msgpack_packer *packer, const char *text);

#ifdef __cplusplus
}
#endif

#endif
