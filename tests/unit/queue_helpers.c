/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers of the queue unit tests (queue_helpers.h). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue_helpers.h"

char dir[64];
uint8_t payload[4096];

int setup(void **state)
{
	unsigned int i;

	(void)state;
	strcpy(dir, "/dev/shm/rf-unit.XXXXXX");
	if (!mkdtemp(dir)) {
		strcpy(dir, "/tmp/rf-unit.XXXXXX");
		if (!mkdtemp(dir))
			return -1;
	}
	/* Traversable by others, so that the permission test hits the files' modes. */
	chmod(dir, 0755);
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int producer_open(const char *name, uint64_t size, mode_t mode, unsigned int flags, int linktype,
		  struct rf_producer **ret)
{
	struct rf_producer_opts o = {.sz = sizeof(o),
				     .dir = dir,
				     .ring_size = size,
				     .owner = (uid_t)-1,
				     .group = (gid_t)-1,
				     .mode = mode,
				     .flags = flags,
				     .linktype = linktype};

	return rf_producer_create(name, &o, ret);
}

static struct rf_producer *make_producer(const char *name, uint64_t size, mode_t mode,
					 unsigned int flags, int linktype)
{
	struct rf_producer *p = NULL;

	assert_int_equal(producer_open(name, size, mode, flags, linktype, &p), 0);
	assert_non_null(p);
	return p;
}

struct rf_producer *producer(const char *name, uint64_t size, mode_t mode)
{
	return make_producer(name, size, mode, 0, 0);
}

struct rf_producer *producer_flags(const char *name, uint64_t size, unsigned int flags,
				   int linktype)
{
	return make_producer(name, size, 0, flags, linktype);
}

int consumer_open(const char *name, unsigned int flags, struct rf_consumer **c)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .dir = dir, .flags = flags};

	return rf_consumer_open(name, &o, c);
}

struct rf_consumer *consumer(const char *name, unsigned int flags)
{
	struct rf_consumer *c = NULL;

	assert_int_equal(consumer_open(name, flags, &c), 0);
	assert_non_null(c);
	return c;
}

void make_pkt(struct rf_packet *pkt, uint8_t *buf, uint32_t seq, uint32_t caplen)
{
	memcpy(buf, payload, caplen);
	if (caplen >= 4)
		memcpy(buf, &seq, 4);
	*pkt = (struct rf_packet){
		.data = buf, .ts_ns = 1000 + seq, .caplen = caplen, .wirelen = caplen, .hash = seq};
}

int put(struct rf_producer *p, uint32_t seq, uint32_t caplen)
{
	static uint8_t buf[4096];
	struct rf_packet pkt;

	make_pkt(&pkt, buf, seq, caplen);
	return rf_producer_enqueue(p, &pkt);
}

void check_pkt(const struct rf_packet *pkt, uint32_t seq, uint32_t caplen)
{
	uint32_t got;

	assert_int_equal(pkt->hash, seq);
	assert_int_equal(pkt->caplen, caplen);
	assert_true(pkt->ts_ns == 1000 + seq);
	if (caplen >= 4) {
		memcpy(&got, pkt->data, 4);
		assert_int_equal(got, seq);
		assert_memory_equal(pkt->data + 4, payload + 4, caplen - 4);
	}
}

void queue_path(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, "%s/%s.%s", dir, name, suffix);
}

void *map_file(const char *name, const char *suffix, size_t *ret_len)
{
	char path[256];
	struct stat st;
	void *m;
	int fd;

	queue_path(path, sizeof(path), name, suffix);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	*ret_len = (size_t)st.st_size;
	return m;
}

struct rf_queue_info info_of(struct rf_producer *p)
{
	struct rf_queue_info qi;

	assert_int_equal(rf_producer_info(p, &qi, sizeof(qi)), 0);
	return qi;
}

struct rf_queue_info query_of(const char *name)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .dir = dir};
	struct rf_queue_info qi;

	assert_int_equal(rf_queue_query(name, &o, &qi, sizeof(qi)), 0);
	return qi;
}

struct rf_consumer_stats stats_of(struct rf_consumer *c)
{
	struct rf_consumer_stats st;

	assert_int_equal(rf_consumer_stats(c, &st, sizeof(st)), 0);
	return st;
}
