/*  =========================================================================
    test_delete - deleting a stream on a real cluster (write node, two
    query nodes, bank and store domains): the tombstone, commands refused
    after it, replay that hides the data of the stream's events with
    positions kept dense, read models that drop the stream, a query node
    that folds the log afterwards reaching the same checksum, and the
    data gone from every LevelDB folder's files, found there before
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 10000 //  ms any single wait may take at most

//  What must be erased: an owner no other byte of the test holds (no
//  repeated run in it, so LevelDB's compression keeps it literal)
#define SECRET "Zq7Xw3Plm9KvQ"

//  Query node index: a query's RESULT at least at position (asserted).
static zcq_msg_t *
s_query (zcq_testkit_cluster_t *cluster, int node, const char *name, msgpack_sbuffer *params,
         uint64_t position)
{
    zcq_msg_t *result =
        zcq_client_query (cluster->client, node, name, params ? params->data : NULL,
                          params ? params->size : 0, position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    return result;
}

//  The read models' checksum of query node index at position.
static char *
s_checksum (zcq_testkit_cluster_t *cluster, int node, uint64_t position)
{
    zcq_msg_t *result = s_query (cluster, node, "checksum", NULL, position);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    assert_int_equal (zcq_msg_position (result), position);
    char *checksum =
        zcq_testkit_str (zcq_msg_data (result), zcq_msg_data_size (result), "checksum");
    zcq_msg_destroy (&result);
    return checksum;
}

//  Wait (bounded) until replay gives event index (from 1) hidden; returns it.
static zcq_msg_t *
s_hidden_event (zcq_testkit_cluster_t *cluster, size_t index)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (true) {
        zcq_msg_t *events = zcq_testkit_replay (cluster->replay, 1);
        assert_non_null (events);
        zcq_msg_t *event = zcq_testkit_event (events, index);
        zcq_msg_destroy (&events);
        assert_non_null (event);
        if (zcq_msg_deleted (event) || zclock_mono () > deadline) {
            return event;
        }
        zcq_msg_destroy (&event);
        zclock_sleep (20);
    }
}

static void
test_deleted_account_is_gone_everywhere (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    zcq_testkit_cluster_init (&cluster, "delete");
    //  Snapshots every 2 events: the deleted stream has one to erase too
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "bank", "--snapshot", "2"), 0);
    assert_int_equal (zcq_testkit_cluster_start_query (&cluster, 0, 1, "bank", NULL, NULL), 0);
    //  And one with its read models in memory, whose view cache holds the
    //  account's record when the deletion comes
    assert_int_equal (
        zcq_testkit_cluster_start_query (&cluster, 1, 2, "bank", "--storage", "memory"), 0);
    uint64_t position = zcq_testkit_two_accounts (&cluster, SECRET, "keeper");
    assert_true (position > 0);
    //  One group each: more records than the write node compacts one by one
    for (int deposit = 0; deposit < 70; deposit++) {
        position = zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Deposit", "acct-secret",
                                         zcq_testkit_map ("amount=1", NULL));
    }
    zcq_msg_t *result =
        s_query (&cluster, 0, "account", zcq_testkit_map ("id=acct-secret", NULL), position);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    zcq_msg_destroy (&result);
    //  The search can fail: before the deletion it finds the owner on disk
    //  in the query node's folder (the write node's holds it sealed only:
    //  owner is personal, see test_forget), once the node has written its
    //  held batch of read models (query/hold after it applied them)
    char path [400];
    snprintf (path, sizeof path, "%s/query-1", cluster.dir);
    assert_true (zcq_testkit_files_written (path, SECRET));

    //  Delete it: a tombstone at the next position and version
    zcq_testkit_position (&cluster, ZCQ_REJECTED, ZCQ_DELETE_STREAM, "acct-never", NULL);
    uint64_t tombstone =
        zcq_testkit_position (&cluster, ZCQ_ACCEPTED, ZCQ_DELETE_STREAM, "acct-secret", NULL);
    assert_int_equal (tombstone, position + 1); //  the refusal took no position
    //  From now on the stream takes no command, not even a new start
    zcq_testkit_position (&cluster, ZCQ_REJECTED, "Deposit", "acct-secret",
                          zcq_testkit_map ("amount=1", NULL));
    zcq_testkit_position (&cluster, ZCQ_REJECTED, ZCQ_DELETE_STREAM, "acct-secret", NULL);
    zcq_testkit_position (&cluster, ZCQ_REJECTED, "OpenAccount", "acct-secret",
                          zcq_testkit_map ("owner=mallory", NULL));
    uint64_t head = zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Deposit", "acct-keep",
                                          zcq_testkit_map ("amount=2", NULL));

    //  The query node dropped it, and its share of the totals
    result = s_query (&cluster, 0, "account", zcq_testkit_map ("id=acct-secret", NULL), head);
    assert_int_equal (zcq_msg_status (result), ZCQ_NOT_FOUND);
    zcq_msg_destroy (&result);
    result = s_query (&cluster, 0, "accounts-by-owner", zcq_testkit_map ("owner=" SECRET, NULL),
                      head);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    char *json = zcq_json_from_msgpack (zcq_msg_data (result), zcq_msg_data_size (result));
    assert_string_equal (json, "[]");
    zstr_free (&json);
    zcq_msg_destroy (&result);
    result = s_query (&cluster, 0, "totals", NULL, head);
    json = zcq_json_from_msgpack (zcq_msg_data (result), zcq_msg_data_size (result));
    assert_string_equal (json,
                         "{\"accounts\":1,\"open_accounts\":1,\"balance\":42,\"events\":3}");
    zstr_free (&json);
    zcq_msg_destroy (&result);

    //  Replay: every position still there, the stream's events without data
    zcq_msg_t *opened = s_hidden_event (&cluster, 0);
    assert_int_equal (zcq_msg_position (opened), 1);
    assert_string_equal (zcq_msg_stream (opened), "acct-secret");
    assert_string_equal (zcq_msg_name (opened), "AccountOpened");
    assert_int_equal (zcq_msg_deleted (opened), tombstone);
    assert_int_equal (zcq_msg_data_size (opened), 1); //  {}
    zcq_msg_destroy (&opened);
    zcq_msg_t *events = zcq_testkit_replay (cluster.replay, 1);
    assert_non_null (events);
    assert_int_equal (zcq_msg_event_count (events), head);
    for (size_t index = 0; index < head; index++) {
        zcq_msg_t *event = zcq_testkit_event (events, index);
        assert_non_null (event);
        assert_int_equal (zcq_msg_position (event), index + 1);
        bool secret = streq (zcq_msg_stream (event), "acct-secret");
        bool hidden = secret && zcq_msg_position (event) < tombstone;
        assert_int_equal (zcq_msg_deleted (event), hidden ? tombstone : 0);
        if (zcq_msg_position (event) == tombstone) {
            assert_string_equal (zcq_msg_name (event), ZCQ_STREAM_DELETED);
            assert_int_equal (zcq_msg_version (event), 74);
        }
        zcq_msg_destroy (&event);
    }
    zcq_msg_destroy (&events);

    //  The same on the memory node, to the checksum
    result = s_query (&cluster, 1, "account", zcq_testkit_map ("id=acct-secret", NULL), head);
    assert_int_equal (zcq_msg_status (result), ZCQ_NOT_FOUND);
    zcq_msg_destroy (&result);
    char *live = s_checksum (&cluster, 0, head);
    char *in_memory = s_checksum (&cluster, 1, head);
    assert_string_equal (in_memory, live);
    zstr_free (&in_memory);
    assert_int_equal (zcq_testkit_stop (&cluster.query [1]), 0);

    //  Gone from the disk of every node (the write node compacts after it
    //  hides, the query node after the batch that holds the tombstone)
    assert_true (zcq_testkit_files_gone (cluster.dir, SECRET, strlen (SECRET)));

    //  A query node that folds the log now reaches the same read models
    assert_int_equal (zcq_testkit_cluster_start_query (&cluster, 1, 3, "bank", NULL, NULL), 0);
    char *later = s_checksum (&cluster, 1, head);
    assert_string_equal (later, live);
    zstr_free (&live);
    zstr_free (&later);
    assert_false (zcq_testkit_files_hold (cluster.dir, SECRET));

    //  A restarted write node still refuses the stream
    assert_int_equal (zcq_testkit_stop (&cluster.write), 0);
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "bank", "--snapshot", "2"), 0);
    zcq_testkit_position (&cluster, ZCQ_REJECTED, "Deposit", "acct-secret",
                          zcq_testkit_map ("amount=1", NULL));
    assert_int_equal (zcq_testkit_cluster_stop (&cluster), 0);
    zcq_testkit_cluster_destroy (&cluster);
}

//  The store domain keeps events themselves: deleting a stream removes its
//  copies, and its state-free write node still refuses it after a restart
static void
test_deleted_store_stream_is_gone_everywhere (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    zcq_testkit_cluster_init (&cluster, "delete-store");
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "store", NULL, NULL), 0);
    assert_int_equal (zcq_testkit_cluster_start_query (&cluster, 0, 1, "store", NULL, NULL), 0);
    msgpack_sbuffer *events = msgpack_sbuffer_new ();
    char *error = NULL;
    assert_int_equal (
        zcq_json_to_msgpack ("{\"events\":[{\"type\":\"Noted\",\"data\":{\"text\":"
                             "\"" SECRET "\"}},{\"type\":\"Noted\"}]}",
                             events, &error),
        0);
    zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Append", "notes-1", events);
    //  Deleted in the same batch a query node applies: found by version
    uint64_t tombstone =
        zcq_testkit_position (&cluster, ZCQ_ACCEPTED, ZCQ_DELETE_STREAM, "notes-1", NULL);
    assert_int_equal (tombstone, 3);
    zcq_msg_t *result =
        s_query (&cluster, 0, "stream", zcq_testkit_map ("stream=notes-1", NULL), tombstone);
    char *json = zcq_json_from_msgpack (zcq_msg_data (result), zcq_msg_data_size (result));
    assert_non_null (strstr (json, "\"type\":\"$StreamDeleted\""));
    assert_null (strstr (json, "Noted"));
    zstr_free (&json);
    zcq_msg_destroy (&result);
    assert_true (zcq_testkit_files_gone (cluster.dir, SECRET, strlen (SECRET)));
    assert_int_equal (zcq_testkit_stop (&cluster.write), 0);
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "store", NULL, NULL), 0);
    events = msgpack_sbuffer_new ();
    assert_int_equal (
        zcq_json_to_msgpack ("{\"events\":[{\"type\":\"Noted\"}]}", events, &error), 0);
    zcq_testkit_position (&cluster, ZCQ_REJECTED, "Append", "notes-1", events);
    assert_int_equal (zcq_testkit_cluster_stop (&cluster), 0);
    zcq_testkit_cluster_destroy (&cluster);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_deleted_account_is_gone_everywhere),
        cmocka_unit_test (test_deleted_store_stream_is_gone_everywhere),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    zcq_testkit_cleanup ();
    return failed;
}
