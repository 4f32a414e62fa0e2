/*  =========================================================================
    zcq_writer - the write node's writing thread (see zcq_writer.h)
    =========================================================================
*/

#include "zcq_writer.h"
#include "zcq_event.h"
#include "zcq_log.h"

#define FORGET_LIMIT 4096 //  most command ids forgotten between two groups

typedef struct {
    zcq_writer_config_t config; //  settings
    uint64_t oldest;            //  oldest command-id sequence kept (0: unknown)
    uint64_t newest;            //  newest command-id sequence stored
    int64_t next_age_check;     //  zclock_mono () of the next look for expired ids
} self_t;

//  Forget command ids beyond the count or age limits; returns the number kept.
static uint64_t
s_retain (self_t *self)
{
    uint64_t keep = self->config.keep_ids ? self->config.keep_ids : UINT64_MAX;
    int64_t before =
        self->config.max_age_us ? zcq_event_now () - self->config.max_age_us : INT64_MIN;
    //  Count is known without I/O; age needs a seek, so at most once a second
    bool aged = self->config.max_age_us && zclock_mono () >= self->next_age_check;
    if (aged) {
        self->next_age_check = zclock_mono () + 1000;
    }
    bool due = self->oldest == 0 || aged || self->newest - self->oldest + 1 > keep;
    if (due && self->newest) {
        zcq_log_forget_ids (self->config.store, &self->oldest, self->newest, keep, before,
                            FORGET_LIMIT);
    }
    return self->oldest && self->oldest <= self->newest ? self->newest - self->oldest + 1 : 0;
}

void
zcq_writer_actor (zsock_t *pipe, void *args)
{
    self_t self = {*(zcq_writer_config_t *) args, 0, 0, 0};
    self.newest = self.config.newest_sequence;
    zsock_signal (pipe, 0);
    while (true) {
        char *command = NULL;
        void *pointer = NULL;
        if (zsock_recv (pipe, "sp", &command, &pointer) < 0 || streq (command, "$TERM")) {
            zstr_free (&command);
            break;
        }
        zcq_group_t *group = (zcq_group_t *) pointer;
        int rc = zcq_store_write (self.config.store, zcq_group_batch (group), self.config.sync);
        if (rc == 0 && zcq_group_sequence (group)) {
            self.newest = zcq_group_sequence (group);
        }
        uint64_t kept = s_retain (&self);
        zsock_send (pipe, "spi88", "WRITTEN", group, rc, kept, self.oldest);
        zstr_free (&command);
    }
}

void
zcq_writer_submit (zactor_t *writer, zcq_group_t *group)
{
    assert (writer);
    assert (group);
    zsock_send (writer, "sp", "WRITE", group);
}

int
zcq_writer_collect (zactor_t *writer, zcq_group_t **group, uint64_t *ids_kept, uint64_t *oldest)
{
    assert (writer);
    char *command = NULL;
    void *pointer = NULL;
    int rc = -1;
    uint64_t kept = 0, first = 0;
    if (zsock_recv (writer, "spi88", &command, &pointer, &rc, &kept, &first) < 0) {
        rc = -1;
    }
    zstr_free (&command);
    *group = (zcq_group_t *) pointer;
    *ids_kept = kept;
    *oldest = first;
    return rc == 0 ? 0 : -1;
}
