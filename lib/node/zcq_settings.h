/*  =========================================================================
    zcq_settings - a node's settings: values read from the zconfig tree
    that flags and a ZPL file filled
    =========================================================================
*/

#ifndef ZCQ_SETTINGS_H_INCLUDED
#define ZCQ_SETTINGS_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Read a setting as text or as a number, with a default.
const char *
    zcq_settings_get (zconfig_t *config, const char *path, const char *fallback);
int64_t
    zcq_settings_get_int (zconfig_t *config, const char *path, int64_t fallback);

#ifdef __cplusplus
}
#endif

#endif
