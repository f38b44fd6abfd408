/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers of the queue unit tests: a private queue directory, producers and
 * consumers on it, numbered packets, and raw access to the queue files. */
#ifndef RINGFAN_TEST_QUEUE_HELPERS_H
#define RINGFAN_TEST_QUEUE_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ringfan/ringfan.h>

#define SMALL 4096u
#define Q     "7@3"

extern char dir[64];
extern uint8_t payload[4096];

/* cmocka setup/teardown: a fresh queue directory (mode 0755) in dir. */
int setup(void **state);
int teardown(void **state);
uint64_t now_ns(void);
/* rf_producer_create() of name in dir, with these options. */
int producer_open(const char *name, uint64_t size, mode_t mode, unsigned int flags, int linktype,
		  struct rf_producer **ret);
/* A producer of name in dir (asserts success); mode 0: the default. */
struct rf_producer *producer(const char *name, uint64_t size, mode_t mode);
struct rf_producer *producer_flags(const char *name, uint64_t size, unsigned int flags,
				   int linktype);
int consumer_open(const char *name, unsigned int flags, struct rf_consumer **c);
struct rf_consumer *consumer(const char *name, unsigned int flags);
/* Packet seq of caplen bytes in buf: the number is in the hash and the first bytes. */
void make_pkt(struct rf_packet *pkt, uint8_t *buf, uint32_t seq, uint32_t caplen);
/* Enqueue packet seq (see make_pkt). */
int put(struct rf_producer *p, uint32_t seq, uint32_t caplen);
void check_pkt(const struct rf_packet *pkt, uint32_t seq, uint32_t caplen);
void queue_path(char *buf, size_t len, const char *name, const char *suffix);
/* Map a queue file read-write, as a hostile program with write access would. */
void *map_file(const char *name, const char *suffix, size_t *ret_len);
struct rf_queue_info info_of(struct rf_producer *p);
struct rf_queue_info query_of(const char *name);
struct rf_consumer_stats stats_of(struct rf_consumer *c);

#endif
