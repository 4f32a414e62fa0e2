/*  =========================================================================
    zcq_write_node - the command side (see zcq_write_node.h)

    Two threads, each owning its state, passing messages:
    - this actor decides: it drains waiting commands (into a bounded queue
      when the next group is full, "busy" beyond it), decides each in order
      against in-memory aggregate state (a later command sees the events of
      an earlier one), stages events, stream index, head and command
      replies into the staged group; then it writes that group itself
      (zcq_writer) as ONE LevelDB batch (synced in sync mode) while ZeroMQ
      queues the commands that come meanwhile, replies to the group's
      commands and only then publishes its events. Writing on a thread of
      its own cost two wake-ups a group, more than the deciding it let run
      beside the fsync (issue 13); a write group member still hands its
      groups to its replica thread (zcq_replica);
    - the replay server (zcq_replay) answers REPLAY from LevelDB snapshots.
    A failed write acknowledges nothing: every command of the failed group,
    and of the group staged on top of it, gets "unavailable"; the aggregate
    cache (zcq_aggregates) is dropped (it holds events that never reached
    the disk) and the node carries on from what is on disk.
    =========================================================================
*/

#include "zcq_write_node.h"
#include "zcq_aggregates.h"
#include "zcq_auth.h"
#include "zcq_domain.h"
#include "zcq_endpoint.h"
#include "zcq_event.h"
#include "zcq_ids.h"
#include "zcq_log.h"
#include "zcq_metrics.h"
#include "zcq_node.h"
#include "zcq_settings.h"
#include "zcq_replay.h"
#include "zcq_replica.h"
#include "zcq_waiter.h"
#include "zcq_writer.h"

#define RETRY_AFTER_MIN 1         //  ms: least retry hint in a busy reply
#define RETRY_AFTER_MAX 1000      //  ms: most retry hint
#define RECV_HWM        10000     //  commands queued per client connection
#define IDS_UNLIMITED   10000000  //  ids the filter is sized for when retention has no limit
#define IDS_MOST        100000000 //  ids the filter is ever sized for (about 300 MB)
#define REPLY_BODY_MAX  (ZCQ_MAX_TEXT + 256) //  bytes of a REPLY body, reason included
#define MEMBERS_MAX     9                    //  most members of a write group
#define REPORTS_MOST    64                   //  replica reports taken in a turn
//  Bytes of a write group member's LevelDB memtable (a single node's store
//  keeps its 16 MiB). Every member writes every group into its own store,
//  and an insert into the memtable's skip list is a walk of cache misses
//  that grows with it: 35-41 % of a member's replica thread in the
//  replicated closed loop 32, three members on this 2-core machine sharing
//  its caches; with 4 MiB (LevelDB's default) each member spent less CPU
//  per command (followers about 10 % less; README, Performance)
#define MEMBER_MEMTABLE (4 * 1024 * 1024)

//  The write node's settings: the one place for their paths, flags,
//  defaults, accepted values and help (README's configuration reference
//  and zcqrs-write --help are made from it).
static const zcq_setting_t s_table [] = {
    {.path = "write/commands",
     .flag = "--commands",
     .fallback = ZCQ_DEFAULT_COMMANDS,
     .arg = "EP",
     .help = "ROUTER endpoint it binds for commands and the status query"},
    {.path = "write/events",
     .flag = "--events",
     .fallback = ZCQ_DEFAULT_EVENTS,
     .arg = "EP",
     .help = "PUB endpoint it binds for events and heartbeats"},
    {.path = "write/replay",
     .flag = "--replay",
     .fallback = ZCQ_DEFAULT_REPLAY,
     .arg = "EP",
     .help = "ROUTER endpoint it binds for replay"},
    {.path = "write/metrics",
     .flag = "--metrics",
     .arg = "HOST:PORT",
     .help = "HTTP address it serves Prometheus metrics on, at /metrics (e.g. 127.0.0.1:9601; "
             "port 0: any free port); unset: none"},
    {.path = "write/data",
     .flag = "--data",
     .fallback = "var/write",
     .arg = "DIR",
     .help = "LevelDB folder of the event log",
     .file = ZCQ_SETTING_FILE},
    {.path = "write/keys",
     .flag = "--keys",
     .arg = "DIR",
     .help = "LevelDB folder of the stream keys (crypto-shredding), never inside the data "
             "folder nor in its backups; unset: the data folder's path and '-keys' (e.g. "
             "var/write-keys)",
     .file = ZCQ_SETTING_FILE},
    {.path = "write/backups",
     .flag = "--backups",
     .fallback = "var/backups",
     .arg = "DIR",
     .help =
         "folder the 'backup' query (zcqrs backup NAME) writes each backup into, as DIR/NAME",
     .file = ZCQ_SETTING_FILE},
    {.path = "write/domain",
     .flag = "--domain",
     .fallback = "bank",
     .arg = "NAME|FILE.so",
     .help = "domain: bank, store, or the path of a domain .so",
     .file = ZCQ_SETTING_FILE_OR_NAME},
    {.path = "write/durability",
     .flag = "--durability",
     .fallback = "sync",
     .type = ZCQ_SETTING_CHOICE,
     .choices = "sync|async",
     .help = "sync: reply once the group is fdatasync'ed; async: once LevelDB has it (a "
             "machine crash loses the last moments)"},
    {.path = "write/heartbeat",
     .flag = "--heartbeat",
     .fallback = "1000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 10,
     .max = INT32_MAX,
     .arg = "MS",
     .help = "milliseconds between heartbeats on the PUB"},
    {.path = "write/cache",
     .flag = "--cache",
     .fallback = "10000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = INT32_MAX,
     .help = "aggregate states kept in memory (raised to 2 x group + 1 if smaller)"},
    {.path = "write/group",
     .flag = "--group",
     .fallback = "1024",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = 100000,
     .help = "most commands decided into one group (one batch) while a write is under way"},
    {.path = "write/queue",
     .flag = "--queue",
     .fallback = "10000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = 1000000,
     .help = "most commands queued undecided while the next group is full; beyond: busy"},
    {.path = "write/client_inflight",
     .flag = "--client-inflight",
     .fallback = "1024",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = INT32_MAX,
     .help = "most commands of one connection in the node; beyond: busy"},
    {.path = "write/snapshot",
     .flag = "--snapshot",
     .fallback = "1000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT64_MAX,
     .help = "events between snapshots of a stream's state (0: none)"},
    {.path = "write/ids/keep",
     .flag = "--keep-ids",
     .fallback = "10000000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT64_MAX,
     .help = "most command ids remembered for retries (0: no limit)"},
    {.path = "write/ids/max_age",
     .flag = "--ids-max-age",
     .fallback = "604800",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT64_MAX / 1000000,
     .arg = "SECONDS",
     .help = "seconds a command id is remembered for retries (0: no limit)"},
    {.path = "write/member",
     .flag = "--member",
     .fallback = "0",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = MEMBERS_MAX,
     .arg = "N",
     .help = "this node's number in its write group, 1..N (0: a single write node, no "
             "replication)"},
    {.path = "write/raft",
     .flag = "--raft",
     .arg = "HOST:PORT,...",
     .help = "Raft address of every member of the write group, in member order (with "
             "--member)"},
    {.path = "write/members",
     .flag = "--members",
     .arg = "EP,...",
     .help = "commands endpoint of every member, in member order: a follower names the "
             "leader's in not_leader replies"},
    {.path = "write/election",
     .flag = "--election",
     .fallback = "1000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 50,
     .max = 60000,
     .arg = "MS",
     .help = "write group: Raft's election timeout (randomised 1-2x); a silent leader is "
             "replaced after about that long"},
    {.path = "write/copy",
     .flag = "--copy",
     .arg = "EP,...",
     .help = "write group: copy endpoint of every member, in member order; a member whose "
             "store lacks what a Raft snapshot covers (an empty folder) copies a store there"},
    {.path = "write/raft_snapshot",
     .flag = "--raft-snapshot",
     .fallback = "4096",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT32_MAX,
     .arg = "ENTRIES",
     .help = "write group: Raft entries (groups) between snapshots of a member's Raft log, "
             "after which the entries before are deleted (0: never, the log grows)"},
    {.path = "write/raft_trailing",
     .flag = "--raft-trailing",
     .fallback = "1024",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT32_MAX,
     .arg = "ENTRIES",
     .help = "write group: Raft entries kept behind a snapshot, so that a member that "
             "little behind catches up from entries, not a copy of a whole store"},
    {.path = "write/raft_overlap",
     .flag = "--raft-overlap",
     .fallback = "16",
     .type = ZCQ_SETTING_NUMBER,
     .min = 1,
     .max = INT32_MAX,
     .arg = "COMMANDS",
     .help = "write group: fewest commands in a group the leader proposes while another is "
             "in Raft; a smaller one goes on filling until that one commits (1: at once)"},
    {.path = "write/raft_segment",
     .flag = "--raft-segment",
     .fallback = "8388608",
     .type = ZCQ_SETTING_NUMBER,
     .min = 65536,
     .max = INT32_MAX,
     .arg = "BYTES",
     .help = "write group: size of one Raft log segment file (a snapshot deletes whole "
             "segments only, so the log keeps up to about one more than it needs)"},
    ZCQ_SETTING_LOG_LEVEL ("write"),
    {.path = "write/security/cert",
     .arg = "FILE",
     .help = "CURVE keypair of the node (FILE and FILE_secret); with clients, its endpoints "
             "are secured",
     .file = ZCQ_SETTING_FILE},
    {.path = "write/security/clients",
     .arg = "DIR",
     .help = "folder of the public certificates of the clients allowed in",
     .file = ZCQ_SETTING_FILE},
    {.path = "write/security/roles/*",
     .arg = "ROLES",
     .help = "roles of the key with this name: commands, query, replicate"},
    {.path = "write/fault/drop_every",
     .flag = "--fault-drop-every",
     .fallback = "0",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT64_MAX,
     .help = "test seam: leave every Nth event unpublished, for replay tests (0: off)"},
    {.path = "write/fault/write_delay",
     .flag = "--fault-write-delay",
     .fallback = "0",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = INT32_MAX,
     .arg = "MS",
     .help = "test seam: every batch write first waits this long, as a slow disk (0: off)"},
    {.path = NULL},
};

const zcq_setting_t *
zcq_write_node_settings (void)
{
    return s_table;
}

//  A client connection with commands in the node: counted while any of its
//  commands is queued or waits for a write; kept idle (waiting 0) until the
//  next heartbeat forgets it, so that a closed-loop client's connection is
//  not made and forgotten again for every command.
typedef struct {
    byte id [256];  //  ROUTER routing id (ZeroMQ's are at most 255 bytes)
    size_t size;    //  bytes in id
    size_t waiting; //  its commands queued or waiting for a write
} s_peer_t;

//  One reply waiting for its group's write: encoded once, when decided (the
//  same bytes are stored as the command's outcome and sent to the client).
typedef struct {
    s_peer_t *peer;           //  who gets it (counted in its waiting)
    size_t body;              //  offset of the REPLY body in the group's bodies
    size_t size;              //  bytes of the body
    byte id [ZCQ_COMMAND_ID]; //  command id
    bool delimiter;           //  the peer put an empty frame after its routing id
    bool stored;              //  an outcome the group stores (its id is in self->known)
    int64_t received;         //  zclock_usecs () when its command came (ack latency)
} s_reply_t;

//  Replies waiting for one group's write, in decision order.
typedef struct {
    s_reply_t *replies;     //  the replies
    size_t count;           //  replies in use
    size_t slots;           //  replies allocated
    msgpack_sbuffer bodies; //  their REPLY bodies, back to back
    uint64_t number;        //  which group (a count, for the logs and the ring)
    bool sealed;            //  an event of the group has personal fields sealed: only
                            //  then are its events opened before publishing
    zcq_group_t *group;     //  in flight: its sealed group, which the writer has
    int64_t submitted;      //  in flight: zclock_usecs () when the writer got it
    uint64_t lead;          //  in flight in a write group: the lead it was decided in
    bool dropped;           //  in flight: answered unavailable already (a group before it
                            //  failed, or its lead ended); its return is only freed
} s_pending_t;

//  Most groups in flight at once (a single node's writer takes one)
#define FLIGHTS ZCQ_REPLICA_IN_FLIGHT

typedef struct {
    zsock_t *pipe;               //  actor pipe
    zsock_t *commands;           //  ROUTER: COMMAND, QUERY "status"
    int recv_flags;              //  how commands is read: no ZAP user looked up unless secured
    zsock_t *events;             //  XPUB: EVENT, HEARTBEAT
    zhashx_t *subscribed;        //  prefixes subscribed to on events (hex keys), each
                                 //  with how many are counted under its key
    uint64_t subscriptions;      //  prefixes subscribed to (0: nobody subscribes)
    zactor_t *writer;            //  write group: the replica thread (NULL: single node)
    zcq_writer_t *group_writer;  //  single node: writes the groups, on this thread
    zactor_t *replay;            //  replay server thread
    char *replay_endpoint;       //  where the replay server is bound (resolved)
    zcq_waiter_t *waiter;        //  pipe, commands, a replica (and a backup)
    zcq_log_t *log;              //  event log (this thread stages, the writer writes)
    zcq_keys_t *keys;            //  key table (the log seals with it; readers share its store)
    const zcq_domain_t *domain;  //  decide / evolve
    zcq_decision_t *decision;    //  scratch decision
    zcq_aggregates_t *cache;     //  aggregate cache: each stream's state
    size_t cache_max;            //  aggregates kept
    s_pending_t staged;          //  replies of the group being decided
    s_pending_t ring [FLIGHTS];  //  replies of the groups the writer has, in the order
                                 //  handed over, the oldest at
    size_t flight_head;          //  this index
    size_t flights;              //  groups the writer has
    size_t flight_max;           //  most it takes: 1, or a write group replica's
                                 //  ZCQ_REPLICA_IN_FLIGHT
    zcq_ids_t *known;            //  command ids the log or a pending group may hold: most
                                 //  new ids need neither a scan nor a read
    uint64_t id_reads;           //  command ids looked up in the log (the filter said maybe)
    zhashx_t *peers;             //  s_peer_t by routing id: connections with commands here
    uint64_t numbers;            //  group numbers handed out (s_pending_t.number)
    bool sync;                   //  durability: fdatasync before replying
    zlistx_t *queue;             //  commands received while the staged group is full
    zlistx_t *hides;             //  tombstones (EVENT: stream, position) whose stream's
                                 //  events are hidden once they are written
    zlistx_t *forgets;           //  $StreamForgotten events whose stream's key is
                                 //  destroyed once they are written
    const char *const *personal; //  the domain's personal fields, or NULL
    msgpack_sbuffer sealed;      //  scratch: event data with personal fields sealed
    size_t group_max;            //  most commands decided while a write is under way
    size_t queue_max;            //  most commands queued undecided
    size_t client_max;           //  most commands of one client in the node
    uint64_t snapshot_every;     //  events between aggregate snapshots (0: none)
    int heartbeat;               //  ms between heartbeats
    int64_t next_heartbeat;      //  zclock_mono () of the next heartbeat
    int64_t started;             //  zclock_mono () at start
    int64_t write_usecs;         //  how long the last write took
    uint64_t drop_every;         //  fault seam: drop every N-th published event (0: none)
    uint64_t published;          //  events handed to PUB (or dropped by the seam)
    uint64_t unpublished;        //  events not published: nothing subscribed
    uint64_t ids_kept;           //  command ids on disk, as the writer last said
    bool terminated;             //  $TERM received
    bool await_write;            //  test seam: signal the pipe when the writer gets a group
    uint64_t accepted, rejected, conflicts, invalid, duplicates, busy, failures;
    char *backups;            //  write/backups: where backups go
    zactor_t *backup;         //  the thread copying a backup, or NULL
    zcq_msg_t *backup_result; //  its RESULT (addressed to the asker), sent when done

    //  Metrics (zcq_metrics.h): a registry of cells of this struct, each
    //  written by one thread, and its HTTP server
    zcq_metrics_t *metrics;         //  the registry
    uint64_t head;                  //  the log's head, as of the last write
    uint64_t replays;               //  REPLAY requests answered (the replay thread counts)
    uint64_t replayed;              //  events sent in those answers (the same)
    zcq_histogram_t *group_sizes;   //  commands per group written (count: groups)
    zcq_histogram_t *write_latency; //  us to write a group (batch + fdatasync)
    zcq_histogram_t *ack_latency;   //  us from receiving a command to its reply

    //  Write group (write/member > 0): the writer above is a zcq_replica
    unsigned member;               //  this member's number (0: single node)
    int64_t election;              //  ms: Raft's election timeout
    size_t overlap;                //  fewest commands in a group proposed while another
                                   //  is in Raft (write/raft_overlap; see s_submit)
    unsigned members;              //  members in the group
    char *raft [MEMBERS_MAX];      //  each member's Raft address
    char *endpoints [MEMBERS_MAX]; //  each member's commands endpoint, or NULL
    char *copies [MEMBERS_MAX];    //  each member's copy endpoint (write/copy), or NULL
    uint64_t ids_capacity;         //  command ids the filter is sized for
    bool leading;                  //  this member leads: it decides commands
    bool follow_hides;             //  a follower looks for deletes whose events to hide
    bool follow_forgets;           //  and for forgets whose keys to destroy (s_follow)
    zcq_replica_report_t group;    //  the replica's last ROLE report
} self_t;

//  The write node's counters and gauges as metrics: cells of self_t that
//  its status query answers from too (zcq_metrics.h), each written by one
//  thread only
static const zcq_metric_t s_metrics [] = {
    {false, "zcqrs_commands_total", "outcome=\"accepted\"",
     "Commands answered, by outcome (invalid: also messages that did not decode).",
     offsetof (self_t, accepted)},
    {false, "zcqrs_commands_total", "outcome=\"rejected\"", NULL, offsetof (self_t, rejected)},
    {false, "zcqrs_commands_total", "outcome=\"conflict\"", NULL, offsetof (self_t, conflicts)},
    {false, "zcqrs_commands_total", "outcome=\"invalid\"", NULL, offsetof (self_t, invalid)},
    {false, "zcqrs_commands_total", "outcome=\"duplicate\"", NULL,
     offsetof (self_t, duplicates)},
    {false, "zcqrs_busy_replies_total", NULL,
     "Commands answered busy (queue or connection limit reached); nothing was stored.",
     offsetof (self_t, busy)},
    {false, "zcqrs_write_failures_total", NULL,
     "Group writes that failed; their commands were answered unavailable.",
     offsetof (self_t, failures)},
    {false, "zcqrs_events_published_total", NULL,
     "Events handed to the PUB socket once their group was written.",
     offsetof (self_t, published)},
    {false, "zcqrs_events_unpublished_total", NULL,
     "Events not published because nothing subscribed to the events socket (a subscriber "
     "that comes later repairs what came before by REPLAY).",
     offsetof (self_t, unpublished)},
    {true, "zcqrs_event_subscriptions", NULL,
     "Topic prefixes subscribed to on the events socket (0: nothing is published).",
     offsetof (self_t, subscriptions)},
    {false, "zcqrs_replays_served_total", NULL, "REPLAY requests answered.",
     offsetof (self_t, replays)},
    {false, "zcqrs_replayed_events_total", NULL, "Events sent in answers to REPLAY.",
     offsetof (self_t, replayed)},
    {true, "zcqrs_head_position", NULL, "Last committed global position.",
     offsetof (self_t, head)},
    {.name = NULL},
};

static void
s_msg_destroy (void **item)
{
    zcq_msg_destroy ((zcq_msg_t **) item);
}

static size_t
s_peer_hash (const void *key)
{
    const s_peer_t *peer = (const s_peer_t *) key;
    size_t hash = 5381;
    for (size_t index = 0; index < peer->size; index++) {
        hash = hash * 33 + peer->id [index];
    }
    return hash;
}

static int
s_peer_compare (const void *one, const void *two)
{
    const s_peer_t *first = (const s_peer_t *) one, *second = (const s_peer_t *) two;
    return first->size == second->size && memcmp (first->id, second->id, first->size) == 0 ? 0
                                                                                           : 1;
}

static void
s_pending_init (s_pending_t *pending, uint64_t number)
{
    memset (pending, 0, sizeof (*pending));
    msgpack_sbuffer_init (&pending->bodies);
    pending->number = number;
}

static void
s_pending_destroy (s_pending_t *pending)
{
    free (pending->replies);
    msgpack_sbuffer_destroy (&pending->bodies);
    memset (pending, 0, sizeof (*pending));
}

//  Commands in the node waiting for a write: staged or in flight.
static size_t
s_in_node (self_t *self)
{
    size_t count = self->staged.count;
    for (size_t index = 0; index < self->flights; index++) {
        count += self->ring [(self->flight_head + index) % FLIGHTS].count;
    }
    return count;
}

static void
s_self_destroy (self_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        self_t *self = *self_p;
        //  The metrics thread reads cells of self, the replay thread writes
        //  some: stop them, and the writer, which may hold a group, first
        zcq_metrics_destroy (&self->metrics);
        zactor_destroy (&self->writer);
        zcq_writer_destroy (&self->group_writer);
        zactor_destroy (&self->replay);
        zactor_destroy (&self->backup);
        zcq_msg_destroy (&self->backup_result);
        zstr_free (&self->backups);
        for (size_t index = 0; index < FLIGHTS; index++) {
            zcq_group_destroy (&self->ring [index].group);
        }
        zcq_aggregates_destroy (&self->cache);
        zcq_ids_destroy (&self->known);
        if (self->peers) {
            //  Peers are the hash's keys and values: free them once
            s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers);
            while (peer) {
                free (peer);
                peer = (s_peer_t *) zhashx_next (self->peers);
            }
        }
        zhashx_destroy (&self->peers);
        zlistx_destroy (&self->queue);
        zlistx_destroy (&self->hides);
        zlistx_destroy (&self->forgets);
        msgpack_sbuffer_destroy (&self->sealed);
        s_pending_destroy (&self->staged);
        for (size_t index = 0; index < FLIGHTS; index++) {
            s_pending_destroy (&self->ring [index]);
        }
        zcq_decision_destroy (&self->decision);
        zcq_waiter_destroy (&self->waiter);
        zsock_destroy (&self->commands);
        zsock_destroy (&self->events);
        zhashx_destroy (&self->subscribed);
        zcq_log_destroy (&self->log);
        zcq_keys_destroy (&self->keys);
        zstr_free (&self->replay_endpoint);
        for (unsigned index = 0; index < MEMBERS_MAX; index++) {
            zstr_free (&self->raft [index]);
            zstr_free (&self->endpoints [index]);
            zstr_free (&self->copies [index]);
        }
        free (self);
        *self_p = NULL;
    }
}

static void
s_know_id (const byte *id, uint64_t sequence, void *arg)
{
    zcq_ids_add ((zcq_ids_t *) arg, id, sequence);
}

//  Split a comma-separated list into at most MEMBERS_MAX owned strings;
//  returns how many, or MEMBERS_MAX + 1 if there are more.
static unsigned
s_split (const char *list, char **items)
{
    unsigned count = 0;
    while (list && *list) {
        const char *comma = strchr (list, ',');
        size_t length = comma ? (size_t) (comma - list) : strlen (list);
        if (count == MEMBERS_MAX) {
            return MEMBERS_MAX + 1;
        }
        items [count] = (char *) zmalloc (length + 1);
        memcpy (items [count++], list, length);
        list = comma ? comma + 1 : NULL;
    }
    return count;
}

//  Read the write group's settings; returns NULL or what is wrong.
static char *
s_group_settings (self_t *self, zconfig_t *config)
{
    self->member = (unsigned) zcq_settings_number (config, s_table, "write/member");
    self->election = zcq_settings_number (config, s_table, "write/election");
    self->overlap = (size_t) zcq_settings_number (config, s_table, "write/raft_overlap");
    if (self->member == 0) {
        self->leading = true; //  a single node decides everything
        return NULL;
    }
    const char *raft = zcq_settings_text (config, s_table, "write/raft");
    const char *endpoints = zcq_settings_text (config, s_table, "write/members");
    self->members = s_split (raft, self->raft);
    unsigned named = s_split (endpoints, self->endpoints);
    if (self->members > MEMBERS_MAX || self->member > self->members) {
        return zsys_sprintf ("setting write/raft must list the Raft address (host:port) of "
                             "every member, at most %d, member %u among them; got '%s'",
                             MEMBERS_MAX, self->member, raft ? raft : "");
    }
    for (unsigned index = 0; index < self->members; index++) {
        if (!strchr (self->raft [index], ':')) {
            return zsys_sprintf ("setting write/raft: member %u's address '%s' is not "
                                 "host:port",
                                 index + 1, self->raft [index]);
        }
    }
    if (named && named != self->members) {
        return zsys_sprintf ("setting write/members must list the commands endpoint of "
                             "each of the %u members of write/raft, got %u",
                             self->members, named);
    }
    unsigned copies = s_split (zcq_settings_text (config, s_table, "write/copy"), self->copies);
    if (copies && copies != self->members) {
        return zsys_sprintf ("setting write/copy must list the copy endpoint of each of the "
                             "%u members of write/raft, got %u",
                             self->members, copies);
    }
    return NULL;
}

//  Read the settings; returns NULL or what is wrong (caller frees).
static char *
s_settings (self_t *self, zconfig_t *config)
{
    char *error = NULL;
    if (zcq_settings_check (config, s_table, &error) != 0) {
        return error;
    }
    self->sync = streq (zcq_settings_text (config, s_table, "write/durability"), "sync");
    self->heartbeat = (int) zcq_settings_number (config, s_table, "write/heartbeat");
    int64_t cache = zcq_settings_number (config, s_table, "write/cache");
    int64_t group = zcq_settings_number (config, s_table, "write/group");
    int64_t clients = zcq_settings_number (config, s_table, "write/client_inflight");
    int64_t queue = zcq_settings_number (config, s_table, "write/queue");
    int64_t snapshot = zcq_settings_number (config, s_table, "write/snapshot");
    int64_t drop = zcq_settings_number (config, s_table, "write/fault/drop_every");
    self->queue_max = (size_t) queue;
    self->cache_max = (size_t) cache;
    self->group_max = (size_t) group;
    self->client_max = (size_t) clients;
    self->snapshot_every = (uint64_t) snapshot;
    self->drop_every = (uint64_t) drop;
    //  States holding events of the groups in flight (staged and writing)
    //  are never evicted: the disk does not have those events yet. A cache
    //  of 2 x group + 1 leaves room for all of them and one more
    if (self->cache_max < 2 * self->group_max + 1) {
        self->cache_max = 2 * self->group_max + 1;
        zsys_notice ("write node: cache raised to %zu (twice the group size, plus one)",
                     self->cache_max);
    }
    if (self->drop_every) {
        zsys_warning ("write node: fault seam on, every %" PRIu64 "th event is not published",
                      self->drop_every);
    }
    return s_group_settings (self, config);
}

//  Start the writer and the replay server threads.
static void
s_start_threads (self_t *self, zconfig_t *config, zsock_t *replay)
{
    zcq_writer_config_t writer = {
        zcq_log_store (self->log),
        self->sync,
        (uint64_t) zcq_settings_number (config, s_table, "write/ids/keep"),
        zcq_settings_number (config, s_table, "write/ids/max_age") * 1000000,
        zcq_log_newest_sequence (self->log),
        zcq_log_keys (self->log)};
    if (self->member) {
        char folder [PATH_MAX];
        snprintf (folder, sizeof (folder), "%s/raft",
                  zcq_settings_text (config, s_table, "write/data"));
        zcq_replica_config_t replica = {
            zcq_log_store (self->log),
            folder,
            self->member,
            self->members,
            self->raft,
            (unsigned) zcq_settings_number (config, s_table, "write/election"),
            writer.keep_ids,
            writer.max_age_us,
            writer.newest_sequence,
            self->copies [0] ? self->copies : NULL,
            (unsigned) zcq_settings_number (config, s_table, "write/raft_snapshot"),
            (unsigned) zcq_settings_number (config, s_table, "write/raft_trailing"),
            (size_t) zcq_settings_number (config, s_table, "write/raft_segment"),
            writer.keys};
        self->writer = zactor_new (zcq_replica_actor, &replica);
        //  Its first report says whether Raft started
        zcq_replica_recv (self->writer, &self->group);
    }
    else {
        self->group_writer = zcq_writer_new (&writer);
    }
    //  The socket moves to the replay thread: resolve its endpoint first
    self->replay_endpoint = zcq_endpoint_resolved (replay);
    zcq_replay_config_t server = {zcq_log_store (self->log), replay, &self->replays,
                                  &self->replayed,
                                  //  A member's ids are the group's, which come
                                  //  later: its heartbeats say them, not replay
                                  self->member ? NULL : zcq_log_cluster (self->log),
                                  self->member ? NULL : zcq_log_incarnation (self->log),
                                  self->domain->name, zcq_log_keys (self->log)};
    self->replay = zactor_new (zcq_replay_actor, &server);
    int delay = (int) zcq_settings_number (config, s_table, "write/fault/write_delay");
    if (delay > 0) {
        zsys_warning ("write node: fault seam on, every write waits %d ms", delay);
        zcq_store_delay_writes (zcq_log_store (self->log), delay);
    }
}

//  The registry of the node's metrics, served on address unless it is NULL.
//  Returns 0, or -1 with *error set.
static int
s_metrics_new (self_t *self, const char *address, char **error)
{
    static const uint64_t latency [] = {ZCQ_METRICS_LATENCY_BUCKETS};
    static const uint64_t sizes [] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384};
    self->metrics = zcq_metrics_new ("write", self->domain->name);
    zcq_metrics_register (self->metrics, s_metrics, self);
    self->group_sizes =
        zcq_metrics_histogram (self->metrics, "zcqrs_group_size_commands",
                               "Commands per group written as one LevelDB batch.", sizes,
                               sizeof (sizes) / sizeof (sizes [0]), 1);
    zcq_metrics_counter (self->metrics, "zcqrs_groups_total", NULL,
                         "Groups written (or refused by a failed write).",
                         zcq_histogram_count_cell (self->group_sizes));
    self->write_latency = zcq_metrics_histogram (
        self->metrics, "zcqrs_group_write_seconds",
        "Time to write one group: its LevelDB batch, fdatasync'ed in sync durability (the "
        "fsync latency).",
        latency, sizeof (latency) / sizeof (latency [0]), 1e6);
    self->ack_latency = zcq_metrics_histogram (
        self->metrics, "zcqrs_ack_latency_seconds",
        "Time from receiving a command to sending its reply, for commands whose group was "
        "written.",
        latency, sizeof (latency) / sizeof (latency [0]), 1e6);
    return address ? zcq_metrics_serve (self->metrics, address, error) : 0;
}

//  Build the node from its settings, or return NULL with *error set.
static self_t *
s_self_new (zsock_t *pipe, zconfig_t *config, char **error)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->started = zclock_mono ();
    *error = s_settings (self, config);
    if (*error) {
        free (self);
        return NULL;
    }
    self->domain = zcq_domain_load (zcq_settings_text (config, s_table, "write/domain"), error);
    if (!self->domain) {
        free (self);
        return NULL;
    }
    const char *data = zcq_settings_text (config, s_table, "write/data");
    self->backups = strdup (zcq_settings_text (config, s_table, "write/backups"));
    const char *keys = zcq_settings_text (config, s_table, "write/keys");
    char *keys_default = keys ? NULL : zsys_sprintf ("%s-keys", data);
    self->keys = zcq_keys_new (keys ? keys : keys_default, data, error);
    zstr_free (&keys_default);
    if (!self->keys) {
        s_self_destroy (&self);
        return NULL;
    }
    self->log = zcq_log_open (data, self->keys, self->member ? MEMBER_MEMTABLE : 0);
    if (!self->log) {
        *error = zsys_sprintf ("cannot open the event log in '%s'", data);
        s_self_destroy (&self);
        return NULL;
    }
    if (self->member && zcq_log_set_group_member (self->log) != 0) {
        *error =
            zsys_sprintf ("cannot read the event log in '%s' as a write group member's", data);
        s_self_destroy (&self);
        return NULL;
    }
    //  A key table serves one log: a member learns the group's cluster
    //  with its first group, and binds at its next start
    if (zcq_keys_bind (self->keys, zcq_log_cluster (self->log), error) != 0) {
        s_self_destroy (&self);
        return NULL;
    }
    //  Sized for the ids retention keeps; with no limit, for as many as
    //  the default keeps (beyond them, more new ids are read from the log)
    //  (and at most IDS_MOST: past it, more new ids are read from the log)
    int64_t keep = zcq_settings_number (config, s_table, "write/ids/keep");
    uint64_t capacity = keep > 0 ? (uint64_t) keep : IDS_UNLIMITED;
    self->ids_capacity = capacity < IDS_MOST ? capacity : IDS_MOST;
    self->known = zcq_ids_new (self->ids_capacity);
    if (!self->known) {
        *error = zsys_sprintf ("cannot allocate the command-id filter for %" PRIu64 " ids",
                               capacity);
        s_self_destroy (&self);
        return NULL;
    }
    if (zcq_log_visit_ids (self->log, s_know_id, self->known) != 0) {
        *error = zsys_sprintf ("cannot read the command ids of the event log in '%s'", data);
        s_self_destroy (&self);
        return NULL;
    }
    //  A stream deleted just before a stop has its events hidden now
    if (zcq_log_hide_pending (self->log) != 0) {
        *error = zsys_sprintf ("cannot hide the events of the deleted streams in '%s'", data);
        s_self_destroy (&self);
        return NULL;
    }
    //  And one forgotten just before a stop loses its key now
    if (zcq_log_forget_pending (self->log) != 0) {
        *error =
            zsys_sprintf ("cannot destroy the keys of the forgotten streams in '%s'", data);
        s_self_destroy (&self);
        return NULL;
    }
    self->personal = zcq_domain_personal_fields (self->domain);
    zcq_log_set_sealing (self->log, self->personal != NULL);
    msgpack_sbuffer_init (&self->sealed);
    self->head = zcq_log_head (self->log);
    if (s_metrics_new (self, zcq_settings_text (config, s_table, "write/metrics"), error)) {
        s_self_destroy (&self);
        return NULL;
    }
    self->commands =
        zcq_endpoint_serve (config, ZMQ_ROUTER, "write", "commands",
                            zcq_settings_text (config, s_table, "write/commands"), error);
    zsock_t *replay = NULL;
    if (self->commands) {
        //  Per connection, commands beyond this wait in the client's own
        //  queue and TCP: memory here stays bounded whatever clients send
        zsock_set_rcvhwm (self->commands, RECV_HWM);
        self->recv_flags =
            ZCQ_RECV_NOWAIT | (zsock_curve_server (self->commands) ? 0 : ZCQ_RECV_PLAIN);
        //  An XPUB, not a PUB: libzmq's PUB lets go of a subscriber's queue
        //  at once when its connection ends, and the frames of a
        //  publication it had queued before the end came between them are
        //  never freed (a query node that stops while events are published
        //  left a topic frame of more than 33 bytes behind each time). An
        //  XPUB's queue is let go only once it is read to its end, the
        //  unfinished publication dropped first. What it hears from its
        //  subscribers says whether anyone subscribes (s_subscribed).
        self->events =
            zcq_endpoint_serve (config, ZMQ_XPUB, "write", "events",
                                zcq_settings_text (config, s_table, "write/events"), error);
    }
    if (self->events) {
        replay =
            zcq_endpoint_serve (config, ZMQ_ROUTER, "write", "replay",
                                zcq_settings_text (config, s_table, "write/replay"), error);
    }
    if (!replay) {
        s_self_destroy (&self);
        return NULL;
    }
    self->decision = zcq_decision_new ();
    self->cache =
        zcq_aggregates_new (self->domain, self->log, self->cache_max, self->snapshot_every);
    self->queue = zlistx_new ();
    zlistx_set_destructor (self->queue, s_msg_destroy);
    self->hides = zlistx_new ();
    zlistx_set_destructor (self->hides, s_msg_destroy);
    self->forgets = zlistx_new ();
    zlistx_set_destructor (self->forgets, s_msg_destroy);
    s_pending_init (&self->staged, ++self->numbers);
    for (size_t index = 0; index < FLIGHTS; index++) {
        s_pending_init (&self->ring [index], ++self->numbers);
    }
    //  A write group's replica pipelines groups through Raft: the next
    //  group goes out while the one before is fsync'ed and acknowledged
    self->flight_max = self->member ? ZCQ_REPLICA_IN_FLIGHT : 1;
    self->peers = zhashx_new ();
    self->subscribed = zhashx_new ();
    //  A peer is its own key: neither copied nor freed by the hash
    zhashx_set_key_hasher (self->peers, s_peer_hash);
    zhashx_set_key_comparator (self->peers, s_peer_compare);
    zhashx_set_key_duplicator (self->peers, NULL);
    zhashx_set_key_destructor (self->peers, NULL);
    s_start_threads (self, config, replay);
    if (self->member && self->group.role == ZCQ_ROLE_FAILED) {
        *error = zsys_sprintf ("write group member %u cannot start Raft on %s (see the log)",
                               self->member, self->raft [self->member - 1]);
        s_self_destroy (&self);
        return NULL;
    }
    //  The node stops on $TERM from its owner, not on SIGINT itself (the
    //  waiter returns on a signal; the loop waits again)
    self->waiter = zcq_waiter_new ();
    if (zcq_waiter_add (self->waiter, self->pipe) != 0
        || zcq_waiter_add (self->waiter, self->commands) != 0
        || (self->writer && zcq_waiter_add (self->waiter, self->writer) != 0)) {
        *error = strdup ("cannot watch the write node's sockets");
        s_self_destroy (&self);
        return NULL;
    }
    self->next_heartbeat = zclock_mono ();
    return self;
}

//  --- Commands ---------------------------------------------------------------

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

//  Milliseconds a busy client should wait: about one write.
static uint32_t
s_retry_after (self_t *self)
{
    int64_t ms = (self->write_usecs + 999) / 1000;
    return (uint32_t) (ms < RETRY_AFTER_MIN   ? RETRY_AFTER_MIN
                       : ms > RETRY_AFTER_MAX ? RETRY_AFTER_MAX
                                              : ms);
}

//  The peer of a command (NULL: no routing id), created if create is true
//  and it has nothing in the node yet.
static s_peer_t *
s_peer (self_t *self, zcq_msg_t *msg, bool create)
{
    size_t size;
    const byte *routing = zcq_msg_routing (msg, &size);
    if (!routing || size > sizeof (((s_peer_t *) 0)->id)) {
        return NULL;
    }
    s_peer_t key;
    key.size = size;
    memcpy (key.id, routing, size);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, &key);
    if (!peer && create) {
        peer = (s_peer_t *) malloc (sizeof (s_peer_t));
        assert (peer);
        memcpy (peer, &key, sizeof (key));
        peer->waiting = 0;
        zhashx_insert (self->peers, peer, peer);
    }
    return peer;
}

//  Count one command out of its peer (it stays, idle at zero, until the
//  next heartbeat's s_peers_forget).
static void
s_peer_done (s_peer_t *peer)
{
    if (peer) {
        assert (peer->waiting > 0);
        peer->waiting--;
    }
}

//  Forget the peers with nothing in the node: the table holds at most the
//  connections busy now and those seen since the last heartbeat.
static void
s_peers_forget (self_t *self)
{
    size_t idle = 0;
    s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers);
    while (peer) {
        idle += peer->waiting == 0;
        peer = (s_peer_t *) zhashx_next (self->peers);
    }
    if (idle == 0) {
        return;
    }
    //  Collected first: the table is not changed while it is walked
    s_peer_t **forget = (s_peer_t **) malloc (idle * sizeof (s_peer_t *));
    assert (forget);
    size_t count = 0;
    for (peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers)) {
        if (peer->waiting == 0) {
            forget [count++] = peer;
        }
    }
    for (size_t index = 0; index < count; index++) {
        zhashx_delete (self->peers, forget [index]);
        free (forget [index]);
    }
    free (forget);
}

//  Add a reply to the staged group with this body (copied, or encoded
//  from reply when body is NULL), for peer (NULL: the reply's, looked up
//  or made); returns its index or -1 if the reply cannot be encoded (then
//  nothing is added).
static int
s_pending_add (self_t *self, zcq_msg_t *reply, s_peer_t *peer, const void *body, size_t size,
               bool stored)
{
    s_pending_t *pending = &self->staged;
    size_t offset = pending->bodies.size;
    if (body) {
        msgpack_sbuffer_write (&pending->bodies, (const char *) body, size);
    }
    else if (zcq_msg_encode_body (reply, &pending->bodies) != 0) {
        pending->bodies.size = offset;
        return -1;
    }
    if (pending->count == pending->slots) {
        pending->slots = pending->slots ? pending->slots * 2 : 64;
        pending->replies =
            (s_reply_t *) realloc (pending->replies, pending->slots * sizeof (s_reply_t));
        assert (pending->replies);
    }
    s_reply_t *entry = &pending->replies [pending->count];
    entry->peer = peer ? peer : s_peer (self, reply, true);
    if (entry->peer) {
        entry->peer->waiting++;
    }
    entry->body = offset;
    entry->size = pending->bodies.size - offset;
    memcpy (entry->id, zcq_msg_id (reply), ZCQ_COMMAND_ID);
    entry->delimiter = zcq_msg_delimiter (reply);
    entry->stored = stored;
    entry->received = zcq_msg_time (reply); //  the command's receipt (not on the wire)
    return (int) pending->count++;
}

//  Keep a reply for the staged group: sent once that group is on disk to
//  peer (NULL: the reply's). Stored with the group when store is true
//  (decided outcomes), not for repeats of a command already in flight.
//  Takes ownership of the reply: its body is encoded here, once, for the
//  disk and for the client.
static void
s_reply_after_commit (self_t *self, zcq_msg_t **reply_p, s_peer_t *peer, bool store)
{
    zcq_msg_t *reply = *reply_p;
    int index = s_pending_add (self, reply, peer, NULL, 0, store);
    if (index < 0) {
        //  A broken invariant, not bad input: our own reply would not encode
        zsys_error ("write node: cannot encode a reply: %s", zcq_msg_error (reply));
        s_reply_now (self, reply_p);
        return;
    }
    if (store) {
        s_reply_t *entry = &self->staged.replies [index];
        zcq_log_stage_outcome (self->log, entry->id, self->staged.bodies.data + entry->body,
                               entry->size, zcq_event_now ());
        //  Noted as the log will hold it: a repeat while the group is
        //  pending is told by the same filter that tells repeats on disk
        zcq_ids_add (self->known, entry->id, zcq_log_staged_sequence (self->log));
    }
    zcq_msg_destroy (reply_p);
}

//  The stored reply of a pending group (staged or in flight) for this
//  command id (NULL: none). Every such id was noted in self->known when it
//  was staged (s_reply_after_commit), and retention forgets only ids older
//  than every pending one: an id the filter tells certainly new is asked
//  neither here nor of the log, so only repeats and the filter's rare false
//  positives scan the pending replies (no hash of them kept per command).
static s_reply_t *
s_pending_find (self_t *self, const byte *id, s_pending_t **pending_p)
{
    for (size_t at = 0; at <= self->flights; at++) {
        s_pending_t *pending = at < self->flights
                                   ? &self->ring [(self->flight_head + at) % FLIGHTS]
                                   : &self->staged;
        for (size_t index = 0; index < pending->count; index++) {
            s_reply_t *reply = &pending->replies [index];
            if (reply->stored && memcmp (reply->id, id, ZCQ_COMMAND_ID) == 0) {
                *pending_p = pending;
                return reply;
            }
        }
    }
    return NULL;
}

//  Check the domain's events against the protocol's limits before staging
//  any, so that a command is appended whole or not at all.
static int
s_check_events (self_t *self, zcq_msg_t *reply, bool deleting)
{
    if (zcq_decision_count (self->decision) > ZCQ_MAX_EVENTS) {
        zcq_msg_set_status (reply, ZCQ_TOO_LARGE);
        zcq_msg_set_reason (
            reply, "domain '%s' produced %zu events for one command; the limit is %d",
            self->domain->name, zcq_decision_count (self->decision), ZCQ_MAX_EVENTS);
        return -1;
    }
    for (size_t index = 0; index < zcq_decision_count (self->decision); index++) {
        size_t size;
        const byte *data = zcq_decision_event_data (self->decision, index, &size);
        const char *type = zcq_decision_event_type (self->decision, index);
        //  A domain may be a user's .so: check that it packed one map
        if (!zcq_mpack_is_map (data, size)) {
            zcq_msg_set_status (reply, ZCQ_INVALID);
            zcq_msg_set_reason (reply,
                                "domain '%s' produced event %zu ('%.40s') whose data is "
                                "not one msgpack map",
                                self->domain->name, index, type);
            return -1;
        }
        if (*type == '$' && !deleting) {
            zcq_msg_set_status (reply, ZCQ_INVALID);
            zcq_msg_set_reason (reply,
                                "domain '%s' produced event %zu of type '%.40s': types that "
                                "start with '$' are the node's",
                                self->domain->name, index, type);
            return -1;
        }
        //  Each personal field sealed grows by its ext header, nonce and tag
        size_t fields = 0;
        while (self->personal && self->personal [fields]) {
            fields++;
        }
        size += fields * (6 + ZCQ_SEAL_NONCE + ZCQ_SEAL_TAG);
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

//  Pack event data into self->sealed with its personal fields sealed under
//  the stream's key. Returns how many it sealed.
static size_t
s_seal (self_t *self, const char *stream, const byte *data, size_t size)
{
    msgpack_unpacked unpacked;
    if (zcq_mpack_unpack (data, size, &unpacked) != 0) {
        return 0; //  s_check_events saw one map: not reached
    }
    //  s_key_events read or made the key if a field is to be sealed
    byte key [ZCQ_SEAL_KEY];
    size_t sealed = 0;
    self->sealed.size = 0;
    if (zcq_seal_wanted (&unpacked.data, self->personal)) {
        int rc = zcq_log_stream_key (self->log, stream, false, key);
        assert (rc == 0);
        (void) rc;
        sealed = zcq_seal_data (&unpacked.data, self->personal, key, stream, &self->sealed);
    }
    msgpack_unpacked_destroy (&unpacked);
    return sealed;
}

//  If a decided event holds a personal field, read its stream's key, or
//  make one (staged with the group), and say so in *wanted (then s_append
//  seals; else it need not look at the events' fields again). Returns 0,
//  or -1 on a storage error.
static int
s_key_events (self_t *self, const char *stream, bool *wanted_p)
{
    bool wanted = false;
    for (size_t index = 0;
         self->personal && !wanted && index < zcq_decision_count (self->decision); index++) {
        size_t size;
        const byte *data = zcq_decision_event_data (self->decision, index, &size);
        zcq_event_data_t unpacked;
        if (zcq_event_data_unpack (&unpacked, data, size) == 0) {
            wanted = zcq_seal_wanted (&unpacked.data, self->personal);
            zcq_event_data_destroy (&unpacked);
        }
    }
    *wanted_p = wanted;
    byte key [ZCQ_SEAL_KEY];
    return wanted && zcq_log_stream_key (self->log, stream, true, key) != 0 ? -1 : 0;
}

//  Stage the decided events of an accepted command and fold them into the
//  cached state, sealing their personal fields if seal (s_key_events found
//  some). Fills the reply's version, position and count.
static void
s_append (self_t *self, zcq_msg_t *command, const zcq_aggregate_t *aggregate, bool seal,
          zcq_msg_t *reply)
{
    size_t count = zcq_decision_count (self->decision);
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_stream (event, aggregate->stream);
    zcq_msg_set_id (event, zcq_msg_id (command), ZCQ_COMMAND_ID);
    zcq_msg_set_correlation (event, zcq_msg_correlation (command));
    zcq_msg_set_user (event, zcq_msg_user (command)); //  who did it (secured endpoints)
    zcq_msg_set_time (event, zcq_event_now ());
    for (size_t index = 0; index < count; index++) {
        size_t size;
        const byte *data = zcq_decision_event_data (self->decision, index, &size);
        zcq_msg_set_version (event, aggregate->version + 1);
        const char *type = zcq_decision_event_type (self->decision, index);
        zcq_msg_set_name (event, type);
        //  Stored at the version the domain emits now (protocol 6.3.1)
        zcq_msg_set_schema (event, zcq_domain_event_schema (self->domain, type));
        //  Personal fields leave the node's memory sealed, never in plain
        zcq_msg_set_data (event, data, size);
        bool sealed = false;
        if (seal && *type != '$' && s_seal (self, aggregate->stream, data, size) > 0) {
            zcq_msg_set_data (event, (const byte *) self->sealed.data, self->sealed.size);
            self->staged.sealed = sealed = true;
        }
        uint64_t position = zcq_log_stage_event (self->log, event);
        //  Limits were checked by s_check_events, the user id by the codec
        //  when the command was received; an encoding failure here is a
        //  broken invariant, not bad input
        assert (position);
        (void) position;
        if (sealed) {
            zcq_msg_set_data (event, data, size); //  evolve folds the plain values
        }
        zcq_aggregates_evolve (self->cache, aggregate, event);
        if (streq (type, ZCQ_STREAM_FORGOTTEN)) {
            zcq_log_stage_forgotten (self->log, aggregate->stream, position);
            zcq_msg_t *forgotten = zcq_msg_new (ZCQ_MSG_EVENT);
            zcq_msg_set_stream (forgotten, aggregate->stream);
            zcq_msg_set_position (forgotten, position);
            zlistx_add_end (self->forgets, forgotten);
        }
    }
    zcq_aggregates_staged (self->cache, aggregate);
    if (aggregate->deleted) {
        //  The tombstone: once it is written, its stream's events are hidden
        zcq_log_stage_deleted (self->log, aggregate->stream, aggregate->deleted);
        zcq_msg_set_data (event, NULL, 0);
        zlistx_add_end (self->hides, event);
        event = NULL;
    }
    zcq_msg_destroy (&event);
    zcq_msg_set_version (reply, aggregate->version);
    zcq_msg_set_position (reply, zcq_log_staged_head (self->log));
    zcq_msg_set_count (reply, (uint32_t) count);
}

//  A command id as 32 hex digits, for logs.
static void
s_hex (const byte *id, char hex [ZCQ_COMMAND_ID * 2 + 1])
{
    for (int index = 0; index < ZCQ_COMMAND_ID; index++) {
        snprintf (hex + index * 2, 3, "%02x", id [index]);
    }
}

//  Copy the outcome stored for a repeated command id (a REPLY body read
//  back from the log) into its reply. What the disk gives back is checked
//  as what another process sends: it must decode, carry this very id, a
//  status that is stored (accepted, rejected, conflict) and a position the
//  log holds. Returns NULL, or what is wrong (caller frees; reply as it was).
static char *
s_stored_outcome (self_t *self, zcq_msg_t *reply, const byte *stored, size_t size)
{
    zcq_msg_t *first = zcq_msg_decode_body (ZCQ_MSG_REPLY, stored, size);
    zcq_status_t status = zcq_msg_status (first);
    char *damage = NULL;
    if (!zcq_msg_valid (first)) {
        damage = zsys_sprintf ("it does not decode: %s", zcq_msg_error (first));
    }
    else if (zcq_msg_id_size (first) != ZCQ_COMMAND_ID
             || memcmp (zcq_msg_id (first), zcq_msg_id (reply), ZCQ_COMMAND_ID) != 0) {
        char hex [ZCQ_COMMAND_ID * 2 + 1] = "";
        if (zcq_msg_id_size (first) == ZCQ_COMMAND_ID) {
            s_hex (zcq_msg_id (first), hex);
        }
        damage = zsys_sprintf ("it is the outcome of command %s", *hex ? hex : "(no id)");
    }
    else if (status != ZCQ_ACCEPTED && status != ZCQ_REJECTED && status != ZCQ_CONFLICT) {
        damage = zsys_sprintf ("status '%s' is never stored", zcq_status_name (status));
    }
    else if (zcq_msg_position (first) > zcq_log_head (self->log)) {
        damage = zsys_sprintf ("position %" PRIu64 " is beyond the log's head %" PRIu64,
                               zcq_msg_position (first), zcq_log_head (self->log));
    }
    else {
        s_copy_outcome (reply, first);
    }
    zcq_msg_destroy (&first);
    return damage;
}

//  Handle one valid COMMAND from peer (NULL: looked up if it is kept):
//  repeat, refuse, or decide and stage.
static void
s_handle_command (self_t *self, zcq_msg_t *command, s_peer_t *peer)
{
    //  A command id maps to exactly one outcome: a repeat gets the first
    //  outcome, whether it is still in flight or already on disk
    //  A new id is nearly always told new without a scan or a read
    bool maybe = zcq_ids_may_hold (self->known, zcq_msg_id (command));
    s_pending_t *in = NULL;
    s_reply_t *original = maybe ? s_pending_find (self, zcq_msg_id (command), &in) : NULL;
    if (original) {
        //  The same id, so the very bytes of the first reply; copied before
        //  adding, as adding may move the bodies
        byte body [REPLY_BODY_MAX];
        size_t size = original->size <= sizeof (body) ? original->size : 0;
        memcpy (body, in->bodies.data + original->body, size);
        zcq_metrics_add (&self->duplicates, 1);
        s_pending_add (self, command, peer, body, size, false);
        return;
    }
    zcq_msg_t *reply = zcq_msg_reply_to (command, ZCQ_ACCEPTED);
    zcq_msg_set_time (reply, zcq_msg_time (command)); //  when received; not on the wire
    byte *stored = NULL;
    size_t stored_size = 0;
    int found = 1;
    if (maybe) {
        self->id_reads++;
        found = zcq_log_find_reply (self->log, zcq_msg_id (command), &stored, &stored_size);
    }
    if (found == 0) {
        char *damage = s_stored_outcome (self, reply, stored, stored_size);
        free (stored);
        if (damage) {
            char hex [ZCQ_COMMAND_ID * 2 + 1];
            s_hex (zcq_msg_id (command), hex);
            zsys_error ("write node: the outcome stored for command %s is damaged (%s); "
                        "answered as unavailable",
                        hex, damage);
            zcq_msg_set_status (reply, ZCQ_UNAVAILABLE);
            zcq_msg_set_reason (reply,
                                "the outcome stored for this command id is damaged (%s); "
                                "nothing was changed",
                                damage);
            zstr_free (&damage);
        }
        else {
            zcq_metrics_add (&self->duplicates, 1);
        }
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
    bool deleting = streq (type, ZCQ_DELETE_STREAM); //  any domain's (section 10.13)
    bool forgetting = streq (type, ZCQ_FORGET);      //  any domain's (section 10.14)
    if (!deleting && !forgetting && !zcq_domain_has_command (self->domain, type)) {
        zcq_msg_set_status (reply, ZCQ_UNKNOWN_TYPE);
        zcq_msg_set_reason (reply, "unknown command type '%s' for domain '%s'", type,
                            self->domain->name);
        zcq_metrics_add (&self->invalid, 1);
        s_reply_now (self, &reply);
        return;
    }
    const zcq_aggregate_t *aggregate =
        zcq_aggregates_get (self->cache, zcq_msg_stream (command));
    if (!aggregate) {
        zcq_msg_set_status (reply, ZCQ_UNAVAILABLE);
        zcq_msg_set_reason (reply, "cannot load stream '%s' from storage; retry",
                            zcq_msg_stream (command));
        s_reply_now (self, &reply);
        return;
    }
    if (aggregate->deleted) {
        zcq_msg_set_status (reply, ZCQ_REJECTED);
        zcq_msg_set_reason (
            reply, "stream '%s' was deleted at position %" PRIu64 "; it takes no more commands",
            aggregate->stream, aggregate->deleted);
        zcq_msg_set_version (reply, aggregate->version);
        zcq_msg_set_position (reply, zcq_log_staged_head (self->log));
        zcq_metrics_add (&self->rejected, 1);
        s_reply_after_commit (self, &reply, peer, true);
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
        zcq_metrics_add (&self->conflicts, 1);
        s_reply_after_commit (self, &reply, peer, true);
        return;
    }
    //  The codec checked that data is one map (or absent); a flat one is
    //  unpacked in place, without allocating
    zcq_event_data_t data;
    static const char empty_map [1] = {(char) 0x80};
    bool has_data = zcq_msg_data_size (command) > 0;
    int rc = zcq_event_data_unpack (
        &data, has_data ? (const void *) zcq_msg_data (command) : (const void *) empty_map,
        has_data ? zcq_msg_data_size (command) : 1);
    assert (rc == 0);
    (void) rc;
    zcq_command_t view = {type, aggregate->stream, aggregate->version, &data.data};
    zcq_decision_reset (self->decision);
    if (!deleting && !forgetting) {
        self->domain->decide (aggregate->state, &view, self->decision);
    }
    else if (aggregate->version == 0) {
        zcq_decision_reject (self->decision, "stream '%s' does not exist", aggregate->stream);
    }
    else {
        msgpack_pack_map (zcq_decision_emit (self->decision, deleting ? ZCQ_STREAM_DELETED
                                                                      : ZCQ_STREAM_FORGOTTEN),
                          0);
    }
    zcq_event_data_destroy (&data);

    zcq_status_t status = zcq_decision_status (self->decision);
    zcq_msg_set_version (reply, aggregate->version);
    zcq_msg_set_position (reply, zcq_log_staged_head (self->log));
    bool seal = false;
    if (status == ZCQ_ACCEPTED && s_check_events (self, reply, deleting || forgetting) == 0
        && s_key_events (self, aggregate->stream, &seal) != 0) {
        zcq_msg_set_status (reply, ZCQ_UNAVAILABLE);
        zcq_msg_set_reason (reply, "cannot read the key of stream '%s'; nothing was stored",
                            aggregate->stream);
        s_reply_now (self, &reply);
    }
    else if (status == ZCQ_ACCEPTED && zcq_msg_status (reply) == ZCQ_ACCEPTED) {
        s_append (self, command, aggregate, seal, reply);
        zcq_metrics_add (&self->accepted, 1);
        s_reply_after_commit (self, &reply, peer, true);
    }
    else if (status == ZCQ_REJECTED) {
        zcq_msg_set_status (reply, ZCQ_REJECTED);
        zcq_msg_set_reason (reply, "%s", zcq_decision_reason (self->decision));
        zcq_metrics_add (&self->rejected, 1);
        s_reply_after_commit (self, &reply, peer, true);
    }
    else {
        //  Malformed data (or events over the limits) change nothing and are
        //  not remembered: the same id with corrected data may be sent again
        if (status == ZCQ_INVALID) {
            zcq_msg_set_status (reply, ZCQ_INVALID);
            zcq_msg_set_reason (reply, "%s", zcq_decision_reason (self->decision));
        }
        zcq_metrics_add (&self->invalid, 1);
        s_reply_now (self, &reply);
    }
}

//  The write group's part of the status: one key for a single node, ten
//  for a member.
static void
s_pack_group (self_t *self, msgpack_packer *pk)
{
    zcq_mpack_pack_str (pk, "group_role");
    zcq_mpack_pack_str (pk, self->member ? zcq_role_name (self->group.role) : "single");
    if (!self->member) {
        return;
    }
    unsigned leader = self->group.leader;
    const char *endpoint = leader && leader <= self->members && self->endpoints [leader - 1]
                               ? self->endpoints [leader - 1]
                               : "";
    zcq_mpack_pack_str (pk, "group_member");
    msgpack_pack_uint32 (pk, self->member);
    zcq_mpack_pack_str (pk, "group_members");
    msgpack_pack_uint32 (pk, self->members);
    zcq_mpack_pack_str (pk, "group_term");
    msgpack_pack_uint64 (pk, self->group.term);
    zcq_mpack_pack_str (pk, "group_leader");
    msgpack_pack_uint32 (pk, leader);
    zcq_mpack_pack_str (pk, "group_leader_endpoint");
    zcq_mpack_pack_str (pk, endpoint);
    zcq_mpack_pack_str (pk, "group_committed");
    msgpack_pack_uint64 (pk, self->group.committed);
    zcq_mpack_pack_str (pk, "group_durable");
    msgpack_pack_uint64 (pk, self->group.durable);
    zcq_mpack_pack_str (pk, "group_applied");
    msgpack_pack_uint64 (pk, self->group.applied);
    zcq_mpack_pack_str (pk, "group_in_flight");
    msgpack_pack_uint64 (pk, self->flights);
}

//  Answer the write node's own query: "status".
//  What the backup thread needs; read before zactor_new returns.
typedef struct {
    zcq_store_t *store; //  the log's store (LevelDB is thread-safe)
    const char *path;   //  the new folder
} s_backup_args_t;

//  The backup thread: copies one snapshot of the log, says on its pipe how
//  it went ("is8": 0 or -1, the path or what failed, the snapshot's head),
//  then waits for $TERM.
static void
s_backup_actor (zsock_t *pipe, void *args)
{
    zcq_store_t *store = ((s_backup_args_t *) args)->store;
    char *path = strdup (((s_backup_args_t *) args)->path);
    zsock_signal (pipe, 0);
    uint64_t head = 0;
    char *error = NULL;
    int rc = zcq_log_backup (store, path, &head, &error);
    zsock_send (pipe, "is8", rc, rc == 0 ? path : error, head);
    zstr_free (&error);
    zstr_free (&path);
    char *command = zstr_recv (pipe); //  $TERM
    zstr_free (&command);
}

//  A backup name: letters, digits, '.', '_' and '-', not starting with '.'
//  (so that it stays a folder of the backups folder).
static bool
s_backup_name_ok (const char *name)
{
    size_t size = strlen (name);
    return size > 0 && size <= 128 && name [0] != '.'
           && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
                  == size;
}

//  QUERY "backup" {name: NAME}: start copying the log into write/backups/
//  NAME (default: "write-" and the UTC time) on a thread of its own, while
//  commands go on; the RESULT goes when it is done (s_backup_done). Returns
//  a RESULT to send now (a refusal), or NULL when the backup started.
static zcq_msg_t *
s_backup_start (self_t *self, zcq_msg_t *query)
{
    zcq_msg_t *result = zcq_msg_reply_to (query, ZCQ_OK);
    const char *roles = zcq_msg_roles (query);
    char name [160] = "";
    msgpack_unpacked params;
    msgpack_unpacked_init (&params);
    if (zcq_msg_data_size (query) > 0
        && zcq_mpack_unpack (zcq_msg_data (query), zcq_msg_data_size (query), &params) == 0
        && params.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t index = 0; index < params.data.via.map.size; index++) {
            msgpack_object *key = &params.data.via.map.ptr [index].key;
            msgpack_object *value = &params.data.via.map.ptr [index].val;
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 4
                && memcmp (key->via.str.ptr, "name", 4) == 0
                && value->type == MSGPACK_OBJECT_STR) {
                snprintf (name, sizeof name, "%.*s", (int) value->via.str.size,
                          value->via.str.ptr);
            }
        }
    }
    msgpack_unpacked_destroy (&params);
    if (!*name) {
        time_t now = time (NULL);
        struct tm utc;
        gmtime_r (&now, &utc);
        strftime (name, sizeof name, "write-%Y%m%dT%H%M%SZ", &utc);
    }
    if (roles && !zcq_auth_roles_allow (roles, ZCQ_ROLE_REPLICATE)) {
        zcq_msg_set_status (result, ZCQ_FORBIDDEN);
        zcq_msg_set_reason (result,
                            "key '%s' may not take a backup: it needs the replicate "
                            "role, its roles are '%s'",
                            zcq_msg_user (query), roles);
    }
    else if (!s_backup_name_ok (name)) {
        zcq_msg_set_status (result, ZCQ_INVALID);
        zcq_msg_set_reason (result,
                            "backup name '%s': use letters, digits, '.', '_' and '-' "
                            "(not first), at most 128",
                            name);
    }
    else if (self->backup) {
        zcq_msg_set_status (result, ZCQ_BUSY);
        zcq_msg_set_reason (result, "a backup is under way; ask again when it is done");
    }
    else {
        char *path = zsys_sprintf ("%s/%s", self->backups, name);
        zsys_dir_create ("%s", self->backups);
        s_backup_args_t args = {zcq_log_store (self->log), path};
        self->backup = zactor_new (s_backup_actor, &args);
        int rc = zcq_waiter_add (self->waiter, self->backup);
        assert (rc == 0); //  four sockets of ZCQ_WAITER_MAX, each with its ZMQ_FD
        (void) rc;
        zsys_info ("write node: backup to %s begun", path);
        zstr_free (&path);
        self->backup_result = result;
        return NULL;
    }
    return result;
}

//  The backup thread is done: answer the asker with where the backup is,
//  its head and the log's identity (or what failed).
static void
s_backup_done (self_t *self)
{
    int rc = -1;
    char *text = NULL;
    uint64_t head = 0;
    zsock_recv (self->backup, "is8", &rc, &text, &head);
    zcq_waiter_remove (self->waiter, self->backup);
    zactor_destroy (&self->backup);
    zcq_msg_t *result = self->backup_result;
    self->backup_result = NULL;
    if (rc == 0) {
        zsys_info ("write node: backup to %s done, at position %" PRIu64, text, head);
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 4);
        zcq_mpack_pack_str (&pk, "path");
        zcq_mpack_pack_str (&pk, text ? text : "");
        zcq_mpack_pack_str (&pk, "head");
        msgpack_pack_uint64 (&pk, head);
        zcq_mpack_pack_str (&pk, "cluster");
        zcq_mpack_pack_str (&pk, zcq_log_cluster (self->log));
        zcq_mpack_pack_str (&pk, "incarnation");
        zcq_mpack_pack_str (&pk, zcq_log_incarnation (self->log));
        zcq_msg_set_data (result, buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
        zcq_msg_set_position (result, head);
    }
    else {
        zsys_error ("write node: backup failed: %s", text ? text : "the thread said nothing");
        zcq_msg_set_status (result, ZCQ_UNAVAILABLE);
        zcq_msg_set_reason (result, "backup failed: %s", text ? text : "no reason");
    }
    zstr_free (&text);
    s_send (result, self->commands);
    zcq_msg_destroy (&result);
}

static void
s_handle_query (self_t *self, zcq_msg_t *query)
{
    if (streq (zcq_msg_name (query), "backup")) {
        zcq_msg_t *refusal = s_backup_start (self, query);
        if (refusal) {
            s_send (refusal, self->commands);
            zcq_msg_destroy (&refusal);
        }
        return;
    }
    zcq_msg_t *result = zcq_msg_reply_to (query, ZCQ_OK);
    if (!streq (zcq_msg_name (query), "status")) {
        zcq_msg_set_status (result, ZCQ_UNKNOWN_TYPE);
        zcq_msg_set_reason (result,
                            "the write node answers only the 'status' and 'backup' "
                            "queries, not '%s'",
                            zcq_msg_name (query));
    }
    else {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 29 + (self->member ? 10 : 1));
        zcq_mpack_pack_str (&pk, "role");
        zcq_mpack_pack_str (&pk, "write");
        zcq_mpack_pack_str (&pk, "domain");
        zcq_mpack_pack_str (&pk, self->domain->name);
        zcq_mpack_pack_str (&pk, "cluster");
        zcq_mpack_pack_str (&pk, zcq_log_cluster (self->log));
        zcq_mpack_pack_str (&pk, "incarnation");
        zcq_mpack_pack_str (&pk, zcq_log_incarnation (self->log));
        zcq_mpack_pack_str (&pk, "head");
        msgpack_pack_uint64 (&pk, zcq_log_head (self->log));
        zcq_mpack_pack_str (&pk, "durability");
        zcq_mpack_pack_str (&pk, self->sync ? "sync" : "async");
        zcq_mpack_pack_str (&pk, "cached_streams");
        msgpack_pack_uint64 (&pk, zcq_aggregates_size (self->cache));
        zcq_mpack_pack_str (&pk, "accepted");
        msgpack_pack_uint64 (&pk, self->accepted);
        zcq_mpack_pack_str (&pk, "rejected");
        msgpack_pack_uint64 (&pk, self->rejected);
        zcq_mpack_pack_str (&pk, "conflicts");
        msgpack_pack_uint64 (&pk, self->conflicts);
        zcq_mpack_pack_str (&pk, "invalid");
        msgpack_pack_uint64 (&pk, self->invalid);
        zcq_mpack_pack_str (&pk, "duplicates");
        msgpack_pack_uint64 (&pk, self->duplicates);
        zcq_mpack_pack_str (&pk, "write_failures");
        msgpack_pack_uint64 (&pk, self->failures);
        zcq_mpack_pack_str (&pk, "busy");
        msgpack_pack_uint64 (&pk, self->busy);
        zcq_mpack_pack_str (&pk, "groups");
        msgpack_pack_uint64 (&pk, zcq_histogram_count (self->group_sizes));
        zcq_mpack_pack_str (&pk, "grouped_commands");
        msgpack_pack_uint64 (&pk, zcq_histogram_sum (self->group_sizes));
        zcq_mpack_pack_str (&pk, "in_flight");
        msgpack_pack_uint64 (&pk, s_in_node (self));
        zcq_mpack_pack_str (&pk, "last_write_us");
        msgpack_pack_int64 (&pk, self->write_usecs);
        zcq_mpack_pack_str (&pk, "events_folded");
        msgpack_pack_uint64 (&pk, zcq_aggregates_folded (self->cache));
        zcq_mpack_pack_str (&pk, "snapshots");
        msgpack_pack_uint64 (&pk, zcq_aggregates_snapshots (self->cache));
        zcq_mpack_pack_str (&pk, "command_ids");
        msgpack_pack_uint64 (&pk, self->ids_kept);
        zcq_mpack_pack_str (&pk, "command_id_reads");
        msgpack_pack_uint64 (&pk, self->id_reads);
        zcq_mpack_pack_str (&pk, "group_max");
        msgpack_pack_uint64 (&pk, self->group_max);
        zcq_mpack_pack_str (&pk, "queued");
        msgpack_pack_uint64 (&pk, zlistx_size (self->queue));
        zcq_mpack_pack_str (&pk, "subscriptions");
        msgpack_pack_uint64 (&pk, self->subscriptions);
        zcq_mpack_pack_str (&pk, "unpublished");
        msgpack_pack_uint64 (&pk, self->unpublished);
        zcq_mpack_pack_str (&pk, "uptime_ms");
        msgpack_pack_int64 (&pk, zclock_mono () - self->started);
        zcq_mpack_pack_str (&pk, "ack_latency");
        zcq_histogram_pack (self->ack_latency, &pk);
        zcq_mpack_pack_str (&pk, "metrics");
        zcq_mpack_pack_str (&pk, zcq_metrics_url (self->metrics));
        s_pack_group (self, &pk);
        zcq_msg_set_data (result, buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
    }
    zcq_msg_set_position (result, zcq_log_head (self->log));
    s_send (result, self->commands);
    zcq_msg_destroy (&result);
}

//  --- Group commit -----------------------------------------------------------

static void s_release (self_t *self, s_pending_t *pending, bool stored);

//  Seal the staged group for writing if the writer takes one more and
//  there is one: a write group member hands it to its replica thread, a
//  single node writes it from the main loop (s_write_sealed). Replies that
//  need no write (repeats of commands of the groups in flight before) go
//  out at once when those are written.
//  A write group member proposes a group while another is in Raft only
//  once it holds write/raft_overlap commands. Every entry costs each
//  member the same whatever its size (a Raft append and its fsync, the
//  messages, an apply, a report and a wake-up), and a closed loop of
//  clients, whose commands come back one entry's replies at a time, kept
//  itself split into small entries: 7-11 commands each for 32 clients
//  with two entries in flight (groups of 16 on a single node). A smaller group waits at most for the entry
//  in Raft to commit; a single client's commands never wait.
static void
s_submit (self_t *self)
{
    if (self->flights == self->flight_max || self->staged.count == 0) {
        return;
    }
    bool empty = zcq_log_staged_size (self->log) == 0;
    if (empty && self->flights) {
        return; //  only repeats: answered once the groups before are written
    }
    if (self->member && self->flights && self->staged.count < self->overlap) {
        return; //  too few to overlap the group in Raft: it fills until that commits
    }
    s_pending_t *pending = &self->ring [(self->flight_head + self->flights) % FLIGHTS];
    s_pending_t swap = *pending;
    *pending = self->staged;
    self->staged = swap;
    self->staged.number = ++self->numbers;
    if (empty) {
        //  Only repeats of outcomes in the groups written before: nothing
        //  to write
        zcq_group_t *group = zcq_log_seal (self->log);
        zcq_log_sealed (self->log, group, true);
        zcq_log_recycle (self->log, &group);
        s_release (self, pending, true);
        return;
    }
    zcq_histogram_observe (self->group_sizes, pending->count);
    pending->group = zcq_log_seal (self->log);
    pending->submitted = zclock_usecs ();
    pending->lead = self->group.lead;
    pending->dropped = false;
    self->flights++;
    if (self->member) {
        zcq_log_carry_identity (self->log, pending->group);
        zcq_replica_submit (self->writer, pending->group, pending->lead);
    }
    if (self->await_write) {
        self->await_write = false;
        zsock_signal (self->pipe, 0);
    }
}

//  A write group member that does not lead answers not_leader, naming the
//  leader's commands endpoint when it knows one.
static void
s_refuse_not_leader (self_t *self, zcq_msg_t *command)
{
    zcq_msg_t *reply = zcq_msg_reply_to (command, ZCQ_NOT_LEADER);
    unsigned leader = self->group.leader;
    const char *endpoint = leader && leader <= self->members && self->endpoints [leader - 1]
                               ? self->endpoints [leader - 1]
                               : NULL;
    if (endpoint) {
        zcq_msg_set_leader (reply, endpoint);
        zcq_msg_set_reason (reply,
                            "member %u is a %s; the leader is member %u at %s; nothing was "
                            "stored, send the same command id there",
                            self->member, zcq_role_name (self->group.role), leader, endpoint);
    }
    else {
        zcq_msg_set_retry_after (reply, (uint32_t) self->election / 2);
        zcq_msg_set_reason (reply,
                            "member %u is a %s and knows no leader%s; nothing was stored, "
                            "retry with the same command id",
                            self->member, zcq_role_name (self->group.role),
                            leader ? " endpoint"
                                   : " (an election is under way, or this "
                                     "member is cut off from a majority)");
    }
    s_reply_now (self, &reply);
}

//  Take a received command in: decide it now if the staged group has room
//  and nothing waits before it, else queue it. Answer "busy" instead when
//  this client already has its share in the node, or the queue is full: the
//  client retries after the hint; nothing is kept. Returns true if the
//  command was queued (the queue owns it now).
static bool
s_admit (self_t *self, zcq_msg_t *command)
{
    if (!self->leading) {
        s_refuse_not_leader (self, command);
        return false;
    }
    bool room = self->staged.count < self->group_max && zlistx_size (self->queue) == 0;
    const char *why = NULL;
    s_peer_t *peer = s_peer (self, command, true);
    if (peer && peer->waiting >= self->client_max) {
        why = "this connection has too many commands waiting";
    }
    else if (!room && zlistx_size (self->queue) >= self->queue_max) {
        why = "the write node is saturated";
    }
    if (why) {
        zcq_msg_t *reply = zcq_msg_reply_to (command, ZCQ_BUSY);
        uint32_t hint = s_retry_after (self);
        zcq_msg_set_reason (reply,
                            "%s (%zu commands in the node); nothing was stored, retry with "
                            "the same command id after %u ms",
                            why, zlistx_size (self->queue) + s_in_node (self), hint);
        zcq_msg_set_retry_after (reply, hint);
        zcq_metrics_add (&self->busy, 1);
        s_reply_now (self, &reply);
        return false;
    }
    if (room) {
        s_handle_command (self, command, peer);
        return false;
    }
    zlistx_add_end (self->queue, command);
    if (peer) {
        peer->waiting++;
    }
    return true;
}

//  Decide queued commands into the staged group while it has room.
static void
s_drain_queue (self_t *self)
{
    while (zlistx_size (self->queue) && self->staged.count < self->group_max) {
        zcq_msg_t *command = (zcq_msg_t *) zlistx_detach (self->queue, NULL);
        //  Decided before it is counted out of the queue: its peer, still
        //  counting it, is not forgotten in between
        s_peer_t *peer = s_peer (self, command, false);
        if (self->leading) {
            s_handle_command (self, command, peer);
        }
        else {
            s_refuse_not_leader (self, command); //  a write group member that lost the lead
        }
        s_peer_done (peer);
        zcq_msg_destroy (&command);
    }
}

//  Hand the staged group over when the writer takes one, then refill it
//  from the queue (and hand that over too if the writer takes one more).
static void
s_advance (self_t *self)
{
    s_submit (self);
    s_drain_queue (self);
    s_submit (self);
}

//  Send the replies of one pending group (as unavailable if not stored)
//  and forget their ids: from now on they are found on disk, or nowhere.
//  Each reply's bytes were encoded when it was decided; a refused group's
//  are encoded anew, as unavailable.
static void
s_release (self_t *self, s_pending_t *pending, bool stored)
{
    zcq_msg_t *refusal = stored ? NULL : zcq_msg_new (ZCQ_MSG_REPLY);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    if (refusal) {
        zcq_msg_set_status (refusal, ZCQ_UNAVAILABLE);
        zcq_msg_set_reason (
            refusal, self->member ? "leadership lost before this command was committed; it "
                                    "may or may not take effect: retry with the same command id"
                                  : "storage write failed; nothing was stored, retry with "
                                    "the same command id");
        zcq_msg_set_retry_after (refusal, s_retry_after (self));
    }
    int64_t now = zclock_usecs ();
    for (size_t index = 0; index < pending->count; index++) {
        s_reply_t *reply = &pending->replies [index];
        if (stored) {
            int64_t waited = now - reply->received;
            zcq_histogram_observe (self->ack_latency, waited > 0 ? (uint64_t) waited : 0);
        }
        const char *body = pending->bodies.data + reply->body;
        size_t size = reply->size;
        if (refusal) {
            zcq_msg_set_id (refusal, reply->id, ZCQ_COMMAND_ID);
            buffer.size = 0;
            int rc = zcq_msg_encode_body (refusal, &buffer);
            assert (rc == 0); //  our own fixed reply always encodes
            (void) rc;
            body = buffer.data;
            size = buffer.size;
        }
        if (zcq_msg_send_reply_body (self->commands, reply->peer ? reply->peer->id : NULL,
                                     reply->peer ? reply->peer->size : 0, reply->delimiter,
                                     body, size)
            != 0) {
            zsys_warning ("write node: could not deliver REPLY (%s): peer gone or its queue "
                          "is full",
                          zmq_strerror (zmq_errno ()));
        }
        s_peer_done (reply->peer);
    }
    pending->count = 0;
    pending->bodies.size = 0;
    pending->sealed = false;
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_destroy (&refusal);
}

//  Hide the events of the streams whose tombstones are written now (every
//  earlier group is, and no later one holds an event of theirs). A failure
//  leaves it to the next start (zcq_log_hide_pending).
static void
s_hide_written (self_t *self)
{
    zcq_msg_t *tombstone = (zcq_msg_t *) zlistx_first (self->hides);
    while (tombstone && zcq_msg_position (tombstone) <= zcq_log_head (self->log)) {
        zcq_log_hide_stream (self->log, zcq_msg_stream (tombstone),
                             zcq_msg_position (tombstone));
        zlistx_delete (self->hides, zlistx_cursor (self->hides));
        tombstone = (zcq_msg_t *) zlistx_first (self->hides);
    }
}

//  Destroy the keys of the streams forgotten in the groups written.
static void
s_forget_written (self_t *self)
{
    zcq_msg_t *forgotten = (zcq_msg_t *) zlistx_first (self->forgets);
    while (forgotten && zcq_msg_position (forgotten) <= zcq_log_head (self->log)) {
        zcq_log_forget_key (self->log, zcq_msg_stream (forgotten),
                            zcq_msg_position (forgotten));
        zcq_aggregates_forgotten (self->cache, zcq_msg_stream (forgotten));
        zlistx_delete (self->forgets, zlistx_cursor (self->forgets));
        forgotten = (zcq_msg_t *) zlistx_first (self->forgets);
    }
}

//  Answer every group in flight, and the staged group, as unavailable:
//  they were decided on top of a group that failed, or in a lead that
//  ended. Their returns are only freed.
static void
s_drop_flights (self_t *self)
{
    for (size_t index = 0; index < self->flights; index++) {
        s_pending_t *pending = &self->ring [(self->flight_head + index) % FLIGHTS];
        if (!pending->dropped) {
            s_release (self, pending, false);
            pending->dropped = true;
        }
    }
    s_release (self, &self->staged, false);
}

//  Take what the events XPUB heard from its subscribers, and say whether
//  anything is subscribed: a non-verbose XPUB hands up 1 and a prefix when
//  the prefix gets its first subscriber, 0 and the prefix when its last
//  one unsubscribes or goes. A prefix longer than the buffer is counted
//  under its first bytes (its end comes under the same key); an end of a
//  prefix not subscribed (a peer that is not a libzmq SUB) is ignored.
//  What nobody subscribes to is not published: an XPUB would drop it, and
//  a subscriber that comes later gets the events from then on and repairs
//  the earlier ones by REPLAY, as after any late join (the heartbeats say
//  the head). When nothing came, this is one system call (a poll of the
//  socket's mailbox, well under a microsecond).
static bool
s_subscribed (self_t *self)
{
    void *handle = zsock_resolve (self->events);
    byte message [1 + ZCQ_MAX_TOPIC];
    int size;
    while ((size = zmq_recv (handle, message, sizeof (message), ZMQ_DONTWAIT)) >= 0) {
        size_t length = (size_t) size < sizeof (message) ? (size_t) size : sizeof (message);
        if (length == 0 || message [0] > 1) {
            continue; //  not a subscription (none other is handed up)
        }
        char key [2 * ZCQ_MAX_TOPIC + 2] = "p"; //  "" is a prefix too
        for (size_t index = 1; index < length; index++) {
            snprintf (key + 2 * index - 1, 3, "%02x", message [index]);
        }
        uintptr_t count = (uintptr_t) zhashx_lookup (self->subscribed, key);
        if (message [0] == 1) {
            zhashx_update (self->subscribed, key, (void *) (count + 1));
            self->subscriptions++;
        }
        else if (count) {
            if (count > 1) {
                zhashx_update (self->subscribed, key, (void *) (count - 1));
            }
            else {
                zhashx_delete (self->subscribed, key);
            }
            self->subscriptions--;
        }
    }
    zcq_metrics_set (&self->subscriptions, self->subscriptions);
    return self->subscriptions > 0;
}

//  The writer finished the oldest group in flight: reply to its commands,
//  then publish its events (never acknowledge before the disk has it,
//  never publish what might not be stored); on failure refuse it and the
//  groups decided after it too.
static void
s_written (self_t *self, zcq_group_t *group, bool stored, uint64_t ids_kept, uint64_t oldest)
{
    zcq_ids_forget_below (self->known, oldest);
    assert (self->flights);
    s_pending_t *pending = &self->ring [self->flight_head];
    assert (group == pending->group);
    pending->group = NULL;
    self->flight_head = (self->flight_head + 1) % FLIGHTS;
    self->flights--;
    if (pending->dropped) {
        //  Answered already; what became of it is in the store
        zcq_log_recycle (self->log, &group);
        s_advance (self);
        return;
    }
    self->write_usecs = zclock_usecs () - pending->submitted;
    zcq_histogram_observe (self->write_latency, (uint64_t) self->write_usecs);
    self->ids_kept = ids_kept;
    zcq_log_sealed (self->log, group, stored);
    if (stored) {
        zcq_metrics_set (&self->head, zcq_log_head (self->log));
        //  Only a group with sealed fields has events to open (a scan of
        //  every body's bytes otherwise)
        bool sealed = pending->sealed;
        s_release (self, pending, true);
        s_hide_written (self);
        s_forget_written (self);
        size_t count = zcq_group_count (group);
        //  Nobody subscribes: the XPUB would drop every publication
        bool publish = s_subscribed (self);
        if (!publish) {
            zcq_metrics_add (&self->unpublished, count);
        }
        for (size_t index = 0; publish && index < count; index++) {
            size_t size;
            const byte *body = zcq_group_body (group, index, &size);
            if (self->drop_every && (self->published + index + 1) % self->drop_every == 0) {
                continue; //  test seam: a lost publication, repaired by replay
            }
            size_t topic_size;
            const byte *topic = zcq_group_topic (group, index, &topic_size);
            //  Published with the personal fields opened (section 10.14): the
            //  PUB admits the replicate role only
            if (sealed
                && zcq_log_open_event (zcq_log_keys (self->log), body, size, &self->sealed)
                       == 1) {
                body = (const byte *) self->sealed.data;
                size = self->sealed.size;
            }
            zcq_msg_send_event_body (self->events, topic, topic_size, body, size);
        }
        zcq_metrics_add (&self->published, publish ? count : 0);
    }
    else {
        zcq_metrics_add (&self->failures, 1);
        zsys_error ("write node: group of %zu commands not stored; it and the %zu commands "
                    "decided after it are refused as unavailable",
                    pending->count, s_in_node (self));
        s_release (self, pending, false);
        s_drop_flights (self);
        //  A write group member leads again only in a new lead, from what
        //  is committed (s_take_lead)
        self->leading = self->member ? false : self->leading;
        zcq_aggregates_purge (self->cache);
        zlistx_purge (self->hides); //  their tombstones were refused with the rest
        zlistx_purge (self->forgets);
    }
    zcq_log_recycle (self->log, &group);
    s_advance (self);
}

static void s_take_commands (self_t *self);

//  Single node: write the sealed groups here, one batch each, replying and
//  publishing after each (s_written may seal the next, from the queue).
//  Only then are the command ids the retention limits name forgotten: a
//  reply does not wait for that. Before the next group from the queue is
//  written, what came meanwhile is taken in (or answered busy) at once.
static void
s_write_sealed (self_t *self)
{
    while (self->flights && !self->member) {
        zcq_group_t *group = self->ring [self->flight_head].group;
        bool stored = zcq_writer_write (self->group_writer, group) == 0;
        uint64_t sequence = stored ? zcq_group_sequence (group) : 0;
        s_written (self, group, stored, self->ids_kept, 0);
        uint64_t oldest = 0;
        self->ids_kept = zcq_writer_retain (self->group_writer, sequence, &oldest);
        zcq_ids_forget_below (self->known, oldest);
        if (self->flights) {
            s_take_commands (self);
        }
    }
}

//  --- Write group --------------------------------------------------------------

static int
s_publish_stored (const byte *body, size_t size, void *arg)
{
    self_t *self = (self_t *) arg;
    //  Under the topic the leader published it under (from its stream and
    //  type, read from the body without decoding it whole), with its
    //  personal fields opened as the leader sends them
    byte topic [ZCQ_MAX_TOPIC];
    size_t topic_size = zcq_msg_event_topic (body, size, topic);
    if (topic_size == 0) {
        zsys_error ("write node: stored event of %zu bytes has no stream or type it could be "
                    "published under; not published",
                    size);
        return 0;
    }
    if (self->personal
        && zcq_log_open_event (zcq_log_keys (self->log), body, size, &self->sealed) == 1) {
        body = (const byte *) self->sealed.data;
        size = self->sealed.size;
    }
    zcq_msg_send_event_body (self->events, topic, topic_size, body, size);
    zcq_metrics_add (&self->published, 1);
    return 0;
}

//  A group another member proposed is in the store: take the new head and
//  publish its events, as the leader did, from one view of the store.
//  When nothing subscribes, the events are not even read: only the head
//  is (the heartbeats say it), and a subscriber that comes replays them.
static void
s_follow (self_t *self)
{
    if (self->flights) {
        return; //  our own groups come back first; the store is read then
    }
    uint64_t before = zcq_log_head (self->log);
    bool publish = s_subscribed (self);
    //  (the command-id sequence is read again when this member takes the
    //  lead: s_take_lead reloads the log)
    if ((publish ? zcq_log_follow_store (self->log, s_publish_stored, self)
                 : zcq_log_follow_head (self->log))
        < 0) {
        return;
    }
    if (!publish && zcq_log_head (self->log) > before) {
        zcq_metrics_add (&self->unpublished, zcq_log_head (self->log) - before);
    }
    zcq_metrics_set (&self->head, zcq_log_head (self->log));
    //  A deleted stream's events are hidden on every member, as the leader
    //  hides them: the same rewrite of the same records, so the same bytes.
    //  Looked for when a group applied brought a "d:" record (or one may
    //  wait: see s_handle_replica), and again until the work is done
    if (self->follow_hides) {
        self->follow_hides = zcq_log_hide_pending (self->log) != 0;
    }
    //  And a forgotten stream's key is destroyed on every member: the group
    //  brought its "f:" mark, not the key's deletion (the leader deletes the
    //  key once the group is durable)
    if (self->follow_forgets) {
        self->follow_forgets = zcq_log_forget_pending (self->log) != 0;
    }
}

//  This member now leads, with every earlier entry in its store: rebuild
//  what deciding needs from the store (it followed until now). Groups
//  still in flight from a lead before are refused by the replica, and
//  what is staged was decided with them: answered unavailable now.
static int
s_take_lead (self_t *self)
{
    s_drop_flights (self);
    zlistx_purge (self->hides);
    zlistx_purge (self->forgets);
    zcq_ids_t *known = zcq_ids_new (self->ids_capacity);
    if (!known || zcq_log_reload (self->log) != 0
        || zcq_log_visit_ids (self->log, s_know_id, known) != 0) {
        zcq_ids_destroy (&known);
        zsys_error ("write group member %u: cannot rebuild its state from the store; it "
                    "does not take commands",
                    self->member);
        return -1;
    }
    zcq_ids_destroy (&self->known);
    self->known = known;
    zcq_aggregates_purge (self->cache);
    zcq_metrics_set (&self->head, zcq_log_head (self->log));
    return 0;
}

//  Act on a report other than APPLIED (see s_handle_replica).
static void
s_handle_report (self_t *self, zcq_replica_report_t report)
{
    if (report.what == ZCQ_REPLICA_WRITTEN) {
        //  (a leader's progress alone comes in a ROLE report only every
        //  50 ms: its last group applied comes with each group back)
        self->group.applied = report.applied;
        s_written (self, report.group, report.rc == 0, 0, 0);
        if (!self->leading) {
            //  The store may have moved on meanwhile, and a lead just
            //  lost may have left deletes and forgets undone: look
            self->follow_hides = self->follow_forgets = true;
            s_follow (self);
        }
    }
    else if (report.role == ZCQ_ROLE_FAILED) {
        //  The store refused a committed entry (logged by the replica):
        //  the node reads no more commands and stops (exit code 1)
        self->group = report;
        self->leading = false;
        zcq_waiter_remove (self->waiter, self->commands);
        zcq_waiter_remove (self->waiter, self->writer);
        zstr_sendf (self->pipe,
                    "write group member %u: its store refused committed group %" PRIu64
                    " (see the log)",
                    self->member, report.applied + 1);
    }
    else {
        bool was = self->leading;
        bool term = report.term != self->group.term;
        bool lead = report.role == ZCQ_ROLE_LEADER;
        bool anew = report.lead != self->group.lead;
        self->group = report;
        //  Leading anew (or in a new lead), the store has what others wrote
        self->leading = lead && (!was || anew) ? s_take_lead (self) == 0 : lead && was;
        if (was && !self->leading) {
            self->follow_hides = self->follow_forgets = true; //  a lead's undone work
        }
        if (was != self->leading || term) {
            zsys_info ("write group member %u: %s in term %" PRIu64 ", leader %u", self->member,
                       zcq_role_name (report.role), report.term, report.leader);
        }
    }
}

//  Take the replica's reports: the one the wait announced and those queued
//  behind it (up to REPORTS_MOST). Groups other members proposed (APPLIED)
//  are followed once for a run of them: one read of the store for the
//  run, not one a group (a follower behind by a few groups reads them at
//  once). Any other report is acted on in order, after the groups applied
//  before it are followed.
static void
s_handle_replica (self_t *self)
{
    zcq_replica_report_t report;
    bool follow = false; //  APPLIED reports not followed yet
    int rc = zcq_replica_recv (self->writer, &report);
    for (size_t count = 1; rc == 0; count++) {
        if (report.what == ZCQ_REPLICA_APPLIED) {
            self->group.applied = report.applied;
            self->follow_hides |= report.hides;
            self->follow_forgets |= report.forgets;
            follow = true;
        }
        else {
            if (follow) {
                s_follow (self);
                follow = false;
            }
            s_handle_report (self, report);
            if (report.what == ZCQ_REPLICA_ROLE && report.role == ZCQ_ROLE_FAILED) {
                break; //  the node stops: it reads no more
            }
        }
        rc = count < REPORTS_MOST ? zcq_replica_recv_nowait (self->writer, &report) : -1;
    }
    if (follow) {
        s_follow (self);
    }
}

//  Take in what waits on the command socket. A single node takes in whole
//  what came while it wrote: a group's worth decided, a queue's worth
//  queued, the rest answered busy (as when the write was on a thread of its
//  own), so that the ZeroMQ queues never stand in for the node's bounded
//  ones; at most a connection's queue more is read, to answer it busy,
//  before the loop looks at its pipe again. A write group member, whose
//  replica writes meanwhile, reads up to a group's worth at a time.
static void
s_take_commands (self_t *self)
{
    size_t most = self->member ? self->group_max : self->group_max + self->queue_max + RECV_HWM;
    for (size_t count = 0; count < most; count++) {
        //  What is queued, without asking for the socket's events first
        //  (that was a system-call-free but costly look per command)
        zcq_msg_t *msg = zcq_msg_recv_typed (self->commands, ZMQ_ROUTER, self->recv_flags);
        if (!msg) {
            break;
        }
        zcq_msg_set_time (msg, zclock_usecs ()); //  received: its ack latency starts
        if (zcq_endpoint_refuse (msg, self->commands, "command",
                                 ZCQ_ENDPOINT_TAKES (ZCQ_MSG_COMMAND)
                                     | ZCQ_ENDPOINT_TAKES (ZCQ_MSG_QUERY))) {
            zcq_metrics_add (&self->invalid, 1);
        }
        else if (zcq_msg_type (msg) == ZCQ_MSG_COMMAND) {
            if (s_admit (self, msg)) {
                continue; //  queued: the queue owns it
            }
        }
        else {
            s_handle_query (self, msg);
        }
        zcq_msg_destroy (&msg);
    }
}

//  Commands are waiting: take them in, then seal the staged group for
//  writing.
static void
s_handle_commands (self_t *self)
{
    s_take_commands (self);
    s_advance (self);
}

static void
s_heartbeat (self_t *self)
{
    zcq_msg_t *heartbeat = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
    zcq_msg_set_head (heartbeat, zcq_log_head (self->log));
    zcq_msg_set_time (heartbeat, zcq_event_now ());
    zcq_msg_set_interval (heartbeat, (uint32_t) self->heartbeat);
    zcq_msg_set_origin (heartbeat, zcq_log_cluster (self->log), zcq_log_incarnation (self->log),
                        self->domain->name);
    zcq_msg_send (heartbeat, self->events);
    zcq_msg_destroy (&heartbeat);
    //  Subscriptions and their ends, which an XPUB hands up, read also when
    //  no event comes
    s_subscribed (self);
    s_peers_forget (self);
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
    else if (streq (command, "DELAY-WRITES") && argument) {
        //  Test seam: every write waits N ms, as a slow disk would
        zcq_store_delay_writes (zcq_log_store (self->log), atoi (argument));
        zsock_signal (self->pipe, 0);
    }
    else if (streq (command, "AWAIT-WRITE")) {
        //  Test seam: signal now, and again when the next group is sealed
        //  for writing (just before its write begins)
        self->await_write = true;
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
    char *commands = zcq_endpoint_resolved (self->commands);
    char *events = zcq_endpoint_resolved (self->events);
    const char *metrics = zcq_metrics_url (self->metrics);
    char *summary =
        zsys_sprintf ("commands=%s events=%s replay=%s head=%" PRIu64 " domain=%s%s%s",
                      commands, events, self->replay_endpoint, zcq_log_head (self->log),
                      self->domain->name, *metrics ? " metrics=" : "", metrics);
    zsys_info ("write node serving: %s", summary);
    zcq_node_ready (pipe, summary);
    zstr_free (&summary);
    zstr_free (&commands);
    zstr_free (&events);

    while (!self->terminated) {
        int64_t wait = self->next_heartbeat - zclock_mono ();
        void *which = zcq_waiter_wait (self->waiter, wait > 0 ? (int) wait : 0);
        if (which == self->pipe) {
            s_handle_pipe (self);
        }
        else if (self->writer && which == self->writer) {
            s_handle_replica (self);
        }
        else if (which == self->commands) {
            s_handle_commands (self);
        }
        else if (self->backup && which == self->backup) {
            s_backup_done (self);
        }
        s_write_sealed (self);
        //  Replies may have gone out on the commands socket: a send may
        //  take in what its fd announced (the socket read was marked by the
        //  wait itself). A write group's replica also reports on its own,
        //  at any time
        zcq_waiter_touched (self->waiter, self->commands);
        if (self->member) {
            zcq_waiter_touched (self->waiter, self->writer);
        }
        if (zclock_mono () >= self->next_heartbeat) {
            s_heartbeat (self);
        }
    }
    //  A single node wrote every group it sealed before it looked at the
    //  pipe again; a write group member does not wait for the group its
    //  replica has: without a majority it may never commit, and an
    //  unanswered command is retried
    s_self_destroy (&self);
}
