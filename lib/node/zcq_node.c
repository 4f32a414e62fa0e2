/*  =========================================================================
    zcq_node - starting a node actor, and the main () of the node programs
    (see zcq_node.h)
    =========================================================================
*/

#include "zcq_node.h"
#include "zcq_logger.h"
#include "zcq_settings.h"

zactor_t *
zcq_node_start (zactor_fn *actor, zconfig_t *config, char **message)
{
    assert (actor);
    assert (message);
    zactor_t *node = zactor_new (actor, config);
    assert (node);
    //  The actor signalled (zactor_new returned); its next word says whether
    //  it came up: "READY summary" or "ERROR reason"
    char *word = zstr_recv (node);
    if (word && strncmp (word, "READY ", 6) == 0) {
        *message = strdup (word + 6);
        zstr_free (&word);
        return node;
    }
    *message = strdup (word && strlen (word) > 6 ? word + 6 : "node stopped during start");
    zstr_free (&word);
    zactor_destroy (&node);
    return NULL;
}

void
zcq_node_ready (zsock_t *pipe, const char *summary)
{
    zstr_sendf (pipe, "READY %s", summary);
}

void
zcq_node_failed (zsock_t *pipe, const char *reason)
{
    //  Not logged here: whoever started the node says it once (the node
    //  programs print "cannot start: reason")
    zstr_sendf (pipe, "ERROR %s", reason);
}

static void
s_usage (const char *program, const zcq_setting_t *settings)
{
    printf ("Usage: %s [--config FILE.zpl] [options]\n\noptions (override the file):\n",
            program);
    zcq_settings_usage (settings, stdout);
    printf ("  %-26s %s\n", "--config FILE", "read settings from a ZPL file first");
    printf ("  %-26s %s\n", "--set PATH=VALUE",
            "set any setting, e.g. write/security/cert=FILE");
    printf ("\nEvery setting, its default and its config path: README.md, "
            "\"Configuration reference\".\n");
}

//  Put every value below node (its children, recursively) into config
//  under the same path; a relative path of a file setting is taken from
//  folder, the config file's.
static void
s_copy_tree (zconfig_t *node, const char *prefix, zconfig_t *config,
             const zcq_setting_t *settings, const char *folder)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char *path = prefix ? zsys_sprintf ("%s/%s", prefix, zconfig_name (child))
                            : strdup (zconfig_name (child));
        if (zconfig_value (child) && *zconfig_value (child)) {
            char *value = zcq_settings_resolve (zcq_settings_find (settings, path),
                                                zconfig_value (child), folder);
            zconfig_put (config, path, value);
            free (value);
        }
        s_copy_tree (child, path, config, settings, folder);
        zstr_free (&path);
    }
}

//  The line of a ZPL file that names path ("write/security/cert"), or 0.
//  ZPL nests by indenting 4 spaces a level, so a line's depth is its
//  indent / 4 and its path the names last seen at each depth above it.
#define S_DEPTH_MAX 16
static int
s_line_of (const char *filename, const char *path)
{
    FILE *file = fopen (filename, "r");
    if (!file) {
        return 0;
    }
    char *names [S_DEPTH_MAX] = {NULL};
    char line [1024];
    int number = 0, found = 0;
    while (!found && fgets (line, sizeof line, file)) {
        number++;
        size_t indent = strspn (line, " ");
        const char *name = line + indent;
        size_t depth = indent / 4;
        if (strchr ("#\r\n", *name) || depth >= S_DEPTH_MAX) {
            continue; //  a comment, a blank line (or the NUL at its end)
        }
        for (size_t deeper = depth; deeper < S_DEPTH_MAX; deeper++) {
            zstr_free (&names [deeper]);
        }
        names [depth] = strndup (name, strcspn (name, " =\t\r\n"));
        char built [1024] = "";
        for (size_t level = 0; level <= depth && names [level]; level++) {
            size_t used = strlen (built);
            snprintf (built + used, sizeof built - used, "%s%s", level ? "/" : "",
                      names [level]);
        }
        if (streq (built, path)) {
            found = number;
        }
    }
    for (size_t level = 0; level < S_DEPTH_MAX; level++) {
        zstr_free (&names [level]);
    }
    fclose (file);
    return found;
}

//  Refuse a config file that names a setting or section the table does not
//  know: print where it is and the nearest known name. Returns 0 or -1.
static int
s_check_names (const char *program, const zcq_setting_t *settings, zconfig_t *file,
               const char *filename)
{
    char *unknown = zcq_settings_unknown (file, settings);
    if (!unknown) {
        return 0;
    }
    char *nearest = zcq_settings_nearest (settings, unknown);
    zconfig_t *item = zconfig_locate (file, unknown);
    int line = s_line_of (filename, unknown);
    char where [32] = "";
    if (line > 0) {
        snprintf (where, sizeof where, " line %d", line);
    }
    bool section = item && zconfig_child (item);
    if (streq (nearest, unknown)) {
        //  A known name in the wrong role: values below a setting, or a
        //  value given to a section
        fprintf (stderr, "%s: %s%s: '%s' is a %s, not a %s\n", program, filename, where,
                 unknown, section ? "setting" : "section", section ? "section" : "setting");
    }
    else {
        fprintf (stderr, "%s: %s%s: unknown %s '%s' (the nearest known name is '%s')\n",
                 program, filename, where, section ? "section" : "setting", unknown, nearest);
    }
    free (nearest);
    free (unknown);
    return -1;
}

//  The absolute folder of a file, or NULL. The caller frees it.
static char *
s_folder_of (const char *filename)
{
    char *copy = strdup (filename);
    char *slash = strrchr (copy, '/');
    if (!slash) {
        free (copy);
        return realpath (".", NULL);
    }
    slash [slash == copy ? 1 : 0] = 0;
    char *folder = realpath (copy, NULL);
    free (copy);
    return folder;
}

//  Fill config from argv. Returns 0, 1 for --help, or -1 (message printed).
static int
s_parse (const char *program, const zcq_setting_t *settings, int argc, char **argv,
         zconfig_t *config)
{
    //  --config first, so that the other flags override what the file says
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--config") && index + 1 < argc) {
            zconfig_t *file = zconfig_load (argv [index + 1]);
            if (!file) {
                fprintf (stderr, "%s: cannot read config file '%s'\n", program,
                         argv [index + 1]);
                return -1;
            }
            //  Every name in the file must be one of the table's; then copy
            //  every setting of the file into ours, also sections no flag
            //  names (security)
            if (s_check_names (program, settings, file, argv [index + 1]) != 0) {
                zconfig_destroy (&file);
                return -1;
            }
            char *folder = s_folder_of (argv [index + 1]);
            s_copy_tree (file, NULL, config, settings, folder);
            free (folder);
            zconfig_destroy (&file);
        }
    }
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        if (streq (arg, "--help") || streq (arg, "-h")) {
            s_usage (program, settings);
            return 1;
        }
        if (streq (arg, "--config")) {
            index++;
            continue;
        }
        if (streq (arg, "--set") && index + 1 < argc) {
            //  Any setting, e.g. --set write/security/cert=keys/write.cert
            char *path = strdup (argv [++index]);
            char *equals = strchr (path, '=');
            if (!equals || equals == path) {
                fprintf (stderr, "%s: --set needs PATH=VALUE, got '%s'\n", program, path);
                free (path);
                return -1;
            }
            *equals = 0;
            if (!zcq_settings_find (settings, path)) {
                char *nearest = zcq_settings_nearest (settings, path);
                fprintf (stderr,
                         "%s: --set %s=%s: unknown setting '%s' (the nearest known name "
                         "is '%s')\n",
                         program, path, equals + 1, path, nearest);
                free (nearest);
                free (path);
                return -1;
            }
            zconfig_put (config, path, equals + 1);
            free (path);
            continue;
        }
        const zcq_setting_t *match = NULL;
        for (const zcq_setting_t *setting = settings; setting->path; setting++) {
            if (setting->flag && streq (arg, setting->flag)) {
                match = setting;
            }
        }
        if (!match) {
            fprintf (stderr, "%s: unknown option '%s' (try --help)\n", program, arg);
            return -1;
        }
        bool bare = index + 1 >= argc || strncmp (argv [index + 1], "--", 2) == 0;
        if (bare && match->bare) {
            zconfig_put (config, match->path, match->bare); //  e.g. a bare --rebuild
            continue;
        }
        if (index + 1 >= argc) {
            fprintf (stderr, "%s: option '%s' needs a value\n", program, arg);
            return -1;
        }
        zconfig_put (config, match->path, argv [++index]);
    }
    return 0;
}

int
zcq_node_main (const char *program, zactor_fn *actor, const zcq_setting_t *settings, int argc,
               char **argv)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    int rc = s_parse (program, settings, argc, argv, config);
    if (rc != 0) {
        zconfig_destroy (&config);
        return rc > 0 ? 0 : 2;
    }
    //  Every line of the node's output timestamped, below the level left out
    const char *level = NULL;
    for (const zcq_setting_t *setting = settings; setting->path; setting++) {
        const char *name = strrchr (setting->path, '/');
        if (name && streq (name, "/log_level")) {
            level = zcq_settings_text (config, settings, setting->path);
        }
    }
    int chosen = zcq_logger_level (level ? level : "info");
    zcq_logger_start (stdout, chosen >= 0 ? (zcq_log_level_t) chosen : ZCQ_LOG_INFO);
    char *message = NULL;
    //  Every value against the table before anything starts, so that a
    //  program whose actor reads its settings without zcq_settings (the
    //  console) refuses a bad one by its name too
    zactor_t *node = zcq_settings_check (config, settings, &message) == 0
                         ? zcq_node_start (actor, config, &message)
                         : NULL;
    if (!node) {
        zcq_logger_print (stderr, ZCQ_LOG_ERROR, "%s: cannot start: %s", program, message);
        free (message);
        zconfig_destroy (&config);
        return 1;
    }
    zcq_logger_print (NULL, ZCQ_LOG_NOTICE, "%s ready %s", program, message);
    free (message);

    //  Wait for a signal, or for the actor to report a fatal error
    int code = 0;
    zpoller_t *poller = zpoller_new (node, NULL);
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 500);
        if (which == node) {
            char *word = zstr_recv (node);
            zsys_error ("node stopped: %s", word ? word : "(no reason)");
            zstr_free (&word);
            code = 1;
            break;
        }
    }
    zpoller_destroy (&poller);
    zactor_destroy (&node);
    zconfig_destroy (&config);
    zsys_info ("stopped");
    return code;
}
