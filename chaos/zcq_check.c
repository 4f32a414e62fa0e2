/*  =========================================================================
    zcq-check - verify a chaos run: the workload's history, the write node's
    whole log (read through replay) and every query node's answers

    usage: zcq-check --history FILE --commands EP --replay EP --query EP ...
                     [--faults N] [--wait MS] [--json FILE]

    Invariants (the numbers the summary and the JSON use):
      1  every acknowledged command's events are in the log exactly once, as
         its reply says; no event exists for a rejected or conflicting one;
         no event carries a command id the history never sent
      2  global positions are dense; each stream's versions are contiguous
      3  no balance is ever negative; every balance a query node answered
         during the run equals the fold of the log at that version; the sum
         of balances equals accepted deposits minus accepted withdrawals
      4  once the faults stop, every query node reaches the head and answers
         every account and the totals as the fold of the log does (and, when
         the nodes have a "checksum" query, all checksums agree)
      5  every command has a final reply (after its retries), and every final
         reply to the same id says the same
    Prints a summary; exits 0 if all hold, 1 on a violation (the first one's
    details are printed), 2 on bad usage, 3 if the cluster could not be read.
    =========================================================================
*/

#include "zcq_history.h"
#include "zcq_ledger.h"

#define MAX_NODES 16

typedef struct {
    const char *history;             //  history file
    const char *commands;            //  write node commands endpoint (status)
    const char *replay;              //  write node replay endpoint
    const char *queries [MAX_NODES]; //  query node endpoints
    int query_count;
    long faults;      //  faults the run injected (for the summary)
    int wait;         //  ms to wait for nodes to answer / catch up
    const char *json; //  JSON report path, or NULL
} options_t;

static const char *s_names [ZCQ_INVARIANTS + 1] = {
    NULL,
    "acknowledged commands' events in the log exactly once, none for refused ones",
    "global positions dense, stream versions contiguous",
    "balances never negative, equal to the fold of their events, sum = deposits - withdrawals",
    "every query node's read models equal a rebuild from the log",
    "every command has a reply or its retries show its fate",
};

//  Read the whole log through replay into the ledger. Returns 0, or -1 if
//  the write node did not answer in time.
static int
s_read_log (options_t *options, zcq_ledger_t *ledger, zcq_verdict_t *verdict)
{
    zsock_t *replay = zsock_new (ZMQ_DEALER);
    assert (replay);
    zsock_set_linger (replay, 0);
    zsock_set_maxmsgsize (replay, ZCQ_HARD_MAXMSG);
    if (zsock_connect (replay, "%s", options->replay) != 0) {
        zsock_destroy (&replay);
        return -1;
    }
    int64_t deadline = zclock_mono () + options->wait;
    int rc = -1;
    while (zclock_mono () < deadline) {
        uint64_t from = zcq_ledger_head (ledger) + 1;
        zcq_msg_t *request = zcq_msg_new (ZCQ_MSG_REPLAY);
        zcq_msg_set_from (request, from);
        zcq_msg_set_max (request, ZCQ_MAX_EVENTS);
        zcq_msg_send (request, replay);
        zcq_msg_destroy (&request);
        //  One REPLAY out at a time; an answer to an earlier one that timed
        //  out has another `from` and is skipped
        zcq_msg_t *answer = NULL;
        zpoller_t *poller = zpoller_new (replay, NULL);
        while (!answer && zpoller_wait (poller, 2000)) {
            answer = zcq_msg_recv (replay);
            if (answer
                && (zcq_msg_type (answer) != ZCQ_MSG_EVENTS || zcq_msg_from (answer) != from)) {
                zcq_msg_destroy (&answer);
            }
        }
        zpoller_destroy (&poller);
        if (!answer) {
            continue;
        }
        size_t count = zcq_msg_event_count (answer);
        for (size_t index = 0; index < count; index++) {
            zframe_t *frame = zcq_msg_event_frame (answer, index);
            zcq_msg_t *event =
                zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
            if (zcq_msg_valid (event)) {
                zcq_ledger_apply (ledger, event, verdict);
            }
            else {
                zcq_verdict_add (verdict, 2,
                                 "the event after position %" PRIu64 " does not decode: %s",
                                 zcq_ledger_head (ledger), zcq_msg_error (event));
            }
            zcq_msg_destroy (&event);
        }
        bool done = count == 0 || zcq_ledger_head (ledger) >= zcq_msg_head (answer);
        bool stuck = count > 0 && zcq_ledger_head (ledger) < from;
        zcq_msg_destroy (&answer);
        if (done || stuck) {
            rc = 0;
            break;
        }
    }
    zsock_destroy (&replay);
    return rc;
}

//  Invariants 1 and 5: the history against the log.
static void
s_check_commands (zcq_history_log_t *history, zcq_ledger_t *ledger, zcq_verdict_t *verdict)
{
    for (zcq_history_command_t *command =
             (zcq_history_command_t *) zlistx_first (history->commands);
         command; command = (zcq_history_command_t *) zlistx_next (history->commands)) {
        zcq_ledger_tally_t *tally = zcq_ledger_tally (ledger, command->id);
        if (!command->answered) {
            zcq_verdict_add (verdict, 5,
                             "command %s (%s '%s' amount %" PRId64 ") was sent %d"
                             " times over %.1f s and never got a final reply (%d time-outs,"
                             " %d busy/unavailable); the log holds %u events of it",
                             command->id, command->type, command->stream, command->amount,
                             command->tries, (command->last_us - command->first_us) / 1e6,
                             command->timeouts, command->retryable, tally ? tally->count : 0);
            continue;
        }
        if (command->disagreement) {
            zcq_verdict_add (verdict, 5, "command %s (%s '%s') got different final replies: %s",
                             command->id, command->type, command->stream,
                             command->disagreement);
        }
        if (command->status == ZCQ_ACCEPTED) {
            if (!tally || tally->count != command->count) {
                zcq_verdict_add (verdict, 1,
                                 "command %s (%s '%s' amount %" PRId64 ") was"
                                 " accepted with %u events at position %" PRIu64
                                 ", but the log holds %u events of it",
                                 command->id, command->type, command->stream, command->amount,
                                 command->count, command->position, tally ? tally->count : 0);
            }
            else if (tally->position != command->position
                     || tally->version != command->version) {
                zcq_verdict_add (verdict, 1,
                                 "command %s (%s '%s') was accepted at position %" PRIu64
                                 " version %" PRIu64 ", but its event in the log is at"
                                 " position %" PRIu64 " version %" PRIu64,
                                 command->id, command->type, command->stream, command->position,
                                 command->version, tally->position, tally->version);
            }
            else if (tally->amount != command->amount) {
                zcq_verdict_add (verdict, 1,
                                 "command %s (%s '%s') asked for amount %" PRId64
                                 ", its event %s at position %" PRIu64 " says %" PRId64,
                                 command->id, command->type, command->stream, command->amount,
                                 tally->type, tally->position, tally->amount);
            }
        }
        else if (tally) {
            zcq_verdict_add (verdict, 1,
                             "command %s (%s '%s') was answered %s, but the log"
                             " holds %u events of it (the last at position %" PRIu64 ")",
                             command->id, command->type, command->stream,
                             zcq_status_name (command->status), tally->count, tally->position);
        }
    }
    zhashx_t *tallies = zcq_ledger_tallies (ledger);
    for (zcq_ledger_tally_t *tally = (zcq_ledger_tally_t *) zhashx_first (tallies); tally;
         tally = (zcq_ledger_tally_t *) zhashx_next (tallies)) {
        const char *id = (const char *) zhashx_cursor (tallies);
        if (!zhashx_lookup (history->by_id, id)) {
            zcq_verdict_add (verdict, 1,
                             "the log holds %s at position %" PRIu64 " of command %s,"
                             " which the history never sent",
                             tally->type, tally->position, id);
        }
    }
}

//  Invariant 3: sums, and the balances the workload read during the run.
static void
s_check_balances (zcq_history_log_t *history, zcq_ledger_t *ledger, zcq_verdict_t *verdict)
{
    int64_t deposits = 0, withdrawals = 0;
    for (zcq_history_command_t *command =
             (zcq_history_command_t *) zlistx_first (history->commands);
         command; command = (zcq_history_command_t *) zlistx_next (history->commands)) {
        if (command->answered && command->status == ZCQ_ACCEPTED) {
            if (streq (command->type, "Deposit")) {
                deposits += command->amount;
            }
            else if (streq (command->type, "Withdraw")) {
                withdrawals += command->amount;
            }
        }
    }
    int64_t total = zcq_ledger_total (ledger, NULL, NULL);
    if (total != deposits - withdrawals) {
        zcq_verdict_add (verdict, 3,
                         "the balances in the log add up to %" PRId64 ", but accepted"
                         " deposits (%" PRId64 ") minus accepted withdrawals (%" PRId64
                         ") are %" PRId64,
                         total, deposits, withdrawals, deposits - withdrawals);
    }
    for (zcq_history_query_t *query = (zcq_history_query_t *) zlistx_first (history->queries);
         query; query = (zcq_history_query_t *) zlistx_next (history->queries)) {
        zcq_ledger_account_t *account = zcq_ledger_account (ledger, query->stream);
        uint64_t version = account ? zcq_ledger_version_at (account, query->position) : 0;
        if (query->balance < 0) {
            zcq_verdict_add (verdict, 3, "query node %d answered balance %" PRId64 " for '%s'",
                             query->node, query->balance, query->stream);
        }
        else if (!account || query->version > account->version) {
            zcq_verdict_add (verdict, 3,
                             "query node %d answered version %" PRIu64 " of '%s',"
                             " which the log never reached",
                             query->node, query->version, query->stream);
        }
        else if (query->version != version
                 || query->balance != account->balances [query->version]) {
            zcq_verdict_add (verdict, 3,
                             "query node %d answered '%s' at position %" PRIu64
                             " with version %" PRIu64 " balance %" PRId64 "; the log there says"
                             " version %" PRIu64 " balance %" PRId64,
                             query->node, query->stream, query->position, query->version,
                             query->balance, version, account->balances [version]);
        }
    }
}

//  Ask node `node` a query with one string param (or none); returns the
//  RESULT or NULL.
static zcq_msg_t *
s_ask (zcq_client_t *client, int node, const char *name, const char *key, const char *value,
       uint64_t min_position, int timeout)
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &params, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, key ? 1 : 0);
    if (key) {
        zcq_mpack_pack_str (&packer, key);
        zcq_mpack_pack_str (&packer, value);
    }
    zcq_msg_t *result =
        zcq_client_query (client, node, name, params.data, params.size, min_position, timeout);
    msgpack_sbuffer_destroy (&params);
    return result;
}

//  Compare one account answer with the ledger's account; 0 if equal.
static int
s_compare_account (int node, zcq_msg_t *result, zcq_ledger_account_t *account,
                   zcq_verdict_t *verdict)
{
    if (!result || zcq_msg_status (result) != ZCQ_OK) {
        zcq_verdict_add (verdict, 4,
                         "query node %d did not answer account '%s' (opened at"
                         " position %" PRIu64 ", last event at %" PRIu64 "): %s %s",
                         node, account->stream, account->positions [1],
                         account->positions [account->version],
                         result ? zcq_status_name (zcq_msg_status (result)) : "no answer",
                         result ? zcq_msg_reason (result) : "in time");
        return -1;
    }
    msgpack_unpacked unpacked;
    if (zcq_mpack_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &unpacked) != 0) {
        zcq_verdict_add (verdict, 4, "query node %d answered account '%s' with no map", node,
                         account->stream);
        return -1;
    }
    char status [16] = "", owner [160] = "";
    const msgpack_object *value = zcq_map_get (&unpacked.data, "status");
    if (value && value->type == MSGPACK_OBJECT_STR && value->via.str.size < sizeof (status)) {
        memcpy (status, value->via.str.ptr, value->via.str.size);
    }
    value = zcq_map_get (&unpacked.data, "owner");
    if (value && value->type == MSGPACK_OBJECT_STR && value->via.str.size < sizeof (owner)) {
        memcpy (owner, value->via.str.ptr, value->via.str.size);
    }
    int64_t balance = zcq_history_int (&unpacked.data, "balance", -1);
    uint64_t version = (uint64_t) zcq_history_int (&unpacked.data, "version", -1);
    msgpack_unpacked_destroy (&unpacked);
    const char *want = account->closed ? "closed" : "open";
    if (balance != account->balance || version != account->version || !streq (status, want)
        || !streq (owner, account->owner)) {
        zcq_verdict_add (
            verdict, 4,
            "query node %d at position %" PRIu64 " answers account"
            " '%s' as owner '%s' balance %" PRId64 " %s version %" PRIu64
            "; the log says owner '%s' balance %" PRId64 " %s version %" PRIu64
            " (the node's version is followed by the event at position %" PRIu64 ")",
            node, zcq_msg_position (result), account->stream, owner, balance, status, version,
            account->owner, account->balance, want, account->version,
            version < account->version ? account->positions [version + 1] : 0);
        return -1;
    }
    return 0;
}

//  Invariant 4 for one query node.
static void
s_check_node (options_t *options, zcq_client_t *client, int node, zcq_ledger_t *ledger,
              zcq_verdict_t *verdict, char **checksum)
{
    uint64_t head = zcq_ledger_head (ledger);
    //  Catch up first: a bounded wait for the node to apply the whole log
    int64_t deadline = zclock_mono () + options->wait;
    uint64_t applied = 0;
    while (true) {
        zcq_msg_t *status = s_ask (client, node, "status", NULL, NULL, 0, 1000);
        if (status && zcq_msg_status (status) == ZCQ_OK) {
            applied = zcq_msg_position (status);
        }
        zcq_msg_destroy (&status);
        if (applied >= head || zclock_mono () >= deadline) {
            break;
        }
        zclock_sleep (200);
    }
    if (applied < head) {
        zcq_verdict_add (verdict, 4,
                         "query node %d (%s) applied only %" PRIu64 " of %" PRIu64
                         " events after waiting %d ms",
                         node, options->queries [node], applied, head, options->wait);
        return;
    }
    zhashx_t *accounts = zcq_ledger_accounts (ledger);
    for (zcq_ledger_account_t *account = (zcq_ledger_account_t *) zhashx_first (accounts);
         account; account = (zcq_ledger_account_t *) zhashx_next (accounts)) {
        if (account->owner) {
            zcq_msg_t *result =
                s_ask (client, node, "account", "id", account->stream, head, 5000);
            s_compare_account (node, result, account, verdict);
            zcq_msg_destroy (&result);
        }
    }
    size_t opened = 0, open = 0;
    int64_t total = zcq_ledger_total (ledger, &opened, &open);
    zcq_msg_t *result = s_ask (client, node, "totals", NULL, NULL, head, 5000);
    msgpack_unpacked unpacked;
    if (result && zcq_msg_status (result) == ZCQ_OK
        && zcq_mpack_unpack (zcq_msg_data (result), zcq_msg_data_size (result), &unpacked)
               == 0) {
        int64_t accounts_seen = zcq_history_int (&unpacked.data, "accounts", -1);
        int64_t open_seen = zcq_history_int (&unpacked.data, "open_accounts", -1);
        int64_t balance_seen = zcq_history_int (&unpacked.data, "balance", -1);
        int64_t events_seen = zcq_history_int (&unpacked.data, "events", -1);
        msgpack_unpacked_destroy (&unpacked);
        if (accounts_seen != (int64_t) opened || open_seen != (int64_t) open
            || balance_seen != total || events_seen != (int64_t) head) {
            zcq_verdict_add (verdict, 4,
                             "query node %d answers totals accounts %" PRId64 " open %" PRId64
                             " balance %" PRId64 " events %" PRId64
                             "; the log says %zu, %zu, %" PRId64 ", %" PRIu64,
                             node, accounts_seen, open_seen, balance_seen, events_seen, opened,
                             open, total, head);
        }
    }
    else {
        zcq_verdict_add (verdict, 4, "query node %d did not answer 'totals': %s", node,
                         result ? zcq_msg_reason (result) : "no answer in time");
    }
    zcq_msg_destroy (&result);

    //  The built-in checksum, where the nodes have one: every node the same
    result = s_ask (client, node, "checksum", NULL, NULL, head, 5000);
    if (result && zcq_msg_status (result) == ZCQ_OK) {
        char *text = zcq_json_from_msgpack (zcq_msg_data (result), zcq_msg_data_size (result));
        if (!*checksum) {
            *checksum = text;
        }
        else {
            if (!streq (*checksum, text ? text : "")) {
                zcq_verdict_add (verdict, 4,
                                 "query node %d's checksum %s differs from query"
                                 " node 0's %s",
                                 node, text, *checksum);
            }
            free (text);
        }
        zcq_verdict_note (verdict, 4,
                          "accounts and totals against the fold of the log, and"
                          " the nodes' checksum queries against each other");
    }
    else if (!verdict->note [4] || !strstr (verdict->note [4], "checksum queries")) {
        zcq_verdict_note (verdict, 4,
                          "accounts and totals against the fold of the log (the"
                          " nodes have no checksum query: %s)",
                          result ? zcq_msg_reason (result) : "no answer");
    }
    zcq_msg_destroy (&result);
}

static int
s_usage (void)
{
    fprintf (stderr,
             "usage: zcq-check --history FILE --commands EP --replay EP --query EP ...\n"
             "                 [--faults N] [--wait MS] [--json FILE]\n");
    return 2;
}

int
main (int argc, char **argv)
{
    options_t options = {.wait = 60000};
    for (int index = 1; index + 1 < argc; index += 2) {
        const char *arg = argv [index], *value = argv [index + 1];
        if (streq (arg, "--history")) {
            options.history = value;
        }
        else if (streq (arg, "--commands")) {
            options.commands = value;
        }
        else if (streq (arg, "--replay")) {
            options.replay = value;
        }
        else if (streq (arg, "--query") && options.query_count < MAX_NODES) {
            options.queries [options.query_count++] = value;
        }
        else if (streq (arg, "--faults")) {
            options.faults = atol (value);
        }
        else if (streq (arg, "--wait")) {
            options.wait = atoi (value);
        }
        else if (streq (arg, "--json")) {
            options.json = value;
        }
        else {
            fprintf (stderr, "zcq-check: unknown option '%s'\n", arg);
            return s_usage ();
        }
    }
    if (argc % 2 == 0 || !options.history || !options.commands || !options.replay
        || !options.query_count) {
        return s_usage ();
    }
    zsys_init ();
    zsys_set_logident ("zcq-check");

    zcq_history_log_t history;
    char *error = NULL;
    if (zcq_history_load (options.history, &history, &error) != 0) {
        fprintf (stderr, "zcq-check: %s\n", error);
        free (error);
        zcq_history_log_free (&history);
        return 2;
    }
    zcq_verdict_t verdict;
    memset (&verdict, 0, sizeof (verdict));
    zcq_ledger_t *ledger = zcq_ledger_new ();
    if (s_read_log (&options, ledger, &verdict) != 0) {
        fprintf (stderr,
                 "zcq-check: the write node's replay endpoint %s did not answer in %d ms\n",
                 options.replay, options.wait);
        zcq_ledger_destroy (&ledger);
        zcq_history_log_free (&history);
        return 3;
    }
    s_check_commands (&history, ledger, &verdict);
    s_check_balances (&history, ledger, &verdict);
    zcq_client_t *client = zcq_client_new (options.commands);
    char *checksum = NULL;
    for (int node = 0; node < options.query_count; node++) {
        zcq_client_add_query_node (client, options.queries [node]);
    }
    for (int node = 0; node < options.query_count; node++) {
        s_check_node (&options, client, node, ledger, &verdict, &checksum);
    }
    free (checksum);
    zcq_client_destroy (&client);

    //  Summary: the figures, then each invariant
    size_t acknowledged = 0, statuses [ZCQ_STATUSES] = {0}, retried = 0, unanswered = 0;
    for (zcq_history_command_t *command =
             (zcq_history_command_t *) zlistx_first (history.commands);
         command; command = (zcq_history_command_t *) zlistx_next (history.commands)) {
        if (command->answered) {
            acknowledged++;
            statuses [command->status]++;
        }
        else {
            unanswered++;
        }
        retried += command->tries > 1 || command->resends > 0;
    }
    size_t accounts = 0;
    zcq_ledger_total (ledger, &accounts, NULL);
    printf ("commands: %zu sent (%zu sends), %zu acknowledged (%zu accepted, %zu rejected,"
            " %zu conflict, %zu other), %zu retried, %zu unanswered; %zu balance queries\n",
            zlistx_size (history.commands), history.sends, acknowledged,
            statuses [ZCQ_ACCEPTED], statuses [ZCQ_REJECTED], statuses [ZCQ_CONFLICT],
            acknowledged - statuses [ZCQ_ACCEPTED] - statuses [ZCQ_REJECTED]
                - statuses [ZCQ_CONFLICT],
            retried, unanswered, zlistx_size (history.queries));
    printf ("log: %" PRIu64 " events, %zu accounts; %d query nodes; faults injected: %ld\n",
            zcq_ledger_head (ledger), accounts, options.query_count, options.faults);
    FILE *json = options.json ? fopen (options.json, "w") : NULL;
    if (json) {
        fprintf (
            json,
            "{\"commands\":{\"sent\":%zu,\"sends\":%zu,\"acknowledged\":%zu,\"accepted\":%zu,"
            "\"rejected\":%zu,\"conflict\":%zu,\"retried\":%zu,\"unanswered\":%zu},"
            "\"queries\":%zu,\"events\":%" PRIu64 ",\"accounts\":%zu,\"query_nodes\":%d,"
            "\"faults\":%ld,\"invariants\":[",
            zlistx_size (history.commands), history.sends, acknowledged,
            statuses [ZCQ_ACCEPTED], statuses [ZCQ_REJECTED], statuses [ZCQ_CONFLICT], retried,
            unanswered, zlistx_size (history.queries), zcq_ledger_head (ledger), accounts,
            options.query_count, options.faults);
    }
    for (int invariant = 1; invariant <= ZCQ_INVARIANTS; invariant++) {
        size_t violations = verdict.violations [invariant];
        if (violations) {
            printf ("invariant %d (%s): FAIL, %zu violations; first: %s\n", invariant,
                    s_names [invariant], violations, verdict.first [invariant]);
            if (verdict.more [invariant]) {
                char *lines = strdup (verdict.more [invariant]);
                for (char *line = strtok (lines, "\n"); line; line = strtok (NULL, "\n")) {
                    printf ("    then: %s\n", line);
                }
                free (lines);
            }
        }
        else {
            printf ("invariant %d (%s): PASS%s%s%s\n", invariant, s_names [invariant],
                    verdict.note [invariant] ? " (" : "",
                    verdict.note [invariant] ? verdict.note [invariant] : "",
                    verdict.note [invariant] ? ")" : "");
        }
        if (json) {
            char first [2048], note [1024];
            zcq_history_quote (first, sizeof (first),
                               verdict.first [invariant] ? verdict.first [invariant] : "");
            zcq_history_quote (note, sizeof (note),
                               verdict.note [invariant] ? verdict.note [invariant] : "");
            fprintf (json,
                     "%s{\"invariant\":%d,\"name\":\"%s\",\"pass\":%s,\"violations\":%zu,"
                     "\"first\":%s,\"note\":%s}",
                     invariant > 1 ? "," : "", invariant, s_names [invariant],
                     violations ? "false" : "true", violations, first, note);
        }
    }
    size_t total = zcq_verdict_total (&verdict);
    if (json) {
        fprintf (json, "],\"pass\":%s}\n", total ? "false" : "true");
        fclose (json);
    }
    printf ("%s\n", total ? "FAIL" : "PASS");
    zcq_verdict_free (&verdict);
    zcq_ledger_destroy (&ledger);
    zcq_history_log_free (&history);
    return total ? 1 : 0;
}
