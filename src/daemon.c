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
static bool stderr_is_log;

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
	dup2(null, STDOUT_FILENO);
	if (log_fd >= 0) {
		dup2(log_fd, STDERR_FILENO);
		stderr_is_log = true;
	} else {
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
	if (stderr_is_log)
		dup2(log_fd, STDERR_FILENO);
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

int rf_cluster_lock(const char *dir, uint32_t cluster, int *ret_fd, pid_t *ret_owner,
		    bool *ret_created)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[4200];
	bool created = true;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%u.lock", dir, cluster);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_OFD_SETLK, &fl)) {
		r = -errno;
		if (r == -EAGAIN || r == -EACCES) {
			*ret_owner = read_pid(fd);
			r = -EBUSY;
		}
		close(fd);
		return r;
	}
	write_pid(fd);
	*ret_fd = fd;
	*ret_created = created;
	return 0;
}

void rf_cluster_lock_update(int fd)
{
	write_pid(fd);
}

/* Is pid a running ringfan process other than us? */
static bool other_ringfan(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0 || pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "ringfan", 7);
}

int rf_pidfile_write(const char *path, pid_t *ret_owner)
{
	pid_t owner;
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	owner = read_pid(fd);
	if (other_ringfan(owner)) {
		*ret_owner = owner;
		r = -EEXIST;
	} else {
		write_pid(fd);
	}
	close(fd);
	return r;
}

void rf_pidfile_remove(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (read_pid(fd) == getpid())
		unlink(path); /* may fail after dropping root: a stale pid file is harmless */
	close(fd);
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
