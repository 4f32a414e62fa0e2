/*  =========================================================================
    zcq_settings - a node's settings, through its settings table (see
    zcq_settings.h)
    =========================================================================
*/

#include "zcq_settings.h"

#include <ctype.h>
#include <errno.h>

//  True if a table path ("write/security/roles/*") names this path.
static bool
s_matches (const char *pattern, const char *path)
{
    size_t size = strlen (pattern);
    if (size >= 2 && streq (pattern + size - 2, "/*")) {
        //  Any one last part below the pattern's folder
        return strncmp (pattern, path, size - 1) == 0 && path [size - 1]
               && !strchr (path + size - 1, '/');
    }
    return streq (pattern, path);
}

const zcq_setting_t *
zcq_settings_find (const zcq_setting_t *table, const char *path)
{
    assert (table);
    assert (path);
    for (const zcq_setting_t *setting = table; setting->path; setting++) {
        if (s_matches (setting->path, path)) {
            return setting;
        }
    }
    return NULL;
}

//  True if some row of the table lies below path ("write/security").
static bool
s_section (const zcq_setting_t *table, const char *path)
{
    size_t size = strlen (path);
    for (const zcq_setting_t *setting = table; setting->path; setting++) {
        if (strncmp (setting->path, path, size) == 0 && setting->path [size] == '/') {
            return true;
        }
    }
    return false;
}

//  The first unknown name below item (whose path is path, "" at the root).
static char *
s_unknown_below (zconfig_t *item, const char *path, const zcq_setting_t *table)
{
    for (zconfig_t *child = zconfig_child (item); child; child = zconfig_next (child)) {
        char *inner = *path ? zsys_sprintf ("%s/%s", path, zconfig_name (child))
                            : strdup (zconfig_name (child));
        bool setting = zcq_settings_find (table, inner) != NULL;
        bool section = s_section (table, inner);
        const char *value = zconfig_value (child);
        bool valued = value && *value;
        if ((!setting && !section) || (valued && !setting)
            || (zconfig_child (child) && !section)) {
            return inner;
        }
        char *deeper = s_unknown_below (child, inner, table);
        free (inner);
        if (deeper) {
            return deeper;
        }
    }
    return NULL;
}

char *
zcq_settings_unknown (zconfig_t *tree, const zcq_setting_t *table)
{
    assert (table);
    return tree ? s_unknown_below (tree, "", table) : NULL;
}

//  Edit distance (Levenshtein, ignoring case) of two short texts; texts
//  longer than 127 characters count as far from everything.
static size_t
s_distance (const char *one, const char *two)
{
    size_t size_one = strlen (one), size_two = strlen (two);
    if (size_one > 127 || size_two > 127) {
        return SIZE_MAX;
    }
    size_t row [128];
    for (size_t column = 0; column <= size_two; column++) {
        row [column] = column;
    }
    for (size_t line = 1; line <= size_one; line++) {
        size_t diagonal = row [0];
        row [0] = line;
        for (size_t column = 1; column <= size_two; column++) {
            size_t above = row [column];
            size_t cost = tolower ((unsigned char) one [line - 1])
                                  == tolower ((unsigned char) two [column - 1])
                              ? 0
                              : 1;
            size_t best = diagonal + cost;
            if (above + 1 < best) {
                best = above + 1;
            }
            if (row [column - 1] + 1 < best) {
                best = row [column - 1] + 1;
            }
            row [column] = best;
            diagonal = above;
        }
    }
    return row [size_two];
}

char *
zcq_settings_nearest (const zcq_setting_t *table, const char *path)
{
    assert (table);
    assert (path);
    //  Candidates: every row's path, and every section above a row
    char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (const zcq_setting_t *setting = table; setting->path; setting++) {
        size_t whole = strlen (setting->path);
        for (size_t size = 1; size <= whole; size++) {
            if (size < whole && setting->path [size] != '/') {
                continue;
            }
            char *candidate = strndup (setting->path, size);
            size_t distance = s_distance (candidate, path);
            if (distance < best_distance) {
                free (best);
                best = candidate;
                best_distance = distance;
            }
            else {
                free (candidate);
            }
        }
    }
    return best ? best : strdup ("");
}

char *
zcq_settings_resolve (const zcq_setting_t *setting, const char *value, const char *folder)
{
    assert (value);
    bool relative = *value && *value != '/' && folder && setting
                    && (setting->file == ZCQ_SETTING_FILE
                        || (setting->file == ZCQ_SETTING_FILE_OR_NAME && strchr (value, '/')));
    return relative ? zsys_sprintf ("%s/%s", folder, value) : strdup (value);
}

//  Parse a whole decimal integer. Returns 0, or -1 if text is not one.
static int
s_number (const char *text, int64_t *value)
{
    char *end = NULL;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (end == text || *end || errno == ERANGE) {
        return -1;
    }
    *value = number;
    return 0;
}

//  True if word is one of choices ("sync|async").
static bool
s_chosen (const char *choices, const char *word)
{
    size_t size = strlen (word);
    const char *start = choices;
    while (size > 0 && start && *start) {
        const char *end = strchr (start, '|');
        size_t length = end ? (size_t) (end - start) : strlen (start);
        if (length == size && strncmp (start, word, size) == 0) {
            return true;
        }
        start = end ? end + 1 : NULL;
    }
    return false;
}

//  Check one setting's value. Returns NULL, or what is wrong (caller frees).
static char *
s_check_value (const zcq_setting_t *setting, const char *path, const char *value)
{
    int64_t number;
    if (setting->type == ZCQ_SETTING_NUMBER
        && (s_number (value, &number) != 0 || number < setting->min || number > setting->max)) {
        return zsys_sprintf ("setting %s must be a whole number from %" PRId64 " to %" PRId64
                             ", got '%s'",
                             path, setting->min, setting->max, value);
    }
    if (setting->type == ZCQ_SETTING_CHOICE && !s_chosen (setting->choices, value)) {
        //  "'sync' or 'async'", "'a', 'b' or 'c'"
        char words [256] = "";
        const char *start = setting->choices;
        while (start) {
            const char *end = strchr (start, '|');
            int size = end ? (int) (end - start) : (int) strlen (start);
            size_t used = strlen (words);
            snprintf (words + used, sizeof (words) - used, "%s'%.*s'",
                      used == 0 ? ""
                      : end     ? ", "
                                : " or ",
                      size, start);
            start = end ? end + 1 : NULL;
        }
        return zsys_sprintf ("setting %s must be %s, got '%s'", path, words, value);
    }
    return NULL;
}

//  Check every value at or below item (its path is path) against the table.
static char *
s_check_tree (zconfig_t *item, const char *path, const zcq_setting_t *table)
{
    const char *value = zconfig_value (item);
    const zcq_setting_t *setting = *path ? zcq_settings_find (table, path) : NULL;
    if (setting && value && *value) {
        char *error = s_check_value (setting, path, value);
        if (error) {
            return error;
        }
    }
    for (zconfig_t *child = zconfig_child (item); child; child = zconfig_next (child)) {
        char *inner = *path ? zsys_sprintf ("%s/%s", path, zconfig_name (child))
                            : strdup (zconfig_name (child));
        char *error = s_check_tree (child, inner, table);
        free (inner);
        if (error) {
            return error;
        }
    }
    return NULL;
}

int
zcq_settings_check (zconfig_t *config, const zcq_setting_t *table, char **error)
{
    assert (table);
    assert (error);
    *error = config ? s_check_tree (config, "", table) : NULL;
    return *error ? -1 : 0;
}

const char *
zcq_settings_text (zconfig_t *config, const zcq_setting_t *table, const char *path)
{
    const zcq_setting_t *setting = zcq_settings_find (table, path);
    assert (setting); //  a node reads only the settings its table has
    const char *value = config ? zconfig_get (config, path, NULL) : NULL;
    return value && *value ? value : setting->fallback;
}

int64_t
zcq_settings_number (zconfig_t *config, const zcq_setting_t *table, const char *path)
{
    const zcq_setting_t *setting = zcq_settings_find (table, path);
    assert (setting && setting->type == ZCQ_SETTING_NUMBER);
    int64_t value = 0;
    const char *text = zcq_settings_text (config, table, path);
    if (!text || s_number (text, &value) != 0) {
        int rc = s_number (setting->fallback, &value);
        assert (rc == 0); //  a table's number defaults are numbers
        (void) rc;
    }
    return value;
}

//  What --help calls a flag's value.
static const char *
s_arg (const zcq_setting_t *setting)
{
    return setting->arg                          ? setting->arg
           : setting->type == ZCQ_SETTING_NUMBER ? "N"
           : setting->type == ZCQ_SETTING_CHOICE ? setting->choices
                                                 : "TEXT";
}

//  Print text in lines of at most width columns, each after indent spaces
//  but the first (which goes on where the cursor is, at column indent).
static void
s_wrap (FILE *out, const char *text, int indent, int width)
{
    int column = indent;
    const char *word = text;
    while (*word) {
        const char *end = strchr (word, ' ');
        int size = end ? (int) (end - word) : (int) strlen (word);
        if (column > indent && column + 1 + size > width) {
            fprintf (out, "\n%*s", indent, "");
            column = indent;
        }
        else if (column > indent) {
            fputc (' ', out);
            column++;
        }
        fprintf (out, "%.*s", size, word);
        column += size;
        word += size;
        while (*word == ' ') {
            word++;
        }
    }
    fputc ('\n', out);
}

void
zcq_settings_usage (const zcq_setting_t *table, FILE *out)
{
    assert (table);
    for (const zcq_setting_t *setting = table; setting->path; setting++) {
        if (!setting->flag) {
            continue;
        }
        char *left = setting->bare ? zsys_sprintf ("%s [%s]", setting->flag, s_arg (setting))
                                   : zsys_sprintf ("%s %s", setting->flag, s_arg (setting));
        char *help = setting->fallback ? zsys_sprintf ("%s [%s] (%s)", setting->help,
                                                       setting->fallback, setting->path)
                                       : zsys_sprintf ("%s (%s)", setting->help, setting->path);
        fprintf (out, "  %-26s ", left);
        s_wrap (out, help, 29, 96);
        free (help);
        free (left);
    }
}

void
zcq_settings_reference (const zcq_setting_t *table, FILE *out)
{
    assert (table);
    //  Rows name their path below the table's section ("write/")
    const char *slash = table->path ? strchr (table->path, '/') : NULL;
    int section = slash ? (int) (slash - table->path) + 1 : 0;
    fprintf (out, "| `%.*s...` | flag | default | |\n|---|---|---|---|\n", section,
             table->path ? table->path : "");
    for (const zcq_setting_t *setting = table; setting->path; setting++) {
        fprintf (out, "| `%s` | ", setting->path + section);
        if (setting->flag) {
            fprintf (out, "`%s`", setting->flag);
        }
        fprintf (out, " | ");
        if (setting->fallback) {
            fprintf (out, "`%s`", setting->fallback);
        }
        fprintf (out, " | %s", setting->help);
        if (setting->flag && setting->bare) {
            fprintf (out, " (a bare `%s` means `%s`)", setting->flag, setting->bare);
        }
        fprintf (out, " |\n");
    }
}

//  Print help as ZPL comment lines at this indent, wrapped near 92 columns.
static void
s_comment (FILE *out, int indent, const char *help)
{
    const char *word = help;
    while (*word) {
        fprintf (out, "%*s#  ", indent, "");
        int column = indent + 3;
        while (*word) {
            const char *end = strchr (word, ' ');
            int size = end ? (int) (end - word) : (int) strlen (word);
            if (column > indent + 3 && column + 1 + size > 92) {
                break;
            }
            fprintf (out, " %.*s", size, word);
            column += 1 + size;
            word += size;
            while (*word == ' ') {
                word++;
            }
        }
        fputc ('\n', out);
    }
}

//  Where the part of a path that starts at from ends: at its next '/' below
//  limit, or at limit.
static size_t
s_part_end (const char *path, size_t from, size_t limit)
{
    const char *slash = memchr (path + from, '/', limit - from);
    return slash ? (size_t) (slash - path) : limit;
}

void
zcq_settings_zpl (const zcq_setting_t *table, zconfig_t *values, FILE *out)
{
    assert (table);
    //  The sections open now, as the path prefix of the last row printed
    const char *open = "";
    size_t open_size = 0;
    for (const zcq_setting_t *setting = table; setting->path; setting++) {
        const char *path = setting->path;
        const char *last = strrchr (path, '/');
        size_t folder = last ? (size_t) (last - path) : 0;
        //  Keep the open sections this row shares, then open the rest
        int depth = 0;
        size_t at = 0;
        while (at < folder && at < open_size) {
            size_t end = s_part_end (path, at, folder);
            if (end != s_part_end (open, at, open_size)
                || memcmp (path + at, open + at, end - at)) {
                break;
            }
            depth++;
            at = end + 1;
        }
        while (at < folder) {
            size_t end = s_part_end (path, at, folder);
            if (depth == 0) {
                fputc ('\n', out);
            }
            fprintf (out, "%*s%.*s\n", 4 * depth, "", (int) (end - at), path + at);
            depth++;
            at = end + 1;
        }
        open = path;
        open_size = folder;
        //  The setting: its help, then its value, its default, or what it takes
        const char *name = last ? last + 1 : path;
        const char *value = values ? zconfig_get (values, path, NULL) : NULL;
        if (!value || !*value) {
            value = setting->fallback;
        }
        char *help = setting->flag ? zsys_sprintf ("%s (flag %s)", setting->help, setting->flag)
                                   : strdup (setting->help);
        s_comment (out, 4 * depth, help);
        free (help);
        bool quoted = setting->type != ZCQ_SETTING_NUMBER;
        if (streq (name, "*")) {
            fprintf (out, "%*s#   NAME = \"...\"\n", 4 * depth, "");
        }
        else if (!value) {
            fprintf (out, "%*s#   %s = \"%s\"\n", 4 * depth, "", name, s_arg (setting));
        }
        else {
            fprintf (out, "%*s%s = %s%s%s\n", 4 * depth, "", name, quoted ? "\"" : "", value,
                     quoted ? "\"" : "");
        }
    }
}
