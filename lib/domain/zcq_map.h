/*  =========================================================================
    zcq_map - read typed fields out of a msgpack map, with reasons that
    name the field and what was wrong ("field 'amount' must be a positive
    integer, got -5"). Domains use these to validate command data and query
    parameters.
    =========================================================================
*/

#ifndef ZCQ_MAP_H_INCLUDED
#define ZCQ_MAP_H_INCLUDED

#include "zcq_mpack.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_REASON_MAX 256      //  size of a reason buffer the helpers fill

//  Return the value of key in a map, or NULL if absent or map is not a map.
const msgpack_object *
    zcq_map_get (const msgpack_object *map, const char *key);

//  Read a required integer > 0. Returns 0, or -1 with reason filled.
int
    zcq_map_positive (const msgpack_object *map, const char *key, int64_t *value,
                      char *reason);

//  Read an optional integer >= 0, default when absent. Returns 0 or -1.
int
    zcq_map_uint (const msgpack_object *map, const char *key, uint64_t fallback,
                  uint64_t *value, char *reason);

//  Read a required non-empty UTF-8 string of at most max_size bytes into a
//  new NUL-terminated copy (caller frees). Returns 0 or -1 with reason.
int
    zcq_map_string (const msgpack_object *map, const char *key, size_t max_size,
                    char **value, char *reason);

//  Check that a map holds no key but those in keys (a NULL-terminated list;
//  map may be NULL: no keys). Returns 0, or -1 with reason naming the keys
//  it does not take and the ones it does ("unknown field 'extra' (it takes
//  amount)").
int
    zcq_map_only (const msgpack_object *map, const char *const *keys, char *reason);

#ifdef __cplusplus
}
#endif

#endif
