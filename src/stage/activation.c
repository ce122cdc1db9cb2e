/*
 * activation.c — ACT-R activation (SPEC §8): base level B_i(t), cue strength S − ln fan, and the
 * logistic probability of recall.
 *
 * What it is not: the recall ranking itself (pipeline/recall.c combines these terms with the
 * lexical score) or any store access. Everything here is a pure function.
 */
#include "stage/activation.h"

#include <math.h>

#define USEC_PER_SEC 1e6

double eg_activation_base(const int64_t *times, size_t n, int64_t t, double d)
{
    double sum = 0.0;
    size_t used = 0;
    for (size_t j = 0; j < n; j++) {
        if (times[j] > t)
            continue; /* not yet presented at t */
        double age = (double)(t - times[j]) / USEC_PER_SEC;
        if (age < 1.0)
            age = 1.0;
        sum += pow(age, -d);
        used++;
    }
    return used ? log(sum) : -INFINITY;
}

double eg_activation_strength(double s_max, double fan)
{
    if (fan < 1.0)
        fan = 1.0;
    double s = s_max - log(fan);
    return s > 0.0 ? s : 0.0;
}

double eg_activation_p_recall(double a, double tau, double s)
{
    if (!(s > 0.0))
        return a > tau ? 1.0 : a == tau ? 0.5 : 0.0;
    return 1.0 / (1.0 + exp(-(a - tau) / s));
}
