#   Sample multi-host cluster, host "beta" (10.0.0.2): query node 1,
#   following the write node on alpha (10.0.0.1). See write.zpl for the hosts.
#   Run with: zcqrs-query --config query-1.zpl (or zcqrs-query@1.service)

query
    events = "tcp://10.0.0.1:5602"
    replay = "tcp://10.0.0.1:5603"
    #   Clients query this node here
    queries = "tcp://10.0.0.2:5611"
    data = "/var/lib/zcqrs/query-1"
    domain = "bank"
    wait = 1000
