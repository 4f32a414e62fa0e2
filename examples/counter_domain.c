/*  =========================================================================
    counter_domain - a user domain built as a shared object

    Build:  cc -std=c11 -shared -fPIC -o libzcq_counter.so \
               examples/counter_domain.c $(pkg-config --cflags --libs zcqrs)
            (after make install; in the source tree `make` builds it)
    Run:    zcqrs-write --domain ./libzcq_counter.so (and zcqrs-query alike)

    Built with pkg-config it needs libzcqrs.so, the library the installed
    programs load, so one copy of it serves program and domain. The source
    tree's build links nothing: msgpack packing is inline, and the
    zcq_decision_*, zcq_result_*, zcq_view_*, zcq_map_* and zcq_mpack_* calls
    resolve against the node program (linked -rdynamic) when it is loaded.

    Command "Increment {by}" (a positive integer) on any stream appends
    "Incremented {by}". Query "counter {id}" answers {value, version}.
    Read model: "counter/<stream>" -> packed {value, version}. The write
    node snapshots a counter's state every few events (state_save/load).
    =========================================================================
*/

#include "zcqrs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_command_types [] = {"Increment", NULL};
static const char *const s_query_names [] = {"counter", NULL};

//  State of one counter stream.
typedef struct {
    int64_t value; //  sum of every Incremented.by so far
} s_counter_t;

static void *
s_state_new (void)
{
    return calloc (1, sizeof (s_counter_t));
}

static void
s_state_destroy (void *state)
{
    free (state);
}

//  Snapshots (optional): the state as one msgpack integer, and back.
static int
s_state_save (const void *state, msgpack_packer *packer)
{
    msgpack_pack_int64 (packer, ((const s_counter_t *) state)->value);
    return 0;
}

static int
s_state_load (void *state, const msgpack_object *saved)
{
    if (saved->type != MSGPACK_OBJECT_POSITIVE_INTEGER || saved->via.u64 > INT64_MAX) {
        return -1;
    }
    ((s_counter_t *) state)->value = (int64_t) saved->via.u64;
    return 0;
}

static void
s_evolve (void *state, const zcq_event_t *event)
{
    s_counter_t *counter = (s_counter_t *) state;
    char reason [ZCQ_REASON_MAX];
    int64_t by;
    if (strcmp (event->type, "Incremented") == 0
        && zcq_map_positive (event->data, "by", &by, reason) == 0
        && counter->value <= INT64_MAX - by) {
        counter->value += by;
    }
}

static void
s_decide (const void *state, const zcq_command_t *command, zcq_decision_t *decision)
{
    const s_counter_t *counter = (const s_counter_t *) state;
    char reason [ZCQ_REASON_MAX];
    int64_t by;
    if (zcq_map_positive (command->data, "by", &by, reason)) {
        zcq_decision_invalid (decision, "%s", reason);
    }
    else if (counter->value > INT64_MAX - by) {
        zcq_decision_reject (decision, "counter '%s' would overflow", command->stream);
    }
    else {
        msgpack_packer *packer = zcq_decision_emit (decision, "Incremented");
        msgpack_pack_map (packer, 1);
        zcq_mpack_pack_str (packer, "by");
        msgpack_pack_int64 (packer, by);
    }
}

//  Read model key of a counter, cut to fit (streams are at most 256 bytes).
static void
s_key (char *key, size_t size, const char *stream)
{
    snprintf (key, size, "counter/%s", stream);
}

//  Read a counter's read model. Returns 0, 1 if absent, -1 on error.
static int
s_load (zcq_view_t *view, const char *key, int64_t *value, uint64_t *version)
{
    byte *data;
    size_t size;
    int rc = zcq_view_get (view, key, &data, &size);
    if (rc == 0) {
        msgpack_unpacked record;
        char reason [ZCQ_REASON_MAX];
        uint64_t number = 0;
        if (zcq_mpack_unpack (data, size, &record)
            || zcq_map_uint (&record.data, "value", 0, &number, reason)
            || zcq_map_uint (&record.data, "version", 0, version, reason)) {
            rc = -1;
        }
        *value = (int64_t) number;
        msgpack_unpacked_destroy (&record);
        free (data);
    }
    return rc;
}

static int
s_project (zcq_view_t *view, const zcq_event_t *event)
{
    char reason [ZCQ_REASON_MAX];
    int64_t by;
    char key [ZCQ_MAX_STREAM + 16];
    s_key (key, sizeof key, event->stream);
    if (strcmp (event->type, ZCQ_STREAM_DELETED) == 0) {
        zcq_view_delete (view, key); //  a deleted counter: gone from the models
        return 0;
    }
    if (strcmp (event->type, "Incremented") != 0
        || zcq_map_positive (event->data, "by", &by, reason)) {
        return 0;
    }
    int64_t value = 0;
    uint64_t version = 0;
    if (s_load (view, key, &value, &version) == -1) {
        return -1;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 2);
    zcq_mpack_pack_str (&packer, "value");
    msgpack_pack_int64 (&packer, value <= INT64_MAX - by ? value + by : value);
    zcq_mpack_pack_str (&packer, "version");
    msgpack_pack_uint64 (&packer, event->version);
    zcq_view_put (view, key, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return 0;
}

static void
s_query (zcq_view_t *view, const char *name, const msgpack_object *params, zcq_result_t *answer)
{
    char reason [ZCQ_REASON_MAX];
    char *id;
    if (strcmp (name, "counter") != 0) {
        zcq_result_fail (answer, ZCQ_UNKNOWN_TYPE, "unknown query '%s'", name);
        return;
    }
    if (zcq_map_string (params, "id", ZCQ_MAX_STREAM, &id, reason)) {
        zcq_result_fail (answer, ZCQ_INVALID, "%s", reason);
        return;
    }
    char key [ZCQ_MAX_STREAM + 16];
    s_key (key, sizeof key, id);
    int64_t value = 0;
    uint64_t version = 0;
    int rc = s_load (view, key, &value, &version);
    if (rc == 1) {
        zcq_result_fail (answer, ZCQ_NOT_FOUND, "counter '%s' does not exist", id);
    }
    else if (rc == -1) {
        zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read counter '%s'", id);
    }
    else {
        msgpack_packer *packer = zcq_result_packer (answer);
        msgpack_pack_map (packer, 2);
        zcq_mpack_pack_str (packer, "value");
        msgpack_pack_int64 (packer, value);
        zcq_mpack_pack_str (packer, "version");
        msgpack_pack_uint64 (packer, version);
    }
    free (id);
}

static const zcq_domain_t s_counter = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "counter",
    .command_types = s_command_types,
    .query_names = s_query_names,
    .state_new = s_state_new,
    .state_destroy = s_state_destroy,
    .evolve = s_evolve,
    .decide = s_decide,
    .project = s_project,
    .query = s_query,
    .state_save = s_state_save,
    .state_load = s_state_load,
};

//  The entry point zcq_domain_load looks for.
const zcq_domain_t *
zcq_domain_entry (void)
{
    return &s_counter;
}
