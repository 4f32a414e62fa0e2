/*  =========================================================================
    zcq_query_node - the query side: follow the write node's events in order
    (repairing holes through replay), fold them into a domain's read models
    in LevelDB, and answer named queries with the position they reflect

    Besides the domain's queries it answers "status" (its position, feed
    state, catch-up progress) and "checksum" (a SHA-1 of its read models at
    its applied position, equal on every replica at the same position).

    Settings (zconfig paths, defaults in brackets):
        query/events      write node PUB to subscribe to        [tcp://127.0.0.1:5602]
        query/replay      write node replay ROUTER              [tcp://127.0.0.1:5603]
        query/queries     ROUTER for QUERY                      [tcp://127.0.0.1:5611]
        query/data        LevelDB folder                        [var/query-1]
        query/domain      domain name or .so path               [bank]
        query/wait        default ms to wait for min_position   [1000]
        query/silence     heartbeats missed before the write node
                          counts as unreachable                 [3]
        query/hwm         SUB receive queue, messages           [100000]
        query/cache       read-model values kept in memory      [100000]
        query/rebuild     1: build the read models again from the
                          log beside the serving ones, then
                          switch to them                        [0]
        query/fault/apply_delay_ms  test seam: hold each ready
                          event this long before applying it    [0: off]
    =========================================================================
*/

#ifndef ZCQ_QUERY_NODE_H_INCLUDED
#define ZCQ_QUERY_NODE_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The actor; same contract as zcq_write_node_actor.
void
    zcq_query_node_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif

#endif
