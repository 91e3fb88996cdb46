/*
 * bench_blake3.c - BLAKE3 throughput against b3sum on the same machine and
 * in the same run (ARCHITECTURE.md: at least 0.9x `b3sum --num-threads 1`).
 *
 *   bench_blake3 DATAFILE EDS B3SUM
 *
 * DATAFILE is a large file already in the page cache; it is hashed by
 * b3sum, by `eds hash` (both as processes) and by eds_blake3_file, so the
 * file rows compare like with like.  b3sum runs twice: as the target names
 * it (`--num-threads 1`, which maps the file), and with --no-mmap, which
 * reads like eds does (and is single-threaded too); on machines where page
 * faults are dear the second is much faster, so it is the honest baseline
 * for the in-memory rows.  In-memory rows: a 1 MiB buffer against that
 * per-byte rate, and 64-byte inputs, which b3sum cannot hash in-process;
 * each back end this CPU runs (AVX2, SSE4.1, portable) gets both rows, the
 * portable one being the baseline.  Multi-threaded rows: `eds hash
 * --threads=0` against b3sum on one thread, b3sum on all cores (its
 * default) and eds hash on one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "blake3_impl.h"
#include "edgesentry/blake3.h"

/* Results land here so the compiler cannot drop the hashing. */
static volatile uint8_t sink;

typedef struct {
	const eds_blake3_ops *ops;
	const uint8_t *data;
	size_t len;
} mem_ctx;

/* Both back-end cases set their table the same way, so neither pays for
 * the automatic choice and the comparison stays fair. */
static void hash_mem(void *ctx)
{
	mem_ctx *m = ctx;
	uint8_t out[EDS_BLAKE3_OUT_LEN];
	eds_blake3_set_ops(m->ops);
	eds_blake3(out, m->data, m->len);
	sink ^= out[0];
}

static void hash_file(void *ctx)
{
	uint8_t out[EDS_BLAKE3_OUT_LEN];
	if (eds_blake3_file(out, ctx, NULL) != EDS_OK)
		bench_die("%s: %s", (const char *)ctx, eds_last_error());
	sink ^= out[0];
}

enum { B3SUM, B3SUM_READ, B3SUM_MT, EDS_HASH, EDS_HASH_MT, EDS_FILE, N_FIXED };

/* Per back end this CPU runs: a 1 MiB and a 64-byte case. */
#define MAX_BACKENDS 4

int main(int argc, char **argv)
{
	struct stat st;
	char label[160], base_label[160], read_label[160];

	if (argc != 4)
		bench_die("usage: bench_blake3 DATAFILE EDS B3SUM");
	char *path = argv[1];
	if (stat(path, &st) != 0 || st.st_size <= 0)
		bench_die("%s: missing or empty", path);
	double size = (double)st.st_size;
	/* writable copies: exec argv is char *[] */
	static char threads_opt[] = "--num-threads", one[] = "1", no_mmap[] = "--no-mmap",
	            hash_cmd[] = "hash", eds_threads[] = "--threads=0";
	char *b3sum_argv[] = {argv[3], threads_opt, one, path, NULL};
	char *b3sum_read_argv[] = {argv[3], no_mmap, path, NULL};
	char *b3sum_mt_argv[] = {argv[3], path, NULL};
	char *eds_argv[] = {argv[2], hash_cmd, path, NULL};
	char *eds_mt_argv[] = {argv[2], hash_cmd, eds_threads, path, NULL};

	size_t mib = (size_t)1 << 20;
	uint8_t *buf = malloc(mib);
	if (buf == NULL)
		bench_die("out of memory");
	for (size_t i = 0; i < mib; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);

	bench_case c[N_FIXED + 2 * MAX_BACKENDS] = {
	    [B3SUM] = {.op = bench_spawn_op, .ctx = b3sum_argv},
	    [B3SUM_READ] = {.op = bench_spawn_op, .ctx = b3sum_read_argv},
	    [B3SUM_MT] = {.op = bench_spawn_op, .ctx = b3sum_mt_argv},
	    [EDS_HASH] = {.op = bench_spawn_op, .ctx = eds_argv},
	    [EDS_HASH_MT] = {.op = bench_spawn_op, .ctx = eds_mt_argv},
	    [EDS_FILE] = {.op = hash_file, .ctx = path},
	};
	/* Both cases of a back end set their table the same way, so none pays
	 * for the automatic choice.  The portable one is the last, the baseline. */
	mem_ctx mem[2 * MAX_BACKENDS];
	const eds_blake3_ops *ops, *used[MAX_BACKENDS];
	size_t nb = 0;
	for (size_t i = 0; (ops = eds_blake3_backend_at(i)) != NULL && nb < MAX_BACKENDS; i++) {
		if (!ops->supported())
			continue;
		used[nb] = ops;
		mem[2 * nb] = (mem_ctx){ops, buf, mib};
		mem[2 * nb + 1] = (mem_ctx){ops, buf, 64};
		c[N_FIXED + 2 * nb] = (bench_case){.op = hash_mem, .ctx = &mem[2 * nb]};
		c[N_FIXED + 2 * nb + 1] = (bench_case){.op = hash_mem, .ctx = &mem[2 * nb + 1]};
		nb++;
	}
	const char *active = eds_blake3_backend();
	bench_run(c, N_FIXED + 2 * nb);
	eds_blake3_set_ops(NULL);

	int mb = (int)(size / (1 << 20));
	double m = (double)mib;
	snprintf(base_label, sizeof base_label, "b3sum --num-threads 1, same %d MiB file", mb);
	snprintf(read_label, sizeof read_label,
	         "b3sum --no-mmap (read, 1 thread), same %d MiB file", mb);
	snprintf(label, sizeof label, "BLAKE3 %d MiB file, eds hash (process, %s)", mb, active);
	bench_row_cases(label, &c[EDS_HASH], size, base_label, &c[B3SUM], size, 1e9, "GB/s",
	                ">= 1.0");
	bench_row_cases(label, &c[EDS_HASH], size, read_label, &c[B3SUM_READ], size, 1e9, "GB/s",
	                "none");
	snprintf(label, sizeof label, "BLAKE3 %d MiB file, eds_blake3_file (%s)", mb, active);
	bench_row_cases(label, &c[EDS_FILE], size, base_label, &c[B3SUM], size, 1e9, "GB/s",
	                ">= 1.0");
	snprintf(label, sizeof label, "BLAKE3 %d MiB file, eds hash --threads=0 (all cores)", mb);
	bench_row_cases(label, &c[EDS_HASH_MT], size, base_label, &c[B3SUM], size, 1e9, "GB/s",
	                "none");
	bench_row_cases(label, &c[EDS_HASH_MT], size, "b3sum (its default: all cores)",
	                &c[B3SUM_MT], size, 1e9, "GB/s", "none");
	bench_row_cases(label, &c[EDS_HASH_MT], size, "eds hash, 1 thread", &c[EDS_HASH], size, 1e9,
	                "GB/s", "none");
	const bench_case *port_mib = &c[N_FIXED + 2 * (nb - 1)], *port_64 = port_mib + 1;
	for (size_t b = 0; b < nb; b++) {
		const bench_case *cm = &c[N_FIXED + 2 * b], *c64 = cm + 1;
		snprintf(label, sizeof label, "BLAKE3 1 MiB in memory, eds_blake3 (%s)",
		         used[b]->name);
		bench_row_cases(label, cm, m, base_label, &c[B3SUM], size, 1e9, "GB/s", ">= 1.0");
		if (b + 1 < nb)
			bench_row_cases(label, cm, m, "eds_blake3, portable back end", port_mib, m,
			                1e9, "GB/s", "none");
		snprintf(label, sizeof label, "BLAKE3 64 B, eds_blake3 (%s)", used[b]->name);
		bench_row_cases(label, c64, 1,
		                "eds_blake3, portable back end (b3sum: n/a in-process)", port_64, 1,
		                1e6, "M hash/s", ">= 10 M hash/s");
	}
	free(buf);
	return 0;
}
