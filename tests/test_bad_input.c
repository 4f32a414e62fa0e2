/*  =========================================================================
    test_bad_input - hostile and broken bytes against real node processes:
    every kind of malformed message gets a reply that names the problem,
    stores nothing, and the node goes on serving
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 10000 //  ms any single wait may take at most

typedef struct {
    char *dir; //  temporary folder
    char commands [256], events [256], replay [256], queries [256];
    zcq_testkit_node_t write; //  write node process
    zcq_testkit_node_t query; //  query node process
    zsock_t *dealer;          //  raw DEALER to the endpoint under test
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("bad");
    snprintf (fixture->commands, 256, "ipc://%s/commands", fixture->dir);
    snprintf (fixture->events, 256, "ipc://%s/events", fixture->dir);
    snprintf (fixture->replay, 256, "ipc://%s/replay", fixture->dir);
    snprintf (fixture->queries, 256, "ipc://%s/queries", fixture->dir);
    char data [300];
    snprintf (data, sizeof (data), "%s/write", fixture->dir);
    zcq_testkit_start (&fixture->write, fixture->dir, "zcqrs-write", "--commands",
                       fixture->commands, "--events", fixture->events, "--replay",
                       fixture->replay, "--data", data, NULL);
    assert_int_equal (zcq_testkit_wait_ready (fixture->commands, WAIT), 0);
    snprintf (data, sizeof (data), "%s/query", fixture->dir);
    zcq_testkit_start (&fixture->query, fixture->dir, "zcqrs-query", "--events",
                       fixture->events, "--replay", fixture->replay, "--queries",
                       fixture->queries, "--data", data, NULL);
    assert_int_equal (zcq_testkit_wait_ready (fixture->queries, WAIT), 0);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_destroy (&fixture->dealer);
    //  Still alive after all of it, and stopping cleanly
    assert_int_equal (zcq_testkit_stop (&fixture->query), 0);
    assert_int_equal (zcq_testkit_stop (&fixture->write), 0);
    zcq_testkit_cleanup ();
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    return 0;
}

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    assert_int_equal (zsock_connect (dealer, "%s", endpoint), 0);
    return dealer;
}

//  Send frames given as (data, size) pairs ending with NULL; return the
//  decoded answer (asserted to come within WAIT).
static zcq_msg_t *
s_exchange (zsock_t *dealer, const void *data, size_t size, ...)
{
    zmsg_t *zmsg = zmsg_new ();
    va_list args;
    va_start (args, size);
    while (data) {
        zmsg_addmem (zmsg, data, size);
        data = va_arg (args, const void *);
        if (data) {
            size = va_arg (args, size_t);
        }
    }
    va_end (args);
    assert_int_equal (zmsg_send (&zmsg, dealer), 0);
    zpoller_t *poller = zpoller_new (dealer, NULL);
    void *which = zpoller_wait (poller, WAIT);
    zpoller_destroy (&poller);
    assert_ptr_equal (which, dealer);
    zmsg_t *answer = zmsg_recv (dealer);
    assert_non_null (answer);
    zcq_msg_t *msg = zcq_msg_decode (&answer);
    assert_true (zcq_msg_valid (msg));
    return msg;
}

//  Check an answer's type, status, and that its reason contains text.
static void
s_check (zcq_msg_t **msg_p, zcq_msg_type_t type, zcq_status_t status, const char *text)
{
    zcq_msg_t *msg = *msg_p;
    if (zcq_msg_type (msg) != type || zcq_msg_status (msg) != status
        || !strstr (zcq_msg_reason (msg), text)) {
        fail_msg ("got %s %s '%s', wanted %s %s with '%s'",
                  zcq_msg_type_name (zcq_msg_type (msg)),
                  zcq_status_name (zcq_msg_status (msg)), zcq_msg_reason (msg),
                  zcq_msg_type_name (type), zcq_status_name (status), text);
    }
    zcq_msg_destroy (msg_p);
}

#define S(text) text, sizeof (text) - 1

//  A COMMAND body with one field changed: packs a map of the standard
//  fields, replacing `key`'s value with the packed bytes in value.
static msgpack_sbuffer *
s_command_body (const char *key, const char *value, size_t value_size)
{
    static const char *keys [] = {"id", "type", "stream", "expect", "data"};
    msgpack_sbuffer *body = msgpack_sbuffer_new ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, body, msgpack_sbuffer_write);
    bool dropped = key && value == NULL;
    msgpack_pack_map (&pk, dropped ? 4 : 5);
    for (int index = 0; index < 5; index++) {
        if (key && streq (key, keys [index])) {
            if (value) {
                zcq_mpack_pack_str (&pk, keys [index]);
                msgpack_sbuffer_write (body, value, value_size);
            }
            continue;
        }
        zcq_mpack_pack_str (&pk, keys [index]);
        switch (index) {
            case 0:
                msgpack_pack_bin (&pk, 16);
                msgpack_pack_bin_body (&pk, "0123456789abcdef", 16);
                break;
            case 1:
                zcq_mpack_pack_str (&pk, "OpenAccount");
                break;
            case 2:
                zcq_mpack_pack_str (&pk, "account-1");
                break;
            case 3:
                msgpack_pack_nil (&pk);
                break;
            default:
                msgpack_pack_map (&pk, 1);
                zcq_mpack_pack_str (&pk, "owner");
                zcq_mpack_pack_str (&pk, "mallory");
                break;
        }
    }
    return body;
}

static zcq_msg_t *
s_command (zsock_t *dealer, const char *key, const char *value, size_t value_size)
{
    msgpack_sbuffer *body = s_command_body (key, value, value_size);
    zcq_msg_t *answer =
        s_exchange (dealer, S ("ZCQ1"), S ("COMMAND"), body->data, body->size, NULL);
    msgpack_sbuffer_free (body);
    return answer;
}

static void
test_command_endpoint_names_every_problem (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    fixture->dealer = s_dealer (fixture->commands);
    zsock_t *dealer = fixture->dealer;
    zcq_msg_t *answer;

    answer = s_exchange (dealer, S ("hello"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_INVALID, "needs 3 frames");
    answer = s_exchange (dealer, S ("ZCQ1"), S ("COMMAND"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_INVALID, "got 2");
    answer = s_exchange (dealer, S ("XYZ1"), S ("COMMAND"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_INVALID, "not a zcqrs signature");
    answer = s_exchange (dealer, S ("ZCQ2"), S ("COMMAND"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_BAD_VERSION, "'ZCQ2' is not supported");
    answer = s_exchange (dealer, S ("ZCQ1"), S ("FROB"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE, "unknown message type 'FROB'");
    answer = s_exchange (dealer, S ("ZCQ1"), S ("COMMAND"), S ("\xc1"), NULL);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "not valid msgpack");
    answer = s_exchange (dealer, S ("ZCQ1"), S ("COMMAND"), S ("\x93\x01\x02\x03"), NULL);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "must be a msgpack map, got array");
    answer = s_exchange (dealer, S ("ZCQ1"), S ("COMMAND"), S ("\x82\xa2id"), NULL);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "truncated");
    msgpack_sbuffer *good = s_command_body (NULL, NULL, 0);
    answer = s_exchange (dealer, S ("ZCQ1"), S ("COMMAND"), good->data, good->size, S ("extra"),
                         NULL);
    msgpack_sbuffer_free (good);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "frames too many");

    answer = s_command (dealer, "id", NULL, 0);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "missing field 'id'");
    answer = s_command (dealer, "stream", NULL, 0);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "missing field 'stream'");
    answer = s_command (dealer, "id",
                        S ("\xc4\x08"
                           "12345678"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "must be 16 bytes, got 8");
    answer = s_command (dealer, "type", S ("\x05"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "field 'type' must be a string, got integer");
    answer = s_command (dealer, "stream",
                        S ("\xa3"
                           "a\nb"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "without control characters");
    answer = s_command (dealer, "stream", S ("\xa2\xc3\x28"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "must be UTF-8");
    answer = s_command (dealer, "expect", S ("\xfd"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "must be a non-negative integer, got -3");
    answer = s_command (dealer, "data", S ("\x91\x01"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "field 'data' must be a map, got array");
    answer = s_command (dealer, "type",
                        S ("\xa5"
                           "Steal"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_UNKNOWN_TYPE, "unknown command type 'Steal'");
    answer = s_command (dealer, "data", S ("\x81\xa5owner\x07"));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_INVALID, "field 'owner' must be a string");

    //  Oversize fields: a 300-byte stream name, 300 KB of data
    char stream [3 + 300];
    stream [0] = (char) 0xd9;
    stream [1] = (char) 44; //  str 8 with length 300 does not fit: use str 16
    stream [0] = (char) 0xda;
    stream [1] = 1;
    stream [2] = 44;
    memset (stream + 3, 'x', 300);
    answer = s_command (dealer, "stream", stream, sizeof (stream));
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_TOO_LARGE,
             "field 'stream' is 300 bytes, limit is 256");
    size_t big = 300 * 1024;
    char *data = (char *) malloc (big + 16);
    size_t used = 0;
    data [used++] = (char) 0x81;
    data [used++] = (char) 0xa1;
    data [used++] = 'x';
    data [used++] = (char) 0xc6;
    data [used++] = 0;
    data [used++] = (char) (big >> 16);
    data [used++] = (char) ((big >> 8) & 0xff);
    data [used++] = (char) (big & 0xff);
    memset (data + used, 'y', big);
    answer = s_command (dealer, "data", data, used + big);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_TOO_LARGE, "field 'data' is");
    free (data);

    //  Messages with no business on this endpoint
    answer = s_exchange (dealer, S ("ZCQ1"), S ("EVENTS"),
                         S ("\x83\xa4"
                            "from\x01\xa4head\x01"
                            "\xa5"
                            "count\x00"),
                         NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE,
             "command endpoint takes COMMAND or QUERY, not EVENTS");
    answer = s_exchange (dealer, S ("ZCQ1"), S ("QUERY"), S ("\x81\xa4name\xa4nope"), NULL);
    s_check (&answer, ZCQ_MSG_RESULT, ZCQ_UNKNOWN_TYPE,
             "only the 'status' and 'backup' queries");

    //  A frame over the hard limit drops the peer; the node serves others
    zsock_t *abuser = s_dealer (fixture->commands);
    size_t huge = ZCQ_HARD_MAXMSG + 1;
    char *flood = (char *) zmalloc (huge);
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addmem (zmsg, flood, huge);
    zmsg_send (&zmsg, abuser);
    free (flood);
    zsock_destroy (&abuser);

    //  After all of that: nothing stored, and a good command still works
    zcq_client_t *client = zcq_client_new (fixture->commands);
    zcq_msg_t *status = zcq_client_write_status (client, WAIT);
    assert_non_null (status);
    assert_int_equal (
        zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status), "head"), 0);
    zcq_msg_destroy (&status);
    answer = s_command (dealer, NULL, NULL, 0);
    s_check (&answer, ZCQ_MSG_REPLY, ZCQ_ACCEPTED, "");
    zcq_client_destroy (&client);
}

static void
test_replay_endpoint_names_every_problem (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    fixture->dealer = s_dealer (fixture->replay);
    zcq_msg_t *answer;
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("REPLAY"),
                         S ("\x81\xa4"
                            "from\x00"),
                         NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_INVALID, "positions start at 1");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("REPLAY"),
                         S ("\x82\xa4"
                            "from\x01\xa3max\xcd\x07\xd0"),
                         NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_INVALID, "'max' is 2000, limit is 1000");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("COMMAND"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE,
             "replay endpoint takes REPLAY, not COMMAND");
    answer =
        s_exchange (fixture->dealer, S ("ZCQ1"), S ("QUERY"), S ("\x81\xa4name\xa1x"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE, "takes REPLAY, not QUERY");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("REPLAY"),
                         S ("\x81\xa4"
                            "from\x01"),
                         NULL);
    assert_int_equal (zcq_msg_type (answer), ZCQ_MSG_EVENTS);
    assert_int_equal (zcq_msg_event_count (answer), 0);
    assert_int_equal (zcq_msg_head (answer), 0);
    zcq_msg_destroy (&answer);
}

static void
test_query_endpoint_names_every_problem (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    fixture->dealer = s_dealer (fixture->queries);
    zcq_msg_t *answer;
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("QUERY"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_RESULT, ZCQ_INVALID, "missing field 'name'");
    answer =
        s_exchange (fixture->dealer, S ("ZCQ1"), S ("QUERY"), S ("\x81\xa4name\xa4nope"), NULL);
    s_check (&answer, ZCQ_MSG_RESULT, ZCQ_UNKNOWN_TYPE, "unknown query 'nope'");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("QUERY"),
                         S ("\x82\xa4name\xa7"
                            "account\xa6params\x90"),
                         NULL);
    s_check (&answer, ZCQ_MSG_RESULT, ZCQ_INVALID, "field 'params' must be a map");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("QUERY"),
                         S ("\x82\xa4name\xa7"
                            "account\xa6params\x80"),
                         NULL);
    s_check (&answer, ZCQ_MSG_RESULT, ZCQ_INVALID, "'id'");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("COMMAND"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE,
             "query endpoint takes QUERY or WATCH or ACK or UNWATCH, not COMMAND");
    answer =
        s_exchange (fixture->dealer, S ("ZCQ1"), S ("HEARTBEAT"), S ("\x81\xa4head\x01"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE,
             "takes QUERY or WATCH or ACK or UNWATCH, not HEARTBEAT");
    answer = s_exchange (fixture->dealer, S ("ZCQ9"), S ("QUERY"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_BAD_VERSION, "speaks 'ZCQ1'");
    //  Live queries: what does not decode gets an UPDATE with the error, seq 0
    answer =
        s_exchange (fixture->dealer, S ("ZCQ1"), S ("WATCH"), S ("\x81\xa4name\xa4nope"), NULL);
    assert_int_equal (zcq_msg_seq (answer), 0);
    s_check (&answer, ZCQ_MSG_UPDATE, ZCQ_INVALID, "WATCH is missing field 'id'");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("WATCH"),
                         S ("\x82\xa2id\xc4\x01w\xa4name\xa4nope"), NULL);
    s_check (&answer, ZCQ_MSG_UPDATE, ZCQ_UNKNOWN_TYPE, "unknown query 'nope'");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("ACK"),
                         S ("\x82\xa2id\xc4\x01w\xa3seq\xa1x"), NULL);
    s_check (&answer, ZCQ_MSG_UPDATE, ZCQ_INVALID,
             "field 'seq' must be a non-negative integer");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("UNWATCH"), S ("\x81\xa2id\xc4\x01w"),
                         NULL);
    s_check (&answer, ZCQ_MSG_UPDATE, ZCQ_NOT_FOUND, "no such watch");
    answer = s_exchange (fixture->dealer, S ("ZCQ1"), S ("UPDATE"), S ("\x80"), NULL);
    s_check (&answer, ZCQ_MSG_ERROR, ZCQ_UNKNOWN_TYPE, "not UPDATE");

    //  A REQ peer (empty delimiter) gets its answer too
    zsock_t *req = zsock_new (ZMQ_REQ);
    zsock_set_linger (req, 0);
    assert_int_equal (zsock_connect (req, "%s", fixture->queries), 0);
    answer = s_exchange (req, S ("ZCQ1"), S ("QUERY"), S ("\x81\xa4name\xa6status"), NULL);
    assert_int_equal (zcq_msg_type (answer), ZCQ_MSG_RESULT);
    assert_int_equal (zcq_msg_status (answer), ZCQ_OK);
    zcq_msg_destroy (&answer);
    zsock_destroy (&req);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_command_endpoint_names_every_problem, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_endpoint_names_every_problem, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_query_endpoint_names_every_problem, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
