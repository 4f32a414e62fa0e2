/*  =========================================================================
    zcq_event - EVENT messages as domains see them (see zcq_event.h)
    =========================================================================
*/

#include "zcq_event.h"

#include "zcq_mpack.h"

#include <time.h>

//  The packed form of an empty map, for events stored without data.
static const char s_empty_map [1] = {(char) 0x80};

//  The event's fields but its data, from msg.
static void
s_fields (zcq_event_t *event, zcq_msg_t *msg)
{
    event->type = zcq_msg_name (msg);
    event->stream = zcq_msg_stream (msg);
    event->version = zcq_msg_version (msg);
    event->position = zcq_msg_position (msg);
    event->time = zcq_msg_time (msg);
    event->schema = zcq_msg_schema (msg);
}

//  The packed data of msg (an empty map for none).
static const void *
s_data (zcq_msg_t *msg, size_t *size)
{
    *size = zcq_msg_data_size (msg);
    if (*size == 0) {
        *size = sizeof (s_empty_map);
        return s_empty_map;
    }
    return zcq_msg_data (msg);
}

int
zcq_event_data_unpack (zcq_event_data_t *data, const void *bytes, size_t size)
{
    assert (data);
    assert (bytes);
    msgpack_unpacked_init (&data->unpacked);
    if (zcq_mpack_unpack_pool (bytes, size, data->pairs, ZCQ_EVENT_PAIRS, &data->data) != 0) {
        if (zcq_mpack_unpack (bytes, size, &data->unpacked) != 0) {
            return -1;
        }
        data->data = data->unpacked.data;
    }
    return 0;
}

int
zcq_event_from_msg (zcq_event_t *event, zcq_msg_t *msg, zcq_event_data_t *data)
{
    assert (event);
    assert (msg);
    assert (data);
    size_t size;
    const void *bytes = s_data (msg, &size);
    if (zcq_event_data_unpack (data, bytes, size) != 0) {
        return -1;
    }
    if (data->data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy (&data->unpacked);
        return -1;
    }
    s_fields (event, msg);
    event->data = &data->data;
    return 0;
}

void
zcq_event_data_destroy (zcq_event_data_t *data)
{
    assert (data);
    msgpack_unpacked_destroy (&data->unpacked);
}

int64_t
zcq_event_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}
