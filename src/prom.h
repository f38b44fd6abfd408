/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Clusters' stats snapshots in the Prometheus text exposition format
 * (version 0.0.4): the metric names, types, help and labels are defined
 * once, in prom.c's tables, for `ringfan exporter` and `balance --metrics`.
 */
#ifndef RINGFAN_PROM_H
#define RINGFAN_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

/* The Content-Type of the format written by rf_prom_write(). */
#define RF_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct rf_prom_cluster {
	const struct rf_stats_snap *snap;
	bool up; /* the balancer is alive (rf_cluster_alive) */
};

/*
 * Write every metric of n clusters to f, each metric's samples together
 * under one HELP and TYPE. now_ns (real time) dates the consumers' absence.
 * Returns 0, or -EIO if f reports a write error.
 */
int rf_prom_write(FILE *f, const struct rf_prom_cluster *c, size_t n, uint64_t now_ns);

#endif
