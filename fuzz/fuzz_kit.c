/*  =========================================================================
    fuzz_kit - what the libFuzzer targets share (see fuzz_kit.h)
    =========================================================================
*/

#include "fuzz_kit.h"

#include <ftw.h>
#include <libgen.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);

//  Does the command line already say where artifacts go?
static bool
s_has_artifact_flag (int argc, char **argv)
{
    for (int index = 1; index < argc; index++) {
        if (strncmp (argv [index], "-artifact_prefix=", 17) == 0
            || strncmp (argv [index], "-exact_artifact_path=", 21) == 0) {
            return true;
        }
    }
    return false;
}

//  libFuzzer calls this before it reads its flags. Unless the command line
//  says where artifacts go (fuzz/run.sh does), a crash-, leak-, timeout- or
//  oom- file goes beside the binary, into FUZZ_BUILD/findings/TARGET/, and
//  never into the folder the target was started from: a hand run in the
//  work tree once left one there.
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    if (s_has_artifact_flag (*argc, *argv)) {
        return 0;
    }
    char binary [PATH_MAX];
    ssize_t size = readlink ("/proc/self/exe", binary, sizeof (binary) - 1);
    if (size <= 0) {
        return 0; //  no /proc: libFuzzer's default, the current folder
    }
    binary [size] = 0;
    char target [PATH_MAX];
    snprintf (target, sizeof (target), "%s", basename (binary));
    //  FUZZ_BUILD/fuzz/TARGET -> FUZZ_BUILD/findings/TARGET/
    char *build = dirname (dirname (binary));
    char *findings = zsys_sprintf ("%s/findings", build);
    char *flag = zsys_sprintf ("-artifact_prefix=%s/%s/", findings, target);
    char *folder = zsys_sprintf ("%s/%s", findings, target);
    mkdir (findings, 0755);
    mkdir (folder, 0755);
    zstr_free (&findings);
    zstr_free (&folder);
    //  The new argv lives as long as the process: libFuzzer keeps pointers
    char **args = (char **) calloc ((size_t) *argc + 2, sizeof (char *));
    assert (args);
    memcpy (args, *argv, (size_t) *argc * sizeof (char *));
    args [(*argc)++] = flag;
    *argv = args;
    return 0;
}

void
fuzz_kit_init (void (*at_exit) (void))
{
    //  Targets open and close sockets per input; libzmq closes them in its
    //  reaper thread, which lags under load: room for the backlog
    zsys_set_max_sockets (8192);
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

bool
fuzz_kit_wait (zsock_t *sock, int timeout_ms)
{
    //  libFuzzer's watchdog (SIGALRM) interrupts waits: wait again until
    //  the time is really up
    zpoller_t *poller = zpoller_new (sock, NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    bool readable = false;
    while (!readable) {
        int64_t left = deadline - zclock_mono ();
        readable = zpoller_wait (poller, left > 0 ? (int) left : 0) != NULL;
        if (!readable && (zpoller_expired (poller) || left <= 0)) {
            break;
        }
    }
    zpoller_destroy (&poller);
    return readable;
}

zmsg_t *
fuzz_kit_recv (zsock_t *sock, int timeout_ms)
{
    zmsg_t *msg = fuzz_kit_wait (sock, timeout_ms) ? zmsg_recv (sock) : NULL;
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

zsock_t *
fuzz_kit_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (dealer);
    zsock_set_linger (dealer, 0);
    if (zsock_connect (dealer, "%s", endpoint) != 0) {
        fprintf (stderr, "fuzz: cannot connect to %s: %s\n", endpoint,
                 zmq_strerror (zmq_errno ()));
        abort ();
    }
    return dealer;
}

static void
s_send_one (zmsg_t **frames_p, void *sock)
{
    zmsg_send (frames_p, sock);
}

int
fuzz_kit_send_all (zsock_t *sock, const uint8_t *data, size_t size)
{
    return fuzz_kit_messages (data, size, s_send_one, sock);
}

zmsg_t *
fuzz_kit_ask (const char *endpoint, zmsg_t *frames, int timeout_ms)
{
    zsock_t *dealer = fuzz_kit_dealer (endpoint);
    zmsg_t *copy = zmsg_dup (frames);
    zmsg_send (&copy, dealer);
    zmsg_t *answer = fuzz_kit_recv (dealer, timeout_ms);
    zsock_destroy (&dealer);
    return answer;
}
