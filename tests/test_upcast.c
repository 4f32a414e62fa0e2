/*  =========================================================================
    test_upcast - versioned event types: the upcasters of a domain's .so
    (build/libzcq_customer_v2.so, from examples/customer_domain.c) raising
    events stored at schema 1 (a field added, renamed, one event split in
    two, one dropped), what the registry refuses, upcasters that misbehave,
    and a real cluster run at v1 and then at v2 on the same log: the write
    node decides on states folded from v1 events, the query node answers
    from upcast events, REPLAY gives the events as stored, and a client
    upcasts them with the same .so
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 10000 //  ms any single wait may take at most

//  --- What upcasting made of one event -------------------------------------------

typedef struct {
    size_t count;         //  events seen
    char types [8][64];   //  their types
    uint32_t schemas [8]; //  their schema versions
    char *json [8];       //  their data as JSON
    uint64_t position;    //  position of the last (all share the stored one's)
} s_seen_t;

static int
s_collect (const zcq_event_t *event, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    assert_true (seen->count < 8);
    snprintf (seen->types [seen->count], 64, "%s", event->type);
    seen->schemas [seen->count] = event->schema;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *event->data);
    seen->json [seen->count] = zcq_json_from_msgpack (buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    seen->position = event->position;
    seen->count++;
    return 0;
}

static void
s_seen_free (s_seen_t *seen)
{
    for (size_t index = 0; index < seen->count; index++) {
        zstr_free (&seen->json [index]);
    }
    seen->count = 0;
}

//  A stored EVENT at position 7 of stream "c-1" with this data (a packed
//  map from zcq_testkit_map; takes ownership of it).
static zcq_msg_t *
s_stored (const char *type, uint32_t schema, msgpack_sbuffer *data)
{
    zcq_msg_t *event = zcq_msg_new (ZCQ_MSG_EVENT);
    zcq_msg_set_position (event, 7);
    zcq_msg_set_stream (event, "c-1");
    zcq_msg_set_version (event, 3);
    zcq_msg_set_name (event, type);
    zcq_msg_set_schema (event, schema);
    zcq_msg_set_data (event, data->data, data->size);
    msgpack_sbuffer_free (data);
    //  As it comes off the disk or the wire: encoded, then decoded
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    assert_int_equal (zcq_msg_encode_body (event, &body), 0);
    zcq_msg_destroy (&event);
    event = zcq_msg_decode_body (ZCQ_MSG_EVENT, body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    assert_true (zcq_msg_valid (event));
    return event;
}

static const zcq_domain_t *
s_customer_v2 (void)
{
    char *path = zcq_testkit_build_file ("libzcq_customer_v2.so");
    char *error = NULL;
    const zcq_domain_t *domain = zcq_domain_load (path, &error);
    if (!domain) {
        fail_msg ("%s", error);
    }
    free (path);
    return domain;
}

//  Upcast one stored event with the v2 domain into seen.
static void
s_upcast (zcq_msg_t **event_p, s_seen_t *seen)
{
    zcq_upcast_t *upcast = zcq_upcast_new (s_customer_v2 ());
    int rc = zcq_upcast_msg (upcast, *event_p, s_collect, seen);
    if (rc != 0) {
        fail_msg ("upcast failed: %s", zcq_upcast_error (upcast));
    }
    zcq_upcast_destroy (&upcast);
    zcq_msg_destroy (event_p);
}

static void
test_field_added_with_its_default (void **unused)
{
    (void) unused;
    s_seen_t seen = {0};
    zcq_msg_t *event = s_stored ("CreditAdded", 1, zcq_testkit_map ("amount=5", NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 1);
    assert_string_equal (seen.types [0], "CreditAdded");
    assert_int_equal (seen.schemas [0], 2);
    assert_string_equal (seen.json [0], "{\"amount\":5,\"currency\":\"EUR\"}");
    assert_int_equal (seen.position, 7);
    s_seen_free (&seen);
}

static void
test_field_renamed (void **unused)
{
    (void) unused;
    s_seen_t seen = {0};
    zcq_msg_t *event = s_stored ("CustomerRenamed", 1, zcq_testkit_map ("name=Alicia", NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 1);
    assert_int_equal (seen.schemas [0], 2);
    assert_string_equal (seen.json [0], "{\"full_name\":\"Alicia\"}");
    s_seen_free (&seen);
}

static void
test_event_split_in_two (void **unused)
{
    (void) unused;
    s_seen_t seen = {0};
    zcq_msg_t *event = s_stored ("CustomerRegistered", 1,
                                 zcq_testkit_map ("name=Alice", "email=a@x.org", NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 2);
    assert_string_equal (seen.types [0], "CustomerRegistered");
    assert_int_equal (seen.schemas [0], 2);
    assert_string_equal (seen.json [0], "{\"name\":\"Alice\"}");
    //  A type born from the split starts at version 1
    assert_string_equal (seen.types [1], "EmailChanged");
    assert_int_equal (seen.schemas [1], 1);
    assert_string_equal (seen.json [1], "{\"email\":\"a@x.org\"}");
    assert_int_equal (seen.position, 7);
    s_seen_free (&seen);
}

static void
test_obsolete_event_dropped (void **unused)
{
    (void) unused;
    s_seen_t seen = {0};
    zcq_msg_t *event = s_stored ("CustomerPinged", 1, zcq_testkit_map (NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 0);
}

static void
test_current_and_newer_pass_as_they_are (void **unused)
{
    (void) unused;
    s_seen_t seen = {0};
    //  Already at v2: not upcast again (no second "currency")
    zcq_msg_t *event =
        s_stored ("CreditAdded", 2, zcq_testkit_map ("amount=5", "currency=USD", NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 1);
    assert_int_equal (seen.schemas [0], 2);
    assert_string_equal (seen.json [0], "{\"amount\":5,\"currency\":\"USD\"}");
    s_seen_free (&seen);
    //  Written by a newer domain: given as it is, with its version
    event = s_stored ("CreditAdded", 3, zcq_testkit_map ("amount=5", "rate=2", NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 1);
    assert_int_equal (seen.schemas [0], 3);
    assert_string_equal (seen.json [0], "{\"amount\":5,\"rate\":2}");
    s_seen_free (&seen);
    //  Hidden by its stream's deletion: nothing to raise, given as it is
    event = s_stored ("CustomerRegistered", 1, zcq_testkit_map (NULL));
    zcq_msg_set_deleted (event, 9);
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 1);
    assert_int_equal (seen.schemas [0], 1);
    assert_string_equal (seen.json [0], "{}");
    s_seen_free (&seen);
    //  A type the domain never versioned
    event = s_stored ("EmailChanged", 1, zcq_testkit_map ("email=b@x.org", NULL));
    s_upcast (&event, &seen);
    assert_int_equal (seen.count, 1);
    assert_int_equal (seen.schemas [0], 1);
    s_seen_free (&seen);
}

//  --- The registry's rules, and upcasters that misbehave --------------------------

//  Emits itself at the same version: would never end.
static void
s_upcast_loops (const zcq_event_t *event, zcq_decision_t *out)
{
    msgpack_pack_map (zcq_decision_emit_schema (out, event->type, event->schema), 0);
}

static void
s_upcast_not_a_map (const zcq_event_t *event, zcq_decision_t *out)
{
    msgpack_pack_array (zcq_decision_emit (out, event->type), 0);
}

static void
s_upcast_refuses (const zcq_event_t *event, zcq_decision_t *out)
{
    zcq_decision_invalid (out, "cannot read %s", event->type);
}

static void
s_upcast_fine (const zcq_event_t *event, zcq_decision_t *out)
{
    msgpack_pack_map (zcq_decision_emit (out, event->type), 0);
}

//  A domain of this test with these schemas and upcasters: the bank's
//  functions under another name.
static zcq_domain_t
s_domain (const char *name, const zcq_event_schema_t *schemas, const zcq_upcaster_t *upcasters)
{
    zcq_domain_t domain = *zcq_bank_domain ();
    domain.abi = ZCQ_DOMAIN_ABI;
    domain.name = name;
    domain.event_schemas = schemas;
    domain.upcasters = upcasters;
    return domain;
}

static void
test_registry_refuses_missing_or_stray_upcasters (void **unused)
{
    (void) unused;
    static const zcq_event_schema_t at_three [] = {{"Thing", 3}, {NULL, 0}};
    static const zcq_upcaster_t from_one [] = {{"Thing", 1, s_upcast_fine}, {NULL, 0, NULL}};
    static const zcq_upcaster_t both [] = {
        {"Thing", 1, s_upcast_fine}, {"Thing", 2, s_upcast_fine}, {NULL, 0, NULL}};
    static const zcq_upcaster_t stray [] = {{"Thing", 1, s_upcast_fine},
                                            {"Thing", 2, s_upcast_fine},
                                            {"Thing", 3, s_upcast_fine},
                                            {NULL, 0, NULL}};
    static const zcq_upcaster_t twice [] = {{"Thing", 1, s_upcast_fine},
                                            {"Thing", 1, s_upcast_fine},
                                            {"Thing", 2, s_upcast_fine},
                                            {NULL, 0, NULL}};
    static const zcq_upcaster_t no_function [] = {
        {"Thing", 1, s_upcast_fine}, {"Thing", 2, NULL}, {NULL, 0, NULL}};
    static zcq_domain_t gap, extra, repeated, empty, complete;
    gap = s_domain ("upcast-gap", at_three, from_one);
    extra = s_domain ("upcast-extra", at_three, stray);
    repeated = s_domain ("upcast-twice", at_three, twice);
    empty = s_domain ("upcast-null", at_three, no_function);
    complete = s_domain ("upcast-complete", at_three, both);
    assert_int_equal (zcq_domain_register (&gap), -1);
    assert_int_equal (zcq_domain_register (&extra), -1);
    assert_int_equal (zcq_domain_register (&repeated), -1);
    assert_int_equal (zcq_domain_register (&empty), -1);
    assert_int_equal (zcq_domain_register (&complete), 0);
    assert_int_equal (zcq_domain_event_schema (&complete, "Thing"), 3);
    assert_int_equal (zcq_domain_event_schema (&complete, "Other"), 1);
    assert_int_equal (zcq_domain_projection_version (&complete), 1);
    //  An ABI-2 domain has no schema fields at all: every type at 1
    complete.abi = 2;
    assert_int_equal (zcq_domain_event_schema (&complete, "Thing"), 1);
    assert_null (zcq_domain_upcaster (&complete, "Thing", 1));
}

//  Upcast a Thing at schema 1 with one upcaster; expect -1 and this error.
static void
s_upcast_fails (zcq_upcaster_fn *upcaster, const char *error)
{
    static const zcq_event_schema_t at_two [] = {{"Thing", 2}, {NULL, 0}};
    zcq_upcaster_t upcasters [] = {{"Thing", 1, upcaster}, {NULL, 0, NULL}};
    zcq_domain_t domain = s_domain ("upcast-bad", at_two, upcasters);
    zcq_upcast_t *upcast = zcq_upcast_new (&domain);
    zcq_msg_t *event = s_stored ("Thing", 1, zcq_testkit_map (NULL));
    s_seen_t seen = {0};
    assert_int_equal (zcq_upcast_msg (upcast, event, s_collect, &seen), -1);
    assert_int_equal (seen.count, 0);
    if (!strstr (zcq_upcast_error (upcast), error)) {
        fail_msg ("error '%s' does not say '%s'", zcq_upcast_error (upcast), error);
    }
    zcq_msg_destroy (&event);
    zcq_upcast_destroy (&upcast);
}

static void
test_misbehaving_upcasters_are_named (void **unused)
{
    (void) unused;
    s_upcast_fails (s_upcast_loops, "went more than 32 versions up");
    s_upcast_fails (s_upcast_not_a_map, "with data that is not a map");
    s_upcast_fails (s_upcast_refuses, "refused event 7: cannot read Thing");
}

//  --- A cluster at v1, then at v2 on the same log ----------------------------------

//  Start the write node with a customer domain .so.
static void
s_start_write (zcq_testkit_cluster_t *cluster, const char *so)
{
    char *domain = zcq_testkit_build_file (so);
    assert_int_equal (zcq_testkit_cluster_start_write (cluster, domain, NULL, NULL), 0);
    free (domain);
}

//  Start query node 0 with a customer domain .so on data folder "query-N";
//  it holds each batch of events delay_ms before applying it (the node's
//  fault seam; "0": off).
static void
s_start_query (zcq_testkit_cluster_t *cluster, const char *so, int folder, const char *delay_ms)
{
    char *domain = zcq_testkit_build_file (so);
    assert_int_equal (zcq_testkit_cluster_start_query (cluster, 0, folder, domain,
                                                       "--fault-apply-delay-ms", delay_ms),
                      0);
    free (domain);
}

static void
s_start (zcq_testkit_cluster_t *cluster, const char *so, int query_folder)
{
    s_start_write (cluster, so);
    s_start_query (cluster, so, query_folder, "0");
}

static void
s_stop (zcq_testkit_cluster_t *cluster)
{
    assert_int_equal (zcq_testkit_cluster_stop (cluster), 0);
}

//  Send a command to stream "c-1" with this data (a packed map from
//  zcq_testkit_map; takes ownership); check its status, return its position.
static uint64_t
s_send (zcq_testkit_cluster_t *cluster, zcq_status_t status, const char *type,
        msgpack_sbuffer *data)
{
    zcq_msg_t *reply = zcq_client_send (cluster->client, type, "c-1", ZCQ_EXPECT_ANY,
                                        data->data, data->size, WAIT);
    msgpack_sbuffer_free (data);
    assert_non_null (reply);
    if (zcq_msg_status (reply) != status) {
        fail_msg ("%s: got %s (%s), wanted %s", type, zcq_status_name (zcq_msg_status (reply)),
                  zcq_msg_reason (reply), zcq_status_name (status));
    }
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

//  The customer query's answer as JSON, at least at position.
static char *
s_customer (zcq_testkit_cluster_t *cluster, uint64_t position)
{
    msgpack_sbuffer *params = zcq_testkit_map ("id=c-1", NULL);
    zcq_msg_t *result = zcq_client_query (cluster->client, 0, "customer", params->data,
                                          params->size, position, WAIT);
    msgpack_sbuffer_free (params);
    assert_non_null (result);
    assert_int_equal (zcq_msg_status (result), ZCQ_OK);
    char *json = zcq_json_from_msgpack (zcq_msg_data (result), zcq_msg_data_size (result));
    zcq_msg_destroy (&result);
    return json;
}

//  A cluster at v1 (query data folder "query-1") where Alice registered.
static void
s_cluster_at_v1 (zcq_testkit_cluster_t *cluster)
{
    zcq_testkit_cluster_init (cluster, "upcast");
    s_start (cluster, "libzcq_customer_v1.so", 1);
    s_send (cluster, ZCQ_ACCEPTED, "Register",
            zcq_testkit_map ("name=Alice", "email=a@x.org", NULL));
}

static void
test_v2_reads_the_v1_log (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster_at_v1 (&cluster); //  version 1 writes its log
    s_send (&cluster, ZCQ_ACCEPTED, "Rename", zcq_testkit_map ("name=Alicia", NULL));
    s_send (&cluster, ZCQ_ACCEPTED, "AddCredit", zcq_testkit_map ("amount=5", NULL));
    uint64_t position = s_send (&cluster, ZCQ_ACCEPTED, "Ping", zcq_testkit_map (NULL));
    assert_int_equal (position, 4);
    char *json = s_customer (&cluster, position);
    assert_string_equal (json, "{\"name\":\"Alicia\",\"email\":\"a@x.org\",\"credit\":5,"
                               "\"pings\":1,\"version\":4}");
    zstr_free (&json);
    s_stop (&cluster);

    //  Version 2 on the same write log; its query node folds the log anew
    s_start (&cluster, "libzcq_customer_v2.so", 2);
    //  The dropped CustomerPinged (version 4) never reaches project
    json = s_customer (&cluster, position);
    assert_string_equal (json, "{\"name\":\"Alicia\",\"email\":\"a@x.org\",\"credit\":5,"
                               "\"currency\":\"EUR\",\"version\":3}");
    zstr_free (&json);
    //  The write node's states come from the upcast v1 events: registered
    s_send (&cluster, ZCQ_REJECTED, "Register",
            zcq_testkit_map ("name=Bob", "email=b@x.org", NULL));
    s_send (&cluster, ZCQ_UNKNOWN_TYPE, "Ping", zcq_testkit_map (NULL));
    s_send (&cluster, ZCQ_ACCEPTED, "AddCredit",
            zcq_testkit_map ("amount=2", "currency=USD", NULL));
    position = s_send (&cluster, ZCQ_ACCEPTED, "ChangeEmail",
                       zcq_testkit_map ("email=alicia@x.org", NULL));
    assert_int_equal (position, 6);
    json = s_customer (&cluster, position);
    assert_string_equal (json, "{\"name\":\"Alicia\",\"email\":\"alicia@x.org\",\"credit\":7,"
                               "\"currency\":\"USD\",\"version\":6}");
    zstr_free (&json);

    //  REPLAY gives the events as stored: v1's at schema 1 with their v1
    //  data (nothing was rewritten), v2's at the schema v2 declares
    zcq_msg_t *events = zcq_testkit_replay (cluster.replay, 1);
    assert_non_null (events);
    assert_int_equal (zcq_msg_event_count (events), 6);
    zcq_msg_t *first = zcq_testkit_event (events, 0);
    assert_non_null (first);
    assert_string_equal (zcq_msg_name (first), "CustomerRegistered");
    assert_int_equal (zcq_msg_schema (first), 1);
    json = zcq_json_from_msgpack (zcq_msg_data (first), zcq_msg_data_size (first));
    assert_string_equal (json, "{\"name\":\"Alice\",\"email\":\"a@x.org\"}");
    zstr_free (&json);
    zcq_msg_t *credit = zcq_testkit_event (events, 4);
    assert_non_null (credit);
    assert_string_equal (zcq_msg_name (credit), "CreditAdded");
    assert_int_equal (zcq_msg_schema (credit), 2);
    zcq_msg_t *email = zcq_testkit_event (events, 5);
    assert_non_null (email);
    assert_string_equal (zcq_msg_name (email), "EmailChanged");
    assert_int_equal (zcq_msg_schema (email), 1);

    //  A client with the v2 .so upcasts what it replayed, as the nodes do
    s_seen_t seen = {0};
    zcq_upcast_t *upcast = zcq_upcast_new (s_customer_v2 ());
    assert_int_equal (zcq_upcast_msg (upcast, first, s_collect, &seen), 0);
    assert_int_equal (seen.count, 2);
    assert_string_equal (seen.types [1], "EmailChanged");
    assert_int_equal (seen.position, 1);
    s_seen_free (&seen);
    assert_int_equal (zcq_upcast_msg (upcast, credit, s_collect, &seen), 0);
    assert_string_equal (seen.json [0], "{\"currency\":\"USD\",\"amount\":2}");
    s_seen_free (&seen);
    zcq_upcast_destroy (&upcast);
    zcq_msg_destroy (&first);
    zcq_msg_destroy (&credit);
    zcq_msg_destroy (&email);
    zcq_msg_destroy (&events);

    s_stop (&cluster);
    zcq_testkit_cluster_destroy (&cluster);
}

//  Send count AddCredit {amount 1} to "c-1", up to 500 at a time in flight.
//  Returns the position of the last.
static uint64_t
s_credits (zcq_testkit_cluster_t *cluster, int count)
{
    msgpack_sbuffer *data = zcq_testkit_map ("amount=1", NULL);
    uint64_t head = 0;
    int sent = 0, received = 0;
    while (received < count) {
        for (; sent < count && sent - received < 500; sent++) {
            zcq_msg_t *command =
                zcq_client_command ("AddCredit", "c-1", ZCQ_EXPECT_ANY, data->data, data->size);
            assert_int_equal (zcq_client_post (cluster->client, command), 0);
            zcq_msg_destroy (&command);
        }
        zcq_msg_t *reply = zcq_client_recv_reply (cluster->client, WAIT);
        assert_non_null (reply);
        assert_int_equal (zcq_msg_status (reply), ZCQ_ACCEPTED);
        head = zcq_msg_position (reply) > head ? zcq_msg_position (reply) : head;
        zcq_msg_destroy (&reply);
        received++;
    }
    msgpack_sbuffer_free (data);
    return head;
}

//  The query node's status: whether a rebuild runs and the serving models'
//  projection version.
static bool
s_rebuilding (zcq_testkit_cluster_t *cluster, int64_t *version)
{
    zcq_msg_t *status = zcq_client_query (cluster->client, 0, "status", NULL, 0, 0, WAIT);
    assert_non_null (status);
    assert_int_equal (zcq_msg_status (status), ZCQ_OK);
    msgpack_unpacked map;
    zcq_testkit_unpack (zcq_msg_data (status), zcq_msg_data_size (status), &map);
    bool rebuilding = zcq_map_get (&map.data, "rebuild") != NULL;
    msgpack_unpacked_destroy (&map);
    *version = zcq_testkit_int (zcq_msg_data (status), zcq_msg_data_size (status),
                                "projection_version");
    zcq_msg_destroy (&status);
    return rebuilding;
}

static void
test_new_projection_version_rebuilds_while_answering (void **unused)
{
    (void) unused;
    zcq_testkit_cluster_t cluster;
    s_cluster_at_v1 (&cluster);
    uint64_t head = s_credits (&cluster, 20000);
    const char *v1 = "{\"name\":\"Alice\",\"email\":\"a@x.org\",\"credit\":20000,"
                     "\"pings\":0,\"version\":20001}";
    const char *v2 = "{\"name\":\"Alice\",\"email\":\"a@x.org\",\"credit\":20000,"
                     "\"currency\":\"EUR\",\"version\":20001}";
    char *json = s_customer (&cluster, head);
    assert_string_equal (json, v1);
    zstr_free (&json);
    int64_t version = 0;
    assert_false (s_rebuilding (&cluster, &version));
    assert_int_equal (version, 1);

    //  Rolling upgrade, query node first, on the folder v1 built: it
    //  rebuilds by itself, and the v1 models answer until it switches. Each
    //  batch of the rebuild is held 300 ms, so that it is seen running
    assert_int_equal (zcq_testkit_stop (&cluster.query [0]), 0);
    s_start_query (&cluster, "libzcq_customer_v2.so", 1, "300");
    bool switched = false;
    int old_answers = 0; //  answered from the v1 models while the rebuild ran
    int64_t deadline = zclock_mono () + 4 * WAIT;
    while (!switched && zclock_mono () < deadline) {
        bool rebuilding = s_rebuilding (&cluster, &version);
        json = s_customer (&cluster, head);
        if (rebuilding) {
            //  Whole answers from the models v1 built (v2's query reads them
            //  with its defaults), never from half-built ones
            assert_int_equal (version, 1);
            assert_string_equal (json, v2);
            old_answers++;
        }
        else {
            //  The rebuild starts before the node answers: not running means done
            assert_int_equal (version, 2);
            assert_string_equal (json, v2);
            switched = true;
        }
        zstr_free (&json);
    }
    assert_true (switched);
    //  Each of the rebuild's batches was held 300 ms: queries came in between
    print_message ("%d answers from the v1 models while the rebuild ran\n", old_answers);
    assert_true (old_answers > 0);
    assert_true (zcq_testkit_file_has (cluster.query [0].log, "rebuilding them beside"));
    assert_true (zcq_testkit_file_has (cluster.query [0].log, "projection version 2"));
    //  Restarted, it keeps the models v2 built: no second rebuild
    assert_int_equal (zcq_testkit_stop (&cluster.query [0]), 0);
    s_start_query (&cluster, "libzcq_customer_v2.so", 1, "0");
    assert_false (s_rebuilding (&cluster, &version));
    assert_int_equal (version, 2);
    json = s_customer (&cluster, head);
    assert_string_equal (json, v2);
    zstr_free (&json);
    s_stop (&cluster);
    zcq_testkit_cluster_destroy (&cluster);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_field_added_with_its_default),
        cmocka_unit_test (test_field_renamed),
        cmocka_unit_test (test_event_split_in_two),
        cmocka_unit_test (test_obsolete_event_dropped),
        cmocka_unit_test (test_current_and_newer_pass_as_they_are),
        cmocka_unit_test (test_registry_refuses_missing_or_stray_upcasters),
        cmocka_unit_test (test_misbehaving_upcasters_are_named),
        cmocka_unit_test (test_v2_reads_the_v1_log),
        cmocka_unit_test (test_new_projection_version_rebuilds_while_answering),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    zcq_testkit_cleanup ();
    return failed;
}
