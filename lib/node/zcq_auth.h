/*  =========================================================================
    zcq_auth - CURVE security of node endpoints: node keypairs, the allowed
    client keys, roles per key, and the process's ZAP handler

    A secured endpoint is a CURVE server with its own ZAP domain. One ZAP
    handler per process (an actor on inproc://zeromq.zap.01, started with
    the first secured endpoint) looks the client's public key up in that
    endpoint's folder of allowed certificates:

        unknown key                  refused at the handshake (logged)
        known key, required role     refused at the handshake unless the key
        missing                      has it (events and replay: "replicate")
        known key                    admitted; the user id (the certificate's
                                     "name") and the key's roles reach every
                                     message as frame metadata "User-Id" and
                                     "Roles", so commands and queries check
                                     the role per message (zcq_endpoint_refuse)
        known key, name that         admitted and logged; the codec refuses
        cannot be a user id          each of its messages (too_large or
        (over ZCQ_MAX_USER bytes,    invalid, naming the problem), so its
        not UTF-8)                   client learns why

    Roles are set per key name in the node's settings (SECTION/security):

        security
            cert = keys/write.cert      #  node keypair (public + _secret)
            clients = keys/clients      #  folder of allowed public certs
            roles
                alice = commands,query
                replica = replicate

    Connecting sockets (clients, feeds) take a keypair and the server's
    public key: explicitly (zcq_auth_client) or from the calling thread's
    identity (zcq_auth_identity_set, then zcq_auth_identity_apply), so that
    code that creates its own sockets needs one line and no new arguments.
    =========================================================================
*/

#ifndef ZCQ_AUTH_H_INCLUDED
#define ZCQ_AUTH_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Roles a client key may hold (bits).
#define ZCQ_ROLE_COMMANDS  1u   //  send COMMAND to the write node
#define ZCQ_ROLE_QUERY     2u   //  send QUERY to any node
#define ZCQ_ROLE_REPLICATE 4u   //  subscribe to events and ask for replay

//  Parse a role list ("commands,query", "replicate", "" for none; commas or
//  spaces between words). Returns 0 and the bits, or -1 with *error (the
//  caller frees) naming the unknown word.
int
    zcq_auth_roles_parse (const char *text, unsigned *roles, char **error);

//  Return true if a role list as carried in "Roles" metadata holds role.
bool
    zcq_auth_roles_allow (const char *roles, unsigned role);

//  Make sock (not yet bound) a CURVE server with the settings in security
//  (a "security" section: cert, clients, roles). name says which endpoint
//  it is ("commands") in logs and its ZAP domain; required is the role a
//  key needs to connect at all (0: any allowed key). Starts the process's
//  ZAP handler if needed. Returns 0, or -1 with *error (caller frees).
int
    zcq_auth_server (zsock_t *sock, zconfig_t *security, const char *name, unsigned required,
                     char **error);

//  Make sock (not yet connected) a CURVE client with the keypair in the
//  certificate file cert_path (and cert_path_secret) and the server's public
//  key: 40 Z85 characters, or a certificate file holding it. Sets a send
//  timeout of 0: a server that refuses the key leaves the socket without a
//  peer, where a send would otherwise block forever. Returns 0, or -1 with
//  *error (caller frees).
int
    zcq_auth_client (zsock_t *sock, const char *cert_path, const char *server_key,
                     char **error);

//  Set the calling thread's client identity, which zcq_auth_identity_apply
//  puts on every socket this thread connects afterwards: our keypair (the
//  certificate file cert_path and cert_path_secret) and the public key of
//  the server(s) we connect to (server_key as in zcq_auth_client). NULL
//  cert_path clears the identity. Returns 0, or -1 with *error (caller
//  frees).
int
    zcq_auth_identity_set (const char *cert_path, const char *server_key, char **error);

//  Use another server key for one endpoint (e.g. a query node, whose key
//  differs from the write node's); at most 16 endpoints. Returns 0, or -1
//  with *error (caller frees).
int
    zcq_auth_identity_server (const char *endpoint, const char *server_key, char **error);

//  Put the calling thread's client identity on sock, about to connect to
//  endpoint; does nothing when the thread has none. Returns 0.
int
    zcq_auth_identity_apply (zsock_t *sock, const char *endpoint);

//  Write a new certificate pair: PATH (public) and PATH_secret, with the
//  metadata name = name. Returns 0, or -1 with *error (caller frees).
int
    zcq_auth_keygen (const char *path, const char *name, char **error);

//  Stop the process's ZAP handler if it runs (also done at exit).
void
    zcq_auth_shutdown (void);

#ifdef __cplusplus
}
#endif

#endif
