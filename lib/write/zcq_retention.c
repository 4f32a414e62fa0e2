/*  =========================================================================
    zcq_retention - which command ids the log keeps (see zcq_retention.h)
    =========================================================================
*/

#include "zcq_retention.h"
#include "zcq_log.h"

#define FORGET_LIMIT 4096 //  most command ids forgotten between two groups

void
zcq_retention_init (zcq_retention_t *self, uint64_t keep_ids, int64_t max_age_us,
                    uint64_t newest_sequence)
{
    assert (self);
    memset (self, 0, sizeof (*self));
    self->keep_ids = keep_ids;
    self->max_age_us = max_age_us;
    self->newest = newest_sequence;
}

uint64_t
zcq_retention_apply (zcq_retention_t *self, zcq_store_t *store, uint64_t sequence, int64_t now)
{
    assert (self);
    assert (store);
    if (sequence) {
        self->newest = sequence;
    }
    uint64_t keep = self->keep_ids ? self->keep_ids : UINT64_MAX;
    int64_t before = self->max_age_us ? now - self->max_age_us : INT64_MIN;
    //  Count is known without I/O; age needs a seek, so at most once a second
    bool aged = self->max_age_us && zclock_mono () >= self->next_age_check;
    if (aged) {
        self->next_age_check = zclock_mono () + 1000;
    }
    bool due = self->oldest == 0 || aged || self->newest - self->oldest + 1 > keep;
    if (due && self->newest) {
        zcq_log_forget_ids (store, &self->oldest, self->newest, keep, before, FORGET_LIMIT);
    }
    return self->oldest && self->oldest <= self->newest ? self->newest - self->oldest + 1 : 0;
}
