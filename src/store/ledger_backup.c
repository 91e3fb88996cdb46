/*
 * ledger_backup.c - eds_ledger_backup: a whole ledger copied while a server
 * may keep writing to it.
 *
 * Order matters.  The database is copied first, as one snapshot; the
 * payload files are then copied for the records of that copy, not of the
 * live ledger, so every file the copy's records need is there, and files
 * of records committed after the snapshot are not.  A payload the snapshot
 * counts stored but whose file is not yet durable in the ledger is still
 * readable (staged files are visible before the flush), and in any case
 * its bytes are in the copy's payload journal: the copy's own recovery,
 * run last, writes back whatever the copy lacks and empties that journal.
 *
 * The copy is built under a temporary name beside the target and renamed
 * into place only when complete and durable, so the target is either a
 * whole ledger or absent, even after a crash in the middle.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "internal.h"
#include "ledger_internal.h"

/* Records between two progress calls. */
#define PROGRESS_EVERY 4096u

/* A stored payload that could not be copied: looked at again after recovery. */
typedef struct lack {
	char device_id[EDS_DEVICE_ID_MAX + 1]; /* and the record whose it is */
	uint64_t sequence;
	uint8_t hash[EDS_HASH_LEN];
	uint64_t size;
} lack;

typedef struct copier {
	const char *src_root, *dst_root;
	eds_ledger_progress_fn progress;
	void *ctx;
	eds_ledger_backup_stats *out;
	lack *lacks;
	size_t nlacks, cap;
} copier;

static eds_status note_lack(copier *c, const eds_record *r)
{
	void *v = c->lacks;
	eds_status st = eds_grow(&v, &c->cap, c->nlacks + 1, sizeof *c->lacks, "backup");
	c->lacks = v;
	if (st != EDS_OK)
		return st;
	lack *k = &c->lacks[c->nlacks++];
	snprintf(k->device_id, sizeof k->device_id, "%s", r->device_id);
	k->sequence = r->sequence;
	memcpy(k->hash, r->payload_hash, EDS_HASH_LEN);
	k->size = r->payload_size;
	return EDS_OK;
}

eds_status eds_ledger_copy_payload(const char *src_root, const char *dst_root,
                                   const eds_ledger_record *lr, eds_ledger_backup_stats *n)
{
	if (!lr->payload_stored) {
		n->pending++;
		return EDS_OK;
	}
	eds_status st = eds_payload_stage_copy(src_root, dst_root, lr->record.payload_hash,
	                                       lr->record.payload_size);
	if (st == EDS_E_NOT_FOUND || st == EDS_E_PAYLOAD_MISMATCH)
		return EDS_DONE;
	n->payloads += st == EDS_OK;
	return st;
}

static eds_status copy_payload(void *arg, const eds_ledger_record *lr)
{
	copier *c = arg;
	eds_status st = eds_ledger_copy_payload(c->src_root, c->dst_root, lr, c->out);
	if (st == EDS_DONE)
		st = note_lack(c, &lr->record); /* the copy's recovery may restore it */
	if (++c->out->records % PROGRESS_EVERY == 0 && c->progress != NULL)
		c->progress(c->ctx, c->out->records);
	return st;
}

/*
 * After the copy's recovery, each payload that could not be copied is
 * there now (restored from the journal), or its records went back to
 * pending, or it is missing in the copy as it is in the ledger.
 */
static eds_status count_lacks(eds_ledger *copy, copier *c)
{
	eds_ledger_record *r = malloc(sizeof *r);
	if (r == NULL && c->nlacks > 0)
		return eds_fail(EDS_E_NOMEM, "backup: out of memory");
	eds_status st = EDS_OK;
	for (size_t i = 0; i < c->nlacks && st == EDS_OK; i++) {
		const lack *k = &c->lacks[i];
		if (eds_payload_check(c->dst_root, k->hash, k->size) == EDS_OK)
			continue;
		/* The record's own mark: another record of the same payload may be
		 * pending while this one's file is lost. */
		st = eds_ledger_record_get(copy, k->device_id, k->sequence, r);
		if (st == EDS_OK && r->payload_stored)
			c->out->missing++;
		else if (st == EDS_OK)
			c->out->pending++;
	}
	free(r);
	return st;
}

/*
 * The copy in tmp: payload files for its records, then its recovery (which
 * restores what its journal holds of the missing ones), all durable.
 */
static eds_status fill_copy(eds_ledger *l, const char *tmp, copier *c)
{
	eds_ledger *copy = NULL;
	eds_ledger_options o = {.durable = 1, .must_exist = 1};
	eds_status st = eds_ledger_open(&copy, tmp, &o);
	if (st != EDS_OK)
		return st;
	c->src_root = eds_ledger_payload_dir(l);
	c->dst_root = eds_ledger_payload_dir(copy);
	st = eds_payload_stage_dirs(c->dst_root);
	if (st == EDS_OK)
		st = eds_ledger_record_foreach(copy, copy_payload, c);
	if (st == EDS_OK)
		st = eds_payload_sync(c->dst_root);
	if (st == EDS_OK)
		st = eds_ledger_recover(copy, &c->out->restored, &c->out->demoted);
	if (st == EDS_OK)
		st = count_lacks(copy, c);
	eds_ledger_close(copy);
	if (st == EDS_OK && c->progress != NULL)
		c->progress(c->ctx, c->out->records);
	return st;
}

/* dir without trailing slashes, into buf; EDS_E_ARG when empty or too long. */
static eds_status target_name(char *buf, size_t cap, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || n >= cap)
		return eds_fail(EDS_E_ARG, "backup: bad target directory '%s'", dir);
	memcpy(buf, dir, n);
	buf[n] = '\0';
	return EDS_OK;
}

static eds_status make_partial(char *tmp, size_t cap, const char *target)
{
	struct stat sb;
	if (lstat(target, &sb) == 0)
		return eds_fail(EDS_E_EXISTS, "%s: exists; a backup goes to a new directory",
		                target);
	if ((size_t)snprintf(tmp, cap, "%s.partial-XXXXXX", target) >= cap)
		return eds_fail(EDS_E_ARG, "%s: path too long", target);
	if (mkdtemp(tmp) == NULL) /* the name asked for: OUT.partial-XXXXXX is ours */
		return eds_fail(EDS_E_IO, "%s: %s", target, strerror(errno));
	return EDS_OK;
}

/* The complete copy takes its name; the rename is made durable too. */
static eds_status publish(const char *tmp, const char *target)
{
	struct stat sb;
	/* rename() would replace an empty directory made meanwhile: refuse that too. */
	if (lstat(target, &sb) == 0)
		return eds_fail(EDS_E_EXISTS, "%s: appeared during the backup", target);
	if (rename(tmp, target) != 0)
		return eds_fail(EDS_E_IO, "%s: %s", target, strerror(errno));
	return eds_fsync_dir_of(target);
}

eds_status eds_ledger_backup(eds_ledger *l, const char *dir, eds_ledger_progress_fn progress,
                             void *ctx, eds_ledger_backup_stats *out)
{
	eds_ledger_backup_stats none;
	char target[PATH_MAX], tmp[PATH_MAX], db[PATH_MAX + 16];
	if (out == NULL)
		out = &none;
	memset(out, 0, sizeof *out);
	if (l == NULL || dir == NULL)
		return eds_fail(EDS_E_ARG, "backup: NULL argument");
	eds_status st = target_name(target, sizeof target, dir);
	if (st == EDS_OK)
		st = make_partial(tmp, sizeof tmp, target);
	if (st != EDS_OK)
		return st;
	snprintf(db, sizeof db, "%s/ledger.sqlite", tmp);
	copier c = {.progress = progress, .ctx = ctx, .out = out};
	st = eds_ledger_backup_db(l, db);
	if (st == EDS_OK)
		st = fill_copy(l, tmp, &c);
	if (st == EDS_OK)
		st = publish(tmp, target);
	free(c.lacks);
	if (st != EDS_OK)
		eds_remove_tree(tmp); /* best effort: the error to report is st */
	return st;
}
