/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Running the balancer as a service: background start that reports setup
 * failures to the starting shell, the cluster lock, pid file, log file
 * (reopened on SIGHUP) and dropping root.
 */
#ifndef RINGFAN_DAEMON_H
#define RINGFAN_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Go to the background (fork, setsid, fork). The starting process waits
 * until the daemon calls rf_daemon_ready() and exits 0, or exits 1 if the
 * daemon exits first (its setup messages went to the same stderr). Returns
 * 0 in the daemon, a negative errno if fork failed (still in the caller).
 */
int rf_daemonize(void);

/*
 * Setup is done: let the starting process exit 0, chdir to /, and point
 * stdin/stdout/stderr at /dev/null (stdout and stderr at the log file when
 * one is open: -p's counters go there). No-op when not daemonized.
 */
void rf_daemon_ready(void);

/* Open (append, create) the log file; messages of rf_log() go there. Returns 0 or -errno. */
int rf_log_open(const char *path);
/* Reopen the log file (after rotation, on SIGHUP). */
int rf_log_reopen(void);
void rf_log_close(void);
/* "2026-01-01T12:00:00Z ringfan[PID]: message" to the log file, else "ringfan: message" to stderr. */
void rf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Take the cluster lock DIR/CLUSTER.lock (an OFD lock: released by the
 * kernel when the process dies, so a stale file never blocks; on a file
 * only its owner can open, so no reader can hold it) and write our pid
 * into it. -EBUSY with *ret_owner = pid named in the file when another
 * balancer holds it. *ret_created tells whether the file was new.
 */
int rf_cluster_lock(const char *dir, uint32_t cluster, int *ret_fd, pid_t *ret_owner,
		    bool *ret_created);
/* Rewrite our pid into the lock file (after daemonizing changed it). */
void rf_cluster_lock_update(int fd);

/*
 * Write the pid file and hold a lock on it while we run; -EEXIST
 * (*ret_owner) if a running balancer holds it.
 */
int rf_pidfile_write(const char *path, pid_t *ret_owner);
/* Remove it if it is still ours. */
void rf_pidfile_remove(const char *path);

/*
 * setgroups/setgid/setuid to user (its primary group and supplementary
 * groups), then check root cannot come back. Returns 0 or -errno.
 */
int rf_drop_privileges(const char *user);

/* Make a relative path absolute against the current directory (before chdir /). */
int rf_absolute_path(char *path, size_t len);

#endif
