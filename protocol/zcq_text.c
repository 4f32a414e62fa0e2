/*  =========================================================================
    zcq_text - text checks shared by the codec and the nodes
    =========================================================================
*/

#include "zcq_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool
zcq_text_is_utf8 (const void *data, size_t size)
{
    const uint8_t *bytes = (const uint8_t *) data;
    size_t index = 0;
    //  Names and most texts are ASCII: 8 bytes at a time while no byte has
    //  its high bit, each then printable when adding 0x60 sets its high bit
    //  (it is 0x20 or more) and adding 1 does not (it is not 0x7f): with
    //  every byte under 0x80 neither sum carries into the next byte
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    while (index + 8 <= size) {
        uint64_t word;
        memcpy (&word, bytes + index, 8);
        if (word & high) {
            break; //  UTF-8 past ASCII: every byte from here as below
        }
        if (((word + 0x60 * ones) & high) != high || ((word + ones) & high)) {
            return false; //  a control character
        }
        index += 8;
    }
    while (index < size) {
        uint8_t lead = bytes [index];
        size_t extra;
        uint32_t point;
        if (lead < 0x80) {
            if (lead < 0x20 || lead == 0x7f) {
                return false;
            }
            index++;
            continue;
        }
        else if ((lead & 0xe0) == 0xc0) {
            extra = 1;
            point = lead & 0x1f;
        }
        else if ((lead & 0xf0) == 0xe0) {
            extra = 2;
            point = lead & 0x0f;
        }
        else if ((lead & 0xf8) == 0xf0) {
            extra = 3;
            point = lead & 0x07;
        }
        else {
            return false;
        }
        if (index + extra >= size) {
            return false;
        }
        for (size_t step = 1; step <= extra; step++) {
            uint8_t next = bytes [index + step];
            if ((next & 0xc0) != 0x80) {
                return false;
            }
            point = (point << 6) | (next & 0x3f);
        }
        //  Reject overlong forms, surrogates and points past Unicode
        static const uint32_t least [4] = {0, 0x80, 0x800, 0x10000};
        if (point < least [extra] || (point >= 0xd800 && point <= 0xdfff) || point > 0x10ffff) {
            return false;
        }
        index += extra + 1;
    }
    return true;
}

char *
zcq_text_printable (const void *data, size_t size)
{
    const uint8_t *bytes = (const uint8_t *) data;
    size_t length = size > 40 ? 40 : size;
    char *text = (char *) malloc (length + 4);
    if (!text) {
        abort ();
    }
    for (size_t index = 0; index < length; index++) {
        text [index] =
            bytes [index] >= 0x20 && bytes [index] < 0x7f ? (char) bytes [index] : '?';
    }
    if (size > length) {
        memcpy (text + length, "...", 3);
        length += 3;
    }
    text [length] = 0;
    return text;
}

void
zcq_text_truncate (char *text, size_t max_size)
{
    size_t length = strlen (text);
    if (length <= max_size) {
        return;
    }
    size_t cut = max_size;
    //  Step back over continuation bytes so no sequence is split
    while (cut > 0 && ((uint8_t) text [cut] & 0xc0) == 0x80) {
        cut--;
    }
    text [cut] = 0;
}

void
zcq_text_sanitize (char *text)
{
    size_t size = strlen (text);
    size_t index = 0;
    while (index < size) {
        uint8_t lead = (uint8_t) text [index];
        size_t length = lead < 0x80             ? 1
                        : (lead & 0xe0) == 0xc0 ? 2
                        : (lead & 0xf0) == 0xe0 ? 3
                        : (lead & 0xf8) == 0xf0 ? 4
                                                : 0;
        if (lead < 0x20 || lead == 0x7f) {
            text [index++] = ' ';
        }
        else if (length > 0 && index + length <= size
                 && zcq_text_is_utf8 (text + index, length)) {
            index += length;
        }
        else {
            text [index++] = '?';
        }
    }
}

const char *
zcq_text_msgpack_type (msgpack_object_type type)
{
    switch (type) {
        case MSGPACK_OBJECT_NIL:
            return "nil";
        case MSGPACK_OBJECT_BOOLEAN:
            return "boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return "integer";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return "negative integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            return "float";
        case MSGPACK_OBJECT_STR:
            return "string";
        case MSGPACK_OBJECT_ARRAY:
            return "array";
        case MSGPACK_OBJECT_MAP:
            return "map";
        case MSGPACK_OBJECT_BIN:
            return "binary";
        case MSGPACK_OBJECT_EXT:
            return "extension";
        default:
            return "unknown";
    }
}
