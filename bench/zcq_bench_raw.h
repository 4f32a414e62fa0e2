/*  =========================================================================
    zcq_bench_raw - what this machine can do at best, measured in the same
    run as the figures they bound: the machine itself (cores, CPU model,
    kernel), fsyncs per second of a data folder, and a plain ZeroMQ
    DEALER -> ROUTER echo over loopback TCP (requests/s with many in
    flight, round-trip time with one, requests/s of 8 closed-loop clients;
    and of 32, the server in another process, with the clients' CPU).
    =========================================================================
*/

#ifndef ZCQ_BENCH_RAW_H_INCLUDED
#define ZCQ_BENCH_RAW_H_INCLUDED

#include "zcq_bench_report.h"

#include <stddef.h>

//  Describe the machine: "2 cores, AMD EPYC 7B13, Linux 6.1.0" into text.
void zcq_bench_machine (char *text, size_t size);

//  Append small records (200 bytes) to a file in folder, fdatasync after
//  each, for ms milliseconds. Returns syncs per second, or -1; sets
//  *median_ms to the median time of one write + fdatasync and *sleeps to
//  the times the calling thread slept per fdatasync (its waits for the
//  disk, which a node's fdatasync makes too).
double zcq_bench_fsync_rate (const char *folder, int ms, double *median_ms, double *sleeps);

//  Echo messages (200 bytes) from `clients` DEALERs (a thread each, at
//  most 64) to a ROUTER in another thread, all in one ZeroMQ context, over
//  tcp://127.0.0.1, each client keeping in_flight requests
//  outstanding, for ms milliseconds. Returns requests per second of all
//  clients together, or -1.
double zcq_bench_echo_rate (int clients, int in_flight, int ms);

//  The same echo with its ROUTER in a child process of its own (a context
//  each side, as the benchmark's clients and a node): `clients` DEALER
//  threads keep in_flight requests out, each answer taken by a blocking
//  receive. Returns requests per second, or -1; sets *cpu_ms to this
//  process's CPU (clients and their I/O thread) per 1,000 answers, or -1.
//  Call it when this process runs nothing else.
double zcq_bench_echo_apart (int clients, int in_flight, int ms, double *cpu_ms);

//  The limits' figure name of the echo with 8 clients of 1 in flight: the
//  ceiling of any 8-client closed loop over ZeroMQ here (a query node's
//  queries are measured against it)
#define ZCQ_BENCH_ECHO_EIGHT "ZeroMQ echo, 8 clients x 1 in flight"

//  ... and of the echo apart with 32 clients of 1 in flight: the ceiling of
//  the 32-client closed loop, and its clients' CPU the floor of ours
#define ZCQ_BENCH_ECHO_32 "ZeroMQ echo, 32 clients x 1 in flight"

//  Measure the limits `runs` times for ms milliseconds each (fsync in
//  $TMPDIR, where the benchmarks keep their data) as figures of the report
//  (scenario "machine limits (same run)"). Sets *fsync_ms and *rtt_ms to
//  the medians of one fsync and one echo round trip. Returns the figure of
//  the echo with 100 in flight (requests/s).
zcq_bench_figure_t *zcq_bench_raw_figures (zcq_bench_report_t *report, int runs, int ms,
                                           double *fsync_ms, double *rtt_ms);

#endif
