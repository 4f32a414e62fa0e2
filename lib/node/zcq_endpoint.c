/*  =========================================================================
    zcq_endpoint - a node's server sockets: bind, secure, refuse what they
    cannot serve (see zcq_endpoint.h)
    =========================================================================
*/

#include "zcq_endpoint.h"
#include "zcq_auth.h"
#include "zcq_blocklist.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SEND_HWM 100000 //  messages queued per peer before refusing
//  Each node actor runs on its own thread, and every message a node serves
//  passes zcq_endpoint_refuse first: the thread's peer bookkeeping lives here,
//  created on first use and destroyed when the thread ends.
static pthread_key_t s_peers_key;
static pthread_once_t s_peers_once = PTHREAD_ONCE_INIT;

static void
s_peers_free (void *peers)
{
    zcq_blocklist_destroy ((zcq_blocklist_t **) &peers);
}

static void
s_peers_key_new (void)
{
    int rc = pthread_key_create (&s_peers_key, s_peers_free);
    assert (rc == 0);
    (void) rc;
}

static zcq_blocklist_t *
s_thread_peers (void)
{
    pthread_once (&s_peers_once, s_peers_key_new);
    zcq_blocklist_t *peers = (zcq_blocklist_t *) pthread_getspecific (s_peers_key);
    if (!peers) {
        peers = zcq_blocklist_new (ZCQ_BLOCKLIST_MAX, ZCQ_BLOCKLIST_MAX_ERRORS,
                                   ZCQ_BLOCKLIST_WINDOW, ZCQ_BLOCKLIST_PENALTY);
        pthread_setspecific (s_peers_key, peers);
    }
    return peers;
}

//  The role a message type needs from a secured peer (0: none).
static unsigned
s_role_needed (zcq_msg_type_t type)
{
    return type == ZCQ_MSG_COMMAND ? ZCQ_ROLE_COMMANDS
           : type == ZCQ_MSG_QUERY || type == ZCQ_MSG_WATCH || type == ZCQ_MSG_ACK
                   || type == ZCQ_MSG_UNWATCH
               ? ZCQ_ROLE_QUERY
           : type == ZCQ_MSG_REPLAY ? ZCQ_ROLE_REPLICATE
                                    : 0;
}

bool
zcq_endpoint_refuse (zcq_msg_t *msg, zsock_t *sock, const char *endpoint, unsigned accepted)
{
    assert (msg);
    zcq_blocklist_t *peers = s_thread_peers ();
    int64_t now = zclock_mono ();
    //  Nobody blocked (nearly always): no routing id frame is made to ask
    if (zcq_blocklist_size (peers) > 0
        && zcq_blocklist_blocked (peers, sock, zcq_msg_routing_id (msg), now)) {
        return true; //  a peer that keeps sending garbage gets no answer
    }
    zcq_msg_type_t type = zcq_msg_type (msg);
    zcq_status_t status = zcq_msg_error_status (msg);
    unsigned role = s_role_needed (type);
    const char *roles = zcq_msg_roles (msg);
    char *reason = NULL;
    if (type != ZCQ_MSG_UNKNOWN && !(accepted & ZCQ_ENDPOINT_TAKES (type))) {
        //  Name what this endpoint takes, e.g. "COMMAND or QUERY"
        char takes [128] = "";
        for (int other = ZCQ_MSG_UNKNOWN + 1; other < ZCQ_MSG_TYPES; other++) {
            if (accepted & ZCQ_ENDPOINT_TAKES (other)) {
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
    if (zcq_blocklist_error (peers, sock, zcq_msg_routing_id (msg), now, endpoint)) {
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
zcq_endpoint_bind (int type, const char *endpoint, const char *role, char **error)
{
    return s_bind (type, endpoint, role, NULL, error);
}

zsock_t *
zcq_endpoint_serve (zconfig_t *config, int type, const char *section, const char *name,
                    const char *fallback, char **error)
{
    assert (section);
    assert (name);
    assert (error);
    char *path = zsys_sprintf ("%s/%s", section, name);
    const char *endpoint = config ? zconfig_get (config, path, fallback) : fallback;
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

char *
zcq_endpoint_resolved (zsock_t *sock)
{
    char *endpoint = zsock_last_endpoint (sock);
    return endpoint ? endpoint : strdup ("?");
}

//  Lowest port a free port is picked from below the ephemeral range, the
//  least number of ports a range must hold to pick from it, and tries.
#define FREE_PORT_LOW   20000
#define FREE_PORT_SPAN  1000
#define FREE_PORT_TRIES 200

//  The kernel's ephemeral range (Linux's default when it cannot be read).
static void
s_ephemeral_range (int *low, int *high)
{
    *low = 32768;
    *high = 60999;
    FILE *file = fopen ("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (file) {
        int first, last;
        if (fscanf (file, "%d %d", &first, &last) == 2 && first <= last) {
            *low = first;
            *high = last;
        }
        fclose (file);
    }
}

//  Port bound on every address now, as ZeroMQ binds (SO_REUSEADDR: a
//  connection left in TIME_WAIT does not count), 0 for any the kernel picks;
//  returns the port bound, or -1 if it is taken.
static int
s_try_port (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof (on));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    address.sin_addr.s_addr = htonl (INADDR_ANY);
    socklen_t size = sizeof (address);
    int bound = bind (fd, (struct sockaddr *) &address, sizeof (address)) == 0
                        && listen (fd, 1) == 0
                        && getsockname (fd, (struct sockaddr *) &address, &size) == 0
                    ? ntohs (address.sin_port)
                    : -1;
    close (fd);
    return bound;
}

//  Ports this process has handed out: never handed out twice, since the
//  node a port was picked for may not have bound it yet (a cluster picks
//  some twenty ports before its nodes start: at random, two would be the
//  same in about one cluster of fifty).
static uint8_t s_handed [65536 / 8];
static pthread_mutex_t s_handed_lock = PTHREAD_MUTEX_INITIALIZER;

//  The same across processes (two test programs, or a test and a
//  benchmark, picking ports at once): byte N of this file stands for port
//  N, write-locked by the process that handed the port out for as long as
//  that process lives. The lock is an open file description's, so the
//  kernel drops it when the process ends, however it ends; a forked child
//  opens the file anew, since locks on the description it inherited are
//  its parent's. A fixed path, not $TMPDIR: every process must see the
//  same file.
#define FREE_PORT_LOCKS "/tmp/zcqrs-free-ports.lock"
static int s_locks = -1;     //  the file, or -1 (not open, or it cannot be)
static pid_t s_locks_by = 0; //  the process that opened it (0: none tried)

//  True if no other process holds the port: it is then locked for this
//  one. Without the file (another user's, unwritable) or the kind of lock
//  (a kernel before 3.15), true.
static bool
s_lock_port (int port)
{
    if (s_locks_by != getpid ()) {
        if (s_locks >= 0) {
            close (s_locks); //  the parent's description: its locks stay
        }
        s_locks = open (FREE_PORT_LOCKS, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (s_locks >= 0) {
            fchmod (s_locks, 0666); //  other users share it (only its owner may say so)
        }
        s_locks_by = getpid ();
    }
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = port, .l_len = 1};
    return s_locks < 0 || fcntl (s_locks, F_OFD_SETLK, &lock) == 0
           || (errno != EAGAIN && errno != EACCES);
}

//  True, and the port recorded, if neither this process nor another had
//  handed it out yet.
static bool
s_hand_out (int port)
{
    pthread_mutex_lock (&s_handed_lock);
    uint8_t bit = (uint8_t) (1u << (port % 8));
    bool fresh = !(s_handed [port / 8] & bit) && s_lock_port (port);
    s_handed [port / 8] |= bit;
    pthread_mutex_unlock (&s_handed_lock);
    return fresh;
}

int
zcq_endpoint_free_port (void)
{
    static atomic_uint calls;
    int ephemeral_low, ephemeral_high;
    s_ephemeral_range (&ephemeral_low, &ephemeral_high);
    //  Below the ephemeral range if it leaves room there, else above it
    int low = FREE_PORT_LOW, high = ephemeral_low; //  high exclusive
    if (high - low < FREE_PORT_SPAN) {
        low = ephemeral_high + 1;
        high = 65536;
    }
    if (high - low < FREE_PORT_SPAN) {
        return s_try_port (0); //  every port is ephemeral: the kernel's pick
    }
    unsigned seed = (unsigned) zclock_usecs () ^ ((unsigned) getpid () << 16)
                    ^ (atomic_fetch_add (&calls, 1) * 2654435761u);
    for (int tries = 0; tries < FREE_PORT_TRIES; tries++) {
        int port =
            s_try_port (low + (int) ((unsigned) rand_r (&seed) % (unsigned) (high - low)));
        if (port > 0 && s_hand_out (port)) {
            return port;
        }
    }
    return -1;
}
