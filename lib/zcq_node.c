/*  =========================================================================
    zcq_node - settings, start-up and main () shared by the node programs
    =========================================================================
*/

#include "zcq_node.h"
#include "zcq_auth.h"
#include "zcq_peers.h"

#include <pthread.h>
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

//  Each node actor runs on its own thread, and every message a node serves
//  passes zcq_node_refuse first: the thread's peer bookkeeping lives here,
//  created on first use and destroyed when the thread ends.
static pthread_key_t s_peers_key;
static pthread_once_t s_peers_once = PTHREAD_ONCE_INIT;

static void
s_peers_free (void *peers)
{
    zcq_peers_destroy ((zcq_peers_t **) &peers);
}

static void
s_peers_key_new (void)
{
    int rc = pthread_key_create (&s_peers_key, s_peers_free);
    assert (rc == 0);
    (void) rc;
}

static zcq_peers_t *
s_thread_peers (void)
{
    pthread_once (&s_peers_once, s_peers_key_new);
    zcq_peers_t *peers = (zcq_peers_t *) pthread_getspecific (s_peers_key);
    if (!peers) {
        peers = zcq_peers_new (ZCQ_PEERS_MAX, ZCQ_PEERS_MAX_ERRORS, ZCQ_PEERS_WINDOW,
                               ZCQ_PEERS_PENALTY);
        pthread_setspecific (s_peers_key, peers);
    }
    return peers;
}

//  The role a message type needs from a secured peer (0: none).
static unsigned
s_role_needed (zcq_msg_type_t type)
{
    return type == ZCQ_MSG_COMMAND  ? ZCQ_ROLE_COMMANDS
           : type == ZCQ_MSG_QUERY  ? ZCQ_ROLE_QUERY
           : type == ZCQ_MSG_REPLAY ? ZCQ_ROLE_REPLICATE
                                    : 0;
}

bool
zcq_node_refuse (zcq_msg_t *msg, zsock_t *sock, const char *endpoint, unsigned accepted)
{
    assert (msg);
    zcq_peers_t *peers = s_thread_peers ();
    int64_t now = zclock_mono ();
    if (zcq_peers_blocked (peers, sock, zcq_msg_routing_id (msg), now)) {
        return true; //  a peer that keeps sending garbage gets no answer
    }
    zcq_msg_type_t type = zcq_msg_type (msg);
    zcq_status_t status = zcq_msg_error_status (msg);
    unsigned role = s_role_needed (type);
    const char *roles = zcq_msg_roles (msg);
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
    else if (roles && role && !zcq_auth_roles_allow (roles, role)) {
        //  A secured endpoint: the key is known but lacks this role
        reason = zsys_sprintf ("key '%s' may not send %s: its roles are '%s'",
                               zcq_msg_user (msg), zcq_msg_type_name (type), roles);
        status = ZCQ_FORBIDDEN;
    }
    else {
        return false;
    }
    if (zcq_peers_error (peers, sock, zcq_msg_routing_id (msg), now, endpoint)) {
        zstr_free (&reason);
        return true; //  over the limit: this one and what follows go unanswered
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

//  Bind a node socket; with security, as a CURVE server first.
static zsock_t *
s_bind (int type, const char *endpoint, const char *role, zconfig_t *security, char **error)
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
    //  Events and replay hand out the log: only keys that may replicate
    //  get through the handshake. Commands and queries check per message.
    unsigned required =
        streq (role, "events") || streq (role, "replay") ? ZCQ_ROLE_REPLICATE : 0;
    if (security && zcq_auth_server (sock, security, role, required, error) != 0) {
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        *error = zsys_sprintf ("cannot bind %s endpoint '%s': %s", role, endpoint,
                               zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

zsock_t *
zcq_node_bind (int type, const char *endpoint, const char *role, char **error)
{
    return s_bind (type, endpoint, role, NULL, error);
}

zsock_t *
zcq_node_serve (zconfig_t *config, int type, const char *section, const char *name,
                const char *fallback, char **error)
{
    assert (section);
    assert (name);
    assert (error);
    char *path = zsys_sprintf ("%s/%s", section, name);
    const char *endpoint = zcq_node_get (config, path, fallback);
    zstr_free (&path);
    path = zsys_sprintf ("%s/security", section);
    zconfig_t *security = config ? zconfig_locate (config, path) : NULL;
    zstr_free (&path);
    const char *cert = security ? zconfig_get (security, "cert", NULL) : NULL;
    const char *server = security ? zconfig_get (security, "server", NULL) : NULL;
    if (server && zcq_auth_identity_set (cert, server, error) != 0) {
        return NULL;
    }
    bool secured = security && zconfig_get (security, "clients", NULL);
    return s_bind (type, endpoint, name, secured ? security : NULL, error);
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
    printf ("  %-14s %s\n", "--set P=V", "set any setting, e.g. write/security/cert=FILE");
}

//  Put every value below node (its children, recursively) into config
//  under the same path.
static void
s_copy_tree (zconfig_t *node, const char *prefix, zconfig_t *config)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char *path = prefix ? zsys_sprintf ("%s/%s", prefix, zconfig_name (child))
                            : strdup (zconfig_name (child));
        if (zconfig_value (child) && *zconfig_value (child)) {
            zconfig_put (config, path, zconfig_value (child));
        }
        s_copy_tree (child, path, config);
        zstr_free (&path);
    }
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
            //  Copy every setting of the file into ours, also sections no
            //  flag names (security)
            s_copy_tree (file, NULL, config);
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
        if (streq (arg, "--set") && index + 1 < argc) {
            //  Any setting, e.g. --set write/security/cert=keys/write.cert
            char *path = strdup (argv [++index]);
            char *equals = strchr (path, '=');
            if (!equals || equals == path) {
                fprintf (stderr, "%s: --set needs PATH=VALUE, got '%s'\n", program, path);
                free (path);
                return -1;
            }
            *equals = 0;
            zconfig_put (config, path, equals + 1);
            free (path);
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
