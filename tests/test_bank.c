/*  =========================================================================
    test_bank - the bank domain: decide on fresh and folded state, every
    rule and every malformed input, projections into a real view over a
    real store, and queries through zcq_result
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define STREAM "account-42"

//  --- Deciding ----------------------------------------------------------------

//  Decide one command on STREAM; takes ownership of data (a packed map).
static zcq_decision_t *
s_decide (const void *state, const char *type, msgpack_sbuffer *data)
{
    return zcq_testkit_decide (zcq_bank_domain (), state, type, STREAM, data);
}

//  Fold the events of a decision into state, as the write node does.
static void
s_evolve (void *state, zcq_decision_t *decision)
{
    for (size_t index = 0; index < zcq_decision_count (decision); index++) {
        size_t size;
        const byte *data = zcq_decision_event_data (decision, index, &size);
        msgpack_unpacked unpacked;
        zcq_testkit_unpack (data, size, &unpacked);
        zcq_event_t event = {zcq_decision_event_type (decision, index),
                             STREAM,
                             index + 1,
                             index + 1,
                             0,
                             &unpacked.data,
                             1};
        zcq_bank_domain ()->evolve (state, &event);
        msgpack_unpacked_destroy (&unpacked);
    }
}

//  Decide a command and fold what it emits; returns its status.
static zcq_status_t
s_run (void *state, const char *type, msgpack_sbuffer *data)
{
    zcq_decision_t *decision = s_decide (state, type, data);
    zcq_status_t status = zcq_decision_status (decision);
    s_evolve (state, decision);
    zcq_decision_destroy (&decision);
    return status;
}

//  Expect a command to be refused with this status and reason.
static void
s_refused (void *state, const char *type, msgpack_sbuffer *data, zcq_status_t status,
           const char *reason)
{
    zcq_decision_t *decision = s_decide (state, type, data);
    assert_string_equal (zcq_status_name (zcq_decision_status (decision)),
                         zcq_status_name (status));
    assert_string_equal (zcq_decision_reason (decision), reason);
    assert_int_equal (zcq_decision_count (decision), 0);
    zcq_decision_destroy (&decision);
}

//  A fresh account state, opened with this balance.
static void *
s_account (int64_t balance)
{
    void *state = zcq_bank_domain ()->state_new ();
    assert_int_equal (s_run (state, "OpenAccount", zcq_testkit_map ("owner=alice", NULL)),
                      ZCQ_ACCEPTED);
    if (balance > 0) {
        char amount [32];
        snprintf (amount, sizeof amount, "amount=%" PRId64, balance);
        assert_int_equal (s_run (state, "Deposit", zcq_testkit_map (amount, NULL)),
                          ZCQ_ACCEPTED);
    }
    return state;
}

static void
test_open_account_on_fresh_state (void **unused)
{
    (void) unused;
    const zcq_domain_t *bank = zcq_bank_domain ();
    void *state = bank->state_new ();
    zcq_decision_t *decision =
        s_decide (state, "OpenAccount", zcq_testkit_map ("owner=alice", NULL));
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_string_equal (zcq_decision_reason (decision), "");
    assert_int_equal (zcq_decision_count (decision), 1);
    assert_string_equal (zcq_decision_event_type (decision, 0), "AccountOpened");
    size_t size;
    const byte *data = zcq_decision_event_data (decision, 0, &size);
    char *owner = zcq_testkit_str (data, size, "owner");
    assert_string_equal (owner, "alice");
    free (owner);
    zcq_decision_destroy (&decision);
    bank->state_destroy (state);
}

static void
test_money_moves_then_account_closes (void **unused)
{
    (void) unused;
    void *state = s_account (500);
    zcq_decision_t *decision =
        s_decide (state, "Withdraw", zcq_testkit_map ("amount=200", NULL));
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_string_equal (zcq_decision_event_type (decision, 0), "MoneyWithdrawn");
    size_t size;
    const byte *data = zcq_decision_event_data (decision, 0, &size);
    assert_int_equal (zcq_testkit_int (data, size, "amount"), 200);
    s_evolve (state, decision);
    zcq_decision_destroy (&decision);

    //  Balance is 300 now: all of it can go, then the account can close
    assert_int_equal (s_run (state, "Withdraw", zcq_testkit_map ("amount=300", NULL)),
                      ZCQ_ACCEPTED);
    decision = s_decide (state, "CloseAccount", zcq_testkit_map (NULL));
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_string_equal (zcq_decision_event_type (decision, 0), "AccountClosed");
    data = zcq_decision_event_data (decision, 0, &size);
    assert_memory_equal (data, "\x80", 1); //  an empty map
    zcq_decision_destroy (&decision);
    zcq_bank_domain ()->state_destroy (state);
}

static void
test_rules_reject_with_numbers (void **unused)
{
    (void) unused;
    void *fresh = zcq_bank_domain ()->state_new ();
    s_refused (fresh, "Deposit", zcq_testkit_map ("amount=5", NULL), ZCQ_REJECTED,
               "account 'account-42' does not exist");
    s_refused (fresh, "Withdraw", zcq_testkit_map ("amount=5", NULL), ZCQ_REJECTED,
               "account 'account-42' does not exist");
    s_refused (fresh, "CloseAccount", zcq_testkit_map (NULL), ZCQ_REJECTED,
               "account 'account-42' does not exist");
    zcq_bank_domain ()->state_destroy (fresh);

    void *state = s_account (100);
    //  A field the command does not take is named, not dropped
    s_refused (state, "Deposit", zcq_testkit_map ("amount=5", "extra=zzz", NULL), ZCQ_INVALID,
               "unknown field 'extra' (it takes amount)");
    s_refused (state, "CloseAccount", zcq_testkit_map ("force=true", NULL), ZCQ_INVALID,
               "unknown field 'force' (it takes none)");
    s_refused (state, "OpenAccount", zcq_testkit_map ("owner=bob", "x=1", NULL), ZCQ_INVALID,
               "unknown field 'x' (it takes owner)");
    s_refused (state, "OpenAccount", zcq_testkit_map ("owner=bob", NULL), ZCQ_REJECTED,
               "account 'account-42' already exists");
    s_refused (state, "Withdraw", zcq_testkit_map ("amount=500", NULL), ZCQ_REJECTED,
               "insufficient funds: balance 100, withdrawal 500");
    s_refused (state, "CloseAccount", zcq_testkit_map (NULL), ZCQ_REJECTED,
               "cannot close account 'account-42' with balance 100");
    zcq_bank_domain ()->state_destroy (state);

    state = s_account (0);
    assert_int_equal (s_run (state, "CloseAccount", zcq_testkit_map (NULL)), ZCQ_ACCEPTED);
    s_refused (state, "Deposit", zcq_testkit_map ("amount=5", NULL), ZCQ_REJECTED,
               "account 'account-42' is closed");
    s_refused (state, "Withdraw", zcq_testkit_map ("amount=5", NULL), ZCQ_REJECTED,
               "account 'account-42' is closed");
    s_refused (state, "CloseAccount", zcq_testkit_map (NULL), ZCQ_REJECTED,
               "account 'account-42' is closed");
    s_refused (state, "OpenAccount", zcq_testkit_map ("owner=alice", NULL), ZCQ_REJECTED,
               "account 'account-42' already exists");
    zcq_bank_domain ()->state_destroy (state);
}

static void
test_balance_cannot_overflow (void **unused)
{
    (void) unused;
    void *state = s_account (INT64_MAX);
    s_refused (state, "Deposit", zcq_testkit_map ("amount=1", NULL), ZCQ_REJECTED,
               "deposit of 1 would overflow balance 9223372036854775807");
    assert_int_equal (s_run (state, "Withdraw", zcq_testkit_map ("amount=1", NULL)),
                      ZCQ_ACCEPTED);
    assert_int_equal (s_run (state, "Deposit", zcq_testkit_map ("amount=1", NULL)),
                      ZCQ_ACCEPTED);
    zcq_bank_domain ()->state_destroy (state);
}

static void
test_malformed_data_is_invalid (void **unused)
{
    (void) unused;
    void *state = s_account (100);
    s_refused (state, "Deposit", zcq_testkit_map (NULL), ZCQ_INVALID,
               "field 'amount' is missing");
    s_refused (state, "Deposit", zcq_testkit_map ("amount=-5", NULL), ZCQ_INVALID,
               "field 'amount' must be a positive integer, got -5");
    s_refused (state, "Withdraw", zcq_testkit_map ("amount=0", NULL), ZCQ_INVALID,
               "field 'amount' must be a positive integer, got 0");
    s_refused (state, "Withdraw", zcq_testkit_map ("amount=ten", NULL), ZCQ_INVALID,
               "field 'amount' must be a positive integer, got a string");
    s_refused (state, "Deposit", zcq_testkit_map ("amount:=5", NULL), ZCQ_INVALID,
               "field 'amount' must be a positive integer, got a string");

    //  Bigger than any int64 balance can hold
    msgpack_sbuffer *huge = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, huge, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 1);
    zcq_mpack_pack_str (&packer, "amount");
    msgpack_pack_uint64 (&packer, (uint64_t) INT64_MAX + 1);
    s_refused (state, "Deposit", huge, ZCQ_INVALID,
               "field 'amount' must be a positive integer, got 9223372036854775808");
    zcq_bank_domain ()->state_destroy (state);

    //  Malformed data is invalid before any rule is looked at
    void *fresh = zcq_bank_domain ()->state_new ();
    s_refused (fresh, "Deposit", zcq_testkit_map ("amount=-5", NULL), ZCQ_INVALID,
               "field 'amount' must be a positive integer, got -5");
    s_refused (fresh, "OpenAccount", zcq_testkit_map (NULL), ZCQ_INVALID,
               "field 'owner' is missing");
    s_refused (fresh, "OpenAccount", zcq_testkit_map ("owner=42", NULL), ZCQ_INVALID,
               "field 'owner' must be a string, got 42");
    s_refused (fresh, "OpenAccount", zcq_testkit_map ("owner:=", NULL), ZCQ_INVALID,
               "field 'owner' must not be empty");
    char owner [140] = "owner=";
    memset (owner + 6, 'x', 129);
    owner [135] = 0;
    s_refused (fresh, "OpenAccount", zcq_testkit_map (owner, NULL), ZCQ_INVALID,
               "field 'owner' must be at most 128 bytes, got 129");
    owner [134] = 0;
    assert_int_equal (s_run (fresh, "OpenAccount", zcq_testkit_map (owner, NULL)),
                      ZCQ_ACCEPTED);
    zcq_bank_domain ()->state_destroy (fresh);
}

static void
test_evolve_ignores_strangers (void **unused)
{
    (void) unused;
    void *state = s_account (100);
    msgpack_sbuffer *data = zcq_testkit_map ("amount=100", NULL);
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (data->data, data->size, &unpacked);
    zcq_event_t event = {"MoneyVanished", STREAM, 3, 3, 0, &unpacked.data, 1};
    zcq_bank_domain ()->evolve (state, &event);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (data);
    //  Still 100: all of it can be withdrawn, and no more
    s_refused (state, "Withdraw", zcq_testkit_map ("amount=101", NULL), ZCQ_REJECTED,
               "insufficient funds: balance 100, withdrawal 101");
    zcq_bank_domain ()->state_destroy (state);
}

//  --- Read models -------------------------------------------------------------

typedef zcq_testkit_models_t s_fixture_t; //  real store, view, position

//  Project one event and commit it to the store, as a query node does.
//  Takes ownership of data.
static void
s_project (s_fixture_t *fixture, const char *stream, uint64_t version, const char *type,
           msgpack_sbuffer *data)
{
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (data->data, data->size, &unpacked);
    zcq_event_t event = {type,           stream, version, ++fixture->position, 1700000000000000,
                         &unpacked.data, 1};
    assert_int_equal (zcq_bank_domain ()->project (fixture->view, &event), 0);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (fixture->view, batch);
    assert_int_equal (zcq_store_write (fixture->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (data);
}

//  Ask a query; takes ownership of params. Caller destroys the answer.
static zcq_result_t *
s_query (s_fixture_t *fixture, const char *name, msgpack_sbuffer *params)
{
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (params->data, params->size, &unpacked);
    zcq_result_t *answer = zcq_result_new ();
    zcq_bank_domain ()->query (fixture->view, name, &unpacked.data, answer);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (params);
    return answer;
}

//  Open, fund and close a few accounts of alice and bob.
static void
s_populate (s_fixture_t *fixture)
{
    s_project (fixture, "account-1", 1, "AccountOpened", zcq_testkit_map ("owner=alice", NULL));
    s_project (fixture, "account-1", 2, "MoneyDeposited", zcq_testkit_map ("amount=500", NULL));
    s_project (fixture, "account-2", 1, "AccountOpened", zcq_testkit_map ("owner=bob", NULL));
    s_project (fixture, "account-1", 3, "MoneyWithdrawn", zcq_testkit_map ("amount=150", NULL));
    s_project (fixture, "account-10", 1, "AccountOpened",
               zcq_testkit_map ("owner=alice", NULL));
    s_project (fixture, "account-2", 2, "MoneyDeposited", zcq_testkit_map ("amount=70", NULL));
    s_project (fixture, "account-10", 2, "AccountClosed", zcq_testkit_map (NULL));
}

static void
test_events_in_one_batch_see_each_other (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  A query node projects several events before it commits their batch
    msgpack_sbuffer *opened = zcq_testkit_map ("owner=dave", NULL);
    msgpack_sbuffer *deposited = zcq_testkit_map ("amount=40", NULL);
    msgpack_unpacked first, second;
    zcq_testkit_unpack (opened->data, opened->size, &first);
    zcq_testkit_unpack (deposited->data, deposited->size, &second);
    zcq_event_t events [2] = {
        {"AccountOpened", "account-5", 1, 1, 0, &first.data, 1},
        {"MoneyDeposited", "account-5", 2, 2, 0, &second.data, 1},
    };
    assert_int_equal (zcq_bank_domain ()->project (fixture->view, &events [0]), 0);
    assert_int_equal (zcq_bank_domain ()->project (fixture->view, &events [1]), 0);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (fixture->view, batch);
    assert_int_equal (zcq_store_write (fixture->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    msgpack_unpacked_destroy (&first);
    msgpack_unpacked_destroy (&second);
    msgpack_sbuffer_free (opened);
    msgpack_sbuffer_free (deposited);

    zcq_result_t *answer = s_query (fixture, "account", zcq_testkit_map ("id=account-5", NULL));
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    assert_int_equal (zcq_testkit_int (data, size, "balance"), 40);
    assert_int_equal (zcq_testkit_int (data, size, "version"), 2);
    zcq_result_destroy (&answer);
}

static void
test_account_query_reads_the_projection (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_populate (fixture);
    zcq_result_t *answer = s_query (fixture, "account", zcq_testkit_map ("id=account-1", NULL));
    assert_int_equal (zcq_result_status (answer), ZCQ_OK);
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    char *text = zcq_testkit_str (data, size, "id");
    assert_string_equal (text, "account-1");
    free (text);
    text = zcq_testkit_str (data, size, "owner");
    assert_string_equal (text, "alice");
    free (text);
    text = zcq_testkit_str (data, size, "status");
    assert_string_equal (text, "open");
    free (text);
    assert_int_equal (zcq_testkit_int (data, size, "balance"), 350);
    assert_int_equal (zcq_testkit_int (data, size, "version"), 3);
    zcq_result_destroy (&answer);

    answer = s_query (fixture, "account", zcq_testkit_map ("id=account-10", NULL));
    data = zcq_result_data (answer, &size);
    text = zcq_testkit_str (data, size, "status");
    assert_string_equal (text, "closed");
    free (text);
    assert_int_equal (zcq_testkit_int (data, size, "version"), 2);
    zcq_result_destroy (&answer);
}

static void
test_accounts_by_owner_sorted_by_id (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_populate (fixture);
    zcq_result_t *answer =
        s_query (fixture, "accounts-by-owner", zcq_testkit_map ("owner=alice", NULL));
    assert_int_equal (zcq_result_status (answer), ZCQ_OK);
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    msgpack_unpacked result;
    zcq_testkit_unpack (data, size, &result);
    assert_int_equal (result.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (result.data.via.array.size, 2);
    const msgpack_object *first = &result.data.via.array.ptr [0];
    const msgpack_object *second = &result.data.via.array.ptr [1];
    const msgpack_object *id = zcq_map_get (first, "id");
    assert_memory_equal (id->via.str.ptr, "account-1", 9);
    assert_int_equal (zcq_map_get (first, "balance")->via.u64, 350);
    id = zcq_map_get (second, "id");
    assert_memory_equal (id->via.str.ptr, "account-10", 10);
    assert_memory_equal (zcq_map_get (second, "status")->via.str.ptr, "closed", 6);
    msgpack_unpacked_destroy (&result);
    zcq_result_destroy (&answer);

    //  Nobody's accounts: an empty array
    answer = s_query (fixture, "accounts-by-owner", zcq_testkit_map ("owner=carol", NULL));
    assert_int_equal (zcq_result_status (answer), ZCQ_OK);
    data = zcq_result_data (answer, &size);
    assert_int_equal (size, 1);
    assert_memory_equal (data, "\x90", 1);
    zcq_result_destroy (&answer);
}

static void
test_owner_index_keeps_owners_apart (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  "a" is a prefix of "a/b": the index must not mix them up
    s_project (fixture, "x", 1, "AccountOpened", zcq_testkit_map ("owner=a/b", NULL));
    s_project (fixture, "y", 1, "AccountOpened", zcq_testkit_map ("owner=a", NULL));
    zcq_result_t *answer =
        s_query (fixture, "accounts-by-owner", zcq_testkit_map ("owner=a", NULL));
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    msgpack_unpacked result;
    zcq_testkit_unpack (data, size, &result);
    assert_int_equal (result.data.via.array.size, 1);
    assert_memory_equal (zcq_map_get (&result.data.via.array.ptr [0], "id")->via.str.ptr, "y",
                         1);
    msgpack_unpacked_destroy (&result);
    zcq_result_destroy (&answer);
}

static void
test_totals_add_up (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    zcq_result_t *answer = s_query (fixture, "totals", zcq_testkit_map (NULL));
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    assert_int_equal (zcq_testkit_int (data, size, "accounts"), 0);
    assert_int_equal (zcq_testkit_int (data, size, "events"), 0);
    zcq_result_destroy (&answer);

    s_populate (fixture);
    //  Not a bank event: ignored, and not counted
    s_project (fixture, "account-1", 4, "Renamed", zcq_testkit_map ("owner=eve", NULL));
    answer = s_query (fixture, "totals", zcq_testkit_map (NULL));
    data = zcq_result_data (answer, &size);
    assert_int_equal (zcq_testkit_int (data, size, "accounts"), 3);
    assert_int_equal (zcq_testkit_int (data, size, "open_accounts"), 2);
    assert_int_equal (zcq_testkit_int (data, size, "balance"), 420);
    assert_int_equal (zcq_testkit_int (data, size, "events"), 7);
    zcq_result_destroy (&answer);
}

//  The integer field of a query's answer (param: one "field=value" or NULL).
static int64_t
s_answer_int (s_fixture_t *fixture, const char *name, const char *param, const char *field)
{
    zcq_result_t *answer = s_query (fixture, name, zcq_testkit_map (param, NULL));
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    int64_t value = zcq_testkit_int (data, size, field);
    zcq_result_destroy (&answer);
    return value;
}

//  Expect the string field of a query's answer to be text.
static void
s_answer_says (s_fixture_t *fixture, const char *name, const char *param, const char *field,
               const char *text)
{
    zcq_result_t *answer = s_query (fixture, name, zcq_testkit_map (param, NULL));
    size_t size;
    const byte *data = zcq_result_data (answer, &size);
    char *value = zcq_testkit_str (data, size, field);
    assert_string_equal (value, text);
    free (value);
    zcq_result_destroy (&answer);
}

//  The bytes msgpack-c packs for an account record.
static msgpack_sbuffer *
s_packed_account (const char *owner, int64_t balance, const char *status, uint64_t version)
{
    msgpack_sbuffer *buffer = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 4);
    zcq_mpack_pack_str (&packer, "owner");
    zcq_mpack_pack_str (&packer, owner);
    zcq_mpack_pack_str (&packer, "balance");
    msgpack_pack_int64 (&packer, balance);
    zcq_mpack_pack_str (&packer, "status");
    zcq_mpack_pack_str (&packer, status);
    zcq_mpack_pack_str (&packer, "version");
    msgpack_pack_uint64 (&packer, version);
    return buffer;
}

//  Expect the view to hold these bytes under key; takes ownership of them.
static void
s_holds (s_fixture_t *fixture, const char *key, msgpack_sbuffer *expected)
{
    byte *value;
    size_t size;
    assert_int_equal (zcq_view_get (fixture->view, key, &value, &size), 0);
    assert_int_equal (size, expected->size);
    assert_memory_equal (value, expected->data, size);
    free (value);
    msgpack_sbuffer_free (expected);
}

static void
test_records_pack_as_msgpack_c_does (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  The bank writes its records byte by byte: the same bytes as
    //  msgpack-c would pack (so the checksum of a node agrees with any
    //  other's), for integers at each boundary of msgpack's forms and for
    //  owners as a fixstr and as a str 8
    s_project (fixture, "a", 1, "AccountOpened", zcq_testkit_map ("owner=ann", NULL));
    s_project (fixture, "b", 1, "AccountOpened",
               zcq_testkit_map ("owner=an owner with more than thirty-one bytes", NULL));
    s_holds (fixture, "account/b",
             s_packed_account ("an owner with more than thirty-one bytes", 0, "open", 1));
    //  Stored again by a deposit: the owner as it was
    s_project (fixture, "b", 2, "MoneyDeposited", zcq_testkit_map ("amount=3", NULL));
    s_holds (fixture, "account/b",
             s_packed_account ("an owner with more than thirty-one bytes", 3, "open", 2));
    const int64_t balances [] = {127,   128,   255,        256,        65535,
                                 65536, 65537, 4294967295, 4294967296, INT64_MAX};
    int64_t balance = 0;
    uint64_t version = 1;
    for (size_t index = 0; index < sizeof balances / sizeof balances [0]; index++) {
        char amount [48];
        snprintf (amount, sizeof amount, "amount=%" PRId64, balances [index] - balance);
        balance = balances [index];
        s_project (fixture, "a", ++version, "MoneyDeposited", zcq_testkit_map (amount, NULL));
        s_holds (fixture, "account/a", s_packed_account ("ann", balance, "open", version));
    }
    s_project (fixture, "a", ++version, "AccountClosed", zcq_testkit_map (NULL));
    s_holds (fixture, "account/a", s_packed_account ("ann", balance, "closed", version));

    msgpack_sbuffer *totals = msgpack_sbuffer_new ();
    msgpack_packer packer;
    msgpack_packer_init (&packer, totals, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 4);
    zcq_mpack_pack_str (&packer, "accounts");
    msgpack_pack_uint64 (&packer, 2);
    zcq_mpack_pack_str (&packer, "open_accounts");
    msgpack_pack_uint64 (&packer, 1);
    zcq_mpack_pack_str (&packer, "balance");
    msgpack_pack_int64 (&packer, INT64_MAX);
    zcq_mpack_pack_str (&packer, "events");
    msgpack_pack_uint64 (&packer, version + 2); //  and b's two
    s_holds (fixture, "totals", totals);
}

//  Store a read model's bytes as another node (or a damaged disk) left them.
static void
s_put_record (s_fixture_t *fixture, const char *key, const char *bytes, size_t size)
{
    zcq_view_put (fixture->view, key, bytes, size);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (fixture->view, batch);
    assert_int_equal (zcq_store_write (fixture->store, batch, false), 0);
    zcq_view_written (fixture->view);
    zcq_batch_destroy (&batch);
}

#define S_PUT_RECORD(fixture, key, bytes) s_put_record (fixture, key, bytes, sizeof (bytes) - 1)

static void
test_records_in_another_layout_still_read (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  The bank reads its own layout in place; these are valid records in
    //  others (keys in another order, integers in wider forms, an owner
    //  as a str 8, totals without their events), read by the general path
    S_PUT_RECORD (fixture, "account/account-7",
                  "\x84\xa7version\xcf\0\0\0\0\0\0\0\x03\xa6status\xa4open"
                  "\xa7"
                  "balance\xcd\0\x64\xa5owner\xd9\x05"
                  "carol");
    S_PUT_RECORD (fixture, "totals",
                  "\x83\xa8"
                  "accounts\x01\xad"
                  "open_accounts\x01\xa7"
                  "balance\xce\0\0\0\x64");
    s_project (fixture, "account-7", 4, "MoneyDeposited", zcq_testkit_map ("amount=5", NULL));
    assert_int_equal (s_answer_int (fixture, "account", "id=account-7", "balance"), 105);
    assert_int_equal (s_answer_int (fixture, "account", "id=account-7", "version"), 4);
    s_answer_says (fixture, "account", "id=account-7", "owner", "carol");
    assert_int_equal (s_answer_int (fixture, "totals", NULL, "balance"), 105);
    assert_int_equal (s_answer_int (fixture, "totals", NULL, "events"), 1);

    //  Written back in the bank's own layout, and read in place from then on
    s_project (fixture, "account-7", 5, "AccountClosed", zcq_testkit_map (NULL));
    s_answer_says (fixture, "account", "id=account-7", "status", "closed");
    assert_int_equal (s_answer_int (fixture, "account", "id=account-7", "version"), 5);
    assert_int_equal (s_answer_int (fixture, "totals", NULL, "open_accounts"), 0);
    assert_int_equal (s_answer_int (fixture, "totals", NULL, "events"), 2);
}

//  Project one event that must fail on a damaged record.
static void
s_project_fails (s_fixture_t *fixture, const char *stream)
{
    msgpack_sbuffer *data = zcq_testkit_map ("amount=5", NULL);
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (data->data, data->size, &unpacked);
    zcq_event_t event = {"MoneyDeposited", stream, 2, ++fixture->position, 0,
                         &unpacked.data,   1};
    assert_int_equal (zcq_bank_domain ()->project (fixture->view, &event), -1);
    zcq_view_rollback (fixture->view);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (data);
}

static void
test_damaged_records_are_refused (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  The bank's own layout, each with one thing wrong: an owner that is
    //  not UTF-8, a status that is not a string, a negative balance, a
    //  byte too many; and a record cut short
    S_PUT_RECORD (fixture, "account/a",
                  "\x84\xa5owner\xa2\xff\xfe\xa7"
                  "balance\x01\xa6status\xa4open"
                  "\xa7version\x01");
    S_PUT_RECORD (fixture, "account/b",
                  "\x84\xa5owner\xa1x\xa7"
                  "balance\x01\xa6status\x01\xa7version\x01");
    S_PUT_RECORD (fixture, "account/c",
                  "\x84\xa5owner\xa1x\xa7"
                  "balance\xff\xa6status\xa4open\xa7version\x01");
    S_PUT_RECORD (fixture, "account/d",
                  "\x84\xa5owner\xa1x\xa7"
                  "balance\x01\xa6status\xa4open\xa7version\x01"
                  "\x01");
    S_PUT_RECORD (fixture, "account/e",
                  "\x84\xa5owner\xa1x\xa7"
                  "balance\xcd\x01");
    s_project_fails (fixture, "a");
    s_project_fails (fixture, "b");
    s_project_fails (fixture, "c");
    s_project_fails (fixture, "d");
    s_project_fails (fixture, "e");
    //  A sound record beside them projects
    S_PUT_RECORD (fixture, "account/f",
                  "\x84\xa5owner\xa1x\xa7"
                  "balance\x01\xa6status\xa4open\xa7version\x01");
    s_project (fixture, "f", 2, "MoneyDeposited", zcq_testkit_map ("amount=5", NULL));
    assert_int_equal (s_answer_int (fixture, "account", "id=f", "balance"), 6);
}

//  Expect a query to fail with this status and reason.
static void
s_query_fails (s_fixture_t *fixture, const char *name, msgpack_sbuffer *params,
               zcq_status_t status, const char *reason)
{
    zcq_result_t *answer = s_query (fixture, name, params);
    assert_string_equal (zcq_status_name (zcq_result_status (answer)),
                         zcq_status_name (status));
    assert_string_equal (zcq_result_reason (answer), reason);
    size_t size;
    zcq_result_data (answer, &size);
    assert_int_equal (size, 0);
    zcq_result_destroy (&answer);
}

static void
test_queries_name_what_is_wrong (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_populate (fixture);
    s_query_fails (fixture, "account", zcq_testkit_map ("id=account-9", NULL), ZCQ_NOT_FOUND,
                   "account 'account-9' does not exist");
    s_query_fails (fixture, "account", zcq_testkit_map (NULL), ZCQ_INVALID,
                   "field 'id' is missing");
    s_query_fails (fixture, "account", zcq_testkit_map ("id=7", NULL), ZCQ_INVALID,
                   "field 'id' must be a string, got 7");
    s_query_fails (fixture, "accounts-by-owner", zcq_testkit_map ("name=alice", NULL),
                   ZCQ_INVALID, "field 'owner' is missing");
    s_query_fails (fixture, "balance", zcq_testkit_map (NULL), ZCQ_UNKNOWN_TYPE,
                   "unknown query 'balance'");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_open_account_on_fresh_state),
        cmocka_unit_test (test_money_moves_then_account_closes),
        cmocka_unit_test (test_rules_reject_with_numbers),
        cmocka_unit_test (test_balance_cannot_overflow),
        cmocka_unit_test (test_malformed_data_is_invalid),
        cmocka_unit_test (test_evolve_ignores_strangers),
        ZCQ_TESTKIT_MODELS_TEST (test_events_in_one_batch_see_each_other),
        ZCQ_TESTKIT_MODELS_TEST (test_account_query_reads_the_projection),
        ZCQ_TESTKIT_MODELS_TEST (test_accounts_by_owner_sorted_by_id),
        ZCQ_TESTKIT_MODELS_TEST (test_owner_index_keeps_owners_apart),
        ZCQ_TESTKIT_MODELS_TEST (test_totals_add_up),
        ZCQ_TESTKIT_MODELS_TEST (test_queries_name_what_is_wrong),
        ZCQ_TESTKIT_MODELS_TEST (test_records_in_another_layout_still_read),
        ZCQ_TESTKIT_MODELS_TEST (test_records_pack_as_msgpack_c_does),
        ZCQ_TESTKIT_MODELS_TEST (test_damaged_records_are_refused),
    };
    return ZCQ_TESTKIT_RUN_ON_BOTH_BACKENDS (tests);
}
