/*  =========================================================================
    test_scan - the byte scans on every event's path read as the plain
    loops they replace: zcq_text_is_utf8 (8 ASCII bytes at a time) and
    zcq_seal_maybe (memchr for the ext headers) against byte-by-byte
    copies of the old code, over seeded random texts and payloads of every
    length up to a few words, rich in the bytes each one looks for
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_seal.h"
#include "zcq_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define CASES   200000 //  random inputs each scan is compared on
#define LONGEST 80     //  bytes in the longest

static uint64_t s_state = 14; //  xorshift64*: the same inputs on every run

static uint64_t
s_random (void)
{
    return zcq_testkit_random (&s_state);
}

//  The byte-by-byte check zcq_text_is_utf8 was.
static bool
s_utf8_reference (const uint8_t *bytes, size_t size)
{
    size_t index = 0;
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
        static const uint32_t least [4] = {0, 0x80, 0x800, 0x10000};
        if (point < least [extra] || (point >= 0xd800 && point <= 0xdfff) || point > 0x10ffff) {
            return false;
        }
        index += extra + 1;
    }
    return true;
}

//  The byte-by-byte scan zcq_seal_maybe was.
static bool
s_seal_reference (const uint8_t *at, size_t size)
{
    for (size_t index = 0; index + 2 < size; index++) {
        if ((at [index] == 0xc7 && at [index + 2] == ZCQ_SEAL_EXT)
            || (at [index] == 0xc8 && index + 3 < size && at [index + 3] == ZCQ_SEAL_EXT)
            || (at [index] == 0xc9 && index + 5 < size && at [index + 5] == ZCQ_SEAL_EXT)) {
            return true;
        }
    }
    return false;
}

//  A text: mostly printable ASCII, now and then a control character, a
//  byte past ASCII or a whole UTF-8 character (é, €, 😀).
static size_t
s_text (uint8_t *text)
{
    size_t size = s_random () % LONGEST;
    size_t index = 0;
    while (index < size) {
        uint64_t pick = s_random () % 400;
        static const char *characters [] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                            "\xed\xa0\x80", "\xc0\xaf"};
        if (pick < 2) {
            text [index++] = (uint8_t) (s_random () % 0x20);
        }
        else if (pick < 4) {
            text [index++] = 0x7f;
        }
        else if (pick < 6) {
            text [index++] = (uint8_t) (0x80 | s_random ());
        }
        else if (pick < 8) {
            const char *character = characters [s_random () % 5];
            for (size_t at = 0; character [at] && index < size; at++) {
                text [index++] = (uint8_t) character [at];
            }
        }
        else {
            text [index++] = (uint8_t) (0x20 + s_random () % 0x5f);
        }
    }
    return size;
}

static void
test_utf8_reads_as_byte_by_byte (void **state)
{
    (void) state;
    uint8_t text [LONGEST + 8];
    size_t valid = 0;
    for (size_t round = 0; round < CASES; round++) {
        size_t size = s_text (text);
        //  At every alignment of the buffer, not only its start
        size_t shift = s_random () % 8;
        memmove (text + shift, text, size);
        bool expected = s_utf8_reference (text + shift, size);
        if (zcq_text_is_utf8 (text + shift, size) != expected) {
            fail_msg ("zcq_text_is_utf8 says %d, byte by byte %d, of %zu bytes", !expected,
                      expected, size);
        }
        valid += expected;
    }
    //  Both outcomes, many times over
    assert_true (valid > CASES / 10 && valid < CASES - CASES / 10);
    //  Each control character at each place of a word of ASCII
    for (int control = 0; control < 0x80; control++) {
        for (size_t at = 0; at < 16; at++) {
            uint8_t word [16];
            memset (word, 'a', sizeof (word));
            word [at] = (uint8_t) control;
            assert_int_equal (zcq_text_is_utf8 (word, sizeof (word)),
                              s_utf8_reference (word, sizeof (word)));
        }
    }
}

static void
test_seal_scan_reads_as_byte_by_byte (void **state)
{
    (void) state;
    uint8_t bytes [LONGEST];
    static const uint8_t rich [] = {0xc7, 0xc8, 0xc9, ZCQ_SEAL_EXT, 0x00, 0x81, 0xa5};
    size_t found = 0;
    for (size_t round = 0; round < CASES; round++) {
        size_t size = s_random () % LONGEST;
        for (size_t index = 0; index < size; index++) {
            bytes [index] =
                s_random () % 3 ? (uint8_t) s_random () : rich [s_random () % sizeof (rich)];
        }
        bool expected = s_seal_reference (bytes, size);
        if (zcq_seal_maybe (bytes, size) != expected) {
            fail_msg ("zcq_seal_maybe says %d, byte by byte %d, of %zu bytes", !expected,
                      expected, size);
        }
        found += expected;
    }
    assert_true (found > CASES / 10 && found < CASES - CASES / 10);
    //  A header in the last bytes, whole or cut short
    for (size_t size = 0; size < 8; size++) {
        uint8_t tail [8] = {0xc9, 0, 0, 0, 0, ZCQ_SEAL_EXT, 0xc7, 0};
        assert_int_equal (zcq_seal_maybe (tail, size), s_seal_reference (tail, size));
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_utf8_reads_as_byte_by_byte),
        cmocka_unit_test (test_seal_scan_reads_as_byte_by_byte),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
