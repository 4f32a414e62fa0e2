/*  =========================================================================
    zcq_ids - which command ids the event log may hold (see zcq_ids.h)

    A slot is 16 bits: a 12-bit fingerprint (never 0) and a 4-bit epoch tag
    (the epoch modulo 16); 0 is an empty slot. A bucket is 16 slots, 32
    bytes. Live ids span the epochs from the oldest kept to the newest,
    about 9 of them at capacity; a tag outside that window is a forgotten
    id and its slot is free. A sweep goes round the table, a few buckets
    at each id added (a whole round per epoch), and empties the slots of
    forgotten epochs, so that a tag coming round again (six epochs at least
    after its ids were forgotten) never finds stale ids; no add ever waits
    for a sweep of the whole table.
    Should the window ever span 16 epochs or more (retention not known yet,
    or no limit), tags cannot be told apart and every slot counts as live:
    only more reads, never a wrong answer. A bucket's overflow marks are
    kept per tag too, and swept with it.
    =========================================================================
*/

#include "zcq_ids.h"

#include <sys/random.h>

#define SLOTS    16 //  slots of a bucket
#define FILL     12 //  slots of a bucket in use at capacity (75%)
#define EPOCHS   8  //  epochs in the capacity
#define TAGS     16 //  distinct epoch tags
#define TAG_MASK (TAGS - 1)
#define FP_SHIFT 4 //  fingerprint above the tag

typedef struct {
    uint16_t slots [SLOTS]; //  fingerprint << 4 | tag, 0 when empty
} s_bucket_t;

struct _zcq_ids_t {
    s_bucket_t *buckets;  //  the table
    uint64_t count;       //  buckets
    uint16_t *overflowed; //  per bucket, a bit per tag: an id of it found no slot there
    uint16_t live;        //  a bit per tag: the tags of live epochs
    uint64_t epoch_size;  //  sequences in one epoch
    uint64_t newest;      //  newest epoch noted
    uint64_t oldest;      //  oldest epoch kept
    uint64_t sweep_at;    //  next bucket the sweep empties of forgotten slots
    uint64_t sweep_step;  //  buckets swept at each add: a round per epoch
    uint64_t seed [2];    //  hash keys, so that chosen ids cannot crowd one bucket
};

zcq_ids_t *
zcq_ids_new (uint64_t capacity)
{
    capacity = capacity < EPOCHS ? EPOCHS : capacity;
    zcq_ids_t *self = (zcq_ids_t *) zmalloc (sizeof (zcq_ids_t));
    assert (self);
    self->epoch_size = (capacity + EPOCHS - 1) / EPOCHS;
    //  Up to an epoch more than the capacity is live before it is freed
    self->count = (capacity + self->epoch_size + FILL - 1) / FILL;
    self->buckets = (s_bucket_t *) calloc (self->count, sizeof (s_bucket_t));
    self->overflowed = (uint16_t *) calloc (self->count, sizeof (uint16_t));
    self->live = 1; //  epoch 0
    self->sweep_step = self->count / self->epoch_size + 1;
    if (!self->buckets || !self->overflowed) {
        zcq_ids_destroy (&self);
        return NULL;
    }
    if (getrandom (self->seed, sizeof (self->seed), 0) != sizeof (self->seed)) {
        self->seed [0] = (uint64_t) zclock_usecs ();
        self->seed [1] = (uint64_t) getpid () * 0x9e3779b97f4a7c15ull;
    }
    return self;
}

void
zcq_ids_destroy (zcq_ids_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_ids_t *self = *self_p;
        free (self->buckets);
        free (self->overflowed);
        free (self);
        *self_p = NULL;
    }
}

//  A 64-bit finaliser (MurmurHash3's)
static uint64_t
s_mix (uint64_t value)
{
    value ^= value >> 33;
    value *= 0xff51afd7ed558ccdull;
    value ^= value >> 33;
    value *= 0xc4ceb9fe1a85ec53ull;
    value ^= value >> 33;
    return value;
}

//  An id's two buckets and fingerprint
typedef struct {
    uint64_t first, second; //  bucket numbers
    uint16_t fingerprint;   //  12 bits, never 0, shifted into place
} s_place_t;

static s_place_t
s_place (zcq_ids_t *self, const byte *id)
{
    uint64_t low, high;
    memcpy (&low, id, 8);
    memcpy (&high, id + 8, 8);
    uint64_t one = s_mix (low ^ self->seed [0]);
    uint64_t two = s_mix (high ^ self->seed [1] ^ one);
    s_place_t place;
    place.first = (uint64_t) (((unsigned __int128) one * self->count) >> 64);
    place.second = (uint64_t) (((unsigned __int128) two * self->count) >> 64);
    //  The low bits: bucket numbers come from the high ones
    uint16_t fingerprint = (uint16_t) ((one ^ two) & 0xfff);
    place.fingerprint = (uint16_t) ((fingerprint ? fingerprint : 1) << FP_SHIFT);
    return place;
}

//  True if a slot's tag is in the window of live epochs
static bool
s_live (zcq_ids_t *self, uint16_t slot)
{
    return (self->live >> (slot & TAG_MASK)) & 1;
}

//  The tags of the epochs from oldest to newest (all when they wrap)
static void
s_window (zcq_ids_t *self)
{
    uint64_t span = self->newest - self->oldest;
    self->live = 0xffff;
    if (span < TAGS) {
        self->live = 0;
        for (uint64_t epoch = self->oldest; epoch <= self->newest; epoch++) {
            self->live |= (uint16_t) (1 << (epoch & TAG_MASK));
        }
    }
}

#define LANES 0x0001000100010001ull //  1 in each 16-bit lane of a word

//  Four slots of a bucket, from at, as one word
static uint64_t
s_word (const s_bucket_t *bucket, int at)
{
    uint64_t word;
    memcpy (&word, &bucket->slots [at], sizeof (word));
    return word;
}

//  Slots of a bucket that are empty or forgotten; *free_at is the first.
//  Four empty slots are told at once (a table that is not full has many).
static int
s_room (zcq_ids_t *self, s_bucket_t *bucket, int *free_at)
{
    int room = 0;
    *free_at = -1;
    for (int at = 0; at < SLOTS; at += 4) {
        if (s_word (bucket, at) == 0) {
            *free_at = room ? *free_at : at;
            room += 4;
            continue;
        }
        for (int index = at; index < at + 4; index++) {
            uint16_t slot = bucket->slots [index];
            if (slot == 0 || !s_live (self, slot)) {
                *free_at = room++ ? *free_at : index;
            }
        }
    }
    return room;
}

//  Empty the forgotten slots of the next few buckets.
static void
s_sweep (zcq_ids_t *self)
{
    if (self->live == 0xffff) {
        return; //  tags wrap: nothing can be told forgotten
    }
    for (uint64_t step = 0; step < self->sweep_step; step++) {
        s_bucket_t *bucket = &self->buckets [self->sweep_at];
        for (int at = 0; at < SLOTS; at += 4) {
            for (int index = at; s_word (bucket, at) && index < at + 4; index++) {
                if (bucket->slots [index] && !s_live (self, bucket->slots [index])) {
                    bucket->slots [index] = 0;
                }
            }
        }
        self->overflowed [self->sweep_at] &= self->live;
        self->sweep_at = self->sweep_at + 1 < self->count ? self->sweep_at + 1 : 0;
    }
}

void
zcq_ids_add (zcq_ids_t *self, const byte *id, uint64_t sequence)
{
    assert (self);
    assert (id);
    s_sweep (self);
    uint64_t epoch = sequence / self->epoch_size;
    if (epoch > self->newest) {
        self->newest = epoch;
        s_window (self);
    }
    s_place_t place = s_place (self, id);
    uint16_t slot = (uint16_t) (place.fingerprint | (epoch & TAG_MASK));
    //  The emptier of the two buckets: two choices keep every bucket near
    //  the average, so that one seldom runs out of room
    s_bucket_t *first = &self->buckets [place.first], *second = &self->buckets [place.second];
    int first_at, second_at;
    int first_room = s_room (self, first, &first_at);
    int second_room = s_room (self, second, &second_at);
    if (first_room >= second_room && first_room > 0) {
        first->slots [first_at] = slot;
    }
    else if (second_room > 0) {
        second->slots [second_at] = slot;
    }
    else {
        //  No room: from now on every id of this bucket is asked of the log
        self->overflowed [place.first] |= (uint16_t) (1 << (epoch & TAG_MASK));
    }
}

//  True if a bucket holds a live slot of this fingerprint. Four slots are
//  looked at as one word: only a word with a lane of this fingerprint
//  (nearly never, for a new id) has its slots looked at one by one.
static bool
s_holds (zcq_ids_t *self, uint64_t number, uint16_t fingerprint)
{
    if (self->overflowed [number] & self->live) {
        return true;
    }
    s_bucket_t *bucket = &self->buckets [number];
    uint64_t want = LANES * fingerprint;
    for (int at = 0; at < SLOTS; at += 4) {
        uint64_t word = s_word (bucket, at);
        //  A lane is 0 where the fingerprint matches; a zero lane sets its
        //  top bit here (and maybe others': it is only a gate)
        uint64_t diff = (word ^ want) & (LANES * (uint16_t) ~TAG_MASK);
        if (((diff - LANES) & ~diff & (LANES << 15)) == 0) {
            continue;
        }
        for (int index = at; index < at + 4; index++) {
            uint16_t slot = bucket->slots [index];
            if ((slot & ~TAG_MASK) == fingerprint && s_live (self, slot)) {
                return true;
            }
        }
    }
    return false;
}

bool
zcq_ids_may_hold (zcq_ids_t *self, const byte *id)
{
    assert (self);
    assert (id);
    s_place_t place = s_place (self, id);
    return s_holds (self, place.first, place.fingerprint)
           || s_holds (self, place.second, place.fingerprint);
}

void
zcq_ids_forget_below (zcq_ids_t *self, uint64_t oldest)
{
    assert (self);
    //  An epoch is forgotten only once every id of it is
    uint64_t epoch = oldest / self->epoch_size;
    epoch = epoch <= self->newest ? epoch : self->newest;
    if (!oldest || epoch <= self->oldest) {
        return;
    }
    self->oldest = epoch;
    s_window (self); //  the sweep empties what is forgotten, a few buckets at a time
}

size_t
zcq_ids_bytes (zcq_ids_t *self)
{
    assert (self);
    return (size_t) self->count * (sizeof (s_bucket_t) + sizeof (uint16_t));
}
