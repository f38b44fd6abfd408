/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Egress: one thread per `-r Q:TARGET`, an ordinary in-process consumer of
 * its queue. Each burst taken from the queue is written with one system
 * call where possible (sendmmsg on a packet socket, writev on a pcap file)
 * and released once. A target that fails (interface down, disk full, FIFO
 * reader gone) never stops the egress from consuming: the packets are
 * counted as failed, the failure is logged once, the target is tried again
 * every EG_RETRY_NS, and the recovery is logged once.
 */
#include "egress.h"

#include "daemon.h"
#include "thread.h"
#include "tunnel.h"
#include "util.h"

#include <ringfan/ringfan.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EG_BURST	   256
#define EG_RECV_TIMEOUT_MS 100			/* how soon a stop request is noticed */
#define EG_RETRY_NS	   (200 * 1000000ULL)	/* a failing target is tried again this often */
#define EG_FIFO_WAIT_MS	   50			/* poll interval while a FIFO has no reader */
#define EG_DRAIN_STALL_NS  (10 * 1000000000ULL) /* drain gives up on a target stuck this long */
#define EG_NOBUFS_TRIES	   8			/* backoffs on a full qdisc before a packet fails */
#define EG_SNDBUF	   (4 << 20)
#define EG_PCAP_SNAPLEN	   262144
#define EG_PCAP_HDR_LEN	   24
#define EG_VLAN_HLEN	   4
#define EG_IPV4_HLEN	   20
#define EG_IPV6_HLEN	   40

enum eg_kind { EG_IFACE, EG_PCAP };
enum eg_stop { EG_RUN, EG_STOP_DRAIN, EG_STOP_NOW };

/* pcap record header (host byte order, as libpcap writes it). */
struct eg_pcap_rec_hdr {
	uint32_t sec, nsec, caplen, wirelen;
};

struct rf_egress {
	enum eg_kind kind;
	char target[PATH_MAX + 16]; /* as displayed: "veth1", "pcap:/tmp/q2.pcap" */
	char name[PATH_MAX];	    /* interface name or file path */
	char queue[32];
	struct rf_consumer *c;
	pthread_t thread;
	bool thread_started;
	bool finished; /* rf_egress_finish() done: result holds its return value */
	int result;

	/* Written by rf_egress_stop(), read by the thread (atomics). */
	int stop; /* enum eg_stop */
	uint64_t stop_ns;

	/* Written by the thread, read by anyone (atomics). */
	uint64_t sent, sent_bytes, failed;
	int last_error;

	/* Thread-private state. */
	int loss_error; /* errno of the last failure that lost packets */
	bool failing;	/* target is failing: count packets failed until retry_ns */
	uint64_t retry_ns;
	uint64_t progress_ns; /* last time the target accepted something */
	bool abandon;	      /* draining, target stuck: count the rest as failed */
	int fd;

	/* Interface target. */
	int ifindex;
	uint32_t max_frame; /* MTU + Ethernet header */
	bool tunnel;	    /* a tunnel interface (VXLAN, Geneve, GRE...): see ip_cut_short() */
	bool warned_big, warned_short, warned_cut;

	/* pcap target. */
	bool is_fifo;
	bool had_reader; /* a FIFO reader was there once (until then, packets wait in the queue) */
	off_t file_size; /* bytes of complete records in a regular file */
	uint8_t pcap_hdr[EG_PCAP_HDR_LEN]; /* the file header, for this link type */

	struct rf_packet pkts[EG_BURST];
	struct mmsghdr msgs[EG_BURST];
	struct iovec iov[2 * EG_BURST];
	struct eg_pcap_rec_hdr rec[EG_BURST];
};

/* ---- counters ---- */

static void count_sent(struct rf_egress *e, uint64_t pkts, uint64_t bytes)
{
	__atomic_store_n(&e->sent, e->sent + pkts, __ATOMIC_RELAXED);
	__atomic_store_n(&e->sent_bytes, e->sent_bytes + bytes, __ATOMIC_RELAXED);
	e->progress_ns = rf_now_mono_ns();
}

static void count_failed(struct rf_egress *e, uint64_t pkts, int err)
{
	if (!pkts)
		return;
	__atomic_store_n(&e->failed, e->failed + pkts, __ATOMIC_RELAXED);
	e->loss_error = err;
}

/* The target failed as a whole: log once, count until the next retry. */
static void enter_failing(struct rf_egress *e, int err, const char *what)
{
	if (!e->failing || e->last_error != err)
		rf_log("egress of queue %s to '%s': %s: %s; packets are counted as failed, "
		       "retrying every %llu ms",
		       e->queue, e->target, what, strerror(-err),
		       (unsigned long long)(EG_RETRY_NS / 1000000));
	e->failing = true;
	e->retry_ns = rf_now_mono_ns() + EG_RETRY_NS;
	__atomic_store_n(&e->last_error, err, __ATOMIC_RELAXED);
}

static void recovered(struct rf_egress *e)
{
	if (!e->failing)
		return;
	e->failing = false;
	__atomic_store_n(&e->last_error, 0, __ATOMIC_RELAXED);
	rf_log("egress of queue %s to '%s' works again (%llu packets failed so far)", e->queue,
	       e->target, (unsigned long long)e->failed);
}

/* True while a failing target is not due for another try. */
static bool resting(const struct rf_egress *e)
{
	return e->abandon || (e->failing && rf_now_mono_ns() < e->retry_ns);
}

/* Stop now, or draining and the target has accepted nothing for too long. */
static bool give_up(struct rf_egress *e)
{
	int stop = __atomic_load_n(&e->stop, __ATOMIC_ACQUIRE);
	uint64_t since;

	if (stop == EG_STOP_NOW)
		return true;
	if (stop != EG_STOP_DRAIN)
		return false;
	since = __atomic_load_n(&e->stop_ns, __ATOMIC_RELAXED);
	if (e->progress_ns > since)
		since = e->progress_ns;
	if (rf_now_mono_ns() - since < EG_DRAIN_STALL_NS)
		return false;
	if (!e->abandon)
		rf_log("egress of queue %s to '%s': target accepts nothing, dropping the rest",
		       e->queue, e->target);
	e->abandon = true;
	return true;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL};

	nanosleep(&ts, NULL);
}

/* ---- interface target ---- */

static int iface_ioctl(int fd, const char *name, unsigned long req, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	/* iface_open() checked that the name fits. */
	memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	return ioctl(fd, req, ifr) ? -errno : 0;
}

/* Interface index, up flag and frame size limit, read again on every retry. */
static int iface_check(struct rf_egress *e, int *ret_ifindex)
{
	struct ifreq ifr;
	unsigned int idx = if_nametoindex(e->name);
	int r;

	if (!idx)
		return -ENODEV;
	r = iface_ioctl(e->fd, e->name, SIOCGIFFLAGS, &ifr);
	if (r)
		return r == -ENXIO ? -ENODEV : r;
	if (!(ifr.ifr_flags & IFF_UP))
		return -ENETDOWN;
	r = iface_ioctl(e->fd, e->name, SIOCGIFMTU, &ifr);
	if (r)
		return r;
	e->max_frame = (uint32_t)ifr.ifr_mtu + ETH_HLEN;
	*ret_ifindex = (int)idx;
	return 0;
}

/*
 * Bind to the interface with protocol 0: the socket only sends, it never
 * receives (nothing fills its receive buffer). No PACKET_QDISC_BYPASS: the
 * packets go through dev_queue_xmit, so captures on the interface see them.
 */
static int iface_bind(struct rf_egress *e, int ifindex)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};

	if (bind(e->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	e->ifindex = ifindex;
	return 0;
}

static int iface_open(struct rf_egress *e)
{
	int sndbuf = EG_SNDBUF, ifindex, r;
	struct rf_tunnel_path t;

	if (strlen(e->name) >= IFNAMSIZ || !if_nametoindex(e->name))
		return -ENODEV;
	e->tunnel = !rf_tunnel_path(e->name, &t) && t.kind[0];
	e->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return -errno;
	r = iface_check(e, &ifindex);
	if (r)
		return r;
	/* A larger send buffer absorbs bursts; FORCE needs CAP_NET_ADMIN, plain is capped. */
	if (setsockopt(e->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(e->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return iface_bind(e, ifindex);
}

/* Retry of a failing interface: it may have been re-created with a new index. */
static int iface_reopen(struct rf_egress *e)
{
	int ifindex, r = iface_check(e, &ifindex);

	if (r)
		return r;
	return ifindex == e->ifindex ? 0 : iface_bind(e, ifindex);
}

static bool has_vlan_tag(const struct rf_packet *p)
{
	uint16_t type;

	if (p->caplen < ETH_HLEN + EG_VLAN_HLEN)
		return false;
	type = (uint16_t)(p->data[12] << 8 | p->data[13]);
	return type == ETH_P_8021Q || type == ETH_P_8021AD;
}

/*
 * A tunnel interface drops, counting it only in its tx_dropped, a frame of
 * EtherType IPv4 or IPv6 (behind any 802.1Q/802.1ad tags) whose IP header
 * is not whole (the kernel's pskb_inet_may_pull()): such a frame is failed
 * here, where it is counted.
 */
static bool ip_cut_short(const struct rf_packet *p)
{
	uint32_t off = ETH_HLEN - 2; /* the EtherType */
	uint16_t type = (uint16_t)(p->data[off] << 8 | p->data[off + 1]);

	while ((type == ETH_P_8021Q || type == ETH_P_8021AD) &&
	       off + EG_VLAN_HLEN + 2 <= p->caplen) {
		off += EG_VLAN_HLEN;
		type = (uint16_t)(p->data[off] << 8 | p->data[off + 1]);
	}
	return (type == ETH_P_IP && p->caplen < off + 2 + EG_IPV4_HLEN) ||
	       (type == ETH_P_IPV6 && p->caplen < off + 2 + EG_IPV6_HLEN);
}

/* The kernel refuses frames shorter than a header or longer than MTU + header (+ a tag). */
static bool frame_fits(struct rf_egress *e, const struct rf_packet *p)
{
	uint32_t max = e->max_frame + (has_vlan_tag(p) ? EG_VLAN_HLEN : 0);

	if (p->caplen < ETH_HLEN) {
		if (!e->warned_short)
			rf_log("egress of queue %s to '%s': packet of %u bytes is shorter than an "
			       "Ethernet header, not sent (counted as failed)",
			       e->queue, e->target, p->caplen);
		e->warned_short = true;
		count_failed(e, 1, -EINVAL);
		return false;
	}
	if (p->caplen > max) {
		if (!e->warned_big)
			rf_log("egress of queue %s to '%s': packet of %u bytes exceeds the MTU "
			       "(%u bytes with the header), not sent (counted as failed; this is "
			       "logged once)",
			       e->queue, e->target, p->caplen, max);
		e->warned_big = true;
		count_failed(e, 1, -EMSGSIZE);
		return false;
	}
	if (e->tunnel && ip_cut_short(p)) {
		if (!e->warned_cut)
			rf_log("egress of queue %s to '%s': packet of %u bytes ends inside its IP "
			       "header, which a tunnel interface drops: not sent (counted as "
			       "failed; "
			       "this is logged once)",
			       e->queue, e->target, p->caplen);
		e->warned_cut = true;
		count_failed(e, 1, -EINVAL);
		return false;
	}
	return true;
}

/* Fill msgs[] with the packets that can be sent; returns their number. */
static unsigned int iface_prepare(struct rf_egress *e, unsigned int n)
{
	unsigned int i, m = 0;

	for (i = 0; i < n; i++) {
		const struct rf_packet *p = &e->pkts[i];

		if (!frame_fits(e, p))
			continue;
		e->iov[m].iov_base = (void *)p->data; /* sendmsg only reads it */
		e->iov[m].iov_len = p->caplen;
		memset(&e->msgs[m], 0, sizeof(e->msgs[m]));
		e->msgs[m].msg_hdr.msg_iov = &e->iov[m];
		e->msgs[m].msg_hdr.msg_iovlen = 1;
		m++;
	}
	return m;
}

static void count_msgs_sent(struct rf_egress *e, unsigned int from, unsigned int n)
{
	uint64_t bytes = 0;
	unsigned int i;

	for (i = from; i < from + n; i++)
		bytes += e->iov[i].iov_len;
	count_sent(e, n, bytes);
}

/*
 * Send msgs[0..m) with MSG_DONTWAIT (a stuck device never blocks the
 * thread). A full qdisc or send buffer (ENOBUFS, EAGAIN) is transient: back
 * off briefly and retry. A per-packet refusal fails that packet only; any
 * other error fails the interface until the next retry.
 */
static void iface_send(struct rf_egress *e, unsigned int m)
{
	unsigned int i = 0, tries = 0;
	int r, err;

	while (i < m) {
		r = sendmmsg(e->fd, &e->msgs[i], m - i, MSG_DONTWAIT);
		if (r > 0) {
			count_msgs_sent(e, i, (unsigned int)r);
			i += (unsigned int)r;
			tries = 0;
			continue;
		}
		err = r < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		if ((err == ENOBUFS || err == EAGAIN) && tries < EG_NOBUFS_TRIES) {
			sleep_ns(50000ULL << tries++);
			continue;
		}
		if (err == EMSGSIZE || err == EINVAL) {
			/* The MTU went down since we read it: read it again. */
			int ifindex;

			if (err == EMSGSIZE)
				iface_check(e, &ifindex);
			count_failed(e, 1, -err);
			i++;
			continue;
		}
		count_failed(e, m - i, -err);
		enter_failing(e, -err, "cannot send");
		return;
	}
	recovered(e);
}

static void iface_burst(struct rf_egress *e, unsigned int n)
{
	unsigned int m;
	int r;

	if (resting(e)) {
		count_failed(e, n, e->abandon ? -ETIMEDOUT : e->last_error);
		return;
	}
	if (e->failing) {
		r = iface_reopen(e);
		if (r) {
			count_failed(e, n, r);
			enter_failing(e, r, "cannot send");
			return;
		}
	}
	m = iface_prepare(e, n);
	if (m)
		iface_send(e, m);
}

/* ---- pcap target ---- */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t r;

	while (len) {
		r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/*
 * The file header of a pcap file of link type dlt with nanosecond
 * timestamps, as libpcap writes it (libpcap also maps DLT_* to the file's
 * LINKTYPE_*, e.g. DLT_RAW 12 to 101). Records are written here rather than
 * through pcap_dump(): stdio hides how much of a record reached the file
 * when a write fails, and this writer must cut a full disk's partial record
 * off to keep the file readable. 0, or -EPROTONOSUPPORT: no pcap file holds dlt.
 */
static int pcap_make_header(struct rf_egress *e, int dlt)
{
	pcap_t *pd = pcap_open_dead_with_tstamp_precision(dlt, EG_PCAP_SNAPLEN,
							  PCAP_TSTAMP_PRECISION_NANO);
	char buf[64] = "";
	pcap_dumper_t *d;
	FILE *f;
	int r = -EPROTONOSUPPORT;

	if (!pd)
		return -ENOMEM;
	f = fmemopen(buf, sizeof(buf), "w");
	if (!f) {
		r = -errno;
		pcap_close(pd);
		return r;
	}
	d = pcap_dump_fopen(pd, f);
	if (d) {
		pcap_dump_close(d); /* closes f: the header is in buf now */
		r = 0;
	} else {
		fclose(f);
	}
	pcap_close(pd);
	if (!r)
		memcpy(e->pcap_hdr, buf, sizeof(e->pcap_hdr));
	return r;
}

static int pcap_write_header(struct rf_egress *e)
{
	int r = write_all(e->fd, e->pcap_hdr, sizeof(e->pcap_hdr));

	if (!r)
		e->file_size = sizeof(e->pcap_hdr);
	return r;
}

/* Open a FIFO if a reader is there (-ENXIO if none), writes never block the thread. */
static int fifo_open(struct rf_egress *e)
{
	int r;

	e->fd = open(e->name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	/* The header is 24 bytes: always fits an empty pipe. */
	r = pcap_write_header(e);
	if (r) {
		close(e->fd);
		e->fd = -1;
		return r;
	}
	if (!e->had_reader)
		rf_log("egress of queue %s to '%s': reader attached", e->queue, e->target);
	e->had_reader = true;
	return 0;
}

static int pcap_file_open(struct rf_egress *e)
{
	struct stat st;
	int r;

	if (!stat(e->name, &st) && S_ISFIFO(st.st_mode)) {
		e->is_fifo = true;
		r = fifo_open(e);
		/* No reader yet: the thread waits for one, packets wait in the queue. */
		return r == -ENXIO ? 0 : r;
	}
	e->fd = open(e->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (e->fd < 0)
		return -errno;
	return pcap_write_header(e);
}

/* iov[] = record header + data for each packet; returns the total bytes. */
static size_t pcap_prepare(struct rf_egress *e, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct rf_packet *p = &e->pkts[i];
		struct eg_pcap_rec_hdr *h = &e->rec[i];

		h->sec = (uint32_t)(p->ts_ns / 1000000000ULL);
		h->nsec = (uint32_t)(p->ts_ns % 1000000000ULL);
		h->caplen = p->caplen;
		h->wirelen = p->wirelen;
		e->iov[2 * i].iov_base = h;
		e->iov[2 * i].iov_len = sizeof(*h);
		e->iov[2 * i + 1].iov_base = (void *)p->data; /* writev only reads it */
		e->iov[2 * i + 1].iov_len = p->caplen;
		total += sizeof(*h) + p->caplen;
	}
	return total;
}

/* Skip the first `done` bytes of iov[*first..cnt). */
static void iov_advance(struct iovec *iov, unsigned int *first, size_t done)
{
	while (done) {
		struct iovec *v = &iov[*first];
		size_t k = done < v->iov_len ? done : v->iov_len;

		v->iov_base = (char *)v->iov_base + k;
		v->iov_len -= k;
		done -= k;
		if (!v->iov_len)
			(*first)++;
	}
}

/* A FIFO is full: wait for the reader, noticing stop requests. 0 or -ETIMEDOUT. */
static int fifo_wait(struct rf_egress *e)
{
	struct pollfd pfd = {.fd = e->fd, .events = POLLOUT};

	if (give_up(e))
		return -ETIMEDOUT;
	poll(&pfd, 1, EG_RECV_TIMEOUT_MS);
	return 0;
}

/* writev everything in iov[0..cnt); returns bytes written and the error that stopped it. */
static size_t pcap_writev(struct rf_egress *e, unsigned int cnt, int *ret_err)
{
	unsigned int first = 0;
	size_t written = 0;
	ssize_t r;

	*ret_err = 0;
	while (first < cnt) {
		unsigned int k = cnt - first < IOV_MAX ? cnt - first : IOV_MAX;

		r = writev(e->fd, &e->iov[first], (int)k);
		if (r > 0) {
			written += (size_t)r;
			iov_advance(e->iov, &first, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if ((*ret_err = fifo_wait(e)))
				break;
			continue;
		}
		*ret_err = r < 0 ? -errno : -EIO;
		break;
	}
	return written;
}

/* How many whole records, and their bytes, fit in the first `written` bytes. */
static unsigned int pcap_whole(const struct rf_egress *e, unsigned int n, size_t written,
			       size_t *ret_bytes)
{
	size_t bytes = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t len = sizeof(e->rec[i]) + e->rec[i].caplen;

		if (bytes + len > written)
			break;
		bytes += len;
	}
	*ret_bytes = bytes;
	return i;
}

/* A write failed: keep the file readable by cutting off a partial record. */
static void pcap_cut(struct rf_egress *e)
{
	if (e->is_fifo) {
		/* The reader's stream is broken (or it left): the next reader starts afresh. */
		close(e->fd);
		e->fd = -1;
		return;
	}
	if (ftruncate(e->fd, e->file_size) || lseek(e->fd, e->file_size, SEEK_SET) < 0)
		rf_log("egress of queue %s to '%s': cannot cut a partial record: %s", e->queue,
		       e->target, strerror(errno));
}

static uint64_t data_bytes(const struct rf_egress *e, unsigned int n)
{
	uint64_t b = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		b += e->rec[i].caplen;
	return b;
}

static void pcap_write_burst(struct rf_egress *e, unsigned int n)
{
	size_t total = pcap_prepare(e, n), written, whole_bytes;
	unsigned int whole;
	int err;

	written = pcap_writev(e, 2 * n, &err);
	if (!err) {
		e->file_size += (off_t)total;
		count_sent(e, n, data_bytes(e, n));
		recovered(e);
		return;
	}
	whole = pcap_whole(e, n, written, &whole_bytes);
	e->file_size += (off_t)whole_bytes;
	count_sent(e, whole, data_bytes(e, whole));
	if (written > whole_bytes || e->is_fifo)
		pcap_cut(e);
	count_failed(e, n - whole, err);
	if (err == -EPIPE)
		enter_failing(e, err, "the FIFO reader went away");
	else if (err != -ETIMEDOUT)
		enter_failing(e, err, "cannot write");
}

static void pcap_burst(struct rf_egress *e, unsigned int n)
{
	int r;

	if (resting(e)) {
		count_failed(e, n, e->abandon ? -ETIMEDOUT : e->last_error);
		return;
	}
	if (e->fd < 0) {
		/* Only a FIFO whose reader left gets here: is there a new reader? */
		r = fifo_open(e);
		if (r) {
			count_failed(e, n, e->last_error ? e->last_error : r);
			enter_failing(e, e->last_error ? e->last_error : r, "no FIFO reader");
			return;
		}
	}
	pcap_write_burst(e, n);
}

/*
 * Until a FIFO has had its first reader, packets wait in the queue (as with
 * `tcpdump -w FIFO`, the writer waits for the reader). Returns true when the
 * thread may take packets from the queue.
 */
static bool target_ready(struct rf_egress *e)
{
	if (e->kind != EG_PCAP || e->fd >= 0 || e->had_reader || e->abandon)
		return true;
	if (!fifo_open(e))
		return true;
	if (give_up(e))
		return e->abandon; /* draining: consume and count the rest as failed */
	sleep_ns(EG_FIFO_WAIT_MS * 1000000ULL);
	return false;
}

/* ---- the thread ---- */

static void write_burst(struct rf_egress *e, unsigned int n)
{
	if (e->kind == EG_IFACE)
		iface_burst(e, n);
	else
		pcap_burst(e, n);
}

/* One round: 1 to go on, 0 when the thread is done. */
static int egress_round(struct rf_egress *e)
{
	int stop = __atomic_load_n(&e->stop, __ATOMIC_ACQUIRE);
	int n;

	if (stop == EG_STOP_NOW)
		return 0;
	if (!target_ready(e))
		return __atomic_load_n(&e->stop, __ATOMIC_ACQUIRE) != EG_STOP_NOW;
	n = rf_consumer_recv(e->c, e->pkts, EG_BURST, stop ? 0 : EG_RECV_TIMEOUT_MS);
	if (n > 0) {
		write_burst(e, (unsigned int)n);
		rf_consumer_release(e->c);
		return 1;
	}
	if (n == 0)
		return stop != EG_STOP_DRAIN; /* draining and empty: done */
	if (n == -EINTR)
		return 1;
	if (n != -ENODATA && n != -EPIPE)
		rf_log("egress of queue %s to '%s': cannot read the queue: %s", e->queue, e->target,
		       strerror(-n));
	return 0; /* finished and drained, or the producer is gone */
}

static void *egress_main(void *arg)
{
	struct rf_egress *e = arg;
	sigset_t pipe;

	/* A FIFO reader that leaves makes writev fail with EPIPE, whatever the program's handler. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	e->progress_ns = rf_now_mono_ns();
	while (egress_round(e))
		;
	return NULL;
}

/* ---- public ---- */

static int parse_target(struct rf_egress *e, const char *target)
{
	const char *name = target;

	e->kind = EG_IFACE;
	if (!strncmp(target, "pcap:", 5)) {
		e->kind = EG_PCAP;
		name = target + 5;
	} else if (!strncmp(target, "afpacket:", 9)) {
		name = target + 9;
	}
	if (!*name)
		return -EINVAL;
	if (strlen(name) >= sizeof(e->name))
		return -ENAMETOOLONG;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->target, sizeof(e->target), "%s%s", e->kind == EG_PCAP ? "pcap:" : "", name);
	return 0;
}

static void egress_free(struct rf_egress *e)
{
	if (e->fd >= 0)
		close(e->fd);
	rf_consumer_close(e->c);
	free(e);
}

/* "rf-egress-3": the thread of queue 3's egress, as top -H and ps -L show it. */
static int start_thread(struct rf_egress *e, const cpu_set_t *cpus)
{
	const char *at = strchr(e->queue, '@');
	char name[sizeof(e->queue) + 16];

	snprintf(name, sizeof(name), "rf-egress-%s", at ? at + 1 : e->queue);
	return rf_thread_start(&e->thread, name, cpus, egress_main, e);
}

int rf_egress_start(const struct rf_egress_opts *opts, struct rf_egress **ret_egress)
{
	/* No spinning: egress threads share the balancer's CPUs, and a thread
	 * polling an empty queue takes time from the one filling it. */
	struct rf_consumer_opts co = {.sz = sizeof(co),
				      .flags = RF_CONSUMER_NO_REATTACH | RF_CONSUMER_NO_SPIN |
					       RF_CONSUMER_GUARD_SIGBUS};
	struct rf_queue_info qi = {0};
	struct rf_egress *e;
	int r;

	if (!opts || !opts->queue || !opts->target || !ret_egress)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = -1;
	snprintf(e->queue, sizeof(e->queue), "%s", opts->queue);
	co.dir = opts->dir;
	r = parse_target(e, opts->target);
	if (!r)
		r = rf_consumer_open(opts->queue, &co, &e->c);
	if (!r)
		r = rf_consumer_info(e->c, &qi, sizeof(qi));
	/* An interface takes Ethernet frames: anything else would go out garbled. */
	if (!r && e->kind == EG_IFACE && qi.linktype != DLT_EN10MB)
		r = -EPROTOTYPE;
	if (!r && e->kind == EG_PCAP)
		r = pcap_make_header(e, qi.linktype);
	if (!r)
		r = e->kind == EG_IFACE ? iface_open(e) : pcap_file_open(e);
	if (!r)
		r = start_thread(e, opts->cpus);
	if (r) {
		egress_free(e);
		return r;
	}
	e->thread_started = true;
	*ret_egress = e;
	return 0;
}

void rf_egress_stats(const struct rf_egress *e, struct rf_egress_stats *ret_stats)
{
	ret_stats->sent = __atomic_load_n(&e->sent, __ATOMIC_RELAXED);
	ret_stats->sent_bytes = __atomic_load_n(&e->sent_bytes, __ATOMIC_RELAXED);
	ret_stats->failed = __atomic_load_n(&e->failed, __ATOMIC_RELAXED);
	ret_stats->last_error = __atomic_load_n(&e->last_error, __ATOMIC_RELAXED);
}

const char *rf_egress_target(const struct rf_egress *e)
{
	return e->target;
}

/* At the end, what was lost and why: the log says it even if nobody reads the counters. */
static void log_summary(const struct rf_egress *e)
{
	if (!e->failed)
		return;
	rf_log("egress of queue %s to '%s': %llu packets sent, %llu failed (last failure: %s)",
	       e->queue, e->target, (unsigned long long)e->sent, (unsigned long long)e->failed,
	       strerror(-(e->loss_error ? e->loss_error : -EIO)));
}

int rf_egress_finish(struct rf_egress *e, int drain)
{
	int r = 0;

	if (!e)
		return 0;
	if (e->finished)
		return e->result;
	__atomic_store_n(&e->stop_ns, rf_now_mono_ns(), __ATOMIC_RELAXED);
	/* Release: stop_ns is visible to the thread before the stop request. */
	__atomic_store_n(&e->stop, drain ? EG_STOP_DRAIN : EG_STOP_NOW, __ATOMIC_RELEASE);
	if (e->thread_started)
		pthread_join(e->thread, NULL);
	e->thread_started = false;
	if (e->fd >= 0 && close(e->fd) && e->kind == EG_PCAP && !e->is_fifo)
		r = -errno; /* e.g. a delayed write error of a network file system */
	e->fd = -1;
	rf_consumer_close(e->c);
	e->c = NULL;
	if (e->failed)
		r = e->loss_error ? e->loss_error : -EIO;
	log_summary(e);
	e->finished = true;
	e->result = r;
	return r;
}

int rf_egress_stop(struct rf_egress *e, int drain)
{
	int r;

	if (!e)
		return 0;
	r = rf_egress_finish(e, drain);
	egress_free(e);
	return r;
}
