/*  =========================================================================
    test_keys - the write node's key table (zcq_keys) on real LevelDB
    folders: keys found, staged and shredded (gone from every file, a
    tombstone kept); folders refused by name (the data folder itself, one
    inside or around it, another LevelDB, foreign files, another cluster's
    table); and an event log of layout zcqrs-log-2, which kept its keys in
    its own store, converted on open: keys moved, the data range compacted
    so that no file of the data folder holds them, a forgotten stream's key
    not brought back, and refused without a key table
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_keys.h"
#include "zcq_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  A key no other byte of the test holds
static void
s_key (byte key [ZCQ_SEAL_KEY], byte seed)
{
    for (int index = 0; index < ZCQ_SEAL_KEY; index++) {
        key [index] = (byte) (seed * 37 + index * 11 + 5);
    }
}

static void
test_keys_are_found_staged_and_shredded (void **unused)
{
    (void) unused;
    char *dir = zcq_testkit_tmpdir ("keys");
    char *data = zsys_sprintf ("%s/write", dir), *path = zsys_sprintf ("%s/write-keys", dir);
    char *error = NULL;
    zcq_keys_t *keys = zcq_keys_new (path, data, &error);
    assert_non_null (keys);
    assert_null (error);
    byte key [ZCQ_SEAL_KEY], found [ZCQ_SEAL_KEY];
    s_key (key, 1);
    assert_int_equal (zcq_keys_find (zcq_keys_store (keys), "s-1", found), 1);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_keys_stage (batch, "s-1", key);
    assert_int_equal (zcq_store_write (zcq_keys_store (keys), batch, true), 0);
    zcq_batch_destroy (&batch);
    assert_int_equal (zcq_keys_find (zcq_keys_store (keys), "s-1", found), 0);
    assert_memory_equal (found, key, ZCQ_SEAL_KEY);
    //  On disk (the search finds it there), then shredded: in no file
    assert_true (zcq_testkit_files_hold_bytes (path, key, sizeof key));
    assert_int_equal (zcq_keys_shred (keys, "s-1", 42), 0);
    assert_int_equal (zcq_keys_find (zcq_keys_store (keys), "s-1", found), 1);
    assert_false (zcq_testkit_files_hold_bytes (path, key, sizeof key));
    //  Bound to one cluster: recorded, then checked
    assert_int_equal (zcq_keys_bind (keys, "", &error), 0);
    assert_int_equal (zcq_keys_bind (keys, "c1", &error), 0);
    assert_int_equal (zcq_keys_bind (keys, "c1", &error), 0);
    assert_int_equal (zcq_keys_bind (keys, "c2", &error), -1);
    assert_non_null (strstr (error, "holds the keys of cluster c1"));
    zstr_free (&error);
    zcq_keys_destroy (&keys);
    zcq_keys_destroy (&keys);
    zcq_testkit_rmtree (dir);
    zstr_free (&data);
    zstr_free (&path);
    free (dir);
}

static void
test_wrong_folders_are_refused_by_name (void **unused)
{
    (void) unused;
    char *dir = zcq_testkit_tmpdir ("keys-wrong");
    char *data = zsys_sprintf ("%s/write", dir);
    char *inside = zsys_sprintf ("%s/write/keys", dir);
    char *foreign = zsys_sprintf ("%s/notes", dir);
    zcq_log_t *log = zcq_log_new (data, NULL);
    assert_non_null (log);
    zcq_log_destroy (&log);
    assert_int_equal (zsys_dir_create ("%s", foreign), 0);
    char *file = zsys_sprintf ("%s/readme.txt", foreign);
    FILE *handle = fopen (file, "w");
    assert_non_null (handle);
    fputs ("not keys\n", handle);
    fclose (handle);
    zstr_free (&file);
    const char *paths [] = {data, inside, dir, foreign};
    const char *says [] = {"is the same folder as the data folder", "is inside the data folder",
                           "is around the data folder", "holds files that are not a key table"};
    for (int index = 0; index < 4; index++) {
        char *error = NULL;
        zcq_keys_t *keys = zcq_keys_new (paths [index], data, &error);
        assert_null (keys);
        assert_non_null (error);
        if (!strstr (error, "setting write/keys") || !strstr (error, says [index])) {
            fail_msg ("'%s' does not say '%s'", error, says [index]);
        }
        zstr_free (&error);
    }
    //  Another LevelDB folder (an event log) is not taken for a key table
    char *error = NULL;
    char *other = zsys_sprintf ("%s/other-log", dir);
    log = zcq_log_new (other, NULL);
    zcq_log_destroy (&log);
    zcq_keys_t *keys = zcq_keys_new (other, data, &error);
    assert_null (keys);
    assert_non_null (strstr (error, "holds 'zcqrs-log-3', not a key table"));
    zstr_free (&error);
    zcq_testkit_rmtree (dir);
    zstr_free (&data);
    zstr_free (&inside);
    zstr_free (&foreign);
    zstr_free (&other);
    free (dir);
}

//  A folder of layout zcqrs-log-2: its format and the keys of streams
//  s-1 and s-2 in its own store.
static void
s_old_layout (const char *data, const byte *one, const byte *two)
{
    zcq_store_t *store = zcq_store_new (data);
    assert_non_null (store);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, "m:format", 8, "zcqrs-log-2", 11);
    zcq_batch_put (batch, "k:s-1", 5, one, ZCQ_SEAL_KEY);
    zcq_batch_put (batch, "k:s-2", 5, two, ZCQ_SEAL_KEY);
    assert_int_equal (zcq_store_write (store, batch, true), 0);
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&store);
}

static void
test_old_layout_moves_its_keys (void **unused)
{
    (void) unused;
    char *dir = zcq_testkit_tmpdir ("keys-move");
    char *data = zsys_sprintf ("%s/write", dir), *path = zsys_sprintf ("%s/write-keys", dir);
    byte one [ZCQ_SEAL_KEY], two [ZCQ_SEAL_KEY], found [ZCQ_SEAL_KEY];
    s_key (one, 2);
    s_key (two, 3);
    s_old_layout (data, one, two);
    assert_true (zcq_testkit_files_hold_bytes (data, one, sizeof one));

    //  Without a key table: refused, untouched
    assert_null (zcq_log_new (data, NULL));
    assert_true (zcq_testkit_files_hold_bytes (data, one, sizeof one));

    //  With one that has seen s-2 forgotten: s-1's key moves, s-2's is
    //  dropped (an older folder must not bring a forgotten key back)
    char *error = NULL;
    zcq_keys_t *keys = zcq_keys_new (path, data, &error);
    assert_non_null (keys);
    byte old [ZCQ_SEAL_KEY];
    s_key (old, 4);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_keys_stage (batch, "s-2", old);
    assert_int_equal (zcq_store_write (zcq_keys_store (keys), batch, true), 0);
    zcq_batch_destroy (&batch);
    assert_int_equal (zcq_keys_shred (keys, "s-2", 7), 0);
    zcq_log_t *log = zcq_log_new (data, keys);
    assert_non_null (log);
    assert_ptr_equal (zcq_log_keys (log), zcq_keys_store (keys));
    assert_int_equal (zcq_keys_find (zcq_keys_store (keys), "s-1", found), 0);
    assert_memory_equal (found, one, ZCQ_SEAL_KEY);
    assert_int_equal (zcq_keys_find (zcq_keys_store (keys), "s-2", found), 1);
    assert_int_equal (zcq_log_stream_key (log, "s-1", false, found), 0);
    assert_memory_equal (found, one, ZCQ_SEAL_KEY);
    byte *format = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (zcq_log_store (log), "m:format", 8, &format, &size), 0);
    assert_string_equal ((char *) format, "zcqrs-log-3");
    free (format);
    assert_int_equal (zcq_store_get (zcq_log_store (log), "k:s-1", 5, &format, &size), 1);
    //  No file of the data folder holds either key now
    assert_false (zcq_testkit_files_hold_bytes (data, one, sizeof one));
    assert_false (zcq_testkit_files_hold_bytes (data, two, sizeof two));
    assert_false (zcq_testkit_files_hold_bytes (path, two, sizeof two));
    zcq_log_destroy (&log);
    //  Opened again: nothing more to move, and without a key table now
    log = zcq_log_new (data, NULL);
    assert_non_null (log);
    assert_null (zcq_log_keys (log));
    zcq_log_destroy (&log);
    zcq_keys_destroy (&keys);
    zcq_testkit_rmtree (dir);
    zstr_free (&data);
    zstr_free (&path);
    free (dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keys_are_found_staged_and_shredded),
        cmocka_unit_test (test_wrong_folders_are_refused_by_name),
        cmocka_unit_test (test_old_layout_moves_its_keys),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    zcq_testkit_cleanup ();
    return failed;
}
