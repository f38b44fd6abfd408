/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The life cycle of a queue in one process: a producer that goes away and
 * comes back (resuming its queue), runs that end and new generations, the
 * link type, waiting for a queue, the trust checks on the directory and the
 * files, locks that readers may take, truncated mappings, and removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ringfan/ringfan.h>

#include "../../lib/internal.h"
#include "queue_helpers.h"

#define DLT_RAW_IP 12
#define OTHER_UID  65534
#define THIRD_UID  65533

static int recv_n(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max, int timeout)
{
	return rf_consumer_recv(c, pkts, max, timeout);
}

/* Packets seq from..to-1 (40 bytes each), published. */
static void put_range(struct rf_producer *p, uint32_t from, uint32_t to)
{
	uint32_t i;

	for (i = from; i < to; i++)
		assert_int_equal(put(p, i, 40), 0);
	rf_producer_publish(p);
}

/* Receive exactly the packets from..to-1, in order, and release them. */
static void expect_range(struct rf_consumer *c, uint32_t from, uint32_t to)
{
	struct rf_packet pkts[16];
	uint32_t next = from;
	int n, i;

	while (next < to) {
		n = recv_n(c, pkts, 16, 1000);
		assert_true(n > 0);
		for (i = 0; i < n; i++)
			check_pkt(&pkts[i], next++, 40);
		rf_consumer_release(c);
	}
	assert_int_equal(next, to);
}

/* A producer that stops without finishing is resumed by the next: same
 * generation, nothing lost, counters go on, the consumer keeps its place. */
static void test_resume(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[8];
	struct rf_queue_info qi;
	uint64_t gen = info_of(p).generation;

	(void)state;
	assert_int_equal(rf_producer_start_how(p), RF_START_CREATED);
	put_range(p, 0, 3);
	expect_range(c, 0, 2 + 1);
	put_range(p, 3, 5); /* enqueued, not read: must survive the restart */
	rf_producer_destroy(p);
	expect_range(c, 3, 5);
	assert_int_equal(recv_n(c, pkts, 8, 1000), -EPIPE);
	assert_int_equal(recv_n(c, pkts, 8, 50), 0); /* waits for it */
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_RESUMED);
	qi = info_of(p);
	assert_true(qi.generation == gen);
	assert_int_equal(qi.enqueued, 5);
	assert_int_equal(qi.producer_starts, 2);
	put_range(p, 5, 7);
	expect_range(c, 5, 7);
	assert_int_equal(stats_of(c).producer_restarts, 1);
	assert_int_equal(stats_of(c).generations, 0);
	rf_consumer_close(c);

	/* Nobody attached while the producer restarts: the packets wait. */
	put_range(p, 7, 9);
	rf_producer_destroy(p);
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_RESUMED);
	put_range(p, 9, 10);
	c = consumer(Q, 0);
	expect_range(c, 7, 10);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

struct late_put {
	struct rf_producer *p;
	uint32_t seq;
};

static void *put_later(void *arg)
{
	struct late_put *lp = arg;
	struct timespec ts = {.tv_nsec = 50 * 1000 * 1000};

	nanosleep(&ts, NULL);
	put_range(lp->p, lp->seq, lp->seq + 1);
	return NULL;
}

/*
 * rf_consumer_wait() says when recv has something, without taking it:
 * packets (also published while it sleeps), the producer gone (recv then
 * says -EPIPE), the producer back, the end of a run and the next run.
 */
static void test_wait(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct late_put lp = {.p = p, .seq = 2};
	struct rf_packet pkts[8];
	pthread_t t;
	uint64_t t0;

	(void)state;
	assert_int_equal(rf_consumer_wait(c, 0), 0);
	t0 = now_ns();
	assert_int_equal(rf_consumer_wait(c, 60), 0);
	assert_true(now_ns() - t0 >= 50ull * 1000 * 1000);
	put_range(p, 0, 2);
	assert_int_equal(rf_consumer_wait(c, 1000), 1);
	assert_int_equal(rf_consumer_wait(c, 0), 1); /* took nothing */
	expect_range(c, 0, 2);
	assert_int_equal(pthread_create(&t, NULL, put_later, &lp), 0);
	t0 = now_ns();
	assert_int_equal(rf_consumer_wait(c, 5000), 1);
	assert_true(now_ns() - t0 < 1000ull * 1000 * 1000);
	pthread_join(t, NULL);
	expect_range(c, 2, 3);

	rf_producer_destroy(p);
	assert_int_equal(rf_consumer_wait(c, 1000), 1);
	assert_int_equal(recv_n(c, pkts, 8, 0), -EPIPE);
	assert_int_equal(rf_consumer_wait(c, 30), 0); /* gone: waits for it */
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_consumer_wait(c, 1000), 1);
	assert_int_equal(stats_of(c).producer_restarts, 1);
	put_range(p, 3, 4);
	expect_range(c, 3, 4);

	rf_producer_finish(p);
	rf_producer_destroy(p);
	assert_int_equal(rf_consumer_wait(c, 1000), 1);
	assert_int_equal(recv_n(c, pkts, 8, 0), -ENODATA);
	assert_int_equal(rf_consumer_wait(c, 30), 0);
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_consumer_wait(c, 1000), 1);
	put_range(p, 10, 11);
	expect_range(c, 10, 11);
	assert_int_equal(stats_of(c).generations, 1);
	assert_int_equal(rf_consumer_wait(NULL, 0), -EINVAL);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A producer that restarts between two looks of the consumer is noticed all the same. */
static void test_quick_restart(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[8];

	(void)state;
	put_range(p, 0, 1);
	expect_range(c, 0, 1);
	rf_producer_destroy(p);
	p = producer(Q, SMALL, 0);
	assert_int_equal(recv_n(c, pkts, 8, 300), 0); /* idle long enough to look */
	assert_int_equal(stats_of(c).producer_restarts, 1);
	put_range(p, 1, 2);
	expect_range(c, 1, 2);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* The end of a run, then the next run: the consumer is told once and follows. */
static void test_run_end_then_next(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[8];
	struct rf_queue_info qi;
	uint64_t gen = info_of(p).generation;

	(void)state;
	put_range(p, 0, 2);
	rf_producer_finish(p);
	rf_producer_destroy(p);
	expect_range(c, 0, 2);
	assert_int_equal(recv_n(c, pkts, 8, 1000), -ENODATA);
	assert_int_equal(rf_consumer_info(c, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.finished, 1);
	assert_true(qi.finished_ns >= qi.started_ns && qi.started_ns > 0);
	assert_int_equal(recv_n(c, pkts, 8, 30), 0);
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_FINISHED);
	assert_true(info_of(p).generation != gen);
	put_range(p, 10, 12);
	assert_int_equal(recv_n(c, pkts, 1, 1000), 1);
	check_pkt(&pkts[0], 10, 40);
	assert_int_equal(pkts[0].flags, RF_PKT_NEW_GENERATION); /* the first of the run */
	assert_int_equal(recv_n(c, pkts, 1, 1000), 1);
	check_pkt(&pkts[0], 11, 40);
	assert_int_equal(pkts[0].flags, 0);
	rf_consumer_release(c);
	assert_int_equal(stats_of(c).generations, 1);
	assert_int_equal(rf_consumer_info(c, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.finished, 0);
	assert_true(qi.generation != gen);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A new run that starts before the consumer drained the old one: no end is
 * told, the consumer reads the rest of the old run and goes on with the new. */
static void test_new_run_while_draining(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);

	(void)state;
	put_range(p, 0, 3);
	rf_producer_finish(p);
	rf_producer_destroy(p);
	p = producer(Q, SMALL, 0);
	put_range(p, 20, 22);
	expect_range(c, 0, 3);
	expect_range(c, 20, 22);
	assert_int_equal(stats_of(c).generations, 1);
	rf_consumer_close(c);

	/* ...unless the consumer asked to stay on the run it opened. */
	rf_producer_finish(p);
	rf_producer_destroy(p);
	c = consumer(Q, RF_CONSUMER_NO_REATTACH);
	p = producer(Q, SMALL, 0);
	put_range(p, 30, 31);
	{
		struct rf_packet pkts[8];

		assert_int_equal(recv_n(c, pkts, 8, 1000), -ENODATA);
		assert_int_equal(recv_n(c, pkts, 8, 1000), -ENODATA);
	}
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* SKIP_FINISHED: a finished run's leftovers are skipped; the next run is read. */
static void test_skip_finished(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c;
	struct rf_packet pkts[8];

	(void)state;
	put_range(p, 0, 4);
	rf_producer_finish(p);
	rf_producer_destroy(p);
	c = consumer(Q, RF_CONSUMER_SKIP_FINISHED);
	assert_int_equal(recv_n(c, pkts, 8, 30), 0);
	assert_int_equal(stats_of(c).skipped, 4);
	p = producer(Q, SMALL, 0);
	put_range(p, 40, 41);
	expect_range(c, 40, 41);
	rf_consumer_close(c);
	rf_producer_destroy(p);
	/* A queue that is not finished is read from the cursor as usual. */
	p = producer(Q, SMALL, 0);
	put_range(p, 50, 51);
	c = consumer(Q, RF_CONSUMER_SKIP_FINISHED);
	expect_range(c, 50, 51);
	assert_int_equal(stats_of(c).skipped, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* The link type travels in the queue; a different one (or ring size) is a new generation. */
static void test_linktype(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_queue_info qi;

	(void)state;
	assert_int_equal(rf_consumer_info(c, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.linktype, RF_LINKTYPE_DEFAULT);
	put_range(p, 0, 1);
	expect_range(c, 0, 1);
	rf_producer_destroy(p);
	p = producer_flags(Q, SMALL, RF_PRODUCER_LINKTYPE, DLT_RAW_IP);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_CHANGED);
	put_range(p, 1, 2);
	expect_range(c, 1, 2);
	assert_int_equal(rf_consumer_info(c, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.linktype, DLT_RAW_IP);
	assert_int_equal(query_of(Q).linktype, DLT_RAW_IP);
	rf_producer_destroy(p);
	p = producer_flags(Q, 2 * SMALL, RF_PRODUCER_LINKTYPE, DLT_RAW_IP);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_CHANGED);
	put_range(p, 2, 3);
	expect_range(c, 2, 3);
	assert_int_equal(stats_of(c).generations, 2);
	rf_producer_destroy(p);
	p = producer_flags(Q, 2 * SMALL, RF_PRODUCER_LINKTYPE | RF_PRODUCER_NEW_GENERATION,
			   DLT_RAW_IP);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_ASKED);
	rf_consumer_close(c);
	rf_producer_destroy(p);
	assert_int_equal(producer_open(Q, SMALL, 0, 0x80, 0, &p), -EINVAL);
	assert_int_equal(producer_open(Q, SMALL, 0, RF_PRODUCER_LINKTYPE, -1, &p), -EINVAL);
}

struct opener {
	int wait_ms, r;
	struct rf_consumer *c;
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = dir, .wait_ms = o->wait_ms};

	o->r = rf_consumer_open(Q, &co, &o->c);
	return NULL;
}

/* wait_ms: a consumer started before its producer attaches when the queue appears. */
static void test_wait_for_queue(void **state)
{
	struct opener o = {.wait_ms = -1};
	struct rf_producer *p;
	pthread_t t;
	uint64_t t0;

	(void)state;
	t0 = now_ns();
	o.wait_ms = 60;
	open_thread(&o);
	assert_int_equal(o.r, -ENOENT);
	assert_true(now_ns() - t0 >= 55ull * 1000000);
	o.wait_ms = -1;
	assert_int_equal(pthread_create(&t, NULL, open_thread, &o), 0);
	usleep(100 * 1000);
	p = producer(Q, SMALL, 0);
	put_range(p, 0, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.r, 0);
	expect_range(o.c, 0, 1);
	rf_consumer_close(o.c);
	rf_producer_destroy(p);
}

/* Directories: nobody but the owner may write to them; a producer needs root's or its own. */
static void test_untrusted_dir(void **state)
{
	struct rf_consumer *c = NULL;
	struct rf_producer *p = NULL;
	struct rf_dir_info di;
	char link[96];

	(void)state;
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(producer_open(Q, SMALL, 0, 0, 0, &p), -EPERM);
	assert_int_equal(rf_queue_dir_check(dir, 0, &di), -EPERM);
	assert_int_equal(di.mode & 0777, 0777);
	assert_int_equal(chmod(dir, 0755), 0);
	p = producer(Q, SMALL, 0);
	rf_producer_destroy(p);
	assert_int_equal(chmod(dir, 0775), 0);
	assert_int_equal(consumer_open(Q, 0, &c), -EPERM);
	assert_int_equal(chmod(dir, 0755), 0);
	/* Owned by another user: its to use, not a root producer's; a consumer
	 * that named it trusts it. */
	assert_int_equal(chown(dir, OTHER_UID, OTHER_UID), 0);
	assert_int_equal(producer_open(Q, SMALL, 0, 0, 0, &p), -EPERM);
	assert_int_equal(rf_queue_dir_check(dir, 0, &di), 0);
	assert_int_equal(rf_queue_dir_check(dir, RF_DIR_PRODUCER, NULL), -EPERM);
	assert_int_equal(di.owner, OTHER_UID);
	assert_int_equal(di.named, 1);
	assert_int_equal(chown(dir, 0, 0), 0);
	/* A symbolic link is not a directory to trust. */
	snprintf(link, sizeof(link), "%s.link", dir);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(rf_queue_dir_check(link, 0, NULL), -ENOTDIR);
	{
		struct rf_consumer_opts o = {.sz = sizeof(o), .dir = link};

		assert_int_equal(rf_consumer_open(Q, &o, &c), -ENOTDIR);
	}
	unlink(link);
}

/* Files: a ring others may write to, or made by a stranger, is refused. */
static void test_untrusted_files(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = NULL;
	char path[256];

	(void)state;
	rf_producer_destroy(p);
	queue_path(path, sizeof(path), Q, "ring");
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(consumer_open(Q, 0, &c), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chown(path, OTHER_UID, 0), 0);
	assert_int_equal(consumer_open(Q, 0, &c), -EPERM);
	/* The producer does not go on with a ring it does not own: a new generation. */
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_DAMAGED);
	c = consumer(Q, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A consumer follows a new generation only if the same users made it. */
static void test_pinned_owner(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0644);
	struct rf_consumer *c;
	struct rf_packet pkts[8];
	char ring[256], cons[256];

	(void)state;
	put_range(p, 0, 1);
	rf_producer_finish(p);
	rf_producer_destroy(p);
	/* The queue as if OTHER_UID had made it in its own directory. */
	queue_path(ring, sizeof(ring), Q, "ring");
	queue_path(cons, sizeof(cons), Q, "cons");
	assert_int_equal(chown(ring, OTHER_UID, 0), 0);
	assert_int_equal(chown(cons, OTHER_UID, 0), 0);
	assert_int_equal(chown(dir, OTHER_UID, 0), 0);
	c = consumer(Q, 0);
	expect_range(c, 0, 1);
	assert_int_equal(recv_n(c, pkts, 8, 100), -ENODATA);
	/* A new generation made by root (trusted everywhere), then handed to a third user. */
	assert_int_equal(chown(dir, 0, 0), 0);
	p = producer(Q, SMALL, 0644);
	put_range(p, 1, 2);
	assert_int_equal(chown(ring, THIRD_UID, 0), 0);
	assert_int_equal(chown(dir, THIRD_UID, 0), 0);
	assert_int_equal(recv_n(c, pkts, 8, 100), -EPERM);
	assert_int_equal(stats_of(c).generations, 0);
	assert_int_equal(chown(dir, 0, 0), 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* Read locks (anyone who may read a file can take one) neither fake a live
 * producer or consumer nor keep a producer from starting. */
static void test_read_locks(void **state)
{
	struct flock rd = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	struct rf_producer *p = producer(Q, SMALL, 0), *p2 = NULL;
	struct rf_consumer *c;
	struct rf_queue_info qi;
	char ring[256], cons[256];
	int rfd, cfd;

	(void)state;
	put_range(p, 0, 2);
	rf_producer_destroy(p);
	queue_path(ring, sizeof(ring), Q, "ring");
	queue_path(cons, sizeof(cons), Q, "cons");
	rfd = open(ring, O_RDONLY);
	cfd = open(cons, O_RDONLY);
	assert_true(rfd >= 0 && cfd >= 0);
	assert_int_equal(fcntl(rfd, F_OFD_SETLK, &rd), 0);
	assert_int_equal(fcntl(cfd, F_OFD_SETLK, &rd), 0);
	qi = query_of(Q);
	assert_int_equal(qi.producer_pid, 0);
	assert_int_equal(qi.consumer_pid, 0);
	/* Cannot take the ring over under a read lock: a new generation, not -EBUSY. */
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_LOCKED);
	/* A live producer is -EBUSY for a second one, read locks or not. */
	assert_int_equal(producer_open(Q, SMALL, 0, 0, 0, &p2), -EBUSY);
	qi = query_of(Q);
	assert_int_equal(qi.producer_pid, getpid());
	close(rfd);
	close(cfd);
	put_range(p, 5, 6);
	c = consumer(Q, 0);
	expect_range(c, 5, 6);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* The ring truncated under the producer (its owner may do that): that queue
 * drops, the producer lives on; a guarded consumer is told its producer is gone. */
static void test_truncated_ring(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, RF_CONSUMER_GUARD_SIGBUS);
	struct rf_packet pkts[8];
	struct rf_queue_info qi;
	char path[256];

	(void)state;
	put_range(p, 0, 2);
	expect_range(c, 0, 2);
	queue_path(path, sizeof(path), Q, "ring");
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(put(p, 2, 40), 0); /* writes into the hole: a fault, recovered */
	rf_producer_publish(p);
	assert_int_equal(put(p, 3, 40), -EPIPE);
	qi = info_of(p);
	assert_int_equal(qi.dropped_cursor, 2);
	assert_int_equal(qi.enqueued, 2);
	assert_int_equal(recv_n(c, pkts, 8, 1000), -EPIPE);
	rf_consumer_close(c);
	rf_producer_destroy(p);
	/* The next producer starts afresh. */
	p = producer(Q, SMALL, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_NEW_DAMAGED);
	rf_producer_destroy(p);
}

static bool sigbus_default(void)
{
	struct sigaction sa;

	sigaction(SIGBUS, NULL, &sa);
	return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL;
}

/* A consumer installs no signal handler unless it asks to be guarded. */
static void test_guard_opt_in(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rf_consumer *c = NULL;
		struct sigaction dfl = {.sa_handler = SIG_DFL};

		sigaction(SIGBUS, &dfl, NULL);
		if (consumer_open(Q, 0, &c) < 0 || !sigbus_default())
			_exit(1);
		rf_consumer_close(c);
		if (consumer_open(Q, RF_CONSUMER_GUARD_SIGBUS, &c) < 0 || sigbus_default())
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	rf_producer_destroy(p);
}

static int queue_files(void)
{
	char cmd[160];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c '%s'", dir, Q);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	return n;
}

/* A create that fails (here: no room for the ring) leaves no queue file. */
static void test_failed_create(void **state)
{
	struct rf_producer *p = NULL;

	(void)state;
	assert_int_not_equal(producer_open(Q, 1ull << 36, 0, 0, 0, &p), 0);
	assert_null(p);
	assert_int_equal(queue_files(), 0);
}

/* Removal: only idle queues with rf_queue_remove_idle(). */
static void test_remove_idle(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c;

	(void)state;
	assert_int_equal(rf_queue_remove_idle(Q, dir), -EBUSY);
	rf_producer_destroy(p);
	c = consumer(Q, 0);
	assert_int_equal(rf_queue_remove_idle(Q, dir), -EBUSY);
	rf_consumer_close(c);
	assert_int_equal(queue_files(), 2);
	assert_int_equal(rf_queue_remove_idle(Q, dir), 0);
	assert_int_equal(queue_files(), 0);
	assert_int_equal(rf_queue_remove_idle(Q, dir), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quick_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_end_then_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_run_while_draining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linktype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_for_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard_opt_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_idle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
