/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP side of the Prometheus metrics: a libmicrohttpd server that
 * answers GET /metrics from its own thread. `ringfan exporter` fills each
 * answer from the stats files; the balancer (`balance --metrics`) publishes
 * its snapshot once a second and the server's thread formats the last one
 * published, so that nothing of it runs on the packet path.
 */
#ifndef RINGFAN_METRICS_H
#define RINGFAN_METRICS_H

#include <stdio.h>

#include "stats.h"

/* Longest listen address accepted. */
#define RF_METRICS_LISTEN_MAX 256

/*
 * Check the form of a listen address "ADDR:PORT": an IPv4 address,
 * "[IPv6]", a host name (resolved when the server starts), or nothing
 * (":9571": every IPv4 address), shorter than RF_METRICS_LISTEN_MAX.
 * Returns 0 or -EINVAL.
 */
int rf_metrics_check_listen(const char *spec);

/* Writes one scrape's metrics to f; runs in the server's thread. Returns 0 or -errno. */
typedef int (*rf_metrics_fill_fn)(FILE *f, void *arg);

struct rf_metrics;

/*
 * Listen on spec and serve GET /metrics with fill(f, arg). The listening
 * socket is bound here, in the caller (before dropping root), and the
 * server's thread blocks every signal. Returns 0, -EINVAL for a bad
 * address, -ENOENT for a host that does not resolve, or the -errno of
 * socket/bind/listen (e.g. -EADDRINUSE); rf_metrics_strerror() says which.
 */
int rf_metrics_start(const char *spec, rf_metrics_fill_fn fill, void *arg,
		     struct rf_metrics **ret_metrics);

/* The error of rf_metrics_start*() in words. */
const char *rf_metrics_strerror(int r);

/* Same, serving the snapshots given to rf_metrics_publish() as one live cluster. */
int rf_metrics_start_cluster(const char *spec, struct rf_metrics **ret_metrics);

/*
 * Hand the server a new snapshot (a copy is taken). Never waits: if the
 * server's thread is copying the previous one at that moment, this one is
 * skipped and the next second's is served.
 */
void rf_metrics_publish(struct rf_metrics *m, const struct rf_stats_snap *s);

/* Stop serving and free. NULL is a no-op. */
void rf_metrics_stop(struct rf_metrics *m);

#endif
