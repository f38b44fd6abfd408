/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * afpacket-veth: the "re-emit on an interface" baseline for the queue
 * benchmark. A sender process (pinned to one core) transmits SIZE-byte
 * Ethernet frames on TXIF with AF_PACKET sendmmsg (optionally with
 * PACKET_QDISC_BYPASS); a receiver process (pinned to the other core)
 * captures them on RXIF, the veth peer, with a TPACKET_V3 RX ring.
 *
 *   afpacket-veth TXIF RXIF SIZE SECONDS [bypass]
 *
 * Prints "sent=N received=N seconds=S mpps=X" where the rate is what the
 * receiver got per second (the delivered rate, which is what a consumer
 * behind the interface would see).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_BENCH 0x88b5 /* IEEE local experimental */
#define BATCH		64
#define BLOCK_SIZE	(1u << 20)
#define BLOCK_NR	64
#define FRAME_SIZE	2048

struct shared {
	volatile int rx_ready;
	volatile int tx_done;
	uint64_t sent;
	uint64_t received;
	uint64_t first_ns, last_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("sched_setaffinity");
}

static int packet_socket(const char *ifname, struct sockaddr_ll *ret_sll)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || sll.sll_ifindex == 0) {
		fprintf(stderr, "afpacket-veth: cannot open '%s': %s\n", ifname, strerror(errno));
		exit(1);
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "afpacket-veth: cannot bind to '%s': %s\n", ifname,
			strerror(errno));
		exit(1);
	}
	*ret_sll = sll;
	return fd;
}

static uint8_t *rx_ring(int fd)
{
	struct tpacket_req3 req = {
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = BLOCK_NR,
		.tp_frame_size = FRAME_SIZE,
		.tp_frame_nr = BLOCK_SIZE / FRAME_SIZE * BLOCK_NR,
		.tp_retire_blk_tov = 10,
	};
	int v = TPACKET_V3;
	void *m;

	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		perror("afpacket-veth: PACKET_RX_RING");
		exit(1);
	}
	m = mmap(NULL, (size_t)BLOCK_SIZE * BLOCK_NR, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_LOCKED, fd, 0);
	if (m == MAP_FAILED) {
		m = mmap(NULL, (size_t)BLOCK_SIZE * BLOCK_NR, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (m == MAP_FAILED) {
			perror("afpacket-veth: mmap");
			exit(1);
		}
	}
	return m;
}

/* Count our frames in one retired block and hand it back to the kernel. */
static uint64_t rx_block(struct tpacket_block_desc *bd)
{
	struct tpacket3_hdr *h =
		(struct tpacket3_hdr *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
	uint32_t i, n = bd->hdr.bh1.num_pkts;
	uint64_t ours = 0;

	for (i = 0; i < n; i++) {
		const uint8_t *eth = (const uint8_t *)h + h->tp_mac;

		ours += eth[12] == (ETHERTYPE_BENCH >> 8) && eth[13] == (ETHERTYPE_BENCH & 0xff);
		h = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
	}
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	return ours;
}

static void receiver(const char *ifname, struct shared *sh)
{
	struct sockaddr_ll sll;
	int fd = packet_socket(ifname, &sll);
	uint8_t *ring = rx_ring(fd);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	unsigned int blk = 0;
	uint64_t idle_since = 0;

	sh->rx_ready = 1;
	for (;;) {
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)blk * BLOCK_SIZE);
		uint64_t n;

		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER)) {
			if (sh->tx_done && !idle_since)
				idle_since = now_ns();
			if (idle_since && now_ns() - idle_since > 300000000ull)
				break;
			poll(&pfd, 1, 20);
			continue;
		}
		n = rx_block(bd);
		if (n && !sh->first_ns)
			sh->first_ns = now_ns();
		if (n)
			sh->last_ns = now_ns();
		sh->received += n;
		blk = (blk + 1) % BLOCK_NR;
	}
}

static void sender(const char *ifname, unsigned int size, double seconds, bool bypass,
		   struct shared *sh)
{
	static uint8_t frames[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll;
	int fd = packet_socket(ifname, &sll), one = 1, i;
	uint64_t end;

	if (bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		perror("afpacket-veth: PACKET_QDISC_BYPASS");
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		memset(frames[i], 0xff, 6);		    /* broadcast */
		memcpy(frames[i] + 6, "\x02\0\0\0\0\1", 6); /* local unicast source */
		frames[i][12] = ETHERTYPE_BENCH >> 8;
		frames[i][13] = ETHERTYPE_BENCH & 0xff;
		iov[i] = (struct iovec){.iov_base = frames[i], .iov_len = size};
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!sh->rx_ready)
		usleep(1000);
	usleep(50000);
	end = now_ns() + (uint64_t)(seconds * 1e9);
	while (now_ns() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n > 0)
			sh->sent += (uint64_t)n;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			perror("afpacket-veth: sendmmsg");
			break;
		}
	}
	sh->tx_done = 1;
}

int main(int argc, char **argv)
{
	struct shared *sh;
	unsigned int size;
	double seconds;
	pid_t pid;
	int st;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: afpacket-veth TXIF RXIF SIZE SECONDS [bypass]\n");
		return 2;
	}
	size = (unsigned int)atoi(argv[3]);
	seconds = atof(argv[4]);
	if (size < 60 || size > 2048 || seconds <= 0) {
		fprintf(stderr, "afpacket-veth: SIZE must be 60..2048 and SECONDS positive\n");
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	pid = fork();
	if (pid == 0) {
		pin(1);
		receiver(argv[2], sh);
		_exit(0);
	}
	pin(0);
	sender(argv[1], size, seconds, argc == 6 && !strcmp(argv[5], "bypass"), sh);
	waitpid(pid, &st, 0);
	if (sh->last_ns <= sh->first_ns) {
		fprintf(stderr, "afpacket-veth: nothing received\n");
		return 1;
	}
	printf("sent=%" PRIu64 " received=%" PRIu64 " seconds=%.3f mpps=%.3f\n", sh->sent,
	       sh->received, (double)(sh->last_ns - sh->first_ns) / 1e9,
	       (double)sh->received / ((double)(sh->last_ns - sh->first_ns) / 1e3));
	return 0;
}
