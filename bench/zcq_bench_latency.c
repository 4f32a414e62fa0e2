/*  =========================================================================
    zcq_bench_latency - latency samples of one measurement (see the header)
    =========================================================================
*/

#include "zcq_bench_latency.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct _zcq_bench_latency_t {
    int64_t *samples; //  nanoseconds
    size_t count;     //  samples held
    size_t room;      //  samples the array can hold
    bool sorted;      //  samples are in ascending order
};

zcq_bench_latency_t *
zcq_bench_latency_new (void)
{
    zcq_bench_latency_t *self = (zcq_bench_latency_t *) calloc (1, sizeof (*self));
    assert (self);
    return self;
}

void
zcq_bench_latency_destroy (zcq_bench_latency_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->samples);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_reserve (zcq_bench_latency_t *self, size_t count)
{
    if (count > self->room) {
        size_t room = self->room ? self->room : 4096;
        while (room < count) {
            room *= 2;
        }
        self->samples = (int64_t *) realloc (self->samples, room * sizeof (int64_t));
        assert (self->samples);
        self->room = room;
    }
}

void
zcq_bench_latency_add (zcq_bench_latency_t *self, int64_t nanoseconds)
{
    s_reserve (self, self->count + 1);
    self->samples [self->count++] = nanoseconds;
    self->sorted = false;
}

void
zcq_bench_latency_merge (zcq_bench_latency_t *self, zcq_bench_latency_t *other)
{
    if (other->count == 0) {
        return; //  nothing to move (and no array to copy from)
    }
    s_reserve (self, self->count + other->count);
    memcpy (self->samples + self->count, other->samples, other->count * sizeof (int64_t));
    self->count += other->count;
    self->sorted = false;
    other->count = 0;
}

size_t
zcq_bench_latency_count (zcq_bench_latency_t *self)
{
    return self->count;
}

static int
s_compare (const void *left, const void *right)
{
    int64_t a = *(const int64_t *) left, b = *(const int64_t *) right;
    return (a > b) - (a < b);
}

double
zcq_bench_latency_ms (zcq_bench_latency_t *self, double percentile)
{
    if (self->count == 0) {
        return -1;
    }
    if (!self->sorted) {
        qsort (self->samples, self->count, sizeof (int64_t), s_compare);
        self->sorted = true;
    }
    //  Nearest rank: the smallest sample with at least percentile % at or below it
    size_t rank = (size_t) ((percentile / 100.0) * (double) self->count + 0.999999);
    rank = rank < 1 ? 1 : rank > self->count ? self->count : rank;
    return (double) self->samples [rank - 1] / 1e6;
}
