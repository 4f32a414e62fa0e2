/*  =========================================================================
    zcq_bench_proc - the processes a benchmark starts (nodes, peers, node
    programs under valgrind): start any program with its output in a log,
    stop it by its PID for sure (also when the benchmark fails or is
    interrupted), and read what /proc says it used (CPU seconds, peak RSS).
    Also the odds and ends every benchmark needs: a free loopback TCP port,
    a fresh temporary folder, a monotonic clock in nanoseconds.
    =========================================================================
*/

#ifndef ZCQ_BENCH_PROC_H_INCLUDED
#define ZCQ_BENCH_PROC_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct _zcq_bench_proc_t zcq_bench_proc_t;

//  Start argv[0] (a path) with the NULL-terminated argv, stdout and stderr
//  appended to log. If user is not NULL and we are root, the program runs
//  as that user (PostgreSQL refuses root). Returns the process, or NULL if
//  it could not be started. Every started process is stopped at exit.
zcq_bench_proc_t *
    zcq_bench_proc_start (const char *const *argv, const char *log, const char *user);

//  Stop the process: send signal (SIGTERM, SIGINT), wait up to timeout_ms,
//  then SIGKILL; reap it and destroy the handle; nulls the pointer. Returns
//  the exit status as waitpid reports it, or -1 if it had to be killed.
int
    zcq_bench_proc_stop (zcq_bench_proc_t **self_p, int signal, int timeout_ms);

//  True while the process runs (it has not exited on its own).
bool
    zcq_bench_proc_alive (zcq_bench_proc_t *self);

//  Process id.
pid_t
    zcq_bench_proc_pid (zcq_bench_proc_t *self);

//  Path of its log file.
const char *
    zcq_bench_proc_log (zcq_bench_proc_t *self);

//  CPU seconds (user + system) the process and its children (live or
//  reaped) have used so far, or -1.
double
    zcq_bench_proc_cpu (zcq_bench_proc_t *self);

//  Peak resident set size (VmHWM) of the process itself in MiB, or -1.
double
    zcq_bench_proc_peak_rss (zcq_bench_proc_t *self);

//  CPU seconds (user + system) this process has used: the benchmark's
//  clients and their client library.
double
    zcq_bench_own_cpu (void);

//  Times the process's threads (those alive now) have gone to sleep so far:
//  their voluntary context switches, each a wait on a socket, a lock or
//  the disk that ended in a wake-up; or -1 if it does not run.
double
    zcq_bench_proc_sleeps (zcq_bench_proc_t *self);

//  The same for this process (every thread it ran, getrusage).
double
    zcq_bench_own_sleeps (void);

//  Resident memory now (VmRSS) in MiB, or -1 if it does not run.
double
    zcq_bench_proc_rss (zcq_bench_proc_t *self);

//  The anonymous part of it (RssAnon: VmRSS less the pages of mapped
//  files, such as the LevelDB tables a node reads) in MiB, or -1.
double
    zcq_bench_proc_anon_rss (zcq_bench_proc_t *self);

//  Print the last lines of the process's log to stderr (after a failure).
void
    zcq_bench_proc_print_log (zcq_bench_proc_t *self);

//  Kill (SIGKILL) and reap every process still running. Runs at exit and on
//  SIGINT/SIGTERM/SIGHUP of the benchmark (then the temporary folders are
//  removed too). Returns how many it killed.
int
    zcq_bench_proc_kill_all (void);

//  Make a fresh folder under $TMPDIR (or /tmp) named after tag; returns
//  its path (caller frees), or NULL. A folder not removed with
//  zcq_bench_rmtree is removed at exit or when the benchmark is stopped
//  by a signal.
char *
    zcq_bench_tmpdir (const char *tag);

//  Remove a folder and everything under it.
void
    zcq_bench_rmtree (const char *path);

//  Monotonic clock in nanoseconds.
int64_t
    zcq_bench_now (void);

//  Sleep for ms milliseconds (a benchmark waits on purpose: warm-ups,
//  measurement windows, pacing).
void
    zcq_bench_sleep_ms (int ms);

//  Sleep until the monotonic time at (ns, as zcq_bench_now), if still ahead.
void
    zcq_bench_sleep_until (int64_t at);

#endif
