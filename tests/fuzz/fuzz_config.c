/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the balancer's config file and option parsers
 * (src/config.c), and queue names (rf_queue_name_parse(), which `ringfan
 * count -i` and the library use).
 *
 * Input: byte 0 is a control byte; bit 0 set: the rest is a config file
 * only (it may hold NUL bytes). Otherwise the rest is a config file up to
 * the first NUL, then argv words one per line (argv[0] is "balance"); a
 * first word that is not an option is replaced by the config file's path,
 * as `ringfan balance FILE [OPTIONS]` does.
 *
 * Checks: after any parse, successful or not, every count is within its
 * array and every string is terminated inside its buffer; a validated
 * config is complete and consistent; a config file that parses gives the
 * same struct as the equivalent command line (config.h promises it); queue
 * names parse as a plain reading of "[ringfan:]CLUSTER@QUEUE" says.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "flow.h"
#include "flowtable.h"
#include "source.h"
#include "util.h"

#define MAX_ARGS  64
#define MAX_INPUT 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cfg_dir[64], cfg_path[96];
static struct rf_config cfg_a, cfg_b;

static void cleanup(void)
{
	unlink(cfg_path);
	rmdir(cfg_dir);
}

static void init(void)
{
	/* The parsers report errors on stderr and --help on stdout: thousands of
	 * lines a second. libFuzzer and the sanitizers keep their own handles
	 * (file descriptor 2), so only the program's messages go away. */
	stdout = fopen("/dev/null", "w");
	stderr = fopen("/dev/null", "w");
	if (!stdout || !stderr)
		abort();
	/* tmpfs when there is one: rewriting a file on disk costs more than parsing it. */
	snprintf(cfg_dir, sizeof(cfg_dir), "/dev/shm/fuzz_config.XXXXXX");
	if (!mkdtemp(cfg_dir)) {
		snprintf(cfg_dir, sizeof(cfg_dir), "/tmp/fuzz_config.XXXXXX");
		if (!mkdtemp(cfg_dir))
			abort();
	}
	snprintf(cfg_path, sizeof(cfg_path), "%s/balance.conf", cfg_dir);
	atexit(cleanup);
}

static void write_file(const uint8_t *d, size_t n)
{
	int fd = open(cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

/*
 * glibc's getopt keeps a pointer into the previous argv when a parse stopped
 * inside a group of short options ("-hp"); optind = 0 is its full reset.
 * The balancer parses once per process; this target parses many times.
 */
static void reset_getopt(void)
{
	char arg0[] = "fuzz", *argv[] = {arg0, NULL};

	optind = 0;
	getopt(1, argv, "");
}

static bool terminated(const char *s, size_t len)
{
	return memchr(s, 0, len) != NULL;
}

static bool is_shunt(int kind)
{
	return kind == RF_RULE_SHUNT_PACKETS || kind == RF_RULE_SHUNT_BYTES;
}

/*
 * A shunt rule's text parses again to cut-offs of which value is the
 * largest, each within the kind's bound; the plain form gives every protocol
 * the same one.
 */
static void check_shunt(const struct rf_cfg_rule *r)
{
	uint64_t v[RF_FT_PROTOS], max = 0;
	int p;

	if (rf_config_parse_shunt(r->kind, r->text, v))
		abort();
	for (p = 0; p < RF_FT_PROTOS; p++) {
		if ((r->kind == RF_RULE_SHUNT_PACKETS && v[p] > UINT32_MAX) ||
		    (r->kind == RF_RULE_SHUNT_BYTES && v[p] > UINT64_MAX / 2) ||
		    (!strchr(r->text, '=') && v[p] != v[0]))
			abort();
		if (v[p] > max)
			max = v[p];
	}
	if (max != r->value)
		abort();
}

/*
 * Bounds that hold whatever the input was, even after a failed parse. The
 * group sum only after a successful one: a failed -n may leave its partial
 * list beside the previous count (the balancer exits on any error).
 */
static void check_bounds(const struct rf_config *c, bool parsed)
{
	uint32_t weights[RF_PLACE_BUCKETS];
	uint64_t total = 0;
	unsigned int i;

	if (c->n_sources > RF_CFG_MAX_SOURCES || c->n_groups > RF_CFG_MAX_GROUPS ||
	    c->n_queues > RF_CFG_MAX_QUEUES || c->n_egress > RF_CFG_MAX_EGRESS)
		abort();
	for (i = 0; i < c->n_sources; i++)
		if (!terminated(c->sources[i], sizeof(c->sources[i])) || !c->sources[i][0])
			abort();
	for (i = 0; i < c->n_groups; i++) {
		if (c->group_queues[i] < 1)
			abort();
		total += c->group_queues[i];
	}
	if (parsed && c->n_groups && total != c->n_queues)
		abort();
	for (i = 0; i < c->n_egress; i++)
		if (c->egress[i].queue > RF_MAX_QUEUE ||
		    !terminated(c->egress[i].target, sizeof(c->egress[i].target)) ||
		    !c->egress[i].target[0])
			abort();
	if (!terminated(c->pid_file, sizeof(c->pid_file)) ||
	    !terminated(c->log_file, sizeof(c->log_file)) ||
	    !terminated(c->user, sizeof(c->user)) || !terminated(c->dir, sizeof(c->dir)))
		abort();
	/* ring_size stays 0 until rf_config_validate() picks the default. */
	if ((c->ring_size && c->ring_size < (64 << 10)) || (c->ring_size & (c->ring_size - 1)) ||
	    c->capture_ring_size < (1 << 20) || (c->capture_ring_size & (c->capture_ring_size - 1)))
		abort();
	if (c->mode < 0 || c->mode >= RF_MODE__MAX || c->file_mode > 0777 || c->cluster > 65535)
		abort();
	if (c->rate_pps < 0 || c->speed < 0 || c->loops > UINT32_MAX)
		abort();
	if (c->n_rules > RF_CFG_MAX_RULES)
		abort();
	for (i = 0; i < c->n_rules; i++) {
		const struct rf_cfg_rule *r = &c->rules[i];

		if (r->kind < 0 || r->kind >= RF_RULE__MAX ||
		    !terminated(r->text, sizeof(r->text)) ||
		    !terminated(r->scope, sizeof(r->scope)))
			abort();
		if ((r->kind == RF_RULE_SNAPLEN && r->value > RF_STRIP_BUF) ||
		    (r->kind == RF_RULE_DEDUP && r->value > RF_DEDUP_MAX_US) ||
		    (r->kind == RF_RULE_STRIP && (r->value & ~(uint64_t)RF_STRIP_ALL)) ||
		    (r->kind == RF_RULE_PLACEMENT && r->value >= RF_PLACE__MAX) ||
		    (r->kind == RF_RULE_WEIGHTS &&
		     rf_weights_parse(r->text, weights, RF_PLACE_BUCKETS) <= 0) ||
		    (r->kind == RF_RULE_SHUNT_PACKETS && r->value > UINT32_MAX) ||
		    /* filters, weights and shunt cut-offs keep their text; no other rule has one */
		    (r->kind != RF_RULE_FILTER && r->kind != RF_RULE_WEIGHTS &&
		     !is_shunt(r->kind) && r->text[0]))
			abort();
		if (is_shunt(r->kind))
			check_shunt(r);
	}
}

/* What a successful parse promises on top of the bounds. */
static void check_valid(struct rf_config *c)
{
	check_bounds(c, true);
	if (c->rate_pps > 0 && c->speed > 0)
		abort();
	if (rf_config_validate(c) != 0)
		return;
	if (!c->n_sources || !c->have_cluster || !c->n_groups || !c->file_mode || !c->ring_size)
		abort();
	for (unsigned int i = 0; i < c->n_egress; i++) {
		if (c->egress[i].queue >= c->n_queues)
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (c->egress[j].queue == c->egress[i].queue)
				abort();
	}
	if (!rf_config_dir(c) || !*rf_config_dir(c))
		abort();
	/* Every rule names queues of the cluster; the rule a queue gets names it. */
	for (unsigned int i = 0; i < c->n_rules; i++)
		if (c->rules[i].first > c->rules[i].last || c->rules[i].last >= c->n_queues)
			abort();
	for (uint32_t q = 0; q < c->n_queues; q++)
		for (int k = 0; k < RF_RULE__MAX; k++) {
			const struct rf_cfg_rule *r = rf_config_rule(c, k, q);

			if (r && (r->kind != k || q < r->first || q > r->last))
				abort();
		}
	(void)rf_config_live_replay(c);
	/* --threads: one interface, a mode whose flows stay in one address pair, no table. */
	if (c->threads > RF_CFG_MAX_THREADS)
		abort();
	if (c->threads > 1 && (c->n_sources != 1 || rf_source_file(c->sources[0]) ||
			       !strncmp(c->sources[0], "afxdp:", 6) || c->mode == RF_MODE_VLAN ||
			       c->mode == RF_MODE_IFACE || rf_config_flow_table(c)))
		abort();
}

/* ------------------------------------------------------------------ */
/* Queue names                                                         */
/* ------------------------------------------------------------------ */

/* Digits only, at least one, up to end; the value saturates. */
static bool digits(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			v = UINT32_MAX + 1ull;
	}
	*ret = v;
	return true;
}

/* "[ringfan:]CLUSTER@QUEUE", read plainly; a syntax error wins over a range error. */
static int ref_name_parse(const char *s, uint32_t *cl, uint32_t *q)
{
	const char *at;
	uint64_t c, n;

	if (!strncmp(s, "ringfan:", 8))
		s += 8;
	at = strchr(s, '@');
	if (!at || !digits(s, at, &c) || !digits(at + 1, at + 1 + strlen(at + 1), &n))
		return -EINVAL;
	if (c > RF_MAX_CLUSTER || n > RF_MAX_QUEUE)
		return -ERANGE;
	*cl = (uint32_t)c;
	*q = (uint32_t)n;
	return 0;
}

static void check_name(const char *s)
{
	uint32_t c = UINT32_MAX, q = UINT32_MAX, rc = 0, rq = 0, c2, q2;
	int r = rf_queue_name_parse(s, &c, &q), ref = ref_name_parse(s, &rc, &rq);
	char buf[32];

	if (r != ref)
		abort();
	if (r < 0) {
		/* ret_* are written only on success. */
		if (c != UINT32_MAX || q != UINT32_MAX)
			abort();
		return;
	}
	if (c != rc || q != rq)
		abort();
	snprintf(buf, sizeof(buf), "%u@%u", c, q);
	if (rf_queue_name_parse(buf, &c2, &q2) || c2 != c || q2 != q)
		abort();
}

/* ------------------------------------------------------------------ */
/* Config file == command line                                         */
/* ------------------------------------------------------------------ */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* The text before a comment: '#' at the start or after a blank ("a#b" is a value). */
static void strip_comment(char *line)
{
	size_t i;

	for (i = 0; line[i]; i++)
		if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
			line[i] = 0;
			return;
		}
}

/*
 * The command line a config file stands for: "key value", "key=value" or
 * "key = value" becomes "--key" "value" ("-k value" stays "-k" "value");
 * comments go. argv points into text.
 */
static int file_to_argv(char *text, char **argv, char (*keys)[80])
{
	char *line, *save = NULL, *key, *val;
	int argc = 1, nk = 0;
	bool eq;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		strip_comment(line);
		key = trim(line);
		if (!*key)
			continue;
		val = key + strcspn(key, " \t=");
		eq = *val == '=';
		if (*val)
			*val++ = 0;
		val = trim(val);
		if (!eq && *val == '=')
			val = trim(val + 1);
		if (argc + 2 >= MAX_ARGS || strlen(key) + 3 > sizeof(keys[0]))
			return -1;
		if (key[0] == '-')
			argv[argc++] = key;
		else {
			snprintf(keys[nk], sizeof(keys[0]), "--%s", key);
			argv[argc++] = keys[nk++];
		}
		if (*val)
			argv[argc++] = val;
	}
	argv[argc] = NULL;
	return argc;
}

static void check_file_equals_args(const uint8_t *d, size_t n)
{
	static char text[MAX_INPUT + 1], keys[MAX_ARGS][80], arg0[] = "balance";
	char *argv[MAX_ARGS + 1];
	int argc;

	if (memchr(d, 0, n) || n > MAX_INPUT)
		return;
	memcpy(text, d, n);
	text[n] = 0;
	argv[0] = arg0;
	argc = file_to_argv(text, argv, keys);
	if (argc < 0)
		return;
	rf_config_init(&cfg_b);
	reset_getopt();
	if (rf_config_parse_args(&cfg_b, argc, argv) != 0 || memcmp(&cfg_a, &cfg_b, sizeof(cfg_a)))
		abort();
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

/* argv words one per line; argv[1] not an option is the config file. */
static void parse_words(const uint8_t *d, size_t n)
{
	static char text[MAX_INPUT + 1], arg0[] = "balance";
	char *argv[MAX_ARGS + 1], *w, *save = NULL;
	int argc = 1, r;

	memcpy(text, d, n);
	text[n] = 0;
	argv[0] = arg0;
	for (w = strtok_r(text, "\n", &save); w && argc < MAX_ARGS; w = strtok_r(NULL, "\n", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	for (int i = 1; i < argc; i++)
		check_name(argv[i]);
	if (argc > 1 && argv[1][0] != '-')
		argv[1] = cfg_path;
	rf_config_init(&cfg_a);
	reset_getopt();
	r = rf_config_parse_args(&cfg_a, argc, argv);
	if (r != 0 && r != -1 && r != RF_EXIT_USAGE && r != RF_EXIT_RUNTIME)
		abort();
	if (r == 0)
		check_valid(&cfg_a);
	else
		check_bounds(&cfg_a, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *file, *nul;
	size_t file_len;
	int r;

	if (!cfg_path[0])
		init();
	if (size < 1 || size > MAX_INPUT)
		return 0;
	file = data + 1;
	file_len = size - 1;
	nul = (data[0] & 1) ? NULL : memchr(file, 0, file_len);
	if (nul)
		file_len = (size_t)(nul - file);
	write_file(file, file_len);

	rf_config_init(&cfg_a);
	r = rf_config_parse_file(&cfg_a, cfg_path);
	if (r != 0 && r != RF_EXIT_USAGE)
		abort();
	if (r == 0) {
		check_file_equals_args(file, file_len);
		check_valid(&cfg_a);
	} else {
		check_bounds(&cfg_a, false);
	}
	if (nul)
		parse_words(nul + 1, size - 1 - file_len - 1);
	return 0;
}
