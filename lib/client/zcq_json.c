/*  =========================================================================
    zcq_json - JSON text of msgpack values and messages (see zcq_json.h)
    =========================================================================
*/

#include "zcq_json.h"
#include "zcq_mpack.h"
#include "zcq_text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

//  Bytes in the UTF-8 sequence that starts with lead, 0 if lead cannot start one.
static size_t
s_sequence_size (unsigned char lead)
{
    return lead < 0x80             ? 1
           : (lead & 0xe0) == 0xc0 ? 2
           : (lead & 0xf0) == 0xe0 ? 3
           : (lead & 0xf8) == 0xf0 ? 4
                                   : 0;
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
    if (zcq_mpack_unpack (data, size, &result) != 0) {
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
        if (zcq_msg_schema (msg) > 1) { //  as on the wire: only when not 1
            s_key (out, "schema", false);
            fprintf (out, "%" PRIu32, zcq_msg_schema (msg));
        }
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
        if (*zcq_msg_user (msg)) {
            s_text_field (out, "user", zcq_msg_user (msg)); //  who did it (secured)
        }
        if (zcq_msg_deleted (msg)) { //  its data erased: its stream was deleted
            s_key (out, "deleted", false);
            fprintf (out, "%" PRIu64, zcq_msg_deleted (msg));
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
        else if (type == ZCQ_MSG_RESULT || type == ZCQ_MSG_UPDATE) {
            if (type == ZCQ_MSG_UPDATE) {
                s_key (out, "seq", false);
                fprintf (out, "%" PRIu64, zcq_msg_seq (msg));
            }
            if (zcq_msg_may_be_stale (msg)) {
                s_key (out, "may_be_stale", false);
                fputs ("true", out);
            }
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

//  --- Parsing ----------------------------------------------------------------

#define JSON_DEPTH 64 //  nesting a parse accepts

typedef struct {
    const char *text; //  the whole input
    const char *at;   //  next character to read
    char *error;      //  first error, or NULL
} s_parser_t;

static int s_parse_value (s_parser_t *parser, msgpack_sbuffer *out, int depth);

static int
s_fail (s_parser_t *parser, const char *what)
{
    if (!parser->error) {
        parser->error = zsys_sprintf ("invalid JSON at offset %zu: %s",
                                      (size_t) (parser->at - parser->text), what);
    }
    return -1;
}

static void
s_skip_space (s_parser_t *parser)
{
    while (*parser->at == ' ' || *parser->at == '\t' || *parser->at == '\n'
           || *parser->at == '\r') {
        parser->at++;
    }
}

//  Read 4 hex digits of a \u escape.
static int
s_hex4 (s_parser_t *parser, unsigned *value)
{
    *value = 0;
    for (int index = 0; index < 4; index++) {
        char ch = *parser->at++;
        unsigned digit = ch >= '0' && ch <= '9'   ? (unsigned) (ch - '0')
                         : ch >= 'a' && ch <= 'f' ? (unsigned) (ch - 'a' + 10)
                         : ch >= 'A' && ch <= 'F' ? (unsigned) (ch - 'A' + 10)
                                                  : 16;
        if (digit == 16) {
            return s_fail (parser, "expected 4 hex digits after \\u");
        }
        *value = *value * 16 + digit;
    }
    return 0;
}

static void
s_put_utf8 (FILE *out, unsigned point)
{
    if (point < 0x80) {
        fputc ((int) point, out);
    }
    else if (point < 0x800) {
        fputc ((int) (0xc0 | (point >> 6)), out);
        fputc ((int) (0x80 | (point & 0x3f)), out);
    }
    else if (point < 0x10000) {
        fputc ((int) (0xe0 | (point >> 12)), out);
        fputc ((int) (0x80 | ((point >> 6) & 0x3f)), out);
        fputc ((int) (0x80 | (point & 0x3f)), out);
    }
    else {
        fputc ((int) (0xf0 | (point >> 18)), out);
        fputc ((int) (0x80 | ((point >> 12) & 0x3f)), out);
        fputc ((int) (0x80 | ((point >> 6) & 0x3f)), out);
        fputc ((int) (0x80 | (point & 0x3f)), out);
    }
}

//  A JSON string (at the opening quote) into a new buffer.
static int
s_parse_string (s_parser_t *parser, char **text, size_t *size)
{
    parser->at++; //  the opening quote
    FILE *out = open_memstream (text, size);
    assert (out);
    int rc = 0;
    while (rc == 0 && *parser->at != '"') {
        unsigned char ch = (unsigned char) *parser->at;
        if (ch == 0) {
            rc = s_fail (parser, "string not closed");
        }
        else if (ch < 0x20) {
            rc = s_fail (parser, "control character in a string");
        }
        else if (ch != '\\') {
            fputc (ch, out);
            parser->at++;
        }
        else {
            parser->at++;
            char escape = *parser->at++;
            unsigned point;
            switch (escape) {
                case '"':
                    fputc ('"', out);
                    break;
                case '\\':
                    fputc ('\\', out);
                    break;
                case '/':
                    fputc ('/', out);
                    break;
                case 'b':
                    fputc ('\b', out);
                    break;
                case 'f':
                    fputc ('\f', out);
                    break;
                case 'n':
                    fputc ('\n', out);
                    break;
                case 'r':
                    fputc ('\r', out);
                    break;
                case 't':
                    fputc ('\t', out);
                    break;
                case 'u':
                    rc = s_hex4 (parser, &point);
                    if (rc == 0 && point >= 0xd800 && point <= 0xdbff) {
                        unsigned low;
                        if (parser->at [0] != '\\' || parser->at [1] != 'u') {
                            rc = s_fail (parser, "lone high surrogate");
                            break;
                        }
                        parser->at += 2;
                        rc = s_hex4 (parser, &low);
                        if (rc == 0 && (low < 0xdc00 || low > 0xdfff)) {
                            rc = s_fail (parser, "bad low surrogate");
                        }
                        point = 0x10000 + ((point - 0xd800) << 10) + (low - 0xdc00);
                    }
                    else if (rc == 0 && point >= 0xdc00 && point <= 0xdfff) {
                        rc = s_fail (parser, "lone low surrogate");
                    }
                    if (rc == 0) {
                        s_put_utf8 (out, point);
                    }
                    break;
                default:
                    parser->at--;
                    rc = s_fail (parser, "unknown escape");
                    break;
            }
        }
    }
    fclose (out);
    if (rc == 0) {
        parser->at++; //  the closing quote
    }
    else {
        free (*text);
        *text = NULL;
    }
    return rc;
}

static int
s_parse_number (s_parser_t *parser, msgpack_packer *packer)
{
    const char *start = parser->at;
    const char *digits = *start == '-' ? start + 1 : start;
    size_t integer = strspn (digits, "0123456789");
    if (integer == 0 || (digits [0] == '0' && integer > 1)) {
        return s_fail (parser, "bad number");
    }
    const char *end = digits + integer;
    bool fraction = *end == '.' || *end == 'e' || *end == 'E';
    errno = 0;
    char *stop = NULL;
    if (!fraction && *start == '-') {
        long long value = strtoll (start, &stop, 10);
        if (errno == 0) {
            msgpack_pack_int64 (packer, value);
            parser->at = stop;
            return 0;
        }
    }
    else if (!fraction) {
        unsigned long long value = strtoull (start, &stop, 10);
        if (errno == 0) {
            msgpack_pack_uint64 (packer, value);
            parser->at = stop;
            return 0;
        }
    }
    //  Fractions, exponents and integers out of 64-bit range: a double
    errno = 0;
    double value = strtod (start, &stop);
    if (stop == start) {
        return s_fail (parser, "bad number");
    }
    msgpack_pack_double (packer, value);
    parser->at = stop;
    return 0;
}

//  Parse the items of an array or object (at the opening bracket) into
//  out: a header with their count, then the items.
static int
s_parse_container (s_parser_t *parser, msgpack_sbuffer *out, int depth, bool object)
{
    char close = object ? '}' : ']';
    parser->at++;
    msgpack_sbuffer items;
    msgpack_sbuffer_init (&items);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &items, msgpack_sbuffer_write);
    size_t count = 0;
    int rc = 0;
    s_skip_space (parser);
    if (*parser->at == close) {
        parser->at++;
    }
    else {
        while (rc == 0) {
            s_skip_space (parser);
            if (object) {
                char *key = NULL;
                size_t size = 0;
                if (*parser->at != '"') {
                    rc = s_fail (parser, "expected a string key");
                    break;
                }
                if ((rc = s_parse_string (parser, &key, &size)) != 0) {
                    break;
                }
                msgpack_pack_str (&packer, size);
                msgpack_pack_str_body (&packer, key, size);
                free (key);
                s_skip_space (parser);
                if (*parser->at != ':') {
                    rc = s_fail (parser, "expected ':' after a key");
                    break;
                }
                parser->at++;
            }
            if ((rc = s_parse_value (parser, &items, depth + 1)) != 0) {
                break;
            }
            count++;
            s_skip_space (parser);
            if (*parser->at == ',') {
                parser->at++;
            }
            else if (*parser->at == close) {
                parser->at++;
                break;
            }
            else {
                rc = s_fail (parser, object ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
    }
    if (rc == 0) {
        msgpack_packer header;
        msgpack_packer_init (&header, out, msgpack_sbuffer_write);
        if (object) {
            msgpack_pack_map (&header, count);
        }
        else {
            msgpack_pack_array (&header, count);
        }
        msgpack_sbuffer_write (out, items.data, items.size);
    }
    msgpack_sbuffer_destroy (&items);
    return rc;
}

static int
s_parse_value (s_parser_t *parser, msgpack_sbuffer *out, int depth)
{
    if (depth > JSON_DEPTH) {
        return s_fail (parser, "nested too deep");
    }
    msgpack_packer packer;
    msgpack_packer_init (&packer, out, msgpack_sbuffer_write);
    s_skip_space (parser);
    char ch = *parser->at;
    if (ch == '{' || ch == '[') {
        return s_parse_container (parser, out, depth, ch == '{');
    }
    if (ch == '"') {
        char *text = NULL;
        size_t size = 0;
        if (s_parse_string (parser, &text, &size) != 0) {
            return -1;
        }
        msgpack_pack_str (&packer, size);
        msgpack_pack_str_body (&packer, text, size);
        free (text);
        return 0;
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        return s_parse_number (parser, &packer);
    }
    if (strncmp (parser->at, "true", 4) == 0) {
        parser->at += 4;
        msgpack_pack_true (&packer);
        return 0;
    }
    if (strncmp (parser->at, "false", 5) == 0) {
        parser->at += 5;
        msgpack_pack_false (&packer);
        return 0;
    }
    if (strncmp (parser->at, "null", 4) == 0) {
        parser->at += 4;
        msgpack_pack_nil (&packer);
        return 0;
    }
    return s_fail (parser, ch ? "expected a value" : "unexpected end");
}

int
zcq_json_to_msgpack (const char *text, msgpack_sbuffer *buffer, char **error)
{
    assert (text);
    assert (buffer);
    assert (error);
    s_parser_t parser = {text, text, NULL};
    size_t mark = buffer->size;
    int rc = s_parse_value (&parser, buffer, 0);
    if (rc == 0) {
        s_skip_space (&parser);
        if (*parser.at) {
            rc = s_fail (&parser, "text after the value");
        }
    }
    if (rc != 0) {
        buffer->size = mark; //  leave the buffer as it was
    }
    *error = parser.error;
    return rc;
}
