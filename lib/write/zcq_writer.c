/*  =========================================================================
    zcq_writer - how a single write node writes its groups (see zcq_writer.h)
    =========================================================================
*/

#include "zcq_writer.h"
#include "zcq_event.h"
#include "zcq_retention.h"

struct _zcq_writer_t {
    zcq_writer_config_t config; //  settings
    zcq_retention_t retention;  //  which command ids are kept
};

zcq_writer_t *
zcq_writer_new (const zcq_writer_config_t *config)
{
    assert (config);
    zcq_writer_t *self = (zcq_writer_t *) zmalloc (sizeof (zcq_writer_t));
    assert (self);
    self->config = *config;
    zcq_retention_init (&self->retention, config->keep_ids, config->max_age_us,
                        config->newest_sequence);
    return self;
}

void
zcq_writer_destroy (zcq_writer_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
zcq_writer_write (zcq_writer_t *self, zcq_group_t *group)
{
    assert (self);
    assert (group);
    int rc = zcq_group_write_keys (group, self->config.keys);
    return rc == 0 ? zcq_store_write (self->config.store, zcq_group_batch (group),
                                      self->config.sync)
                   : rc;
}

uint64_t
zcq_writer_retain (zcq_writer_t *self, uint64_t sequence, uint64_t *oldest)
{
    assert (self);
    assert (oldest);
    uint64_t kept =
        zcq_retention_apply (&self->retention, self->config.store, sequence, zcq_event_now ());
    *oldest = self->retention.oldest;
    return kept;
}
