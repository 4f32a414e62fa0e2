/*  =========================================================================
    zcqrs-query - the query node program: flags and ZPL config -> actor -> wait
    =========================================================================
*/

#include "zcqrs.h"

int
main (int argc, char **argv)
{
    return zcq_node_main ("zcqrs-query", zcq_query_node_actor, zcq_query_node_settings (), argc,
                          argv);
}
