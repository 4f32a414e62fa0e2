/*  =========================================================================
    zcq_peers - what users would pick instead of zcqrs, each started by the
    benchmark on loopback with its data in a temporary folder and driven by
    the same closed loop (append one ~200-byte event to a stream with an
    expected version; the ack means what the peer promises as durable):

    - Redis 7 Streams: appendonly yes, appendfsync always; XADD behind an
      expected-last-id check in a Lua script (hiredis)
    - NATS JetStream: file storage, Nats-Expected-Last-Subject-Sequence
      (libnats)
    - PostgreSQL 15: synchronous_commit=on; an events table with a unique
      (stream, version); INSERT of version expected + 1 (libpq)

    Point reads of an account record, next to a query node's `account`
    query: Redis HGETALL of a hash per account, PostgreSQL SELECT by primary
    key (a prepared statement).
    =========================================================================
*/

#ifndef ZCQ_PEERS_H_INCLUDED
#define ZCQ_PEERS_H_INCLUDED

#include "zcq_bench_load.h"
#include "zcq_bench_proc.h"

//  A peer's server: its process and where its clients connect
typedef struct {
    zcq_bench_proc_t *proc;             //  the server process
    int stop_signal;                    //  the signal that stops it cleanly
    int port;                           //  its port on 127.0.0.1
    char address [256];                 //  a URL or connection string, if it needs one
    char script [48];                   //  Redis: sha1 of the loaded append script
} zcq_peer_server_t;

//  A new server handle on a free port, stopped with stop_signal.
zcq_peer_server_t *
    zcq_peer_server_new (int stop_signal);

//  Stop the server's process by PID (also when it started only half way)
//  and free the handle; nulls the pointer. A zcq_peer_t stop.
void
    zcq_peer_server_stop (void **server_p);

//  The server's process. A zcq_peer_t proc.
zcq_bench_proc_t *
    zcq_peer_server_proc (void *server);

typedef struct {
    const char *name;                   //  "Redis 7.0 Streams"
    const char *durability;             //  what an ack means, for the table
    const zcq_bench_driver_t *driver;   //  the closed loop's view of it
    //  Start a server with its data under folder (made, empty); returns a
    //  handle (the driver's target), or NULL after printing why.
    void *(*start) (const char *folder);
    //  Its process, for CPU and RSS.
    zcq_bench_proc_t *(*proc) (void *server);
    //  Stop it by PID (also when it failed half way) and free the handle.
    void (*stop) (void **server);
    //  Point reads (NULL: the peer takes no part): store `accounts` account
    //  records (owner, balance, status, version) "bench-0" .. through one
    //  driver connection, returning 0 or -1; read the record of one account
    //  by its key (DONE when found).
    int (*fill_accounts) (void *connection, int accounts);
    zcq_bench_outcome_t (*read_account) (void *connection, int account);
    const char *read_name;              //  its row in the point-read table
    const char *read_how;               //  what a point read is, for the table
} zcq_peer_t;

extern const zcq_peer_t zcq_peer_redis;
extern const zcq_peer_t zcq_peer_nats;
extern const zcq_peer_t zcq_peer_pg;

//  An event's payload: ZCQ_BENCH_EVENT_SIZE - 20 bytes of 'x', NUL-ended.
const char *
    zcq_peer_payload (void);

#endif
