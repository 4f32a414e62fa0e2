/*  =========================================================================
    test_forget - crypto-shredding on a real cluster (write node, two query
    nodes, bank domain): the owner (a personal field) never reaches the
    write node's disk in plain; query nodes and replay read it while the
    stream's key lives; after $Forget the key is gone from every file of
    every node, the query nodes' read models and files no longer hold the
    owner, queries show it forgotten, replay gives ciphertext only, a node
    that folds the log afterwards reaches the same read models, the
    stream goes on, another stream reads as before; bad input is refused
    by name
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_seal.h"
#include "zcq_keys.h"
#include "zcq_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 10000 //  ms any single wait may take at most

//  Owners no other byte of the test holds (no repeated run in them)
#define SECRET "Hv4Rq8Tzn2WxLp"
#define KEEPER "Mb6Yk1Dsj5FoCe"

//  A query's answer on query node index at least at position, as JSON.
static char *
s_query (zcq_testkit_cluster_t *cluster, int node, const char *name, msgpack_sbuffer *params,
         uint64_t position)
{
    char *json = zcq_testkit_query_json (cluster, node, name, params, position);
    assert_non_null (json);
    return json;
}

//  The msgpack type of field owner in the data of replayed event index.
static msgpack_object_type
s_replayed_owner (zcq_testkit_cluster_t *cluster, size_t index, char **owner)
{
    zcq_msg_t *events = zcq_testkit_replay (cluster->replay, 1);
    assert_non_null (events);
    zcq_msg_t *event = zcq_testkit_event (events, index);
    zcq_msg_destroy (&events);
    assert_non_null (event);
    assert_string_equal (zcq_msg_name (event), "AccountOpened");
    msgpack_unpacked data;
    zcq_testkit_unpack (zcq_msg_data (event), zcq_msg_data_size (event), &data);
    const msgpack_object *value = zcq_map_get (&data.data, "owner");
    assert_non_null (value);
    msgpack_object_type type = value->type;
    if (owner) {
        *owner = type == MSGPACK_OBJECT_STR
                     ? zsys_sprintf ("%.*s", (int) value->via.str.size, value->via.str.ptr)
                     : NULL;
    }
    if (type == MSGPACK_OBJECT_EXT) {
        assert_int_equal (value->via.ext.type, ZCQ_SEAL_EXT);
    }
    msgpack_unpacked_destroy (&data);
    zcq_msg_destroy (&event);
    return type;
}

//  The stream key in the write node's key table now (write-keys, beside
//  its data folder): zcq_keys_find's answer.
static int
s_table_key (zcq_testkit_cluster_t *cluster, const char *stream, byte key [ZCQ_SEAL_KEY])
{
    char path [300];
    snprintf (path, sizeof path, "%s/write-keys", cluster->dir);
    return zcq_testkit_table_key (path, stream, key);
}

//  A backup of the write node's data taken by its "backup" query (as
//  zcqrs backup NAME does); returns its folder, dir/backups/NAME (caller
//  frees).
static char *
s_backup (zcq_testkit_cluster_t *cluster, const char *name)
{
    char param [64];
    snprintf (param, sizeof param, "name=%s", name);
    msgpack_sbuffer *params = zcq_testkit_map (param, NULL);
    zcq_msg_t *result = zcq_client_query (cluster->client, ZCQ_WRITE_NODE, "backup",
                                          params->data, params->size, 0, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    char *path = zcq_testkit_str (zcq_msg_data (result), zcq_msg_data_size (result), "path");
    zcq_msg_destroy (&result);
    assert_non_null (path);
    return path;
}

static void
test_forgotten_owner_is_ciphertext_everywhere (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    zcq_testkit_cluster_init (&cluster, "forget");
    //  Snapshots every 2 events: the account state is sealed as well
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "bank", "--snapshot", "2"), 0);
    assert_int_equal (zcq_testkit_cluster_start_query (&cluster, 0, 1, "bank", NULL, NULL), 0);
    uint64_t position = zcq_testkit_two_accounts (&cluster, SECRET, KEEPER);
    assert_true (position > 0);

    //  While the key lives: queries and replay read the owner
    char *json =
        s_query (&cluster, 0, "account", zcq_testkit_map ("id=acct-secret", NULL), position);
    assert_non_null (strstr (json, "\"owner\":\"" SECRET "\""));
    zstr_free (&json);
    char *owner = NULL;
    assert_int_equal (s_replayed_owner (&cluster, 0, &owner), MSGPACK_OBJECT_STR);
    assert_string_equal (owner, SECRET);
    zstr_free (&owner);
    //  ... but the write node's files never held it in plain; the query
    //  node's read models do (the search can fail: it finds it there),
    //  once their batch is written (query/hold after it was read)
    char path [400];
    snprintf (path, sizeof path, "%s/write", cluster.dir);
    assert_false (zcq_testkit_files_hold (path, SECRET));
    assert_false (zcq_testkit_files_hold (path, KEEPER));
    snprintf (path, sizeof path, "%s/query-1", cluster.dir);
    assert_true (zcq_testkit_files_written (path, SECRET));
    //  The key is in the key table, beside the data folder, and in no file
    //  of the data folder (the search finds it where it is)
    byte key [ZCQ_SEAL_KEY];
    assert_int_equal (s_table_key (&cluster, "acct-secret", key), 0);
    snprintf (path, sizeof path, "%s/write-keys", cluster.dir);
    assert_true (zcq_testkit_files_hold_bytes (path, key, sizeof key));
    snprintf (path, sizeof path, "%s/write", cluster.dir);
    assert_false (zcq_testkit_files_hold_bytes (path, key, sizeof key));
    //  A backup of the data, taken before the forget: no key, no owner
    char *backup = s_backup (&cluster, "before-forget");
    assert_true (zcq_testkit_files_hold (backup, "zcqrs-log-3"));
    assert_false (zcq_testkit_files_hold_bytes (backup, key, sizeof key));
    assert_false (zcq_testkit_files_hold (backup, SECRET));

    //  Bad input, refused by name: a stream that does not exist
    zcq_msg_t *reply =
        zcq_testkit_send (&cluster, ZCQ_REJECTED, ZCQ_FORGET, "acct-never", NULL);
    assert_non_null (reply);
    assert_non_null (strstr (zcq_msg_reason (reply), "'acct-never' does not exist"));
    zcq_msg_destroy (&reply);

    //  Forget: the node's event at the next position
    uint64_t forgotten =
        zcq_testkit_position (&cluster, ZCQ_ACCEPTED, ZCQ_FORGET, "acct-secret", NULL);
    assert_int_equal (forgotten, position + 1);
    //  The stream goes on: a deposit, and the balance folded without the owner
    uint64_t head = zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Deposit", "acct-secret",
                                          zcq_testkit_map ("amount=1", NULL));
    zcq_testkit_position (&cluster, ZCQ_REJECTED, "Withdraw", "acct-secret",
                          zcq_testkit_map ("amount=257", NULL));
    head = zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Withdraw", "acct-secret",
                                 zcq_testkit_map ("amount=256", NULL));

    //  No new key: nothing personal came since (a snapshot of the state
    //  cached before the forget, sealed under a new one, would hold the owner)
    byte later [ZCQ_SEAL_KEY];
    assert_int_equal (s_table_key (&cluster, "acct-secret", later), 1);

    //  Queries show the owner forgotten; the other account reads as before
    json = s_query (&cluster, 0, "account", zcq_testkit_map ("id=acct-secret", NULL), head);
    assert_string_equal (json, "{\"id\":\"acct-secret\",\"owner\":null,\"forgotten\":"
                               "[\"owner\"],\"balance\":0,\"status\":\"open\",\"version\":6}");
    zstr_free (&json);
    json = s_query (&cluster, 0, "accounts-by-owner", zcq_testkit_map ("owner=" SECRET, NULL),
                    head);
    assert_string_equal (json, "[]");
    zstr_free (&json);
    json = s_query (&cluster, 0, "account", zcq_testkit_map ("id=acct-keep", NULL), head);
    assert_non_null (strstr (json, "\"owner\":\"" KEEPER "\""));
    zstr_free (&json);
    json = s_query (&cluster, 0, "accounts-by-owner", zcq_testkit_map ("owner=" KEEPER, NULL),
                    head);
    assert_non_null (strstr (json, "acct-keep"));
    zstr_free (&json);

    //  Replay: the forgotten owner is ciphertext, the other one plain
    assert_int_equal (s_replayed_owner (&cluster, 0, NULL), MSGPACK_OBJECT_EXT);
    assert_int_equal (s_replayed_owner (&cluster, 1, &owner), MSGPACK_OBJECT_STR);
    assert_string_equal (owner, KEEPER);
    zstr_free (&owner);
    zcq_msg_t *events = zcq_testkit_replay (cluster.replay, forgotten);
    assert_non_null (events);
    zcq_msg_t *event = zcq_testkit_event (events, 0);
    assert_non_null (event);
    assert_string_equal (zcq_msg_name (event), ZCQ_STREAM_FORGOTTEN);
    assert_string_equal (zcq_msg_stream (event), "acct-secret");
    zcq_msg_destroy (&event);
    zcq_msg_destroy (&events);

    //  Within seconds: the key is in no file of any node (the key table
    //  and the data folder included) nor of the backup, the owner in no
    //  file of the query node (its read models rewritten and compacted)
    assert_true (zcq_testkit_files_gone (cluster.dir, key, sizeof key));
    assert_true (zcq_testkit_files_gone (cluster.dir, SECRET, strlen (SECRET)));

    //  A query node that folds the log now reaches the same read models
    assert_int_equal (zcq_testkit_cluster_start_query (&cluster, 1, 2, "bank", NULL, NULL), 0);
    json = s_query (&cluster, 1, "checksum", NULL, head);
    char *live = s_query (&cluster, 0, "checksum", NULL, head);
    assert_string_equal (json, live);
    zstr_free (&json);
    zstr_free (&live);
    json = s_query (&cluster, 1, "account", zcq_testkit_map ("id=acct-secret", NULL), head);
    assert_non_null (strstr (json, "\"forgotten\":[\"owner\"]"));
    zstr_free (&json);

    //  A restarted write node folds the stream without the owner, and the
    //  unforgotten stream still reads fine
    assert_int_equal (zcq_testkit_stop (&cluster.write), 0);
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "bank", "--snapshot", "2"), 0);
    zcq_testkit_position (&cluster, ZCQ_REJECTED, "Withdraw", "acct-secret",
                          zcq_testkit_map ("amount=1", NULL));
    zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Withdraw", "acct-keep",
                          zcq_testkit_map ("amount=40", NULL));
    assert_int_equal (s_replayed_owner (&cluster, 1, &owner), MSGPACK_OBJECT_STR);
    assert_string_equal (owner, KEEPER);
    zstr_free (&owner);
    assert_false (zcq_testkit_files_hold (cluster.dir, SECRET));
    assert_false (zcq_testkit_files_hold_bytes (cluster.dir, key, sizeof key));

    //  The data backup from before the forget put back (the key table
    //  stays): the $Forget is lost with the positions after the backup, but
    //  the owner stays ciphertext and reads as forgotten
    assert_int_equal (zcq_testkit_stop (&cluster.write), 0);
    snprintf (path, sizeof path, "%s/write", cluster.dir);
    zcq_testkit_rmtree (path);
    assert_int_equal (rename (backup, path), 0);
    assert_int_equal (zcq_testkit_cluster_start_write (&cluster, "bank", "--snapshot", "2"), 0);
    assert_int_equal (s_replayed_owner (&cluster, 0, NULL), MSGPACK_OBJECT_EXT);
    assert_int_equal (s_replayed_owner (&cluster, 1, &owner), MSGPACK_OBJECT_STR);
    assert_string_equal (owner, KEEPER);
    zstr_free (&owner);
    assert_int_equal (zcq_testkit_stop (&cluster.query [1]), 0);
    assert_int_equal (zcq_testkit_cluster_start_query (&cluster, 1, 3, "bank", NULL, NULL), 0);
    json = s_query (&cluster, 1, "account", zcq_testkit_map ("id=acct-secret", NULL), position);
    assert_non_null (strstr (json, "\"owner\":null"));
    assert_non_null (strstr (json, "\"forgotten\":[\"owner\"]"));
    zstr_free (&json);
    //  The stream goes on
    zcq_testkit_position (&cluster, ZCQ_ACCEPTED, "Deposit", "acct-secret",
                          zcq_testkit_map ("amount=3", NULL));
    assert_false (zcq_testkit_files_hold (cluster.dir, SECRET));
    assert_false (zcq_testkit_files_hold_bytes (cluster.dir, key, sizeof key));
    zstr_free (&backup);
    assert_int_equal (zcq_testkit_cluster_stop (&cluster), 0);
    zcq_testkit_cluster_destroy (&cluster);
}

//  Sealing itself: round trip, a wrong key or stream reads as nil, and
//  only the listed fields are sealed
static void
test_seal_round_trip (void **unused)
{
    (void) unused;
    byte key [ZCQ_SEAL_KEY], other [ZCQ_SEAL_KEY];
    zcq_seal_key_new (key);
    zcq_seal_key_new (other);
    assert_memory_not_equal (key, other, ZCQ_SEAL_KEY);
    msgpack_sbuffer *data = zcq_testkit_map ("owner=" SECRET, "amount=5", NULL);
    msgpack_unpacked plain;
    zcq_testkit_unpack (data->data, data->size, &plain);
    static const char *const fields [] = {"owner", "missing", NULL};
    msgpack_sbuffer sealed, opened;
    msgpack_sbuffer_init (&sealed);
    msgpack_sbuffer_init (&opened);
    assert_int_equal (zcq_seal_data (&plain.data, fields, key, "s-1", &sealed), 1);
    assert_null (memmem (sealed.data, sealed.size, SECRET, strlen (SECRET)));
    assert_true (zcq_seal_maybe (sealed.data, sealed.size));
    assert_false (zcq_seal_maybe (data->data, data->size));
    assert_int_equal (zcq_testkit_int (sealed.data, sealed.size, "amount"), 5);
    //  Opened with the key: the very bytes it was made from
    assert_int_equal (zcq_seal_open (sealed.data, sealed.size, key, "s-1", false, &opened), 1);
    assert_int_equal (opened.size, data->size);
    assert_memory_equal (opened.data, data->data, data->size);
    //  Another key, another stream, no key: nil
    const byte *keys [] = {other, key, NULL};
    const char *streams [] = {"s-1", "s-2", "s-1"};
    for (int index = 0; index < 3; index++) {
        opened.size = 0;
        assert_int_equal (zcq_seal_open (sealed.data, sealed.size, keys [index],
                                         streams [index], false, &opened),
                          1);
        msgpack_unpacked result;
        zcq_testkit_unpack (opened.data, opened.size, &result);
        const msgpack_object *owner = zcq_map_get (&result.data, "owner");
        assert_non_null (owner);
        assert_int_equal (owner->type, MSGPACK_OBJECT_NIL);
        msgpack_unpacked_destroy (&result);
    }
    //  Kept: what does not open stays ciphertext, byte for byte
    opened.size = 0;
    assert_int_equal (zcq_seal_open (sealed.data, sealed.size, other, "s-1", true, &opened), 0);
    assert_int_equal (opened.size, 0);
    //  Nothing listed: nothing sealed
    static const char *const none [] = {"name", NULL};
    assert_int_equal (zcq_seal_data (&plain.data, none, key, "s-1", &sealed), 0);
    msgpack_unpacked_destroy (&plain);
    msgpack_sbuffer_destroy (&sealed);
    msgpack_sbuffer_destroy (&opened);
    msgpack_sbuffer_free (data);
}

//  A domain whose personal fields are not names is refused
static void
test_registry_refuses_bad_personal_fields (void **unused)
{
    (void) unused;
    static char long_name [ZCQ_MAX_NAME + 2];
    memset (long_name, 'x', ZCQ_MAX_NAME + 1);
    static const char *const empty [] = {"owner", "", NULL};
    static const char *const too_long [] = {long_name, NULL};
    static const char *const fine [] = {"name", "email", NULL};
    static zcq_domain_t domains [3];
    const char *const *fields [] = {empty, too_long, fine};
    const char *names [] = {"personal-empty", "personal-long", "personal-fine"};
    for (int index = 0; index < 3; index++) {
        domains [index] = *zcq_bank_domain ();
        domains [index].name = names [index];
        domains [index].personal_fields = fields [index];
        assert_int_equal (zcq_domain_register (&domains [index]), index < 2 ? -1 : 0);
    }
    assert_ptr_equal (zcq_domain_personal_fields (&domains [2]), fine);
    //  An ABI-3 domain has none, whatever follows its struct
    domains [2].abi = 3;
    assert_null (zcq_domain_personal_fields (&domains [2]));
    assert_non_null (zcq_domain_personal_fields (zcq_bank_domain ()));
    assert_null (zcq_domain_personal_fields (zcq_store_domain ()));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_seal_round_trip),
        cmocka_unit_test (test_registry_refuses_bad_personal_fields),
        cmocka_unit_test (test_forgotten_owner_is_ciphertext_everywhere),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    zcq_testkit_cleanup ();
    return failed;
}
