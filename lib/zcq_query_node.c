/*  =========================================================================
    zcq_query_node - the query side (see zcq_query_node.h)

    Invariant: the applied position is written in the same LevelDB batch as
    the read-model changes of the events up to it, so a crash can neither
    skip nor repeat an event; on restart the feed resumes at applied + 1.
    Read models can always be rebuilt from the log, so batches are not
    fsynced: a crash loses at most the last batches, which replay brings back.
    =========================================================================
*/

#include "zcq_query_node.h"
#include "zcq_client.h"
#include "zcq_domain.h"
#include "zcq_event.h"
#include "zcq_feed.h"
#include "zcq_log.h"
#include "zcq_node.h"

#define QUERY_FORMAT "zcqrs-query-1" //  value of "q:format"
#define APPLY_BATCH  1000            //  most events per LevelDB batch
#define PARKED_MAX   10000           //  queries waiting for min_position
#define WAIT_MAX     60000           //  ms a query may ask to wait at most
#define TICK         100             //  ms between timer checks
#define SILENT_BEATS 3               //  heartbeats missed before "unreachable"

//  A query waiting until the node has applied its min_position.
typedef struct {
    zcq_msg_t *query; //  the QUERY, with its envelope
    int64_t deadline; //  zclock_mono () to answer "stale"
    int64_t parked;   //  zclock_mono () when it started waiting
} s_parked_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *queries;           //  ROUTER: QUERY
    zpoller_t *poller;          //  pipe, queries, feed sockets
    zcq_feed_t *feed;           //  ordered events from the write node
    zcq_store_t *store;         //  read models + applied position
    zcq_view_t *view;           //  the domain's handle on the store
    zcq_batch_t *batch;         //  scratch batch
    zcq_answer_t *answer;       //  scratch answer
    const zcq_domain_t *domain; //  project / query
    uint64_t applied;           //  last position folded into the read models
    zlistx_t *parked;           //  s_parked_t, oldest first
    int64_t next_deadline;      //  earliest deadline of a parked query, or INT64_MAX
    int wait;                   //  default ms to wait for min_position
    int64_t started;            //  zclock_mono () at start
    bool terminated;            //  $TERM received
    uint64_t events_applied;    //  events folded since start
    uint64_t answered;          //  queries answered since start
    uint64_t stale;             //  of which stale
    uint64_t failures;          //  read-model writes that failed
} self_t;

static void
s_parked_destroy (void **item)
{
    s_parked_t *parked = (s_parked_t *) *item;
    if (parked) {
        zcq_msg_destroy (&parked->query);
        free (parked);
        *item = NULL;
    }
}

static void
s_self_destroy (self_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        self_t *self = *self_p;
        zlistx_destroy (&self->parked);
        zpoller_destroy (&self->poller);
        zcq_feed_destroy (&self->feed);
        zsock_destroy (&self->queries);
        zcq_answer_destroy (&self->answer);
        zcq_batch_destroy (&self->batch);
        zcq_view_destroy (&self->view);
        zcq_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

//  Check the folder is ours and for this domain, and read the applied
//  position. A new folder is claimed for the domain.
static int
s_open_models (self_t *self, const char *data, char **error)
{
    self->store = zcq_store_new (data);
    if (!self->store) {
        *error = zsys_sprintf ("cannot open the read-model store in '%s'", data);
        return -1;
    }
    byte *format = NULL, *domain = NULL, *applied = NULL;
    size_t size = 0;
    int rc = zcq_store_get (self->store, "q:format", 8, &format, &size);
    if (rc == 1) {
        zcq_batch_t *batch = zcq_batch_new ();
        zcq_batch_put (batch, "q:format", 8, QUERY_FORMAT, strlen (QUERY_FORMAT));
        zcq_batch_put (batch, "q:domain", 8, self->domain->name, strlen (self->domain->name));
        rc = zcq_store_write (self->store, batch, true);
        zcq_batch_destroy (&batch);
        if (rc) {
            *error = zsys_sprintf ("cannot initialise '%s'", data);
        }
    }
    else if (rc == 0 && !streq ((char *) format, QUERY_FORMAT)) {
        *error = zsys_sprintf ("folder '%s' holds '%s', not query-node read models", data,
                               (char *) format);
        rc = -1;
    }
    else if (rc == 0) {
        int found = zcq_store_get (self->store, "q:domain", 8, &domain, &size);
        if (found != 0) {
            *error = zsys_sprintf ("cannot read the domain of the read models in '%s'", data);
            rc = -1;
        }
        else if (!streq ((char *) domain, self->domain->name)) {
            *error = zsys_sprintf ("folder '%s' holds read models of domain '%s', not '%s'; "
                                   "use another folder",
                                   data, (char *) domain, self->domain->name);
            rc = -1;
        }
    }
    else if (rc < 0) {
        *error = zsys_sprintf ("cannot read '%s'", data);
    }
    if (rc == 0) {
        int found = zcq_store_get (self->store, "q:applied", 9, &applied, &size);
        if (found == 0 && size == 8) {
            self->applied = zcq_log_get_be64 (applied);
        }
        else if (found != 1) {
            *error = zsys_sprintf ("cannot read the applied position in '%s'", data);
            rc = -1;
        }
    }
    free (format);
    free (domain);
    free (applied);
    return rc;
}

static self_t *
s_self_new (zsock_t *pipe, zconfig_t *config, char **error)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->started = zclock_mono ();
    self->wait = (int) zcq_node_get_int (config, "query/wait", 1000);
    self->domain = zcq_domain_load (zcq_node_get (config, "query/domain", "bank"), error);
    if (!self->domain) {
        free (self);
        return NULL;
    }
    if (s_open_models (self, zcq_node_get (config, "query/data", "var/query-1"), error)) {
        s_self_destroy (&self);
        return NULL;
    }
    self->queries =
        zcq_node_serve (config, ZMQ_ROUTER, "query", "queries", ZCQ_DEFAULT_QUERIES, error);
    if (!self->queries) {
        s_self_destroy (&self);
        return NULL;
    }
    self->feed = zcq_feed_new (zcq_node_get (config, "query/events", ZCQ_DEFAULT_EVENTS),
                               zcq_node_get (config, "query/replay", ZCQ_DEFAULT_REPLAY),
                               self->applied + 1);
    if (!self->feed) {
        *error = zsys_sprintf ("cannot connect to the write node's endpoints");
        s_self_destroy (&self);
        return NULL;
    }
    self->view = zcq_view_new (self->store);
    self->batch = zcq_batch_new ();
    self->answer = zcq_answer_new ();
    self->parked = zlistx_new ();
    zlistx_set_destructor (self->parked, s_parked_destroy);
    self->poller = zpoller_new (pipe, self->queries, zcq_feed_events_sock (self->feed),
                                zcq_feed_replay_sock (self->feed), NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

//  --- Answering --------------------------------------------------------------

static void
s_send (self_t *self, zcq_msg_t *msg)
{
    if (zcq_msg_send (msg, self->queries) != 0) {
        zsys_warning ("query node: could not deliver %s: peer gone or its queue is full",
                      zcq_msg_type_name (zcq_msg_type (msg)));
    }
}

static bool
s_write_node_reachable (self_t *self)
{
    int64_t heard = zcq_feed_last_heard (self->feed);
    uint32_t interval = zcq_feed_interval (self->feed);
    int64_t silence = (int64_t) SILENT_BEATS * (interval ? interval : 1000);
    return heard && zclock_mono () - heard <= silence;
}

//  The built-in "status" query.
static void
s_pack_status (self_t *self, msgpack_packer *pk)
{
    uint64_t head = zcq_feed_head (self->feed);
    msgpack_pack_map (pk, 12);
    zcq_fields_pack_str (pk, "role");
    zcq_fields_pack_str (pk, "query");
    zcq_fields_pack_str (pk, "domain");
    zcq_fields_pack_str (pk, self->domain->name);
    zcq_fields_pack_str (pk, "applied");
    msgpack_pack_uint64 (pk, self->applied);
    zcq_fields_pack_str (pk, "head");
    msgpack_pack_uint64 (pk, head);
    zcq_fields_pack_str (pk, "lag");
    msgpack_pack_uint64 (pk, head > self->applied ? head - self->applied : 0);
    zcq_fields_pack_str (pk, "state");
    zcq_fields_pack_str (pk, zcq_feed_state (self->feed));
    zcq_fields_pack_str (pk, "write_node");
    zcq_fields_pack_str (pk, s_write_node_reachable (self) ? "reachable" : "unreachable");
    zcq_fields_pack_str (pk, "events_applied");
    msgpack_pack_uint64 (pk, self->events_applied);
    zcq_fields_pack_str (pk, "replayed");
    msgpack_pack_uint64 (pk, zcq_feed_replayed (self->feed));
    zcq_fields_pack_str (pk, "queries");
    msgpack_pack_uint64 (pk, self->answered);
    zcq_fields_pack_str (pk, "waiting");
    msgpack_pack_uint64 (pk, zlistx_size (self->parked));
    zcq_fields_pack_str (pk, "uptime_ms");
    msgpack_pack_int64 (pk, zclock_mono () - self->started);
}

//  Answer a query now, at the applied position; "stale" when that is below
//  the min_position it asked for (after waiting waited ms).
static void
s_answer (self_t *self, zcq_msg_t *query, int64_t waited)
{
    zcq_msg_t *result = zcq_msg_reply_to (query, ZCQ_OK);
    const char *name = zcq_msg_name (query);
    zcq_answer_reset (self->answer);
    if (streq (name, "status")) {
        s_pack_status (self, zcq_answer_result (self->answer));
    }
    else {
        msgpack_unpacked params;
        static const char empty_map [1] = {(char) 0x80};
        bool has = zcq_msg_data_size (query) > 0;
        int rc = zcq_fields_unpack (has ? (const char *) zcq_msg_data (query) : empty_map,
                                    has ? zcq_msg_data_size (query) : 1, &params);
        assert (rc == 0); //  the codec checked params is one map
        (void) rc;
        self->domain->query (self->view, name, &params.data, self->answer);
        msgpack_unpacked_destroy (&params);
    }
    zcq_msg_set_status (result, zcq_answer_status (self->answer));
    zcq_msg_set_reason (result, "%s", zcq_answer_reason (self->answer));
    size_t size;
    const byte *data = zcq_answer_data (self->answer, &size);
    zcq_msg_set_data (result, data, size);
    zcq_msg_set_position (result, self->applied);
    if (zcq_msg_min_position (query) > self->applied) {
        //  Whatever the domain said ("not_found" for an account the client
        //  just opened, say) may change by min_position: the answer is stale,
        //  which a client may retry, with what the domain said at this position
        zcq_status_t said = zcq_answer_status (self->answer);
        zcq_msg_set_status (result, ZCQ_STALE);
        zcq_msg_set_reason (result,
                            "answer reflects position %" PRIu64 ", below min_position %" PRIu64
                            " after waiting %" PRId64 " ms%s%s%s%s",
                            self->applied, zcq_msg_min_position (query), waited,
                            said == ZCQ_OK ? "" : "; at this position: ",
                            said == ZCQ_OK ? "" : zcq_status_name (said),
                            said == ZCQ_OK ? "" : ": ",
                            said == ZCQ_OK ? "" : zcq_answer_reason (self->answer));
        self->stale++;
    }
    self->answered++;
    zmsg_t *encoded = zcq_msg_encode (result);
    if (!encoded) {
        //  An answer too big for one message: say so instead of going silent
        zcq_msg_t *refusal = zcq_msg_reply_to (query, zcq_msg_error_status (result));
        zcq_msg_set_reason (refusal,
                            "the answer does not fit in one message (%s); ask for less",
                            zcq_msg_error (result));
        zcq_msg_set_position (refusal, self->applied);
        zcq_msg_destroy (&result);
        result = refusal;
    }
    zmsg_destroy (&encoded);
    s_send (self, result);
    zcq_msg_destroy (&result);
}

//  Take one message from the query socket.
static void
s_handle_query (self_t *self)
{
    zcq_msg_t *query = zcq_msg_recv (self->queries);
    if (!query) {
        return;
    }
    if (zcq_node_refuse (query, self->queries, "query", ZCQ_NODE_TAKES (ZCQ_MSG_QUERY))) {
        zcq_msg_destroy (&query);
        return;
    }
    const char *name = zcq_msg_name (query);
    if (!streq (name, "status") && !zcq_domain_has_query (self->domain, name)) {
        zcq_msg_t *reply = zcq_msg_reply_to (query, ZCQ_UNKNOWN_TYPE);
        zcq_msg_set_reason (reply, "unknown query '%s' for domain '%s'", name,
                            self->domain->name);
        zcq_msg_set_position (reply, self->applied);
        s_send (self, reply);
        zcq_msg_destroy (&reply);
        zcq_msg_destroy (&query);
        return;
    }
    if (zcq_msg_min_position (query) <= self->applied
        || streq (zcq_msg_name (query), "status")) {
        s_answer (self, query, 0);
        zcq_msg_destroy (&query);
        return;
    }
    if (zlistx_size (self->parked) >= PARKED_MAX) {
        zcq_msg_t *reply = zcq_msg_reply_to (query, ZCQ_BUSY);
        zcq_msg_set_reason (reply, "%d queries already wait for newer positions; retry later",
                            PARKED_MAX);
        zcq_msg_set_position (reply, self->applied);
        s_send (self, reply);
        zcq_msg_destroy (&reply);
        zcq_msg_destroy (&query);
        return;
    }
    //  Read-your-writes: wait (bounded) until min_position is applied
    int64_t wait = zcq_msg_timeout (query) ? (int64_t) zcq_msg_timeout (query) : self->wait;
    if (wait > WAIT_MAX) {
        wait = WAIT_MAX;
    }
    s_parked_t *parked = (s_parked_t *) zmalloc (sizeof (s_parked_t));
    assert (parked);
    parked->query = query;
    parked->parked = zclock_mono ();
    parked->deadline = parked->parked + wait;
    zlistx_add_end (self->parked, parked);
    if (parked->deadline < self->next_deadline) {
        self->next_deadline = parked->deadline;
    }
}

//  Answer waiting queries that can be answered: min_position reached, or
//  out of time (then "stale"). Returns the earliest deadline of those still
//  waiting (zclock_mono () time), or INT64_MAX when none waits.
static int64_t
s_release_parked (self_t *self)
{
    if (zlistx_size (self->parked) == 0) {
        return INT64_MAX;
    }
    int64_t earliest = INT64_MAX;
    int64_t now = zclock_mono ();
    zlistx_t *waiting = zlistx_new ();
    zlistx_set_destructor (waiting, s_parked_destroy);
    s_parked_t *parked;
    while ((parked = (s_parked_t *) zlistx_detach (self->parked, NULL))) {
        if (zcq_msg_min_position (parked->query) <= self->applied || now >= parked->deadline) {
            s_answer (self, parked->query, now - parked->parked);
            s_parked_destroy ((void **) &parked);
        }
        else {
            earliest = parked->deadline < earliest ? parked->deadline : earliest;
            zlistx_add_end (waiting, parked);
        }
    }
    zlistx_destroy (&self->parked);
    self->parked = waiting;
    return earliest;
}

//  --- Applying events --------------------------------------------------------

//  Fold up to APPLY_BATCH ready events into one batch with the applied
//  position. Returns the number applied (0 when none was ready or the
//  batch failed; then the feed is rewound to deliver them again).
static size_t
s_apply_batch (self_t *self)
{
    uint64_t last = self->applied;
    size_t count = 0;
    bool failed = false;
    zcq_msg_t *event;
    while (count < APPLY_BATCH && (event = zcq_feed_next (self->feed))) {
        uint64_t position = zcq_msg_position (event);
        if (position != last + 1) {
            //  The feed guarantees order; anything else is a broken invariant
            zsys_error ("query node: feed gave position %" PRIu64 " after %" PRIu64, position,
                        last);
            zcq_msg_destroy (&event);
            failed = true;
            break;
        }
        msgpack_unpacked data;
        zcq_event_t view;
        if (zcq_event_from_msg (&view, event, &data) != 0) {
            zsys_error ("query node: event %" PRIu64 " has data that is not a map", position);
            failed = true;
        }
        else {
            failed = self->domain->project (self->view, &view) != 0;
            msgpack_unpacked_destroy (&data);
        }
        zcq_msg_destroy (&event);
        if (failed) {
            break;
        }
        last = position;
        count++;
    }
    if (!failed && count > 0) {
        byte value [8];
        zcq_log_put_be64 (value, last);
        zcq_batch_clear (self->batch);
        zcq_view_commit (self->view, self->batch);
        zcq_batch_put (self->batch, "q:applied", 9, value, 8);
        failed = zcq_store_write (self->store, self->batch, false) != 0;
        zcq_batch_clear (self->batch);
    }
    if (failed) {
        self->failures++;
        zcq_view_rollback (self->view);
        zcq_feed_rewind (self->feed, self->applied + 1);
        return 0;
    }
    self->applied = last;
    self->events_applied += count;
    return count;
}

static void
s_apply (self_t *self)
{
    while (s_apply_batch (self) > 0) {
        self->next_deadline = s_release_parked (self);
    }
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM")) {
        self->terminated = true;
    }
    zstr_free (&command);
}

void
zcq_query_node_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    char *error = NULL;
    self_t *self = s_self_new (pipe, (zconfig_t *) args, &error);
    if (!self) {
        zcq_node_failed (pipe, error);
        zstr_free (&error);
        return;
    }
    char *queries = zcq_node_endpoint (self->queries);
    char *summary = zsys_sprintf ("queries=%s applied=%" PRIu64 " domain=%s", queries,
                                  self->applied, self->domain->name);
    zsys_info ("query node serving: %s", summary);
    zcq_node_ready (pipe, summary);
    zstr_free (&summary);
    zstr_free (&queries);

    //  Timers: the feed's tick, and the deadline of the first waiting query
    //  (a query is answered "stale" on time, not at the next tick)
    int64_t next_tick = zclock_mono () + TICK;
    self->next_deadline = INT64_MAX;
    while (!self->terminated) {
        int64_t wake = self->next_deadline < next_tick ? self->next_deadline : next_tick;
        int64_t wait = wake - zclock_mono ();
        void *which = zpoller_wait (self->poller, wait > 0 ? (int) wait : 0);
        if (which == self->pipe) {
            s_handle_pipe (self);
        }
        else if (which == self->queries) {
            s_handle_query (self);
        }
        else if (which) {
            zcq_feed_recv (self->feed, (zsock_t *) which);
            s_apply (self);
        }
        if (zclock_mono () >= next_tick) {
            zcq_feed_tick (self->feed);
            s_apply (self);
            next_tick = zclock_mono () + TICK;
        }
        if (zclock_mono () >= self->next_deadline) {
            self->next_deadline = s_release_parked (self);
        }
    }
    s_self_destroy (&self);
}
