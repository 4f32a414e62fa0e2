/*  =========================================================================
    zcq_node - starting a node: run a node actor (zcq_write_node_actor,
    zcq_query_node_actor, or one of your own) and know whether it came up,
    and the main () of the node programs zcqrs-write and zcqrs-query
    =========================================================================
*/

#ifndef ZCQ_NODE_H_INCLUDED
#define ZCQ_NODE_H_INCLUDED

#include <czmq.h>

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
