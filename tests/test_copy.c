/*  =========================================================================
    test_copy - a write group member copies another member's store
    (zcq_copy): real LevelDB folders, a real ROUTER on ipc://; the copy is
    the server's store key for key, and its key table with it, a server
    that is behind refuses and leaves the copier's store as it was
    =========================================================================
*/

#include "zcq_copy.h"
#include "zcq_testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT 5000 //  ms the copier waits for each answer

typedef struct {
    char *dir;              //  temporary folder
    char endpoint [300];    //  the server's ipc endpoint
    zcq_store_t *from;      //  the server's store
    zcq_store_t *to;        //  the copier's store
    zcq_store_t *from_keys; //  the server's key table
    zcq_store_t *to_keys;   //  the copier's key table
    zactor_t *server;       //  the copy server on `from`
} copy_t;

static void
s_put (zcq_store_t *store, const char *key, const void *value, size_t size)
{
    zcq_batch_t *batch = zcq_batch_new ();
    zcq_batch_put (batch, key, strlen (key), value, size);
    assert_int_equal (zcq_store_write (store, batch, false), 0);
    zcq_batch_destroy (&batch);
}

static void
s_put_group (zcq_store_t *store, uint64_t group)
{
    byte value [8];
    zcq_store_put_be64 (value, group);
    s_put (store, "m:group", value, 8);
}

static copy_t *
s_copy_new (void)
{
    copy_t *self = (copy_t *) zmalloc (sizeof (copy_t));
    self->dir = zcq_testkit_tmpdir ("copy");
    char path [300];
    snprintf (path, sizeof (path), "%s/from", self->dir);
    self->from = zcq_store_new (path);
    snprintf (path, sizeof (path), "%s/to", self->dir);
    self->to = zcq_store_new (path);
    snprintf (path, sizeof (path), "%s/from-keys", self->dir);
    self->from_keys = zcq_store_new (path);
    snprintf (path, sizeof (path), "%s/to-keys", self->dir);
    self->to_keys = zcq_store_new (path);
    assert_non_null (self->from);
    assert_non_null (self->to);
    assert_non_null (self->from_keys);
    assert_non_null (self->to_keys);
    snprintf (self->endpoint, sizeof (self->endpoint), "ipc://%s/copy", self->dir);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_true (zsock_bind (router, "%s", self->endpoint) == 0);
    zcq_copy_config_t config = {self->from, self->from_keys, router};
    self->server = zactor_new (zcq_copy_actor, &config);
    return self;
}

static void
s_copy_destroy (copy_t **self_p)
{
    copy_t *self = *self_p;
    zactor_destroy (&self->server);
    zcq_store_destroy (&self->from);
    zcq_store_destroy (&self->to);
    zcq_store_destroy (&self->from_keys);
    zcq_store_destroy (&self->to_keys);
    zcq_testkit_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

static void
s_assert_same (zcq_store_t *one, zcq_store_t *other)
{
    zchunk_t *first = zcq_testkit_store_chunk (one);
    zchunk_t *second = zcq_testkit_store_chunk (other);
    assert_int_equal (zchunk_size (first), zchunk_size (second));
    assert_memory_equal (zchunk_data (first), zchunk_data (second), zchunk_size (first));
    zchunk_destroy (&first);
    zchunk_destroy (&second);
}

//  More than one chunk's worth (1 MiB) of keys, and keys the copier has
//  that the server does not: the copy is the server's store, exactly, and
//  the copier's key table the server's (a member restored by a copy can
//  open the sealed fields of the events it copied).
static void
test_a_copy_is_the_servers_store (void **state)
{
    (void) state;
    copy_t *self = s_copy_new ();
    static byte value [4096];
    for (int index = 0; index < 600; index++) {
        char key [32];
        snprintf (key, sizeof (key), "e:%06d", index);
        memset (value, index & 0xff, sizeof (value));
        s_put (self->from, key, value, sizeof (value));
    }
    s_put_group (self->from, 12);
    s_put (self->to, "e:999999", "stale", 5);
    s_put (self->to, "z:local", "gone", 4);
    s_put (self->from_keys, "k:acc-1", "0123456789abcdef0123456789abcdef", 32);
    s_put (self->from_keys, "x:acc-2", "\0\0\0\0\0\0\0\7", 8);
    s_put (self->to_keys, "k:acc-2", "a key forgotten since, elsewhere", 32);

    uint64_t group = 0;
    assert_int_equal (
        zcq_copy_fetch (self->to, self->to_keys, self->endpoint, 10, WAIT, &group), 0);
    assert_int_equal (group, 12);
    s_assert_same (self->from, self->to);
    s_assert_same (self->from_keys, self->to_keys);
    //  Again, at once: the server took the next copy (the last one ended)
    assert_int_equal (
        zcq_copy_fetch (self->to, self->to_keys, self->endpoint, 12, WAIT, &group), 0);
    s_assert_same (self->from, self->to);
    s_assert_same (self->from_keys, self->to_keys);
    s_copy_destroy (&self);
}

//  A server that has not applied the group asked for says so: the
//  copier's store stays as it was.
static void
test_a_server_behind_is_refused_and_nothing_changes (void **state)
{
    (void) state;
    copy_t *self = s_copy_new ();
    s_put (self->from, "e:000001", "one", 3);
    s_put_group (self->from, 3);
    s_put (self->to, "e:000001", "mine", 4);
    s_put (self->to_keys, "k:acc-1", "0123456789abcdef0123456789abcdef", 32);
    uint64_t group = 77;
    assert_int_equal (zcq_copy_fetch (self->to, self->to_keys, self->endpoint, 4, WAIT, &group),
                      1);
    assert_int_equal (group, 77);
    byte *kept = NULL;
    size_t size = 0;
    assert_int_equal (zcq_store_get (self->to, "e:000001", 8, &kept, &size), 0);
    assert_memory_equal (kept, "mine", 4);
    free (kept);
    assert_int_equal (zcq_store_get (self->to_keys, "k:acc-1", 7, &kept, &size), 0);
    free (kept);
    s_copy_destroy (&self);
}

//  Nobody at the endpoint: an answer that never comes is "try another".
static void
test_no_server_is_try_another (void **state)
{
    (void) state;
    copy_t *self = s_copy_new ();
    char endpoint [400];
    snprintf (endpoint, sizeof (endpoint), "ipc://%s/nobody", self->dir);
    uint64_t group = 0;
    assert_int_equal (zcq_copy_fetch (self->to, self->to_keys, endpoint, 1, 200, &group), 1);
    s_copy_destroy (&self);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_a_copy_is_the_servers_store),
        cmocka_unit_test (test_a_server_behind_is_refused_and_nothing_changes),
        cmocka_unit_test (test_no_server_is_try_another),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
