/*  =========================================================================
    zcq_query_node - the query side (see zcq_query_node.h)

    The read models and their applied position are a projection
    (zcq_projection.h): written in one batch, so a crash can neither skip
    nor repeat an event; on restart the feed resumes at applied + 1.

    A rebuild folds the log from position 1 into the generation beside the
    serving one, with a feed of its own, while the serving models go on
    following the write node; once the rebuild has reached the serving
    position one batch makes it serve, and the old keyspace is deleted a
    slice at a time. Queries never see empty models. A node whose domain
    projects at another version than the one that built its models (the
    store's q:projection) starts that rebuild by itself.
    =========================================================================
*/

#include "zcq_query_node.h"
#include "zcq_domain.h"
#include "zcq_endpoint.h"
#include "zcq_feed.h"
#include "zcq_metrics.h"
#include "zcq_node.h"
#include "zcq_projection.h"
#include "zcq_settings.h"
#include "zcq_store.h"
#include "zcq_view_store.h"
#include "zcq_waiter.h"
#include "zcq_watches.h"

#define APPLY_BATCH  10000 //  most events per LevelDB batch
#define APPLY_SLICE  1000  //  most events per batch while queries wait
#define PARKED_MAX   10000 //  queries waiting for min_position
#define WAIT_MAX     60000 //  ms a query may ask to wait at most
#define TICK         100   //  ms between timer checks
#define RATE_WINDOW  1000  //  ms over which the apply rate is measured
#define PROGRESS_LOG 5000  //  ms between catch-up progress lines
#define CATCHUP_MIN  1000  //  events behind that count as catching up
#define SWEEP_SLICE  5000  //  old read-model keys deleted per tick
#define BURST_MAX    1000  //  messages taken from a feed socket per wake-up
#define QUERY_BURST  256   //  queries taken from the query socket per wake-up

#define MEMTABLE (2 * 1024 * 1024) //  bytes of LevelDB memtable of the read models
#define HOLD_MAX 60000             //  ms query/hold may set at most

//  The query node's settings: the one place for their paths, flags,
//  defaults, accepted values and help (README's configuration reference
//  and zcqrs-query --help are made from it).
static const zcq_setting_t s_table [] = {
    {.path = "query/events",
     .flag = "--events",
     .fallback = ZCQ_DEFAULT_EVENTS,
     .arg = "EP",
     .help = "the write node's PUB endpoint, to subscribe to"},
    {.path = "query/replay",
     .flag = "--replay",
     .fallback = ZCQ_DEFAULT_REPLAY,
     .arg = "EP",
     .help = "the write node's replay endpoint"},
    {.path = "query/queries",
     .flag = "--queries",
     .fallback = ZCQ_DEFAULT_QUERIES,
     .arg = "EP",
     .help = "ROUTER endpoint it binds for queries"},
    {.path = "query/metrics",
     .flag = "--metrics",
     .arg = "HOST:PORT",
     .help = "HTTP address it serves Prometheus metrics on, at /metrics (e.g. 127.0.0.1:9611; "
             "port 0: any free port); unset: none"},
    {.path = "query/data",
     .flag = "--data",
     .fallback = "var/query-1",
     .arg = "DIR",
     .help = "LevelDB folder of the read models",
     .file = ZCQ_SETTING_FILE},
    {.path = "query/storage",
     .flag = "--storage",
     .fallback = "leveldb",
     .type = ZCQ_SETTING_CHOICE,
     .choices = "leveldb|memory",
     .help = "where the read models live: leveldb (in --data, durable) or memory (fastest "
             "reads; at start loaded from its snapshot in --data, else rebuilt from the "
             "write node's replay)"},
    {.path = "query/memory_limit",
     .flag = "--memory-limit",
     .fallback = "1024",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = 1048576,
     .arg = "MIB",
     .help = "storage memory: MiB the read models may hold; past it the node stops applying, "
             "says so in its log and status, and serves what it holds"},
    {.path = "query/snapshot",
     .flag = "--snapshot",
     .fallback = "60",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = 86400,
     .arg = "S",
     .help = "storage memory: seconds between snapshots of the read models to "
             "DATA/memory.snapshot (and one at a clean stop), loaded at start instead of "
             "replaying the whole log (0: none, always rebuilt from replay)"},
    {.path = "query/domain",
     .flag = "--domain",
     .fallback = "bank",
     .arg = "NAME|FILE.so",
     .help = "domain: bank, store, or the path of a domain .so; the write node's",
     .file = ZCQ_SETTING_FILE_OR_NAME},
    {.path = "query/wait",
     .flag = "--wait",
     .fallback = "1000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = WAIT_MAX,
     .arg = "MS",
     .help = "milliseconds a query waits for its min_position unless it says otherwise"},
    {.path = "query/silence",
     .flag = "--silence",
     .fallback = "3",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = 1000,
     .help = "heartbeat intervals without a word from the write node before it counts as "
             "unreachable (answers then say may_be_stale)"},
    {.path = "query/hwm",
     .flag = "--hwm",
     .fallback = "100000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = INT32_MAX,
     .help = "SUB receive queue in messages; what overflows is repaired by replay"},
    {.path = "query/replay_timeout",
     .flag = "--replay-timeout",
     .fallback = "2000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = 3600000,
     .arg = "MS",
     .help = "milliseconds a replay request may go unanswered before the feed gives it up (it "
             "asks again once an event is known to be missing)"},
    {.path = "query/hold",
     .flag = "--hold",
     .fallback = "100",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = HOLD_MAX,
     .arg = "MS",
     .help = "leveldb: milliseconds the read models' batch may be held unwritten, so that the "
             "bursts of that time are written together (queries read it at once; a crash "
             "loses only what replay brings again); 0: each burst written at once"},
    {.path = "query/cache",
     .flag = "--cache",
     .fallback = "100000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT32_MAX,
     .help = "read-model values kept in memory beside the store, the last read or written "
             "(both backends: a copy of each, on top of query/memory_limit with memory)"},
    {.path = "query/rebuild",
     .flag = "--rebuild",
     .fallback = "0",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = 1,
     .arg = "0|1",
     .bare = "1",
     .help = "1: fold the log again into a second keyspace while the current read models "
             "serve, then switch"},
    {.path = "query/watch_max",
     .flag = "--watch-max",
     .fallback = "10000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = 1000000,
     .help = "live queries (WATCH) the node holds at most, for all clients (0: none); one "
             "more is refused busy"},
    {.path = "query/watch_client_max",
     .flag = "--watch-client-max",
     .fallback = "1000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = 10000,
     .help = "live queries one client (connection) may hold on the node; one more is refused "
             "busy (at most 10000: each has one update in flight, far below the socket's "
             "per-peer queue)"},
    {.path = "query/watch_lease",
     .flag = "--watch-lease",
     .fallback = "10000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 100,
     .max = 3600000,
     .arg = "MS",
     .help = "milliseconds a silent client keeps its live queries (clients renew every "
             "third of it)"},
    ZCQ_SETTING_LOG_LEVEL ("query"),
    {.path = "query/security/cert",
     .arg = "FILE",
     .help = "CURVE keypair of the node (FILE and FILE_secret); with clients, its endpoint is "
             "secured, and its feed uses it towards the write node",
     .file = ZCQ_SETTING_FILE},
    {.path = "query/security/clients",
     .arg = "DIR",
     .help = "folder of the public certificates of the clients allowed in",
     .file = ZCQ_SETTING_FILE},
    {.path = "query/security/roles/*",
     .arg = "ROLES",
     .help = "roles of the key with this name: query"},
    {.path = "query/security/server",
     .arg = "KEY|FILE",
     .help = "the write node's public key (40 Z85 characters or its certificate file): the "
             "feed connects with CURVE",
     .file = ZCQ_SETTING_FILE_OR_NAME},
    {.path = "query/fault/apply_delay_ms",
     .flag = "--fault-apply-delay-ms",
     .fallback = "0",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT32_MAX,
     .arg = "MS",
     .help = "test seam: hold every event this long before applying it, in a rebuild too "
             "(0: off)"},
    {.path = NULL},
};

const zcq_setting_t *
zcq_query_node_settings (void)
{
    return s_table;
}

//  A query waiting until the node has applied its min_position.
typedef struct {
    zcq_msg_t *query; //  the QUERY, with its envelope
    int64_t deadline; //  zclock_mono () to answer "stale"
    int64_t parked;   //  zclock_mono () when it started waiting
} s_parked_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *queries;           //  ROUTER: QUERY
    zcq_waiter_t *waiter;       //  pipe, queries, feed sockets
    bool queries_sent;          //  sent to queries since it was last read empty
    uint64_t requests_seen [2]; //  zcq_feed_requests of feed, rebuild_feed at the last wait
    zcq_store_t *store;         //  read models + applied position
    zcq_projection_t *serving;  //  the read models queries are answered from
    zcq_feed_t *feed;           //  ordered events for serving
    char *cluster;              //  "q:cluster": the cluster this folder follows, or NULL
    zcq_projection_t *spare;    //  the other keyspace: rebuilt, or swept
    zcq_feed_t *rebuild_feed;   //  ordered events for spare while it is rebuilt, else NULL
    bool sweeping;              //  the keyspace not serving still holds keys
    zcq_result_t *answer;       //  scratch answer
    const zcq_domain_t *domain; //  project / query
    zlistx_t *parked;           //  s_parked_t, oldest first
    zcq_watches_t *watches;     //  live queries
    zhashx_t *touched;          //  set: read-model keys the last batch wrote, for watches
    bool was_stale;             //  answers said may_be_stale at the last tick
    int64_t next_deadline;      //  earliest deadline of a parked query, or INT64_MAX
    int wait;                   //  default ms to wait for min_position
    int cache;                  //  read-model values cached per view
    int hold;                   //  ms a LevelDB batch of read models may be held
    bool memory;                //  the read models are held in memory, not LevelDB
    char *snapshot_path;        //  memory: the snapshot file, or NULL: none
    int snapshot_interval;      //  memory: seconds between snapshots (0: none)
    int64_t snapshot_at;        //  zclock_mono () of the last snapshot (or start)
    uint64_t snapshot_position; //  applied position of the last snapshot written or loaded
    bool from_snapshot;         //  the read models were loaded from the snapshot
    const char *events;         //  write node PUB endpoint (config-owned)
    const char *replay;         //  write node replay endpoint (config-owned)
    int hwm;                    //  SUB receive queue, messages
    int silence;                //  heartbeats missed before unreachable
    int replay_timeout;         //  ms a REPLAY may go unanswered
    int apply_delay;            //  fault seam: ms each ready event is held
    int64_t held_since;         //  zclock_mono () the held events became ready
    int64_t rebuild_held_since; //  the same for the rebuild's feed
    int64_t started;            //  zclock_mono () at start
    bool terminated;            //  $TERM received
    uint64_t events_applied;    //  events folded into the serving models since start
    uint64_t failures;          //  read-model writes that failed
    int64_t apply_backoff;      //  ms to wait after a failed batch (0: none failed)
    int64_t apply_resume;       //  zclock_mono () before which no batch is tried
    uint64_t rate;              //  events/s applied over the last window
    uint64_t rate_base;         //  events_applied at the window's start
    int64_t rate_at;            //  zclock_mono () of the window's start
    int64_t catchup_at;         //  zclock_mono () a catch-up began, 0: none
    uint64_t catchup_base;      //  events_applied when it began
    int64_t progress_at;        //  zclock_mono () of the last progress line

    //  Metrics (zcq_metrics.h): a registry of cells of this struct (also
    //  events_applied, failures, rate), and its HTTP server
    zcq_metrics_t *metrics;          //  the registry
    uint64_t answers [ZCQ_STATUSES]; //  queries answered since start, by status
    uint64_t applied, head, lag;     //  positions, as of the last tick
    uint64_t reachable;              //  1: the write node is heard from, as of the last tick
    uint64_t watching;               //  live queries held, as of the last tick
    uint64_t watch_updates;          //  live-query updates sent, as of the last tick
    zcq_histogram_t *query_latency;  //  us from receiving a query to its answer
} self_t;

#define S_ANSWERS(status, name)                                                                \
    {                                                                                          \
        false, "zcqrs_queries_total", "status=\"" name "\"", NULL,                             \
            offsetof (self_t, answers [status])                                                \
    }

//  The query node's counters and gauges as metrics: cells of self_t that
//  its status query answers from too (zcq_metrics.h)
static const zcq_metric_t s_metrics [] = {
    {false, "zcqrs_queries_total", "status=\"ok\"",
     "Queries answered, by status (refused ones included).",
     offsetof (self_t, answers [ZCQ_OK])},
    S_ANSWERS (ZCQ_NOT_FOUND, "not_found"),
    S_ANSWERS (ZCQ_STALE, "stale"),
    S_ANSWERS (ZCQ_INVALID, "invalid"),
    S_ANSWERS (ZCQ_UNKNOWN_TYPE, "unknown"),
    S_ANSWERS (ZCQ_TOO_LARGE, "too_large"),
    S_ANSWERS (ZCQ_UNAVAILABLE, "unavailable"),
    S_ANSWERS (ZCQ_BUSY, "busy"),
    {false, "zcqrs_events_applied_total", NULL,
     "Events folded into the serving read models since start.",
     offsetof (self_t, events_applied)},
    {false, "zcqrs_write_failures_total", NULL,
     "Read-model batches that failed (and were replayed).", offsetof (self_t, failures)},
    {true, "zcqrs_applied_position", NULL, "Last global position applied to the read models.",
     offsetof (self_t, applied)},
    {true, "zcqrs_head_position", NULL, "Highest position known committed on the write node.",
     offsetof (self_t, head)},
    {true, "zcqrs_lag_events", NULL, "Events still to apply to reach the head.",
     offsetof (self_t, lag)},
    {true, "zcqrs_apply_rate_events_per_second", NULL,
     "Events applied per second over the last second.", offsetof (self_t, rate)},
    {true, "zcqrs_write_node_reachable", NULL,
     "1 while the write node is heard from within the silence limit, else 0.",
     offsetof (self_t, reachable)},
    {true, "zcqrs_live_queries", NULL, "Live queries (WATCH) held.",
     offsetof (self_t, watching)},
    {false, "zcqrs_live_updates_total", NULL, "Live-query results (UPDATE) sent.",
     offsetof (self_t, watch_updates)},
    {.name = NULL},
};

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
        zcq_metrics_destroy (&self->metrics); //  its thread reads self: first
        zlistx_destroy (&self->parked);
        zcq_watches_destroy (&self->watches);
        zhashx_destroy (&self->touched);
        zcq_waiter_destroy (&self->waiter);
        zcq_feed_destroy (&self->feed);
        zstr_free (&self->cluster);
        zcq_feed_destroy (&self->rebuild_feed);
        zcq_projection_destroy (&self->serving);
        zcq_projection_destroy (&self->spare);
        zsock_destroy (&self->queries);
        zcq_result_destroy (&self->answer);
        zcq_store_destroy (&self->store);
        zstr_free (&self->snapshot_path);
        free (self);
        *self_p = NULL;
    }
}

static void s_unwritten (void *arg);

//  Open the read-model store and its two generations: the serving one, at
//  its stored position, and the one beside it. A memory store starts from
//  its snapshot file when there is a whole one (at the snapshot's position),
//  else empty (position 0: the feed replays the log from 1). Both keep a
//  view cache (query/cache): on LevelDB it spares the reads, on memory the
//  table entries and allocations a value changed event after event would
//  otherwise cost at every batch.
static int
s_open_models (self_t *self, const char *data, size_t memory_limit, char **error)
{
    if (self->memory && self->snapshot_interval) {
        self->snapshot_path = zsys_sprintf ("%s/memory.snapshot", data);
        if (zsys_file_exists (self->snapshot_path)) {
            char *why = NULL;
            self->store =
                zcq_store_load_memory ("memory", memory_limit, self->snapshot_path, &why);
            if (!self->store) {
                zsys_warning ("query node: %s; rebuilding the read models from replay", why);
                zstr_free (&why);
            }
            self->from_snapshot = self->store != NULL;
        }
        else if (zsys_dir_create ("%s", data) != 0) {
            *error = zsys_sprintf ("cannot create '%s' for the snapshot", data);
            return -1;
        }
    }
    if (!self->store && self->memory) {
        self->store = zcq_store_new_memory ("memory", memory_limit);
    }
    else if (!self->store) {
        //  A small memtable: read models are few keys written again and
        //  again, each write an insert into LevelDB's skip list, whose
        //  walk misses the CPU caches more the larger it grows; flushed
        //  often, the overwritten values go at the next compaction
        zcq_store_options_t tuning = {.write_buffer = MEMTABLE};
        self->store = zcq_store_open (data, &tuning);
    }
    if (!self->store) {
        *error = zsys_sprintf ("cannot open the read-model store in '%s'", data);
        return -1;
    }
    self->serving = zcq_projection_open (self->store, self->domain, error);
    if (!self->serving) {
        return -1;
    }
    self->spare = zcq_projection_new_beside (self->serving);
    zcq_view_set_cache (zcq_projection_view (self->serving), (size_t) self->cache);
    zcq_view_set_cache (zcq_projection_view (self->spare), (size_t) self->cache);
    //  Either generation may serve (a rebuild switches them); only the
    //  serving one holds its batch
    zcq_view_set_unwritten (zcq_projection_view (self->serving), s_unwritten, self);
    zcq_view_set_unwritten (zcq_projection_view (self->spare), s_unwritten, self);
    if (self->memory) {
        self->snapshot_at = zclock_mono ();
        self->snapshot_position = zcq_projection_applied (self->serving);
        if (self->from_snapshot) {
            zsys_info ("query node: read models held in memory (at most %zu MiB), loaded "
                       "from snapshot '%s' at position %" PRIu64 "; the rest comes from "
                       "the write node's replay",
                       memory_limit / (1024 * 1024), self->snapshot_path,
                       self->snapshot_position);
        }
        else {
            zsys_info ("query node: read models held in memory (at most %zu MiB); they are "
                       "rebuilt from the write node's replay, from position 1",
                       memory_limit / (1024 * 1024));
        }
        return 0;
    }
    //  Live, each burst of the write node's would cost a LevelDB write of
    //  its own (its write(2), its memtable inserts): the serving models
    //  hold their batch query/hold ms and write the bursts of that time
    //  together. Queries read the held batch (a get finds it in the view)
    //  without waiting for that write: only an iteration over the store (a
    //  scan, the checksum) needs it written first, and asks for it then
    zcq_projection_set_delay (self->serving, self->hold);
    return 0;
}

//  A batch of read models failed: no batch is tried again for a while
//  (10 ms, doubling to 1 s), so that a full or failing disk does not spin
//  on replay and log lines.
static void
s_failed (self_t *self)
{
    zcq_metrics_add (&self->failures, 1);
    self->apply_backoff = self->apply_backoff ? self->apply_backoff * 2 : 10;
    self->apply_backoff = self->apply_backoff > 1000 ? 1000 : self->apply_backoff;
    self->apply_resume = zclock_mono () + self->apply_backoff;
}

//  Write the serving models' held batch, if any: before a query reads them
//  (a scan reads the store), a switch, a stop.
static void
s_flush (self_t *self)
{
    if (zcq_projection_flush (self->serving, self->feed)) {
        s_failed (self);
    }
}

//  A view is about to iterate over the store (a scan, the checksum) while
//  the serving models hold their batch: written first (zcq_view_store.h).
static void
s_unwritten (void *arg)
{
    s_flush ((self_t *) arg);
}

//  A feed for a generation of models, from position next, with the node's
//  queue size, silence limit and replay timeout. Returns NULL if it cannot
//  connect.
static zcq_feed_t *
s_feed_new (self_t *self, uint64_t next)
{
    zcq_feed_t *feed = zcq_feed_new (self->events, self->replay, next);
    if (feed) {
        zcq_feed_set_rcvhwm (feed, self->hwm);
        zcq_feed_set_credit (feed, APPLY_BATCH);
        //  Far behind, the write node reads the next batches while this
        //  node folds a whole APPLY_BATCH: one REPLAY out at a time left
        //  the two waiting for each other, batch after batch
        zcq_feed_set_window (feed, APPLY_BATCH / ZCQ_MAX_EVENTS);
        zcq_feed_set_silence (feed, self->silence);
        zcq_feed_set_replay_timeout (feed, self->replay_timeout);
        //  A new feed (a rebuild) follows the cluster the old one heard
        zcq_feed_set_origin (feed, self->domain->name, self->cluster);
    }
    return feed;
}

//  Start folding the log from position 1 into the keyspace that does not
//  serve, beside the serving models. Whatever that keyspace still holds
//  (an interrupted rebuild, models switched away from) is deleted first.
static int
s_rebuild_start (self_t *self)
{
    if (zcq_projection_restart (self->spare)) {
        return -1;
    }
    self->sweeping = false;
    self->rebuild_feed = s_feed_new (self, 1);
    if (!self->rebuild_feed) {
        return -1;
    }
    zsys_info ("query node: rebuilding the read models from position 1 into keyspace '%s' "
               "while keyspace '%s' serves at position %" PRIu64,
               zcq_projection_keyspace (self->spare), zcq_projection_keyspace (self->serving),
               zcq_projection_applied (self->serving));
    return 0;
}

//  Add a feed's sockets to the waiter, or take them out.
static void
s_poll_feed (self_t *self, zcq_feed_t *feed, bool add)
{
    zsock_t *socks [3] = {zcq_feed_events_sock (feed), zcq_feed_replay_sock (feed),
                          zcq_feed_monitor_sock (feed)};
    for (int index = 0; index < 3; index++) {
        if (socks [index] && add) {
            //  Two feeds' three sockets, the pipe and queries: the waiter's 8
            int rc = zcq_waiter_add (self->waiter, socks [index]);
            assert (rc == 0);
            (void) rc;
        }
        else if (socks [index]) {
            zcq_waiter_remove (self->waiter, socks [index]);
        }
    }
}

//  True if which is one of the feed's sockets.
static bool
s_feed_sock (zcq_feed_t *feed, void *which)
{
    return feed
           && (which == zcq_feed_events_sock (feed) || which == zcq_feed_replay_sock (feed)
               || (which && which == zcq_feed_monitor_sock (feed)));
}

//  The first time the feed learns the write node's cluster, the folder
//  keeps it ("q:cluster"): from then on this node refuses a write node of
//  another cluster, across restarts (spec section 10.16).
static void
s_keep_cluster (self_t *self)
{
    const char *cluster = zcq_feed_cluster (self->feed);
    if (self->cluster || !*cluster) {
        return;
    }
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "q:cluster", 9, cluster, strlen (cluster));
    if (zcq_store_write (self->store, batch, true) == 0) {
        self->cluster = strdup (cluster);
        zsys_info ("query node: following cluster %s", cluster);
    }
    zcq_batch_destroy (&batch);
}

//  Take what a readable feed socket holds, up to BURST_MAX messages: the
//  events of a burst (a group the write node published together) are then
//  applied in one batch, not one batch and one wake-up each.
static void
s_feed_drain (self_t *self, zcq_feed_t *feed, zsock_t *which)
{
    //  Received without waiting until the socket is empty: asking it
    //  whether it is readable before each message cost as much again
    int taken = 0;
    while (taken < BURST_MAX && zcq_feed_recv_ready (feed, which)) {
        taken++;
    }
    if (taken < BURST_MAX && which != zcq_feed_monitor_sock (feed) && errno == EAGAIN) {
        //  Read empty: its fd announces the next message, so the waiter
        //  need not ask it (two system calls) before it sleeps
        zcq_waiter_drained (self->waiter, which);
    }
}

//  The registry of the node's metrics, served on address unless it is NULL.
//  Returns 0, or -1 with *error set.
static int
s_metrics_new (self_t *self, const char *address, char **error)
{
    static const uint64_t latency [] = {ZCQ_METRICS_LATENCY_BUCKETS};
    self->metrics = zcq_metrics_new ("query", self->domain->name);
    zcq_metrics_register (self->metrics, s_metrics, self);
    self->query_latency = zcq_metrics_histogram (
        self->metrics, "zcqrs_query_latency_seconds",
        "Time from receiving a query to sending its answer, waiting for min_position included.",
        latency, sizeof (latency) / sizeof (latency [0]), 1e6);
    return address ? zcq_metrics_serve (self->metrics, address, error) : 0;
}

static zcq_watches_eval_fn s_watch_eval;

static self_t *
s_self_new (zsock_t *pipe, zconfig_t *config, char **error)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->started = zclock_mono ();
    self->rate_at = self->started;
    if (zcq_settings_check (config, s_table, error) != 0) {
        free (self);
        return NULL;
    }
    self->wait = (int) zcq_settings_number (config, s_table, "query/wait");
    self->silence = (int) zcq_settings_number (config, s_table, "query/silence");
    self->hwm = (int) zcq_settings_number (config, s_table, "query/hwm");
    self->replay_timeout = (int) zcq_settings_number (config, s_table, "query/replay_timeout");
    self->cache = (int) zcq_settings_number (config, s_table, "query/cache");
    self->hold = (int) zcq_settings_number (config, s_table, "query/hold");
    self->memory = streq (zcq_settings_text (config, s_table, "query/storage"), "memory");
    self->snapshot_interval = (int) zcq_settings_number (config, s_table, "query/snapshot");
    size_t memory_limit =
        (size_t) zcq_settings_number (config, s_table, "query/memory_limit") * 1024 * 1024;
    self->apply_delay =
        (int) zcq_settings_number (config, s_table, "query/fault/apply_delay_ms");
    self->events = zcq_settings_text (config, s_table, "query/events");
    self->replay = zcq_settings_text (config, s_table, "query/replay");
    if (self->apply_delay) {
        zsys_warning ("query node: fault seam on, every event is held %d ms before it is "
                      "applied",
                      self->apply_delay);
    }
    self->domain = zcq_domain_load (zcq_settings_text (config, s_table, "query/domain"), error);
    if (!self->domain) {
        free (self);
        return NULL;
    }
    if (s_metrics_new (self, zcq_settings_text (config, s_table, "query/metrics"), error)
        || s_open_models (self, zcq_settings_text (config, s_table, "query/data"), memory_limit,
                          error)) {
        s_self_destroy (&self);
        return NULL;
    }
    self->queries =
        zcq_endpoint_serve (config, ZMQ_ROUTER, "query", "queries",
                            zcq_settings_text (config, s_table, "query/queries"), error);
    if (!self->queries) {
        s_self_destroy (&self);
        return NULL;
    }
    byte *cluster = NULL;
    size_t cluster_size = 0;
    //  A rebuild asked for follows whichever cluster it hears (the write
    //  node's log was replaced on purpose, say)
    if (!zcq_settings_number (config, s_table, "query/rebuild")
        && zcq_store_get (self->store, "q:cluster", 9, &cluster, &cluster_size) == 0) {
        self->cluster = strndup ((char *) cluster, cluster_size);
    }
    free (cluster);
    uint64_t applied = zcq_projection_applied (self->serving);
    self->feed = s_feed_new (self, applied + 1);
    if (!self->feed) {
        *error = zsys_sprintf ("cannot connect to the write node's endpoints");
        s_self_destroy (&self);
        return NULL;
    }
    const byte *fingerprint = zcq_projection_fingerprint (self->serving);
    if (applied && fingerprint) {
        //  The write node's log may have been replaced while we were away
        zcq_feed_applied (self->feed, applied, fingerprint, true);
    }
    //  Keys left in the other keyspace (an interrupted rebuild) go, a slice
    //  at a time, unless a rebuild starts there now
    self->sweeping = true;
    uint32_t built_by = zcq_projection_version (self->serving);
    bool outdated = built_by != zcq_domain_projection_version (self->domain);
    if (outdated) {
        zsys_info ("query node: the read models were built by version %u of domain '%s''s "
                   "projection, which is now at version %u: rebuilding them beside the old "
                   "ones, which serve until then",
                   built_by, self->domain->name, zcq_domain_projection_version (self->domain));
    }
    if ((outdated || zcq_settings_number (config, s_table, "query/rebuild"))
        && s_rebuild_start (self)) {
        *error = zsys_sprintf ("cannot start the rebuild of the read models");
        s_self_destroy (&self);
        return NULL;
    }
    self->answer = zcq_result_new ();
    self->watches = zcq_watches_new (
        self->queries, s_watch_eval, self,
        (size_t) zcq_settings_number (config, s_table, "query/watch_max"),
        (size_t) zcq_settings_number (config, s_table, "query/watch_client_max"),
        (uint32_t) zcq_settings_number (config, s_table, "query/watch_lease"));
    self->touched = zhashx_new ();
    self->parked = zlistx_new ();
    zlistx_set_destructor (self->parked, s_parked_destroy);
    self->waiter = zcq_waiter_new ();
    int rc = zcq_waiter_add (self->waiter, pipe);
    rc = rc == 0 ? zcq_waiter_add (self->waiter, self->queries) : rc;
    assert (rc == 0);
    (void) rc;
    s_poll_feed (self, self->feed, true);
    if (self->rebuild_feed) {
        s_poll_feed (self, self->rebuild_feed, true);
    }
    return self;
}

//  --- Answering --------------------------------------------------------------

//  Send a message with its body, encoded already or (body NULL) now.
static void
s_send (self_t *self, zcq_msg_t *msg, const msgpack_sbuffer *body)
{
    int rc = body ? zcq_msg_send_encoded (msg, self->queries, body)
                  : zcq_msg_send (msg, self->queries);
    self->queries_sent = true;
    if (rc != 0) {
        zsys_warning ("query node: could not deliver %s: peer gone or its queue is full",
                      zcq_msg_type_name (zcq_msg_type (msg)));
    }
}

//  True when answers may miss committed events for a reason other than a
//  min_position: the write node is silent, or its log is behind ours.
static bool
s_not_following (self_t *self)
{
    zcq_feed_state_t state = zcq_feed_state (self->feed);
    return !zcq_feed_reachable (self->feed) || state == ZCQ_FEED_DIVERGED
           || state == ZCQ_FEED_REFUSED;
}

static void
s_pack_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    zcq_mpack_pack_str (pk, key);
    msgpack_pack_uint64 (pk, value);
}

static void
s_pack_text (msgpack_packer *pk, const char *key, const char *value)
{
    zcq_mpack_pack_str (pk, key);
    zcq_mpack_pack_str (pk, value);
}

//  Events still to apply to reach head, or 0.
static uint64_t
s_to_go (uint64_t head, uint64_t applied)
{
    return head > applied ? head - applied : 0;
}

//  The built-in "status" query.
static void
s_pack_status (self_t *self, msgpack_packer *pk)
{
    zcq_feed_t *feed = self->feed;
    uint64_t applied = zcq_projection_applied (self->serving);
    uint64_t head = zcq_feed_head (feed);
    int64_t heard = zcq_feed_last_heard (feed);
    size_t bytes = 0, limit = 0;
    bool full = false;
    bool memory = zcq_store_memory (self->store, &bytes, &limit, &full);
    msgpack_pack_map (pk, 29 + (self->rebuild_feed != NULL));
    s_pack_text (pk, "role", "query");
    s_pack_text (pk, "domain", self->domain->name);
    s_pack_uint (pk, "projection_version", zcq_projection_version (self->serving));
    zcq_mpack_pack_str (pk, "storage");
    if (memory) {
        msgpack_pack_map (pk, 6);
        s_pack_text (pk, "backend", "memory");
        s_pack_text (pk, "loaded_from", self->from_snapshot ? "snapshot" : "replay");
        s_pack_uint (pk, "snapshot_position", self->snapshot_position);
        s_pack_uint (pk, "bytes", bytes);
        s_pack_uint (pk, "limit", limit);
        s_pack_text (pk, "state", full ? "full" : "ok");
    }
    else {
        msgpack_pack_map (pk, 3);
        s_pack_text (pk, "backend", "leveldb");
        s_pack_text (pk, "path", zcq_store_path (self->store));
        s_pack_text (pk, "state", "ok");
    }
    s_pack_uint (pk, "applied", applied);
    s_pack_uint (pk, "written", zcq_projection_written (self->serving));
    s_pack_uint (pk, "head", head);
    s_pack_uint (pk, "lag", s_to_go (head, applied));
    s_pack_text (pk, "state", zcq_feed_state_name (feed));
    s_pack_text (pk, "state_reason", zcq_feed_reason (feed));
    s_pack_text (pk, "cluster", zcq_feed_cluster (feed));
    s_pack_text (pk, "incarnation", zcq_feed_incarnation (feed));
    s_pack_text (pk, "write_node", zcq_feed_reachable (feed) ? "reachable" : "unreachable");
    zcq_mpack_pack_str (pk, "silent_ms");
    msgpack_pack_int64 (pk, heard ? zclock_mono () - heard : zclock_mono () - self->started);
    s_pack_uint (pk, "outages", zcq_feed_outages (feed));
    s_pack_uint (pk, "reconnects", zcq_feed_reconnects (feed));
    s_pack_uint (pk, "heartbeats", zcq_feed_heartbeats (feed));
    s_pack_uint (pk, "replay_timeouts", zcq_feed_replay_timeouts (feed));
    s_pack_uint (pk, "events_applied", self->events_applied);
    s_pack_uint (pk, "rate", self->rate);
    s_pack_uint (pk, "replayed", zcq_feed_replayed (feed));
    uint64_t answered = 0;
    for (int status = 0; status < ZCQ_STATUSES; status++) {
        answered += self->answers [status];
    }
    s_pack_uint (pk, "queries", answered);
    s_pack_uint (pk, "stale", self->answers [ZCQ_STALE]);
    s_pack_uint (pk, "waiting", zlistx_size (self->parked));
    s_pack_uint (pk, "write_failures", self->failures);
    zcq_mpack_pack_str (pk, "live");
    msgpack_pack_map (pk, 5);
    s_pack_uint (pk, "watches", zcq_watches_size (self->watches));
    s_pack_uint (pk, "updates", zcq_watches_sent (self->watches));
    s_pack_uint (pk, "evaluations", zcq_watches_evaluations (self->watches));
    s_pack_uint (pk, "expired", zcq_watches_expired (self->watches));
    s_pack_text (pk, "incarnation", zcq_watches_incarnation (self->watches));
    zcq_mpack_pack_str (pk, "uptime_ms");
    msgpack_pack_int64 (pk, zclock_mono () - self->started);
    zcq_mpack_pack_str (pk, "query_latency");
    zcq_histogram_pack (self->query_latency, pk);
    s_pack_text (pk, "metrics", zcq_metrics_url (self->metrics));
    if (self->rebuild_feed) {
        uint64_t rebuilt = zcq_projection_applied (self->spare);
        zcq_mpack_pack_str (pk, "rebuild");
        msgpack_pack_map (pk, 5);
        s_pack_uint (pk, "applied", rebuilt);
        s_pack_uint (pk, "projection_version", zcq_projection_version (self->spare));
        s_pack_uint (pk, "to_go", s_to_go (applied, rebuilt));
        s_pack_uint (pk, "rate", zcq_projection_rate (self->spare));
        s_pack_text (pk, "keyspace", zcq_projection_keyspace (self->spare));
    }
}

//  The built-in "checksum" query. Returns 0, or -1 if the store failed.
static int
s_pack_checksum (self_t *self, msgpack_packer *pk)
{
    char hex [41];
    uint64_t keys = 0;
    if (zcq_view_checksum (zcq_projection_view (self->serving), hex, &keys)) {
        return -1;
    }
    msgpack_pack_map (pk, 4);
    s_pack_text (pk, "checksum", hex);
    s_pack_text (pk, "algorithm", "sha1");
    s_pack_uint (pk, "keys", keys);
    s_pack_uint (pk, "position", zcq_projection_applied (self->serving));
    return 0;
}

//  Run the query: a built-in one, or the domain's.
static void
s_run_query (self_t *self, zcq_msg_t *query)
{
    const char *name = zcq_msg_name (query);
    zcq_result_reset (self->answer);
    if (streq (name, "status")) {
        s_pack_status (self, zcq_result_packer (self->answer));
    }
    else if (streq (name, "checksum")) {
        if (s_pack_checksum (self, zcq_result_packer (self->answer))) {
            zcq_result_fail (self->answer, ZCQ_UNAVAILABLE, "cannot read the read models");
        }
    }
    else {
        msgpack_unpacked params;
        static const char empty_map [1] = {(char) 0x80};
        bool has = zcq_msg_data_size (query) > 0;
        int rc = zcq_mpack_unpack (has ? (const char *) zcq_msg_data (query) : empty_map,
                                   has ? zcq_msg_data_size (query) : 1, &params);
        assert (rc == 0); //  the codec checked params is one map
        (void) rc;
        self->domain->query (zcq_projection_view (self->serving), name, &params.data,
                             self->answer);
        msgpack_unpacked_destroy (&params);
    }
}

//  Count an answer sent to a query: by its status, and the time since the
//  query was received.
static void
s_answered (self_t *self, zcq_msg_t *query, zcq_msg_t *answer)
{
    zcq_metrics_add (&self->answers [zcq_msg_status (answer)], 1);
    int64_t waited = zclock_usecs () - zcq_msg_time (query);
    zcq_histogram_observe (self->query_latency, waited > 0 ? (uint64_t) waited : 0);
}

//  Fill an answer (a RESULT, or an UPDATE of a live query) to a query (or
//  WATCH) at the applied position: status, reason, data, position and
//  may_be_stale; "stale" when the position is below the min_position it
//  asked for (after waiting waited ms).
static void
s_fill_answer (self_t *self, zcq_msg_t *query, int64_t waited, zcq_msg_t *result)
{
    s_run_query (self, query);
    //  Read after the query ran: a held batch that its scan had written
    //  and the disk refused is undone, and the models are back where the
    //  store is
    uint64_t applied = zcq_projection_applied (self->serving);
    zcq_status_t said = zcq_result_status (self->answer);
    zcq_msg_set_status (result, said);
    const char *reason = zcq_result_reason (self->answer);
    if (*reason) {
        //  Most answers have none: no formatting for them
        zcq_msg_set_reason (result, "%s", reason);
    }
    size_t size;
    const byte *data = zcq_result_data (self->answer, &size);
    zcq_msg_set_data (result, data, size);
    zcq_msg_set_position (result, applied);
    if (zcq_msg_min_position (query) > applied) {
        //  Whatever the domain said ("not_found" for an account the client
        //  just opened, say) may change by min_position: the answer is stale,
        //  which a client may retry, with what the domain said at this position
        zcq_msg_set_status (result, ZCQ_STALE);
        zcq_msg_set_reason (result,
                            "answer reflects position %" PRIu64 ", below min_position %" PRIu64
                            " after waiting %" PRId64 " ms%s%s%s%s",
                            applied, zcq_msg_min_position (query), waited,
                            said == ZCQ_OK ? "" : "; at this position: ",
                            said == ZCQ_OK ? "" : zcq_status_name (said),
                            said == ZCQ_OK ? "" : ": ",
                            said == ZCQ_OK ? "" : zcq_result_reason (self->answer));
    }
    if (s_not_following (self) && !streq (zcq_msg_name (query), "status")) {
        //  Served all the same, saying that newer events may exist
        zcq_feed_t *feed = self->feed;
        char *why =
            zcq_feed_state (feed) == ZCQ_FEED_REFUSED
                ? zsys_sprintf ("not following the write node: %s", zcq_feed_reason (feed))
            : zcq_feed_state (feed) == ZCQ_FEED_DIVERGED
                ? zsys_sprintf ("the write node's log is behind this node's (see its log); "
                                "not following it")
            : zcq_feed_last_heard (feed)
                ? zsys_sprintf ("write node unreachable: silent for %" PRId64 " ms",
                                zclock_mono () - zcq_feed_last_heard (feed))
                : zsys_sprintf ("write node not reached since start");
        zcq_msg_set_may_be_stale (result, true);
        if (*zcq_msg_reason (result)) {
            char *reason = strdup (zcq_msg_reason (result));
            zcq_msg_set_reason (result, "%s; may be stale: %s", reason, why);
            free (reason);
        }
        else {
            zcq_msg_set_reason (result, "may be stale: %s", why);
        }
        zstr_free (&why);
    }
}

//  Answer a query now, at the applied position (s_fill_answer).
static void
s_answer (self_t *self, zcq_msg_t *query, int64_t waited)
{
    zcq_msg_t *result = zcq_msg_reply_to (query, ZCQ_OK);
    s_fill_answer (self, query, waited, result);
    //  Encoded once: to know it fits, then sent as it is
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    if (zcq_msg_encode_body (result, &body) == 0) {
        s_send (self, result, &body);
        s_answered (self, query, result);
    }
    else {
        //  An answer too big for one message: say so instead of going silent
        zcq_msg_t *refusal = zcq_msg_reply_to (query, zcq_msg_error_status (result));
        zcq_msg_set_reason (refusal,
                            "the answer does not fit in one message (%s); ask for less",
                            zcq_msg_error (result));
        zcq_msg_set_position (refusal, zcq_msg_position (result));
        s_send (self, refusal, NULL);
        s_answered (self, query, refusal);
        zcq_msg_destroy (&refusal);
    }
    msgpack_sbuffer_destroy (&body);
    zcq_msg_destroy (&result);
}

//  Refuse a query with a status and reason, at the applied position.
static void
s_refuse (self_t *self, zcq_msg_t *query, zcq_status_t status, const char *reason)
{
    zcq_msg_t *reply = zcq_msg_reply_to (query, status);
    zcq_msg_set_reason (reply, "%s", reason);
    zcq_msg_set_position (reply, zcq_projection_applied (self->serving));
    s_send (self, reply, NULL);
    s_answered (self, query, reply);
    zcq_msg_destroy (&reply);
}

//  Evaluate a live query for zcq_watches: the answer a QUERY without
//  min_position would get now, with the keys it read.
static void
s_watch_eval (void *arg, zcq_msg_t *watch, zcq_msg_t *update, zlistx_t *reads)
{
    self_t *self = (self_t *) arg;
    zcq_view_t *view = zcq_projection_view (self->serving);
    zcq_view_record (view, reads);
    s_fill_answer (self, watch, 0, update);
    zcq_view_record (view, NULL);
}

//  A WATCH, ACK or UNWATCH (takes ownership). Only the domain's queries may
//  be watched: "status" changes with every heartbeat.
static void
s_handle_watch (self_t *self, zcq_msg_t **msg_p)
{
    zcq_msg_t *msg = *msg_p;
    if (zcq_msg_type (msg) == ZCQ_MSG_WATCH
        && !zcq_domain_has_query (self->domain, zcq_msg_name (msg))) {
        bool builtin =
            streq (zcq_msg_name (msg), "status") || streq (zcq_msg_name (msg), "checksum");
        char *reason =
            builtin ? zsys_sprintf ("query '%s' cannot be watched: only the domain's queries "
                                    "can",
                                    zcq_msg_name (msg))
                    : zsys_sprintf ("unknown query '%s' for domain '%s'", zcq_msg_name (msg),
                                    self->domain->name);
        zcq_watches_refuse (self->watches, msg, builtin ? ZCQ_INVALID : ZCQ_UNKNOWN_TYPE,
                            reason);
        zstr_free (&reason);
        zcq_msg_destroy (msg_p);
        return;
    }
    zcq_watches_handle (self->watches, msg_p);
}

//  One message received on the query socket (takes ownership).
static void
s_handle_query (self_t *self, zcq_msg_t *query)
{
    zcq_msg_set_time (query, zclock_usecs ()); //  received: its latency starts
    if (zcq_endpoint_refuse (
            query, self->queries, "query",
            ZCQ_ENDPOINT_TAKES (ZCQ_MSG_QUERY) | ZCQ_ENDPOINT_TAKES (ZCQ_MSG_WATCH)
                | ZCQ_ENDPOINT_TAKES (ZCQ_MSG_ACK) | ZCQ_ENDPOINT_TAKES (ZCQ_MSG_UNWATCH))) {
        zcq_msg_destroy (&query);
        return;
    }
    if (zcq_msg_type (query) != ZCQ_MSG_QUERY) {
        s_handle_watch (self, &query);
        return;
    }
    const char *name = zcq_msg_name (query);
    bool builtin = streq (name, "status") || streq (name, "checksum");
    if (!builtin && !zcq_domain_has_query (self->domain, name)) {
        char *reason =
            zsys_sprintf ("unknown query '%s' for domain '%s'", name, self->domain->name);
        s_refuse (self, query, ZCQ_UNKNOWN_TYPE, reason);
        zstr_free (&reason);
        zcq_msg_destroy (&query);
        return;
    }
    if (zcq_msg_min_position (query) <= zcq_projection_applied (self->serving)
        || streq (name, "status")) {
        s_answer (self, query, 0);
        zcq_msg_destroy (&query);
        return;
    }
    if (zlistx_size (self->parked) >= PARKED_MAX) {
        char *reason = zsys_sprintf ("%d queries already wait for newer positions; retry later",
                                     PARKED_MAX);
        s_refuse (self, query, ZCQ_BUSY, reason);
        zstr_free (&reason);
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

//  Take the queries the query socket holds, up to QUERY_BURST: one wake-up
//  serves many clients, and queries are answered between apply batches
//  instead of waiting behind all of them.
static void
s_serve_queries (self_t *self)
{
    //  Received without waiting until the socket is empty, not asked
    //  whether it is readable before each one
    zcq_msg_t *query = NULL;
    int taken = 0;
    while (taken < QUERY_BURST && (query = zcq_msg_recv_nowait (self->queries))) {
        taken++;
        s_handle_query (self, query);
    }
    if (!query && errno == EAGAIN) {
        //  Read empty after whatever was sent on it: its fd announces the
        //  next query (zcq_waiter.h)
        zcq_waiter_drained (self->waiter, self->queries);
        self->queries_sent = false;
    }
    else {
        self->queries_sent = true; //  asked before the waiter sleeps
    }
}

//  Answer waiting queries that can be answered: min_position reached, or
//  out of time (then "stale"). Sets the earliest deadline of those still
//  waiting (zclock_mono () time), or INT64_MAX when none waits.
static void
s_release_parked (self_t *self)
{
    self->next_deadline = INT64_MAX;
    if (zlistx_size (self->parked) == 0) {
        return;
    }
    int64_t now = zclock_mono ();
    uint64_t applied = zcq_projection_applied (self->serving);
    zlistx_t *waiting = zlistx_new ();
    zlistx_set_destructor (waiting, s_parked_destroy);
    s_parked_t *parked;
    while ((parked = (s_parked_t *) zlistx_detach (self->parked, NULL))) {
        if (zcq_msg_min_position (parked->query) <= applied || now >= parked->deadline) {
            s_answer (self, parked->query, now - parked->parked);
            s_parked_destroy ((void **) &parked);
        }
        else {
            if (parked->deadline < self->next_deadline) {
                self->next_deadline = parked->deadline;
            }
            zlistx_add_end (waiting, parked);
        }
    }
    zlistx_destroy (&self->parked);
    self->parked = waiting;
}

//  --- Applying events --------------------------------------------------------

//  Apply up to APPLY_BATCH ready events of a feed to a generation (up to
//  APPLY_SLICE while queries wait), in one batch. Returns the number applied (0 when none was ready or the batch
//  failed; the feed is then rewound, and no batch is tried again for a
//  while: 10 ms, doubling to 1 s, so that a full or failing disk does not
//  spin on replay and log lines).
static size_t
s_apply_batch (self_t *self, zcq_projection_t *models, zcq_feed_t *feed)
{
    //  Queries waiting are answered after a slice, not after a whole batch;
    //  asked only when it matters (asking costs two system calls)
    bool asked = false;
    if (zcq_feed_ready (feed) > APPLY_SLICE) {
        asked = zsock_events (self->queries) & ZMQ_POLLIN;
        self->queries_sent = true; //  its signal may be taken: ask again
    }
    int count = zcq_projection_apply (models, feed, asked ? APPLY_SLICE : APPLY_BATCH);
    if (count < 0) {
        s_failed (self);
        return 0;
    }
    self->apply_backoff = 0;
    return (size_t) count;
}

//  The fault seam: true while the ready events of a feed must still be
//  held; *held_since is when they became ready.
static bool
s_holding (self_t *self, zcq_feed_t *feed, int64_t *held_since)
{
    if (self->apply_delay == 0) {
        return false;
    }
    if (zcq_feed_ready (feed) == 0) {
        *held_since = 0;
        return false;
    }
    if (*held_since == 0) {
        *held_since = zclock_mono ();
    }
    if (zclock_mono () - *held_since < self->apply_delay) {
        return true;
    }
    *held_since = 0;
    return false;
}

//  Far behind, while replay brings more, wait for a full batch: one LevelDB
//  batch for many events writes each hot key once instead of once per event.
//  Close to the head, ready events are applied at once.
static bool
s_filling (zcq_projection_t *models, zcq_feed_t *feed)
{
    return zcq_feed_replaying (feed) && zcq_feed_ready (feed) < APPLY_BATCH
           && s_to_go (zcq_feed_head (feed), zcq_projection_applied (models))
                  >= 2 * APPLY_BATCH;
}

static void
s_apply (self_t *self)
{
    if (s_holding (self, self->feed, &self->held_since) || s_filling (self->serving, self->feed)
        || zclock_mono () < self->apply_resume) {
        return;
    }
    zcq_view_t *view = zcq_projection_view (self->serving);
    while (true) {
        //  With live queries, the batch says which read-model keys it wrote
        //  (asked before each batch: a WATCH may come between two)
        bool watched = zcq_watches_size (self->watches) > 0;
        zcq_view_track (view, watched ? self->touched : NULL);
        size_t count = s_apply_batch (self, self->serving, self->feed);
        zcq_view_track (view, NULL);
        if (count == 0) {
            zhashx_purge (self->touched); //  a failed batch's keys: it comes again
            break;
        }
        zcq_metrics_add (&self->events_applied, count);
        if (watched) {
            zcq_watches_changed (self->watches, self->touched);
            self->queries_sent = true; //  updates may have gone out
            zhashx_purge (self->touched);
        }
        s_release_parked (self);
        s_serve_queries (self);
    }
}

//  One batch a call for the rebuild, so that live events and queries of the
//  serving models are not starved; switch once it has caught up.
static void
s_apply_rebuild (self_t *self)
{
    zcq_feed_t *feed = self->rebuild_feed;
    if (!feed) {
        return;
    }
    if (!s_holding (self, feed, &self->rebuild_held_since) && !s_filling (self->spare, feed)
        && zclock_mono () >= self->apply_resume) {
        s_apply_batch (self, self->spare, feed);
    }
    uint64_t rebuilt = zcq_projection_applied (self->spare);
    bool diverged = zcq_feed_state (self->feed) == ZCQ_FEED_DIVERGED
                    || zcq_feed_state (self->feed) == ZCQ_FEED_REFUSED;
    bool caught_up = rebuilt >= zcq_projection_applied (self->serving)
                     || (diverged && zcq_feed_state (feed) == ZCQ_FEED_LIVE
                         && rebuilt >= zcq_feed_head (feed));
    if (!caught_up || zcq_feed_state (feed) == ZCQ_FEED_DIVERGED
        || zcq_feed_state (feed) == ZCQ_FEED_REFUSED) {
        return;
    }
    //  The serving models' held batch first: written after the switch, it
    //  would set the position of the models that serve then
    if (zcq_projection_flush (self->serving, self->feed)
        || zcq_projection_switch (self->spare, self->serving)) {
        zcq_metrics_add (&self->failures, 1);
        return;
    }
    s_poll_feed (self, self->feed, false);
    zcq_feed_destroy (&self->feed);
    self->feed = feed;
    self->rebuild_feed = NULL;
    zcq_projection_t *old = self->serving;
    self->serving = self->spare;
    self->spare = old;
    zcq_projection_set_delay (self->spare, 0);
    zcq_projection_set_delay (self->serving, self->memory ? 0 : self->hold);
    self->sweeping = true; //  the old models go, a slice at a time
    s_release_parked (self);
    zcq_watches_changed (self->watches, NULL); //  every read model may differ
    self->queries_sent = true;
}

//  Delete a slice of the keyspace that no longer serves.
static void
s_sweep (self_t *self)
{
    if (!self->sweeping || self->rebuild_feed) {
        return;
    }
    int deleted = zcq_projection_clear (self->spare, SWEEP_SLICE);
    if (deleted == 0) {
        self->sweeping = false;
    }
}

//  Catch-up progress: the rate over the last window, a log line every few
//  seconds while far behind, and one when caught up.
static void
s_progress (self_t *self)
{
    int64_t now = zclock_mono ();
    if (now - self->rate_at >= RATE_WINDOW) {
        zcq_metrics_set (&self->rate, (self->events_applied - self->rate_base) * 1000
                                          / (uint64_t) (now - self->rate_at));
        self->rate_base = self->events_applied;
        self->rate_at = now;
    }
    uint64_t applied = zcq_projection_applied (self->serving);
    uint64_t head = zcq_feed_head (self->feed);
    uint64_t to_go = s_to_go (head, applied);
    zcq_metrics_set (&self->applied, applied);
    zcq_metrics_set (&self->head, head);
    zcq_metrics_set (&self->lag, to_go);
    zcq_metrics_set (&self->reachable, zcq_feed_reachable (self->feed));
    if (!self->catchup_at && to_go >= CATCHUP_MIN) {
        self->catchup_at = self->progress_at = now;
        self->catchup_base = self->events_applied;
        zsys_info ("query node: catching up: applied %" PRIu64 ", head %" PRIu64 ", %" PRIu64
                   " events to go",
                   applied, head, to_go);
    }
    else if (self->catchup_at && to_go == 0) {
        int64_t elapsed = now - self->catchup_at;
        uint64_t events = self->events_applied - self->catchup_base;
        zsys_info ("query node: caught up at position %" PRIu64 ": %" PRIu64
                   " events in %" PRId64 " ms (%" PRIu64 " events/s)",
                   applied, events, elapsed,
                   elapsed > 0 ? events * 1000 / (uint64_t) elapsed : events);
        self->catchup_at = 0;
    }
    else if (self->catchup_at && now - self->progress_at >= PROGRESS_LOG) {
        self->progress_at = now;
        zsys_info ("query node: catching up: applied %" PRIu64 ", head %" PRIu64 ", %" PRIu64
                   " events to go, %" PRIu64 " events/s",
                   applied, head, to_go, self->rate);
    }
    if (self->rebuild_feed && now - self->progress_at >= PROGRESS_LOG) {
        self->progress_at = now;
        zsys_info ("query node: rebuilding: applied %" PRIu64 " of %" PRIu64,
                   zcq_projection_applied (self->spare), applied);
    }
}

//  Memory read models: write their snapshot when the interval has passed
//  (or now, with force, at a clean stop) and something was applied since
//  the last one. The actor writes nothing meanwhile, so the file holds one
//  consistent state: read models and the position they reflect.
static void
s_snapshot (self_t *self, bool force)
{
    uint64_t applied = zcq_projection_applied (self->serving);
    int64_t now = zclock_mono ();
    if (!self->snapshot_path || applied == self->snapshot_position
        || (!force && now - self->snapshot_at < (int64_t) self->snapshot_interval * 1000)) {
        return;
    }
    self->snapshot_at = now;
    if (zcq_store_save_memory (self->store, self->snapshot_path) == 0) {
        self->snapshot_position = applied;
        size_t bytes = 0, limit = 0;
        bool full = false;
        zcq_store_memory (self->store, &bytes, &limit, &full);
        zsys_info ("query node: snapshot of the read models at position %" PRIu64
                   " (%zu bytes held) written to '%s' in %" PRId64 " ms",
                   applied, bytes, self->snapshot_path, zclock_mono () - now);
    }
}

//  Live queries at the tick: expire silent clients; when the node starts or
//  stops following the write node, every result's may_be_stale changes.
static void
s_watch_tick (self_t *self)
{
    zcq_watches_tick (self->watches);
    bool stale = s_not_following (self);
    if (stale != self->was_stale) {
        self->was_stale = stale;
        zcq_watches_changed (self->watches, NULL);
    }
    self->queries_sent = true; //  updates may have gone out
    zcq_metrics_set (&self->watching, zcq_watches_size (self->watches));
    zcq_metrics_set (&self->watch_updates, zcq_watches_sent (self->watches));
}

//  A feed's timers; they ask its sockets for their events, which may take
//  in their fds' signals: the waiter asks them again (zcq_waiter.h).
static void
s_feed_tick (self_t *self, zcq_feed_t *feed)
{
    if (feed) {
        zcq_feed_tick (feed);
        zcq_waiter_touched (self->waiter, zcq_feed_events_sock (feed));
        zcq_waiter_touched (self->waiter, zcq_feed_replay_sock (feed));
    }
}

//  Before the waiter sleeps, name the sockets sent to since they were last
//  read empty (zcq_waiter.h): queries after answers and live-query
//  updates, a feed's replay socket after its requests.
static void
s_before_wait (self_t *self)
{
    if (self->queries_sent) {
        zcq_waiter_touched (self->waiter, self->queries);
        self->queries_sent = false;
    }
    zcq_feed_t *feeds [2] = {self->feed, self->rebuild_feed};
    for (int index = 0; index < 2; index++) {
        uint64_t requests = feeds [index] ? zcq_feed_requests (feeds [index]) : 0;
        if (feeds [index] && requests != self->requests_seen [index]) {
            zcq_waiter_touched (self->waiter, zcq_feed_replay_sock (feeds [index]));
        }
        self->requests_seen [index] = requests;
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
    char *queries = zcq_endpoint_resolved (self->queries);
    const char *metrics = zcq_metrics_url (self->metrics);
    char *summary = zsys_sprintf ("queries=%s applied=%" PRIu64 " domain=%s storage=%s%s%s",
                                  queries, zcq_projection_applied (self->serving),
                                  self->domain->name, self->memory ? "memory" : "leveldb",
                                  *metrics ? " metrics=" : "", metrics);
    zsys_info ("query node serving: %s", summary);
    zcq_node_ready (pipe, summary);
    zstr_free (&summary);
    zstr_free (&queries);

    //  Timers: the feeds' tick, and the deadline of the first waiting query
    //  (a query is answered "stale" on time, not at the next tick)
    int64_t next_tick = zclock_mono () + TICK;
    self->next_deadline = INT64_MAX;
    while (!self->terminated) {
        int64_t wake = self->next_deadline < next_tick ? self->next_deadline : next_tick;
        int64_t due = zcq_projection_due (self->serving);
        wake = due < wake ? due : wake;
        int64_t wait = wake - zclock_mono ();
        s_before_wait (self);
        void *which = zcq_waiter_wait (self->waiter, wait > 0 ? (int) wait : 0);
        if (which == self->pipe) {
            s_handle_pipe (self);
        }
        else if (which == self->queries) {
            s_serve_queries (self);
        }
        else if (s_feed_sock (self->feed, which)) {
            s_feed_drain (self, self->feed, (zsock_t *) which);
            s_keep_cluster (self);
            s_apply (self);
        }
        else if (s_feed_sock (self->rebuild_feed, which)) {
            s_feed_drain (self, self->rebuild_feed, (zsock_t *) which);
        }
        s_apply_rebuild (self);
        if (zclock_mono () >= next_tick) {
            s_feed_tick (self, self->feed);
            s_feed_tick (self, self->rebuild_feed);
            s_apply (self);
            s_sweep (self);
            s_progress (self);
            s_snapshot (self, false);
            s_watch_tick (self);
            next_tick = zclock_mono () + TICK;
        }
        if (zclock_mono () >= self->next_deadline) {
            s_release_parked (self);
        }
        if (zclock_mono () >= zcq_projection_due (self->serving)) {
            s_flush (self);
        }
    }
    s_flush (self);
    s_snapshot (self, true);
    s_self_destroy (&self);
}
