/*  =========================================================================
    test_random - request ids are random in full or not made at all

    zcq_random_fill against sources that behave as getrandom may: a few
    bytes per call, EINTR between calls, a hard failure, no progress.
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_random.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  A scripted source: each call takes the next step. A step > 0 gives that
//  many bytes (at most what was asked) counting up from s_next_byte; 0
//  gives nothing; -1 fails with the step's errno.
typedef struct {
    ssize_t give; //  bytes to give, 0 for none, -1 to fail
    int error;    //  errno when give is -1
} step_t;

static const step_t *s_steps; //  the script of the current test
static size_t s_step_count;   //  steps in it
static size_t s_calls;        //  calls so far
static uint8_t s_next_byte;   //  value of the next byte given

static ssize_t
s_scripted (void *buffer, size_t size, unsigned int flags)
{
    (void) flags;
    assert_true (s_calls < s_step_count); //  never called past the script
    step_t step = s_steps [s_calls++];
    if (step.give < 0) {
        errno = step.error;
        return -1;
    }
    size_t give = (size_t) step.give < size ? (size_t) step.give : size;
    for (size_t index = 0; index < give; index++) {
        ((uint8_t *) buffer) [index] = s_next_byte++;
    }
    return (ssize_t) give;
}

static void
s_script (const step_t *steps, size_t count)
{
    s_steps = steps;
    s_step_count = count;
    s_calls = 0;
    s_next_byte = 1;
}

static void
test_short_reads_and_eintr_fill_every_byte (void **state)
{
    (void) state;
    //  16 bytes asked: 3, interrupted, 5, 1, interrupted, 7 (of 7 left)
    const step_t steps [] = {{3, 0}, {-1, EINTR}, {5, 0}, {1, 0}, {-1, EINTR}, {100, 0}};
    s_script (steps, sizeof (steps) / sizeof (steps [0]));
    uint8_t id [16];
    memset (id, 0xee, sizeof (id));
    assert_int_equal (zcq_random_fill (id, sizeof (id), s_scripted), 0);
    assert_int_equal (s_calls, 6);
    //  Every byte came from the source, in order: no byte left as it was,
    //  none written twice
    for (size_t index = 0; index < sizeof (id); index++) {
        assert_int_equal (id [index], index + 1);
    }
}

static void
test_a_failing_source_gives_no_id (void **state)
{
    (void) state;
    //  Half the id arrives, then the source fails: the caller hears it and
    //  the half-filled buffer is wiped, so it cannot pass for an id
    const step_t steps [] = {{8, 0}, {-1, ENOSYS}};
    s_script (steps, sizeof (steps) / sizeof (steps [0]));
    uint8_t id [16];
    errno = 0;
    assert_int_equal (zcq_random_fill (id, sizeof (id), s_scripted), -1);
    assert_int_equal (errno, ENOSYS);
    for (size_t index = 0; index < sizeof (id); index++) {
        assert_int_equal (id [index], 0);
    }
}

static void
test_a_source_without_progress_fails (void **state)
{
    (void) state;
    //  0 bytes for a non-empty ask would loop for ever: it is a failure
    const step_t steps [] = {{4, 0}, {0, 0}};
    s_script (steps, sizeof (steps) / sizeof (steps [0]));
    uint8_t id [16];
    errno = 0;
    assert_int_equal (zcq_random_fill (id, sizeof (id), s_scripted), -1);
    assert_int_equal (errno, EIO);
    assert_int_equal (s_calls, 2);
}

static void
test_the_kernel_source_fills_ids (void **state)
{
    (void) state;
    //  The real getrandom: two ids differ (2^-128 chance they do not)
    uint8_t first [16], second [16];
    assert_int_equal (zcq_random_fill (first, sizeof (first), NULL), 0);
    assert_int_equal (zcq_random_fill (second, sizeof (second), NULL), 0);
    assert_memory_not_equal (first, second, sizeof (first));
    //  And the client's commands carry such an id
    zcq_msg_t *command = zcq_client_command ("Deposit", "account-1", ZCQ_EXPECT_ANY, NULL, 0);
    assert_true (zcq_msg_valid (command));
    assert_int_equal (zcq_msg_id_size (command), ZCQ_COMMAND_ID);
    zcq_msg_destroy (&command);
}

static void
test_a_command_with_an_error_is_never_sent (void **state)
{
    (void) state;
    //  What zcq_client_command does when no id could be made: the command
    //  carries the error, and the codec refuses to encode it
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    zcq_msg_set_name (command, "Deposit");
    zcq_msg_set_stream (command, "account-1");
    zcq_msg_set_error (command, ZCQ_UNAVAILABLE, "cannot make a command id: getrandom: %s",
                       strerror (ENOSYS));
    assert_null (zcq_msg_encode (command));
    assert_string_equal (zcq_msg_error (command),
                         "cannot make a command id: getrandom: Function not implemented");
    zcq_msg_destroy (&command);
}

//  Command ids come from a block of kernel bytes per thread: thousands of
//  them (several blocks) are all different, and a forked child, which
//  starts with a copy of its parent's block, never hands out the ids the
//  parent hands out next
static void
test_command_ids_are_unique_across_blocks_and_forks (void **state)
{
    (void) state;
    enum { IDS = 1000 };
    static uint8_t ids [2 * IDS][ZCQ_COMMAND_ID];
    for (int index = 0; index < IDS; index++) {
        zcq_msg_t *command = zcq_client_command ("Deposit", "a", ZCQ_EXPECT_ANY, NULL, 0);
        assert_int_equal (zcq_msg_id_size (command), ZCQ_COMMAND_ID);
        memcpy (ids [index], zcq_msg_id (command), ZCQ_COMMAND_ID);
        zcq_msg_destroy (&command);
    }
    int fds [2];
    assert_int_equal (pipe (fds), 0);
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        //  The child's next ids, sent to the parent
        close (fds [0]);
        for (int index = 0; index < IDS / 2; index++) {
            zcq_msg_t *command = zcq_client_command ("Deposit", "a", ZCQ_EXPECT_ANY, NULL, 0);
            ssize_t sent = write (fds [1], zcq_msg_id (command), ZCQ_COMMAND_ID);
            zcq_msg_destroy (&command);
            if (sent != ZCQ_COMMAND_ID) {
                _exit (1);
            }
        }
        _exit (0);
    }
    close (fds [1]);
    for (int index = IDS; index < IDS + IDS / 2; index++) {
        zcq_msg_t *command = zcq_client_command ("Deposit", "a", ZCQ_EXPECT_ANY, NULL, 0);
        memcpy (ids [index], zcq_msg_id (command), ZCQ_COMMAND_ID);
        zcq_msg_destroy (&command);
    }
    int index = IDS + IDS / 2;
    while (index < 2 * IDS && read (fds [0], ids [index], ZCQ_COMMAND_ID) == ZCQ_COMMAND_ID) {
        index++;
    }
    close (fds [0]);
    int status = -1;
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_int_equal (status, 0);
    assert_int_equal (index, 2 * IDS);
    for (int one = 0; one < 2 * IDS; one++) {
        for (int two = one + 1; two < 2 * IDS; two++) {
            assert_memory_not_equal (ids [one], ids [two], ZCQ_COMMAND_ID);
        }
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_short_reads_and_eintr_fill_every_byte),
        cmocka_unit_test (test_a_failing_source_gives_no_id),
        cmocka_unit_test (test_a_source_without_progress_fails),
        cmocka_unit_test (test_the_kernel_source_fills_ids),
        cmocka_unit_test (test_a_command_with_an_error_is_never_sent),
        cmocka_unit_test (test_command_ids_are_unique_across_blocks_and_forks),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
