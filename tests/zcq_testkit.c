/*  =========================================================================
    zcq_testkit - what the tests share (see zcq_testkit.h)
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_endpoint.h"
#include "zcq_keys.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define MAX_STARTED 64

static pid_t s_started [MAX_STARTED];     //  nodes started and not yet reaped
static const char *s_storage = "leveldb"; //  read-model backend of the tests

static void
s_forget (pid_t pid)
{
    for (int index = 0; index < MAX_STARTED; index++) {
        if (s_started [index] == pid) {
            s_started [index] = 0;
        }
    }
}

int
zcq_testkit_cleanup (void)
{
    int killed = 0;
    for (int index = 0; index < MAX_STARTED; index++) {
        if (s_started [index] > 0) {
            kill (s_started [index], SIGKILL);
            waitpid (s_started [index], NULL, 0);
            s_started [index] = 0;
            killed++;
        }
    }
    return killed;
}

static void
s_cleanup_at_exit (void)
{
    zcq_testkit_cleanup ();
}

char *
zcq_testkit_tmpdir (const char *tag)
{
    const char *base = getenv ("TMPDIR");
    char *path = zsys_sprintf ("%s/zcq-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    assert (path);
    char *made = mkdtemp (path);
    assert (made);
    return path;
}

int
zcq_testkit_free_port (void)
{
    int port = zcq_endpoint_free_port ();
    assert_true (port > 0);
    return port;
}

void
zcq_testkit_rmtree (const char *path)
{
    DIR *dir = opendir (path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            if (streq (entry->d_name, ".") || streq (entry->d_name, "..")) {
                continue;
            }
            char *child = zsys_sprintf ("%s/%s", path, entry->d_name);
            struct stat info;
            if (lstat (child, &info) == 0 && S_ISDIR (info.st_mode)) {
                zcq_testkit_rmtree (child);
            }
            else {
                unlink (child);
            }
            zstr_free (&child);
        }
        closedir (dir);
    }
    rmdir (path);
}

void
zcq_testkit_set_storage (const char *backend)
{
    assert (streq (backend, "leveldb") || streq (backend, "memory"));
    s_storage = backend;
}

const char *
zcq_testkit_storage (void)
{
    return s_storage;
}

int
zcq_testkit_failures (int failures)
{
    static int total = 0;
    total += failures;
    return total;
}

uint64_t
zcq_testkit_random (uint64_t *state)
{
    assert (*state);
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static int
s_by_name (const void *left, const void *right)
{
    return strcmp (*(char *const *) left, *(char *const *) right);
}

const char *
zcq_testkit_vectors_folder (void)
{
    const char *folder = getenv ("ZCQ_VECTORS");
    return folder && *folder ? folder : "protocol/vectors";
}

zcq_testkit_vector_t *
zcq_testkit_vectors_new (size_t *count_p)
{
    const char *folder = zcq_testkit_vectors_folder ();
    DIR *dir = opendir (folder);
    if (!dir) {
        print_error ("cannot open the vector folder '%s'\n", folder);
        return NULL;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        size_t length = strlen (entry->d_name);
        if (length > 5 && length < 250 && streq (entry->d_name + length - 5, ".json")) {
            names = (char **) realloc (names, (count + 1) * sizeof (char *));
            assert_non_null (names);
            names [count++] = strdup (entry->d_name);
        }
    }
    closedir (dir);
    qsort (names, count, sizeof (char *), s_by_name);

    zcq_testkit_vector_t *vectors =
        (zcq_testkit_vector_t *) calloc (count ? count : 1, sizeof (zcq_testkit_vector_t));
    assert_non_null (vectors);
    for (size_t index = 0; index < count; index++) {
        zcq_testkit_vector_t *vector = &vectors [index];
        snprintf (vector->name, sizeof (vector->name), "%.*s",
                  (int) (strlen (names [index]) - 5), names [index]);
        char *path = zsys_sprintf ("%s/%s", folder, names [index]);
        zfile_t *file = zfile_new (NULL, path);
        assert_non_null (file);
        assert_int_equal (zfile_input (file), 0);
        zchunk_t *chunk = zfile_read (file, zfile_cursize (file), 0);
        assert_non_null (chunk);
        char *text = zchunk_strdup (chunk);
        msgpack_sbuffer_init (&vector->packed);
        char *error = NULL;
        if (zcq_json_to_msgpack (text, &vector->packed, &error) != 0) {
            print_error ("%s: %s\n", path, error);
            fail ();
        }
        zcq_testkit_unpack (vector->packed.data, vector->packed.size, &vector->root);
        assert_int_equal (vector->root.data.type, MSGPACK_OBJECT_MAP);
        zstr_free (&text);
        zchunk_destroy (&chunk);
        zfile_destroy (&file);
        zstr_free (&path);
        free (names [index]);
    }
    free (names);
    *count_p = count;
    return vectors;
}

void
zcq_testkit_vectors_destroy (zcq_testkit_vector_t **vectors_p, size_t count)
{
    assert (vectors_p);
    zcq_testkit_vector_t *vectors = *vectors_p;
    for (size_t index = 0; vectors && index < count; index++) {
        msgpack_unpacked_destroy (&vectors [index].root);
        msgpack_sbuffer_destroy (&vectors [index].packed);
    }
    free (vectors);
    *vectors_p = NULL;
}

const msgpack_object *
zcq_testkit_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *name = &map->via.map.ptr [index].key;
        if (name->type == MSGPACK_OBJECT_STR && name->via.str.size == strlen (key)
            && memcmp (name->via.str.ptr, key, name->via.str.size) == 0) {
            return &map->via.map.ptr [index].val;
        }
    }
    return NULL;
}

void
zcq_testkit_assert_repacks (const void *bytes, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    assert_int_equal (msgpack_unpack_next (&unpacked, (const char *) bytes, size, &offset),
                      MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (offset, size);
    msgpack_sbuffer again;
    msgpack_sbuffer_init (&again);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &again, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, unpacked.data);
    assert_int_equal (again.size, size);
    assert_memory_equal (again.data, bytes, size);
    msgpack_sbuffer_destroy (&again);
    msgpack_unpacked_destroy (&unpacked);
}

zframe_t *
zcq_testkit_unhex (const msgpack_object *object)
{
    assert_non_null (object);
    assert_int_equal (object->type, MSGPACK_OBJECT_STR);
    size_t size = object->via.str.size / 2;
    assert_int_equal (object->via.str.size % 2, 0);
    zframe_t *frame = zframe_new (NULL, size);
    byte *data = zframe_data (frame);
    for (size_t index = 0; index < size; index++) {
        unsigned value;
        char digits [3] = {object->via.str.ptr [2 * index], object->via.str.ptr [2 * index + 1],
                           0};
        assert_int_equal (sscanf (digits, "%2x", &value), 1);
        data [index] = (byte) value;
    }
    return frame;
}

zcq_store_t *
zcq_testkit_store_new (const char *dir)
{
    zcq_store_t *store =
        streq (s_storage, "memory") ? zcq_store_new_memory (dir, 0) : zcq_store_new (dir);
    assert (store);
    return store;
}

zcq_testkit_models_t *
zcq_testkit_models_new (const char *tag)
{
    zcq_testkit_models_t *self = (zcq_testkit_models_t *) zmalloc (sizeof (*self));
    assert (self);
    self->dir = zcq_testkit_tmpdir (tag);
    self->store = zcq_testkit_store_new (self->dir);
    self->view = zcq_view_new (self->store);
    return self;
}

void
zcq_testkit_models_destroy (zcq_testkit_models_t **self_p)
{
    if (*self_p) {
        zcq_testkit_models_t *self = *self_p;
        zcq_view_destroy (&self->view);
        zcq_store_destroy (&self->store);
        zcq_testkit_rmtree (self->dir);
        free (self->dir);
        free (self);
        *self_p = NULL;
    }
}

int
zcq_testkit_models_setup (void **state)
{
    *state = zcq_testkit_models_new ("models");
    return 0;
}

int
zcq_testkit_models_teardown (void **state)
{
    zcq_testkit_models_destroy ((zcq_testkit_models_t **) state);
    return 0;
}

msgpack_sbuffer *
zcq_testkit_map (const char *word, ...)
{
    const char *words [64];
    int count = 0;
    va_list args;
    va_start (args, word);
    while (word) {
        assert (count < 64);
        words [count++] = word;
        word = va_arg (args, const char *);
    }
    va_end (args);
    msgpack_sbuffer *buffer = msgpack_sbuffer_new ();
    char *error = NULL;
    int rc = zcq_words_pack (buffer, count, words, &error);
    assert (rc == 0);
    (void) rc;
    return buffer;
}

zcq_decision_t *
zcq_testkit_decide (const zcq_domain_t *domain, const void *state, const char *type,
                    const char *stream, msgpack_sbuffer *data)
{
    msgpack_unpacked unpacked;
    zcq_testkit_unpack (data->data, data->size, &unpacked);
    zcq_command_t command = {type, stream, 0, &unpacked.data};
    zcq_decision_t *decision = zcq_decision_new ();
    domain->decide (state, &command, decision);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_free (data);
    return decision;
}

void
zcq_testkit_unpack (const void *data, size_t size, msgpack_unpacked *result)
{
    int rc = zcq_mpack_unpack (data, size, result);
    assert (rc == 0);
    (void) rc;
}

int64_t
zcq_testkit_int (const void *data, size_t size, const char *key)
{
    msgpack_unpacked result;
    zcq_testkit_unpack (data, size, &result);
    const msgpack_object *value = zcq_map_get (&result.data, key);
    assert (value);
    int64_t number = 0;
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        number = (int64_t) value->via.u64;
    }
    else {
        assert (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
        number = value->via.i64;
    }
    msgpack_unpacked_destroy (&result);
    return number;
}

char *
zcq_testkit_str (const void *data, size_t size, const char *key)
{
    msgpack_unpacked result;
    zcq_testkit_unpack (data, size, &result);
    const msgpack_object *value = zcq_map_get (&result.data, key);
    char *text = NULL;
    if (value && value->type == MSGPACK_OBJECT_STR) {
        text = (char *) malloc (value->via.str.size + 1);
        assert (text);
        memcpy (text, value->via.str.ptr, value->via.str.size);
        text [value->via.str.size] = 0;
    }
    msgpack_unpacked_destroy (&result);
    return text;
}

//  The folder holding the running test binary's build tree (build/).
static char *
s_build_dir (void)
{
    char exe [PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
    assert (size > 0);
    exe [size] = 0;
    //  build/tests/test_x -> build
    char *tests = dirname (exe);
    char *build = strdup (dirname (tests));
    assert (build);
    return build;
}

char *
zcq_testkit_build_file (const char *name)
{
    char *build = s_build_dir ();
    char *path = zsys_sprintf ("%s/%s", build, name);
    free (build);
    return path;
}

int
zcq_testkit_start (zcq_testkit_node_t *node, const char *dir, const char *program,
                   const char *arg, ...)
{
    const char *argv [64];
    int argc = 0;
    char *path = zcq_testkit_build_file (program);
    argv [argc++] = path;
    va_list args;
    va_start (args, arg);
    while (arg) {
        assert (argc < 63);
        argv [argc++] = arg;
        arg = va_arg (args, const char *);
    }
    va_end (args);
    argv [argc] = NULL;
    snprintf (node->log, sizeof (node->log), "%s/%s.log", dir, program);

    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        int fd = open (node->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2 (fd, STDOUT_FILENO);
            dup2 (fd, STDERR_FILENO);
            close (fd);
        }
        execv (path, (char *const *) argv);
        _exit (127);
    }
    node->pid = pid;
    static bool registered = false;
    if (!registered) {
        atexit (s_cleanup_at_exit);
        registered = true;
    }
    for (int index = 0; index < MAX_STARTED; index++) {
        if (s_started [index] == 0) {
            s_started [index] = pid;
            break;
        }
    }
    zstr_free (&path);
    return 0;
}

int
zcq_testkit_stop (zcq_testkit_node_t *node)
{
    if (node->pid <= 0) {
        return 0;
    }
    kill (node->pid, SIGTERM);
    int status = 0;
    for (int waited = 0; waited < 1000; waited++) {
        if (waitpid (node->pid, &status, WNOHANG) == node->pid) {
            s_forget (node->pid);
            node->pid = 0;
            return status;
        }
        zclock_sleep (10); //  polling a child's exit; bounded at 10 s
    }
    zcq_testkit_kill (node);
    return -1;
}

int
zcq_testkit_wait_exit (zcq_testkit_node_t *node, int timeout_ms)
{
    int status = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (node->pid > 0 && zclock_mono () < deadline) {
        if (waitpid (node->pid, &status, WNOHANG) == node->pid) {
            s_forget (node->pid);
            node->pid = 0;
            return status;
        }
        zclock_sleep (10); //  polling a child's exit; bounded
    }
    zcq_testkit_kill (node);
    return -1;
}

void
zcq_testkit_kill (zcq_testkit_node_t *node)
{
    if (node->pid > 0) {
        kill (node->pid, SIGKILL);
        waitpid (node->pid, NULL, 0);
        s_forget (node->pid);
        node->pid = 0;
    }
}

int
zcq_testkit_wait_ready (const char *endpoint, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zcq_client_t *client = zcq_client_new (endpoint);
    int rc = -1;
    while (rc == -1 && zclock_mono () < deadline) {
        zcq_msg_t *reply = zcq_client_write_status (client, 200);
        if (reply && zcq_msg_status (reply) == ZCQ_OK) {
            rc = 0;
        }
        zcq_msg_destroy (&reply);
    }
    zcq_client_destroy (&client);
    return rc;
}

bool
zcq_testkit_file_has (const char *path, const char *text)
{
    zfile_t *file = zfile_new (NULL, path);
    zchunk_t *chunk = file && zfile_input (file) == 0 ? zfile_read (file, 1 << 20, 0) : NULL;
    bool found =
        chunk && memmem (zchunk_data (chunk), zchunk_size (chunk), text, strlen (text)) != NULL;
    zchunk_destroy (&chunk);
    zfile_destroy (&file);
    return found;
}

//  --- A cluster of node processes --------------------------------------------

#define CLUSTER_WAIT 10000 //  ms a node may take to answer after it starts

void
zcq_testkit_cluster_init (zcq_testkit_cluster_t *self, const char *tag)
{
    memset (self, 0, sizeof *self);
    self->dir = zcq_testkit_tmpdir (tag);
    snprintf (self->commands, 256, "ipc://%s/commands", self->dir);
    snprintf (self->events, 256, "ipc://%s/events", self->dir);
    snprintf (self->replay, 256, "ipc://%s/replay", self->dir);
    snprintf (self->queries [0], 256, "ipc://%s/queries-1", self->dir);
    snprintf (self->queries [1], 256, "ipc://%s/queries-2", self->dir);
}

//  The client of the cluster, made once something runs.
static void
s_cluster_client (zcq_testkit_cluster_t *self)
{
    if (!self->client) {
        self->client = zcq_client_new (self->commands);
        zcq_client_add_query_node (self->client, self->queries [0]);
        zcq_client_add_query_node (self->client, self->queries [1]);
    }
}

int
zcq_testkit_cluster_start_write (zcq_testkit_cluster_t *self, const char *domain,
                                 const char *flag, const char *value)
{
    char data [300], backups [300];
    snprintf (data, sizeof data, "%s/write", self->dir);
    snprintf (backups, sizeof backups, "%s/backups", self->dir);
    zcq_testkit_start (&self->write, self->dir, "zcqrs-write", "--commands", self->commands,
                       "--events", self->events, "--replay", self->replay, "--data", data,
                       "--backups", backups, "--domain", domain, "--heartbeat", "200", flag,
                       value, NULL);
    s_cluster_client (self);
    return zcq_testkit_wait_ready (self->commands, CLUSTER_WAIT);
}

int
zcq_testkit_cluster_start_query (zcq_testkit_cluster_t *self, int index, int folder,
                                 const char *domain, const char *flag, const char *value)
{
    assert (index == 0 || index == 1);
    char data [300];
    snprintf (data, sizeof data, "%s/query-%d", self->dir, folder);
    zcq_testkit_start (&self->query [index], self->dir, "zcqrs-query", "--events", self->events,
                       "--replay", self->replay, "--queries", self->queries [index], "--data",
                       data, "--domain", domain, flag, value, NULL);
    s_cluster_client (self);
    return zcq_testkit_wait_ready (self->queries [index], CLUSTER_WAIT);
}

int
zcq_testkit_cluster_stop (zcq_testkit_cluster_t *self)
{
    zcq_client_destroy (&self->client);
    int rc = 0;
    for (int index = 0; index < 2; index++) {
        rc |= zcq_testkit_stop (&self->query [index]) == 0 ? 0 : -1;
    }
    rc |= zcq_testkit_stop (&self->write) == 0 ? 0 : -1;
    return rc;
}

void
zcq_testkit_cluster_destroy (zcq_testkit_cluster_t *self)
{
    zcq_testkit_cluster_stop (self);
    zcq_testkit_rmtree (self->dir);
    zstr_free (&self->dir);
}

bool
zcq_testkit_files_hold (const char *path, const char *text)
{
    return zcq_testkit_files_hold_bytes (path, text, strlen (text));
}

bool
zcq_testkit_files_hold_bytes (const char *path, const void *bytes, size_t length)
{
    DIR *dir = opendir (path);
    if (!dir) {
        //  A file: read it whole (a test's LevelDB files are a few MiB)
        FILE *file = fopen (path, "rb");
        if (!file) {
            return false;
        }
        bool found = false;
        if (fseek (file, 0, SEEK_END) == 0) {
            long size = ftell (file);
            char *buffer = size > 0 ? (char *) malloc ((size_t) size) : NULL;
            rewind (file);
            if (buffer && fread (buffer, 1, (size_t) size, file) == (size_t) size) {
                found = memmem (buffer, (size_t) size, bytes, length) != NULL;
            }
            free (buffer);
        }
        fclose (file);
        return found;
    }
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, "..")) {
            continue;
        }
        char *child = zsys_sprintf ("%s/%s", path, entry->d_name);
        found = zcq_testkit_files_hold_bytes (child, bytes, length);
        zstr_free (&child);
    }
    closedir (dir);
    return found;
}

//  Poll (bounded) until some file below path holds the bytes (held: true)
//  or none does (held: false); true once it is so
static bool
s_files_become (const char *path, const void *bytes, size_t length, bool held)
{
    int64_t deadline = zclock_mono () + CLUSTER_WAIT;
    while (zcq_testkit_files_hold_bytes (path, bytes, length) != held) {
        if (zclock_mono () > deadline) {
            return false;
        }
        zclock_sleep (20); //  a poll of the files, not a wait for a guess
    }
    return true;
}

bool
zcq_testkit_files_gone (const char *path, const void *bytes, size_t length)
{
    return s_files_become (path, bytes, length, false);
}

bool
zcq_testkit_files_written (const char *path, const char *text)
{
    return s_files_become (path, text, strlen (text), true);
}

zcq_msg_t *
zcq_testkit_send (zcq_testkit_cluster_t *self, zcq_status_t status, const char *type,
                  const char *stream, msgpack_sbuffer *data)
{
    zcq_msg_t *reply =
        zcq_client_send (self->client, type, stream, ZCQ_EXPECT_ANY, data ? data->data : NULL,
                         data ? data->size : 0, CLUSTER_WAIT);
    msgpack_sbuffer_free (data);
    if (!reply) {
        zsys_error ("testkit: %s %s: no reply", type, stream);
    }
    else if (zcq_msg_status (reply) != status) {
        zsys_error ("testkit: %s %s: got %s (%s), wanted %s", type, stream,
                    zcq_status_name (zcq_msg_status (reply)), zcq_msg_reason (reply),
                    zcq_status_name (status));
        zcq_msg_destroy (&reply);
    }
    return reply;
}

uint64_t
zcq_testkit_position (zcq_testkit_cluster_t *self, zcq_status_t status, const char *type,
                      const char *stream, msgpack_sbuffer *data)
{
    zcq_msg_t *reply = zcq_testkit_send (self, status, type, stream, data);
    assert_non_null (reply);
    uint64_t position = zcq_msg_position (reply);
    zcq_msg_destroy (&reply);
    return position;
}

int
zcq_testkit_table_key (const char *folder, const char *stream, byte key [ZCQ_SEAL_KEY])
{
    char *copy = zsys_sprintf ("%s.copy", folder);
    char *command = zsys_sprintf ("cp -r '%s' '%s'", folder, copy);
    assert_int_equal (system (command), 0);
    zstr_free (&command);
    zcq_store_t *store = zcq_store_new (copy);
    assert_non_null (store);
    int rc = zcq_keys_find (store, stream, key);
    zcq_store_destroy (&store);
    zcq_testkit_rmtree (copy);
    zstr_free (&copy);
    return rc;
}

uint64_t
zcq_testkit_two_accounts (zcq_testkit_cluster_t *self, const char *secret, const char *keeper)
{
    char *secret_word = zsys_sprintf ("owner=%s", secret);
    char *keeper_word = zsys_sprintf ("owner=%s", keeper);
    const struct {
        const char *type, *stream, *word;
    } commands [] = {{"OpenAccount", "acct-secret", secret_word},
                     {"OpenAccount", "acct-keep", keeper_word},
                     {"Deposit", "acct-secret", "amount=250"},
                     {"Deposit", "acct-keep", "amount=40"},
                     {"Deposit", "acct-secret", "amount=5"}};
    uint64_t position = 0;
    for (size_t index = 0; index < sizeof (commands) / sizeof (commands [0]); index++) {
        zcq_msg_t *reply = zcq_testkit_send (self, ZCQ_ACCEPTED, commands [index].type,
                                             commands [index].stream,
                                             zcq_testkit_map (commands [index].word, NULL));
        position = reply ? zcq_msg_position (reply) : 0;
        zcq_msg_destroy (&reply);
        if (!position) {
            break;
        }
    }
    zstr_free (&secret_word);
    zstr_free (&keeper_word);
    return position;
}

char *
zcq_testkit_query_json (zcq_testkit_cluster_t *self, int index, const char *name,
                        msgpack_sbuffer *params, uint64_t position)
{
    zcq_msg_t *result =
        zcq_client_query (self->client, index, name, params ? params->data : NULL,
                          params ? params->size : 0, position, CLUSTER_WAIT);
    msgpack_sbuffer_free (params);
    char *json = NULL;
    if (result && zcq_msg_status (result) == ZCQ_OK) {
        json = zcq_json_from_msgpack (zcq_msg_data (result), zcq_msg_data_size (result));
    }
    else if (result) {
        zsys_error ("testkit: query %s: got %s (%s)", name,
                    zcq_status_name (zcq_msg_status (result)), zcq_msg_reason (result));
    }
    zcq_msg_destroy (&result);
    return json;
}

zcq_msg_t *
zcq_testkit_replay (const char *endpoint, uint64_t from)
{
    zsock_t *dealer = zsock_new_dealer (endpoint);
    if (!dealer) {
        return NULL;
    }
    zsock_set_rcvtimeo (dealer, CLUSTER_WAIT);
    zcq_msg_t *request = zcq_msg_new (ZCQ_MSG_REPLAY);
    zcq_msg_set_from (request, from);
    zcq_msg_t *events = zcq_msg_send (request, dealer) == 0 ? zcq_msg_recv (dealer) : NULL;
    zcq_msg_destroy (&request);
    zsock_destroy (&dealer);
    if (events && zcq_msg_type (events) != ZCQ_MSG_EVENTS) {
        zcq_msg_destroy (&events);
    }
    return events;
}

zcq_msg_t *
zcq_testkit_event (zcq_msg_t *events, size_t index)
{
    zframe_t *frame = zcq_msg_event_frame (events, index);
    if (!frame) {
        return NULL;
    }
    zcq_msg_t *event =
        zcq_msg_decode_body (ZCQ_MSG_EVENT, zframe_data (frame), zframe_size (frame));
    if (!zcq_msg_valid (event)) {
        zcq_msg_destroy (&event);
    }
    return event;
}

zchunk_t *
zcq_testkit_store_chunk (zcq_store_t *store)
{
    assert (store);
    zchunk_t *chunk = zchunk_new (NULL, 0);
    zcq_iter_t *iter = zcq_iter_new (store, false);
    for (zcq_iter_seek (iter, "", 0); iter && zcq_iter_valid (iter); zcq_iter_next (iter)) {
        size_t key_size, value_size;
        const byte *key = zcq_iter_key (iter, &key_size);
        const byte *value = zcq_iter_value (iter, &value_size);
        zchunk_extend (chunk, &key_size, sizeof (key_size));
        zchunk_extend (chunk, key, key_size);
        zchunk_extend (chunk, &value_size, sizeof (value_size));
        zchunk_extend (chunk, value, value_size);
    }
    zcq_iter_destroy (&iter);
    return chunk;
}

int
zcq_testkit_fill (const char *path, size_t leave)
{
    struct statvfs fs;
    if (statvfs (path, &fs) != 0) {
        return -1;
    }
    size_t free_bytes = (size_t) fs.f_bavail * fs.f_frsize;
    char filler [512];
    snprintf (filler, sizeof (filler), "%s/filler", path);
    int fd = open (filler, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) {
        return -1;
    }
    static char block [4096];
    for (size_t written = 0; written + sizeof (block) + leave <= free_bytes;
         written += sizeof (block)) {
        if (write (fd, block, sizeof (block)) != (ssize_t) sizeof (block)) {
            break;
        }
    }
    close (fd);
    return 0;
}
