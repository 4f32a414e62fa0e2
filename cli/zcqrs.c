/*  =========================================================================
    zcqrs - the command-line client

        zcqrs send TYPE STREAM [field=value ... | --json OBJECT] [--expect N] [--id HEX]
        zcqrs delete STREAM [--expect N] [--id HEX]
        zcqrs forget STREAM [--expect N] [--id HEX]
        zcqrs query NAME [param=value ... | --json OBJECT] [--node EP[,EP...] ...]
              [--min-position P]
        zcqrs tail [--stream S] [--category C] [--type T ...]
                   [--from POSITION | --since TIME] [--follow] [--count N] [--idle MS]
        zcqrs watch NAME [param=value ... | --json OBJECT] [--node EP] [--count N]
                    [--idle MS]
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
    bool timeout_set;              //  --timeout was given
    int64_t expect;                //  --expect
    const char *id;                //  --id HEX
    const char *correlation;       //  --correlation
    const char *json;              //  --json: data or params as a JSON object
    uint64_t min_position;         //  --min-position
    uint64_t from;                 //  --from
    bool from_set;                 //  --from was given
    int64_t since;                 //  --since, us since the epoch (0: not given)
    bool follow;                   //  --follow (tail): go on live past the head
    zcq_msg_t *filter;             //  --stream, --category, --type (tail), or NULL
    int64_t count;                 //  --count (tail), 0: forever
    int idle;                      //  --idle ms (tail), 0: forever
    const char *words [MAX_WORDS]; //  positional words after the verb
    int word_count;                //  entries in words
    const char *cert;              //  --cert: our certificate (keypair) file
    const char *server_key;        //  --server-key: the write node's public key
    const char *query_key;         //  --query-key: the query nodes' public key
    const char *dir;               //  --dir: where keygen writes
    const char *env_nodes [16];    //  query nodes named in ZCQRS_NODES
    int env_node_count;            //  entries in env_nodes
    bool text;                     //  --format text: lines for people, not JSON
} options_t;

//  Query nodes that "status" asks when neither --node nor ZCQRS_NODES
//  names any
static const char *s_default_nodes [] = {ZCQ_DEFAULT_QUERIES, "tcp://127.0.0.1:5612"};

//  One option of the CLI: what --help says of it and where it applies.
typedef struct {
    const char *name;  //  "--commands"
    const char *value; //  its value in the help ("EP"); NULL: it takes none
    const char *verbs; //  the verbs it applies to, " send query "; NULL: every verb
    const char *help;  //  what it means, [its default]
} s_option_t;

static const s_option_t s_options [] = {
    {"--commands", "EP", " send delete forget query status tail backup ",
     "write node commands [$ZCQRS_COMMANDS or " ZCQ_DEFAULT_COMMANDS "]"},
    {"--events", "EP", " tail ", "write node events [$ZCQRS_EVENTS or " ZCQ_DEFAULT_EVENTS "]"},
    {"--replay", "EP", " tail ", "write node replay [$ZCQRS_REPLAY or " ZCQ_DEFAULT_REPLAY "]"},
    {"--node", "EP", " query status watch ",
     "query node; repeat it or give a comma list (query: spread over them, a silent one "
     "skipped; status: each; watch: the first) [$ZCQRS_NODES, comma-separated, or query and "
     "watch: tcp://127.0.0.1:5611; status: :5611, :5612]"},
    {"--timeout", "MS", " send delete forget query status tail backup ",
     "how long to wait for an answer [5000; backup: 600000]"},
    {"--format", "json|text", " send delete forget query status tail backup watch ",
     "one JSON line per answer or event, or text for people [text on a terminal, json "
     "otherwise]"},
    {"--expect", "N", " send delete forget ",
     "expected stream version: any, 0 (new stream) or N [any]"},
    {"--id", "HEX", " send delete forget ",
     "command id, 32 hex digits, to retry a command by hand"},
    {"--correlation", "C", " send ", "correlation id stored with the events"},
    {"--min-position", "P", " query ",
     "answer only once the query node applied P (read-your-writes)"},
    {"--stream", "S", " tail ", "only the events of stream S"},
    {"--category", "C", " tail ",
     "only the streams of category C (the name before its first '-')"},
    {"--type", "T", " tail ", "only events of type T (repeat it for several)"},
    {"--from", "POSITION", " tail ",
     "first position to print, from 1 [1; with --follow and no --since: new events only]"},
    {"--since", "TIME", " tail ",
     "start at the first event at or after TIME: ISO 8601 (2026-12-02T08:00:00Z, +01:00, "
     ".123; no zone: UTC) or relative to now (-30s, -10m, -2h, -1d)"},
    {"--follow", NULL, " tail ",
     "go on with new events once the log up to its head is printed"},
    {"--count", "N", " tail watch ", "stop after N events (watch: results) [0: never]"},
    {"--idle", "MS", " tail watch ",
     "stop once no event (watch: no new result) came for MS [0: never]"},
    {"--cert", "FILE", " send delete forget query status tail backup watch ",
     "our keypair (a certificate with its FILE_secret), for a secured cluster; needs "
     "--server-key"},
    {"--server-key", "KEY", " send delete forget query status tail backup watch ",
     "the write node's public key: 40 Z85 characters or its certificate file"},
    {"--query-key", "KEY", " query status watch ",
     "the query nodes' public key [the --server-key]"},
    {"--dir", "DIR", " keygen ", "where keygen writes [.]"},
    {"--json", "OBJECT", " send query watch ",
     "command data or query params as one JSON object, for values field=value cannot say "
     "(arrays, nested maps): e.g. the store domain's Append --json "
     "'{\"events\":[{\"type\":\"A\"}]}'"},
    {"--help", NULL, NULL, "this help; zcqrs VERB --help (or -h): that verb's"},
    {"--version", NULL, NULL, "print the version and exit"},
    {NULL, NULL, NULL, NULL},
};

//  The verbs: their synopsis (after "zcqrs [options] ") and what they do.
static const struct {
    const char *name;
    const char *synopsis;
    const char *about;
} s_verbs [] = {
    {"send", "[options] send TYPE STREAM [field=value ... | --json OBJECT] [--expect N]",
     "Send a command to the write node and print its reply: accepted with the stream's\n"
     "version and the log position, or why it was refused."},
    {"delete", "[options] delete STREAM [--expect N]",
     "Delete a stream: a tombstone is appended; the stream takes no more commands and its\n"
     "events' data is erased on every node (their positions stay)."},
    {"forget", "[options] forget STREAM [--expect N]",
     "Forget a stream's personal data: its key is destroyed, so the fields its domain marks\n"
     "personal are ciphertext only on every node and read as forgotten; the stream goes on."},
    {"query", "[options] query NAME [param=value ... | --json OBJECT] [--min-position P]",
     "Ask a query node a named query and print its answer, with the log position it\n"
     "reflects."},
    {"tail",
     "[options] tail [--stream S] [--category C] [--type T ...] [--from POSITION | --since "
     "TIME] [--follow] [--count N] [--idle MS]",
     "Print the log's events in order, the whole log or those a filter takes, up to the\n"
     "head (with --follow, then the new ones); gaps are repaired by replay, filtered by the\n"
     "write node. A position past the head is refused, with the position the next event\n"
     "will take."},
    {"watch",
     "[options] watch NAME [param=value ... | --json OBJECT] [--node EP] [--count N] [--idle "
     "MS]",
     "Watch a named query on a query node: print its result at once, then again each time\n"
     "the log changes it, each with the position it reflects (a slow reader skips to the\n"
     "latest); goes on after a restart of the node. Ctrl-C ends it."},
    {"status", "[options] status [--node EP ...]",
     "Ask the write node and each query node for its status."},
    {"backup", "[options] backup [NAME]",
     "Have the write node copy its log, as one LevelDB snapshot sees it, into its backups\n"
     "folder (write/backups) as NAME [write-TIME], while commands go on; prints where, and\n"
     "the position it holds. To restore: stop the write node, put the copy in place of its\n"
     "data folder, start it (README, Backup and restore)."},
    {"keygen", "keygen NAME [--dir DIR]",
     "Make a CURVE keypair: DIR/NAME.cert (public, share it) and DIR/NAME.cert_secret."},
    {NULL, NULL, NULL},
};

//  Print an option's help lines, wrapped under its column.
static void
s_option_help (FILE *out, const s_option_t *option)
{
    char left [40];
    snprintf (left, sizeof left, "%s%s%s", option->name, option->value ? " " : "",
              option->value ? option->value : "");
    fprintf (out, "  %-18s", left);
    if (strlen (left) > 17) {
        fprintf (out, "\n  %-18s", "");
    }
    int column = 20;
    for (const char *word = option->help; *word;) {
        size_t size = strcspn (word, " ");
        if (column > 20 && column + 1 + (int) size > 88) {
            fprintf (out, "\n  %-18s", "");
            column = 20;
        }
        else if (column > 20) {
            fputc (' ', out);
            column++;
        }
        fprintf (out, "%.*s", (int) size, word);
        column += (int) size;
        word += size;
        word += strspn (word, " ");
    }
    fputc ('\n', out);
}

//  The whole help, or one verb's (verb not NULL).
static void
s_usage (FILE *out, const char *verb)
{
    for (int index = 0; s_verbs [index].name; index++) {
        if (verb && !streq (verb, s_verbs [index].name)) {
            continue;
        }
        //  One line per form, the next ones after "or:": the layout help2man
        //  reads into the man page's SYNOPSIS
        fprintf (out, "%s zcqrs %s\n",
                 index == 0 || verb ? "Usage:" : "  or: ", s_verbs [index].synopsis);
        if (verb) {
            fprintf (out, "%s\n", s_verbs [index].about);
        }
    }
    if (!verb) {
        fprintf (out, "Send a command to the write node, delete a stream, ask a query node, "
                      "follow the log,\nask each node for its status, or make a CURVE "
                      "keypair.\n");
    }
    fprintf (out, "\noptions:\n");
    for (const s_option_t *option = s_options; option->name; option++) {
        char padded [32];
        snprintf (padded, sizeof padded, " %s ", verb ? verb : "");
        if (!verb || !option->verbs || strstr (option->verbs, padded)) {
            s_option_help (out, option);
        }
    }
    if (!verb || streq (verb, "send") || streq (verb, "query")) {
        fprintf (out, "\nfield=value: integers and true/false are typed, anything else is a "
                      "string;\nfield:=value is always a string.\n");
    }
    fprintf (out,
             "Output: one JSON line per reply or event (--format text for people; the "
             "default on a\nterminal). Exit: 0 done, 1 refused by the node, 2 bad usage, 3 "
             "no answer in time.\n");
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

//  Read a number of digits (at most max of them, at least one) at *text;
//  moves *text past them. Returns the number, or -1.
static int64_t
s_digits (const char **text, int max)
{
    int64_t number = 0;
    int count = 0;
    while (count < max && **text >= '0' && **text <= '9') {
        number = number * 10 + (**text - '0');
        (*text)++;
        count++;
    }
    return count ? number : -1;
}

//  Read ":" and two digits at *text when there; fallback otherwise.
static int64_t
s_field (const char **text, char separator, int64_t fallback)
{
    if (**text != separator) {
        return fallback;
    }
    (*text)++;
    return s_digits (text, 2);
}

//  --since: an ISO 8601 time (a date, then optionally THH:MM[:SS[.frac]]
//  and Z, +HH:MM or -HH:MM; no zone is UTC) or -N with s, m, h or d (that
//  long before now). Sets *since to us since the epoch. Returns 0, or -1 if
//  the text is neither.
static int
s_parse_since (const char *text, int64_t *since)
{
    if (*text == '-') {
        text++;
        int64_t count = s_digits (&text, 9);
        int64_t unit = *text == 's'   ? 1
                       : *text == 'm' ? 60
                       : *text == 'h' ? 3600
                       : *text == 'd' ? 86400
                                      : 0;
        if (count < 0 || unit == 0 || text [1] != 0) {
            return -1;
        }
        *since = zclock_time () * 1000 - count * unit * 1000000;
        return *since > 0 ? 0 : -1;
    }
    int64_t year = s_digits (&text, 4);
    int64_t month = s_field (&text, '-', -1);
    int64_t day = s_field (&text, '-', -1);
    int64_t hour = 0, minute = 0, second = 0, micros = 0, offset = 0;
    if (*text == 'T' || *text == ' ') {
        text++;
        hour = s_digits (&text, 2);
        minute = s_field (&text, ':', -1);
        second = s_field (&text, ':', 0);
        if (*text == '.') {
            text++;
            const char *start = text;
            micros = s_digits (&text, 6);
            for (size_t digits = (size_t) (text - start); micros >= 0 && digits < 6; digits++) {
                micros *= 10;
            }
            while (*text >= '0' && *text <= '9') {
                text++; //  below a microsecond
            }
        }
        if (*text == 'Z') {
            text++;
        }
        else if (*text == '+' || *text == '-') {
            int64_t sign = *text == '-' ? -1 : 1;
            text++;
            int64_t hours = s_digits (&text, 2);
            int64_t minutes = s_field (&text, ':', 0);
            if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) {
                return -1;
            }
            offset = sign * (hours * 3600 + minutes * 60);
        }
    }
    if (*text || year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0
        || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 || micros < 0) {
        return -1;
    }
    struct tm tm = {0};
    tm.tm_year = (int) year - 1900;
    tm.tm_mon = (int) month - 1;
    tm.tm_mday = (int) day;
    tm.tm_hour = (int) hour;
    tm.tm_min = (int) minute;
    tm.tm_sec = (int) second;
    *since = ((int64_t) timegm (&tm) - offset) * 1000000 + micros;
    return *since > 0 ? 0 : -1;
}

//  Add --stream, --category or --type to the tail's filter; -1 (after
//  saying why) if the value could never name one.
static int
s_add_filter (options_t *options, const char *option, const char *value)
{
    size_t limit = streq (option, "--type") ? ZCQ_MAX_NAME : ZCQ_MAX_STREAM;
    if (!*value || strlen (value) > limit || !zcq_text_is_utf8 (value, strlen (value))) {
        fprintf (stderr,
                 "zcqrs: %s takes 1 to %zu bytes of UTF-8 without control characters, got "
                 "'%s'\n",
                 option, limit, value);
        return -1;
    }
    if (!options->filter) {
        options->filter = zcq_msg_new (ZCQ_MSG_REPLAY);
    }
    if (streq (option, "--stream")) {
        zcq_msg_set_stream (options->filter, value);
    }
    else if (streq (option, "--category")) {
        zcq_msg_set_category (options->filter, value);
    }
    else if (zcq_msg_add_type (options->filter, value) != 0) {
        fprintf (stderr, "zcqrs: at most %d --type options\n", ZCQ_MAX_TYPES);
        return -1;
    }
    return 0;
}

//  True if an endpoint names its transport ("tcp://", "ipc://", ...); else
//  say how to write it. from names where it came from ("--node").
static bool
s_endpoint_ok (const char *endpoint, const char *from)
{
    if (strstr (endpoint, "://")) {
        return true;
    }
    fprintf (stderr,
             "zcqrs: %s '%s' has no transport: write it as tcp://%s (or ipc://PATH, "
             "inproc://NAME)\n",
             from, endpoint, endpoint);
    return false;
}

//  The option of this name, or NULL.
static const s_option_t *
s_option (const char *name)
{
    for (const s_option_t *option = s_options; option->name; option++) {
        if (streq (option->name, name)) {
            return option;
        }
    }
    return NULL;
}

//  Endpoints from the environment, before the flags override them:
//  ZCQRS_COMMANDS, ZCQRS_EVENTS, ZCQRS_REPLAY, ZCQRS_NODES (comma-separated;
//  the text is kept in *nodes_text, which the caller frees). Returns 0 or -1.
static int
s_environment (options_t *options, char **nodes_text)
{
    const char *names [] = {"ZCQRS_COMMANDS", "ZCQRS_EVENTS", "ZCQRS_REPLAY"};
    const char **fields [] = {&options->commands, &options->events, &options->replay};
    for (int index = 0; index < 3; index++) {
        const char *value = getenv (names [index]);
        if (value && *value) {
            if (!s_endpoint_ok (value, names [index])) {
                return -1;
            }
            *fields [index] = value;
        }
    }
    const char *nodes = getenv ("ZCQRS_NODES");
    if (nodes && *nodes) {
        *nodes_text = strdup (nodes);
        for (char *node = strtok (*nodes_text, ", "); node && options->env_node_count < 16;
             node = strtok (NULL, ", ")) {
            if (!s_endpoint_ok (node, "ZCQRS_NODES")) {
                return -1;
            }
            options->env_nodes [options->env_node_count++] = node;
        }
    }
    return 0;
}

static int
s_parse (int argc, char **argv, options_t *options, const char **verb)
{
    bool help = false;
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        if (arg [0] != '-' || streq (arg, "-")) {
            if (!*verb) {
                *verb = arg;
            }
            else if (options->word_count < MAX_WORDS) {
                options->words [options->word_count++] = arg;
            }
            continue;
        }
        if (streq (arg, "--help") || streq (arg, "-h")) {
            help = true;
            continue;
        }
        if (streq (arg, "--version") || streq (arg, "-V")) {
            printf ("zcqrs %d.%d.%d\n", ZCQRS_VERSION_MAJOR, ZCQRS_VERSION_MINOR,
                    ZCQRS_VERSION_PATCH);
            exit (0);
        }
        const s_option_t *option = s_option (arg);
        if (!option) {
            fprintf (stderr, "zcqrs: unknown option '%s' (zcqrs --help lists them)\n", arg);
            return -1;
        }
        if (!option->value) {
            options->follow = true; //  --follow, the one flag without a value
            continue;
        }
        const char *value = index + 1 < argc ? argv [index + 1] : NULL;
        if (!value) {
            fprintf (stderr, "zcqrs: option '%s' needs a value (%s)\n", arg, option->value);
            return -1;
        }
        index++;
        int64_t number = s_number (value);
        bool endpoint = streq (option->value, "EP");
        if (endpoint && !s_endpoint_ok (value, arg)) {
            return -1;
        }
        if (streq (arg, "--commands")) {
            options->commands = value;
        }
        else if (streq (arg, "--events")) {
            options->events = value;
        }
        else if (streq (arg, "--replay")) {
            options->replay = value;
        }
        else if (streq (arg, "--node")) {
            if (options->node_count < 16) {
                options->nodes [options->node_count++] = value;
            }
        }
        else if (streq (arg, "--format")) {
            if (!streq (value, "json") && !streq (value, "text")) {
                fprintf (stderr, "zcqrs: --format takes json or text, got '%s'\n", value);
                return -1;
            }
            options->text = streq (value, "text");
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
        else if (streq (arg, "--since")) {
            if (s_parse_since (value, &options->since) != 0) {
                fprintf (stderr,
                         "zcqrs: --since takes an ISO 8601 time (2026-12-02T08:00:00Z) or a "
                         "time relative to now (-30s, -10m, -2h, -1d), got '%s'\n",
                         value);
                return -1;
            }
        }
        else if (streq (arg, "--stream") || streq (arg, "--category")
                 || streq (arg, "--type")) {
            if (s_add_filter (options, arg, value) != 0) {
                return -1;
            }
        }
        else if (number < 0) {
            fprintf (stderr, "zcqrs: %s takes a non-negative number, got '%s'\n", arg, value);
            return -1;
        }
        else if (streq (arg, "--timeout")) {
            options->timeout = (int) (number > 3600000 ? 3600000 : number);
            options->timeout_set = true;
        }
        else if (streq (arg, "--min-position")) {
            options->min_position = (uint64_t) number;
        }
        else if (streq (arg, "--from")) {
            if (number == 0) {
                fprintf (stderr, "zcqrs: positions start at 1: --from 1 (the default) prints "
                                 "the whole log; --follow without --from prints new events "
                                 "only\n");
                return -1;
            }
            options->from = (uint64_t) number;
            options->from_set = true;
        }
        else if (streq (arg, "--count")) {
            options->count = number;
        }
        else if (streq (arg, "--idle")) {
            options->idle = (int) (number > 3600000 ? 3600000 : number);
        }
    }
    if (*verb && streq (*verb, "help")) {
        //  zcqrs help [VERB]
        help = true;
        *verb = options->word_count ? options->words [0] : NULL;
    }
    if (help) {
        bool known = false;
        for (int index = 0; *verb && s_verbs [index].name; index++) {
            known |= streq (*verb, s_verbs [index].name);
        }
        s_usage (stdout, known ? *verb : NULL);
        exit (0);
    }
    if (!*verb) {
        s_usage (stderr, NULL);
        return -1;
    }
    if (options->from_set && options->since) {
        fprintf (stderr, "zcqrs: tail takes --from or --since, not both\n");
        return -1;
    }
    return 0;
}

//  A message's payload (command data, query result, event data) as
//  one-line JSON (caller frees), "null" if it has none.
static char *
s_payload_json (zcq_msg_t *msg)
{
    char *json = zcq_msg_data_size (msg)
                     ? zcq_json_from_msgpack (zcq_msg_data (msg), zcq_msg_data_size (msg))
                     : NULL;
    return json ? json : strdup ("null");
}

//  A message as a line for people (caller frees): a REPLY, RESULT or EVENT.
static char *
s_text (zcq_msg_t *msg)
{
    zcq_status_t status = zcq_msg_status (msg);
    const char *reason = zcq_msg_reason (msg);
    bool refused = reason && *reason;
    char *payload = s_payload_json (msg);
    char *line = NULL;
    if (zcq_msg_type (msg) == ZCQ_MSG_REPLY) {
        uint32_t count = zcq_msg_count (msg);
        line = status == ZCQ_ACCEPTED
                   ? zsys_sprintf ("accepted: version %" PRIu64 " at position %" PRIu64
                                   " (%u event%s)",
                                   zcq_msg_version (msg), zcq_msg_position (msg), count,
                                   count == 1 ? "" : "s")
                   : zsys_sprintf ("%s (stream at version %" PRIu64 "): %s",
                                   zcq_status_name (status), zcq_msg_version (msg),
                                   refused ? reason : "no reason given");
    }
    else if (zcq_msg_type (msg) == ZCQ_MSG_EVENT) {
        time_t seconds = (time_t) (zcq_msg_time (msg) / 1000000);
        struct tm utc;
        gmtime_r (&seconds, &utc);
        char when [32];
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
        line = zsys_sprintf ("%" PRIu64 "  %s v%" PRIu64 "  %s  %s  %s", zcq_msg_position (msg),
                             zcq_msg_stream (msg), zcq_msg_version (msg), zcq_msg_name (msg),
                             payload, when);
    }
    else {
        line = refused
                   ? zsys_sprintf ("%s at position %" PRIu64 ": %s", zcq_status_name (status),
                                   zcq_msg_position (msg), reason)
                   : zsys_sprintf ("%s at position %" PRIu64 ": %s", zcq_status_name (status),
                                   zcq_msg_position (msg), payload);
    }
    free (payload);
    return line;
}

//  Print an answer as JSON (or text); return the exit code its status means.
static int
s_print (options_t *options, zcq_msg_t *msg, const char *what)
{
    if (!msg) {
        fprintf (stderr, "zcqrs: no answer from %s in time\n", what);
        return EXIT_TIMEOUT;
    }
    char *line = options->text ? s_text (msg) : zcq_json_from_msg (msg);
    printf ("%s\n", line);
    fflush (stdout);
    free (line);
    zcq_status_t status = zcq_msg_status (msg);
    if (status == ZCQ_OK || status == ZCQ_ACCEPTED) {
        return 0;
    }
    if (!options->text) {
        //  The reason once more on stderr, where a script's person looks
        const char *reason = zcq_msg_reason (msg);
        fprintf (stderr, "zcqrs: %s: %s\n", zcq_status_name (status),
                 reason && *reason ? reason : "(the node gave no reason)");
    }
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

//  How long the handshake probe may wait: a handshake on a reachable node
//  takes a round trip or two, so a small share of the time-out
static int
s_probe_wait (options_t *options)
{
    return options->timeout < 1000 ? options->timeout / 2 : 500;
}

//  Before a request: connect a probe with our identity and watch its
//  handshake through ZeroMQ's socket monitor, so that a node that refuses
//  our key, or speaks CURVE while we do not (or the other way round), is
//  named at once rather than after the time-out. Returns 0 when the
//  handshake succeeded or nothing was learnt within wait_ms (no node there:
//  the request's own time-out decides), else EXIT_REFUSED after saying why.
static int
s_handshake (options_t *options, const char *endpoint, int wait_ms)
{
    zsock_t *probe = zsock_new (ZMQ_DEALER);
    assert (probe);
    zsock_set_linger (probe, 0);
    zcq_auth_identity_apply (probe, endpoint);
    char monitor [64];
    snprintf (monitor, sizeof monitor, "inproc://zcqrs-handshake-%p", (void *) probe);
    int watched = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                  | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                  | ZMQ_EVENT_CONNECT_RETRIED;
    zsock_t *events = NULL;
    if (zmq_socket_monitor (zsock_resolve (probe), monitor, watched) == 0) {
        events = zsock_new (ZMQ_PAIR);
        if (events && zsock_connect (events, "%s", monitor) != 0) {
            zsock_destroy (&events);
        }
    }
    int code = 0;
    if (events && zsock_connect (probe, "%s", endpoint) == 0) {
        int64_t deadline = zclock_mono () + wait_ms;
        bool done = false;
        while (!done) {
            int64_t left = deadline - zclock_mono ();
            zmq_pollitem_t item = {zsock_resolve (events), 0, ZMQ_POLLIN, 0};
            if (left <= 0 || zmq_poll (&item, 1, (long) left) <= 0) {
                break;
            }
            //  A monitor event: 16-bit event and 32-bit value, then the address
            zmsg_t *msg = zmsg_recv (events);
            zframe_t *frame = msg ? zmsg_first (msg) : NULL;
            uint16_t event = 0;
            uint32_t value = 0;
            if (frame && zframe_size (frame) >= 6) {
                memcpy (&event, zframe_data (frame), 2);
                memcpy (&value, zframe_data (frame) + 2, 4);
            }
            zmsg_destroy (&msg);
            done = event != 0;
            if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                fprintf (stderr,
                         "zcqrs: %s refused our key at the CURVE handshake (ZAP status %u): "
                         "%s\n",
                         endpoint, value,
                         options->cert ? "the node does not allow this client's key"
                                       : "the node allows only known keys (--cert)");
                code = EXIT_REFUSED;
            }
            else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                     && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
                fprintf (stderr, "zcqrs: %s: %s\n", endpoint,
                         options->cert ? "the node is not secured: leave out --cert and "
                                         "--server-key"
                                       : "the node is secured (CURVE): give --cert FILE and "
                                         "--server-key KEY");
                code = EXIT_REFUSED;
            }
            else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                     || event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
                //  A node that wants CURVE closes a plaintext handshake
                //  without a word; with our key, a wrong server key is likely
                fprintf (stderr, "zcqrs: %s: the node ended the handshake (ZeroMQ 0x%x): %s\n",
                         endpoint, value,
                         options->cert ? "is --server-key the node's public key?"
                                       : "it is likely secured (CURVE): give --cert FILE and "
                                         "--server-key KEY");
                code = EXIT_REFUSED;
            }
        }
    }
    if (events) {
        zmq_socket_monitor (zsock_resolve (probe), NULL, 0);
        zsock_destroy (&events);
    }
    zsock_destroy (&probe);
    return code;
}

//  A verb's first `skip` words (what they are: "TYPE and STREAM"), then its
//  payload (s_payload) into payload, which it initialises and, on failure,
//  destroys. Returns 0, or EXIT_USAGE after saying why.
static int
s_verb_payload (options_t *options, const char *verb, int skip, const char *words,
                msgpack_sbuffer *payload)
{
    if (options->word_count < skip) {
        fprintf (stderr, "zcqrs: %s needs %s (try --help)\n", verb, words);
        return EXIT_USAGE;
    }
    msgpack_sbuffer_init (payload);
    if (s_payload (options, skip, payload) != 0) {
        msgpack_sbuffer_destroy (payload);
        return EXIT_USAGE;
    }
    return 0;
}

static int
s_send (options_t *options)
{
    msgpack_sbuffer data;
    if (s_verb_payload (options, "send", 2, "TYPE and STREAM", &data) != 0) {
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
    if (s_handshake (options, options->commands, s_probe_wait (options)) != 0) {
        zcq_msg_destroy (&command);
        return EXIT_REFUSED;
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
            code = s_print (options, reply, options->commands);
        }
        zcq_msg_destroy (&reply);
        zcq_client_destroy (&client);
    }
    zcq_msg_destroy (&command);
    return code;
}

//  delete STREAM: the command every domain takes (protocol section 10.13).
//  forget STREAM: the same for forgetting (section 10.14).
static int
s_stream_command (options_t *options, const char *verb, const char *type)
{
    if (options->word_count != 1) {
        fprintf (stderr, "zcqrs: %s needs one STREAM (try --help)\n", verb);
        return EXIT_USAGE;
    }
    options->words [1] = options->words [0];
    options->words [0] = type;
    options->word_count = 2;
    return s_send (options);
}

static int
s_query (options_t *options)
{
    msgpack_sbuffer params;
    if (s_verb_payload (options, "query", 1, "a NAME", &params) != 0) {
        return EXIT_USAGE;
    }
    //  Every --node (else every ZCQRS_NODES entry), each possibly a
    //  comma-separated list: with more than one, the client spreads the
    //  query over them (and skips a silent one)
    const char *const *sources = options->node_count       ? options->nodes
                                 : options->env_node_count ? options->env_nodes
                                                           : NULL;
    int source_count = options->node_count       ? options->node_count
                       : options->env_node_count ? options->env_node_count
                                                 : 1;
    zcq_client_t *client = zcq_client_new (options->commands);
    int added = 0;
    bool failed = !client;
    int code = EXIT_USAGE;
    char *list = NULL;
    for (int index = 0; !failed && index < source_count; index++) {
        zstr_free (&list);
        list = strdup (sources ? sources [index] : ZCQ_DEFAULT_QUERIES);
        for (char *save = NULL, *node = strtok_r (list, ",", &save); node && !failed;
             node = strtok_r (NULL, ",", &save)) {
            failed = zcq_client_add_query_node (client, node) < 0;
            if (!failed && s_handshake (options, node, s_probe_wait (options)) != 0) {
                failed = true;
                code = EXIT_REFUSED;
            }
            added++;
        }
    }
    if (!failed && added > 0) {
        zcq_msg_t *result = zcq_client_query (client, added > 1 ? ZCQ_ANY_QUERY_NODE : 0,
                                              options->words [0], params.data, params.size,
                                              options->min_position, options->timeout);
        code = s_print (options, result, added > 1 ? "the query nodes" : list);
        zcq_msg_destroy (&result);
    }
    zstr_free (&list);
    zcq_client_destroy (&client);
    msgpack_sbuffer_destroy (&params);
    return code;
}

//  The query nodes named with --node, else in ZCQRS_NODES, else the
//  default two; their number in *count.
static const char **
s_nodes (options_t *options, int *count)
{
    if (options->node_count) {
        *count = options->node_count;
        return options->nodes;
    }
    if (options->env_node_count) {
        *count = options->env_node_count;
        return options->env_nodes;
    }
    *count = 2;
    return s_default_nodes;
}

//  The cluster id a status answer names (caller frees), "" when none.
static char *
s_cluster_of (zcq_msg_t *result)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    char *cluster = NULL;
    if (zcq_msg_status (result) == ZCQ_OK
        && zcq_mpack_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &unpacked) == 0
        && unpacked.data.type == MSGPACK_OBJECT_MAP) {
        msgpack_object_map *map = &unpacked.data.via.map;
        for (uint32_t index = 0; index < map->size && !cluster; index++) {
            msgpack_object *key = &map->ptr [index].key, *value = &map->ptr [index].val;
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 7
                && memcmp (key->via.str.ptr, "cluster", 7) == 0
                && value->type == MSGPACK_OBJECT_STR) {
                cluster = strndup (value->via.str.ptr, value->via.str.size);
            }
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return cluster ? cluster : strdup ("");
}

//  After status: warn when the nodes named belong to different clusters
//  (another cluster's write node or query nodes on these ports), naming
//  each node's cluster; nodes that named none are left out.
static void
s_warn_clusters (const char **endpoints, char **clusters, int count)
{
    const char *first = NULL;
    bool mixed = false;
    for (int index = 0; index < count; index++) {
        if (*clusters [index]) {
            mixed = mixed || (first && !streq (first, clusters [index]));
            first = first ? first : clusters [index];
        }
    }
    if (!mixed) {
        return;
    }
    fprintf (stderr, "zcqrs: warning: these nodes belong to different clusters:\n");
    for (int index = 0; index < count; index++) {
        if (*clusters [index]) {
            fprintf (stderr, "zcqrs:   %s  cluster %s\n", endpoints [index], clusters [index]);
        }
    }
    fprintf (stderr, "zcqrs: give the endpoints of one cluster (--commands, --node, "
                     "--events, --replay)\n");
}

static int
s_status (options_t *options)
{
    int count = 0;
    const char **nodes = s_nodes (options, &count);
    int code = 0;
    const char **endpoints = (const char **) calloc ((size_t) count + 1, sizeof (char *));
    char **clusters = (char **) calloc ((size_t) count + 1, sizeof (char *));
    assert (endpoints && clusters);
    for (int index = -1; index < count; index++) {
        const char *endpoint = index < 0 ? options->commands : nodes [index];
        zcq_client_t *client = zcq_client_new (endpoint);
        if (!client) {
            code = EXIT_USAGE;
            break;
        }
        zcq_msg_t *result = zcq_client_write_status (client, options->timeout);
        endpoints [index + 1] = endpoint;
        clusters [index + 1] = result ? s_cluster_of (result) : strdup ("");
        if (result && options->text) {
            char *line = s_text (result);
            printf ("%s  %s\n", endpoint, line);
            free (line);
        }
        else if (result) {
            char *json = zcq_json_from_msg (result);
            printf ("{\"endpoint\":\"%s\",%s\n", endpoint, json + 1);
            free (json);
        }
        else {
            printf (options->text ? "%s  unreachable (no answer in time)\n"
                                  : "{\"endpoint\":\"%s\",\"status\":\"unreachable\"}\n",
                    endpoint);
            code = EXIT_TIMEOUT;
        }
        fflush (stdout);
        zcq_msg_destroy (&result);
        zcq_client_destroy (&client);
    }
    int answered = 0;
    while (answered < count + 1 && clusters [answered]) {
        answered++;
    }
    if (code != EXIT_USAGE) {
        s_warn_clusters (endpoints, clusters, answered);
    }
    for (int index = 0; index < answered; index++) {
        free (clusters [index]);
    }
    free (clusters);
    free (endpoints);
    return code;
}

//  0 if tail may start at --from; else say that it is past the head (the
//  write node's status names it; no answer: go on and wait) and return
//  EXIT_USAGE.
static int
s_tail_from_ok (options_t *options)
{
    if (options->from <= 1) {
        return 0;
    }
    zcq_client_t *client = zcq_client_new (options->commands);
    zcq_msg_t *status = client ? zcq_client_write_status (
                            client, options->timeout < 2000 ? options->timeout : 2000)
                               : NULL;
    int code = 0;
    //  A write node's status answer reflects its head
    if (status && zcq_msg_status (status) == ZCQ_OK
        && options->from > zcq_msg_position (status) + 1) {
        fprintf (stderr,
                 "zcqrs: position %" PRIu64 " is past the head of the log (%" PRIu64
                 "): the next event will be at %" PRIu64 "; tail --from %" PRIu64
                 " --follow waits for it\n",
                 options->from, zcq_msg_position (status), zcq_msg_position (status) + 1,
                 zcq_msg_position (status) + 1);
        code = EXIT_USAGE;
    }
    zcq_msg_destroy (&status);
    zcq_client_destroy (&client);
    return code;
}

//  Without --follow: has the feed printed everything up to the head it
//  learned from the write node?
static bool
s_caught_up (zcq_feed_t *feed)
{
    return zcq_feed_last_heard (feed) && !zcq_feed_replaying (feed)
           && zcq_feed_ready (feed) == 0 && zcq_feed_covered (feed) >= zcq_feed_head (feed);
}

static int
s_tail (options_t *options)
{
    if (s_tail_from_ok (options) != 0) {
        return EXIT_USAGE;
    }
    //  From the start, or with --follow from what comes next; --since asks
    //  the write node for the first position at that time
    uint64_t from = options->from_set                    ? options->from
                    : options->follow && !options->since ? 0
                                                         : 1;
    if (options->since) {
        if (!options->filter) {
            options->filter = zcq_msg_new (ZCQ_MSG_REPLAY);
        }
        zcq_msg_set_since (options->filter, options->since);
    }
    zcq_feed_t *feed =
        zcq_feed_new_filtered (options->events, options->replay, from, options->filter);
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
            char *line = options->text ? s_text (event) : zcq_json_from_msg (event);
            printf ("%s\n", line);
            free (line);
            zcq_msg_destroy (&event);
            printed++;
            last_event = zclock_mono ();
        }
        fflush (stdout);
        if (options->idle && zclock_mono () - last_event >= options->idle) {
            break;
        }
        if (!options->follow && s_caught_up (feed)) {
            break;
        }
    }
    zpoller_destroy (&poller);
    zcq_feed_destroy (&feed);
    return 0;
}

//  Watch a query on one query node (the first --node, else the first of
//  ZCQRS_NODES, else the default) and print each result until Ctrl-C,
//  --count results or --idle ms without one. A refused watch exits 1.
static int
s_watch (options_t *options)
{
    msgpack_sbuffer params;
    if (s_verb_payload (options, "watch", 1, "a query NAME", &params) != 0) {
        return EXIT_USAGE;
    }
    const char *first = options->node_count       ? options->nodes [0]
                        : options->env_node_count ? options->env_nodes [0]
                                                  : ZCQ_DEFAULT_QUERIES;
    char *node = strndup (first, strcspn (first, ","));
    int code = EXIT_USAGE;
    zcq_watcher_t *watcher = zcq_watcher_new (node);
    if (watcher && s_handshake (options, node, s_probe_wait (options)) != 0) {
        code = EXIT_REFUSED;
    }
    else if (watcher
             && zcq_watcher_watch (watcher, options->words [0], params.data, params.size)
                    >= 0) {
        code = 0;
        int64_t printed = 0;
        int64_t last = zclock_mono ();
        while (!zsys_interrupted && (options->count == 0 || printed < options->count)) {
            zcq_msg_t *update = zcq_watcher_recv (watcher, NULL, 200);
            if (update && zcq_msg_seq (update) == 0) {
                code = s_print (options, update, node); //  refused: says why
                zcq_msg_destroy (&update);
                break;
            }
            if (update) {
                char *line = options->text ? s_text (update) : zcq_json_from_msg (update);
                printf ("%s%s\n", line,
                        options->text && zcq_msg_may_be_stale (update) ? " (may be stale)"
                                                                       : "");
                fflush (stdout);
                free (line);
                zcq_msg_destroy (&update);
                printed++;
                last = zclock_mono ();
            }
            else if (options->idle && zclock_mono () - last >= options->idle) {
                break;
            }
        }
    }
    zcq_watcher_destroy (&watcher);
    free (node);
    msgpack_sbuffer_destroy (&params);
    return code;
}

//  Write a new keypair: DIR/NAME.cert and DIR/NAME.cert_secret.
//  Ask the write node for a backup (one attempt: a resent request would
//  find the first one under way) and print its answer.
static int
s_backup (options_t *options)
{
    if (options->word_count > 1) {
        fprintf (stderr, "zcqrs: backup takes at most a NAME (try --help)\n");
        return EXIT_USAGE;
    }
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, options->word_count);
    if (options->word_count == 1) {
        zcq_mpack_pack_str (&pk, "name");
        zcq_mpack_pack_str (&pk, options->words [0]);
    }
    int code = EXIT_USAGE;
    zcq_client_t *client = zcq_client_new (options->commands);
    if (client && s_handshake (options, options->commands, s_probe_wait (options)) != 0) {
        code = EXIT_REFUSED;
    }
    else if (client) {
        zcq_client_set_attempts (client, 1);
        zcq_msg_t *result =
            zcq_client_query (client, ZCQ_WRITE_NODE, "backup", params.data, params.size, 0,
                              options->timeout_set ? options->timeout : 600000);
        code = s_print (options, result, options->commands);
        zcq_msg_destroy (&result);
    }
    zcq_client_destroy (&client);
    msgpack_sbuffer_destroy (&params);
    return code;
}

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
    //  The name becomes the user id of the key's connections, which every
    //  event it appends records (meta.user): no longer than that may be
    size_t length = strlen (options->words [0]);
    if (length > ZCQ_MAX_USER) {
        fprintf (stderr,
                 "zcqrs: keygen NAME '%.40s...' is %zu bytes; at most %d (it becomes the key's "
                 "user id, which events record)\n",
                 options->words [0], length, ZCQ_MAX_USER);
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
    int count = 0;
    const char **nodes = s_nodes (options, &count);
    for (int index = 0; rc == 0 && options->query_key && index < count; index++) {
        rc = zcq_auth_identity_server (nodes [index], options->query_key, &error);
    }
    if (rc != 0) {
        fprintf (stderr, "zcqrs: %s\n", error);
        zstr_free (&error);
    }
    return rc;
}

//  Do what the verb says, with the parsed options->
static int
s_verb (options_t *options, const char *verb)
{
    if (streq (verb, "keygen")) {
        return s_keygen (options);
    }
    if (s_secure (options) != 0) {
        return EXIT_USAGE;
    }
    if (streq (verb, "send")) {
        return s_send (options);
    }
    if (streq (verb, "delete")) {
        return s_stream_command (options, verb, ZCQ_DELETE_STREAM);
    }
    if (streq (verb, "forget")) {
        return s_stream_command (options, verb, ZCQ_FORGET);
    }
    if (streq (verb, "query")) {
        return s_query (options);
    }
    if (streq (verb, "status")) {
        return s_status (options);
    }
    if (streq (verb, "tail")) {
        return s_tail (options);
    }
    if (streq (verb, "backup")) {
        return s_backup (options);
    }
    if (streq (verb, "watch")) {
        return s_watch (options);
    }
    fprintf (stderr,
             "zcqrs: unknown command '%s' (send, delete, forget, query, tail, watch, status, "
             "keygen; "
             "zcqrs --help)\n",
             verb);
    return EXIT_USAGE;
}

//  Parse the flags over what the environment said, and run the verb.
static int
s_run (int argc, char **argv, options_t *options_p, const char **verb_p)
{
    options_t options = *options_p;
    const char *verb = *verb_p;
    int code =
        s_parse (argc, argv, &options, &verb) == 0 ? s_verb (&options, verb) : EXIT_USAGE;
    zcq_msg_destroy (&options.filter); //  tail's filter, made while parsing
    return code;
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
    //  Text for a person at a terminal, JSON for everything else
    options.text = isatty (STDOUT_FILENO);
    char *nodes_text = NULL;
    int code = s_environment (&options, &nodes_text) == 0 ? s_run (argc, argv, &options, &verb)
                                                          : EXIT_USAGE;
    free (nodes_text);
    return code;
}
