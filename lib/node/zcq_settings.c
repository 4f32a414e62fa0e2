/*  =========================================================================
    zcq_settings - a node's settings (see zcq_settings.h)
    =========================================================================
*/

#include "zcq_settings.h"

const char *
zcq_settings_get (zconfig_t *config, const char *path, const char *fallback)
{
    return config ? zconfig_get (config, path, fallback) : fallback;
}

int64_t
zcq_settings_get_int (zconfig_t *config, const char *path, int64_t fallback)
{
    const char *text = zcq_settings_get (config, path, NULL);
    if (!text) {
        return fallback;
    }
    char *end = NULL;
    long long value = strtoll (text, &end, 10);
    if (end == text || *end) {
        zsys_warning ("setting %s='%s' is not a number; using %" PRId64, path, text, fallback);
        return fallback;
    }
    return value;
}
