/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Queue files are mapped shared, and others may be able to truncate them:
 * a consumer its page file (whoever may consume may write it), the user
 * named by the producer's `owner` option the ring file. The next access to
 * a truncated mapping is a SIGBUS, which would kill the balancer and every
 * queue with it (or an egress thread inside it).
 * A SIGBUS handler (installed by rf_guard_add(), chaining to the one it
 * replaces) maps private memory over a registered range that faults: 0xff
 * bytes over a consumer page (the producer then reads a nonsense cursor and
 * drops that queue's packets as dropped_cursor), zeros over a ring; it
 * sets the range's fault flag, so that its owner can tell the queue is
 * damaged, and the faulting access runs again on the new memory.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define GUARD_SLOTS 4096

/*
 * A slot is taken by a CAS on start (0: free) and filled before it is
 * published by a release store of `ready`; the handler reads only slots
 * whose `ready` it loads with acquire.
 */
struct guard_slot {
	_Atomic uintptr_t start;
	uintptr_t end;
	bool fill_ff;
	_Atomic bool *faulted;
	_Atomic bool ready;
};

static struct guard_slot guarded[GUARD_SLOTS];
static struct sigaction old_bus;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/* Put private memory where the range was (mmap is async-signal-safe in practice). */
static int replace_range(const struct guard_slot *g)
{
	size_t len = g->end - atomic_load_explicit(&g->start, memory_order_relaxed);
	void *at = (void *)atomic_load_explicit(&g->start, memory_order_relaxed);
	void *m = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		       0);

	if (m == MAP_FAILED)
		return -1;
	/* Writable: the owner's own writes go here, unseen, instead of faulting. */
	if (g->fill_ff)
		memset(m, 0xff, len);
	return 0;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	if ((old_bus.sa_flags & SA_SIGINFO) && old_bus.sa_sigaction) {
		old_bus.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(old_bus.sa_flags & SA_SIGINFO) && old_bus.sa_handler != SIG_DFL &&
	    old_bus.sa_handler != SIG_IGN) {
		old_bus.sa_handler(sig);
		return;
	}
	/* Default action: the fault repeats and kills, as without this handler. */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigaction(SIGBUS, &dfl, NULL);
}

static struct guard_slot *find(uintptr_t addr)
{
	size_t i;

	for (i = 0; addr && i < GUARD_SLOTS; i++) {
		struct guard_slot *g = &guarded[i];

		if (atomic_load_explicit(&g->ready, memory_order_acquire) &&
		    addr >= atomic_load_explicit(&g->start, memory_order_relaxed) && addr < g->end)
			return g;
	}
	return NULL;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	static _Atomic int depth;
	struct guard_slot *g = find((uintptr_t)si->si_addr);

	if (g && replace_range(g) == 0) {
		if (g->faulted)
			atomic_store_explicit(g->faulted, true, memory_order_relaxed);
		return; /* the faulting access runs again, on the new memory */
	}
	/* Not ours: whatever was there before us, unless it chains back to us. */
	if (atomic_fetch_add(&depth, 1) == 0) {
		chain(sig, si, uc);
	} else {
		struct sigaction dfl = {.sa_handler = SIG_DFL};

		sigaction(SIGBUS, &dfl, NULL);
	}
	atomic_fetch_sub(&depth, 1);
}

/*
 * Install the handler if the current one is not ours: also after a program
 * (or a test harness) replaced it, in which case theirs is chained to.
 */
static int install(void)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur) < 0)
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	sigemptyset(&sa.sa_mask);
	old_bus = cur;
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int rf_guard_add(const void *start, size_t len, bool fill_ff, _Atomic bool *faulted)
{
	uintptr_t want;
	size_t i;
	int r;

	pthread_mutex_lock(&install_lock);
	r = install();
	pthread_mutex_unlock(&install_lock);
	if (r < 0)
		return r;
	for (i = 0; i < GUARD_SLOTS; i++) {
		struct guard_slot *g = &guarded[i];

		want = 0;
		if (!atomic_compare_exchange_strong(&g->start, &want, (uintptr_t)start))
			continue;
		g->end = (uintptr_t)start + len;
		g->fill_ff = fill_ff;
		g->faulted = faulted;
		/* Release: the handler sees the whole slot once it sees ready. */
		atomic_store_explicit(&g->ready, true, memory_order_release);
		return 0;
	}
	return -EMFILE;
}

void rf_guard_remove(const void *start)
{
	size_t i;

	for (i = 0; i < GUARD_SLOTS; i++) {
		struct guard_slot *g = &guarded[i];

		if (atomic_load(&g->start) == (uintptr_t)start &&
		    atomic_load_explicit(&g->ready, memory_order_relaxed)) {
			atomic_store(&g->ready, false);
			atomic_store(&g->start, 0);
			return;
		}
	}
}
