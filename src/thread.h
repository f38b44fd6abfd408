/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Threads by role: a name per role ("rf-egress-3", "rf-metrics") so that
 * top -H, ps -L and taskset show which thread does what, and CPU pinning
 * (the balancer's -g CPU, --egress-cpus LIST), as zbalance_ipc's -g.
 */
#ifndef RINGFAN_THREAD_H
#define RINGFAN_THREAD_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/* A set of CPUs and whether one was given at all. */
struct rf_cpus {
	cpu_set_t set;
	bool given;
};

/*
 * Parse a CPU list as taskset -c takes it ("3", "0-3,8"): decimal numbers
 * below CPU_SETSIZE, ranges low-high. Returns 0 or -EINVAL.
 */
int rf_cpus_parse(const char *s, struct rf_cpus *ret);

/*
 * Check that every CPU of cpus is one this process may run on. Returns 0,
 * or -EINVAL with *ret_cpu the first that is not (and the allowed CPUs in
 * allowed, "0-1,4", for the message).
 */
int rf_cpus_check(const struct rf_cpus *cpus, int *ret_cpu, char *allowed, size_t len);

/* "0-3,8": the list form of a set. Returns buf. */
char *rf_cpus_format(const cpu_set_t *set, char *buf, size_t len);

/* The n-th CPU of the set (counting around: n modulo the set's size), or -1 if empty. */
int rf_cpus_nth(const struct rf_cpus *cpus, unsigned int n);

/*
 * Start a thread named name (at most 15 characters are kept), on the CPUs
 * of cpus only (NULL: wherever its creator may run). Returns 0 or -errno
 * (-EINVAL: no CPU of cpus is available).
 */
int rf_thread_start(pthread_t *ret_thread, const char *name, const cpu_set_t *cpus,
		    void *(*fn)(void *), void *arg);

/* Name the calling thread (at most 15 characters are kept). Returns 0 or -errno. */
int rf_thread_name(const char *name);

/* The calling thread's name into buf (16 bytes). */
void rf_thread_get_name(char *buf, size_t len);

/* Run the calling thread on these CPUs only. Returns 0 or -errno. */
int rf_thread_pin(const cpu_set_t *set);

#endif
