/*  =========================================================================
    zcq_peer_redis - Redis 7 Streams as a peer (see zcq_peers.h)

    A stream's version N is its entry id "N-0". The append script reads the
    last id and refuses with "CONFLICT <last id>" unless it is the expected
    one, then XADDs the entry with id "<expected + 1>-0". With appendfsync
    always, Redis writes and fsyncs the AOF before it sends the replies of
    an event-loop round: the ack means durable.
    =========================================================================
*/

#include "zcq_peers.h"
#include "zcq_bench_zcqrs.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_SERVER "/usr/bin/redis-server"

static const char *s_script =
    "local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)\n"
    "local id = '0-0'\n"
    "if #last > 0 then id = last[1][1] end\n"
    "if id ~= ARGV[1] then return redis.error_reply('CONFLICT ' .. id) end\n"
    "return redis.call('XADD', KEYS[1], ARGV[2], 'type', 'Recorded', 'data', ARGV[3])\n";

typedef struct {
    redisContext *redis;       //  one connection
    zcq_peer_server_t *server; //  where it goes
} s_connection_t;

static redisContext *
s_connect_to (int port)
{
    struct timeval timeout = {5, 0};
    redisContext *redis = redisConnectWithTimeout ("127.0.0.1", port, timeout);
    if (redis && redis->err) {
        redisFree (redis);
        redis = NULL;
    }
    if (redis) {
        redisSetTimeout (redis, timeout);
    }
    return redis;
}

static void *
s_start (const char *folder)
{
    zcq_peer_server_t *server = zcq_peer_server_new (SIGTERM);
    char port [16], log [512];
    snprintf (port, sizeof (port), "%d", server->port);
    snprintf (log, sizeof (log), "%s/redis.log", folder);
    const char *argv [] = {
        REDIS_SERVER, "--port",           port,  "--bind",        "127.0.0.1", "--dir",
        folder,       "--appendonly",     "yes", "--appendfsync", "always",    "--save",
        "",           "--protected-mode", "no",  "--daemonize",   "no",        NULL};
    server->proc = zcq_bench_proc_start (argv, log, NULL);
    redisContext *redis = NULL;
    int64_t deadline = zcq_bench_now () + 20 * (int64_t) 1000000000;
    while (server->proc && !redis && zcq_bench_now () < deadline
           && zcq_bench_proc_alive (server->proc)) {
        redis = s_connect_to (server->port);
        if (!redis) {
            zcq_bench_sleep_ms (50); //  waiting for the server to listen, bounded
        }
    }
    redisReply *reply =
        redis ? (redisReply *) redisCommand (redis, "SCRIPT LOAD %s", s_script) : NULL;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        snprintf (server->script, sizeof (server->script), "%s", reply->str);
    }
    else {
        fprintf (stderr, "bench: Redis did not start or did not load the script\n");
        zcq_bench_proc_print_log (server->proc);
        zcq_peer_server_stop ((void **) &server);
    }
    if (reply) {
        freeReplyObject (reply);
    }
    if (redis) {
        redisFree (redis);
    }
    return server;
}

static void *
s_connect (void *target, int client)
{
    (void) client;
    zcq_peer_server_t *server = (zcq_peer_server_t *) target;
    redisContext *redis = s_connect_to (server->port);
    if (!redis) {
        return NULL;
    }
    s_connection_t *connection = (s_connection_t *) calloc (1, sizeof (s_connection_t));
    connection->redis = redis;
    connection->server = server;
    return connection;
}

static zcq_bench_outcome_t
s_append (void *arg, int stream, uint64_t expect, uint64_t *version)
{
    s_connection_t *connection = (s_connection_t *) arg;
    char key [32], expected [32], next [32];
    snprintf (key, sizeof (key), "stream-%d", stream);
    snprintf (expected, sizeof (expected), "%" PRIu64 "-0", expect);
    snprintf (next, sizeof (next), "%" PRIu64 "-0", expect + 1);
    redisReply *reply = (redisReply *) redisCommand (
        connection->redis, "EVALSHA %s 1 %s %s %s %s", connection->server->script, key,
        expected, next, zcq_peer_payload ());
    zcq_bench_outcome_t outcome = ZCQ_BENCH_NO_ANSWER;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        *version = expect + 1;
        outcome = ZCQ_BENCH_DONE;
    }
    else if (reply && reply->type == REDIS_REPLY_ERROR && strstr (reply->str, "CONFLICT ")) {
        *version = strtoull (strstr (reply->str, "CONFLICT ") + 9, NULL, 10);
        outcome = ZCQ_BENCH_CONFLICT;
    }
    else if (reply) {
        outcome = ZCQ_BENCH_REFUSED;
    }
    if (reply) {
        freeReplyObject (reply);
    }
    return outcome;
}

static void
s_disconnect (void *arg)
{
    s_connection_t *connection = (s_connection_t *) arg;
    redisFree (connection->redis);
    free (connection);
}

static int
s_fill_accounts (void *arg, int accounts)
{
    s_connection_t *connection = (s_connection_t *) arg;
    for (int account = 0; account < accounts; account++) {
        redisAppendCommand (
            connection->redis,
            "HSET account:bench-%d owner bench balance %d status open version 1", account,
            account);
    }
    int rc = 0;
    for (int account = 0; account < accounts; account++) {
        redisReply *reply = NULL;
        if (redisGetReply (connection->redis, (void **) &reply) != REDIS_OK || !reply
            || reply->type == REDIS_REPLY_ERROR) {
            rc = -1;
        }
        if (reply) {
            freeReplyObject (reply);
        }
    }
    return rc;
}

static zcq_bench_outcome_t
s_read_account (void *arg, int account)
{
    s_connection_t *connection = (s_connection_t *) arg;
    redisReply *reply =
        (redisReply *) redisCommand (connection->redis, "HGETALL account:bench-%d", account);
    zcq_bench_outcome_t outcome = !reply ? ZCQ_BENCH_NO_ANSWER
                                  : reply->type == REDIS_REPLY_ARRAY && reply->elements == 8
                                      ? ZCQ_BENCH_DONE
                                      : ZCQ_BENCH_REFUSED;
    if (reply) {
        freeReplyObject (reply);
    }
    return outcome;
}

static const zcq_bench_driver_t s_driver = {
    .name = "Redis",
    .connect = s_connect,
    .append = s_append,
    .disconnect = s_disconnect,
};

const zcq_peer_t zcq_peer_redis = {
    .name = "Redis 7 Streams",
    .durability = "appendonly yes, appendfsync always: ack after the AOF write + fsync",
    .driver = &s_driver,
    .start = s_start,
    .proc = zcq_peer_server_proc,
    .stop = zcq_peer_server_stop,
    .fill_accounts = s_fill_accounts,
    .read_account = s_read_account,
    .read_name = "Redis 7 HGETALL",
    .read_how = "HGETALL of the account's hash (owner, balance, status, version)",
};
