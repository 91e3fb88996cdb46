/*
 * chain_append.c - append a device's next signed record to a JSON Lines
 * chain file under an exclusive lock (eds sign, update decisions).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"

/*
 * The device's last record in the chain file: *last_seq (0 when it has none)
 * and its hash.  Fails with EDS_E_SEQUENCE / EDS_E_PREV_HASH when the
 * device's records there are not a valid chain.
 */
static eds_status chain_head(const char *path, const char *device, uint64_t *last_seq,
                             uint8_t last_hash[EDS_HASH_LEN])
{
	eds_record_reader *rd;
	eds_record r;
	eds_status st = eds_record_reader_open(&rd, path);
	*last_seq = 0;
	if (st != EDS_OK)
		return st;
	while ((st = eds_record_reader_next(rd, &r)) == EDS_OK) {
		if (strcmp(r.device_id, device) != 0)
			continue;
		unsigned long long line = (unsigned long long)eds_record_reader_line(rd);
		if (r.sequence != *last_seq + 1) {
			st = eds_fail(EDS_E_SEQUENCE,
			              "%s:%llu: device %s: sequence %llu where %llu was expected",
			              path, line, device, (unsigned long long)r.sequence,
			              (unsigned long long)*last_seq + 1);
			break;
		}
		if (*last_seq > 0 && memcmp(r.prev_hash, last_hash, EDS_HASH_LEN) != 0) {
			st = eds_fail(EDS_E_PREV_HASH,
			              "%s:%llu: device %s sequence %llu: prev_hash is not the "
			              "record_hash of sequence %llu",
			              path, line, device, (unsigned long long)r.sequence,
			              (unsigned long long)*last_seq);
			break;
		}
		*last_seq = r.sequence;
		if ((st = eds_record_compute_hash(&r, last_hash)) != EDS_OK)
			break;
	}
	if (st == EDS_DONE && eds_record_reader_is_array(rd))
		st = eds_fail(EDS_E_UNSUPPORTED,
		              "%s: is a JSON array; eds sign appends only to JSON Lines files",
		              path);
	eds_record_reader_close(rd);
	return st == EDS_DONE ? EDS_OK : st;
}

/* Lock the chain file (creating it) so concurrent signers cannot fork the chain. */
static int lock_chain(const char *cmd, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_report(cmd, eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno)), NULL);
		return -1;
	}
	if (flock(fd, LOCK_EX) != 0) {
		cli_report(cmd, eds_fail(EDS_E_IO, "lock %s: %s", path, strerror(errno)), NULL);
		close(fd);
		return -1;
	}
	return fd;
}

/* Under the lock: link r to the device's head, number it, sign and append. */
static int append_locked(const char *cmd, const char *chain, eds_record *r,
                         const eds_secret_key *sk)
{
	uint64_t last;
	eds_status st = chain_head(chain, r->device_id, &last, r->prev_hash);
	if (st == EDS_E_SEQUENCE || st == EDS_E_PREV_HASH)
		return cli_report(cmd, st, "refusing to append to a broken chain");
	if (st != EDS_OK)
		return cli_report(cmd, st, NULL);
	if (last >= EDS_INT_MAX)
		return cli_report(cmd, eds_fail(EDS_E_LIMIT, "sequence: 2^53-1 reached"), NULL);
	r->sequence = last + 1;
	if ((st = eds_record_sign(r, sk)) != EDS_OK || (st = eds_record_append(chain, r)) != EDS_OK)
		return cli_report(cmd, st, NULL);
	return EDS_EXIT_OK;
}

int cli_chain_append(const char *cmd, const char *chain, eds_record *r, const eds_secret_key *sk)
{
	int lock = lock_chain(cmd, chain);
	if (lock < 0)
		return EDS_EXIT_USAGE;
	int rc = append_locked(cmd, chain, r, sk);
	close(lock);
	return rc;
}
