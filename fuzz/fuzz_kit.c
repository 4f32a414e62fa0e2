/*  =========================================================================
    fuzz_kit - what the libFuzzer targets share (see fuzz_kit.h)
    =========================================================================
*/

#include "fuzz_kit.h"

#include <ftw.h>

void
fuzz_kit_init (void (*at_exit) (void))
{
    zsys_init ();
    zsys_handler_set (NULL);
    zsys_set_logstream (NULL);
    zsys_set_logsystem (false);
    //  Registered after zsys_init's handler, so it runs first: actors stop
    //  before czmq closes what is left
    if (at_exit) {
        atexit (at_exit);
    }
}

//  Find sep (2 bytes) in data from offset; returns its index or size.
static size_t
s_find (const uint8_t *data, size_t size, size_t offset, const char *sep)
{
    for (size_t index = offset; index + 1 < size; index++) {
        if (data [index] == (uint8_t) sep [0] && data [index + 1] == (uint8_t) sep [1]) {
            return index;
        }
    }
    return size;
}

zmsg_t *
fuzz_kit_frames (const uint8_t *data, size_t size)
{
    zmsg_t *frames = zmsg_new ();
    size_t start = 0;
    while (true) {
        size_t end = s_find (data, size, start, FUZZ_FRAME_SEP);
        zmsg_addmem (frames, data + start, end - start);
        if (end >= size) {
            break;
        }
        start = end + 2;
    }
    return frames;
}

int
fuzz_kit_messages (const uint8_t *data, size_t size, fuzz_kit_msg_fn *fn, void *arg)
{
    int count = 0;
    size_t start = 0;
    while (start <= size) {
        size_t end = s_find (data, size, start, FUZZ_MSG_SEP);
        zmsg_t *frames = fuzz_kit_frames (data + start, end - start);
        fn (&frames, arg);
        zmsg_destroy (&frames);
        count++;
        start = end + 2;
    }
    return count;
}

char *
fuzz_kit_tmpdir (const char *tag)
{
    const char *base = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
    char *path = zsys_sprintf ("%s/zcq-fuzz-%s-XXXXXX", base, tag);
    if (!mkdtemp (path)) {
        zstr_free (&path);
    }
    return path;
}

static int
s_remove (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void) info;
    (void) flag;
    (void) ftw;
    return remove (path);
}

void
fuzz_kit_rmtree (const char *path)
{
    if (path) {
        nftw (path, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    }
}

zmsg_t *
fuzz_kit_recv (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    zmsg_t *msg = zpoller_wait (poller, timeout_ms) ? zmsg_recv (sock) : NULL;
    zpoller_destroy (&poller);
    if (msg && zmsg_first (msg) && zframe_size (zmsg_first (msg)) == 0) {
        zframe_t *delimiter = zmsg_pop (msg);
        zframe_destroy (&delimiter);
    }
    return msg;
}

zactor_t *
fuzz_kit_node (zactor_fn *actor, const char *setting, ...)
{
    zconfig_t *config = zconfig_new ("root", NULL);
    va_list args;
    va_start (args, setting);
    for (const char *word = setting; word; word = va_arg (args, const char *)) {
        char *path = strdup (word);
        char *equals = strchr (path, '=');
        assert (equals);
        *equals = 0;
        zconfig_put (config, path, equals + 1);
        free (path);
    }
    va_end (args);
    char *message = NULL;
    zactor_t *node = zcq_node_start (actor, config, &message);
    if (!node) {
        fprintf (stderr, "fuzz: node did not start: %s\n", message);
        abort ();
    }
    free (message);
    zconfig_destroy (&config);
    return node;
}

zmsg_t *
fuzz_kit_ask (const char *endpoint, zmsg_t *frames, int timeout_ms)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (dealer);
    zsock_set_linger (dealer, 0);
    zsock_connect (dealer, "%s", endpoint);
    zmsg_t *copy = zmsg_dup (frames);
    zmsg_send (&copy, dealer);
    zmsg_t *answer = fuzz_kit_recv (dealer, timeout_ms);
    zsock_destroy (&dealer);
    return answer;
}
