/*  =========================================================================
    zcq_assets - the console's pages, built into the program (see
    zcq_assets.h)

    The assembler copies each file of console/www/ into the program as it
    is (.incbin, given the path from the repository's root, where make
    runs), between two symbols; the Makefile rebuilds this file when one of
    them changes.
    =========================================================================
*/

#include "zcq_assets.h"

#include <string.h>

//  Embed FILE between the symbols zcq_asset_NAME and zcq_asset_NAME_end.
#define S_EMBED(name, file)                                                                    \
    __asm__(".section .rodata\n"                                                               \
            ".global zcq_asset_" #name "\n"                                                    \
            ".hidden zcq_asset_" #name "\n"                                                    \
            "zcq_asset_" #name ":\n"                                                           \
            ".incbin \"" file "\"\n"                                                           \
            ".global zcq_asset_" #name "_end\n"                                                \
            ".hidden zcq_asset_" #name "_end\n"                                                \
            "zcq_asset_" #name "_end:\n"                                                       \
            ".previous\n");                                                                    \
    extern const char zcq_asset_##name [], zcq_asset_##name##_end [];

S_EMBED (index, "console/www/index.html")
S_EMBED (script, "console/www/console.js")
S_EMBED (style, "console/www/console.css")
S_EMBED (icon, "console/www/favicon.svg")

static const zcq_asset_t s_assets [] = {
    {"/", "text/html; charset=utf-8", zcq_asset_index, zcq_asset_index_end},
    {"/console.js", "text/javascript; charset=utf-8", zcq_asset_script, zcq_asset_script_end},
    {"/console.css", "text/css; charset=utf-8", zcq_asset_style, zcq_asset_style_end},
    {"/favicon.svg", "image/svg+xml", zcq_asset_icon, zcq_asset_icon_end},
};

const zcq_asset_t *
zcq_assets_find (const char *path)
{
    if (strcmp (path, "/index.html") == 0) {
        path = "/";
    }
    for (size_t index = 0; index < sizeof (s_assets) / sizeof (s_assets [0]); index++) {
        if (strcmp (s_assets [index].path, path) == 0) {
            return &s_assets [index];
        }
    }
    return NULL;
}
