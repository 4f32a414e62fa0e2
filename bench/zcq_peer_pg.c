/*  =========================================================================
    zcq_peer_pg - PostgreSQL 15 as a peer (see zcq_peers.h)

    A cluster made with initdb in the temporary folder (as the user
    "postgres" when we are root: PostgreSQL refuses to run as root), started
    as a plain postgres process on a free loopback port and stopped by its
    PID with SIGINT (fast shutdown). Events go into one table with a unique
    (stream, version): appending version expected + 1 fails with a unique
    violation when the stream moved on, which is the conflict. With
    synchronous_commit=on and fsync=on the commit returns after the WAL
    flush: the ack means durable.
    =========================================================================
*/

#include "zcq_peers.h"
#include "zcq_bench_zcqrs.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG_BIN  "/usr/lib/postgresql/15/bin"
#define PG_USER "postgres" //  system user that runs the server when we are root

//  Run one SQL statement; true if it worked.
static bool
s_exec (PGconn *pg, const char *sql)
{
    PGresult *result = PQexec (pg, sql);
    bool ok = PQresultStatus (result) == PGRES_COMMAND_OK;
    if (!ok) {
        fprintf (stderr, "bench: PostgreSQL: %s", PQerrorMessage (pg));
    }
    PQclear (result);
    return ok;
}

//  Give the folder to the server's user when we are root.
static bool
s_hand_over (const char *folder)
{
    if (geteuid () != 0) {
        return true;
    }
    struct passwd *user = getpwnam (PG_USER);
    return user && chown (folder, user->pw_uid, user->pw_gid) == 0;
}

static void *
s_start (const char *folder)
{
    //  SIGINT: PostgreSQL's fast shutdown
    zcq_peer_server_t *server = zcq_peer_server_new (SIGINT);
    char data [512], log [512], port [16], socket_dir [512];
    snprintf (data, sizeof (data), "%s/pg", folder);
    snprintf (log, sizeof (log), "%s/pg.log", folder);
    snprintf (socket_dir, sizeof (socket_dir), "%s", folder);
    snprintf (port, sizeof (port), "%d", server->port);
    snprintf (server->address, sizeof (server->address),
              "host=127.0.0.1 port=%d user=bench dbname=postgres connect_timeout=5",
              server->port);
    if (mkdir (data, 0700) != 0 || !s_hand_over (folder) || !s_hand_over (data)) {
        fprintf (stderr, "bench: cannot prepare %s for PostgreSQL\n", data);
        free (server);
        return NULL;
    }
    const char *initdb [] = {PG_BIN "/initdb", "-D", data,   "-U", "bench",
                             "--auth=trust",   "-E", "UTF8", NULL};
    zcq_bench_proc_t *init = zcq_bench_proc_start (initdb, log, PG_USER);
    if (!init || zcq_bench_proc_stop (&init, 0, 120000) != 0) {
        fprintf (stderr, "bench: initdb failed (log: %s)\n", log);
        free (server);
        return NULL;
    }
    const char *argv [] = {PG_BIN "/postgres",
                           "-D",
                           data,
                           "-p",
                           port,
                           "-k",
                           socket_dir,
                           "-c",
                           "listen_addresses=127.0.0.1",
                           "-c",
                           "synchronous_commit=on",
                           "-c",
                           "fsync=on",
                           "-c",
                           "max_connections=200",
                           NULL};
    server->proc = zcq_bench_proc_start (argv, log, PG_USER);
    PGconn *pg = NULL;
    int64_t deadline = zcq_bench_now () + 30 * (int64_t) 1000000000;
    while (server->proc && zcq_bench_now () < deadline && zcq_bench_proc_alive (server->proc)) {
        pg = PQconnectdb (server->address);
        if (PQstatus (pg) == CONNECTION_OK) {
            break;
        }
        PQfinish (pg);
        pg = NULL;
        zcq_bench_sleep_ms (100); //  waiting for the server to accept, bounded
    }
    bool made = pg
                && s_exec (pg, "CREATE TABLE events (position bigserial PRIMARY KEY, "
                               "stream text NOT NULL, version bigint NOT NULL, "
                               "type text NOT NULL, data text NOT NULL, "
                               "UNIQUE (stream, version))")
                && s_exec (pg, "CREATE TABLE accounts (id text PRIMARY KEY, owner text NOT "
                               "NULL, balance bigint NOT NULL, status text NOT NULL, "
                               "version bigint NOT NULL)");
    if (pg) {
        PQfinish (pg);
    }
    if (!made) {
        fprintf (stderr, "bench: PostgreSQL did not start or did not make its table\n");
        zcq_bench_proc_print_log (server->proc);
        zcq_peer_server_stop ((void **) &server);
    }
    return server;
}

static void *
s_connect (void *target, int client)
{
    (void) client;
    zcq_peer_server_t *server = (zcq_peer_server_t *) target;
    PGconn *pg = PQconnectdb (server->address);
    PGresult *prepared = PQstatus (pg) == CONNECTION_OK
                             ? PQprepare (pg, "append",
                                          "INSERT INTO events (stream, version, type, data) "
                                          "VALUES ($1, $2, 'Recorded', $3)",
                                          3, NULL)
                             : NULL;
    bool ok = prepared && PQresultStatus (prepared) == PGRES_COMMAND_OK;
    PQclear (prepared);
    prepared = ok ? PQprepare (pg, "read",
                               "SELECT owner, balance, status, version FROM accounts "
                               "WHERE id = $1",
                               1, NULL)
                  : NULL;
    ok = prepared && PQresultStatus (prepared) == PGRES_COMMAND_OK;
    PQclear (prepared);
    if (!ok) {
        fprintf (stderr, "bench: PostgreSQL: %s", PQerrorMessage (pg));
        PQfinish (pg);
        return NULL;
    }
    return pg;
}

static zcq_bench_outcome_t
s_append (void *arg, int stream, uint64_t expect, uint64_t *version)
{
    PGconn *pg = (PGconn *) arg;
    char name [32], next [32];
    snprintf (name, sizeof (name), "stream-%d", stream);
    snprintf (next, sizeof (next), "%" PRIu64, expect + 1);
    const char *values [] = {name, next, zcq_peer_payload ()};
    PGresult *result = PQexecPrepared (pg, "append", 3, values, NULL, NULL, 0);
    zcq_bench_outcome_t outcome = ZCQ_BENCH_NO_ANSWER;
    if (PQresultStatus (result) == PGRES_COMMAND_OK) {
        *version = expect + 1;
        outcome = ZCQ_BENCH_DONE;
    }
    else if (PQstatus (pg) == CONNECTION_OK) {
        const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
        outcome =
            state && strcmp (state, "23505") == 0 ? ZCQ_BENCH_CONFLICT : ZCQ_BENCH_REFUSED;
    }
    PQclear (result);
    return outcome;
}

static void
s_disconnect (void *arg)
{
    PQfinish ((PGconn *) arg);
}

static int
s_fill_accounts (void *arg, int accounts)
{
    char sql [256];
    snprintf (sql, sizeof (sql),
              "INSERT INTO accounts SELECT 'bench-' || n, 'bench', n, 'open', 1 "
              "FROM generate_series (0, %d) AS n ON CONFLICT DO NOTHING",
              accounts - 1);
    return s_exec ((PGconn *) arg, sql) ? 0 : -1;
}

static zcq_bench_outcome_t
s_read_account (void *arg, int account)
{
    PGconn *pg = (PGconn *) arg;
    char id [32];
    snprintf (id, sizeof (id), "bench-%d", account);
    const char *values [] = {id};
    PGresult *result = PQexecPrepared (pg, "read", 1, values, NULL, NULL, 0);
    zcq_bench_outcome_t outcome =
        PQresultStatus (result) == PGRES_TUPLES_OK
            ? (PQntuples (result) == 1 ? ZCQ_BENCH_DONE : ZCQ_BENCH_REFUSED)
            : ZCQ_BENCH_NO_ANSWER;
    PQclear (result);
    return outcome;
}

static const zcq_bench_driver_t s_driver = {
    .name = "PostgreSQL",
    .connect = s_connect,
    .append = s_append,
    .disconnect = s_disconnect,
};

const zcq_peer_t zcq_peer_pg = {
    .name = "PostgreSQL 15",
    .durability = "synchronous_commit=on, fsync=on: ack after the WAL flush",
    .driver = &s_driver,
    .start = s_start,
    .proc = zcq_peer_server_proc,
    .stop = zcq_peer_server_stop,
    .fill_accounts = s_fill_accounts,
    .read_account = s_read_account,
    .read_name = "PostgreSQL 15 SELECT",
    .read_how = "SELECT of the account's row by primary key (prepared)",
};
