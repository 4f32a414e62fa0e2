#   zcqrs-write: the write node of the default local cluster.
#
#   Made from the node's settings table by `make settings-doc` (tests/test_settings
#   fails when they differ): every setting, its help, and its default or the
#   value this file gives it. Start the node with
#       build/zcqrs-write --config deploy/config/write.zpl
#   A flag overrides the setting it names. A relative path here is taken from
#   this file's folder. `make run` writes its own files (var/conf/*.zpl).
#   Format: ZPL (rfc.zeromq.org/spec:4), 4-space indent, '#' starts a comment.

write
    #   ROUTER endpoint it binds for commands and the status query (flag --commands)
    commands = "tcp://127.0.0.1:5601"
    #   PUB endpoint it binds for events and heartbeats (flag --events)
    events = "tcp://127.0.0.1:5602"
    #   ROUTER endpoint it binds for replay (flag --replay)
    replay = "tcp://127.0.0.1:5603"
    #   HTTP address it serves Prometheus metrics on, at /metrics (e.g. 127.0.0.1:9601; port
    #   0: any free port); unset: none (flag --metrics)
    metrics = "127.0.0.1:9601"
    #   LevelDB folder of the event log (flag --data)
    data = "../../var/write"
    #   LevelDB folder of the stream keys (crypto-shredding), never inside the data folder
    #   nor in its backups; unset: the data folder's path and '-keys' (e.g. var/write-keys)
    #   (flag --keys)
    #   keys = "DIR"
    #   folder the 'backup' query (zcqrs backup NAME) writes each backup into, as DIR/NAME
    #   (flag --backups)
    backups = "var/backups"
    #   domain: bank, store, or the path of a domain .so (flag --domain)
    domain = "bank"
    #   sync: reply once the group is fdatasync'ed; async: once LevelDB has it (a machine
    #   crash loses the last moments) (flag --durability)
    durability = "sync"
    #   milliseconds between heartbeats on the PUB (flag --heartbeat)
    heartbeat = 1000
    #   aggregate states kept in memory (raised to 2 x group + 1 if smaller) (flag --cache)
    cache = 10000
    #   most commands decided into one group (one batch) while a write is under way (flag
    #   --group)
    group = 1024
    #   most commands queued undecided while the next group is full; beyond: busy (flag
    #   --queue)
    queue = 10000
    #   most commands of one connection in the node; beyond: busy (flag --client-inflight)
    client_inflight = 1024
    #   events between snapshots of a stream's state (0: none) (flag --snapshot)
    snapshot = 1000
    ids
        #   most command ids remembered for retries (0: no limit) (flag --keep-ids)
        keep = 10000000
        #   seconds a command id is remembered for retries (0: no limit) (flag
        #   --ids-max-age)
        max_age = 604800
    #   this node's number in its write group, 1..N (0: a single write node, no replication)
    #   (flag --member)
    member = 0
    #   Raft address of every member of the write group, in member order (with --member)
    #   (flag --raft)
    #   raft = "HOST:PORT,..."
    #   commands endpoint of every member, in member order: a follower names the leader's in
    #   not_leader replies (flag --members)
    #   members = "EP,..."
    #   write group: Raft's election timeout (randomised 1-2x); a silent leader is replaced
    #   after about that long (flag --election)
    election = 1000
    #   write group: copy endpoint of every member, in member order; a member whose store
    #   lacks what a Raft snapshot covers (an empty folder) copies a store there (flag
    #   --copy)
    #   copy = "EP,..."
    #   write group: Raft entries (groups) between snapshots of a member's Raft log, after
    #   which the entries before are deleted (0: never, the log grows) (flag
    #   --raft-snapshot)
    raft_snapshot = 4096
    #   write group: Raft entries kept behind a snapshot, so that a member that little
    #   behind catches up from entries, not a copy of a whole store (flag --raft-trailing)
    raft_trailing = 1024
    #   write group: fewest commands in a group the leader proposes while another is in
    #   Raft; a smaller one goes on filling until that one commits (1: at once) (flag
    #   --raft-overlap)
    raft_overlap = 16
    #   write group: size of one Raft log segment file (a snapshot deletes whole segments
    #   only, so the log keeps up to about one more than it needs) (flag --raft-segment)
    raft_segment = 8388608
    #   least severe log lines printed; every line starts with its ISO 8601 UTC time
    #   (milliseconds) and level (flag --log-level)
    log_level = "info"
    security
        #   CURVE keypair of the node (FILE and FILE_secret); with clients, its endpoints
        #   are secured
        #   cert = "FILE"
        #   folder of the public certificates of the clients allowed in
        #   clients = "DIR"
        roles
            #   roles of the key with this name: commands, query, replicate
            #   NAME = "..."
    fault
        #   test seam: leave every Nth event unpublished, for replay tests (0: off) (flag
        #   --fault-drop-every)
        drop_every = 0
        #   test seam: every batch write first waits this long, as a slow disk (0: off)
        #   (flag --fault-write-delay)
        write_delay = 0
