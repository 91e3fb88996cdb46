/*
 * cmd_hash.c - `eds hash`: BLAKE3 of files, printed exactly as b3sum prints
 * them ("<hex>  <name>"), so the two tools' outputs can be diffed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Output length cap: b3sum has none, but a mistyped --length should not
 * stream gigabytes of hex. */
#define HASH_LENGTH_MAX (1u << 20)

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: eds hash [--length N] [--threads N] [FILE]...\n"
	        "\n"
	        "Print the BLAKE3 hash of each FILE as '<hex>  <name>', one line per file,\n"
	        "in the format of b3sum.  With no FILE, or when FILE is -, read standard\n"
	        "input (printed as -).  As in b3sum, a line whose name has a backslash or\n"
	        "a newline starts with a backslash and shows them as \\\\ and \\n, and\n"
	        "bytes of a name that are not UTF-8 show as U+FFFD.\n"
	        "\n"
	        "Options:\n"
	        "  -l, --length N  output N bytes (0 .. %u; default 32) before hex encoding;\n"
	        "                  longer outputs extend shorter ones (BLAKE3 XOF)\n"
	        "  --threads N     hash each large regular FILE on N threads (0: one per\n"
	        "                  core; default 1; at most %u); the hash is the same\n"
	        "  -h, --help      print this help and exit\n"
	        "  --              end of options: every later argument is a FILE\n"
	        "\n"
	        "A FILE that cannot be read (missing, a directory, no permission) gets one\n"
	        "error line on stderr naming it; the other files are still hashed.\n"
	        "\n"
	        "Exit codes:\n"
	        "  0  every FILE was hashed\n"
	        "  2  usage error, or at least one FILE could not be read (b3sum exits 1)\n",
	        HASH_LENGTH_MAX, CLI_THREADS_MAX);
}

/* Strict decimal: digits only, no sign or spaces, within the cap. */
static int parse_length(const char *s, size_t *out)
{
	unsigned long v = 0;
	if (s[0] == '\0')
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > HASH_LENGTH_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence starting s[0..n), or 0 when
 * there is none; *bad then gets the length of the maximal ill-formed part
 * that Rust's to_string_lossy (used by b3sum) turns into one U+FFFD.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xBF;
	size_t need;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF) {
		need = 2;
	} else if (b >= 0xE0 && b <= 0xEF) {
		need = 3;
		lo = b == 0xE0 ? 0xA0 : lo; /* no overlongs */
		hi = b == 0xED ? 0x9F : hi; /* no surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 4;
		lo = b == 0xF0 ? 0x90 : lo; /* no overlongs */
		hi = b == 0xF4 ? 0x8F : hi; /* nothing above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	size_t k = 1;
	while (k < need && k < n && s[k] >= (k == 1 ? lo : 0x80) && s[k] <= (k == 1 ? hi : 0xBF))
		k++;
	if (k == need)
		return need;
	*bad = k;
	return 0;
}

/* name as b3sum prints it: lossy UTF-8, and escaped when escape is set. */
static void print_name(const char *name, bool escape)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name);
	for (size_t i = 0; i < n;) {
		size_t bad = 0, k = utf8_seq(s + i, n - i, &bad);
		if (k == 0) {
			fputs("\xEF\xBF\xBD", stdout);
			i += bad;
		} else if (escape && s[i] == '\\') {
			fputs("\\\\", stdout);
			i++;
		} else if (escape && s[i] == '\n') {
			fputs("\\n", stdout);
			i++;
		} else {
			fwrite(s + i, 1, k, stdout);
			i += k;
		}
	}
}

/* Stream the output in slices so --length needs no large buffer. */
static void print_hex(const eds_blake3_hasher *h, size_t out_len)
{
	uint8_t bin[4096];
	char hex[2 * sizeof bin + 1];
	for (size_t off = 0; off < out_len; off += sizeof bin) {
		size_t n = out_len - off < sizeof bin ? out_len - off : sizeof bin;
		eds_blake3_finalize_seek(h, off, bin, n);
		eds_hex_encode(hex, bin, n);
		fputs(hex, stdout);
	}
}

static int hash_one(const char *name, size_t out_len, unsigned threads)
{
	eds_blake3_hasher h;
	eds_status st;

	eds_blake3_init(&h);
	if (strcmp(name, "-") == 0)
		st = eds_blake3_update_fd(&h, STDIN_FILENO, "standard input", NULL);
	else
		st = eds_blake3_update_file_parallel(&h, name, threads, NULL);
	if (st != EDS_OK) {
		/* keep the error after the lines of the files before it */
		fflush(stdout);
		return cli_report("hash", st, NULL);
	}
	/* Like b3sum (and coreutils), a line whose name needs escaping starts
	 * with a backslash, before the hex. */
	bool escape = strpbrk(name, "\\\n") != NULL;
	if (escape)
		putchar('\\');
	print_hex(&h, out_len);
	fputs("  ", stdout);
	print_name(name, escape);
	putchar('\n');
	return EDS_EXIT_OK;
}

/* Option parsing moves FILE arguments to the front of argv; returns their
 * count, or -1 after printing the error (or -2 after --help). */
static int parse_args(int argc, char **argv, size_t *out_len, unsigned *threads)
{
	int nfiles = 0;
	bool options = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (!options || a[0] != '-' || strcmp(a, "-") == 0) {
			argv[nfiles++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			options = false;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return -2;
		} else if (strcmp(a, "-l") == 0 || strcmp(a, "--length") == 0) {
			if (i + 1 == argc) {
				cli_usage("hash", "%s needs a value", a);
				return -1;
			}
			val = argv[++i];
		} else if (strncmp(a, "--length=", 9) == 0) {
			val = a + 9;
		} else if (strcmp(a, "--threads") == 0 || strncmp(a, "--threads=", 10) == 0) {
			const char *t = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : NULL;
			if (t == NULL) {
				cli_usage("hash", "%s needs a value", a);
				return -1;
			}
			if (cli_parse_threads("hash", t, threads) != EDS_EXIT_OK)
				return -1;
			continue;
		} else {
			cli_usage("hash", "unknown option '%s'", a);
			return -1;
		}
		if (val != NULL && parse_length(val, out_len) != 0) {
			cli_usage("hash", "--length: must be an integer 0 .. %u, got '%s'",
			          HASH_LENGTH_MAX, val);
			return -1;
		}
	}
	return nfiles;
}

int cmd_hash(int argc, char **argv)
{
	static char stdin_name[] = "-";
	char *only_stdin[] = {stdin_name};
	size_t out_len = EDS_BLAKE3_OUT_LEN;
	unsigned threads = 1;
	int rc = EDS_EXIT_OK;

	int nfiles = parse_args(argc, argv, &out_len, &threads);
	if (nfiles == -2)
		return EDS_EXIT_OK;
	if (nfiles < 0)
		return EDS_EXIT_USAGE;
	char **files = nfiles > 0 ? argv : only_stdin;
	if (nfiles == 0)
		nfiles = 1;
	for (int i = 0; i < nfiles; i++)
		if (hash_one(files[i], out_len, threads) != EDS_EXIT_OK)
			rc = EDS_EXIT_USAGE;
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "eds hash: standard output: %s\n",
		        errno != 0 ? strerror(errno) : "write error");
		return EDS_EXIT_USAGE;
	}
	return rc;
}
