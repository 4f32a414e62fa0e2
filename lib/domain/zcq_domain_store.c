/*  =========================================================================
    zcq_domain_store - a plain event store: clients append their own events

    Command: Append {events: [{type, data}, ...]} (1 to ZCQ_MAX_EVENTS
    events; data is an optional map). No state and no rules: the events are
    stored as given, or the command is invalid as a whole.

    Read models (keys in the view, values packed event maps {position,
    stream, version, type, data, time}):
        stream/<len>:<stream>/<version, 20 digits>
        all/<position, 20 digits>
    <len> is the stream's size in bytes, so no stream is a prefix of another.
    =========================================================================
*/

#include "zcq_domain.h"
#include "zcq_text.h"

#include <inttypes.h>

#define QUERY_MAX_DEFAULT 100 //  events a query returns when max is absent

static const char *const s_command_types [] = {"Append", NULL};
static const char *const s_query_names [] = {"stream", "all", NULL};

//  Stateless: every stream starts, and stays, as NULL.
static void *
s_state_new (void)
{
    return NULL;
}

//  Return "a" or "an" for a msgpack type name, for "got a string".
static const char *
s_article (msgpack_object_type type)
{
    return strchr ("aeiou", zcq_text_msgpack_type (type) [0]) ? "an" : "a";
}

//  Check one item of the events array. Returns 0, or -1 with the command
//  made invalid, naming the item.
static int
s_check_event (const msgpack_object *item, uint32_t index, zcq_decision_t *decision)
{
    if (item->type != MSGPACK_OBJECT_MAP) {
        zcq_decision_invalid (decision, "events[%" PRIu32 "] must be a map, got %s %s", index,
                              s_article (item->type), zcq_text_msgpack_type (item->type));
        return -1;
    }
    const msgpack_object *type = zcq_map_get (item, "type");
    if (!type || type->type != MSGPACK_OBJECT_STR || type->via.str.size == 0) {
        zcq_decision_invalid (decision, "events[%" PRIu32 "].type must be a non-empty string",
                              index);
        return -1;
    }
    if (type->via.str.size > ZCQ_MAX_NAME) {
        zcq_decision_invalid (decision,
                              "events[%" PRIu32 "].type must be at most %d bytes, got %" PRIu32,
                              index, ZCQ_MAX_NAME, type->via.str.size);
        return -1;
    }
    if (!zcq_text_is_utf8 (type->via.str.ptr, type->via.str.size)) {
        zcq_decision_invalid (decision,
                              "events[%" PRIu32 "].type must be UTF-8 text without control "
                              "characters",
                              index);
        return -1;
    }
    const msgpack_object *data = zcq_map_get (item, "data");
    if (data && data->type != MSGPACK_OBJECT_MAP && data->type != MSGPACK_OBJECT_NIL) {
        zcq_decision_invalid (decision, "events[%" PRIu32 "].data must be a map, got %s %s",
                              index, s_article (data->type),
                              zcq_text_msgpack_type (data->type));
        return -1;
    }
    return 0;
}

static void
s_decide (const void *state, const zcq_command_t *command, zcq_decision_t *decision)
{
    (void) state;
    if (!streq (command->type, "Append")) {
        zcq_decision_invalid (decision, "unknown command type '%s'", command->type);
        return;
    }
    const msgpack_object *events = zcq_map_get (command->data, "events");
    if (!events) {
        zcq_decision_invalid (decision, "field 'events' is missing");
        return;
    }
    if (events->type != MSGPACK_OBJECT_ARRAY) {
        zcq_decision_invalid (decision, "field 'events' must be an array, got %s %s",
                              s_article (events->type), zcq_text_msgpack_type (events->type));
        return;
    }
    uint32_t count = events->via.array.size;
    if (count == 0 || count > ZCQ_MAX_EVENTS) {
        zcq_decision_invalid (decision, "field 'events' must hold 1 to %d events, got %" PRIu32,
                              ZCQ_MAX_EVENTS, count);
        return;
    }
    //  Check them all first: the command is stored whole or not at all
    for (uint32_t index = 0; index < count; index++) {
        if (s_check_event (&events->via.array.ptr [index], index, decision)) {
            return;
        }
    }
    for (uint32_t index = 0; index < count; index++) {
        const msgpack_object *item = &events->via.array.ptr [index];
        const msgpack_object *type = zcq_map_get (item, "type");
        const msgpack_object *data = zcq_map_get (item, "data");
        char name [ZCQ_MAX_NAME + 1];
        memcpy (name, type->via.str.ptr, type->via.str.size);
        name [type->via.str.size] = 0;
        msgpack_packer *packer = zcq_decision_emit (decision, name);
        if (data && data->type == MSGPACK_OBJECT_MAP) {
            msgpack_pack_object (packer, *data);
        }
        else {
            msgpack_pack_map (packer, 0);
        }
    }
}

//  A deleted stream's events go from both indexes (its tombstone is then
//  kept like any event). Each is found by its version, so that events
//  projected in the same batch, which a scan would not see, go too.
static int
s_forget (zcq_view_t *view, const zcq_event_t *tombstone)
{
    int rc = 0;
    for (uint64_t version = 1; rc == 0 && version < tombstone->version; version++) {
        char *key = zsys_sprintf ("stream/%zu:%s/%020" PRIu64, strlen (tombstone->stream),
                                  tombstone->stream, version);
        byte *value = NULL;
        size_t size = 0;
        rc = zcq_view_get (view, key, &value, &size);
        msgpack_unpacked stored;
        if (rc == 0 && zcq_mpack_unpack (value, size, &stored) == 0) {
            char reason [ZCQ_REASON_MAX];
            uint64_t position = 0;
            if (zcq_map_uint (&stored.data, "position", 0, &position, reason) == 0) {
                char *all = zsys_sprintf ("all/%020" PRIu64, position);
                zcq_view_delete (view, all);
                zstr_free (&all);
            }
            msgpack_unpacked_destroy (&stored);
        }
        if (rc >= 0) {
            zcq_view_delete (view, key);
            rc = 0; //  absent (never projected here) is fine
        }
        free (value);
        zstr_free (&key);
    }
    return rc;
}

//  Keep every event twice: under its stream and version, and under its
//  position in the whole log.
static int
s_project (zcq_view_t *view, const zcq_event_t *event)
{
    if (streq (event->type, ZCQ_STREAM_DELETED) && s_forget (view, event) != 0) {
        return -1;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 6);
    zcq_mpack_pack_str (&packer, "position");
    msgpack_pack_uint64 (&packer, event->position);
    zcq_mpack_pack_str (&packer, "stream");
    zcq_mpack_pack_str (&packer, event->stream);
    zcq_mpack_pack_str (&packer, "version");
    msgpack_pack_uint64 (&packer, event->version);
    zcq_mpack_pack_str (&packer, "type");
    zcq_mpack_pack_str (&packer, event->type);
    zcq_mpack_pack_str (&packer, "data");
    if (event->data && event->data->type == MSGPACK_OBJECT_MAP) {
        msgpack_pack_object (&packer, *event->data);
    }
    else {
        msgpack_pack_map (&packer, 0);
    }
    zcq_mpack_pack_str (&packer, "time");
    msgpack_pack_int64 (&packer, event->time);

    char *key = zsys_sprintf ("stream/%zu:%s/%020" PRIu64, strlen (event->stream),
                              event->stream, event->version);
    zcq_view_put (view, key, buffer.data, buffer.size);
    free (key);
    key = zsys_sprintf ("all/%020" PRIu64, event->position);
    zcq_view_put (view, key, buffer.data, buffer.size);
    free (key);
    msgpack_sbuffer_destroy (&buffer);
    return 0;
}

//  Scan state for a range query: the packed events found so far.
typedef struct {
    msgpack_sbuffer events; //  packed event maps, one after another
    uint32_t count;         //  events in the buffer
    uint32_t max;           //  stop at this many
} s_range_t;

static int
s_collect_event (const char *key, const byte *value, size_t size, void *arg)
{
    (void) key;
    s_range_t *range = (s_range_t *) arg;
    msgpack_sbuffer_write (&range->events, (const char *) value, size);
    range->count++;
    return range->count >= range->max;
}

//  Answer a range query: events under prefix from key start, at most max.
static void
s_answer_range (zcq_view_t *view, const char *prefix, const char *start, uint32_t max,
                zcq_result_t *answer)
{
    s_range_t range = {.max = max};
    msgpack_sbuffer_init (&range.events);
    if (zcq_view_scan (view, prefix, start, s_collect_event, &range) == -1) {
        zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read events");
    }
    else {
        //  The stored values are packed maps already: append them as they are
        msgpack_packer *packer = zcq_result_packer (answer);
        msgpack_pack_array (packer, range.count);
        if (range.events.size) {
            packer->callback (packer->data, range.events.data, range.events.size);
        }
    }
    msgpack_sbuffer_destroy (&range.events);
}

//  Read the from and max parameters. Returns 0, or -1 with the answer failed.
static int
s_range_params (const msgpack_object *params, uint64_t *from, uint32_t *max,
                zcq_result_t *answer)
{
    char reason [ZCQ_REASON_MAX];
    uint64_t wanted;
    if (zcq_map_uint (params, "from", 1, from, reason)
        || zcq_map_uint (params, "max", QUERY_MAX_DEFAULT, &wanted, reason)) {
        zcq_result_fail (answer, ZCQ_INVALID, "%s", reason);
        return -1;
    }
    if (wanted == 0 || wanted > ZCQ_MAX_EVENTS) {
        zcq_result_fail (answer, ZCQ_INVALID, "field 'max' must be 1 to %d, got %" PRIu64,
                         ZCQ_MAX_EVENTS, wanted);
        return -1;
    }
    *max = (uint32_t) wanted;
    return 0;
}

static void
s_query (zcq_view_t *view, const char *name, const msgpack_object *params, zcq_result_t *answer)
{
    uint64_t from;
    uint32_t max;
    if (streq (name, "stream")) {
        char reason [ZCQ_REASON_MAX];
        char *stream;
        if (zcq_map_string (params, "stream", ZCQ_MAX_STREAM, &stream, reason)) {
            zcq_result_fail (answer, ZCQ_INVALID, "%s", reason);
            return;
        }
        if (s_range_params (params, &from, &max, answer) == 0) {
            char *prefix = zsys_sprintf ("stream/%zu:%s/", strlen (stream), stream);
            char *start = zsys_sprintf ("%s%020" PRIu64, prefix, from);
            s_answer_range (view, prefix, start, max, answer);
            free (start);
            free (prefix);
        }
        free (stream);
    }
    else if (streq (name, "all")) {
        if (s_range_params (params, &from, &max, answer) == 0) {
            char *start = zsys_sprintf ("all/%020" PRIu64, from);
            s_answer_range (view, "all/", start, max, answer);
            free (start);
        }
    }
    else {
        zcq_result_fail (answer, ZCQ_UNKNOWN_TYPE, "unknown query '%s'", name);
    }
}

static const zcq_domain_t s_store = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "store",
    .command_types = s_command_types,
    .query_names = s_query_names,
    .state_new = s_state_new,
    .state_destroy = NULL,
    .evolve = NULL,
    .decide = s_decide,
    .project = s_project,
    .query = s_query,
};

const zcq_domain_t *
zcq_store_domain (void)
{
    return &s_store;
}
