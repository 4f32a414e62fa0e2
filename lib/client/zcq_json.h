/*  =========================================================================
    zcq_json - JSON text of msgpack values and of protocol messages, as the
    CLI prints them (one line each). Binary becomes a hex string.
    =========================================================================
*/

#ifndef ZCQ_JSON_H_INCLUDED
#define ZCQ_JSON_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

//  JSON of packed msgpack (exactly one object). Returns a new string
//  (caller frees), or NULL if the bytes are not one msgpack object.
char *
    zcq_json_from_msgpack (const void *data, size_t size);

//  One-line JSON of a REPLY, RESULT, EVENT, HEARTBEAT or ERROR: its status,
//  positions and payload. Returns a new string (caller frees).
char *
    zcq_json_from_msg (zcq_msg_t *msg);

//  Parse JSON text (one value, surrounding white space allowed) into packed
//  msgpack appended to buffer: integers stay integers (int64, or uint64
//  above its range), other numbers become doubles. Returns 0, or -1 with a
//  reason in *error (caller frees) that says what was expected where.
int
    zcq_json_to_msgpack (const char *text, msgpack_sbuffer *buffer, char **error);

#ifdef __cplusplus
}
#endif

#endif
