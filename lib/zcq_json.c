/*  =========================================================================
    zcq_json - JSON text of msgpack values and messages (see zcq_json.h)
    =========================================================================
*/

#include "zcq_json.h"
#include "zcq_fields.h"
#include "zcq_text.h"

#include <math.h>
#include <stdio.h>

//  Bytes in the UTF-8 sequence that starts with lead, 0 if lead cannot start one.
static size_t
s_sequence_size (unsigned char lead)
{
    return lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3
                         : (lead & 0xf8) == 0xf0 ? 4 : 0;
}

//  A JSON string of arbitrary bytes: well-formed UTF-8 is kept, control
//  characters are escaped, and a byte that is not part of a well-formed
//  sequence becomes the code point of the same value (\u00XX): nothing is
//  dropped and the output is always valid JSON.
static void
s_string (FILE *out, const char *text, size_t size)
{
    fputc ('"', out);
    size_t index = 0;
    while (index < size) {
        unsigned char ch = (unsigned char) text [index];
        size_t length = s_sequence_size (ch);
        if (ch == '"' || ch == '\\') {
            fprintf (out, "\\%c", ch);
        }
        else if (ch == '\n') {
            fputs ("\\n", out);
        }
        else if (ch == '\t') {
            fputs ("\\t", out);
        }
        else if (ch < 0x20 || ch == 0x7f) {
            fprintf (out, "\\u%04x", ch);
        }
        else if (length == 1) {
            fputc (ch, out);
        }
        else if (length > 1 && index + length <= size
                 && zcq_text_is_utf8 (text + index, length)) {
            fwrite (text + index, 1, length, out);
            index += length;
            continue;
        }
        else {
            fprintf (out, "\\u%04x", ch);
        }
        index++;
    }
    fputc ('"', out);
}

static void
s_hex (FILE *out, const byte *data, size_t size)
{
    fputc ('"', out);
    for (size_t index = 0; index < size; index++) {
        fprintf (out, "%02x", data [index]);
    }
    fputc ('"', out);
}

static void
s_object (FILE *out, const msgpack_object *object)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL:
            fputs ("null", out);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            fputs (object->via.boolean ? "true" : "false", out);
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            fprintf (out, "%" PRIu64, object->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            fprintf (out, "%" PRId64, object->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            if (isfinite (object->via.f64)) {
                fprintf (out, "%.17g", object->via.f64);
            }
            else {
                fputs ("null", out);
            }
            break;
        case MSGPACK_OBJECT_STR:
            s_string (out, object->via.str.ptr, object->via.str.size);
            break;
        case MSGPACK_OBJECT_BIN:
            s_hex (out, (const byte *) object->via.bin.ptr, object->via.bin.size);
            break;
        case MSGPACK_OBJECT_EXT:
            s_hex (out, (const byte *) object->via.ext.ptr, object->via.ext.size);
            break;
        case MSGPACK_OBJECT_ARRAY:
            fputc ('[', out);
            for (uint32_t index = 0; index < object->via.array.size; index++) {
                if (index) {
                    fputc (',', out);
                }
                s_object (out, &object->via.array.ptr [index]);
            }
            fputc (']', out);
            break;
        case MSGPACK_OBJECT_MAP:
            fputc ('{', out);
            for (uint32_t index = 0; index < object->via.map.size; index++) {
                const msgpack_object *key = &object->via.map.ptr [index].key;
                if (index) {
                    fputc (',', out);
                }
                if (key->type == MSGPACK_OBJECT_STR) {
                    s_object (out, key);
                }
                else {
                    //  JSON keys are strings: quote the key's own JSON
                    char *text = NULL;
                    size_t length = 0;
                    FILE *inner = open_memstream (&text, &length);
                    s_object (inner, key);
                    fclose (inner);
                    s_string (out, text, length);
                    free (text);
                }
                fputc (':', out);
                s_object (out, &object->via.map.ptr [index].val);
            }
            fputc ('}', out);
            break;
        default:
            fputs ("null", out);
            break;
    }
}

//  Write packed msgpack as JSON; "null" when empty.
static int
s_packed (FILE *out, const void *data, size_t size)
{
    if (size == 0) {
        fputs ("null", out);
        return 0;
    }
    msgpack_unpacked result;
    if (zcq_fields_unpack (data, size, &result) != 0) {
        return -1;
    }
    s_object (out, &result.data);
    msgpack_unpacked_destroy (&result);
    return 0;
}

char *
zcq_json_from_msgpack (const void *data, size_t size)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream (&text, &length);
    assert (out);
    int rc = s_packed (out, data, size);
    fclose (out);
    if (rc != 0) {
        free (text);
        return NULL;
    }
    return text;
}

static void
s_key (FILE *out, const char *key, bool first)
{
    if (!first) {
        fputc (',', out);
    }
    s_string (out, key, strlen (key));
    fputc (':', out);
}

static void
s_text_field (FILE *out, const char *key, const char *value)
{
    s_key (out, key, false);
    s_string (out, value, strlen (value));
}

char *
zcq_json_from_msg (zcq_msg_t *msg)
{
    assert (msg);
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream (&text, &length);
    assert (out);
    zcq_msg_type_t type = zcq_msg_type (msg);
    fputc ('{', out);
    if (type == ZCQ_MSG_EVENT) {
        s_key (out, "position", true);
        fprintf (out, "%" PRIu64, zcq_msg_position (msg));
        s_text_field (out, "stream", zcq_msg_stream (msg));
        s_key (out, "version", false);
        fprintf (out, "%" PRIu64, zcq_msg_version (msg));
        s_text_field (out, "type", zcq_msg_name (msg));
        s_key (out, "data", false);
        if (s_packed (out, zcq_msg_data (msg), zcq_msg_data_size (msg)) != 0) {
            fputs ("null", out);
        }
        s_key (out, "meta", false);
        fputc ('{', out);
        s_key (out, "command", true);
        s_hex (out, zcq_msg_id (msg), zcq_msg_id_size (msg));
        s_key (out, "time", false);
        fprintf (out, "%" PRId64, zcq_msg_time (msg));
        if (*zcq_msg_correlation (msg)) {
            s_text_field (out, "correlation", zcq_msg_correlation (msg));
        }
        fputc ('}', out);
    }
    else if (type == ZCQ_MSG_HEARTBEAT) {
        s_key (out, "heartbeat", true);
        fputs ("true", out);
        s_key (out, "head", false);
        fprintf (out, "%" PRIu64, zcq_msg_head (msg));
        s_key (out, "time", false);
        fprintf (out, "%" PRId64, zcq_msg_time (msg));
    }
    else {
        s_key (out, "status", true);
        s_string (out, zcq_status_name (zcq_msg_status (msg)),
                  strlen (zcq_status_name (zcq_msg_status (msg))));
        if (type == ZCQ_MSG_REPLY) {
            s_key (out, "version", false);
            fprintf (out, "%" PRIu64, zcq_msg_version (msg));
            s_key (out, "position", false);
            fprintf (out, "%" PRIu64, zcq_msg_position (msg));
            s_key (out, "count", false);
            fprintf (out, "%u", zcq_msg_count (msg));
        }
        else if (type == ZCQ_MSG_RESULT) {
            s_key (out, "position", false);
            fprintf (out, "%" PRIu64, zcq_msg_position (msg));
            s_key (out, "result", false);
            if (s_packed (out, zcq_msg_data (msg), zcq_msg_data_size (msg)) != 0) {
                fputs ("null", out);
            }
        }
        if (*zcq_msg_reason (msg)) {
            s_text_field (out, "reason", zcq_msg_reason (msg));
        }
        if (zcq_msg_id_size (msg)) {
            s_key (out, "id", false);
            s_hex (out, zcq_msg_id (msg), zcq_msg_id_size (msg));
        }
    }
    fputc ('}', out);
    fclose (out);
    return text;
}
