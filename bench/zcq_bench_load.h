/*  =========================================================================
    zcq_bench_load - runs a workload for a bounded time: worker threads
    start, work through a warm-up that is not counted, then a measurement
    window in which every completed operation is counted and its latency
    recorded, and stop when the window closes.

    A closed-loop worker over a driver (an ops table: connect, append one
    event with an expected version, disconnect) is provided here, so that
    zcqrs and its peers run the very same loop; workers of other shapes
    (pipelined, queries) are plain zcq_bench_work_fn functions.
    =========================================================================
*/

#ifndef ZCQ_BENCH_LOAD_H_INCLUDED
#define ZCQ_BENCH_LOAD_H_INCLUDED

#include "zcq_bench_latency.h"

#include <stdbool.h>
#include <stdint.h>

//  What became of one operation
typedef enum {
    ZCQ_BENCH_DONE = 0,     //  accepted / answered
    ZCQ_BENCH_CONFLICT,     //  expected version did not match
    ZCQ_BENCH_REFUSED,      //  any other refusal
    ZCQ_BENCH_NO_ANSWER,    //  time-out or connection failure
    ZCQ_BENCH_OUTCOMES      //  count, not an outcome
} zcq_bench_outcome_t;

typedef struct _zcq_bench_load_t zcq_bench_load_t;

//  One worker thread's body: work until zcq_bench_load_running () is false,
//  recording each operation with zcq_bench_load_record.
typedef void (zcq_bench_work_fn) (zcq_bench_load_t *load, int worker, void *arg);

//  Called in the main thread when the measurement window opens (opening
//  true) and when it closes: the moment to read the nodes' CPU counters.
typedef void (zcq_bench_window_fn) (void *arg, bool opening);

//  Create a load of `workers` threads running work (arg is theirs).
zcq_bench_load_t *
    zcq_bench_load_new (int workers, zcq_bench_work_fn *work, void *arg);

//  Destroy the load; nulls the pointer.
void
    zcq_bench_load_destroy (zcq_bench_load_t **self_p);

//  Run one more thread beside the workers (a probe that measures its own
//  figure while they make the load); it also stops with the window.
void
    zcq_bench_load_set_extra (zcq_bench_load_t *self, zcq_bench_work_fn *extra, void *arg);

//  Have fn called when the window opens and closes.
void
    zcq_bench_load_set_window (zcq_bench_load_t *self, zcq_bench_window_fn *fn, void *arg);

//  Start the threads, warm up, measure for measure_ms (or until every
//  worker has returned, for a load with a limit), stop and join them.
//  Returns 0, or -1 if a worker reported a failure (the reason was printed).
int
    zcq_bench_load_run (zcq_bench_load_t *self, int warmup_ms, int measure_ms);

//  Number of worker threads.
int
    zcq_bench_load_workers (zcq_bench_load_t *self);

//  True until the window closes: workers loop while this holds.
bool
    zcq_bench_load_running (zcq_bench_load_t *self);

//  True while the measurement window is open.
bool
    zcq_bench_load_measuring (zcq_bench_load_t *self);

//  Record an operation of worker that took latency_ns; counted only if it
//  completed inside the window.
void
    zcq_bench_load_record (zcq_bench_load_t *self, int worker, int64_t latency_ns,
                           zcq_bench_outcome_t outcome);

//  A worker cannot go on: print why; zcq_bench_load_run returns -1.
void
    zcq_bench_load_fail (zcq_bench_load_t *self, int worker, const char *reason);

//  After the run: operations with this outcome completed in the window.
uint64_t
    zcq_bench_load_count (zcq_bench_load_t *self, zcq_bench_outcome_t outcome);

//  After the run: completed (DONE) operations per second of window.
double
    zcq_bench_load_rate (zcq_bench_load_t *self);

//  After the run: latencies of DONE operations in the window (borrowed).
zcq_bench_latency_t *
    zcq_bench_load_latency (zcq_bench_load_t *self);

//  --- Closed loop over a driver ---------------------------------------------

//  A system under test, seen as an event store with optimistic concurrency.
typedef struct {
    const char *name;
    //  Open one connection for client number `client`; NULL on failure.
    void *(*connect) (void *target, int client);
    //  Append one event (about event_size bytes) to stream number `stream`,
    //  expecting the stream at version `expect`; the ack must mean what the
    //  system promises as durable. On DONE or CONFLICT sets *version to the
    //  stream's version after the call when the system says it.
    zcq_bench_outcome_t (*append) (void *connection, int stream, uint64_t expect,
                                   uint64_t *version);
    //  Close a connection.
    void (*disconnect) (void *connection);
} zcq_bench_driver_t;

//  What the closed-loop worker runs.
typedef struct {
    const zcq_bench_driver_t *driver; //  the system under test
    void *target;                     //  the driver's own settings
    int streams;                      //  streams in use, 0 .. streams-1
    uint64_t *versions;               //  current version of each stream
    double rate;                      //  0: as fast as acks come; else total appends/s
} zcq_bench_closed_t;

//  Worker: client `worker` appends round-robin to its own streams (stream %
//  workers == worker), each time expecting the version it last saw, waiting
//  for each ack (closed loop). With a rate, each client paces its sends so
//  that all together send rate per second.
void
    zcq_bench_closed_loop (zcq_bench_load_t *load, int worker, void *arg);

//  Create each stream 0 .. streams-1 with one append expecting version 0
//  (opening the accounts, for the bank driver), over `clients` connections
//  at once, trying a refused append again; sets versions. Returns 0, or -1
//  (printed why) if a stream could not be made.
int
    zcq_bench_setup_streams (const zcq_bench_driver_t *driver, void *target, int streams,
                             int clients, uint64_t *versions);

#endif
