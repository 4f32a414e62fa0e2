/*  =========================================================================
    zcq_bench_proc - the processes a benchmark starts (see zcq_bench_proc.h)
    =========================================================================
*/

#include "zcq_bench_proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNNING 64 //  processes one benchmark runs at once
#define MAX_FOLDERS 32 //  temporary folders one benchmark holds at once

struct _zcq_bench_proc_t {
    pid_t pid;       //  process id, 0 once reaped
    char log [512];  //  file its stdout and stderr go to
    double cpu;      //  CPU seconds when it was last read alive
    double peak_rss; //  VmHWM in MiB when it was last read alive
    double rss;      //  VmRSS in MiB when it was last read alive
    double anon;     //  RssAnon in MiB (VmRSS less mapped files) when last read alive
};

//  Processes started and not yet reaped, and temporary folders not yet
//  removed, for the exit and signal handlers
static volatile pid_t s_running [MAX_RUNNING];
static char *volatile s_folders [MAX_FOLDERS];

static void
s_forget (pid_t pid)
{
    for (int index = 0; index < MAX_RUNNING; index++) {
        if (s_running [index] == pid) {
            s_running [index] = 0;
        }
    }
}

int
zcq_bench_proc_kill_all (void)
{
    int killed = 0;
    for (int index = 0; index < MAX_RUNNING; index++) {
        pid_t pid = s_running [index];
        if (pid > 0) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            s_running [index] = 0;
            killed++;
        }
    }
    return killed;
}

static int
s_remove_entry (const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void) info;
    (void) flag;
    (void) walk;
    remove (path);
    return 0;
}

//  Remove the temporary folders still there (a benchmark that failed or
//  was interrupted half way)
static void
s_remove_folders (void)
{
    for (int index = 0; index < MAX_FOLDERS; index++) {
        char *folder = s_folders [index];
        if (folder) {
            s_folders [index] = NULL;
            nftw (folder, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
            free (folder);
        }
    }
}

static void
s_at_exit (void)
{
    zcq_bench_proc_kill_all ();
    s_remove_folders ();
}

//  Ctrl-C or a time-out of the benchmark: leave nothing running and no
//  data behind (the processes first: they may still write there)
static void
s_on_signal (int signal)
{
    zcq_bench_proc_kill_all ();
    s_remove_folders ();
    _exit (128 + signal);
}

//  Install the exit and signal handlers, once.
static void
s_handlers (void)
{
    static bool handlers = false;
    if (!handlers) {
        atexit (s_at_exit);
        struct sigaction action;
        memset (&action, 0, sizeof (action));
        action.sa_handler = s_on_signal;
        sigaction (SIGINT, &action, NULL);
        sigaction (SIGTERM, &action, NULL);
        sigaction (SIGHUP, &action, NULL);
        handlers = true;
    }
}

static void
s_register (pid_t pid)
{
    s_handlers ();
    for (int index = 0; index < MAX_RUNNING; index++) {
        if (s_running [index] == 0) {
            s_running [index] = pid;
            return;
        }
    }
    fprintf (stderr, "bench: more than %d processes at once; %d is not tracked\n", MAX_RUNNING,
             (int) pid);
}

zcq_bench_proc_t *
zcq_bench_proc_start (const char *const *argv, const char *log, const char *user)
{
    uid_t uid = 0;
    gid_t gid = 0;
    bool switch_user = user && geteuid () == 0;
    if (switch_user) {
        struct passwd *entry = getpwnam (user);
        if (!entry) {
            fprintf (stderr, "bench: no user '%s' to run %s as\n", user, argv [0]);
            return NULL;
        }
        uid = entry->pw_uid;
        gid = entry->pw_gid;
    }
    zcq_bench_proc_t *self = (zcq_bench_proc_t *) calloc (1, sizeof (zcq_bench_proc_t));
    if (!self) {
        return NULL;
    }
    snprintf (self->log, sizeof (self->log), "%s", log);
    int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd < 0) {
        fprintf (stderr, "bench: cannot open log %s: %s\n", log, strerror (errno));
        free (self);
        return NULL;
    }
    if (switch_user && fchown (fd, uid, gid) != 0) {
        fprintf (stderr, "bench: cannot give %s to %s\n", log, user);
    }
    //  Signals wait until the child has its default handlers back: one that
    //  came before its exec would otherwise run the benchmark's handler in
    //  the child (stop the benchmark's other processes, remove their folders)
    //  instead of ending the child as it asked
    sigset_t all, before;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &before);
    pid_t pid = fork ();
    if (pid != 0) {
        pthread_sigmask (SIG_SETMASK, &before, NULL);
    }
    if (pid < 0) {
        fprintf (stderr, "bench: cannot fork for %s: %s\n", argv [0], strerror (errno));
        close (fd);
        free (self);
        return NULL;
    }
    if (pid == 0) {
        for (int number = 1; number < NSIG; number++) {
            signal (number, SIG_DFL); //  those that cannot be reset say so
        }
        sigprocmask (SIG_SETMASK, &before, NULL);
        //  A child of its own process group: a terminal's Ctrl-C reaches
        //  the benchmark, which stops its children itself
        setpgid (0, 0);
        dup2 (fd, STDOUT_FILENO);
        dup2 (fd, STDERR_FILENO);
        close (fd);
        int null = open ("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2 (null, STDIN_FILENO);
            close (null);
        }
        //  Nothing else of ours goes along: a node left behind by a benchmark
        //  that was killed must not hold its files, such as the lock that
        //  `flock` passed down to the benchmark
        for (int other = STDERR_FILENO + 1; other < 1024; other++) {
            close (other);
        }
        if (switch_user
            && (setgroups (0, NULL) != 0 || setgid (gid) != 0 || setuid (uid) != 0)) {
            fprintf (stderr, "bench: cannot become %s: %s\n", user, strerror (errno));
            _exit (126);
        }
        execv (argv [0], (char *const *) argv);
        fprintf (stderr, "bench: cannot run %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    close (fd);
    self->pid = pid;
    s_register (pid);
    return self;
}

bool
zcq_bench_proc_alive (zcq_bench_proc_t *self)
{
    if (!self || self->pid <= 0) {
        return false;
    }
    int status;
    return waitpid (self->pid, &status, WNOHANG) == 0;
}

pid_t
zcq_bench_proc_pid (zcq_bench_proc_t *self)
{
    return self ? self->pid : 0;
}

const char *
zcq_bench_proc_log (zcq_bench_proc_t *self)
{
    return self->log;
}

//  CPU seconds of /proc/PID/stat: utime + stime, plus cutime + cstime
//  (children it reaped) when reaped is true; -1 if unreadable. Sets
//  *parent to its parent's pid.
static double
s_stat_cpu (pid_t pid, bool reaped, pid_t *parent)
{
    char path [64], line [1024];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file) {
        return -1;
    }
    size_t size = fread (line, 1, sizeof (line) - 1, file);
    fclose (file);
    line [size] = 0;
    //  The command name may hold spaces: fields are counted after its ')'
    char *rest = strrchr (line, ')');
    int ppid = 0;
    unsigned long utime = 0, stime = 0;
    long cutime = 0, cstime = 0;
    if (!rest
        || sscanf (rest + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
                   &ppid, &utime, &stime, &cutime, &cstime)
               != 5) {
        return -1;
    }
    *parent = (pid_t) ppid;
    double ticks = (double) (utime + stime) + (reaped ? (double) (cutime + cstime) : 0);
    return ticks / (double) sysconf (_SC_CLK_TCK);
}

//  Read the CPU of the process and of its children, live (a server that
//  forks a process per connection, as PostgreSQL does) or reaped.
static void
s_read_cpu (zcq_bench_proc_t *self)
{
    pid_t parent = 0;
    double cpu = s_stat_cpu (self->pid, true, &parent);
    if (cpu < 0) {
        return;
    }
    DIR *proc = opendir ("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir (proc))) {
        pid_t pid = (pid_t) atoi (entry->d_name);
        if (pid > 0 && pid != self->pid) {
            double child = s_stat_cpu (pid, false, &parent);
            if (child > 0 && parent == self->pid) {
                cpu += child;
            }
        }
    }
    if (proc) {
        closedir (proc);
    }
    self->cpu = cpu;
}

static void
s_read_rss (zcq_bench_proc_t *self)
{
    char path [64], line [256];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) self->pid);
    FILE *file = fopen (path, "r");
    if (!file) {
        return;
    }
    while (fgets (line, sizeof (line), file)) {
        long kib;
        if (sscanf (line, "VmHWM: %ld kB", &kib) == 1) {
            self->peak_rss = kib / 1024.0;
        }
        if (sscanf (line, "VmRSS: %ld kB", &kib) == 1) {
            self->rss = kib / 1024.0;
        }
        if (sscanf (line, "RssAnon: %ld kB", &kib) == 1) {
            self->anon = kib / 1024.0;
        }
    }
    fclose (file);
}

//  Read what /proc says of a running process; false if it does not run
static bool
s_refresh (zcq_bench_proc_t *self)
{
    if (!self || self->pid <= 0) {
        return false;
    }
    s_read_cpu (self);
    s_read_rss (self);
    return true;
}

double
zcq_bench_proc_cpu (zcq_bench_proc_t *self)
{
    return s_refresh (self) ? self->cpu : -1;
}

double
zcq_bench_proc_peak_rss (zcq_bench_proc_t *self)
{
    return s_refresh (self) ? self->peak_rss : -1;
}

double
zcq_bench_proc_anon_rss (zcq_bench_proc_t *self)
{
    return s_refresh (self) ? self->anon : -1;
}

double
zcq_bench_own_cpu (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
           + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

//  The sum of a voluntary_ctxt_switches line over every thread of pid
//  (/proc/PID/task/*/status); -1 if none could be read
static double
s_task_sleeps (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/task", (int) pid);
    DIR *tasks = opendir (path);
    if (!tasks) {
        return -1;
    }
    double sleeps = -1;
    struct dirent *task;
    while ((task = readdir (tasks))) {
        if (task->d_name [0] == '.') {
            continue;
        }
        char status [320];
        snprintf (status, sizeof (status), "/proc/%d/task/%s/status", (int) pid, task->d_name);
        FILE *file = fopen (status, "r");
        char line [256];
        unsigned long long count;
        while (file && fgets (line, sizeof (line), file)) {
            if (sscanf (line, "voluntary_ctxt_switches: %llu", &count) == 1) {
                sleeps = (sleeps < 0 ? 0 : sleeps) + (double) count;
                break;
            }
        }
        if (file) {
            fclose (file);
        }
    }
    closedir (tasks);
    return sleeps;
}

double
zcq_bench_proc_sleeps (zcq_bench_proc_t *self)
{
    return self && self->pid > 0 ? s_task_sleeps (self->pid) : -1;
}

double
zcq_bench_own_sleeps (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_nvcsw;
}

double
zcq_bench_proc_rss (zcq_bench_proc_t *self)
{
    return s_refresh (self) ? self->rss : -1;
}

int
zcq_bench_proc_stop (zcq_bench_proc_t **self_p, int signal, int timeout_ms)
{
    zcq_bench_proc_t *self = *self_p;
    if (!self) {
        return 0;
    }
    int status = -1;
    if (self->pid > 0) {
        kill (self->pid, signal);
        int64_t deadline = zcq_bench_now () + (int64_t) timeout_ms * 1000000;
        bool exited = false;
        while (!exited && zcq_bench_now () < deadline) {
            pid_t got = waitpid (self->pid, &status, WNOHANG);
            exited = got == self->pid || (got < 0 && errno == ECHILD);
            if (!exited) {
                zcq_bench_sleep_ms (10); //  polling a child's exit, bounded
            }
        }
        if (!exited) {
            kill (self->pid, SIGKILL);
            waitpid (self->pid, NULL, 0);
            status = -1;
        }
        s_forget (self->pid);
    }
    free (self);
    *self_p = NULL;
    return status;
}

void
zcq_bench_proc_print_log (zcq_bench_proc_t *self)
{
    FILE *file = self ? fopen (self->log, "r") : NULL;
    if (!file) {
        return;
    }
    //  Keep the last 20 lines in a ring, print them in order
    char lines [20][512];
    int count = 0;
    while (fgets (lines [count % 20], sizeof (lines [0]), file)) {
        count++;
    }
    fclose (file);
    fprintf (stderr, "--- last lines of %s ---\n", self->log);
    for (int index = count > 20 ? count - 20 : 0; index < count; index++) {
        fputs (lines [index % 20], stderr);
    }
}

char *
zcq_bench_tmpdir (const char *tag)
{
    const char *base = getenv ("TMPDIR");
    char *path = (char *) malloc (1024);
    if (!path) {
        return NULL;
    }
    snprintf (path, 1024, "%s/zcq-bench-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp (path)) {
        fprintf (stderr, "bench: cannot make a folder %s: %s\n", path, strerror (errno));
        free (path);
        return NULL;
    }
    s_handlers ();
    for (int index = 0; index < MAX_FOLDERS; index++) {
        if (!s_folders [index]) {
            s_folders [index] = strdup (path);
            break;
        }
    }
    return path;
}

void
zcq_bench_rmtree (const char *path)
{
    if (path) {
        nftw (path, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        for (int index = 0; index < MAX_FOLDERS; index++) {
            if (s_folders [index] && strcmp (s_folders [index], path) == 0) {
                free (s_folders [index]);
                s_folders [index] = NULL;
            }
        }
    }
}

int64_t
zcq_bench_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

void
zcq_bench_sleep_ms (int ms)
{
    struct timespec pause = {ms / 1000, (long) (ms % 1000) * 1000000};
    while (nanosleep (&pause, &pause) != 0 && errno == EINTR) {
    }
}

void
zcq_bench_sleep_until (int64_t at)
{
    struct timespec until = {(time_t) (at / 1000000000), (long) (at % 1000000000)};
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
}
