/*  =========================================================================
    zcq_bench_zcqrs - the zcqrs side of the workloads, over the public client
    library: drivers for the closed loop (bank commands on accounts, or
    ~200-byte events appended to streams of the store domain), a pipelined
    worker, a query worker, and the end-to-end probe (accepted -> visible
    on every query node through min_position queries).
    =========================================================================
*/

#ifndef ZCQ_BENCH_ZCQRS_H_INCLUDED
#define ZCQ_BENCH_ZCQRS_H_INCLUDED

#include "zcq_bench_latency.h"
#include "zcq_bench_load.h"

#include <czmq.h>
#include <stdatomic.h>
#include <stdint.h>

#define ZCQ_BENCH_EVENT_SIZE  200 //  bytes of the events the peers comparison appends
#define ZCQ_BENCH_PROBE_NODES 8   //  query nodes the probe asks at most

//  Bank domain: append = Deposit 5 (Withdraw 3 when the expected version is
//  3 mod 4) on account "bench-N" with the expected version; expect 0 opens
//  the account. target is the write node's command endpoint (a string).
extern const zcq_bench_driver_t zcq_bench_bank_driver;

//  Store domain: append = Append one ~200-byte event to stream "stream-N"
//  with the expected version. target is the command endpoint.
extern const zcq_bench_driver_t zcq_bench_store_driver;

//  Pipelined worker: each worker is one client that keeps `window`
//  commands in flight (bank commands on its own accounts, expected
//  versions counted ahead optimistically and resynchronised on a conflict;
//  a command answered "busy" is sent again after the node's hint).
typedef struct {
    const char *commands;           //  write node endpoint
    int streams;                    //  accounts bench-0 .. streams-1
    uint64_t *versions;             //  next expected version of each account
    int window;                     //  commands in flight per client
    uint64_t limit;                 //  stop after this many commands in all (0: none)
    atomic_uint_fast64_t sent;      //  commands sent in all
    atomic_uint_fast64_t busy;      //  "busy" answers, each resent
} zcq_bench_pipeline_t;

void
    zcq_bench_pipelined (zcq_bench_load_t *load, int worker, void *arg);

//  Query worker: `account` queries for bench-N, N round-robin, on one
//  query node (or spread over `spread` of them), each waiting for its answer.
typedef struct {
    const char *queries;            //  query node endpoint
    int accounts;                   //  accounts bench-0 .. accounts-1
    const char *const *nodes;       //  spread: these query nodes (ZCQ_ANY_QUERY_NODE)
    int spread;                     //  entries in nodes (0: only `queries`)
} zcq_bench_queries_t;

void
    zcq_bench_query_loop (zcq_bench_load_t *load, int worker, void *arg);

//  End-to-end probe (run as a load's extra thread): a Deposit on its own
//  account every interval_us, then an `account` query with the reply's
//  position as min_position sent to every query node at once; records the
//  time from the accepted reply to the last node's answer.
typedef struct {
    const char *commands;           //  write node endpoint
    const char *const *queries;     //  query node endpoints
    int nodes;                      //  how many
    int interval_us;                //  pace of the probes
    zcq_bench_latency_t *visible;   //  accepted -> visible everywhere, in the window
    uint64_t stale;                 //  answers that came back stale
    uint64_t failed;                //  probes with no or a refused answer
} zcq_bench_probe_t;

void
    zcq_bench_probe (zcq_bench_load_t *load, int worker, void *arg);

//  Send the query `name` (params, size bytes) with min_position to each of
//  the `nodes` DEALER sockets at once (1 .. ZCQ_BENCH_PROBE_NODES), then
//  wait up to timeout_ms for every node's answer. Answers of an earlier
//  call (another id) are dropped. Returns how many nodes answered ok;
//  *stale counts those that answered "stale", the rest gave no answer or
//  another one.
int
    zcq_bench_query_all (zsock_t *const *socks, int nodes, const char *name,
                         const void *params, size_t size, uint64_t min_position,
                         int timeout_ms, int *stale);

#endif
