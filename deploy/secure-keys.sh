#!/bin/sh
# deploy/secure-keys.sh - keys and settings for a secured local cluster.
#
#   usage: deploy/secure-keys.sh DIR [BUILD]
#
# Makes, once (existing keys are kept), in DIR:
#   write.cert, query.cert       node keypairs (+ _secret); the query nodes
#                                share one, so that a client needs one key
#   client.cert                  a client key allowed to command and query
#   console.cert                 the web console's key: also replay (the log pages)
#   write-clients/, query-clients/   the public certificates each admits
#   write.zpl, query.zpl         settings to load after the node's own file
#                                (zcqrs-write --config deploy/config/write.zpl
#                                 --config DIR/write.zpl)
# and prints the CLI flags of the client key. BUILD holds zcqrs [build].
set -eu
dir=$1
build=${2:-build}
mkdir -p "$dir/write-clients" "$dir/query-clients"
for name in write query client console; do
    [ -f "$dir/$name.cert" ] || "$build/zcqrs" keygen "$name" --dir "$dir" >/dev/null
done
# Only public halves go into the allowed folders
cp "$dir/query.cert" "$dir/client.cert" "$dir/console.cert" "$dir/write-clients/"
cp "$dir/client.cert" "$dir/console.cert" "$dir/query-clients/"
cat >"$dir/write.zpl" <<ZPL
#   Security of the write node (deploy/secure-keys.sh)
write
    security
        cert = "$dir/write.cert"
        clients = "$dir/write-clients"
        roles
            client = "commands,query"
            console = "commands,query,replicate"
            query = "replicate"
ZPL
cat >"$dir/query.zpl" <<ZPL
#   Security of a query node (deploy/secure-keys.sh)
query
    security
        cert = "$dir/query.cert"
        server = "$dir/write.cert"
        clients = "$dir/query-clients"
        roles
            client = "query"
            console = "query"
ZPL
echo "zcqrs --cert $dir/client.cert --server-key $dir/write.cert --query-key $dir/query.cert ..."
