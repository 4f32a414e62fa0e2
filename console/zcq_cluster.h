/*  =========================================================================
    zcq_cluster - what the console knows of the cluster: every node's last
    "status" answer, whether it answers, and the samples the charts draw
    (commands and events applied per second, ack and query latency
    percentiles, each query node's lag), over the last minutes

    The actor's thread owns the sockets: it asks every node for its status
    at each zcq_cluster_tick (a DEALER per node, sending only on a completed
    connection, so a node that is gone shows at once) and hands answers to
    zcq_cluster_recv. Any thread may read the JSON views; a mutex guards
    them (the console is no hot path).

    A query node that does not answer keeps its last applied position: its
    lag is then estimated as the write node's head minus that position.
    =========================================================================
*/

#ifndef ZCQ_CLUSTER_H_INCLUDED
#define ZCQ_CLUSTER_H_INCLUDED

#include "zcq_console.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_cluster_t zcq_cluster_t;

//  Create the model of the nodes config names (the write node, then the
//  query nodes), with a socket to each, connected from the calling thread
//  (the one that polls them; its CURVE identity, if any, applies).
zcq_cluster_t *
    zcq_cluster_new (const zcq_console_config_t *config);

//  Destroy the model and its sockets; nulls the caller's pointer.
void
    zcq_cluster_destroy (zcq_cluster_t **self_p);

//  The node sockets to poll: how many, and each (borrowed).
size_t
    zcq_cluster_socks (zcq_cluster_t *self);
zsock_t *
    zcq_cluster_sock (zcq_cluster_t *self, size_t index);

//  Take an answer from a readable node socket.
void
    zcq_cluster_recv (zcq_cluster_t *self, zsock_t *sock);

//  End a round: a node that did not answer its status query counts as
//  down (with its last answer kept), a sample goes to the history; then
//  ask every node again.
void
    zcq_cluster_tick (zcq_cluster_t *self);

//  JSON of every node now, and of the samples (see README, "Console").
//  Any thread. Return new strings (caller frees).
char *
    zcq_cluster_json (zcq_cluster_t *self);
char *
    zcq_cluster_history_json (zcq_cluster_t *self);

//  The write node's head as it last said (0 if never). Any thread.
uint64_t
    zcq_cluster_head (zcq_cluster_t *self);

#ifdef __cplusplus
}
#endif

#endif
