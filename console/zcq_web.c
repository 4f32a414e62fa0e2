/*  =========================================================================
    zcq_web - the console's HTTP side (see zcq_web.h)
    =========================================================================
*/

#include "zcq_web.h"
#include "zcq_assets.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>

#define BODY_MAX      (512 * 1024) //  bytes of a POST body
#define LOG_COUNT     200          //  most events a log page shows
#define STREAM_SCAN   20000        //  positions a stream request scans by default
#define STREAM_MAX    200000       //  ... at most
#define STREAM_EVENTS 500          //  events of a stream one answer holds at most
#define CONNECTIONS   64           //  HTTP connections at once
#define IDLE          30           //  seconds an idle connection is kept

struct _zcq_web_t {
    const zcq_console_config_t *config; //  what to reach (borrowed)
    zcq_cluster_t *cluster;             //  the status views (borrowed)
    struct MHD_Daemon *daemon;          //  the HTTP server
    char *url;                          //  where it serves
    char *hosts [2];                    //  Host headers it answers, or none (every interface)
    char failure [256];                 //  the HTTP library's last complaint
    //  Owned by the HTTP thread once it made them
    bool ready;           //  identity, client and replay socket are set up
    zcq_client_t *client; //  queries and commands
    zsock_t *replay;      //  DEALER to the replay endpoint
    uint64_t replay_id;   //  id of the last REPLAY sent
};

//  What a request gets: an HTTP status and a body of a type.
typedef struct {
    unsigned status;          //  HTTP status
    const char *type;         //  Content-Type (static)
    char *text;               //  body (owned), or NULL with asset
    const zcq_asset_t *asset; //  a static file instead of text
} s_answer_t;

//  A POST body, gathered over the handler's calls.
typedef struct {
    char *data;   //  bytes so far, NUL-terminated
    size_t size;  //  how many
    bool too_big; //  over BODY_MAX: refused once complete
} s_body_t;

static s_answer_t
s_json (unsigned status, char *text)
{
    return (s_answer_t){status, "application/json", text, NULL};
}

//  An error answer: {"error": "..."}.
static s_answer_t
s_error (unsigned status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *reason = zsys_vprintf (format, args);
    va_end (args);
    char *quoted = zcq_console_quoted (reason);
    char *json = zsys_sprintf ("{\"error\":%s}", quoted);
    free (quoted);
    zstr_free (&reason);
    return s_json (status, json);
}

//  An error answer with the reason in *error, which it frees.
static s_answer_t
s_refused (unsigned status, char **error)
{
    s_answer_t answer = s_error (status, "%s", *error);
    zstr_free (error);
    return answer;
}

//  --- The thread's sockets ---------------------------------------------------

static int
s_setup (zcq_web_t *self, char **error)
{
    if (self->ready) {
        return 0;
    }
    //  The identity is the calling thread's: this one needs its own
    if (zcq_console_identity (self->config, error) != 0) {
        return -1;
    }
    self->client = zcq_client_new (self->config->commands);
    for (int index = 0; self->client && index < self->config->query_count; index++) {
        zcq_client_add_query_node (self->client, self->config->queries [index]);
    }
    self->replay = zsock_new (ZMQ_DEALER);
    assert (self->replay);
    zsock_set_linger (self->replay, 0);
    zsock_set_maxmsgsize (self->replay, ZCQ_HARD_MAXMSG);
    zsock_set_sndtimeo (self->replay, 0);
    zcq_auth_identity_apply (self->replay, self->config->replay);
    if (!self->client || zsock_connect (self->replay, "%s", self->config->replay) != 0) {
        *error = zsys_sprintf ("cannot connect to the cluster's endpoints");
        return -1;
    }
    self->ready = true;
    return 0;
}

//  Ask the replay endpoint for up to max events from position from.
//  Returns the EVENTS, or NULL with *error.
static zcq_msg_t *
s_replay (zcq_web_t *self, uint64_t from, uint32_t max, char **error)
{
    zcq_msg_t *request = zcq_msg_new (ZCQ_MSG_REPLAY);
    uint64_t id = ++self->replay_id;
    zcq_msg_set_id (request, &id, sizeof (id));
    zcq_msg_set_from (request, from);
    zcq_msg_set_max (request, max);
    int rc = zcq_msg_send (request, self->replay);
    zcq_msg_destroy (&request);
    int64_t deadline = zclock_mono () + self->config->timeout;
    zpoller_t *poller = zpoller_new (self->replay, NULL);
    zcq_msg_t *answer = NULL;
    while (rc == 0 && !answer && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ()))) {
            continue;
        }
        answer = zcq_msg_recv (self->replay);
        uint64_t echoed = 0;
        if (answer && zcq_msg_id_size (answer) == sizeof (echoed)) {
            memcpy (&echoed, zcq_msg_id (answer), sizeof (echoed));
        }
        if (echoed != id) {
            zcq_msg_destroy (&answer); //  the late answer to an earlier request
        }
    }
    zpoller_destroy (&poller);
    if (!answer) {
        *error = zsys_sprintf ("no answer from the write node's replay endpoint %s in %d ms",
                               self->config->replay, self->config->timeout);
    }
    else if (zcq_msg_type (answer) != ZCQ_MSG_EVENTS || !zcq_msg_valid (answer)) {
        *error = zsys_sprintf ("the write node's replay endpoint answered %s: %s",
                               zcq_status_name (zcq_msg_status (answer)),
                               *zcq_msg_reason (answer) ? zcq_msg_reason (answer)
                                                        : zcq_msg_error (answer));
        zcq_msg_destroy (&answer);
    }
    return answer;
}

//  --- Arguments --------------------------------------------------------------

//  A whole-number argument from min to max (fallback when absent).
//  Returns 0, or -1 with *error.
static int
s_number (struct MHD_Connection *connection, const char *key, int64_t fallback, int64_t min,
          int64_t max, int64_t *value, char **error)
{
    const char *text = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, key);
    if (!text || !*text) {
        *value = fallback;
        return 0;
    }
    char *end = NULL;
    long long number = strtoll (text, &end, 10);
    if (*end || number < min || number > max) {
        *error = zsys_sprintf ("'%s' must be a whole number from %" PRId64 " to %" PRId64
                               ", got '%.40s'",
                               key, min, max, text);
        return -1;
    }
    *value = number;
    return 0;
}

//  --- The API ----------------------------------------------------------------

static s_answer_t
s_log (zcq_web_t *self, struct MHD_Connection *connection)
{
    int64_t count = 0, from = 0;
    char *error = NULL;
    if (s_number (connection, "count", 20, 1, LOG_COUNT, &count, &error)
        || s_number (connection, "from", 0, 1, INT64_MAX, &from, &error)) {
        return s_refused (MHD_HTTP_BAD_REQUEST, &error);
    }
    if (from == 0) {
        //  The latest: the page ending at the head the write node last gave
        uint64_t head = zcq_cluster_head (self->cluster);
        from = head > (uint64_t) count ? (int64_t) (head - (uint64_t) count + 1) : 1;
    }
    zcq_msg_t *events = s_setup (self, &error)
                            ? NULL
                            : s_replay (self, (uint64_t) from, (uint32_t) count, &error);
    if (!events) {
        return s_refused (MHD_HTTP_BAD_GATEWAY, &error);
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    fprintf (out, "{\"head\":%" PRIu64 ",\"from\":%" PRId64 ",\"events\":[",
             zcq_msg_head (events), from);
    for (size_t index = 0; index < zcq_msg_event_count (events); index++) {
        zframe_t *frame = zcq_msg_event_frame (events, index);
        zcq_msg_t *event =
            zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
        char *json = zcq_json_from_msg (event);
        fprintf (out, "%s%s", index ? "," : "", json);
        free (json);
        zcq_msg_destroy (&event);
    }
    fprintf (out, "]}");
    fclose (out);
    zcq_msg_destroy (&events);
    return s_json (MHD_HTTP_OK, text);
}

static s_answer_t
s_stream (zcq_web_t *self, struct MHD_Connection *connection)
{
    const char *name = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, "name");
    int64_t from = 0, scan = 0;
    char *error = NULL;
    if (!name || !*name || strlen (name) > ZCQ_MAX_STREAM) {
        return s_error (MHD_HTTP_BAD_REQUEST, "'name' must be a stream name of 1 to %d bytes",
                        ZCQ_MAX_STREAM);
    }
    if (s_number (connection, "from", 1, 1, INT64_MAX, &from, &error) == 0
        && s_number (connection, "scan", STREAM_SCAN, 1, STREAM_MAX, &scan, &error) == 0) {
        s_setup (self, &error);
    }
    if (error) {
        return s_refused (MHD_HTTP_BAD_REQUEST, &error);
    }
    char *events = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&events, &size);
    uint64_t next = (uint64_t) from, head = 0, until = (uint64_t) from + (uint64_t) scan;
    size_t found = 0;
    //  Read the log a batch at a time, keeping the stream's events, until
    //  the scan is done, the head is passed or the answer is full
    while (next < until && found < STREAM_EVENTS) {
        uint64_t want = until - next < ZCQ_MAX_EVENTS ? until - next : ZCQ_MAX_EVENTS;
        zcq_msg_t *batch = s_replay (self, next, (uint32_t) want, &error);
        if (!batch) {
            break;
        }
        head = zcq_msg_head (batch);
        size_t count = zcq_msg_event_count (batch);
        for (size_t index = 0; index < count && found < STREAM_EVENTS; index++) {
            zframe_t *frame = zcq_msg_event_frame (batch, index);
            zcq_msg_t *event =
                zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
            next = zcq_msg_position (event) + 1;
            if (zcq_msg_valid (event) && streq (zcq_msg_stream (event), name)) {
                char *json = zcq_json_from_msg (event);
                fprintf (out, "%s%s", found++ ? "," : "", json);
                free (json);
            }
            zcq_msg_destroy (&event);
        }
        zcq_msg_destroy (&batch);
        if (count == 0) {
            next = head + 1; //  past the head: the whole log is read
            break;
        }
    }
    fclose (out);
    if (error) {
        free (events);
        return s_refused (MHD_HTTP_BAD_GATEWAY, &error);
    }
    char *quoted = zcq_console_quoted (name);
    char *text = zsys_sprintf ("{\"stream\":%s,\"from\":%" PRId64 ",\"next\":%" PRIu64
                               ",\"head\":%" PRIu64 ",\"events\":[%s]}",
                               quoted, from, next, head, events);
    free (quoted);
    free (events);
    return s_json (MHD_HTTP_OK, text);
}

//  Pack a JSON object argument into buffer. Returns 0, or -1 with *error.
static int
s_object (const char *text, const char *what, msgpack_sbuffer *buffer, char **error)
{
    char *reason = NULL;
    if (zcq_json_to_msgpack (text, buffer, &reason) != 0) {
        *error = zsys_sprintf ("%s is not JSON: %s", what, reason);
        zstr_free (&reason);
        return -1;
    }
    //  A map's first byte: fixmap (0x80-0x8f), map 16 (0xde) or map 32 (0xdf)
    unsigned char first = buffer->size ? (unsigned char) buffer->data [0] : 0;
    if ((first & 0xf0) != 0x80 && first != 0xde && first != 0xdf) {
        *error = zsys_sprintf ("%s must be a JSON object", what);
        return -1;
    }
    return 0;
}

//  The answer of a node as {"node", "endpoint", "answer"}, or 504.
static s_answer_t
s_node_answer (const char *node, const char *endpoint, zcq_msg_t *answer, int timeout)
{
    if (!answer) {
        return s_error (MHD_HTTP_GATEWAY_TIMEOUT, "no answer from %s (%s) in %d ms", node,
                        endpoint, timeout);
    }
    char *json = zcq_json_from_msg (answer);
    char *quoted = zcq_console_quoted (endpoint);
    char *text =
        zsys_sprintf ("{\"node\":\"%s\",\"endpoint\":%s,\"answer\":%s}", node, quoted, json);
    free (quoted);
    free (json);
    return s_json (MHD_HTTP_OK, text);
}

static s_answer_t
s_query (zcq_web_t *self, struct MHD_Connection *connection)
{
    const char *name = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, "name");
    const char *params =
        MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, "params");
    int64_t node = 0, min_position = 0;
    char *error = NULL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    if (self->config->query_count == 0) {
        error = zsys_sprintf ("the console knows no query node (console/queries)");
    }
    else if (!name || !*name || strlen (name) > ZCQ_MAX_NAME) {
        error = zsys_sprintf ("'name' must be a query name of 1 to %d bytes", ZCQ_MAX_NAME);
    }
    else if (s_number (connection, "node", 0, 0, self->config->query_count - 1, &node, &error)
                 == 0
             && s_number (connection, "min_position", 0, 0, INT64_MAX, &min_position, &error)
                    == 0) {
        s_object (params && *params ? params : "{}", "params", &buffer, &error);
    }
    if (error) {
        msgpack_sbuffer_destroy (&buffer);
        return s_refused (MHD_HTTP_BAD_REQUEST, &error);
    }
    if (s_setup (self, &error)) {
        msgpack_sbuffer_destroy (&buffer);
        return s_refused (MHD_HTTP_BAD_GATEWAY, &error);
    }
    zcq_msg_t *result =
        zcq_client_query (self->client, (int) node, name, buffer.data, buffer.size,
                          (uint64_t) min_position, self->config->timeout);
    msgpack_sbuffer_destroy (&buffer);
    char label [32];
    snprintf (label, sizeof (label), "query-%d", (int) node + 1);
    s_answer_t answer =
        s_node_answer (label, self->config->queries [node], result, self->config->timeout);
    zcq_msg_destroy (&result);
    return answer;
}

//  A text field of the command's JSON body, or NULL.
static char *
s_field (const msgpack_object *map, const char *key, size_t limit, char **error)
{
    char reason [ZCQ_REASON_MAX];
    char *value = NULL;
    if (zcq_map_string (map, key, limit, &value, reason) != 0) {
        *error = zsys_sprintf ("%s", reason);
    }
    return value;
}

static s_answer_t
s_command (zcq_web_t *self, s_body_t *body)
{
    if (!self->config->send) {
        return s_error (MHD_HTTP_FORBIDDEN, "sending commands is off: start zcqrs-console "
                                            "with --send 1 (console/send = 1)");
    }
    if (body->too_big) {
        return s_error (MHD_HTTP_CONTENT_TOO_LARGE, "the command is over %d bytes", BODY_MAX);
    }
    char *error = NULL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    char *type = NULL, *stream = NULL;
    int64_t expect = ZCQ_EXPECT_ANY;
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    if (s_object (body->data ? body->data : "", "the command", &buffer, &error) == 0
        && zcq_mpack_unpack (buffer.data, buffer.size, &unpacked) == 0) {
        const msgpack_object *map = &unpacked.data;
        type = s_field (map, "type", ZCQ_MAX_NAME, &error);
        stream = error ? NULL : s_field (map, "stream", ZCQ_MAX_STREAM, &error);
        const msgpack_object *version = zcq_map_get (map, "expect");
        const msgpack_object *fields = zcq_map_get (map, "data");
        if (!error && version && version->type == MSGPACK_OBJECT_POSITIVE_INTEGER
            && version->via.u64 <= INT64_MAX) {
            expect = (int64_t) version->via.u64;
        }
        else if (!error && version && version->type != MSGPACK_OBJECT_NIL) {
            error = zsys_sprintf ("field 'expect' must be a version (0, 1, ...) or null");
        }
        if (!error && fields && fields->type != MSGPACK_OBJECT_MAP) {
            error = zsys_sprintf ("field 'data' must be a JSON object");
        }
        else if (!error && fields) {
            msgpack_packer pk;
            msgpack_packer_init (&pk, &data, msgpack_sbuffer_write);
            msgpack_pack_object (&pk, *fields);
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
    s_answer_t answer;
    if (error) {
        answer = s_error (MHD_HTTP_BAD_REQUEST, "%s", error);
    }
    else if (s_setup (self, &error)) {
        answer = s_error (MHD_HTTP_BAD_GATEWAY, "%s", error);
    }
    else {
        zcq_msg_t *command = zcq_client_command (type, stream, expect, data.data, data.size);
        zcq_msg_t *reply = zcq_client_request (self->client, command, self->config->timeout);
        if (!reply && !zcq_msg_valid (command)) {
            answer = s_error (MHD_HTTP_BAD_REQUEST, "cannot send: %s", zcq_msg_error (command));
        }
        else if (!reply) {
            answer = s_error (MHD_HTTP_GATEWAY_TIMEOUT,
                              "no answer from the write node (%s) in %d ms",
                              self->config->commands, self->config->timeout);
        }
        else {
            answer = s_json (MHD_HTTP_OK, zcq_json_from_msg (reply));
        }
        zcq_msg_destroy (&reply);
        zcq_msg_destroy (&command);
    }
    zstr_free (&error);
    free (type);
    free (stream);
    msgpack_sbuffer_destroy (&data);
    return answer;
}

//  --- Requests ---------------------------------------------------------------

//  True if the request names a host this console serves (see zcq_web.h).
static bool
s_host_allowed (zcq_web_t *self, struct MHD_Connection *connection)
{
    if (!self->hosts [0]) {
        return true;
    }
    const char *host = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "Host");
    return host
           && (streq (host, self->hosts [0])
               || (self->hosts [1] && streq (host, self->hosts [1])));
}

static s_answer_t
s_route (zcq_web_t *self, struct MHD_Connection *connection, const char *url,
         const char *method, s_body_t *body)
{
    bool get = streq (method, MHD_HTTP_METHOD_GET) || streq (method, MHD_HTTP_METHOD_HEAD);
    if (!s_host_allowed (self, connection)) {
        return s_error (MHD_HTTP_FORBIDDEN, "this console answers requests for %s only",
                        self->hosts [0]);
    }
    if (streq (url, "/api/command")) {
        const char *type =
            MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "Content-Type");
        if (!streq (method, MHD_HTTP_METHOD_POST)) {
            return s_error (MHD_HTTP_METHOD_NOT_ALLOWED, "send a command with POST");
        }
        if (!type || strncmp (type, "application/json", 16) != 0) {
            return s_error (MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                            "a command is a JSON object (Content-Type: application/json)");
        }
        return s_command (self, body);
    }
    if (!get) {
        return s_error (MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not served here", method);
    }
    if (streq (url, "/api/cluster")) {
        return s_json (MHD_HTTP_OK, zcq_cluster_json (self->cluster));
    }
    if (streq (url, "/api/history")) {
        return s_json (MHD_HTTP_OK, zcq_cluster_history_json (self->cluster));
    }
    if (streq (url, "/api/log")) {
        return s_log (self, connection);
    }
    if (streq (url, "/api/stream")) {
        return s_stream (self, connection);
    }
    if (streq (url, "/api/query")) {
        return s_query (self, connection);
    }
    const zcq_asset_t *asset = zcq_assets_find (url);
    if (asset) {
        return (s_answer_t){MHD_HTTP_OK, asset->type, NULL, asset};
    }
    return s_error (MHD_HTTP_NOT_FOUND, "nothing at %.200s", url);
}

static enum MHD_Result
s_request (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void) version;
    zcq_web_t *self = (zcq_web_t *) cls;
    if (streq (method, MHD_HTTP_METHOD_POST)) {
        //  A body comes over several calls; answer once it is whole
        if (!*state) {
            *state = zmalloc (sizeof (s_body_t));
            return MHD_YES;
        }
        s_body_t *body = (s_body_t *) *state;
        if (*upload_size) {
            if (body->size + *upload_size > BODY_MAX) {
                body->too_big = true;
            }
            else {
                body->data = (char *) realloc (body->data, body->size + *upload_size + 1);
                assert (body->data);
                memcpy (body->data + body->size, upload, *upload_size);
                body->size += *upload_size;
                body->data [body->size] = 0;
            }
            *upload_size = 0;
            return MHD_YES;
        }
    }
    s_answer_t answer = s_route (self, connection, url, method, (s_body_t *) *state);
    struct MHD_Response *response =
        answer.asset ? MHD_create_response_from_buffer (
            (size_t) (answer.asset->end - answer.asset->data), (void *) answer.asset->data,
            MHD_RESPMEM_PERSISTENT)
                     : MHD_create_response_from_buffer (strlen (answer.text), answer.text,
                                                        MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL,
                             answer.asset ? "no-cache" : "no-store");
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (response, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (response, "Content-Security-Policy",
                             "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
    enum MHD_Result result = MHD_queue_response (connection, answer.status, response);
    MHD_destroy_response (response);
    return result;
}

//  A request is over: free its body.
static void
s_completed (void *cls, struct MHD_Connection *connection, void **state,
             enum MHD_RequestTerminationCode code)
{
    (void) cls;
    (void) connection;
    (void) code;
    s_body_t *body = (s_body_t *) *state;
    if (body) {
        free (body->data);
        free (body);
        *state = NULL;
    }
}

//  The HTTP library's complaints, kept for the error a failed start gives.
static void
s_complaint (void *cls, const char *format, va_list args)
{
    zcq_web_t *self = (zcq_web_t *) cls;
    vsnprintf (self->failure, sizeof (self->failure), format, args);
    size_t size = strlen (self->failure);
    while (size && (self->failure [size - 1] == '\n' || self->failure [size - 1] == '.')) {
        self->failure [--size] = 0;
    }
}

zcq_web_t *
zcq_web_new (const zcq_console_config_t *config, zcq_cluster_t *cluster, char **error)
{
    assert (config);
    assert (cluster);
    assert (error);
    const char *colon = strrchr (config->http, ':');
    if (!colon || colon == config->http || !colon [1]) {
        *error = zsys_sprintf ("console address '%s' is not HOST:PORT (e.g. 127.0.0.1:9600)",
                               config->http);
        return NULL;
    }
    char *host = strndup (config->http, (size_t) (colon - config->http));
    bool everywhere = streq (host, "*") || streq (host, "0.0.0.0");
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo (everywhere ? NULL : host, colon + 1, &hints, &found);
    if (rc != 0) {
        *error = zsys_sprintf ("console address '%s': %s", config->http, gai_strerror (rc));
        free (host);
        return NULL;
    }
    zcq_web_t *self = (zcq_web_t *) zmalloc (sizeof (zcq_web_t));
    assert (self);
    self->config = config;
    self->cluster = cluster;
    self->daemon = MHD_start_daemon (
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_request, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_complaint, self, MHD_OPTION_SOCK_ADDR, found->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned) CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) IDLE, MHD_OPTION_END);
    freeaddrinfo (found);
    if (!self->daemon) {
        *error =
            zsys_sprintf ("cannot serve the console on %s: %s", config->http,
                          *self->failure ? self->failure : "the HTTP server did not start");
        free (host);
        free (self);
        return NULL;
    }
    unsigned port = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    const char *shown = everywhere ? "127.0.0.1" : host;
    self->url = zsys_sprintf ("http://%s:%u/", shown, port);
    if (!everywhere) {
        self->hosts [0] = zsys_sprintf ("%s:%u", host, port);
        if (streq (host, "127.0.0.1") || streq (host, "localhost")) {
            self->hosts [1] = zsys_sprintf (
                "%s:%u", streq (host, "localhost") ? "127.0.0.1" : "localhost", port);
        }
    }
    free (host);
    return self;
}

void
zcq_web_destroy (zcq_web_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_web_t *self = *self_p;
        //  The thread that used the sockets is joined: they are ours now
        MHD_stop_daemon (self->daemon);
        zcq_client_destroy (&self->client);
        zsock_destroy (&self->replay);
        free (self->url);
        free (self->hosts [0]);
        free (self->hosts [1]);
        free (self);
        *self_p = NULL;
    }
}

const char *
zcq_web_url (zcq_web_t *self)
{
    assert (self);
    return self->url;
}
