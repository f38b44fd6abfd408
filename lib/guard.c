/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The producer maps each consumer page shared, and the consumer may write
 * that file: it can also truncate it, and the producer's next read of the
 * cursor would then be a SIGBUS that kills the balancer and every queue.
 * (A consumer's own mapping of its page is guarded too: whoever else may
 * consume the queue may truncate it under a consumer inside the balancer.)
 * A SIGBUS handler (installed when a producer is created, chaining to the
 * one it replaces) replaces
 * a registered consumer page that faults with a private page of 0xff
 * bytes: the producer reads a nonsense cursor there (UINT64_MAX), drops
 * that queue's packets as dropped_cursor, and carries on.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define GUARD_SLOTS 4096

static _Atomic uintptr_t guarded[GUARD_SLOTS];
static struct sigaction old_bus;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t page_mask;

/* Put a private page of 0xff bytes where the consumer page was. */
static int replace_page(uintptr_t page)
{
	size_t len = (size_t)~page_mask + 1;
	void *m = mmap((void *)page, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (m == MAP_FAILED)
		return -1;
	/* Writable: a consumer's own writes to its page go here, unseen, instead of faulting. */
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

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	static _Atomic int depth;
	uintptr_t page = (uintptr_t)si->si_addr & page_mask;
	size_t i;

	for (i = 0; page && i < GUARD_SLOTS; i++)
		if (atomic_load_explicit(&guarded[i], memory_order_relaxed) == page) {
			if (replace_page(page) == 0)
				return; /* the faulting read runs again, on the new page */
			break;
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

	if (!page_mask)
		page_mask = ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
	if (sigaction(SIGBUS, NULL, &cur) < 0)
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	sigemptyset(&sa.sa_mask);
	old_bus = cur;
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int rf_guard_add(const void *page)
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
		want = 0;
		if (atomic_compare_exchange_strong(&guarded[i], &want, (uintptr_t)page))
			return 0;
	}
	return -EMFILE;
}

void rf_guard_remove(const void *page)
{
	size_t i;

	for (i = 0; i < GUARD_SLOTS; i++)
		if (atomic_load(&guarded[i]) == (uintptr_t)page) {
			atomic_store(&guarded[i], 0);
			return;
		}
}
