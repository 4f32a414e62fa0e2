/*  =========================================================================
    zcq_replay - the write node's replay server: answers REPLAY requests
    with bounded EVENTS batches read from a LevelDB snapshot, on its own
    thread, so that a query node catching up never holds up commands

    Flow control is by credit: each REPLAY is one batch of credit, answered
    by exactly one EVENTS (at most `max` events and about 8 MiB), so the
    server never queues more for a peer than that peer asked for. Run it as
    a czmq actor that takes over a bound ROUTER socket:

        zcq_replay_config_t config = {store, socket, &served, &events};
        zactor_t *replay = zactor_new (zcq_replay_actor, &config);
    =========================================================================
*/

#ifndef ZCQ_REPLAY_H_INCLUDED
#define ZCQ_REPLAY_H_INCLUDED

#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What the replay server needs; read before zactor_new returns.
typedef struct {
    zcq_store_t *store; //  the event log's store (shared; LevelDB is thread-safe)
    zsock_t *socket;    //  bound ROUTER; the actor owns and destroys it
    uint64_t *served;   //  REPLAY requests answered: a metrics cell only the actor
                        //  writes (zcq_metrics.h), or NULL
    uint64_t *events;   //  events sent in those answers: the same kind of cell, or NULL
    const char *cluster;     //  said in every EVENTS (spec section 10.16): the log's
    const char *incarnation; //  cluster and incarnation ids and the domain's name,
    const char *domain;      //  copied by the actor; NULL: not said
    zcq_store_t *keys;  //  the key table's store, to open sealed values (NULL: none)
} zcq_replay_config_t;

//  The actor. Answers "$TERM" on its pipe and "SERVED" with the number of
//  REPLAY requests answered so far (an 8-byte number) on request.
void
    zcq_replay_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif

#endif
