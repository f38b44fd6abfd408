/* SPDX-License-Identifier: BSD-2-Clause */
/* Daemon operations: background start, cluster lock, pid file, log, privilege drop. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static int ready_fd = -1; /* write end of the pipe the starting process waits on */
static int log_fd = -1;
static char log_path[4096];
static bool stdio_is_log;

/* The starting process: exit with the daemon's verdict. */
static void __attribute__((noreturn)) wait_for_daemon(int rfd, pid_t child)
{
	unsigned char st = RF_EXIT_RUNTIME;
	ssize_t n;

	waitpid(child, NULL, 0);
	do
		n = read(rfd, &st, 1);
	while (n < 0 && errno == EINTR);
	_exit(n == 1 ? st : RF_EXIT_RUNTIME);
}

int rf_daemonize(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		wait_for_daemon(p[0], pid);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(RF_EXIT_RUNTIME);
	if (pid > 0)
		_exit(0); /* the daemon is not a session leader: it never gets a terminal */
	ready_fd = p[1];
	return 0;
}

static void redirect_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return;
	dup2(null, STDIN_FILENO);
	/* With a log file, what would go to a terminal goes there: -p's counters, errors. */
	if (log_fd >= 0) {
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		stdio_is_log = true;
	} else {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	close(null);
}

void rf_daemon_ready(void)
{
	unsigned char ok = 0;

	if (ready_fd < 0)
		return;
	if (chdir("/"))
		rf_log("cannot chdir to /: %s", strerror(errno));
	redirect_stdio();
	if (write(ready_fd, &ok, 1) != 1)
		rf_log("cannot report readiness: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

int rf_log_open(const char *path)
{
	int fd;

	if (strlen(path) >= sizeof(log_path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	strcpy(log_path, path);
	log_fd = fd;
	return 0;
}

int rf_log_reopen(void)
{
	int fd;

	if (log_fd < 0)
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	dup3(fd, log_fd, O_CLOEXEC);
	close(fd);
	if (stdio_is_log) {
		fflush(stdout);
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
	}
	return 0;
}

void rf_log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

void rf_log(const char *fmt, ...)
{
	char msg[1024], stamp[32], line[1200];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fd < 0) {
		fprintf(stderr, "ringfan: %s\n", msg);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s ringfan[%d]: %s\n", stamp, (int)getpid(), msg);
	if (n > 0 &&
	    write(log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		return; /* nowhere left to complain */
}

static pid_t read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	uint64_t v;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return rf_parse_u64(buf, 1, INT32_MAX, &v) ? 0 : (pid_t)v;
}

static void write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		rf_log("cannot write pid: %s", strerror(errno));
}

/* 1 if a write lock is held on fd's file (by a live balancer), 0 if not, or -errno. */
static int write_locked(int fd)
{
	/* A read lock conflicts only with write locks, so GETLK sees only those. */
	struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_OFD_GETLK, &l) < 0)
		return -errno;
	return l.l_type != F_UNLCK;
}

static int lock_fd(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}

/*
 * name in dirfd, opened and write-locked, and only ours: a regular file of
 * our user that nobody else can open (so nobody else can lock it). A file
 * that is not that (left by an older version with mode 0644, or read-locked
 * by someone who could open it then) is replaced: the directory is ours.
 * -EBUSY (with *ret_fd the open file, for its pid) if a balancer holds it.
 */
static int lock_private(int dirfd, const char *name, int *ret_fd, bool *ret_created)
{
	struct stat st;
	int attempt, fd, r;

	for (attempt = 0; attempt < 3; attempt++) {
		*ret_created = false;
		fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    0600);
			*ret_created = true;
		}
		if (fd < 0 && errno != EEXIST && errno != ELOOP)
			return -errno;
		r = fd < 0 ? -EPERM : fstat(fd, &st) < 0 ? -errno : 0;
		if (r == 0 &&
		    (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)))
			r = -EPERM;
		if (r == 0)
			r = lock_fd(fd);
		if (r == 0) {
			*ret_fd = fd;
			return 0;
		}
		if (r == -EBUSY && write_locked(fd) == 1) {
			*ret_fd = fd;
			return -EBUSY;
		}
		if (fd >= 0)
			close(fd);
		if (r != -EBUSY && r != -EPERM)
			return r;
		/* Not ours to trust, or locked by a reader: a new file of our own. */
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
	}
	return -EBUSY;
}

int rf_cluster_lock(const char *dir, uint32_t cluster, int *ret_fd, pid_t *ret_owner,
		    bool *ret_created)
{
	char name[32];
	int dirfd, fd = -1, r;

	snprintf(name, sizeof(name), "%u.lock", cluster);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = lock_private(dirfd, name, &fd, ret_created);
	close(dirfd);
	if (r == -EBUSY) {
		*ret_owner = read_pid(fd);
		close(fd);
		return r;
	}
	if (r < 0)
		return r;
	write_pid(fd);
	*ret_fd = fd;
	return 0;
}

void rf_cluster_lock_update(int fd)
{
	write_pid(fd);
}

/* The pid file's descriptor, write-locked for as long as we run. */
static int pidfile_fd = -1;

/*
 * The pid file: written under a temporary name, locked, then renamed over
 * the old one (never followed if a link). A running balancer is told by its
 * lock on the file, not by the pid in it: a stale pid that another process
 * took over, or a reader's lock, does not block a start.
 */
int rf_pidfile_write(const char *path, pid_t *ret_owner)
{
	char tmp[4200];
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (write_locked(fd) == 1) {
			*ret_owner = read_pid(fd);
			r = -EEXIST;
		}
		close(fd);
		if (r)
			return r;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = lock_fd(fd);
	if (r == 0) {
		write_pid(fd);
		r = fchmod(fd, 0644) || rename(tmp, path) ? -errno : 0;
	}
	if (r < 0) {
		unlink(tmp);
		close(fd);
		return r;
	}
	pidfile_fd = fd;
	return 0;
}

void rf_pidfile_remove(const char *path)
{
	struct stat a, b;

	if (pidfile_fd < 0)
		return;
	/* Only if the name is still our file (may fail after dropping root: harmless). */
	if (!fstat(pidfile_fd, &a) && !lstat(path, &b) && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		unlink(path);
	close(pidfile_fd);
	pidfile_fd = -1;
}

int rf_drop_privileges(const char *user)
{
	struct passwd *pw;
	uint64_t v;

	pw = rf_parse_u64(user, 0, UINT32_MAX - 1, &v) ? getpwnam(user) : getpwuid((uid_t)v);
	if (!pw)
		return -ENOENT;
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		return -errno;
	/* Paranoia: if root can be regained, the drop did not happen. */
	if (pw->pw_uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}

int rf_absolute_path(char *path, size_t len)
{
	char cwd[4096], tmp[8200];

	if (!path[0] || path[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path) >= len)
		return -ENAMETOOLONG;
	strcpy(path, tmp);
	return 0;
}
