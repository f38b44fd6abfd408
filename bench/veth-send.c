/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * veth-send: a paced sender for the capture benchmarks. Sends the frames of
 * a capture (read into memory first, looped) on an interface at PPS packets
 * per second for SECONDS, in batches of BATCH, and sleeps (clock_nanosleep
 * to an absolute time) between batches instead of spinning: what it costs
 * is the sending and, on a veth, the peer's receive path that runs in its
 * context, not a busy-wait. A sender that fell more than 10 ms behind
 * starts its schedule again (and counts it) rather than bursting to catch
 * up.
 *
 *   veth-send IFACE PCAP PPS SECONDS
 *
 * The frames are sent with AF_PACKET sendmmsg (bypassing the qdisc): they
 * reach the veth's peer as the kernel's packets (skbs).
 *
 * Prints "sent=N seconds=S pps=X late=N cpu=S": cpu is its own CPU time
 * (user + system, getrusage), which includes the softirq work that ran in
 * its context.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	   32
#define MAX_FRAMES (1u << 20)
#define LATE_NS	   10000000ull

struct frames {
	uint8_t **data;
	uint32_t *len;
	uint32_t n;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void load(const char *path, struct frames *f)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(path, err);

	if (!p) {
		fprintf(stderr, "veth-send: %s\n", err);
		exit(1);
	}
	f->data = calloc(MAX_FRAMES, sizeof(*f->data));
	f->len = calloc(MAX_FRAMES, sizeof(*f->len));
	if (!f->data || !f->len)
		exit(1);
	while (f->n < MAX_FRAMES && pcap_next_ex(p, &h, &d) == 1) {
		f->data[f->n] = malloc(h->caplen);
		if (!f->data[f->n])
			exit(1);
		memcpy(f->data[f->n], d, h->caplen);
		f->len[f->n++] = h->caplen;
	}
	pcap_close(p);
	if (!f->n) {
		fprintf(stderr, "veth-send: no packets in %s\n", path);
		exit(1);
	}
}

static int open_socket(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "veth-send: cannot send on '%s': %s\n", ifname, strerror(errno));
		exit(1);
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		perror("veth-send: PACKET_QDISC_BYPASS");
	return fd;
}

/* Send BATCH frames from next on; returns how many went (the others go again). */
static int send_batch(int fd, const struct frames *f, uint32_t next)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++, next = (next + 1) % f->n) {
		iov[i] = (struct iovec){.iov_base = f->data[next], .iov_len = f->len[next]};
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = sendmmsg(fd, msgs, BATCH, 0);
	if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
		perror("veth-send: sendmmsg");
		exit(1);
	}
	return n < 0 ? 0 : n;
}

int main(int argc, char **argv)
{
	struct frames f = {0};
	struct rusage ru;
	uint64_t sent = 0, late = 0, since = 0, t0, start, end, due;
	double pps, secs;
	uint32_t next = 0;
	int fd, n;

	if (argc != 5 || (pps = atof(argv[3])) <= 0 || (secs = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: veth-send IFACE PCAP PPS SECONDS\n");
		return 2;
	}
	load(argv[2], &f);
	fd = open_socket(argv[1]);
	start = t0 = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	while (now_ns() < end) {
		n = send_batch(fd, &f, next);
		/* A frame the kernel refused is not sent: it goes first in the next batch. */
		sent += (uint64_t)n;
		since += (uint64_t)n;
		next = (uint32_t)((next + (uint32_t)n) % f.n);
		/* since: packets sent since t0, the start of the schedule. */
		due = t0 + (uint64_t)((double)since * 1e9 / pps);
		if (now_ns() > due + LATE_NS) {
			late++;
			t0 = now_ns();
			since = 0;
		} else {
			sleep_until(due);
		}
	}
	secs = (double)(now_ns() - start) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	printf("sent=%llu seconds=%.3f pps=%.0f late=%llu cpu=%.4f\n", (unsigned long long)sent,
	       secs, (double)sent / secs, (unsigned long long)late,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
