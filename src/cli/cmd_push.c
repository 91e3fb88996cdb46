/*
 * cmd_push.c - `eds push --url URL CHAIN`: send a chain file's records (and
 * payloads) to an ingest server, starting after the server's head.
 */
#include <string.h>

#include "cli.h"
#include "cli_flags.h"
#include "edgesentry/http_client.h"
#include "push_cli.h"
#include "push_mqtt.h"

static const char *const cmd = "push";

static void help(void)
{
	printf("usage: eds push --url URL CHAIN [--payload-dir DIR [--put-payloads]]\n"
	       "                [--batch N] [--retries N] [--cacert FILE]\n"
	       "                [--cert FILE --key FILE] [--json] [--quiet]\n"
	       "       eds push --mqtt HOST:PORT CHAIN [--url URL] [--payload-dir DIR]\n"
	       "                [--batch N] [--retries N] [--mqtt-cafile FILE]\n"
	       "                [--mqtt-cert F --mqtt-key F] [--mqtt-client-id ID]\n"
	       "                [--timeout-ms MS] [--cacert FILE] [--json] [--quiet]\n\n"
	       "Send the records of the chain file CHAIN (JSON Lines, any devices; - reads\n"
	       "standard input) to the ingest server at URL.  For each device it first asks\n"
	       "the server for its head and sends only the records after it, so running it\n"
	       "twice sends nothing twice.  Stops at the first record the server refuses and\n"
	       "names it.\n\n"
	       "Options:\n"
	       "  --url URL          server base URL, e.g. https://ingest.example:8443\n"
	       "  --payload-dir DIR  send each record's payload from this payload store, a\n"
	       "                     directory: inline up to 512 KiB, larger ones PUT once\n"
	       "                     the record is stored (records whose payload is absent\n"
	       "                     are sent without it; it stays pending on the server)\n"
	       "  --put-payloads     also PUT the payload in DIR of each record skipped as\n"
	       "                     already on the server (pushed earlier without it);\n"
	       "                     one the server answers 404 unknown_payload (no record\n"
	       "                     needs it) is passed over\n"
	       "  --batch N          records per request, 1..1000 (default 100); a request\n"
	       "                     stays under 1 MiB, and one the server answers 413\n"
	       "                     too_large is sent again in halves, down to one record\n"
	       "  --retries N        0..100 (default 5): a server that cannot take records\n"
	       "                     now (429 rate_limited, 503 storage_unavailable, for a\n"
	       "                     request or for records of a batch) is asked again after\n"
	       "                     its Retry-After (at most 60 s), or 1, 2, 4 ... 30 s\n"
	       "                     when it names none; the push gives up (exit 2) after N\n"
	       "                     waits in a row with nothing stored in between, so a\n"
	       "                     throttled push goes on at the server's rate; 0: never\n"
	       "                     wait\n"
	       "  --cacert FILE      CA certificate(s) to trust for an https server\n"
	       "  --cert FILE        client certificate (PEM) for mutual TLS; its CN must be\n"
	       "                     the device id of the records sent\n"
	       "  --key FILE         the client certificate's private key (PEM)\n"
	       "  --json             print one JSON object on stdout instead of the summary:\n"
	       "                     ok, records, skipped, sent (stored now), payloads_sent,\n"
	       "                     payloads_unknown (--put-payloads answered 404), batches,\n"
	       "                     devices, waits and waited_ms (see --retries), refused\n"
	       "                     (null, or the refused record: device_id, sequence,\n"
	       "                     reason = the server's error code, e.g. fork,\n"
	       "                     bad_signature, unknown_device), error (null, or code =\n"
	       "                     refused, io_error, malformed, limit or error, and\n"
	       "                     message)\n"
	       "  --quiet            print no summary and no progress (errors still)\n"
	       "  -h, --help         show this help\n\n");
	/* two strings: C11 compilers need take only 4095 characters in one */
	printf("With --mqtt the records are published to the broker (FORMAT.md section 5) and\n"
	       "each counts as stored only when the server's answer says accepted or\n"
	       "duplicate.  --url is then optional: with it the push resumes after the\n"
	       "server's heads, without it every record is sent (those the server has come\n"
	       "back as duplicates).  A payload over 512 KiB is too large for a message:\n"
	       "with --url it is PUT once its record is stored; without --url the push\n"
	       "stops at its record (exit 2).  --retries as above: records answered\n"
	       "rate_limited or storage_unavailable are published again after 1, 2, 4 ...\n"
	       "30 s (an MQTT answer names no Retry-After); a batch left without answers\n"
	       "(--timeout-ms) is not waited out (exit 2).  Broker user name and password:\n"
	       "EDS_MQTT_USERNAME and EDS_MQTT_PASSWORD in the environment.\n"
	       "  --mqtt HOST:PORT       the MQTT broker\n"
	       "  --mqtt-cafile FILE     use TLS 1.2+ to the broker, trusting these CAs; the\n"
	       "                         broker certificate must name HOST\n"
	       "  --mqtt-cert FILE       client certificate (PEM) for the broker\n"
	       "  --mqtt-key FILE        its private key (PEM)\n"
	       "  --mqtt-client-id ID    client id (default: a random one)\n"
	       "  --timeout-ms MS        wait this long for a batch's answers (default 10000)\n\n"
	       "Each flag with a value may be given once.  Prints: records read, skipped\n"
	       "(already on the server), accepted, duplicates, requests (with --mqtt:\n"
	       "records read, skipped, stored, batches), and how long it waited for the\n"
	       "server when it did.  On a terminal, a chain file of\n"
	       "8 MiB or more (a pipe: after 50,000 records) shows a progress line on\n"
	       "stderr.\n\n"
	       "Exit codes:\n"
	       "  0  every record after the server's heads is stored\n"
	       "  1  the server refused a record (fork, bad signature, gap, unknown\n"
	       "     device, ...)\n"
	       "  2  usage error, unreadable chain file, network or server error, or a\n"
	       "     server that still could not take records after --retries waits\n");
}

int cmd_push(int argc, char **argv)
{
	static const char *const names[] = {"--url",  "--payload-dir", "--batch",  "--cacert",
	                                    "--cert", "--key",         "--retries"};
	eds_push_options o = {0};
	push_cli pc = {0};
	const char *chain = NULL, *batch = NULL, *retries = NULL;
	const char **const slots[] = {&o.url,  &o.payload_dir, &batch,  &o.cacert,
	                              &o.cert, &o.key,         &retries};
	/* The value flags of the form asked for, so "--url -h" is not a help request. */
	int mqtt = push_mqtt_wanted(argc, argv);
	if (mqtt ? cli_help_asked(argc, argv, push_mqtt_flags, PUSH_MQTT_FLAGS)
	         : cli_help_asked(argc, argv, names, 7)) {
		help();
		return EDS_EXIT_OK;
	}
	if (mqtt)
		return cmd_push_mqtt(argc, argv);
	int rc = push_cli_parse(&pc, argc, argv, names, slots, 7, &chain);
	uint64_t n = 100;
	if (rc != EDS_EXIT_OK)
		return rc;
	if (o.url == NULL)
		return cli_usage(cmd, "--url URL is required");
	if (batch != NULL && cli_u64(batch, 1, 1000, &n) != 0)
		return cli_usage(cmd, "--batch must be 1..1000, not '%s'", batch);
	if ((rc = push_cli_retries(retries, &o.retries)) != EDS_EXIT_OK)
		return rc;
	if ((o.cert == NULL) != (o.key == NULL))
		return cli_usage(cmd, "--cert and --key go together");
	const char *const files[] = {o.cacert, o.cert, o.key};
	if ((rc = push_cli_check_url(o.url)) != EDS_EXIT_OK ||
	    (rc = cli_check_files(cmd, names + 3, files, 3)) != EDS_EXIT_OK ||
	    (rc = push_cli_check_payload_dir(o.payload_dir)) != EDS_EXIT_OK)
		return rc;
	if (pc.put_payloads && o.payload_dir == NULL)
		return cli_usage(cmd, "--put-payloads needs --payload-dir");
	o.put_payloads = pc.put_payloads;
	o.batch = (size_t)n;
	o.progress = push_cli_progress;
	o.progress_ctx = &pc;
	eds_push_summary s = {0};
	push_cli_begin(&pc, chain);
	eds_status st = eds_push_chain(chain, &o, &s);
	return push_cli_report(&pc, chain, st, &s);
}
