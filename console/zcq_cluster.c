/*  =========================================================================
    zcq_cluster - what the console knows of the cluster (see zcq_cluster.h)
    =========================================================================
*/

#include "zcq_cluster.h"

#include <pthread.h>

#define BUCKETS_MAX 32    //  latency buckets read from a status answer
#define SEND_QUEUE  4     //  status queries queued for a node that does not read
#define SAMPLES_MAX 86400 //  samples kept at most

//  What one status answer said, as the charts need it.
typedef struct {
    int64_t at;                        //  zclock_mono () of the answer
    uint64_t position;                 //  write node: head; query node: applied
    uint64_t lag;                      //  query node: events to go
    uint64_t work;                     //  write: commands answered; query: events applied
    uint64_t le [BUCKETS_MAX];         //  latency bucket bounds, us
    uint64_t counts [BUCKETS_MAX + 1]; //  observations per bucket
    size_t buckets;                    //  entries in le (counts has one more)
} s_reading_t;

typedef struct {
    char name [32];     //  "write", "query-1", ...
    char *endpoint;     //  where it answers
    bool write;         //  the write node (else a query node)
    zsock_t *sock;      //  DEALER to it
    uint64_t asked;     //  id of the status query out this round
    bool sent;          //  this round's query went out (there is a connection)
    bool answered;      //  this round's query was answered
    bool up;            //  answered the last round
    int64_t heard;      //  zclock_mono () of its last answer, 0: never
    char *status;       //  JSON of its last status answer, or NULL
    s_reading_t now;    //  its last answer
    s_reading_t before; //  the one before (at 0: none)
} s_node_t;

//  One point of every chart, per round.
typedef struct {
    int64_t time;                             //  ms since the epoch
    double commands;                          //  commands answered per second, -1: unknown
    double ack_p50, ack_p99;                  //  ms, -1: no command acknowledged
    double query_p50, query_p99;              //  ms, -1: no query answered
    double applied [ZCQ_CONSOLE_QUERY_NODES]; //  events applied per second, per query node
    double lag [ZCQ_CONSOLE_QUERY_NODES];     //  events behind, per query node
} s_sample_t;

struct _zcq_cluster_t {
    pthread_mutex_t lock; //  guards everything below against the HTTP thread
    s_node_t *nodes;      //  the write node, then the query nodes
    size_t count;         //  entries in nodes
    uint64_t sequence;    //  status query ids
    uint64_t rounds;      //  rounds ended
    s_sample_t *samples;  //  ring of samples
    size_t capacity;      //  entries in samples
    size_t first, used;   //  oldest sample, samples held
    int refresh;          //  ms between rounds
    bool send;            //  the console may send commands
    bool secure;          //  the console speaks CURVE
};

static zsock_t *
s_connect (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, ZCQ_HARD_MAXMSG);
    //  Only on a completed connection, and never waiting: a node that is
    //  gone refuses the send at once, one that does not read holds a few
    zsock_set_immediate (sock, 1);
    zsock_set_sndhwm (sock, SEND_QUEUE);
    zsock_set_sndtimeo (sock, 0);
    zcq_auth_identity_apply (sock, endpoint);
    if (zsock_connect (sock, "%s", endpoint) != 0) {
        zsys_error ("console: cannot connect to '%s'", endpoint);
    }
    return sock;
}

zcq_cluster_t *
zcq_cluster_new (const zcq_console_config_t *config)
{
    assert (config);
    zcq_cluster_t *self = (zcq_cluster_t *) zmalloc (sizeof (zcq_cluster_t));
    assert (self);
    pthread_mutex_init (&self->lock, NULL);
    self->count = 1 + (size_t) config->query_count;
    self->nodes = (s_node_t *) calloc (self->count, sizeof (s_node_t));
    assert (self->nodes);
    for (size_t index = 0; index < self->count; index++) {
        s_node_t *node = &self->nodes [index];
        node->write = index == 0;
        node->endpoint = strdup (index ? config->queries [index - 1] : config->commands);
        if (index) {
            snprintf (node->name, sizeof (node->name), "query-%zu", index);
        }
        else {
            snprintf (node->name, sizeof (node->name), "write");
        }
        node->sock = s_connect (node->endpoint);
    }
    self->refresh = config->refresh;
    self->capacity = (size_t) config->history * 1000 / (size_t) config->refresh + 1;
    self->capacity = self->capacity > SAMPLES_MAX ? SAMPLES_MAX : self->capacity;
    self->samples = (s_sample_t *) calloc (self->capacity, sizeof (s_sample_t));
    assert (self->samples);
    self->send = config->send;
    self->secure = config->cert != NULL;
    return self;
}

void
zcq_cluster_destroy (zcq_cluster_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_cluster_t *self = *self_p;
        for (size_t index = 0; index < self->count; index++) {
            zsock_destroy (&self->nodes [index].sock);
            free (self->nodes [index].endpoint);
            free (self->nodes [index].status);
        }
        free (self->nodes);
        free (self->samples);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *self_p = NULL;
    }
}

size_t
zcq_cluster_socks (zcq_cluster_t *self)
{
    assert (self);
    return self->count;
}

zsock_t *
zcq_cluster_sock (zcq_cluster_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->nodes [index].sock;
}

//  --- Reading answers -------------------------------------------------------

static uint64_t
s_uint (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = zcq_map_get (map, key);
    return value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? value->via.u64 : 0;
}

//  Read a status answer's latency histogram (spec 10.9) into reading.
static void
s_read_histogram (const msgpack_object *histogram, s_reading_t *reading)
{
    const msgpack_object *le = histogram ? zcq_map_get (histogram, "le") : NULL;
    const msgpack_object *counts = histogram ? zcq_map_get (histogram, "counts") : NULL;
    reading->buckets = 0;
    if (!le || !counts || le->type != MSGPACK_OBJECT_ARRAY
        || counts->type != MSGPACK_OBJECT_ARRAY || le->via.array.size > BUCKETS_MAX
        || counts->via.array.size != le->via.array.size + 1) {
        return; //  none, or not one we can read: no latency from this node
    }
    for (uint32_t index = 0; index <= le->via.array.size; index++) {
        const msgpack_object *count = &counts->via.array.ptr [index];
        reading->counts [index] =
            count->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? count->via.u64 : 0;
        if (index < le->via.array.size) {
            const msgpack_object *bound = &le->via.array.ptr [index];
            reading->le [index] =
                bound->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? bound->via.u64 : 0;
        }
    }
    reading->buckets = le->via.array.size;
}

//  Read what the charts need from one status answer's result map.
static void
s_read (s_node_t *node, const msgpack_object *result, s_reading_t *reading)
{
    reading->at = zclock_mono ();
    if (node->write) {
        reading->position = s_uint (result, "head");
        reading->work = s_uint (result, "accepted") + s_uint (result, "rejected")
                        + s_uint (result, "conflicts") + s_uint (result, "invalid")
                        + s_uint (result, "duplicates") + s_uint (result, "busy");
        s_read_histogram (zcq_map_get (result, "ack_latency"), reading);
    }
    else {
        reading->position = s_uint (result, "applied");
        reading->lag = s_uint (result, "lag");
        reading->work = s_uint (result, "events_applied");
        s_read_histogram (zcq_map_get (result, "query_latency"), reading);
    }
}

void
zcq_cluster_recv (zcq_cluster_t *self, zsock_t *sock)
{
    assert (self);
    s_node_t *node = NULL;
    for (size_t index = 0; index < self->count; index++) {
        if (self->nodes [index].sock == sock) {
            node = &self->nodes [index];
        }
    }
    assert (node);
    zcq_msg_t *answer = zcq_msg_recv (sock);
    uint64_t id = 0;
    if (answer && zcq_msg_id_size (answer) == sizeof (id)) {
        memcpy (&id, zcq_msg_id (answer), sizeof (id));
    }
    //  Only this round's answer: one to an older query comes from a node
    //  that was slow, and says less than the next one will
    msgpack_unpacked result;
    if (answer && zcq_msg_valid (answer) && zcq_msg_type (answer) == ZCQ_MSG_RESULT
        && zcq_msg_status (answer) == ZCQ_OK && id == node->asked && !node->answered
        && zcq_mpack_unpack (zcq_msg_data (answer), zcq_msg_data_size (answer), &result) == 0) {
        char *json = zcq_json_from_msgpack (zcq_msg_data (answer), zcq_msg_data_size (answer));
        pthread_mutex_lock (&self->lock);
        if (result.data.type == MSGPACK_OBJECT_MAP) {
            node->before = node->now;
            s_read (node, &result.data, &node->now);
        }
        free (node->status);
        node->status = json;
        node->answered = node->up = true;
        node->heard = zclock_mono ();
        pthread_mutex_unlock (&self->lock);
        msgpack_unpacked_destroy (&result);
    }
    zcq_msg_destroy (&answer);
}

//  --- Samples ----------------------------------------------------------------

//  The q-quantile (0 to 1) in ms of what was observed between two readings
//  of a histogram (the bucket counts' differences, summed over nodes in
//  delta), interpolated inside its bucket as Prometheus does; -1 if none.
static double
s_quantile (const uint64_t *le, size_t buckets, const uint64_t *delta, double q)
{
    uint64_t total = 0;
    for (size_t index = 0; index <= buckets; index++) {
        total += delta [index];
    }
    if (total == 0 || buckets == 0) {
        return -1;
    }
    double rank = q * (double) total;
    uint64_t below = 0;
    for (size_t index = 0; index < buckets; index++) {
        if (delta [index] && (double) (below + delta [index]) >= rank) {
            double lower = index ? (double) le [index - 1] : 0;
            double upper = (double) le [index];
            return (lower + (upper - lower) * (rank - (double) below) / (double) delta [index])
                   / 1000.0;
        }
        below += delta [index];
    }
    return (double) le [buckets - 1] / 1000.0; //  above the last bound
}

//  Add the difference of a node's last two readings' buckets to delta.
//  Returns false if they cannot be compared (no earlier one, other bounds).
static bool
s_delta (s_node_t *node, uint64_t *delta, const uint64_t **le, size_t *buckets)
{
    s_reading_t *now = &node->now, *before = &node->before;
    if (!before->at || !now->buckets || now->buckets != before->buckets
        || memcmp (now->le, before->le, now->buckets * sizeof (uint64_t)) != 0) {
        return false;
    }
    for (size_t index = 0; index <= now->buckets; index++) {
        //  A node restarted in between counts from 0 again
        delta [index] += now->counts [index] >= before->counts [index]
                             ? now->counts [index] - before->counts [index]
                             : now->counts [index];
    }
    *le = now->le;
    *buckets = now->buckets;
    return true;
}

//  Per second between a node's last two readings, or -1.
static double
s_rate (s_node_t *node)
{
    if (!node->before.at || node->now.at <= node->before.at) {
        return -1;
    }
    uint64_t done = node->now.work >= node->before.work ? node->now.work - node->before.work
                                                        : node->now.work;
    return (double) done * 1000.0 / (double) (node->now.at - node->before.at);
}

//  The lag of a query node: what it said, or when it does not answer, the
//  write node's head minus its last applied position; -1 if unknown.
static double
s_lag (zcq_cluster_t *self, s_node_t *node)
{
    if (node->up) {
        return (double) node->now.lag;
    }
    uint64_t head = self->nodes [0].now.position;
    if (!node->heard || !self->nodes [0].heard) {
        return -1;
    }
    return head > node->now.position ? (double) (head - node->now.position) : 0;
}

//  The sample of the round that ends. Under the lock.
static void
s_sample (zcq_cluster_t *self)
{
    s_sample_t *sample = &self->samples [(self->first + self->used) % self->capacity];
    if (self->used < self->capacity) {
        self->used++;
    }
    else {
        self->first = (self->first + 1) % self->capacity;
    }
    memset (sample, 0, sizeof (s_sample_t));
    sample->time = zclock_time ();
    s_node_t *write = &self->nodes [0];
    uint64_t delta [BUCKETS_MAX + 1] = {0};
    const uint64_t *le = NULL;
    size_t buckets = 0;
    bool fresh = write->answered && s_delta (write, delta, &le, &buckets);
    sample->commands = write->answered ? s_rate (write) : -1;
    sample->ack_p50 = fresh ? s_quantile (le, buckets, delta, 0.5) : -1;
    sample->ack_p99 = fresh ? s_quantile (le, buckets, delta, 0.99) : -1;
    memset (delta, 0, sizeof (delta));
    fresh = false;
    for (size_t index = 1; index < self->count; index++) {
        s_node_t *node = &self->nodes [index];
        if (node->answered && s_delta (node, delta, &le, &buckets)) {
            fresh = true;
        }
        sample->applied [index - 1] = node->answered ? s_rate (node) : -1;
        sample->lag [index - 1] = s_lag (self, node);
    }
    sample->query_p50 = fresh ? s_quantile (le, buckets, delta, 0.5) : -1;
    sample->query_p99 = fresh ? s_quantile (le, buckets, delta, 0.99) : -1;
}

void
zcq_cluster_tick (zcq_cluster_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    if (self->sequence) {
        for (size_t index = 0; index < self->count; index++) {
            self->nodes [index].up = self->nodes [index].answered;
        }
        s_sample (self);
        self->rounds++;
    }
    pthread_mutex_unlock (&self->lock);
    for (size_t index = 0; index < self->count; index++) {
        s_node_t *node = &self->nodes [index];
        zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
        uint64_t id = ++self->sequence;
        zcq_msg_set_id (query, &id, sizeof (id));
        zcq_msg_set_name (query, "status");
        bool sent = zcq_msg_send (query, node->sock) == 0;
        zcq_msg_destroy (&query);
        pthread_mutex_lock (&self->lock);
        node->asked = id;
        node->sent = sent;
        node->answered = false;
        pthread_mutex_unlock (&self->lock);
    }
}

//  --- JSON -------------------------------------------------------------------

//  A number, or null when it is unknown (negative).
static void
s_number (FILE *out, double value)
{
    if (value < 0) {
        fprintf (out, "null");
    }
    else {
        fprintf (out, "%.6g", value);
    }
}

//  One node's entry of the cluster view. Under the lock.
static void
s_node_json (zcq_cluster_t *self, s_node_t *node, FILE *out)
{
    const char *state = self->rounds == 0 ? "unknown" : node->up ? "up" : "down";
    const char *reason = self->rounds == 0 || node->up ? ""
                         : node->sent                  ? "connected, but it does not answer"
                                                       : "no connection";
    fprintf (out, "{\"name\":\"%s\",\"role\":\"%s\",\"endpoint\":", node->name,
             node->write ? "write" : "query");
    char *endpoint = zcq_console_quoted (node->endpoint);
    fputs (endpoint, out);
    free (endpoint);
    fprintf (out, ",\"state\":\"%s\",\"reason\":\"%s\",\"seen_ms\":", state, reason);
    s_number (out, node->heard ? (double) (zclock_mono () - node->heard) : -1);
    fprintf (out, ",\"lag\":");
    s_number (out, node->write ? -1 : s_lag (self, node));
    fprintf (out, ",\"lag_estimated\":%s,\"status\":%s}",
             !node->write && !node->up && node->heard ? "true" : "false",
             node->status ? node->status : "null");
}

//  The cluster now. Under the lock.
static void
s_cluster_json (zcq_cluster_t *self, FILE *out)
{
    fprintf (out,
             "{\"refresh_ms\":%d,\"send\":%s,\"secure\":%s,\"version\":\"%d.%d.%d\",\"head\":",
             self->refresh, self->send ? "true" : "false", self->secure ? "true" : "false",
             ZCQRS_VERSION_MAJOR, ZCQRS_VERSION_MINOR, ZCQRS_VERSION_PATCH);
    s_number (out, self->nodes [0].heard ? (double) self->nodes [0].now.position : -1);
    fprintf (out, ",\"nodes\":[");
    for (size_t index = 0; index < self->count; index++) {
        fprintf (out, index ? "," : "");
        s_node_json (self, &self->nodes [index], out);
    }
    fprintf (out, "]}");
}

//  One series of the history: "name":[v, v, ...], read from each sample at
//  offset (a double). Under the lock.
static void
s_series (zcq_cluster_t *self, FILE *out, const char *name, size_t offset)
{
    fprintf (out, ",\"%s\":[", name);
    for (size_t index = 0; index < self->used; index++) {
        const s_sample_t *sample = &self->samples [(self->first + index) % self->capacity];
        fprintf (out, index ? "," : "");
        s_number (out, *(const double *) ((const char *) sample + offset));
    }
    fprintf (out, "]");
}

//  A series per query node: "name":[[...], [...]].
static void
s_node_series (zcq_cluster_t *self, FILE *out, const char *name, size_t offset)
{
    fprintf (out, ",\"%s\":[", name);
    for (size_t node = 1; node < self->count; node++) {
        fprintf (out, node > 1 ? ",[" : "[");
        for (size_t index = 0; index < self->used; index++) {
            const s_sample_t *sample = &self->samples [(self->first + index) % self->capacity];
            const double *values = (const double *) ((const char *) sample + offset);
            fprintf (out, index ? "," : "");
            s_number (out, values [node - 1]);
        }
        fprintf (out, "]");
    }
    fprintf (out, "]");
}

//  The samples. Under the lock.
static void
s_history_json (zcq_cluster_t *self, FILE *out)
{
    fprintf (out, "{\"refresh_ms\":%d,\"names\":[", self->refresh);
    for (size_t node = 1; node < self->count; node++) {
        fprintf (out, "%s\"%s\"", node > 1 ? "," : "", self->nodes [node].name);
    }
    fprintf (out, "],\"t\":[");
    for (size_t index = 0; index < self->used; index++) {
        fprintf (out, "%s%" PRId64, index ? "," : "",
                 self->samples [(self->first + index) % self->capacity].time);
    }
    fprintf (out, "]");
    s_series (self, out, "commands", offsetof (s_sample_t, commands));
    s_series (self, out, "ack_p50", offsetof (s_sample_t, ack_p50));
    s_series (self, out, "ack_p99", offsetof (s_sample_t, ack_p99));
    s_series (self, out, "query_p50", offsetof (s_sample_t, query_p50));
    s_series (self, out, "query_p99", offsetof (s_sample_t, query_p99));
    s_node_series (self, out, "applied", offsetof (s_sample_t, applied));
    s_node_series (self, out, "lag", offsetof (s_sample_t, lag));
    fprintf (out, "}");
}

//  A view written under the lock, as a new string.
static char *
s_view (zcq_cluster_t *self, void (*write) (zcq_cluster_t *, FILE *))
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    pthread_mutex_lock (&self->lock);
    write (self, out);
    pthread_mutex_unlock (&self->lock);
    fclose (out);
    return text;
}

char *
zcq_cluster_json (zcq_cluster_t *self)
{
    assert (self);
    return s_view (self, s_cluster_json);
}

char *
zcq_cluster_history_json (zcq_cluster_t *self)
{
    assert (self);
    return s_view (self, s_history_json);
}

uint64_t
zcq_cluster_head (zcq_cluster_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    uint64_t head = self->nodes [0].heard ? self->nodes [0].now.position : 0;
    pthread_mutex_unlock (&self->lock);
    return head;
}
