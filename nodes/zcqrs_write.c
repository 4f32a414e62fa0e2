/*  =========================================================================
    zcqrs-write - the write node program: flags and ZPL config -> actor -> wait
    =========================================================================
*/

#include "zcqrs.h"

int
main (int argc, char **argv)
{
    return zcq_node_main ("zcqrs-write", zcq_write_node_actor, zcq_write_node_settings (), argc,
                          argv);
}
