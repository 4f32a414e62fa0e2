/*  =========================================================================
    zcq_bench_latency - latency samples of one measurement: each worker
    thread records into its own set, the sets are merged after the run, and
    percentiles are read from the sorted whole (exact, no histogram error).
    =========================================================================
*/

#ifndef ZCQ_BENCH_LATENCY_H_INCLUDED
#define ZCQ_BENCH_LATENCY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _zcq_bench_latency_t zcq_bench_latency_t;

//  Create an empty set of samples.
zcq_bench_latency_t *
    zcq_bench_latency_new (void);

//  Destroy the set; nulls the pointer.
void
    zcq_bench_latency_destroy (zcq_bench_latency_t **self_p);

//  Record one latency in nanoseconds.
void
    zcq_bench_latency_add (zcq_bench_latency_t *self, int64_t nanoseconds);

//  Move every sample of other into self (other is left empty).
void
    zcq_bench_latency_merge (zcq_bench_latency_t *self, zcq_bench_latency_t *other);

//  Number of samples.
size_t
    zcq_bench_latency_count (zcq_bench_latency_t *self);

//  The given percentile (0-100) in milliseconds, or -1 with no samples.
double
    zcq_bench_latency_ms (zcq_bench_latency_t *self, double percentile);

#endif
