/*
 * cmd_record.c - `eds record`: inspect one record.  `header` writes the
 * exact signed-header bytes (so outside tools such as openssl can check the
 * signature), `show` prints the fields for a human.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: eds record header (--raw | --hex) FILE\n"
    "       eds record show FILE\n"
    "\n"
    "Inspect the record in FILE: a JSON object (one line or pretty-printed) or a JSON\n"
    "array of one record; '-' reads standard input.  The record's fields and stated\n"
    "record_hash are checked; its signature is not (use 'eds verify' for that).\n"
    "\n"
    "  header --raw FILE  write the signed header bytes (the exact message the signature\n"
    "                     covers) to standard output; refuses to write to a terminal\n"
    "  header --hex FILE  the same as lowercase hex on one line\n"
    "  show FILE          print the fields, record_hash and header size\n"
    "  -h, --help         show this help\n"
    "\n"
    "Example (check a signature with openssl):\n"
    "  eds record header --raw rec.json > sh.bin\n"
    "  jq -r .signature rec.json | xxd -r -p > sig.bin\n"
    "  openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in sh.bin -sigfile sig.bin\n"
    "\n"
    "Exit codes:\n"
    "  0  done\n"
    "  1  the stated record_hash does not match the record\n"
    "  2  usage error; unreadable or malformed record\n";

static int is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int header(const char *mode, const char *path)
{
	eds_record r;
	uint8_t sh[EDS_HEADER_MAX];
	char hex[2 * EDS_HEADER_MAX + 1];
	size_t len;
	int raw = strcmp(mode, "--raw") == 0;
	if (!raw && strcmp(mode, "--hex") != 0)
		return cli_usage("record", "header needs --raw or --hex, got '%s'", mode);
	if (raw && isatty(STDOUT_FILENO))
		return cli_usage("record", "refusing to write binary to a terminal; redirect "
		                           "standard output or use --hex");
	eds_status st = eds_record_load(&r, path);
	if (st == EDS_OK)
		st = eds_record_header_encode(&r, sh, sizeof sh, &len);
	if (st != EDS_OK)
		return cli_report("record", st, NULL);
	if (raw) {
		fwrite(sh, 1, len, stdout);
	} else {
		eds_hex_encode(hex, sh, len);
		printf("%s\n", hex);
	}
	if (fflush(stdout) != 0)
		return cli_report("record", eds_fail(EDS_E_IO, "standard output: write failed"),
		                  NULL);
	return EDS_EXIT_OK;
}

static void print_hex(const char *name, const uint8_t *bin, size_t len, const char *note)
{
	char hex[2 * EDS_SIGNATURE_LEN + 1];
	eds_hex_encode(hex, bin, len);
	printf("%-13s %s%s\n", name, hex, note);
}

/* timestamp_ms as ISO 8601 UTC, e.g. 2023-11-14T22:13:20.000Z. */
static void iso_time(char *out, size_t cap, uint64_t ms)
{
	struct tm tm;
	time_t secs = (time_t)(ms / 1000);
	char date[64];
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, cap, "?");
	else
		snprintf(out, cap, "%s.%03uZ", date, (unsigned)(ms % 1000));
}

static int show(const char *path)
{
	eds_record r;
	uint8_t sh[EDS_HEADER_MAX], hash[EDS_HASH_LEN];
	size_t len;
	char when[96];
	eds_status st = eds_record_load(&r, path);
	if (st == EDS_OK)
		st = eds_record_header_encode(&r, sh, sizeof sh, &len);
	if (st == EDS_OK)
		st = eds_record_compute_hash(&r, hash);
	if (st != EDS_OK)
		return cli_report("record", st, NULL);
	iso_time(when, sizeof when, r.timestamp_ms);
	printf("%-13s ESR1\n", "format");
	printf("%-13s %s\n", "device_id", r.device_id);
	printf("%-13s %llu\n", "sequence", (unsigned long long)r.sequence);
	printf("%-13s %llu (%s)\n", "timestamp_ms", (unsigned long long)r.timestamp_ms, when);
	printf("%-13s %llu\n", "payload_size", (unsigned long long)r.payload_size);
	print_hex("payload_hash", r.payload_hash, EDS_HASH_LEN, "");
	print_hex("prev_hash", r.prev_hash, EDS_HASH_LEN, r.sequence == 1 ? " (first record)" : "");
	printf("%-13s %s\n", "object_ref", r.object_ref);
	print_hex("signature", r.signature, EDS_SIGNATURE_LEN, " (not checked)");
	print_hex("record_hash", hash, EDS_HASH_LEN, "");
	printf("%-13s %zu bytes\n", "header", len);
	return EDS_EXIT_OK;
}

int cmd_record(int argc, char **argv)
{
	if (argc >= 2 && is_help(argv[1])) {
		fputs(help, stdout);
		return EDS_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage("record", "missing sub-command (header or show)");
	for (int i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(help, stdout);
			return EDS_EXIT_OK;
		}
	}
	if (strcmp(argv[1], "header") == 0) {
		if (argc != 4)
			return cli_usage("record", "usage: eds record header (--raw | --hex) FILE");
		/* The mode may come after the file too. */
		int swap = strncmp(argv[3], "--", 2) == 0 && strncmp(argv[2], "--", 2) != 0;
		return header(argv[swap ? 3 : 2], argv[swap ? 2 : 3]);
	}
	if (strcmp(argv[1], "show") == 0) {
		if (argc != 3)
			return cli_usage("record", "usage: eds record show FILE");
		return show(argv[2]);
	}
	return cli_usage("record", "unknown sub-command '%s' (header or show)", argv[1]);
}
