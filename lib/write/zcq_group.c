/*  =========================================================================
    zcq_group - one group commit of the event log (see zcq_group.h)

    Bodies live back to back in one growing buffer, with their offsets, so
    that a group of a thousand events costs two allocations, not a thousand.
    =========================================================================
*/

#include "zcq_group.h"
#include "zcq_msg.h"

//  Byte strings kept back to back (event bodies, their topics).
typedef struct {
    byte *bytes;     //  the strings, back to back
    size_t used;     //  bytes used
    size_t capacity; //  bytes allocated
    size_t *offsets; //  start of each string, plus one past the last
    size_t count;    //  strings kept
    size_t slots;    //  offsets allocated (count + 1 are used)
} s_strings_t;

static void
s_strings_init (s_strings_t *self)
{
    self->slots = 64;
    self->offsets = (size_t *) malloc (self->slots * sizeof (size_t));
    assert (self->offsets);
    self->offsets [0] = 0;
}

static void
s_strings_add (s_strings_t *self, const void *data, size_t size)
{
    if (self->used + size > self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 16384;
        while (capacity < self->used + size) {
            capacity *= 2;
        }
        self->bytes = (byte *) realloc (self->bytes, capacity);
        assert (self->bytes);
        self->capacity = capacity;
    }
    if (self->count + 2 > self->slots) {
        self->slots *= 2;
        self->offsets = (size_t *) realloc (self->offsets, self->slots * sizeof (size_t));
        assert (self->offsets);
    }
    if (size
        > 0) { //  an empty string (a record rewritten keeps no topic) may have no bytes yet
        memcpy (self->bytes + self->used, data, size);
    }
    self->used += size;
    self->offsets [++self->count] = self->used;
}

static const byte *
s_strings_at (s_strings_t *self, size_t index, size_t *size)
{
    assert (index < self->count);
    *size = self->offsets [index + 1] - self->offsets [index];
    return self->bytes + self->offsets [index];
}

struct _zcq_group_t {
    zcq_batch_t *batch; //  writes of the group
    zcq_batch_t *keys;  //  new stream keys, for the key table (written first)
    s_strings_t bodies; //  event bodies, in log order
    s_strings_t topics; //  their PUB topics
    uint64_t head;      //  last position once written
    uint64_t sequence;  //  retention sequence of the newest command id in the group
    byte *ids;          //  command ids of the outcomes stored, back to back
    size_t id_count;    //  ids noted
    size_t id_slots;    //  ids allocated
    int64_t time;       //  retention time of the ids, us since the epoch (0: none)
};

zcq_group_t *
zcq_group_new (void)
{
    zcq_group_t *self = (zcq_group_t *) zmalloc (sizeof (zcq_group_t));
    assert (self);
    self->batch = zcq_batch_new ();
    self->keys = zcq_batch_new ();
    s_strings_init (&self->bodies);
    s_strings_init (&self->topics);
    return self;
}

void
zcq_group_destroy (zcq_group_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_group_t *self = *self_p;
        zcq_batch_destroy (&self->batch);
        zcq_batch_destroy (&self->keys);
        free (self->bodies.bytes);
        free (self->bodies.offsets);
        free (self->topics.bytes);
        free (self->topics.offsets);
        free (self->ids);
        free (self);
        *self_p = NULL;
    }
}

zcq_batch_t *
zcq_group_batch (zcq_group_t *self)
{
    assert (self);
    return self->batch;
}

zcq_batch_t *
zcq_group_keys (zcq_group_t *self)
{
    assert (self);
    return self->keys;
}

int
zcq_group_write_keys (zcq_group_t *self, zcq_store_t *keys)
{
    assert (self);
    if (zcq_batch_size (self->keys) == 0) {
        return 0;
    }
    //  Synced whatever the durability: an event on disk sealed with a key
    //  that a crash took would be forgotten without a $Forget
    return keys ? zcq_store_write (keys, self->keys, true) : -1;
}

void
zcq_group_add_body (zcq_group_t *self, const void *body, size_t size, const byte *topic,
                    size_t topic_size)
{
    assert (self);
    s_strings_add (&self->bodies, body, size);
    s_strings_add (&self->topics, topic, topic_size);
}

size_t
zcq_group_count (zcq_group_t *self)
{
    assert (self);
    return self->bodies.count;
}

const byte *
zcq_group_body (zcq_group_t *self, size_t index, size_t *size)
{
    assert (self);
    return s_strings_at (&self->bodies, index, size);
}

const byte *
zcq_group_topic (zcq_group_t *self, size_t index, size_t *size)
{
    assert (self);
    return s_strings_at (&self->topics, index, size);
}

uint64_t
zcq_group_head (zcq_group_t *self)
{
    assert (self);
    return self->head;
}

void
zcq_group_set_head (zcq_group_t *self, uint64_t head)
{
    assert (self);
    self->head = head;
}

uint64_t
zcq_group_sequence (zcq_group_t *self)
{
    assert (self);
    return self->sequence;
}

void
zcq_group_set_sequence (zcq_group_t *self, uint64_t sequence)
{
    assert (self);
    self->sequence = sequence;
}

void
zcq_group_add_id (zcq_group_t *self, const byte *id, int64_t time)
{
    assert (self);
    if (self->id_count == self->id_slots) {
        self->id_slots = self->id_slots ? self->id_slots * 2 : 64;
        self->ids = (byte *) realloc (self->ids, self->id_slots * ZCQ_COMMAND_ID);
        assert (self->ids);
    }
    if (self->id_count == 0) {
        self->time = time;
    }
    memcpy (self->ids + self->id_count++ * ZCQ_COMMAND_ID, id, ZCQ_COMMAND_ID);
}

const byte *
zcq_group_ids (zcq_group_t *self, size_t *count)
{
    assert (self);
    *count = self->id_count;
    return self->ids;
}

int64_t
zcq_group_time (zcq_group_t *self)
{
    assert (self);
    return self->time;
}

void
zcq_group_clear (zcq_group_t *self)
{
    assert (self);
    self->id_count = 0;
    self->time = 0;
    zcq_batch_clear (self->batch);
    zcq_batch_clear (self->keys);
    self->bodies.used = self->bodies.count = 0;
    self->topics.used = self->topics.count = 0;
    self->head = 0;
    self->sequence = 0;
}
