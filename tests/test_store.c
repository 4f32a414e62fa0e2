/*  =========================================================================
    test_store - the LevelDB seam and the read-model view over it: get,
    batches, iterators and snapshots, the fault seam, the view's overlay
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

typedef struct {
    char *dir;          //  temporary folder
    zcq_store_t *store; //  store under test
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->dir = zcq_testkit_tmpdir ("store");
    fixture->store = zcq_store_new (fixture->dir);
    assert_non_null (fixture->store);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_store_destroy (&fixture->store);
    zcq_testkit_rmtree (fixture->dir);
    free (fixture->dir);
    free (fixture);
    return 0;
}

static void
s_put (zcq_store_t *store, const char *key, const char *value)
{
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, key, strlen (key), value, strlen (value));
    assert_int_equal (zcq_store_write (store, batch, true), 0);
    zcq_batch_destroy (&batch);
}

static void
test_get_put_delete (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    byte *value = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (fixture->store, "k", 1, &value, &size), 1);
    assert_null (value);

    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "k", 1, "v1", 2);
    zcq_batch_put (batch, "bin", 3, "\0\1\2", 3);
    assert_int_equal (zcq_batch_size (batch), 2);
    assert_int_equal (zcq_store_write (fixture->store, batch, true), 0);
    zcq_batch_clear (batch);
    assert_int_equal (zcq_batch_size (batch), 0);

    assert_int_equal (zcq_store_get (fixture->store, "k", 1, &value, &size), 0);
    assert_int_equal (size, 2);
    assert_string_equal ((char *) value, "v1"); //  NUL-terminated for convenience
    free (value);
    assert_int_equal (zcq_store_get (fixture->store, "bin", 3, &value, &size), 0);
    assert_int_equal (size, 3);
    assert_memory_equal (value, "\0\1\2", 3);
    free (value);

    zcq_batch_delete (batch, "k", 1);
    assert_int_equal (zcq_store_write (fixture->store, batch, false), 0);
    assert_int_equal (zcq_store_get (fixture->store, "k", 1, &value, &size), 1);
    zcq_batch_destroy (&batch);
    assert_int_equal (zcq_store_writes (fixture->store), 2);
    assert_int_equal (zcq_store_changes (fixture->store), 3); //  two puts, a delete
}

//  A batch shipped as bytes (how a write group sends a group) is the same
//  batch again; damaged bytes are refused, never half read.
static void
test_batch_encodes_and_decodes (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_put (fixture->store, "gone", "soon");
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "k", 1, "v1", 2);
    zcq_batch_put (batch, "bin", 3, "\0\1\2", 3);
    zcq_batch_put (batch, "empty", 5, "", 0);
    zcq_batch_delete (batch, "gone", 4);
    zchunk_t *chunk = zchunk_new (NULL, 0);
    zcq_batch_encode (batch, chunk);
    zcq_batch_destroy (&batch);
    //  tag, be32 key size, key, be32 value size, value: 1+4+1+4+2 for "k"
    assert_int_equal (zchunk_size (chunk), 12 + 15 + 14 + 9);

    //  Every cut, and a bad tag, is refused
    for (size_t size = 1; size < zchunk_size (chunk); size++) {
        zcq_batch_t *cut = zcq_batch_decode (zchunk_data (chunk), size);
        bool whole_parts = size == 12 || size == 27 || size == 41;
        assert_true (whole_parts ? cut != NULL : cut == NULL);
        zcq_batch_destroy (&cut);
    }
    byte wrong [12];
    memcpy (wrong, zchunk_data (chunk), 12);
    wrong [0] = 7;
    assert_null (zcq_batch_decode (wrong, 12));

    batch = zcq_batch_decode (zchunk_data (chunk), zchunk_size (chunk));
    assert_non_null (batch);
    assert_int_equal (zcq_batch_size (batch), 4);
    assert_int_equal (zcq_store_write (fixture->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    byte *value = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (fixture->store, "bin", 3, &value, &size), 0);
    assert_int_equal (size, 3);
    assert_memory_equal (value, "\0\1\2", 3);
    free (value);
    assert_int_equal (zcq_store_get (fixture->store, "empty", 5, &value, &size), 0);
    assert_int_equal (size, 0);
    free (value);
    assert_int_equal (zcq_store_get (fixture->store, "gone", 4, &value, &size), 1);
    //  A decoded batch tells which key prefixes it puts; a delete is no put
    batch = zcq_batch_decode (zchunk_data (chunk), zchunk_size (chunk));
    assert_true (zcq_batch_puts_prefix (batch, "bi", 2));
    assert_true (zcq_batch_puts_prefix (batch, "empty", 5));
    assert_false (zcq_batch_puts_prefix (batch, "go", 2));
    assert_false (zcq_batch_puts_prefix (batch, "kk", 2));
    zcq_batch_destroy (&batch);
    //  No bytes are an empty batch
    batch = zcq_batch_decode (NULL, 0);
    assert_int_equal (zcq_batch_size (batch), 0);
    zcq_batch_destroy (&batch);
    zchunk_destroy (&chunk);
}

static void
test_fault_seam_fails_whole_batches (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_store_fail_writes (fixture->store, 2);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "a", 1, "1", 1);
    zcq_batch_put (batch, "b", 1, "2", 1);
    assert_int_equal (zcq_store_write (fixture->store, batch, true), -1);
    assert_int_equal (zcq_store_write (fixture->store, batch, true), -1);
    byte *value = NULL;
    size_t size;
    assert_int_equal (zcq_store_get (fixture->store, "a", 1, &value, &size), 1);
    assert_int_equal (zcq_store_get (fixture->store, "b", 1, &value, &size), 1);
    //  The third write goes through
    assert_int_equal (zcq_store_write (fixture->store, batch, true), 0);
    assert_int_equal (zcq_store_get (fixture->store, "b", 1, &value, &size), 0);
    free (value);
    zcq_batch_destroy (&batch);
}

static void
test_iterator_orders_and_snapshot_holds (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_put (fixture->store, "p:2", "two");
    s_put (fixture->store, "p:1", "one");
    s_put (fixture->store, "q:1", "other");

    zcq_iter_t *snapshot = zcq_iter_new (fixture->store, true);
    s_put (fixture->store, "p:3", "three"); //  after the snapshot

    zcq_iter_t *iter = zcq_iter_new (fixture->store, false);
    zcq_iter_seek (iter, "p:", 2);
    int count = 0;
    while (zcq_iter_has_prefix (iter, "p:", 2)) {
        count++;
        zcq_iter_next (iter);
    }
    assert_int_equal (count, 3);
    zcq_iter_seek_last (iter);
    size_t size;
    const byte *key = zcq_iter_key (iter, &size);
    assert_memory_equal (key, "q:1", 3);
    zcq_iter_prev (iter);
    const byte *value = zcq_iter_value (iter, &size);
    assert_memory_equal (value, "three", 5);
    zcq_iter_destroy (&iter);

    zcq_iter_seek (snapshot, "p:", 2);
    count = 0;
    while (zcq_iter_has_prefix (snapshot, "p:", 2)) {
        count++;
        zcq_iter_next (snapshot);
    }
    assert_int_equal (count, 2);
    zcq_iter_destroy (&snapshot);
}

static void
test_reopen_keeps_data_and_bad_path_fails (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_put (fixture->store, "k", "v");
    zcq_store_destroy (&fixture->store);
    fixture->store = zcq_store_new (fixture->dir);
    byte *value = NULL;
    size_t size;
    assert_int_equal (zcq_store_get (fixture->store, "k", 1, &value, &size), 0);
    free (value);

    //  A folder that cannot be created: NULL, not a crash
    assert_null (zcq_store_new ("/proc/zcqrs-cannot-be-here/db"));
}

static int
s_count (const char *key, const byte *value, size_t size, void *arg)
{
    (void) value;
    (void) size;
    zlistx_t *keys = (zlistx_t *) arg;
    zlistx_add_end (keys, strdup (key));
    return zlistx_size (keys) >= 3;
}

//  A real full disk needs a small file system of our own: a 4 MiB tmpfs
//  (root only). Teardown unmounts it whatever the test did.
static int
s_setup_small_disk (void **state)
{
    char *dir = zcq_testkit_tmpdir ("full");
    char command [600];
    snprintf (command, sizeof (command), "mount -t tmpfs -o size=4m zcq-test %s 2>/dev/null",
              dir);
    if (system (command) != 0) {
        zcq_testkit_rmtree (dir);
        free (dir);
        dir = NULL;
    }
    *state = dir;
    return 0;
}

static int
s_teardown_small_disk (void **state)
{
    char *dir = (char *) *state;
    if (dir) {
        char command [600];
        snprintf (command, sizeof (command), "umount %s", dir);
        if (system (command) != 0) {
            fprintf (stderr, "could not unmount %s\n", dir);
        }
        zcq_testkit_rmtree (dir);
        free (dir);
    }
    return 0;
}

static void
test_full_disk_loses_no_later_write (void **state)
{
    const char *dir = (const char *) *state;
    if (!dir) {
        skip (); //  not root: cannot make a small disk
    }
    char path [600];
    snprintf (path, sizeof (path), "%s/db", dir);
    zcq_store_t *store = zcq_store_new (path);
    assert_non_null (store);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "before", 6, "1", 1);
    assert_int_equal (zcq_store_write (store, batch, true), 0);

    //  Leave 16 KiB: a 200 KiB value is written in part, then ENOSPC, and
    //  LevelDB's log ends in a torn record
    assert_int_equal (zcq_testkit_fill (dir, 16 * 1024), 0);
    static char big [200 * 1024];
    zcq_batch_clear (batch);
    zcq_batch_put (batch, "big", 3, big, sizeof (big));
    assert_int_equal (zcq_store_write (store, batch, true), -1);

    //  Space comes back; later writes succeed and are acknowledged...
    char filler [640];
    snprintf (filler, sizeof (filler), "%s/filler", dir);
    unlink (filler);
    for (int index = 0; index < 5; index++) {
        char key [32];
        snprintf (key, sizeof (key), "after-%d", index);
        zcq_batch_clear (batch);
        zcq_batch_put (batch, key, strlen (key), "2", 1);
        assert_int_equal (zcq_store_write (store, batch, true), 0);
    }
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&store);

    //  ...so they must all be there after the next open (written after the
    //  tear, LevelDB's recovery would drop them with the torn block)
    store = zcq_store_new (path);
    assert_non_null (store);
    byte *value = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (store, "before", 6, &value, &size), 0);
    free (value);
    for (int index = 0; index < 5; index++) {
        char key [32];
        snprintf (key, sizeof (key), "after-%d", index);
        assert_int_equal (zcq_store_get (store, key, strlen (key), &value, &size), 0);
        free (value);
    }
    assert_int_equal (zcq_store_get (store, "big", 3, &value, &size), 1);
    zcq_store_destroy (&store);
}

static void
test_view_overlay_then_commit (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zcq_view_t *view = zcq_view_new (fixture->store);
    zcq_view_put (view, "x/1", "a", 1);
    zcq_view_put (view, "x/2", "b", 1);
    zcq_view_put (view, "x/1", "c", 1); //  replaces, still pending
    assert_int_equal (zcq_view_pending (view), 2);

    //  Reads see pending writes; scans do not
    byte *value = NULL;
    size_t size;
    assert_int_equal (zcq_view_get (view, "x/1", &value, &size), 0);
    assert_string_equal ((char *) value, "c");
    free (value);
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zstr_free);
    assert_int_equal (zcq_view_scan (view, "x/", NULL, s_count, keys), 0);

    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (view, batch);
    assert_int_equal (zcq_view_pending (view), 0);
    assert_int_equal (zcq_store_write (fixture->store, batch, true), 0);
    zcq_batch_destroy (&batch);
    //  Read-model keys live under "r:" in the store, apart from node keys
    assert_int_equal (zcq_store_get (fixture->store, "r:x/1", 5, &value, &size), 0);
    free (value);

    zcq_view_delete (view, "x/2");
    assert_int_equal (zcq_view_get (view, "x/2", &value, &size), 1);
    zcq_view_rollback (view);
    assert_int_equal (zcq_view_get (view, "x/2", &value, &size), 0);
    free (value);

    //  Scans: prefix, start key, early stop
    zcq_view_put (view, "x/3", "d", 1);
    zcq_view_put (view, "x/4", "e", 1);
    zcq_view_put (view, "y/1", "f", 1);
    batch = zcq_batch_new ();
    zcq_view_commit (view, batch);
    assert_int_equal (zcq_store_write (fixture->store, batch, true), 0);
    zcq_batch_destroy (&batch);
    assert_int_equal (zcq_view_scan (view, "x/", "x/2", s_count, keys), 3);
    assert_string_equal ((char *) zlistx_first (keys), "x/2");
    assert_string_equal ((char *) zlistx_last (keys), "x/4");
    zlistx_destroy (&keys);
    zcq_view_destroy (&view);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_get_put_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_encodes_and_decodes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_fault_seam_fails_whole_batches, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_iterator_orders_and_snapshot_holds, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_reopen_keeps_data_and_bad_path_fails, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_view_overlay_then_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_full_disk_loses_no_later_write,
                                         s_setup_small_disk, s_teardown_small_disk),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
