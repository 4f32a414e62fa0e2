/*  =========================================================================
    zcq_peer_nats - NATS JetStream as a peer (see zcq_peers.h)

    One JetStream stream "BENCH" in file storage holds subjects ev.N, one
    subject per benchmark stream. A stream's "version" is the sequence of
    its last message: every publish sets Nats-Expected-Last-Subject-Sequence
    to it (a new subject publishes without), and the server refuses a
    publish whose subject moved on.

    Durability: this nats-server (2.9, Debian bookworm) acknowledges once
    the message is written to its file, and fsyncs its files on a timer
    (every 2 minutes by default); it has no per-ack fsync. Its figure is
    therefore not durable against power loss, and the table says so.
    =========================================================================
*/

#include "zcq_peers.h"
#include "zcq_bench_zcqrs.h"

#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NATS_SERVER "/usr/sbin/nats-server"

typedef struct {
    natsConnection *nats; //  one connection
    jsCtx *js;            //  its JetStream context
} s_connection_t;

static void
s_disconnect (void *arg)
{
    s_connection_t *connection = (s_connection_t *) arg;
    jsCtx_Destroy (connection->js);
    natsConnection_Destroy (connection->nats);
    free (connection);
}

static void *
s_connect (void *target, int client)
{
    (void) client;
    zcq_peer_server_t *server = (zcq_peer_server_t *) target;
    s_connection_t *connection = (s_connection_t *) calloc (1, sizeof (s_connection_t));
    if (natsConnection_ConnectTo (&connection->nats, server->address) != NATS_OK
        || natsConnection_JetStream (&connection->js, connection->nats, NULL) != NATS_OK) {
        s_disconnect (connection);
        return NULL;
    }
    return connection;
}

static void *
s_start (const char *folder)
{
    zcq_peer_server_t *server = zcq_peer_server_new (SIGTERM);
    char port_text [16], store [512], log [512];
    snprintf (port_text, sizeof (port_text), "%d", server->port);
    snprintf (store, sizeof (store), "%s/jetstream", folder);
    snprintf (log, sizeof (log), "%s/nats.log", folder);
    snprintf (server->address, sizeof (server->address), "nats://127.0.0.1:%d", server->port);
    const char *argv [] = {NATS_SERVER, "-js", "-sd",     store, "-a",
                           "127.0.0.1", "-p",  port_text, NULL};
    server->proc = zcq_bench_proc_start (argv, log, NULL);
    s_connection_t *connection = NULL;
    int64_t deadline = zcq_bench_now () + 20 * (int64_t) 1000000000;
    while (server->proc && !connection && zcq_bench_now () < deadline
           && zcq_bench_proc_alive (server->proc)) {
        connection = (s_connection_t *) s_connect (server, 0);
        if (!connection) {
            zcq_bench_sleep_ms (50); //  waiting for the server to listen, bounded
        }
    }
    bool made = false;
    if (connection) {
        jsStreamConfig config;
        jsStreamConfig_Init (&config);
        const char *subjects [] = {"ev.>"};
        config.Name = "BENCH";
        config.Subjects = subjects;
        config.SubjectsLen = 1;
        config.Storage = js_FileStorage;
        jsStreamInfo *info = NULL;
        jsErrCode code = 0;
        made = js_AddStream (&info, connection->js, &config, NULL, &code) == NATS_OK;
        jsStreamInfo_Destroy (info);
        s_disconnect (connection);
    }
    if (!made) {
        fprintf (stderr, "bench: NATS did not start or did not make its stream\n");
        zcq_bench_proc_print_log (server->proc);
        zcq_peer_server_stop ((void **) &server);
    }
    return server;
}

static zcq_bench_outcome_t
s_append (void *arg, int stream, uint64_t expect, uint64_t *version)
{
    s_connection_t *connection = (s_connection_t *) arg;
    char subject [32];
    snprintf (subject, sizeof (subject), "ev.%d", stream);
    jsPubOptions options;
    jsPubOptions_Init (&options);
    options.ExpectLastSubjectSeq = expect; //  0: a new subject, no check
    options.MaxWait = 10000;
    jsPubAck *ack = NULL;
    jsErrCode code = 0;
    const char *payload = zcq_peer_payload ();
    natsStatus status = js_Publish (&ack, connection->js, subject, payload,
                                    (int) strlen (payload), &options, &code);
    zcq_bench_outcome_t outcome = ZCQ_BENCH_NO_ANSWER;
    if (status == NATS_OK) {
        *version = ack->Sequence;
        outcome = ZCQ_BENCH_DONE;
    }
    else if (code == JSStreamWrongLastSequenceErr) {
        outcome = ZCQ_BENCH_CONFLICT;
    }
    else if (code != 0) {
        outcome = ZCQ_BENCH_REFUSED;
    }
    jsPubAck_Destroy (ack);
    return outcome;
}

static const zcq_bench_driver_t s_driver = {
    .name = "NATS",
    .connect = s_connect,
    .append = s_append,
    .disconnect = s_disconnect,
};

const zcq_peer_t zcq_peer_nats = {
    .name = "NATS JetStream",
    .durability =
        "file storage; NOT fsync'ed per ack: this nats-server 2.9 syncs its files "
        "every 2 minutes (default), so an ack survives a process crash, not power loss",
    .driver = &s_driver,
    .start = s_start,
    .proc = zcq_peer_server_proc,
    .stop = zcq_peer_server_stop,
};
