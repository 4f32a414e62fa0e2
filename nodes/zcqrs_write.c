/*  =========================================================================
    zcqrs-write - the write node program: flags and ZPL config -> actor -> wait
    =========================================================================
*/

#include "zcqrs.h"

static const zcq_option_t s_options [] = {
    {"--commands", "write/commands", "ROUTER endpoint for commands [" ZCQ_DEFAULT_COMMANDS "]"},
    {"--events", "write/events", "PUB endpoint for events [" ZCQ_DEFAULT_EVENTS "]"},
    {"--replay", "write/replay", "ROUTER endpoint for replay [" ZCQ_DEFAULT_REPLAY "]"},
    {"--data", "write/data", "LevelDB folder of the event log [var/write]"},
    {"--domain", "write/domain", "domain name or path to a domain .so [bank]"},
    {"--durability", "write/durability", "sync (ack after fdatasync) or async [sync]"},
    {"--heartbeat", "write/heartbeat", "milliseconds between heartbeats [1000]"},
    {"--cache", "write/cache", "aggregate states kept in memory [10000]"},
    {"--group", "write/group",
     "most commands decided into one group while a write is under way [1024]"},
    {"--queue", "write/queue",
     "most commands queued undecided while the next group is full; then 'busy' [10000]"},
    {"--client-inflight", "write/client_inflight",
     "most commands of one connection waiting for a write; then 'busy' [1024]"},
    {"--snapshot", "write/snapshot", "events between aggregate snapshots, 0: never [1000]"},
    {"--keep-ids", "write/ids/keep", "most command ids remembered for retries [10000000]"},
    {"--ids-max-age", "write/ids/max_age",
     "seconds a command id is remembered for retries [604800]"},
    {"--fault-drop-every", "write/fault/drop_every",
     "test seam: leave every Nth event unpublished, for replay tests [0: off]"},
    {"--fault-write-delay", "write/fault/write_delay",
     "test seam: every batch write waits N ms, as a slow disk [0: off]"},
    {NULL, NULL, NULL},
};

int
main (int argc, char **argv)
{
    return zcq_node_main ("zcqrs-write", zcq_write_node_actor, s_options, argc, argv);
}
