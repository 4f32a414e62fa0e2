/*  =========================================================================
    zcq_bench_cluster - a zcqrs cluster a benchmark starts (see the header)
    =========================================================================
*/

#include "zcq_bench_cluster.h"

#include "zcqrs.h"

#include <signal.h>

#define MAX_ARGS 48 //  words of one node command line

struct _zcq_bench_cluster_t {
    zcq_bench_cluster_config_t config;             //  borrowed settings
    char *dir;                                     //  temporary folder
    char commands [64], events [64], replay [64];  //  write node endpoints
    char queries [ZCQ_BENCH_MAX_QUERY][64];        //  query node endpoints
    zcq_bench_proc_t *write;                       //  write node process
    zcq_bench_proc_t *query [ZCQ_BENCH_MAX_QUERY]; //  query node processes
    int query_nodes;                               //  query nodes running
    int added;                                     //  extra query nodes made
};

static void
s_endpoint (char *endpoint, size_t size)
{
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", zcq_bench_free_port ());
}

//  Build argv: tool words, then the program, then the words (NULL-ended).
static int
s_argv (const char **argv, const char *const *tool, const char *program, const char *word, ...)
{
    int count = 0;
    for (int index = 0; tool && tool [index] && count < MAX_ARGS - 2; index++) {
        argv [count++] = tool [index];
    }
    argv [count++] = program;
    va_list args;
    va_start (args, word);
    while (word && count < MAX_ARGS - 1) {
        argv [count++] = word;
        word = va_arg (args, const char *);
    }
    va_end (args);
    argv [count] = NULL;
    return count;
}

static zcq_bench_proc_t *
s_start_write (zcq_bench_cluster_t *self)
{
    char program [512], data [512], log [512], group [16];
    snprintf (program, sizeof (program), "%s/zcqrs-write", self->config.build);
    snprintf (data, sizeof (data), "%s/write", self->dir);
    snprintf (log, sizeof (log), "%s/write.log", self->dir);
    snprintf (group, sizeof (group), "%d", self->config.group);
    const char *argv [MAX_ARGS];
    s_argv (argv, self->config.write_tool, program, "--commands", self->commands, "--events",
            self->events, "--replay", self->replay, "--data", data, "--domain",
            self->config.domain, "--durability", self->config.durability,
            self->config.group > 0 ? "--group" : NULL, group, NULL);
    return zcq_bench_proc_start (argv, log, NULL);
}

static zcq_bench_proc_t *
s_start_query (zcq_bench_cluster_t *self, const char *tag, const char *endpoint)
{
    char program [512], data [512], log [512];
    snprintf (program, sizeof (program), "%s/zcqrs-query", self->config.build);
    snprintf (data, sizeof (data), "%s/%s", self->dir, tag);
    snprintf (log, sizeof (log), "%s/%s.log", self->dir, tag);
    const char *argv [MAX_ARGS];
    s_argv (argv, self->config.query_tool, program, "--events", self->events, "--replay",
            self->replay, "--queries", endpoint, "--data", data, "--domain",
            self->config.domain, self->config.storage ? "--storage" : NULL,
            self->config.storage, NULL);
    return zcq_bench_proc_start (argv, log, NULL);
}

zcq_bench_cluster_t *
zcq_bench_cluster_new (const zcq_bench_cluster_config_t *config, int ready_ms)
{
    zcq_bench_cluster_t *self = (zcq_bench_cluster_t *) zmalloc (sizeof (*self));
    assert (self);
    self->config = *config;
    self->dir = zcq_bench_tmpdir ("cluster");
    if (!self->dir) {
        free (self);
        return NULL;
    }
    s_endpoint (self->commands, sizeof (self->commands));
    s_endpoint (self->events, sizeof (self->events));
    s_endpoint (self->replay, sizeof (self->replay));
    self->write = s_start_write (self);
    bool ready =
        self->write && zcq_bench_cluster_wait_ready (self->commands, true, ready_ms) == 0;
    if (!ready) {
        fprintf (stderr, "bench: the write node did not come up in %d ms\n", ready_ms);
        zcq_bench_proc_print_log (self->write);
    }
    for (int index = 0; ready && index < config->query_nodes && index < ZCQ_BENCH_MAX_QUERY;
         index++) {
        char tag [32];
        snprintf (tag, sizeof (tag), "query-%d", index + 1);
        s_endpoint (self->queries [index], sizeof (self->queries [index]));
        self->query [index] = s_start_query (self, tag, self->queries [index]);
        self->query_nodes++;
        if (!self->query [index]
            || zcq_bench_cluster_wait_ready (self->queries [index], false, ready_ms) != 0) {
            fprintf (stderr, "bench: query node %d did not come up in %d ms\n", index + 1,
                     ready_ms);
            zcq_bench_proc_print_log (self->query [index]);
            ready = false;
        }
    }
    if (!ready) {
        zcq_bench_cluster_destroy (&self);
    }
    return self;
}

void
zcq_bench_cluster_destroy (zcq_bench_cluster_t **self_p)
{
    if (*self_p) {
        zcq_bench_cluster_t *self = *self_p;
        for (int index = 0; index < self->query_nodes; index++) {
            zcq_bench_proc_stop (&self->query [index], SIGTERM, 30000);
        }
        zcq_bench_proc_stop (&self->write, SIGTERM, 30000);
        zcq_bench_rmtree (self->dir);
        free (self->dir);
        free (self);
        *self_p = NULL;
    }
}

const char *
zcq_bench_cluster_commands (zcq_bench_cluster_t *self)
{
    return self->commands;
}

const char *
zcq_bench_cluster_queries (zcq_bench_cluster_t *self, int index)
{
    assert (index >= 0 && index < self->query_nodes);
    return self->queries [index];
}

int
zcq_bench_cluster_query_nodes (zcq_bench_cluster_t *self)
{
    return self->query_nodes;
}

zcq_bench_proc_t *
zcq_bench_cluster_write_proc (zcq_bench_cluster_t *self)
{
    return self->write;
}

zcq_bench_proc_t *
zcq_bench_cluster_query_proc (zcq_bench_cluster_t *self, int index)
{
    assert (index >= 0 && index < self->query_nodes);
    return self->query [index];
}

const char *
zcq_bench_cluster_dir (zcq_bench_cluster_t *self)
{
    return self->dir;
}

double
zcq_bench_cluster_restart_write (zcq_bench_cluster_t *self, int signal, int ready_ms)
{
    zcq_bench_proc_stop (&self->write, signal, 30000);
    int64_t start = zcq_bench_now ();
    self->write = s_start_write (self);
    if (!self->write || zcq_bench_cluster_wait_ready (self->commands, true, ready_ms) != 0) {
        fprintf (stderr, "bench: the write node did not come back in %d ms\n", ready_ms);
        zcq_bench_proc_print_log (self->write);
        return -1;
    }
    return (double) (zcq_bench_now () - start) / 1e9;
}

int
zcq_bench_cluster_add_query (zcq_bench_cluster_t *self, const char *tag,
                             zcq_bench_proc_t **proc, char *endpoint, size_t size)
{
    char folder [64];
    snprintf (folder, sizeof (folder), "%s-%d", tag, ++self->added);
    s_endpoint (endpoint, size);
    *proc = s_start_query (self, folder, endpoint);
    return *proc ? 0 : -1;
}

//  Ask the node at endpoint for its status, waiting at most timeout_ms.
static zcq_msg_t *
s_status (const char *endpoint, bool write, int timeout_ms)
{
    //  A client needs a write node endpoint; for a query node its own serves
    //  (nothing is sent there)
    zcq_client_t *client = zcq_client_new (endpoint);
    if (!client) {
        return NULL;
    }
    zcq_msg_t *result = NULL;
    if (write) {
        result = zcq_client_write_status (client, timeout_ms);
    }
    else if (zcq_client_add_query_node (client, endpoint) == 0) {
        zcq_client_set_consistent (client, false);
        result = zcq_client_query (client, 0, "status", NULL, 0, 0, timeout_ms);
    }
    zcq_client_destroy (&client);
    return result;
}

int
zcq_bench_cluster_wait_ready (const char *endpoint, bool write, int timeout_ms)
{
    int64_t deadline = zcq_bench_now () + (int64_t) timeout_ms * 1000000;
    while (zcq_bench_now () < deadline) {
        zcq_msg_t *result = s_status (endpoint, write, 200);
        bool ok = result && zcq_msg_status (result) == ZCQ_OK;
        zcq_msg_destroy (&result);
        if (ok) {
            return 0;
        }
    }
    return -1;
}

int
zcq_bench_cluster_status (const char *endpoint, bool write, const char *field, uint64_t *value)
{
    zcq_msg_t *result = s_status (endpoint, write, 5000);
    int rc = -1;
    msgpack_unpacked map;
    if (result && zcq_msg_status (result) == ZCQ_OK
        && zcq_mpack_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &map) == 0) {
        const msgpack_object *found = zcq_map_get (&map.data, field);
        if (found && found->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *value = found->via.u64;
            rc = 0;
        }
        msgpack_unpacked_destroy (&map);
    }
    zcq_msg_destroy (&result);
    return rc;
}
