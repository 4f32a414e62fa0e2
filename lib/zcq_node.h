/*  =========================================================================
    zcq_node - what the node programs and tests share: settings from flags
    and a ZPL file, starting a node actor and knowing whether it came up,
    and the thin main () of zcqrs-write and zcqrs-query
    =========================================================================
*/

#ifndef ZCQ_NODE_H_INCLUDED
#define ZCQ_NODE_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

//  One command-line flag and the setting it writes.
typedef struct {
    const char *flag;           //  "--commands"
    const char *path;           //  "write/commands"
    const char *help;           //  one line for --help
} zcq_option_t;

//  Start a node actor with these settings (borrowed). Returns the actor once
//  it serves, with its endpoint summary in *message; or NULL with the reason
//  in *message. The caller frees *message.
zactor_t *
    zcq_node_start (zactor_fn *actor, zconfig_t *config, char **message);

//  Tell the pipe's owner the node serves, with a summary of its endpoints,
//  or why it could not start. Node actors call these once.
void
    zcq_node_ready (zsock_t *pipe, const char *summary);
void
    zcq_node_failed (zsock_t *pipe, const char *reason);

//  Bit of a message type, for zcq_node_refuse's accepted set.
#define ZCQ_NODE_TAKES(type) (1u << (type))

//  Answer a message that this endpoint cannot serve: frames that did not
//  decode (ERROR), a type not in accepted (ERROR "the <endpoint> endpoint
//  takes ..., not <type>"), an accepted type that failed validation (its
//  own reply type, naming what was wrong), or, on a secured endpoint, a type
//  the peer's key has no role for (its reply type, status forbidden). A peer
//  that had too many messages refused is ignored for a while: its messages
//  are discarded unanswered (zcq_peers.h). Returns true if the message is
//  dealt with (the caller is done with it), false for a valid, accepted,
//  permitted message.
bool
    zcq_node_refuse (zcq_msg_t *msg, zsock_t *sock, const char *endpoint, unsigned accepted);

//  Make a server socket of a node (ROUTER or PUB) bound to endpoint, with
//  the options every node endpoint shares: no linger, deep send queues, the
//  hard message limit, and on a ROUTER undeliverable replies reported rather
//  than dropped. An ipc:// path that another live process serves is refused
//  (ZeroMQ would silently take it over). Returns the socket, or NULL with
//  *error (caller frees) naming the role and the endpoint.
zsock_t *
    zcq_node_bind (int type, const char *endpoint, const char *role, char **error);

//  Make and bind a node's server socket from its settings: the endpoint is
//  SECTION/NAME (fallback if unset), NAME names it in logs and errors. With
//  SECTION/security/clients set, the socket is a CURVE server: keypair
//  SECTION/security/cert, allowed keys in the clients folder, roles per key
//  name in SECTION/security/roles (see zcq_auth.h). The "events" and
//  "replay" endpoints admit only keys with the replicate role; the others
//  admit any allowed key and zcq_node_refuse checks the role per message.
//  With SECTION/security/server set (the public key or certificate of the
//  node this one connects to), the calling thread's client identity becomes
//  cert + server, so the sockets it connects afterwards use CURVE. Returns
//  the socket, or NULL with *error (caller frees).
zsock_t *
    zcq_node_serve (zconfig_t *config, int type, const char *section, const char *name,
                    const char *fallback, char **error);

//  Read a setting as text or as a number, with a default.
const char *
    zcq_node_get (zconfig_t *config, const char *path, const char *fallback);
int64_t
    zcq_node_get_int (zconfig_t *config, const char *path, int64_t fallback);

//  Resolved endpoint a socket is bound to (tcp://127.0.0.1:* gives the
//  port). Caller frees.
char *
    zcq_node_endpoint (zsock_t *sock);

//  The main () of a node program: parse flags (--config FILE first, then
//  flags override it), start the actor, print its READY line on stdout,
//  run until SIGINT/SIGTERM or until the actor dies. Returns the exit code.
int
    zcq_node_main (const char *program, zactor_fn *actor, const zcq_option_t *options,
                   int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
