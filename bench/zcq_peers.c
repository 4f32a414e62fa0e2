/*  =========================================================================
    zcq_peers - `make bench-peers`: zcqrs next to what users would pick
    instead, measured on this machine in the same run

        zcq_peers [--quick] [--build DIR] [--out DIR] [--command TEXT]
                  [--only NAME]

    Starts each system on loopback with its data in a temporary folder
    (zcqrs: one write node with the store domain; Redis 7 Streams, NATS
    JetStream, PostgreSQL 15: see zcq_peers.h), runs the same closed loop
    against it (32 clients, 1,000 streams, ~200-byte events, expected
    versions, each client waiting for its ack) three times after a warm-up,
    stops it by PID, and prints every figure with zcqrs / peer ratios and
    this machine's limits of the same run. Then point reads of one account
    record, 8 clients: a query node's `account` query on each read-model
    backend next to Redis HGETALL and PostgreSQL SELECT by primary key, on
    the same 1,000 accounts. Writes DIR/bench/peers.json and
    DIR/bench/peers.svg. --only reads: only the point reads.
    =========================================================================
*/

#include "zcq_bench_cluster.h"
#include "zcq_bench_load.h"
#include "zcq_bench_raw.h"
#include "zcq_bench_report.h"
#include "zcq_bench_run.h"
#include "zcq_bench_zcqrs.h"
#include "zcq_endpoint.h"
#include "zcq_peers.h"

#include "zcqrs.h"

#include <signal.h>
#include <sys/resource.h>

#define STREAMS 1000 //  streams the clients spread over
#define CLIENTS 32   //  closed-loop clients

static const char *s_build = "build"; //  folder of zcqrs-write

//  --- zcqrs as one of the systems ---------------------------------------------

static void *
s_zcqrs_start (const char *folder)
{
    (void) folder; //  the cluster makes its own
    zcq_bench_cluster_config_t config = {s_build, "store", "sync", 0, 0, NULL, NULL, NULL, 0};
    return zcq_bench_cluster_new (&config, 20000);
}

static zcq_bench_proc_t *
s_zcqrs_proc (void *server)
{
    return zcq_bench_cluster_write_proc ((zcq_bench_cluster_t *) server);
}

static void
s_zcqrs_stop (void **server)
{
    zcq_bench_cluster_destroy ((zcq_bench_cluster_t **) server);
}

//  The store driver, given the cluster instead of the endpoint
static void *
s_zcqrs_connect (void *target, int client)
{
    const char *commands = zcq_bench_cluster_commands ((zcq_bench_cluster_t *) target);
    return zcq_bench_store_driver.connect ((void *) commands, client);
}

static zcq_bench_outcome_t
s_zcqrs_append (void *connection, int stream, uint64_t expect, uint64_t *version)
{
    return zcq_bench_store_driver.append (connection, stream, expect, version);
}

static void
s_zcqrs_disconnect (void *connection)
{
    zcq_bench_store_driver.disconnect (connection);
}

static const zcq_bench_driver_t s_zcqrs_driver = {
    .name = "zcqrs",
    .connect = s_zcqrs_connect,
    .append = s_zcqrs_append,
    .disconnect = s_zcqrs_disconnect,
};

static const zcq_peer_t s_zcqrs = {
    .name = "zcqrs",
    .durability = "write node, sync durability: ack after the group's LevelDB batch is "
                  "fdatasync'ed",
    .driver = &s_zcqrs_driver,
    .start = s_zcqrs_start,
    .proc = s_zcqrs_proc,
    .stop = s_zcqrs_stop,
};

//  --- Running one system --------------------------------------------------------

const char *
zcq_peer_payload (void)
{
    static char payload [ZCQ_BENCH_EVENT_SIZE - 20 + 1];
    if (!payload [0]) {
        memset (payload, 'x', sizeof (payload) - 1);
    }
    return payload;
}

zcq_peer_server_t *
zcq_peer_server_new (int stop_signal)
{
    zcq_peer_server_t *server = (zcq_peer_server_t *) zmalloc (sizeof (zcq_peer_server_t));
    assert (server);
    server->stop_signal = stop_signal;
    server->port = zcq_endpoint_free_port ();
    return server;
}

void
zcq_peer_server_stop (void **server_p)
{
    zcq_peer_server_t *server = (zcq_peer_server_t *) *server_p;
    if (server) {
        zcq_bench_proc_stop (&server->proc, server->stop_signal, 30000);
        free (server);
        *server_p = NULL;
    }
}

zcq_bench_proc_t *
zcq_peer_server_proc (void *server)
{
    return ((zcq_peer_server_t *) server)->proc;
}

typedef struct {
    zcq_bench_proc_t *proc; //  the server
    double cpu_open;        //  its CPU seconds at the window's opening
    double cpu_used;        //  CPU seconds in windows, summed
    double own_open;        //  this process's (the clients') CPU seconds at the opening
    double own_used;        //  the clients' CPU seconds in windows, summed
} s_usage_t;

static void
s_window (void *arg, bool opening)
{
    s_usage_t *usage = (s_usage_t *) arg;
    double cpu = zcq_bench_proc_cpu (usage->proc), own = zcq_bench_own_cpu ();
    if (opening) {
        usage->cpu_open = cpu;
        usage->own_open = own;
    }
    else {
        usage->cpu_used += cpu - usage->cpu_open;
        usage->own_used += own - usage->own_open;
    }
}

//  Start one system, run the closed loop `runs` times, stop it. Returns
//  false if it could not be measured (the figures stay empty).
static bool
s_measure (const zcq_peer_t *peer, zcq_bench_report_t *report, const char *scenario, int runs,
           int warmup_ms, int measure_ms)
{
    printf ("  %s ...", peer->name);
    fflush (stdout);
    char *folder = zcq_bench_tmpdir ("peer");
    void *server = folder ? peer->start (folder) : NULL;
    uint64_t versions [STREAMS] = {0};
    bool ok =
        server && zcq_bench_setup_streams (peer->driver, server, STREAMS, 8, versions) == 0;
    s_usage_t usage = {server ? peer->proc (server) : NULL, 0, 0, 0, 0};
    uint64_t done = 0;
    zcq_bench_closed_t closed = {peer->driver, server, STREAMS, versions, 0};
    for (int run = 0; ok && run < runs; run++) {
        zcq_bench_load_t *load = zcq_bench_load_new (CLIENTS, zcq_bench_closed_loop, &closed);
        zcq_bench_load_set_window (load, s_window, &usage);
        ok = zcq_bench_load_run (load, warmup_ms, measure_ms) == 0;
        if (ok) {
            zcq_bench_latency_t *latency = zcq_bench_load_latency (load);
            zcq_bench_figure_t *rate =
                zcq_bench_report_figure (report, scenario, peer->name, "commands/s", "/s");
            zcq_bench_figure_add (rate, zcq_bench_load_rate (load));
            zcq_bench_figure_note (rate, "%s", peer->durability);
            const char *metrics [] = {"p50", "p99", "p99.9"};
            double percentiles [] = {50, 99, 99.9};
            for (int index = 0; index < 3; index++) {
                zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, peer->name,
                                                               metrics [index], "ms"),
                                      zcq_bench_latency_ms (latency, percentiles [index]));
            }
            uint64_t conflicts = zcq_bench_load_count (load, ZCQ_BENCH_CONFLICT),
                     refused = zcq_bench_load_count (load, ZCQ_BENCH_REFUSED);
            if (conflicts || refused) {
                zcq_bench_figure_note (
                    rate, "%s; last run: %" PRIu64 " conflicts, %" PRIu64 " refused",
                    peer->durability, conflicts, refused);
            }
            done += zcq_bench_load_count (load, ZCQ_BENCH_DONE);
            printf (" %.0f", zcq_bench_load_rate (load));
            fflush (stdout);
        }
        zcq_bench_load_destroy (&load);
    }
    if (ok) {
        zcq_bench_figure_add (
            zcq_bench_report_figure (report, scenario, peer->name, "server peak RSS", "MiB"),
            zcq_bench_proc_peak_rss (usage.proc));
        if (done > 0) {
            zcq_bench_figure_t *cpu = zcq_bench_report_figure (report, scenario, peer->name,
                                                               "server CPU per 1k", "ms");
            zcq_bench_figure_add (cpu, usage.cpu_used * 1e6 / (double) done);
            zcq_bench_figure_t *own = zcq_bench_report_figure (report, scenario, peer->name,
                                                               "clients CPU per 1k", "ms");
            zcq_bench_figure_add (own, usage.own_used * 1e6 / (double) done);
            zcq_bench_figure_note (own,
                                   "the benchmark process: %d client threads and the "
                                   "system's client library",
                                   CLIENTS);
            if (peer == &s_zcqrs) {
                zcq_bench_figure_target (cpu, false, 5, "issue 13");
                zcq_bench_figure_target (own, false, 3, "issue 13");
            }
        }
    }
    printf (ok ? " commands/s\n" : " failed\n");
    if (server) {
        peer->stop (&server);
    }
    zcq_bench_rmtree (folder);
    free (folder);
    return ok;
}

//  --- Point reads ----------------------------------------------------------------

#define READERS 8 //  closed-loop readers of the point-read table

//  What a peer's reader runs
typedef struct {
    const zcq_peer_t *peer; //  the system
    void *server;           //  its handle (the driver's target)
} s_reads_t;

//  A closed-loop reader of a peer: read account N, N round-robin
static void
s_read_loop (zcq_bench_load_t *load, int worker, void *arg)
{
    s_reads_t *reads = (s_reads_t *) arg;
    void *connection = reads->peer->driver->connect (reads->server, worker);
    if (!connection) {
        zcq_bench_load_fail (load, worker, "cannot connect a reader");
        return;
    }
    int account = worker;
    while (zcq_bench_load_running (load)) {
        int64_t start = zcq_bench_now ();
        zcq_bench_outcome_t outcome = reads->peer->read_account (connection, account);
        zcq_bench_load_record (load, worker, zcq_bench_now () - start, outcome);
        account = (account + zcq_bench_load_workers (load)) % STREAMS;
    }
    reads->peer->driver->disconnect (connection);
}

//  Run a read load `runs` times on the server process proc, as figures of
//  scenario/name (reads/s, p50, p99, server CPU per 1,000). Returns false on
//  a failure.
static bool
s_reads_runs (zcq_bench_report_t *report, const char *scenario, const char *name,
              const char *how, zcq_bench_work_fn *work, void *arg, zcq_bench_proc_t *proc,
              int runs, int warmup_ms, int measure_ms)
{
    printf ("  point reads, %s ...", name);
    fflush (stdout);
    s_usage_t usage = {proc, 0, 0, 0, 0};
    uint64_t done = 0;
    bool ok = true;
    for (int run = 0; ok && run < runs; run++) {
        zcq_bench_load_t *load = zcq_bench_load_new (READERS, work, arg);
        zcq_bench_load_set_window (load, s_window, &usage);
        ok = zcq_bench_load_run (load, warmup_ms, measure_ms) == 0;
        if (ok) {
            zcq_bench_figure_t *rate =
                zcq_bench_report_figure (report, scenario, name, "reads/s", "/s");
            zcq_bench_figure_add (rate, zcq_bench_load_rate (load));
            zcq_bench_figure_note (rate, "%s", how);
            zcq_bench_latency_t *latency = zcq_bench_load_latency (load);
            zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p50", "ms"),
                                  zcq_bench_latency_ms (latency, 50));
            zcq_bench_figure_add (zcq_bench_report_figure (report, scenario, name, "p99", "ms"),
                                  zcq_bench_latency_ms (latency, 99));
            done += zcq_bench_load_count (load, ZCQ_BENCH_DONE);
            printf (" %.0f", zcq_bench_load_rate (load));
            fflush (stdout);
        }
        zcq_bench_load_destroy (&load);
    }
    if (ok && done) {
        zcq_bench_figure_add (
            zcq_bench_report_figure (report, scenario, name, "server CPU per 1k", "ms"),
            usage.cpu_used * 1e6 / (double) done);
    }
    printf (ok ? " reads/s\n" : " failed\n");
    return ok;
}

//  A peer's point reads: start it, store the accounts, read them
static bool
s_measure_reads (const zcq_peer_t *peer, zcq_bench_report_t *report, const char *scenario,
                 int runs, int warmup_ms, int measure_ms)
{
    char *folder = zcq_bench_tmpdir ("peer");
    void *server = folder ? peer->start (folder) : NULL;
    void *connection = server ? peer->driver->connect (server, 0) : NULL;
    bool ok = connection && peer->fill_accounts (connection, STREAMS) == 0;
    if (connection) {
        peer->driver->disconnect (connection);
    }
    s_reads_t reads = {peer, server};
    ok = ok
         && s_reads_runs (report, scenario, peer->read_name, peer->read_how, s_read_loop,
                          &reads, peer->proc (server), runs, warmup_ms, measure_ms);
    if (server) {
        peer->stop (&server);
    }
    zcq_bench_rmtree (folder);
    free (folder);
    return ok;
}

//  zcqrs's point reads: the `account` query of one query node with its read
//  models in storage, over the bank accounts bench-0 ..
static bool
s_measure_zcqrs_reads (const char *storage, zcq_bench_report_t *report, const char *scenario,
                       int runs, int warmup_ms, int measure_ms)
{
    zcq_bench_cluster_config_t config = {s_build, "bank", "sync", 0, 1, NULL, NULL, storage, 0};
    zcq_bench_cluster_t *cluster = zcq_bench_cluster_new (&config, 20000);
    uint64_t versions [STREAMS] = {0}, head = 0, applied = 0;
    const char *commands = cluster ? zcq_bench_cluster_commands (cluster) : NULL;
    bool ok = cluster
              && zcq_bench_setup_streams (&zcq_bench_bank_driver, (void *) commands, STREAMS, 8,
                                          versions)
                     == 0
              && zcq_bench_cluster_status (commands, true, "head", &head) == 0;
    int64_t deadline = zcq_bench_now () + 60 * (int64_t) 1000000000;
    while (ok && applied < head && zcq_bench_now () < deadline) {
        zcq_bench_cluster_status (zcq_bench_cluster_queries (cluster, 0), false, "applied",
                                  &applied);
        if (applied < head) {
            zcq_bench_sleep_ms (20);
        }
    }
    char name [64];
    snprintf (name, sizeof (name), "zcqrs, %s", storage);
    zcq_bench_queries_t queries = {ok ? zcq_bench_cluster_queries (cluster, 0) : NULL, STREAMS,
                                   NULL, 0};
    ok = ok && applied >= head
         && s_reads_runs (report, scenario, name,
                          "the account query of one query node (the record's msgpack map)",
                          zcq_bench_query_loop, &queries,
                          zcq_bench_cluster_query_proc (cluster, 0), runs, warmup_ms,
                          measure_ms);
    zcq_bench_cluster_destroy (&cluster);
    return ok;
}

//  zcqrs / peer, run by run, with the targets of issue 5
static void
s_ratios (zcq_bench_report_t *report, const char *scenario, const zcq_peer_t *peer)
{
    const char *ratios = "zcqrs / peer (same run; > 1: zcqrs more, < 1: zcqrs less)";
    const char *metrics [] = {"commands/s", "p50", "p99"};
    for (int index = 0; index < 3; index++) {
        zcq_bench_figure_t *ratio = zcq_bench_report_ratio (
            report, ratios, peer->name, metrics [index],
            zcq_bench_report_find (report, scenario, "zcqrs", metrics [index]),
            zcq_bench_report_find (report, scenario, peer->name, metrics [index]));
        if (ratio && index == 0 && peer == &zcq_peer_redis) {
            zcq_bench_figure_target (ratio, true, 2, "issues 5, 13");
        }
        if (ratio && index == 0 && peer == &zcq_peer_pg) {
            zcq_bench_figure_target (ratio, true, 3, "issues 5, 13");
        }
        if (ratio && index == 0 && peer == &zcq_peer_nats) {
            zcq_bench_figure_note (ratio, "NATS acks without fsync: not the same durability");
        }
    }
}

int
main (int argc, char **argv)
{
    zcq_bench_run_t run;
    if (zcq_bench_run_parse (&run, "zcq_peers", true, false, argc, argv) != 0) {
        return 2;
    }
    s_build = run.build;
    bool quick = run.quick;
    const char *only = run.only;
    int runs = 3, warmup_ms = quick ? 300 : 1000, measure_ms = quick ? 1000 : 5000;
    zcq_bench_report_t *report =
        zcq_bench_report_new ("zcqrs next to its peers (make bench-peers): medians of 3 runs");
    zcq_bench_run_context (&run, report);
    zcq_bench_report_context (report, "workload",
                              "closed loop: %d clients each waiting for its ack, %d streams, "
                              "~%d-byte events, expected versions; servers on loopback, data "
                              "in temporary folders",
                              CLIENTS, STREAMS, ZCQ_BENCH_EVENT_SIZE);
    zcq_bench_report_context (report, "runs", "%d per system, %d ms warm-up + %d ms measured",
                              runs, warmup_ms, measure_ms);
    printf ("  machine limits ...\n");
    double fsync_ms, rtt_ms;
    zcq_bench_raw_figures (report, runs, quick ? 300 : 1000, &fsync_ms, &rtt_ms);

    char scenario [128];
    snprintf (scenario, sizeof (scenario), "closed loop, %d clients, %d streams", CLIENTS,
              STREAMS);
    const zcq_peer_t *peers [] = {&s_zcqrs, &zcq_peer_redis, &zcq_peer_nats, &zcq_peer_pg};
    int measured = 0;
    bool appends = !only || !strcasestr ("reads", only);
    for (size_t index = 0; appends && index < sizeof (peers) / sizeof (peers [0]); index++) {
        if (!only || index == 0 || strcasestr (peers [index]->name, only)) {
            measured +=
                s_measure (peers [index], report, scenario, runs, warmup_ms, measure_ms);
        }
    }
    //  Point reads of one account record: the read side next to a cache and
    //  a database, 8 clients each
    char reads [128];
    snprintf (reads, sizeof (reads), "point reads, %d clients, %d accounts", READERS, STREAMS);
    bool all_reads = !only || strcasestr ("reads", only);
    if (all_reads || strcasestr ("zcqrs", only)) {
        measured +=
            s_measure_zcqrs_reads ("leveldb", report, reads, runs, warmup_ms, measure_ms);
        measured +=
            s_measure_zcqrs_reads ("memory", report, reads, runs, warmup_ms, measure_ms);
    }
    const zcq_peer_t *readers [] = {&zcq_peer_redis, &zcq_peer_pg};
    for (size_t index = 0; index < 2; index++) {
        if (all_reads || strcasestr (readers [index]->name, only)) {
            measured +=
                s_measure_reads (readers [index], report, reads, runs, warmup_ms, measure_ms);
        }
    }
    const char *read_ratios [][3] = {
        {"memory / Redis HGETALL", "zcqrs, memory", "Redis 7 HGETALL"},
        {"LevelDB / PostgreSQL SELECT", "zcqrs, leveldb", "PostgreSQL 15 SELECT"}};
    for (int index = 0; index < 2; index++) {
        zcq_bench_figure_t *ratio = zcq_bench_report_ratio (
            report, "point reads: zcqrs / peer (same run)", read_ratios [index][0], "reads/s",
            zcq_bench_report_find (report, reads, read_ratios [index][1], "reads/s"),
            zcq_bench_report_find (report, reads, read_ratios [index][2], "reads/s"));
        if (ratio) {
            zcq_bench_figure_target (ratio, true, index == 0 ? 1 : 2, "issue 14");
        }
    }
    zcq_bench_figure_t *zcqrs = zcq_bench_report_find (report, scenario, "zcqrs", "commands/s");
    if (zcqrs) {
        zcq_bench_figure_target (zcqrs, true, 60000, "issue 3");
    }
    for (size_t index = 1; index < sizeof (peers) / sizeof (peers [0]); index++) {
        s_ratios (report, scenario, peers [index]);
    }
    zcq_bench_run_finish (&run, report, "peers.json", "peers.svg");
    zcq_bench_report_destroy (&report);
    return measured > 0 ? 0 : 1;
}
