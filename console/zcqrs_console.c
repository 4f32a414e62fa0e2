/*  =========================================================================
    zcqrs-console - the web console of a zcqrs cluster: flags and ZPL config
    -> console actor -> wait (see console/zcq_console.h)
    =========================================================================
*/

#include "zcq_console.h"

int
main (int argc, char **argv)
{
    return zcq_node_main ("zcqrs-console", zcq_console_actor, zcq_console_settings (), argc,
                          argv);
}
