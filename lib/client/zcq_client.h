/*  =========================================================================
    zcq_client - the C client: commands to a write node, queries to query
    nodes, with read-your-writes

    A client holds one DEALER to the write node and one per query node. It
    remembers the highest global position it has seen acknowledged; in
    consistent mode every query carries it as min_position, so a client
    always reads its own writes. Not thread-safe: one client per thread.
    =========================================================================
*/

#ifndef ZCQ_CLIENT_H_INCLUDED
#define ZCQ_CLIENT_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_WRITE_NODE       (-1)                      //  "node" index of the write node
#define ZCQ_ANY_QUERY_NODE   (-2)                      //  "node": spread over the query nodes

typedef struct _zcq_client_t zcq_client_t;

//  Create a client of the write node at endpoint (NULL: the default), or
//  of a write group: every member's commands endpoint, separated by commas
//  ("tcp://a:5601,tcp://b:5601,tcp://c:5601"); commands then go to the
//  leader, which not_leader replies name (zcq_client_request). Connecting
//  is asynchronous: the first command waits for the link.
zcq_client_t *
    zcq_client_new (const char *commands_endpoint);

//  Destroy the client, dropping anything unsent; nulls the pointer.
void
    zcq_client_destroy (zcq_client_t **self_p);

//  Add a query node; returns its index (0, 1, ...) for zcq_client_query.
int
    zcq_client_add_query_node (zcq_client_t *self, const char *endpoint);

//  In consistent mode (on by default) each query carries the highest
//  position this client saw acknowledged as min_position.
void
    zcq_client_set_consistent (zcq_client_t *self, bool consistent);

//  Build a COMMAND with a fresh random 16-byte id. data is a packed msgpack
//  map (NULL/0: empty); expect is ZCQ_EXPECT_ANY, 0 (no stream) or N.
//  If the kernel gives no random bytes (getrandom fails), the command comes
//  back without an id and marked failed: zcq_msg_valid () is false,
//  zcq_msg_error () says why, and nothing sends it.
zcq_msg_t *
    zcq_client_command (const char *type, const char *stream, int64_t expect,
                        const void *data, size_t size);

//  Send a command and wait up to timeout_ms in all for its reply, retrying
//  with the same command id (Lazy Pirate): after a silent attempt it
//  reconnects and resends; after "busy" or "unavailable" it waits and
//  resends; after "not_leader" it resends at once to the leader the reply
//  names, or to the next member after the hint. Returns the REPLY (the last one if every attempt was refused;
//  or an ERROR naming what the node could not read), or NULL if no attempt
//  was answered in time, or at once (logged) if the command cannot be
//  encoded (zcq_msg_valid (command) false, zcq_msg_error says why). The
//  command stays the caller's; the reply is the caller's. A command id has
//  one outcome, so a retried command takes effect at most once and, once
//  answered, exactly once.
zcq_msg_t *
    zcq_client_request (zcq_client_t *self, zcq_msg_t *command, int timeout_ms);

//  Most sends of one command by zcq_client_request, the first included
//  (default 5; 1: no retries). The time-out is shared among them.
void
    zcq_client_set_attempts (zcq_client_t *self, int attempts);

//  Number of resends zcq_client_request made so far.
uint64_t
    zcq_client_retries (zcq_client_t *self);

//  Shorthand: build, send and wait. Returns as zcq_client_request.
zcq_msg_t *
    zcq_client_send (zcq_client_t *self, const char *type, const char *stream,
                     int64_t expect, const void *data, size_t size, int timeout_ms);

//  Pipelining: send a command without waiting (the command stays the
//  caller's); collect replies, in any order, with zcq_client_recv_reply.
//  Returns 0, or -1 if it could not be sent.
int
    zcq_client_post (zcq_client_t *self, zcq_msg_t *command);

//  Next reply from the write node, or NULL after timeout_ms.
zcq_msg_t *
    zcq_client_recv_reply (zcq_client_t *self, int timeout_ms);

//  Run a named query on query node `node` (or ZCQ_WRITE_NODE, which answers
//  "status"). params is a packed map (NULL/0: none). min_position 0 uses
//  the client's own position in consistent mode. Returns the RESULT (or an
//  ERROR), or NULL on time-out (or, logged, if no random query id could be
//  made).
//  With node ZCQ_ANY_QUERY_NODE the query goes to the query nodes in turn
//  (round robin): a node that does not answer within its share of
//  timeout_ms is passed over for a second and the query asked of the next;
//  so is a node whose answer is "stale" (below min_position), "busy",
//  "unavailable" or may_be_stale, unless no other does better in time (its
//  answer is then returned). min_position keeps read-your-writes whichever
//  node answers.
zcq_msg_t *
    zcq_client_query (zcq_client_t *self, int node, const char *name, const void *params,
                      size_t size, uint64_t min_position, int timeout_ms);

//  Number of queries asked again of another query node (ZCQ_ANY_QUERY_NODE)
//  so far.
uint64_t
    zcq_client_query_retries (zcq_client_t *self);

//  Shorthand for the "status" query of the write node.
zcq_msg_t *
    zcq_client_write_status (zcq_client_t *self, int timeout_ms);

//  Highest global position this client saw in an accepted reply.
uint64_t
    zcq_client_position (zcq_client_t *self);

#ifdef __cplusplus
}
#endif

#endif
