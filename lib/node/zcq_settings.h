/*  =========================================================================
    zcq_settings - a node's settings, through its settings table (the
    zcq_setting_t rows of zcq_node.h): check what flags and a ZPL file put
    in the zconfig tree, read values with the table's defaults, print the
    table as --help and as README's configuration reference
    =========================================================================
*/

#ifndef ZCQ_SETTINGS_H_INCLUDED
#define ZCQ_SETTINGS_H_INCLUDED

#include "zcq_node.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The row of path in the table, or NULL if the table has none. A row whose
//  path ends in "*" matches any last part there.
const zcq_setting_t *
    zcq_settings_find (const zcq_setting_t *table, const char *path);

//  Check every setting of the table that config holds: a number must be a
//  decimal integer in its range, a choice one of its words. Returns 0, or -1
//  with *error (caller frees) naming the setting, what it accepts and what
//  it got.
int
    zcq_settings_check (zconfig_t *config, const zcq_setting_t *table, char **error);

//  The path of the first setting or section in tree (a zconfig tree as
//  loaded, whose children are sections) that the table does not know, or
//  NULL if it knows them all. A section is known when a row lies below it.
//  The caller frees the path.
char *
    zcq_settings_unknown (zconfig_t *tree, const zcq_setting_t *table);

//  The known setting or section nearest to path (by edit distance), for a
//  "did you mean" hint. The caller frees it.
char *
    zcq_settings_nearest (const zcq_setting_t *table, const char *path);

//  The value of a setting as a config file in folder means it: a relative
//  path of a file setting is joined to folder; anything else is copied.
//  The caller frees the result.
char *
    zcq_settings_resolve (const zcq_setting_t *setting, const char *value, const char *folder);

//  The value of a setting of the table (path must be in it): what config
//  holds, else the table's default (NULL when it has none). Borrowed from
//  config or the table.
const char *
    zcq_settings_text (zconfig_t *config, const zcq_setting_t *table, const char *path);

//  The value of a number setting of the table, after zcq_settings_check
//  passed (else the default).
int64_t
    zcq_settings_number (zconfig_t *config, const zcq_setting_t *table, const char *path);

//  Print the flags of the table as --help shows them.
void
    zcq_settings_usage (const zcq_setting_t *table, FILE *out);

//  Print the table as README's configuration reference shows it: one
//  Markdown table, one row per setting (path below its section, flag,
//  default, help).
void
    zcq_settings_reference (const zcq_setting_t *table, FILE *out);

//  Print the table as a ZPL config file: every setting with its help as a
//  comment, set to its value in values (full paths; NULL: none) or to its
//  default; a setting without either is a commented line naming what it
//  takes. Rows below one section must be adjacent in the table.
void
    zcq_settings_zpl (const zcq_setting_t *table, zconfig_t *values, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
