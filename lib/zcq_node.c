/*  =========================================================================
    zcq_node - settings, start-up and main () shared by the node programs
    =========================================================================
*/

#include "zcq_node.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SEND_HWM 100000 //  messages queued per peer before refusing

zactor_t *
zcq_node_start (zactor_fn *actor, zconfig_t *config, char **message)
{
    assert (actor);
    assert (message);
    zactor_t *node = zactor_new (actor, config);
    assert (node);
    //  The actor signalled (zactor_new returned); its next word says whether
    //  it came up: "READY summary" or "ERROR reason"
    char *word = zstr_recv (node);
    if (word && strncmp (word, "READY ", 6) == 0) {
        *message = strdup (word + 6);
        zstr_free (&word);
        return node;
    }
    *message = strdup (word && strlen (word) > 6 ? word + 6 : "node stopped during start");
    zstr_free (&word);
    zactor_destroy (&node);
    return NULL;
}

void
zcq_node_ready (zsock_t *pipe, const char *summary)
{
    zstr_sendf (pipe, "READY %s", summary);
}

void
zcq_node_failed (zsock_t *pipe, const char *reason)
{
    zsys_error ("%s", reason);
    zstr_sendf (pipe, "ERROR %s", reason);
}

bool
zcq_node_refuse (zcq_msg_t *msg, zsock_t *sock, const char *endpoint, unsigned accepted)
{
    assert (msg);
    zcq_msg_type_t type = zcq_msg_type (msg);
    zcq_status_t status = zcq_msg_error_status (msg);
    char *reason = NULL;
    if (type != ZCQ_MSG_UNKNOWN && !(accepted & ZCQ_NODE_TAKES (type))) {
        //  Name what this endpoint takes, e.g. "COMMAND or QUERY"
        char takes [128] = "";
        for (int other = ZCQ_MSG_UNKNOWN + 1; other < ZCQ_MSG_TYPES; other++) {
            if (accepted & ZCQ_NODE_TAKES (other)) {
                if (*takes) {
                    strcat (takes, " or ");
                }
                strcat (takes, zcq_msg_type_name ((zcq_msg_type_t) other));
            }
        }
        reason = zsys_sprintf ("the %s endpoint takes %s, not %s", endpoint, takes,
                               zcq_msg_type_name (type));
        status = ZCQ_UNKNOWN_TYPE;
        //  An ERROR answers it: a reply of its own type would make no sense
        zcq_msg_set_type (msg, ZCQ_MSG_UNKNOWN);
    }
    else if (!zcq_msg_valid (msg)) {
        reason = strdup (zcq_msg_error (msg));
    }
    else {
        return false;
    }
    zcq_msg_t *reply = zcq_msg_reply_to (msg, status);
    zcq_msg_set_reason (reply, "%s", reason);
    if (zcq_msg_send (reply, sock) != 0) {
        zsys_warning ("could not deliver an error reply: peer gone or its queue is full");
    }
    zcq_msg_destroy (&reply);
    zstr_free (&reason);
    return true;
}

//  True if a process accepts connections on the ipc:// endpoint's path.
static bool
s_ipc_in_use (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) != 0 || endpoint [6] == '@') {
        return false; //  not ipc, or an abstract name: bind will tell
    }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen (endpoint + 6) >= sizeof (address.sun_path)) {
        return false; //  too long: bind will say so
    }
    strcpy (address.sun_path, endpoint + 6);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    bool in_use = connect (fd, (struct sockaddr *) &address, sizeof (address)) == 0;
    close (fd);
    return in_use;
}

zsock_t *
zcq_node_bind (int type, const char *endpoint, const char *role, char **error)
{
    assert (endpoint);
    assert (error);
    if (s_ipc_in_use (endpoint)) {
        *error = zsys_sprintf ("cannot bind %s endpoint '%s': another process serves it", role,
                               endpoint);
        return NULL;
    }
    zsock_t *sock = zsock_new (type);
    assert (sock);
    zsock_set_linger (sock, 0);
    zsock_set_sndhwm (sock, SEND_HWM);
    zsock_set_maxmsgsize (sock, ZCQ_HARD_MAXMSG);
    if (type == ZMQ_ROUTER) {
        //  Report undeliverable replies instead of dropping them silently
        zsock_set_router_mandatory (sock, 1);
        zsock_set_sndtimeo (sock, 0);
    }
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        *error = zsys_sprintf ("cannot bind %s endpoint '%s': %s", role, endpoint,
                               zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

const char *
zcq_node_get (zconfig_t *config, const char *path, const char *fallback)
{
    return config ? zconfig_get (config, path, fallback) : fallback;
}

int64_t
zcq_node_get_int (zconfig_t *config, const char *path, int64_t fallback)
{
    const char *text = zcq_node_get (config, path, NULL);
    if (!text) {
        return fallback;
    }
    char *end = NULL;
    long long value = strtoll (text, &end, 10);
    if (end == text || *end) {
        zsys_warning ("setting %s='%s' is not a number; using %" PRId64, path, text, fallback);
        return fallback;
    }
    return value;
}

char *
zcq_node_endpoint (zsock_t *sock)
{
    char *endpoint = zsock_last_endpoint (sock);
    return endpoint ? endpoint : strdup ("?");
}

static void
s_usage (const char *program, const zcq_option_t *options)
{
    printf ("usage: %s [--config FILE.zpl] [options]\n\noptions (override the file):\n",
            program);
    for (const zcq_option_t *option = options; option->flag; option++) {
        printf ("  %-14s %s (setting %s)\n", option->flag, option->help, option->path);
    }
    printf ("  %-14s %s\n", "--config FILE", "read settings from a ZPL file first");
}

//  Fill config from argv. Returns 0, 1 for --help, or -1 (message printed).
static int
s_parse (const char *program, const zcq_option_t *options, int argc, char **argv,
         zconfig_t *config)
{
    //  --config first, so that the other flags override what the file says
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--config") && index + 1 < argc) {
            zconfig_t *file = zconfig_load (argv [index + 1]);
            if (!file) {
                fprintf (stderr, "%s: cannot read config file '%s'\n", program,
                         argv [index + 1]);
                return -1;
            }
            //  Copy every setting of the file into ours
            for (const zcq_option_t *option = options; option->flag; option++) {
                const char *value = zconfig_get (file, option->path, NULL);
                if (value) {
                    zconfig_put (config, option->path, value);
                }
            }
            zconfig_destroy (&file);
        }
    }
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        if (streq (arg, "--help") || streq (arg, "-h")) {
            s_usage (program, options);
            return 1;
        }
        if (streq (arg, "--config")) {
            index++;
            continue;
        }
        const zcq_option_t *match = NULL;
        for (const zcq_option_t *option = options; option->flag; option++) {
            if (streq (arg, option->flag)) {
                match = option;
            }
        }
        if (!match) {
            fprintf (stderr, "%s: unknown option '%s' (try --help)\n", program, arg);
            return -1;
        }
        if (index + 1 >= argc) {
            fprintf (stderr, "%s: option '%s' needs a value\n", program, arg);
            return -1;
        }
        zconfig_put (config, match->path, argv [++index]);
    }
    return 0;
}

int
zcq_node_main (const char *program, zactor_fn *actor, const zcq_option_t *options, int argc,
               char **argv)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    int rc = s_parse (program, options, argc, argv, config);
    if (rc != 0) {
        zconfig_destroy (&config);
        return rc > 0 ? 0 : 2;
    }
    zsys_set_logident (program);
    char *message = NULL;
    zactor_t *node = zcq_node_start (actor, config, &message);
    if (!node) {
        fprintf (stderr, "%s: cannot start: %s\n", program, message);
        free (message);
        zconfig_destroy (&config);
        return 1;
    }
    printf ("%s ready %s\n", program, message);
    fflush (stdout);
    free (message);

    //  Wait for a signal, or for the actor to report a fatal error
    int code = 0;
    zpoller_t *poller = zpoller_new (node, NULL);
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 500);
        if (which == node) {
            char *word = zstr_recv (node);
            zsys_error ("node stopped: %s", word ? word : "(no reason)");
            zstr_free (&word);
            code = 1;
            break;
        }
    }
    zpoller_destroy (&poller);
    zactor_destroy (&node);
    zconfig_destroy (&config);
    zsys_info ("stopped");
    return code;
}
