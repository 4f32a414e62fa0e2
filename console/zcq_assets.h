/*  =========================================================================
    zcq_assets - the files of the console's pages (console/www/): built
    into the program, so that it needs nothing at run time but itself (no
    CDN, no folder to install, works with no internet)
    =========================================================================
*/

#ifndef ZCQ_ASSETS_H_INCLUDED
#define ZCQ_ASSETS_H_INCLUDED

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  One file served as it is.
typedef struct {
    const char *path;   //  URL path, e.g. "/console.js"
    const char *type;   //  its Content-Type
    const char *data;   //  its bytes (static)
    const char *end;    //  just after its last byte
} zcq_asset_t;

//  The file at this URL path ("/" is index.html), or NULL.
const zcq_asset_t *
    zcq_assets_find (const char *path);

#ifdef __cplusplus
}
#endif

#endif
