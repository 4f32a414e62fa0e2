#   Sample multi-host cluster, host "alpha" (10.0.0.1): the write node.
#   Hosts: alpha 10.0.0.1 (write node), beta 10.0.0.2 (query-1),
#   gamma 10.0.0.3 (query-2). Replace the addresses with yours; clients
#   use --commands tcp://10.0.0.1:5601 and --node tcp://10.0.0.2:5611 ...
#   Endpoints are plaintext and open: keep them on a trusted network, or
#   bind the private interface only (as here) and firewall the ports.
#   Run with: zcqrs-write --config write.zpl (or deploy/systemd/zcqrs-write.service)

write
    #   Clients send commands here
    commands = "tcp://10.0.0.1:5601"
    #   Query nodes subscribe here ...
    events = "tcp://10.0.0.1:5602"
    #   ... and catch up and repair holes here
    replay = "tcp://10.0.0.1:5603"
    data = "/var/lib/zcqrs/write"
    domain = "bank"
    durability = "sync"
    heartbeat = 1000
