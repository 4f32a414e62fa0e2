/*  =========================================================================
    zcq_metrics - a node's metrics and their HTTP endpoint (see
    zcq_metrics.h)
    =========================================================================
*/

#include "zcq_metrics.h"
#include "zcqrs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTIONS_MAX 16 //  scrapes served at once
#define IDLE_TIMEOUT    10 //  seconds an idle HTTP connection is kept
#define PROCESS_FIELDS  24 //  fields of /proc/self/stat read (up to rss)

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

static const char *s_type_names [] = {"counter", "gauge", "histogram"};

struct _zcq_histogram_t {
    uint64_t *bounds;      //  upper bound of each bucket, in the unit observed
    size_t count;          //  buckets with a bound (one more counts the rest)
    uint64_t *buckets;     //  observations per bucket (count + 1), not cumulative
    uint64_t sum;          //  sum of the observations
    uint64_t observations; //  observations so far
    double scale;          //  served value = observed value / scale
};

//  One series: the labels of a counter or gauge and the cell it reads.
typedef struct {
    char *labels;         //  "outcome=\"accepted\"", or NULL
    const uint64_t *cell; //  the owner's cell
} s_series_t;

//  A metric family: one name, its help and type, its series.
typedef struct {
    char *name;                 //  e.g. zcqrs_commands_total
    char *help;                 //  one line
    s_type_t type;              //  counter, gauge or histogram
    s_series_t *series;         //  counter and gauge series
    size_t series_count;        //  entries in series
    zcq_histogram_t *histogram; //  S_HISTOGRAM: the histogram
} s_family_t;

struct _zcq_metrics_t {
    s_family_t *families;      //  in registration order
    size_t family_count;       //  entries in families
    char *role;                //  "write", "query"
    char *domain;              //  the domain's name
    int64_t started;           //  zclock_mono () at creation
    struct MHD_Daemon *daemon; //  the HTTP server, once serving
    char *url;                 //  where it serves, "" before
};

zcq_metrics_t *
zcq_metrics_new (const char *role, const char *domain)
{
    assert (role);
    assert (domain);
    zcq_metrics_t *self = (zcq_metrics_t *) zmalloc (sizeof (zcq_metrics_t));
    assert (self);
    self->role = strdup (role);
    self->domain = strdup (domain);
    self->url = strdup ("");
    self->started = zclock_mono ();
    return self;
}

void
zcq_metrics_destroy (zcq_metrics_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_metrics_t *self = *self_p;
        //  First the reader: no scrape runs once the daemon is stopped
        if (self->daemon) {
            MHD_stop_daemon (self->daemon);
        }
        for (size_t index = 0; index < self->family_count; index++) {
            s_family_t *family = &self->families [index];
            for (size_t serie = 0; serie < family->series_count; serie++) {
                free (family->series [serie].labels);
            }
            free (family->series);
            if (family->histogram) {
                free (family->histogram->bounds);
                free (family->histogram->buckets);
                free (family->histogram);
            }
            free (family->name);
            free (family->help);
        }
        free (self->families);
        free (self->role);
        free (self->domain);
        free (self->url);
        free (self);
        *self_p = NULL;
    }
}

//  The family of this name, made if there is none yet.
static s_family_t *
s_family (zcq_metrics_t *self, const char *name, const char *help, s_type_t type)
{
    assert (!self->daemon); //  the reader runs: nothing may move now
    for (size_t index = 0; index < self->family_count; index++) {
        if (streq (self->families [index].name, name)) {
            assert (self->families [index].type == type);
            return &self->families [index];
        }
    }
    self->families =
        (s_family_t *) realloc (self->families, (self->family_count + 1) * sizeof (s_family_t));
    assert (self->families);
    assert (help); //  the first series of a name says what it is
    s_family_t *family = &self->families [self->family_count++];
    memset (family, 0, sizeof (s_family_t));
    family->name = strdup (name);
    family->help = strdup (help);
    family->type = type;
    return family;
}

static void
s_series_add (zcq_metrics_t *self, s_type_t type, const char *name, const char *labels,
              const char *help, const uint64_t *cell)
{
    assert (name);
    assert (cell);
    s_family_t *family = s_family (self, name, help, type);
    family->series = (s_series_t *) realloc (family->series,
                                             (family->series_count + 1) * sizeof (s_series_t));
    assert (family->series);
    family->series [family->series_count].labels = labels ? strdup (labels) : NULL;
    family->series [family->series_count].cell = cell;
    family->series_count++;
}

void
zcq_metrics_counter (zcq_metrics_t *self, const char *name, const char *labels,
                     const char *help, const uint64_t *cell)
{
    assert (self);
    s_series_add (self, S_COUNTER, name, labels, help, cell);
}

void
zcq_metrics_gauge (zcq_metrics_t *self, const char *name, const char *labels, const char *help,
                   const uint64_t *cell)
{
    assert (self);
    s_series_add (self, S_GAUGE, name, labels, help, cell);
}

void
zcq_metrics_register (zcq_metrics_t *self, const zcq_metric_t *table, const void *owner)
{
    assert (self);
    assert (table);
    for (const zcq_metric_t *row = table; row->name; row++) {
        s_series_add (self, row->gauge ? S_GAUGE : S_COUNTER, row->name, row->labels, row->help,
                      (const uint64_t *) ((const char *) owner + row->offset));
    }
}

zcq_histogram_t *
zcq_metrics_histogram (zcq_metrics_t *self, const char *name, const char *help,
                       const uint64_t *bounds, size_t count, double scale)
{
    assert (self);
    assert (bounds && count > 0);
    assert (scale > 0);
    s_family_t *family = s_family (self, name, help, S_HISTOGRAM);
    assert (!family->histogram); //  one histogram per name
    zcq_histogram_t *histogram = (zcq_histogram_t *) zmalloc (sizeof (zcq_histogram_t));
    assert (histogram);
    histogram->bounds = (uint64_t *) malloc (count * sizeof (uint64_t));
    histogram->buckets = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    assert (histogram->bounds && histogram->buckets);
    for (size_t index = 0; index < count; index++) {
        assert (index == 0 || bounds [index] > bounds [index - 1]);
        histogram->bounds [index] = bounds [index];
    }
    histogram->count = count;
    histogram->scale = scale;
    family->histogram = histogram;
    return histogram;
}

void
zcq_histogram_observe (zcq_histogram_t *self, uint64_t value)
{
    assert (self);
    size_t bucket = 0;
    while (bucket < self->count && value > self->bounds [bucket]) {
        bucket++;
    }
    zcq_metrics_add (&self->buckets [bucket], 1);
    zcq_metrics_add (&self->sum, value);
    zcq_metrics_add (&self->observations, 1);
}

uint64_t
zcq_histogram_count (zcq_histogram_t *self)
{
    assert (self);
    return zcq_metrics_get (&self->observations);
}

uint64_t
zcq_histogram_sum (zcq_histogram_t *self)
{
    assert (self);
    return zcq_metrics_get (&self->sum);
}

const uint64_t *
zcq_histogram_count_cell (zcq_histogram_t *self)
{
    assert (self);
    return &self->observations;
}

void
zcq_histogram_pack (zcq_histogram_t *self, msgpack_packer *pk)
{
    assert (self);
    assert (pk);
    msgpack_pack_map (pk, 4);
    zcq_mpack_pack_str (pk, "count");
    msgpack_pack_uint64 (pk, zcq_histogram_count (self));
    zcq_mpack_pack_str (pk, "sum");
    msgpack_pack_uint64 (pk, zcq_histogram_sum (self));
    zcq_mpack_pack_str (pk, "le");
    msgpack_pack_array (pk, self->count);
    for (size_t index = 0; index < self->count; index++) {
        msgpack_pack_uint64 (pk, self->bounds [index]);
    }
    zcq_mpack_pack_str (pk, "counts");
    msgpack_pack_array (pk, self->count + 1);
    for (size_t index = 0; index <= self->count; index++) {
        msgpack_pack_uint64 (pk, zcq_metrics_get (&self->buckets [index]));
    }
}

//  --- Exposition -------------------------------------------------------------

static void
s_header (FILE *out, const char *name, const char *help, const char *type)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
s_histogram_text (FILE *out, const char *name, zcq_histogram_t *histogram)
{
    //  Cumulative, and counted from the buckets read here, so that +Inf
    //  and _count agree whatever the actor adds meanwhile
    uint64_t total = 0;
    for (size_t index = 0; index <= histogram->count; index++) {
        total += zcq_metrics_get (&histogram->buckets [index]);
        if (index < histogram->count) {
            fprintf (out, "%s_bucket{le=\"%.9g\"} %" PRIu64 "\n", name,
                     (double) histogram->bounds [index] / histogram->scale, total);
        }
        else {
            fprintf (out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, total);
        }
    }
    fprintf (out, "%s_sum %.9g\n%s_count %" PRIu64 "\n", name,
             (double) zcq_metrics_get (&histogram->sum) / histogram->scale, name, total);
}

//  The fields of /proc/self/stat, numbered as proc(5) does (1: pid).
//  Returns 0, or -1 if it cannot be read.
static int
s_process_stat (uint64_t fields [PROCESS_FIELDS + 1])
{
    char text [1024];
    FILE *file = fopen ("/proc/self/stat", "r");
    size_t size = file ? fread (text, 1, sizeof (text) - 1, file) : 0;
    if (file) {
        fclose (file);
    }
    text [size] = 0;
    //  Field 2 is the program's name in parentheses, which may hold spaces
    char *cursor = strrchr (text, ')');
    if (!cursor) {
        return -1;
    }
    cursor += 2; //  ") " then field 3, the state: one letter
    memset (fields, 0, (PROCESS_FIELDS + 1) * sizeof (uint64_t));
    for (int field = 3; field <= PROCESS_FIELDS && *cursor; field++) {
        char *end = NULL;
        fields [field] = field == 3 ? 0 : strtoull (cursor, &end, 10);
        cursor = strchr (cursor, ' ');
        if (!cursor) {
            break;
        }
        cursor++;
    }
    return 0;
}

//  Seconds since the epoch when the machine booted (/proc/stat btime).
static uint64_t
s_boot_time (void)
{
    FILE *file = fopen ("/proc/stat", "r");
    char line [256];
    uint64_t boot = 0;
    while (file && fgets (line, sizeof (line), file)) {
        if (strncmp (line, "btime ", 6) == 0) {
            boot = strtoull (line + 6, NULL, 10);
            break;
        }
    }
    if (file) {
        fclose (file);
    }
    return boot;
}

static size_t
s_open_files (void)
{
    DIR *dir = opendir ("/proc/self/fd");
    size_t count = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (entry->d_name [0] != '.') {
            count++;
        }
    }
    if (dir) {
        closedir (dir);
        count--; //  the folder's own descriptor
    }
    return count;
}

//  What Prometheus's own process collector serves, from /proc.
static void
s_process_text (FILE *out)
{
    uint64_t stat [PROCESS_FIELDS + 1];
    if (s_process_stat (stat) != 0) {
        return;
    }
    double ticks = (double) sysconf (_SC_CLK_TCK);
    s_header (out, "process_cpu_seconds_total", "User and system CPU time spent in seconds.",
              "counter");
    fprintf (out, "process_cpu_seconds_total %.9g\n", (double) (stat [14] + stat [15]) / ticks);
    s_header (out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
    fprintf (out, "process_resident_memory_bytes %" PRIu64 "\n",
             stat [24] * (uint64_t) sysconf (_SC_PAGESIZE));
    s_header (out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
    fprintf (out, "process_virtual_memory_bytes %" PRIu64 "\n", stat [23]);
    s_header (out, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", "gauge");
    fprintf (out, "process_start_time_seconds %.3f\n",
             (double) s_boot_time () + (double) stat [22] / ticks);
    s_header (out, "process_threads", "Number of OS threads in the process.", "gauge");
    fprintf (out, "process_threads %" PRIu64 "\n", stat [20]);
    struct rlimit limit;
    s_header (out, "process_open_fds", "Number of open file descriptors.", "gauge");
    fprintf (out, "process_open_fds %zu\n", s_open_files ());
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0) {
        s_header (out, "process_max_fds", "Maximum number of open file descriptors.", "gauge");
        fprintf (out, "process_max_fds %" PRIu64 "\n", (uint64_t) limit.rlim_cur);
    }
}

char *
zcq_metrics_text (zcq_metrics_t *self)
{
    assert (self);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    for (size_t index = 0; index < self->family_count; index++) {
        s_family_t *family = &self->families [index];
        s_header (out, family->name, family->help, s_type_names [family->type]);
        if (family->histogram) {
            s_histogram_text (out, family->name, family->histogram);
        }
        for (size_t serie = 0; serie < family->series_count; serie++) {
            s_series_t *series = &family->series [serie];
            fprintf (out, "%s%s%s%s %" PRIu64 "\n", family->name, series->labels ? "{" : "",
                     series->labels ? series->labels : "", series->labels ? "}" : "",
                     zcq_metrics_get (series->cell));
        }
    }
    s_header (out, "zcqrs_uptime_seconds", "Seconds since the node started.", "gauge");
    fprintf (out, "zcqrs_uptime_seconds %.3f\n", (zclock_mono () - self->started) / 1000.0);
    s_header (out, "zcqrs_build_info", "The node's version, role and domain, as labels.",
              "gauge");
    fprintf (out, "zcqrs_build_info{version=\"%d.%d.%d\",role=\"%s\",domain=\"%s\"} 1\n",
             ZCQRS_VERSION_MAJOR, ZCQRS_VERSION_MINOR, ZCQRS_VERSION_PATCH, self->role,
             self->domain);
    s_process_text (out);
    fclose (out);
    return text;
}

//  --- The HTTP endpoint -------------------------------------------------------

static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned status, const char *type, char *body)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    enum MHD_Result result = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return result;
}

//  libmicrohttpd's request handler, on its own thread: it only reads.
static enum MHD_Result
s_request (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void) version;
    (void) upload;
    (void) upload_size;
    (void) state;
    zcq_metrics_t *self = (zcq_metrics_t *) cls;
    if (!streq (method, MHD_HTTP_METHOD_GET) && !streq (method, MHD_HTTP_METHOD_HEAD)) {
        return s_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                        zsys_sprintf ("method %s is not served here: GET /metrics\n", method));
    }
    if (!streq (url, "/metrics")) {
        return s_reply (connection, MHD_HTTP_NOT_FOUND, "text/plain",
                        zsys_sprintf ("nothing at %s: the metrics are at /metrics\n", url));
    }
    return s_reply (connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                    zcq_metrics_text (self));
}

//  Bind a listening TCP socket to HOST:PORT. Returns it, or -1 with *error.
static int
s_listen (const char *address, uint16_t *port, char **error)
{
    const char *colon = strrchr (address, ':');
    char *end = NULL;
    long number = colon ? strtol (colon + 1, &end, 10) : -1;
    if (!colon || colon == address || end == colon + 1 || *end || number < 0
        || number > 65535) {
        *error = zsys_sprintf ("metrics address '%s' is not HOST:PORT (e.g. 127.0.0.1:9601)",
                               address);
        return -1;
    }
    char host [64];
    snprintf (host, sizeof (host), "%.*s", (int) (colon - address), address);
    struct sockaddr_in bind_to = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) number)};
    if (streq (host, "*")) {
        bind_to.sin_addr.s_addr = htonl (INADDR_ANY);
    }
    else if (inet_pton (AF_INET, streq (host, "localhost") ? "127.0.0.1" : host,
                        &bind_to.sin_addr)
             != 1) {
        *error = zsys_sprintf ("metrics address '%s': '%s' is not an IPv4 address, "
                               "'localhost' or '*'",
                               address, host);
        return -1;
    }
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    socklen_t size = sizeof (bind_to);
    if (fd < 0 || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof (on)) != 0
        || bind (fd, (struct sockaddr *) &bind_to, sizeof (bind_to)) != 0
        || listen (fd, 64) != 0 || getsockname (fd, (struct sockaddr *) &bind_to, &size) != 0) {
        *error = zsys_sprintf ("cannot serve metrics on %s: %s", address, strerror (errno));
        if (fd >= 0) {
            close (fd);
        }
        return -1;
    }
    *port = ntohs (bind_to.sin_port);
    return fd;
}

int
zcq_metrics_serve (zcq_metrics_t *self, const char *address, char **error)
{
    assert (self);
    assert (address);
    assert (!self->daemon);
    uint16_t port = 0;
    int fd = s_listen (address, &port, error);
    if (fd < 0) {
        return -1;
    }
    //  The daemon takes the socket over and closes it when it stops. It
    //  polls with epoll (or poll), never select: a node with many clients
    //  has descriptors beyond select's FD_SETSIZE
    self->daemon = MHD_start_daemon (
        MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, s_request, self, MHD_OPTION_LISTEN_SOCKET,
        fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned) CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) IDLE_TIMEOUT, MHD_OPTION_END);
    if (!self->daemon) {
        close (fd);
        *error =
            zsys_sprintf ("cannot serve metrics on %s: the HTTP server did not start", address);
        return -1;
    }
    char host [64];
    const char *colon = strrchr (address, ':');
    snprintf (host, sizeof (host), "%.*s", (int) (colon - address), address);
    free (self->url);
    self->url = zsys_sprintf ("http://%s:%u/metrics", streq (host, "*") ? "127.0.0.1" : host,
                              (unsigned) port);
    return 0;
}

const char *
zcq_metrics_url (zcq_metrics_t *self)
{
    assert (self);
    return self->url;
}
