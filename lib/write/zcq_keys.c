/*  =========================================================================
    zcq_keys - the write node's key table (see zcq_keys.h)
    =========================================================================
*/

#include "zcq_keys.h"
#include "zcq_msg.h"

#include <dirent.h>
#include <libgen.h>

#define KEYS_FORMAT "zcqrs-keys-1" //  value of "m:format"
#define CLUSTER_MAX 128            //  bytes of a cluster id kept

//  Longest key: "k:" stream
#define NAME_MAX_SIZE (2 + ZCQ_MAX_STREAM)

struct _zcq_keys_t {
    zcq_store_t *store; //  the table's LevelDB folder
};

//  tag ':' stream into name (NAME_MAX_SIZE bytes); returns its size.
static size_t
s_name (byte *name, char tag, const char *stream)
{
    size_t length = strnlen (stream, ZCQ_MAX_STREAM);
    name [0] = (byte) tag;
    name [1] = ':';
    memcpy (name + 2, stream, length);
    return 2 + length;
}

//  An absolute form of path for comparing folders, whether it exists yet
//  or not (caller frees).
static char *
s_absolute (const char *path)
{
    char *resolved = realpath (path, NULL);
    if (resolved) {
        return resolved;
    }
    char *copy = strdup (path), *base_copy = strdup (path);
    char *parent = realpath (dirname (copy), NULL);
    char *result =
        parent ? zsys_sprintf ("%s/%s", parent, basename (base_copy)) : strdup (path);
    free (parent);
    free (copy);
    free (base_copy);
    return result;
}

//  True if folder inner is folder outer or lies inside it.
static bool
s_within (const char *inner, const char *outer)
{
    size_t size = strlen (outer);
    return strncmp (inner, outer, size) == 0 && (inner [size] == 0 || inner [size] == '/');
}

//  True if a folder exists, holds files, and none is LevelDB's CURRENT.
static bool
s_foreign (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir) {
        return false;
    }
    bool entries = false, leveldb = false;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (!streq (entry->d_name, ".") && !streq (entry->d_name, "..")) {
            entries = true;
            leveldb |= streq (entry->d_name, "CURRENT");
        }
    }
    closedir (dir);
    return entries && !leveldb;
}

zcq_keys_t *
zcq_keys_new (const char *path, const char *data, char **error)
{
    assert (path && data && error);
    *error = NULL;
    char *keys_at = s_absolute (path), *data_at = s_absolute (data);
    if (s_within (keys_at, data_at) || s_within (data_at, keys_at)) {
        *error = zsys_sprintf ("setting write/keys: '%s' is %s the data folder '%s'; the keys "
                               "go in a folder of their own, beside it, so that a copy of "
                               "the data never holds them",
                               path,
                               streq (keys_at, data_at)      ? "the same folder as"
                               : s_within (keys_at, data_at) ? "inside"
                                                             : "around",
                               data);
    }
    else if (s_foreign (path)) {
        *error = zsys_sprintf ("setting write/keys: '%s' holds files that are not a key "
                               "table; name an empty or new folder (default: the data "
                               "folder's name and '-keys')",
                               path);
    }
    free (keys_at);
    free (data_at);
    if (*error) {
        return NULL;
    }
    zcq_store_t *store = zcq_store_new (path);
    if (!store) {
        *error = zsys_sprintf ("setting write/keys: cannot open the key table in '%s'", path);
        return NULL;
    }
    byte *format = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, "m:format", 8, &format, &size);
    if (rc == 1) {
        //  A new table, unless the folder is another LevelDB (a log, a
        //  query node's models): an empty store only
        zcq_iter_t *iter = zcq_iter_new (store, false);
        zcq_iter_seek (iter, "", 0);
        bool empty = iter && !zcq_iter_valid (iter);
        zcq_iter_destroy (&iter);
        if (empty) {
            zcq_batch_t *batch = zcq_batch_new ();
            zcq_batch_put (batch, "m:format", 8, KEYS_FORMAT, strlen (KEYS_FORMAT));
            rc = zcq_store_write (store, batch, true);
            zcq_batch_destroy (&batch);
        }
        else {
            *error = zsys_sprintf ("setting write/keys: '%s' is a LevelDB folder of something "
                                   "else, not a key table",
                                   path);
        }
    }
    else if (rc == 0 && !streq ((char *) format, KEYS_FORMAT)) {
        *error = zsys_sprintf ("setting write/keys: '%s' holds '%.40s', not a key table (%s)",
                               path, (char *) format, KEYS_FORMAT);
    }
    free (format);
    if (!*error && rc != 0) {
        *error = zsys_sprintf ("setting write/keys: cannot read the key table in '%s'", path);
    }
    if (*error) {
        zcq_store_destroy (&store);
        return NULL;
    }
    zcq_keys_t *self = (zcq_keys_t *) zmalloc (sizeof (zcq_keys_t));
    assert (self);
    self->store = store;
    return self;
}

void
zcq_keys_destroy (zcq_keys_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_keys_t *self = *self_p;
        zcq_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

zcq_store_t *
zcq_keys_store (zcq_keys_t *self)
{
    assert (self);
    return self->store;
}

int
zcq_keys_bind (zcq_keys_t *self, const char *cluster, char **error)
{
    assert (self && cluster && error);
    if (!*cluster) {
        return 0; //  not known yet (a write group member before its first group)
    }
    byte *bound = NULL;
    size_t size = 0;
    int rc = zcq_store_get (self->store, "m:cluster", 9, &bound, &size);
    if (rc == 1) {
        zcq_batch_t *batch = zcq_batch_new ();
        zcq_batch_put (batch, "m:cluster", 9, cluster, strnlen (cluster, CLUSTER_MAX));
        rc = zcq_store_write (self->store, batch, true);
        zcq_batch_destroy (&batch);
    }
    else if (rc == 0 && !streq ((char *) bound, cluster)) {
        *error = zsys_sprintf ("setting write/keys: the key table in '%s' holds the keys of "
                               "cluster %.40s, the event log is cluster %s; name the key "
                               "folder of this log",
                               zcq_store_path (self->store), (char *) bound, cluster);
        rc = -1;
    }
    free (bound);
    if (rc != 0 && !*error) {
        *error = zsys_sprintf ("setting write/keys: cannot write to the key table in '%s'",
                               zcq_store_path (self->store));
    }
    return rc == 0 ? 0 : -1;
}

int
zcq_keys_find (zcq_store_t *store, const char *stream, byte key [ZCQ_SEAL_KEY])
{
    assert (store && stream);
    byte name [NAME_MAX_SIZE];
    byte *value = NULL;
    size_t size = 0;
    int rc = zcq_store_get (store, name, s_name (name, 'k', stream), &value, &size);
    if (rc == 0 && size != ZCQ_SEAL_KEY) {
        zsys_error ("keys %s: the key of stream '%s' is damaged", zcq_store_path (store),
                    stream);
        rc = -1;
    }
    if (rc == 0) {
        memcpy (key, value, ZCQ_SEAL_KEY);
    }
    free (value);
    return rc;
}

void
zcq_keys_stage (zcq_batch_t *batch, const char *stream, const byte key [ZCQ_SEAL_KEY])
{
    assert (batch && stream);
    byte name [NAME_MAX_SIZE];
    zcq_batch_put (batch, name, s_name (name, 'k', stream), key, ZCQ_SEAL_KEY);
}

int
zcq_keys_shred (zcq_keys_t *self, const char *stream, uint64_t position)
{
    assert (self && stream);
    byte name [NAME_MAX_SIZE], value [8];
    size_t name_size = s_name (name, 'k', stream);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_delete (batch, name, name_size);
    zcq_store_put_be64 (value, position);
    byte mark [NAME_MAX_SIZE];
    zcq_batch_put (batch, mark, s_name (mark, 'x', stream), value, sizeof value);
    //  Compacted before the write and after it: a deletion that shares a
    //  memtable with the key's value keeps both in the table made from it
    zcq_store_compact (self->store, name, name_size, name, name_size);
    int rc = zcq_store_write (self->store, batch, true);
    zcq_batch_destroy (&batch);
    if (rc == 0) {
        zcq_store_compact (self->store, name, name_size, name, name_size);
    }
    return rc;
}

int
zcq_keys_held (zcq_store_t *store, bool *found)
{
    assert (store && found);
    zcq_iter_t *iter = zcq_iter_new (store, false);
    if (!iter) {
        return -1;
    }
    zcq_iter_seek (iter, "k:", 2);
    *found = zcq_iter_has_prefix (iter, "k:", 2);
    zcq_iter_destroy (&iter);
    return 0;
}

int
zcq_keys_take (zcq_keys_t *self, zcq_store_t *data, zcq_batch_t *batch)
{
    assert (self && data && batch);
    zcq_iter_t *iter = zcq_iter_new (data, true);
    if (!iter) {
        return -1;
    }
    zcq_batch_t *keys = zcq_batch_new ();
    int moved = 0, rc = 0;
    for (zcq_iter_seek (iter, "k:", 2); rc == 0 && zcq_iter_has_prefix (iter, "k:", 2);
         zcq_iter_next (iter)) {
        size_t name_size, size;
        const byte *name = zcq_iter_key (iter, &name_size);
        const byte *value = zcq_iter_value (iter, &size);
        byte mark [NAME_MAX_SIZE];
        memcpy (mark, name, name_size < sizeof mark ? name_size : sizeof mark);
        mark [0] = 'x';
        byte *found = NULL;
        size_t found_size = 0;
        rc = zcq_store_get (self->store, mark, name_size, &found, &found_size);
        free (found);
        if (rc == 1) {
            zcq_batch_put (keys, name, name_size, value, size);
            moved++;
            rc = 0;
        }
        else if (rc == 0) {
            zsys_notice ("keys %s: stream '%.*s' was forgotten: its key in '%s' is dropped, "
                         "not moved",
                         zcq_store_path (self->store), (int) name_size - 2, name + 2,
                         zcq_store_path (data));
        }
        zcq_batch_delete (batch, name, name_size);
    }
    zcq_iter_destroy (&iter);
    //  The keys first, synced: a move cut short leaves them in both, and
    //  is done again on the next open
    rc = rc == 0 && moved ? zcq_store_write (self->store, keys, true) : rc;
    if (rc == 0) {
        rc = zcq_store_write (data, batch, true);
    }
    zcq_batch_destroy (&keys);
    if (rc != 0) {
        return -1;
    }
    zcq_store_compact (data, "k:", 2, "k;", 2);
    return moved;
}
