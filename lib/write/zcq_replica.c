/*  =========================================================================
    zcq_replica - a write group member's replication thread (see
    zcq_replica.h)

    The thread runs a libuv loop with the Raft instance on it. The actor's
    pipe is a ZeroMQ socket, whose descriptor signals edges, not levels: it
    is drained whenever it signals, and before the loop sleeps (a prepare
    handle) when it was sent to since it was last drained empty, so that a
    message never waits for the next one.
    =========================================================================
*/

#include "zcq_replica.h"
#include "zcq_copy.h"
#include "zcq_log.h"
#include "zcq_replica_tcp.h"
#include "zcq_retention.h"

#include <dirent.h>
#include <signal.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#define ENTRY_MAGIC "ZGR1"
//  magic, member, number, term, batch size, newest command-id sequence, time
#define ENTRY_HEADER   (4 + 4 + 8 + 8 + 8 + 8 + 8)
#define ENTRY_ALIGN    8  //  entries are padded to a multiple of this
#define ROLE_CHECK     50 //  ms between looks at Raft's state
#define SNAPSHOT_MAGIC "ZSN1"
#define SNAPSHOT_SIZE  (4 + 4 + 8 + 8) //  magic, member, group, newest command-id sequence
#define COPY_WAIT_MIN  1000            //  ms a copy waits at least for each answer of a member
#define INSTALL_WAIT   4 //  election timeouts a leader waits for a snapshot's answer
//  Purging a forget's entry from the Raft log (see s_purge_begin)
#define PURGE_TRAILING_LEADER   16  //  entries a leader keeps behind each snapshot meanwhile
#define PURGE_TRAILING_FOLLOWER 1   //  and a follower
#define PURGE_BARRIERS          40  //  most barriers a leader proposes for one forget
#define PURGE_TICKS             200 //  ROLE_CHECK ticks after which a member gives up (10 s)
//  barriers a leader proposes for a follower that has just reached the forget's entry
#define PURGE_NUDGES 4

#define FLIGHTS ZCQ_REPLICA_IN_FLIGHT //  most proposals at once

//  A group proposed as a Raft entry: reported back (its group handed back)
//  in the order proposed; the slot is free once libraft has called back too.
typedef struct {
    struct raft_apply apply; //  libraft's request (its data: this slot)
    void *self;              //  the replica (self_t)
    zcq_group_t *group;      //  the group, until it is handed back (then NULL)
    uint64_t number;         //  its group number
    bool called;             //  libraft called back: the entry is applied, or failed
    int status;              //  libraft's status (0: committed and applied)
} s_flight_t;

typedef struct {
    zsock_t *pipe;               //  actor pipe
    zcq_replica_config_t config; //  settings (the caller's strings, read at start)
    char *address;               //  this member's Raft address (owned)
    char *folder;                //  Raft's folder (owned: the caller's is gone)
    uv_loop_t loop;              //  the thread's event loop
    uv_poll_t poll;              //  the pipe's descriptor
    uv_prepare_t prepare;        //  drains the pipe before the loop sleeps
    bool touched;                //  the pipe was sent to since a drain found it empty:
                                 //  it may hold a message its descriptor will not
                                 //  announce (the send may have taken in its signal)
    uv_timer_t timer;            //  looks at Raft's state every ROLE_CHECK ms
    zcq_replica_tcp_t *tcp;      //  Raft's TCP transport
    struct raft_io io;           //  Raft's libuv I/O (its log segments)
    struct raft_fsm fsm;         //  our state machine: the store
    struct raft raft;            //  the Raft instance
    struct raft_barrier barrier; //  a new leader's barrier
    bool barrier_pending;        //  barrier proposed, not yet applied
    struct raft_barrier nudge;   //  a barrier that keeps entries (and snapshots)
                                 //  coming while a forget's entry is purged
    bool nudge_pending;          //  nudge proposed, not yet applied
    uint64_t purge_index;        //  Raft index of the last forget applied whose entry
                                 //  this member's Raft folder may hold (0: none)
    unsigned purge_barriers;     //  nudges proposed for it
    unsigned purge_ticks;        //  ROLE_CHECK ticks since it was applied
    uint64_t forgot_index;       //  Raft index of the last forget applied (0: none)
    uint64_t lagging;            //  leader: bit per member seen below forgot_index
    unsigned nudges;             //  leader: nudges still owed to followers
    s_flight_t flight [FLIGHTS]; //  the proposals, oldest first from
    size_t flight_head;          //  this slot
    size_t flights;              //  slots in use (proposals not handed back or not
                                 //  called back)
    uint64_t lead_term;          //  term in which this member leads with every earlier
                                 //  entry applied (0: does not lead)
    uint64_t lead;               //  which lead that is (see ZCQ_REPLICA_ROLE; 0: none)
    uint64_t leads;              //  leads begun since start
    uint64_t applied;            //  number of the last group in the store ("m:group")
    zcq_replica_report_t said;   //  the last ROLE report sent
    zcq_retention_t retention;   //  which command ids the store keeps
    zchunk_t *chunk;             //  encoding scratch
    zactor_t *copy;              //  the copy server (zcq_copy), or NULL
    bool copied;                 //  a store was copied while Raft started: said
                                 //  (APPLIED) after the first ROLE report
    unsigned copy_failed;        //  the member a copy last failed to get an answer
                                 //  from (0: none); asked last next time
    int64_t copy_failed_at;      //  when (zclock_mono, ms)
    bool started;                //  Raft was started (so it must be closed)
    bool closing;                //  $TERM received: closing every handle
    bool failed;                 //  the store refused a committed entry: this member
                                 //  applies nothing more and never leads
} self_t;

const char *
zcq_role_name (zcq_role_t role)
{
    static const char *names [] = {"failed", "follower", "candidate", "leader"};
    return role <= ZCQ_ROLE_LEADER ? names [role] : "failed";
}

static void s_barrier_done (struct raft_barrier *req, int status);

//  A report goes as one frame, the structure's bytes (its group pointer
//  stays within this process, as a "p" would): a frame per field, the
//  numbers formatted, cost a follower about 7 % of its CPU for each group
//  it applies, and the leader as much for each group it proposes.
static void
s_send (self_t *self, zcq_replica_report_t *report)
{
    self->touched = true;
    zmq_send (zsock_resolve (self->pipe), report, sizeof (*report), 0);
}

//  Hand a submitted group back, committed or not.
static void
s_written (self_t *self, zcq_group_t *group, int rc)
{
    zcq_replica_report_t report = {.what = ZCQ_REPLICA_WRITTEN, .group = group, .rc = rc};
    report.applied = self->applied;
    s_send (self, &report);
}

//  Hand the proposals back in the order they were submitted: each one
//  committed and applied as it comes (0); a failed one refused (-1), and
//  with it the lead: every later proposal was decided on top of it, so
//  they are refused at once whatever becomes of their entries (an entry
//  that commits all the same is applied as another member's, APPLIED),
//  and so is every submission until a barrier begins a new lead. Slots
//  are freed once libraft has called back too.
static void
s_report (self_t *self)
{
    for (size_t index = 0; index < self->flights; index++) {
        s_flight_t *flight = &self->flight [(self->flight_head + index) % FLIGHTS];
        if (!flight->group) {
            continue; //  handed back before
        }
        int rc = -1;
        if (flight->called && flight->status == 0 && self->lead_term) {
            rc = 0;
        }
        else if (!flight->called && self->lead_term) {
            break; //  not committed yet: neither is any later one
        }
        if (rc != 0) {
            self->lead_term = 0;
        }
        zcq_group_t *group = flight->group;
        flight->group = NULL;
        s_written (self, group, rc);
    }
    while (self->flights) {
        s_flight_t *flight = &self->flight [self->flight_head];
        if (flight->group || !flight->called) {
            break;
        }
        self->flight_head = (self->flight_head + 1) % FLIGHTS;
        self->flights--;
    }
}

//  This member leads no more as it did (lost the lead, or a proposal
//  failed): every proposal not handed back yet is refused, in order.
static void
s_suspend (self_t *self)
{
    self->lead_term = 0;
    s_report (self);
}

//  Report role, term, leader and progress if any changed; with `progress`
//  false, only a change of role, term, leader or lead is reported at once,
//  and progress alone waits for the next ROLE_CHECK tick (s_on_timer). A
//  leader's every committed group moves its progress: a ROLE report each
//  would cost its node thread a wake-up and a receive a group, for status
//  figures only (the group itself comes back in its WRITTEN report).
static void
s_report_role (self_t *self, bool progress)
{
    struct raft *raft = &self->raft;
    int state = raft_state (raft);
    if (state != RAFT_LEADER && self->lead_term) {
        s_suspend (self);
    }
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader (raft, &leader, &address);
    zcq_replica_report_t report = {.what = ZCQ_REPLICA_ROLE};
    report.role = self->failed              ? ZCQ_ROLE_FAILED
                  : self->lead_term         ? ZCQ_ROLE_LEADER
                  : state == RAFT_CANDIDATE ? ZCQ_ROLE_CANDIDATE
                                            : ZCQ_ROLE_FOLLOWER;
    report.term = raft->current_term;
    //  A leader still applying earlier entries names no leader yet
    report.leader = state == RAFT_LEADER && !self->lead_term ? 0 : (unsigned) leader;
    report.committed = raft->commit_index;
    report.durable = raft->last_stored;
    report.applied = self->applied;
    report.lead = self->lead_term ? self->lead : 0;
    zcq_replica_report_t *said = &self->said;
    bool changed = report.role != said->role || report.term != said->term
                   || report.leader != said->leader || report.lead != said->lead;
    if (changed
        || (progress
            && (report.committed != said->committed || report.durable != said->durable
                || report.applied != said->applied))) {
        self->said = report;
        s_send (self, &report);
    }
}

//  Report role, term, leader and progress if any changed.
static void
s_check_role (self_t *self)
{
    s_report_role (self, true);
}

//  A new leader applies every entry of earlier terms before it decides
//  anything: a barrier of its own term, committed, does it (also after a
//  failed proposal, once libraft is done with every proposal of the lead
//  before). Proposed from the timer only, never from within libraft's
//  callbacks: a leader stepping down fails its requests while it is still
//  in the leader state, and a barrier proposed then would be failed with
//  them, proposed again, and so on.
static void
s_lead_check (self_t *self)
{
    struct raft *raft = &self->raft;
    if (raft_state (raft) == RAFT_LEADER && !self->lead_term && !self->barrier_pending
        && !self->failed && !self->flights) {
        self->barrier.data = self;
        if (raft_barrier (raft, &self->barrier, s_barrier_done) == 0) {
            self->barrier_pending = true;
        }
    }
}

static void
s_barrier_done (struct raft_barrier *req, int status)
{
    self_t *self = (self_t *) req->data;
    self->barrier_pending = false;
    if (status == 0 && raft_state (&self->raft) == RAFT_LEADER && !self->failed
        && !self->flights) {
        self->lead_term = self->raft.current_term;
        self->lead = ++self->leads;
    }
    s_check_role (self);
}

static void
s_applied (struct raft_apply *req, int status, void *result)
{
    (void) result;
    s_flight_t *flight = (s_flight_t *) req->data;
    self_t *self = (self_t *) flight->self;
    flight->called = true;
    flight->status = status;
    if (status != 0 && status != RAFT_SHUTDOWN) {
        zsys_warning ("write group member %u: group %" PRIu64 " not committed (%s)",
                      self->config.member, flight->number, raft_strerror (status));
    }
    s_report (self);
    s_report_role (self, false);
}

//  Refuse a group proposed in this lead that libraft did not take: it, and
//  with it the lead (s_report).
static void
s_propose_failed (self_t *self, zcq_group_t *group)
{
    s_suspend (self);
    s_written (self, group, -1);
    s_check_role (self);
}

//  Propose a sealed group as one entry, after those in flight, or refuse
//  it at once: decided under another lead (in the lead before, on top of
//  groups refused since, or while not leading).
static void
s_propose (self_t *self, zcq_group_t *group, uint64_t lead)
{
    if (!self->lead_term || lead != self->lead) {
        //  (a lead that ended handed every proposal back, and one that
        //  begins has none before this: the order holds)
        s_written (self, group, -1);
        return;
    }
    if (self->flights == FLIGHTS) {
        zsys_error ("write group member %u: more than %d groups submitted at once",
                    self->config.member, ZCQ_REPLICA_IN_FLIGHT);
        s_propose_failed (self, group);
        return;
    }
    //  The next number after the groups in flight (all of this lead: it
    //  began with none), or after the last applied
    uint64_t term = self->lead_term;
    uint64_t number =
        self->flights
            ? self->flight [(self->flight_head + self->flights - 1) % FLIGHTS].number + 1
            : self->applied + 1;
    //  The header, with the batch's size left for when it is known
    byte header [ENTRY_HEADER] = {0};
    memcpy (header, ENTRY_MAGIC, 4);
    header [6] = (byte) (self->config.member >> 8);
    header [7] = (byte) self->config.member;
    zcq_store_put_be64 (header + 8, number);
    zcq_store_put_be64 (header + 16, term);
    zcq_store_put_be64 (header + 32, zcq_group_sequence (group));
    zcq_store_put_be64 (header + 40, (uint64_t) zcq_group_time (group));
    zchunk_set (self->chunk, header, ENTRY_HEADER);
    zcq_batch_encode (zcq_group_batch (group), self->chunk);
    zcq_store_put_be64 (zchunk_data (self->chunk) + 24,
                        zchunk_size (self->chunk) - ENTRY_HEADER);
    if (zcq_batch_size (zcq_group_keys (group)) > 0) {
        //  The new stream keys after the batch, with their size: every
        //  member's key table gets them (an entry without keys ends in
        //  fewer than 8 bytes of padding)
        size_t at = zchunk_size (self->chunk);
        byte size [8] = {0};
        zchunk_extend (self->chunk, size, sizeof size);
        zcq_batch_encode (zcq_group_keys (group), self->chunk);
        zcq_store_put_be64 (zchunk_data (self->chunk) + at, zchunk_size (self->chunk) - at - 8);
    }
    //  libraft 0.15 pads entries to 8 bytes when it sends several at once
    //  and not when it stores them: an entry whose size is a multiple of 8
    //  reads the same either way
    static const byte padding [ENTRY_ALIGN] = {0};
    size_t over = zchunk_size (self->chunk) % ENTRY_ALIGN;
    if (over) {
        zchunk_extend (self->chunk, padding, ENTRY_ALIGN - over);
    }
    struct raft_buffer buffer;
    buffer.len = zchunk_size (self->chunk);
    buffer.base = raft_malloc (buffer.len);
    if (!buffer.base) {
        s_propose_failed (self, group);
        return;
    }
    memcpy (buffer.base, zchunk_data (self->chunk), buffer.len);
    s_flight_t *flight = &self->flight [(self->flight_head + self->flights) % FLIGHTS];
    *flight = (s_flight_t){.self = self, .group = group, .number = number};
    flight->apply.data = flight;
    self->flights++;
    int rc = raft_apply (&self->raft, &flight->apply, &buffer, 1, s_applied);
    if (rc != 0) {
        raft_free (buffer.base);
        self->flights--;
        s_propose_failed (self, group);
    }
}

//  Raft's snapshot settings as configured (write/raft_snapshot and
//  write/raft_trailing).
static void
s_snapshot_settings (self_t *self)
{
    zcq_replica_config_t *config = &self->config;
    raft_set_snapshot_threshold (&self->raft,
                                 config->snapshot_every ? config->snapshot_every : UINT_MAX);
    raft_set_snapshot_trailing (&self->raft, config->snapshot_trailing);
}

//  The entries a member keeps behind each snapshot while it purges a
//  forget's entry: a follower one; a leader PURGE_TRAILING_LEADER, and
//  more while a member it hears from needs older ones (it would get a
//  snapshot and copy a store instead, and a member busy with a snapshot
//  of its own drops the leader's).
static unsigned
s_purge_trailing (self_t *self, bool leads)
{
    if (!leads) {
        return PURGE_TRAILING_FOLLOWER;
    }
    struct raft *raft = &self->raft;
    raft_index last = raft_last_index (raft);
    uint64_t trailing = PURGE_TRAILING_LEADER;
    for (unsigned index = 0; index < raft->configuration.n; index++) {
        struct raft_progress *progress = &raft->leader_state.progress [index];
        if (raft->configuration.servers [index].id != self->config.member
            && progress->recent_recv && progress->match_index < last
            && last - progress->match_index + PURGE_TRAILING_LEADER > trailing) {
            trailing = last - progress->match_index + PURGE_TRAILING_LEADER;
        }
    }
    if (trailing > self->config.snapshot_trailing) {
        trailing = self->config.snapshot_trailing;
    }
    return trailing > 0 ? (unsigned) trailing : 1; //  0 would mean "replace the log"
}

//  True if this member leads, every earlier entry applied.
static bool
s_leads (self_t *self)
{
    return raft_state (&self->raft) == RAFT_LEADER && self->lead_term && !self->failed;
}

//  A group that records a forget is being applied, at Raft index
//  last_applied + 1. Its stream's key is in an earlier entry of the Raft
//  log (new keys travel in plain beside the sealed batch), which libraft
//  deletes only behind a snapshot: so until the forget's entry is behind a
//  snapshot and every closed segment up to it is gone (s_purge_tick),
//  this member takes a snapshot at every apply and keeps few entries
//  behind it. A leader keeps a few more, so that a follower a little
//  behind still gets entries rather than a snapshot and a store copy.
static void
s_purge_begin (self_t *self)
{
    uint64_t index = self->raft.last_applied + 1;
    self->purge_index = index;
    self->forgot_index = index;
    self->purge_barriers = 0;
    self->purge_ticks = 0;
    self->nudges = PURGE_NUDGES;
    raft_set_snapshot_threshold (&self->raft, 1);
    raft_set_snapshot_trailing (&self->raft, s_purge_trailing (self, s_leads (self)));
    zsys_info ("write group member %u: a forget at Raft index %" PRIu64
               "; its Raft log is purged up to it",
               self->config.member, index);
}

//  True if this member's Raft folder may still hold entries up to index:
//  no snapshot reaches it yet (the segment that holds it may be open), or
//  a closed segment ("FIRST-LAST") starts at or before it. Segments opened
//  after the snapshot that reaches it hold only later entries.
static bool
s_raft_holds (self_t *self, uint64_t index)
{
    if (self->raft.log.snapshot.last_index < index) {
        return true;
    }
    DIR *dir = opendir (self->folder);
    if (!dir) {
        return true;
    }
    bool holds = false;
    struct dirent *entry;
    while (!holds && (entry = readdir (dir))) {
        unsigned long long first = 0, last = 0;
        char rest = 0;
        if (sscanf (entry->d_name, "%llu-%llu%c", &first, &last, &rest) == 2
            && first <= index) {
            holds = true;
        }
    }
    closedir (dir);
    return holds;
}

static void
s_nudged (struct raft_barrier *req, int status)
{
    (void) status;
    ((self_t *) req->data)->nudge_pending = false;
}

//  Every ROLE_CHECK: go on purging a forget's entry, or end it once the
//  Raft folder no longer holds it. Snapshots need applied entries: a
//  leader proposes barriers meanwhile (at most PURGE_BARRIERS, one a
//  tick), and PURGE_NUDGES more whenever a follower it saw behind the
//  forget has reached it (a member back after the forget applies it then,
//  and purges as every member did).
static void
s_purge_tick (self_t *self)
{
    bool leads = s_leads (self);
    bool nudge = false;
    if (leads && self->forgot_index) {
        struct raft *raft = &self->raft;
        for (unsigned index = 0; index < raft->configuration.n; index++) {
            raft_id id = raft->configuration.servers [index].id;
            uint64_t bit = id < 64 ? (uint64_t) 1 << id : 0;
            if (id == self->config.member || !bit) {
                continue;
            }
            if (raft->leader_state.progress [index].match_index < self->forgot_index) {
                self->lagging |= bit;
            }
            else if (self->lagging & bit) {
                self->lagging &= ~bit;
                self->nudges = PURGE_NUDGES;
            }
        }
    }
    if (self->purge_index) {
        self->purge_ticks++;
        if (!s_raft_holds (self, self->purge_index)) {
            zsys_info ("write group member %u: its Raft log holds no entry up to the forget "
                       "at index %" PRIu64 " any more",
                       self->config.member, self->purge_index);
            self->purge_index = 0;
            s_snapshot_settings (self);
        }
        else if (self->purge_ticks > PURGE_TICKS) {
            zsys_warning ("write group member %u: its Raft log still holds entries up to "
                          "the forget at index %" PRIu64 "; they go with a later snapshot",
                          self->config.member, self->purge_index);
            self->purge_index = 0;
            s_snapshot_settings (self);
        }
        else {
            //  The role may have changed since the forget
            raft_set_snapshot_trailing (&self->raft, s_purge_trailing (self, leads));
            if (leads && self->purge_barriers < PURGE_BARRIERS) {
                nudge = true;
            }
        }
    }
    if (leads && !nudge && self->nudges > 0 && !self->nudge_pending) {
        self->nudges--;
        nudge = true;
    }
    if (nudge && !self->nudge_pending) {
        self->nudge.data = self;
        if (raft_barrier (&self->raft, &self->nudge, s_nudged) == 0) {
            self->nudge_pending = true;
            self->purge_barriers += self->purge_index ? 1 : 0;
        }
    }
}

//  The store could not take committed group `number`. libraft goes on to
//  the next entry whatever apply returns, so a member that went on would
//  silently lack the group: it stops instead (reported as role FAILED,
//  which stops the node). Restarted, Raft applies its log again from the
//  store's last group, and the leader sends what the member lacks.
static int
s_fail (self_t *self, uint64_t number, const char *why, int rc)
{
    if (!self->failed) {
        zsys_error ("write group member %u: %s committed group %" PRIu64
                    "; this member stops serving (restarted, it applies the group's log again "
                    "from group %" PRIu64 ")",
                    self->config.member, why, number, self->applied + 1);
        self->failed = true;
        s_suspend (self);
    }
    s_check_role (self);
    return rc;
}

//  Raft applies a committed entry: write its batch into the store, with
//  its number, unless the store has it already (Raft applies the whole log
//  again after a restart).
static int
s_fsm_apply (struct raft_fsm *fsm, const struct raft_buffer *buffer, void **result)
{
    self_t *self = (self_t *) fsm->data;
    *result = NULL;
    const byte *entry = (const byte *) buffer->base;
    if (self->failed) {
        return RAFT_IOERR; //  stopped: nothing more goes into the store
    }
    if (buffer->len < ENTRY_HEADER || memcmp (entry, ENTRY_MAGIC, 4) != 0) {
        char start [9] = "";
        for (size_t index = 0; index < 4 && index < buffer->len; index++) {
            snprintf (start + 2 * index, 3, "%02x", entry [index]);
        }
        zsys_error ("write group member %u: a committed entry of %zu bytes (%s...) is not a "
                    "group; passed over",
                    self->config.member, buffer->len, start);
        return 0;
    }
    uint64_t number = zcq_store_get_be64 (entry + 8);
    uint64_t size = zcq_store_get_be64 (entry + 24);
    if (size > buffer->len - ENTRY_HEADER) {
        return s_fail (self, number, "cut short:", RAFT_MALFORMED);
    }
    if (number <= self->applied) {
        //  Applied before a restart: a forget's entry is purged all the same
        zcq_batch_t *again = zcq_batch_decode (entry + ENTRY_HEADER, (size_t) size);
        if (again && zcq_log_batch_forgets (again)) {
            s_purge_begin (self);
        }
        zcq_batch_destroy (&again);
        return 0;
    }
    if (number != self->applied + 1) {
        return s_fail (self, number, "the store misses the groups before", RAFT_CORRUPT);
    }
    size_t rest = buffer->len - ENTRY_HEADER - (size_t) size;
    const byte *keys = entry + ENTRY_HEADER + size;
    uint64_t keys_size = rest >= 8 ? zcq_store_get_be64 (keys) : 0;
    if (keys_size > rest - (rest >= 8 ? 8 : rest)) {
        return s_fail (self, number, "cut short:", RAFT_MALFORMED);
    }
    //  Ours: the oldest proposal not handed back, of this lead (entries
    //  are applied in order; one refused meanwhile is another member's).
    //  Its group holds the entry's batch and keys as they were encoded:
    //  the leader writes those, and decodes nothing (a decode rebuilds the
    //  batch record by record: 7 % of a follower's replica thread)
    s_flight_t *oldest = NULL;
    for (size_t index = 0; index < self->flights && !oldest; index++) {
        s_flight_t *flight = &self->flight [(self->flight_head + index) % FLIGHTS];
        oldest = flight->group ? flight : NULL;
    }
    bool ours = oldest && self->lead_term && number == oldest->number
                && zcq_store_get_be64 (entry + 16) == self->lead_term
                && (((unsigned) entry [6] << 8) | entry [7]) == self->config.member;
    zcq_batch_t *added = NULL, *decoded = NULL;
    if (keys_size > 0 && !ours) {
        added = zcq_batch_decode (keys + 8, (size_t) keys_size);
    }
    zcq_batch_t *new_keys = ours ? zcq_group_keys (oldest->group) : added;
    if (keys_size > 0) {
        //  The group's new keys, synced before the group: an event in the
        //  store is never sealed with a key a crash could take
        int written = new_keys && self->config.keys
                          ? zcq_store_write (self->config.keys, new_keys, true)
                          : -1;
        zcq_batch_destroy (&added);
        if (written != 0) {
            return s_fail (self, number, "the key table failed to write the keys of",
                           RAFT_IOERR);
        }
    }
    if (!ours) {
        decoded = zcq_batch_decode (entry + ENTRY_HEADER, (size_t) size);
        if (!decoded) {
            return s_fail (self, number, "damaged:", RAFT_MALFORMED);
        }
    }
    zcq_batch_t *batch = ours ? zcq_group_batch (oldest->group) : decoded;
    bool forgets = zcq_log_batch_forgets (batch);
    bool hides = !ours && zcq_log_batch_hides (batch);
    byte value [8];
    zcq_store_put_be64 (value, number);
    //  (into the group's own batch too: it is written nowhere else)
    zcq_batch_put (batch, "m:group", 7, value, 8);
    //  Not synced: the entry is fsync'ed in Raft's log, which is applied
    //  again after a crash
    int rc = zcq_store_write (self->config.store, batch, false);
    zcq_batch_destroy (&decoded);
    if (rc != 0) {
        return s_fail (self, number, "the store failed to write", RAFT_IOERR);
    }
    self->applied = number;
    if (forgets) {
        s_purge_begin (self);
    }
    //  Every member forgets the same ids: ages are measured against the
    //  group's own time, not this member's clock
    zcq_retention_apply (&self->retention, self->config.store, zcq_store_get_be64 (entry + 32),
                         (int64_t) zcq_store_get_be64 (entry + 40));
    if (!ours) {
        zcq_replica_report_t report = {
            .what = ZCQ_REPLICA_APPLIED, .applied = number, .hides = hides, .forgets = forgets};
        s_send (self, &report);
    }
    return 0;
}

//  Raft snapshots. The state machine's state is the store, which every
//  member holds already and keeps on disk: a snapshot need not carry it.
//  Ours says which group the store had applied at the snapshot's index
//  (and who took it, and the newest command-id sequence), so that Raft may
//  delete the entries before it (all but write/raft_trailing of them).
//  Writes of committed entries are not synced (s_fsm_apply: Raft's log
//  holds them), so the store is synced first: once their entries are gone,
//  the store is the only copy a crash may not take.
static int
s_fsm_snapshot (struct raft_fsm *fsm, struct raft_buffer *bufs [], unsigned *count)
{
    self_t *self = (self_t *) fsm->data;
    if (self->failed) {
        return RAFT_IOERR;
    }
    byte value [8];
    zcq_store_put_be64 (value, self->applied);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "m:group", 7, value, 8);
    int rc = zcq_store_write (self->config.store, batch, true);
    zcq_batch_destroy (&batch);
    if (rc != 0) {
        zsys_warning ("write group member %u: no Raft snapshot (the store cannot sync)",
                      self->config.member);
        return RAFT_IOERR;
    }
    struct raft_buffer *buffer = (struct raft_buffer *) raft_malloc (sizeof (*buffer));
    byte *data = buffer ? (byte *) raft_calloc (1, SNAPSHOT_SIZE) : NULL;
    if (!data) {
        raft_free (buffer);
        return RAFT_NOMEM;
    }
    memcpy (data, SNAPSHOT_MAGIC, 4);
    data [6] = (byte) (self->config.member >> 8);
    data [7] = (byte) self->config.member;
    zcq_store_put_be64 (data + 8, self->applied);
    zcq_store_put_be64 (data + 16, self->retention.newest);
    buffer->base = data;
    buffer->len = SNAPSHOT_SIZE;
    *bufs = buffer;
    *count = 1;
    return 0;
}

//  The next member a copy asks (0 when every one was asked): the leader
//  first (it has the snapshot's group, and it is the one that
//  answers when the group works), then the snapshot's taker, then the
//  others in member order; a member that just failed to answer comes last.
//  `asked` holds a bit per member already asked.
static unsigned
s_copy_source (self_t *self, unsigned taker, uint64_t *asked)
{
    zcq_replica_config_t *config = &self->config;
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader (&self->raft, &leader, &address);
    int64_t recent = 10 * (int64_t) config->election; //  ms a failure counts as recent
    bool failed_recently = self->copy_failed && zclock_mono () - self->copy_failed_at < recent;
    for (unsigned pass = 0; pass < 4; pass++) {
        for (unsigned member = 1; member <= config->members; member++) {
            bool last = failed_recently && member == self->copy_failed;
            bool fits = pass == 0   ? member == leader && !last
                        : pass == 1 ? member == taker && !last
                        : pass == 2 ? !last
                                    : true;
            if (fits && member != config->member && !(*asked & (1ull << member))) {
                *asked |= 1ull << member;
                return member;
            }
        }
    }
    return 0;
}

//  Copy a store holding group `group` from a member (s_copy_source says
//  which first). Returns 0, or -1 (logged).
//  It runs on Raft's loop, which waits meanwhile: this member neither
//  answers its leader nor votes until the copy is in. So each answer is
//  waited for about an election timeout, not longer: a member cut off
//  meanwhile (the old leader, typically) costs that much, and the next
//  one is asked. (libraft 0.15 restores a snapshot synchronously, and a
//  failed restore has already replaced the member's log: the copy cannot
//  leave the loop without leaving Raft's contract.)
static int
s_copy (self_t *self, unsigned taker, uint64_t group)
{
    zcq_replica_config_t *config = &self->config;
    if (!config->copies) {
        zsys_error ("write group member %u: its store lacks groups %" PRIu64 " to %" PRIu64
                    " of a Raft snapshot, and it has no write/copy list to copy them from",
                    config->member, self->applied + 1, group);
        return -1;
    }
    zsys_info ("write group member %u: its store has group %" PRIu64 "; it copies a store "
               "holding a Raft snapshot's group %" PRIu64 " from a member",
               config->member, self->applied, group);
    int wait = config->election > COPY_WAIT_MIN ? (int) config->election : COPY_WAIT_MIN;
    uint64_t asked = 0;
    unsigned member;
    while ((member = s_copy_source (self, taker, &asked)) != 0) {
        uint64_t copied = 0;
        int rc = zcq_copy_fetch (config->store, config->keys, config->copies [member - 1],
                                 group, wait, &copied);
        if (rc < 0) {
            self->applied = 0; //  cut short: the store says so ("m:group" is gone)
        }
        if (rc != 0) {
            self->copy_failed = member;
            self->copy_failed_at = zclock_mono ();
            continue;
        }
        uint64_t sequence = 0;
        zcq_log_stored_sequence (config->store, &sequence);
        zcq_retention_init (&self->retention, config->keep_ids, config->max_age_us, sequence);
        self->applied = copied;
        zsys_info ("write group member %u: copied member %u's store, group %" PRIu64,
                   config->member, member, copied);
        //  The owner reads the store again (its first report is ROLE)
        if (self->started) {
            zcq_replica_report_t report = {.what = ZCQ_REPLICA_APPLIED, .applied = copied};
            s_send (self, &report);
        }
        else {
            self->copied = true;
        }
        return 0;
    }
    return -1;
}

//  Raft restores a snapshot: at start (its own, which the store reaches:
//  nothing to do) or sent by the leader to a member whose log lacks the
//  entries it deleted. A store that does not reach the snapshot's group is
//  copied from a member first; the entries after the snapshot then follow
//  as usual (those the copy holds already are skipped by number).
static int
s_fsm_restore (struct raft_fsm *fsm, struct raft_buffer *buffer)
{
    self_t *self = (self_t *) fsm->data;
    const byte *data = (const byte *) buffer->base;
    if (self->failed) {
        return RAFT_IOERR;
    }
    if (buffer->len < SNAPSHOT_SIZE || memcmp (data, SNAPSHOT_MAGIC, 4) != 0) {
        zsys_error ("write group member %u: a Raft snapshot of %zu bytes is not ours",
                    self->config.member, buffer->len);
        return RAFT_MALFORMED;
    }
    unsigned taker = ((unsigned) data [6] << 8) | data [7];
    uint64_t group = zcq_store_get_be64 (data + 8);
    if (self->applied < group && s_copy (self, taker, group) != 0) {
        return RAFT_IOERR; //  the leader sends the snapshot again later
    }
    raft_free (buffer->base); //  ours once restored
    return 0;
}

static void
s_handle_closed (uv_handle_t *handle)
{
    (void) handle;
}

static void
s_raft_closed (struct raft *raft)
{
    self_t *self = (self_t *) raft->data;
    raft_uv_close (&self->io);
    zcq_replica_tcp_destroy (&self->tcp);
}

//  Close every handle; the loop ends when they are closed.
static void
s_close (self_t *self)
{
    self->closing = true;
    uv_poll_stop (&self->poll);
    uv_close ((uv_handle_t *) &self->poll, s_handle_closed);
    uv_close ((uv_handle_t *) &self->prepare, s_handle_closed);
    uv_close ((uv_handle_t *) &self->timer, s_handle_closed);
    if (self->started) {
        raft_close (&self->raft, s_raft_closed);
    }
}

//  A submission goes as one frame of this structure (zcq_replica_submit),
//  as a report does (s_send); anything else on the pipe is a command
//  ($TERM). Three frames, a string among them, cost the leader's two
//  threads about 11 % of their time spent on the pipe.
typedef struct {
    zcq_group_t *group; //  the group handed over
    uint64_t lead;      //  the lead it was decided in
} s_submission_t;

static void
s_drain (self_t *self)
{
    void *pipe = zsock_resolve (self->pipe);
    while (!self->closing) {
        s_submission_t submission;
        int size = zmq_recv (pipe, &submission, sizeof (submission), ZMQ_DONTWAIT);
        if (size < 0 && zmq_errno () == EAGAIN) {
            //  Drained: the descriptor announces the next message, unless
            //  a send takes its signal in first (s_send)
            self->touched = false;
            break;
        }
        if (size == (int) sizeof (submission) && submission.group) {
            s_propose (self, submission.group, submission.lead);
        }
        else if (size < 0 || (size == 5 && memcmp (&submission, "$TERM", 5) == 0)) {
            s_close (self);
        }
    }
}

static void
s_on_poll (uv_poll_t *handle, int status, int events)
{
    (void) status;
    (void) events;
    s_drain ((self_t *) handle->data);
}

//  Before the loop sleeps. A drain that finds the pipe empty costs two
//  system calls (libzmq polls its mailbox's descriptor, and checks the
//  process id): the loop runs several times a group (each member's
//  answers, each write's completion), so the pipe is looked at only when
//  a send since its last drain may have hidden a message from the poll.
static void
s_on_prepare (uv_prepare_t *handle)
{
    self_t *self = (self_t *) handle->data;
    if (self->touched) {
        s_drain (self);
    }
}

static void
s_on_timer (uv_timer_t *handle)
{
    self_t *self = (self_t *) handle->data;
    s_lead_check (self);
    s_check_role (self);
    s_purge_tick (self);
}

//  Set Raft up on the loop and start it. Returns 0, or -1 (logged).
static int
s_start (self_t *self)
{
    zcq_replica_config_t *config = &self->config;
    self->address = strdup (config->addresses [config->member - 1]);
    self->folder = strdup (config->folder);
    const char *error = NULL;
    int rc = zsys_dir_create ("%s", config->folder);
    if (rc != 0) {
        error = "cannot create the folder";
    }
    //  A connection that stalls (a cut link drops packets) fails after two
    //  election timeouts, not after TCP's minutes of retransmissions
    else if (!(self->tcp = zcq_replica_tcp_new (&self->loop, 2 * config->election))) {
        error = "no TCP transport";
    }
    else if ((rc = raft_uv_init (&self->io, &self->loop, config->folder,
                                 zcq_replica_tcp_transport (self->tcp)))
             != 0) {
        error = self->io.errmsg;
    }
    else {
        //  and Raft connects again soon after, within one election timeout
        raft_uv_set_connect_retry_delay (&self->io,
                                         config->election / 4 ? config->election / 4 : 1);
        if (config->segment_size) {
            raft_uv_set_segment_size (&self->io, config->segment_size);
        }
    }
    if (!error && config->copies) {
        const char *endpoint = config->copies [config->member - 1];
        zsock_t *router = zsock_new (ZMQ_ROUTER);
        if (!router || zsock_bind (router, "%s", endpoint) < 0) {
            zsys_error ("write group member %u: cannot bind copy endpoint '%s' (%s)",
                        config->member, endpoint, zmq_strerror (zmq_errno ()));
            zsock_destroy (&router);
            error = "no copy server";
        }
        else {
            zcq_copy_config_t copy = {config->store, config->keys, router};
            self->copy = zactor_new (zcq_copy_actor, &copy);
        }
    }
    if (!error) {
        self->fsm.version = 1;
        self->fsm.data = self;
        self->fsm.apply = s_fsm_apply;
        self->fsm.snapshot = s_fsm_snapshot;
        self->fsm.restore = s_fsm_restore;
        rc = raft_init (&self->raft, &self->io, &self->fsm, config->member, self->address);
        if (rc != 0) {
            error = raft_errmsg (&self->raft);
        }
        self->raft.data = self;
    }
    if (!error) {
        //  The same configuration on every member: bootstrapping a member
        //  that has Raft state already is refused, and harmless
        struct raft_configuration configuration;
        raft_configuration_init (&configuration);
        for (unsigned index = 0; index < config->members && rc == 0; index++) {
            rc = raft_configuration_add (&configuration, index + 1, config->addresses [index],
                                         RAFT_VOTER);
        }
        if (rc == 0) {
            rc = raft_bootstrap (&self->raft, &configuration);
        }
        raft_configuration_close (&configuration);
        if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) {
            error = raft_strerror (rc);
        }
    }
    if (!error) {
        raft_set_election_timeout (&self->raft, config->election);
        raft_set_heartbeat_timeout (&self->raft,
                                    config->election / 10 ? config->election / 10 : 1);
        s_snapshot_settings (self);
        //  A follower busy with a snapshot of its own drops the leader's
        //  snapshot unanswered, and the leader sends it again after this
        //  timeout (libraft's default is 30 s): members purging a forget's
        //  entry take a snapshot at every apply (s_purge_begin), so a
        //  member that comes back meanwhile would wait that long
        raft_set_install_snapshot_timeout (&self->raft, INSTALL_WAIT * config->election);
        raft_set_pre_vote (&self->raft, true);
        if ((rc = raft_start (&self->raft)) != 0) {
            error = raft_errmsg (&self->raft);
        }
        else {
            self->started = true;
        }
    }
    if (error) {
        zsys_error ("write group member %u: cannot start Raft on %s in '%s': %s",
                    config->member, self->address, config->folder, error);
        return -1;
    }
    zsys_info ("write group member %u of %u: Raft on %s, log in '%s', last group %" PRIu64,
               config->member, config->members, self->address, config->folder, self->applied);
    return 0;
}

void
zcq_replica_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->touched = true; //  nothing drained yet
    self->config = *(zcq_replica_config_t *) args;
    self->chunk = zchunk_new (NULL, 4096);
    zcq_store_get_number (self->config.store, "m:group", 7, &self->applied);
    zcq_retention_init (&self->retention, self->config.keep_ids, self->config.max_age_us,
                        self->config.newest_sequence);
    //  Raft's transport writes to TCP peers that may be gone: that must be
    //  an error it handles, not a SIGPIPE that ends the process
    signal (SIGPIPE, SIG_IGN);
    zsock_signal (pipe, 0);

    uv_loop_init (&self->loop);
    int rc = s_start (self);
    if (rc != 0) {
        zcq_replica_report_t report = {.what = ZCQ_REPLICA_ROLE, .role = ZCQ_ROLE_FAILED};
        s_send (self, &report);
        //  Wait for $TERM, then leave
        char *command = zstr_recv (pipe);
        zstr_free (&command);
    }
    else {
        s_check_role (self);
        if (self->copied) {
            zcq_replica_report_t report = {.what = ZCQ_REPLICA_APPLIED,
                                           .applied = self->applied};
            s_send (self, &report);
        }
        uv_poll_init (&self->loop, &self->poll, zsock_fd (pipe));
        self->poll.data = self;
        uv_poll_start (&self->poll, UV_READABLE, s_on_poll);
        uv_prepare_init (&self->loop, &self->prepare);
        self->prepare.data = self;
        uv_prepare_start (&self->prepare, s_on_prepare);
        uv_timer_init (&self->loop, &self->timer);
        self->timer.data = self;
        uv_timer_start (&self->timer, s_on_timer, ROLE_CHECK, ROLE_CHECK);
        uv_run (&self->loop, UV_RUN_DEFAULT);
    }
    uv_loop_close (&self->loop);
    zactor_destroy (&self->copy);
    zchunk_destroy (&self->chunk);
    free (self->address);
    free (self->folder);
    free (self);
}

void
zcq_replica_submit (zactor_t *replica, zcq_group_t *group, uint64_t lead)
{
    assert (replica);
    assert (group);
    s_submission_t submission = {group, lead};
    zmq_send (zsock_resolve (replica), &submission, sizeof (submission), 0);
}

static int
s_recv (zactor_t *replica, zcq_replica_report_t *report, int flags)
{
    assert (replica);
    assert (report);
    //  One frame of the structure's bytes (s_send); anything else (the
    //  actor's end signal) is no report
    int size = zmq_recv (zsock_resolve (replica), report, sizeof (*report), flags);
    if (size != (int) sizeof (*report)) {
        memset (report, 0, sizeof (*report));
        return -1;
    }
    return 0;
}

int
zcq_replica_recv (zactor_t *replica, zcq_replica_report_t *report)
{
    return s_recv (replica, report, 0);
}

int
zcq_replica_recv_nowait (zactor_t *replica, zcq_replica_report_t *report)
{
    return s_recv (replica, report, ZMQ_DONTWAIT);
}
