/*  =========================================================================
    test_settings - the nodes' settings tables: checked values, defaults from
    the table, --help, README's configuration reference and deploy/config
    made from it; unknown names found, relative paths resolved

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

//  The files of deploy/config: made from a node's table, with the values
//  that differ from its defaults (paths there are taken from the file's
//  folder, so the data folders are the repository's var/).
typedef struct {
    const char *file;    //  path from the repository's root
    const char *program; //  the node that reads it
    const zcq_setting_t *(*table) (void);
    const char *about;      //  first line of its header
    const char *values [8]; //  "path=value" that differ from the defaults
} s_config_file_t;

static const s_config_file_t s_config_files [] = {
    {"deploy/config/write.zpl",
     "zcqrs-write",
     zcq_write_node_settings,
     "the write node of the default local cluster",
     {"write/data=../../var/write", "write/metrics=127.0.0.1:9601", NULL}},
    {"deploy/config/query-1.zpl",
     "zcqrs-query",
     zcq_query_node_settings,
     "query node 1 of the default local cluster",
     {"query/data=../../var/query-1", "query/metrics=127.0.0.1:9611", NULL}},
    {"deploy/config/query-2.zpl",
     "zcqrs-query",
     zcq_query_node_settings,
     "query node 2 of the default local cluster",
     {"query/queries=tcp://127.0.0.1:5612", "query/data=../../var/query-2",
      "query/metrics=127.0.0.1:9612", NULL}},
};
#define CONFIG_FILES (sizeof (s_config_files) / sizeof (s_config_files [0]))

//  The text a file of deploy/config must hold (caller frees).
static char *
s_config_text (const s_config_file_t *config)
{
    zconfig_t *values = zconfig_new ("root", NULL);
    for (const char *const *value = config->values; *value; value++) {
        const char *equals = strchr (*value, '=');
        char *path = strndup (*value, (size_t) (equals - *value));
        zconfig_put (values, path, equals + 1);
        free (path);
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    fprintf (
        out,
        "#   %s: %s.\n"
        "#\n"
        "#   Made from the node's settings table by `make settings-doc` (tests/test_settings\n"
        "#   fails when they differ): every setting, its help, and its default or the\n"
        "#   value this file gives it. Start the node with\n"
        "#       build/%s --config %s\n"
        "#   A flag overrides the setting it names. A relative path here is taken from\n"
        "#   this file's folder. `make run` writes its own files (var/conf/*.zpl).\n"
        "#   Format: ZPL (rfc.zeromq.org/spec:4), 4-space indent, '#' starts a comment.\n",
        config->program, config->about, config->program, config->file);
    zcq_settings_zpl (config->table (), values, out);
    fclose (out);
    zconfig_destroy (&values);
    return text;
}

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

static void
test_deploy_config_is_the_tables (void **state)
{
    (void) state;
    for (size_t index = 0; index < CONFIG_FILES; index++) {
        const s_config_file_t *config = &s_config_files [index];
        char *expected = s_config_text (config);
        char *text = s_read (config->file);
        if (!text || !streq (text, expected)) {
            fail_msg ("%s differs from the settings table of %s; run make settings-doc. "
                      "The table says:\n%s",
                      config->file, config->program, expected);
        }
        //  Read back, it names only known settings, each value is accepted,
        //  and every setting with a default is there with its value
        zconfig_t *file = zconfig_load (config->file);
        assert_non_null (file);
        char *unknown = zcq_settings_unknown (file, config->table ());
        if (unknown) {
            fail_msg ("%s names '%s', which %s does not know", config->file, unknown,
                      config->program);
        }
        char *error = NULL;
        if (zcq_settings_check (file, config->table (), &error) != 0) {
            fail_msg ("%s: %s", config->file, error);
        }
        for (const zcq_setting_t *setting = config->table (); setting->path; setting++) {
            if (setting->fallback) {
                assert_non_null (zconfig_get (file, setting->path, NULL));
            }
        }
        zconfig_destroy (&file);
        free (text);
        free (expected);
    }
}

static void
test_unknown_names_are_found_with_the_nearest (void **state)
{
    (void) state;
    const zcq_setting_t *table = zcq_write_node_settings ();
    zconfig_t *tree = zconfig_new ("root", NULL);
    zconfig_put (tree, "write/heartbeat", "50");
    zconfig_put (tree, "write/security/roles/alice", "commands");
    zconfig_put (tree, "write/ids/keep", "10");
    assert_null (zcq_settings_unknown (tree, table));
    zconfig_put (tree, "write/hearbeat", "50");
    char *unknown = zcq_settings_unknown (tree, table);
    assert_string_equal (unknown, "write/hearbeat");
    char *nearest = zcq_settings_nearest (table, unknown);
    assert_string_equal (nearest, "write/heartbeat");
    free (nearest);
    free (unknown);
    zconfig_destroy (&tree);
    //  A misspelled section, a value where a section is, a section where a
    //  value is, a name below a wildcard's name
    const char *cases [][3] = {
        {"wirte/data", "wirte", "write"},
        {"write/security", "write/security", "write/security"},
        {"write/data/inner", "write/data", "write/data"},
        {"write/security/roles/alice/x", "write/security/roles/alice", NULL},
        {"query/data", "query", NULL},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        tree = zconfig_new ("root", NULL);
        zconfig_put (tree, cases [index][0], "1");
        unknown = zcq_settings_unknown (tree, table);
        assert_non_null (unknown);
        assert_string_equal (unknown, cases [index][1]);
        if (cases [index][2]) {
            nearest = zcq_settings_nearest (table, unknown);
            assert_string_equal (nearest, cases [index][2]);
            free (nearest);
        }
        free (unknown);
        zconfig_destroy (&tree);
    }
}

static void
test_relative_paths_are_taken_from_the_file_folder (void **state)
{
    (void) state;
    const zcq_setting_t *table = zcq_query_node_settings ();
    const struct {
        const char *path;   //  the setting
        const char *value;  //  as written in a file
        const char *folder; //  the file's folder (NULL: the command line)
        const char *means;  //  what the node takes
    } cases [] = {
        {"query/data", "var/q", "/etc/zcqrs", "/etc/zcqrs/var/q"},
        {"query/data", "/srv/q", "/etc/zcqrs", "/srv/q"},
        {"query/data", "../q", "/etc/zcqrs", "/etc/zcqrs/../q"},
        {"query/data", "var/q", NULL, "var/q"},
        //  A domain by name and a key in Z85 stay; a .so or a key file by path
        //  is a path
        {"query/domain", "bank", "/etc/zcqrs", "bank"},
        {"query/domain", "./libmine.so", "/etc/zcqrs", "/etc/zcqrs/./libmine.so"},
        {"query/security/server", "rq:A4Vh7pb>4=b8l9W+%oa3GB%bYHJVfB4)X@A=", "/x",
         "rq:A4Vh7pb>4=b8l9W+%oa3GB%bYHJVfB4)X@A="},
        {"query/security/server", "keys/write.cert", "/x", "/x/keys/write.cert"},
        //  Not a file setting: untouched
        {"query/queries", "ipc://q", "/x", "ipc://q"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        const zcq_setting_t *setting = zcq_settings_find (table, cases [index].path);
        assert_non_null (setting);
        char *value = zcq_settings_resolve (setting, cases [index].value, cases [index].folder);
        assert_string_equal (value, cases [index].means);
        free (value);
    }
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

//  Rewrite the files of deploy/config from the tables.
static int
s_update_configs (void)
{
    for (size_t index = 0; index < CONFIG_FILES; index++) {
        char *text = s_config_text (&s_config_files [index]);
        FILE *file = fopen (s_config_files [index].file, "w");
        if (!file || fputs (text, file) < 0 || fclose (file) != 0) {
            fprintf (stderr, "test_settings: cannot write %s\n", s_config_files [index].file);
            return 1;
        }
        free (text);
    }
    printf ("test_settings: deploy/config is the tables'\n");
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && streq (argv [1], "--update")) {
        return s_update (argv [2]) || s_update_configs ();
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
        cmocka_unit_test (test_deploy_config_is_the_tables),
        cmocka_unit_test (test_unknown_names_are_found_with_the_nearest),
        cmocka_unit_test (test_relative_paths_are_taken_from_the_file_folder),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
