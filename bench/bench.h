/*
 * bench.h - what the benchmark programs share: timing, spawning outside
 * tools, and the table rows that bench/run.sh prints.
 *
 * Timing: CLOCK_MONOTONIC.  Each case of a bench_run is measured for at
 * least 0.5 s per round, best of 3 rounds.  Within a round the cases run in
 * alternating slices of about 20 ms (A B C A B C ...) until each has its
 * 0.5 s, so load from other processes -- this machine is shared -- falls on
 * baseline and candidate alike.  A ratio is the median over the rounds of
 * the two cases' same-round ratio, which stays steady even when the
 * absolute figures (best round) wander.
 */
#ifndef EDS_BENCH_H
#define EDS_BENCH_H

#include <stddef.h>

#define BENCH_MIN_SECONDS 0.5
#define BENCH_ROUNDS      3
#define BENCH_SLICE       0.02
#define BENCH_MAX_ROUNDS  20

/** One operation to measure: called many times with ctx. */
typedef void (*bench_op)(void *ctx);

typedef struct {
	bench_op op;
	void *ctx;
	/* set by bench_run: operations per second, best round and each round */
	double best;
	double rate[BENCH_MAX_ROUNDS];
	int rounds;
} bench_case;

/** Seconds on the monotonic clock. */
double bench_now(void);

/** Measure every case in BENCH_ROUNDS (or $EDS_BENCH_ROUNDS) rounds of
 * interleaved slices; fills .best, .rate and .rounds. */
void bench_run(bench_case *cases, size_t n);

/**
 * Median over the rounds of (a's rate x a_units) / (b's rate x b_units),
 * both measured by the same bench_run; units convert operations into a
 * common quantity (e.g. bytes per operation).
 */
double bench_ratio(const bench_case *a, double a_units, const bench_case *b, double b_units);

/**
 * Run argv[0] (searched in PATH) with stdin and stdout on /dev/null and wait
 * for it.  Exits the program with a message when it cannot start or does
 * not exit 0: a failed tool must never be timed as a fast one.
 */
void bench_spawn(char *const argv[]);

/** Rounds per measurement: $EDS_BENCH_ROUNDS (1 .. BENCH_MAX_ROUNDS) or
 * BENCH_ROUNDS. */
int bench_rounds(void);

/**
 * One plain measurement of a slow operation (a whole tool run): repeat it
 * until BENCH_MIN_SECONDS have passed, no warm-up, no slices; ops/s.
 */
double bench_measure(const bench_case *c);

/** bench_op form of bench_spawn: ctx is the argv (char *const *). */
void bench_spawn_op(void *ctx);

/**
 * Print one table row as tab-separated fields: what, result, baseline,
 * baseline result, ratio, target.  value and base share unit; scale
 * divides both for printing (1e9 for GB/s, 1e6 for M/s, 1 otherwise).
 */
void bench_row(const char *what, double value, double scale, const char *unit, const char *baseline,
               double base, double ratio, const char *target);

/**
 * bench_row for case a against case b of one bench_run: results are the
 * best rounds times their units, the ratio is bench_ratio.
 */
void bench_row_cases(const char *what, const bench_case *a, double a_units, const char *baseline,
                     const bench_case *b, double b_units, double scale, const char *unit,
                     const char *target);

/** Exit with status 2 after printing "PROGRAM: MESSAGE" (for setup failures). */
void bench_die(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#endif
