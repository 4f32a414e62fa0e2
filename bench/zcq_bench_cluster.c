/*  =========================================================================
    zcq_bench_cluster - a zcqrs cluster a benchmark starts (see the header)
    =========================================================================
*/

#include "zcq_bench_cluster.h"

#include "zcqrs.h"
#include "zcq_endpoint.h"

#include <signal.h>

#define MAX_ARGS 48 //  words of one node command line

struct _zcq_bench_cluster_t {
    zcq_bench_cluster_config_t config;                //  borrowed settings
    char *dir;                                        //  temporary folder
    char commands [64], events [64], replay [64];     //  write node endpoints
    char queries [ZCQ_BENCH_MAX_QUERY][64];           //  query node endpoints
    zcq_bench_proc_t *write;                          //  write node process (group: the leader)
    zcq_bench_proc_t *member [ZCQ_BENCH_MAX_MEMBERS]; //  write group members
    char member_commands [ZCQ_BENCH_MAX_MEMBERS][64]; //  their endpoints
    char member_events [ZCQ_BENCH_MAX_MEMBERS][64];
    char member_replay [ZCQ_BENCH_MAX_MEMBERS][64];
    char raft [ZCQ_BENCH_MAX_MEMBERS * 32];        //  --raft list
    char members [ZCQ_BENCH_MAX_MEMBERS * 64];     //  --members list
    int leader;                                    //  index of the leading member
    zcq_bench_proc_t *query [ZCQ_BENCH_MAX_QUERY]; //  query node processes
    int query_nodes;                               //  query nodes running
    int added;                                     //  extra query nodes made
};

static void
s_endpoint (char *endpoint, size_t size)
{
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", zcq_endpoint_free_port ());
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

//  Start write group member `index` (0-based) on its endpoints and data.
static zcq_bench_proc_t *
s_start_member (zcq_bench_cluster_t *self, int index)
{
    char program [512], data [512], log [512], group [16], member [16];
    snprintf (program, sizeof (program), "%s/zcqrs-write", self->config.build);
    snprintf (data, sizeof (data), "%s/write-%d", self->dir, index + 1);
    snprintf (log, sizeof (log), "%s/write-%d.log", self->dir, index + 1);
    snprintf (group, sizeof (group), "%d", self->config.group);
    snprintf (member, sizeof (member), "%d", index + 1);
    const char *argv [MAX_ARGS];
    s_argv (argv, self->config.write_tool, program, "--member", member, "--raft", self->raft,
            "--members", self->members, "--commands", self->member_commands [index], "--events",
            self->member_events [index], "--replay", self->member_replay [index], "--data",
            data, "--domain", self->config.domain, "--durability", self->config.durability,
            self->config.group > 0 ? "--group" : NULL, group, NULL);
    return zcq_bench_proc_start (argv, log, NULL);
}

//  Wait until a member says it leads; point commands, events and replay at
//  it. Returns 0, or -1 after ready_ms.
static int
s_find_leader (zcq_bench_cluster_t *self, int ready_ms)
{
    int64_t deadline = zcq_bench_now () + (int64_t) ready_ms * 1000000;
    while (zcq_bench_now () < deadline) {
        for (int index = 0; index < self->config.members; index++) {
            uint64_t leader = 0;
            if (self->member [index]
                && zcq_bench_cluster_status (self->member_commands [index], true,
                                             "group_leader", &leader)
                       == 0
                && leader == (uint64_t) index + 1) {
                self->leader = index;
                self->write = self->member [index];
                snprintf (self->commands, sizeof (self->commands), "%s",
                          self->member_commands [index]);
                return 0;
            }
        }
    }
    fprintf (stderr, "bench: no member of the write group leads after %d ms\n", ready_ms);
    return -1;
}

//  Start a write group: every member, then wait for its leader.
static bool
s_start_group (zcq_bench_cluster_t *self, int ready_ms)
{
    for (int index = 0; index < self->config.members; index++) {
        s_endpoint (self->member_commands [index], 64);
        s_endpoint (self->member_events [index], 64);
        s_endpoint (self->member_replay [index], 64);
        char item [96];
        snprintf (item, sizeof (item), "%s127.0.0.1:%d", index ? "," : "",
                  zcq_endpoint_free_port ());
        strcat (self->raft, item);
        snprintf (item, sizeof (item), "%s%s", index ? "," : "", self->member_commands [index]);
        strcat (self->members, item);
    }
    bool ready = true;
    for (int index = 0; ready && index < self->config.members; index++) {
        self->member [index] = s_start_member (self, index);
        ready = self->member [index]
                && zcq_bench_cluster_wait_ready (self->member_commands [index], true, ready_ms)
                       == 0;
        if (!ready) {
            fprintf (stderr, "bench: write group member %d did not come up in %d ms\n",
                     index + 1, ready_ms);
            zcq_bench_proc_print_log (self->member [index]);
        }
    }
    //  Query nodes follow member 1 (a follower publishes what it applies)
    snprintf (self->events, sizeof (self->events), "%s", self->member_events [0]);
    snprintf (self->replay, sizeof (self->replay), "%s", self->member_replay [0]);
    return ready && s_find_leader (self, ready_ms) == 0;
}

double
zcq_bench_cluster_failover (zcq_bench_cluster_t *self, int ready_ms)
{
    if (self->config.members < 2) {
        return -1;
    }
    int killed = self->leader;
    zcq_client_t *client = zcq_client_new (self->members);
    if (!client) {
        return -1;
    }
    zcq_client_set_attempts (client, 100);
    zcq_bench_proc_stop (&self->member [killed], SIGKILL, 30000);
    self->write = NULL;
    int64_t start = zcq_bench_now ();
    static const char data [] = {(char) 0x81, (char) 0xa5, 'o',         'w', 'n',
                                 'e',         'r',         (char) 0xa1, 'f'};
    char stream [64];
    snprintf (stream, sizeof (stream), "failover-%" PRId64, start);
    zcq_msg_t *reply =
        zcq_client_send (client, "OpenAccount", stream, 0, data, sizeof (data), ready_ms);
    double seconds = (double) (zcq_bench_now () - start) / 1e9;
    bool accepted = reply && zcq_msg_status (reply) == ZCQ_ACCEPTED;
    zcq_msg_destroy (&reply);
    zcq_client_destroy (&client);
    self->member [killed] = s_start_member (self, killed);
    if (!accepted || !self->member [killed]
        || zcq_bench_cluster_wait_ready (self->member_commands [killed], true, ready_ms) != 0
        || s_find_leader (self, ready_ms) != 0) {
        fprintf (stderr, "bench: the write group did not recover from the kill of member %d\n",
                 killed + 1);
        return -1;
    }
    return seconds;
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
    bool ready = false;
    if (config->members > 1 && config->members <= ZCQ_BENCH_MAX_MEMBERS) {
        ready = s_start_group (self, ready_ms);
    }
    else {
        s_endpoint (self->commands, sizeof (self->commands));
        s_endpoint (self->events, sizeof (self->events));
        s_endpoint (self->replay, sizeof (self->replay));
        self->write = s_start_write (self);
        ready =
            self->write && zcq_bench_cluster_wait_ready (self->commands, true, ready_ms) == 0;
    }
    if (!ready && config->members <= 1) {
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
        if (self->config.members > 1) {
            for (int index = 0; index < self->config.members; index++) {
                zcq_bench_proc_stop (&self->member [index], SIGTERM, 30000);
            }
            self->write = NULL;
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

int
zcq_bench_cluster_members (zcq_bench_cluster_t *self)
{
    return self->config.members > 1 ? self->config.members : 0;
}

zcq_bench_proc_t *
zcq_bench_cluster_member_proc (zcq_bench_cluster_t *self, int index)
{
    assert (index >= 0 && index < zcq_bench_cluster_members (self));
    return self->member [index];
}

int
zcq_bench_cluster_leader (zcq_bench_cluster_t *self)
{
    return self->config.members > 1 ? self->leader : -1;
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
