/*
 * test_blake3.c - BLAKE3 against the official test vectors
 * (../shared/vectors/blake3_test_vectors.json): every case in all three
 * modes with the full extended output, fed whole, in irregular pieces and
 * byte by byte; XOF seeking; finalize idempotence; file and fd hashing.
 * Every vector check runs once per back end this CPU supports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"
#include "test_support.h"

enum mode { MODE_HASH, MODE_KEYED, MODE_DERIVE, N_MODES };
static const char *const mode_name[N_MODES] = {"hash", "keyed_hash", "derive_key"};

/* Largest input in the vector file is 102400 bytes; anything bigger would
 * mean the file changed and the test must be revisited. */
#define MAX_INPUT 102400

typedef struct {
	size_t input_len;
	uint8_t *out[N_MODES]; /* full extended output of each mode */
	size_t out_len[N_MODES];
} vector_case;

static uint8_t vec_key[EDS_BLAKE3_KEY_LEN];
static char vec_context[256];
static vector_case *cases;
static size_t n_cases;
static uint8_t input[MAX_INPUT];

static const char *json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	assert_non_null(s);
	return s;
}

static void load_case(vector_case *c, json_t *jc)
{
	json_t *len = json_object_get(jc, "input_len");
	assert_true(json_is_integer(len));
	assert_in_range(json_integer_value(len), 0, MAX_INPUT);
	c->input_len = (size_t)json_integer_value(len);
	for (int m = 0; m < N_MODES; m++) {
		c->out[m] = test_hex(json_str(jc, mode_name[m]), &c->out_len[m]);
		/* The file promises extended outputs, longer than the default. */
		assert_true(c->out_len[m] > EDS_BLAKE3_OUT_LEN);
	}
}

static int load_vectors(void **state)
{
	(void)state;
	json_error_t err;
	json_t *root = json_load_file(test_vector_path("blake3_test_vectors.json"), 0, &err);
	if (root == NULL) {
		fprintf(stderr, "blake3_test_vectors.json:%d: %s\n", err.line, err.text);
		return -1;
	}
	const char *key = json_string_value(json_object_get(root, "key"));
	const char *ctx = json_string_value(json_object_get(root, "context_string"));
	json_t *jcases = json_object_get(root, "cases");
	if (key == NULL || strlen(key) != EDS_BLAKE3_KEY_LEN || ctx == NULL ||
	    strlen(ctx) >= sizeof vec_context || !json_is_array(jcases) ||
	    json_array_size(jcases) == 0) {
		fprintf(stderr, "blake3_test_vectors.json: unexpected layout\n");
		json_decref(root);
		return -1;
	}
	memcpy(vec_key, key, EDS_BLAKE3_KEY_LEN);
	memcpy(vec_context, ctx, strlen(ctx) + 1);
	n_cases = json_array_size(jcases);
	cases = calloc(n_cases, sizeof *cases);
	assert_non_null(cases);
	for (size_t i = 0; i < n_cases; i++)
		load_case(&cases[i], json_array_get(jcases, i));
	json_decref(root);
	/* The input pattern the file describes: 0, 1, ..., 250, 0, 1, ... */
	for (size_t i = 0; i < MAX_INPUT; i++)
		input[i] = (uint8_t)(i % 251);
	return 0;
}

static int free_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_cases; i++)
		for (int m = 0; m < N_MODES; m++)
			free(cases[i].out[m]);
	free(cases);
	return 0;
}

static const vector_case *find_case(size_t input_len)
{
	for (size_t i = 0; i < n_cases; i++)
		if (cases[i].input_len == input_len)
			return &cases[i];
	fail_msg("no vector case with input_len %zu", input_len);
	return NULL;
}

static void init_mode(eds_blake3_hasher *h, int mode)
{
	switch (mode) {
	case MODE_HASH: eds_blake3_init(h); break;
	case MODE_KEYED: eds_blake3_init_keyed(h, vec_key); break;
	default: eds_blake3_init_derive_key(h, vec_context); break;
	}
}

/* Compare the full extended output, and the default-length output too:
 * an XOF bug can hide behind a correct first block and vice versa. */
static void check_output(const eds_blake3_hasher *h, const vector_case *c, int mode)
{
	uint8_t out[256];
	size_t n = c->out_len[mode];
	assert_true(n <= sizeof out);
	eds_blake3_finalize(h, out, n);
	if (memcmp(out, c->out[mode], n) != 0)
		fail_msg("%s of %zu bytes: wrong output", mode_name[mode], c->input_len);
	eds_blake3_finalize(h, out, EDS_BLAKE3_OUT_LEN);
	assert_memory_equal(out, c->out[mode], EDS_BLAKE3_OUT_LEN);
}

/*
 * The portable compression with the widest degree: hash_chunks is then
 * handed up to 16 chunks per call, which drives the multi-chunk path of
 * the tree logic that SIMD back ends will use, on any CPU.
 */
static eds_blake3_ops wide_ops;

/* Run fn once per back end this CPU supports and with wide_ops, then
 * return to the automatic choice. */
static void for_each_backend(void (*fn)(void))
{
	const eds_blake3_ops *ops;
	for (size_t i = 0; (ops = eds_blake3_backend_at(i)) != NULL; i++) {
		if (!ops->supported())
			continue;
		eds_blake3_set_ops(ops);
		assert_string_equal(eds_blake3_backend(), ops->name);
		fn();
	}
	wide_ops = eds_blake3_portable_ops;
	wide_ops.name = "portable-wide";
	wide_ops.degree = EDS_BLAKE3_MAX_DEGREE;
	eds_blake3_set_ops(&wide_ops);
	fn();
	eds_blake3_set_ops(NULL);
}

static void whole_input(void)
{
	for (size_t i = 0; i < n_cases; i++) {
		for (int m = 0; m < N_MODES; m++) {
			eds_blake3_hasher h;
			init_mode(&h, m);
			eds_blake3_update(&h, input, cases[i].input_len);
			check_output(&h, &cases[i], m);
		}
		uint8_t out[EDS_BLAKE3_OUT_LEN];
		eds_blake3(out, input, cases[i].input_len);
		assert_memory_equal(out, cases[i].out[MODE_HASH], sizeof out);
	}
}

static void test_vectors_whole(void **state)
{
	(void)state;
	for_each_backend(whole_input);
}

/* Sizes around the block (64) and chunk (1024) edges and multi-chunk runs,
 * so pieces end mid-block, on a block, on a chunk and past a chunk. */
static const size_t piece_sizes[] = {1, 7, 63, 64, 65, 1023, 1024, 1025, 2048, 3073, 4097, 130};
enum { N_PIECES = sizeof piece_sizes / sizeof piece_sizes[0] };

static void feed_in_pieces(eds_blake3_hasher *h, size_t len, size_t first_piece)
{
	size_t off = 0;
	for (size_t k = first_piece; off < len; k++) {
		size_t n = piece_sizes[k % N_PIECES];
		if (n > len - off)
			n = len - off;
		eds_blake3_update(h, input + off, n);
		off += n;
	}
}

static void pieces_input(void)
{
	/* Starting at every position of the size cycle moves each piece
	 * boundary relative to the block and chunk boundaries. */
	for (size_t i = 0; i < n_cases; i++)
		for (int m = 0; m < N_MODES; m++)
			for (size_t first = 0; first < N_PIECES; first++) {
				eds_blake3_hasher h;
				init_mode(&h, m);
				feed_in_pieces(&h, cases[i].input_len, first);
				check_output(&h, &cases[i], m);
			}
}

static void test_vectors_pieces(void **state)
{
	(void)state;
	for_each_backend(pieces_input);
}

static void bytewise_input(void)
{
	for (size_t i = 0; i < n_cases; i++) {
		if (cases[i].input_len > 8193)
			continue;
		for (int m = 0; m < N_MODES; m++) {
			eds_blake3_hasher h;
			init_mode(&h, m);
			for (size_t k = 0; k < cases[i].input_len; k++)
				eds_blake3_update(&h, input + k, 1);
			check_output(&h, &cases[i], m);
		}
	}
}

static void test_vectors_bytewise(void **state)
{
	(void)state;
	for_each_backend(bytewise_input);
}

static void seek_output(void)
{
	for (size_t i = 0; i < n_cases; i++) {
		for (int m = 0; m < N_MODES; m++) {
			const vector_case *c = &cases[i];
			size_t full = c->out_len[m];
			const size_t seeks[] = {0, 1, 31, 32, 63, 64, 65, 100, full - 1};
			eds_blake3_hasher h;
			init_mode(&h, m);
			eds_blake3_update(&h, input, c->input_len);
			for (size_t s = 0; s < sizeof seeks / sizeof seeks[0]; s++) {
				uint8_t out[256];
				size_t n = full - seeks[s];
				eds_blake3_finalize_seek(&h, seeks[s], out, n);
				assert_memory_equal(out, c->out[m] + seeks[s], n);
				/* a short read from the middle too */
				if (n > 3) {
					eds_blake3_finalize_seek(&h, seeks[s] + 1, out, 2);
					assert_memory_equal(out, c->out[m] + seeks[s] + 1, 2);
				}
			}
		}
	}
}

static void test_vectors_seek(void **state)
{
	(void)state;
	for_each_backend(seek_output);
}

/* Beyond the vectors' 131 bytes: a long XOF read in one go must match
 * reads seeked to every block edge and odd places around it. */
static void test_long_xof_seek(void **state)
{
	(void)state;
	enum { LEN = 4096 + 17 };
	static uint8_t full[LEN], part[LEN];
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	eds_blake3_update(&h, input, 5000);
	eds_blake3_finalize(&h, full, LEN);
	for (size_t seek = 0; seek < LEN; seek += 61) {
		eds_blake3_finalize_seek(&h, seek, part, LEN - seek);
		assert_memory_equal(part, full + seek, LEN - seek);
	}
	/* Output of length 0 writes nothing. */
	memset(part, 0xAA, 4);
	eds_blake3_finalize(&h, part, 0);
	assert_int_equal(part[0], 0xAA);
}

static void test_finalize_twice(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_cases; i++) {
		for (int m = 0; m < N_MODES; m++) {
			eds_blake3_hasher h, copy;
			init_mode(&h, m);
			eds_blake3_update(&h, input, cases[i].input_len);
			memcpy(&copy, &h, sizeof h);
			check_output(&h, &cases[i], m);
			check_output(&h, &cases[i], m);
			/* finalize takes a const hasher: the state is untouched */
			assert_int_equal(h.buf_len, copy.buf_len);
			assert_int_equal(h.cv_stack_len, copy.cv_stack_len);
			assert_memory_equal(h.cv, copy.cv, sizeof h.cv);
		}
	}
}

/* Finalize part-way, then keep feeding: the result is the hash of all. */
static void test_update_after_finalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_cases; i++) {
		size_t len = cases[i].input_len;
		const size_t splits[] = {0, 1, 64, 1024, 1025, len / 2, len};
		for (int m = 0; m < N_MODES; m++) {
			for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
				size_t cut = splits[s] < len ? splits[s] : len;
				uint8_t early[64];
				eds_blake3_hasher h;
				init_mode(&h, m);
				eds_blake3_update(&h, input, cut);
				eds_blake3_finalize(&h, early, sizeof early);
				eds_blake3_update(&h, input + cut, len - cut);
				check_output(&h, &cases[i], m);
			}
		}
	}
}

static void test_empty_update_and_raw_context(void **state)
{
	(void)state;
	eds_blake3_hasher a, b;
	uint8_t oa[32], ob[32];

	/* A zero-length update, even with NULL, changes nothing. */
	eds_blake3_init(&a);
	eds_blake3_update(&a, NULL, 0);
	eds_blake3_update(&a, input, 10);
	eds_blake3_update(&a, input + 10, 0);
	eds_blake3_finalize(&a, oa, 32);
	eds_blake3(ob, input, 10);
	assert_memory_equal(oa, ob, 32);

	/* The raw-context form is the string form without the NUL. */
	eds_blake3_init_derive_key(&a, vec_context);
	eds_blake3_init_derive_key_raw(&b, vec_context, strlen(vec_context));
	eds_blake3_update(&a, input, 2049);
	eds_blake3_update(&b, input, 2049);
	eds_blake3_finalize(&a, oa, 32);
	eds_blake3_finalize(&b, ob, 32);
	assert_memory_equal(oa, ob, 32);
	assert_memory_equal(oa, find_case(2049)->out[MODE_DERIVE], 32);
}

static char *write_temp_file(const char *dir, const char *name, size_t len)
{
	size_t plen = strlen(dir) + strlen(name) + 2;
	char *path = malloc(plen);
	assert_non_null(path);
	snprintf(path, plen, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(input, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_file(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	uint8_t out[EDS_BLAKE3_OUT_LEN];
	uint64_t size = 1;

	/* every vector case as a file, so reads split the input at 16 KiB */
	for (size_t i = 0; i < n_cases; i++) {
		char *path = write_temp_file(dir, "data", cases[i].input_len);
		assert_int_equal(eds_blake3_file(out, path, &size), EDS_OK);
		assert_int_equal(size, cases[i].input_len);
		assert_memory_equal(out, cases[i].out[MODE_HASH], sizeof out);
		free(path);
	}
	char *path = write_temp_file(dir, "small", 1);
	assert_int_equal(eds_blake3_file(out, path, NULL), EDS_OK);
	assert_memory_equal(out, find_case(1)->out[MODE_HASH], sizeof out);
	free(path);

	char missing[4200];
	snprintf(missing, sizeof missing, "%s/missing", dir);
	assert_int_equal(eds_blake3_file(out, missing, &size), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), missing));
	assert_non_null(strstr(eds_last_error(), "No such file"));
	/* a directory opens but cannot be read */
	assert_int_equal(eds_blake3_file(out, dir, NULL), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), dir));
	assert_int_equal(eds_blake3_file(NULL, dir, NULL), EDS_E_ARG);
	assert_int_equal(eds_blake3_file(out, NULL, NULL), EDS_E_ARG);
	test_rmtree(dir);
	free(dir);
}

/* eds_blake3_update_fd continues an existing hasher and reads pipes. */
static void test_update_fd(void **state)
{
	(void)state;
	const vector_case *c = find_case(31744);
	int fds[2];
	uint64_t size = 0;
	eds_blake3_hasher h;
	uint8_t out[EDS_BLAKE3_OUT_LEN];

	assert_int_equal(pipe(fds), 0);
	/* 30000 bytes fit in a default 64 KiB pipe buffer: no writer thread needed */
	assert_int_equal(write(fds[1], input + 1744, 30000), 30000);
	assert_int_equal(close(fds[1]), 0);
	eds_blake3_init_keyed(&h, vec_key);
	eds_blake3_update(&h, input, 1744);
	assert_int_equal(eds_blake3_update_fd(&h, fds[0], "pipe", &size), EDS_OK);
	assert_int_equal(close(fds[0]), 0);
	assert_int_equal(size, 30000);
	eds_blake3_finalize(&h, out, sizeof out);
	assert_memory_equal(out, c->out[MODE_KEYED], sizeof out);

	assert_int_equal(eds_blake3_update_fd(&h, -1, "x", NULL), EDS_E_ARG);
	assert_int_equal(eds_blake3_update_fd(NULL, 0, "x", NULL), EDS_E_ARG);
	/* a closed descriptor is an I/O error naming the given name */
	assert_int_equal(eds_blake3_update_fd(&h, fds[0], "the-pipe", NULL), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "the-pipe"));
}

/* The first supported back end in preference order (what the automatic
 * choice must pick), and through *last the last one in the list. */
static const eds_blake3_ops *first_supported(const eds_blake3_ops **last)
{
	const eds_blake3_ops *first = NULL, *ops;
	*last = NULL;
	for (size_t i = 0; (ops = eds_blake3_backend_at(i)) != NULL; i++) {
		assert_true(ops->degree >= 1 && ops->degree <= EDS_BLAKE3_MAX_DEGREE);
		if (first == NULL && ops->supported())
			first = ops;
		*last = ops;
	}
	return first;
}

static void test_backend_choice(void **state)
{
	(void)state;
	const eds_blake3_ops *last;
	const eds_blake3_ops *first = first_supported(&last);
	if (first == NULL || last == NULL) {
		fail_msg("no usable BLAKE3 back end");
		return;
	}
	/* the portable back end exists everywhere and is the last resort */
	assert_string_equal(last->name, "portable");
	assert_true(last->supported());
	eds_blake3_set_ops(NULL);
	assert_string_equal(eds_blake3_backend(), first->name);
	assert_ptr_equal(eds_blake3_active_ops(), first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_whole),
	    cmocka_unit_test(test_vectors_pieces),
	    cmocka_unit_test(test_vectors_bytewise),
	    cmocka_unit_test(test_vectors_seek),
	    cmocka_unit_test(test_long_xof_seek),
	    cmocka_unit_test(test_finalize_twice),
	    cmocka_unit_test(test_update_after_finalize),
	    cmocka_unit_test(test_empty_update_and_raw_context),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_update_fd),
	    cmocka_unit_test(test_backend_choice),
	};
	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
