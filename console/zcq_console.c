/*  =========================================================================
    zcq_console - the console actor and its settings (see zcq_console.h)
    =========================================================================
*/

#include "zcq_console.h"
#include "zcq_cluster.h"
#include "zcq_web.h"

//  The console's settings: the one place for their paths, flags, defaults,
//  accepted values and help (zcqrs-console --help is made from it).
static const zcq_setting_t s_table [] = {
    {.path = "console/http",
     .flag = "--http",
     .fallback = "127.0.0.1:9600",
     .arg = "HOST:PORT",
     .help = "HTTP address it serves the console on (127.0.0.1: this machine only; \"*\": "
             "every interface; port 0: any free port)"},
    {.path = "console/commands",
     .flag = "--commands",
     .fallback = ZCQ_DEFAULT_COMMANDS,
     .arg = "EP",
     .help = "the write node's commands endpoint (its status, and commands sent)"},
    {.path = "console/replay",
     .flag = "--replay",
     .fallback = ZCQ_DEFAULT_REPLAY,
     .arg = "EP",
     .help = "the write node's replay endpoint (the log and stream pages)"},
    {.path = "console/queries",
     .flag = "--queries",
     .fallback = ZCQ_DEFAULT_QUERIES ",tcp://127.0.0.1:5612",
     .arg = "EP,EP...",
     .help = "the query nodes' endpoints, separated by commas (at most 16)"},
    {.path = "console/send",
     .flag = "--send",
     .fallback = "0",
     .type = ZCQ_SETTING_NUMBER,
     .min = 0,
     .max = 1,
     .arg = "0|1",
     .bare = "1",
     .help = "1: the send page may send commands to the write node (off unless set)"},
    {.path = "console/refresh",
     .flag = "--refresh",
     .fallback = "1000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 100,
     .max = 60000,
     .arg = "MS",
     .help = "milliseconds between two status samples of every node"},
    {.path = "console/history",
     .flag = "--history",
     .fallback = "600",
     .type = ZCQ_SETTING_NUMBER,
     .min = 10,
     .max = 86400,
     .arg = "SECONDS",
     .help = "seconds of samples the charts keep"},
    {.path = "console/timeout",
     .flag = "--timeout",
     .fallback = "3000",
     .type = ZCQ_SETTING_NUMBER,
     .min = 100,
     .max = 60000,
     .arg = "MS",
     .help = "milliseconds a query, a command or a replay may take"},
    ZCQ_SETTING_LOG_LEVEL ("console"),
    {.path = "console/security/cert",
     .arg = "FILE",
     .help = "the console's CURVE keypair (FILE and FILE_secret), a client key with the "
             "roles query, replicate (and commands, to send): the cluster is secured",
     .file = ZCQ_SETTING_FILE},
    {.path = "console/security/server",
     .arg = "KEY|FILE",
     .help = "the write node's public key (40 Z85 characters or its certificate file)",
     .file = ZCQ_SETTING_FILE_OR_NAME},
    {.path = "console/security/query_server",
     .arg = "KEY|FILE",
     .help = "the query nodes' public key [the write node's]",
     .file = ZCQ_SETTING_FILE_OR_NAME},
    {.path = NULL},
};

const zcq_setting_t *
zcq_console_settings (void)
{
    return s_table;
}

//  A setting's value: what config says, else the table's default (NULL if
//  none). zcq_node_main checked it against the table before the start.
static const char *
s_text (zconfig_t *config, const char *path)
{
    for (const zcq_setting_t *setting = s_table; setting->path; setting++) {
        if (streq (setting->path, path)) {
            const char *value = zconfig_get (config, path, NULL);
            return value && *value ? value : setting->fallback;
        }
    }
    assert (false); //  a path of the table
    return NULL;
}

int
zcq_console_identity (const zcq_console_config_t *config, char **error)
{
    assert (config);
    if (!config->cert) {
        return 0;
    }
    if (!config->server_key) {
        *error = zsys_sprintf ("console/security/cert needs console/security/server, the "
                               "write node's public key");
        return -1;
    }
    int rc = zcq_auth_identity_set (config->cert, config->server_key, error);
    const char *query_key = config->query_key ? config->query_key : config->server_key;
    for (int index = 0; rc == 0 && index < config->query_count; index++) {
        rc = zcq_auth_identity_server (config->queries [index], query_key, error);
    }
    return rc;
}

char *
zcq_console_quoted (const char *text)
{
    assert (text);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    zcq_mpack_pack_str (&pk, text);
    char *json = zcq_json_from_msgpack (buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    assert (json); //  one string packs as one object
    return json;
}

//  Read the settings into config. Returns 0, or -1 with *error.
static int
s_settings (zconfig_t *settings, zcq_console_config_t *config, char **error)
{
    config->http = s_text (settings, "console/http");
    config->commands = s_text (settings, "console/commands");
    config->replay = s_text (settings, "console/replay");
    config->send = atoi (s_text (settings, "console/send")) == 1;
    config->refresh = atoi (s_text (settings, "console/refresh"));
    config->history = atoi (s_text (settings, "console/history"));
    config->timeout = atoi (s_text (settings, "console/timeout"));
    config->cert = s_text (settings, "console/security/cert");
    config->server_key = s_text (settings, "console/security/server");
    config->query_key = s_text (settings, "console/security/query_server");
    char *list = strdup (s_text (settings, "console/queries"));
    char *cursor = list, *endpoint;
    while ((endpoint = strsep (&cursor, ", "))) {
        if (!*endpoint) {
            continue;
        }
        if (config->query_count == ZCQ_CONSOLE_QUERY_NODES) {
            *error = zsys_sprintf ("console/queries names more than %d query nodes",
                                   ZCQ_CONSOLE_QUERY_NODES);
            break;
        }
        config->queries [config->query_count++] = strdup (endpoint);
    }
    free (list);
    return *error ? -1 : 0;
}

static void
s_config_free (zcq_console_config_t *config)
{
    for (int index = 0; index < config->query_count; index++) {
        free (config->queries [index]);
    }
}

void
zcq_console_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    zcq_console_config_t config = {0};
    char *error = NULL;
    zcq_cluster_t *cluster = NULL;
    zcq_web_t *web = NULL;
    if (s_settings ((zconfig_t *) args, &config, &error) == 0
        && zcq_console_identity (&config, &error) == 0) {
        cluster = zcq_cluster_new (&config);
        web = zcq_web_new (&config, cluster, &error);
    }
    if (!web) {
        zcq_node_failed (pipe, error);
        zstr_free (&error);
        zcq_cluster_destroy (&cluster);
        s_config_free (&config);
        return;
    }
    char *summary = zsys_sprintf (
        "http=%s commands=%s query_nodes=%d send=%s%s", zcq_web_url (web), config.commands,
        config.query_count, config.send ? "on" : "off", config.cert ? " secure=curve" : "");
    zsys_info ("console serving: %s", summary);
    if (strncmp (config.http, "127.", 4) != 0 && strncmp (config.http, "localhost:", 10) != 0) {
        zsys_warning ("console: %s is not this machine only: anyone who reaches it sees the "
                      "cluster%s",
                      config.http, config.send ? " and can send commands" : "");
    }
    zcq_node_ready (pipe, summary);
    zstr_free (&summary);

    zpoller_t *poller = zpoller_new (pipe, NULL);
    for (size_t index = 0; index < zcq_cluster_socks (cluster); index++) {
        zpoller_add (poller, zcq_cluster_sock (cluster, index));
    }
    zpoller_set_nonstop (poller, true);
    int64_t next = zclock_mono ();
    bool terminated = false;
    while (!terminated) {
        if (zclock_mono () >= next) {
            zcq_cluster_tick (cluster);
            next = zclock_mono () + config.refresh;
        }
        int64_t wait = next - zclock_mono ();
        void *which = zpoller_wait (poller, wait > 0 ? (int) wait : 0);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            terminated = !command || streq (command, "$TERM");
            zstr_free (&command);
        }
        else if (which) {
            zcq_cluster_recv (cluster, (zsock_t *) which);
        }
    }
    zpoller_destroy (&poller);
    zcq_web_destroy (&web);
    zcq_cluster_destroy (&cluster);
    s_config_free (&config);
}
