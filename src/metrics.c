/* SPDX-License-Identifier: BSD-2-Clause */
/* GET /metrics over libmicrohttpd: see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prom.h"
#include "thread.h"
#include "util.h"

#define LISTEN_BACKLOG	  64
#define MAX_CONNECTIONS	  32
#define CONN_TIMEOUT_SECS 10
#define INDEX_PAGE	  "ringfan metrics: GET /metrics (Prometheus text format)\n"

#define SERVE_WAIT_MS 100 /* the server's thread sees a stop within this */

struct rf_metrics {
	struct MHD_Daemon *mhd;
	int fd;
	pthread_t thread; /* "rf-metrics": runs the server */
	bool thread_started;
	int stop; /* atomic: the thread returns */
	rf_metrics_fill_fn fill;
	void *arg;
	/* rf_metrics_start_cluster(): the published snapshot and the server's copy. */
	pthread_mutex_t lock;
	bool have_lock, published;
	struct rf_stats_snap *snap, *copy;
};

/* "[::1]:9571" -> host "::1", port "9571"; ":9571" -> host "". */
static int split_listen(const char *spec, char *host, size_t hlen, const char **ret_port)
{
	const char *colon, *h = spec;
	size_t l;

	if (spec[0] == '[') {
		colon = strstr(spec, "]:");
		h = spec + 1;
		l = colon ? (size_t)(colon - h) : 0;
		colon = colon ? colon + 1 : NULL;
	} else {
		/* An IPv6 address needs its brackets: "::1:9571" is ambiguous. */
		colon = strchr(spec, ':');
		l = colon ? (size_t)(colon - spec) : 0;
	}
	if (!colon || l >= hlen || strchr(colon + 1, ':'))
		return -EINVAL;
	memcpy(host, h, l);
	host[l] = 0;
	*ret_port = colon + 1;
	return 0;
}

int rf_metrics_check_listen(const char *spec)
{
	char host[RF_METRICS_LISTEN_MAX];
	const char *port;
	uint64_t p;

	if (strlen(spec) >= RF_METRICS_LISTEN_MAX ||
	    split_listen(spec, host, sizeof(host), &port) || rf_parse_u64(port, 1, 65535, &p))
		return -EINVAL;
	return 0;
}

/* The address to bind: -ENOENT when the host does not resolve. */
static int resolve(const char *spec, struct sockaddr_storage *ret_addr, socklen_t *ret_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char host[RF_METRICS_LISTEN_MAX];
	const char *port;

	if (rf_metrics_check_listen(spec) || split_listen(spec, host, sizeof(host), &port))
		return -EINVAL;
	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) || !ai)
		return -ENOENT;
	memcpy(ret_addr, ai->ai_addr, ai->ai_addrlen);
	*ret_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int listen_on(const char *spec)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int fd, one = 1, r;

	r = resolve(spec, &sa, &len);
	if (r)
		return r;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, LISTEN_BACKLOG)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result r;

	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text)
{
	return reply(conn, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT,
		     "text/plain; charset=utf-8");
}

static enum MHD_Result serve_metrics(struct rf_metrics *m, struct MHD_Connection *conn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	r = m->fill(f, m->arg);
	if (fclose(f) || r) {
		free(buf);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "cannot read the clusters' counters (see the log)\n");
	}
	return reply(conn, MHD_HTTP_OK, buf, len, MHD_RESPMEM_MUST_FREE, RF_PROM_CONTENT_TYPE);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(cls, conn);
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK, INDEX_PAGE);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
}

static void metrics_free(struct rf_metrics *m)
{
	if (m->have_lock)
		pthread_mutex_destroy(&m->lock);
	free(m->snap);
	free(m->copy);
	free(m);
}

/* The server's thread: every request is answered here. */
static void *serve_main(void *arg)
{
	struct rf_metrics *m = arg;

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE))
		MHD_run_wait(m->mhd, SERVE_WAIT_MS);
	return NULL;
}

/*
 * Bind, then start the server's thread; m is complete before any request
 * can arrive. The thread is ours, not the server library's, so that it has
 * a name of its role ("rf-metrics" in top -H and ps -L).
 */
static int start(struct rf_metrics *m, const char *spec)
{
	sigset_t all, old;
	int r;

	m->fd = listen_on(spec);
	if (m->fd < 0)
		return m->fd;
	m->mhd = MHD_start_daemon(MHD_USE_AUTO, 0, NULL, NULL, handle, m, MHD_OPTION_LISTEN_SOCKET,
				  m->fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_SECS,
				  MHD_OPTION_END);
	if (!m->mhd) {
		close(m->fd);
		return -ENOMEM;
	}
	/* The thread inherits this mask: signals go to the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = rf_thread_start(&m->thread, "rf-metrics", NULL, serve_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		MHD_stop_daemon(m->mhd); /* closes the listening socket too */
		return r;
	}
	m->thread_started = true;
	return 0;
}

int rf_metrics_start(const char *spec, rf_metrics_fill_fn fill, void *arg,
		     struct rf_metrics **ret_metrics)
{
	struct rf_metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->fill = fill;
	m->arg = arg;
	r = start(m, spec);
	if (r) {
		metrics_free(m);
		return r;
	}
	*ret_metrics = m;
	return 0;
}

/* The server's thread: copy the last published snapshot, then format it unlocked. */
static int fill_cluster(FILE *f, void *arg)
{
	struct rf_metrics *m = arg;
	struct rf_prom_cluster c = {.snap = m->copy, .up = true};
	bool have;

	pthread_mutex_lock(&m->lock);
	have = m->published;
	if (have)
		memcpy(m->copy, m->snap, sizeof(*m->copy));
	pthread_mutex_unlock(&m->lock);
	return rf_prom_write(f, &c, have ? 1 : 0, rf_now_real_ns());
}

int rf_metrics_start_cluster(const char *spec, struct rf_metrics **ret_metrics)
{
	struct rf_metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->fill = fill_cluster;
	m->arg = m;
	m->snap = calloc(1, sizeof(*m->snap));
	m->copy = calloc(1, sizeof(*m->copy));
	r = m->snap && m->copy ? -pthread_mutex_init(&m->lock, NULL) : -ENOMEM;
	m->have_lock = !r;
	r = r ?: start(m, spec);
	if (r) {
		metrics_free(m);
		return r;
	}
	*ret_metrics = m;
	return 0;
}

const char *rf_metrics_strerror(int r)
{
	return r == -ENOENT ? "no such host" : strerror(-r);
}

void rf_metrics_publish(struct rf_metrics *m, const struct rf_stats_snap *s)
{
	if (!m || !m->have_lock || pthread_mutex_trylock(&m->lock))
		return;
	memcpy(m->snap, s, sizeof(*m->snap));
	m->published = true;
	pthread_mutex_unlock(&m->lock);
}

void rf_metrics_stop(struct rf_metrics *m)
{
	if (!m)
		return;
	__atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	MHD_stop_daemon(m->mhd); /* closes the listening socket too */
	metrics_free(m);
}
