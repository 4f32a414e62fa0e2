/*  =========================================================================
    zcq_mpack - plausibility of MessagePack bytes (see zcq_mpack.h)
    =========================================================================
*/

#include "zcq_mpack.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

//  Big-endian unsigned integer of width bytes at data.
static uint64_t
s_be (const uint8_t *data, int width)
{
    uint64_t value = 0;
    for (int index = 0; index < width; index++) {
        value = (value << 8) | data [index];
    }
    return value;
}

//  True if an element with this head, its length (width-prefixed heads)
//  and its first payload bytes (at, skip of them; fixed-size integers) is
//  written the way msgpack-c packs the object it decodes to: the smallest
//  form, unsigned for what is not negative. Floats and extensions are never
//  counted as such (rare in payloads: they are packed again instead).
static bool
s_packs_alike (uint8_t head, uint64_t length, const uint8_t *at)
{
    switch (head) {
        case 0xcc:
            return at [0] >= 0x80;
        case 0xcd:
            return s_be (at, 2) > 0xff;
        case 0xce:
            return s_be (at, 4) > 0xffff;
        case 0xcf:
            return s_be (at, 8) > 0xffffffffu;
        case 0xd0:
            return (int8_t) at [0] < -32;
        case 0xd1:
            return (int16_t) s_be (at, 2) < -128;
        case 0xd2:
            return (int32_t) s_be (at, 4) < -32768;
        case 0xd3:
            return (int64_t) s_be (at, 8) < INT32_MIN;
        case 0xd9:
            return length > 31;
        case 0xc5:
        case 0xda:
            return length > 0xff;
        case 0xc6:
        case 0xdb:
            return length > 0xffff;
        case 0xdc:
        case 0xde:
            return length > 15;
        case 0xdd:
        case 0xdf:
            return length > 0xffff;
        case 0xc4:
            return true; //  bin8: any length below 256
        default:
            //  Floats, extensions; the single-byte heads are checked by the
            //  caller
            return false;
    }
}

//  Walk the first object in data: false if its headers promise more than
//  size bytes (or, when strict, it holds the never-used byte 0xc1; when
//  alike, an element msgpack-c would pack otherwise, s_packs_alike); else
//  true with the bytes it takes in *used.
static bool
s_walk_as (const void *data, size_t size, bool strict, bool alike, size_t *used)
{
    const uint8_t *bytes = (const uint8_t *) data;
    size_t offset = 0;
    uint64_t pending = 1; //  objects still to read; the first one only
    while (pending > 0) {
        if (offset >= size) {
            return false;
        }
        uint8_t head = bytes [offset++];
        size_t left = size - offset;
        uint64_t skip = 0;     //  payload bytes after the header
        uint64_t children = 0; //  objects the header declares
        int width = 0;         //  bytes of a length that follows the head
        if (strict && head == 0xc1) {
            return false;
        }
        bool single = head <= 0xbf || head >= 0xe0 || (head >= 0xc0 && head <= 0xc3);
        if (alike && !single && head != 0xc4 && !(head >= 0xcc && head <= 0xd3)
            && !(head >= 0xd9 && head <= 0xdf) && head != 0xc5 && head != 0xc6) {
            return false; //  float, extension
        }
        if (head <= 0x7f || head >= 0xe0 || (head >= 0xc0 && head <= 0xc3)) {
            //  fixint, negative fixint, nil, (never used), false, true
        }
        else if (head >= 0x80 && head <= 0x8f) {
            children = 2u * (head & 0x0f);
        }
        else if (head >= 0x90 && head <= 0x9f) {
            children = head & 0x0f;
        }
        else if (head >= 0xa0 && head <= 0xbf) {
            skip = head & 0x1f;
        }
        else {
            switch (head) {
                case 0xc4:
                case 0xd9:
                    width = 1;
                    break; //  bin8, str8: length
                case 0xc5:
                case 0xda:
                    width = 2;
                    break;
                case 0xc6:
                case 0xdb:
                    width = 4;
                    break;
                case 0xc7:
                    width = 1;
                    skip = 1;
                    break; //  ext8: length, type
                case 0xc8:
                    width = 2;
                    skip = 1;
                    break;
                case 0xc9:
                    width = 4;
                    skip = 1;
                    break;
                case 0xca:
                    skip = 4;
                    break; //  float32
                case 0xcb:
                    skip = 8;
                    break; //  float64
                case 0xcc:
                case 0xd0:
                    skip = 1;
                    break; //  (u)int8
                case 0xcd:
                case 0xd1:
                    skip = 2;
                    break;
                case 0xce:
                case 0xd2:
                    skip = 4;
                    break;
                case 0xcf:
                case 0xd3:
                    skip = 8;
                    break;
                case 0xd4:
                    skip = 2;
                    break; //  fixext: type + data
                case 0xd5:
                    skip = 3;
                    break;
                case 0xd6:
                    skip = 5;
                    break;
                case 0xd7:
                    skip = 9;
                    break;
                case 0xd8:
                    skip = 17;
                    break;
                case 0xdc:
                case 0xde:
                    width = 2;
                    break; //  array16, map16: count
                case 0xdd:
                case 0xdf:
                    width = 4;
                    break;
                default:
                    break;
            }
            if ((size_t) width > left) {
                return false;
            }
            uint64_t length = width ? s_be (bytes + offset, width) : 0;
            offset += (size_t) width;
            left -= (size_t) width;
            if (alike && skip <= left && !s_packs_alike (head, length, bytes + offset)) {
                return false;
            }
            if (head == 0xdc || head == 0xdd) {
                children = length;
            }
            else if (head == 0xde || head == 0xdf) {
                children = 2 * length;
            }
            else {
                skip += length;
            }
        }
        if (skip > left) {
            return false;
        }
        offset += (size_t) skip;
        left -= (size_t) skip;
        pending += children;
        pending--;
        //  Each object still to read needs at least one byte
        if (pending > left) {
            return false;
        }
    }
    *used = offset;
    return true;
}

static bool
s_walk (const void *data, size_t size, bool strict, size_t *used)
{
    return s_walk_as (data, size, strict, false, used);
}

bool
zcq_mpack_plausible (const void *data, size_t size)
{
    size_t used;
    return s_walk (data, size, false, &used);
}

bool
zcq_mpack_is_map (const void *data, size_t size)
{
    const uint8_t *bytes = (const uint8_t *) data;
    size_t used = 0;
    return size > 0
           && ((bytes [0] >= 0x80 && bytes [0] <= 0x8f) || bytes [0] == 0xde
               || bytes [0] == 0xdf)
           && s_walk (data, size, true, &used) && used == size;
}

size_t
zcq_mpack_object_size (const void *data, size_t size)
{
    size_t used = 0;
    return data && size > 0 && s_walk_as (data, size, true, true, &used) ? used : 0;
}

size_t
zcq_mpack_skip (const void *data, size_t size)
{
    size_t used = 0;
    return data && size > 0 && s_walk (data, size, true, &used) ? used : 0;
}

int
zcq_mpack_unpack (const void *data, size_t size, msgpack_unpacked *result)
{
    msgpack_unpacked_init (result);
    size_t offset = 0;
    if (data && size > 0 && zcq_mpack_plausible (data, size)) { //  no huge allocations
        //  A zone sized to the data (msgpack's default chunk is 8 KiB): this
        //  runs for every command and event
        result->zone = msgpack_zone_new (256 + 2 * size);
        msgpack_unpack_return ret = result->zone
                                        ? msgpack_unpack ((const char *) data, size, &offset,
                                                          result->zone, &result->data)
                                        : MSGPACK_UNPACK_NOMEM_ERROR;
        if (ret == MSGPACK_UNPACK_SUCCESS && offset == size) {
            return 0;
        }
    }
    //  Leave result empty, so destroying it again is harmless
    msgpack_unpacked_destroy (result);
    msgpack_unpacked_init (result);
    return -1;
}

//  Where zcq_mpack_unpack_pool is in its bytes and its pool.
typedef struct {
    const uint8_t *bytes;    //  the packed object
    size_t size;             //  bytes in it
    size_t offset;           //  next byte to read
    msgpack_object_kv *pool; //  pairs for maps
    size_t pool_size;        //  pairs in pool
    size_t used;             //  pairs taken
} s_reader_t;

static int s_read_object (s_reader_t *reader, msgpack_object *object, int depth);

//  Take a length of width bytes; -1 if they are not there.
static int
s_read_length (s_reader_t *reader, int width, uint64_t *length)
{
    if ((size_t) width > reader->size - reader->offset) {
        return -1;
    }
    *length = s_be (reader->bytes + reader->offset, width);
    reader->offset += (size_t) width;
    return 0;
}

//  A str or bin of length bytes, pointing into the input.
static int
s_read_bytes (s_reader_t *reader, msgpack_object *object, uint64_t length,
              msgpack_object_type type)
{
    if (length > reader->size - reader->offset) {
        return -1;
    }
    object->type = type;
    object->via.str.size = (uint32_t) length; //  str and bin share the layout
    object->via.str.ptr = (const char *) reader->bytes + reader->offset;
    reader->offset += (size_t) length;
    return 0;
}

//  The commonest objects, a fixstr or a positive fixint, read without a
//  call (most keys and many values are); false for anything else.
static inline bool
s_read_small (s_reader_t *reader, msgpack_object *object)
{
    if (reader->offset >= reader->size) {
        return false;
    }
    uint8_t head = reader->bytes [reader->offset];
    if (head <= 0x7f) {
        object->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        object->via.u64 = head;
        reader->offset++;
        return true;
    }
    size_t length = head & 0x1f;
    if ((head & 0xe0) == 0xa0 && length < reader->size - reader->offset) {
        object->type = MSGPACK_OBJECT_STR;
        object->via.str.size = (uint32_t) length;
        object->via.str.ptr = (const char *) reader->bytes + reader->offset + 1;
        reader->offset += 1 + length;
        return true;
    }
    return false;
}

//  A map of pairs, which take pool slots next to each other.
static int
s_read_map (s_reader_t *reader, msgpack_object *object, uint64_t pairs, int depth)
{
    if (depth >= ZCQ_MPACK_DEPTH || pairs > reader->pool_size - reader->used) {
        return -1;
    }
    msgpack_object_kv *slots = reader->pool + reader->used;
    reader->used += (size_t) pairs;
    for (uint64_t index = 0; index < pairs; index++) {
        if ((!s_read_small (reader, &slots [index].key)
             && s_read_object (reader, &slots [index].key, depth + 1))
            || (!s_read_small (reader, &slots [index].val)
                && s_read_object (reader, &slots [index].val, depth + 1))) {
            return -1;
        }
    }
    object->type = MSGPACK_OBJECT_MAP;
    object->via.map.size = (uint32_t) pairs;
    object->via.map.ptr = slots;
    return 0;
}

//  A signed integer as msgpack-c types it: positive when it is not negative.
static void
s_signed (msgpack_object *object, int64_t value)
{
    if (value >= 0) {
        object->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        object->via.u64 = (uint64_t) value;
    }
    else {
        object->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        object->via.i64 = value;
    }
}

static int
s_read_object (s_reader_t *reader, msgpack_object *object, int depth)
{
    if (reader->offset >= reader->size) {
        return -1;
    }
    uint8_t head = reader->bytes [reader->offset++];
    uint64_t number = 0;
    if (head <= 0x7f) {
        object->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        object->via.u64 = head;
        return 0;
    }
    if (head >= 0xe0) {
        s_signed (object, (int8_t) head);
        return 0;
    }
    if (head >= 0xa0 && head <= 0xbf) {
        return s_read_bytes (reader, object, head & 0x1f, MSGPACK_OBJECT_STR);
    }
    if (head >= 0x80 && head <= 0x8f) {
        return s_read_map (reader, object, head & 0x0f, depth);
    }
    switch (head) {
        case 0xc0:
            object->type = MSGPACK_OBJECT_NIL;
            return 0;
        case 0xc2:
        case 0xc3:
            object->type = MSGPACK_OBJECT_BOOLEAN;
            object->via.boolean = head == 0xc3;
            return 0;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            if (s_read_length (reader, 1 << (head - 0xcc), &number)) {
                return -1;
            }
            object->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            object->via.u64 = number;
            return 0;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            int width = 1 << (head - 0xd0);
            if (s_read_length (reader, width, &number)) {
                return -1;
            }
            //  Sign-extend the width-byte two's complement number
            int shift = 64 - 8 * width;
            s_signed (object, (int64_t) (number << shift) >> shift);
            return 0;
        }
        case 0xc4:
        case 0xc5:
        case 0xc6:
            return s_read_length (reader, 1 << (head - 0xc4), &number)
                       ? -1
                       : s_read_bytes (reader, object, number, MSGPACK_OBJECT_BIN);
        case 0xd9:
        case 0xda:
        case 0xdb:
            return s_read_length (reader, 1 << (head - 0xd9), &number)
                       ? -1
                       : s_read_bytes (reader, object, number, MSGPACK_OBJECT_STR);
        case 0xde:
        case 0xdf:
            return s_read_length (reader, head == 0xde ? 2 : 4, &number)
                       ? -1
                       : s_read_map (reader, object, number, depth);
        default:
            return -1; //  arrays, floats, exts, 0xc1: zcq_mpack_unpack's
    }
}

int
zcq_mpack_unpack_pool (const void *data, size_t size, msgpack_object_kv *pool, size_t pool_size,
                       msgpack_object *result)
{
    assert (result);
    s_reader_t reader = {
        (const uint8_t *) data, data ? size : 0, 0, pool, pool ? pool_size : 0, 0};
    return s_read_object (&reader, result, 0) == 0 && reader.offset == reader.size ? 0 : -1;
}

//  Take a str or a bin: head bytes of its 8, 16 and 32-bit forms from
//  first (fixstr: fix, 0 for bin).
static bool
s_take_run (zcq_mpack_cursor_t *cursor, uint8_t first, bool fix, const uint8_t **data,
            size_t *size)
{
    const uint8_t *at = cursor->at;
    size_t left = (size_t) (cursor->end - at);
    if (left == 0) {
        return false;
    }
    size_t width = 0, length;
    if (fix && at [0] >= 0xa0 && at [0] <= 0xbf) {
        length = at [0] & 0x1f;
    }
    else if (at [0] >= first && at [0] <= first + 2) {
        width = (size_t) 1 << (at [0] - first);
        if (left < 1 + width) {
            return false;
        }
        length = (size_t) s_be (at + 1, (int) width);
    }
    else {
        return false;
    }
    if (left - 1 - width < length) {
        return false;
    }
    *data = at + 1 + width;
    *size = length;
    cursor->at = at + 1 + width + length;
    return true;
}

bool
zcq_mpack_take_str (zcq_mpack_cursor_t *cursor, const uint8_t **text, size_t *size)
{
    assert (cursor);
    return s_take_run (cursor, 0xd9, true, text, size);
}

bool
zcq_mpack_take_bin (zcq_mpack_cursor_t *cursor, const uint8_t **data, size_t *size)
{
    assert (cursor);
    return s_take_run (cursor, 0xc4, false, data, size);
}

void
zcq_mpack_pack_str (msgpack_packer *packer, const char *text)
{
    size_t size = strlen (text);
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, text, size);
}
