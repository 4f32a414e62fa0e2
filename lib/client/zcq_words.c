/*  =========================================================================
    zcq_words - "field=value" words to a msgpack map (see zcq_words.h)
    =========================================================================
*/

#include "zcq_words.h"
#include "zcq_mpack.h"

#include <czmq.h>
#include <errno.h>

//  True if text is a decimal integer that fits in int64 (no '+', no spaces).
static bool
s_is_integer (const char *text, int64_t *value)
{
    const char *digits = *text == '-' ? text + 1 : text;
    if (*digits == 0 || strspn (digits, "0123456789") != strlen (digits)) {
        return false;
    }
    errno = 0;
    long long number = strtoll (text, NULL, 10);
    if (errno == ERANGE) {
        return false;
    }
    *value = number;
    return true;
}

int
zcq_words_pack (msgpack_sbuffer *buffer, int count, const char *const *words, char **error)
{
    assert (buffer);
    assert (error);
    *error = NULL;
    for (int index = 0; index < count; index++) {
        const char *equals = strchr (words [index], '=');
        if (!equals || equals == words [index]) {
            *error = zsys_sprintf ("'%s' is not field=value", words [index]);
            return -1;
        }
    }
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, (size_t) count);
    for (int index = 0; index < count; index++) {
        const char *word = words [index];
        const char *equals = strchr (word, '=');
        bool forced = equals [-1] == ':';
        size_t key_size = (size_t) (equals - word) - (forced ? 1 : 0);
        msgpack_pack_str (&packer, key_size);
        msgpack_pack_str_body (&packer, word, key_size);
        const char *value = equals + 1;
        int64_t number;
        if (!forced && s_is_integer (value, &number)) {
            msgpack_pack_int64 (&packer, number);
        }
        else if (!forced && streq (value, "true")) {
            msgpack_pack_true (&packer);
        }
        else if (!forced && streq (value, "false")) {
            msgpack_pack_false (&packer);
        }
        else {
            zcq_mpack_pack_str (&packer, value);
        }
    }
    return 0;
}
