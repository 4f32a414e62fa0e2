/*  =========================================================================
    zcqrs - the command-line client

        zcqrs send TYPE STREAM [field=value ... | --json OBJECT] [--expect N] [--id HEX]
        zcqrs delete STREAM [--expect N] [--id HEX]
        zcqrs query NAME [param=value ... | --json OBJECT] [--node EP[,EP...] ...]
              [--min-position P]
        zcqrs tail [--from POSITION] [--count N] [--idle MS]
        zcqrs status [--node ENDPOINT ...]
        zcqrs keygen NAME [--dir DIR]

    Against a secured cluster: --cert FILE (our keypair) and --server-key
    KEY (the write node's public key), --query-key KEY (the query nodes').

    Prints one JSON line per reply or event. Exit codes: 0 done; 1 the node
    refused (rejected, conflict, invalid, unknown, stale, ...); 2 bad usage;
    3 no answer in time.
    =========================================================================
*/

#include "zcqrs.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_TIMEOUT 3
#define MAX_WORDS    256

typedef struct {
    const char *commands;          //  write node ROUTER
    const char *events;            //  write node PUB
    const char *replay;            //  write node replay ROUTER
    const char *nodes [16];        //  query nodes named with --node
    int node_count;                //  entries in nodes
    int timeout;                   //  ms to wait for an answer
    int64_t expect;                //  --expect
    const char *id;                //  --id HEX
    const char *correlation;       //  --correlation
    const char *json;              //  --json: data or params as a JSON object
    uint64_t min_position;         //  --min-position
    uint64_t from;                 //  --from
    int64_t count;                 //  --count (tail), 0: forever
    int idle;                      //  --idle ms (tail), 0: forever
    const char *words [MAX_WORDS]; //  positional words after the verb
    int word_count;                //  entries in words
    const char *cert;              //  --cert: our certificate (keypair) file
    const char *server_key;        //  --server-key: the write node's public key
    const char *query_key;         //  --query-key: the query nodes' public key
    const char *dir;               //  --dir: where keygen writes
} options_t;

//  Query nodes that "status" asks when no --node is given
static const char *s_default_nodes [] = {ZCQ_DEFAULT_QUERIES, "tcp://127.0.0.1:5612"};

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        //  One line per form, the next ones after "or:": the layout help2man
        //  reads into the man page's SYNOPSIS
        "Usage: zcqrs [options] send TYPE STREAM [field=value ... | --json OBJECT]"
        " [--expect N]\n"
        "  or:  zcqrs [options] delete STREAM [--expect N]\n"
        "  or:  zcqrs [options] query NAME [param=value ... | --json OBJECT]"
        " [--min-position P]\n"
        "  or:  zcqrs [options] tail [--from POSITION] [--count N] [--idle MS]\n"
        "  or:  zcqrs [options] status [--node EP ...]\n"
        "  or:  zcqrs keygen NAME [--dir DIR]\n"
        "Send a command to the write node, delete a stream (its events' data is erased on\n"
        "every node; it takes no more commands), ask a query node, follow the log, ask each\n"
        "node for its status, or make a CURVE keypair (DIR/NAME.cert and\n"
        "DIR/NAME.cert_secret).\n"
        "\n"
        "options:\n"
        "  --commands EP     write node commands [" ZCQ_DEFAULT_COMMANDS "]\n"
        "  --events EP       write node events [" ZCQ_DEFAULT_EVENTS "]\n"
        "  --replay EP       write node replay [" ZCQ_DEFAULT_REPLAY "]\n"
        "  --node EP         query node; repeat it or give a comma list (query: spread\n"
        "                    over them, a silent one skipped; status: each)\n"
        "                    [query: tcp://127.0.0.1:5611; status: :5611, :5612]\n"
        "  --timeout MS      how long to wait for an answer [5000]\n"
        "  --expect N        expected stream version: any, 0 (new stream) or N [any]\n"
        "  --id HEX          command id, 32 hex digits, to retry a command by hand\n"
        "  --correlation C   correlation id stored with the events\n"
        "  --min-position P  answer only once the query node applied P (read-your-writes)\n"
        "  --cert FILE       our keypair (a certificate with its FILE_secret), for a\n"
        "                    secured cluster; needs --server-key\n"
        "  --server-key KEY  the write node's public key: 40 Z85 characters or its\n"
        "                    certificate file\n"
        "  --query-key KEY   the query nodes' public key [the --server-key]\n"
        "  --dir DIR         where keygen writes [.]\n"
        "  --json OBJECT     command data or query params as one JSON object, for values\n"
        "                    field=value cannot say (arrays, nested maps): e.g. the store\n"
        "                    domain's Append --json '{\"events\":[{\"type\":\"A\"}]}'\n"
        "\n"
        "field=value: integers and true/false are typed, anything else is a string;\n"
        "field:=value is always a string. Output is one JSON line per reply or event.\n"
        "Exit: 0 done, 1 refused by the node, 2 bad usage, 3 no answer in time.\n");
}

//  Parse a non-negative integer option value; -1 if it is not one.
static int64_t
s_number (const char *text)
{
    if (!text || !*text || strspn (text, "0123456789") != strlen (text) || strlen (text) > 18) {
        return -1;
    }
    return strtoll (text, NULL, 10);
}

static int
s_parse (int argc, char **argv, options_t *options, const char **verb)
{
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc ? argv [index + 1] : NULL;
        if (strncmp (arg, "--", 2) != 0) {
            if (!*verb) {
                *verb = arg;
            }
            else if (options->word_count < MAX_WORDS) {
                options->words [options->word_count++] = arg;
            }
            continue;
        }
        if (streq (arg, "--help")) {
            s_usage (stdout);
            exit (0);
        }
        if (!value) {
            fprintf (stderr, "zcqrs: option '%s' needs a value\n", arg);
            return -1;
        }
        index++;
        int64_t number = s_number (value);
        if (streq (arg, "--commands")) {
            options->commands = value;
        }
        else if (streq (arg, "--events")) {
            options->events = value;
        }
        else if (streq (arg, "--replay")) {
            options->replay = value;
        }
        else if (streq (arg, "--node") && options->node_count < 16) {
            options->nodes [options->node_count++] = value;
        }
        else if (streq (arg, "--id")) {
            options->id = value;
        }
        else if (streq (arg, "--correlation")) {
            options->correlation = value;
        }
        else if (streq (arg, "--json")) {
            options->json = value;
        }
        else if (streq (arg, "--expect")) {
            if (streq (value, "any")) {
                options->expect = ZCQ_EXPECT_ANY;
            }
            else if (number >= 0) {
                options->expect = number;
            }
            else {
                fprintf (stderr,
                         "zcqrs: --expect takes 'any' or a version (0, 1, ...), got '%s'\n",
                         value);
                return -1;
            }
        }
        else if (streq (arg, "--cert")) {
            options->cert = value;
        }
        else if (streq (arg, "--server-key")) {
            options->server_key = value;
        }
        else if (streq (arg, "--query-key")) {
            options->query_key = value;
        }
        else if (streq (arg, "--dir")) {
            options->dir = value;
        }
        else if (number < 0) {
            fprintf (stderr, "zcqrs: %s takes a non-negative number, got '%s'\n", arg, value);
            return -1;
        }
        else if (streq (arg, "--timeout")) {
            options->timeout = (int) (number > 3600000 ? 3600000 : number);
        }
        else if (streq (arg, "--min-position")) {
            options->min_position = (uint64_t) number;
        }
        else if (streq (arg, "--from")) {
            options->from = (uint64_t) number;
        }
        else if (streq (arg, "--count")) {
            options->count = number;
        }
        else if (streq (arg, "--idle")) {
            options->idle = (int) (number > 3600000 ? 3600000 : number);
        }
        else {
            fprintf (stderr, "zcqrs: unknown option '%s' (try --help)\n", arg);
            return -1;
        }
    }
    if (!*verb) {
        s_usage (stderr);
        return -1;
    }
    return 0;
}

//  Print a reply as JSON; return the exit code its status means.
static int
s_print (zcq_msg_t *msg, const char *what)
{
    if (!msg) {
        fprintf (stderr, "zcqrs: no answer from %s in time\n", what);
        return EXIT_TIMEOUT;
    }
    char *json = zcq_json_from_msg (msg);
    printf ("%s\n", json);
    fflush (stdout);
    free (json);
    zcq_status_t status = zcq_msg_status (msg);
    if (status == ZCQ_OK || status == ZCQ_ACCEPTED) {
        return 0;
    }
    fprintf (stderr, "zcqrs: %s: %s\n", zcq_status_name (status), zcq_msg_reason (msg));
    return EXIT_REFUSED;
}

//  Decode --id: 32 hex digits into 16 bytes.
static int
s_hex_id (const char *text, byte *id)
{
    if (strlen (text) != ZCQ_COMMAND_ID * 2
        || strspn (text, "0123456789abcdefABCDEF") != strlen (text)) {
        return -1;
    }
    for (int index = 0; index < ZCQ_COMMAND_ID; index++) {
        unsigned value;
        sscanf (text + index * 2, "%2x", &value);
        id [index] = (byte) value;
    }
    return 0;
}

//  The command data or query params: field=value words after the first
//  `skip` words, or --json. Returns 0, or EXIT_USAGE after saying why.
static int
s_payload (options_t *options, int skip, msgpack_sbuffer *payload)
{
    char *error = NULL;
    int rc = 0;
    if (options->json && options->word_count > skip) {
        error = strdup ("give field=value words or --json, not both");
        rc = -1;
    }
    else if (options->json) {
        rc = zcq_json_to_msgpack (options->json, payload, &error);
        //  A map's first byte: fixmap (0x80-0x8f), map 16 (0xde) or map 32 (0xdf)
        unsigned char first = payload->size ? (unsigned char) payload->data [0] : 0;
        if (rc == 0 && (first & 0xf0) != 0x80 && first != 0xde && first != 0xdf) {
            error = strdup ("--json must be a JSON object");
            rc = -1;
        }
    }
    else {
        rc =
            zcq_words_pack (payload, options->word_count - skip, options->words + skip, &error);
    }
    if (rc != 0) {
        fprintf (stderr, "zcqrs: %s\n", error);
        free (error);
        return EXIT_USAGE;
    }
    return 0;
}

static int
s_send (options_t *options)
{
    if (options->word_count < 2) {
        fprintf (stderr, "zcqrs: send needs TYPE and STREAM (try --help)\n");
        return EXIT_USAGE;
    }
    msgpack_sbuffer data;
    msgpack_sbuffer_init (&data);
    if (s_payload (options, 2, &data) != 0) {
        msgpack_sbuffer_destroy (&data);
        return EXIT_USAGE;
    }
    zcq_msg_t *command = zcq_client_command (options->words [0], options->words [1],
                                             options->expect, data.data, data.size);
    msgpack_sbuffer_destroy (&data);
    if (options->id) {
        byte id [ZCQ_COMMAND_ID];
        if (s_hex_id (options->id, id) != 0) {
            fprintf (stderr, "zcqrs: --id must be 32 hex digits, got '%s'\n", options->id);
            zcq_msg_destroy (&command);
            return EXIT_USAGE;
        }
        zcq_msg_set_id (command, id, sizeof (id));
    }
    if (options->correlation) {
        zcq_msg_set_correlation (command, options->correlation);
    }
    zcq_client_t *client = zcq_client_new (options->commands);
    int code = EXIT_USAGE;
    if (client) {
        zcq_msg_t *reply = zcq_client_request (client, command, options->timeout);
        if (!reply && !zcq_msg_valid (command)) {
            //  Not sent at all (no command id could be made, a field over
            //  its limit): no node was asked, so no time-out to report
            fprintf (stderr, "zcqrs: cannot send: %s\n", zcq_msg_error (command));
        }
        else {
            code = s_print (reply, options->commands);
        }
        zcq_msg_destroy (&reply);
        zcq_client_destroy (&client);
    }
    zcq_msg_destroy (&command);
    return code;
}

//  delete STREAM: the command every domain takes (protocol section 10.13).
static int
s_delete (options_t *options)
{
    if (options->word_count != 1) {
        fprintf (stderr, "zcqrs: delete needs one STREAM (try --help)\n");
        return EXIT_USAGE;
    }
    options->words [1] = options->words [0];
    options->words [0] = ZCQ_DELETE_STREAM;
    options->word_count = 2;
    return s_send (options);
}

static int
s_query (options_t *options)
{
    if (options->word_count < 1) {
        fprintf (stderr, "zcqrs: query needs a NAME (try --help)\n");
        return EXIT_USAGE;
    }
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    if (s_payload (options, 1, &params) != 0) {
        msgpack_sbuffer_destroy (&params);
        return EXIT_USAGE;
    }
    //  Every --node, each possibly a comma-separated list: with more than
    //  one, the client spreads the query over them (and skips a silent one)
    zcq_client_t *client = zcq_client_new (options->commands);
    int added = 0;
    bool failed = !client;
    char *list = NULL;
    for (int index = 0; !failed && index < (options->node_count ? options->node_count : 1);
         index++) {
        zstr_free (&list);
        list = strdup (options->node_count ? options->nodes [index] : ZCQ_DEFAULT_QUERIES);
        for (char *save = NULL, *node = strtok_r (list, ",", &save); node && !failed;
             node = strtok_r (NULL, ",", &save)) {
            failed = zcq_client_add_query_node (client, node) < 0;
            added++;
        }
    }
    int code = EXIT_USAGE;
    if (!failed && added > 0) {
        zcq_msg_t *result = zcq_client_query (client, added > 1 ? ZCQ_ANY_QUERY_NODE : 0,
                                              options->words [0], params.data, params.size,
                                              options->min_position, options->timeout);
        code = s_print (result, added > 1 ? "the query nodes" : list);
        zcq_msg_destroy (&result);
    }
    zstr_free (&list);
    zcq_client_destroy (&client);
    msgpack_sbuffer_destroy (&params);
    return code;
}

static int
s_status (options_t *options)
{
    const char **nodes = options->node_count ? options->nodes : s_default_nodes;
    int count = options->node_count ? options->node_count : 2;
    int code = 0;
    for (int index = -1; index < count; index++) {
        const char *endpoint = index < 0 ? options->commands : nodes [index];
        zcq_client_t *client = zcq_client_new (endpoint);
        if (!client) {
            return EXIT_USAGE;
        }
        zcq_msg_t *result = zcq_client_write_status (client, options->timeout);
        if (result) {
            char *json = zcq_json_from_msg (result);
            printf ("{\"endpoint\":\"%s\",%s\n", endpoint, json + 1);
            free (json);
        }
        else {
            printf ("{\"endpoint\":\"%s\",\"status\":\"unreachable\"}\n", endpoint);
            code = EXIT_TIMEOUT;
        }
        fflush (stdout);
        zcq_msg_destroy (&result);
        zcq_client_destroy (&client);
    }
    return code;
}

static int
s_tail (options_t *options)
{
    zcq_feed_t *feed = zcq_feed_new (options->events, options->replay, options->from);
    if (!feed) {
        return EXIT_USAGE;
    }
    zpoller_t *poller =
        zpoller_new (zcq_feed_events_sock (feed), zcq_feed_replay_sock (feed), NULL);
    int64_t printed = 0;
    int64_t last_event = zclock_mono ();
    while (!zsys_interrupted && (options->count == 0 || printed < options->count)) {
        void *which = zpoller_wait (poller, 100);
        if (which) {
            zcq_feed_recv (feed, (zsock_t *) which);
        }
        zcq_feed_tick (feed);
        zcq_msg_t *event;
        while ((options->count == 0 || printed < options->count)
               && (event = zcq_feed_next (feed))) {
            char *json = zcq_json_from_msg (event);
            printf ("%s\n", json);
            free (json);
            zcq_msg_destroy (&event);
            printed++;
            last_event = zclock_mono ();
        }
        fflush (stdout);
        if (options->idle && zclock_mono () - last_event >= options->idle) {
            break;
        }
    }
    zpoller_destroy (&poller);
    zcq_feed_destroy (&feed);
    return 0;
}

//  Write a new keypair: DIR/NAME.cert and DIR/NAME.cert_secret.
static int
s_keygen (options_t *options)
{
    if (options->word_count != 1 || !*options->words [0]
        || strspn (options->words [0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-_.")
               != strlen (options->words [0])) {
        fprintf (stderr, "zcqrs: keygen needs one NAME of letters, digits, '-', '_', '.'\n");
        return EXIT_USAGE;
    }
    const char *dir = options->dir ? options->dir : ".";
    char *path = zsys_sprintf ("%s/%s.cert", dir, options->words [0]);
    char *error = NULL;
    int code = 0;
    if (zcq_auth_keygen (path, options->words [0], &error) != 0) {
        fprintf (stderr, "zcqrs: %s\n", error);
        code = EXIT_USAGE;
    }
    else {
        zcert_t *cert = zcert_load (path);
        printf ("{\"name\":\"%s\",\"cert\":\"%s\",\"secret\":\"%s_secret\","
                "\"public_key\":\"%s\"}\n",
                options->words [0], path, path, cert ? zcert_public_txt (cert) : "");
        zcert_destroy (&cert);
    }
    zstr_free (&error);
    zstr_free (&path);
    return code;
}

//  With --cert, every socket the CLI connects speaks CURVE: the write
//  node's key for its endpoints, the query nodes' key for theirs.
static int
s_secure (options_t *options)
{
    if (!options->cert && !options->server_key && !options->query_key) {
        return 0;
    }
    char *error = NULL;
    int rc = 0;
    if (!options->cert || !options->server_key) {
        error = strdup ("a secured cluster needs both --cert and --server-key");
        rc = -1;
    }
    if (rc == 0) {
        rc = zcq_auth_identity_set (options->cert, options->server_key, &error);
    }
    const char **nodes = options->node_count ? options->nodes : s_default_nodes;
    int count = options->node_count ? options->node_count : 2;
    for (int index = 0; rc == 0 && options->query_key && index < count; index++) {
        rc = zcq_auth_identity_server (nodes [index], options->query_key, &error);
    }
    if (rc != 0) {
        fprintf (stderr, "zcqrs: %s\n", error);
        zstr_free (&error);
    }
    return rc;
}

int
main (int argc, char **argv)
{
    options_t options = {
        .commands = ZCQ_DEFAULT_COMMANDS,
        .events = ZCQ_DEFAULT_EVENTS,
        .replay = ZCQ_DEFAULT_REPLAY,
        .timeout = 5000,
        .expect = ZCQ_EXPECT_ANY,
    };
    const char *verb = NULL;
    //  The CLI prints JSON on stdout; keep czmq's log lines off it
    zsys_set_logstream (stderr);
    if (s_parse (argc, argv, &options, &verb) != 0) {
        return EXIT_USAGE;
    }
    if (streq (verb, "keygen")) {
        return s_keygen (&options);
    }
    if (s_secure (&options) != 0) {
        return EXIT_USAGE;
    }
    if (streq (verb, "send")) {
        return s_send (&options);
    }
    if (streq (verb, "delete")) {
        return s_delete (&options);
    }
    if (streq (verb, "query")) {
        return s_query (&options);
    }
    if (streq (verb, "status")) {
        return s_status (&options);
    }
    if (streq (verb, "tail")) {
        return s_tail (&options);
    }
    fprintf (stderr,
             "zcqrs: unknown command '%s' (send, delete, query, tail, status, keygen)\n", verb);
    return EXIT_USAGE;
}
