/*  =========================================================================
    zcq_web - the console's HTTP side (libmicrohttpd, one thread of its own):
    the pages (zcq_assets) and the JSON they read:

        GET  /api/cluster   every node now (zcq_cluster)
        GET  /api/history   the samples the charts draw
        GET  /api/log       events by position: from=P (default: the latest)
                            count=N (1-200, default 20)
        GET  /api/stream    a stream's events: name=S, scanning the log from
                            from=P (default 1), at most scan=N positions a
                            request (default 20000)
        GET  /api/query     a named query: node=K (0: the first query node)
                            name=Q params=JSON min_position=P
        POST /api/command   {"type", "stream", "expect", "data"}: send a
                            command; refused (403) unless sending is on

    The HTTP thread asks the nodes itself, over ZeroMQ sockets it makes the
    first time it needs them (replay for the log, a zcq_client for queries
    and commands), each bounded by the console's timeout. It answers only
    requests addressed to the host and port it serves (a page elsewhere
    cannot reach it through a name of its own), and a command only as JSON.
    =========================================================================
*/

#ifndef ZCQ_WEB_H_INCLUDED
#define ZCQ_WEB_H_INCLUDED

#include "zcq_cluster.h"
#include "zcq_console.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_web_t zcq_web_t;

//  Serve the console on config's HTTP address (HOST:PORT; "*" for every
//  interface, port 0 for any free port), reading the cluster's views.
//  config and cluster are borrowed and must outlive it. Returns NULL with
//  *error (caller frees) naming the address and what went wrong.
zcq_web_t *
    zcq_web_new (const zcq_console_config_t *config, zcq_cluster_t *cluster, char **error);

//  Stop serving (joins the HTTP thread), close its sockets; nulls the
//  pointer.
void
    zcq_web_destroy (zcq_web_t **self_p);

//  The URL it serves, e.g. "http://127.0.0.1:9600/". Borrowed.
const char *
    zcq_web_url (zcq_web_t *self);

#ifdef __cplusplus
}
#endif

#endif
