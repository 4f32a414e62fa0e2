/*  =========================================================================
    zcq_mpack - plausibility of MessagePack bytes (see zcq_mpack.h)
    =========================================================================
*/

#include "zcq_mpack.h"

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

//  Walk the first object in data: false if its headers promise more than
//  size bytes (or, when strict, it holds the never-used byte 0xc1); else
//  true with the bytes it takes in *used.
static bool
s_walk (const void *data, size_t size, bool strict, size_t *used)
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

void
zcq_mpack_pack_str (msgpack_packer *packer, const char *text)
{
    size_t size = strlen (text);
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, text, size);
}
