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
    {NULL, NULL, NULL},
};

int
main (int argc, char **argv)
{
    return zcq_node_main ("zcqrs-query", zcq_query_node_actor, s_options, argc, argv);
}
