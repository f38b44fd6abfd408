/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rf-hold: a consumer that holds back a tail. It receives up to --batch
 * packets per call and releases only after every --release-every calls, so
 * that when it is killed (-9) some packets were received but not released:
 * the next consumer of the queue gets them again. Its progress (packets
 * received, packets released) lives in a file it maps, so it survives kill -9;
 * `rf-hold --status FILE` prints it.
 *
 *   rf-hold [--batch N] [--release-every N] --progress FILE QUEUE
 *   rf-hold --status FILE
 *
 * Runs until the queue is finished and drained (exit 0) or it is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#define MAX_BATCH      1024
#define PROGRESS_MAGIC 0x72666f6c64763031ull /* "rfholdv1" */

struct progress {
	uint64_t magic;
	uint64_t received; /* packets returned by recv */
	uint64_t released; /* packets covered by a completed release */
	uint64_t epipe;	   /* producer-gone notices */
};

static struct progress *progress_map(const char *path)
{
	struct progress *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || ftruncate(fd, sizeof(*p)) < 0) {
		fprintf(stderr, "rf-hold: cannot create '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "rf-hold: cannot map '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	p->magic = PROGRESS_MAGIC;
	return p;
}

static int print_status(const char *path)
{
	struct progress p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, &p, sizeof(p)) != (ssize_t)sizeof(p) || p.magic != PROGRESS_MAGIC) {
		fprintf(stderr, "rf-hold: cannot read progress file '%s'\n", path);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	printf("received=%" PRIu64 "\nreleased=%" PRIu64 "\nepipe=%" PRIu64 "\n", p.received,
	       p.released, p.epipe);
	return 0;
}

/* Release, recording what the release covers only once it has returned. */
static void release(struct rf_consumer *c, struct progress *p)
{
	uint64_t upto = p->received;

	rf_consumer_release(c);
	__atomic_store_n(&p->released, upto, __ATOMIC_SEQ_CST);
}

static int consume(struct rf_consumer *c, struct progress *p, unsigned int batch,
		   unsigned int every)
{
	static struct rf_packet pkts[MAX_BATCH];
	uint64_t calls = 0;
	int n;

	for (;;) {
		n = rf_consumer_recv(c, pkts, batch, 100);
		if (n == -ENODATA)
			break;
		if (n == -EPIPE) {
			p->epipe++;
			continue;
		}
		if (n == 0 || n == -EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "rf-hold: receive: %s\n", strerror(-n));
			return 1;
		}
		__atomic_store_n(&p->received, p->received + (uint64_t)n, __ATOMIC_SEQ_CST);
		if (++calls % every == 0)
			release(c, p);
	}
	release(c, p);
	printf("received=%" PRIu64 "\nreleased=%" PRIu64 "\n", p->received, p->released);
	return 0;
}

static const struct option long_opts[] = {
	{"batch", required_argument, NULL, 'b'},
	{"release-every", required_argument, NULL, 'e'},
	{"progress", required_argument, NULL, 'p'},
	{"status", required_argument, NULL, 's'},
	{NULL, 0, NULL, 0},
};

static int usage(void)
{
	fprintf(stderr, "usage: rf-hold [--batch N] [--release-every N] --progress FILE QUEUE\n"
			"       rf-hold --status FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long batch = 16, every = 4;
	const char *prog_file = NULL;
	struct rf_consumer *c;
	struct progress *p;
	int o, r;

	while ((o = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		case 'e':
			every = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			prog_file = optarg;
			break;
		case 's':
			return print_status(optarg);
		default:
			return usage();
		}
	}
	if (optind != argc - 1 || !prog_file || batch < 1 || batch > MAX_BATCH || every < 1)
		return usage();
	p = progress_map(prog_file);
	if (!p)
		return 1;
	r = rf_consumer_open(argv[optind], NULL, &c);
	if (r < 0) {
		fprintf(stderr, "rf-hold: cannot open queue '%s': %s\n", argv[optind],
			strerror(-r));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = consume(c, p, (unsigned int)batch, (unsigned int)every);
	rf_consumer_close(c);
	return r;
}
