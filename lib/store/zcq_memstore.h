/*  =========================================================================
    zcq_memstore - an ordered map of byte keys to byte values held in
    memory, the "memory" backend of a read-model store (zcq_store.h)

    Keys sort as LevelDB sorts them (bytewise), so that a view's scans and
    checksum see the same order on both backends. The bytes it holds (keys,
    values and its own bookkeeping) are counted against a limit: a write
    that would pass it is refused whole, never half applied.

    A memory store belongs to one thread. An entry stays valid until the
    next write: a caller that walks the entries writes nothing meanwhile.
    =========================================================================
*/

#ifndef ZCQ_MEMSTORE_H_INCLUDED
#define ZCQ_MEMSTORE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_memstore_t zcq_memstore_t;
typedef struct _zcq_memstore_entry_t zcq_memstore_entry_t;

//  Create an empty map that may hold up to limit bytes (0: no limit).
zcq_memstore_t *
    zcq_memstore_new (size_t limit);

//  Destroy the map and everything in it; nulls the caller's pointer.
void
    zcq_memstore_destroy (zcq_memstore_t **self_p);

//  The value of key (borrowed, valid until the next write), or NULL if the
//  key is absent.
const byte *
    zcq_memstore_get (zcq_memstore_t *self, const void *key, size_t key_size,
                      size_t *size);

//  One change of a write: a put of value, or (value NULL) a delete.
typedef struct {
    const void *key;   //  key bytes (borrowed)
    size_t key_size;   //  bytes in key
    const void *value; //  value bytes (borrowed), NULL for a delete
    size_t size;       //  bytes in value
} zcq_memstore_change_t;

//  Apply changes in order, all or none: if the bytes held would pass the
//  limit, nothing is applied. Returns 0, or -1 when refused for the limit.
int
    zcq_memstore_write (zcq_memstore_t *self, const zcq_memstore_change_t *changes,
                        size_t count);

//  Bytes held now (keys, values and bookkeeping), and the limit (0: none).
size_t
    zcq_memstore_bytes (zcq_memstore_t *self);
size_t
    zcq_memstore_limit (zcq_memstore_t *self);

//  Number of keys held.
size_t
    zcq_memstore_keys (zcq_memstore_t *self);

//  Write every entry to a snapshot file at path, whole or not at all: to
//  path.tmp, synced, then renamed over path. The file is a grammar of its
//  own: "ZCQMEM1\n", be64 number of entries, each entry as be64 key size,
//  be64 value size, key bytes, value bytes, in key order; then the SHA-1 of
//  all that (20 bytes). Returns 0, or -1 with errno set (nothing replaced).
int
    zcq_memstore_save (zcq_memstore_t *self, const char *path);

//  A map that may hold up to limit bytes, filled from the snapshot file at
//  path. Returns NULL with the reason in *error (caller frees) if the file
//  cannot be read or is not a whole, intact snapshot.
zcq_memstore_t *
    zcq_memstore_load (const char *path, size_t limit, char **error);

//  The first entry with a key >= key, or NULL past the last.
zcq_memstore_entry_t *
    zcq_memstore_seek (zcq_memstore_t *self, const void *key, size_t key_size);

//  The last entry, or NULL when the map is empty.
zcq_memstore_entry_t *
    zcq_memstore_last (zcq_memstore_t *self);

//  The entry after or before entry, or NULL at either end.
zcq_memstore_entry_t *
    zcq_memstore_next (zcq_memstore_entry_t *entry);
zcq_memstore_entry_t *
    zcq_memstore_prev (zcq_memstore_entry_t *entry);

//  An entry's key and value (borrowed, valid until the next write).
const byte *
    zcq_memstore_entry_key (zcq_memstore_entry_t *entry, size_t *size);
const byte *
    zcq_memstore_entry_value (zcq_memstore_entry_t *entry, size_t *size);

#ifdef __cplusplus
}
#endif

#endif
