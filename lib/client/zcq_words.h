/*  =========================================================================
    zcq_words - turn "field=value" words into a msgpack map, the way the CLI
    takes command data and query parameters: a value that is a decimal
    integer becomes an integer, true/false become booleans, anything else
    a string; "field:=value" forces a string.
    =========================================================================
*/

#ifndef ZCQ_WORDS_H_INCLUDED
#define ZCQ_WORDS_H_INCLUDED

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Pack count words as one map into buffer. Returns 0, or -1 with a reason
//  in *error (caller frees) naming the word that is not field=value.
int
    zcq_words_pack (msgpack_sbuffer *buffer, int count, const char *const *words,
                    char **error);

#ifdef __cplusplus
}
#endif

#endif
