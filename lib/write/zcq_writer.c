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

//  Both ways a hand-off is one frame of plain bytes between the two threads
//  of one process (czmq's pictures cost a message of several frames and
//  some 20,000 instructions a group): a group's pointer to the writer, this
//  back. Anything else the writer gets ends it ($TERM).
typedef struct {
    zcq_group_t *group; //  the group written (or not)
    int rc;             //  0: stored, -1: not
    uint64_t kept;      //  command ids kept on disk after it
    uint64_t oldest;    //  retention sequence of the oldest of them
} s_written_t;

void
zcq_writer_actor (zsock_t *pipe, void *args)
{
    self_t self = {.config = *(zcq_writer_config_t *) args};
    zcq_retention_init (&self.retention, self.config.keep_ids, self.config.max_age_us,
                        self.config.newest_sequence);
    zsock_signal (pipe, 0);
    void *handle = zsock_resolve (pipe);
    while (true) {
        //  A frame of a pointer's size is a group; "$TERM" (5 bytes), or a
        //  failed receive, ends the thread
        zcq_group_t *group = NULL;
        int size = zmq_recv (handle, &group, sizeof (group), 0);
        int more = 0;
        size_t more_size = sizeof (more);
        zmq_getsockopt (handle, ZMQ_RCVMORE, &more, &more_size);
        while (more) { //  not ours: drop the rest of it
            zmq_msg_t part;
            zmq_msg_init (&part);
            zmq_msg_recv (&part, handle, 0);
            more = zmq_msg_more (&part);
            zmq_msg_close (&part);
        }
        if (size != (int) sizeof (group) || !group) {
            break;
        }
        int rc = zcq_group_write_keys (group, self.config.keys);
        rc = rc == 0 ? zcq_store_write (self.config.store, zcq_group_batch (group),
                                        self.config.sync)
                     : rc;
        uint64_t kept =
            zcq_retention_apply (&self.retention, self.config.store,
                                 rc == 0 ? zcq_group_sequence (group) : 0, zcq_event_now ());
        s_written_t written = {group, rc, kept, self.retention.oldest};
        zmq_send (handle, &written, sizeof (written), 0);
    }
}

void
zcq_writer_submit (zactor_t *writer, zcq_group_t *group)
{
    assert (writer);
    assert (group);
    zmq_send (zsock_resolve (writer), &group, sizeof (group), 0);
}

int
zcq_writer_collect (zactor_t *writer, zcq_group_t **group, uint64_t *ids_kept, uint64_t *oldest)
{
    assert (writer);
    s_written_t written = {NULL, -1, 0, 0};
    if (zmq_recv (zsock_resolve (writer), &written, sizeof (written), 0)
        != (int) sizeof (written)) {
        written.rc = -1;
    }
    *group = written.group;
    *ids_kept = written.kept;
    *oldest = written.oldest;
    return written.rc == 0 ? 0 : -1;
}
