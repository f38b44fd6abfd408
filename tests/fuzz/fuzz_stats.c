/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the stats file parser (rf_stats_parse(), which `ringfan
 * stats`, `exporter`, `top` and `health` run on a file any process that may
 * write the directory could have written), and what is made of a parsed
 * snapshot: the Prometheus text (rf_prom_write()) and the queue views.
 *
 * Input: the file's text (up to the first NUL).
 *
 * Checks: parse returns 0 or -EBADMSG; a parsed snapshot's counts are
 * within its arrays and its strings end inside their buffers; formatting
 * it and parsing that again gives the same text (format . parse is
 * stable); every queue view has a fill between 0 and 1 and no negative
 * absence; the Prometheus writer handles any snapshot.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "prom.h"
#include "stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rf_stats_snap snap_a, snap_b;
static char text[RF_STATS_TEXT_MAX], out_a[RF_STATS_TEXT_MAX], out_b[RF_STATS_TEXT_MAX];
static FILE *devnull;

static void check_strings(const struct rf_stats_snap *s)
{
	uint64_t i;

	if (!memchr(s->state, 0, sizeof(s->state)) || !memchr(s->mode, 0, sizeof(s->mode)))
		abort();
	for (i = 0; i < s->n_sources; i++)
		if (!memchr(s->sources[i].name, 0, sizeof(s->sources[i].name)))
			abort();
	for (i = 0; i < s->n_queues; i++)
		if (!memchr(s->queues[i].egress, 0, sizeof(s->queues[i].egress)))
			abort();
}

static void check_views(const struct rf_stats_snap *s)
{
	struct rf_queue_view v;
	uint64_t q;

	for (q = 0; q < s->n_queues; q++) {
		rf_queue_view(s, q, q & 1, s->updated_ns + 1000000000ull, &v);
		if (!(v.fill >= 0 && v.fill <= 1) || v.gone_secs < 0 || (v.attached && v.gone_secs))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rf_prom_cluster c = {.snap = &snap_a, .up = true};
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	int r, la, lb;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	memcpy(text, data, n);
	text[n] = 0;
	r = rf_stats_parse(text, &snap_a);
	if (r == -EBADMSG)
		return 0;
	if (r || snap_a.n_sources > RF_STATS_MAX_SOURCES || snap_a.n_groups > RF_STATS_MAX_GROUPS ||
	    snap_a.n_queues > RF_STATS_MAX_QUEUES)
		abort();
	check_strings(&snap_a);
	check_views(&snap_a);
	if (rf_prom_write(devnull, &c, 1, snap_a.updated_ns))
		abort();
	la = rf_stats_format(&snap_a, out_a, sizeof(out_a));
	if (la == -ENOSPC)
		return 0; /* the writer says so too; not the parser's business */
	if (la < 0)
		abort();
	memcpy(text, out_a, (size_t)la + 1);
	if (rf_stats_parse(text, &snap_b))
		abort();
	lb = rf_stats_format(&snap_b, out_b, sizeof(out_b));
	if (lb != la || memcmp(out_a, out_b, (size_t)la))
		abort();
	return 0;
}
