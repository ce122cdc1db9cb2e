/*
 * test_activation.c — unit tests of stage/activation.c (SPEC §8): ACT-R base-level activation on
 * hand-computed cases (one and several presentations, other decays, the 1 s floor, sub-second
 * ages, presentations after t ignored, none at all, unsorted input), the cue strength S − ln fan
 * with its floor at 0, and P(recall) = 1/(1 + exp(−(A − τ)/s)) including the noiseless limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stage/activation.h"

#include <math.h>

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1795132800) * SEC) /* 2026-11-20T00:00:00Z */
#define EPS 1e-12

static void one_presentation(void **state)
{
    (void)state;
    int64_t t[] = {T0 - 100 * SEC};
    /* ln(100^-0.5) = -0.5 ln 100 */
    assert_float_equal(eg_activation_base(t, 1, T0, 0.5), -0.5 * log(100.0), EPS);
    /* a day old */
    t[0] = T0 - 86400 * SEC;
    assert_float_equal(eg_activation_base(t, 1, T0, 0.5), -0.5 * log(86400.0), EPS);
}

static void several_presentations(void **state)
{
    (void)state;
    /* 1 s and 4 s old: 1 + 0.5 */
    int64_t t[] = {T0 - 1 * SEC, T0 - 4 * SEC};
    assert_float_equal(eg_activation_base(t, 2, T0, 0.5), log(1.5), EPS);
    /* 100 s, 400 s, 10000 s: 0.1 + 0.05 + 0.01 */
    int64_t u[] = {T0 - 10000 * SEC, T0 - 100 * SEC, T0 - 400 * SEC}; /* unsorted is fine */
    assert_float_equal(eg_activation_base(u, 3, T0, 0.5), log(0.16), EPS);
    /* the same time twice counts twice */
    int64_t v[] = {T0 - 100 * SEC, T0 - 100 * SEC};
    assert_float_equal(eg_activation_base(v, 2, T0, 0.5), log(0.2), EPS);
}

static void other_decay(void **state)
{
    (void)state;
    int64_t t[] = {T0 - 2 * SEC, T0 - 4 * SEC};
    assert_float_equal(eg_activation_base(t, 2, T0, 1.0), log(0.75), EPS);
    /* d = 0: every presentation counts 1 whatever its age, B = ln n */
    int64_t u[] = {T0 - 5 * SEC, T0 - 86400 * SEC, T0 - 7 * 86400 * SEC};
    assert_float_equal(eg_activation_base(u, 3, T0, 0.0), log(3.0), EPS);
}

static void one_second_floor(void **state)
{
    (void)state;
    /* at t itself, 0.3 s and 1 s before: each term is 1 (ages floored to 1 s) */
    int64_t t[] = {T0, T0 - 300000, T0 - SEC};
    assert_float_equal(eg_activation_base(t, 3, T0, 0.5), log(3.0), EPS);
    /* so one presentation never gives more than 0 */
    assert_float_equal(eg_activation_base(t, 1, T0, 0.5), 0.0, EPS);
    /* just above the floor: 2.5 s in microseconds */
    int64_t u[] = {T0 - 2500000};
    assert_float_equal(eg_activation_base(u, 1, T0, 0.5), -0.5 * log(2.5), EPS);
}

static void later_presentations_ignored(void **state)
{
    (void)state;
    int64_t t[] = {T0 + 10 * SEC, T0 - 100 * SEC, T0 + 1};
    assert_float_equal(eg_activation_base(t, 3, T0, 0.5), -0.5 * log(100.0), EPS);
    /* nothing at or before t */
    int64_t u[] = {T0 + 1, T0 + 86400 * SEC};
    double b = eg_activation_base(u, 2, T0, 0.5);
    assert_true(isinf(b) && b < 0);
    assert_true(isinf(eg_activation_base(NULL, 0, T0, 0.5)));
}

static void recency_and_frequency(void **state)
{
    (void)state;
    /* the property recall relies on: a recent rehearsal raises B, more rehearsals raise it more */
    int64_t stale[] = {T0 - 86400 * SEC};
    int64_t rehearsed[] = {T0 - 86400 * SEC, T0 - 3600 * SEC};
    int64_t twice[] = {T0 - 86400 * SEC, T0 - 3600 * SEC, T0 - 1800 * SEC};
    double a = eg_activation_base(stale, 1, T0, 0.5), b = eg_activation_base(rehearsed, 2, T0, 0.5),
           c = eg_activation_base(twice, 3, T0, 0.5);
    assert_true(a < b && b < c);
    assert_float_equal(b, log(pow(86400.0, -0.5) + pow(3600.0, -0.5)), EPS);
}

static void strength(void **state)
{
    (void)state;
    assert_float_equal(eg_activation_strength(12.0, 1.0), 12.0, EPS);
    assert_float_equal(eg_activation_strength(12.0, 100.0), 12.0 - log(100.0), EPS);
    /* floored at 0: a cue in more memories than e^S adds nothing */
    assert_float_equal(eg_activation_strength(2.0, 100.0), 0.0, EPS);
    assert_float_equal(eg_activation_strength(2.0, exp(2.0)), 0.0, 1e-9);
    /* a fan below 1 is taken as 1 */
    assert_float_equal(eg_activation_strength(3.0, 0.0), 3.0, EPS);
}

static void p_recall(void **state)
{
    (void)state;
    assert_float_equal(eg_activation_p_recall(3.0, 3.0, 0.4), 0.5, EPS);
    /* A − τ = s ln 3 gives 1/(1 + 1/3) = 0.75 */
    assert_float_equal(eg_activation_p_recall(3.0 + 0.4 * log(3.0), 3.0, 0.4), 0.75, EPS);
    assert_float_equal(eg_activation_p_recall(3.0 - 0.4 * log(3.0), 3.0, 0.4), 0.25, EPS);
    assert_float_equal(eg_activation_p_recall(-1.0, -1.0, 2.0), 0.5, EPS);
    assert_float_equal(eg_activation_p_recall(1.0, 0.0, 1.0), 1.0 / (1.0 + exp(-1.0)), EPS);
    /* no activation at all */
    assert_float_equal(eg_activation_p_recall(-INFINITY, 3.0, 0.4), 0.0, EPS);
    /* the noiseless limit */
    assert_float_equal(eg_activation_p_recall(3.1, 3.0, 0.0), 1.0, EPS);
    assert_float_equal(eg_activation_p_recall(3.0, 3.0, 0.0), 0.5, EPS);
    assert_float_equal(eg_activation_p_recall(2.9, 3.0, -1.0), 0.0, EPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_presentation),
        cmocka_unit_test(several_presentations),
        cmocka_unit_test(other_decay),
        cmocka_unit_test(one_second_floor),
        cmocka_unit_test(later_presentations_ignored),
        cmocka_unit_test(recency_and_frequency),
        cmocka_unit_test(strength),
        cmocka_unit_test(p_recall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
