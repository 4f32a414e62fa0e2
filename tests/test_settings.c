/*  =========================================================================
    test_settings - the nodes' settings tables: checked values, defaults from
    the table, --help and README's configuration reference made from it

    Run from the repository's root (tests/run does). With --update FILE it
    rewrites FILE's configuration reference from the tables instead
    (make settings-doc).
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define README "README.md"

//  The nodes whose tables README shows, with the markers around each.
static const struct {
    const char *program;
    const zcq_setting_t *(*table) (void);
} s_nodes [] = {
    {"zcqrs-write", zcq_write_node_settings},
    {"zcqrs-query", zcq_query_node_settings},
};
#define NODES (sizeof (s_nodes) / sizeof (s_nodes [0]))

//  What a printer writes, as a new string (caller frees).
static char *
s_printed (void (*print) (const zcq_setting_t *, FILE *), const zcq_setting_t *table)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert_non_null (out);
    print (table, out);
    fclose (out);
    return text;
}

//  The marker lines around a node's reference in README.
static char *
s_marker (const char *program, bool end)
{
    return zsys_sprintf ("<!-- %s settings: %s; made from its settings table by make "
                         "settings-doc -->\n",
                         end ? "end of" : "start of", program);
}

//  README's text, whole (caller frees), or NULL.
static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        return NULL;
    }
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    rewind (file);
    char *text = (char *) malloc ((size_t) size + 1);
    assert_non_null (text);
    size_t read = fread (text, 1, (size_t) size, file);
    text [read] = 0;
    fclose (file);
    return text;
}

static void
test_readme_shows_every_table (void **state)
{
    (void) state;
    char *readme = s_read (README);
    assert_non_null (readme); //  tests run from the repository's root
    for (size_t index = 0; index < NODES; index++) {
        char *start = s_marker (s_nodes [index].program, false);
        char *end = s_marker (s_nodes [index].program, true);
        char *expected = s_printed (zcq_settings_reference, s_nodes [index].table ());
        char *from = strstr (readme, start);
        char *to = from ? strstr (from, end) : NULL;
        if (!from || !to) {
            fail_msg ("README.md has no section between '%.*s' and its end marker",
                      (int) strlen (start) - 1, start);
        }
        from += strlen (start);
        if ((size_t) (to - from) != strlen (expected)
            || memcmp (from, expected, strlen (expected)) != 0) {
            fail_msg ("README.md's configuration reference of %s differs from its settings "
                      "table; run make settings-doc. The table says:\n%s",
                      s_nodes [index].program, expected);
        }
        free (expected);
        free (start);
        free (end);
    }
    free (readme);
}

static void
test_tables_are_consistent (void **state)
{
    (void) state;
    for (size_t index = 0; index < NODES; index++) {
        const zcq_setting_t *table = s_nodes [index].table ();
        for (const zcq_setting_t *setting = table; setting->path; setting++) {
            assert_non_null (setting->help);
            //  Each path and each flag once
            for (const zcq_setting_t *other = setting + 1; other->path; other++) {
                assert_string_not_equal (setting->path, other->path);
                if (setting->flag && other->flag) {
                    assert_string_not_equal (setting->flag, other->flag);
                }
            }
            //  A default is a value the setting accepts
            if (setting->fallback) {
                zconfig_t *config = zconfig_new ("root", NULL);
                zconfig_put (config, setting->path, setting->fallback);
                char *error = NULL;
                if (zcq_settings_check (config, table, &error) != 0) {
                    fail_msg ("default of %s: %s", setting->path, error);
                }
                zconfig_destroy (&config);
            }
            else {
                assert_int_equal (setting->type, ZCQ_SETTING_TEXT);
            }
            assert_ptr_equal (zcq_settings_find (table, setting->path), setting);
        }
    }
}

//  A config holding one setting with this value.
static zconfig_t *
s_config (const char *path, const char *value)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    zconfig_put (config, path, value);
    return config;
}

//  The error zcq_settings_check gives for one value (caller frees), or NULL.
static char *
s_error (const char *path, const char *value)
{
    zconfig_t *config = s_config (path, value);
    char *error = NULL;
    int rc = zcq_settings_check (config, zcq_write_node_settings (), &error);
    assert_int_equal (rc, error ? -1 : 0);
    zconfig_destroy (&config);
    return error;
}

static void
test_check_names_setting_range_and_value (void **state)
{
    (void) state;
    char *error = s_error ("write/heartbeat", "abc");
    assert_string_equal (error, "setting write/heartbeat must be a whole number from 10 to "
                                "2147483647, got 'abc'");
    free (error);
    error = s_error ("write/heartbeat", "5");
    assert_non_null (strstr (error, "got '5'"));
    free (error);
    error = s_error ("write/group", "100001");
    assert_non_null (strstr (error, "write/group must be a whole number from 1 to 100000"));
    free (error);
    error = s_error ("write/group", "12x");
    assert_non_null (error);
    free (error);
    error = s_error ("write/group", "99999999999999999999999");
    assert_non_null (error); //  out of int64's range
    free (error);
    error = s_error ("write/durability", "fast");
    assert_string_equal (error, "setting write/durability must be 'sync' or 'async', got "
                                "'fast'");
    free (error);
    error = s_error ("write/durability", "syn");
    assert_non_null (error); //  a prefix of a word is not the word
    free (error);
    assert_null (s_error ("write/durability", "async"));
    assert_null (s_error ("write/heartbeat", "10"));
    assert_null (s_error ("write/group", "100000"));
    //  Text settings take any text; a wildcard row covers every name
    assert_null (s_error ("write/security/roles/alice", "commands"));
    assert_null (s_error ("write/data", "any folder"));
}

static void
test_values_come_from_config_or_the_table (void **state)
{
    (void) state;
    const zcq_setting_t *table = zcq_query_node_settings ();
    assert_string_equal (zcq_settings_text (NULL, table, "query/data"), "var/query-1");
    assert_string_equal (zcq_settings_text (NULL, table, "query/queries"), ZCQ_DEFAULT_QUERIES);
    assert_int_equal (zcq_settings_number (NULL, table, "query/wait"), 1000);
    zconfig_t *config = s_config ("query/wait", "250");
    zconfig_put (config, "query/data", "/srv/q");
    assert_int_equal (zcq_settings_number (config, table, "query/wait"), 250);
    assert_string_equal (zcq_settings_text (config, table, "query/data"), "/srv/q");
    assert_null (zcq_settings_text (config, table, "query/security/cert"));
    zconfig_destroy (&config);
    //  Wildcards match one name below their folder, not deeper, not none
    assert_non_null (zcq_settings_find (table, "query/security/roles/bob"));
    assert_null (zcq_settings_find (table, "query/security/roles/"));
    assert_null (zcq_settings_find (table, "query/security/roles/a/b"));
    assert_null (zcq_settings_find (table, "query/typo"));
}

static void
test_usage_lists_every_flag (void **state)
{
    (void) state;
    for (size_t index = 0; index < NODES; index++) {
        const zcq_setting_t *table = s_nodes [index].table ();
        char *usage = s_printed (zcq_settings_usage, table);
        for (const zcq_setting_t *setting = table; setting->path; setting++) {
            if (setting->flag) {
                char *line = zsys_sprintf ("  %s ", setting->flag);
                assert_non_null (strstr (usage, line));
                free (line);
                assert_non_null (strstr (usage, setting->path));
            }
        }
        free (usage);
    }
}

static void
test_node_refuses_a_bad_value_by_name (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("settings");
    zconfig_t *config = s_config ("write/heartbeat", "abc");
    char *data = zsys_sprintf ("%s/write", dir);
    zconfig_put (config, "write/data", data);
    char *message = NULL;
    zactor_t *node = zcq_node_start (zcq_write_node_actor, config, &message);
    assert_null (node);
    assert_non_null (strstr (message, "write/heartbeat"));
    free (message);
    zconfig_destroy (&config);
    config = s_config ("query/silence", "0");
    zconfig_put (config, "query/data", data);
    node = zcq_node_start (zcq_query_node_actor, config, &message);
    assert_null (node);
    assert_non_null (strstr (message, "setting query/silence must be a whole number from 1"));
    free (message);
    zconfig_destroy (&config);
    free (data);
    zcq_testkit_rmtree (dir);
    free (dir);
}

//  Rewrite the reference sections of path from the tables.
static int
s_update (const char *path)
{
    char *text = s_read (path);
    if (!text) {
        fprintf (stderr, "test_settings: cannot read %s\n", path);
        return 1;
    }
    for (size_t index = 0; index < NODES; index++) {
        char *start = s_marker (s_nodes [index].program, false);
        char *end = s_marker (s_nodes [index].program, true);
        char *from = strstr (text, start);
        char *to = from ? strstr (from, end) : NULL;
        if (!to) {
            fprintf (stderr, "test_settings: %s has no '%s'", path, start);
            return 1;
        }
        char *table = s_printed (zcq_settings_reference, s_nodes [index].table ());
        int kept = (int) (from + strlen (start) - text);
        char *updated = zsys_sprintf ("%.*s%s%s", kept, text, table, to);
        free (text);
        text = updated;
        free (table);
        free (start);
        free (end);
    }
    FILE *file = fopen (path, "w");
    if (!file || fputs (text, file) < 0 || fclose (file) != 0) {
        fprintf (stderr, "test_settings: cannot write %s\n", path);
        return 1;
    }
    free (text);
    printf ("test_settings: %s's configuration reference is the tables'\n", path);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && streq (argv [1], "--update")) {
        return s_update (argv [2]);
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_readme_shows_every_table),
        cmocka_unit_test (test_tables_are_consistent),
        cmocka_unit_test (test_check_names_setting_range_and_value),
        cmocka_unit_test (test_values_come_from_config_or_the_table),
        cmocka_unit_test (test_usage_lists_every_flag),
        cmocka_unit_test (test_node_refuses_a_bad_value_by_name),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
