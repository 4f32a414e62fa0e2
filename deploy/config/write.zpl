#   zcqrs write node: the one node that takes commands and owns the event log.
#
#   Start it with:  build/zcqrs-write --config deploy/config/write.zpl
#   A flag overrides the setting of the same name (--data DIR, --durability
#   async, ...). Relative paths are taken from the folder the node starts
#   in; deploy/run-local.sh starts it in the repository root and passes
#   --data from ZCQRS_DATA (default var/). Format: ZPL (rfc.zeromq.org/spec:4),
#   4-space indent, '#' starts a comment.

write
    #   ROUTER that takes COMMANDs from clients and answers the "status" query
    commands = "tcp://127.0.0.1:5601"
    #   PUB on which committed EVENTs and HEARTBEATs go to the query nodes
    events = "tcp://127.0.0.1:5602"
    #   ROUTER that serves REPLAY: ranges of the stored log for catch-up
    replay = "tcp://127.0.0.1:5603"
    #   HTTP address of its Prometheus metrics, served at /metrics (leave
    #   it out to serve none; port 0 takes any free port)
    metrics = "127.0.0.1:9601"
    #   LevelDB folder of the event log (events, stream index, command ids)
    data = "var/write"
    #   Domain that decides commands: "bank", "store" or a path to a .so
    #   (must be the same on the write node and every query node)
    domain = "bank"
    #   sync: reply "accepted" only after the group is fdatasync'ed to disk;
    #   async: reply once LevelDB has the batch (faster, a machine crash
    #   may lose the last acknowledged commands)
    durability = "sync"
    #   Milliseconds between HEARTBEATs on the PUB (at least 10); query
    #   nodes use them to tell a quiet log from a dead write node
    heartbeat = 1000
    #   Aggregate states kept in memory (LRU); a miss rebuilds the state
    #   from the stream's events (raised to at least `group`)
    cache = 10000
    #   Most commands decided and written as one LevelDB batch (group commit)
    group = 256
