/*  =========================================================================
    test_ids - the write node's command-id filter: never "not held" for an
    id noted and not forgotten, whole epochs forgotten, a full table that
    overflows into "maybe" instead of forgetting, and few false positives
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_ids.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  Id number n: its bytes spread the number (as random ids would differ)
static void
s_id (byte id [ZCQ_COMMAND_ID], uint64_t number)
{
    uint64_t one = number * 0x9e3779b97f4a7c15ull + 1, two = ~number * 0xc2b2ae3d27d4eb4full;
    memcpy (id, &one, 8);
    memcpy (id + 8, &two, 8);
}

static void
test_noted_ids_are_held_until_forgotten (void **state)
{
    (void) state;
    zcq_ids_t *ids = zcq_ids_new (800); //  epochs of 100 sequences
    byte id [ZCQ_COMMAND_ID];
    for (uint64_t number = 1; number <= 800; number++) {
        s_id (id, number);
        assert_false (zcq_ids_may_hold (ids, id) && number == 1);
        zcq_ids_add (ids, id, number);
    }
    for (uint64_t number = 1; number <= 800; number++) {
        s_id (id, number);
        assert_true (zcq_ids_may_hold (ids, id));
    }
    //  Retention kept 250 onwards: the epoch of 200-299 stays whole
    zcq_ids_forget_below (ids, 250);
    for (uint64_t number = 200; number <= 800; number++) {
        s_id (id, number);
        assert_true (zcq_ids_may_hold (ids, id));
    }
    int held = 0;
    for (uint64_t number = 1; number < 200; number++) {
        s_id (id, number);
        held += zcq_ids_may_hold (ids, id);
    }
    assert_true (held < 10); //  only false positives
    //  Unknown retention (0) forgets nothing
    zcq_ids_forget_below (ids, 0);
    s_id (id, 300);
    assert_true (zcq_ids_may_hold (ids, id));
    zcq_ids_destroy (&ids);
    assert_null (ids);
}

static void
test_a_full_table_never_forgets (void **state)
{
    (void) state;
    //  Far more ids than the capacity, none forgotten: every one still held
    zcq_ids_t *ids = zcq_ids_new (8);
    byte id [ZCQ_COMMAND_ID];
    for (uint64_t number = 1; number <= 5000; number++) {
        s_id (id, number);
        zcq_ids_add (ids, id, number);
    }
    for (uint64_t number = 1; number <= 5000; number++) {
        s_id (id, number);
        assert_true (zcq_ids_may_hold (ids, id));
    }
    zcq_ids_destroy (&ids);
}

static void
test_ids_go_round_the_epochs (void **state)
{
    (void) state;
    //  Retention keeps 1,000 while 50,000 go by: tags come round many times
    zcq_ids_t *ids = zcq_ids_new (1000);
    byte id [ZCQ_COMMAND_ID];
    uint64_t false_positives = 0, probes = 0;
    for (uint64_t number = 1; number <= 50000; number++) {
        s_id (id, number);
        zcq_ids_add (ids, id, number);
        if (number > 1000 && number % 100 == 0) {
            zcq_ids_forget_below (ids, number - 999);
        }
        if (number % 97 == 0) {
            //  Every id retention keeps is held
            for (uint64_t kept = number > 999 ? number - 999 : 1; kept <= number; kept++) {
                s_id (id, kept);
                assert_true (zcq_ids_may_hold (ids, id));
            }
            //  An id never noted is seldom said maybe
            s_id (id, number + 10000000);
            false_positives += zcq_ids_may_hold (ids, id);
            probes++;
        }
    }
    assert_true (false_positives * 50 < probes);
    assert_true (zcq_ids_bytes (ids) < 1000 * 4);
    zcq_ids_destroy (&ids);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_noted_ids_are_held_until_forgotten),
        cmocka_unit_test (test_a_full_table_never_forgets),
        cmocka_unit_test (test_ids_go_round_the_epochs),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
