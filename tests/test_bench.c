/*  =========================================================================
    test_bench - the benchmark suite's own parts: latency percentiles, the
    report's medians, targets and ratios, the load runner's window, the
    closed loop's expected versions, the processes it starts, and the
    echo whose server runs in a child process
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_endpoint.h"

#include "../bench/zcq_bench_latency.h"
#include "../bench/zcq_bench_load.h"
#include "../bench/zcq_bench_proc.h"
#include "../bench/zcq_bench_raw.h"
#include "../bench/zcq_bench_report.h"
#include "../bench/zcq_bench_run.h"

#include <netinet/in.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_latency_percentiles_are_nearest_rank (void **state)
{
    (void) state;
    zcq_bench_latency_t *latency = zcq_bench_latency_new ();
    assert_true (zcq_bench_latency_ms (latency, 50) < 0);
    //  1 .. 100 ms, added out of order
    for (int index = 100; index >= 1; index--) {
        zcq_bench_latency_add (latency, (int64_t) index * 1000000);
    }
    assert_int_equal (zcq_bench_latency_count (latency), 100);
    assert_true (zcq_bench_latency_ms (latency, 50) == 50.0);
    assert_true (zcq_bench_latency_ms (latency, 99) == 99.0);
    assert_true (zcq_bench_latency_ms (latency, 99.9) == 100.0);
    assert_true (zcq_bench_latency_ms (latency, 0) == 1.0);

    //  Merging moves the samples: 100 more at 1,000 ms
    zcq_bench_latency_t *other = zcq_bench_latency_new ();
    for (int index = 0; index < 100; index++) {
        zcq_bench_latency_add (other, 1000000000);
    }
    zcq_bench_latency_merge (latency, other);
    assert_int_equal (zcq_bench_latency_count (other), 0);
    assert_int_equal (zcq_bench_latency_count (latency), 200);
    assert_true (zcq_bench_latency_ms (latency, 50) == 100.0);
    assert_true (zcq_bench_latency_ms (latency, 51) == 1000.0);
    zcq_bench_latency_destroy (&other);
    zcq_bench_latency_destroy (&latency);
    assert_null (latency);
}

//  Read a whole file into a new string.
static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char *text = (char *) calloc (1, 65536);
    size_t size = fread (text, 1, 65535, file);
    text [size] = 0;
    fclose (file);
    return text;
}

static void
test_report_medians_targets_and_ratios (void **state)
{
    (void) state;
    zcq_bench_report_t *report = zcq_bench_report_new ("test report");
    zcq_bench_report_context (report, "machine", "%d cores", 2);
    zcq_bench_figure_t *fast = zcq_bench_report_figure (report, "loop", "a", "ops", "/s");
    zcq_bench_figure_add (fast, 300);
    zcq_bench_figure_add (fast, 100);
    zcq_bench_figure_add (fast, 200);
    assert_true (zcq_bench_figure_median (fast) == 200);
    assert_int_equal (zcq_bench_figure_runs (fast), 3);
    //  The same names find the same figure
    assert_ptr_equal (zcq_bench_report_figure (report, "loop", "a", "ops", "/s"), fast);
    assert_ptr_equal (zcq_bench_report_find (report, "loop", "a", "ops"), fast);
    assert_null (zcq_bench_report_find (report, "loop", "b", "ops"));

    zcq_bench_figure_t *slow = zcq_bench_report_figure (report, "loop", "b", "ops", "/s");
    zcq_bench_figure_add (slow, 50);
    zcq_bench_figure_add (slow, 100);
    zcq_bench_figure_add (slow, -1); //  a failed measurement is not a value
    assert_int_equal (zcq_bench_figure_runs (slow), 2);
    assert_true (zcq_bench_figure_median (slow) == 75);

    //  Run by run: 300/50, 100/100
    zcq_bench_figure_t *ratio =
        zcq_bench_report_ratio (report, "gain", "a / b", "ops", fast, slow);
    assert_int_equal (zcq_bench_figure_runs (ratio), 2);
    assert_true (zcq_bench_figure_median (ratio) == 3.5);
    zcq_bench_figure_t *empty = zcq_bench_report_figure (report, "loop", "c", "ops", "/s");
    assert_null (zcq_bench_report_ratio (report, "gain", "a / c", "ops", fast, empty));

    zcq_bench_figure_target (fast, true, 150, "issue 1");
    zcq_bench_figure_target (slow, true, 80, "issue 2");
    zcq_bench_figure_t *latency = zcq_bench_report_figure (report, "loop", "a", "p99", "ms");
    zcq_bench_figure_add (latency, 0.5);
    zcq_bench_figure_target (latency, false, 1, "issue 3");
    zcq_bench_figure_note (latency, "a note of %d words", 5);
    zcq_bench_figure_add (zcq_bench_report_figure (report, "loop", "a", "CPU per 1k", "ms"),
                          25);

    char *dir = zcq_testkit_tmpdir ("bench-report");
    char *table = zsys_sprintf ("%s/table.txt", dir);
    FILE *file = fopen (table, "w");
    zcq_bench_report_print (report, file);
    fclose (file);
    char *text = s_slurp (table);
    assert_non_null (strstr (text, ">= 150 /s (issue 1): met"));
    assert_non_null (strstr (text, ">= 80.0 /s (issue 2): NOT met"));
    assert_non_null (strstr (text, "<= 1.00 ms (issue 3): met"));
    assert_non_null (strstr (text, "100 - 300 (3)"));
    assert_non_null (strstr (text, "(a note of 5 words)"));
    assert_non_null (strstr (text, "machine    2 cores"));
    free (text);

    char *json = zsys_sprintf ("%s/results.json", dir);
    assert_int_equal (zcq_bench_report_write_json (report, json), 0);
    text = s_slurp (json);
    assert_non_null (strstr (text, "\"runs\": [300, 100, 200], \"median\": 200, \"min\": 100, "
                                   "\"max\": 300"));
    assert_non_null (strstr (text, "\"target\": {\"at_least\": 80, \"source\": \"issue 2\", "
                                   "\"met\": false}"));
    assert_non_null (strstr (text, "\"machine\": \"2 cores\""));
    free (text);

    char *svg = zsys_sprintf ("%s/chart.svg", dir);
    assert_int_equal (zcq_bench_report_write_svg (report, svg), 0);
    text = s_slurp (svg);
    assert_true (strncmp (text, "<svg ", 5) == 0);
    assert_non_null (strstr (text, "loop · a · ops"));
    //  CPU per 1,000 is in ms like a latency, but drawn in its own panel
    char *latencies = strstr (text, "Latency in ms");
    char *cpu = strstr (text, "CPU ms per 1,000");
    assert_non_null (latencies);
    assert_non_null (cpu);
    assert_true (latencies < strstr (text, "loop · a · p99"));
    assert_true (strstr (text, "loop · a · p99") < cpu);
    assert_true (cpu < strstr (text, "loop · a · CPU per 1k"));
    assert_non_null (strstr (text, "</svg>"));
    free (text);
    assert_int_equal (zcq_bench_report_write_json (report, "/nonexistent/dir/x.json"), -1);

    zcq_testkit_rmtree (dir);
    zstr_free (&table);
    zstr_free (&json);
    zstr_free (&svg);
    free (dir);
    zcq_bench_report_destroy (&report);
    assert_null (report);
}

//  A worker that records one operation per millisecond and counts all
typedef struct {
    atomic_int calls; //  operations recorded, in or out of the window
} s_ticker_t;

static void
s_tick (zcq_bench_load_t *load, int worker, void *arg)
{
    s_ticker_t *ticker = (s_ticker_t *) arg;
    while (zcq_bench_load_running (load)) {
        zcq_bench_sleep_ms (1);
        zcq_bench_load_record (load, worker, 1000000, ZCQ_BENCH_DONE);
        atomic_fetch_add (&ticker->calls, 1);
    }
}

//  A worker that returns at once (a load with nothing to do)
static void
s_return (zcq_bench_load_t *load, int worker, void *arg)
{
    (void) load;
    (void) worker;
    (void) arg;
}

static void
s_edges (void *arg, bool opening)
{
    int *edges = (int *) arg;
    *edges += opening ? 1 : 10;
}

static void
test_load_counts_only_the_window (void **state)
{
    (void) state;
    s_ticker_t ticker = {0};
    int edges = 0;
    zcq_bench_load_t *load = zcq_bench_load_new (2, s_tick, &ticker);
    zcq_bench_load_set_window (load, s_edges, &edges);
    assert_int_equal (zcq_bench_load_workers (load), 2);
    assert_int_equal (zcq_bench_load_run (load, 200, 300), 0);
    assert_int_equal (edges, 11);
    uint64_t counted = zcq_bench_load_count (load, ZCQ_BENCH_DONE);
    //  The warm-up's operations are not counted
    assert_true (counted > 0);
    assert_true (counted < (uint64_t) atomic_load (&ticker.calls));
    assert_int_equal (zcq_bench_latency_count (zcq_bench_load_latency (load)), counted);
    assert_true (zcq_bench_latency_ms (zcq_bench_load_latency (load), 50) == 1.0);
    //  At most one per ms per worker fits in 300 ms
    assert_true (zcq_bench_load_rate (load) > 0 && zcq_bench_load_rate (load) <= 2000 * 1.1);
    assert_false (zcq_bench_load_running (load));
    zcq_bench_load_destroy (&load);

    //  Workers that are done end the window early
    load = zcq_bench_load_new (3, s_return, NULL);
    int64_t start = zcq_bench_now ();
    assert_int_equal (zcq_bench_load_run (load, 0, 60000), 0);
    assert_true (zcq_bench_now () - start < 10 * (int64_t) 1000000000);
    assert_int_equal (zcq_bench_load_count (load, ZCQ_BENCH_DONE), 0);
    zcq_bench_load_destroy (&load);
    assert_null (load);
}

//  An in-memory event store with optimistic concurrency: the closed loop
//  must always send the version the stream is at
#define STORE_STREAMS 10

typedef struct {
    pthread_mutex_t lock;              //  guards versions
    uint64_t versions [STORE_STREAMS]; //  the store's truth
    uint64_t moved;                    //  stream 0 moved on behind the clients' backs
} s_store_t;

static void *
s_store_connect (void *target, int client)
{
    (void) client;
    return target;
}

static zcq_bench_outcome_t
s_store_append (void *connection, int stream, uint64_t expect, uint64_t *version)
{
    s_store_t *store = (s_store_t *) connection;
    pthread_mutex_lock (&store->lock);
    zcq_bench_outcome_t outcome = ZCQ_BENCH_CONFLICT;
    if (store->versions [stream] == expect) {
        store->versions [stream]++;
        outcome = ZCQ_BENCH_DONE;
    }
    *version = store->versions [stream];
    pthread_mutex_unlock (&store->lock);
    return outcome;
}

static void
s_store_disconnect (void *connection)
{
    (void) connection;
}

static const zcq_bench_driver_t s_store_driver = {
    .name = "memory",
    .connect = s_store_connect,
    .append = s_store_append,
    .disconnect = s_store_disconnect,
};

//  The same store, saturated: it refuses everything
static atomic_int s_refusals;

static zcq_bench_outcome_t
s_refuse_append (void *connection, int stream, uint64_t expect, uint64_t *version)
{
    (void) connection;
    (void) stream;
    (void) expect;
    (void) version;
    atomic_fetch_add (&s_refusals, 1);
    return ZCQ_BENCH_REFUSED;
}

static const zcq_bench_driver_t s_refusing_driver = {
    .name = "refusing",
    .connect = s_store_connect,
    .append = s_refuse_append,
    .disconnect = s_store_disconnect,
};

static void
test_closed_loop_sends_expected_versions (void **state)
{
    (void) state;
    s_store_t store;
    memset (&store, 0, sizeof (store));
    pthread_mutex_init (&store.lock, NULL);
    uint64_t versions [STORE_STREAMS] = {0};
    assert_int_equal (
        zcq_bench_setup_streams (&s_store_driver, &store, STORE_STREAMS, 3, versions), 0);
    for (int stream = 0; stream < STORE_STREAMS; stream++) {
        assert_int_equal (versions [stream], 1);
        assert_int_equal (store.versions [stream], 1);
    }
    //  Creating them again conflicts: they exist, which is what setup wants
    assert_int_equal (
        zcq_bench_setup_streams (&s_store_driver, &store, STORE_STREAMS, 2, versions), 0);
    assert_int_equal (versions [3], 1);
    //  A system that refuses every append is tried a few times, then fails
    atomic_store (&s_refusals, 0);
    assert_int_equal (
        zcq_bench_setup_streams (&s_refusing_driver, &store, STORE_STREAMS, 2, versions), -1);
    assert_int_equal (atomic_load (&s_refusals), STORE_STREAMS * 5);

    //  Stream 0 moves on behind the clients' backs: one conflict (counted if
    //  it fell in the window), then the client resynchronises from the
    //  version the conflict reported; without that it would conflict forever
    store.versions [0] = 7;
    zcq_bench_closed_t closed = {&s_store_driver, &store, STORE_STREAMS, versions, 0};
    zcq_bench_load_t *load = zcq_bench_load_new (5, zcq_bench_closed_loop, &closed);
    assert_int_equal (zcq_bench_load_run (load, 0, 200), 0);
    assert_true (zcq_bench_load_count (load, ZCQ_BENCH_DONE) > 0);
    assert_true (zcq_bench_load_count (load, ZCQ_BENCH_CONFLICT) <= 1);
    for (int stream = 0; stream < STORE_STREAMS; stream++) {
        assert_int_equal (versions [stream], store.versions [stream]);
    }
    zcq_bench_load_destroy (&load);

    //  More clients than streams cannot each own a stream
    load = zcq_bench_load_new (STORE_STREAMS + 1, zcq_bench_closed_loop, &closed);
    assert_int_equal (zcq_bench_load_run (load, 0, 100), -1);
    zcq_bench_load_destroy (&load);
    pthread_mutex_destroy (&store.lock);
}

static void
test_paced_loop_keeps_its_rate (void **state)
{
    (void) state;
    s_store_t store;
    memset (&store, 0, sizeof (store));
    pthread_mutex_init (&store.lock, NULL);
    uint64_t versions [STORE_STREAMS] = {0};
    zcq_bench_closed_t closed = {&s_store_driver, &store, STORE_STREAMS, versions, 200};
    zcq_bench_load_t *load = zcq_bench_load_new (4, zcq_bench_closed_loop, &closed);
    assert_int_equal (zcq_bench_load_run (load, 100, 500), 0);
    //  200/s for 0.5 s: about 100, never thousands as an unpaced loop does
    uint64_t done = zcq_bench_load_count (load, ZCQ_BENCH_DONE);
    assert_true (done >= 50 && done <= 150);
    zcq_bench_load_destroy (&load);
    pthread_mutex_destroy (&store.lock);
}

static void
test_processes_are_stopped_by_pid (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("bench-proc");
    char *log = zsys_sprintf ("%s/sleep.log", dir);
    const char *sleeper [] = {"/bin/sleep", "60", NULL};
    zcq_bench_proc_t *proc = zcq_bench_proc_start (sleeper, log, NULL);
    assert_non_null (proc);
    pid_t pid = zcq_bench_proc_pid (proc);
    assert_true (pid > 0);
    assert_true (zcq_bench_proc_alive (proc));
    assert_true (zcq_bench_proc_cpu (proc) >= 0);
    assert_true (zcq_bench_proc_peak_rss (proc) > 0);
    assert_string_equal (zcq_bench_proc_log (proc), log);
    int status = zcq_bench_proc_stop (&proc, SIGTERM, 5000);
    assert_null (proc);
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM);
    assert_int_equal (kill (pid, 0), -1); //  gone and reaped

    //  Signal 0 waits for a program to end by itself and gives its status
    const char *shell [] = {"/bin/sh", "-c", "echo to the log; exit 3", NULL};
    proc = zcq_bench_proc_start (shell, log, NULL);
    status = zcq_bench_proc_stop (&proc, 0, 5000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 3);
    char *text = s_slurp (log);
    assert_non_null (strstr (text, "to the log"));
    free (text);

    //  A program that is not there exits 127; kill_all stops what runs
    const char *missing [] = {"/nonexistent/program", NULL};
    proc = zcq_bench_proc_start (missing, log, NULL);
    status = zcq_bench_proc_stop (&proc, 0, 5000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 127);
    proc = zcq_bench_proc_start (sleeper, log, NULL);
    pid = zcq_bench_proc_pid (proc);
    assert_int_equal (zcq_bench_proc_kill_all (), 1);
    assert_int_equal (kill (pid, 0), -1);
    zcq_bench_proc_stop (&proc, SIGTERM, 1000); //  its process is gone already
    assert_null (proc);
    assert_null (zcq_bench_proc_start (sleeper, "/nonexistent/dir/log", NULL));

    //  Free ports lie outside the kernel's ephemeral range (no outgoing
    //  connection can take one before a node binds it) and a node binds them
    int low = 32768, high = 60999;
    FILE *range = fopen ("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (range) {
        assert_int_equal (fscanf (range, "%d %d", &low, &high), 2);
        fclose (range);
    }
    for (int round = 0; round < 20; round++) {
        int port = zcq_endpoint_free_port ();
        assert_true (port > 1023 && port < 65536);
        assert_true (port < low || port > high);
        //  (a plain socket: a ZeroMQ one would start CZMQ's signal handling,
        //  which the next test's SIGTERM must not meet; bound as ZeroMQ
        //  binds, so that another process's old connection on the port,
        //  left in TIME_WAIT, does not count)
        int fd = socket (AF_INET, SOCK_STREAM, 0);
        int on = 1;
        assert_int_equal (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof (on)), 0);
        struct sockaddr_in address = {.sin_family = AF_INET,
                                      .sin_port = htons ((uint16_t) port)};
        address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        assert_int_equal (bind (fd, (struct sockaddr *) &address, sizeof (address)), 0);
        close (fd);
    }
    zcq_testkit_rmtree (dir);
    zstr_free (&log);
    free (dir);
}

//  A process never gets the same free port twice: a cluster picks all its
//  ports before its nodes bind them, and 2,000 random picks from the ports
//  below the ephemeral range would repeat some a hundred times over.
//  Sleeps are counted over every thread of a node, and of this process: a
//  shell that waits for twenty children in turn has slept at least twenty
//  times (each wait for a child is one)
static void
test_sleeps_are_counted_per_process (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("bench-sleeps");
    char *log = zsys_sprintf ("%s/sleeps.log", dir);
    const char *waiter [] = {
        "/bin/sh", "-c",
        "i=0; while [ $i -lt 20 ]; do sleep 0.01; i=$((i+1)); done; exec sleep 60", NULL};
    zcq_bench_proc_t *proc = zcq_bench_proc_start (waiter, log, NULL);
    assert_non_null (proc);
    int64_t deadline = zclock_mono () + 10000;
    double sleeps = zcq_bench_proc_sleeps (proc);
    while (sleeps < 20 && zclock_mono () < deadline) {
        zclock_sleep (10);
        sleeps = zcq_bench_proc_sleeps (proc);
    }
    assert_true (sleeps >= 20);
    zcq_bench_proc_stop (&proc, SIGTERM, 5000);
    assert_true (zcq_bench_proc_sleeps (proc) < 0); //  no process: none known

    double own = zcq_bench_own_sleeps ();
    for (int count = 0; count < 3; count++) {
        zclock_sleep (1);
    }
    assert_true (zcq_bench_own_sleeps () >= own + 3);

    //  The machine's fsync probe says how often it slept per fdatasync
    double median = -1, slept = -1;
    assert_true (zcq_bench_fsync_rate (dir, 20, &median, &slept) > 0);
    assert_true (median >= 0 && slept >= 0);
    zstr_free (&log);
    zcq_testkit_rmtree (dir);
    zstr_free (&dir);
}

static void
test_free_ports_are_never_handed_out_twice (void **state)
{
    (void) state;
    static uint8_t seen [65536];
    memset (seen, 0, sizeof (seen));
    for (int round = 0; round < 2000; round++) {
        int port = zcq_endpoint_free_port ();
        assert_true (port > 1023 && port < 65536);
        assert_int_equal (seen [port], 0);
        seen [port] = 1;
    }
}

//  Nor do two processes that pick ports at the same time (one starting a
//  cluster's nodes while another test or a benchmark starts its own) ever
//  get the same one: 2,000 picks each would share some 300 ports.
static void
test_free_ports_are_never_handed_to_two_processes (void **state)
{
    (void) state;
    int ports [2], go [2];
    assert_int_equal (pipe (ports), 0);
    assert_int_equal (pipe (go), 0);
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        //  Picks its ports, says which, and keeps them until the parent is done
        close (ports [0]);
        close (go [1]);
        for (int round = 0; round < 2000; round++) {
            int port = zcq_endpoint_free_port ();
            if (write (ports [1], &port, sizeof (port)) != (ssize_t) sizeof (port)) {
                _exit (1);
            }
        }
        close (ports [1]);
        char done;
        _exit (read (go [0], &done, 1) == 0 ? 0 : 1);
    }
    close (ports [1]);
    close (go [0]);
    static uint8_t theirs [65536];
    memset (theirs, 0, sizeof (theirs));
    int port = 0, count = 0, invalid = 0, shared = 0;
    while (read (ports [0], &port, sizeof (port)) == (ssize_t) sizeof (port)) {
        invalid += port <= 1023 || port >= 65536;
        theirs [port > 0 && port < 65536 ? port : 0] = 1;
        count++;
    }
    close (ports [0]);
    for (int round = 0; round < 2000; round++) {
        port = zcq_endpoint_free_port ();
        invalid += port <= 1023 || port >= 65536;
        shared += port > 1023 && port < 65536 && theirs [port];
    }
    //  The child ends as its pipe closes, before anything is asserted
    close (go [1]);
    int status = 0;
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    assert_int_equal (count, 2000);
    assert_int_equal (invalid, 0);
    assert_int_equal (shared, 0);
}

static void
test_interrupted_benchmark_leaves_nothing_behind (void **state)
{
    (void) state;
    int channel [2];
    assert_int_equal (pipe (channel), 0);
    pid_t bench = fork ();
    assert_true (bench >= 0);
    if (bench == 0) {
        //  A benchmark with a folder and a server, stopped by SIGTERM
        char *folder = zcq_bench_tmpdir ("leftover");
        char *log = zsys_sprintf ("%s/sleep.log", folder);
        const char *sleeper [] = {"/bin/sleep", "60", NULL};
        zcq_bench_proc_t *proc = zcq_bench_proc_start (sleeper, log, NULL);
        pid_t pid = zcq_bench_proc_pid (proc);
        char line [600];
        int size = snprintf (line, sizeof (line), "%d %s\n", (int) pid, folder);
        if (write (channel [1], line, (size_t) size) != size) {
            _exit (3);
        }
        raise (SIGTERM);
        _exit (4); //  not reached: the handler exits
    }
    close (channel [1]);
    char line [600] = "";
    ssize_t size = read (channel [0], line, sizeof (line) - 1);
    close (channel [0]);
    assert_true (size > 0);
    line [size] = 0;
    int pid = 0;
    char folder [512] = "";
    assert_int_equal (sscanf (line, "%d %511s", &pid, folder), 2);
    int status = 0;
    assert_int_equal (waitpid (bench, &status, 0), bench);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 128 + SIGTERM);
    assert_int_equal (kill (pid, 0), -1);         //  its server was stopped
    assert_int_equal (access (folder, F_OK), -1); //  its data removed
}

//  The echo with its server apart answers its clients, gives the clients'
//  CPU per 1,000 requests, and leaves no child behind (the server leaves
//  when the pipe it watches closes; a server that did not would hang the
//  call, which the alarm turns into a failure)
static void
test_echo_apart_answers_and_its_server_leaves (void **state)
{
    (void) state;
    alarm (20);
    double cpu_ms = -1;
    double rate = zcq_bench_echo_apart (4, 1, 200, &cpu_ms);
    alarm (0);
    assert_true (rate > 0);
    assert_true (cpu_ms > 0);
    errno = 0;
    assert_int_equal (waitpid (-1, NULL, WNOHANG), -1);
    assert_int_equal (errno, ECHILD);
}

//  --pace is taken by a program that asks for it, as a rate above zero;
//  a program that does not, a rate of zero or a word, is refused
static void
test_pace_is_parsed_only_where_asked (void **state)
{
    (void) state;
    zcq_bench_run_t run;
    char *paced [] = {"zcq_bench", "--quick", "--pace", "8000", "--only", "half", NULL};
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_bench", true, true, 6, paced), 0);
    assert_true (run.pace == 8000);
    assert_true (run.quick);
    assert_string_equal (run.only, "half");
    char *plain [] = {"zcq_bench", "--only", "half", NULL};
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_bench", true, true, 3, plain), 0);
    assert_true (run.pace == 0);
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_peers", true, false, 4, paced), -1);
    char *zero [] = {"zcq_bench", "--pace", "0", NULL};
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_bench", true, true, 3, zero), -1);
    char *word [] = {"zcq_bench", "--pace", "fast", NULL};
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_bench", true, true, 3, word), -1);
    char *trailing [] = {"zcq_bench", "--pace", "8000x", NULL};
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_bench", true, true, 3, trailing), -1);
    char *missing [] = {"zcq_bench", "--pace", NULL};
    assert_int_equal (zcq_bench_run_parse (&run, "zcq_bench", true, true, 2, missing), -1);
}

//  A process stopped at once, before it ran its program, still ends by the
//  signal it was sent, and leaves the benchmark's other processes running:
//  the benchmark's own handler (stop everything, remove the folders) must
//  not run in a child
static void
test_a_process_stopped_at_its_start_ends_by_its_signal (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("bench-early");
    char *log = zsys_sprintf ("%s/sleep.log", dir);
    const char *sleeper [] = {"/bin/sleep", "60", NULL};
    zcq_bench_proc_t *sibling = zcq_bench_proc_start (sleeper, log, NULL);
    assert_non_null (sibling);
    for (int round = 0; round < 20; round++) {
        zcq_bench_proc_t *proc = zcq_bench_proc_start (sleeper, log, NULL);
        assert_non_null (proc);
        int status = zcq_bench_proc_stop (&proc, SIGTERM, 5000);
        assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM);
        assert_true (zcq_bench_proc_alive (sibling));
    }
    zcq_bench_proc_stop (&sibling, SIGTERM, 5000);
    zstr_free (&log);
    zcq_testkit_rmtree (dir);
    zstr_free (&dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_latency_percentiles_are_nearest_rank),
        cmocka_unit_test (test_pace_is_parsed_only_where_asked),
        cmocka_unit_test (test_report_medians_targets_and_ratios),
        cmocka_unit_test (test_load_counts_only_the_window),
        cmocka_unit_test (test_closed_loop_sends_expected_versions),
        cmocka_unit_test (test_paced_loop_keeps_its_rate),
        cmocka_unit_test (test_processes_are_stopped_by_pid),
        cmocka_unit_test (test_a_process_stopped_at_its_start_ends_by_its_signal),
        cmocka_unit_test (test_sleeps_are_counted_per_process),
        cmocka_unit_test (test_free_ports_are_never_handed_out_twice),
        cmocka_unit_test (test_free_ports_are_never_handed_to_two_processes),
        cmocka_unit_test (test_interrupted_benchmark_leaves_nothing_behind),
        cmocka_unit_test (test_echo_apart_answers_and_its_server_leaves),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
