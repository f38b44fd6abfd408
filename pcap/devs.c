/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device names: pcap_findalldevs() lists the queues of the queue directory
 * as "ringfan:CLUSTER@QUEUE" (so that programs that check a name against the
 * list, such as dumpcap, accept them), the default device ($RINGFAN_PCAP_QUEUE,
 * set by `ringfan run -i`: a queue, or several merged) first, so that a
 * program's default device is it.
 */
#include <dirent.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "rfpcap.h"

/* At most this many queues are listed (a directory is the operator's, but bounded). */
#define MAX_LISTED 4096

struct qid {
	uint32_t cluster, queue;
};

static int qid_cmp(const void *a, const void *b)
{
	const struct qid *x = a, *y = b;

	if (x->cluster != y->cluster)
		return x->cluster < y->cluster ? -1 : 1;
	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

/* "C@Q.ring" in its canonical spelling, nothing else. */
static bool ring_name(const char *f, struct qid *ret)
{
	char canon[64];
	unsigned int c, q;

	if (sscanf(f, "%u@%u.ring", &c, &q) != 2 || c > RF_MAX_CLUSTER || q > RF_MAX_QUEUE)
		return false;
	snprintf(canon, sizeof(canon), "%u@%u.ring", c, q);
	if (strcmp(canon, f))
		return false;
	ret->cluster = c;
	ret->queue = q;
	return true;
}

static size_t list_queues(struct qid *ids, size_t max)
{
	struct rf_dir_info di;
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	if (rf_queue_dir_check(NULL, 0, &di) < 0)
		return 0; /* no directory, or one not to trust: no queues */
	d = opendir(di.path);
	if (!d)
		return 0;
	while (n < max && (e = readdir(d)))
		if (ring_name(e->d_name, &ids[n]))
			n++;
	closedir(d);
	qsort(ids, n, sizeof(*ids), qid_cmp);
	return n;
}

/* The device of a queue, or of several merged (qname "99@0,99@1"). */
static pcap_if_t *queue_dev(const char *qname)
{
	pcap_if_t *dev = calloc(1, sizeof(*dev));
	char name[RFP_DEVICE_MAX], desc[RFP_DEVICE_MAX + 64];
	struct rf_queue_info qi;
	const char *dlt = "unknown";

	if (!dev)
		return NULL;
	snprintf(name, sizeof(name), RFP_PREFIX "%s", qname);
	if (strchr(qname, ',')) {
		snprintf(desc, sizeof(desc), "ringfan queues %s, merged", qname);
		dev->flags = PCAP_IF_UP;
	} else if (rf_queue_query(qname, NULL, &qi, sizeof(qi)) == 0) {
		dlt = pcap_datalink_val_to_name(qi.linktype) ?: dlt;
		snprintf(desc, sizeof(desc), "ringfan queue %s (%s, %s)", qname, dlt,
			 qi.producer_pid ? "producer running"
			 : qi.finished	 ? "run finished"
					 : "producer gone");
		dev->flags = PCAP_IF_UP | (qi.producer_pid ? PCAP_IF_RUNNING : 0);
	} else {
		snprintf(desc, sizeof(desc), "ringfan queue %s", qname);
	}
	dev->flags |= PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE;
	dev->name = strdup(name);
	dev->description = strdup(desc);
	if (!dev->name || !dev->description) {
		free(dev->name);
		free(dev->description);
		free(dev);
		return NULL;
	}
	return dev;
}

/* Append the queues (but the default) to *list; the default goes first. */
static void add_queues(pcap_if_t **list, const char *dflt)
{
	struct qid *ids = calloc(MAX_LISTED, sizeof(*ids));
	pcap_if_t **tail = list, *dev;
	char qname[32];
	size_t n, i;

	if (!ids)
		return;
	while (*tail)
		tail = &(*tail)->next;
	n = list_queues(ids, MAX_LISTED);
	for (i = 0; i < n; i++) {
		snprintf(qname, sizeof(qname), "%u@%u", ids[i].cluster, ids[i].queue);
		if (dflt && !strcmp(qname, dflt))
			continue;
		dev = queue_dev(qname);
		if (!dev)
			break;
		*tail = dev;
		tail = &dev->next;
	}
	free(ids);
	if (dflt && (dev = queue_dev(dflt))) {
		dev->next = *list;
		*list = dev;
	}
}

/* $RINGFAN_PCAP_QUEUE in canonical form ("99@0", "99@0,99@1"), or NULL. */
static const char *default_queue(char *buf, size_t len)
{
	struct rfp_queue q[RFP_MAX_MERGE];
	const char *v = getenv(RFP_ENV_QUEUE);
	char err[PCAP_ERRBUF_SIZE];
	unsigned int n;

	if (!v || rfp_parse_queues(v, v, q, &n, buf, len, err) < 0)
		return NULL;
	return buf;
}

int pcap_findalldevs(pcap_if_t **ret_devs, char *errbuf)
{
	char buf[RFP_DEVICE_MAX];
	int r = REAL(pcap_findalldevs)(ret_devs, errbuf);

	if (r == 0)
		add_queues(ret_devs, default_queue(buf, sizeof(buf)));
	return r;
}

/* A queue has no address: network and mask 0, as for an interface without IPv4. */
int pcap_lookupnet(const char *device, bpf_u_int32 *ret_net, bpf_u_int32 *ret_mask, char *errbuf)
{
	if (!rfp_is_queue_name(device))
		return REAL(pcap_lookupnet)(device, ret_net, ret_mask, errbuf);
	*ret_net = 0;
	*ret_mask = 0;
	return 0;
}

/* Deprecated, but still called: it must name the default queue too. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
char *pcap_lookupdev(char *errbuf)
{
	static char dev[RFP_DEVICE_MAX + 8];
	char buf[RFP_DEVICE_MAX];
	const char *q = default_queue(buf, sizeof(buf));

	if (!q)
		return REAL(pcap_lookupdev)(errbuf);
	snprintf(dev, sizeof(dev), RFP_PREFIX "%s", q);
	return dev;
}
#pragma GCC diagnostic pop

/*
 * Some programs (argus) ask the kernel whether their interface is up, with
 * ioctl(SIOCGIFFLAGS), and stop when it says "no such device". A queue is
 * up and running while it can be read: that is the answer for its name.
 */
int ioctl(int fd, unsigned long request, ...)
{
	struct ifreq *ifr;
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	ifr = arg;
	if (request == SIOCGIFFLAGS && ifr && rfp_is_queue_name(ifr->ifr_name)) {
		ifr->ifr_flags = IFF_UP | IFF_RUNNING;
		return 0;
	}
	return REAL(ioctl)(fd, request, arg);
}
