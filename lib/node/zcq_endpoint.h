/*  =========================================================================
    zcq_endpoint - a node's server sockets: bind them with the options
    every node endpoint shares, make them CURVE servers from the node's
    security settings, and refuse what an endpoint cannot serve (garbage,
    the wrong message type, a role the peer's key lacks), blocking peers
    that keep sending garbage (zcq_blocklist.h)
    =========================================================================
*/

#ifndef ZCQ_ENDPOINT_H_INCLUDED
#define ZCQ_ENDPOINT_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Bit of a message type, for zcq_endpoint_refuse's accepted set.
#define ZCQ_ENDPOINT_TAKES(type) (1u << (type))

//  Answer a message that this endpoint cannot serve: frames that did not
//  decode (ERROR), a type not in accepted (ERROR "the <endpoint> endpoint
//  takes ..., not <type>"), an accepted type that failed validation (its
//  own reply type, naming what was wrong), or, on a secured endpoint, a type
//  the peer's key has no role for (its reply type, status forbidden). A peer
//  that had too many messages refused is ignored for a while: its messages
//  are discarded unanswered (zcq_blocklist.h). Returns true if the message is
//  dealt with (the caller is done with it), false for a valid, accepted,
//  permitted message.
bool
    zcq_endpoint_refuse (zcq_msg_t *msg, zsock_t *sock, const char *endpoint, unsigned accepted);

//  Make a server socket of a node (ROUTER or PUB) bound to endpoint, with
//  the options every node endpoint shares: no linger, deep send queues, the
//  hard message limit, and on a ROUTER undeliverable replies reported rather
//  than dropped. An ipc:// path that another live process serves is refused
//  (ZeroMQ would silently take it over). Returns the socket, or NULL with
//  *error (caller frees) naming the role and the endpoint.
zsock_t *
    zcq_endpoint_bind (int type, const char *endpoint, const char *role, char **error);

//  Make and bind a node's server socket from its settings: the endpoint is
//  SECTION/NAME (fallback if unset: the node's settings table gives it),
//  NAME names it in logs and errors. With
//  SECTION/security/clients set, the socket is a CURVE server: keypair
//  SECTION/security/cert, allowed keys in the clients folder, roles per key
//  name in SECTION/security/roles (see zcq_auth.h). The "events" and
//  "replay" endpoints admit only keys with the replicate role; the others
//  admit any allowed key and zcq_endpoint_refuse checks the role per message.
//  With SECTION/security/server set (the public key or certificate of the
//  node this one connects to), the calling thread's client identity becomes
//  cert + server, so the sockets it connects afterwards use CURVE. Returns
//  the socket, or NULL with *error (caller frees).
zsock_t *
    zcq_endpoint_serve (zconfig_t *config, int type, const char *section, const char *name,
                        const char *fallback, char **error);

//  Resolved endpoint a socket is bound to (tcp://127.0.0.1:* gives the
//  port). Caller frees.
char *
    zcq_endpoint_resolved (zsock_t *sock);

//  A TCP port free now on every local address, for a node a script or a
//  test is about to start: random, below the kernel's ephemeral range
//  (net.ipv4.ip_local_port_range), so that no outgoing connection can take
//  it between this call and the node's bind. Never the same port twice in
//  one process, nor to two processes of this machine while both live (a
//  lock per port in /tmp/zcqrs-free-ports.lock, held until the process
//  that got the port ends). Returns the port, or -1 if none of 200 tries
//  was free.
int
    zcq_endpoint_free_port (void);

#ifdef __cplusplus
}
#endif

#endif
