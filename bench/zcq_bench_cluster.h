/*  =========================================================================
    zcq_bench_cluster - a zcqrs cluster a benchmark starts for itself: one
    write node and some query node processes from the build folder, on free
    loopback TCP ports, with their data in a fresh temporary folder; stopped
    by PID and removed when destroyed (and killed if the benchmark dies).
    =========================================================================
*/

#ifndef ZCQ_BENCH_CLUSTER_H_INCLUDED
#define ZCQ_BENCH_CLUSTER_H_INCLUDED

#include "zcq_bench_proc.h"

#include <stdint.h>

#define ZCQ_BENCH_MAX_QUERY   4 //  query nodes one cluster runs
#define ZCQ_BENCH_MAX_MEMBERS 5 //  write group members one cluster runs

typedef struct {
    const char *build;          //  folder of zcqrs-write and zcqrs-query
    const char *domain;         //  "bank" or "store"
    const char *durability;     //  "sync" or "async"
    int group;                  //  most commands per group (0: the node's default)
    int query_nodes;            //  query nodes to start (0 .. ZCQ_BENCH_MAX_QUERY)
    const char *const *write_tool; //  NULL-terminated command line to run the
                                   //  write node under (valgrind ...), or NULL
    const char *const *query_tool; //  the same for query nodes, or NULL
    const char *storage;           //  query nodes' --storage (NULL: their default)
    int members;                   //  write group members (0 or 1: one write node)
} zcq_bench_cluster_config_t;

typedef struct _zcq_bench_cluster_t zcq_bench_cluster_t;

//  Start the nodes (the config and what it points to stay the caller's and
//  must outlive the cluster) and wait until each answers "status" (at most
//  ready_ms each). Returns the cluster, or NULL after printing why (the
//  logs of the nodes that failed are printed too).
zcq_bench_cluster_t *
    zcq_bench_cluster_new (const zcq_bench_cluster_config_t *config, int ready_ms);

//  Stop every node (SIGTERM, then SIGKILL after 30 s), remove the folder;
//  nulls the pointer.
void
    zcq_bench_cluster_destroy (zcq_bench_cluster_t **self_p);

//  A write group's failover: kill the leader (SIGKILL), time until a
//  command is accepted by the group (its client has every member), then
//  start the killed member again on its data and wait until it answers;
//  the commands endpoint is the new leader's from then on. Returns the
//  seconds from the kill to the accepted command, or -1 (printed why).
double
    zcq_bench_cluster_failover (zcq_bench_cluster_t *self, int ready_ms);

//  Endpoint of the write node's commands (a write group's: its leader's),
//  and of query node `index`.
const char *
    zcq_bench_cluster_commands (zcq_bench_cluster_t *self);
const char *
    zcq_bench_cluster_queries (zcq_bench_cluster_t *self, int index);

//  Number of query nodes running.
int
    zcq_bench_cluster_query_nodes (zcq_bench_cluster_t *self);

//  The write node's process (a write group's: its leader's), and query
//  node `index`'s.
zcq_bench_proc_t *
    zcq_bench_cluster_write_proc (zcq_bench_cluster_t *self);
zcq_bench_proc_t *
    zcq_bench_cluster_query_proc (zcq_bench_cluster_t *self, int index);

//  Members of the write group (0 for a single write node); member `index`'s
//  process (0-based; NULL while it is down); the index of the member that
//  leads as last seen (at the start and after each failover; -1 for a single
//  write node).
int
    zcq_bench_cluster_members (zcq_bench_cluster_t *self);
zcq_bench_proc_t *
    zcq_bench_cluster_member_proc (zcq_bench_cluster_t *self, int index);
int
    zcq_bench_cluster_leader (zcq_bench_cluster_t *self);

//  The cluster's temporary folder.
const char *
    zcq_bench_cluster_dir (zcq_bench_cluster_t *self);

//  Stop the write node with signal and start it again on the same data.
//  Returns the seconds from starting the process to its first answer to
//  "status", or -1 (printed why).
double
    zcq_bench_cluster_restart_write (zcq_bench_cluster_t *self, int signal, int ready_ms);

//  Start one more query node with an empty folder of its own; *proc is
//  its process and endpoint (size bytes) its query endpoint. Does not wait
//  for it. Returns 0, or -1.
int
    zcq_bench_cluster_add_query (zcq_bench_cluster_t *self, const char *tag,
                                 zcq_bench_proc_t **proc, char *endpoint, size_t size);

//  Wait until the node at endpoint answers "status" (the write node when
//  write is true), at most timeout_ms. Returns 0, or -1.
int
    zcq_bench_cluster_wait_ready (const char *endpoint, bool write, int timeout_ms);

//  Read an unsigned integer field of the "status" answer of the node at
//  endpoint (the write node when write is true). Returns 0 with *value set,
//  or -1 if the node did not answer or has no such field.
int
    zcq_bench_cluster_status (const char *endpoint, bool write, const char *field,
                              uint64_t *value);

#endif
