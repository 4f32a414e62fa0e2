/*  =========================================================================
    zcq_console - zcqrs-console, a web console of a cluster: an actor that
    samples every node's "status" query (zcq_cluster) and serves the pages
    and their JSON over HTTP (zcq_web). It is a client of the cluster: it
    reaches the nodes over ZeroMQ only, with the public API (zcqrs.h), and
    the nodes serve no HTML.

    Its settings come from its settings table (zcq_console_settings), as a
    node's do: flags, --config FILE.zpl, --set PATH=VALUE, --help.
    =========================================================================
*/

#ifndef ZCQ_CONSOLE_H_INCLUDED
#define ZCQ_CONSOLE_H_INCLUDED

#include "zcqrs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_CONSOLE_QUERY_NODES 16 //  most query nodes a console follows

//  What the console was told to watch and how (borrowed from its config).
typedef struct {
    const char *http;                                //  HOST:PORT it serves HTTP on
    const char *commands;                            //  the write node's commands endpoint
    const char *replay;                              //  the write node's replay endpoint
    char *queries [ZCQ_CONSOLE_QUERY_NODES];         //  the query nodes' endpoints (owned)
    int query_count;                                 //  entries in queries
    bool send;                                       //  the send page may send commands
    int refresh;                                     //  ms between two status samples
    int history;                                     //  seconds of samples kept
    int timeout;                                     //  ms a query, command or replay may take
    const char *cert;                                //  our CURVE keypair file, or NULL
    const char *server_key;                          //  the write node's public key
    const char *query_key;                           //  the query nodes' public key
} zcq_console_config_t;

//  The console's settings table (zcq_setting_t rows, zcq_node.h).
const zcq_setting_t *
    zcq_console_settings (void);

//  Give the calling thread the console's CURVE identity, so that the
//  sockets it connects afterwards are secured (nothing when config has no
//  cert). Returns 0, or -1 with *error (caller frees).
int
    zcq_console_identity (const zcq_console_config_t *config, char **error);

//  text as a JSON string, escaped by the library's JSON writer (text from
//  outside, a stream name or an endpoint, may hold anything). Returns a new
//  string (caller frees).
char *
    zcq_console_quoted (const char *text);

//  The console actor (zcq_node_start / zcq_node_main): args is its
//  zconfig_t. Serves until $TERM.
void
    zcq_console_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif

#endif
