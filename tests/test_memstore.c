/*  =========================================================================
    test_memstore - the ordered in-memory map of the memory backend: the
    same keys in the same order as a real LevelDB store after the same
    random puts and deletes, walks both ways, a write past the limit that is
    refused whole, and bytes that return to where they were
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_memstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

static int
s_put (zcq_memstore_t *map, const char *key, const char *value)
{
    zcq_memstore_change_t change = {key, strlen (key), value, strlen (value)};
    return zcq_memstore_write (map, &change, 1);
}

static void
s_assert_entry (zcq_memstore_entry_t *entry, const char *key, const char *value)
{
    assert_non_null (entry);
    size_t size;
    const byte *bytes = zcq_memstore_entry_key (entry, &size);
    assert_int_equal (size, strlen (key));
    assert_memory_equal (bytes, key, size);
    bytes = zcq_memstore_entry_value (entry, &size);
    assert_int_equal (size, strlen (value));
    assert_memory_equal (bytes, value, size);
}

static void
test_keys_sort_bytewise_and_walk_both_ways (void **state)
{
    (void) state;
    zcq_memstore_t *map = zcq_memstore_new (0);
    assert_null (zcq_memstore_last (map));
    assert_null (zcq_memstore_seek (map, "", 0));
    //  A prefix sorts before its longer keys; bytes above 0x7f after ASCII
    assert_int_equal (s_put (map, "b", "2"), 0);
    assert_int_equal (s_put (map, "ab", "1"), 0);
    assert_int_equal (s_put (map, "a", "0"), 0);
    assert_int_equal (s_put (map, "\xc3\xa9", "3"), 0);
    assert_int_equal (zcq_memstore_keys (map), 4);
    zcq_memstore_entry_t *entry = zcq_memstore_seek (map, "", 0);
    s_assert_entry (entry, "a", "0");
    s_assert_entry (entry = zcq_memstore_next (entry), "ab", "1");
    s_assert_entry (entry = zcq_memstore_next (entry), "b", "2");
    s_assert_entry (entry = zcq_memstore_next (entry), "\xc3\xa9", "3");
    assert_null (zcq_memstore_next (entry));
    s_assert_entry (zcq_memstore_last (map), "\xc3\xa9", "3");
    s_assert_entry (entry = zcq_memstore_prev (entry), "b", "2");
    s_assert_entry (entry = zcq_memstore_prev (entry), "ab", "1");
    s_assert_entry (entry = zcq_memstore_prev (entry), "a", "0");
    assert_null (zcq_memstore_prev (entry));
    //  Seek: the first key >= the one asked for
    s_assert_entry (zcq_memstore_seek (map, "aa", 2), "ab", "1");
    s_assert_entry (zcq_memstore_seek (map, "ab", 2), "ab", "1");
    assert_null (zcq_memstore_seek (map, "\xff", 1));
    //  Replace, get, delete; an empty value is a value
    assert_int_equal (s_put (map, "ab", "longer value"), 0);
    assert_int_equal (s_put (map, "b", ""), 0);
    size_t size;
    const byte *value = zcq_memstore_get (map, "ab", 2, &size);
    assert_int_equal (size, 12);
    assert_memory_equal (value, "longer value", 12);
    value = zcq_memstore_get (map, "b", 1, &size);
    assert_non_null (value);
    assert_int_equal (size, 0);
    zcq_memstore_change_t gone = {"ab", 2, NULL, 0};
    assert_int_equal (zcq_memstore_write (map, &gone, 1), 0);
    assert_null (zcq_memstore_get (map, "ab", 2, &size));
    s_assert_entry (zcq_memstore_next (zcq_memstore_seek (map, "a", 1)), "b", "");
    assert_int_equal (zcq_memstore_keys (map), 3);
    zcq_memstore_destroy (&map);
    assert_null (map);
}

static void
test_a_write_past_the_limit_is_refused_whole (void **state)
{
    (void) state;
    zcq_memstore_t *map = zcq_memstore_new (4096);
    assert_int_equal (zcq_memstore_limit (map), 4096);
    size_t empty = zcq_memstore_bytes (map);
    assert_int_equal (s_put (map, "small", "x"), 0);
    size_t held = zcq_memstore_bytes (map);
    assert_true (held > empty);
    //  One small change and one that does not fit: neither is applied
    char big [5000];
    memset (big, 'v', sizeof (big));
    zcq_memstore_change_t changes [2] = {{"other", 5, "y", 1}, {"big", 3, big, sizeof (big)}};
    assert_int_equal (zcq_memstore_write (map, changes, 2), -1);
    size_t size;
    assert_null (zcq_memstore_get (map, "other", 5, &size));
    assert_null (zcq_memstore_get (map, "big", 3, &size));
    assert_int_equal (zcq_memstore_bytes (map), held);
    //  What fits still goes in; a delete gives the bytes back
    assert_int_equal (zcq_memstore_write (map, changes, 1), 0);
    zcq_memstore_change_t deletes [2] = {{"other", 5, NULL, 0}, {"small", 5, NULL, 0}};
    assert_int_equal (zcq_memstore_write (map, deletes, 2), 0);
    assert_int_equal (zcq_memstore_bytes (map), empty);
    assert_int_equal (zcq_memstore_keys (map), 0);
    zcq_memstore_destroy (&map);
}

//  Random puts and deletes, in batches, on a real LevelDB store and on a
//  memory store: afterwards both hold the same keys and values in the same
//  order, walked forwards and backwards through the store's iterators.
static void
test_same_keys_and_order_as_leveldb (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("memstore");
    zcq_store_t *disk = zcq_store_new (dir);
    zcq_store_t *memory = zcq_store_new_memory ("memory", 0);
    assert_non_null (disk);
    assert_non_null (memory);
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        zcq_batch_t *batch = zcq_batch_new ();
        for (int change = 0; change < 50; change++) {
            seed = seed * 1103515245u + 12345u;
            char key [32];
            //  Keys of varied lengths that share prefixes
            int length =
                snprintf (key, sizeof (key), "k/%u/%u", (seed >> 8) % 97, (seed >> 16) % 13);
            if ((seed >> 4) % 4 == 0) {
                zcq_batch_delete (batch, key, (size_t) length);
            }
            else {
                char value [64];
                int size = snprintf (value, sizeof (value), "%d-%d", round, change);
                zcq_batch_put (batch, key, (size_t) length, value, (size_t) size);
            }
        }
        assert_int_equal (zcq_store_write (disk, batch, false), 0);
        assert_int_equal (zcq_store_write (memory, batch, false), 0);
        zcq_batch_destroy (&batch);
    }
    zcq_iter_t *expected = zcq_iter_new (disk, true);
    zcq_iter_t *actual = zcq_iter_new (memory, true);
    zcq_iter_seek (expected, "", 0);
    zcq_iter_seek (actual, "", 0);
    int keys = 0;
    while (zcq_iter_valid (expected)) {
        assert_true (zcq_iter_valid (actual));
        size_t expected_size, actual_size;
        const byte *want = zcq_iter_key (expected, &expected_size);
        const byte *got = zcq_iter_key (actual, &actual_size);
        assert_int_equal (actual_size, expected_size);
        assert_memory_equal (got, want, expected_size);
        want = zcq_iter_value (expected, &expected_size);
        got = zcq_iter_value (actual, &actual_size);
        assert_int_equal (actual_size, expected_size);
        assert_memory_equal (got, want, expected_size);
        zcq_iter_next (expected);
        zcq_iter_next (actual);
        keys++;
    }
    assert_false (zcq_iter_valid (actual));
    assert_true (keys > 500);
    //  Every key read by itself (the hash index), present or deleted
    for (unsigned first = 0; first < 97; first++) {
        for (unsigned second = 0; second < 13; second++) {
            char key [32];
            int length = snprintf (key, sizeof (key), "k/%u/%u", first, second);
            byte *want = NULL, *got = NULL;
            size_t want_size = 0, got_size = 0;
            int rc = zcq_store_get (disk, key, (size_t) length, &want, &want_size);
            assert_int_equal (zcq_store_get (memory, key, (size_t) length, &got, &got_size),
                              rc);
            assert_int_equal (got_size, want_size);
            if (rc == 0) {
                assert_memory_equal (got, want, want_size);
            }
            free (want);
            free (got);
        }
    }
    //  Backwards from the last key
    zcq_iter_seek_last (expected);
    zcq_iter_seek_last (actual);
    while (zcq_iter_valid (expected)) {
        size_t expected_size, actual_size;
        const byte *want = zcq_iter_key (expected, &expected_size);
        const byte *got = zcq_iter_key (actual, &actual_size);
        assert_int_equal (actual_size, expected_size);
        assert_memory_equal (got, want, expected_size);
        zcq_iter_prev (expected);
        zcq_iter_prev (actual);
        keys--;
    }
    assert_false (zcq_iter_valid (actual));
    assert_int_equal (keys, 0);
    zcq_iter_destroy (&expected);
    zcq_iter_destroy (&actual);
    //  And point reads agree, present or absent
    for (int index = 0; index < 97; index++) {
        char key [32];
        int length = snprintf (key, sizeof (key), "k/%d/%d", index, index % 13);
        byte *want = NULL, *got = NULL;
        size_t want_size = 0, got_size = 0;
        int want_rc = zcq_store_get (disk, key, (size_t) length, &want, &want_size);
        int got_rc = zcq_store_get (memory, key, (size_t) length, &got, &got_size);
        assert_int_equal (got_rc, want_rc);
        assert_int_equal (got_size, want_size);
        if (want_rc == 0) {
            assert_memory_equal (got, want, want_size);
        }
        free (want);
        free (got);
    }
    size_t bytes, limit;
    bool full;
    assert_true (zcq_store_memory (memory, &bytes, &limit, &full));
    assert_false (zcq_store_memory (disk, &bytes, &limit, &full));
    zcq_store_destroy (&disk);
    zcq_store_destroy (&memory);
    zcq_testkit_rmtree (dir);
    free (dir);
}

//  A memory store that refuses a batch says so in its state, and takes
//  one that fits again.
static void
test_a_memory_store_past_its_limit_refuses_the_batch (void **state)
{
    (void) state;
    zcq_store_t *store = zcq_store_new_memory ("memory", 2048);
    zcq_batch_t *batch = zcq_batch_new ();
    char big [4096];
    memset (big, 'b', sizeof (big));
    zcq_batch_put (batch, "a", 1, "1", 1);
    zcq_batch_put (batch, "big", 3, big, sizeof (big));
    assert_int_equal (zcq_store_write (store, batch, false), -1);
    size_t bytes, limit;
    bool full = false;
    assert_true (zcq_store_memory (store, &bytes, &limit, &full));
    assert_true (full);
    assert_int_equal (limit, 2048);
    byte *value = NULL;
    size_t size;
    assert_int_equal (zcq_store_get (store, "a", 1, &value, &size), 1);
    zcq_batch_clear (batch);
    zcq_batch_put (batch, "a", 1, "1", 1);
    assert_int_equal (zcq_store_write (store, batch, false), 0);
    assert_true (zcq_store_memory (store, &bytes, &limit, &full));
    assert_false (full);
    assert_int_equal (zcq_store_get (store, "a", 1, &value, &size), 0);
    assert_string_equal ((char *) value, "1");
    free (value);
    zcq_batch_destroy (&batch);
    zcq_store_destroy (&store);
}

//  A snapshot file gives back the same keys and values; a file cut short,
//  changed or of something else is refused whole, with the reason.
static void
test_a_snapshot_gives_back_what_was_saved_or_is_refused (void **state)
{
    (void) state;
    char *dir = zcq_testkit_tmpdir ("memstore-snapshot");
    char *path = zsys_sprintf ("%s/memory.snapshot", dir);
    zcq_memstore_t *map = zcq_memstore_new (0);
    char key [32], value [64];
    for (int index = 0; index < 1000; index++) {
        snprintf (key, sizeof (key), "k/%04d", index);
        snprintf (value, sizeof (value), "value of %d", index * 7);
        assert_int_equal (s_put (map, key, index % 10 ? value : ""), 0);
    }
    assert_int_equal (zcq_memstore_save (map, path), 0);
    char *error = NULL;
    zcq_memstore_t *loaded = zcq_memstore_load (path, 0, &error);
    assert_non_null (loaded);
    assert_null (error);
    assert_int_equal (zcq_memstore_keys (loaded), 1000);
    assert_int_equal (zcq_memstore_bytes (loaded), zcq_memstore_bytes (map));
    zcq_memstore_entry_t *want = zcq_memstore_seek (map, "", 0);
    zcq_memstore_entry_t *got = zcq_memstore_seek (loaded, "", 0);
    while (want) {
        size_t size;
        const byte *bytes = zcq_memstore_entry_key (want, &size);
        char text [64];
        snprintf (text, sizeof (text), "%.*s", (int) size, (const char *) bytes);
        bytes = zcq_memstore_entry_value (want, &size);
        char expected [64];
        snprintf (expected, sizeof (expected), "%.*s", (int) size, (const char *) bytes);
        s_assert_entry (got, text, expected);
        want = zcq_memstore_next (want);
        got = zcq_memstore_next (got);
    }
    assert_null (got);
    zcq_memstore_destroy (&loaded);
    //  Cut short by one byte: refused
    FILE *file = fopen (path, "r+b");
    assert_non_null (file);
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fclose (file);
    assert_int_equal (truncate (path, size - 1), 0);
    assert_null (zcq_memstore_load (path, 0, &error));
    assert_non_null (strstr (error, "is not a whole, intact snapshot"));
    zstr_free (&error);
    //  Not a file at all
    assert_null (zcq_memstore_load ("/proc/zcqrs-no-such-file", 0, &error));
    assert_non_null (strstr (error, "cannot open snapshot"));
    zstr_free (&error);
    zcq_memstore_destroy (&map);
    unlink (path);
    zstr_free (&path);
    zcq_testkit_rmtree (dir);
    free (dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keys_sort_bytewise_and_walk_both_ways),
        cmocka_unit_test (test_a_write_past_the_limit_is_refused_whole),
        cmocka_unit_test (test_same_keys_and_order_as_leveldb),
        cmocka_unit_test (test_a_memory_store_past_its_limit_refuses_the_batch),
        cmocka_unit_test (test_a_snapshot_gives_back_what_was_saved_or_is_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
