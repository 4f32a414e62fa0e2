/*  =========================================================================
    zcq_log - the write node's event log on LevelDB (see zcq_log.h)
    =========================================================================
*/

#include "zcq_log.h"
#include "zcq_seal.h"
#include "zcq_random.h"

#define LOG_FORMAT     "zcqrs-log-3" //  value of "m:format"
#define LOG_FORMAT_2   "zcqrs-log-2" //  keys in the log's store: moved to the key table on open
#define LOG_FORMAT_OLD "zcqrs-log-1" //  the layout before that: converted on open
#define ORDER_HEADER   8             //  bytes of a retention record before its ids
#define RECORD_TAG     0x01          //  first byte of a group record (an EVENT body is a map)
#define RECORD_HEADER  5             //  tag and be32 count, before the offsets
#define DELETED_HIDDEN 0x01          //  after a "d:" value's be64: its events are hidden
#define HIDE_EACH      64            //  a deleted stream's records compacted one by one
#define FORGOTTEN_DONE 0x01          //  after an "f:" value's be64: its key is destroyed

//  Longest key: "s:" stream 0x00 be64(version)
#define KEY_MAX (2 + ZCQ_MAX_STREAM + 1 + 8)

struct _zcq_log_t {
    zcq_store_t *store;                 //  LevelDB folder
    uint64_t head;                      //  last committed position
    uint64_t sealed_head;               //  last position handed to a writer
    uint64_t staged_head;               //  last position including staged events
    uint64_t newest_sequence;           //  newest committed command-id sequence
    uint64_t staged_sequence;           //  newest command-id sequence including staged
    zcq_group_t *group;                 //  staged group
    zcq_group_t *spare;                 //  a recorded group, cleared, for the next seal
    msgpack_sbuffer buffer;             //  encoding scratch
    zhashx_t *keys;                     //  stream -> ZCQ_SEAL_KEY bytes: keys read or staged
    zcq_keys_t *table;                  //  the key table (borrowed; NULL: none, no sealing)
    bool sealing;                       //  snapshots are sealed with their stream's key
    char cluster [ZCQ_LOG_ID_TEXT];     //  "m:cluster": 32 hex digits, kept for the log's life
    char incarnation [ZCQ_LOG_ID_TEXT]; //  "m:incarnation": new when a backup is restored
    bool member;                        //  a write group member's log (see set_group_member)
    bool settled;                       //  member: a group brought the group's identity
    bool carried;                       //  member: a group proposed since the last reload
                                        //  carries the identity (zcq_log_carry_identity)
};

//  Read the identity at key (32 hex digits) into text; make and store a
//  fresh random one when the log has none (a new log, or one from before
//  cluster ids). Returns 0, or -1 after logging why.
static int
s_identity (zcq_store_t *store, const char *key, char text [ZCQ_LOG_ID_TEXT])
{
    byte *value = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, key, strlen (key), &value, &size);
    if (rc == 0 && size == ZCQ_LOG_ID_TEXT - 1) {
        memcpy (text, value, size);
        text [size] = 0;
    }
    free (value);
    if (rc == 1 || (rc == 0 && size != ZCQ_LOG_ID_TEXT - 1)) {
        rc = zcq_log_new_identity (store, key, text);
    }
    return rc;
}

//  "e:" be64(position)
static void
s_event_key (byte key [10], uint64_t position)
{
    key [0] = 'e';
    key [1] = ':';
    zcq_store_put_be64 (key + 2, position);
}

//  "s:" stream 0x00 [be64(version)] into key (KEY_MAX bytes); returns its
//  size. With_version false gives the prefix of all the stream's keys.
static size_t
s_stream_key (byte *key, const char *stream, uint64_t version, bool with_version)
{
    size_t length = strnlen (stream, ZCQ_MAX_STREAM);
    key [0] = 's';
    key [1] = ':';
    memcpy (key + 2, stream, length);
    key [2 + length] = 0;
    if (with_version) {
        zcq_store_put_be64 (key + 3 + length, version);
    }
    return 2 + length + 1 + (with_version ? 8 : 0);
}

//  A two-byte tag ("v:", "c:", "a:") and up to KEY_MAX - 2 bytes; returns
//  the key's size.
static size_t
s_tagged_key (byte *key, char tag, const void *data, size_t length)
{
    assert (length <= KEY_MAX - 2);
    key [0] = (byte) tag;
    key [1] = ':';
    memcpy (key + 2, data, length);
    return 2 + length;
}

//  Sequence of the newest command id in the retention order: the last "t:"
//  record's first sequence plus its ids, less one (0 if none). Returns 0 or -1.
static int
s_iter_newest_sequence (zcq_iter_t *iter, zcq_store_t *store, uint64_t *sequence)
{
    *sequence = 0;
    zcq_iter_seek (iter, "t;", 2); //  first key after every "t:" key
    if (zcq_iter_valid (iter)) {
        zcq_iter_prev (iter);
    }
    else {
        zcq_iter_seek_last (iter);
    }
    size_t size, value_size;
    if (zcq_iter_has_prefix (iter, "t:", 2)) {
        const byte *key = zcq_iter_key (iter, &size);
        zcq_iter_value (iter, &value_size);
        if (size != 10 || value_size < ORDER_HEADER + ZCQ_COMMAND_ID
            || (value_size - ORDER_HEADER) % ZCQ_COMMAND_ID) {
            zsys_error ("log %s: the newest command-id order record is damaged",
                        zcq_store_path (store));
            return -1;
        }
        *sequence =
            zcq_store_get_be64 (key + 2) + (value_size - ORDER_HEADER) / ZCQ_COMMAND_ID - 1;
    }
    return 0;
}

static int
s_newest_sequence (zcq_store_t *store, uint64_t *sequence)
{
    *sequence = 0;
    zcq_iter_t *iter = zcq_iter_new (store, false);
    if (!iter) {
        return -1;
    }
    int rc = s_iter_newest_sequence (iter, store, sequence);
    zcq_iter_destroy (&iter);
    return rc;
}

//  Convert a folder of the layout before (zcqrs-log-1) in place: its "v:"
//  keys (each stream's version) are dropped, the version now being the
//  last "s:" key's; its "t:" keys, one id each, are already retention
//  records of one id. The format is written last, in the batch that drops
//  the last "v:" keys, so a conversion cut short is simply done again.
//  Returns 0 or -1.
static int
s_convert (zcq_store_t *store)
{
    zsys_notice ("log %s: converting from layout %s to %s", zcq_store_path (store),
                 LOG_FORMAT_OLD, LOG_FORMAT_2);
    int rc = 0;
    uint64_t dropped = 0;
    bool done = false;
    while (rc == 0 && !done) {
        zcq_iter_t *iter = zcq_iter_new (store, false);
        if (!iter) {
            return -1;
        }
        zcq_batch_t *batch = zcq_batch_new ();
        zcq_iter_seek (iter, "v:", 2);
        while (zcq_iter_has_prefix (iter, "v:", 2) && zcq_batch_size (batch) < 10000) {
            size_t size;
            const byte *key = zcq_iter_key (iter, &size);
            zcq_batch_delete (batch, key, size);
            zcq_iter_next (iter);
        }
        done = !zcq_iter_has_prefix (iter, "v:", 2);
        zcq_iter_destroy (&iter);
        dropped += zcq_batch_size (batch);
        if (done) {
            zcq_batch_put (batch, "m:format", 8, LOG_FORMAT_2, strlen (LOG_FORMAT_2));
        }
        rc = zcq_store_write (store, batch, true);
        zcq_batch_destroy (&batch);
    }
    if (rc == 0) {
        zsys_notice ("log %s: converted to %s (%" PRIu64 " stream version keys dropped)",
                     zcq_store_path (store), LOG_FORMAT_2, dropped);
    }
    return rc;
}

//  Convert a folder of layout zcqrs-log-2, which kept the stream keys
//  ("k:") in the log's own store, in place: the keys move into the key
//  table (zcq_keys_take: synced there first, then deleted here in the batch
//  that writes the new format, and the range compacted), so that no copy of
//  the data holds them. Without a key table, a folder that holds keys is
//  refused: read without them, its sealed values would pass for forgotten.
//  Returns 0 or -1.
static int
s_convert_keys (zcq_store_t *store, zcq_keys_t *keys)
{
    bool held = false;
    if (zcq_keys_held (store, &held) != 0) {
        return -1;
    }
    if (held && !keys) {
        zsys_error ("log %s: layout %s holds stream keys; it is opened only with a key "
                    "table to move them into (setting write/keys)",
                    zcq_store_path (store), LOG_FORMAT_2);
        return -1;
    }
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "m:format", 8, LOG_FORMAT, strlen (LOG_FORMAT));
    int moved =
        held ? zcq_keys_take (keys, store, batch) : zcq_store_write (store, batch, true);
    zcq_batch_destroy (&batch);
    if (moved >= 0) {
        zsys_notice ("log %s: converted from %s to %s: %d stream keys moved to the key table "
                     "in '%s'",
                     zcq_store_path (store), LOG_FORMAT_2, LOG_FORMAT, moved,
                     keys ? zcq_store_path (zcq_keys_store (keys)) : "(none)");
    }
    return moved >= 0 ? 0 : -1;
}

//  An append-mostly log of small msgpack values: snappy costs more CPU
//  than the disk it saves; larger tables mean fewer compactions. Reads
//  are rare (a repeated or filtered command id, a stream not cached, a
//  replay): no bloom filters (the write node filters new command ids
//  itself, zcq_ids), larger blocks and a small cache keep the memory
//  flat as the log grows. A backup is made with the same.
static const zcq_store_options_t s_options = {.uncompressed = true,
                                              .no_filter = true,
                                              .file_size = 8 * 1024 * 1024,
                                              .block_size = 16 * 1024,
                                              .cache_size = 8 * 1024 * 1024};

zcq_log_t *
zcq_log_new (const char *path, zcq_keys_t *keys)
{
    return zcq_log_open (path, keys, 0);
}

zcq_log_t *
zcq_log_open (const char *path, zcq_keys_t *keys, size_t memtable)
{
    zcq_store_options_t options = s_options;
    options.write_buffer = memtable;
    zcq_store_t *store = zcq_store_open (path, &options);
    if (!store) {
        return NULL;
    }
    byte *format = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, "m:format", 8, &format, &size);
    if (rc == 1) {
        //  A new log: say what it is, so that a query node's folder (or
        //  anything else) is never taken for one
        zcq_batch_t *batch = zcq_batch_new ();
        zcq_batch_put (batch, "m:format", 8, LOG_FORMAT, strlen (LOG_FORMAT));
        rc = zcq_store_write (store, batch, true);
        zcq_batch_destroy (&batch);
    }
    else if (rc == 0 && streq ((char *) format, LOG_FORMAT_OLD)) {
        rc = s_convert (store);
        rc = rc == 0 ? s_convert_keys (store, keys) : rc;
    }
    else if (rc == 0 && streq ((char *) format, LOG_FORMAT_2)) {
        rc = s_convert_keys (store, keys);
    }
    else if (rc == 0 && !streq ((char *) format, LOG_FORMAT)) {
        zsys_error ("log %s: folder holds '%s', not an event log of this layout (%s)", path,
                    (char *) format, LOG_FORMAT);
        rc = -1;
    }
    free (format);
    uint64_t head = 0;
    if (rc == 0) {
        rc = zcq_store_get_number (store, "m:head", 6, &head);
    }
    char cluster [ZCQ_LOG_ID_TEXT] = "", incarnation [ZCQ_LOG_ID_TEXT] = "";
    if (rc == 0) {
        rc = s_identity (store, "m:cluster", cluster);
    }
    if (rc == 0) {
        rc = s_identity (store, "m:incarnation", incarnation);
    }
    uint64_t backup_head = 0;
    byte *marker = NULL;
    size_t marker_size = 0;
    bool restored = rc == 0 && zcq_store_get (store, "m:backup", 8, &marker, &marker_size) == 0;
    if (restored && marker_size == 8) {
        backup_head = zcq_store_get_be64 (marker);
    }
    free (marker);
    if (restored) {
        //  A backup put back (the marker zcq_log_backup wrote): a new
        //  incarnation, so that query nodes do not mix the two histories
        rc = zcq_log_new_identity (store, "m:incarnation", incarnation);
        zcq_batch_t *batch = zcq_batch_new ();
        zcq_batch_delete (batch, "m:backup", 8);
        rc = rc == 0 ? zcq_store_write (store, batch, true) : rc;
        zcq_batch_destroy (&batch);
        if (rc == 0) {
            zsys_warning ("log %s: restored from a backup taken at position %" PRIu64
                          " (head %" PRIu64 "): new incarnation %s of cluster %s. Positions "
                          "after %" PRIu64 " that the log held before are lost; query nodes "
                          "that applied them go diverged and say which: rebuild those",
                          path, backup_head, head, incarnation, cluster, backup_head);
        }
    }
    if (rc != 0) {
        zcq_store_destroy (&store);
        return NULL;
    }
    zcq_log_t *self = (zcq_log_t *) zmalloc (sizeof (zcq_log_t));
    assert (self);
    self->store = store;
    self->group = zcq_group_new ();
    msgpack_sbuffer_init (&self->buffer);
    self->keys = zhashx_new ();
    self->table = keys;
    memcpy (self->cluster, cluster, sizeof cluster);
    memcpy (self->incarnation, incarnation, sizeof incarnation);
    if (zcq_log_reload (self) != 0) {
        zcq_log_destroy (&self);
    }
    return self;
}

//  A write group member's log takes the group's identity with the first
//  group applied (zcq_log_carry_identity), which stays: read it until
//  then only, not on every group a follower applies. Returns 0 or -1.
static int
s_settle (zcq_log_t *self)
{
    if (self->member && !self->settled) {
        byte *group = NULL;
        size_t size = 0;
        self->settled = zcq_store_get (self->store, "m:group", 7, &group, &size) == 0;
        free (group);
        if (s_identity (self->store, "m:cluster", self->cluster) != 0
            || s_identity (self->store, "m:incarnation", self->incarnation) != 0) {
            return -1;
        }
    }
    return 0;
}

int
zcq_log_reload (zcq_log_t *self)
{
    assert (self);
    uint64_t head = 0, ids = 0;
    if (zcq_store_get_number (self->store, "m:head", 6, &head) != 0
        || s_newest_sequence (self->store, &ids) != 0) {
        return -1;
    }
    zcq_log_follow (self, head, ids);
    self->carried = false; //  a lead begins with a reload: its first group carries it
    return s_settle (self);
}

int
zcq_log_set_group_member (zcq_log_t *self)
{
    assert (self);
    self->member = true;
    return zcq_log_reload (self);
}

void
zcq_log_carry_identity (zcq_log_t *self, zcq_group_t *group)
{
    assert (self);
    assert (group);
    if (self->carried) {
        return; //  an earlier group of this lead carries it: the same ids
    }
    zcq_batch_t *batch = zcq_group_batch (group);
    zcq_batch_put (batch, "m:cluster", 9, self->cluster, ZCQ_LOG_ID_TEXT - 1);
    zcq_batch_put (batch, "m:incarnation", 13, self->incarnation, ZCQ_LOG_ID_TEXT - 1);
    self->carried = true;
}

void
zcq_log_follow (zcq_log_t *self, uint64_t head, uint64_t sequence)
{
    assert (self);
    zcq_group_clear (self->group);
    self->head = head;
    self->sealed_head = head;
    self->staged_head = head;
    self->newest_sequence = sequence;
    self->staged_sequence = sequence;
}

int
zcq_log_new_identity (zcq_store_t *store, const char *key, char text [ZCQ_LOG_ID_TEXT])
{
    byte raw [(ZCQ_LOG_ID_TEXT - 1) / 2];
    if (zcq_random_fill (raw, sizeof raw, NULL) != 0) {
        zsys_error ("log: no random bytes for its %s (%s)", key, strerror (errno));
        return -1;
    }
    for (size_t index = 0; index < sizeof raw; index++) {
        snprintf (text + 2 * index, 3, "%02x", raw [index]);
    }
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, key, strlen (key), text, ZCQ_LOG_ID_TEXT - 1);
    int rc = zcq_store_write (store, batch, true);
    zcq_batch_destroy (&batch);
    return rc;
}

int
zcq_log_backup (zcq_store_t *store, const char *path, uint64_t *head, char **error)
{
    assert (store && path && head && error);
    struct stat there;
    if (stat (path, &there) == 0) {
        *error = zsys_sprintf ("'%s' already exists: a backup goes to a new folder", path);
        return -1;
    }
    zcq_store_t *copy = zcq_store_open (path, &s_options);
    zcq_iter_t *iter = copy ? zcq_iter_new (store, true) : NULL;
    if (!iter) {
        *error = zsys_sprintf ("cannot create the backup folder '%s'", path);
        zcq_store_destroy (&copy);
        return -1;
    }
    //  One snapshot, copied key by key in batches of about 4 MB; the marker
    //  "m:backup" (the snapshot's head) goes last, with the sync
    *head = 0;
    int rc = 0;
    size_t bytes = 0;
    zcq_batch_t *batch = zcq_batch_new ();
    for (zcq_iter_seek (iter, "", 0); rc == 0 && zcq_iter_valid (iter); zcq_iter_next (iter)) {
        size_t key_size = 0, value_size = 0;
        const byte *key = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &value_size);
        if (key_size == 6 && memcmp (key, "m:head", 6) == 0 && value_size == 8) {
            *head = zcq_store_get_be64 (value);
        }
        zcq_batch_put (batch, key, key_size, value, value_size);
        bytes += key_size + value_size;
        if (bytes >= 4 * 1024 * 1024) {
            bytes = 0;
            rc = zcq_store_write (copy, batch, false);
            zcq_batch_destroy (&batch);
            batch = zcq_batch_new ();
        }
    }
    zcq_iter_destroy (&iter);
    byte marker [8];
    zcq_store_put_be64 (marker, *head);
    zcq_batch_put (batch, "m:backup", 8, marker, sizeof marker);
    rc = rc == 0 ? zcq_store_write (copy, batch, true) : rc;
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&copy);
    if (rc != 0) {
        *error = zsys_sprintf (
            "writing the backup to '%s' failed; nothing usable is left there", path);
        zdir_t *dir = zdir_new (path, NULL);
        if (dir) {
            zdir_remove (dir, true);
            zdir_destroy (&dir);
        }
    }
    return rc;
}

const char *
zcq_log_cluster (zcq_log_t *self)
{
    assert (self);
    return self->member && !self->settled ? "" : self->cluster;
}

const char *
zcq_log_incarnation (zcq_log_t *self)
{
    assert (self);
    return self->member && !self->settled ? "" : self->incarnation;
}

void
zcq_log_destroy (zcq_log_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_log_t *self = *self_p;
        zcq_group_destroy (&self->group);
        zcq_group_destroy (&self->spare);
        msgpack_sbuffer_destroy (&self->buffer);
        zhashx_destroy (&self->keys);
        zcq_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

zcq_store_t *
zcq_log_store (zcq_log_t *self)
{
    assert (self);
    return self->store;
}

zcq_store_t *
zcq_log_keys (zcq_log_t *self)
{
    assert (self);
    return self->table ? zcq_keys_store (self->table) : NULL;
}

uint64_t
zcq_log_head (zcq_log_t *self)
{
    assert (self);
    return self->head;
}

uint64_t
zcq_log_staged_head (zcq_log_t *self)
{
    assert (self);
    return self->staged_head;
}

int
zcq_log_stream_version (zcq_log_t *self, const char *stream, uint64_t *version)
{
    assert (self);
    //  The stream's last index key: "s:" stream 0x01 is the first key after
    //  every "s:" stream 0x00 ... key, and stream names hold no 0x00 or 0x01
    byte prefix [KEY_MAX];
    size_t prefix_size = s_stream_key (prefix, stream, 0, false);
    *version = 0;
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return -1;
    }
    prefix [prefix_size - 1] = 1;
    zcq_iter_seek (iter, prefix, prefix_size);
    prefix [prefix_size - 1] = 0;
    if (zcq_iter_valid (iter)) {
        zcq_iter_prev (iter);
    }
    else {
        zcq_iter_seek_last (iter);
    }
    int rc = 0;
    if (zcq_iter_has_prefix (iter, prefix, prefix_size)) {
        size_t size;
        const byte *key = zcq_iter_key (iter, &size);
        if (size == prefix_size + 8) {
            *version = zcq_store_get_be64 (key + prefix_size);
        }
        else {
            zsys_error ("log %s: stream index of '%s' is damaged", zcq_store_path (self->store),
                        stream);
            rc = -1;
        }
    }
    zcq_iter_destroy (&iter);
    return rc;
}

int
zcq_log_find_reply (zcq_log_t *self, const byte *command_id, byte **reply, size_t *size)
{
    assert (self);
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'c', command_id, ZCQ_COMMAND_ID);
    return zcq_store_get (self->store, key, key_size, reply, size);
}

uint64_t
zcq_log_stage_event (zcq_log_t *self, zcq_msg_t *event)
{
    assert (self);
    assert (event);
    uint64_t position = self->staged_head + 1;
    zcq_msg_set_position (event, position);
    self->buffer.size = 0;
    if (zcq_msg_encode_body (event, &self->buffer) != 0) {
        return 0;
    }
    //  The body goes into the group's record, written at seal
    zcq_batch_t *batch = zcq_group_batch (self->group);
    byte key [KEY_MAX];
    byte topic [ZCQ_MAX_TOPIC];
    zcq_group_add_body (self->group, self->buffer.data, self->buffer.size, topic,
                        zcq_msg_topic (event, topic));

    const char *stream = zcq_msg_stream (event);
    byte value [8];
    zcq_store_put_be64 (value, position);
    size_t key_size = s_stream_key (key, stream, zcq_msg_version (event), true);
    zcq_batch_put (batch, key, key_size, value, 8);
    self->staged_head = position;
    return position;
}

int
zcq_log_stage_reply (zcq_log_t *self, zcq_msg_t *reply, int64_t time)
{
    assert (self);
    assert (reply);
    assert (zcq_msg_id_size (reply) == ZCQ_COMMAND_ID);
    self->buffer.size = 0;
    if (zcq_msg_encode_body (reply, &self->buffer) != 0) {
        return -1;
    }
    zcq_log_stage_outcome (self, zcq_msg_id (reply), self->buffer.data, self->buffer.size,
                           time);
    return 0;
}

void
zcq_log_stage_outcome (zcq_log_t *self, const byte *command_id, const void *body, size_t size,
                       int64_t time)
{
    assert (self);
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'c', command_id, ZCQ_COMMAND_ID);
    zcq_batch_put (zcq_group_batch (self->group), key, key_size, body, size);
    //  Its place in the retention order: written with the group, as one
    //  record of all the group's ids (see zcq_log_seal)
    zcq_group_add_id (self->group, command_id, time);
    ++self->staged_sequence;
}

bool
zcq_log_stage_state (zcq_log_t *self, const char *stream, uint64_t version, const void *state,
                     size_t size)
{
    assert (self);
    byte stream_key [ZCQ_SEAL_KEY];
    if (self->sealing && zcq_log_stream_key (self, stream, false, stream_key) != 0) {
        //  A stream without a key (none yet, forgotten, or not readable)
        //  gets none for a snapshot, and no snapshot is stored in plain:
        //  its state is folded from its events instead
        return false;
    }
    self->buffer.size = 0;
    msgpack_packer packer;
    msgpack_packer_init (&packer, &self->buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, 2);
    msgpack_pack_uint64 (&packer, version);
    if (self->sealing) {
        //  A state may hold what personal fields held: sealed like them
        zcq_seal_pack_bytes (&packer, state, size, stream_key, stream);
    }
    else {
        msgpack_pack_bin (&packer, size);
        msgpack_pack_bin_body (&packer, state, size);
    }
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'a', stream, strnlen (stream, ZCQ_MAX_STREAM));
    zcq_batch_put (zcq_group_batch (self->group), key, key_size, self->buffer.data,
                   self->buffer.size);
    return true;
}

int
zcq_log_find_state (zcq_log_t *self, const char *stream, uint64_t *version, byte **state,
                    size_t *size)
{
    assert (self);
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'a', stream, strnlen (stream, ZCQ_MAX_STREAM));
    byte *found = NULL;
    size_t found_size = 0;
    int rc = zcq_store_get (self->store, key, key_size, &found, &found_size);
    if (rc != 0) {
        return rc;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    rc = -1;
    const msgpack_object *item = NULL;
    if (msgpack_unpack_next (&unpacked, (const char *) found, found_size, NULL)
            == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_ARRAY && unpacked.data.via.array.size == 2
        && unpacked.data.via.array.ptr [0].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        item = unpacked.data.via.array.ptr;
        *version = item [0].via.u64;
    }
    byte stream_key [ZCQ_SEAL_KEY];
    if (item && item [1].type == MSGPACK_OBJECT_EXT) {
        //  Sealed: its key may be gone, and then so is the snapshot
        rc = zcq_log_stream_key (self, stream, false, stream_key);
        if (rc == 0 && zcq_seal_open_bytes (&item [1], stream_key, stream, state, size) != 0) {
            rc = 1;
        }
    }
    else if (item && item [1].type == MSGPACK_OBJECT_BIN) {
        const msgpack_object_bin *bin = &item [1].via.bin;
        *state = (byte *) malloc (bin->size + 1);
        assert (*state);
        memcpy (*state, bin->ptr, bin->size);
        *size = bin->size;
        rc = 0;
    }
    else {
        zsys_error ("log %s: snapshot of stream '%s' is damaged", zcq_store_path (self->store),
                    stream);
    }
    msgpack_unpacked_destroy (&unpacked);
    free (found);
    return rc;
}

size_t
zcq_log_staged_count (zcq_log_t *self)
{
    assert (self);
    return zcq_group_count (self->group);
}

size_t
zcq_log_staged_size (zcq_log_t *self)
{
    assert (self);
    return zcq_batch_size (zcq_group_batch (self->group));
}

static void
s_put_be32 (byte *dest, uint32_t value)
{
    dest [0] = (byte) (value >> 24);
    dest [1] = (byte) (value >> 16);
    dest [2] = (byte) (value >> 8);
    dest [3] = (byte) value;
}

static uint32_t
s_get_be32 (const byte *source)
{
    return ((uint32_t) source [0] << 24) | ((uint32_t) source [1] << 16)
           | ((uint32_t) source [2] << 8) | source [3];
}

//  Put a group's events (the first at position first) as ONE record: "e:"
//  be64(first) -> RECORD_TAG be32(count) be32(offset) x (count + 1) bodies,
//  offsets counted from the first body. One key for the whole group, not one per
//  event: the memtable insert is LevelDB's biggest cost per key.
static void
s_put_record (zcq_log_t *self, zcq_group_t *group, uint64_t first, zcq_batch_t *batch)
{
    size_t count = zcq_group_count (group);
    size_t bytes = 0;
    for (size_t index = 0; index < count; index++) {
        size_t size;
        zcq_group_body (group, index, &size);
        bytes += size;
    }
    size_t header = RECORD_HEADER + 4 * (count + 1);
    self->buffer.size = 0;
    if (self->buffer.alloc < header + bytes) {
        self->buffer.data = (char *) realloc (self->buffer.data, header + bytes);
        assert (self->buffer.data);
        self->buffer.alloc = header + bytes;
    }
    byte *record = (byte *) self->buffer.data;
    record [0] = RECORD_TAG;
    s_put_be32 (record + 1, (uint32_t) count);
    size_t offset = 0;
    for (size_t index = 0; index < count; index++) {
        size_t size;
        const byte *body = zcq_group_body (group, index, &size);
        s_put_be32 (record + RECORD_HEADER + 4 * index, (uint32_t) offset);
        memcpy (record + header + offset, body, size);
        offset += size;
    }
    s_put_be32 (record + RECORD_HEADER + 4 * count, (uint32_t) offset);
    byte key [10];
    s_event_key (key, first);
    zcq_batch_put (batch, key, sizeof (key), record, header + bytes);
}

//  The events of a stored "e:" value: a group record, or (as a folder of
//  layout 1 holds, and anything that is not a whole record) one body.
//  Returns the number of events; *bodies points at the first body.
typedef struct {
    const byte *value; //  the stored value
    size_t size;       //  its bytes
    size_t count;      //  events in it
    bool record;       //  a group record (else the value is one body)
} s_record_t;

static s_record_t
s_record (const byte *value, size_t size)
{
    s_record_t record = {value, size, 1, false};
    if (size < RECORD_HEADER || value [0] != RECORD_TAG) {
        return record;
    }
    uint32_t count = s_get_be32 (value + 1);
    size_t header = RECORD_HEADER + 4 * ((size_t) count + 1);
    if (count == 0 || header > size
        || s_get_be32 (value + RECORD_HEADER + 4 * (size_t) count) != size - header) {
        return record; //  damaged: handed on as one body, which will not decode
    }
    for (uint32_t index = 0; index < count; index++) {
        if (s_get_be32 (value + RECORD_HEADER + 4 * index)
            > s_get_be32 (value + RECORD_HEADER + 4 * (index + 1))) {
            return record;
        }
    }
    record.count = count;
    record.record = true;
    return record;
}

//  Body `index` of a record.
static const byte *
s_record_body (const s_record_t *record, size_t index, size_t *size)
{
    if (!record->record) {
        *size = record->size;
        return record->value;
    }
    size_t header = RECORD_HEADER + 4 * (record->count + 1);
    uint32_t start = s_get_be32 (record->value + RECORD_HEADER + 4 * index);
    uint32_t end = s_get_be32 (record->value + RECORD_HEADER + 4 * (index + 1));
    *size = end - start;
    return record->value + header + start;
}

//  Put an iterator at the record holding position (the last "e:" key at or
//  before it); false if there is none.
static bool
s_seek_record (zcq_iter_t *iter, uint64_t position)
{
    byte key [10];
    s_event_key (key, position);
    zcq_iter_seek (iter, key, sizeof (key));
    size_t size = 0;
    if (zcq_iter_has_prefix (iter, "e:", 2) && zcq_iter_key (iter, &size) && size == 10
        && zcq_store_get_be64 (zcq_iter_key (iter, &size) + 2) == position) {
        return true;
    }
    if (zcq_iter_valid (iter)) {
        zcq_iter_prev (iter);
    }
    else {
        zcq_iter_seek_last (iter);
    }
    return zcq_iter_has_prefix (iter, "e:", 2);
}

zcq_group_t *
zcq_log_seal (zcq_log_t *self)
{
    assert (self);
    //  The head moves in the same batch as the events, so a crash leaves
    //  either the whole group with its head or neither
    zcq_batch_t *batch = zcq_group_batch (self->group);
    if (self->staged_head != self->sealed_head) {
        byte value [8];
        zcq_store_put_be64 (value, self->staged_head);
        zcq_batch_put (batch, "m:head", 6, value, 8);
        assert (zcq_group_count (self->group) == self->staged_head - self->sealed_head);
        s_put_record (self, self->group, self->sealed_head + 1, batch);
    }
    //  The group's retention record: "t:" be64(sequence of its first id)
    //  -> be64(time) and its ids, in sequence order. One key per group, not
    //  per command
    size_t count;
    const byte *ids = zcq_group_ids (self->group, &count);
    if (count) {
        byte key [10] = {'t', ':'};
        zcq_store_put_be64 (key + 2, self->staged_sequence - count + 1);
        size_t size = ORDER_HEADER + count * ZCQ_COMMAND_ID;
        byte *value = (byte *) malloc (size);
        assert (value);
        zcq_store_put_be64 (value, (uint64_t) zcq_group_time (self->group));
        memcpy (value + ORDER_HEADER, ids, count * ZCQ_COMMAND_ID);
        zcq_batch_put (batch, key, sizeof (key), value, size);
        free (value);
    }
    zcq_group_t *sealed = self->group;
    zcq_group_set_head (sealed, self->staged_head);
    zcq_group_set_sequence (sealed, self->staged_sequence);
    self->sealed_head = self->staged_head;
    self->group = self->spare ? self->spare : zcq_group_new ();
    self->spare = NULL;
    return sealed;
}

void
zcq_log_recycle (zcq_log_t *self, zcq_group_t **group_p)
{
    assert (self);
    assert (group_p);
    if (*group_p && !self->spare) {
        zcq_group_clear (*group_p);
        self->spare = *group_p;
        *group_p = NULL;
    }
    zcq_group_destroy (group_p);
}

void
zcq_log_sealed (zcq_log_t *self, zcq_group_t *group, bool stored)
{
    assert (self);
    assert (group);
    if (stored) {
        self->head = zcq_group_head (group);
        self->newest_sequence = zcq_group_sequence (group);
        //  A member's own group, committed, brought the group's identity
        self->settled = self->settled || self->member;
    }
    else {
        //  What is staged now was decided on top of the lost group
        zcq_group_clear (self->group);
        zhashx_purge (self->keys); //  keys staged with it were not stored
        self->sealed_head = self->head;
        self->staged_head = self->head;
        self->staged_sequence = self->newest_sequence;
    }
}

int
zcq_log_commit (zcq_log_t *self, bool sync)
{
    assert (self);
    if (zcq_log_staged_size (self) == 0) {
        return 0;
    }
    zcq_group_t *group = zcq_log_seal (self);
    int rc = zcq_group_write_keys (group, zcq_log_keys (self));
    rc = rc == 0 ? zcq_store_write (self->store, zcq_group_batch (group), sync) : rc;
    zcq_log_sealed (self, group, rc == 0);
    zcq_group_destroy (&group);
    return rc;
}

uint64_t
zcq_log_staged_sequence (zcq_log_t *self)
{
    assert (self);
    return self->staged_sequence;
}

int
zcq_log_visit_ids (zcq_log_t *self, zcq_log_id_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return -1;
    }
    int rc = 0;
    zcq_iter_seek (iter, "t:", 2);
    while (zcq_iter_has_prefix (iter, "t:", 2)) {
        size_t key_size, size;
        const byte *key = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &size);
        if (key_size != 10 || size < ORDER_HEADER || (size - ORDER_HEADER) % ZCQ_COMMAND_ID) {
            zsys_error ("log %s: command-id order record is damaged",
                        zcq_store_path (self->store));
            rc = -1;
            break;
        }
        uint64_t first = zcq_store_get_be64 (key + 2);
        size_t count = (size - ORDER_HEADER) / ZCQ_COMMAND_ID;
        for (size_t index = 0; index < count; index++) {
            fn (value + ORDER_HEADER + index * ZCQ_COMMAND_ID, first + index, arg);
        }
        zcq_iter_next (iter);
    }
    zcq_iter_destroy (&iter);
    return rc;
}

uint64_t
zcq_log_newest_sequence (zcq_log_t *self)
{
    assert (self);
    return self->newest_sequence;
}

int
zcq_log_stored_sequence (zcq_store_t *store, uint64_t *sequence)
{
    assert (store);
    assert (sequence);
    return s_newest_sequence (store, sequence);
}

void
zcq_log_begin (zcq_log_t *self)
{
    zcq_log_abort (self);
}

void
zcq_log_abort (zcq_log_t *self)
{
    assert (self);
    zcq_group_clear (self->group);
    zhashx_purge (self->keys);
    self->staged_head = self->sealed_head;
    self->staged_sequence = self->newest_sequence;
}

//  Visit events from position from with an open iterator (see zcq_log_read).
static int
s_read (zcq_iter_t *iter, uint64_t from, size_t max, size_t max_bytes, zcq_log_event_fn *fn,
        void *arg)
{
    from = from ? from : 1;
    if (!s_seek_record (iter, from)) {
        byte key [10];
        s_event_key (key, from);
        zcq_iter_seek (iter, key, sizeof (key));
    }
    int visited = 0;
    size_t bytes = 0;
    bool stop = false;
    while (!stop && (size_t) visited < max && zcq_iter_has_prefix (iter, "e:", 2)) {
        size_t key_size, size;
        const byte *key = zcq_iter_key (iter, &key_size);
        uint64_t first = key_size == 10 ? zcq_store_get_be64 (key + 2) : 0;
        const byte *value = zcq_iter_value (iter, &size);
        s_record_t record = s_record (value, size);
        for (size_t index = from > first ? (size_t) (from - first) : 0;
             !stop && index < record.count && (size_t) visited < max; index++) {
            const byte *body = s_record_body (&record, index, &size);
            if (visited > 0 && bytes + size > max_bytes) {
                stop = true;
                break;
            }
            bytes += size;
            visited++;
            stop = fn (body, size, arg) != 0;
        }
        zcq_iter_next (iter);
    }
    return visited;
}

int
zcq_log_read (zcq_log_t *self, uint64_t from, size_t max, size_t max_bytes,
              zcq_log_event_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    if (from > self->head) {
        return 0;
    }
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return -1;
    }
    int visited = s_read (iter, from, max, max_bytes, fn, arg);
    zcq_iter_destroy (&iter);
    return visited;
}

//  The head of the store an iterator reads (0: an empty log).
static uint64_t
s_snapshot_head (zcq_iter_t *iter)
{
    uint64_t head = 0;
    zcq_iter_seek (iter, "m:head", 6);
    size_t size = 0;
    if (zcq_iter_valid (iter) && zcq_iter_key (iter, &size) && size == 6
        && memcmp (zcq_iter_key (iter, &size), "m:head", 6) == 0) {
        const byte *value = zcq_iter_value (iter, &size);
        if (size == 8) {
            head = zcq_store_get_be64 (value);
        }
    }
    return head;
}

int
zcq_log_follow_store (zcq_log_t *self, zcq_log_event_fn *fn, void *arg)
{
    assert (self);
    //  One iterator, one view of the store: its head, its newest command
    //  id and the events up to that head. A reload and a read took three
    //  look-ups of their own (a get and two iterators) for every group a
    //  follower applied.
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return -1;
    }
    uint64_t from = self->head + 1;
    uint64_t head = s_snapshot_head (iter);
    uint64_t sequence = 0;
    if (s_iter_newest_sequence (iter, self->store, &sequence) != 0) {
        zcq_iter_destroy (&iter);
        return -1;
    }
    if (head < self->head) {
        //  Not a store moving on: read it as a reload does
        zcq_iter_destroy (&iter);
        return zcq_log_reload (self) == 0 ? 0 : -1;
    }
    zcq_log_follow (self, head, sequence);
    int visited = 0;
    while (fn && from <= head) {
        int count = s_read (iter, from, ZCQ_MAX_EVENTS, 1024 * 1024, fn, arg);
        if (count <= 0) {
            break;
        }
        from += (uint64_t) count;
        visited += count;
    }
    zcq_iter_destroy (&iter);
    return s_settle (self) == 0 ? visited : -1;
}

int
zcq_log_follow_head (zcq_log_t *self)
{
    assert (self);
    uint64_t head = 0;
    if (zcq_store_get_number (self->store, "m:head", 6, &head) != 0) {
        return -1;
    }
    if (head < self->head) {
        return zcq_log_reload (self);
    }
    zcq_log_follow (self, head, self->newest_sequence);
    return s_settle (self);
}

//  Keep the visited event's meta.time (an event that does not decode
//  counts as the latest time) and stop.
static int
s_take_time (const byte *body, size_t size, void *arg)
{
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    *(int64_t *) arg = zcq_msg_valid (event) ? zcq_msg_time (event) : INT64_MAX;
    zcq_msg_destroy (&event);
    return 1;
}

int
zcq_log_first_at (zcq_store_t *store, int64_t time, uint64_t *position)
{
    assert (store);
    assert (position);
    zcq_iter_t *iter = zcq_iter_new (store, true);
    if (!iter) {
        return -1;
    }
    //  Binary search over positions 1 .. head + 1: about 2 log2 (head)
    //  seeks, whatever the log's size
    uint64_t low = 1, high = s_snapshot_head (iter) + 1;
    while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        int64_t at = INT64_MAX;
        s_read (iter, middle, 1, SIZE_MAX, s_take_time, &at);
        if (at >= time) {
            high = middle;
        }
        else {
            low = middle + 1;
        }
    }
    zcq_iter_destroy (&iter);
    *position = low;
    return 0;
}

int
zcq_log_replay (zcq_store_t *store, uint64_t from, size_t max, size_t max_bytes,
                zcq_log_event_fn *fn, void *arg, uint64_t *head)
{
    assert (store);
    assert (fn);
    zcq_iter_t *iter = zcq_iter_new (store, true);
    if (!iter) {
        return -1;
    }
    *head = s_snapshot_head (iter);
    //  Events above the snapshot's head cannot exist in it: the head is
    //  written in the same batch as the events it covers
    int visited = s_read (iter, from, max, max_bytes, fn, arg);
    zcq_iter_destroy (&iter);
    return visited;
}

//  The oldest sequence retention kept: the first record's first sequence,
//  or "m:forgotten" where an earlier walk stopped inside that record
//  (newest + 1 if there is no record).
static uint64_t
s_oldest_kept (zcq_store_t *store, zcq_iter_t *iter, uint64_t newest)
{
    zcq_iter_seek (iter, "t:", 2);
    size_t size, value_size;
    if (!zcq_iter_has_prefix (iter, "t:", 2) || !zcq_iter_key (iter, &size) || size != 10
        || !zcq_iter_value (iter, &value_size) || value_size < ORDER_HEADER) {
        return newest + 1;
    }
    uint64_t first = zcq_store_get_be64 (zcq_iter_key (iter, &size) + 2);
    uint64_t count = (value_size - ORDER_HEADER) / ZCQ_COMMAND_ID;
    uint64_t cut = 0;
    zcq_store_get_number (store, "m:forgotten", 11, &cut);
    return cut > first && cut < first + count ? cut : first;
}

int
zcq_log_forget_ids (zcq_store_t *store, uint64_t *oldest, uint64_t newest, uint64_t max_ids,
                    int64_t before, size_t limit)
{
    assert (store);
    assert (oldest);
    zcq_iter_t *iter = zcq_iter_new (store, false);
    if (!iter) {
        return -1;
    }
    uint64_t started = *oldest;
    if (*oldest == 0) {
        *oldest = s_oldest_kept (store, iter, newest);
    }
    //  The record holding the oldest kept id: the last "t:" key at or
    //  before it
    byte key [10] = {'t', ':'};
    zcq_store_put_be64 (key + 2, *oldest + 1);
    zcq_iter_seek (iter, key, sizeof (key));
    if (zcq_iter_valid (iter)) {
        zcq_iter_prev (iter);
    }
    else {
        zcq_iter_seek_last (iter);
    }
    if (!zcq_iter_has_prefix (iter, "t:", 2)) {
        zcq_iter_seek (iter, "t:", 2);
    }
    zcq_batch_t *batch = zcq_batch_new ();
    size_t forgotten = 0;
    uint64_t cursor = *oldest;
    bool stop = false;
    while (!stop && zcq_iter_has_prefix (iter, "t:", 2)) {
        size_t key_size, size;
        const byte *order = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &size);
        if (key_size != 10 || size < ORDER_HEADER + ZCQ_COMMAND_ID
            || (size - ORDER_HEADER) % ZCQ_COMMAND_ID) {
            zsys_error ("log %s: command-id order record is damaged; retention stops",
                        zcq_store_path (store));
            zcq_iter_destroy (&iter);
            zcq_batch_destroy (&batch);
            *oldest = 0;
            return -1;
        }
        uint64_t first = zcq_store_get_be64 (order + 2);
        size_t count = (size - ORDER_HEADER) / ZCQ_COMMAND_ID;
        int64_t time = (int64_t) zcq_store_get_be64 (value);
        uint64_t sequence = first > cursor ? first : cursor;
        for (; sequence < first + count; sequence++) {
            uint64_t kept = newest >= sequence ? newest - sequence + 1 : 0;
            if ((kept <= max_ids && time >= before) || forgotten == limit) {
                stop = true;
                break;
            }
            byte id_key [2 + ZCQ_COMMAND_ID];
            const byte *id = value + ORDER_HEADER + (sequence - first) * ZCQ_COMMAND_ID;
            zcq_batch_delete (batch, id_key, s_tagged_key (id_key, 'c', id, ZCQ_COMMAND_ID));
            forgotten++;
        }
        cursor = sequence;
        if (sequence >= first + count) {
            zcq_batch_delete (batch, order, key_size); //  the whole record is forgotten
            zcq_iter_next (iter);
        }
    }
    zcq_iter_destroy (&iter);
    int rc = 0;
    if (forgotten) {
        //  Where the next walk starts, should a record be cut into
        byte value [8];
        zcq_store_put_be64 (value, cursor);
        zcq_batch_put (batch, "m:forgotten", 11, value, 8);
        rc = zcq_store_write (store, batch, false);
    }
    zcq_batch_destroy (&batch);
    if (rc != 0) {
        *oldest = started; //  nothing was forgotten: walk again next time
        return -1;
    }
    *oldest = stop ? cursor : newest + 1;
    return (int) forgotten;
}

int
zcq_log_read_stream (zcq_log_t *self, const char *stream, uint64_t from, zcq_log_event_fn *fn,
                     void *arg)
{
    assert (self);
    assert (stream);
    assert (fn);
    byte prefix [KEY_MAX], start [KEY_MAX];
    size_t prefix_size = s_stream_key (prefix, stream, 0, false);
    size_t start_size = s_stream_key (start, stream, from, true);
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    zcq_iter_t *events = zcq_iter_new (self->store, false);
    int visited = 0;
    if (!iter || !events) {
        visited = -1;
    }
    else {
        zcq_iter_seek (iter, start, start_size);
        while (zcq_iter_has_prefix (iter, prefix, prefix_size)) {
            size_t size;
            const byte *value = zcq_iter_value (iter, &size);
            if (size != 8) {
                zsys_error ("log %s: stream index of '%s' is damaged",
                            zcq_store_path (self->store), stream);
                visited = -1;
                break;
            }
            uint64_t position = zcq_store_get_be64 (value);
            size_t key_size, record_size, body_size = 0;
            const byte *body = NULL;
            if (s_seek_record (events, position)) {
                uint64_t first = zcq_store_get_be64 (zcq_iter_key (events, &key_size) + 2);
                const byte *stored = zcq_iter_value (events, &record_size);
                s_record_t record = s_record (stored, record_size);
                if (key_size == 10 && position - first < record.count) {
                    body = s_record_body (&record, (size_t) (position - first), &body_size);
                }
            }
            if (!body) {
                zsys_error ("log %s: event %" PRIu64 " of stream '%s' is missing",
                            zcq_store_path (self->store), position, stream);
                visited = -1;
                break;
            }
            visited++;
            if (fn (body, body_size, arg)) {
                break;
            }
            zcq_iter_next (iter);
        }
    }
    zcq_iter_destroy (&events);
    zcq_iter_destroy (&iter);
    return visited;
}

//  --- Deleted streams ---------------------------------------------------------

void
zcq_log_stage_deleted (zcq_log_t *self, const char *stream, uint64_t tombstone)
{
    assert (self);
    assert (stream);
    byte key [KEY_MAX], value [8];
    size_t length = strnlen (stream, ZCQ_MAX_STREAM);
    zcq_store_put_be64 (value, tombstone);
    zcq_batch_t *batch = zcq_group_batch (self->group);
    zcq_batch_put (batch, key, s_tagged_key (key, 'd', stream, length), value, 8);
    //  A snapshot holds what the events held: it goes with them
    zcq_batch_delete (batch, key, s_tagged_key (key, 'a', stream, length));
}

int
zcq_log_stream_deleted (zcq_log_t *self, const char *stream, uint64_t *tombstone)
{
    assert (self);
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'd', stream, strnlen (stream, ZCQ_MAX_STREAM));
    byte *value = NULL;
    size_t size = 0;
    int rc = zcq_store_get (self->store, key, key_size, &value, &size);
    if (rc == 0 && size != 8 && size != 9) {
        zsys_error ("log %s: the deletion record of '%s' is damaged",
                    zcq_store_path (self->store), stream);
        rc = -1;
    }
    *tombstone = rc == 0 ? zcq_store_get_be64 (value) : 0;
    free (value);
    return rc;
}

//  An event's body with its data gone: the same position, stream, version,
//  type, schema, command id and time (what a query node's fingerprint
//  covers), data {}, no correlation or user, and meta.deleted. Returns 0
//  with the new body in buffer, or -1 if the stored body does not decode.
static int
s_hidden_body (const byte *body, size_t size, uint64_t tombstone, msgpack_sbuffer *buffer)
{
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    int rc = -1;
    if (zcq_msg_valid (event)) {
        zcq_msg_set_data (event, NULL, 0);
        zcq_msg_set_correlation (event, "");
        zcq_msg_set_user (event, "");
        zcq_msg_set_deleted (event, tombstone);
        buffer->size = 0;
        rc = zcq_msg_encode_body (event, buffer);
    }
    zcq_msg_destroy (&event);
    return rc;
}

//  Rewrite the record at the iterator's key into batch, every event of the
//  stream in it before the tombstone hidden. Returns 0 or -1.
static int
s_hide_in_record (zcq_log_t *self, zcq_iter_t *events, const char *stream, uint64_t tombstone,
                  zcq_batch_t *batch)
{
    size_t key_size, stored_size;
    const byte *key = zcq_iter_key (events, &key_size);
    const byte *stored = zcq_iter_value (events, &stored_size);
    s_record_t record = s_record (stored, stored_size);
    zcq_group_t *group = zcq_group_new ();
    msgpack_sbuffer hidden;
    msgpack_sbuffer_init (&hidden);
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < record.count; index++) {
        size_t size;
        const byte *body = s_record_body (&record, index, &size);
        zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
        bool hide = zcq_msg_valid (event) && streq (zcq_msg_stream (event), stream)
                    && zcq_msg_position (event) < tombstone;
        zcq_msg_destroy (&event);
        //  A rewritten record is stored, never published: no topic
        if (hide) {
            rc = s_hidden_body (body, size, tombstone, &hidden);
            zcq_group_add_body (group, hidden.data, hidden.size, (const byte *) "", 0);
        }
        else {
            zcq_group_add_body (group, body, size, (const byte *) "", 0);
        }
    }
    if (rc == 0) {
        s_put_record (self, group, zcq_store_get_be64 (key + 2), batch);
    }
    else {
        zsys_error ("log %s: an event of '%s' in the record at %" PRIu64 " does not decode",
                    zcq_store_path (self->store), stream, zcq_store_get_be64 (key + 2));
    }
    (void) key_size;
    msgpack_sbuffer_destroy (&hidden);
    zcq_group_destroy (&group);
    return rc;
}

//  Compact what hiding a stream rewrites: its snapshot key and its records,
//  each alone while they are few (count of them, the first HIDE_EACH in
//  records), else the whole range from the first to the last. A stream's
//  events may lie far apart: one range from the first to the last would
//  rewrite every table of the log between them.
static void
s_compact_hidden (zcq_log_t *self, const char *stream, const uint64_t *records, size_t count,
                  uint64_t last)
{
    byte start [10], limit [10];
    for (size_t index = 0; index < count && count <= HIDE_EACH; index++) {
        s_event_key (start, records [index]);
        zcq_store_compact (self->store, start, sizeof start, start, sizeof start);
    }
    if (count > HIDE_EACH) {
        s_event_key (start, records [0]);
        s_event_key (limit, last);
        zcq_store_compact (self->store, start, sizeof start, limit, sizeof limit);
    }
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'a', stream, strnlen (stream, ZCQ_MAX_STREAM));
    zcq_store_compact (self->store, key, key_size, key, key_size);
}

int
zcq_log_hide_stream (zcq_log_t *self, const char *stream, uint64_t tombstone)
{
    assert (self);
    assert (stream);
    byte prefix [KEY_MAX], key [KEY_MAX], value [9];
    size_t prefix_size = s_stream_key (prefix, stream, 0, false);
    zcq_iter_t *index = zcq_iter_new (self->store, false);
    zcq_iter_t *events = zcq_iter_new (self->store, false);
    zcq_batch_t *batch = zcq_batch_new ();
    uint64_t done = 0, last = 0;  //  the last record rewritten
    uint64_t records [HIDE_EACH]; //  the first records rewritten
    size_t count = 0;             //  records rewritten
    int hidden = 0;
    if (!index || !events) {
        hidden = -1;
    }
    else {
        zcq_iter_seek (index, prefix, prefix_size);
        while (hidden >= 0 && zcq_iter_has_prefix (index, prefix, prefix_size)) {
            size_t size;
            const byte *stored = zcq_iter_value (index, &size);
            uint64_t position = size == 8 ? zcq_store_get_be64 (stored) : 0;
            if (position == 0 || !s_seek_record (events, position)) {
                zsys_error ("log %s: event %" PRIu64 " of deleted stream '%s' is missing",
                            zcq_store_path (self->store), position, stream);
                hidden = -1;
                break;
            }
            uint64_t record = zcq_store_get_be64 (zcq_iter_key (events, &size) + 2);
            if (position < tombstone && record != done) {
                if (s_hide_in_record (self, events, stream, tombstone, batch)) {
                    hidden = -1;
                    break;
                }
                done = record;
                last = record;
                if (count < HIDE_EACH) {
                    records [count] = record;
                }
                count++;
            }
            hidden += position < tombstone;
            zcq_iter_next (index);
        }
    }
    zcq_iter_destroy (&events);
    zcq_iter_destroy (&index);
    size_t length = strnlen (stream, ZCQ_MAX_STREAM);
    size_t key_size = s_tagged_key (key, 'd', stream, length);
    zcq_store_put_be64 (value, tombstone);
    value [8] = DELETED_HIDDEN;
    zcq_batch_put (batch, key, key_size, value, sizeof value);
    if (hidden >= 0) {
        //  Overwritten is not gone: compacted, the old values leave the
        //  tables and the write-ahead log. Before the write too, so that old
        //  and new never share the memtable: a table made from one keeps
        //  both, wherever it lands
        s_compact_hidden (self, stream, records, count, last);
        if (zcq_store_write (self->store, batch, true) != 0) {
            hidden = -1;
        }
    }
    zcq_batch_destroy (&batch);
    if (hidden < 0) {
        return -1;
    }
    s_compact_hidden (self, stream, records, count, last);
    zsys_info ("log %s: stream '%s' deleted at position %" PRIu64 ": the data of its %d events "
               "is gone from the disk",
               zcq_store_path (self->store), stream, tombstone, hidden);
    return hidden;
}

//  The records under prefix ("d:" or "f:") whose work is not done (a be64
//  value without its done byte), as "POSITION STREAM" strings; collected
//  first, as doing the work writes to the store an iterator would walk.
//  Returns the list (caller destroys), or NULL on a storage error.
static zlistx_t *
s_pending (zcq_log_t *self, const char *prefix)
{
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return NULL;
    }
    zlistx_t *pending = zlistx_new ();
    zlistx_set_destructor (pending, (zlistx_destructor_fn *) zstr_free);
    zcq_iter_seek (iter, prefix, 2);
    while (zcq_iter_has_prefix (iter, prefix, 2)) {
        size_t key_size, size;
        const byte *key = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &size);
        if (size == 8) {
            zlistx_add_end (pending,
                            zsys_sprintf ("%" PRIu64 " %.*s", zcq_store_get_be64 (value),
                                          (int) key_size - 2, key + 2));
        }
        zcq_iter_next (iter);
    }
    zcq_iter_destroy (&iter);
    return pending;
}

int
zcq_log_hide_pending (zcq_log_t *self)
{
    assert (self);
    zlistx_t *pending = s_pending (self, "d:");
    int rc = pending ? 0 : -1;
    for (char *item = pending ? (char *) zlistx_first (pending) : NULL; item;
         item = (char *) zlistx_next (pending)) {
        if (zcq_log_hide_stream (self, strchr (item, ' ') + 1, strtoull (item, NULL, 10)) < 0) {
            rc = -1;
        }
    }
    zlistx_destroy (&pending);
    return rc;
}

//  --- Stream keys (crypto-shredding) -------------------------------------------

void
zcq_log_set_sealing (zcq_log_t *self, bool sealing)
{
    assert (self);
    self->sealing = sealing;
}

int
zcq_log_stream_key (zcq_log_t *self, const char *stream, bool create, byte key [ZCQ_SEAL_KEY])
{
    assert (self);
    assert (stream);
    const byte *known = (const byte *) zhashx_lookup (self->keys, stream);
    int rc = 0;
    if (known) {
        memcpy (key, known, ZCQ_SEAL_KEY);
        return 0;
    }
    rc = self->table ? zcq_keys_find (zcq_keys_store (self->table), stream, key) : 1;
    if (rc == 1 && create && self->table) {
        //  Into the key table with the group of the first event it seals,
        //  just before it (zcq_group_write_keys), never before
        zcq_seal_key_new (key);
        zcq_keys_stage (zcq_group_keys (self->group), stream, key);
        rc = 0;
    }
    if (rc == 0) {
        byte *copy = (byte *) malloc (ZCQ_SEAL_KEY);
        assert (copy);
        memcpy (copy, key, ZCQ_SEAL_KEY);
        zhashx_update (self->keys, stream, copy);
        zhashx_freefn (self->keys, stream, free);
    }
    return rc;
}

void
zcq_log_stage_forgotten (zcq_log_t *self, const char *stream, uint64_t position)
{
    assert (self);
    assert (stream);
    byte key [KEY_MAX], value [8];
    zcq_store_put_be64 (value, position);
    size_t key_size = s_tagged_key (key, 'f', stream, strnlen (stream, ZCQ_MAX_STREAM));
    zcq_batch_put (zcq_group_batch (self->group), key, key_size, value, sizeof value);
}

bool
zcq_log_batch_forgets (zcq_batch_t *batch)
{
    assert (batch);
    return zcq_batch_puts_prefix (batch, "f:", 2);
}

bool
zcq_log_batch_hides (zcq_batch_t *batch)
{
    assert (batch);
    return zcq_batch_puts_prefix (batch, "d:", 2);
}

//  Compact a stream's snapshot record.
static void
s_compact_snapshot (zcq_log_t *self, const char *stream)
{
    byte key [KEY_MAX];
    size_t key_size = s_tagged_key (key, 'a', stream, strnlen (stream, ZCQ_MAX_STREAM));
    zcq_store_compact (self->store, key, key_size, key, key_size);
}

int
zcq_log_forget_key (zcq_log_t *self, const char *stream, uint64_t position)
{
    assert (self);
    assert (stream);
    zhashx_delete (self->keys, stream);
    //  The key first (in its own table), then the snapshot and the done
    //  mark here: cut short in between, it is all done again
    if (self->table && zcq_keys_shred (self->table, stream, position) != 0) {
        return -1;
    }
    byte key [KEY_MAX], value [9];
    size_t length = strnlen (stream, ZCQ_MAX_STREAM);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_delete (batch, key, s_tagged_key (key, 'a', stream, length));
    zcq_store_put_be64 (value, position);
    value [8] = FORGOTTEN_DONE;
    zcq_batch_put (batch, key, s_tagged_key (key, 'f', stream, length), value, sizeof value);
    //  Compacted before the write and after it, as hiding a stream is: a
    //  deletion that shares a memtable with the snapshot's value keeps both
    //  in the table made from it
    s_compact_snapshot (self, stream);
    int rc = zcq_store_write (self->store, batch, true);
    zcq_batch_destroy (&batch);
    if (rc != 0) {
        return -1;
    }
    s_compact_snapshot (self, stream);
    zsys_info ("log %s: stream '%s' forgotten at position %" PRIu64 ": its key is destroyed",
               zcq_store_path (self->store), stream, position);
    return 0;
}

int
zcq_log_forget_pending (zcq_log_t *self)
{
    assert (self);
    zlistx_t *pending = s_pending (self, "f:");
    int rc = pending ? 0 : -1;
    for (char *item = pending ? (char *) zlistx_first (pending) : NULL; item;
         item = (char *) zlistx_next (pending)) {
        if (zcq_log_forget_key (self, strchr (item, ' ') + 1, strtoull (item, NULL, 10)) != 0) {
            rc = -1;
        }
    }
    zlistx_destroy (&pending);
    return rc;
}

int
zcq_log_open_event (zcq_store_t *keys, const byte *body, size_t size, msgpack_sbuffer *out)
{
    assert (out);
    if (!keys || !zcq_seal_maybe (body, size)) {
        return 0;
    }
    zcq_msg_t *event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body, size);
    int rc = 0;
    if (zcq_msg_valid (event) && zcq_msg_data_size (event) > 0) {
        byte key [ZCQ_SEAL_KEY];
        int found = zcq_keys_find (keys, zcq_msg_stream (event), key);
        msgpack_sbuffer data;
        msgpack_sbuffer_init (&data);
        if (found < 0) {
            rc = -1;
        }
        else if (found == 0
                 && zcq_seal_open (zcq_msg_data (event), zcq_msg_data_size (event), key,
                                   zcq_msg_stream (event), true, &data)
                        > 0) {
            zcq_msg_set_data (event, (const byte *) data.data, data.size);
            out->size = 0;
            rc = zcq_msg_encode_body (event, out) == 0 ? 1 : -1;
        }
        msgpack_sbuffer_destroy (&data);
    }
    zcq_msg_destroy (&event);
    return rc;
}
