/*
 * bench_cmd.c - time an outside command that processes ITEMS items per run
 * and print its table row against a baseline rate given on the command line
 * (measured earlier in the same `make bench` run).
 *
 *   bench_cmd WHAT ITEMS UNIT SCALE BASELINE BASE_RATE TARGET -- CMD [ARG]...
 *
 * The command must exit 0; its stdout is discarded.  Rounds: $EDS_BENCH_ROUNDS
 * (bench/run.sh sets it from EDS_BENCH_CHAIN_ROUNDS).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static double number(const char *name, const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v > 0))
		bench_die("%s: want a positive number, got '%s'", name, s);
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 10 || strcmp(argv[8], "--") != 0)
		bench_die(
		    "usage: bench_cmd WHAT ITEMS UNIT SCALE BASELINE BASE_RATE TARGET -- CMD...");
	double items = number("ITEMS", argv[2]);
	double scale = number("SCALE", argv[4]);
	double base = number("BASE_RATE", argv[6]);
	/* A run of the tool is long (a whole chain), so no warm-up run and no
	 * slices: each round is one bench_measure, best round kept. */
	bench_case c = {.op = bench_spawn_op, .ctx = argv + 9};
	for (int r = bench_rounds(); r > 0; r--) {
		double rate = bench_measure(&c);
		if (rate > c.best)
			c.best = rate;
	}
	bench_row(argv[1], c.best * items, scale, argv[3], argv[5], base, c.best * items / base,
	          argv[7]);
	return 0;
}
