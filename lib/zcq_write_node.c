/*  =========================================================================
    zcq_write_node - the command side (see zcq_write_node.h)

    One loop: drain up to `group` waiting commands, decide each in order
    against in-memory aggregate state (a later command sees the events of an
    earlier one in the same group), write the whole group as ONE LevelDB
    batch (events, stream index, head, command replies), and only then reply
    and publish. A failed write acknowledges nothing: every command of the
    group gets "unavailable", the aggregate cache is dropped (it may hold
    events that never reached the disk) and the node carries on.
    =========================================================================
*/

#include "zcq_write_node.h"
#include "zcq_client.h"
#include "zcq_domain.h"
#include "zcq_event.h"
#include "zcq_log.h"
#include "zcq_node.h"

#define REPLAY_BYTES (8 * 1024 * 1024) //  about the most bytes in one EVENTS reply

//  One aggregate's state, cached.
typedef struct {
    char *stream;     //  stream name (hash key owner)
    void *state;      //  domain state after `version` events
    uint64_t version; //  stream version the state reflects
    void *handle;     //  position in the LRU list
} s_aggregate_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *commands;          //  ROUTER: COMMAND, QUERY "status"
    zsock_t *events;            //  PUB: EVENT, HEARTBEAT
    zsock_t *replay;            //  ROUTER: REPLAY
    zpoller_t *poller;          //  pipe, commands, replay
    zcq_log_t *log;             //  event log
    const zcq_domain_t *domain; //  decide / evolve
    zcq_decision_t *decision;   //  scratch decision
    zhashx_t *cache;            //  stream -> s_aggregate_t
    zlistx_t *lru;              //  s_aggregate_t, least recently used first
    size_t cache_max;           //  aggregates kept
    zlistx_t *replies;          //  zcq_msg_t replies waiting for the group's commit
    zhashx_t *group_ids;        //  hex command id -> reply, for duplicates in a group
    bool sync;                  //  durability: fdatasync before replying
    size_t group_max;           //  commands per group
    int heartbeat;              //  ms between heartbeats
    int64_t next_heartbeat;     //  zclock_mono () of the next heartbeat
    int64_t started;            //  zclock_mono () at start
    uint64_t drop_every;        //  fault seam: drop every N-th published event (0: none)
    uint64_t published;         //  events handed to PUB (or dropped by the seam)
    bool terminated;            //  $TERM received
    uint64_t accepted, rejected, conflicts, invalid, duplicates, groups, failures;
} self_t;

static void
s_aggregate_destroy (void **item)
{
    s_aggregate_t *aggregate = (s_aggregate_t *) *item;
    if (aggregate) {
        free (aggregate->stream);
        free (aggregate);
        *item = NULL;
    }
}

static void
s_self_destroy (self_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        self_t *self = *self_p;
        //  Aggregate states belong to the domain; free them before the table
        if (self->lru) {
            s_aggregate_t *aggregate = (s_aggregate_t *) zlistx_first (self->lru);
            while (aggregate) {
                if (self->domain->state_destroy) {
                    self->domain->state_destroy (aggregate->state);
                }
                aggregate = (s_aggregate_t *) zlistx_next (self->lru);
            }
        }
        zlistx_destroy (&self->lru);
        zhashx_destroy (&self->cache);
        zlistx_destroy (&self->replies);
        zhashx_destroy (&self->group_ids);
        zcq_decision_destroy (&self->decision);
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->commands);
        zsock_destroy (&self->events);
        zsock_destroy (&self->replay);
        zcq_log_destroy (&self->log);
        free (self);
        *self_p = NULL;
    }
}

static void
s_msg_destroy (void **item)
{
    zcq_msg_destroy ((zcq_msg_t **) item);
}

//  Build the node from its settings, or return NULL with *error set.
static self_t *
s_self_new (zsock_t *pipe, zconfig_t *config, char **error)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->started = zclock_mono ();
    const char *durability = zcq_node_get (config, "write/durability", "sync");
    if (!streq (durability, "sync") && !streq (durability, "async")) {
        *error = zsys_sprintf ("durability must be 'sync' or 'async', got '%s'", durability);
        free (self);
        return NULL;
    }
    self->sync = streq (durability, "sync");
    self->heartbeat = (int) zcq_node_get_int (config, "write/heartbeat", 1000);
    self->cache_max = (size_t) zcq_node_get_int (config, "write/cache", 10000);
    self->group_max = (size_t) zcq_node_get_int (config, "write/group", 256);
    self->drop_every = (uint64_t) zcq_node_get_int (config, "write/fault/drop_every", 0);
    if (self->drop_every) {
        zsys_warning ("write node: fault seam on, every %" PRIu64 "th event is not published",
                      self->drop_every);
    }
    if (self->heartbeat < 10 || self->cache_max < 1 || self->group_max < 1) {
        *error = zsys_sprintf ("heartbeat must be >= 10 ms, cache and group >= 1");
        free (self);
        return NULL;
    }
    //  A group touches at most group_max streams; a cache at least that big
    //  never evicts a state that holds events of the group being decided
    if (self->cache_max < self->group_max) {
        zsys_notice ("write node: cache raised to %zu, the group size", self->group_max);
        self->cache_max = self->group_max;
    }
    self->domain = zcq_domain_load (zcq_node_get (config, "write/domain", "bank"), error);
    if (!self->domain) {
        free (self);
        return NULL;
    }
    const char *data = zcq_node_get (config, "write/data", "var/write");
    self->log = zcq_log_new (data);
    if (!self->log) {
        *error = zsys_sprintf ("cannot open the event log in '%s'", data);
        s_self_destroy (&self);
        return NULL;
    }
    self->commands =
        zcq_node_serve (config, ZMQ_ROUTER, "write", "commands", ZCQ_DEFAULT_COMMANDS, error);
    if (self->commands) {
        self->events =
            zcq_node_serve (config, ZMQ_PUB, "write", "events", ZCQ_DEFAULT_EVENTS, error);
    }
    if (self->events) {
        self->replay =
            zcq_node_serve (config, ZMQ_ROUTER, "write", "replay", ZCQ_DEFAULT_REPLAY, error);
    }
    if (!self->replay) {
        s_self_destroy (&self);
        return NULL;
    }
    self->decision = zcq_decision_new ();
    self->cache = zhashx_new ();
    self->lru = zlistx_new ();
    zlistx_set_destructor (self->lru, s_aggregate_destroy);
    self->replies = zlistx_new ();
    zlistx_set_destructor (self->replies, s_msg_destroy);
    self->group_ids = zhashx_new ();
    self->poller = zpoller_new (self->pipe, self->commands, self->replay, NULL);
    //  The node stops on $TERM from its owner, not on SIGINT itself
    zpoller_set_nonstop (self->poller, true);
    self->next_heartbeat = zclock_mono ();
    return self;
}

//  --- Aggregate cache --------------------------------------------------------

//  Drop every cached state (after a failed write some may hold events that
//  never reached the disk; they are rebuilt from the log on next use).
static void
s_cache_purge (self_t *self)
{
    s_aggregate_t *aggregate = (s_aggregate_t *) zlistx_first (self->lru);
    while (aggregate) {
        if (self->domain->state_destroy) {
            self->domain->state_destroy (aggregate->state);
        }
        aggregate = (s_aggregate_t *) zlistx_next (self->lru);
    }
    zhashx_purge (self->cache);
    zlistx_purge (self->lru);
}

typedef struct {
    self_t *self;             //  node
    s_aggregate_t *aggregate; //  state being rebuilt
    int rc;                   //  -1 if an event could not be read
} s_fold_t;

//  Fold one stored event into the aggregate being loaded.
static int
s_fold (const byte *body, size_t size, void *arg)
{
    s_fold_t *fold = (s_fold_t *) arg;
    zcq_msg_t *msg = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    msgpack_unpacked unpacked;
    zcq_event_t event;
    if (!zcq_msg_valid (msg) || zcq_event_from_msg (&event, msg, &unpacked) != 0) {
        zsys_error ("write node: stored event of '%s' does not decode: %s",
                    fold->aggregate->stream, zcq_msg_error (msg));
        zcq_msg_destroy (&msg);
        fold->rc = -1;
        return 1;
    }
    if (fold->self->domain->evolve) {
        fold->self->domain->evolve (fold->aggregate->state, &event);
    }
    fold->aggregate->version = event.version;
    msgpack_unpacked_destroy (&unpacked);
    zcq_msg_destroy (&msg);
    return 0;
}

//  Return the cached state of a stream, loading it from the log if needed.
//  Returns NULL on a storage error.
static s_aggregate_t *
s_aggregate (self_t *self, const char *stream)
{
    s_aggregate_t *aggregate = (s_aggregate_t *) zhashx_lookup (self->cache, stream);
    if (aggregate) {
        zlistx_move_end (self->lru, aggregate->handle);
        return aggregate;
    }
    aggregate = (s_aggregate_t *) zmalloc (sizeof (s_aggregate_t));
    assert (aggregate);
    aggregate->stream = strdup (stream);
    aggregate->state = self->domain->state_new ? self->domain->state_new () : NULL;
    int rc = 0;
    if (self->domain->evolve) {
        s_fold_t fold = {self, aggregate, 0};
        rc = zcq_log_read_stream (self->log, stream, 1, s_fold, &fold) < 0 ? -1 : fold.rc;
    }
    else {
        rc = zcq_log_stream_version (self->log, stream, &aggregate->version);
    }
    if (rc != 0) {
        if (self->domain->state_destroy) {
            self->domain->state_destroy (aggregate->state);
        }
        s_aggregate_destroy ((void **) &aggregate);
        return NULL;
    }
    if (zlistx_size (self->lru) >= self->cache_max) {
        //  Evict the least recently used; never one touched in this group
        //  (they sit at the end of the list and cache_max >= group_max)
        s_aggregate_t *oldest = (s_aggregate_t *) zlistx_first (self->lru);
        zhashx_delete (self->cache, oldest->stream);
        if (self->domain->state_destroy) {
            self->domain->state_destroy (oldest->state);
        }
        zlistx_delete (self->lru, oldest->handle);
    }
    aggregate->handle = zlistx_add_end (self->lru, aggregate);
    zhashx_insert (self->cache, aggregate->stream, aggregate);
    return aggregate;
}

//  --- Commands ---------------------------------------------------------------

//  Hex form of a command id, a hash key.
static void
s_id_key (const byte *id, char key [ZCQ_COMMAND_ID * 2 + 1])
{
    static const char hex [] = "0123456789abcdef";
    for (int index = 0; index < ZCQ_COMMAND_ID; index++) {
        key [index * 2] = hex [id [index] >> 4];
        key [index * 2 + 1] = hex [id [index] & 15];
    }
    key [ZCQ_COMMAND_ID * 2] = 0;
}

//  Copy a decided outcome into another reply (for a repeated command id).
static void
s_copy_outcome (zcq_msg_t *reply, zcq_msg_t *original)
{
    zcq_msg_set_status (reply, zcq_msg_status (original));
    zcq_msg_set_reason (reply, "%s", zcq_msg_reason (original));
    zcq_msg_set_version (reply, zcq_msg_version (original));
    zcq_msg_set_position (reply, zcq_msg_position (original));
    zcq_msg_set_count (reply, zcq_msg_count (original));
}

static void
s_send (zcq_msg_t *msg, zsock_t *sock)
{
    if (zcq_msg_send (msg, sock) != 0) {
        zsys_warning ("write node: could not deliver %s (%s): peer gone or its queue is full",
                      zcq_msg_type_name (zcq_msg_type (msg)), zmq_strerror (zmq_errno ()));
    }
}

//  Reply now: outcomes that store nothing and need no commit.
static void
s_reply_now (self_t *self, zcq_msg_t **reply_p)
{
    s_send (*reply_p, self->commands);
    zcq_msg_destroy (reply_p);
}

//  Keep a decided outcome for the group: stored with the group's batch and
//  sent once that batch is on disk.
static void
s_reply_after_commit (self_t *self, zcq_msg_t *reply)
{
    char key [ZCQ_COMMAND_ID * 2 + 1];
    s_id_key (zcq_msg_id (reply), key);
    if (zcq_log_stage_reply (self->log, reply) != 0) {
        zsys_error ("write node: cannot encode a reply: %s", zcq_msg_error (reply));
    }
    zhashx_insert (self->group_ids, key, reply);
    zlistx_add_end (self->replies, reply);
}

//  Check the domain's events against the protocol's limits before staging
//  any, so that a command is appended whole or not at all.
static int
s_check_events (self_t *self, zcq_msg_t *reply)
{
    for (size_t index = 0; index < zcq_decision_count (self->decision); index++) {
        size_t size;
        const byte *data = zcq_decision_event_data (self->decision, index, &size);
        const char *type = zcq_decision_event_type (self->decision, index);
        //  A domain may be a user's .so: check that it packed one map
        msgpack_unpacked unpacked;
        bool is_map = false;
        if (zcq_fields_unpack (data, size, &unpacked) == 0) {
            is_map = unpacked.data.type == MSGPACK_OBJECT_MAP;
            msgpack_unpacked_destroy (&unpacked);
        }
        if (!is_map) {
            zcq_msg_set_status (reply, ZCQ_INVALID);
            zcq_msg_set_reason (reply,
                                "domain '%s' produced event %zu ('%.40s') whose data is "
                                "not one msgpack map",
                                self->domain->name, index, type);
            return -1;
        }
        if (size > ZCQ_MAX_DATA || strlen (type) == 0 || strlen (type) > ZCQ_MAX_NAME) {
            zcq_msg_set_status (reply, ZCQ_TOO_LARGE);
            zcq_msg_set_reason (reply,
                                "domain '%s' produced event %zu ('%.40s', %zu bytes of data) "
                                "outside the limits (type 1-%d bytes, data up to %d bytes)",
                                self->domain->name, index, type, size, ZCQ_MAX_NAME,
                                ZCQ_MAX_DATA);
            return -1;
        }
    }
    return 0;
}

//  Stage the decided events of an accepted command and fold them into the
//  cached state. Fills the reply's version, position and count.
static void
s_append (self_t *self, zcq_msg_t *command, s_aggregate_t *aggregate, zcq_msg_t *reply)
{
    int64_t now = zcq_event_now ();
    size_t count = zcq_decision_count (self->decision);
    for (size_t index = 0; index < count; index++) {
        size_t size;
        const byte *data = zcq_decision_event_data (self->decision, index, &size);
        zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
        zcq_msg_set_stream (event, aggregate->stream);
        zcq_msg_set_version (event, aggregate->version + 1);
        zcq_msg_set_name (event, zcq_decision_event_type (self->decision, index));
        zcq_msg_set_data (event, data, size);
        zcq_msg_set_id (event, zcq_msg_id (command), ZCQ_COMMAND_ID);
        zcq_msg_set_correlation (event, zcq_msg_correlation (command));
        zcq_msg_set_user (event, zcq_msg_user (command)); //  who did it (secured)
        zcq_msg_set_time (event, now);
        uint64_t position = zcq_log_stage_event (self->log, event);
        //  Limits were checked by s_check_events; an encoding failure here
        //  is a broken invariant, not bad input
        assert (position);
        msgpack_unpacked unpacked;
        zcq_event_t view;
        if (zcq_event_from_msg (&view, event, &unpacked) == 0) {
            if (self->domain->evolve) {
                self->domain->evolve (aggregate->state, &view);
            }
            msgpack_unpacked_destroy (&unpacked);
        }
        aggregate->version++;
        zcq_msg_destroy (&event);
    }
    zcq_msg_set_version (reply, aggregate->version);
    zcq_msg_set_position (reply, zcq_log_staged_head (self->log));
    zcq_msg_set_count (reply, (uint32_t) count);
}

//  Handle one valid COMMAND: repeat, refuse, or decide and stage.
static void
s_handle_command (self_t *self, zcq_msg_t *command)
{
    zcq_msg_t *reply = zcq_msg_reply_to (command, ZCQ_ACCEPTED);
    char key [ZCQ_COMMAND_ID * 2 + 1];
    s_id_key (zcq_msg_id (command), key);

    //  A command id maps to exactly one outcome: a repeat gets the first
    //  outcome, whether it is still in this group or already on disk
    zcq_msg_t *original = (zcq_msg_t *) zhashx_lookup (self->group_ids, key);
    if (original) {
        s_copy_outcome (reply, original);
        self->duplicates++;
        zlistx_add_end (self->replies, reply);
        return;
    }
    byte *stored = NULL;
    size_t stored_size = 0;
    int found = zcq_log_find_reply (self->log, zcq_msg_id (command), &stored, &stored_size);
    if (found == 0) {
        zcq_msg_t *first = zcq_msg_decode_body (ZCQ_MSG_REPLY, stored, stored_size);
        s_copy_outcome (reply, first);
        zcq_msg_destroy (&first);
        free (stored);
        self->duplicates++;
        s_reply_now (self, &reply);
        return;
    }
    if (found < 0) {
        zcq_msg_set_status (reply, ZCQ_UNAVAILABLE);
        zcq_msg_set_reason (reply, "storage read failed; nothing was stored, retry");
        s_reply_now (self, &reply);
        return;
    }
    const char *type = zcq_msg_name (command);
    if (!zcq_domain_has_command (self->domain, type)) {
        zcq_msg_set_status (reply, ZCQ_UNKNOWN_TYPE);
        zcq_msg_set_reason (reply, "unknown command type '%s' for domain '%s'", type,
                            self->domain->name);
        self->invalid++;
        s_reply_now (self, &reply);
        return;
    }
    s_aggregate_t *aggregate = s_aggregate (self, zcq_msg_stream (command));
    if (!aggregate) {
        zcq_msg_set_status (reply, ZCQ_UNAVAILABLE);
        zcq_msg_set_reason (reply, "cannot load stream '%s' from storage; retry",
                            zcq_msg_stream (command));
        s_reply_now (self, &reply);
        return;
    }
    int64_t expect = zcq_msg_expect (command);
    if (expect != ZCQ_EXPECT_ANY && (uint64_t) expect != aggregate->version) {
        zcq_msg_set_status (reply, ZCQ_CONFLICT);
        zcq_msg_set_reason (
            reply, "expected version %" PRId64 " but stream '%s' is at version %" PRIu64,
            expect, aggregate->stream, aggregate->version);
        zcq_msg_set_version (reply, aggregate->version);
        zcq_msg_set_position (reply, zcq_log_staged_head (self->log));
        self->conflicts++;
        s_reply_after_commit (self, reply);
        return;
    }
    //  The codec checked that data is one map (or absent)
    msgpack_unpacked data;
    static const char empty_map [1] = {(char) 0x80};
    bool has_data = zcq_msg_data_size (command) > 0;
    int rc = zcq_fields_unpack (has_data ? (const char *) zcq_msg_data (command) : empty_map,
                                has_data ? zcq_msg_data_size (command) : 1, &data);
    assert (rc == 0);
    (void) rc;
    zcq_command_t view = {type, aggregate->stream, aggregate->version, &data.data};
    zcq_decision_reset (self->decision);
    self->domain->decide (aggregate->state, &view, self->decision);
    msgpack_unpacked_destroy (&data);

    zcq_status_t status = zcq_decision_status (self->decision);
    zcq_msg_set_version (reply, aggregate->version);
    zcq_msg_set_position (reply, zcq_log_staged_head (self->log));
    if (status == ZCQ_ACCEPTED && s_check_events (self, reply) == 0) {
        s_append (self, command, aggregate, reply);
        self->accepted++;
        s_reply_after_commit (self, reply);
    }
    else if (status == ZCQ_REJECTED) {
        zcq_msg_set_status (reply, ZCQ_REJECTED);
        zcq_msg_set_reason (reply, "%s", zcq_decision_reason (self->decision));
        self->rejected++;
        s_reply_after_commit (self, reply);
    }
    else {
        //  Malformed data (or events over the limits) change nothing and are
        //  not remembered: the same id with corrected data may be sent again
        if (status == ZCQ_INVALID) {
            zcq_msg_set_status (reply, ZCQ_INVALID);
            zcq_msg_set_reason (reply, "%s", zcq_decision_reason (self->decision));
        }
        self->invalid++;
        s_reply_now (self, &reply);
    }
}

//  Answer the write node's own query: "status".
static void
s_handle_query (self_t *self, zcq_msg_t *query)
{
    zcq_msg_t *result = zcq_msg_reply_to (query, ZCQ_OK);
    if (!streq (zcq_msg_name (query), "status")) {
        zcq_msg_set_status (result, ZCQ_UNKNOWN_TYPE);
        zcq_msg_set_reason (result, "the write node answers only the 'status' query, not '%s'",
                            zcq_msg_name (query));
    }
    else {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 12);
        zcq_fields_pack_str (&pk, "role");
        zcq_fields_pack_str (&pk, "write");
        zcq_fields_pack_str (&pk, "domain");
        zcq_fields_pack_str (&pk, self->domain->name);
        zcq_fields_pack_str (&pk, "head");
        msgpack_pack_uint64 (&pk, zcq_log_head (self->log));
        zcq_fields_pack_str (&pk, "durability");
        zcq_fields_pack_str (&pk, self->sync ? "sync" : "async");
        zcq_fields_pack_str (&pk, "cached_streams");
        msgpack_pack_uint64 (&pk, zlistx_size (self->lru));
        zcq_fields_pack_str (&pk, "accepted");
        msgpack_pack_uint64 (&pk, self->accepted);
        zcq_fields_pack_str (&pk, "rejected");
        msgpack_pack_uint64 (&pk, self->rejected);
        zcq_fields_pack_str (&pk, "conflicts");
        msgpack_pack_uint64 (&pk, self->conflicts);
        zcq_fields_pack_str (&pk, "invalid");
        msgpack_pack_uint64 (&pk, self->invalid);
        zcq_fields_pack_str (&pk, "duplicates");
        msgpack_pack_uint64 (&pk, self->duplicates);
        zcq_fields_pack_str (&pk, "write_failures");
        msgpack_pack_uint64 (&pk, self->failures);
        zcq_fields_pack_str (&pk, "uptime_ms");
        msgpack_pack_int64 (&pk, zclock_mono () - self->started);
        zcq_msg_set_data (result, buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
    }
    zcq_msg_set_position (result, zcq_log_head (self->log));
    s_send (result, self->commands);
    zcq_msg_destroy (&result);
}

//  Reply to a message that did not decode, or has no business here.
static void
s_reply_error (zcq_msg_t *request, zsock_t *sock, zcq_status_t status, const char *reason)
{
    zcq_msg_t *reply = zcq_msg_reply_to (request, status);
    zcq_msg_set_reason (reply, "%s", reason);
    s_send (reply, sock);
    zcq_msg_destroy (&reply);
}

//  Commit the group, then reply to every command in it, then publish its
//  events: never acknowledge before the disk has it, never publish what
//  might not be stored.
static void
s_commit_group (self_t *self)
{
    if (zlistx_size (self->replies) == 0) {
        zcq_log_begin (self->log);
        return;
    }
    self->groups++;
    bool stored = zcq_log_commit (self->log, self->sync) == 0;
    if (!stored) {
        self->failures++;
        zsys_error ("write node: group of %zu commands not stored; all refused as unavailable",
                    zlistx_size (self->replies));
        s_cache_purge (self);
    }
    zcq_msg_t *reply = (zcq_msg_t *) zlistx_first (self->replies);
    while (reply) {
        if (!stored) {
            zcq_msg_set_status (reply, ZCQ_UNAVAILABLE);
            zcq_msg_set_reason (reply, "storage write failed; nothing was stored, retry with "
                                       "the same command id");
            zcq_msg_set_version (reply, 0);
            zcq_msg_set_position (reply, 0);
            zcq_msg_set_count (reply, 0);
        }
        s_send (reply, self->commands);
        reply = (zcq_msg_t *) zlistx_next (self->replies);
    }
    if (stored) {
        for (size_t index = 0; index < zcq_log_staged_count (self->log); index++) {
            size_t size;
            const byte *body = zcq_log_staged_body (self->log, index, &size);
            if (self->drop_every && ++self->published % self->drop_every == 0) {
                continue;   //  test seam: a lost publication, repaired by replay
            }
            zmsg_t *zmsg = zmsg_new ();
            zmsg_addstr (zmsg, ZCQ_SIGNATURE);
            zmsg_addstr (zmsg, "EVENT");
            zmsg_addmem (zmsg, body, size);
            zmsg_send (&zmsg, self->events);
        }
    }
    zhashx_purge (self->group_ids);
    zlistx_purge (self->replies);
    zcq_log_begin (self->log);
}

//  Drain what waits on the command socket, up to a group, and commit it.
static void
s_handle_commands (self_t *self)
{
    for (size_t count = 0; count < self->group_max; count++) {
        if (count > 0 && !(zsock_events (self->commands) & ZMQ_POLLIN)) {
            break;
        }
        zcq_msg_t *msg = zcq_msg_recv (self->commands);
        if (!msg) {
            break;
        }
        if (zcq_node_refuse (msg, self->commands, "command",
                             ZCQ_NODE_TAKES (ZCQ_MSG_COMMAND)
                                 | ZCQ_NODE_TAKES (ZCQ_MSG_QUERY))) {
            self->invalid++;
        }
        else if (zcq_msg_type (msg) == ZCQ_MSG_COMMAND) {
            s_handle_command (self, msg);
        }
        else {
            s_handle_query (self, msg);
        }
        zcq_msg_destroy (&msg);
    }
    s_commit_group (self);
}

//  --- Replay -----------------------------------------------------------------

static int
s_add_event (const byte *body, size_t size, void *arg)
{
    zcq_msg_add_event ((zcq_msg_t *) arg, body, size);
    return 0;
}

//  Answer one REPLAY with a bounded batch of stored events.
static void
s_handle_replay (self_t *self)
{
    zcq_msg_t *request = zcq_msg_recv (self->replay);
    if (!request) {
        return;
    }
    if (!zcq_node_refuse (request, self->replay, "replay", ZCQ_NODE_TAKES (ZCQ_MSG_REPLAY))) {
        zcq_msg_t *reply = zcq_msg_reply_to (request, ZCQ_OK);
        zcq_msg_set_from (reply, zcq_msg_from (request));
        zcq_msg_set_head (reply, zcq_log_head (self->log));
        int read = zcq_log_read (self->log, zcq_msg_from (request), zcq_msg_max (request),
                                 REPLAY_BYTES, s_add_event, reply);
        if (read < 0) {
            zcq_msg_destroy (&reply);
            s_reply_error (request, self->replay, ZCQ_UNAVAILABLE,
                           "storage read failed; retry");
        }
        else {
            s_send (reply, self->replay);
            zcq_msg_destroy (&reply);
        }
    }
    zcq_msg_destroy (&request);
}

static void
s_heartbeat (self_t *self)
{
    zcq_msg_t *heartbeat = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
    zcq_msg_set_head (heartbeat, zcq_log_head (self->log));
    zcq_msg_set_time (heartbeat, zcq_event_now ());
    zcq_msg_set_interval (heartbeat, (uint32_t) self->heartbeat);
    zcq_msg_send (heartbeat, self->events);
    zcq_msg_destroy (&heartbeat);
    self->next_heartbeat = zclock_mono () + self->heartbeat;
}

static void
s_handle_pipe (self_t *self)
{
    char *command = NULL, *argument = NULL;
    if (zstr_recvx (self->pipe, &command, &argument, NULL) < 0 || streq (command, "$TERM")) {
        self->terminated = true;
    }
    else if (streq (command, "FAIL-WRITES") && argument) {
        //  Test seam: the next N batch writes fail as a broken disk would
        zcq_store_fail_writes (zcq_log_store (self->log), atoi (argument));
        zsock_signal (self->pipe, 0);
    }
    zstr_free (&command);
    zstr_free (&argument);
}

void
zcq_write_node_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    char *error = NULL;
    self_t *self = s_self_new (pipe, (zconfig_t *) args, &error);
    if (!self) {
        zcq_node_failed (pipe, error);
        zstr_free (&error);
        return;
    }
    char *commands = zcq_node_endpoint (self->commands);
    char *events = zcq_node_endpoint (self->events);
    char *replay = zcq_node_endpoint (self->replay);
    char *summary =
        zsys_sprintf ("commands=%s events=%s replay=%s head=%" PRIu64 " domain=%s", commands,
                      events, replay, zcq_log_head (self->log), self->domain->name);
    zsys_info ("write node serving: %s", summary);
    zcq_node_ready (pipe, summary);
    zstr_free (&summary);
    zstr_free (&commands);
    zstr_free (&events);
    zstr_free (&replay);

    while (!self->terminated) {
        int64_t wait = self->next_heartbeat - zclock_mono ();
        void *which = zpoller_wait (self->poller, wait > 0 ? (int) wait : 0);
        if (which == self->pipe) {
            s_handle_pipe (self);
        }
        else if (which == self->commands) {
            s_handle_commands (self);
        }
        else if (which == self->replay) {
            s_handle_replay (self);
        }
        if (zclock_mono () >= self->next_heartbeat) {
            s_heartbeat (self);
        }
    }
    s_self_destroy (&self);
}
