/*  =========================================================================
    zcq_write_node - the command side: receive commands, decide them against
    aggregate state, append their events atomically and durably, reply,
    publish; serve replay of the stored log

    Three threads: this actor decides; zcq_writer writes and fsyncs one
    group while the next is decided; zcq_replay serves REPLAY from LevelDB
    snapshots. Run it as a czmq actor:

        zactor_t *node = zcq_node_start (zcq_write_node_actor, config, &error);

    Settings (zconfig paths, defaults in brackets):
        write/commands    ROUTER for COMMAND and QUERY "status" [tcp://127.0.0.1:5601]
        write/events      PUB for EVENT and HEARTBEAT           [tcp://127.0.0.1:5602]
        write/replay      ROUTER for REPLAY                     [tcp://127.0.0.1:5603]
        write/data        LevelDB folder                        [var/write]
        write/domain      domain name or .so path               [bank]
        write/durability  sync (ack after fdatasync) | async    [sync]
        write/heartbeat   milliseconds between heartbeats       [1000]
        write/cache       aggregate states kept in memory       [10000]
        write/group       most commands decided into one group
                          (one batch) while a write is under way [1024]
        write/queue       most commands queued undecided while
                          that group is full; beyond: "busy"    [10000]
        write/client_inflight  most commands of one connection
                          in the node (queued, decided, being
                          written); beyond it: "busy"           [1024]
        write/snapshot    events between aggregate snapshots    [1000]
                          (0: none written or read; domains without
                          state_save never; one that does not load is
                          passed over and the stream folded whole)
        write/ids/keep    most command ids remembered           [10000000]
        write/ids/max_age seconds a command id is remembered    [604800]
        write/fault/drop_every   test seam: do not publish every Nth event [0]
        write/fault/write_delay  test seam: every write waits N ms         [0]
    =========================================================================
*/

#ifndef ZCQ_WRITE_NODE_H_INCLUDED
#define ZCQ_WRITE_NODE_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The actor. args is a zconfig_t * (borrowed, read before the actor says
//  it is ready). On the pipe it answers "$TERM" and reports "READY ..." or
//  "ERROR reason" once after start (see zcq_node_start). For tests it also
//  takes ["FAIL-WRITES", "N"]: the next N batch writes fail as a broken disk
//  would, and ["DELAY-WRITES", "MS"]: every write waits MS ms as a slow
//  disk would; it signals once the fault is armed.
void
    zcq_write_node_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif

#endif
