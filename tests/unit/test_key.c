/*
 * test_key.c - key PEM forms (byte-equal to OpenSSL's), hex, key files
 * (permissions, no overwrite), the edgesentry-rs key JSON, and every way a
 * key text can be malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "test_support.h"

/* Written by `openssl pkey` from the DER 302e...0420 || 01 x 32 (OpenSSL 3.0). */
#define SEED01_KEY_PEM                                                                             \
	"-----BEGIN PRIVATE KEY-----\n"                                                            \
	"MC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n"                       \
	"-----END PRIVATE KEY-----\n"
/* `openssl pkey -pubout` of the key above. */
#define SEED01_PUB_PEM                                                                             \
	"-----BEGIN PUBLIC KEY-----\n"                                                             \
	"MCowBQYDK2VwAyEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\n"                           \
	"-----END PUBLIC KEY-----\n"
#define SEED01_PUB_HEX "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define SEED01_HEX     "0101010101010101010101010101010101010101010101010101010101010101"
#define SK_BEGIN       "-----BEGIN PRIVATE KEY-----\n"
#define SK_END         "-----END PRIVATE KEY-----\n"
#define SEED01_B64     "MC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"

static const char *write_tmp(const char *name, const char *text, mode_t mode)
{
	const char *path = test_dir_path(name);
	unlink(path);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void seed01(eds_secret_key *sk)
{
	uint8_t seed[32];
	memset(seed, 1, sizeof seed);
	assert_int_equal(eds_secret_key_from_seed(sk, seed), EDS_OK);
}

static void assert_seed01(const eds_secret_key *sk)
{
	eds_secret_key want;
	seed01(&want);
	assert_memory_equal(sk->bytes, want.bytes, sizeof want.bytes);
}

static void assert_pk_hex(const eds_public_key *pk, const char *hex)
{
	char got[65];
	eds_public_key_to_hex(pk, got);
	assert_string_equal(got, hex);
}

/* status and a phrase of the detail, so each malformation has its own message. */
static void assert_fails(eds_status got, eds_status want, const char *phrase)
{
	if (got != want || strstr(eds_last_error(), phrase) == NULL)
		fail_msg("want %d with \"%s\", got %d: %s", want, phrase, got, eds_last_error());
}

static void pem_writer_matches_openssl(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	char buf[256];
	size_t len = 0;
	seed01(&sk);
	eds_secret_key_public(&sk, &pk);
	assert_int_equal(eds_secret_key_to_pem(&sk, buf, sizeof buf, &len), EDS_OK);
	assert_string_equal(buf, SEED01_KEY_PEM);
	assert_int_equal(len, strlen(SEED01_KEY_PEM));
	assert_int_equal(eds_public_key_to_pem(&pk, buf, sizeof buf, &len), EDS_OK);
	assert_string_equal(buf, SEED01_PUB_PEM);
	assert_int_equal(len, strlen(SEED01_PUB_PEM));
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	/* One byte short of the text plus its NUL. */
	assert_fails(eds_secret_key_to_pem(&sk, buf, strlen(SEED01_KEY_PEM), &len), EDS_E_LIMIT,
	             "needed");
	assert_fails(eds_public_key_to_pem(&pk, buf, 10, NULL), EDS_E_LIMIT, "needed");
	assert_int_equal(eds_secret_key_to_pem(NULL, buf, sizeof buf, NULL), EDS_E_ARG);
	assert_int_equal(eds_secret_key_to_pem(&sk, NULL, 0, NULL), EDS_E_ARG);
}

static void pem_reader_reads_openssl(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	assert_int_equal(eds_secret_key_from_pem(&sk, SEED01_KEY_PEM, strlen(SEED01_KEY_PEM)),
	                 EDS_OK);
	assert_seed01(&sk);
	assert_int_equal(eds_public_key_from_pem(&pk, SEED01_PUB_PEM, strlen(SEED01_PUB_PEM)),
	                 EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
}

static void pem_round_trips(void **state)
{
	(void)state;
	char buf[256];
	size_t len;
	for (int i = 0; i < 20; i++) {
		eds_secret_key sk, back;
		eds_public_key pk, pk_back;
		assert_int_equal(eds_secret_key_generate(&sk), EDS_OK);
		eds_secret_key_public(&sk, &pk);
		assert_int_equal(eds_secret_key_to_pem(&sk, buf, sizeof buf, &len), EDS_OK);
		assert_int_equal(eds_secret_key_from_pem(&back, buf, len), EDS_OK);
		assert_memory_equal(sk.bytes, back.bytes, sizeof sk.bytes);
		assert_int_equal(eds_public_key_to_pem(&pk, buf, sizeof buf, &len), EDS_OK);
		assert_int_equal(eds_public_key_from_pem(&pk_back, buf, len), EDS_OK);
		assert_memory_equal(pk.bytes, pk_back.bytes, sizeof pk.bytes);
		eds_secret_key_wipe(&sk);
		eds_secret_key_wipe(&back);
		assert_memory_equal(sk.bytes, (uint8_t[64]){0}, 64);
	}
}

/* What the reader tolerates: CRLF, trailing blanks, blank lines at the end,
 * no final newline, and base64 wrapped at any width. */
static void pem_reader_is_robust(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "-----BEGIN PRIVATE KEY-----\r\n" SEED01_B64 "\r\n-----END PRIVATE KEY-----\r\n",
	    "-----BEGIN PRIVATE KEY----- \t\n" SEED01_B64 "  \n-----END PRIVATE KEY-----\t\n\n \n",
	    SK_BEGIN SEED01_B64 "\n-----END PRIVATE KEY-----",
	    SK_BEGIN
	    "MC4CAQAwBQYDK2VwBCIEIAEBAQEB\nAQEBAQEBAQEBAQEBAQEBAQEBAQEB\nAQEBAQEB\n" SK_END,
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		eds_secret_key sk;
		eds_status st = eds_secret_key_from_pem(&sk, ok[i], strlen(ok[i]));
		if (st != EDS_OK)
			fail_msg("case %zu: %s", i, eds_last_error());
		assert_seed01(&sk);
	}
}

typedef struct {
	const char *text;
	eds_status status;
	const char *phrase;
} bad_case;

static const bad_case bad_secret[] = {
    {"", EDS_E_MALFORMED, "PEM: empty input"},
    {"hello\n", EDS_E_MALFORMED, "PEM line 1: expected \"-----BEGIN PRIVATE KEY-----\""},
    {"\n" SEED01_KEY_PEM, EDS_E_MALFORMED, "PEM line 1: expected"},
    {SEED01_PUB_PEM, EDS_E_MALFORMED, "label \"PUBLIC KEY\", expected"},
    {"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", EDS_E_MALFORMED,
     "label \"EC PRIVATE KEY\""},
    {"-----BEGIN \x1b[31m-----\n", EDS_E_MALFORMED, "unexpected label"},
    {"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
     EDS_E_KEY, "encrypted private keys are not supported"},
    {SK_BEGIN SEED01_B64 "\n", EDS_E_MALFORMED, "no \"-----END PRIVATE KEY-----\" line"},
    {SK_BEGIN SEED01_B64 "\n-----END PUBLIC KEY-----\n", EDS_E_MALFORMED,
     "PEM line 3: expected \"-----END PRIVATE KEY-----\""},
    {SK_BEGIN "MC4CAQAw!QYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n" SK_END,
     EDS_E_MALFORMED, "PEM line 2, column 9: '!' is not a base64 character"},
    {SK_BEGIN "MC4CAQAw\001QYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n" SK_END,
     EDS_E_MALFORMED, "column 9: byte 0x01 is not a base64 character"},
    {SK_BEGIN " " SEED01_B64 "\n" SK_END, EDS_E_MALFORMED, "column 1: ' ' is not a base64"},
    {SK_BEGIN "MC4CAQAw BQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n" SK_END,
     EDS_E_MALFORMED, "column 9: ' ' is not a base64"},
    {SK_BEGIN "\n" SEED01_B64 "\n" SK_END, EDS_E_MALFORMED,
     "PEM line 2: empty line inside the base64 body"},
    {SK_BEGIN "Proc-Type: 4,ENCRYPTED\n" SEED01_B64 "\n" SK_END, EDS_E_MALFORMED,
     "column 5: '-' is not"},
    {SEED01_KEY_PEM "junk\n", EDS_E_MALFORMED, "PEM line 4: text after the END line"},
    {SEED01_KEY_PEM SEED01_KEY_PEM, EDS_E_MALFORMED, "PEM line 4: text after the END line"},
    {SK_BEGIN SK_END, EDS_E_MALFORMED, "no base64 body"},
    {SK_BEGIN "MC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\n" SK_END,
     EDS_E_MALFORMED, "bad base64"},
    {SK_BEGIN "MC4C=AAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n" SK_END,
     EDS_E_MALFORMED, "bad base64"},
    /* 47 bytes: the seed's last byte is missing. */
    {SK_BEGIN "MC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n" SK_END,
     EDS_E_KEY, "not an Ed25519 key (47 DER bytes"},
    /* X25519 (OID 1.3.101.110): the same length, another algorithm. */
    {SK_BEGIN "MC4CAQAwBQYDK2VuBCIEIKCfaUaldWMyqOZvCKN8HHL7QLZ9nkY3GUiynp0/PVZx\n" SK_END,
     EDS_E_KEY, "not an Ed25519 key (48 DER bytes"},
    /* Ed448, as `openssl genpkey -algorithm ed448` writes it. */
    {SK_BEGIN "MEcCAQAwBQYDK2VxBDsEOaVXFqaax6PoSHmwAclE5WbCCYcfaU1I3BAI+D4zAXvY\n"
              "U51R+14pPfNogNiVOWLiEbf25o3xujcjfQ==\n" SK_END,
     EDS_E_KEY, "not an Ed25519 key (73 DER bytes"},
    /* RFC 5958 version 2: seed 01 x 32 followed by [1] its public key. */
    {SK_BEGIN "MFECAQEwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
              "gSEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\n" SK_END,
     EDS_E_KEY, "version 2"},
};

static void pem_malformed_secret(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_secret / sizeof bad_secret[0]; i++) {
		eds_secret_key sk;
		const bad_case *c = &bad_secret[i];
		eds_status st = eds_secret_key_from_pem(&sk, c->text, strlen(c->text));
		if (st != c->status || strstr(eds_last_error(), c->phrase) == NULL)
			fail_msg("case %zu: want %d \"%s\", got %d: %s", i, c->status, c->phrase,
			         st, eds_last_error());
	}
}

static void pem_malformed_public(void **state)
{
	(void)state;
	eds_public_key pk;
	const char *sk_pem = SEED01_KEY_PEM;
	const char *identity = "-----BEGIN PUBLIC KEY-----\n"
	                       "MCowBQYDK2VwAyEAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	                       "-----END PUBLIC KEY-----\n";
	/* Non-zero padding bits: the same bytes, a second spelling. */
	const char *noncanonical = "-----BEGIN PUBLIC KEY-----\n"
	                           "MCowBQYDK2VwAyEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1x=\n"
	                           "-----END PUBLIC KEY-----\n";
	const char *rsa = "-----BEGIN PUBLIC KEY-----\n"
	                  "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCyrTURIqZzdACMloPlCizNZKSU\n"
	                  "NRomxcCDOKj8M4Vyn1CC+8dbfamFWKzHrfGMDdJAEDTO0tiNTrno7SptxglsVubB\n"
	                  "ymbjUH5GNvdXVLI6aU3maM4wjNW5cmpfeEZDuIap1GOaZX+oVcy1dxy8yxjXXxS5\n"
	                  "DtFA7xEUlruoGXC3HwIDAQAB\n"
	                  "-----END PUBLIC KEY-----\n";
	const char *ed448 = "-----BEGIN PUBLIC KEY-----\n"
	                    "MEMwBQYDK2VxAzoA2czkZNX7k2kzVinJCPLMlE59ZMiRlFhQ/kmC3HmUU5J7Z67+\n"
	                    "mGSExQmGg93QepyKNdat1uhPSU2A\n"
	                    "-----END PUBLIC KEY-----\n";
	assert_fails(eds_public_key_from_pem(&pk, sk_pem, strlen(sk_pem)), EDS_E_MALFORMED,
	             "label \"PRIVATE KEY\", expected \"-----BEGIN PUBLIC KEY-----\"");
	assert_fails(eds_public_key_from_pem(&pk, identity, strlen(identity)), EDS_E_KEY,
	             "not a valid Ed25519 point");
	assert_fails(eds_public_key_from_pem(&pk, noncanonical, strlen(noncanonical)),
	             EDS_E_MALFORMED, "bad base64");
	assert_fails(eds_public_key_from_pem(&pk, rsa, strlen(rsa)), EDS_E_KEY,
	             "not an Ed25519 key (the PEM body holds about");
	assert_fails(eds_public_key_from_pem(&pk, ed448, strlen(ed448)), EDS_E_KEY,
	             "not an Ed25519 public key (69 DER bytes");
	assert_int_equal(eds_public_key_from_pem(NULL, rsa, strlen(rsa)), EDS_E_ARG);
	assert_int_equal(eds_public_key_from_pem(&pk, NULL, 0), EDS_E_ARG);
}

/* The limit is on the text, and a NUL inside it is just a bad byte. */
static void pem_limits_and_nul(void **state)
{
	(void)state;
	eds_secret_key sk;
	char big[EDS_KEY_FILE_MAX + 2];
	memset(big, 'A', sizeof big);
	assert_fails(eds_secret_key_from_pem(&sk, big, sizeof big), EDS_E_LIMIT, "limit is 4096");
	const char nul[] = SK_BEGIN "MC4CAQAw\0QYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
	                            "AQEB\n" SK_END;
	assert_fails(eds_secret_key_from_pem(&sk, nul, sizeof nul - 1), EDS_E_MALFORMED,
	             "byte 0x00");
}

static void hex_forms(void **state)
{
	(void)state;
	eds_public_key pk;
	assert_int_equal(eds_public_key_from_hex(&pk, SEED01_PUB_HEX, 64), EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	assert_int_equal(eds_public_key_from_hex(&pk,
	                                         "8A88E3DD7409F195FD52DB2D3CBA5D72CA6709BF1D9"
	                                         "4121BF3748801B40F6F5C",
	                                         64),
	                 EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	assert_fails(eds_public_key_from_hex(&pk, SEED01_PUB_HEX, 63), EDS_E_MALFORMED,
	             "64 hex characters");
	assert_fails(eds_public_key_from_hex(&pk,
	                                     "zz88e3dd7409f195fd52db2d3cba5d72ca6709bf1d941"
	                                     "21bf3748801b40f6f5c",
	                                     64),
	             EDS_E_MALFORMED, "64 hex characters");
}

static void save_modes_and_no_overwrite(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	struct stat st;
	seed01(&sk);
	eds_secret_key_public(&sk, &pk);
	/* The modes are exact whatever the umask. */
	mode_t old = umask(0);
	assert_int_equal(eds_secret_key_save(&sk, test_dir_path("a.key")), EDS_OK);
	umask(077);
	assert_int_equal(eds_public_key_save(&pk, test_dir_path("a.pub")), EDS_OK);
	umask(old);
	assert_int_equal(stat(test_dir_path("a.key"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(test_dir_path("a.pub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	char *text = test_read_file(test_dir_path("a.key"), NULL);
	assert_string_equal(text, SEED01_KEY_PEM);
	free(text);
	text = test_read_file(test_dir_path("a.pub"), NULL);
	assert_string_equal(text, SEED01_PUB_PEM);
	free(text);

	eds_secret_key other;
	assert_int_equal(eds_secret_key_generate(&other), EDS_OK);
	assert_fails(eds_secret_key_save(&other, test_dir_path("a.key")), EDS_E_EXISTS,
	             "already exists");
	assert_fails(eds_public_key_save(&pk, test_dir_path("a.pub")), EDS_E_EXISTS,
	             "already exists");
	text = test_read_file(test_dir_path("a.key"), NULL);
	assert_string_equal(text, SEED01_KEY_PEM);
	free(text);
	/* A dangling symlink is not followed to create its target. */
	char *target = strdup(test_dir_path("target"));
	assert_int_equal(symlink(target, test_dir_path("link.key")), 0);
	assert_fails(eds_secret_key_save(&other, test_dir_path("link.key")), EDS_E_EXISTS,
	             "already exists");
	assert_int_equal(access(target, F_OK), -1);
	free(target);
	assert_fails(eds_secret_key_save(&other, test_dir_path("no/such/dir.key")), EDS_E_IO,
	             "no/such/dir.key");
}

static void load_and_permissions(void **state)
{
	(void)state;
	eds_secret_key sk;
	char want[256];
	const char *path = write_tmp("b.key", SEED01_KEY_PEM, 0600);
	assert_int_equal(eds_secret_key_load(&sk, path), EDS_OK);
	assert_seed01(&sk);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(eds_secret_key_load(&sk, path), EDS_OK);

	snprintf(want, sizeof want, "run chmod 600 %s", path);
	static const mode_t unsafe[] = {0640, 0604, 0660, 0644, 0610, 0601, 0620};
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
		memset(&sk, 0xaa, sizeof sk);
		assert_int_equal(chmod(path, unsafe[i]), 0);
		assert_fails(eds_secret_key_load(&sk, path), EDS_E_PERM, want);
		/* Nothing of the key is left behind on refusal. */
		assert_memory_equal(sk.bytes, (uint8_t[64]){0}, 64);
	}
	assert_fails(eds_secret_key_load(&sk, test_dir_path("missing.key")), EDS_E_NOT_FOUND,
	             "missing.key");
	path = write_tmp("pub-as-secret.pem", SEED01_PUB_PEM, 0600);
	assert_fails(eds_secret_key_load(&sk, path), EDS_E_KEY, "holds a public key");
	path = write_tmp("garbage.key", "not a key\n", 0600);
	assert_fails(eds_secret_key_load(&sk, path), EDS_E_MALFORMED, "garbage.key: PEM line 1");
	char big[EDS_KEY_FILE_MAX + 10];
	memset(big, '\n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	path = write_tmp("big.key", big, 0600);
	assert_fails(eds_secret_key_load(&sk, path), EDS_E_LIMIT, "big.key");
	assert_int_equal(eds_secret_key_load(&sk, NULL), EDS_E_ARG);
	/* Neither a FIFO (opening it must not block) nor a directory is a key file. */
	assert_int_equal(mkfifo(test_dir_path("fifo.key"), 0600), 0);
	assert_fails(eds_secret_key_load(&sk, test_dir_path("fifo.key")), EDS_E_IO,
	             "fifo.key: not a regular file");
	eds_public_key pk;
	assert_fails(eds_public_key_load(&pk, test_dir), EDS_E_IO, "not a regular file");
}

static void public_key_specs(void **state)
{
	(void)state;
	eds_public_key pk;
	const char *path;
	assert_int_equal(eds_public_key_load(&pk, SEED01_PUB_HEX), EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	path = write_tmp("c.pub", SEED01_PUB_PEM, 0644);
	assert_int_equal(eds_public_key_load(&pk, path), EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	path = write_tmp("c.key", SEED01_KEY_PEM, 0600);
	assert_int_equal(eds_public_key_load(&pk, path), EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	/* FORMAT.md 2: a readable secret key file is refused by every reader. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_fails(eds_public_key_load(&pk, path), EDS_E_PERM, "chmod 600");
	assert_fails(eds_public_key_load(&pk, test_dir_path("nothing")), EDS_E_NOT_FOUND,
	             "no such file, and not 64 hex characters");
	assert_fails(eds_public_key_load(&pk, "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3"
	                                      "748801b40f6f5"),
	             EDS_E_NOT_FOUND, "not 64 hex characters");
	assert_fails(eds_public_key_load(&pk, "0100000000000000000000000000000000000000000000000000"
	                                      "000000000000"),
	             EDS_E_KEY, "not a valid Ed25519 point");
	assert_fails(eds_public_key_load(&pk, ""), EDS_E_NOT_FOUND, "empty");
	path = write_tmp("bad.pub", "-----BEGIN PUBLIC KEY-----\nAAAA\n", 0644);
	assert_fails(eds_public_key_load(&pk, path), EDS_E_MALFORMED, "bad.pub: PEM: no");
}

/* edgesentry-rs `eds keygen --out` writes serde_json's pretty form without a final newline. */
#define LEGACY_JSON                                                                                \
	"{\n  \"private_key_hex\": \"" SEED01_HEX "\",\n  \"public_key_hex\": \"" SEED01_PUB_HEX   \
	"\"\n}"

static void legacy_json_keys(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	const char *path = write_tmp("legacy.json", LEGACY_JSON, 0600);
	assert_int_equal(eds_secret_key_load(&sk, path), EDS_OK);
	assert_seed01(&sk);
	assert_int_equal(eds_public_key_load(&pk, path), EDS_OK);
	assert_pk_hex(&pk, SEED01_PUB_HEX);
	path = write_tmp("compact.json",
	                 "{\"public_key_hex\":\"" SEED01_PUB_HEX
	                 "\",\"private_key_hex\":\"" SEED01_HEX "\"}\n",
	                 0600);
	assert_int_equal(eds_secret_key_load(&sk, path), EDS_OK);
	assert_seed01(&sk);
	path = write_tmp("open.json", LEGACY_JSON, 0644);
	assert_fails(eds_secret_key_load(&sk, path), EDS_E_PERM, "chmod 600");
	assert_fails(eds_public_key_load(&pk, path), EDS_E_PERM, "chmod 600");
}

static void legacy_json_malformed(void **state)
{
	(void)state;
	static const bad_case cases[] = {
	    /* The public key of RFC 8032 test 1, not of this seed. */
	    {"{\"private_key_hex\": \"" SEED01_HEX "\", \"public_key_hex\": "
	     "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"}",
	     EDS_E_KEY, "public_key_hex is not the public key of private_key_hex"},
	    {"{\"private_key_hex\": \"" SEED01_HEX "\"}", EDS_E_MALFORMED, "both required"},
	    {"{\"private_key_hex\": \"" SEED01_HEX "\", \"public_key_hex\": \"" SEED01_PUB_HEX
	     "\", \"note\": \"x\"}",
	     EDS_E_MALFORMED, "unknown member"},
	    {"{\"private_key_hex\": \"" SEED01_HEX "\", \"private_key_hex\": \"" SEED01_HEX "\"}",
	     EDS_E_MALFORMED, "duplicate member \"private_key_hex\""},
	    {"{\"private_key_hex\": \"\\u0030" SEED01_HEX "\"}", EDS_E_MALFORMED, "escapes"},
	    {"{\"private_key_hex\": \"" SEED01_HEX "\", \"public_key_hex\": \"" SEED01_PUB_HEX
	     "\"} x",
	     EDS_E_MALFORMED, "text after the object"},
	    {"{\"private_key_hex\": \"01\", \"public_key_hex\": \"" SEED01_PUB_HEX "\"}",
	     EDS_E_MALFORMED, "private_key_hex must be 64 hex characters"},
	    {"{\"private_key_hex\": \"" SEED01_HEX "\", \"public_key_hex\": \"zz\"}",
	     EDS_E_MALFORMED, "public_key_hex"},
	    {"{\"private_key_hex\": \"" SEED01_HEX "\" \"public_key_hex\": \"" SEED01_PUB_HEX "\"}",
	     EDS_E_MALFORMED, "expected '}'"},
	    {"{\"private_key_hex\": 1}", EDS_E_MALFORMED, "expected '\"'"},
	    {"{\"private_key_hex\": \"0101", EDS_E_MALFORMED, "unterminated string"},
	    {"{}", EDS_E_MALFORMED, "expected '\"'"},
	    {"{", EDS_E_MALFORMED, "expected '\"'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[32];
		eds_secret_key sk;
		snprintf(name, sizeof name, "bad%zu.json", i);
		const char *path = write_tmp(name, cases[i].text, 0600);
		eds_status st = eds_secret_key_load(&sk, path);
		if (st != cases[i].status || strstr(eds_last_error(), cases[i].phrase) == NULL ||
		    strstr(eds_last_error(), name) == NULL)
			fail_msg("case %zu: want %d \"%s\", got %d: %s", i, cases[i].status,
			         cases[i].phrase, st, eds_last_error());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pem_writer_matches_openssl),
	    cmocka_unit_test(pem_reader_reads_openssl),
	    cmocka_unit_test(pem_round_trips),
	    cmocka_unit_test(pem_reader_is_robust),
	    cmocka_unit_test(pem_malformed_secret),
	    cmocka_unit_test(pem_malformed_public),
	    cmocka_unit_test(pem_limits_and_nul),
	    cmocka_unit_test(hex_forms),
	    cmocka_unit_test(save_modes_and_no_overwrite),
	    cmocka_unit_test(load_and_permissions),
	    cmocka_unit_test(public_key_specs),
	    cmocka_unit_test(legacy_json_keys),
	    cmocka_unit_test(legacy_json_malformed),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
