/*  =========================================================================
    fuzz_kit - what the libFuzzer targets share: how one fuzz input becomes
    ZeroMQ frames and messages, a quiet czmq, and temporary folders

    An input is one or more messages separated by the two bytes C1 C2; a
    message is frames separated by C1 C1. MessagePack never uses the byte
    C1, so a seed that holds real bodies splits where it was joined.
    =========================================================================
*/

#ifndef FUZZ_KIT_H_INCLUDED
#define FUZZ_KIT_H_INCLUDED

#include "zcqrs.h"

#define FUZZ_FRAME_SEP "\xc1\xc1"   //  between frames of a message
#define FUZZ_MSG_SEP   "\xc1\xc2"   //  between messages of an input

//  Set czmq up for fuzzing once: no log output, no signal handlers (they
//  are libFuzzer's), and an exit handler (fn) that runs before czmq's own.
void
    fuzz_kit_init (void (*at_exit) (void));

//  Split data into messages; call fn for each with its frames. Returns the
//  number of messages.
typedef void (fuzz_kit_msg_fn) (zmsg_t **frames_p, void *arg);
int
    fuzz_kit_messages (const uint8_t *data, size_t size, fuzz_kit_msg_fn *fn, void *arg);

//  Split one message's bytes into frames (a new zmsg).
zmsg_t *
    fuzz_kit_frames (const uint8_t *data, size_t size);

//  A fresh folder for a node's LevelDB; caller frees the path.
char *
    fuzz_kit_tmpdir (const char *tag);

//  Remove a folder and everything below it.
void
    fuzz_kit_rmtree (const char *path);

//  Wait until sock is readable, at most timeout_ms (a signal does not cut
//  the wait short). Returns true if it is.
bool
    fuzz_kit_wait (zsock_t *sock, int timeout_ms);

//  Receive from sock for at most timeout_ms; returns the message or NULL.
//  An empty first frame (a node answers so when the request began with an
//  empty frame, as REQ peers send) is removed.
zmsg_t *
    fuzz_kit_recv (zsock_t *sock, int timeout_ms);

//  A fresh DEALER connected to endpoint (no linger): a new routing id, so
//  that no input inherits another's standing with the node.
zsock_t *
    fuzz_kit_dealer (const char *endpoint);

//  Send each message of data (fuzz_kit_messages) on sock. Returns how many.
int
    fuzz_kit_send_all (zsock_t *sock, const uint8_t *data, size_t size);

//  Start a node actor in this process with settings given as "path=value"
//  words (NULL-terminated). Aborts if it does not start: a harness that
//  cannot run must not pass.
zactor_t *
    fuzz_kit_node (zactor_fn *actor, const char *setting, ...);

//  Send frames (a copy) on a fresh DEALER to endpoint and wait up to
//  timeout_ms for one answer. Returns the answer or NULL. The DEALER is
//  new each time, so that no input inherits another's routing id.
zmsg_t *
    fuzz_kit_ask (const char *endpoint, zmsg_t *frames, int timeout_ms);

#endif
