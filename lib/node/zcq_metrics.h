/*  =========================================================================
    zcq_metrics - a node's metrics: a registry of counters, gauges and
    histograms, served in the Prometheus text exposition format (version
    0.0.4) over HTTP at /metrics by a libmicrohttpd thread of its own

    The actor that owns the node registers its metrics once, before
    zcq_metrics_serve, and then only ever writes them; the HTTP thread only
    ever reads them. A counter or gauge is a uint64_t cell the actor keeps
    anyway (the counters its "status" query answers from): the actor updates
    it with zcq_metrics_add / zcq_metrics_set, a relaxed atomic store that
    costs what a plain increment does, and the HTTP thread reads it with a
    relaxed atomic load. A histogram's buckets are cells of the same kind.
    Each cell has one writer, so nothing is ever locked and a scrape never
    holds up the hot path.

    Every registry also serves the process's metrics (resident and virtual
    memory, CPU seconds, start time, open files, threads: the names of
    Prometheus's own process collector), the node's uptime and its build
    (zcqrs_build_info with the version, role and domain as labels).
    =========================================================================
*/

#ifndef ZCQ_METRICS_H_INCLUDED
#define ZCQ_METRICS_H_INCLUDED

#include <czmq.h>
#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_metrics_t zcq_metrics_t;
typedef struct _zcq_histogram_t zcq_histogram_t;

//  Buckets of latency histograms, in microseconds (100 us to 5 s)
#define ZCQ_METRICS_LATENCY_BUCKETS                                                        \
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, \
        2500000, 5000000

//  Add amount to a counter cell. Only one thread may write a cell (the
//  actor that owns it); the HTTP thread reads it at any time.
static inline void
zcq_metrics_add (uint64_t *cell, uint64_t amount)
{
    __atomic_store_n (cell, __atomic_load_n (cell, __ATOMIC_RELAXED) + amount,
                      __ATOMIC_RELAXED);
}

//  Set a gauge cell (one writing thread, as zcq_metrics_add).
static inline void
zcq_metrics_set (uint64_t *cell, uint64_t value)
{
    __atomic_store_n (cell, value, __ATOMIC_RELAXED);
}

//  Read a cell from any thread.
static inline uint64_t
zcq_metrics_get (const uint64_t *cell)
{
    return __atomic_load_n (cell, __ATOMIC_RELAXED);
}

//  A row of a table of counters and gauges that an actor registers in one
//  call: each reads a uint64_t cell of the actor's state, at offset. A
//  table ends with a row whose name is NULL.
typedef struct {
    bool gauge;         //  false: a counter, true: a gauge
    const char *name;   //  e.g. "zcqrs_commands_total"
    const char *labels; //  e.g. "outcome=\"accepted\"", or NULL
    const char *help;   //  one line; series of one name share the first
    size_t offset;      //  offsetof (the actor's state, the cell)
} zcq_metric_t;

//  Create the registry of a node of this role ("write", "query") running
//  this domain; both name the node in zcqrs_build_info. It serves nothing
//  until zcq_metrics_serve.
zcq_metrics_t *
    zcq_metrics_new (const char *role, const char *domain);

//  Stop serving (joins the HTTP thread) and destroy the registry and its
//  histograms; the cells of counters and gauges stay their owner's. Nulls
//  the caller's pointer; safe on NULL.
void
    zcq_metrics_destroy (zcq_metrics_t **self_p);

//  Register a series of a counter (a value that only grows) or of a gauge
//  (one that goes up and down), read from cell, which must outlive the
//  registry. name follows Prometheus's conventions (counters end in
//  _total); labels is NULL or the label pairs as written between the
//  braces (outcome="accepted"); series of one name share its help. Only
//  before zcq_metrics_serve.
void
    zcq_metrics_counter (zcq_metrics_t *self, const char *name, const char *labels,
                         const char *help, const uint64_t *cell);
void
    zcq_metrics_gauge (zcq_metrics_t *self, const char *name, const char *labels,
                       const char *help, const uint64_t *cell);

//  Register every row of table, reading the cells of owner.
void
    zcq_metrics_register (zcq_metrics_t *self, const zcq_metric_t *table, const void *owner);

//  Register a histogram whose observations are whole numbers (microseconds,
//  commands) with count ascending bucket upper bounds in that unit; they
//  are served divided by scale (1e6 shows microseconds as the seconds a
//  _seconds name promises; 1 shows them as they are). The registry owns
//  it. Only before zcq_metrics_serve.
zcq_histogram_t *
    zcq_metrics_histogram (zcq_metrics_t *self, const char *name, const char *help,
                           const uint64_t *bounds, size_t count, double scale);

//  Count one observation (one writing thread, as zcq_metrics_add).
void
    zcq_histogram_observe (zcq_histogram_t *self, uint64_t value);

//  Observations so far, and their sum (in the unit observed).
uint64_t
    zcq_histogram_count (zcq_histogram_t *self);
uint64_t
    zcq_histogram_sum (zcq_histogram_t *self);

//  The cell that counts observations, to serve it as a counter of its own
//  too (a histogram of group sizes counts the groups).
const uint64_t *
    zcq_histogram_count_cell (zcq_histogram_t *self);

//  Pack the histogram as a map for a "status" answer: count, sum (as
//  observed), le (the bucket bounds) and counts (observations per bucket,
//  one more than le: the last counts what is above the last bound).
void
    zcq_histogram_pack (zcq_histogram_t *self, msgpack_packer *pk);

//  Serve the registry over HTTP at http://ADDRESS/metrics, address being
//  HOST:PORT (an IPv4 address, "localhost" or "*" for every interface;
//  port 0 takes any free port). Returns 0, or -1 with *error (caller frees)
//  naming the address and what went wrong.
int
    zcq_metrics_serve (zcq_metrics_t *self, const char *address, char **error);

//  The URL it serves ("http://127.0.0.1:9601/metrics", with the port it
//  got), or "" before zcq_metrics_serve. Borrowed.
const char *
    zcq_metrics_url (zcq_metrics_t *self);

//  The exposition text, as a scrape gets it. Returns a new string (caller
//  frees).
char *
    zcq_metrics_text (zcq_metrics_t *self);

#ifdef __cplusplus
}
#endif

#endif
