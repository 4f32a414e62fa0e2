/*  =========================================================================
    make_seeds - write the fuzz targets' seed corpora (fuzz/corpus/TARGET)
    from the protocol's example messages (protocol/zcqrs-v1.md, sections 6,
    11 and 13), encoded by the codec. Run by `make fuzz-seeds`; the output
    is kept in the tree.

    usage: make_seeds DIR
    =========================================================================
*/

#include "fuzz_kit.h"

static const char *s_dir;

//  Append a message's frames to buffer, in the fuzz_kit input format.
//  Append a message to an input, after its channel byte (channel >= 0);
//  published: first its PUB topic frame, as a SUB receives it.
static void
s_add_frames (zchunk_t *input, zcq_msg_t *msg, int channel, bool published)
{
    if (zchunk_size (input)) {
        zchunk_extend (input, FUZZ_MSG_SEP, 2);
    }
    if (channel >= 0) {
        byte prefix = (byte) channel;
        zchunk_extend (input, &prefix, 1);
    }
    zmsg_t *frames = zcq_msg_encode (msg);
    assert (frames);
    if (published) {
        byte topic [ZCQ_MAX_TOPIC];
        zmsg_pushmem (frames, topic, zcq_msg_topic (msg, topic));
    }
    bool first = true;
    for (zframe_t *frame = zmsg_first (frames); frame; frame = zmsg_next (frames)) {
        if (!first) {
            zchunk_extend (input, FUZZ_FRAME_SEP, 2);
        }
        zchunk_extend (input, zframe_data (frame), zframe_size (frame));
        first = false;
    }
    zmsg_destroy (&frames);
}

static void
s_add (zchunk_t *input, zcq_msg_t *msg, int channel)
{
    s_add_frames (input, msg, channel, false);
}

//  fuzz_replay's channel 0: what the write node's PUB sends
static void
s_add_live (zchunk_t *input, zcq_msg_t *msg)
{
    s_add_frames (input, msg, 0, true);
}

static void
s_save (const char *target, const char *name, zchunk_t *input)
{
    char *folder = zsys_sprintf ("%s/%s", s_dir, target);
    zsys_dir_create ("%s", folder);
    char *path = zsys_sprintf ("%s/%s", folder, name);
    FILE *file = fopen (path, "wb");
    assert (file);
    fwrite (zchunk_data (input), 1, zchunk_size (input), file);
    fclose (file);
    zstr_free (&path);
    zstr_free (&folder);
}

//  A one-message input; channel -1: no channel byte.
static void
s_save_msg (const char *target, const char *name, zcq_msg_t *msg, int channel)
{
    zchunk_t *input = zchunk_new (NULL, 0);
    s_add (input, msg, channel);
    s_save (target, name, input);
    zchunk_destroy (&input);
}

static zcq_msg_t *
s_command (int number, const char *type, const char *stream, int64_t expect, const char *word,
           ...)
{
    zcq_msg_t *msg = zcq_msg_new (ZCQ_MSG_COMMAND);
    byte id [ZCQ_COMMAND_ID];
    for (int index = 0; index < ZCQ_COMMAND_ID; index++) {
        id [index] = (byte) (index + number * 16);
    }
    zcq_msg_set_id (msg, id, sizeof id);
    zcq_msg_set_name (msg, type);
    zcq_msg_set_stream (msg, stream);
    zcq_msg_set_expect (msg, expect);
    //  data from key,value pairs (values: integers if they look so)
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    va_list args;
    va_start (args, word);
    int pairs = 0;
    const char *keys [8], *values [8];
    for (const char *key = word; key && pairs < 8; key = va_arg (args, const char *)) {
        keys [pairs] = key;
        values [pairs++] = va_arg (args, const char *);
    }
    va_end (args);
    msgpack_pack_map (&pk, pairs);
    for (int index = 0; index < pairs; index++) {
        zcq_mpack_pack_str (&pk, keys [index]);
        if (strspn (values [index], "0123456789") == strlen (values [index])) {
            msgpack_pack_uint64 (&pk, strtoull (values [index], NULL, 10));
        }
        else {
            zcq_mpack_pack_str (&pk, values [index]);
        }
    }
    zcq_msg_set_data (msg, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return msg;
}

static zcq_msg_t *
s_query (const char *name, const char *key, const char *value, uint64_t min_position)
{
    zcq_msg_t *msg = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_id (msg, "q1", 2);
    zcq_msg_set_name (msg, name);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, key ? 1 : 0);
    if (key) {
        zcq_mpack_pack_str (&pk, key);
        zcq_mpack_pack_str (&pk, value);
    }
    zcq_msg_set_data (msg, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    zcq_msg_set_min_position (msg, min_position);
    zcq_msg_set_timeout (msg, min_position ? 10 : 0);
    return msg;
}

static zcq_msg_t *
s_event (uint64_t position, const char *stream, uint64_t version, const char *type)
{
    zcq_msg_t *msg = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (msg, position);
    zcq_msg_set_stream (msg, stream);
    zcq_msg_set_version (msg, version);
    zcq_msg_set_name (msg, type);
    const char data [] = "\x81\xa6"
                         "amount\xcd\x01\xf4"; //  {amount: 500}
    const char owner [] = "\x81\xa5"
                          "owner\xa5"
                          "alice";
    if (version == 1) {
        zcq_msg_set_data (msg, owner, sizeof owner - 1);
    }
    else {
        zcq_msg_set_data (msg, data, sizeof data - 1);
    }
    byte id [ZCQ_COMMAND_ID] = {0};
    zcq_msg_set_id (msg, id, sizeof id);
    zcq_msg_set_time (msg, 1700000000000000);
    zcq_msg_set_user (msg, "alice");
    return msg;
}

//  EVENTS answering REPLAY(from) with events from..from+count-1.
static zcq_msg_t *
s_events (uint64_t from, uint64_t count, uint64_t head)
{
    zcq_msg_t *msg = zcq_msg_new (ZCQ_MSG_EVENTS);
    zcq_msg_set_from (msg, from);
    zcq_msg_set_head (msg, head);
    for (uint64_t position = from; position < from + count; position++) {
        zcq_msg_t *event = s_event (position, "acct-1", position,
                                    position == 1 ? "AccountOpened" : "MoneyDeposited");
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        int rc = zcq_msg_encode_body (event, &buffer);
        assert (rc == 0);
        zcq_msg_add_event (msg, buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
        zcq_msg_destroy (&event);
    }
    return msg;
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    s_dir = argv [1];
    zsys_init ();

    //  fuzz_msg: one message of each type, as frames
    zcq_msg_t *all [ZCQ_MSG_TYPES] = {0};
    all [ZCQ_MSG_COMMAND] = s_command (0, "OpenAccount", "acct-1", 0, "owner", "alice", NULL);
    all [ZCQ_MSG_REPLY] = zcq_msg_new (ZCQ_MSG_REPLY);
    zcq_msg_set_id (all [ZCQ_MSG_REPLY], zcq_msg_id (all [ZCQ_MSG_COMMAND]), ZCQ_COMMAND_ID);
    zcq_msg_set_status (all [ZCQ_MSG_REPLY], ZCQ_ACCEPTED);
    zcq_msg_set_version (all [ZCQ_MSG_REPLY], 1);
    zcq_msg_set_position (all [ZCQ_MSG_REPLY], 1);
    zcq_msg_set_count (all [ZCQ_MSG_REPLY], 1);
    all [ZCQ_MSG_EVENT] = s_event (1, "acct-1", 1, "AccountOpened");
    all [ZCQ_MSG_HEARTBEAT] = zcq_msg_new (ZCQ_MSG_HEARTBEAT);
    zcq_msg_set_head (all [ZCQ_MSG_HEARTBEAT], 3);
    zcq_msg_set_interval (all [ZCQ_MSG_HEARTBEAT], 1000);
    all [ZCQ_MSG_REPLAY] = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_from (all [ZCQ_MSG_REPLAY], 1);
    zcq_msg_set_max (all [ZCQ_MSG_REPLAY], 1000);
    all [ZCQ_MSG_EVENTS] = s_events (1, 3, 3);
    all [ZCQ_MSG_QUERY] = s_query ("account", "id", "acct-1", 8);
    all [ZCQ_MSG_RESULT] = zcq_msg_new (ZCQ_MSG_RESULT);
    zcq_msg_set_status (all [ZCQ_MSG_RESULT], ZCQ_STALE);
    zcq_msg_set_reason (all [ZCQ_MSG_RESULT], "answer reflects position 7");
    zcq_msg_set_data (all [ZCQ_MSG_RESULT], "\x92\x01\xa1x", 4);
    all [ZCQ_MSG_ERROR] = zcq_msg_new (ZCQ_MSG_ERROR);
    zcq_msg_set_status (all [ZCQ_MSG_ERROR], ZCQ_FORBIDDEN);
    zcq_msg_set_reason (all [ZCQ_MSG_ERROR], "key 'bob' may not send COMMAND");
    all [ZCQ_MSG_WATCH] = s_query ("account", "id", "acct-1", 0);
    zcq_msg_set_type (all [ZCQ_MSG_WATCH], ZCQ_MSG_WATCH);
    zcq_msg_set_id (all [ZCQ_MSG_WATCH], "w0", 2);
    all [ZCQ_MSG_UPDATE] = zcq_msg_new (ZCQ_MSG_UPDATE);
    zcq_msg_set_id (all [ZCQ_MSG_UPDATE], "w0", 2);
    zcq_msg_set_seq (all [ZCQ_MSG_UPDATE], 2);
    zcq_msg_set_position (all [ZCQ_MSG_UPDATE], 7);
    zcq_msg_set_data (all [ZCQ_MSG_UPDATE],
                      "\x81\xa7"
                      "balance\x05",
                      10);
    zcq_msg_set_lease (all [ZCQ_MSG_UPDATE], 10000);
    all [ZCQ_MSG_ACK] = zcq_msg_new (ZCQ_MSG_ACK);
    zcq_msg_set_id (all [ZCQ_MSG_ACK], "w0", 2);
    zcq_msg_set_seq (all [ZCQ_MSG_ACK], 2);
    all [ZCQ_MSG_UNWATCH] = zcq_msg_new (ZCQ_MSG_UNWATCH);
    zcq_msg_set_id (all [ZCQ_MSG_UNWATCH], "w0", 2);
    for (int type = ZCQ_MSG_COMMAND; type < ZCQ_MSG_TYPES; type++) {
        s_save_msg ("fuzz_msg", zcq_msg_type_name ((zcq_msg_type_t) type), all [type], -1);
        //  the body alone, first byte choosing the type
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        int rc = zcq_msg_encode_body (all [type], &buffer);
        assert (rc == 0);
        zchunk_t *input = zchunk_new (NULL, 0);
        byte selector = (byte) (type - 1);
        zchunk_extend (input, &selector, 1);
        zchunk_extend (input, buffer.data, buffer.size);
        char name [64];
        snprintf (name, sizeof name, "%s-body", zcq_msg_type_name ((zcq_msg_type_t) type));
        s_save ("fuzz_msg", name, input);
        zchunk_destroy (&input);
        msgpack_sbuffer_destroy (&buffer);
    }

    //  fuzz_command: the bank's commands, one and several per input
    //  fuzz_command: first byte 0 = the bank write node, 1 = the store one
    s_save_msg ("fuzz_command", "open", all [ZCQ_MSG_COMMAND], 0);
    zcq_msg_t *status = s_query ("status", NULL, NULL, 0);
    s_save_msg ("fuzz_command", "status", status, 0);
    zcq_msg_destroy (&status);
    s_save_msg ("fuzz_command", "replay-here", all [ZCQ_MSG_REPLAY], 0);
    zchunk_t *input = zchunk_new (NULL, 0);
    zcq_msg_t *commands [] = {
        s_command (1, "OpenAccount", "acct-2", 0, "owner", "bob", NULL),
        s_command (2, "Deposit", "acct-2", 1, "amount", "250", NULL),
        s_command (3, "Withdraw", "acct-2", -1, "amount", "100", NULL),
        s_command (4, "Withdraw", "acct-2", -1, "amount", "100000", NULL),
        s_command (5, "CloseAccount", "acct-2", -1, NULL),
        s_command (2, "Deposit", "acct-2", 1, "amount", "250", NULL),
    };
    for (size_t index = 0; index < sizeof commands / sizeof commands [0]; index++) {
        s_add (input, commands [index], -1);
        zcq_msg_destroy (&commands [index]);
    }
    //  A byte for the bank node in front of the messages
    zchunk_t *story = zchunk_new ("\0", 1);
    zchunk_extend (story, zchunk_data (input), zchunk_size (input));
    s_save ("fuzz_command", "bank-story", story);
    zchunk_destroy (&story);
    zchunk_destroy (&input);
    //  The store domain's Append with two events
    zcq_msg_t *append = zcq_msg_new (ZCQ_MSG_COMMAND);
    byte append_id [ZCQ_COMMAND_ID] = {9};
    zcq_msg_set_id (append, append_id, sizeof append_id);
    zcq_msg_set_name (append, "Append");
    zcq_msg_set_stream (append, "orders");
    const char events [] = "\x81\xa6"
                           "events\x92\x82\xa4type\xa6"
                           "Placed\xa4"
                           "data\x81\xa1n\x01"
                           "\x81\xa4type\xa7"
                           "Shipped";
    zcq_msg_set_data (append, events, sizeof events - 1);
    s_save_msg ("fuzz_command", "store-append", append, 1);
    zcq_msg_destroy (&append);

    //  fuzz_query: the bank's queries
    const char *queries [][3] = {
        {"status", NULL, NULL},
        {"account", "id", "acct-1"},
        {"accounts-by-owner", "owner", "alice"},
        {"totals", NULL, NULL},
        {"account", "id", ""},
        {"nosuch", NULL, NULL},
    };
    for (size_t index = 0; index < sizeof queries / sizeof queries [0]; index++) {
        zcq_msg_t *query = s_query (queries [index][0], queries [index][1], queries [index][2],
                                    index == 1 ? 2 : 0);
        char name [64];
        snprintf (name, sizeof name, "%s-%zu", queries [index][0], index);
        s_save_msg ("fuzz_query", name, query, 0); //  0: the bank query node
        zcq_msg_destroy (&query);
    }
    //  1: the store query node
    zcq_msg_t *stream = s_query ("stream", "stream", "acct-1", 0);
    s_save_msg ("fuzz_query", "store-stream", stream, 1);
    zcq_msg_destroy (&stream);
    zcq_msg_t *every = s_query ("all", NULL, NULL, 1);
    s_save_msg ("fuzz_query", "store-all", every, 1);
    zcq_msg_destroy (&every);

    //  fuzz_replay: channel 0 = PUB, 1 = replay answer
    s_save_msg ("fuzz_replay", "events", all [ZCQ_MSG_EVENTS], 1);
    input = zchunk_new (NULL, 0);
    zcq_msg_t *live = s_event (4, "acct-1", 4, "MoneyDeposited");
    zcq_msg_t *early = s_event (6, "acct-1", 6, "MoneyDeposited");
    s_add_live (input, all [ZCQ_MSG_HEARTBEAT]);
    s_add_live (input, early);
    s_add (input, all [ZCQ_MSG_EVENTS], 1);
    s_add_live (input, live);
    zcq_msg_t *error = zcq_msg_new (ZCQ_MSG_ERROR);
    zcq_msg_set_status (error, ZCQ_UNAVAILABLE);
    zcq_msg_set_reason (error, "storage read failed; retry");
    s_add (input, error, 1);
    s_save ("fuzz_replay", "live-and-repair", input);
    zchunk_destroy (&input);
    zcq_msg_destroy (&live);
    zcq_msg_destroy (&early);
    zcq_msg_destroy (&error);
    for (int type = 0; type < ZCQ_MSG_TYPES; type++) {
        zcq_msg_destroy (&all [type]);
    }
    return 0;
}
