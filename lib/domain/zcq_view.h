/*  =========================================================================
    zcq_view - a domain's handle on its read models in a query node

    Keys are C strings chosen by the domain; values are bytes (usually packed
    msgpack). Writes are buffered and become part of the same batch as the
    query node's applied position, so a read model never reflects a
    half-applied event. Reads see the buffered writes first.

    This is all a domain sees of the read models: the query node creates
    and commits views (zcq_view_store.h, private), never the domain.
    =========================================================================
*/

#ifndef ZCQ_VIEW_H_INCLUDED
#define ZCQ_VIEW_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_view_t zcq_view_t;

//  Called for each key a scan visits; return 0 to go on, non-zero to stop.
typedef int (zcq_view_scan_fn) (const char *key, const byte *value, size_t size, void *arg);

//  Read a read-model value. Returns 0 with an owned copy in *value (caller
//  frees, NUL-terminated for convenience), 1 if absent, -1 on storage error.
int
    zcq_view_get (zcq_view_t *self, const char *key, byte **value, size_t *size);

//  Read a read-model value without copying it: *value is borrowed, valid
//  until the next call on the view, and not NUL-terminated. For a domain's
//  projection, which reads a few values per event. Returns 0, 1 if absent
//  (*value NULL), -1 on storage error.
int
    zcq_view_peek (zcq_view_t *self, const char *key, const byte **value, size_t *size);

//  Write or replace a value; buffered until zcq_view_commit.
void
    zcq_view_put (zcq_view_t *self, const char *key, const void *value, size_t size);

//  Delete a value; buffered until zcq_view_commit.
void
    zcq_view_delete (zcq_view_t *self, const char *key);

//  Visit committed keys that start with prefix, in key order, from the first
//  key >= start (start NULL: from the prefix). Buffered writes are not seen:
//  scans are for queries, which run between commits. Returns the number of
//  keys visited, or -1 on storage error.
int
    zcq_view_scan (zcq_view_t *self, const char *prefix, const char *start,
                   zcq_view_scan_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif
