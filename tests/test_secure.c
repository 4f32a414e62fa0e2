/*  =========================================================================
    test_secure - a secured cluster of real node processes: CURVE keys,
    ZAP refusals at the handshake, roles per key checked per message, the
    user id stored with each event, and peers that send garbage ignored
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_blocklist.h"
#include "zcq_endpoint.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/wait.h>

#define WAIT 3000 //  ms to wait for an answer that must come

//  The cluster: keys, settings, a write node and a query node.
typedef struct {
    char *dir;           //  temporary folder of everything
    char commands [300]; //  write node endpoints (ipc://)
    char events [300];
    char replay [300];
    char queries [300]; //  query node endpoint
    char key [300];     //  dir/keys/NAME.cert: path of a key by name
    struct {            //  the certificates of the keys, by name
        char write [300], query [300], alice [300], bob [300], eve [300];
    } keys;
    zcq_testkit_node_t write; //  write node process
    zcq_testkit_node_t query; //  query node process
} s_cluster_t;

//  Path of a key's certificate (the _secret file sits beside it).
static const char *
s_key (s_cluster_t *cluster, const char *name)
{
    snprintf (cluster->key, sizeof cluster->key, "%s/keys/%s.cert", cluster->dir, name);
    return cluster->key;
}

//  Make a keypair and put its public half into the allowed folders given.
static void
s_make_key (s_cluster_t *cluster, const char *name, const char *allowed_in, ...)
{
    char *error = NULL;
    assert_int_equal (zcq_auth_keygen (s_key (cluster, name), name, &error), 0);
    zcert_t *cert = zcert_load (s_key (cluster, name));
    assert_non_null (cert);
    va_list folders;
    va_start (folders, allowed_in);
    for (const char *folder = allowed_in; folder; folder = va_arg (folders, const char *)) {
        char path [400];
        snprintf (path, sizeof path, "%s/%s/%s.cert", cluster->dir, folder, name);
        assert_int_equal (zcert_save_public (cert, path), 0);
    }
    va_end (folders);
    zcert_destroy (&cert);
}

//  Write a ZPL file and return its path (static buffer).
static const char *
s_write_file (s_cluster_t *cluster, const char *name, const char *text)
{
    static char path [400];
    snprintf (path, sizeof path, "%s/%s", cluster->dir, name);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    return path;
}

//  Send one request with a CURVE keypair (or none: NULL cert) to endpoint;
//  return the answer, or NULL if none came within timeout_ms.
static zcq_msg_t *
s_request (const char *endpoint, const char *cert, const char *server_key, zcq_msg_t *request,
           int timeout_ms)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert_non_null (sock);
    zsock_set_linger (sock, 0);
    if (cert) {
        char *error = NULL;
        int rc = zcq_auth_client (sock, cert, server_key, &error);
        if (rc != 0) {
            fail_msg ("%s", error);
        }
    }
    assert_int_equal (zsock_connect (sock, "%s", endpoint), 0);
    zsock_set_rcvtimeo (sock, timeout_ms);
    zcq_msg_t *answer = NULL;
    if (zcq_msg_send (request, sock) == 0) {
        answer = zcq_msg_recv (sock);
    }
    zsock_destroy (&sock);
    return answer;
}

static zcq_msg_t *
s_open_account (const char *stream, const char *owner)
{
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    byte id [ZCQ_COMMAND_ID];
    for (int index = 0; index < ZCQ_COMMAND_ID; index++) {
        id [index] = (byte) randof (256);
    }
    zcq_msg_set_id (command, id, sizeof id);
    zcq_msg_set_name (command, "OpenAccount");
    zcq_msg_set_stream (command, stream);
    zcq_msg_set_expect (command, 0);
    char data [64];
    data [0] = (char) 0x81;
    data [1] = (char) 0xa5;
    memcpy (data + 2, "owner", 5);
    data [7] = (char) (0xa0 | strlen (owner));
    memcpy (data + 8, owner, strlen (owner));
    zcq_msg_set_data (command, data, 8 + strlen (owner));
    return command;
}

static zcq_msg_t *
s_query (const char *name, uint64_t min_position)
{
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_name (query, name);
    zcq_msg_set_min_position (query, min_position);
    zcq_msg_set_timeout (query, 2000);
    return query;
}

//  True once the file holds text (a node's log line), waiting up to 5 s.
static bool
s_log_has (const char *path, const char *text)
{
    int64_t deadline = zclock_mono () + 5000;
    while (!zcq_testkit_file_has (path, text)) {
        if (zclock_mono () >= deadline) {
            return false;
        }
        zclock_sleep (50); //  polling a file another process writes; bounded
    }
    return true;
}

//  Ask the write node's status with alice's key until it answers.
static void
s_wait_ready (s_cluster_t *cluster, const char *endpoint, const char *server)
{
    int64_t deadline = zclock_mono () + 10000;
    while (zclock_mono () < deadline) {
        zcq_msg_t *query = s_query ("status", 0);
        zcq_msg_t *answer =
            s_request (endpoint, cluster->keys.alice, s_key (cluster, server), query, 200);
        zcq_msg_destroy (&query);
        bool ready = answer && zcq_msg_status (answer) == ZCQ_OK;
        zcq_msg_destroy (&answer);
        if (ready) {
            return;
        }
    }
    //  Show the nodes' logs: they say why
    char command [700];
    snprintf (command, sizeof command, "cat -v %s/*.log %s/*/*.log >&2", cluster->dir,
              cluster->dir);
    int shown = system (command);
    (void) shown;
    fail_msg ("node at %s did not answer a secured status query", endpoint);
}

//  Start a query node with a given identity towards the write node; its
//  own query endpoint is secured with the "query" key. replay_timeout is
//  its setting in ms (NULL: the default).
static void
s_start_query (s_cluster_t *cluster, zcq_testkit_node_t *node, const char *name,
               const char *identity, const char *queries, const char *replay_timeout)
{
    char folder [400], text [4096], zpl [64], timeout [64] = "";
    snprintf (folder, sizeof folder, "%s/%s", cluster->dir, name);
    if (replay_timeout) {
        snprintf (timeout, sizeof timeout, "    replay_timeout = \"%s\"\n", replay_timeout);
    }
    assert_int_equal (zsys_dir_create ("%s", folder), 0);
    snprintf (text, sizeof text,
              "query\n"
              "    events = \"%s\"\n"
              "    replay = \"%s\"\n"
              "    queries = \"%s\"\n"
              "    data = \"%s/data\"\n"
              "%s"
              "    security\n"
              "        cert = \"%s/keys/%s.cert\"\n"
              "        server = \"%s/keys/write.cert\"\n"
              "        clients = \"%s/query-clients\"\n"
              "        roles\n"
              "            alice = \"query\"\n"
              "            bob = \"query\"\n",
              cluster->events, cluster->replay, queries, folder, timeout, cluster->dir,
              identity, cluster->dir, cluster->dir);
    snprintf (zpl, sizeof zpl, "%s.zpl", name);
    const char *path = s_write_file (cluster, zpl, text);
    zcq_testkit_start (node, folder, "zcqrs-query", "--config", path, NULL);
}

//  A key name of 200 letters: longer than a user id may be (ZCQ_MAX_USER).
static const char *
s_long_name (void)
{
    static char name [201];
    memset (name, 'n', sizeof (name) - 1);
    return name;
}

//  Keys: write and query (node keypairs), alice (commands and queries),
//  bob (queries only), replica (replicate, allowed at the write node),
//  eve (in no folder). The write node's roles also name a key whose name
//  is too long to be a user id (made by the test that needs it).
static int
s_setup (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) zmalloc (sizeof (s_cluster_t));
    cluster->dir = zcq_testkit_tmpdir ("secure");
    const char *folders [] = {"keys", "write-clients", "query-clients", "q1", NULL};
    for (int index = 0; folders [index]; index++) {
        assert_int_equal (zsys_dir_create ("%s/%s", cluster->dir, folders [index]), 0);
    }
    s_make_key (cluster, "write", NULL);
    s_make_key (cluster, "query", "write-clients", NULL);
    s_make_key (cluster, "alice", "write-clients", "query-clients", NULL);
    s_make_key (cluster, "bob", "write-clients", "query-clients", NULL);
    s_make_key (cluster, "eve", NULL);
    snprintf (cluster->keys.write, 300, "%s", s_key (cluster, "write"));
    snprintf (cluster->keys.query, 300, "%s", s_key (cluster, "query"));
    snprintf (cluster->keys.alice, 300, "%s", s_key (cluster, "alice"));
    snprintf (cluster->keys.bob, 300, "%s", s_key (cluster, "bob"));
    snprintf (cluster->keys.eve, 300, "%s", s_key (cluster, "eve"));
    snprintf (cluster->commands, sizeof cluster->commands, "ipc://%s/commands", cluster->dir);
    snprintf (cluster->events, sizeof cluster->events, "ipc://%s/events", cluster->dir);
    snprintf (cluster->replay, sizeof cluster->replay, "ipc://%s/replay", cluster->dir);
    snprintf (cluster->queries, sizeof cluster->queries, "ipc://%s/queries", cluster->dir);

    char text [4096];
    snprintf (text, sizeof text,
              "write\n"
              "    commands = \"%s\"\n"
              "    events = \"%s\"\n"
              "    replay = \"%s\"\n"
              "    data = \"%s/write\"\n"
              "    heartbeat = 100\n"
              "    security\n"
              "        cert = \"%s/keys/write.cert\"\n"
              "        clients = \"%s/write-clients\"\n"
              "        roles\n"
              "            alice = \"commands,query\"\n"
              "            bob = \"query\"\n"
              "            query = \"replicate\"\n"
              "            %s = \"commands,query\"\n",
              cluster->commands, cluster->events, cluster->replay, cluster->dir, cluster->dir,
              cluster->dir, s_long_name ());
    const char *path = s_write_file (cluster, "write.zpl", text);
    zcq_testkit_start (&cluster->write, cluster->dir, "zcqrs-write", "--config", path, NULL);
    s_wait_ready (cluster, cluster->commands, "write");
    s_start_query (cluster, &cluster->query, "q1", "query", cluster->queries, NULL);
    s_wait_ready (cluster, cluster->queries, "query");
    *state = cluster;
    return 0;
}

//  Stop the nodes; each must exit 0 (under ASan: LeakSanitizer found
//  nothing at exit).
static int
s_teardown (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    int query = zcq_testkit_stop (&cluster->query);
    int write = zcq_testkit_stop (&cluster->write);
    assert_true (WIFEXITED (query) && WEXITSTATUS (query) == 0);
    assert_true (WIFEXITED (write) && WEXITSTATUS (write) == 0);
    zcq_testkit_rmtree (cluster->dir);
    free (cluster->dir);
    free (cluster);
    return 0;
}

//  Alice opens an account; returns the position of its event.
static uint64_t
s_alice_opens (s_cluster_t *cluster, const char *stream)
{
    zcq_msg_t *command = s_open_account (stream, "alice");
    zcq_msg_t *reply =
        s_request (cluster->commands, cluster->keys.alice, cluster->keys.write, command, WAIT);
    zcq_msg_destroy (&command);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

//  The first query node (which replicates with its own key) answers alice
//  at position or later.
static void
s_alice_sees (s_cluster_t *cluster, uint64_t position)
{
    zcq_msg_t *ask = s_query ("totals", position);
    zcq_msg_t *result =
        s_request (cluster->queries, cluster->keys.alice, cluster->keys.query, ask, WAIT);
    zcq_msg_destroy (&ask);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_true (zcq_msg_position (result) >= position);
    zcq_msg_destroy (&result);
}

static void
test_known_key_commands_and_queries (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;

    uint64_t position = s_alice_opens (cluster, "acct-1");
    //  The query node replicated it through its own CURVE key
    s_alice_sees (cluster, position);

    //  The stored event says who did it: ask replay as the replicating key
    zcq_msg_t *replay = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_from (replay, position);
    zcq_msg_set_max (replay, 1);
    zcq_msg_t *events =
        s_request (cluster->replay, cluster->keys.query, cluster->keys.write, replay, WAIT);
    zcq_msg_destroy (&replay);
    assert_non_null (events);
    assert_int_equal (zcq_msg_type (events), ZCQ_MSG_EVENTS);
    assert_int_equal (zcq_msg_event_count (events), 1);
    zframe_t *frame = zcq_msg_event_frame (events, 0);
    zcq_msg_t *event =
        zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
    assert_true (zcq_msg_valid (event));
    assert_string_equal (zcq_msg_user (event), "alice");
    zcq_msg_destroy (&event);
    zcq_msg_destroy (&events);
}

static void
test_unknown_key_is_refused_at_handshake (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    zcq_msg_t *command = s_open_account ("acct-eve", "eve");
    zcq_msg_t *reply =
        s_request (cluster->commands, cluster->keys.eve, cluster->keys.write, command, 1000);
    assert_null (reply);
    //  Without CURVE at all: no answer either, and the client's retries
    //  (sends to a peer whose handshake fails) end on time, never block
    int64_t started = zclock_mono ();
    reply = s_request (cluster->commands, NULL, NULL, command, 3000);
    assert_null (reply);
    assert_true (zclock_mono () - started < 4500);
    zcq_msg_destroy (&command);
    char log [400];
    snprintf (log, sizeof log, "%s/zcqrs-write.log", cluster->dir);
    assert_true (s_log_has (log, "commands endpoint refused key"));
}

static void
test_query_only_key_is_forbidden_to_command (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    zcq_msg_t *command = s_open_account ("acct-bob", "bob");
    zcq_msg_t *reply =
        s_request (cluster->commands, cluster->keys.bob, cluster->keys.write, command, WAIT);
    zcq_msg_destroy (&command);
    assert_non_null (reply);
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_REPLY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_FORBIDDEN);
    assert_string_equal (zcq_msg_reason (reply),
                         "key 'bob' may not send COMMAND: its roles are 'query'");
    zcq_msg_destroy (&reply);
    //  Nothing stored: bob may ask the status, and the head is still 0
    zcq_msg_t *ask = s_query ("status", 0);
    zcq_msg_t *status =
        s_request (cluster->commands, cluster->keys.bob, cluster->keys.write, ask, WAIT);
    zcq_msg_destroy (&ask);
    assert_non_null (status);
    assert_int_equal (zcq_msg_status (status), ZCQ_OK);
    assert_int_equal (zcq_msg_position (status), 0);
    zcq_msg_destroy (&status);
}

static void
test_query_node_without_replicate_key_cannot_subscribe (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    char queries [300];
    snprintf (queries, sizeof queries, "ipc://%s/queries-2", cluster->dir);
    //  A second query node that connects with bob's key (no replicate role),
    //  giving up an unanswered REPLAY after 200 ms
    zcq_testkit_node_t second = {0};
    s_start_query (cluster, &second, "q2", "bob", queries, "200");
    s_wait_ready (cluster, queries, "bob"); //  a node's keypair is its identity both ways

    uint64_t position = s_alice_opens (cluster, "acct-2");
    //  The first query node (replicate key) reaches the position ...
    s_alice_sees (cluster, position);
    //  ... the second never does: it answers stale at position 0
    zcq_msg_t *ask = s_query ("totals", position);
    zcq_msg_t *result = s_request (queries, cluster->keys.alice, cluster->keys.bob, ask, WAIT);
    zcq_msg_destroy (&ask);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_STALE);
    assert_int_equal (zcq_msg_position (result), 0);
    zcq_msg_destroy (&result);
    //  Its refused replays never block it: once it has given up its first
    //  REPLAY (the write node refused the key, so none is answered), it
    //  still answers
    int64_t deadline = zclock_mono () + WAIT;
    int64_t timeouts = 0;
    while (timeouts == 0 && zclock_mono () < deadline) {
        zcq_msg_t *ask_status = s_query ("status", 0);
        result = s_request (queries, cluster->keys.alice, cluster->keys.bob, ask_status, WAIT);
        zcq_msg_destroy (&ask_status);
        assert_non_null (result);
        timeouts = zcq_testkit_int (zcq_msg_data (result), zcq_msg_data_size (result),
                                    "replay_timeouts");
        zcq_msg_destroy (&result);
        if (timeouts == 0) {
            zclock_sleep (50); //  polling the node's status; bounded
        }
    }
    assert_true (timeouts >= 1);
    zcq_msg_t *alive = s_query ("status", 0);
    result = s_request (queries, cluster->keys.alice, cluster->keys.bob, alive, WAIT);
    zcq_msg_destroy (&alive);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    zcq_msg_destroy (&result);
    char log [400];
    snprintf (log, sizeof log, "%s/zcqrs-write.log", cluster->dir);
    assert_true (s_log_has (log, "refused key 'bob'"));
    int status = zcq_testkit_stop (&second);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

//  A peer that keeps sending garbage is ignored; another peer is served.
static void
test_garbage_sender_is_ignored (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    char *error = NULL;
    assert_int_equal (zcq_auth_client (sock, cluster->keys.bob, cluster->keys.write, &error),
                      0);
    zsock_set_linger (sock, 0);
    zsock_set_rcvtimeo (sock, WAIT);
    assert_int_equal (zsock_connect (sock, "%s", cluster->commands), 0);
    //  Every refused message is answered, up to the limit
    for (int index = 0; index < ZCQ_BLOCKLIST_MAX_ERRORS; index++) {
        zstr_sendx (sock, "ZCQ1", "NONSENSE", "x", NULL);
        zcq_msg_t *answer = zcq_msg_recv (sock);
        assert_non_null (answer);
        assert_int_equal (zcq_msg_type (answer), ZCQ_MSG_ERROR);
        zcq_msg_destroy (&answer);
    }
    //  One more and the peer is ignored: not even a valid request is answered
    zstr_sendx (sock, "ZCQ1", "NONSENSE", "x", NULL);
    zcq_msg_t *ask = s_query ("status", 0);
    zcq_msg_send (ask, sock);
    zsock_set_rcvtimeo (sock, 500);
    zcq_msg_t *answer = zcq_msg_recv (sock);
    assert_null (answer);
    zsock_destroy (&sock);
    //  Another peer is served as before
    zcq_msg_t *status =
        s_request (cluster->commands, cluster->keys.alice, cluster->keys.write, ask, WAIT);
    zcq_msg_destroy (&ask);
    assert_non_null (status);
    assert_int_equal (zcq_msg_status (status), ZCQ_OK);
    zcq_msg_destroy (&status);
    char log [400];
    snprintf (log, sizeof log, "%s/zcqrs-write.log", cluster->dir);
    assert_true (s_log_has (log, "refused messages within"));
}

//  Send one request with the key of this name; the answer must come.
static zcq_msg_t *
s_request_as (s_cluster_t *cluster, const char *name, zcq_msg_t **request_p)
{
    char cert [400];
    snprintf (cert, sizeof cert, "%s", s_key (cluster, name));
    zcq_msg_t *answer =
        s_request (cluster->commands, cert, cluster->keys.write, *request_p, WAIT);
    zcq_msg_destroy (request_p);
    assert_non_null (answer);
    return answer;
}

//  A key whose name cannot be a user id (over ZCQ_MAX_USER bytes, or not
//  UTF-8) is admitted at the handshake with a log line, and each message
//  it sends is refused with a reply that says why; nothing is stored and
//  the node serves on (it once aborted staging such a user's event)
static void
test_key_name_that_cannot_be_a_user_id_is_refused (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    //  Allowed while the node runs: it reloads the folder of allowed keys
    s_make_key (cluster, s_long_name (), "write-clients", NULL);
    s_make_key (cluster, "caf\xe9", "write-clients", NULL); //  Latin-1, not UTF-8

    zcq_msg_t *command = s_open_account ("acct-long", "nils");
    zcq_msg_t *reply = s_request_as (cluster, s_long_name (), &command);
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_REPLY);
    assert_int_equal (zcq_msg_status (reply), ZCQ_TOO_LARGE);
    assert_string_equal (zcq_msg_reason (reply),
                         "the user id this key was given at the handshake (the name in its "
                         "certificate) is 200 bytes, limit is 128");
    zcq_msg_destroy (&reply);
    zcq_msg_t *query = s_query ("status", 0);
    reply = s_request_as (cluster, s_long_name (), &query);
    assert_int_equal (zcq_msg_type (reply), ZCQ_MSG_RESULT);
    assert_int_equal (zcq_msg_status (reply), ZCQ_TOO_LARGE);
    zcq_msg_destroy (&reply);

    command = s_open_account ("acct-latin", "nils");
    reply = s_request_as (cluster, "caf\xe9", &command);
    assert_int_equal (zcq_msg_status (reply), ZCQ_INVALID);
    assert_string_equal (zcq_msg_reason (reply),
                         "the user id this key was given at the handshake (the name in its "
                         "certificate) must be UTF-8 without control characters");
    zcq_msg_destroy (&reply);

    //  Nothing was stored: alice's account takes the first position
    assert_int_equal (s_alice_opens (cluster, "acct-1"), 1);
    char log [400];
    snprintf (log, sizeof log, "%s/zcqrs-write.log", cluster->dir);
    assert_true (s_log_has (log, "its name cannot be a user id (200 bytes, limit is 128)"));
    assert_true (s_log_has (log, "its name cannot be a user id (not UTF-8"));
}

//  Run the CLI with at most 16 arguments (NULL-terminated) in dir; returns
//  its exit code, its output in dir/zcqrs.log (appended).
static int
s_cli (const char *dir, const char *arg, ...)
{
    const char *argv [17] = {NULL}; //  NULL after the last: ends the list below
    int argc = 0;
    va_list args;
    va_start (args, arg);
    for (const char *word = arg; word && argc < 16; word = va_arg (args, const char *)) {
        argv [argc++] = word;
    }
    va_end (args);
    zcq_testkit_node_t cli = {0};
    zcq_testkit_start (&cli, dir, "zcqrs", argv [0], argv [1], argv [2], argv [3], argv [4],
                       argv [5], argv [6], argv [7], argv [8], argv [9], argv [10], argv [11],
                       argv [12], argv [13], argv [14], argv [15], NULL);
    int status = zcq_testkit_wait_exit (&cli, 20000);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

//  The CLI end to end: keygen writes a pair (and refuses to overwrite it);
//  with --cert and the node keys it commands and queries; a key the node
//  does not know gets no answer (exit 3)
static void
test_cli_keygen_and_secured_calls (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    char keys [300];
    snprintf (keys, sizeof keys, "%s/cli-keys", cluster->dir);
    assert_int_equal (zsys_dir_create ("%s", keys), 0);
    assert_int_equal (s_cli (cluster->dir, "keygen", "carol", "--dir", keys, NULL), 0);
    char cert [400];
    snprintf (cert, sizeof cert, "%s/carol.cert", keys);
    zcert_t *carol = zcert_load (cert);
    assert_non_null (carol);
    assert_string_equal (zcert_meta (carol, "name"), "carol");
    assert_string_not_equal (zcert_secret_txt (carol),
                             "0000000000000000000000000000000000000000");
    zcert_destroy (&carol);
    assert_int_equal (s_cli (cluster->dir, "keygen", "carol", "--dir", keys, NULL), 2);
    assert_int_equal (s_cli (cluster->dir, "keygen", "../x", NULL), 2);

    //  alice's key through the CLI: a command, then a query that sees it
    assert_int_equal (s_cli (cluster->dir, "--commands", cluster->commands, "--cert",
                             cluster->keys.alice, "--server-key", cluster->keys.write, "send",
                             "OpenAccount", "acct-cli", "owner=alice", NULL),
                      0);
    assert_int_equal (s_cli (cluster->dir, "--node", cluster->queries, "--cert",
                             cluster->keys.alice, "--server-key", cluster->keys.write,
                             "--query-key", cluster->keys.query, "query", "account",
                             "id=acct-cli", "--min-position", "1", NULL),
                      0);
    //  ... and a live query over CURVE: its first result, then it ends
    assert_int_equal (s_cli (cluster->dir, "--node", cluster->queries, "--cert",
                             cluster->keys.alice, "--server-key", cluster->keys.write,
                             "--query-key", cluster->keys.query, "watch", "account",
                             "id=acct-cli", "--count", "1", NULL),
                      0);
    //  carol's key is in no folder: refused at the handshake, which the CLI
    //  says at once (exit 1, the node refused) instead of timing out
    int64_t started = zclock_mono ();
    assert_int_equal (s_cli (cluster->dir, "--commands", cluster->commands, "--cert", cert,
                             "--server-key", cluster->keys.write, "--timeout", "20000", "send",
                             "OpenAccount", "acct-carol", "owner=carol", NULL),
                      1);
    //  No key at all (plaintext against CURVE): the same, at once
    assert_int_equal (s_cli (cluster->dir, "--commands", cluster->commands, "--timeout",
                             "20000", "send", "OpenAccount", "acct-plain", "owner=nobody",
                             NULL),
                      1);
    assert_true (zclock_mono () - started < 5000);
    //  A half-given identity is a usage error
    assert_int_equal (s_cli (cluster->dir, "--cert", cert, "status", NULL), 2);
    char log [400];
    snprintf (log, sizeof log, "%s/zcqrs.log", cluster->dir);
    assert_true (s_log_has (log, "\"owner\":\"alice\""));
}

//  Settings that cannot work are refused at start, naming what is wrong
static void
test_bad_security_settings (void **state)
{
    (void) state;
    zconfig_t *config = zconfig_new ("root", NULL);
    char *dir = zcq_testkit_tmpdir ("secure-bad");
    char endpoint [300];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/commands", dir);
    zconfig_put (config, "write/commands", endpoint);
    zconfig_put (config, "write/security/clients", "/nonexistent/folder");
    char *error = NULL;
    zsock_t *sock = zcq_endpoint_serve (config, ZMQ_ROUTER, "write", "commands", NULL, &error);
    assert_null (sock);
    assert_non_null (strstr (error, "'clients' must name a folder"));
    zstr_free (&error);
    zconfig_put (config, "write/security/clients", dir);
    zconfig_put (config, "write/security/cert", "/nonexistent/write.cert");
    sock = zcq_endpoint_serve (config, ZMQ_ROUTER, "write", "commands", NULL, &error);
    assert_null (sock);
    assert_non_null (strstr (error, "cannot read the node certificate"));
    zstr_free (&error);
    char cert [400];
    snprintf (cert, sizeof cert, "%s/node.cert", dir);
    assert_int_equal (zcq_auth_keygen (cert, "node", &error), 0);
    zconfig_put (config, "write/security/cert", cert);
    zconfig_put (config, "write/security/roles/alice", "commands,admin");
    sock = zcq_endpoint_serve (config, ZMQ_ROUTER, "write", "commands", NULL, &error);
    assert_null (sock);
    assert_string_equal (error, "security/roles/alice: unknown role 'admin' (roles are "
                                "commands, query, replicate)");
    zstr_free (&error);
    zconfig_put (config, "write/security/roles/alice", "commands query");
    sock = zcq_endpoint_serve (config, ZMQ_ROUTER, "write", "commands", NULL, &error);
    assert_non_null (sock);
    zsock_destroy (&sock);
    zconfig_destroy (&config);
    zcq_testkit_rmtree (dir);
    free (dir);
}

//  A node program refuses security settings it cannot use, set in a file
//  or with --set, and says which
static void
test_node_program_refuses_bad_security (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("secure-flags");
    char commands [300], data [300];
    snprintf (commands, sizeof commands, "ipc://%s/commands", dir);
    snprintf (data, sizeof data, "%s/write", dir);
    zcq_testkit_node_t node = {0};
    zcq_testkit_start (&node, dir, "zcqrs-write", "--commands", commands, "--data", data,
                       "--set", "write/security/clients=/nonexistent/folder", NULL);
    int status = zcq_testkit_wait_exit (&node, 10000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);
    char log [400];
    snprintf (log, sizeof log, "%s/zcqrs-write.log", dir);
    assert_true (s_log_has (log, "'clients' must name a folder of allowed certificates, got "
                                 "'/nonexistent/folder'"));
    zcq_testkit_start (&node, dir, "zcqrs-write", "--set", "write/security", NULL);
    status = zcq_testkit_wait_exit (&node, 10000);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
    assert_true (s_log_has (log, "--set needs PATH=VALUE, got 'write/security'"));
    zcq_testkit_rmtree (dir);
    free (dir);
}

static void
test_roles_parse (void **state)
{
    (void) state;
    unsigned roles = 99;
    char *error = NULL;
    assert_int_equal (zcq_auth_roles_parse ("", &roles, &error), 0);
    assert_int_equal (roles, 0);
    assert_int_equal (zcq_auth_roles_parse ("query, replicate", &roles, &error), 0);
    assert_int_equal (roles, ZCQ_ROLE_QUERY | ZCQ_ROLE_REPLICATE);
    assert_int_equal (zcq_auth_roles_parse ("commands,queryx", &roles, &error), -1);
    assert_string_equal (error, "unknown role 'queryx' (roles are commands, query, replicate)");
    zstr_free (&error);
    assert_true (zcq_auth_roles_allow ("commands,query", ZCQ_ROLE_QUERY));
    assert_false (zcq_auth_roles_allow ("query", ZCQ_ROLE_COMMANDS));
    assert_false (zcq_auth_roles_allow ("", ZCQ_ROLE_QUERY));
    assert_false (zcq_auth_roles_allow (NULL, ZCQ_ROLE_QUERY));
}

int
main (void)
{
    //  The node processes inherit this: under ASan they check for leaks at
    //  exit and exit non-zero on one, which s_teardown asserts against
    const char *asan = getenv ("ASAN_OPTIONS");
    char *options = zsys_sprintf ("%s%sdetect_leaks=1", asan ? asan : "", asan ? ":" : "");
    setenv ("ASAN_OPTIONS", options, 1);
    zstr_free (&options);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_roles_parse),
        cmocka_unit_test (test_bad_security_settings),
        cmocka_unit_test (test_node_program_refuses_bad_security),
        cmocka_unit_test_setup_teardown (test_known_key_commands_and_queries, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_key_is_refused_at_handshake, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_query_only_key_is_forbidden_to_command, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_query_node_without_replicate_key_cannot_subscribe,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_garbage_sender_is_ignored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_key_name_that_cannot_be_a_user_id_is_refused,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_keygen_and_secured_calls, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
