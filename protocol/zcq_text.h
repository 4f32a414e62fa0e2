/*  =========================================================================
    zcq_text - small text checks the codec and nodes share: UTF-8 validation,
    printable copies of untrusted bytes for error messages, msgpack type names
    =========================================================================
*/

#ifndef ZCQ_TEXT_H_INCLUDED
#define ZCQ_TEXT_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  True if the bytes are well-formed UTF-8 with no control characters
//  (below U+0020, or U+007F). Stream names and types must pass this.
bool
    zcq_text_is_utf8 (const void *data, size_t size);

//  Return a printable, NUL-terminated copy of untrusted bytes for an error
//  message: at most 40 bytes, anything unprintable as '?'. Caller frees.
char *
    zcq_text_printable (const void *data, size_t size);

//  Cut a NUL-terminated string to at most max_size bytes without splitting a
//  UTF-8 sequence.
void
    zcq_text_truncate (char *text, size_t max_size);

//  Make a NUL-terminated string one line of valid UTF-8 in place: control
//  characters become spaces, bytes outside well-formed sequences become '?'.
void
    zcq_text_sanitize (char *text);

//  Return a name for a msgpack object type ("integer", "string", ...).
const char *
    zcq_text_msgpack_type (msgpack_object_type type);

#ifdef __cplusplus
}
#endif

#endif
