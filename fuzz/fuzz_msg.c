/*  =========================================================================
    fuzz_msg - the ZCQ1 codec on any bytes

    Input: one message (frames separated by C1 C1, as fuzz_kit.h says),
    decoded as a node receives it; then, with the first byte choosing the
    type, the whole input decoded as a body of that type. Whatever decodes
    is encoded again, decoded again, and printed as JSON as the CLI would:
    a valid message must survive its own encoder.
    =========================================================================
*/

#include "fuzz_kit.h"

//  Encode a valid message, decode the bytes again: it must stay valid.
static void
s_round_trip (zcq_msg_t *msg)
{
    char *json = zcq_json_from_msg (msg);
    free (json);
    zmsg_t *frames = zcq_msg_encode (msg);
    if (!frames) {
        return; //  the encoder may refuse what it would not send (limits)
    }
    zcq_msg_t *copy = zcq_msg_decode (&frames);
    if (!zcq_msg_valid (copy)) {
        fprintf (stderr, "re-encoded %s does not decode: %s\n",
                 zcq_msg_type_name (zcq_msg_type (msg)), zcq_msg_error (copy));
        abort ();
    }
    for (size_t index = 0; index < zcq_msg_event_count (copy); index++) {
        zframe_t *frame = zcq_msg_event_frame (copy, index);
        zcq_msg_t *event =
            zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
        zcq_msg_destroy (&event);
    }
    zcq_msg_destroy (&copy);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool initialised = false;
    if (!initialised) {
        fuzz_kit_init (NULL);
        initialised = true;
    }
    zmsg_t *frames = fuzz_kit_frames (data, size);
    zcq_msg_t *msg = zcq_msg_decode (&frames);
    if (zcq_msg_valid (msg)) {
        s_round_trip (msg);
    }
    //  The answer a node would make to it, whatever it was
    zcq_msg_t *reply = zcq_msg_reply_to (msg, zcq_msg_error_status (msg));
    zcq_msg_set_reason (reply, "%s", zcq_msg_error (msg));
    zmsg_t *encoded = zcq_msg_encode (reply);
    zmsg_destroy (&encoded);
    zcq_msg_destroy (&reply);
    zcq_msg_destroy (&msg);

    if (size > 0) {
        zcq_msg_type_t type = (zcq_msg_type_t) (1 + data [0] % (ZCQ_MSG_TYPES - 1));
        msg = zcq_msg_decode_body (type, data + 1, size - 1);
        if (zcq_msg_valid (msg)) {
            s_round_trip (msg);
        }
        zcq_msg_destroy (&msg);
    }
    return 0;
}
