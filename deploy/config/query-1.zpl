#   zcqrs query node 1: follows the write node's events, keeps the read
#   models of its domain in LevelDB and answers queries with the position
#   they reflect. Run as many as you like, each with its own queries
#   endpoint and data folder.
#
#   Start it with:  build/zcqrs-query --config deploy/config/query-1.zpl
#   A flag overrides the setting of the same name (--data DIR, ...).
#   Relative paths are taken from the folder the node starts in;
#   deploy/run-local.sh starts it in the repository root and passes --data
#   from ZCQRS_DATA (default var/). Format: ZPL (rfc.zeromq.org/spec:4),
#   4-space indent, '#' starts a comment.

query
    #   Write node PUB to subscribe to (EVENTs and HEARTBEATs)
    events = "tcp://127.0.0.1:5602"
    #   Write node replay ROUTER, to catch up and to repair holes
    replay = "tcp://127.0.0.1:5603"
    #   ROUTER on which this node answers QUERYs
    queries = "tcp://127.0.0.1:5611"
    #   HTTP address of its Prometheus metrics, served at /metrics (leave
    #   it out to serve none; port 0 takes any free port)
    metrics = "127.0.0.1:9611"
    #   Where the read models live: "leveldb" (in data, durable) or
    #   "memory" (fastest reads; rebuilt from the write node's replay at
    #   every start)
    storage = "leveldb"
    #   With storage = "memory": MiB the read models may hold; past it the
    #   node stops applying and says so in its log and its status
    memory_limit = 1024
    #   LevelDB folder of the read models and the applied position
    data = "var/query-1"
    #   Domain that projects events and answers queries: "bank", "store" or
    #   a path to a .so (the same as the write node's)
    domain = "bank"
    #   Milliseconds a query waits for the node to reach its min_position
    #   when the query does not say how long ("stale" after that)
    wait = 1000
    #   Heartbeat intervals without a word from the write node before this
    #   node reports it unreachable (queries are still answered, flagged
    #   may_be_stale)
    silence = 3
    #   SUB receive queue in messages; events that overflow it are repaired
    #   through replay
    hwm = 100000
    #   Milliseconds a replay request may go unanswered before the node
    #   gives it up (it asks again once an event is known to be missing)
    replay_timeout = 2000
    #   Read-model values kept in memory (saves LevelDB reads of hot keys)
    cache = 100000
    #   1: fold the log again into a second keyspace while these read models
    #   serve, then switch (or start once with the flag --rebuild)
    rebuild = 0
