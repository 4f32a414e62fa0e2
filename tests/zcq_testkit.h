/*  =========================================================================
    zcq_testkit - what the tests share: temporary folders, msgpack maps from
    "field=value" words, and real node processes started on their own
    ipc:// endpoints and stopped for sure.
    =========================================================================
*/

#ifndef ZCQ_TESTKIT_H_INCLUDED
#define ZCQ_TESTKIT_H_INCLUDED

#include "zcqrs.h"
//  Tests of the library's own classes see its private headers too
#include "zcq_store.h"
#include "zcq_view_store.h"

#include <sys/types.h>

//  Make a fresh folder under $TMPDIR (or /tmp), named after tag. Returns the
//  path; the caller frees it after zcq_testkit_rmtree.
char *zcq_testkit_tmpdir (const char *tag);

//  Remove a folder and everything below it.
void zcq_testkit_rmtree (const char *path);

//  A TCP port free now, outside the ephemeral range (zcq_endpoint_free_port);
//  asserts that there is one.
int zcq_testkit_free_port (void);

//  Pack "field=value" words (NULL-terminated list) into a new buffer that
//  the caller destroys with msgpack_sbuffer_free. Asserts on bad words.
msgpack_sbuffer *zcq_testkit_map (const char *word, ...);

//  Run a domain's decide on a command of this type and stream against state
//  (the stream's version is 0). Takes ownership of data (a packed map, as
//  zcq_testkit_map makes). Returns the decision; the caller destroys it.
zcq_decision_t *zcq_testkit_decide (const zcq_domain_t *domain, const void *state,
                                    const char *type, const char *stream,
                                    msgpack_sbuffer *data);

//  Unpack bytes (exactly one object) into result; asserts on failure.
void zcq_testkit_unpack (const void *data, size_t size, msgpack_unpacked *result);

//  Return the integer value of key in a packed map, or asserts.
int64_t zcq_testkit_int (const void *data, size_t size, const char *key);

//  Return a malloc'd copy of the string value of key in a packed map
//  (NULL if absent or not a string).
char *zcq_testkit_str (const void *data, size_t size, const char *key);

//  The read-model backend of the stores zcq_testkit_store_new makes and of
//  the query nodes a test configures with zcq_testkit_storage: "leveldb"
//  (the default) or "memory". Tests of read models run once on each.
void zcq_testkit_set_storage (const char *backend);
const char *zcq_testkit_storage (void);

//  A read-model store in folder dir on the current backend (asserts).
zcq_store_t *zcq_testkit_store_new (const char *dir);

//  Add a run's failures to the total of the process; returns the total.
int zcq_testkit_failures (int failures);

//  The next number of the xorshift64* sequence whose state is *state (a
//  seed, never 0): the same inputs on every run, for tests that generate
//  or damage many.
uint64_t zcq_testkit_random (uint64_t *state);

//  One protocol vector (a JSON file of protocol/vectors), parsed.
typedef struct {
    char name [256];        //  file name without ".json"
    msgpack_sbuffer packed; //  the JSON as msgpack
    msgpack_unpacked root;  //  the vector map
} zcq_testkit_vector_t;

//  Every vector of the spec's folder (ZCQ_VECTORS, else protocol/vectors,
//  relative to the repository, where tests run), sorted by name; sets
//  *count. NULL when the folder cannot be opened; asserts on a file that
//  cannot be read or is not a JSON map.
zcq_testkit_vector_t *zcq_testkit_vectors_new (size_t *count);

//  Free what zcq_testkit_vectors_new returned; nulls the pointer.
void zcq_testkit_vectors_destroy (zcq_testkit_vector_t **vectors_p, size_t count);

//  The folder zcq_testkit_vectors_new reads.
const char *zcq_testkit_vectors_folder (void);

//  The value of key in a map object, or NULL (also when map is no map).
const msgpack_object *zcq_testkit_get (const msgpack_object *map, const char *key);

//  Assert that bytes are one msgpack object and exactly the bytes msgpack-c
//  packs from it again (the smallest encoding of every value).
void zcq_testkit_assert_repacks (const void *bytes, size_t size);

//  A string object of hex digits as the bytes they spell, a new frame;
//  asserts on anything else.
zframe_t *zcq_testkit_unhex (const msgpack_object *object);

//  Run a cmocka group of tests once on each read-model backend, LevelDB
//  first; returns the number of failures of both runs.
#define ZCQ_TESTKIT_RUN_ON_BOTH_BACKENDS(tests)                                                \
    (zcq_testkit_set_storage ("leveldb"),                                                      \
     zcq_testkit_failures (cmocka_run_group_tests_name ("leveldb", tests, NULL, NULL)),        \
     zcq_testkit_set_storage ("memory"),                                                       \
     zcq_testkit_failures (cmocka_run_group_tests_name ("memory", tests, NULL, NULL)))

//  Read models over a real store in a fresh temporary folder, as a domain
//  test projects into them (on the current backend).
typedef struct {
    char *dir;          //  temporary folder of the store
    zcq_store_t *store; //  real store (LevelDB, or memory)
    zcq_view_t *view;   //  a domain's view on it
    uint64_t position;  //  last event position projected (tests count it)
} zcq_testkit_models_t;

//  Create read models in a folder named after tag (asserts on failure).
zcq_testkit_models_t *zcq_testkit_models_new (const char *tag);

//  Close the store and remove its folder; nulls the pointer.
void zcq_testkit_models_destroy (zcq_testkit_models_t **self_p);

//  The same as a cmocka setup and teardown: *state is the models.
int zcq_testkit_models_setup (void **state);
int zcq_testkit_models_teardown (void **state);

//  A cmocka test that runs with fresh read models as its state.
#define ZCQ_TESTKIT_MODELS_TEST(test)                                                          \
    cmocka_unit_test_setup_teardown (test, zcq_testkit_models_setup,                           \
                                     zcq_testkit_models_teardown)

//  A node process started for a test.
typedef struct {
    pid_t pid;      //  process id, 0 when not running
    char log [512]; //  file its stdout and stderr go to
} zcq_testkit_node_t;

//  The path of a file in the running test's build folder (a program, a
//  domain .so, e.g. "libzcq_customer_v2.so"). The caller frees it.
char *zcq_testkit_build_file (const char *name);

//  Start a program from the build folder (e.g. "zcqrs-write") with the
//  given NULL-terminated arguments, output to dir/name.log. Returns 0.
int zcq_testkit_start (zcq_testkit_node_t *node, const char *dir, const char *program,
                       const char *arg, ...);

//  Stop a node: SIGTERM, wait up to 10 s, then SIGKILL. Returns its exit
//  status as waitpid reports it, or -1 if it had to be killed.
int zcq_testkit_stop (zcq_testkit_node_t *node);

//  Wait up to timeout_ms for a node to exit by itself. Returns its status
//  as waitpid reports it, or -1 if it still runs (it is then killed).
int zcq_testkit_wait_exit (zcq_testkit_node_t *node, int timeout_ms);

//  Kill a node with SIGKILL at once (a crash) and reap it.
void zcq_testkit_kill (zcq_testkit_node_t *node);

//  Kill (SIGKILL) and reap every node this process started that is still
//  running: a failed assertion must not leave processes behind. Also runs
//  at exit. Returns how many it had to kill.
int zcq_testkit_cleanup (void);

//  Wait until the node at endpoint answers a "status" query, at most
//  timeout_ms. Returns 0 when it answered, -1 on time-out.
int zcq_testkit_wait_ready (const char *endpoint, int timeout_ms);

//  True if the file at path holds text (in its first MiB), e.g. a line a
//  node logged. Reads once; a caller that waits for the line polls it.
bool zcq_testkit_file_has (const char *path, const char *text);

//  A small cluster of real node processes for a test: one write node and
//  up to two query nodes, on ipc:// endpoints in a fresh folder, and a
//  client of all three.
typedef struct {
    char *dir;           //  the folder: data, sockets, logs
    char commands [256]; //  write node endpoints
    char events [256];
    char replay [256];
    char queries [2][256];        //  query node endpoints (node 0 and 1)
    zcq_testkit_node_t write;     //  the write node
    zcq_testkit_node_t query [2]; //  the query nodes
    zcq_client_t *client;         //  commands to the write node, queries to both
} zcq_testkit_cluster_t;

//  Make the folder (named after tag) and endpoints; nothing is started.
void zcq_testkit_cluster_init (zcq_testkit_cluster_t *self, const char *tag);

//  Start the write node (data in dir/write, its keys in dir/write-keys,
//  backups in dir/backups) with a domain (a name, or a
//  path to a .so) and one more flag and its value (NULL: none); wait until
//  it answers. Returns 0, or -1 if it did not answer in timeout_ms.
int zcq_testkit_cluster_start_write (zcq_testkit_cluster_t *self, const char *domain,
                                     const char *flag, const char *value);

//  Start query node index (0 or 1) on data folder dir/query-N with a
//  domain and one more flag and value (NULL: none); wait until it answers.
//  Returns 0 or -1.
int zcq_testkit_cluster_start_query (zcq_testkit_cluster_t *self, int index, int folder,
                                     const char *domain, const char *flag, const char *value);

//  Stop every node of the cluster that runs, query nodes first, and the
//  client. Returns 0 if each exited cleanly, else -1.
int zcq_testkit_cluster_stop (zcq_testkit_cluster_t *self);

//  Stop what runs and remove the folder.
void zcq_testkit_cluster_destroy (zcq_testkit_cluster_t *self);

//  Send a command through the cluster's client (data: a packed map or NULL;
//  taken and freed). Returns the reply if it came with this status (caller
//  destroys), else NULL, with what came instead logged.
zcq_msg_t *zcq_testkit_send (zcq_testkit_cluster_t *self, zcq_status_t status, const char *type,
                             const char *stream, msgpack_sbuffer *data);

//  The same for a test that needs only the reply's position: the reply
//  must come with this status (a cmocka failure otherwise).
uint64_t zcq_testkit_position (zcq_testkit_cluster_t *self, zcq_status_t status,
                               const char *type, const char *stream, msgpack_sbuffer *data);

//  A stream's key in the key table in folder (a write node's, which holds
//  its lock: read from a copy, folder.copy, removed after). Returns
//  zcq_keys_find's answer: 0 with the key, 1 if the stream has none.
int zcq_testkit_table_key (const char *folder, const char *stream, byte key [32]);

//  The erasure tests' accounts on a bank cluster: acct-secret (owner
//  `secret`) and acct-keep (owner `keeper`) opened, then 250 deposited to
//  the first, 40 to the second and 5 to the first. Returns the position of
//  the last deposit, or 0 if a command was not accepted (logged).
uint64_t zcq_testkit_two_accounts (zcq_testkit_cluster_t *self, const char *secret,
                                   const char *keeper);

//  A query's answer (params: a packed map or NULL; taken and freed) from
//  query node index, at least at position, as JSON (caller frees), or NULL
//  if no answer came or its status is not ok.
char *zcq_testkit_query_json (zcq_testkit_cluster_t *self, int index, const char *name,
                              msgpack_sbuffer *params, uint64_t position);

//  REPLAY from position from (at most 1000 events) at a replay endpoint.
//  Returns the EVENTS answer, or NULL if none came within 10 s or the
//  answer is not EVENTS.
zcq_msg_t *zcq_testkit_replay (const char *endpoint, uint64_t from);

//  Event index of an EVENTS answer, decoded; NULL past the end or if it
//  does not decode. The caller destroys it.
zcq_msg_t *zcq_testkit_event (zcq_msg_t *events, size_t index);

//  True if any file below path holds these bytes (a search of the raw
//  files, as one would look for data that must have been erased).
bool zcq_testkit_files_hold (const char *path, const char *text);
bool zcq_testkit_files_hold_bytes (const char *path, const void *bytes, size_t length);

//  Poll (bounded, 10 s) until no file below path holds these bytes.
//  Returns true once none does, false if one still did at the end.
bool zcq_testkit_files_gone (const char *path, const void *bytes, size_t length);

//  Poll (bounded, 10 s) until a file below path holds text: a query node
//  writes its read models a while (query/hold) after it applied them.
//  Returns true once one does, false if none did by the end.
bool zcq_testkit_files_written (const char *path, const char *text);

//  Every key and value of a store, in key order, as one chunk (two stores
//  hold the same data if their chunks are the same). The caller destroys it.
zchunk_t *zcq_testkit_store_chunk (zcq_store_t *store);

//  Fill the file system under path (a small tmpfs of the test's own) with a
//  file "filler" in it, to leave about `leave` bytes free. Returns 0, or -1
//  if the file system cannot be read or the file made.
int zcq_testkit_fill (const char *path, size_t leave);

#endif
