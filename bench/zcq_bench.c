/*  =========================================================================
    zcq_bench - `make bench`: the figures of zcqrs on this machine

        zcq_bench [--quick] [--build DIR] [--out DIR] [--command TEXT]
                  [--only NAME,...] [--pace N]

    Starts its own clusters (a write node and two query nodes from DIR, on
    free loopback ports, data in fresh temporary folders), runs every
    scenario after a warm-up for a bounded window, three times, and prints
    a table of medians with min-max next to the targets of the issues (met
    or not: a benchmark never fails a test). Writes DIR/bench/results.json
    and DIR/bench/chart.svg (or under --out).

    Scenarios: the machine's limits (fsync, ZeroMQ echo); closed loop of 1,
    8, 32, 64 clients on 1,000 accounts with expected versions; pipelined
    4 x 256 in flight; pipelined 1, 8, 64 clients x 8 in flight in sync and
    async durability and with groups of one command; half of the peak load,
    paced over 16 clients, with an end-to-end probe (accepted -> visible on
    every query node), alone and while 8 clients query the query nodes as
    fast as they answer;
    `account` queries with 8 clients; catch-up of a fresh query node; write
    node restart; peak RSS and CPU milliseconds per 1,000 commands of each
    node and of the clients; a soak of 10 M commands (1 M with --quick) with
    the write node's RSS at a tenth of it and at the end.

    A write group of 3 (issue 15) beside the single node: closed loop of 1
    and 32 clients, 64 x 8 pipelined, the failover time over several kills
    of the leader, and the ratios to the single node's figures of the run.

    The read side, once per read-model backend (leveldb, memory), on a
    write node + 4 query nodes: query-node CPU per 1,000 events while the
    log fills, `account` queries on one node and spread over 1, 2, 4 nodes,
    one node under a full query load while writes go on (queries/s,
    writes/s and its lag at once), catch-up of a fresh node over the log.

    --only runs some of them (names: closed, pipelined, eight, half,
    queries, log, async, group1, reads, replicated, soak; one: the closed
    loop of 1 client alone, against the machine's limits of the same run),
    e.g. --only closed,soak, so that one figure can be measured again in a
    few seconds. --pace N runs the half load at N commands/s instead of
    half the peak (with --only half, no closed loop runs first), so that
    two builds can be compared at the same load.
    =========================================================================
*/

#include "zcq_bench_cluster.h"
#include "zcq_bench_load.h"
#include "zcq_bench_raw.h"
#include "zcq_bench_report.h"
#include "zcq_bench_run.h"
#include "zcq_bench_zcqrs.h"

#include "zcqrs.h"

#include <signal.h>
#include <sys/resource.h>

#define ACCOUNTS 1000 //  bank accounts every command workload spreads over
//  Clients that share the half load's pace: the fewest that kept it here.
//  8 of them, each near its closed-loop rate, delivered 9,844-10,035 of a
//  14,000/s pace; 16 and 32 kept it, and 32 threads of ours took the CPU
//  the probe's nodes needed (visible p99 2.0-2.6 ms against 1.2-1.5)
#define PACED       16
#define S_TEXT(n)   #n
#define S_NUMBER(n) S_TEXT (n)
#define PACED_NAME  S_NUMBER (PACED) " paced clients, ack"
//  Every process whose CPU a window reads: the write side's (one write
//  node, or each member of a write group), the query nodes, this one
#define USERS (ZCQ_BENCH_MAX_MEMBERS + ZCQ_BENCH_MAX_QUERY + 1)

typedef struct {
    const char *build;            //  folder of the node programs
    bool quick;                   //  the one-minute version
    const char *only;             //  comma-separated scenarios to run, or NULL: all
    double pace;                  //  --pace: the half load's commands/s, or 0: half the peak
    const char *storage;          //  query nodes' read-model backend (NULL: default)
    int runs;                     //  repetitions of each scenario
    int warmup_ms, measure_ms;    //  each repetition
    uint64_t log_events;          //  events for catch-up and restart
    zcq_bench_report_t *report;   //  every figure
    zcq_bench_cluster_t *cluster; //  the cluster being measured
    uint64_t versions [ACCOUNTS]; //  each account's version in that cluster
    double fsync_ms, echo_rtt_ms; //  machine limits (medians)
    zcq_bench_figure_t *echo;     //  ZeroMQ echo, 100 in flight
    //  Measured at the window's edges
    double cpu_open [USERS];            //  CPU seconds of each user (s_user) at opening
    double cpu_used [USERS];            //  CPU seconds used in windows, summed
    double sleeps_open [USERS];         //  each user's sleeps (voluntary context
                                        //  switches, all threads) at opening
    double sleeps_used [USERS];         //  sleeps in windows, summed
    uint64_t commands;                  //  commands completed in those windows
    uint64_t grouped_open, groups_open; //  write node counters at opening
    double group_size;                  //  commands per group in the last window, -1: unknown
} s_bench_t;

//  True if scenario `name` is to run (see --only)
static bool
s_wanted (s_bench_t *self, const char *name)
{
    if (!self->only) {
        return true;
    }
    size_t length = strlen (name);
    for (const char *at = self->only; at && *at;
         at = strchr (at, ',') ? strchr (at, ',') + 1 : NULL) {
        if (strncmp (at, name, length) == 0 && (at [length] == ',' || at [length] == 0)) {
            return true;
        }
    }
    return false;
}

//  What one of the cluster's CPU users is (s_user)
typedef enum {
    S_PAST,     //  no such user
    S_WRITER,   //  the write node, or the write group's leader
    S_FOLLOWER, //  a write group's other member
    S_QUERY,    //  a query node
    S_CLIENTS   //  this process: the benchmark's clients
} s_user_t;

//  The cluster's CPU user number index: first the write side (the write
//  node, or each member of a write group in member order), then each query
//  node, then this process. Sets *proc (NULL for this process, or a member
//  that is down) and, when name is given, the user's label. The leader is
//  the one last seen, so the set is stable as long as no failover ran.
static s_user_t
s_user (s_bench_t *self, int index, zcq_bench_proc_t **proc, char *name, size_t size)
{
    int members = zcq_bench_cluster_members (self->cluster);
    int writers = members ? members : 1;
    int queries = zcq_bench_cluster_query_nodes (self->cluster);
    *proc = NULL;
    s_user_t user = S_PAST;
    if (index < writers && members) {
        *proc = zcq_bench_cluster_member_proc (self->cluster, index);
        user = index == zcq_bench_cluster_leader (self->cluster) ? S_WRITER : S_FOLLOWER;
        if (name) {
            snprintf (name, size, "write group member %d (%s)", index + 1,
                      user == S_WRITER ? "leader" : "follower");
        }
    }
    else if (index < writers) {
        *proc = zcq_bench_cluster_write_proc (self->cluster);
        user = S_WRITER;
        if (name) {
            snprintf (name, size, "write node");
        }
    }
    else if (index < writers + queries) {
        *proc = zcq_bench_cluster_query_proc (self->cluster, index - writers);
        user = S_QUERY;
        if (name) {
            snprintf (name, size, "query node %d", index - writers + 1);
        }
    }
    else if (index == writers + queries) {
        user = S_CLIENTS;
        if (name) {
            snprintf (name, size, "benchmark clients (one process)");
        }
    }
    return user;
}

//  Window edges: read every node's CPU and the write node's group counters
static void
s_window (void *arg, bool opening)
{
    s_bench_t *self = (s_bench_t *) arg;
    const char *commands = zcq_bench_cluster_commands (self->cluster);
    uint64_t grouped = 0, groups = 0;
    bool counted = zcq_bench_cluster_status (commands, true, "grouped_commands", &grouped) == 0
                   && zcq_bench_cluster_status (commands, true, "groups", &groups) == 0;
    zcq_bench_proc_t *proc;
    s_user_t user;
    for (int index = 0; (user = s_user (self, index, &proc, NULL, 0)) != S_PAST; index++) {
        double cpu = user == S_CLIENTS ? zcq_bench_own_cpu () : zcq_bench_proc_cpu (proc);
        double sleeps =
            user == S_CLIENTS ? zcq_bench_own_sleeps () : zcq_bench_proc_sleeps (proc);
        if (opening) {
            self->cpu_open [index] = cpu;
            self->sleeps_open [index] = sleeps;
        }
        else {
            if (cpu >= 0) {
                self->cpu_used [index] += cpu - self->cpu_open [index];
            }
            self->sleeps_used [index] += sleeps >= 0 && self->sleeps_open [index] >= 0
                                             ? sleeps - self->sleeps_open [index]
                                             : 0;
        }
    }
    if (opening) {
        self->grouped_open = grouped;
        self->groups_open = counted ? groups : 0;
        self->group_size = -1;
    }
    else if (counted && groups > self->groups_open) {
        self->group_size =
            (double) (grouped - self->grouped_open) / (double) (groups - self->groups_open);
    }
}

//  Record a load's rate and latency percentiles as figures of scenario/name.
static void
s_record (s_bench_t *self, zcq_bench_load_t *load, const char *scenario, const char *name,
          const char *what)
{
    zcq_bench_report_t *report = self->report;
    zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, what, "/s"),
                          zcq_bench_load_rate (load));
    zcq_bench_latency_t *latency = zcq_bench_load_latency (load);
    zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p50", "ms"),
                          zcq_bench_latency_ms (latency, 50));
    zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p99", "ms"),
                          zcq_bench_latency_ms (latency, 99));
    zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p99.9", "ms"),
                          zcq_bench_latency_ms (latency, 99.9));
    uint64_t conflicts = zcq_bench_load_count (load, ZCQ_BENCH_CONFLICT),
             refused = zcq_bench_load_count (load, ZCQ_BENCH_REFUSED);
    if (conflicts || refused) {
        zcq_bench_figure_note (zcq_bench_report_find (report, scenario, name, what),
                               "last run: %" PRIu64 " conflicts, %" PRIu64 " refused",
                               conflicts, refused);
    }
    self->commands += zcq_bench_load_count (load, ZCQ_BENCH_DONE);
}

//  Run a load once per repetition, recording figures; false on a failure.
static bool
s_repeat (s_bench_t *self, int workers, zcq_bench_work_fn *work, void *arg,
          const char *scenario, const char *name, const char *what, bool groups)
{
    printf ("  %s, %s ...", scenario, name);
    fflush (stdout);
    for (int run = 0; run < self->runs; run++) {
        zcq_bench_load_t *load = zcq_bench_load_new (workers, work, arg);
        zcq_bench_load_set_window (load, s_window, self);
        int rc = zcq_bench_load_run (load, self->warmup_ms, self->measure_ms);
        if (rc == 0) {
            s_record (self, load, scenario, name, what);
            if (groups) {
                zcq_bench_figure_t *size = zcq_bench_report_figure (
                    self->report, scenario, name, "group size", "commands");
                zcq_bench_figure_add (size, self->group_size);
                if (self->group_size < 0) {
                    zcq_bench_figure_note (size, "the write node's status has no 'groups' "
                                                 "and 'grouped_commands' counters");
                }
            }
            printf (" %.0f", zcq_bench_load_rate (load));
            fflush (stdout);
        }
        zcq_bench_load_destroy (&load);
        if (rc != 0) {
            printf (" failed\n");
            return false;
        }
    }
    printf (" %s\n", what);
    return true;
}

static void s_node_usage (s_bench_t *self, const char *scenario, bool rss);

//  s_repeat, also saying under `usage` what this load alone cost each
//  process of the cluster (CPU per 1,000 of its commands) and the write
//  node's (the leader's) commands per group: the figures over all the
//  command scenarios of a cluster are mostly the pipelined loads'. Those
//  sums go on counting this load.
static bool
s_repeat_usage (s_bench_t *self, int workers, zcq_bench_work_fn *work, void *arg,
                const char *scenario, const char *name, const char *usage)
{
    double before [USERS];
    memcpy (before, self->cpu_used, sizeof (before));
    uint64_t commands = self->commands;
    memset (self->cpu_used, 0, sizeof (self->cpu_used));
    self->commands = 0;
    bool ok = s_repeat (self, workers, work, arg, scenario, name, "commands/s", true);
    if (ok) {
        s_node_usage (self, usage, false);
    }
    for (int index = 0; index < USERS; index++) {
        self->cpu_used [index] += before [index];
    }
    self->commands += commands;
    return ok;
}

//  Start a cluster (members > 1: a write group) and open the accounts;
//  false on failure.
static bool
s_cluster_start (s_bench_t *self, const char *durability, int group, int query_nodes,
                 int members)
{
    zcq_bench_cluster_config_t config = {self->build, "bank", durability, group,  query_nodes,
                                         NULL,        NULL,   NULL,       members};
    self->cluster = zcq_bench_cluster_new (&config, 20000);
    memset (self->versions, 0, sizeof (self->versions));
    memset (self->cpu_used, 0, sizeof (self->cpu_used));
    memset (self->sleeps_used, 0, sizeof (self->sleeps_used));
    self->commands = 0;
    return self->cluster
           && zcq_bench_setup_streams (&zcq_bench_bank_driver,
                                       (void *) zcq_bench_cluster_commands (self->cluster),
                                       ACCOUNTS, 8, self->versions)
                  == 0;
}

static bool
s_cluster_up (s_bench_t *self, const char *durability, int group, int query_nodes)
{
    return s_cluster_start (self, durability, group, query_nodes, 0);
}

//  What one client's closed loop cost each process in sleeps per command
//  (since sleeps_before, over `commands`): every thread hand-off on a
//  command's path is a sleep and a wake-up (about 10-30 us each on a
//  2-core VM), so these counts tell a new hop on the latency path from
//  the noise of the wall clock. The write node's include the fdatasync's
//  own waits for the disk.
static void
s_sleeps (s_bench_t *self, const double *sleeps_before, uint64_t commands)
{
    zcq_bench_proc_t *proc;
    char name [64];
    for (int index = 0; s_user (self, index, &proc, name, sizeof (name)) != S_PAST && commands;
         index++) {
        zcq_bench_figure_t *figure = zcq_bench_report_figure (
            self->report, "one client, closed loop: sleeps (thread wake-ups) per command", name,
            "sleeps per command", "");
        zcq_bench_figure_add (figure, (self->sleeps_used [index] - sleeps_before [index])
                                          / (double) commands);
    }
}

//  Closed loop with expected versions: 1, 8, 32, 64 clients (only 1 when
//  "one" is wanted without "closed" or "half"). Returns the peak (highest
//  median commands/s).
static double
s_closed_loops (s_bench_t *self)
{
    const char *scenario = "closed loop, sync, 1,000 accounts";
    zcq_bench_closed_t closed = {&zcq_bench_bank_driver,
                                 (void *) zcq_bench_cluster_commands (self->cluster), ACCOUNTS,
                                 self->versions, 0};
    int clients [] = {1, 8, 32, 64};
    bool all = s_wanted (self, "closed") || s_wanted (self, "half");
    size_t loads = all ? sizeof (clients) / sizeof (clients [0]) : 1;
    double peak = 0;
    for (size_t index = 0; index < loads; index++) {
        char name [32];
        snprintf (name, sizeof (name), "%d client%s", clients [index],
                  clients [index] > 1 ? "s" : "");
        double sleeps [USERS];
        memcpy (sleeps, self->sleeps_used, sizeof (sleeps));
        uint64_t commands = self->commands;
        bool ok = clients [index] == 32
                      ? s_repeat_usage (self, 32, zcq_bench_closed_loop, &closed, scenario,
                                        name, "nodes of the sync cluster, 32 clients alone")
                      : s_repeat (self, clients [index], zcq_bench_closed_loop, &closed,
                                  scenario, name, "commands/s", false);
        if (!ok) {
            return -1;
        }
        if (clients [index] == 1) {
            s_sleeps (self, sleeps, self->commands - commands);
        }
        double median = zcq_bench_figure_median (
            zcq_bench_report_find (self->report, scenario, name, "commands/s"));
        peak = median > peak ? median : peak;
    }
    zcq_bench_figure_t *thirty_two =
        zcq_bench_report_find (self->report, scenario, "32 clients", "commands/s");
    if (thirty_two) {
        zcq_bench_figure_target (thirty_two, true, 100000, "issue 13");
    }
    //  One client alone: within 1.5 x (one fsync + one ZeroMQ round trip)
    zcq_bench_figure_target (zcq_bench_report_find (self->report, scenario, "1 client", "p50"),
                             false, 1.5 * (self->fsync_ms + self->echo_rtt_ms),
                             "issue 13: 1.5 x (fsync + round trip)");
    return peak;
}

//  Pipelined: `clients` connections with `window` in flight each.
static bool
s_pipelined (s_bench_t *self, const char *scenario, int clients, int window)
{
    zcq_bench_pipeline_t pipeline = {.commands = zcq_bench_cluster_commands (self->cluster),
                                     .streams = ACCOUNTS,
                                     .versions = self->versions,
                                     .window = window};
    char name [48];
    snprintf (name, sizeof (name), "%d client%s x %d in flight", clients,
              clients > 1 ? "s" : "", window);
    bool ok = s_repeat (self, clients, zcq_bench_pipelined, &pipeline, scenario, name,
                        "commands/s", true);
    uint64_t busy = atomic_load (&pipeline.busy);
    if (ok && busy) {
        zcq_bench_figure_note (zcq_bench_report_find (self->report, scenario, name, "p99"),
                               "%" PRIu64 " 'busy' answers over the runs, each sent again",
                               busy);
    }
    return ok;
}

//  Issue 3's set: 1, 8, 64 pipelined clients with 8 in flight each.
static bool
s_pipelined_set (s_bench_t *self, const char *scenario)
{
    return s_pipelined (self, scenario, 1, 8) && s_pipelined (self, scenario, 8, 8)
           && s_pipelined (self, scenario, 64, 8);
}

//  Add a run's probe figures (p50, p99) under name; the note says how
//  many probes the last run made and how
static void
s_add_visible (s_bench_t *self, const char *scenario, const char *name,
               zcq_bench_probe_t *probe, const char *how)
{
    zcq_bench_report_t *report = self->report;
    zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p50", "ms"),
                          zcq_bench_latency_ms (probe->visible, 50));
    zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p99", "ms"),
                          zcq_bench_latency_ms (probe->visible, 99));
    zcq_bench_figure_note (zcq_bench_report_find (report, scenario, name, "p50"),
                           "last run: %zu probes, %" PRIu64 " stale, %" PRIu64 " failed; %s",
                           zcq_bench_latency_count (probe->visible), probe->stale,
                           probe->failed, how);
}

//  End a run of the probe's: print the load's rate, or "failed"; destroy
//  the probe's samples and the load. Returns true if the run went well.
static bool
s_probe_run_done (zcq_bench_probe_t *probe, zcq_bench_load_t **load_p, int rc)
{
    if (rc == 0) {
        printf (" %.0f", zcq_bench_load_rate (*load_p));
    }
    else {
        printf (" failed\n");
    }
    fflush (stdout);
    zcq_bench_latency_destroy (&probe->visible);
    zcq_bench_load_destroy (load_p);
    return rc == 0;
}

//  The extra thread of the half load under queries: the paced commands
//  with the probe beside them, over a window as long as the queries'
typedef struct {
    s_bench_t *self;
    zcq_bench_closed_t *closed; //  the paced commands
    zcq_bench_probe_t *probe;   //  the probe beside them
    int rc;                     //  of their load's run
    double rate;                //  commands/s they made
} s_busy_t;

static void
s_busy_writes (zcq_bench_load_t *load, int worker, void *arg)
{
    (void) load;
    (void) worker;
    s_busy_t *busy = (s_busy_t *) arg;
    zcq_bench_load_t *writes = zcq_bench_load_new (PACED, zcq_bench_closed_loop, busy->closed);
    zcq_bench_load_set_extra (writes, zcq_bench_probe, busy->probe);
    busy->rc = zcq_bench_load_run (writes, busy->self->warmup_ms, busy->self->measure_ms);
    busy->rate = zcq_bench_load_rate (writes);
    zcq_bench_load_destroy (&writes);
}

//  The same half load and probe while 8 closed-loop clients query the
//  query nodes as fast as they answer (spread over them): issue 14 asks
//  the visibility target to hold under a full query load too.
static bool
s_half_load_queried (s_bench_t *self, zcq_bench_closed_t *closed, const char *const *nodes,
                     int count, const char *scenario, const char *visible)
{
    zcq_bench_queries_t queries = {nodes [0], ACCOUNTS, nodes, count};
    printf ("  %s, with 8 query clients ...", scenario);
    fflush (stdout);
    char name [96];
    snprintf (name, sizeof (name), "visible on %d nodes, 8 query clients", count);
    zcq_bench_report_t *report = self->report;
    for (int run = 0; run < self->runs; run++) {
        zcq_bench_probe_t probe = {zcq_bench_cluster_commands (self->cluster),
                                   nodes,
                                   count,
                                   1000,
                                   zcq_bench_latency_new (),
                                   0,
                                   0};
        s_busy_t busy = {self, closed, &probe, -1, 0};
        zcq_bench_load_t *load = zcq_bench_load_new (8, zcq_bench_query_loop, &queries);
        zcq_bench_load_set_extra (load, s_busy_writes, &busy);
        int rc = zcq_bench_load_run (load, self->warmup_ms, self->measure_ms);
        rc = rc == 0 ? busy.rc : rc;
        if (rc == 0) {
            s_add_visible (self, scenario, name, &probe,
                           "the queries spread over the nodes, each client waiting for its "
                           "answer");
            zcq_bench_figure_add (
                zcq_bench_report_figure (report, scenario, name, "queries/s", "/s"),
                zcq_bench_load_rate (load));
            zcq_bench_figure_add (
                zcq_bench_report_figure (report, scenario, name, "commands/s", "/s"),
                busy.rate);
        }
        if (!s_probe_run_done (&probe, &load, rc)) {
            return false;
        }
    }
    printf (" queries/s\n");
    zcq_bench_figure_target (zcq_bench_report_find (report, scenario, name, "p99"), false, 1,
                             "issue 14");
    zcq_bench_figure_note (zcq_bench_report_find (report, scenario, name, "p99"),
                           "%s, measured as above while the queries run", visible);
    zcq_bench_figure_t *rate = zcq_bench_report_find (report, scenario, name, "commands/s");
    if (zcq_bench_figure_median (rate) < 0.9 * closed->rate) {
        zcq_bench_figure_note (
            rate, "the " S_NUMBER (PACED) " paced clients could not keep the pace of %.0f/s",
            closed->rate);
    }
    return true;
}

//  Paced commands at `rate` a second, with the end-to-end probe: half of
//  the closed-loop peak, or the rate of --pace
static bool
s_half_load (s_bench_t *self, double rate)
{
    char scenario [96];
    snprintf (scenario, sizeof (scenario),
              self->pace > 0 ? "a set pace (%.0f commands/s, --pace)"
                             : "half of the closed-loop peak (%.0f commands/s)",
              rate);
    const char *queries [ZCQ_BENCH_MAX_QUERY];
    int nodes = zcq_bench_cluster_query_nodes (self->cluster);
    for (int node = 0; node < nodes; node++) {
        queries [node] = zcq_bench_cluster_queries (self->cluster, node);
    }
    zcq_bench_closed_t closed = {&zcq_bench_bank_driver,
                                 (void *) zcq_bench_cluster_commands (self->cluster), ACCOUNTS,
                                 self->versions, rate};
    printf ("  %s ...", scenario);
    fflush (stdout);
    char visible [64];
    snprintf (visible, sizeof (visible), "accepted -> visible on %d query nodes", nodes);
    for (int run = 0; run < self->runs; run++) {
        zcq_bench_probe_t probe = {zcq_bench_cluster_commands (self->cluster),
                                   queries,
                                   nodes,
                                   1000,
                                   zcq_bench_latency_new (),
                                   0,
                                   0};
        zcq_bench_load_t *load = zcq_bench_load_new (PACED, zcq_bench_closed_loop, &closed);
        zcq_bench_load_set_window (load, s_window, self);
        zcq_bench_load_set_extra (load, zcq_bench_probe, &probe);
        int rc = zcq_bench_load_run (load, self->warmup_ms, self->measure_ms);
        if (rc == 0) {
            s_record (self, load, scenario, PACED_NAME, "commands/s");
            s_add_visible (self, scenario, visible, &probe,
                           "reply received -> every node, asked at once, answered with "
                           "min_position");
        }
        if (!s_probe_run_done (&probe, &load, rc)) {
            return false;
        }
    }
    printf (" commands/s\n");
    zcq_bench_report_t *report = self->report;
    zcq_bench_figure_target (zcq_bench_report_find (report, scenario, PACED_NAME, "p99"), false,
                             2, "issue 13");
    zcq_bench_figure_target (zcq_bench_report_find (report, scenario, visible, "p99"), false, 1,
                             "issues 5, 14");
    zcq_bench_figure_note (zcq_bench_report_find (report, scenario, visible, "p99"),
                           "also issue 4's replication lag p50/p99 (no target)");
    //  Paced clients that fall behind send at once: say when they could not
    //  keep the pace, as the latencies are then those of a heavier load
    zcq_bench_figure_t *kept =
        zcq_bench_report_find (report, scenario, PACED_NAME, "commands/s");
    if (zcq_bench_figure_median (kept) < 0.9 * rate) {
        zcq_bench_figure_note (kept, "the clients could not keep the pace of %.0f/s", rate);
    }
    return s_half_load_queried (self, &closed, queries, nodes, scenario, visible);
}

//  Put 8 closed-loop clients' queries/s (rate) beside the same run's
//  ZeroMQ echo of 8 closed-loop clients, the most any 8-client closed loop
//  can do on this machine, as the ratio `name` "of ZeroMQ echo, 8 x 1"
static void
s_of_echo_eight (s_bench_t *self, const char *scenario, const char *name,
                 zcq_bench_figure_t *rate)
{
    zcq_bench_figure_t *echo = zcq_bench_report_find (self->report, "machine limits (same run)",
                                                      ZCQ_BENCH_ECHO_EIGHT, "requests/s");
    if (rate && echo) {
        zcq_bench_report_ratio (self->report, scenario, name, "of ZeroMQ echo, 8 x 1", rate,
                                echo);
    }
}

//  `account` queries: 8 clients on one query node
static bool
s_queries (s_bench_t *self)
{
    zcq_bench_queries_t queries = {zcq_bench_cluster_queries (self->cluster, 0), ACCOUNTS, NULL,
                                   0};
    const char *scenario = "queries on one query node";
    uint64_t commands = self->commands;
    bool ok = s_repeat (self, 8, zcq_bench_query_loop, &queries, scenario, "8 clients, account",
                        "queries/s", false);
    self->commands = commands; //  queries are not commands
    zcq_bench_figure_t *rate =
        zcq_bench_report_find (self->report, scenario, "8 clients, account", "queries/s");
    zcq_bench_figure_target (rate, true, 100000, "issue 4");
    s_of_echo_eight (self, scenario, "8 clients, account", rate);
    return ok;
}

//  Fill the log up to self->log_events events with pipelined deposits.
static bool
s_fill (s_bench_t *self)
{
    const char *commands = zcq_bench_cluster_commands (self->cluster);
    uint64_t head = 0;
    if (zcq_bench_cluster_status (commands, true, "head", &head) != 0) {
        fprintf (stderr, "bench: no status from the write node\n");
        return false;
    }
    if (head >= self->log_events) {
        return true;
    }
    printf ("  filling the log from %" PRIu64 " to %" PRIu64 " events ...", head,
            self->log_events);
    fflush (stdout);
    zcq_bench_pipeline_t pipeline = {.commands = commands,
                                     .streams = ACCOUNTS,
                                     .versions = self->versions,
                                     .window = 256,
                                     .limit = self->log_events - head};
    zcq_bench_load_t *load = zcq_bench_load_new (4, zcq_bench_pipelined, &pipeline);
    int64_t start = zcq_bench_now ();
    int rc = zcq_bench_load_run (load, 0, 900000);
    zcq_bench_load_destroy (&load);
    double seconds = (double) (zcq_bench_now () - start) / 1e9;
    printf (" %.1f s\n", seconds);
    return rc == 0;
}

//  Start a fresh query node (the cluster's backend) self->runs times and
//  time each from its start to applied = head, into rate. Returns false
//  (after printing why) if one did not get there.
static bool
s_catchup_runs (s_bench_t *self, uint64_t head, zcq_bench_figure_t *rate)
{
    for (int run = 0; run < self->runs; run++) {
        zcq_bench_proc_t *proc = NULL;
        char endpoint [64];
        int64_t start = zcq_bench_now (), deadline = start + 600 * (int64_t) 1000000000;
        uint64_t applied = 0;
        if (zcq_bench_cluster_add_query (self->cluster, "catch-up", &proc, endpoint,
                                         sizeof (endpoint))
            == 0) {
            while (applied < head && zcq_bench_now () < deadline
                   && zcq_bench_proc_alive (proc)) {
                if (zcq_bench_cluster_status (endpoint, false, "applied", &applied) != 0
                    || applied < head) {
                    zcq_bench_sleep_ms (20);
                }
            }
        }
        double seconds = (double) (zcq_bench_now () - start) / 1e9;
        if (applied < head) {
            printf (" failed: %" PRIu64 " of %" PRIu64 " applied\n", applied, head);
            zcq_bench_proc_print_log (proc);
            zcq_bench_proc_stop (&proc, SIGTERM, 10000);
            return false;
        }
        zcq_bench_figure_add (rate, (double) head / seconds);
        printf (" %.0f", (double) head / seconds);
        fflush (stdout);
        zcq_bench_proc_stop (&proc, SIGTERM, 10000);
    }
    printf (" events/s\n");
    return true;
}

//  A fresh query node catching up with the whole log, and write node restarts
static bool
s_log_scenarios (s_bench_t *self)
{
    const char *commands = zcq_bench_cluster_commands (self->cluster);
    uint64_t head = 0;
    zcq_bench_cluster_status (commands, true, "head", &head);
    char name [64];
    snprintf (name, sizeof (name), "%" PRIu64 " events", head);
    const char *scenario = "catch-up of a fresh query node";
    printf ("  %s over %s ...", scenario, name);
    fflush (stdout);
    zcq_bench_figure_t *rate =
        zcq_bench_report_figure (self->report, scenario, name, "events/s", "/s");
    if (!s_catchup_runs (self, head, rate)) {
        return false;
    }
    zcq_bench_figure_target (rate, true, 500000, "issue 5");
    zcq_bench_figure_note (rate, "issue 4 asks at least 300,000 events/s; process start to "
                                 "applied = head, polled every 20 ms");

    scenario = "write node restart (SIGTERM, start, first status answer)";
    printf ("  write node restart with %s ...", name);
    fflush (stdout);
    zcq_bench_figure_t *restart =
        zcq_bench_report_figure (self->report, scenario, name, "restart", "s");
    for (int run = 0; run < self->runs; run++) {
        double seconds = zcq_bench_cluster_restart_write (self->cluster, SIGTERM, 300000);
        if (seconds < 0) {
            return false;
        }
        zcq_bench_figure_add (restart, seconds);
        printf (" %.3f", seconds);
        fflush (stdout);
    }
    printf (" s\n");
    return true;
}

//  Peak RSS and CPU per 1,000 commands of every process of the cluster
//  (each member of a write group) and of the clients; read before any
//  failover, while the set of processes is the one the windows measured
static void
s_node_usage (s_bench_t *self, const char *scenario, bool rss)
{
    char name [64];
    zcq_bench_proc_t *proc;
    s_user_t user;
    for (int index = 0; (user = s_user (self, index, &proc, name, sizeof (name))) != S_PAST;
         index++) {
        if (user != S_CLIENTS && !proc) {
            continue;
        }
        if (proc && rss) {
            zcq_bench_figure_add (
                zcq_bench_report_figure (self->report, scenario, name, "peak RSS", "MiB"),
                zcq_bench_proc_peak_rss (proc));
        }
        if (self->commands > 0) {
            zcq_bench_figure_t *cpu = zcq_bench_report_figure (self->report, scenario, name,
                                                               "CPU per 1k commands", "ms");
            zcq_bench_figure_add (cpu, self->cpu_used [index] * 1e6 / (double) self->commands);
            //  Issue 13 sets the write node's (the leader's) and the client
            //  library's; the query side's issue owns the query nodes'
            if (user == S_WRITER || user == S_CLIENTS) {
                zcq_bench_figure_target (cpu, false, user == S_WRITER ? 5 : 3, "issue 13");
            }
        }
    }
}

//  The main cluster: everything of issue 5, issue 4's, issue 3's and issue
//  13's sync set (each scenario only if wanted)
static bool
s_sync_cluster (s_bench_t *self)
{
    //  The half load needs the closed loops' peak unless --pace sets its rate
    bool closed = s_wanted (self, "closed") || (s_wanted (self, "half") && self->pace == 0)
                  || s_wanted (self, "one");
    bool pipelined = s_wanted (self, "pipelined"), eight = s_wanted (self, "eight");
    bool half = s_wanted (self, "half"), queries = s_wanted (self, "queries");
    bool log = s_wanted (self, "log");
    if (!closed && !pipelined && !eight && !half && !queries && !log) {
        return true;
    }
    printf ("cluster: write node (sync) + 2 query nodes\n");
    if (!s_cluster_up (self, "sync", 0, 2)) {
        return false;
    }
    double peak = closed ? s_closed_loops (self) : 0;
    bool ok = !closed || peak > 0;
    if (ok && pipelined) {
        ok = s_pipelined (self, "pipelined, sync", 4, 256);
    }
    if (ok && pipelined) {
        zcq_bench_figure_t *figure = zcq_bench_report_find (
            self->report, "pipelined, sync", "4 clients x 256 in flight", "commands/s");
        zcq_bench_figure_target (figure, true, 300000, "issues 5, 13");
        zcq_bench_figure_target (zcq_bench_report_ratio (self->report, "pipelined, sync",
                                                         "4 clients x 256 in flight",
                                                         "of ZeroMQ echo", figure, self->echo),
                                 true, 0.4, "issue 5");
    }
    ok = ok && (!eight || s_pipelined_set (self, "pipelined 8 in flight, sync"));
    if (ok && eight) {
        zcq_bench_figure_target (
            zcq_bench_report_find (self->report, "pipelined 8 in flight, sync",
                                   "64 clients x 8 in flight", "commands/s"),
            true, 200000, "issue 13");
    }
    ok = ok && (!half || s_half_load (self, self->pace > 0 ? self->pace : peak / 2))
         && (!queries || s_queries (self));
    if (ok) {
        s_node_usage (self, "nodes of the sync cluster, over the command scenarios above",
                      true);
    }
    ok = ok && (!log || (s_fill (self) && s_log_scenarios (self)));
    zcq_bench_cluster_destroy (&self->cluster);
    return ok;
}

//  --- The read side, on each read-model backend --------------------------------

//  CPU seconds of every query node of the cluster, summed
static double
s_query_cpu (s_bench_t *self)
{
    double cpu = 0;
    for (int node = 0; node < zcq_bench_cluster_query_nodes (self->cluster); node++) {
        cpu += zcq_bench_proc_cpu (zcq_bench_cluster_query_proc (self->cluster, node));
    }
    return cpu;
}

//  What the lag probe measures: a writer beside the query load, and the lag
//  of the queried node sampled as it goes
typedef struct {
    const char *commands;      //  write node endpoint
    const char *queries;       //  the node under query load
    uint64_t written;          //  commands accepted in the window
    uint64_t lag_max, lag_end; //  events the node was behind the last accepted
                               //  position: most, and at the end
    double seconds;            //  window length the writer saw
} s_lag_t;

//  Extra thread of the lag scenario: deposits pipelined 64 deep at the
//  write node's pace (expect any), and every 20 ms how far the queried
//  node's applied position is behind the last position accepted.
static void
s_lag_probe (zcq_bench_load_t *load, int worker, void *arg)
{
    (void) worker;
    s_lag_t *lag = (s_lag_t *) arg;
    zcq_client_t *client = zcq_client_new (lag->commands);
    zcq_client_t *observer = zcq_client_new (lag->queries);
    msgpack_sbuffer *data = msgpack_sbuffer_new ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, data, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    zcq_mpack_pack_str (&pk, "amount");
    msgpack_pack_uint64 (&pk, 1);
    int inflight = 0, account = 0;
    uint64_t accepted = 0; //  highest position acknowledged
    int64_t sampled = 0, opened = 0;
    while (client && observer && zcq_bench_load_running (load)) {
        while (inflight < 64) {
            char stream [32];
            snprintf (stream, sizeof (stream), "bench-%d", account++ % ACCOUNTS);
            zcq_msg_t *command =
                zcq_client_command ("Deposit", stream, ZCQ_EXPECT_ANY, data->data, data->size);
            if (zcq_client_post (client, command) == 0) {
                inflight++;
            }
            zcq_msg_destroy (&command);
        }
        zcq_msg_t *reply = zcq_client_recv_reply (client, 1000);
        if (reply) {
            inflight--;
            if (zcq_msg_status (reply) == ZCQ_ACCEPTED) {
                accepted =
                    zcq_msg_position (reply) > accepted ? zcq_msg_position (reply) : accepted;
                lag->written += zcq_bench_load_measuring (load);
            }
        }
        zcq_msg_destroy (&reply);
        int64_t now = zcq_bench_now ();
        if (zcq_bench_load_measuring (load) && !opened) {
            opened = now;
        }
        if (zcq_bench_load_measuring (load) && now - sampled >= 20 * 1000000) {
            sampled = now;
            zcq_msg_t *status = zcq_client_write_status (observer, 1000);
            uint64_t behind = 0, applied = 0;
            msgpack_unpacked map;
            if (status && zcq_msg_status (status) == ZCQ_OK
                && zcq_mpack_unpack (zcq_msg_data (status), zcq_msg_data_size (status), &map)
                       == 0) {
                const msgpack_object *found = zcq_map_get (&map.data, "applied");
                applied = found && found->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                              ? found->via.u64
                              : 0;
                behind = accepted > applied ? accepted - applied : 0;
                msgpack_unpacked_destroy (&map);
            }
            zcq_msg_destroy (&status);
            lag->lag_max = behind > lag->lag_max ? behind : lag->lag_max;
            lag->lag_end = behind;
        }
    }
    lag->seconds = opened ? (double) (zcq_bench_now () - opened) / 1e9 : 0;
    //  Collect what is still in flight, so the next scenario starts clean
    while (client && inflight > 0) {
        zcq_msg_t *reply = zcq_client_recv_reply (client, 2000);
        if (!reply) {
            break;
        }
        inflight--;
        zcq_msg_destroy (&reply);
    }
    msgpack_sbuffer_free (data);
    zcq_client_destroy (&observer);
    zcq_client_destroy (&client);
}

//  The read side on one backend: live apply CPU while the log fills, account
//  queries on one node and spread over 1, 2, 4 nodes, a node under a full
//  query load while writes go on (its lag), and a fresh node's catch-up
static bool
s_read_side_on (s_bench_t *self, const char *storage)
{
    printf ("cluster: write node (sync) + 4 query nodes, read models in %s\n", storage);
    self->storage = storage;
    bool ok = s_cluster_up (self, "sync", 0, ZCQ_BENCH_MAX_QUERY);
    self->storage = NULL;
    const char *commands = ok ? zcq_bench_cluster_commands (self->cluster) : NULL;
    //  Live apply: every query node follows the fill; CPU per 1,000 events
    uint64_t head_before = 0, head_after = 0;
    double cpu_before = ok ? s_query_cpu (self) : 0;
    ok = ok && zcq_bench_cluster_status (commands, true, "head", &head_before) == 0
         && s_fill (self)
         && zcq_bench_cluster_status (commands, true, "head", &head_after) == 0;
    for (int node = 0; ok && node < ZCQ_BENCH_MAX_QUERY; node++) {
        //  Caught up, so that the CPU counts every event of the fill
        uint64_t applied = 0;
        int64_t deadline = zcq_bench_now () + 120 * (int64_t) 1000000000;
        while (applied < head_after && zcq_bench_now () < deadline) {
            zcq_bench_cluster_status (zcq_bench_cluster_queries (self->cluster, node), false,
                                      "applied", &applied);
            if (applied < head_after) {
                zcq_bench_sleep_ms (20);
            }
        }
    }
    if (ok && head_after > head_before) {
        zcq_bench_figure_t *cpu = zcq_bench_report_figure (
            self->report, "live apply: query-node CPU per 1,000 events", storage,
            "CPU per 1k events", "ms");
        zcq_bench_figure_add (cpu, (s_query_cpu (self) - cpu_before) * 1e6
                                       / (double) ZCQ_BENCH_MAX_QUERY
                                       / (double) (head_after - head_before));
        zcq_bench_figure_target (cpu, false, 2, "issue 14");
        zcq_bench_figure_note (cpu,
                               "mean of %d query nodes following %" PRIu64
                               " pipelined deposits (4 x 256 in flight)",
                               ZCQ_BENCH_MAX_QUERY, head_after - head_before);
    }
    //  Account queries: one node, then spread over 1, 2, 4
    const char *nodes [ZCQ_BENCH_MAX_QUERY];
    for (int node = 0; ok && node < ZCQ_BENCH_MAX_QUERY; node++) {
        nodes [node] = zcq_bench_cluster_queries (self->cluster, node);
    }
    char name [96];
    const char *scenario = "account queries, 8 clients, one query node";
    zcq_bench_queries_t one = {ok ? nodes [0] : NULL, ACCOUNTS, NULL, 0};
    ok = ok
         && s_repeat (self, 8, zcq_bench_query_loop, &one, scenario, storage, "queries/s",
                      false);
    if (ok) {
        bool memory = streq (storage, "memory");
        zcq_bench_figure_t *rate =
            zcq_bench_report_find (self->report, scenario, storage, "queries/s");
        zcq_bench_figure_target (rate, true, memory ? 250000 : 150000, "issue 14");
        s_of_echo_eight (self, scenario, storage, rate);
        zcq_bench_figure_target (zcq_bench_report_find (self->report, scenario, storage, "p99"),
                                 false, 0.3, "issue 14");
    }
    int spreads [] = {1, 2, 4};
    for (int index = 0; ok && index < 3; index++) {
        zcq_bench_queries_t spread = {nodes [0], ACCOUNTS, nodes, spreads [index]};
        snprintf (name, sizeof (name), "%s, %d node%s", storage, spreads [index],
                  spreads [index] > 1 ? "s" : "");
        ok = s_repeat (self, 8, zcq_bench_query_loop, &spread,
                       "account queries, 8 clients spread over the query nodes", name,
                       "queries/s", false);
    }
    //  A node under a full query load while writes go on: both figures
    scenario = "one node: 8 query clients while writes go on";
    printf ("  %s, %s ...", scenario, storage);
    fflush (stdout);
    for (int run = 0; ok && run < self->runs; run++) {
        s_lag_t lag = {commands, nodes [0], 0, 0, 0, 0};
        zcq_bench_load_t *load = zcq_bench_load_new (8, zcq_bench_query_loop, &one);
        zcq_bench_load_set_extra (load, s_lag_probe, &lag);
        ok = zcq_bench_load_run (load, self->warmup_ms, self->measure_ms) == 0;
        if (ok) {
            zcq_bench_report_t *report = self->report;
            zcq_bench_figure_add (
                zcq_bench_report_figure (report, scenario, storage, "queries/s", "/s"),
                zcq_bench_load_rate (load));
            zcq_bench_figure_add (
                zcq_bench_report_figure (report, scenario, storage, "writes/s", "/s"),
                lag.seconds > 0 ? (double) lag.written / lag.seconds : 0);
            zcq_bench_figure_add (
                zcq_bench_report_figure (report, scenario, storage, "lag max", "events"),
                (double) lag.lag_max);
            zcq_bench_figure_add (
                zcq_bench_report_figure (report, scenario, storage, "lag at the end", "events"),
                (double) lag.lag_end);
            printf (" %.0f/%.0f", zcq_bench_load_rate (load),
                    lag.seconds > 0 ? (double) lag.written / lag.seconds : 0);
            fflush (stdout);
        }
        zcq_bench_load_destroy (&load);
    }
    printf (" queries/writes per s\n");
    //  A fresh node catching up with the whole log
    uint64_t head = 0;
    ok = ok && zcq_bench_cluster_status (commands, true, "head", &head) == 0;
    scenario = "catch-up of a fresh query node";
    snprintf (name, sizeof (name), "%s, %" PRIu64 " events", storage, head);
    printf ("  %s, %s ...", scenario, name);
    fflush (stdout);
    zcq_bench_figure_t *rate =
        ok ? zcq_bench_report_figure (self->report, scenario, name, "events/s", "/s") : NULL;
    ok = ok && s_catchup_runs (self, head, rate);
    if (rate) {
        zcq_bench_figure_target (rate, true, streq (storage, "memory") ? 1000000 : 600000,
                                 "issue 14");
        zcq_bench_figure_note (rate, "process start to applied = head, polled every 20 ms");
    }
    zcq_bench_cluster_destroy (&self->cluster);
    return ok;
}

static bool
s_read_side (s_bench_t *self)
{
    if (!s_wanted (self, "reads")) {
        return true;
    }
    return s_read_side_on (self, "leveldb") && s_read_side_on (self, "memory");
}

//  Write node RSS as the log grows with default command-id retention: one
//  write node (no query nodes, so that the soak goes fast), pipelined
//  commands up to the total, its RSS read at every tenth of it; the growth
//  is from the first tenth (LevelDB's memtables have filled by then) to
//  the end
static bool
s_soak (s_bench_t *self)
{
    if (!s_wanted (self, "soak")) {
        return true;
    }
    uint64_t total = self->quick ? 1000000 : 10000000;
    printf ("cluster: write node (sync), soak of %" PRIu64 " commands\n", total);
    zcq_bench_cluster_config_t config = {self->build, "bank", "sync", 0, 0,
                                         NULL,        NULL,   NULL,   0};
    self->cluster = zcq_bench_cluster_new (&config, 20000);
    memset (self->versions, 0, sizeof (self->versions));
    bool ok = self->cluster
              && zcq_bench_setup_streams (&zcq_bench_bank_driver,
                                          (void *) zcq_bench_cluster_commands (self->cluster),
                                          ACCOUNTS, 8, self->versions)
                     == 0;
    const char *scenario = "soak: write node RSS, default command-id retention";
    zcq_bench_proc_t *node = ok ? zcq_bench_cluster_write_proc (self->cluster) : NULL;
    //  VmRSS counts the pages of the LevelDB tables the node has mapped
    //  (mostly those a compaction is reading: they come and go); RssAnon is
    //  the node's own memory
    const char *metrics [2] = {"RSS", "anonymous RSS"};
    double first [2] = {-1, -1}, last [2] = {-1, -1};
    int64_t started = zcq_bench_now ();
    for (int step = 1; ok && step <= 10; step++) {
        self->log_events = total / 10 * (uint64_t) step;
        ok = s_fill (self);
        last [0] = ok ? zcq_bench_proc_rss (node) : -1;
        last [1] = ok ? zcq_bench_proc_anon_rss (node) : -1;
        char name [64];
        snprintf (name, sizeof (name), "after %" PRIu64 " commands", self->log_events);
        for (int metric = 0; ok && metric < 2; metric++) {
            first [metric] = step == 1 ? last [metric] : first [metric];
            zcq_bench_figure_add (
                zcq_bench_report_figure (self->report, scenario, name, metrics [metric], "MiB"),
                last [metric]);
        }
    }
    for (int metric = 0; ok && metric < 2; metric++) {
        if (first [metric] <= 0) {
            continue;
        }
        zcq_bench_figure_t *growth = zcq_bench_report_figure (
            self->report, scenario, "growth from the first tenth to the end", metrics [metric],
            "%");
        zcq_bench_figure_add (growth,
                              100.0 * (last [metric] - first [metric]) / first [metric]);
        zcq_bench_figure_target (growth, false, 10, "issue 13");
        if (metric == 0) {
            uint64_t kept = 0;
            zcq_bench_cluster_status (zcq_bench_cluster_commands (self->cluster), true,
                                      "command_ids", &kept);
            zcq_bench_figure_note (growth, "%" PRIu64 " command ids kept at the end; %.0f s",
                                   kept, (double) (zcq_bench_now () - started) / 1e9);
        }
    }
    zcq_bench_cluster_destroy (&self->cluster);
    return ok;
}

//  Issue 15: a write group of 3 (Raft) beside the single write node of the
//  same run: closed loop of 1 and 32 clients, 64 x 8 pipelined, and the
//  failover time (kill of the leader -> first accepted command) over
//  several kills
static bool
s_replicated (s_bench_t *self)
{
    if (!s_wanted (self, "replicated")) {
        return true;
    }
    printf ("cluster: write group of 3 (sync) + 2 query nodes\n");
    const char *scenario = "replicated, 3 members, sync";
    bool ok = s_cluster_start (self, "sync", 0, 2, 3);
    zcq_bench_closed_t closed = {
        &zcq_bench_bank_driver, ok ? (void *) zcq_bench_cluster_commands (self->cluster) : NULL,
        ACCOUNTS, self->versions, 0};
    ok = ok
         && s_repeat (self, 1, zcq_bench_closed_loop, &closed, scenario,
                      "closed loop, 1 client", "commands/s", false)
         && s_repeat_usage (self, 32, zcq_bench_closed_loop, &closed, scenario,
                            "closed loop, 32 clients",
                            "processes of the write group cluster, 32 clients alone")
         && s_pipelined (self, scenario, 64, 8);
    if (ok) {
        s_node_usage (self, "processes of the write group cluster (3 members, 2 query nodes)",
                      true);
        zcq_bench_figure_t *failover =
            zcq_bench_report_figure (self->report, scenario, "leader killed", "failover", "s");
        int kills = self->quick ? 3 : 5;
        printf ("  %s, failover ...", scenario);
        for (int kill = 0; ok && kill < kills; kill++) {
            double seconds = zcq_bench_cluster_failover (self->cluster, 20000);
            ok = seconds >= 0;
            if (ok) {
                zcq_bench_figure_add (failover, seconds);
                printf (" %.2f", seconds);
                fflush (stdout);
            }
        }
        printf (" s\n");
        zcq_bench_figure_target (failover, false, 3, "issue 15");
    }
    zcq_bench_cluster_destroy (&self->cluster);
    if (ok) {
        //  (only when the single node's figures were measured in this run)
        const char *ratios = "replicated / single write node (same run)";
        zcq_bench_figure_t *ratio = zcq_bench_report_ratio (
            self->report, ratios, "closed loop, 32 clients", "commands/s",
            zcq_bench_report_find (self->report, scenario, "closed loop, 32 clients",
                                   "commands/s"),
            zcq_bench_report_find (self->report, "closed loop, sync, 1,000 accounts",
                                   "32 clients", "commands/s"));
        if (ratio) {
            zcq_bench_figure_target (ratio, true, 0.6, "issue 15");
        }
        zcq_bench_report_ratio (
            self->report, ratios, "64 clients x 8 in flight", "commands/s",
            zcq_bench_report_find (self->report, scenario, "64 clients x 8 in flight",
                                   "commands/s"),
            zcq_bench_report_find (self->report, "pipelined 8 in flight, sync",
                                   "64 clients x 8 in flight", "commands/s"));
    }
    return ok;
}

//  Issue 3's set again in another setting of the write node
static bool
s_variant_cluster (s_bench_t *self, const char *durability, int group, const char *scenario)
{
    if (!s_wanted (self, group ? "group1" : "async")) {
        return true;
    }
    printf ("cluster: write node (%s%s) + 2 query nodes\n", durability,
            group ? ", group 1" : "");
    bool ok = s_cluster_up (self, durability, group, 2) && s_pipelined_set (self, scenario);
    if (ok) {
        zcq_bench_figure_add (
            zcq_bench_report_figure (self->report, scenario, "write node", "peak RSS", "MiB"),
            zcq_bench_proc_peak_rss (zcq_bench_cluster_write_proc (self->cluster)));
    }
    zcq_bench_cluster_destroy (&self->cluster);
    return ok;
}

//  Group commit gain: sync over group-of-one, client count by client count
static void
s_group_gain (s_bench_t *self)
{
    const char *names [] = {"1 client x 8 in flight", "8 clients x 8 in flight",
                            "64 clients x 8 in flight"};
    for (int index = 0; index < 3; index++) {
        zcq_bench_report_ratio (
            self->report, "group commit gain (sync / sync with --group 1)", names [index],
            "commands/s",
            zcq_bench_report_find (self->report, "pipelined 8 in flight, sync", names [index],
                                   "commands/s"),
            zcq_bench_report_find (self->report, "pipelined 8 in flight, sync, --group 1",
                                   names [index], "commands/s"));
    }
}

int
main (int argc, char **argv)
{
    s_bench_t self = {0};
    zcq_bench_run_t run;
    if (zcq_bench_run_parse (&run, "zcq_bench", true, true, argc, argv) != 0) {
        return 2;
    }
    self.build = run.build;
    self.quick = run.quick;
    self.only = run.only;
    self.pace = run.pace;
    self.runs = 3;
    self.warmup_ms = self.quick ? 200 : 1000;
    self.measure_ms = self.quick ? 700 : 4000;
    self.log_events = self.quick ? 100000 : 1000000;
    self.report = zcq_bench_report_new ("zcqrs benchmark (make bench): medians of 3 runs");
    zcq_bench_run_context (&run, self.report);
    zcq_bench_report_context (self.report, "runs",
                              "%d per scenario, %d ms warm-up + %d ms measured; clients and "
                              "nodes share the machine; loopback TCP",
                              self.runs, self.warmup_ms, self.measure_ms);
    printf ("  machine limits ...\n");
    //  Every scenario reads its ratios against these: always measured
    self.echo = zcq_bench_raw_figures (self.report, self.runs, self.quick ? 300 : 1000,
                                       &self.fsync_ms, &self.echo_rtt_ms);
    bool ok = s_sync_cluster (&self)
              && s_variant_cluster (&self, "async", 0, "pipelined 8 in flight, async")
              && s_variant_cluster (&self, "sync", 1, "pipelined 8 in flight, sync, --group 1")
              && s_read_side (&self) && s_replicated (&self) && s_soak (&self);
    s_group_gain (&self);
    zcq_bench_run_finish (&run, self.report, "results.json", "chart.svg");
    zcq_bench_report_destroy (&self.report);
    if (!ok) {
        fprintf (stderr, "zcq_bench: a scenario failed (see above); figures are partial\n");
    }
    return ok ? 0 : 1;
}
