/*  =========================================================================
    zcq_history - the chaos workload's history file (see zcq_history.h)
    =========================================================================
*/

#include "zcq_history.h"

#include <pthread.h>
#include <stdarg.h>

struct _zcq_history_t {
    FILE *file;           //  the history, appended line by line
    pthread_mutex_t lock; //  one writer at a time, whole lines only
};

zcq_history_t *
zcq_history_new (const char *path)
{
    assert (path);
    FILE *file = fopen (path, "w");
    if (!file) {
        return NULL;
    }
    zcq_history_t *self = (zcq_history_t *) zmalloc (sizeof (zcq_history_t));
    assert (self);
    self->file = file;
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
zcq_history_destroy (zcq_history_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_history_t *self = *self_p;
        fclose (self->file);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *self_p = NULL;
    }
}

void
zcq_history_write (zcq_history_t *self, const char *format, ...)
{
    assert (self);
    va_list args;
    va_start (args, format);
    pthread_mutex_lock (&self->lock);
    vfprintf (self->file, format, args);
    fputc ('\n', self->file);
    //  Flushed per line: a workload that is killed loses no finished line
    fflush (self->file);
    pthread_mutex_unlock (&self->lock);
    va_end (args);
}

void
zcq_history_quote (char *buffer, size_t size, const char *text)
{
    assert (buffer && size >= 3 && text);
    size_t used = 0;
    buffer [used++] = '"';
    for (const char *next = text; *next && used + 8 < size; next++) {
        unsigned char c = (unsigned char) *next;
        if (c == '"' || c == '\\') {
            buffer [used++] = '\\';
            buffer [used++] = (char) c;
        }
        else if (c < 0x20) {
            used += (size_t) snprintf (buffer + used, size - used, "\\u%04x", c);
        }
        else {
            buffer [used++] = (char) c;
        }
    }
    buffer [used++] = '"';
    buffer [used] = 0;
}

void
zcq_history_hex (const byte *id, size_t size, char *hex)
{
    for (size_t index = 0; index < size; index++) {
        sprintf (hex + 2 * index, "%02x", id [index]);
    }
    hex [2 * size] = 0;
}

//  Copy the string value of key into text (empty if absent or not a string).
static void
s_text (const msgpack_object *map, const char *key, char *text, size_t size)
{
    const msgpack_object *value = zcq_map_get (map, key);
    text [0] = 0;
    if (value && value->type == MSGPACK_OBJECT_STR) {
        size_t length = value->via.str.size < size - 1 ? value->via.str.size : size - 1;
        memcpy (text, value->via.str.ptr, length);
        text [length] = 0;
    }
}

int64_t
zcq_history_int (const msgpack_object *map, const char *key, int64_t fallback)
{
    const msgpack_object *value = zcq_map_get (map, key);
    if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return (int64_t) value->via.u64;
    }
    if (value && value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return value->via.i64;
    }
    return fallback;
}

//  Integer value of key, or 0.
static int64_t
s_int (const msgpack_object *map, const char *key)
{
    return zcq_history_int (map, key, 0);
}

static void
s_command_destroy (void **item)
{
    zcq_history_command_t *command = (zcq_history_command_t *) *item;
    if (command) {
        free (command->disagreement);
        free (command);
        *item = NULL;
    }
}

static void
s_query_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

//  Take one reply line into its command: the first final reply counts, a
//  later final reply that says something else is a disagreement.
static void
s_take_reply (zcq_history_command_t *command, const msgpack_object *map)
{
    char name [32];
    s_text (map, "status", name, sizeof (name));
    int status = zcq_status_from_name (name, strlen (name));
    if (status < 0) {
        return;
    }
    if (zcq_status_retryable ((zcq_status_t) status)) {
        command->retryable++;
        return;
    }
    uint64_t version = (uint64_t) s_int (map, "version");
    uint64_t position = (uint64_t) s_int (map, "position");
    uint32_t count = (uint32_t) s_int (map, "count");
    if (!command->answered) {
        command->answered = true;
        command->status = (zcq_status_t) status;
        command->version = version;
        command->position = position;
        command->count = count;
    }
    else if (!command->disagreement
             && (command->status != (zcq_status_t) status || command->version != version
                 || command->position != position || command->count != count)) {
        command->disagreement =
            zsys_sprintf ("first %s version %" PRIu64 " position %" PRIu64 " count %" PRIu32
                          ", later %s version %" PRIu64 " position %" PRIu64 " count %" PRIu32,
                          zcq_status_name (command->status), command->version,
                          command->position, command->count, name, version, position, count);
    }
}

//  Take one parsed line. Returns 0, or -1 with *error set.
static int
s_take_line (zcq_history_log_t *log, const msgpack_object *map, char **error)
{
    char op [16], id [2 * ZCQ_COMMAND_ID + 1];
    s_text (map, "op", op, sizeof (op));
    s_text (map, "id", id, sizeof (id));
    if (streq (op, "query")) {
        zcq_history_query_t *query = (zcq_history_query_t *) zmalloc (sizeof (*query));
        assert (query);
        s_text (map, "stream", query->stream, sizeof (query->stream));
        query->node = (int) s_int (map, "node");
        query->position = (uint64_t) s_int (map, "position");
        query->version = (uint64_t) s_int (map, "version");
        query->balance = s_int (map, "balance");
        zlistx_add_end (log->queries, query);
        return 0;
    }
    zcq_history_command_t *command = (zcq_history_command_t *) zhashx_lookup (log->by_id, id);
    if (streq (op, "send")) {
        if (!command) {
            command = (zcq_history_command_t *) zmalloc (sizeof (*command));
            assert (command);
            snprintf (command->id, sizeof (command->id), "%s", id);
            s_text (map, "type", command->type, sizeof (command->type));
            s_text (map, "stream", command->stream, sizeof (command->stream));
            command->amount = s_int (map, "amount");
            command->first_us = (double) s_int (map, "t");
            zlistx_add_end (log->commands, command);
            zhashx_insert (log->by_id, command->id, command);
        }
        command->tries++;
        command->last_us = (double) s_int (map, "t");
        log->sends++;
        return 0;
    }
    if (!command) {
        *error = zsys_sprintf ("'%s' for command id '%s' that was never sent", op, id);
        return -1;
    }
    int resends = (int) s_int (map, "resends");
    command->resends += resends;
    log->sends += (size_t) resends;
    if (streq (op, "reply")) {
        s_take_reply (command, map);
    }
    else if (streq (op, "timeout")) {
        command->timeouts++;
    }
    else if (!streq (op, "error") && !streq (op, "giveup")) {
        *error = zsys_sprintf ("unknown op '%s'", op);
        return -1;
    }
    return 0;
}

int
zcq_history_load (const char *path, zcq_history_log_t *log, char **error)
{
    assert (path && log && error);
    memset (log, 0, sizeof (*log));
    log->commands = zlistx_new ();
    zlistx_set_destructor (log->commands, s_command_destroy);
    log->by_id = zhashx_new ();
    log->queries = zlistx_new ();
    zlistx_set_destructor (log->queries, s_query_destroy);
    FILE *file = fopen (path, "r");
    if (!file) {
        *error = zsys_sprintf ("cannot read history '%s': %s", path, strerror (errno));
        return -1;
    }
    char *line = NULL;
    size_t capacity = 0;
    size_t number = 0;
    int rc = 0;
    while (rc == 0 && getline (&line, &capacity, file) > 0) {
        number++;
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        char *reason = NULL;
        msgpack_unpacked unpacked;
        if (zcq_json_to_msgpack (line, &buffer, &reason) != 0
            || zcq_mpack_unpack (buffer.data, buffer.size, &unpacked) != 0) {
            *error = zsys_sprintf ("%s line %zu is not JSON: %s", path, number,
                                   reason ? reason : "not one object");
            rc = -1;
        }
        else {
            char *what = NULL;
            if (s_take_line (log, &unpacked.data, &what) != 0) {
                *error = zsys_sprintf ("%s line %zu: %s", path, number, what);
                free (what);
                rc = -1;
            }
            msgpack_unpacked_destroy (&unpacked);
        }
        free (reason);
        msgpack_sbuffer_destroy (&buffer);
    }
    free (line);
    fclose (file);
    return rc;
}

void
zcq_history_log_free (zcq_history_log_t *log)
{
    assert (log);
    zlistx_destroy (&log->commands);
    zhashx_destroy (&log->by_id);
    zlistx_destroy (&log->queries);
}
