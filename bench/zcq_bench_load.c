/*  =========================================================================
    zcq_bench_load - runs a workload for a bounded time (see the header)

    The phase (warm-up, window, stopped) is one atomic the main thread
    moves; a worker reads it when an operation completes, so an operation
    is counted when it completed inside the window, whenever it started.
    =========================================================================
*/

#include "zcq_bench_load.h"
#include "zcq_bench_proc.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PHASE_WARMUP, PHASE_WINDOW, PHASE_STOPPED };

#define SETUP_ATTEMPTS 5 //  tries to create one stream

//  What one worker thread counts; each thread writes only its own
typedef struct {
    zcq_bench_load_t *load;               //  owner
    int index;                            //  worker number (-1: the extra)
    uint64_t counts [ZCQ_BENCH_OUTCOMES]; //  operations completed in the window
    zcq_bench_latency_t *latency;         //  DONE latencies in the window
    pthread_t thread;                     //  its thread
} s_worker_t;

struct _zcq_bench_load_t {
    int workers;                          //  worker threads
    zcq_bench_work_fn *work;              //  their body
    void *arg;                            //  their argument
    zcq_bench_work_fn *extra;             //  the probe thread's body, or NULL
    void *extra_arg;                      //  its argument
    zcq_bench_window_fn *window;          //  window callback, or NULL
    void *window_arg;                     //  its argument
    s_worker_t *slots;                    //  workers + 1 (the extra)
    atomic_int phase;                     //  PHASE_*
    atomic_int failed;                    //  a worker could not go on
    atomic_int finished;                  //  workers that returned
    int64_t opened, closed;               //  window edges, ns
    uint64_t counts [ZCQ_BENCH_OUTCOMES]; //  summed after the run
    zcq_bench_latency_t *latency;         //  merged after the run
};

zcq_bench_load_t *
zcq_bench_load_new (int workers, zcq_bench_work_fn *work, void *arg)
{
    assert (workers > 0);
    zcq_bench_load_t *self = (zcq_bench_load_t *) calloc (1, sizeof (*self));
    assert (self);
    self->workers = workers;
    self->work = work;
    self->arg = arg;
    self->slots = (s_worker_t *) calloc ((size_t) workers + 1, sizeof (s_worker_t));
    assert (self->slots);
    for (int index = 0; index <= workers; index++) {
        self->slots [index].load = self;
        self->slots [index].index = index < workers ? index : -1;
        self->slots [index].latency = zcq_bench_latency_new ();
    }
    self->latency = zcq_bench_latency_new ();
    return self;
}

void
zcq_bench_load_destroy (zcq_bench_load_t **self_p)
{
    if (*self_p) {
        zcq_bench_load_t *self = *self_p;
        for (int index = 0; index <= self->workers; index++) {
            zcq_bench_latency_destroy (&self->slots [index].latency);
        }
        free (self->slots);
        zcq_bench_latency_destroy (&self->latency);
        free (self);
        *self_p = NULL;
    }
}

void
zcq_bench_load_set_extra (zcq_bench_load_t *self, zcq_bench_work_fn *extra, void *arg)
{
    self->extra = extra;
    self->extra_arg = arg;
}

void
zcq_bench_load_set_window (zcq_bench_load_t *self, zcq_bench_window_fn *fn, void *arg)
{
    self->window = fn;
    self->window_arg = arg;
}

static void *
s_worker_main (void *arg)
{
    s_worker_t *slot = (s_worker_t *) arg;
    zcq_bench_load_t *self = slot->load;
    if (slot->index >= 0) {
        self->work (self, slot->index, self->arg);
        atomic_fetch_add (&self->finished, 1);
    }
    else {
        self->extra (self, -1, self->extra_arg);
    }
    return NULL;
}

//  Open the measurement window: operations completed from now on count.
static void
s_open_window (zcq_bench_load_t *self)
{
    if (self->window) {
        self->window (self->window_arg, true);
    }
    self->opened = zcq_bench_now ();
    atomic_store (&self->phase, PHASE_WINDOW);
}

int
zcq_bench_load_run (zcq_bench_load_t *self, int warmup_ms, int measure_ms)
{
    atomic_store (&self->phase, PHASE_WARMUP);
    atomic_store (&self->finished, 0);
    int threads = self->workers + (self->extra ? 1 : 0);
    //  Without a warm-up the window opens before the first operation can
    //  complete: a load with a limit counts every one of them
    if (warmup_ms <= 0) {
        s_open_window (self);
    }
    for (int index = 0; index < threads; index++) {
        int rc = pthread_create (&self->slots [index].thread, NULL, s_worker_main,
                                 &self->slots [index]);
        assert (rc == 0);
        (void) rc;
    }
    if (warmup_ms > 0) {
        zcq_bench_sleep_ms (warmup_ms);
        s_open_window (self);
    }
    //  The window ends early when every worker is done (a load with a limit)
    int64_t end = self->opened + (int64_t) measure_ms * 1000000;
    while (zcq_bench_now () < end && atomic_load (&self->finished) < self->workers) {
        int64_t left_ms = (end - zcq_bench_now ()) / 1000000;
        zcq_bench_sleep_ms (left_ms < 10 ? (int) (left_ms > 0 ? left_ms : 1) : 10);
    }
    atomic_store (&self->phase, PHASE_STOPPED);
    self->closed = zcq_bench_now ();
    if (self->window) {
        self->window (self->window_arg, false);
    }
    for (int index = 0; index < threads; index++) {
        pthread_join (self->slots [index].thread, NULL);
    }
    for (int index = 0; index < self->workers; index++) {
        s_worker_t *slot = &self->slots [index];
        for (int outcome = 0; outcome < ZCQ_BENCH_OUTCOMES; outcome++) {
            self->counts [outcome] += slot->counts [outcome];
        }
        zcq_bench_latency_merge (self->latency, slot->latency);
    }
    return atomic_load (&self->failed) ? -1 : 0;
}

int
zcq_bench_load_workers (zcq_bench_load_t *self)
{
    return self->workers;
}

bool
zcq_bench_load_running (zcq_bench_load_t *self)
{
    return atomic_load (&self->phase) != PHASE_STOPPED && !atomic_load (&self->failed);
}

bool
zcq_bench_load_measuring (zcq_bench_load_t *self)
{
    return atomic_load (&self->phase) == PHASE_WINDOW;
}

void
zcq_bench_load_record (zcq_bench_load_t *self, int worker, int64_t latency_ns,
                       zcq_bench_outcome_t outcome)
{
    assert (worker >= 0 && worker < self->workers);
    if (atomic_load (&self->phase) == PHASE_WINDOW) {
        s_worker_t *slot = &self->slots [worker];
        slot->counts [outcome]++;
        if (outcome == ZCQ_BENCH_DONE) {
            zcq_bench_latency_add (slot->latency, latency_ns);
        }
    }
}

void
zcq_bench_load_fail (zcq_bench_load_t *self, int worker, const char *reason)
{
    fprintf (stderr, "bench: worker %d: %s\n", worker, reason);
    atomic_store (&self->failed, 1);
}

uint64_t
zcq_bench_load_count (zcq_bench_load_t *self, zcq_bench_outcome_t outcome)
{
    return self->counts [outcome];
}

double
zcq_bench_load_rate (zcq_bench_load_t *self)
{
    double seconds = (double) (self->closed - self->opened) / 1e9;
    return seconds > 0 ? (double) self->counts [ZCQ_BENCH_DONE] / seconds : 0;
}

zcq_bench_latency_t *
zcq_bench_load_latency (zcq_bench_load_t *self)
{
    return self->latency;
}

//  --- Closed loop over a driver ---------------------------------------------

void
zcq_bench_closed_loop (zcq_bench_load_t *load, int worker, void *arg)
{
    zcq_bench_closed_t *closed = (zcq_bench_closed_t *) arg;
    int clients = zcq_bench_load_workers (load);
    if (worker >= closed->streams) {
        zcq_bench_load_fail (load, worker, "more clients than streams");
        return;
    }
    void *connection = closed->driver->connect (closed->target, worker);
    if (!connection) {
        char reason [128];
        snprintf (reason, sizeof (reason), "cannot connect to %s", closed->driver->name);
        zcq_bench_load_fail (load, worker, reason);
        return;
    }
    //  Paced clients send at start + k * interval; a late one sends at once
    int64_t interval = closed->rate > 0 ? (int64_t) (1e9 * clients / closed->rate) : 0;
    int64_t next = zcq_bench_now () + (interval ? interval * worker / clients : 0);
    int stream = worker;
    int failures = 0;
    while (zcq_bench_load_running (load)) {
        if (interval) {
            zcq_bench_sleep_until (next);
            next += interval;
        }
        uint64_t *version = &closed->versions [stream];
        int64_t start = zcq_bench_now ();
        zcq_bench_outcome_t outcome =
            closed->driver->append (connection, stream, *version, version);
        zcq_bench_load_record (load, worker, zcq_bench_now () - start, outcome);
        if (outcome == ZCQ_BENCH_NO_ANSWER && ++failures == 3) {
            char reason [128];
            snprintf (reason, sizeof (reason), "%s did not answer three times",
                      closed->driver->name);
            zcq_bench_load_fail (load, worker, reason);
            break;
        }
        stream += clients;
        if (stream >= closed->streams) {
            stream = worker;
        }
    }
    closed->driver->disconnect (connection);
}

//  One setup connection: streams index, index + clients, ...
typedef struct {
    const zcq_bench_driver_t *driver; //  system under test
    void *target;                     //  its settings
    int streams, clients, index;      //  which streams this thread creates
    uint64_t *versions;               //  set here
    int failed;                       //  streams not created
} s_setup_t;

static void *
s_setup_main (void *arg)
{
    s_setup_t *setup = (s_setup_t *) arg;
    void *connection = setup->driver->connect (setup->target, setup->index);
    if (!connection) {
        setup->failed = setup->streams;
        return NULL;
    }
    for (int stream = setup->index; stream < setup->streams; stream += setup->clients) {
        //  A refusal (a saturated node says "busy") is tried again; a
        //  conflict means an earlier try made the stream after all
        zcq_bench_outcome_t outcome = ZCQ_BENCH_NO_ANSWER;
        for (int attempt = 0; attempt < SETUP_ATTEMPTS && outcome != ZCQ_BENCH_DONE
                              && outcome != ZCQ_BENCH_CONFLICT;
             attempt++) {
            outcome = setup->driver->append (connection, stream, 0, &setup->versions [stream]);
        }
        bool made = outcome == ZCQ_BENCH_DONE
                    || (outcome == ZCQ_BENCH_CONFLICT && setup->versions [stream] > 0);
        setup->failed += !made;
    }
    setup->driver->disconnect (connection);
    return NULL;
}

int
zcq_bench_setup_streams (const zcq_bench_driver_t *driver, void *target, int streams,
                         int clients, uint64_t *versions)
{
    s_setup_t *setups = (s_setup_t *) calloc ((size_t) clients, sizeof (s_setup_t));
    pthread_t *threads = (pthread_t *) calloc ((size_t) clients, sizeof (pthread_t));
    assert (setups && threads);
    for (int index = 0; index < clients; index++) {
        setups [index] = (s_setup_t){driver, target, streams, clients, index, versions, 0};
        pthread_create (&threads [index], NULL, s_setup_main, &setups [index]);
    }
    int failed = 0;
    for (int index = 0; index < clients; index++) {
        pthread_join (threads [index], NULL);
        failed += setups [index].failed;
    }
    free (setups);
    free (threads);
    if (failed) {
        fprintf (stderr, "bench: %s: %d of %d streams could not be created\n", driver->name,
                 failed, streams);
    }
    return failed ? -1 : 0;
}
