/*  =========================================================================
    zcq_log - the write node's event log on LevelDB: append a group of
    events atomically, read ranges, stream versions, the command-id table

    Positions are dense (1, 2, 3, ...) and assigned here as events are
    staged; a group becomes visible only when zcq_log_commit succeeds, and
    on failure the positions it took are handed out again. Key layout (see
    protocol/zcqrs-v1.md, "On-disk layout"):

        "m:format"                        -> "zcqrs-log-3"
        "m:head"                          -> be64 last position
        "m:forgotten"                     -> be64 oldest command-id sequence kept,
                                             when retention stopped inside a record
        "e:" be64(first position)         -> the group's events as one record:
                                             0x01 be32(count) be32(offset) x
                                             (count + 1) EVENT bodies (or one
                                             EVENT body, as layout 1 wrote)
        "s:" stream 0x00 be64(version)    -> be64 position (the last one: the
                                             stream's version)
        "c:" command-id (16 bytes)        -> REPLY body stored for that id
        "t:" be64(sequence)               -> be64(time, us) command-id...: one
                                             record per group, its ids in the order
                                             stored, for retention
        "a:" stream                       -> aggregate snapshot: [version, state]
        "d:" stream                       -> be64 position of its tombstone, then
                                             0x01 once its events are hidden

    Each command writes two keys (stream index, outcome; one more index
    key per further event), each group three more (its events, head,
    retention record) and its snapshots.
    The stream keys are not here: they live in the key table (zcq_keys), a
    folder of its own, so that no copy of this store holds one.
    A folder of the layouts before is converted on open: zcqrs-log-2 kept
    the stream keys here ("k:" stream), which move into the key table;
    zcqrs-log-1 also had a "v:" key per stream updated by every event and
    a "t:" key per id.

    Group commit in two steps, so that one thread can decide the next group
    while another writes this one: zcq_log_seal hands the staged group over
    (positions go on from it), the writer writes it with zcq_store_write,
    and zcq_log_sealed records the outcome. A failed group takes the staged
    one with it (it was decided on top of the failed one).
    =========================================================================
*/

#ifndef ZCQ_LOG_H_INCLUDED
#define ZCQ_LOG_H_INCLUDED

#include "zcq_group.h"
#include "zcq_msg.h"
#include "zcq_store.h"
#include "zcq_seal.h"
#include "zcq_keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_log_t zcq_log_t;

//  Called for each event a read visits, with its packed EVENT body; return 0
//  to go on, non-zero to stop.
typedef int (zcq_log_event_fn) (const byte *body, size_t size, void *arg);

//  Open (or create) the log in folder path, sealing with the stream keys
//  of key table keys (borrowed, must outlive the log; NULL: none, nothing
//  is sealed, and a folder of the layout that kept keys is refused).
//  Returns NULL, after logging why, if the folder cannot be opened or
//  holds something else.
zcq_log_t *
    zcq_log_new (const char *path, zcq_keys_t *keys);

//  The same, with a LevelDB memtable of memtable bytes instead of the
//  store's default (0: that default, 16 MiB): a write group member's log
//  (zcq_write_node says why).
zcq_log_t *
    zcq_log_open (const char *path, zcq_keys_t *keys, size_t memtable);

//  Read the head and the newest command-id sequence again from the store
//  (another thread wrote to it: a write group member's replication),
//  dropping anything staged. Returns 0, or -1 on a storage error (logged).
int
    zcq_log_reload (zcq_log_t *self);

//  Follow the store as another thread moved it on (a write group member's
//  replication): take its head and newest command-id sequence, dropping
//  anything staged, and visit the events after the old head up to the new
//  one in order, whatever fn returns, all from one view of the store (fn
//  NULL: none is read, only the head and sequence are taken). Returns the
//  events visited, or -1 on a storage error (logged).
int
    zcq_log_follow_store (zcq_log_t *self, zcq_log_event_fn *fn, void *arg);

//  The same without the events, and without the newest command-id
//  sequence (the one read last is kept): take the store's head alone (one
//  point read instead of an iterator and two seeks), dropping anything
//  staged (a store whose head is below ours is read as zcq_log_reload
//  does). For a member that publishes nothing; before it stages, the log
//  must be read again with zcq_log_reload (a member taking the lead does).
//  Returns 0, or -1 on a storage error (logged).
int
    zcq_log_follow_head (zcq_log_t *self);

//  Take head and newest command-id sequence as another writer of the store
//  reports them (a write group follower), dropping anything staged.
void
    zcq_log_follow (zcq_log_t *self, uint64_t head, uint64_t sequence);

//  Bytes of a log identity as text: 32 hex digits and the NUL.
#define ZCQ_LOG_ID_TEXT 33

//  The log's cluster id, made with the log and kept for its life (a backup
//  restored keeps it), and its incarnation id, made with the log and made
//  anew when a backup is restored, so that query nodes tell the restored
//  history from the one they followed (spec section 10.16). 32 hex digits.
const char *
    zcq_log_cluster (zcq_log_t *self);
const char *
    zcq_log_incarnation (zcq_log_t *self);

//  This log is a write group member's: its cluster and incarnation ids are
//  the group's, which the leader carries in the first group it proposes in
//  each lead (zcq_log_carry_identity) and every member takes with it (read
//  again by zcq_log_reload); until the first group is applied (no "m:group" yet)
//  zcq_log_cluster and zcq_log_incarnation give "" (not said), so a query
//  node never learns a member's own, soon replaced, ids. Returns 0, or -1
//  when the reload of the log's state failed (as zcq_log_reload).
int
    zcq_log_set_group_member (zcq_log_t *self);

//  Put this log's cluster and incarnation ids into a group's batch (a
//  write group leader's proposal), so that every member holds the same:
//  into the first group after a zcq_log_reload (which every lead begins
//  with) only, since the ids do not change within a lead and every member
//  applies every group or copies a whole store. Two keys fewer in every
//  other group, on every member.
void
    zcq_log_carry_identity (zcq_log_t *self, zcq_group_t *group);

//  Make a fresh random identity (32 hex digits into text) and store it at
//  key ("m:cluster" or "m:incarnation") of a log's store, synced. Returns
//  0, or -1 after logging why.
int
    zcq_log_new_identity (zcq_store_t *store, const char *key, char text [ZCQ_LOG_ID_TEXT]);

//  Copy the log in store, as one LevelDB snapshot sees it, into a new
//  folder path (refused if it exists), while the log goes on taking
//  groups; *head is the snapshot's last committed position. The copy is a
//  log folder marked as a backup ("m:backup"): a write node that opens it
//  gives it a new incarnation id and says which positions are lost. Safe
//  on any thread (LevelDB). Returns 0, or -1 with *error set (caller frees).
int
    zcq_log_backup (zcq_store_t *store, const char *path, uint64_t *head, char **error);

//  Close the log, dropping any staged group; nulls the caller's pointer.
void
    zcq_log_destroy (zcq_log_t **self_p);

//  The store under the log (borrowed), e.g. for the fault seam.
zcq_store_t *
    zcq_log_store (zcq_log_t *self);

//  The key table's store (borrowed; NULL without one), for readers that
//  open sealed values on other threads (zcq_log_open_event).
zcq_store_t *
    zcq_log_keys (zcq_log_t *self);

//  Last committed position (0 for an empty log).
uint64_t
    zcq_log_head (zcq_log_t *self);

//  Last position including the staged group.
uint64_t
    zcq_log_staged_head (zcq_log_t *self);

//  Committed version of a stream (0 if it has no events): its last stream
//  index key. Returns 0 or -1.
int
    zcq_log_stream_version (zcq_log_t *self, const char *stream, uint64_t *version);

//  Find the stored reply of a command id. Returns 0 with a copy in *reply
//  (caller frees), 1 if the id is unknown, -1 on storage error.
int
    zcq_log_find_reply (zcq_log_t *self, const byte *command_id, byte **reply, size_t *size);

//  Start a new group: drop anything staged and not sealed or committed.
void
    zcq_log_begin (zcq_log_t *self);

//  Stage one event at the next position (returned) and as the given stream
//  version. The event is fully described by event (type EVENT; position is
//  set here). Returns the position, or 0 if the event could not be encoded
//  (zcq_msg_error (event) says why; nothing was staged).
uint64_t
    zcq_log_stage_event (zcq_log_t *self, zcq_msg_t *event);

//  Stage the reply of a command id (a REPLY carrying that id), and its
//  place in the retention order, stamped with time (us since the epoch).
//  Returns 0, or -1 if it could not be encoded.
int
    zcq_log_stage_reply (zcq_log_t *self, zcq_msg_t *reply, int64_t time);

//  The same with the REPLY body already encoded (body copied): the caller
//  sends those very bytes once the group is written.
void
    zcq_log_stage_outcome (zcq_log_t *self, const byte *command_id, const void *body,
                           size_t size, int64_t time);

//  Stage a snapshot of a stream's aggregate state after version events
//  (state is the domain's packed state). With sealing, it is sealed under
//  the stream's key, and not staged when the stream has none. Returns
//  true if it was staged.
bool
    zcq_log_stage_state (zcq_log_t *self, const char *stream, uint64_t version,
                         const void *state, size_t size);

//  Find a stream's latest snapshot. Returns 0 with the version in *version
//  and a copy of the packed state in *state (caller frees), 1 if there is
//  none, -1 on a storage error or a damaged snapshot.
int
    zcq_log_find_state (zcq_log_t *self, const char *stream, uint64_t *version, byte **state,
                        size_t *size);

//  Number of events staged.
size_t
    zcq_log_staged_count (zcq_log_t *self);

//  Number of puts and deletes staged (0: nothing to write).
size_t
    zcq_log_staged_size (zcq_log_t *self);

//  Hand the staged group over for writing (the caller owns it) and start a
//  new one; positions and retention sequences go on after it. Call zcq_log_sealed with the
//  outcome before sealing again.
zcq_group_t *
    zcq_log_seal (zcq_log_t *self);

//  Record whether a sealed group reached the store. If it did not, the
//  head stays, and what is staged now is dropped too.
void
    zcq_log_sealed (zcq_log_t *self, zcq_group_t *group, bool stored);

//  Take back a sealed group once its outcome is recorded and nothing reads
//  it any more (takes ownership; nulls the caller's pointer; safe on NULL):
//  the next seal stages into its buffers and LevelDB batch, cleared,
//  instead of allocating new ones. One is kept; any other is destroyed.
void
    zcq_log_recycle (zcq_log_t *self, zcq_group_t **group_p);

//  Seal, write (sync: on disk before returning) and record in one step.
//  Returns 0; or -1, when nothing was written and the group is dropped.
int
    zcq_log_commit (zcq_log_t *self, bool sync);

//  Called for each command id in the retention order, with its sequence.
typedef void (zcq_log_id_fn) (const byte *id, uint64_t sequence, void *arg);

//  Retention sequence of the newest command id staged (0: none yet).
uint64_t
    zcq_log_staged_sequence (zcq_log_t *self);

//  Visit every command id in the retention order, oldest first (a record
//  retention has cut into is visited whole). Returns 0, or -1 on a storage
//  error or a damaged record (logged).
int
    zcq_log_visit_ids (zcq_log_t *self, zcq_log_id_fn *fn, void *arg);

//  Retention sequence of the newest committed command id (0: none yet).
uint64_t
    zcq_log_newest_sequence (zcq_log_t *self);

//  The same, read from a store (a write group member's replication thread,
//  after it copied another member's store). Returns 0, or -1 (logged).
int
    zcq_log_stored_sequence (zcq_store_t *store, uint64_t *sequence);

//  Drop the staged group.
void
    zcq_log_abort (zcq_log_t *self);

//  Visit committed events from position from, in order, at most max events
//  and about max_bytes bytes (at least one event is visited if any exists).
//  Returns the number visited, or -1 on storage error.
int
    zcq_log_read (zcq_log_t *self, uint64_t from, size_t max, size_t max_bytes,
                  zcq_log_event_fn *fn, void *arg);

//  Visit the committed events of one stream from version from, in order.
//  Returns the number visited, or -1 on storage error.
int
    zcq_log_read_stream (zcq_log_t *self, const char *stream, uint64_t from,
                         zcq_log_event_fn *fn, void *arg);

//  Visit committed events from position from through a fixed snapshot of
//  the store, so that the log may grow meanwhile; *head is the head of that
//  snapshot. Safe from any thread (it uses only the store). Returns the
//  number visited, or -1 on storage error.
int
    zcq_log_replay (zcq_store_t *store, uint64_t from, size_t max, size_t max_bytes,
                    zcq_log_event_fn *fn, void *arg, uint64_t *head);

//  The first position whose event was decided at or after time (us since
//  the epoch: its meta.time), by a binary search over positions through a
//  snapshot of the store (no scan); head + 1 when every event is older.
//  The times of a log rise with its positions as long as the write node's
//  clock does not step back; if it did, the position found is one whose
//  predecessor is older than time. Safe from any thread. Returns 0, or -1
//  on storage error.
int
    zcq_log_first_at (zcq_store_t *store, int64_t time, uint64_t *position);

//  Forget the oldest stored command ids while more than max_ids are kept
//  or they were stored before `before` (us since the epoch), at most limit
//  of them, in one unsynced batch (a crash only means they are forgotten
//  again). *oldest is the caller's cursor (0 at first) and is left at the
//  oldest sequence kept (newest + 1 if none is); newest is the newest
//  sequence stored. With limit 0 it only finds the oldest. Safe from the writing thread (it
//  uses only the store). Returns the number forgotten, or -1.
int
    zcq_log_forget_ids (zcq_store_t *store, uint64_t *oldest, uint64_t newest,
                        uint64_t max_ids, int64_t before, size_t limit);

//  --- Deleted streams (protocol section 10.13) -------------------------------

//  Stage, in the group of a stream's tombstone (at position tombstone),
//  that the stream is deleted: its "d:" record, and its snapshot deleted.
void
    zcq_log_stage_deleted (zcq_log_t *self, const char *stream, uint64_t tombstone);

//  The position of a stream's tombstone. Returns 0 with it in *tombstone,
//  1 if the stream is not deleted (*tombstone 0), -1 on a storage error.
int
    zcq_log_stream_deleted (zcq_log_t *self, const char *stream, uint64_t *tombstone);

//  Hide the data of every event of a deleted stream before its tombstone
//  (committed; call once the tombstone's group is): each group record that
//  holds one is written again, in one synced batch, with those events'
//  bodies replaced by hidden ones (data {}, meta.deleted = tombstone; the
//  rest kept, so positions stay dense and fingerprints match), and the
//  records' and the snapshot's key ranges are compacted so that the old
//  bytes leave the disk. Logs what it did. Returns the number of events
//  hidden, or -1 on a storage error or an event that does not decode
//  (nothing written; zcq_log_hide_pending does it again).
int
    zcq_log_hide_stream (zcq_log_t *self, const char *stream, uint64_t tombstone);

//  Hide the events of every deleted stream whose hiding was not done (the
//  node stopped between the tombstone and the hiding). Returns 0 or -1.
int
    zcq_log_hide_pending (zcq_log_t *self);

//  --- Stream keys (crypto-shredding, protocol section 10.14) -------------
//  A stream's key is in the key table (zcq_keys), written just before the
//  group of the first event it seals; here, "f:" stream -> be64(position
//  of $StreamForgotten) [+ 0x01 once its key is destroyed].

//  Seal snapshots with their stream's key (a domain with personal fields).
void
    zcq_log_set_sealing (zcq_log_t *self, bool sealing);

//  A stream's key, from the keys read or staged before, else the key
//  table; with create, a stream without one gets a new one, staged with
//  the current group (zcq_group_keys). Returns 0 with it in key, 1 if there is none, -1 on error.
int
    zcq_log_stream_key (zcq_log_t *self, const char *stream, bool create,
                        byte key [ZCQ_SEAL_KEY]);

//  Stage the record that a stream is forgotten at position (its key is
//  destroyed once the group is stored: zcq_log_forget_key).
void
    zcq_log_stage_forgotten (zcq_log_t *self, const char *stream, uint64_t position);

//  True if a group's batch records a forget (stages an "f:" record): a
//  write group member that applies it purges its Raft log (zcq_replica).
bool
    zcq_log_batch_forgets (zcq_batch_t *batch);

//  True if a group's batch records a deleted stream (stages a "d:"
//  record): a write group follower hides its events once it is applied.
bool
    zcq_log_batch_hides (zcq_batch_t *batch);

//  Destroy a forgotten stream's key (zcq_keys_shred) and snapshot (synced)
//  and compact them so that no table keeps them. Returns 0 or -1 (nothing
//  written; zcq_log_forget_pending does it again).
int
    zcq_log_forget_key (zcq_log_t *self, const char *stream, uint64_t position);

//  Destroy the keys of forgotten streams whose destruction was not done
//  (the node stopped in between). Returns 0 or -1.
int
    zcq_log_forget_pending (zcq_log_t *self);

//  An EVENT body with its sealed values opened with its stream's key from
//  the key table's store keys (any thread). Returns 1 with the new body in
//  out, 0 if the body is to be sent as it is (nothing sealed, no key table,
//  or the key gone: sealed as stored), -1 on a storage error.
int
    zcq_log_open_event (zcq_store_t *keys, const byte *body, size_t size,
                        msgpack_sbuffer *out);

#ifdef __cplusplus
}
#endif

#endif
