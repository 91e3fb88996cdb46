/*
 * progress.c - see progress.h.
 */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "progress.h"

#define REDRAW_SECONDS 0.1
/* Look at the clock only every this many items, so updating costs nothing. */
#define CLOCK_EVERY 256u

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start(cli_progress *p, const char *label, const char *unit, uint64_t total,
                  bool in_items, bool enabled)
{
	p->label = label;
	p->unit = unit;
	p->total = total;
	p->in_items = in_items;
	p->enabled = enabled && cli_stderr_is_tty();
	p->shown = false;
	p->start = p->enabled ? now_seconds() : 0;
	p->last_draw = 0;
}

void cli_progress_begin(cli_progress *p, const char *label, const char *unit, uint64_t total_bytes,
                        bool allowed)
{
	start(p, label, unit, total_bytes, false,
	      allowed && (total_bytes == 0 || total_bytes >= CLI_PROGRESS_MIN_BYTES));
}

void cli_progress_begin_items(cli_progress *p, const char *label, const char *unit,
                              uint64_t total_items, bool allowed)
{
	start(p, label, unit, total_items, true, allowed && total_items >= CLI_PROGRESS_MIN_ITEMS);
}

static void draw(const cli_progress *p, uint64_t done_bytes, uint64_t items, double now)
{
	double elapsed = now - p->start;
	double rate = elapsed > 0 ? (double)items / elapsed : 0;
	if (p->total > 0) {
		uint64_t done = p->in_items ? items : done_bytes;
		double pct = 100.0 * (double)done / (double)p->total;
		fprintf(stderr, "\r%s: %5.1f%%  %llu %s  %.0f %s/s\033[K", p->label,
		        pct > 100 ? 100 : pct, (unsigned long long)items, p->unit, rate, p->unit);
	} else {
		fprintf(stderr, "\r%s: %llu %s (%.1f MiB)  %.0f %s/s\033[K", p->label,
		        (unsigned long long)items, p->unit, (double)done_bytes / (1024.0 * 1024.0),
		        rate, p->unit);
	}
	fflush(stderr);
}

void cli_progress_update(cli_progress *p, uint64_t done_bytes, uint64_t items)
{
	if (items % CLOCK_EVERY == 0)
		cli_progress_step(p, done_bytes, items);
}

void cli_progress_step(cli_progress *p, uint64_t done_bytes, uint64_t items)
{
	if (!p->enabled)
		return;
	if (p->total == 0 && items < CLI_PROGRESS_MIN_ITEMS)
		return;
	double now = now_seconds();
	if (p->shown && now - p->last_draw < REDRAW_SECONDS)
		return;
	draw(p, done_bytes, items, now);
	p->shown = true;
	p->last_draw = now;
}

void cli_progress_end(cli_progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->shown = false;
}

typedef struct {
	cli_progress bar;
	bool allowed;
	eds_registry_phase phase; /* the one on the bar; 0 before the first report */
	const char *cmd;
	char label[96]; /* "CMD (PHASE)", borrowed by the bar */
} registry_watch;

static void on_registry(void *ctx, eds_registry_phase phase, uint64_t done, uint64_t total)
{
	registry_watch *w = ctx;
	bool reading = phase == EDS_REGISTRY_READING;
	if (phase != w->phase) {
		cli_progress_end(&w->bar);
		snprintf(w->label, sizeof w->label, "%.60s (%s)", w->cmd,
		         reading ? "reading" : "checking keys");
		if (reading)
			cli_progress_begin(&w->bar, w->label, "MiB", total, w->allowed);
		else
			cli_progress_begin_items(&w->bar, w->label, "keys", total, w->allowed);
		w->phase = phase;
	}
	cli_progress_step(&w->bar, done, reading ? done >> 20 : done);
}

eds_status cli_progress_load_registry(eds_registry **out, const char *path, const char *label,
                                      bool allowed)
{
	registry_watch w = {.allowed = allowed, .cmd = label};
	eds_status st = eds_registry_load_progress(out, path, on_registry, &w);
	cli_progress_end(&w.bar);
	return st;
}
