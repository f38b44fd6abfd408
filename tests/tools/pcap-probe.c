/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcap-probe: a small libpcap program (linked with libpcap only) that reads a
 * device the way Zeek, Suricata or tcpdump do, for the interposer's tests.
 *
 *   pcap-probe list                      print pcap_findalldevs() names
 *   pcap-probe MODE DEV OUT.pcap [OPTIONS]
 *
 * MODE:
 *   zeek       non-blocking; poll() on pcap_get_selectable_fd(), then
 *              pcap_next_ex() until it returns 0; -2 ends
 *   suricata   blocking with a read timeout; pcap_dispatch() with a count
 *   loop       pcap_loop(-1) until it returns (the end of a run)
 *   next       pcap_next_ex() until -2
 * OPTIONS: -n N stop after N packets; -c CNT dispatch count (suricata, 64);
 *   -f FILTER; -t MS read timeout (zeek: 1, as Zeek sets it; others 100);
 *   -b MS pcap_breakloop() from a SIGALRM handler after MS; -i MS (zeek)
 *   after the last packet, poll once more for MS and say whether the fd was
 *   readable.
 * Writes the packets to OUT.pcap (pcap_dump_open on the handle) and prints
 *   packets=N rc=R recv=X drop=Y dlt=NAME wakeups=W empty_wakeups=E idle_readable=I
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

struct probe {
	pcap_t *p;
	pcap_dumper_t *d;
	long packets, max, wakeups, empty_wakeups;
	int cnt, timeout_ms, idle_ms, idle_readable;
};

static pcap_t *breaker;

static void on_alarm(int sig)
{
	(void)sig;
	pcap_breakloop(breaker);
}

static void die(const char *what, pcap_t *p)
{
	fprintf(stderr, "pcap-probe: %s: %s\n", what, p ? pcap_geterr(p) : strerror(errno));
	exit(1);
}

static void got(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct probe *pr = (struct probe *)user;

	pcap_dump((u_char *)pr->d, h, data);
	pr->packets++;
}

static int done(const struct probe *pr)
{
	return pr->max > 0 && pr->packets >= pr->max;
}

/* Non-blocking, woken by the selectable fd: Zeek's main loop. */
static int run_zeek(struct probe *pr)
{
	struct pollfd pfd = {.events = POLLIN};
	struct pcap_pkthdr *h;
	const u_char *data;
	int r = 0, n;

	if (pcap_setnonblock(pr->p, 1, NULL) < 0)
		die("pcap_setnonblock", pr->p);
	pfd.fd = pcap_get_selectable_fd(pr->p);
	if (pfd.fd < 0)
		die("pcap_get_selectable_fd", pr->p);
	while (!done(pr)) {
		if (poll(&pfd, 1, 10000) <= 0)
			die("poll: nothing for 10 s", NULL);
		pr->wakeups++;
		for (n = 0; !done(pr) && (r = pcap_next_ex(pr->p, &h, &data)) == 1; n++)
			got((u_char *)pr, h, data);
		if (n == 0)
			pr->empty_wakeups++;
		if (r < 0)
			return r;
	}
	if (pr->idle_ms) {
		/* Read to the end (the fd is readable until the queue is found empty). */
		while ((r = pcap_next_ex(pr->p, &h, &data)) == 1)
			got((u_char *)pr, h, data);
		pr->idle_readable = poll(&pfd, 1, pr->idle_ms) > 0;
	}
	return r;
}

/* Blocking with a read timeout, a count per call: Suricata's pcap mode. */
static int run_suricata(struct probe *pr)
{
	int r = 0;

	while (!done(pr)) {
		r = pcap_dispatch(pr->p, pr->cnt, got, (u_char *)pr);
		pr->wakeups++;
		if (r == 0)
			pr->empty_wakeups++;
		if (r < 0)
			break;
	}
	return r;
}

static int run_next(struct probe *pr)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r;

	while (!done(pr) && (r = pcap_next_ex(pr->p, &h, &data)) >= 0)
		if (r == 1)
			got((u_char *)pr, h, data);
	return done(pr) ? 1 : r;
}

static pcap_t *open_dev(const char *dev, const struct probe *pr, const char *filter)
{
	char err[PCAP_ERRBUF_SIZE];
	struct bpf_program prog;
	pcap_t *p = pcap_create(dev, err);

	if (!p) {
		fprintf(stderr, "pcap-probe: %s\n", err);
		exit(1);
	}
	pcap_set_snaplen(p, 262144);
	pcap_set_timeout(p, pr->timeout_ms);
	if (pcap_activate(p) < 0)
		die("pcap_activate", p);
	if (filter) {
		if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
			die("pcap_compile", p);
		if (pcap_setfilter(p, &prog) < 0)
			die("pcap_setfilter", p);
		pcap_freecode(&prog);
	}
	return p;
}

static int list(void)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *all, *d;

	if (pcap_findalldevs(&all, err) < 0) {
		fprintf(stderr, "pcap-probe: %s\n", err);
		return 1;
	}
	for (d = all; d; d = d->next)
		printf("%s\t%s\n", d->name, d->description ? d->description : "");
	pcap_freealldevs(all);
	return 0;
}

int main(int argc, char **argv)
{
	struct probe pr = {.cnt = 64, .timeout_ms = -1};
	const char *filter = NULL, *mode;
	struct pcap_stat st = {0};
	int opt, r, brk_ms = 0;

	if (argc == 2 && !strcmp(argv[1], "list"))
		return list();
	if (argc < 4) {
		fprintf(stderr, "usage: pcap-probe list | MODE DEV OUT.pcap [-n N] [-c CNT] "
				"[-f FILTER] [-t MS] [-b MS] [-i MS]\n");
		return 2;
	}
	mode = argv[1];
	optind = 4;
	while ((opt = getopt(argc, argv, "n:c:f:t:b:i:")) != -1) {
		switch (opt) {
		case 'n':
			pr.max = atol(optarg);
			break;
		case 'c':
			pr.cnt = atoi(optarg);
			break;
		case 'f':
			filter = optarg;
			break;
		case 't':
			pr.timeout_ms = atoi(optarg);
			break;
		case 'b':
			brk_ms = atoi(optarg);
			break;
		case 'i':
			pr.idle_ms = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (pr.timeout_ms < 0)
		pr.timeout_ms = !strcmp(mode, "zeek") ? 1 : 100;
	pr.p = open_dev(argv[2], &pr, filter);
	pr.d = pcap_dump_open(pr.p, argv[3]);
	if (!pr.d)
		die("pcap_dump_open", pr.p);
	if (brk_ms) {
		struct itimerval it = {.it_value = {brk_ms / 1000, (brk_ms % 1000) * 1000}};

		breaker = pr.p;
		signal(SIGALRM, on_alarm);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	if (!strcmp(mode, "zeek"))
		r = run_zeek(&pr);
	else if (!strcmp(mode, "suricata"))
		r = run_suricata(&pr);
	else if (!strcmp(mode, "loop"))
		r = pcap_loop(pr.p, (int)pr.max, got, (u_char *)&pr);
	else if (!strcmp(mode, "next"))
		r = run_next(&pr);
	else
		return 2;
	if (pcap_stats(pr.p, &st) < 0)
		die("pcap_stats", pr.p);
	pcap_dump_close(pr.d);
	printf("packets=%ld rc=%d recv=%u drop=%u dlt=%s wakeups=%ld empty_wakeups=%ld "
	       "idle_readable=%d\n",
	       pr.packets, r, st.ps_recv, st.ps_drop,
	       pcap_datalink_val_to_name(pcap_datalink(pr.p)), pr.wakeups, pr.empty_wakeups,
	       pr.idle_readable);
	pcap_close(pr.p);
	return r == PCAP_ERROR ? 1 : 0;
}
