/*  =========================================================================
    test_waiter - the write node's wait on its sockets: a message is found
    whether its socket's fd announced it or not (a socket read but not
    emptied, one touched by a send), nothing is found when nothing waits
    (within the timeout), sockets take turns, one removed is not watched,
    and a socket without ZMQ_FD or one too many is refused
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_waiter.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  Two connected PAIR sockets on a fresh inproc endpoint.
static void
s_pair (zsock_t **one, zsock_t **two)
{
    static int count = 0;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://test-waiter-%d", ++count);
    char bind [80], connect [80];
    snprintf (bind, sizeof bind, "@%s", endpoint);
    snprintf (connect, sizeof connect, ">%s", endpoint);
    *one = zsock_new_pair (bind);
    *two = zsock_new_pair (connect);
    assert_non_null (*one);
    assert_non_null (*two);
}

//  The wait finds sock within timeout ms, and its next message is text.
static void
s_expect (zcq_waiter_t *waiter, int timeout, zsock_t *sock, const char *text)
{
    assert_ptr_equal (zcq_waiter_wait (waiter, timeout), sock);
    char *received = zstr_recv (sock);
    assert_string_equal (received, text);
    zstr_free (&received);
}

static void
test_messages_are_found_announced_or_not (void **state)
{
    (void) state;
    zsock_t *near, *far;
    s_pair (&near, &far);
    zcq_waiter_t *waiter = zcq_waiter_new ();
    assert_int_equal (zcq_waiter_add (waiter, near), 0);

    //  Nothing sent: nothing found, now or within the timeout
    assert_null (zcq_waiter_wait (waiter, 0));
    int64_t start = zclock_mono ();
    assert_null (zcq_waiter_wait (waiter, 50));
    int64_t waited = zclock_mono () - start;
    assert_true (waited >= 40 && waited < 5000);

    //  Two messages: the first wakes the wait; the second, there since the
    //  first was read, is announced by no fd and found all the same
    zstr_send (far, "one");
    zstr_send (far, "two");
    s_expect (waiter, 5000, near, "one");
    s_expect (waiter, 0, near, "two");
    assert_null (zcq_waiter_wait (waiter, 0));

    //  A message that comes after the wait found nothing wakes it
    zstr_send (far, "three");
    s_expect (waiter, 5000, near, "three");

    //  A socket read outside the wait, told touched, is asked again
    zstr_send (far, "four");
    zstr_send (far, "five");
    char *text = zstr_recv (near); //  its fd's signal is used up here
    assert_string_equal (text, "four");
    zstr_free (&text);
    zcq_waiter_touched (waiter, near);
    s_expect (waiter, 1000, near, "five");
    assert_null (zcq_waiter_wait (waiter, 0));

    //  Read until a receive found nothing and said drained: the next
    //  message is announced by the fd, and found
    zstr_send (far, "six");
    s_expect (waiter, 5000, near, "six");
    assert_int_equal (zmq_recv (zsock_resolve (near), NULL, 0, ZMQ_DONTWAIT), -1);
    assert_int_equal (errno, EAGAIN);
    zcq_waiter_drained (waiter, near);
    zstr_send (far, "seven");
    s_expect (waiter, 5000, near, "seven");
    assert_null (zcq_waiter_wait (waiter, 0));

    //  Said drained, it is not asked: a message its fd never announced (the
    //  signal used up by a read outside the wait) is not found, until the
    //  socket is told touched
    zstr_send (far, "eight");
    zstr_send (far, "nine");
    text = zstr_recv (near);
    assert_string_equal (text, "eight");
    zstr_free (&text);
    zcq_waiter_drained (waiter, near); //  wrongly: "nine" waits unannounced
    assert_null (zcq_waiter_wait (waiter, 50));
    zcq_waiter_touched (waiter, near);
    s_expect (waiter, 0, near, "nine");
    assert_null (zcq_waiter_wait (waiter, 0));

    zcq_waiter_destroy (&waiter);
    zcq_waiter_destroy (&waiter); //  safe twice
    zsock_destroy (&near);
    zsock_destroy (&far);
}

static void
test_sockets_take_turns_and_removed_ones_are_not_watched (void **state)
{
    (void) state;
    zsock_t *near [2], *far [2];
    s_pair (&near [0], &far [0]);
    s_pair (&near [1], &far [1]);
    zcq_waiter_t *waiter = zcq_waiter_new ();
    assert_int_equal (zcq_waiter_add (waiter, near [0]), 0);
    assert_int_equal (zcq_waiter_add (waiter, near [1]), 0);
    for (int index = 0; index < 4; index++) {
        zstr_send (far [0], "a");
        zstr_send (far [1], "b");
    }
    //  Both always have one: the answers alternate
    void *last = NULL;
    for (int index = 0; index < 6; index++) {
        void *which = zcq_waiter_wait (waiter, 5000);
        assert_true (which == near [0] || which == near [1]);
        assert_ptr_not_equal (which, last);
        last = which;
        char *text = zstr_recv (which);
        zstr_free (&text);
    }
    //  Removed, it is not answered though it has messages
    zcq_waiter_remove (waiter, near [0]);
    zcq_waiter_remove (waiter, near [0]); //  not watched: nothing
    assert_ptr_equal (zcq_waiter_wait (waiter, 5000), near [1]);
    char *text = zstr_recv (near [1]);
    zstr_free (&text);
    assert_null (zcq_waiter_wait (waiter, 20));
    zcq_waiter_destroy (&waiter);
    for (int index = 0; index < 2; index++) {
        zsock_destroy (&near [index]);
        zsock_destroy (&far [index]);
    }
}

//  An actor that sends back what it gets.
static void
s_echo (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal (pipe, 0);
    while (true) {
        char *text = zstr_recv (pipe);
        if (!text || streq (text, "$TERM")) {
            zstr_free (&text);
            break;
        }
        zstr_send (pipe, text);
        zstr_free (&text);
    }
}

static void
test_too_many_sockets_are_refused (void **state)
{
    (void) state;
    zcq_waiter_t *waiter = zcq_waiter_new ();
    zsock_t *near [ZCQ_WAITER_MAX + 1], *far [ZCQ_WAITER_MAX + 1];
    for (int index = 0; index <= ZCQ_WAITER_MAX; index++) {
        s_pair (&near [index], &far [index]);
        assert_int_equal (zcq_waiter_add (waiter, near [index]),
                          index < ZCQ_WAITER_MAX ? 0 : -1);
    }
    //  An actor is watched through its pipe (one place freed for it)
    zcq_waiter_remove (waiter, near [0]);
    zactor_t *actor = zactor_new (s_echo, NULL);
    assert_int_equal (zcq_waiter_add (waiter, actor), 0);
    zstr_send (actor, "ping");
    assert_ptr_equal (zcq_waiter_wait (waiter, 5000), actor);
    char *text = zstr_recv (actor);
    assert_string_equal (text, "ping");
    zstr_free (&text);
    zactor_destroy (&actor);
    zcq_waiter_destroy (&waiter);
    for (int index = 0; index <= ZCQ_WAITER_MAX; index++) {
        zsock_destroy (&near [index]);
        zsock_destroy (&far [index]);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_messages_are_found_announced_or_not),
        cmocka_unit_test (test_sockets_take_turns_and_removed_ones_are_not_watched),
        cmocka_unit_test (test_too_many_sockets_are_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
