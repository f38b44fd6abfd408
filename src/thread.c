/* SPDX-License-Identifier: BSD-2-Clause */
#include "thread.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* "A" or "A-B" into set. */
static int add_range(const char *item, cpu_set_t *set)
{
	char lo[16];
	const char *dash = strchr(item, '-');
	uint64_t a, b;
	size_t len = dash ? (size_t)(dash - item) : strlen(item);

	if (len >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, item, len);
	lo[len] = 0;
	if (rf_parse_u64(lo, 0, CPU_SETSIZE - 1, &a) ||
	    rf_parse_u64(dash ? dash + 1 : lo, 0, CPU_SETSIZE - 1, &b) || b < a)
		return -EINVAL;
	for (; a <= b; a++)
		CPU_SET((int)a, set);
	return 0;
}

int rf_cpus_parse(const char *s, struct rf_cpus *ret)
{
	char buf[256], *rest, *item;
	cpu_set_t set;

	if (!s || !*s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	CPU_ZERO(&set);
	/* strsep keeps empty items: "1,,2" and "1," are mistakes. */
	for (rest = buf; (item = strsep(&rest, ","));)
		if (add_range(item, &set))
			return -EINVAL;
	ret->set = set;
	ret->given = true;
	return 0;
}

char *rf_cpus_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t off = 0;
	int c, end;

	buf[0] = 0;
	for (c = 0; c < CPU_SETSIZE && off < len; c++) {
		if (!CPU_ISSET(c, set))
			continue;
		for (end = c; end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set); end++)
			;
		off += (size_t)snprintf(buf + off, len - off, end > c ? "%s%d-%d" : "%s%d",
					off ? "," : "", c, end);
		c = end;
	}
	return buf;
}

int rf_cpus_check(const struct rf_cpus *cpus, int *ret_cpu, char *allowed, size_t len)
{
	cpu_set_t mine;
	int c;

	if (!cpus->given || sched_getaffinity(0, sizeof(mine), &mine))
		return 0;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cpus->set) && !CPU_ISSET(c, &mine)) {
			*ret_cpu = c;
			rf_cpus_format(&mine, allowed, len);
			return -EINVAL;
		}
	return 0;
}

int rf_cpus_nth(const struct rf_cpus *cpus, unsigned int n)
{
	int count = CPU_COUNT(&cpus->set), c;

	if (!cpus->given || !count)
		return -1;
	n %= (unsigned int)count;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cpus->set) && !n--)
			return c;
	return -1;
}

int rf_thread_start(pthread_t *ret_thread, const char *name, const cpu_set_t *cpus,
		    void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	char buf[16];
	int r;

	r = pthread_attr_init(&attr);
	if (r)
		return -r;
	/* Pinned from its first instruction: it never runs where it must not. */
	if (cpus)
		r = pthread_attr_setaffinity_np(&attr, sizeof(*cpus), cpus);
	if (!r)
		r = pthread_create(ret_thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	snprintf(buf, sizeof(buf), "%s", name);
	pthread_setname_np(*ret_thread, buf); /* only a name: nothing to undo if it fails */
	return 0;
}

void rf_thread_get_name(char *buf, size_t len)
{
	if (pthread_getname_np(pthread_self(), buf, len))
		snprintf(buf, len, "%s", "");
}

int rf_thread_name(const char *name)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%s", name); /* the kernel keeps 15 characters */
	return -pthread_setname_np(pthread_self(), buf);
}

int rf_thread_pin(const cpu_set_t *set)
{
	return -pthread_setaffinity_np(pthread_self(), sizeof(*set), set);
}
