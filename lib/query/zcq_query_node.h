/*  =========================================================================
    zcq_query_node - the query side: follow the write node's events in order
    (repairing holes through replay), fold them into a domain's read models
    in LevelDB, and answer named queries with the position they reflect

    Besides the domain's queries it answers "status" (its position, feed
    state, catch-up progress) and "checksum" (a SHA-1 of its read models at
    its applied position, equal on every replica at the same position).

    Its settings (paths, flags, defaults, help) are its settings table,
    zcq_query_node_settings (); README.md lists them.
    =========================================================================
*/

#ifndef ZCQ_QUERY_NODE_H_INCLUDED
#define ZCQ_QUERY_NODE_H_INCLUDED

#include "zcq_node.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The actor; same contract as zcq_write_node_actor.
void
    zcq_query_node_actor (zsock_t *pipe, void *args);

//  The query node's settings table (see zcq_setting_t), for its program's
//  flags and --help; the actor refuses a config whose values it does not
//  accept, naming the setting.
const zcq_setting_t *
    zcq_query_node_settings (void);

#ifdef __cplusplus
}
#endif

#endif
