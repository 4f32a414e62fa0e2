/*  =========================================================================
    zcq_writer - the write node's writing thread (see zcq_writer.h)
    =========================================================================
*/

#include "zcq_writer.h"
#include "zcq_event.h"
#include "zcq_retention.h"

typedef struct {
    zcq_writer_config_t config; //  settings
    zcq_retention_t retention;  //  which command ids are kept
} self_t;

void
zcq_writer_actor (zsock_t *pipe, void *args)
{
    self_t self = {.config = *(zcq_writer_config_t *) args};
    zcq_retention_init (&self.retention, self.config.keep_ids, self.config.max_age_us,
                        self.config.newest_sequence);
    zsock_signal (pipe, 0);
    while (true) {
        char *command = NULL;
        void *pointer = NULL;
        if (zsock_recv (pipe, "sp", &command, &pointer) < 0 || streq (command, "$TERM")) {
            zstr_free (&command);
            break;
        }
        zcq_group_t *group = (zcq_group_t *) pointer;
        int rc = zcq_group_write_keys (group, self.config.keys);
        rc = rc == 0 ? zcq_store_write (self.config.store, zcq_group_batch (group),
                                        self.config.sync)
                     : rc;
        uint64_t kept =
            zcq_retention_apply (&self.retention, self.config.store,
                                 rc == 0 ? zcq_group_sequence (group) : 0, zcq_event_now ());
        zsock_send (pipe, "spi88", "WRITTEN", group, rc, kept, self.retention.oldest);
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
