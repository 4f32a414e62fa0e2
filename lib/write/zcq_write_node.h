/*  =========================================================================
    zcq_write_node - the command side: receive commands, decide them against
    aggregate state, append their events atomically and durably, reply,
    publish; serve replay of the stored log

    Two threads: this actor decides a group, writes and fsyncs it
    (zcq_writer) while ZeroMQ queues the next commands, replies and
    publishes; zcq_replay serves REPLAY from LevelDB snapshots (a write
    group member hands its groups to a replica thread, zcq_replica). Run it
    as a czmq actor:

        zactor_t *node = zcq_node_start (zcq_write_node_actor, config, &error);

    Its settings (paths, flags, defaults, help) are its settings table,
    zcq_write_node_settings (); README.md lists them.
    =========================================================================
*/

#ifndef ZCQ_WRITE_NODE_H_INCLUDED
#define ZCQ_WRITE_NODE_H_INCLUDED

#include "zcq_node.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The actor. args is a zconfig_t * (borrowed, read before the actor says
//  it is ready). On the pipe it answers "$TERM" and reports "READY ..." or
//  "ERROR reason" once after start (see zcq_node_start). For tests it also
//  takes ["FAIL-WRITES", "N"]: the next N batch writes fail as a broken disk
//  would, and ["DELAY-WRITES", "MS"]: every write waits MS ms as a slow
//  disk would; it signals once the fault is armed. And ["AWAIT-WRITE"]: it
//  signals at once, and once more when it next seals a group of commands
//  for writing, just before the write begins, so that a test knows that
//  what it sends next comes while that write is under way (and is decided
//  after it, into a later group).
void
    zcq_write_node_actor (zsock_t *pipe, void *args);

//  The write node's settings table (see zcq_setting_t), for its program's
//  flags and --help; the actor refuses a config whose values it does not
//  accept, naming the setting.
const zcq_setting_t *
    zcq_write_node_settings (void);

#ifdef __cplusplus
}
#endif

#endif
