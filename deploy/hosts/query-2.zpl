#   Sample multi-host cluster, host "gamma" (10.0.0.3): query node 2,
#   following the write node on alpha (10.0.0.1). See write.zpl for the hosts.
#   Run with: zcqrs-query --config query-2.zpl (or zcqrs-query@2.service)

query
    events = "tcp://10.0.0.1:5602"
    replay = "tcp://10.0.0.1:5603"
    #   Clients query this node here
    queries = "tcp://10.0.0.3:5611"
    data = "/var/lib/zcqrs/query-2"
    domain = "bank"
    wait = 1000
