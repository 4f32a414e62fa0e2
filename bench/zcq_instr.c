/*  =========================================================================
    zcq_instr - `make bench-instr`: instructions per command of the write
    node and per event applied of the query node, counted by callgrind, so
    that a change that costs more instructions shows up in review even on
    a noisy machine where times vary

        zcq_instr [--build DIR] [--out DIR] [--baseline FILE] [--update]
                  [--commands N] [--only write,client,closed,query,write-closed]
        zcq_instr --client ENDPOINT [--commands N] [--closed]

    Write node: the node program runs under valgrind --tool=callgrind
    (--trace-children=no) and is stopped with SIGTERM, so that callgrind
    writes its counts; twice, with the same start (1,000 accounts opened)
    and 0 or N (100,000) pipelined bank commands after it: the difference
    over N is the cost of one command, start-up and shutdown cancelled out.
    Write node, closed (write-closed): the same start, then N / 10 commands
    of one client in a closed loop: every command a group of its own, so
    the cost of one command's whole way through the node (decide, batch,
    write and fdatasync, memtable, reply, publish), the latency path that
    the pipelined figure shares out over groups of many.
    Query node: the same with a fresh query node under callgrind catching
    up with a log of 1,000 events, then with 1,000 + N events.
    Client: the benchmark's own client process (zcq_instr --client, the
    same 1,000 accounts opened and the same N pipelined commands over the
    client library) runs under callgrind against a write node that runs
    at full speed, with 0 and N commands: what the client library and its
    ZeroMQ threads cost per command in the benchmark's client process;
    and the same for one client in a closed loop (N / 10 commands, each
    sent when the last one was answered: a request's whole path).

    Prints the figures next to the baseline file's (the last committed
    figures) and the difference; --update writes the new figures there.
    Also prints the write node's top functions by inclusive and by self
    cost (callgrind_annotate), and keeps the profiles in DIR/bench/.
    =========================================================================
*/

#include "zcq_bench_cluster.h"
#include "zcq_bench_load.h"
#include "zcq_bench_zcqrs.h"

#include "zcqrs.h"

#include <signal.h>
#include <sys/stat.h>

#define ACCOUNTS 1000 //  opened in every run, before the measured commands
#define VALGRIND "/usr/bin/valgrind"
#define READY_MS 120000 //  a node under valgrind starts slowly
#define QUERY_MS 3000   //  ms of account queries the query node answers

typedef struct {
    const char *build;   //  folder of the node programs
    char out [512];      //  where profiles and figures go
    uint64_t commands;   //  N
    const char *storage; //  read-model backend of the live query node
} s_instr_t;

//  The total instruction count of a callgrind output file, or -1.
static double
s_callgrind_total (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "zcq_instr: no callgrind output %s\n", path);
        return -1;
    }
    char line [512];
    double total = -1;
    while (fgets (line, sizeof (line), file)) {
        unsigned long long count;
        if (sscanf (line, "totals: %llu", &count) == 1
            || (total < 0 && sscanf (line, "summary: %llu", &count) == 1)) {
            total = (double) count;
        }
    }
    fclose (file);
    return total;
}

//  Send `count` pipelined bank commands (4 clients x 64 in flight).
static int
s_drive (const char *commands, uint64_t *versions, uint64_t count)
{
    if (count == 0) {
        return 0;
    }
    zcq_bench_pipeline_t pipeline = {.commands = commands,
                                     .streams = ACCOUNTS,
                                     .versions = versions,
                                     .window = 64,
                                     .limit = count};
    zcq_bench_load_t *load = zcq_bench_load_new (4, zcq_bench_pipelined, &pipeline);
    int rc = zcq_bench_load_run (load, 0, 3600 * 1000);
    uint64_t done = zcq_bench_load_count (load, ZCQ_BENCH_DONE);
    if (rc == 0 && done != count) {
        fprintf (stderr,
                 "zcq_instr: %" PRIu64 " of %" PRIu64 " commands accepted (%" PRIu64
                 " conflicts, %" PRIu64 " refused, %" PRIu64 " busy answers)\n",
                 done, count, zcq_bench_load_count (load, ZCQ_BENCH_CONFLICT),
                 zcq_bench_load_count (load, ZCQ_BENCH_REFUSED), (uint64_t) pipeline.busy);
        rc = -1;
    }
    zcq_bench_load_destroy (&load);
    return rc;
}

//  One client in a closed loop: `count` commands over the accounts in
//  turn, each sent when the last one's reply came. Returns 0 or -1.
static int
s_drive_closed (const char *endpoint, uint64_t *versions, uint64_t count)
{
    const zcq_bench_driver_t *driver = &zcq_bench_bank_driver;
    void *connection = count ? driver->connect ((void *) endpoint, 0) : NULL;
    int rc = count && !connection ? -1 : 0;
    for (uint64_t done = 0; rc == 0 && done < count; done++) {
        int account = (int) (done % ACCOUNTS);
        if (driver->append (connection, account, versions [account], &versions [account])
            != ZCQ_BENCH_DONE) {
            fprintf (stderr, "zcq_instr: command %" PRIu64 " was not accepted\n", done + 1);
            rc = -1;
        }
    }
    if (connection) {
        driver->disconnect (connection);
    }
    return rc;
}

//  The client process (--client): open the accounts on the write node at
//  endpoint, send `count` commands (pipelined, or closed-loop by one
//  client), exit (0 when all were accepted).
static int
s_client_main (const char *endpoint, uint64_t count, bool closed)
{
    uint64_t versions [ACCOUNTS] = {0};
    int rc = zcq_bench_setup_streams (&zcq_bench_bank_driver, (void *) endpoint, ACCOUNTS, 4,
                                      versions);
    if (rc == 0) {
        rc = closed ? s_drive_closed (endpoint, versions, count)
                    : s_drive (endpoint, versions, count);
    }
    return rc == 0 ? 0 : 1;
}

//  A fresh write node (not under valgrind) and this program as its client
//  under callgrind, sending `count` commands (closed: one client, one
//  command at a time). Returns the client's instruction count, or -1.
static double
s_client_run (s_instr_t *self, const char *program, uint64_t count, bool closed,
              const char *profile)
{
    zcq_bench_cluster_config_t config = {self->build, "bank", "sync", 0, 0,
                                         NULL,        NULL,   NULL,   0};
    zcq_bench_cluster_t *cluster = zcq_bench_cluster_new (&config, READY_MS);
    if (!cluster) {
        return -1;
    }
    char option [600], number [32], log [600];
    snprintf (option, sizeof (option), "--callgrind-out-file=%s", profile);
    snprintf (number, sizeof (number), "%" PRIu64, count);
    snprintf (log, sizeof (log), "%s/client.log", self->out);
    const char *argv [] = {VALGRIND,
                           "--tool=callgrind",
                           "--trace-children=no",
                           option,
                           program,
                           "--client",
                           zcq_bench_cluster_commands (cluster),
                           "--commands",
                           number,
                           closed ? "--closed" : NULL,
                           NULL};
    zcq_bench_proc_t *proc = zcq_bench_proc_start (argv, log, NULL);
    //  Signal 0 sends nothing: wait for the client to finish on its own
    int status = proc ? zcq_bench_proc_stop (&proc, 0, 3600 * 1000) : -1;
    zcq_bench_cluster_destroy (&cluster);
    if (status != 0) {
        fprintf (stderr, "zcq_instr: the client under callgrind failed (see %s)\n", log);
        return -1;
    }
    return s_callgrind_total (profile);
}

//  Write node under callgrind: open the accounts, send `count` commands
//  (pipelined, or closed: one client, one command at a time), stop.
//  Returns its instruction count, or -1.
static double
s_write_run (s_instr_t *self, uint64_t count, bool closed, const char *profile)
{
    char option [600];
    snprintf (option, sizeof (option), "--callgrind-out-file=%s", profile);
    const char *tool [] = {VALGRIND, "--tool=callgrind", "--trace-children=no", option, NULL};
    zcq_bench_cluster_config_t config = {self->build, "bank", "sync", 0, 0,
                                         tool,        NULL,   NULL,   0};
    zcq_bench_cluster_t *cluster = zcq_bench_cluster_new (&config, READY_MS);
    uint64_t versions [ACCOUNTS] = {0};
    int rc = cluster ? 0 : -1;
    if (rc == 0) {
        const char *commands = zcq_bench_cluster_commands (cluster);
        rc = zcq_bench_setup_streams (&zcq_bench_bank_driver, (void *) commands, ACCOUNTS, 4,
                                      versions);
        rc = rc == 0 ? closed ? s_drive_closed (commands, versions, count)
                              : s_drive (commands, versions, count)
                     : rc;
    }
    //  SIGTERM: the node exits cleanly and callgrind writes the profile
    zcq_bench_cluster_destroy (&cluster);
    return rc == 0 ? s_callgrind_total (profile) : -1;
}

//  A fresh query node under callgrind catching up with the log of the
//  cluster's write node; returns its instruction count, or -1.
static double
s_query_run (zcq_bench_cluster_t *cluster, const char *profile)
{
    uint64_t head = 0, applied = 0;
    if (zcq_bench_cluster_status (zcq_bench_cluster_commands (cluster), true, "head", &head)
        != 0) {
        return -1;
    }
    zcq_bench_proc_t *proc = NULL;
    char endpoint [64];
    if (zcq_bench_cluster_add_query (cluster, "instr", &proc, endpoint, sizeof (endpoint)) != 0
        || zcq_bench_cluster_wait_ready (endpoint, false, READY_MS) != 0) {
        zcq_bench_proc_stop (&proc, SIGKILL, 1000);
        return -1;
    }
    int64_t deadline = zcq_bench_now () + 3600 * (int64_t) 1000000000;
    while (applied < head && zcq_bench_now () < deadline && zcq_bench_proc_alive (proc)) {
        //  Seldom: status queries cost instructions too (the same in both runs)
        zcq_bench_sleep_ms (250);
        zcq_bench_cluster_status (endpoint, false, "applied", &applied);
    }
    zcq_bench_proc_stop (&proc, SIGTERM, 60000);
    if (applied < head) {
        fprintf (stderr, "zcq_instr: the query node applied %" PRIu64 " of %" PRIu64 "\n",
                 applied, head);
        return -1;
    }
    return s_callgrind_total (profile);
}

//  Query node: catch up with 1,000 events, then with 1,000 + N.
static double
s_query_cost (s_instr_t *self)
{
    char zero [600], full [600], option [700];
    snprintf (zero, sizeof (zero), "%s/query-zero.callgrind", self->out);
    snprintf (full, sizeof (full), "%s/query.callgrind", self->out);
    //  The cluster starts added query nodes under this tool; the option
    //  word names the profile of the next run
    const char *tool [] = {VALGRIND, "--tool=callgrind", "--trace-children=no", option, NULL};
    zcq_bench_cluster_config_t config = {self->build, "bank", "sync",        0, 0,
                                         NULL,        tool,   self->storage, 0};
    zcq_bench_cluster_t *cluster = zcq_bench_cluster_new (&config, READY_MS);
    if (!cluster) {
        return -1;
    }
    uint64_t versions [ACCOUNTS] = {0};
    const char *commands = zcq_bench_cluster_commands (cluster);
    double before = -1, after = -1;
    snprintf (option, sizeof (option), "--callgrind-out-file=%s", zero);
    if (zcq_bench_setup_streams (&zcq_bench_bank_driver, (void *) commands, ACCOUNTS, 4,
                                 versions)
        == 0) {
        before = s_query_run (cluster, zero);
    }
    snprintf (option, sizeof (option), "--callgrind-out-file=%s", full);
    if (before >= 0 && s_drive (commands, versions, self->commands) == 0) {
        after = s_query_run (cluster, full);
    }
    zcq_bench_cluster_destroy (&cluster);
    return before >= 0 && after >= 0 ? (after - before) / (double) self->commands : -1;
}

//  Wait until the query node at endpoint has applied the write node's
//  head (at most an hour); returns 0, or -1.
static int
s_await_applied (zcq_bench_cluster_t *cluster, const char *endpoint)
{
    uint64_t head = 0, applied = 0;
    if (zcq_bench_cluster_status (zcq_bench_cluster_commands (cluster), true, "head", &head)
        != 0) {
        return -1;
    }
    int64_t deadline = zcq_bench_now () + 3600 * (int64_t) 1000000000;
    while (applied < head && zcq_bench_now () < deadline) {
        zcq_bench_sleep_ms (250);
        zcq_bench_cluster_status (endpoint, false, "applied", &applied);
    }
    return applied >= head ? 0 : -1;
}

//  A query node under callgrind that follows the write node live (started
//  with the cluster, caught up with the 1,000 accounts) while `count`
//  commands are sent, then answers `account` queries from 8 clients for
//  query_ms (0: none; *queries is how many it answered). Returns its
//  instruction count, or -1.
static double
s_live_run (s_instr_t *self, uint64_t count, int query_ms, uint64_t *queries,
            const char *profile)
{
    char option [700];
    snprintf (option, sizeof (option), "--callgrind-out-file=%s", profile);
    const char *tool [] = {VALGRIND, "--tool=callgrind", "--trace-children=no", option, NULL};
    zcq_bench_cluster_config_t config = {self->build, "bank", "sync",        0, 1,
                                         NULL,        tool,   self->storage, 0};
    zcq_bench_cluster_t *cluster = zcq_bench_cluster_new (&config, READY_MS);
    uint64_t versions [ACCOUNTS] = {0};
    int rc = cluster ? 0 : -1;
    if (rc == 0) {
        const char *commands = zcq_bench_cluster_commands (cluster);
        const char *endpoint = zcq_bench_cluster_queries (cluster, 0);
        rc = zcq_bench_setup_streams (&zcq_bench_bank_driver, (void *) commands, ACCOUNTS, 4,
                                      versions);
        rc = rc == 0 ? s_await_applied (cluster, endpoint) : rc;
        rc = rc == 0 ? s_drive (commands, versions, count) : rc;
        rc = rc == 0 ? s_await_applied (cluster, endpoint) : rc;
        if (rc == 0 && query_ms > 0) {
            zcq_bench_queries_t loop = {endpoint, ACCOUNTS, NULL, 0};
            zcq_bench_load_t *load = zcq_bench_load_new (8, zcq_bench_query_loop, &loop);
            rc = zcq_bench_load_run (load, 0, query_ms);
            *queries = zcq_bench_load_count (load, ZCQ_BENCH_DONE);
            zcq_bench_load_destroy (&load);
        }
    }
    zcq_bench_cluster_destroy (&cluster);
    return rc == 0 ? s_callgrind_total (profile) : -1;
}

//  Print the first `lines` function lines of callgrind_annotate's output.
static void
s_top (const char *profile, bool inclusive, int lines, FILE *copy)
{
    char command [1024];
    snprintf (command, sizeof (command), "callgrind_annotate %s %s 2>/dev/null",
              inclusive ? "--inclusive=yes" : "--inclusive=no", profile);
    FILE *pipe = popen (command, "r");
    if (!pipe) {
        return;
    }
    char line [1024];
    int printed = 0;
    bool table = false;
    while (fgets (line, sizeof (line), pipe)) {
        //  The function table follows the line naming the file:function column
        if (!table) {
            table = strstr (line, "file:function") != NULL;
            continue;
        }
        char *function = strstr (line, ")  ");
        if (printed < lines && function && line [0] != '-') {
            //  "count (pct)  dir/file.c:function [dir/object]": keep the
            //  base names of the file and the object
            *function = 0;
            function += 3;
            function [strcspn (function, "\n")] = 0;
            //  A line without an object repeats an inlined file's share
            char *object = strstr (function, " [");
            if (!object) {
                continue;
            }
            *object = 0;
            object += 2;
            object [strcspn (object, "]")] = 0;
            object = strrchr (object, '/') ? strrchr (object, '/') + 1 : object;
            char *colon = strrchr (function, ':');
            char *file = function;
            for (char *at = function; colon && at < colon; at++) {
                file = *at == '/' ? at + 1 : file;
            }
            char text [2200];
            snprintf (text, sizeof (text), "    %s)  %s  [%s]\n", line, file, object);
            fputs (text, stdout);
            fputs (text, copy);
            printed++;
        }
    }
    pclose (pipe);
}

//  One figure of the report
typedef struct {
    const char *name;  //  as --only names it
    const char *key;   //  in the baseline file
    const char *label; //  as printed
    double value;      //  instructions, measured or the baseline's; -1: none
    bool measured;     //  in this run
} s_figure_t;

//  The figures: write node, client pipelined and closed-loop, query node
//  catching up, following live, answering queries, write node under one
//  closed-loop client (every command a group of one: the latency path)
#define FIGURES 7

//  True if figure `name` is in the comma-separated list (NULL: all).
static bool
s_wanted (const char *only, const char *name)
{
    size_t length = strlen (name);
    for (const char *at = only; at && *at;
         at = strchr (at, ',') ? strchr (at, ',') + 1 : NULL) {
        if (strncmp (at, name, length) == 0 && (at [length] == ',' || at [length] == 0)) {
            return true;
        }
    }
    return only == NULL;
}

//  Read a figure "key value" from the baseline file; -1 if absent.
static double
s_baseline (const char *path, const char *key)
{
    FILE *file = path ? fopen (path, "r") : NULL;
    char line [256], name [128];
    double value = -1, found;
    while (file && fgets (line, sizeof (line), file)) {
        if (sscanf (line, "%127s %lf", name, &found) == 2 && streq (name, key)) {
            value = found;
        }
    }
    if (file) {
        fclose (file);
    }
    return value;
}

static void
s_compare (const char *what, double now, double before)
{
    if (before > 0 && now > 0) {
        printf ("  %-42s %10.0f   baseline %10.0f   %+.1f%%\n", what, now, before,
                100.0 * (now - before) / before);
    }
    else {
        printf ("  %-42s %10.0f   (no baseline)\n", what, now);
    }
}

int
main (int argc, char **argv)
{
    s_instr_t self = {.build = "build", .commands = 100000, .storage = "leveldb"};
    const char *baseline = NULL, *out = NULL, *client = NULL, *only = NULL;
    bool update = false, closed = false;
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--build") && index + 1 < argc) {
            self.build = argv [++index];
        }
        else if (streq (argv [index], "--out") && index + 1 < argc) {
            out = argv [++index];
        }
        else if (streq (argv [index], "--baseline") && index + 1 < argc) {
            baseline = argv [++index];
        }
        else if (streq (argv [index], "--commands") && index + 1 < argc) {
            self.commands = strtoull (argv [++index], NULL, 10);
        }
        else if (streq (argv [index], "--storage") && index + 1 < argc) {
            self.storage = argv [++index];
        }
        else if (streq (argv [index], "--update")) {
            update = true;
        }
        else if (streq (argv [index], "--only") && index + 1 < argc) {
            only = argv [++index];
        }
        else if (streq (argv [index], "--closed")) {
            closed = true;
        }
        else if (streq (argv [index], "--client") && index + 1 < argc) {
            client = argv [++index];
        }
        else {
            fprintf (stderr, "usage: zcq_instr [--build DIR] [--out DIR] [--baseline FILE] "
                             "[--update] [--commands N]\n"
                             "                 [--only write,client,closed,query,live,queries,"
                             "write-closed] "
                             "[--storage leveldb|memory]\n"
                             "       zcq_instr --client ENDPOINT [--commands N] [--closed]\n");
            return 2;
        }
    }
    //  Before any thread opens a socket: czmq sets itself up once
    zsys_init ();
    zsys_set_logstream (stderr);
    if (client) {
        return s_client_main (client, self.commands, closed);
    }
    if (self.commands == 0) {
        fprintf (stderr, "zcq_instr: --commands must be at least 1\n");
        return 2;
    }
    if (access (VALGRIND, X_OK) != 0) {
        fprintf (stderr, "zcq_instr: needs %s (deploy/install-deps.sh peers)\n", VALGRIND);
        return 1;
    }
    char program [512];
    ssize_t length = readlink ("/proc/self/exe", program, sizeof (program) - 1);
    if (length <= 0) {
        fprintf (stderr, "zcq_instr: cannot find its own program (/proc/self/exe)\n");
        return 1;
    }
    program [length] = 0;
    snprintf (self.out, sizeof (self.out), "%s", out ? out : self.build);
    if (!out) {
        snprintf (self.out, sizeof (self.out), "%s/bench", self.build);
    }
    mkdir (self.out, 0755);
    printf ("zcq_instr: %" PRIu64 " bank commands on %d accounts, under callgrind\n",
            self.commands, ACCOUNTS);
    //  Each figure: measured (--only), else the baseline's, so that an
    //  update of one figure keeps the others
    s_figure_t figures [FIGURES] = {
        {"write", "write_node_instructions_per_command", "write node, per command", -1, false},
        {"client", "client_instructions_per_command", "benchmark client process, per command",
         -1, false},
        {"closed", "client_closed_instructions_per_command",
         "the same, one client in a closed loop", -1, false},
        {"query", "query_node_instructions_per_event",
         "query node, per event applied (catch-up)", -1, false},
        {"live", "query_node_live_instructions_per_event",
         "query node, per event applied (live)", -1, false},
        {"queries", "query_node_instructions_per_query",
         "query node, per account query answered", -1, false},
        {"write-closed", "write_node_closed_instructions_per_command",
         "write node, one client in a closed loop", -1, false},
    };
    char zero [600], full [600], client_full [600];
    snprintf (zero, sizeof (zero), "%s/write-zero.callgrind", self.out);
    snprintf (full, sizeof (full), "%s/write.callgrind", self.out);
    snprintf (client_full, sizeof (client_full), "%s/client.callgrind", self.out);
    char live_zero_path [600], live [600], served [600];
    snprintf (live_zero_path, sizeof (live_zero_path), "%s/live-zero.callgrind", self.out);
    snprintf (live, sizeof (live), "%s/live.callgrind", self.out);
    snprintf (served, sizeof (served), "%s/queries.callgrind", self.out);
    double live_zero = -1;  //  the live query node's start and stop, measured once
    double write_zero = -1; //  the write node's start and stop, measured once
    char closed_path [600];
    snprintf (closed_path, sizeof (closed_path), "%s/write-closed.callgrind", self.out);
    bool failed = false;
    for (int index = 0; index < FIGURES && !failed; index++) {
        s_figure_t *figure = &figures [index];
        figure->value = s_baseline (baseline, figure->key);
        if (!s_wanted (only, figure->name)) {
            continue;
        }
        figure->measured = true;
        if (index == 0) {
            printf ("  write node, start and stop only ...\n");
            fflush (stdout);
            double before = s_write_run (&self, 0, false, zero);
            write_zero = before;
            printf ("  write node, %" PRIu64 " commands ...\n", self.commands);
            fflush (stdout);
            double after = before >= 0 ? s_write_run (&self, self.commands, false, full) : -1;
            figure->value = after >= 0 ? (after - before) / (double) self.commands : -1;
        }
        else if (index == 6) {
            //  A closed loop waits a round trip per command: a tenth of them
            uint64_t count = (self.commands + 9) / 10;
            if (write_zero < 0) {
                printf ("  write node, start and stop only ...\n");
                fflush (stdout);
                write_zero = s_write_run (&self, 0, false, zero);
            }
            printf ("  write node, %" PRIu64 " commands of one closed-loop client ...\n",
                    count);
            fflush (stdout);
            double after = write_zero >= 0 ? s_write_run (&self, count, true, closed_path) : -1;
            figure->value = after >= 0 ? (after - write_zero) / (double) count : -1;
        }
        else if (index == 1 || index == 2) {
            //  A closed loop waits a round trip per command: a tenth of them
            bool closed = index == 2;
            uint64_t count = closed ? (self.commands + 9) / 10 : self.commands;
            char client_zero [600], closed_full [600];
            snprintf (client_zero, sizeof (client_zero), "%s/client-zero.callgrind", self.out);
            snprintf (closed_full, sizeof (closed_full), "%s/client-closed.callgrind",
                      self.out);
            printf ("  client, accounts opened only ...\n");
            fflush (stdout);
            double before = s_client_run (&self, program, 0, false, client_zero);
            printf ("  client, %" PRIu64 " commands%s ...\n", count,
                    closed ? " in a closed loop" : "");
            fflush (stdout);
            double after = before >= 0 ? s_client_run (&self, program, count, closed,
                                                       closed ? closed_full : client_full)
                                       : -1;
            figure->value = after >= 0 ? (after - before) / (double) count : -1;
        }
        else if (index == 3) {
            printf ("  query node, catching up with 1,000 and with %" PRIu64 " events ...\n",
                    self.commands + ACCOUNTS);
            fflush (stdout);
            figure->value = s_query_cost (&self);
        }
        else if (index == 4) {
            printf ("  query node (%s) following live, %" PRIu64 " commands ...\n",
                    self.storage, self.commands);
            fflush (stdout);
            double before =
                live_zero >= 0 ? live_zero : s_live_run (&self, 0, 0, NULL, live_zero_path);
            live_zero = before;
            double after = before >= 0 ? s_live_run (&self, self.commands, 0, NULL, live) : -1;
            figure->value = after >= 0 ? (after - before) / (double) self.commands : -1;
        }
        else if (index == 5) {
            printf ("  query node (%s) answering account queries, 8 clients, %d ms ...\n",
                    self.storage, QUERY_MS);
            fflush (stdout);
            uint64_t queries = 0;
            double before =
                live_zero >= 0 ? live_zero : s_live_run (&self, 0, 0, NULL, live_zero_path);
            live_zero = before;
            double after = before >= 0 ? s_live_run (&self, 0, QUERY_MS, &queries, served) : -1;
            figure->value = after >= 0 && queries ? (after - before) / (double) queries : -1;
        }
        failed = figure->value < 0;
    }
    if (failed) {
        fprintf (stderr, "zcq_instr: a run failed (see above)\n");
        return 1;
    }

    printf ("\ninstructions (callgrind Ir), fixed workload of %" PRIu64 " commands\n",
            self.commands);
    for (int index = 0; index < FIGURES; index++) {
        if (figures [index].measured) {
            s_compare (figures [index].label, figures [index].value,
                       s_baseline (baseline, figures [index].key));
        }
    }
    char path [700];
    snprintf (path, sizeof (path), "%s/instr-top.txt", self.out);
    FILE *copy = fopen (path, "w");
    //  The profiles behind the figures measured (catch-up's are its own runs')
    const char *profiles [FIGURES] = {full, client_full, NULL, NULL, live, served, closed_path};
    const char *whos [FIGURES] = {"write node",
                                  "client process",
                                  NULL,
                                  NULL,
                                  "query node (live)",
                                  "query node (queries)",
                                  "write node (one closed-loop client)"};
    for (int index = 0; copy && index < FIGURES; index++) {
        if (figures [index].measured && profiles [index]) {
            const char *profile = profiles [index];
            const char *who = whos [index];
            printf ("\n%s, top functions by inclusive cost (%s):\n", who, profile);
            fprintf (copy, "%s%s, top functions by inclusive cost\n", index ? "\n" : "", who);
            s_top (profile, true, 25, copy);
            printf ("\n%s, top functions by self cost:\n", who);
            fprintf (copy, "\n%s, top functions by self cost\n", who);
            s_top (profile, false, 25, copy);
        }
    }
    if (copy) {
        fclose (copy);
    }
    snprintf (path, sizeof (path), "%s/instr.txt", self.out);
    const char *targets [] = {path, update ? baseline : NULL};
    for (int index = 0; index < 2; index++) {
        FILE *file = targets [index] ? fopen (targets [index], "w") : NULL;
        if (file) {
            fprintf (file,
                     "# make bench-instr: instructions counted by callgrind, %" PRIu64
                     " bank commands\n"
                     "# (pipelined, 4 clients x 64 in flight, sync durability; the closed "
                     "figures: N / 10\n"
                     "# commands of one client in a closed loop), minus a run without them\n",
                     self.commands);
            for (int figure = 0; figure < FIGURES; figure++) {
                if (figures [figure].value >= 0) {
                    fprintf (file, "%s %.0f\n", figures [figure].key, figures [figure].value);
                }
            }
            fclose (file);
            printf ("\nwrote %s", targets [index]);
        }
    }
    printf ("%s\n", update ? "" : "  (make bench-instr UPDATE=1 keeps these as the baseline)");
    return 0;
}
