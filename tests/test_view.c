/*  =========================================================================
    test_view - a domain's view on read models: keyspaces side by side in
    one real store (LevelDB, then memory), the cache of committed values (which must never
    serve what the store does not hold), reads that lend (peek) and reads
    that copy (get), the checksum and clearing a keyspace. The overlay and scans are covered in test_store.
    =========================================================================
*/

#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  Commit the view's changes and write them, as the query node does.
static void
s_write (zcq_testkit_models_t *models, zcq_view_t *view)
{
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (view, batch);
    assert_int_equal (zcq_store_write (models->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    zcq_view_written (view);
}

//  Value of key through the view, as a string ("" when absent); caller frees.
static char *
s_get (zcq_view_t *view, const char *key)
{
    byte *value = NULL;
    size_t size = 0;
    int rc = zcq_view_get (view, key, &value, &size);
    assert_true (rc == 0 || rc == 1);
    return rc == 0 ? (char *) value : strdup ("");
}

static void
s_assert_value (zcq_view_t *view, const char *key, const char *expected)
{
    char *value = s_get (view, key);
    assert_string_equal (value, expected);
    free (value);
}

static void
test_keyspaces_do_not_see_each_other (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    zcq_view_t *other = zcq_view_new_keyspace (models->store, "n:");
    assert_string_equal (zcq_view_keyspace (models->view), "r:");
    assert_string_equal (zcq_view_keyspace (other), "n:");
    zcq_view_put (models->view, "account/a", "1", 1);
    zcq_view_put (other, "account/a", "2", 1);
    s_write (models, models->view);
    s_write (models, other);
    s_assert_value (models->view, "account/a", "1");
    s_assert_value (other, "account/a", "2");
    byte *value = NULL;
    size_t size;
    assert_int_equal (zcq_store_get (models->store, "n:account/a", 11, &value, &size), 0);
    assert_string_equal ((char *) value, "2");
    free (value);
    zcq_view_destroy (&other);
}

static void
test_cache_serves_only_what_was_written (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    zcq_view_set_cache (models->view, 100);
    zcq_view_put (models->view, "k", "old", 3);
    s_write (models, models->view);
    assert_int_equal (zcq_view_cached (models->view), 1);
    s_assert_value (models->view, "k", "old");

    //  A batch that never reaches the store must not leave its value cached
    zcq_view_put (models->view, "k", "new", 3);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (models->view, batch);
    zcq_batch_destroy (&batch);
    zcq_view_rollback (models->view);
    s_assert_value (models->view, "k", "old");

    //  A caller that never says "written" gets store reads, never old values
    zcq_view_put (models->view, "k", "newer", 5);
    batch = zcq_batch_new ();
    zcq_view_commit (models->view, batch);
    assert_int_equal (zcq_store_write (models->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    s_assert_value (models->view, "k", "newer");

    //  Deletes and absent keys are remembered as absent
    zcq_view_delete (models->view, "k");
    s_write (models, models->view);
    s_assert_value (models->view, "k", "");
    s_assert_value (models->view, "never", "");
    byte *value = NULL;
    size_t size;
    assert_int_equal (zcq_store_get (models->store, "r:k", 3, &value, &size), 1);
}

//  Write count keys in one batch through a cache of max values: it never
//  holds more, and every key reads back.
static void
s_write_more_than_the_cache (zcq_testkit_models_t *models, size_t max, int count)
{
    zcq_view_set_cache (models->view, max);
    char key [16];
    for (int index = 0; index < count; index++) {
        snprintf (key, sizeof (key), "k%d", index);
        zcq_view_put (models->view, key, key, strlen (key));
    }
    s_write (models, models->view);
    assert_true (zcq_view_cached (models->view) <= max);
    for (int index = 0; index < count; index++) {
        snprintf (key, sizeof (key), "k%d", index);
        s_assert_value (models->view, key, key);
        assert_true (zcq_view_cached (models->view) <= max);
    }
}

static void
test_cache_is_bounded (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    s_write_more_than_the_cache (models, 10, 25);
    zcq_view_set_cache (models->view, 0);
    assert_int_equal (zcq_view_cached (models->view), 0);
}

static void
test_checksum_depends_on_content_not_keyspace (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    zcq_view_t *other = zcq_view_new_keyspace (models->store, "n:");
    char empty [41], first [41], second [41];
    uint64_t keys = 99;
    assert_int_equal (zcq_view_checksum (models->view, empty, &keys), 0);
    assert_int_equal (keys, 0);
    assert_string_equal (empty, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"); //  SHA-1 of ""

    //  The same models written in another order, in another keyspace
    zcq_view_put (models->view, "a", "1", 1);
    zcq_view_put (models->view, "b", "22", 2);
    s_write (models, models->view);
    zcq_view_put (other, "b", "22", 2);
    s_write (models, other);
    zcq_view_put (other, "a", "1", 1);
    s_write (models, other);
    assert_int_equal (zcq_view_checksum (models->view, first, &keys), 0);
    assert_int_equal (keys, 2);
    assert_int_equal (zcq_view_checksum (other, second, &keys), 0);
    assert_string_equal (first, second);
    assert_int_equal (strlen (first), 40);

    //  Lengths are hashed: "a"="b1" differs from "ab"="1"
    zcq_view_delete (other, "a");
    zcq_view_delete (other, "b");
    zcq_view_put (other, "ab", "1", 1);
    zcq_view_put (other, "b", "22", 2);
    s_write (models, other);
    assert_int_equal (zcq_view_checksum (other, second, &keys), 0);
    assert_string_not_equal (first, second);
    //  One byte of one value changes it
    zcq_view_put (models->view, "b", "23", 2);
    s_write (models, models->view);
    assert_int_equal (zcq_view_checksum (models->view, second, &keys), 0);
    assert_string_not_equal (first, second);
    zcq_view_destroy (&other);
}

static void
test_clear_empties_one_keyspace_in_slices (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    zcq_view_t *other = zcq_view_new_keyspace (models->store, "n:");
    zcq_view_set_cache (other, 100);
    char key [16];
    for (int index = 0; index < 25; index++) {
        snprintf (key, sizeof (key), "k%02d", index);
        zcq_view_put (other, key, "x", 1);
    }
    s_write (models, other);
    zcq_view_put (models->view, "kept", "y", 1);
    s_write (models, models->view);
    assert_int_equal (zcq_view_clear (other, 10), 10);
    assert_int_equal (zcq_view_clear (other, 10), 10);
    assert_int_equal (zcq_view_clear (other, 10), 5);
    assert_int_equal (zcq_view_clear (other, 10), 0);
    s_assert_value (other, "k00", ""); //  not served from the cache
    s_assert_value (models->view, "kept", "y");
    zcq_view_destroy (&other);
}

//  Peek at key, expecting rc and (rc 0) the bytes of expected.
static void
s_assert_peek (zcq_view_t *view, const char *key, int rc, const char *expected)
{
    const byte *value = (const byte *) "unset";
    size_t size = 99;
    assert_int_equal (zcq_view_peek (view, key, &value, &size), rc);
    if (rc == 0) {
        assert_int_equal (size, strlen (expected));
        assert_memory_equal (value, expected, size);
    }
    else {
        assert_null (value);
        assert_int_equal (size, 0);
    }
}

static void
test_peek_lends_what_get_copies (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    for (int cached = 0; cached < 2; cached++) {
        zcq_view_set_cache (models->view, cached ? 100 : 0);
        zcq_view_put (models->view, "a", "stored", 6);
        zcq_view_put (models->view, "gone", "x", 1);
        s_write (models, models->view);
        zcq_view_delete (models->view, "gone");
        s_write (models, models->view);
        //  From the store (and, cached, the cache on the second look)
        s_assert_peek (models->view, "a", 0, "stored");
        s_assert_peek (models->view, "a", 0, "stored");
        s_assert_peek (models->view, "gone", 1, NULL);
        s_assert_peek (models->view, "never", 1, NULL);
        //  Buffered writes first, empty values too
        zcq_view_put (models->view, "a", "pending", 7);
        zcq_view_put (models->view, "empty", "", 0);
        s_assert_peek (models->view, "a", 0, "pending");
        s_assert_peek (models->view, "empty", 0, "");
        zcq_view_delete (models->view, "a");
        s_assert_peek (models->view, "a", 1, NULL);
        s_assert_value (models->view, "empty", "");
        zcq_view_rollback (models->view);
        s_assert_peek (models->view, "a", 0, "stored");
        s_assert_value (models->view, "a", "stored");
    }
}

static void
test_a_key_changed_while_its_batch_is_written_stays_pending (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    zcq_view_set_cache (models->view, 100);
    zcq_view_put (models->view, "k", "one", 3);
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_commit (models->view, batch);
    assert_int_equal (zcq_view_pending (models->view), 0);
    //  Changed again before the batch is written: reads see the change,
    //  and it is pending once written
    zcq_view_put (models->view, "k", "two", 3);
    assert_int_equal (zcq_store_write (models->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    zcq_view_written (models->view);
    assert_int_equal (zcq_view_pending (models->view), 1);
    assert_int_equal (zcq_view_cached (models->view), 0);
    s_assert_value (models->view, "k", "two");
    //  Rolled back, it reads as stored
    zcq_view_rollback (models->view);
    assert_int_equal (zcq_view_pending (models->view), 0);
    s_assert_value (models->view, "k", "one");
    //  (the memory backend lends its values and caches none)
    assert_true (zcq_view_cached (models->view) <= 1);

    //  Committed twice without being told written: the first batch's
    //  keys are not known to be stored, and are read from the store
    zcq_view_put (models->view, "a", "never", 5);
    batch = zcq_batch_new ();
    zcq_view_commit (models->view, batch);
    zcq_batch_destroy (&batch);
    zcq_view_put (models->view, "b", "b", 1);
    batch = zcq_batch_new ();
    zcq_view_commit (models->view, batch);
    assert_int_equal (zcq_store_write (models->store, batch, false), 0);
    zcq_batch_destroy (&batch);
    zcq_view_written (models->view);
    s_assert_value (models->view, "a", "");
    s_assert_value (models->view, "b", "b");

    //  A batch larger than the cache leaves nothing cached but stays right
    s_write_more_than_the_cache (models, 3, 5);
}

static void
test_commits_into_one_batch_are_settled_together (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    zcq_view_set_cache (models->view, 100);
    //  Two commits into one held batch, a key in both: reads see the
    //  latest, the batch gets each key once with its last value committed
    //  (not a change made since), and once written they are what the store
    //  holds
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_view_put (models->view, "a", "one", 3);
    zcq_view_put (models->view, "b", "b", 1);
    zcq_view_commit_more (models->view);
    zcq_view_put (models->view, "a", "two", 3);
    zcq_view_put (models->view, "c", "c", 1);
    zcq_view_commit_more (models->view);
    assert_int_equal (zcq_view_pending (models->view), 0);
    s_assert_value (models->view, "a", "two");
    s_assert_value (models->view, "b", "b");
    zcq_view_put (models->view, "c", "later", 5); //  not committed
    zcq_view_commit_held (models->view, batch);
    assert_int_equal (zcq_batch_size (batch), 3);
    assert_int_equal (zcq_store_write (models->store, batch, false), 0);
    zcq_batch_clear (batch);
    zcq_view_written (models->view);
    s_assert_value (models->view, "a", "two");
    s_assert_value (models->view, "b", "b");
    s_assert_value (models->view, "c", "later");
    byte *value = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (models->store, "r:a", 3, &value, &size), 0);
    assert_string_equal ((char *) value, "two");
    free (value);
    assert_int_equal (zcq_store_get (models->store, "r:c", 3, &value, &size), 0);
    assert_string_equal ((char *) value, "c");
    free (value);
    zcq_view_rollback (models->view); //  the change not committed goes
    s_assert_value (models->view, "c", "c");

    //  Two commits rolled back: neither stays
    zcq_view_put (models->view, "a", "three", 5);
    zcq_view_commit_more (models->view);
    zcq_view_put (models->view, "d", "d", 1);
    zcq_view_commit_more (models->view);
    s_assert_value (models->view, "a", "three");
    zcq_view_rollback (models->view);
    s_assert_value (models->view, "a", "two");
    assert_int_equal (zcq_view_get (models->view, "d", &value, &size), 1);
    zcq_batch_destroy (&batch);
}

//  What the unwritten function of the test below sees and does
typedef struct {
    zcq_testkit_models_t *models;
    zcq_batch_t *batch; //  filled with the held batch when written
    int calls;          //  times called
} s_unwritten_t;

//  Write the batch held, as the query node's flush does.
static void
s_write_held (void *arg)
{
    s_unwritten_t *held = (s_unwritten_t *) arg;
    held->calls++;
    zcq_view_commit_held (held->models->view, held->batch);
    assert_int_equal (zcq_store_write (held->models->store, held->batch, false), 0);
    zcq_batch_clear (held->batch);
    zcq_view_written (held->models->view);
}

static int
s_count_key (const char *key, const byte *value, size_t size, void *arg)
{
    (void) key;
    (void) value;
    (void) size;
    (*(int *) arg)++;
    return 0;
}

static void
test_iterating_over_an_unwritten_batch_writes_it_first (void **state)
{
    zcq_testkit_models_t *models = (zcq_testkit_models_t *) *state;
    s_unwritten_t held = {models, zcq_batch_new (), 0};
    zcq_view_set_unwritten (models->view, s_write_held, &held);
    //  Nothing committed: a scan and a checksum read the store at once
    zcq_view_put (models->view, "a", "a", 1);
    s_write (models, models->view);
    int keys = 0;
    assert_int_equal (zcq_view_scan (models->view, "", NULL, s_count_key, &keys), 1);
    char hex [41];
    uint64_t counted = 0;
    assert_int_equal (zcq_view_checksum (models->view, hex, &counted), 0);
    assert_int_equal (held.calls, 0);

    //  A batch committed, not written: a get finds it without a write...
    zcq_view_put (models->view, "b", "b", 1);
    zcq_view_commit_more (models->view);
    s_assert_value (models->view, "b", "b");
    assert_int_equal (held.calls, 0);
    //  ... and a scan has it written first, so that it sees it
    keys = 0;
    assert_int_equal (zcq_view_scan (models->view, "", NULL, s_count_key, &keys), 2);
    assert_int_equal (held.calls, 1);
    //  The checksum too
    zcq_view_put (models->view, "c", "c", 1);
    zcq_view_commit_more (models->view);
    assert_int_equal (zcq_view_checksum (models->view, hex, &counted), 0);
    assert_int_equal (counted, 3);
    assert_int_equal (held.calls, 2);
    zcq_view_set_unwritten (models->view, NULL, NULL);
    zcq_batch_destroy (&held.batch);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        ZCQ_TESTKIT_MODELS_TEST (test_keyspaces_do_not_see_each_other),
        ZCQ_TESTKIT_MODELS_TEST (test_cache_serves_only_what_was_written),
        ZCQ_TESTKIT_MODELS_TEST (test_cache_is_bounded),
        ZCQ_TESTKIT_MODELS_TEST (test_checksum_depends_on_content_not_keyspace),
        ZCQ_TESTKIT_MODELS_TEST (test_clear_empties_one_keyspace_in_slices),
        ZCQ_TESTKIT_MODELS_TEST (test_peek_lends_what_get_copies),
        ZCQ_TESTKIT_MODELS_TEST (test_iterating_over_an_unwritten_batch_writes_it_first),
        ZCQ_TESTKIT_MODELS_TEST (test_a_key_changed_while_its_batch_is_written_stays_pending),
        ZCQ_TESTKIT_MODELS_TEST (test_commits_into_one_batch_are_settled_together),
    };
    return ZCQ_TESTKIT_RUN_ON_BOTH_BACKENDS (tests);
}
