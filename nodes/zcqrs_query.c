/*  =========================================================================
    zcqrs-query - the query node program: flags and ZPL config -> actor -> wait
    =========================================================================
*/

#include "zcqrs.h"

static const zcq_option_t s_options [] = {
    {"--events", "query/events", "write node PUB endpoint [" ZCQ_DEFAULT_EVENTS "]"},
    {"--replay", "query/replay", "write node replay endpoint [" ZCQ_DEFAULT_REPLAY "]"},
    {"--queries", "query/queries", "ROUTER endpoint for queries [" ZCQ_DEFAULT_QUERIES "]"},
    {"--data", "query/data", "LevelDB folder of the read models [var/query-1]"},
    {"--domain", "query/domain", "domain name or path to a domain .so [bank]"},
    {"--wait", "query/wait", "default ms a query waits for its min_position [1000]"},
    {"--silence", "query/silence",
     "heartbeats missed before the write node counts as unreachable [3]"},
    {"--hwm", "query/hwm", "SUB receive queue in messages; overflow is repaired [100000]"},
    {"--cache", "query/cache", "read-model values kept in memory [100000]"},
    {"--rebuild", "query/rebuild",
     "1: rebuild the read models from the log beside the serving ones, then switch "
     "(a bare --rebuild means 1) [0]"},
    {"--fault-apply-delay-ms", "query/fault/apply_delay_ms",
     "test seam: hold every event this many ms before applying it [0: off]"},
    {NULL, NULL, NULL},
};

int
main (int argc, char **argv)
{
    //  A bare --rebuild (last, or followed by another flag) means --rebuild 1
    char **args = (char **) calloc ((size_t) argc * 2 + 1, sizeof (char *));
    assert (args);
    int count = 0;
    for (int index = 0; index < argc; index++) {
        args [count++] = argv [index];
        if (index > 0 && streq (argv [index], "--rebuild")
            && (index + 1 == argc || strncmp (argv [index + 1], "--", 2) == 0)) {
            args [count++] = (char *) "1";
        }
    }
    int rc = zcq_node_main ("zcqrs-query", zcq_query_node_actor, s_options, count, args);
    free (args);
    return rc;
}
