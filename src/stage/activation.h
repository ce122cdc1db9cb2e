/*
 * activation.h — ACT-R activation (SPEC §8): base-level activation from a memory's presentations,
 * the associative strength of a cue, spreading activation, and the probability of recall.
 *
 * Pure functions of their arguments: no I/O, no clock, no allocation. Times are µs since 1970
 * (engram's one time type); the formulas work in seconds. The caller (pipeline/recall.c) gathers
 * the presentations and the concept graph from the store.
 */
#ifndef EG_STAGE_ACTIVATION_H
#define EG_STAGE_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

/* B_i(t) = ln Σ_j (t − t_j)^(−d) over the presentations t_j at or before t, with t − t_j taken in
 * seconds and at least 1 s (a presentation at t itself counts as 1 s old, so every term is at
 * most 1). Presentations after t are ignored. With none at or before t the result is -INFINITY.
 * times need not be sorted; duplicates count twice (callers de-duplicate when they mean to). */
double eg_activation_base(const int64_t *times, size_t n, int64_t t, double d);

/* The associative strength of a cue with fan `fan` (1 + the memories that have the cue):
 * S − ln(fan), floored at 0 so that a very common cue adds nothing instead of taking away
 * (ACT-R's S_ji; the floor is engram's choice, docs/stages/recall.md). */
double eg_activation_strength(double s_max, double fan);

/* P(recall) = 1 / (1 + exp(−(A − τ)/s)). s <= 0 is the noiseless limit: 1 if A > τ, 0.5 if A == τ,
 * else 0. */
double eg_activation_p_recall(double a, double tau, double s);

#endif
