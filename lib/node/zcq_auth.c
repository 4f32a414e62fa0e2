/*  =========================================================================
    zcq_auth - CURVE security of node endpoints (see zcq_auth.h)

    The ZAP handler is an actor that owns every endpoint's policy: the
    thread that secures a socket builds the policy and hands it over through
    the actor's pipe (ownership moves with the pointer), so the handler's
    tables are touched by its thread only. ZAP is RFC 27: a REP socket on
    inproc://zeromq.zap.01 in the process's one ZeroMQ context.
    =========================================================================
*/

#include "zcq_auth.h"
#include "zcq_msg.h"
#include "zcq_text.h"

#include <pthread.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define Z85_KEY      40 //  characters of a Z85 CURVE key
#define ZERO_KEY     "0000000000000000000000000000000000000000"

//  What one secured endpoint admits. Owned by the ZAP actor once sent.
typedef struct {
    char *domain;        //  ZAP domain of the socket, unique in the process
    char *name;          //  endpoint name for logs ("commands")
    char *folder;        //  folder of allowed public certificates
    zcertstore_t *store; //  the allowed certificates (reloaded on change)
    zhashx_t *roles;     //  key name -> canonical role list (char *)
    unsigned required;   //  roles a key needs to connect at all
} s_policy_t;

static zactor_t *s_zap = NULL; //  the process's ZAP handler, or NULL
static unsigned s_domains = 0; //  ZAP domains handed out
static pthread_mutex_t s_zap_lock = PTHREAD_MUTEX_INITIALIZER;

//  The calling thread's client identity (Z85 keys, "" when none).
#define IDENTITY_SERVERS  16  //  endpoints with a server key of their own
#define IDENTITY_ENDPOINT 256 //  bytes of such an endpoint

//  A client's keys, Z85 text.
typedef struct {
    char public_key [Z85_KEY + 1]; //  our public key
    char secret_key [Z85_KEY + 1]; //  our secret key
    char server_key [Z85_KEY + 1]; //  the server's public key
} s_keys_t;

static _Thread_local struct {
    s_keys_t keys; //  our keypair and the servers' key
    struct {
        char endpoint [IDENTITY_ENDPOINT]; //  endpoint, "" for a free slot
        char key [Z85_KEY + 1];            //  its server's public key
    } servers [IDENTITY_SERVERS];
} s_identity;

static const struct {
    const char *name;
    unsigned role;
} s_role_names [] = {
    {"commands", ZCQ_ROLE_COMMANDS},
    {"query", ZCQ_ROLE_QUERY},
    {"replicate", ZCQ_ROLE_REPLICATE},
};

#define ROLE_NAMES (sizeof s_role_names / sizeof s_role_names [0])

int
zcq_auth_roles_parse (const char *text, unsigned *roles, char **error)
{
    assert (roles);
    assert (error);
    *roles = 0;
    const char *cursor = text ? text : "";
    while (*cursor) {
        size_t skip = strspn (cursor, ", ");
        cursor += skip;
        size_t size = strcspn (cursor, ", ");
        if (size == 0) {
            break;
        }
        size_t index = 0;
        while (index < ROLE_NAMES
               && !(strlen (s_role_names [index].name) == size
                    && memcmp (s_role_names [index].name, cursor, size) == 0)) {
            index++;
        }
        if (index == ROLE_NAMES) {
            *error = zsys_sprintf ("unknown role '%.*s' (roles are commands, query, replicate)",
                                   (int) size, cursor);
            return -1;
        }
        *roles |= s_role_names [index].role;
        cursor += size;
    }
    return 0;
}

bool
zcq_auth_roles_allow (const char *roles, unsigned role)
{
    unsigned held = 0;
    char *error = NULL;
    if (!roles || zcq_auth_roles_parse (roles, &held, &error) != 0) {
        zstr_free (&error);
        return false;
    }
    return (held & role) == role;
}

//  Canonical text of role bits ("commands,query"); caller frees.
static char *
s_roles_text (unsigned roles)
{
    char text [64] = "";
    for (size_t index = 0; index < ROLE_NAMES; index++) {
        if (roles & s_role_names [index].role) {
            if (*text) {
                strcat (text, ",");
            }
            strcat (text, s_role_names [index].name);
        }
    }
    return strdup (text);
}

static void
s_policy_destroy (void **item)
{
    s_policy_t *policy = (s_policy_t *) *item;
    if (policy) {
        free (policy->domain);
        free (policy->name);
        free (policy->folder);
        zcertstore_destroy (&policy->store);
        zhashx_destroy (&policy->roles);
        free (policy);
        *item = NULL;
    }
}

//  --- The ZAP handler --------------------------------------------------------

//  Append one ZMTP metadata property (name, value) to buffer.
static size_t
s_property (byte *buffer, const char *name, const char *value)
{
    size_t name_size = strlen (name), value_size = strlen (value);
    buffer [0] = (byte) name_size;
    memcpy (buffer + 1, name, name_size);
    byte *length = buffer + 1 + name_size;
    length [0] = (byte) (value_size >> 24);
    length [1] = (byte) (value_size >> 16);
    length [2] = (byte) (value_size >> 8);
    length [3] = (byte) value_size;
    memcpy (length + 4, value, value_size);
    return 1 + name_size + 4 + value_size;
}

//  Warn about an admitted key whose name cannot be a user id (too long, or
//  not UTF-8 without control characters): the codec refuses every message
//  that comes with it (zcq_msg_recv), with a reply that says why. Admitted
//  rather than refused at the handshake, where the client would get no
//  answer at all.
static void
s_check_user (s_policy_t *policy, const char *user, const char *public_key, const char *address)
{
    size_t size = strlen (user);
    char why [64];
    if (size > ZCQ_MAX_USER) {
        snprintf (why, sizeof why, "%zu bytes, limit is %d", size, ZCQ_MAX_USER);
    }
    else if (!zcq_text_is_utf8 (user, size)) {
        snprintf (why, sizeof why, "not UTF-8 without control characters");
    }
    else {
        return;
    }
    char *name = zcq_text_printable (user, size);
    zsys_warning ("auth: %s endpoint admitted key '%s%s' (%s) from %s, but its name cannot be "
                  "a user id (%s): every message it sends is refused",
                  policy->name, name, size > 40 ? "..." : "", public_key,
                  address ? address : "?", why);
    zstr_free (&name);
}

//  Decide one ZAP request: 200 with user id and roles, or 400.
static void
s_zap_answer (zsock_t *handler, zhashx_t *policies)
{
    zmsg_t *request = zmsg_recv (handler);
    if (!request) {
        return;
    }
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    char *routing_id = zmsg_popstr (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *key = zmsg_pop (request);

    const char *status = "400";
    const char *text = "no policy for this ZAP domain";
    const char *user = "";
    char *roles = NULL;
    char public_key [Z85_KEY + 1] = "";
    s_policy_t *policy = domain ? (s_policy_t *) zhashx_lookup (policies, domain) : NULL;
    if (policy && mechanism && streq (mechanism, "CURVE") && key && zframe_size (key) == 32) {
        zmq_z85_encode (public_key, zframe_data (key), 32);
        zcert_t *cert = zcertstore_lookup (policy->store, public_key);
        const char *name = cert ? zcert_meta (cert, "name") : NULL;
        const char *held = name ? (const char *) zhashx_lookup (policy->roles, name) : NULL;
        unsigned bits = 0;
        char *error = NULL;
        if (held && zcq_auth_roles_parse (held, &bits, &error) != 0) {
            zstr_free (&error);
        }
        if (!cert) {
            text = "key not allowed";
            zsys_warning (
                "auth: %s endpoint refused key %s from %s: not an allowed key in '%s'",
                policy->name, public_key, address ? address : "?", policy->folder);
        }
        else if ((bits & policy->required) != policy->required) {
            text = "key lacks the role this endpoint needs";
            zsys_warning ("auth: %s endpoint refused key '%s' (%s) from %s: it needs role "
                          "'replicate', the key has '%s'",
                          policy->name, name ? name : public_key, public_key,
                          address ? address : "?", held ? held : "");
        }
        else {
            status = "200";
            text = "OK";
            user = name ? name : public_key;
            roles = strdup (held ? held : "");
            s_check_user (policy, user, public_key, address);
        }
    }
    else if (policy) {
        text = "CURVE with a 32-byte key expected";
        zsys_warning ("auth: %s endpoint refused a %s handshake from %s", policy->name,
                      mechanism ? mechanism : "?", address ? address : "?");
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence ? sequence : "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user);
    if (roles) {
        byte metadata [64]; //  "Roles" and at most three role names
        zmsg_addmem (reply, metadata, s_property (metadata, "Roles", roles));
    }
    else {
        zmsg_addmem (reply, "", 0);
    }
    zmsg_send (&reply, handler);
    zstr_free (&roles);
    zframe_destroy (&key);
    zstr_free (&version);
    zstr_free (&sequence);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&routing_id);
    zstr_free (&mechanism);
    zmsg_destroy (&request);
}

//  The handler actor: answers ZAP requests, takes policies on its pipe.
static void
s_zap_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *handler = zsock_new (ZMQ_REP);
    assert (handler);
    if (zsock_bind (handler, ZAP_ENDPOINT) != 0) {
        zsys_error ("auth: cannot bind %s (another ZAP handler runs in this process?)",
                    ZAP_ENDPOINT);
        zsock_destroy (&handler);
        zsock_signal (pipe, 1);
        return;
    }
    zhashx_t *policies = zhashx_new ();
    zhashx_set_destructor (policies, s_policy_destroy);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, handler, NULL);
    zpoller_set_nonstop (poller, true);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == handler) {
            s_zap_answer (handler, policies);
        }
        else if (which == pipe) {
            char *command = NULL;
            void *policy = NULL;
            if (zsock_recv (pipe, "sp", &command, &policy) != 0 || streq (command, "$TERM")) {
                zstr_free (&command);
                break;
            }
            //  "POLICY": take ownership, answer so the caller may bind
            s_policy_t *added = (s_policy_t *) policy;
            zhashx_update (policies, added->domain, added);
            zsock_signal (pipe, 0);
            zstr_free (&command);
        }
        else if (zpoller_terminated (poller)) {
            break;
        }
    }
    zpoller_destroy (&poller);
    zhashx_destroy (&policies);
    zsock_destroy (&handler);
}

void
zcq_auth_shutdown (void)
{
    pthread_mutex_lock (&s_zap_lock);
    zactor_destroy (&s_zap);
    pthread_mutex_unlock (&s_zap_lock);
}

//  Hand a policy to the ZAP handler, starting it if needed. Takes ownership.
//  Returns the policy's new ZAP domain (caller frees), or NULL.
static char *
s_register (s_policy_t *policy, char **error)
{
    pthread_mutex_lock (&s_zap_lock);
    if (!s_zap) {
        s_zap = zactor_new (s_zap_actor, NULL);
        if (!s_zap) {
            pthread_mutex_unlock (&s_zap_lock);
            *error = zsys_sprintf ("cannot start the ZAP handler on %s", ZAP_ENDPOINT);
            s_policy_destroy ((void **) &policy);
            return NULL;
        }
        //  Registered after czmq's own exit handler, so it runs before it
        atexit (zcq_auth_shutdown);
    }
    policy->domain = zsys_sprintf ("zcq-%u-%s", ++s_domains, policy->name);
    char *domain = strdup (policy->domain);
    zsock_send (s_zap, "sp", "POLICY", policy);
    //  A signal may interrupt the wait; the handler always answers
    for (int tries = 0; tries < 100 && zsock_wait (s_zap) != 0; tries++) {
    }
    pthread_mutex_unlock (&s_zap_lock);
    return domain;
}

//  --- Keys -------------------------------------------------------------------

//  Load a certificate pair; refuses one without its secret half.
static zcert_t *
s_load_pair (const char *path, const char *what, char **error)
{
    zcert_t *cert = path && zsys_file_exists (path) ? zcert_load (path) : NULL;
    if (!cert) {
        *error = zsys_sprintf ("cannot read the %s certificate '%s'", what, path ? path : "");
        return NULL;
    }
    if (streq (zcert_secret_txt (cert), ZERO_KEY)) {
        *error =
            zsys_sprintf ("the %s certificate '%s' has no secret key (expected '%s_secret')",
                          what, path, path);
        zcert_destroy (&cert);
    }
    return cert;
}

//  Read a server public key: 40 Z85 characters or a certificate file.
static int
s_server_key (const char *text, char key [Z85_KEY + 1], char **error)
{
    byte raw [32];
    if (text && strlen (text) == Z85_KEY && !zsys_file_exists (text)
        && zmq_z85_decode (raw, text)) {
        strcpy (key, text);
        return 0;
    }
    zcert_t *cert = text && zsys_file_exists (text) ? zcert_load (text) : NULL;
    if (!cert) {
        *error = zsys_sprintf ("server key '%s' is neither 40 Z85 characters nor a certificate "
                               "file",
                               text ? text : "");
        return -1;
    }
    strcpy (key, zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

//  Load a client's keypair and its server's key. Returns 0 or -1 (*error).
static int
s_keys_load (const char *cert_path, const char *server_key, s_keys_t *keys, char **error)
{
    if (s_server_key (server_key, keys->server_key, error) != 0) {
        return -1;
    }
    zcert_t *cert = s_load_pair (cert_path, "client", error);
    if (!cert) {
        return -1;
    }
    strcpy (keys->public_key, zcert_public_txt (cert));
    strcpy (keys->secret_key, zcert_secret_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

//  Set CURVE client options on a socket.
static void
s_apply_client (zsock_t *sock, const s_keys_t *keys, const char *server_key)
{
    zsock_set_curve_publickey (sock, keys->public_key);
    zsock_set_curve_secretkey (sock, keys->secret_key);
    zsock_set_curve_serverkey (sock, server_key);
    //  A server that refuses our key leaves the socket without a peer, and
    //  ZeroMQ would block a send on it forever: fail at once instead
    zsock_set_sndtimeo (sock, 0);
}

int
zcq_auth_server (zsock_t *sock, zconfig_t *security, const char *name, unsigned required,
                 char **error)
{
    assert (sock);
    assert (security);
    assert (name);
    assert (error);
    const char *folder = zconfig_get (security, "clients", NULL);
    if (!folder || !zsys_file_exists (folder)) {
        *error = zsys_sprintf ("security of the %s endpoint: 'clients' must name a folder of "
                               "allowed certificates, got '%s'",
                               name, folder ? folder : "");
        return -1;
    }
    zcert_t *cert = s_load_pair (zconfig_get (security, "cert", NULL), "node", error);
    if (!cert) {
        return -1;
    }
    s_policy_t *policy = (s_policy_t *) zmalloc (sizeof (s_policy_t));
    assert (policy);
    policy->name = strdup (name);
    policy->folder = strdup (folder);
    policy->required = required;
    policy->roles = zhashx_new ();
    zhashx_set_destructor (policy->roles, (zhashx_destructor_fn *) zstr_free);
    zconfig_t *entry = zconfig_locate (security, "roles");
    for (entry = entry ? zconfig_child (entry) : NULL; entry; entry = zconfig_next (entry)) {
        unsigned bits = 0;
        if (zcq_auth_roles_parse (zconfig_value (entry), &bits, error) != 0) {
            char *detail = *error;
            *error = zsys_sprintf ("security/roles/%s: %s", zconfig_name (entry), detail);
            zstr_free (&detail);
            zcert_destroy (&cert);
            s_policy_destroy ((void **) &policy);
            return -1;
        }
        zhashx_update (policy->roles, zconfig_name (entry), s_roles_text (bits));
    }
    policy->store = zcertstore_new (folder);
    zcert_apply (cert, zsock_resolve (sock));
    zcert_destroy (&cert);
    zsock_set_curve_server (sock, 1);
    char *domain = s_register (policy, error);
    if (!domain) {
        return -1;
    }
    zsock_set_zap_domain (sock, domain);
    zstr_free (&domain);
    return 0;
}

int
zcq_auth_client (zsock_t *sock, const char *cert_path, const char *server_key, char **error)
{
    assert (sock);
    assert (error);
    s_keys_t keys;
    if (s_keys_load (cert_path, server_key, &keys, error) != 0) {
        return -1;
    }
    s_apply_client (sock, &keys, keys.server_key);
    return 0;
}

int
zcq_auth_identity_set (const char *cert_path, const char *server_key, char **error)
{
    assert (error);
    memset (&s_identity, 0, sizeof s_identity);
    if (cert_path && s_keys_load (cert_path, server_key, &s_identity.keys, error) != 0) {
        memset (&s_identity, 0, sizeof s_identity);
        return -1;
    }
    return 0;
}

int
zcq_auth_identity_server (const char *endpoint, const char *server_key, char **error)
{
    assert (endpoint);
    assert (error);
    if (strlen (endpoint) >= IDENTITY_ENDPOINT) {
        *error = zsys_sprintf ("endpoint '%.40s...' is too long for a server key", endpoint);
        return -1;
    }
    for (int index = 0; index < IDENTITY_SERVERS; index++) {
        if (!*s_identity.servers [index].endpoint
            || streq (s_identity.servers [index].endpoint, endpoint)) {
            if (s_server_key (server_key, s_identity.servers [index].key, error) != 0) {
                return -1;
            }
            strcpy (s_identity.servers [index].endpoint, endpoint);
            return 0;
        }
    }
    *error =
        zsys_sprintf ("at most %d endpoints can have their own server key", IDENTITY_SERVERS);
    return -1;
}

int
zcq_auth_identity_apply (zsock_t *sock, const char *endpoint)
{
    assert (sock);
    if (*s_identity.keys.public_key) {
        const char *server = s_identity.keys.server_key;
        for (int index = 0; endpoint && index < IDENTITY_SERVERS; index++) {
            if (streq (s_identity.servers [index].endpoint, endpoint)) {
                server = s_identity.servers [index].key;
            }
        }
        s_apply_client (sock, &s_identity.keys, server);
    }
    return 0;
}

int
zcq_auth_keygen (const char *path, const char *name, char **error)
{
    assert (path);
    assert (name);
    assert (error);
    char *secret = zsys_sprintf ("%s_secret", path);
    bool exists = zsys_file_exists (path) || zsys_file_exists (secret);
    zstr_free (&secret);
    if (exists) {
        *error =
            zsys_sprintf ("'%s' or its _secret file exists already; not overwritten", path);
        return -1;
    }
    zcert_t *cert = zcert_new ();
    assert (cert);
    zcert_set_meta (cert, "name", "%s", name);
    int rc = zcert_save (cert, path);
    zcert_destroy (&cert);
    if (rc != 0) {
        *error = zsys_sprintf ("cannot write the certificate '%s'", path);
        return -1;
    }
    return 0;
}
