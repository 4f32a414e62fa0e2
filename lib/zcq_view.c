/*  =========================================================================
    zcq_view - a domain's handle on its read models (see zcq_view.h)

    Read-model keys live under "r:" in the query node's LevelDB, apart from
    the node's own keys. Pending writes sit in an overlay (key -> change) so
    that several events projected into one batch see each other's writes.
    =========================================================================
*/

#include "zcq_view.h"

#define VIEW_PREFIX      "r:" //  read-model keys in the store
#define VIEW_PREFIX_SIZE 2

typedef struct {
    bool deleted; //  true: a delete; false: a put
    byte *value;  //  value of a put
    size_t size;  //  bytes in value
} s_change_t;

struct _zcq_view_t {
    zcq_store_t *store; //  read-model store (borrowed)
    zhashx_t *overlay;  //  key -> s_change_t, not yet committed
};

static void
s_change_destroy (void **item)
{
    s_change_t *change = (s_change_t *) *item;
    if (change) {
        free (change->value);
        free (change);
        *item = NULL;
    }
}

zcq_view_t *
zcq_view_new (zcq_store_t *store)
{
    assert (store);
    zcq_view_t *self = (zcq_view_t *) zmalloc (sizeof (zcq_view_t));
    assert (self);
    self->store = store;
    self->overlay = zhashx_new ();
    assert (self->overlay);
    zhashx_set_destructor (self->overlay, s_change_destroy);
    return self;
}

void
zcq_view_destroy (zcq_view_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_view_t *self = *self_p;
        zhashx_destroy (&self->overlay);
        free (self);
        *self_p = NULL;
    }
}

//  Build the store key for a read-model key; caller frees.
static char *
s_store_key (const char *key, size_t *size)
{
    size_t length = strlen (key);
    char *full = (char *) malloc (VIEW_PREFIX_SIZE + length + 1);
    assert (full);
    memcpy (full, VIEW_PREFIX, VIEW_PREFIX_SIZE);
    memcpy (full + VIEW_PREFIX_SIZE, key, length + 1);
    *size = VIEW_PREFIX_SIZE + length;
    return full;
}

int
zcq_view_get (zcq_view_t *self, const char *key, byte **value, size_t *size)
{
    assert (self);
    assert (key);
    s_change_t *change = (s_change_t *) zhashx_lookup (self->overlay, key);
    if (change) {
        if (change->deleted) {
            *value = NULL;
            *size = 0;
            return 1;
        }
        *value = (byte *) malloc (change->size + 1);
        assert (*value);
        memcpy (*value, change->value, change->size);
        (*value) [change->size] = 0;
        *size = change->size;
        return 0;
    }
    size_t key_size;
    char *full = s_store_key (key, &key_size);
    int rc = zcq_store_get (self->store, full, key_size, value, size);
    free (full);
    return rc;
}

void
zcq_view_put (zcq_view_t *self, const char *key, const void *value, size_t size)
{
    assert (self);
    assert (key);
    s_change_t *change = (s_change_t *) zmalloc (sizeof (s_change_t));
    assert (change);
    change->value = (byte *) malloc (size ? size : 1);
    assert (change->value);
    if (size) {
        memcpy (change->value, value, size);
    }
    change->size = size;
    zhashx_update (self->overlay, key, change);
}

void
zcq_view_delete (zcq_view_t *self, const char *key)
{
    assert (self);
    assert (key);
    s_change_t *change = (s_change_t *) zmalloc (sizeof (s_change_t));
    assert (change);
    change->deleted = true;
    zhashx_update (self->overlay, key, change);
}

int
zcq_view_scan (zcq_view_t *self, const char *prefix, const char *start, zcq_view_scan_fn *fn,
               void *arg)
{
    assert (self);
    assert (prefix);
    assert (fn);
    size_t prefix_size;
    char *full_prefix = s_store_key (prefix, &prefix_size);
    size_t start_size = prefix_size;
    char *full_start = start ? s_store_key (start, &start_size) : NULL;

    zcq_iter_t *iter = zcq_iter_new (self->store, false);
    int visited = 0;
    if (!iter) {
        visited = -1;
    }
    else {
        if (full_start && strcmp (full_start, full_prefix) > 0) {
            zcq_iter_seek (iter, full_start, start_size);
        }
        else {
            zcq_iter_seek (iter, full_prefix, prefix_size);
        }
        while (zcq_iter_has_prefix (iter, full_prefix, prefix_size)) {
            size_t key_size, value_size;
            const byte *key = zcq_iter_key (iter, &key_size);
            const byte *value = zcq_iter_value (iter, &value_size);
            char *name = (char *) malloc (key_size - VIEW_PREFIX_SIZE + 1);
            assert (name);
            memcpy (name, key + VIEW_PREFIX_SIZE, key_size - VIEW_PREFIX_SIZE);
            name [key_size - VIEW_PREFIX_SIZE] = 0;
            int stop = fn (name, value, value_size, arg);
            free (name);
            visited++;
            if (stop) {
                break;
            }
            zcq_iter_next (iter);
        }
        zcq_iter_destroy (&iter);
    }
    free (full_prefix);
    free (full_start);
    return visited;
}

void
zcq_view_commit (zcq_view_t *self, zcq_batch_t *batch)
{
    assert (self);
    assert (batch);
    s_change_t *change = (s_change_t *) zhashx_first (self->overlay);
    while (change) {
        const char *key = (const char *) zhashx_cursor (self->overlay);
        size_t key_size;
        char *full = s_store_key (key, &key_size);
        if (change->deleted) {
            zcq_batch_delete (batch, full, key_size);
        }
        else {
            zcq_batch_put (batch, full, key_size, change->value, change->size);
        }
        free (full);
        change = (s_change_t *) zhashx_next (self->overlay);
    }
    zhashx_purge (self->overlay);
}

void
zcq_view_rollback (zcq_view_t *self)
{
    assert (self);
    zhashx_purge (self->overlay);
}

size_t
zcq_view_pending (zcq_view_t *self)
{
    assert (self);
    return zhashx_size (self->overlay);
}
