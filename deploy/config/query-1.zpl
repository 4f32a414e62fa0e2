#   zcqrs-query: query node 1 of the default local cluster.
#
#   Made from the node's settings table by `make settings-doc` (tests/test_settings
#   fails when they differ): every setting, its help, and its default or the
#   value this file gives it. Start the node with
#       build/zcqrs-query --config deploy/config/query-1.zpl
#   A flag overrides the setting it names. A relative path here is taken from
#   this file's folder. `make run` writes its own files (var/conf/*.zpl).
#   Format: ZPL (rfc.zeromq.org/spec:4), 4-space indent, '#' starts a comment.

query
    #   the write node's PUB endpoint, to subscribe to (flag --events)
    events = "tcp://127.0.0.1:5602"
    #   the write node's replay endpoint (flag --replay)
    replay = "tcp://127.0.0.1:5603"
    #   ROUTER endpoint it binds for queries (flag --queries)
    queries = "tcp://127.0.0.1:5611"
    #   HTTP address it serves Prometheus metrics on, at /metrics (e.g. 127.0.0.1:9611; port
    #   0: any free port); unset: none (flag --metrics)
    metrics = "127.0.0.1:9611"
    #   LevelDB folder of the read models (flag --data)
    data = "../../var/query-1"
    #   where the read models live: leveldb (in --data, durable) or memory (fastest reads;
    #   at start loaded from its snapshot in --data, else rebuilt from the write node's
    #   replay) (flag --storage)
    storage = "leveldb"
    #   storage memory: MiB the read models may hold; past it the node stops applying, says
    #   so in its log and status, and serves what it holds (flag --memory-limit)
    memory_limit = 1024
    #   storage memory: seconds between snapshots of the read models to DATA/memory.snapshot
    #   (and one at a clean stop), loaded at start instead of replaying the whole log (0:
    #   none, always rebuilt from replay) (flag --snapshot)
    snapshot = 60
    #   domain: bank, store, or the path of a domain .so; the write node's (flag --domain)
    domain = "bank"
    #   milliseconds a query waits for its min_position unless it says otherwise (flag
    #   --wait)
    wait = 1000
    #   heartbeat intervals without a word from the write node before it counts as
    #   unreachable (answers then say may_be_stale) (flag --silence)
    silence = 3
    #   SUB receive queue in messages; what overflows is repaired by replay (flag --hwm)
    hwm = 100000
    #   milliseconds a replay request may go unanswered before the feed gives it up (it asks
    #   again once an event is known to be missing) (flag --replay-timeout)
    replay_timeout = 2000
    #   leveldb: milliseconds the read models' batch may be held unwritten, so that the
    #   bursts of that time are written together (queries read it at once; a crash loses
    #   only what replay brings again); 0: each burst written at once (flag --hold)
    hold = 100
    #   read-model values kept in memory beside the store, the last read or written (both
    #   backends: a copy of each, on top of query/memory_limit with memory) (flag --cache)
    cache = 100000
    #   1: fold the log again into a second keyspace while the current read models serve,
    #   then switch (flag --rebuild)
    rebuild = 0
    #   live queries (WATCH) the node holds at most, for all clients (0: none); one more is
    #   refused busy (flag --watch-max)
    watch_max = 10000
    #   live queries one client (connection) may hold on the node; one more is refused busy
    #   (at most 10000: each has one update in flight, far below the socket's per-peer
    #   queue) (flag --watch-client-max)
    watch_client_max = 1000
    #   milliseconds a silent client keeps its live queries (clients renew every third of
    #   it) (flag --watch-lease)
    watch_lease = 10000
    #   least severe log lines printed; every line starts with its ISO 8601 UTC time
    #   (milliseconds) and level (flag --log-level)
    log_level = "info"
    security
        #   CURVE keypair of the node (FILE and FILE_secret); with clients, its endpoint is
        #   secured, and its feed uses it towards the write node
        #   cert = "FILE"
        #   folder of the public certificates of the clients allowed in
        #   clients = "DIR"
        roles
            #   roles of the key with this name: query
            #   NAME = "..."
        #   the write node's public key (40 Z85 characters or its certificate file): the
        #   feed connects with CURVE
        #   server = "KEY|FILE"
    fault
        #   test seam: hold every event this long before applying it, in a rebuild too (0:
        #   off) (flag --fault-apply-delay-ms)
        apply_delay_ms = 0
