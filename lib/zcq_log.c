/*  =========================================================================
    zcq_log - the write node's event log on LevelDB (see zcq_log.h)
    =========================================================================
*/

#include "zcq_log.h"

#define LOG_FORMAT "zcqrs-log-1" //  value of "m:format"

struct _zcq_log_t {
    zcq_store_t *store;     //  LevelDB folder
    uint64_t head;          //  last committed position
    uint64_t staged_head;   //  last position including staged events
    zcq_batch_t *batch;     //  staged group
    zchunk_t **staged;      //  packed bodies of staged events
    size_t staged_count;    //  events staged
    size_t staged_alloc;    //  slots in staged
    msgpack_sbuffer buffer; //  encoding scratch
};

void
zcq_log_put_be64 (byte *dest, uint64_t value)
{
    for (int index = 7; index >= 0; index--) {
        dest [index] = (byte) (value & 0xff);
        value >>= 8;
    }
}

uint64_t
zcq_log_get_be64 (const byte *source)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++) {
        value = (value << 8) | source [index];
    }
    return value;
}

//  "e:" be64(position)
static void
s_event_key (byte key [10], uint64_t position)
{
    key [0] = 'e';
    key [1] = ':';
    zcq_log_put_be64 (key + 2, position);
}

//  "s:" stream 0x00 [be64(version)]; caller frees. With_version false gives
//  the prefix of all the stream's keys.
static byte *
s_stream_key (const char *stream, uint64_t version, bool with_version, size_t *size)
{
    size_t length = strlen (stream);
    *size = 2 + length + 1 + (with_version ? 8 : 0);
    byte *key = (byte *) malloc (*size);
    assert (key);
    key [0] = 's';
    key [1] = ':';
    memcpy (key + 2, stream, length);
    key [2 + length] = 0;
    if (with_version) {
        zcq_log_put_be64 (key + 3 + length, version);
    }
    return key;
}

//  "v:" stream or "c:" id: a two-byte tag and the bytes; caller frees.
static byte *
s_tagged_key (char tag, const void *data, size_t length, size_t *size)
{
    *size = 2 + length;
    byte *key = (byte *) malloc (*size);
    assert (key);
    key [0] = (byte) tag;
    key [1] = ':';
    memcpy (key + 2, data, length);
    return key;
}

//  Read a be64 value under key; 0 if absent. Returns 0 or -1.
static int
s_get_be64 (zcq_store_t *store, const void *key, size_t key_size, uint64_t *value)
{
    byte *found = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, key, key_size, &found, &size);
    *value = 0;
    if (rc == 0 && size == 8) {
        *value = zcq_log_get_be64 (found);
    }
    else if (rc == 0) {
        zsys_error ("log %s: key of %zu bytes holds %zu bytes, expected 8",
                    zcq_store_path (store), key_size, size);
        rc = -1;
    }
    free (found);
    return rc < 0 ? -1 : 0;
}

zcq_log_t *
zcq_log_new (const char *path)
{
    zcq_store_t *store = zcq_store_new (path);
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
    else if (rc == 0 && !streq ((char *) format, LOG_FORMAT)) {
        zsys_error ("log %s: folder holds '%s', not an event log (%s)", path, (char *) format,
                    LOG_FORMAT);
        rc = -1;
    }
    free (format);
    uint64_t head = 0;
    if (rc == 0) {
        rc = s_get_be64 (store, "m:head", 6, &head);
    }
    if (rc != 0) {
        zcq_store_destroy (&store);
        return NULL;
    }
    zcq_log_t *self = (zcq_log_t *) zmalloc (sizeof (zcq_log_t));
    assert (self);
    self->store = store;
    self->head = head;
    self->staged_head = head;
    self->batch = zcq_batch_new ();
    msgpack_sbuffer_init (&self->buffer);
    return self;
}

void
zcq_log_destroy (zcq_log_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_log_t *self = *self_p;
        zcq_log_abort (self);
        free (self->staged);
        zcq_batch_destroy (&self->batch);
        msgpack_sbuffer_destroy (&self->buffer);
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
    size_t key_size;
    byte *key = s_tagged_key ('v', stream, strlen (stream), &key_size);
    int rc = s_get_be64 (self->store, key, key_size, version);
    free (key);
    return rc;
}

int
zcq_log_find_reply (zcq_log_t *self, const byte *command_id, byte **reply, size_t *size)
{
    assert (self);
    size_t key_size;
    byte *key = s_tagged_key ('c', command_id, ZCQ_COMMAND_ID, &key_size);
    int rc = zcq_store_get (self->store, key, key_size, reply, size);
    free (key);
    return rc;
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
    byte key [10];
    s_event_key (key, position);
    zcq_batch_put (self->batch, key, sizeof (key), self->buffer.data, self->buffer.size);

    const char *stream = zcq_msg_stream (event);
    byte value [8];
    zcq_log_put_be64 (value, position);
    size_t key_size;
    byte *stream_key = s_stream_key (stream, zcq_msg_version (event), true, &key_size);
    zcq_batch_put (self->batch, stream_key, key_size, value, 8);
    free (stream_key);

    zcq_log_put_be64 (value, zcq_msg_version (event));
    byte *version_key = s_tagged_key ('v', stream, strlen (stream), &key_size);
    zcq_batch_put (self->batch, version_key, key_size, value, 8);
    free (version_key);

    if (self->staged_count == self->staged_alloc) {
        self->staged_alloc = self->staged_alloc ? self->staged_alloc * 2 : 64;
        self->staged =
            (zchunk_t **) realloc (self->staged, self->staged_alloc * sizeof (zchunk_t *));
        assert (self->staged);
    }
    self->staged [self->staged_count++] = zchunk_new (self->buffer.data, self->buffer.size);
    self->staged_head = position;
    return position;
}

int
zcq_log_stage_reply (zcq_log_t *self, zcq_msg_t *reply)
{
    assert (self);
    assert (reply);
    assert (zcq_msg_id_size (reply) == ZCQ_COMMAND_ID);
    self->buffer.size = 0;
    if (zcq_msg_encode_body (reply, &self->buffer) != 0) {
        return -1;
    }
    size_t key_size;
    byte *key = s_tagged_key ('c', zcq_msg_id (reply), ZCQ_COMMAND_ID, &key_size);
    zcq_batch_put (self->batch, key, key_size, self->buffer.data, self->buffer.size);
    free (key);
    return 0;
}

size_t
zcq_log_staged_count (zcq_log_t *self)
{
    assert (self);
    return self->staged_count;
}

const byte *
zcq_log_staged_body (zcq_log_t *self, size_t index, size_t *size)
{
    assert (self);
    assert (index < self->staged_count);
    *size = zchunk_size (self->staged [index]);
    return zchunk_data (self->staged [index]);
}

int
zcq_log_commit (zcq_log_t *self, bool sync)
{
    assert (self);
    if (zcq_batch_size (self->batch) == 0) {
        return 0;
    }
    //  The head moves in the same batch as the events, so a crash leaves
    //  either the whole group with its head or neither
    if (self->staged_head != self->head) {
        byte value [8];
        zcq_log_put_be64 (value, self->staged_head);
        zcq_batch_put (self->batch, "m:head", 6, value, 8);
    }
    int rc = zcq_store_write (self->store, self->batch, sync);
    if (rc == 0) {
        self->head = self->staged_head;
    }
    else {
        self->staged_head = self->head;
    }
    //  Staged bodies stay readable until the next stage or abort, so that
    //  the caller can publish them
    zcq_batch_clear (self->batch);
    return rc;
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
    zcq_batch_clear (self->batch);
    for (size_t index = 0; index < self->staged_count; index++) {
        zchunk_destroy (&self->staged [index]);
    }
    self->staged_count = 0;
    self->staged_head = self->head;
}

int
zcq_log_read (zcq_log_t *self, uint64_t from, size_t max, size_t max_bytes,
              zcq_log_event_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    if (from == 0) {
        from = 1;
    }
    if (from > self->head) {
        return 0;
    }
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    if (!iter) {
        return -1;
    }
    byte key [10];
    s_event_key (key, from);
    zcq_iter_seek (iter, key, sizeof (key));
    int visited = 0;
    size_t bytes = 0;
    while ((size_t) visited < max && zcq_iter_has_prefix (iter, "e:", 2)) {
        size_t size;
        const byte *body = zcq_iter_value (iter, &size);
        if (visited > 0 && bytes + size > max_bytes) {
            break;
        }
        bytes += size;
        visited++;
        if (fn (body, size, arg)) {
            break;
        }
        zcq_iter_next (iter);
    }
    zcq_iter_destroy (&iter);
    return visited;
}

int
zcq_log_read_stream (zcq_log_t *self, const char *stream, uint64_t from, zcq_log_event_fn *fn,
                     void *arg)
{
    assert (self);
    assert (stream);
    assert (fn);
    size_t prefix_size, start_size;
    byte *prefix = s_stream_key (stream, 0, false, &prefix_size);
    byte *start = s_stream_key (stream, from, true, &start_size);
    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    int visited = 0;
    if (!iter) {
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
            byte key [10];
            s_event_key (key, zcq_log_get_be64 (value));
            byte *body = NULL;
            size_t body_size = 0;
            if (zcq_store_get (self->store, key, sizeof (key), &body, &body_size) != 0) {
                zsys_error ("log %s: event %" PRIu64 " of stream '%s' is missing",
                            zcq_store_path (self->store), zcq_log_get_be64 (value), stream);
                visited = -1;
                break;
            }
            visited++;
            int stop = fn (body, body_size, arg);
            free (body);
            if (stop) {
                break;
            }
            zcq_iter_next (iter);
        }
        zcq_iter_destroy (&iter);
    }
    free (prefix);
    free (start);
    return visited;
}
