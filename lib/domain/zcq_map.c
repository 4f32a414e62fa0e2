/*  =========================================================================
    zcq_map - typed fields out of msgpack maps (see zcq_map.h)
    =========================================================================
*/

#include "zcq_map.h"
#include "zcq_mpack.h"
#include "zcq_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Describe what a wrong value was, for "must be ..., got <what>": numbers
//  by value, anything else by its type with an article ("a string").
static void
s_describe (const msgpack_object *value, char *text, size_t size)
{
    switch (value->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            snprintf (text, size, "%" PRIu64, value->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            snprintf (text, size, "%" PRId64, value->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            snprintf (text, size, "%g", value->via.f64);
            break;
        case MSGPACK_OBJECT_NIL:
            snprintf (text, size, "nil");
            break;
        default: {
            const char *name = zcq_text_msgpack_type (value->type);
            snprintf (text, size, "%s %s", strchr ("aeiou", name [0]) ? "an" : "a", name);
            break;
        }
    }
}

const msgpack_object *
zcq_map_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP || !key) {
        return NULL;
    }
    size_t key_size = strlen (key);
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *entry = &map->via.map.ptr [index].key;
        if (entry->type == MSGPACK_OBJECT_STR && entry->via.str.size == key_size
            && memcmp (entry->via.str.ptr, key, key_size) == 0) {
            return &map->via.map.ptr [index].val;
        }
    }
    return NULL;
}

int
zcq_map_positive (const msgpack_object *map, const char *key, int64_t *value, char *reason)
{
    const msgpack_object *field = zcq_map_get (map, key);
    if (!field) {
        snprintf (reason, ZCQ_REASON_MAX, "field '%s' is missing", key);
        return -1;
    }
    if (field->type == MSGPACK_OBJECT_POSITIVE_INTEGER && field->via.u64 > 0
        && field->via.u64 <= INT64_MAX) {
        *value = (int64_t) field->via.u64;
        return 0;
    }
    char got [64];
    s_describe (field, got, sizeof got);
    snprintf (reason, ZCQ_REASON_MAX, "field '%s' must be a positive integer, got %s", key,
              got);
    return -1;
}

int
zcq_map_uint (const msgpack_object *map, const char *key, uint64_t fallback, uint64_t *value,
              char *reason)
{
    const msgpack_object *field = zcq_map_get (map, key);
    //  nil counts as absent: JSON clients send null for "not given"
    if (!field || field->type == MSGPACK_OBJECT_NIL) {
        *value = fallback;
        return 0;
    }
    if (field->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *value = field->via.u64;
        return 0;
    }
    char got [64];
    s_describe (field, got, sizeof got);
    snprintf (reason, ZCQ_REASON_MAX, "field '%s' must be an integer >= 0, got %s", key, got);
    return -1;
}

int
zcq_map_string (const msgpack_object *map, const char *key, size_t max_size, char **value,
                char *reason)
{
    const msgpack_object *field = zcq_map_get (map, key);
    if (!field) {
        snprintf (reason, ZCQ_REASON_MAX, "field '%s' is missing", key);
        return -1;
    }
    if (field->type != MSGPACK_OBJECT_STR) {
        char got [64];
        s_describe (field, got, sizeof got);
        snprintf (reason, ZCQ_REASON_MAX, "field '%s' must be a string, got %s", key, got);
        return -1;
    }
    size_t size = field->via.str.size;
    if (size == 0) {
        snprintf (reason, ZCQ_REASON_MAX, "field '%s' must not be empty", key);
        return -1;
    }
    if (size > max_size) {
        snprintf (reason, ZCQ_REASON_MAX, "field '%s' must be at most %zu bytes, got %zu", key,
                  max_size, size);
        return -1;
    }
    //  Also keeps NUL out, so the copy is a whole C string
    if (!zcq_text_is_utf8 (field->via.str.ptr, size)) {
        snprintf (reason, ZCQ_REASON_MAX,
                  "field '%s' must be UTF-8 text without control characters", key);
        return -1;
    }
    char *copy = (char *) malloc (size + 1);
    if (!copy) {
        abort ();
    }
    memcpy (copy, field->via.str.ptr, size);
    copy [size] = 0;
    *value = copy;
    return 0;
}

int
zcq_map_only (const msgpack_object *map, const char *const *keys, char *reason)
{
    assert (keys);
    assert (reason);
    if (!map || map->type != MSGPACK_OBJECT_MAP) {
        return 0;
    }
    char unknown [ZCQ_REASON_MAX] = "";
    int count = 0;
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *key = &map->via.map.ptr [index].key;
        bool known = false;
        for (const char *const *name = keys; *name && key->type == MSGPACK_OBJECT_STR; name++) {
            known |= key->via.str.size == strlen (*name)
                     && memcmp (key->via.str.ptr, *name, key->via.str.size) == 0;
        }
        if (!known) {
            char text [64];
            if (key->type == MSGPACK_OBJECT_STR) {
                int size = key->via.str.size > 40 ? 40 : (int) key->via.str.size;
                snprintf (text, sizeof text, "'%.*s'%s", size, key->via.str.ptr,
                          key->via.str.size > 40 ? "..." : "");
            }
            else {
                s_describe (key, text, sizeof text); //  a key that is not text
            }
            size_t used = strlen (unknown);
            snprintf (unknown + used, sizeof unknown - used, "%s%s", count ? ", " : "", text);
            count++;
        }
    }
    if (count == 0) {
        return 0;
    }
    char takes [128] = "";
    for (const char *const *name = keys; *name; name++) {
        size_t used = strlen (takes);
        snprintf (takes + used, sizeof takes - used, "%s%s", name == keys ? "" : ", ", *name);
    }
    int length = snprintf (reason, ZCQ_REASON_MAX, "unknown field%s %s (it takes %s)",
                           count > 1 ? "s" : "", unknown, *keys ? takes : "none");
    if (length >= ZCQ_REASON_MAX) {
        //  Many long unknown names: say the reason was cut rather than end mid-word
        memcpy (reason + ZCQ_REASON_MAX - 4, "...", 4);
    }
    return -1;
}
