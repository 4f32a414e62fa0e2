/*  =========================================================================
    zcq_replica - a write group member's replication thread: Raft (libraft
    on its libuv backend) orders sealed groups as entries of its log,
    committed once fsync'ed on a majority of the members, and every member
    writes each committed entry's batch into its own store, in order

    It stands where zcq_writer stands on a single node: the deciding thread
    submits sealed groups, up to ZCQ_REPLICA_IN_FLIGHT at once, and gets
    each back, in order, once its entry is committed and in the store (or
    refused: this member does not lead, lost the lead before the entry
    committed, or refused a group before it in the same lead). Several
    groups in flight share Raft's round trips: the next group's entry goes
    out while the previous one's is fsync'ed and acknowledged. It also
    reports role changes and the groups it stored that another member
    proposed.

        zcq_replica_config_t config = {store, "var/write/raft", 1, 3, addresses, 1000,
                                       keep_ids, max_age_us, sequence, copies, 4096,
                                       1024, 0};
        zactor_t *replica = zactor_new (zcq_replica_actor, &config);
        zcq_replica_recv (replica, &report);      //  first: ROLE, or FAILED
        zcq_replica_submit (replica, group, report.lead); //  the replica owns it now
        ...                                        //  replica becomes readable
        zcq_replica_recv (replica, &report);       //  WRITTEN: the group is ours again

    An entry is "ZGR1", be32 member, be64 group number, be64 term (of its
    proposer), be64 size of the batch, be64 newest command-id sequence and
    be64 time (us) of the group, then the group's batch (zcq_batch_encode),
    then, when the group made new stream keys, be64 size and the key
    batch (zcq_group_keys), which every member writes, synced, into its
    key table before the group's batch goes into its store; then zeros to
    a multiple of 8 bytes. After each entry, every
    member forgets old command ids as a single node does (zcq_retention),
    ages measured against the group's time. The store's
    "m:group" key holds the number of the last group applied, in the same
    batch, so an entry Raft applies again after a restart is skipped.

    A Raft snapshot is "ZSN1", be32 member (who took it), be64 number of
    the last group applied and be64 newest command-id sequence: small,
    because the state it stands for is the store every member holds. A
    member that restores one its store does not reach (an empty folder, or
    one behind the leader's kept entries) first copies a whole store that
    does from a member (zcq_copy), then Raft applies the entries after it.

    A member that applies a group recording a forget purges its Raft log up
    to that entry (the key's entry is older): a snapshot at every apply,
    few entries kept behind it, the leader's barriers keeping entries
    coming, until no closed segment holds it (protocol section 10.15).
    =========================================================================
*/

#ifndef ZCQ_REPLICA_H_INCLUDED
#define ZCQ_REPLICA_H_INCLUDED

#include "zcq_group.h"
#include "zcq_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What the replica needs; read before zactor_new returns.
typedef struct {
    zcq_store_t *store;      //  the log's store: this thread writes committed entries
    const char *folder;      //  Raft's own folder (log segments, term and vote)
    unsigned member;         //  this member's number, 1..members
    unsigned members;        //  members in the group
    char **addresses;        //  Raft address (host:port) of each member, in member order
    unsigned election;       //  ms: Raft's election timeout (it randomises 1-2x)
    uint64_t keep_ids;       //  most command ids kept (0: no limit)
    int64_t max_age_us;      //  command ids older than this are forgotten (0: never)
    uint64_t newest_sequence; //  retention sequence of the newest command id on disk
    char **copies;            //  copy endpoint (zcq_copy) of each member, in member order,
                              //  or NULL: a member lacking what a snapshot covers stops
    unsigned snapshot_every;  //  Raft entries between snapshots of this member's log (0: none)
    unsigned snapshot_trailing; //  entries kept behind a snapshot for members a little behind
    size_t segment_size;        //  bytes of one Raft log segment file (0: libraft's 8 MiB)
    zcq_store_t *keys;       //  the key table's store: an entry's new keys go there first
} zcq_replica_config_t;

//  A member's role, as it reports it.
typedef enum {
    ZCQ_ROLE_FAILED = 0, //  Raft could not start, or the store refused a committed entry (logged)
    ZCQ_ROLE_FOLLOWER,   //  follows a leader, or knows none
    ZCQ_ROLE_CANDIDATE,  //  asks for votes
    ZCQ_ROLE_LEADER,     //  leads, and every entry of earlier terms is in its store
} zcq_role_t;

//  Most groups submitted and not yet handed back.
#define ZCQ_REPLICA_IN_FLIGHT 2

//  Fixed names of the roles ("leader", ...).
const char *
    zcq_role_name (zcq_role_t role);

//  What a report says.
typedef enum {
    ZCQ_REPLICA_WRITTEN, //  the submitted group is back: rc says if it is committed
    ZCQ_REPLICA_APPLIED, //  a group another member proposed is in the store
    ZCQ_REPLICA_ROLE,    //  role, term, leader or lead changed (at once), or progress
                         //  alone (committed, durable, applied: within 50 ms)
} zcq_replica_what_t;

typedef struct {
    zcq_replica_what_t what; //  which report
    zcq_group_t *group;      //  WRITTEN: the group submitted (the caller's again)
    int rc;                  //  WRITTEN: 0 committed and stored, -1 refused
    zcq_role_t role;         //  ROLE: the member's role
    uint64_t term;           //  ROLE: Raft's current term
    unsigned leader;         //  ROLE: the leader's member number (0: none known)
    uint64_t committed;      //  ROLE: Raft's commit index
    uint64_t durable;        //  ROLE: last Raft entry fsync'ed on this member
    uint64_t applied;        //  number of the last group in the store
    uint64_t lead;           //  ROLE: which lead this is when it leads (0: none): a new
                             //  number whenever it begins to lead, also within a term
                             //  (a refused group ends a lead)
    bool hides;              //  APPLIED: the group deletes a stream ("d:" record)
    bool forgets;            //  APPLIED: the group forgets a stream ("f:" record)
} zcq_replica_report_t;

//  The actor. Takes zcq_replica_submit's message; answers each with one
//  WRITTEN report, in the order submitted, and sends other reports between
//  them. Once one is refused, so is every group submitted before the next
//  lead (they were decided on top of it).
void
    zcq_replica_actor (zsock_t *pipe, void *args);

//  Hand a sealed group over (the replica owns it until its WRITTEN report),
//  decided while leading as lead (of the last ROLE leader report), after
//  the groups in flight: a group of another lead is refused. At most
//  ZCQ_REPLICA_IN_FLIGHT may be in flight.
void
    zcq_replica_submit (zactor_t *replica, zcq_group_t *group, uint64_t lead);

//  Receive one report (call when the actor is readable). Returns 0, or -1
//  if the actor is gone.
int
    zcq_replica_recv (zactor_t *replica, zcq_replica_report_t *report);

//  Receive one report if one is queued, without waiting. Returns 0, or -1
//  if none is (or the actor is gone).
int
    zcq_replica_recv_nowait (zactor_t *replica, zcq_replica_report_t *report);

#ifdef __cplusplus
}
#endif

#endif
