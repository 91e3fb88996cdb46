/*
 * bench.c - see bench.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"

extern char **environ;

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_die(const char *fmt, ...)
{
	va_list ap;
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Time one batch of ops; return its seconds. */
static double run_batch(const bench_case *c, uint64_t batch)
{
	double t0 = bench_now();
	for (uint64_t i = 0; i < batch; i++)
		c->op(c->ctx);
	return bench_now() - t0;
}

/* Batch size whose run lasts about BENCH_SLICE (at least one op).  The
 * growing trial batches double as warm-up: caches, page cache, CPU clock. */
static uint64_t slice_batch(const bench_case *c)
{
	uint64_t batch = 1;
	for (;;) {
		double dt = run_batch(c, batch);
		if (dt >= BENCH_SLICE)
			return batch;
		/* aim 20% past the slice, at least doubling, at most x100 */
		double next = dt > 0 ? (double)batch * 1.2 * BENCH_SLICE / dt : (double)batch * 100;
		if (next < 2.0 * (double)batch)
			next = 2.0 * (double)batch;
		if (next > 100.0 * (double)batch)
			next = 100.0 * (double)batch;
		batch = (uint64_t)next;
	}
}

double bench_measure(const bench_case *c)
{
	double ops = 0, secs = 0;
	while (secs < BENCH_MIN_SECONDS) {
		secs += run_batch(c, 1);
		ops++;
	}
	return ops / secs;
}

int bench_rounds(void)
{
	const char *s = getenv("EDS_BENCH_ROUNDS");
	char *end;
	if (s == NULL || s[0] == '\0')
		return BENCH_ROUNDS;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > BENCH_MAX_ROUNDS)
		bench_die("EDS_BENCH_ROUNDS: want 1 .. %d, got '%s'", BENCH_MAX_ROUNDS, s);
	return (int)v;
}

/* One round: slices of every case in turn until each has run for
 * BENCH_MIN_SECONDS; appends each case's rate. */
static void round_robin(bench_case *cases, size_t n, const uint64_t *batch)
{
	double ops[64] = {0}, secs[64] = {0};
	bool more = true;
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (secs[i] >= BENCH_MIN_SECONDS)
				continue;
			secs[i] += run_batch(&cases[i], batch[i]);
			ops[i] += (double)batch[i];
			more |= secs[i] < BENCH_MIN_SECONDS;
		}
	}
	for (size_t i = 0; i < n; i++) {
		double rate = ops[i] / secs[i];
		cases[i].rate[cases[i].rounds++] = rate;
		if (rate > cases[i].best)
			cases[i].best = rate;
	}
}

void bench_run(bench_case *cases, size_t n)
{
	uint64_t batch[64];
	if (n > sizeof batch / sizeof batch[0])
		bench_die("bench_run: too many cases");
	for (size_t i = 0; i < n; i++) {
		cases[i].best = 0;
		cases[i].rounds = 0;
		batch[i] = slice_batch(&cases[i]);
	}
	for (int r = bench_rounds(); r > 0; r--)
		round_robin(cases, n, batch);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_ratio(const bench_case *a, double a_units, const bench_case *b, double b_units)
{
	double r[BENCH_MAX_ROUNDS];
	int n = a->rounds < b->rounds ? a->rounds : b->rounds;
	if (n == 0)
		bench_die("bench_ratio: no rounds measured");
	for (int i = 0; i < n; i++)
		r[i] = (a->rate[i] * a_units) / (b->rate[i] * b_units);
	qsort(r, (size_t)n, sizeof r[0], cmp_double);
	return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

void bench_spawn(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0)
		bench_die("posix_spawn_file_actions: out of memory");
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0)
		bench_die("%s: cannot start: %s", argv[0], strerror(err));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bench_die("%s: waitpid: %s", argv[0], strerror(errno));
	if (WIFSIGNALED(status))
		bench_die("%s %s: killed by signal %d", argv[0], argv[1] ? argv[1] : "",
		          WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("%s %s: exit status %d", argv[0], argv[1] ? argv[1] : "",
		          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

void bench_spawn_op(void *ctx)
{
	bench_spawn((char *const *)ctx);
}

void bench_row(const char *what, double value, double scale, const char *unit, const char *baseline,
               double base, double ratio, const char *target)
{
	printf("%s\t%.3g %s\t%s\t%.3g %s\t%.2f\t%s\n", what, value / scale, unit, baseline,
	       base / scale, unit, ratio, target);
}

void bench_row_cases(const char *what, const bench_case *a, double a_units, const char *baseline,
                     const bench_case *b, double b_units, double scale, const char *unit,
                     const char *target)
{
	bench_row(what, a->best * a_units, scale, unit, baseline, b->best * b_units,
	          bench_ratio(a, a_units, b, b_units), target);
}
