/*  =========================================================================
    zcq_event - EVENT messages as domains see them (see zcq_event.h)
    =========================================================================
*/

#include "zcq_event.h"

#include <time.h>

//  The packed form of an empty map, for events stored without data.
static const char s_empty_map [1] = {(char) 0x80};

int
zcq_event_from_msg (zcq_event_t *event, zcq_msg_t *msg, msgpack_unpacked *unpacked)
{
    assert (event);
    assert (msg);
    assert (unpacked);
    const void *data = zcq_msg_data (msg);
    size_t size = zcq_msg_data_size (msg);
    if (size == 0) {
        data = s_empty_map;
        size = sizeof (s_empty_map);
    }
    if (zcq_mpack_unpack (data, size, unpacked) != 0) {
        return -1;
    }
    if (unpacked->data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy (unpacked);
        return -1;
    }
    event->type = zcq_msg_name (msg);
    event->stream = zcq_msg_stream (msg);
    event->version = zcq_msg_version (msg);
    event->position = zcq_msg_position (msg);
    event->time = zcq_msg_time (msg);
    event->schema = zcq_msg_schema (msg);
    event->data = &unpacked->data;
    return 0;
}

int64_t
zcq_event_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}
