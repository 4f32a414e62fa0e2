/*  =========================================================================
    zcq_fields - read typed fields out of a msgpack map, with reasons that
    name the field and what was wrong ("field 'amount' must be a positive
    integer, got -5"). Domains use these to validate command data and query
    parameters.
    =========================================================================
*/

#ifndef ZCQ_FIELDS_H_INCLUDED
#define ZCQ_FIELDS_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_REASON_MAX 256      //  size of a reason buffer the helpers fill

//  Return the value of key in a map, or NULL if absent or map is not a map.
const msgpack_object *
    zcq_fields_get (const msgpack_object *map, const char *key);

//  Read a required integer > 0. Returns 0, or -1 with reason filled.
int
    zcq_fields_positive (const msgpack_object *map, const char *key, int64_t *value,
                         char *reason);

//  Read an optional integer >= 0, default when absent. Returns 0 or -1.
int
    zcq_fields_uint (const msgpack_object *map, const char *key, uint64_t fallback,
                     uint64_t *value, char *reason);

//  Read a required non-empty UTF-8 string of at most max_size bytes into a
//  new NUL-terminated copy (caller frees). Returns 0 or -1 with reason.
int
    zcq_fields_string (const msgpack_object *map, const char *key, size_t max_size,
                       char **value, char *reason);

//  Unpack packed msgpack bytes into result (caller destroys it with
//  msgpack_unpacked_destroy). Returns 0, or -1 if the bytes are not exactly
//  one object.
int
    zcq_fields_unpack (const void *data, size_t size, msgpack_unpacked *result);

//  Pack a C string as a msgpack str.
void
    zcq_fields_pack_str (msgpack_packer *packer, const char *text);

#ifdef __cplusplus
}
#endif

#endif
