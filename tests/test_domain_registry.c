/*  =========================================================================
    test_domain_registry - finding domains by name, registering your own,
    loading one from a shared object (build/libzcq_counter.so, made from
    examples/counter_domain.c), and what goes wrong with bad names and
    paths. Also the two objects a domain answers through: zcq_decision and
    zcq_result.
    =========================================================================
*/

#include "zcq_testkit.h"

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  --- A domain of our own, registered by hand ----------------------------------

static const char *const s_commands [] = {"Tally", NULL};
static const char *const s_queries [] = {"tally", NULL};

static void
s_decide (const void *state, const zcq_command_t *command, zcq_decision_t *decision)
{
    (void) state;
    (void) command;
    msgpack_pack_map (zcq_decision_emit (decision, "Tallied"), 0);
}

static int
s_project (zcq_view_t *view, const zcq_event_t *event)
{
    (void) view;
    (void) event;
    return 0;
}

static void
s_query (zcq_view_t *view, const char *name, const msgpack_object *params, zcq_result_t *answer)
{
    (void) view;
    (void) name;
    (void) params;
    msgpack_pack_nil (zcq_result_packer (answer));
}

static const zcq_domain_t s_tally = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "tally",
    .command_types = s_commands,
    .query_names = s_queries,
    .decide = s_decide,
    .project = s_project,
    .query = s_query,
};

//  --- Helpers -------------------------------------------------------------------

//  Path of a file in the build folder: tests run as build/tests/test_x.
static char *
s_build_path (const char *name)
{
    char exe [PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    assert_true (size > 0);
    exe [size] = 0;
    return zsys_sprintf ("%s/../%s", dirname (exe), name);
}

//  Expect loading name_or_path to fail with an error that starts with prefix.
static void
s_load_fails (const char *name_or_path, const char *prefix)
{
    char *error = NULL;
    assert_null (zcq_domain_load (name_or_path, &error));
    assert_non_null (error);
    if (strncmp (error, prefix, strlen (prefix)) != 0) {
        fail_msg ("error '%s' does not start with '%s'", error, prefix);
    }
    free (error);
}

//  --- Registry ------------------------------------------------------------------

static void
test_builtins_load_by_name (void **unused)
{
    (void) unused;
    char *error = NULL;
    assert_ptr_equal (zcq_domain_load ("bank", &error), zcq_bank_domain ());
    assert_null (error);
    assert_ptr_equal (zcq_domain_load ("store", &error), zcq_store_domain ());
    assert_null (error);
    //  The error is optional
    assert_ptr_equal (zcq_domain_load ("bank", NULL), zcq_bank_domain ());
}

static void
test_unknown_name_lists_the_builtins (void **unused)
{
    (void) unused;
    char *error = NULL;
    assert_null (zcq_domain_load ("foo", &error));
    assert_string_equal (error, "unknown domain 'foo' (built in: bank, store)");
    free (error);
    assert_null (zcq_domain_load ("", NULL));
}

static void
test_register_own_domain (void **unused)
{
    (void) unused;
    assert_int_equal (zcq_domain_register (&s_tally), 0);
    assert_int_equal (zcq_domain_register (&s_tally), 0);
    assert_ptr_equal (zcq_domain_load ("tally", NULL), &s_tally);

    //  A name is taken for good, built-in names included
    zcq_domain_t other = s_tally;
    assert_int_equal (zcq_domain_register (&other), -1);
    other.name = "bank";
    assert_int_equal (zcq_domain_register (&other), -1);
    assert_ptr_equal (zcq_domain_load ("bank", NULL), zcq_bank_domain ());

    //  Incomplete or built for another ABI: refused
    other.name = "broken";
    other.decide = NULL;
    assert_int_equal (zcq_domain_register (&other), -1);
    other.decide = s_decide;
    other.abi = ZCQ_DOMAIN_ABI + 1;
    assert_int_equal (zcq_domain_register (&other), -1);
    assert_null (zcq_domain_load ("broken", NULL));
}

static void
test_domains_list_commands_and_queries (void **unused)
{
    (void) unused;
    const zcq_domain_t *bank = zcq_bank_domain ();
    assert_true (zcq_domain_has_command (bank, "OpenAccount"));
    assert_true (zcq_domain_has_command (bank, "CloseAccount"));
    assert_false (zcq_domain_has_command (bank, "deposit"));
    assert_false (zcq_domain_has_command (bank, "AccountOpened"));
    assert_false (zcq_domain_has_command (bank, NULL));
    assert_true (zcq_domain_has_query (bank, "accounts-by-owner"));
    assert_false (zcq_domain_has_query (bank, "Deposit"));
}

//  --- Shared objects ------------------------------------------------------------

static void
test_counter_plugin_loads_and_decides (void **unused)
{
    (void) unused;
    char *path = s_build_path ("libzcq_counter.so");
    char *error = NULL;
    const zcq_domain_t *counter = zcq_domain_load (path, &error);
    if (!counter) {
        fail_msg ("%s", error);
    }
    assert_string_equal (counter->name, "counter");
    assert_true (zcq_domain_has_command (counter, "Increment"));
    assert_true (zcq_domain_has_query (counter, "counter"));
    //  Loading it again, or by its name, finds the same domain
    assert_ptr_equal (zcq_domain_load (path, NULL), counter);
    assert_ptr_equal (zcq_domain_load ("counter", NULL), counter);

    void *state = counter->state_new ();
    zcq_decision_t *decision = zcq_testkit_decide (counter, state, "Increment", "clicks",
                                                   zcq_testkit_map ("by=3", NULL));
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_int_equal (zcq_decision_count (decision), 1);
    assert_string_equal (zcq_decision_event_type (decision, 0), "Incremented");
    size_t size;
    const byte *event = zcq_decision_event_data (decision, 0, &size);
    assert_int_equal (zcq_testkit_int (event, size, "by"), 3);
    zcq_decision_destroy (&decision);

    decision = zcq_testkit_decide (counter, state, "Increment", "clicks",
                                   zcq_testkit_map ("by=-1", NULL));
    assert_int_equal (zcq_decision_status (decision), ZCQ_INVALID);
    assert_string_equal (zcq_decision_reason (decision),
                         "field 'by' must be a positive integer, got -1");
    zcq_decision_destroy (&decision);
    counter->state_destroy (state);
    free (path);
}

//  Project count Incremented {by} events on stream "clicks", and commit.
static void
s_increment (const zcq_domain_t *counter, zcq_store_t *store, zcq_view_t *view, int count)
{
    msgpack_sbuffer *data = zcq_testkit_map ("by=5", NULL);
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (data->data, data->size, &unpacked);
    for (int index = 1; index <= count; index++) {
        zcq_event_t event = {"Incremented",  "clicks", (uint64_t) index, (uint64_t) index, 0,
                             &unpacked.data, 1};
        assert_int_equal (counter->project (view, &event), 0);
    }
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (view, batch);
    assert_int_equal (zcq_store_write (store, batch, false), 0);
    zcq_batch_destroy (&batch);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (data);
}

static void
test_counter_plugin_projects_and_answers (void **unused)
{
    (void) unused;
    char *path = s_build_path ("libzcq_counter.so");
    const zcq_domain_t *counter = zcq_domain_load (path, NULL);
    assert_non_null (counter);
    char *dir = zcq_testkit_tmpdir ("counter");
    zcq_store_t *store = zcq_store_new (dir);
    zcq_view_t *view = zcq_view_new (store);
    s_increment (counter, store, view, 2);

    msgpack_sbuffer *params = zcq_testkit_map ("id=clicks", NULL);
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (params->data, params->size, &unpacked);
    zcq_result_t *answer = zcq_result_new ();
    counter->query (view, "counter", &unpacked.data, answer);
    assert_int_equal (zcq_result_status (answer), ZCQ_OK);
    size_t size;
    const byte *result = zcq_result_data (answer, &size);
    assert_int_equal (zcq_testkit_int (result, size, "value"), 10);
    assert_int_equal (zcq_testkit_int (result, size, "version"), 2);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (params);

    zcq_result_reset (answer);
    params = zcq_testkit_map ("id=views", NULL);
    zcq_testkit_unpack (params->data, params->size, &unpacked);
    counter->query (view, "counter", &unpacked.data, answer);
    assert_int_equal (zcq_result_status (answer), ZCQ_NOT_FOUND);
    assert_string_equal (zcq_result_reason (answer), "counter 'views' does not exist");
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (params);

    zcq_result_destroy (&answer);
    zcq_view_destroy (&view);
    zcq_store_destroy (&store);
    zcq_testkit_rmtree (dir);
    free (dir);
    free (path);
}

static void
test_bad_shared_objects_are_refused (void **unused)
{
    (void) unused;
    s_load_fails ("/nonexistent/libnope.so", "cannot load domain '/nonexistent/libnope.so': ");
    s_load_fails ("nope.so", "cannot load domain 'nope.so': ");

    //  Not an ELF file at all
    char *dir = zcq_testkit_tmpdir ("registry");
    char *junk = zsys_sprintf ("%s/junk.so", dir);
    FILE *file = fopen (junk, "w");
    assert_non_null (file);
    fputs ("this is not a shared object\n", file);
    fclose (file);
    char *prefix = zsys_sprintf ("cannot load domain '%s': ", junk);
    s_load_fails (junk, prefix);
    free (prefix);
    zcq_testkit_rmtree (dir);
    free (junk);
    free (dir);

    //  A real library that is no domain: it lacks zcq_domain_entry
    Dl_info info;
    assert_true (dladdr ((void *) msgpack_unpack_next, &info) != 0);
    char *error = NULL;
    assert_null (zcq_domain_load (info.dli_fname, &error));
    assert_non_null (strstr (error, "zcq_domain_entry"));
    free (error);
}

//  --- What domains answer through ---------------------------------------------

static void
test_decision_refusal_drops_events (void **unused)
{
    (void) unused;
    zcq_decision_t *decision = zcq_decision_new ();
    msgpack_pack_map (zcq_decision_emit (decision, "First"), 0);
    msgpack_packer *packer = zcq_decision_emit (decision, "Second");
    msgpack_pack_map (packer, 1);
    zcq_mpack_pack_str (packer, "n");
    msgpack_pack_int (packer, 2);
    assert_int_equal (zcq_decision_count (decision), 2);
    size_t size;
    zcq_decision_event_data (decision, 0, &size);
    assert_int_equal (size, 1);
    const byte *data = zcq_decision_event_data (decision, 1, &size);
    assert_int_equal (zcq_testkit_int (data, size, "n"), 2);

    zcq_decision_reject (decision, "no %s today", "tallies");
    assert_int_equal (zcq_decision_status (decision), ZCQ_REJECTED);
    assert_string_equal (zcq_decision_reason (decision), "no tallies today");
    assert_int_equal (zcq_decision_count (decision), 0);
    //  Emitting after a refusal changes nothing
    msgpack_pack_map (zcq_decision_emit (decision, "Late"), 0);
    assert_int_equal (zcq_decision_count (decision), 0);

    zcq_decision_reset (decision);
    assert_int_equal (zcq_decision_status (decision), ZCQ_ACCEPTED);
    assert_string_equal (zcq_decision_reason (decision), "");

    //  A reason never grows past the protocol's limit
    char *huge = (char *) malloc (ZCQ_MAX_TEXT * 2);
    memset (huge, 'x', ZCQ_MAX_TEXT * 2 - 1);
    huge [ZCQ_MAX_TEXT * 2 - 1] = 0;
    zcq_decision_invalid (decision, "%s", huge);
    assert_int_equal (zcq_decision_status (decision), ZCQ_INVALID);
    assert_int_equal (strlen (zcq_decision_reason (decision)), ZCQ_MAX_TEXT);
    free (huge);
    zcq_decision_destroy (&decision);
    zcq_decision_destroy (&decision);
}

static void
test_answer_result_or_failure (void **unused)
{
    (void) unused;
    zcq_result_t *answer = zcq_result_new ();
    size_t size;
    assert_null (zcq_result_data (answer, &size));
    assert_int_equal (size, 0);
    msgpack_pack_int (zcq_result_packer (answer), 1);
    //  Asking for the packer again starts over
    msgpack_pack_array (zcq_result_packer (answer), 0);
    const byte *data = zcq_result_data (answer, &size);
    assert_int_equal (size, 1);
    assert_memory_equal (data, "\x90", 1);

    zcq_result_fail (answer, ZCQ_NOT_FOUND, "no tally '%s'", "x");
    assert_int_equal (zcq_result_status (answer), ZCQ_NOT_FOUND);
    assert_string_equal (zcq_result_reason (answer), "no tally 'x'");
    assert_null (zcq_result_data (answer, &size));
    assert_int_equal (size, 0);

    zcq_result_reset (answer);
    assert_int_equal (zcq_result_status (answer), ZCQ_OK);
    assert_string_equal (zcq_result_reason (answer), "");
    zcq_result_destroy (&answer);
    zcq_result_destroy (&answer);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_builtins_load_by_name),
        cmocka_unit_test (test_unknown_name_lists_the_builtins),
        cmocka_unit_test (test_register_own_domain),
        cmocka_unit_test (test_domains_list_commands_and_queries),
        cmocka_unit_test (test_counter_plugin_loads_and_decides),
        cmocka_unit_test (test_counter_plugin_projects_and_answers),
        cmocka_unit_test (test_bad_shared_objects_are_refused),
        cmocka_unit_test (test_decision_refusal_drops_events),
        cmocka_unit_test (test_answer_result_or_failure),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
