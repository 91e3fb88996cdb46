/*
 * device_import.c - `eds device import --ledger DIR --registry FILE`: the
 * way to register a fleet, or to rebuild a ledger's device registry from
 * an export's registry.json, without one process and one transaction per
 * device.  The ledger checks each device against what it already holds
 * (eds_ledger_device_import); this file walks the registry and reports.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "device_import.h"
#include "progress.h"

static const char *const cmd = "device";

typedef struct walk {
	const eds_registry *reg;
	size_t next;             /* the registry's next device */
	eds_registry_device cur; /* the one last handed over */
	cli_progress bar;
} walk;

static eds_status next_device(void *ctx, eds_ledger_device *d)
{
	walk *w = ctx;
	if (w->next == eds_registry_device_count(w->reg))
		return EDS_DONE;
	eds_status st = eds_registry_device_at(w->reg, w->next++, &w->cur);
	cli_progress_update(&w->bar, 0, w->next);
	if (st != EDS_OK)
		return st;
	if (w->cur.key_count > EDS_LEDGER_MAX_KEYS)
		return eds_fail(EDS_E_LIMIT, "%zu keys; a ledger device holds at most %d",
		                w->cur.key_count, EDS_LEDGER_MAX_KEYS);
	snprintf(d->device_id, sizeof d->device_id, "%s", w->cur.device_id);
	d->revoked_from_sequence = w->cur.revoked_from_sequence;
	d->key_count = w->cur.key_count;
	for (size_t k = 0; k < d->key_count && st == EDS_OK; k++)
		st = eds_registry_key_at(w->reg, w->next - 1, k, &d->keys[k].public_key,
		                         &d->keys[k].from_sequence);
	return st;
}

static int report(const eds_ledger_import_counts *c, size_t devices, const char *path, bool json)
{
	if (json)
		return cli_json_print(
		    cmd, json_pack("{s:I, s:I, s:I, s:I}", "devices", (json_int_t)devices, "added",
		                   (json_int_t)c->added, "changed", (json_int_t)c->changed,
		                   "unchanged", (json_int_t)c->unchanged));
	/* A failed write is reported, exit 2, by main's flush after every command. */
	printf("%s: %zu devices: %llu added, %llu changed, %llu unchanged\n", path, devices,
	       (unsigned long long)c->added, (unsigned long long)c->changed,
	       (unsigned long long)c->unchanged);
	return EDS_EXIT_OK;
}

int device_import_run(eds_ledger *l, const eds_registry *reg, const char *registry_path, bool json)
{
	walk w = {reg, 0, {0}, {0}};
	eds_ledger_import_counts counts;
	cli_progress_begin_items(&w.bar, "device import", "devices", eds_registry_device_count(reg),
	                         !json);
	eds_status st = eds_ledger_device_import(l, next_device, &w, &counts);
	cli_progress_end(&w.bar);
	if (st == EDS_OK)
		return report(&counts, eds_registry_device_count(reg), registry_path, json);
	if (w.next == 0) {
		cli_json_report(cmd, json, st, registry_path);
		return EDS_EXIT_USAGE;
	}
	/* Nothing was imported; name the entry the import stopped at. */
	char where[EDS_DEVICE_ID_MAX + 64];
	snprintf(where, sizeof where, "%s: devices[%zu] (%s)", registry_path, w.cur.index,
	         w.cur.device_id);
	cli_json_report(cmd, json, st, where);
	return EDS_EXIT_USAGE;
}
