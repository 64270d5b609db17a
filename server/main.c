/*
 * main.c -- tandemd: command line, daemon life cycle, signals.
 *
 * Start-up, in this order (NSD's): read the config; create the storage
 * directory; bind every socket (so that any error is reported before going
 * to the background); go to the background (-d, which opens syslog);
 * create the control socket; write the pidfile. Everything that needs root
 * is done by then, so tandemd chroots (chroot:) and switches to user: for
 * good, and only then loads the zones -- as it will reload them -- and
 * starts the workers. The main thread then waits for signals: SIGHUP
 * reloads the zone files, SIGTERM and SIGINT stop the server.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dns/error.h"
#include "dns/dname.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "server/answer.h"
#include "server/conf.h"
#include "server/control.h"
#include "server/log.h"
#include "server/request.h"
#include "server/worker.h"
#include "server/zones.h"
#include "zonedb/zonedb.h"

#define URCU_INLINE_SMALL_FUNCTIONS
#include <urcu-qsbr.h>

#define DEFAULT_CONF "/etc/tandem/tandemd.conf"

struct options {
	const char *conf_path;
	bool daemonize;
	bool check_only;
};

/* Everything the running server owns. */
struct server {
	struct conf *conf;          /* replaced by reconfig */
	const char *conf_path;
	struct logger log;
	struct zones *zones;        /* replaced by reconfig */
	/* What the workers answer with, made from conf, zones and cookies
	 * and pointing into them; replaced whole with them by reconfig (RCU:
	 * the workers read it). */
	struct worker_live *live;
	struct cookie_secrets *cookies; /* what live->answer.cookies is */
	int notify_pipe[2];         /* workers -> main: NOTIFYs received */
	struct event *notify_ev;
	struct control *control;
	time_t started;
	struct worker_stats stats_base; /* "stats reset" */
	struct worker **workers;
	unsigned nworkers;
	struct event_base *base;
	bool dropped;	    /* runs as user: now; cannot bind any more */
	char *pidfile;	    /* ours, to remove at exit; NULL: none, or out
			       of reach of the chroot */
	char *control_path; /* the control socket as seen now (chroot) */
	dev_t control_dev;  /* and the one we created, to remove only it */
	ino_t control_ino;
	int ready_fd; /* -d: tells the waiting parent we run */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tandemd [-c FILE] [-d] [-t] [-V] [-h]\n"
		"  -c FILE  configuration file (default " DEFAULT_CONF ")\n"
		"  -d       run in the background (logs go to syslog)\n"
		"  -t       check the configuration and every zone file, "
		"then exit\n"
		"  -V       print the version and exit\n"
		"  -h       print this help and exit\n");
}

/* Config errors: "file:line: message" on stderr. */
static void conf_error(void *arg, const char *file, unsigned long line,
		       const char *msg)
{
	if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int c;
	o->conf_path = DEFAULT_CONF;
	while ((c = getopt(argc, argv, "c:dtVh")) != -1) {
		switch (c) {
		case 'c':
			o->conf_path = optarg;
			break;
		case 'd':
			o->daemonize = true;
			break;
		case 't':
			o->check_only = true;
			break;
		case 'V':
			printf("tandemd %s\n", TANDEM_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Goes to the background: fork, new session, stdio on /dev/null. The
 * parent waits until the child reports that it serves (see tell_ready)
 * and exits 0, or 1 when the child died first, so that "tandemd -d"
 * fails visibly. Returns 0 in the child. */
static int daemonize(struct server *s)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_error(&s->log, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error(&s->log, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		char c = 0;
		ssize_t n;
		do {
			n = read(fds[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == '1' ? 0 : 1);
	}
	close(fds[0]);
	s->ready_fd = fds[1];
	if (setsid() < 0) {
		log_error(&s->log, "setsid: %s", strerror(errno));
		return -1;
	}
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_open_syslog(&s->log, "tandemd");
	return 0;
}

static int write_pidfile(struct server *s)
{
	const char *path = s->conf->pidfile;
	if (path == NULL)
		return 0;
	/* Written to a temporary name and renamed, so a reader never sees
	 * a partial file. */
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		log_error(&s->log, "cannot write pidfile %s: %s", path,
			  strerror(errno));
		unlink(tmp);
		return -1;
	}
	s->pidfile = strdup(path);
	if (s->pidfile == NULL) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* ---- privileges ---- */

static const char *on_control(void *arg, int argc, char **argv,
			      struct control_reply *r);

static bool trusted_uid(const struct conf *c, uid_t uid)
{
	return uid == 0 || (c->user.text != NULL && uid == c->user.uid);
}

static bool trusted_gid(const struct conf *c, gid_t gid)
{
	return gid == 0 || (c->user.text != NULL && gid == c->user.gid);
}

/* One chain of storage_unsafe: `path` and each directory above it up to
 * "/", looked at with stat (follow) or lstat. */
static bool chain_unsafe(const struct conf *c, const char *storage,
			 const char *path, bool follow, char *why, size_t len)
{
	char dir[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(dir) || path[0] != '/') {
		snprintf(why, len, "storage %s: not an absolute path", storage);
		return true;
	}
	memcpy(dir, path, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	const char *owner = c->user.text ? " or the user tandemd runs as" : "";
	/* At most one step per component of a path of PATH_MAX bytes. */
	for (int depth = 0; depth < PATH_MAX / 2; depth++) {
		bool first = depth == 0;
		struct stat st;
		if ((follow ? stat(dir, &st) : lstat(dir, &st)) != 0) {
			snprintf(why, len, "storage %s: %s: %s", storage, dir,
				 strerror(errno));
			return true;
		}
		if (first && follow && !S_ISDIR(st.st_mode)) {
			snprintf(why, len, "storage %s: not a directory",
				 storage);
			return true;
		}
		/* A sticky directory (/tmp) lets no one rename or remove
		 * what others own in it; never the storage itself, where
		 * others could still create files under our names. */
		bool sticky = !first && (st.st_mode & S_ISVTX);
		if (!trusted_uid(c, st.st_uid)) {
			snprintf(why, len,
				 "storage %s: %s is owned by uid %u, "
				 "not by root%s: its owner could replace the "
				 "journals and the stored zone copies",
				 storage, dir, (unsigned)st.st_uid, owner);
			return true;
		}
		if (S_ISDIR(st.st_mode) && !sticky &&
		    ((st.st_mode & S_IWOTH) ||
		     ((st.st_mode & S_IWGRP) && !trusted_gid(c, st.st_gid)))) {
			snprintf(why, len,
				 "storage %s: %s is writable by %s "
				 "(mode %04o): a local user could replace the "
				 "journals and the stored zone copies; "
				 "chmod go-w %s",
				 storage, dir,
				 (st.st_mode & S_IWOTH) ? "others"
							: "its group",
				 (unsigned)(st.st_mode & 07777), dir);
			return true;
		}
		if (strcmp(dir, "/") == 0)
			return false;
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	snprintf(why, len, "storage %s: path too deep", storage);
	return true;
}

/* For a server started as root: is the storage directory safe from local
 * users? Like sshd's StrictModes: the directory and every one above it,
 * as written (symbolic links included) and as resolved, must be owned by
 * root (or user:) and not writable by others, nor by a group other than
 * root's (or user:'s group); a sticky directory such as /tmp is fine above
 * the storage. Returns false, or true with the reason in why. */
static bool storage_unsafe(const struct conf *c, const char *storage, char *why,
			   size_t len)
{
	if (chain_unsafe(c, storage, storage, false, why, len))
		return true;
	char *real = realpath(storage, NULL);
	if (real == NULL) {
		snprintf(why, len, "storage %s: %s", storage, strerror(errno));
		return true;
	}
	bool bad = chain_unsafe(c, storage, real, true, why, len);
	free(real);
	return bad;
}

/* Once running as user:, can tandemd write what it writes after the
 * drop: the storage directory and the files already in it (journals are
 * appended to in place), and the directory of each secondary's copy?
 * Returns false, or true with the reason in why. */
static bool not_writable(const struct conf *c, char *why, size_t len)
{
	const char *who = c->user.text;
	struct stat st;
	if (c->storage != NULL) {
		if (access(c->storage, R_OK | W_OK | X_OK) != 0) {
			int e = errno;
			if (stat(c->storage, &st) == 0)
				snprintf(why, len,
					 "storage %s is not writable by "
					 "user %s (owner uid %u, mode %04o): "
					 "chown it to that user",
					 c->storage, who, (unsigned)st.st_uid,
					 (unsigned)(st.st_mode & 07777));
			else
				snprintf(why, len, "storage %s: %s", c->storage,
					 strerror(e));
			return true;
		}
		DIR *d = opendir(c->storage);
		if (d == NULL) {
			snprintf(why, len, "storage %s: %s", c->storage,
				 strerror(errno));
			return true;
		}
		bool bad = false;
		struct dirent *de;
		while (!bad && (de = readdir(d)) != NULL) {
			if (fstatat(dirfd(d), de->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode) ||
			    faccessat(dirfd(d), de->d_name, R_OK | W_OK, 0) ==
				0)
				continue;
			snprintf(why, len,
				 "storage file %s/%s is not writable "
				 "by user %s (owner uid %u, mode %04o): chown "
				 "the storage's files to that user",
				 c->storage, de->d_name, who,
				 (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777));
			bad = true;
		}
		closedir(d);
		if (bad)
			return true;
	}
	for (size_t i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];
		if (!z->xfr.secondary || z->file == NULL)
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", z->file);
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else
			slash[slash == dir ? 1 : 0] = '\0';
		if (access(dir, W_OK | X_OK) != 0) {
			snprintf(why, len,
				 "zone %s: %s, where its transferred "
				 "copy is written, is not writable by user %s: "
				 "%s",
				 z->name, dir, who, strerror(errno));
			return true;
		}
	}
	return false;
}

/* Creates the storage directory when missing (owned by user: when set)
 * and, when started as root, refuses one that local users could change.
 * Returns 0 or -1 (logged). */
static int prepare_storage(struct server *s)
{
	const struct conf *c = s->conf;
	if (c->storage == NULL)
		return 0;
	bool root = geteuid() == 0;
	if (mkdir(c->storage, 0750) == 0) {
		if (root && c->user.text != NULL &&
		    chown(c->storage, c->user.uid, c->user.gid) != 0) {
			log_error(&s->log, "storage %s: chown to user %s: %s",
				  c->storage, c->user.text, strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		log_error(&s->log, "storage %s: %s", c->storage,
			  strerror(errno));
		return -1;
	}
	char why[PATH_MAX + 512];
	if (root && storage_unsafe(c, c->storage, why, sizeof(why))) {
		log_error(&s->log, "%s", why);
		return -1;
	}
	return 0;
}

/* Creates the control socket. Under user: it is handed to that user, so
 * that tandemctl run as the user may connect (a UNIX socket needs write
 * permission) and the server can remove it at stop. Returns 0 or -1
 * (logged). */
static int open_control(struct server *s)
{
	const struct conf *c = s->conf;
	if (c->control == NULL)
		return 0;
	int r = control_open(s->base, c->control, c->control_mode, on_control,
			     s, &s->control);
	if (r != 0) {
		log_error(&s->log, "control socket %s: %s", c->control,
			  r == ERR_EXISTS ? "another tandemd is listening there"
					  : strerror(errno));
		return -1;
	}
	struct stat st;
	if (stat(c->control, &st) == 0) {
		s->control_dev = st.st_dev;
		s->control_ino = st.st_ino;
	}
	if (c->user.text != NULL && geteuid() == 0 &&
	    chown(c->control, c->user.uid, c->user.gid) != 0) {
		log_error(&s->log, "control socket %s: chown to user %s: %s",
			  c->control, c->user.text, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes the control socket we created when it is still there, seen
 * from inside the chroot (control_close looks for it at its outer path). */
static void remove_control(struct server *s)
{
	struct stat st;
	if (s->control_path != NULL && stat(s->control_path, &st) == 0 &&
	    st.st_dev == s->control_dev && st.st_ino == s->control_ino)
		unlink(s->control_path);
	free(s->control_path);
	s->control_path = NULL;
}

/* chroot: and user:, once everything that needs root is done: chroot,
 * then the supplementary groups, the group and the user -- the user last,
 * as changing it gives up the right to change the others -- and a check
 * that none of it can be undone. Returns 0 or -1 (logged): tandemd never
 * goes on as root when told to run as someone else. */
static int drop_privileges(struct server *s)
{
	struct conf *c = s->conf;
	const struct conf_user *u = &c->user;
	bool root = geteuid() == 0;
	if (c->chroot != NULL) {
		if (!root) {
			log_error(&s->log,
				  "chroot %s: tandemd must be started "
				  "as root to chroot",
				  c->chroot);
			return -1;
		}
		if (chroot(c->chroot) != 0 || chdir("/") != 0) {
			log_error(&s->log, "chroot %s: %s", c->chroot,
				  strerror(errno));
			return -1;
		}
		conf_enter_chroot(c);
		if (s->pidfile != NULL && c->pidfile == NULL) {
			free(s->pidfile); /* out of reach now */
			s->pidfile = NULL;
		} else if (s->pidfile != NULL) {
			memmove(s->pidfile, c->pidfile, strlen(c->pidfile) + 1);
		}
		if (u->text == NULL)
			log_warning(&s->log,
				    "chroot %s without user: a process "
				    "running as root can leave a chroot",
				    c->chroot);
		log_info(&s->log, "chroot %s", c->chroot);
	}
	if (c->control != NULL && s->control != NULL &&
	    (s->control_path = strdup(c->control)) == NULL) {
		log_error(&s->log, "out of memory");
		return -1;
	}
	if (u->text == NULL)
		return 0;
	if (!root) {
		/* Already that user (started by a service manager as it):
		 * nothing to drop. */
		uid_t ru, eu, su;
		gid_t rg, eg, sg;
		if (getresuid(&ru, &eu, &su) == 0 &&
		    getresgid(&rg, &eg, &sg) == 0 && ru == u->uid &&
		    eu == u->uid && su == u->uid && rg == u->gid &&
		    eg == u->gid && sg == u->gid)
			return 0;
		log_error(&s->log,
			  "user %s: tandemd must be started as root to "
			  "switch to it (it runs as uid %u)",
			  u->text, (unsigned)geteuid());
		return -1;
	}
	if (setgroups(u->ngroups, u->groups) != 0) {
		log_error(&s->log, "user %s: setgroups: %s", u->text,
			  strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) != 0) {
		log_error(&s->log, "user %s: setgid %u: %s", u->text,
			  (unsigned)u->gid, strerror(errno));
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) != 0) {
		log_error(&s->log, "user %s: setuid %u: %s", u->text,
			  (unsigned)u->uid, strerror(errno));
		return -1;
	}
	/* Real, effective and saved ids all changed (the file-system ids
	 * follow the effective ones), no root group left, and no way back. */
	uid_t ru = (uid_t)-1, eu = ru, su = ru;
	gid_t rg = (gid_t)-1, eg = rg, sg = rg;
	gid_t *groups = malloc((u->ngroups + 1) * sizeof(*groups));
	int ng = groups ? getgroups((int)u->ngroups + 1, groups) : -1;
	bool rootgroup = ng < 0 || (size_t)ng != u->ngroups;
	for (int i = 0; i < ng; i++)
		rootgroup |= groups[i] == 0;
	free(groups);
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != u->uid || eu != u->uid || su != u->uid || rg != u->gid ||
	    eg != u->gid || sg != u->gid || rootgroup || setuid(0) == 0 ||
	    seteuid(0) == 0 || setgid(0) == 0) {
		log_error(&s->log,
			  "user %s: the switch did not hold (uids "
			  "%u/%u/%u, gids %u/%u/%u, or groups)",
			  u->text, (unsigned)ru, (unsigned)eu, (unsigned)su,
			  (unsigned)rg, (unsigned)eg, (unsigned)sg);
		return -1;
	}
	s->dropped = true;
	log_info(&s->log, "running as user %s (uid %u, gid %u, %zu groups)",
		 u->text, (unsigned)u->uid, (unsigned)u->gid, u->ngroups);
	char why[PATH_MAX + 512];
	if (not_writable(c, why, sizeof(why))) {
		log_error(&s->log, "%s", why);
		return -1;
	}
	return 0;
}

/* Releases the parent of daemonize(). */
static void tell_ready(struct server *s)
{
	if (s->ready_fd < 0)
		return;
	ssize_t n;
	do {
		n = write(s->ready_fd, "1", 1);
	} while (n < 0 && errno == EINTR);
	close(s->ready_fd);
	s->ready_fd = -1;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	log_info(&s->log, "signal %d: stopping", (int)sig);
	event_base_loopbreak(s->base);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	log_info(&s->log, "SIGHUP: reloading zones");
	int failed = zones_reload(s->zones, NULL, NULL, 0);
	if (failed > 0)
		log_warning(&s->log, "%d zone(s) failed to reload", failed);
}

/* NOTIFYs that workers accepted, handed over through the pipe. */
static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	for (int i = 0; i < 64; i++) {
		struct request_notify rn;
		ssize_t n = read(fd, &rn, sizeof(rn));
		if (n != sizeof(rn))
			return;
		rn.from[sizeof(rn.from) - 1] = '\0';
		struct zonedb_entry *e = zonedb_get(&s->zones->db, rn.apex);
		struct server_zone *sz = e ? e->data : NULL;
		if (sz && sz->xfrd)
			xfrd_zone_notified(sz->xfrd, rn.from);
	}
}

/* ---- control commands ---- */

static struct server_zone *arg_zone(struct server *s, int argc, char **argv,
				    struct control_reply *r, const char **err)
{
	if (argc < 2) {
		*err = control_error(r, "%s needs a zone name", argv[0]);
		return NULL;
	}
	struct server_zone *sz = zones_find(s->zones, argv[1]);
	if (sz == NULL)
		*err = control_error(r, "no zone %s", argv[1]);
	return sz;
}

static void zone_status(struct server *s, struct server_zone *sz,
			struct control_reply *r)
{
	struct zone_version *v = sz->entry->version;
	char when[32] = "-";
	if (sz->loaded_at) {
		struct tm tm;
		gmtime_r(&sz->loaded_at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	control_printf(r, "zone: %s", sz->entry->name);
	if (v)
		control_printf(r, "serial: %u", v->serial);
	else
		control_printf(r, "serial: -");
	control_printf(r, "loaded-at: %s", when);
	control_printf(r, "file: %s", sz->conf->file ? sz->conf->file : "-");
	if (sz->error[0])
		control_printf(r, "state: error: %s", sz->error);
	else if (v == NULL)
		control_printf(r, "state: not loaded");
	else
		control_printf(r, "state: ok");
	if (sz->xfrd) {
		char buf[2048];
		xfrd_zone_status(sz->xfrd, buf, sizeof(buf));
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			control_printf(r, "%s", line);
	}
}

/* The cookie secrets of a config, or (none configured) `keep` when
 * there is one, else a random one: cookies work out of the box (a
 * server set that shares cookies configures the same secret on each). */
static struct cookie_secrets *cookie_secrets_of(const struct conf *c,
						struct cookie_secrets *keep)
{
	if (c->ncookie_secrets == 0 && keep != NULL)
		return keep;
	size_t n = c->ncookie_secrets ? c->ncookie_secrets : 1;
	struct cookie_secrets *cs =
		malloc(sizeof(*cs) + n * sizeof(cs->secret[0]));
	if (cs == NULL)
		return NULL;
	cs->n = n;
	if (c->ncookie_secrets == 0)
		randombytes_buf(cs->secret[0], COOKIE_SECRET_LEN);
	else
		memcpy(cs->secret, c->cookie_secrets, n * sizeof(cs->secret[0]));
	return cs;
}

static void cookie_secrets_free(struct cookie_secrets *cs)
{
	if (cs == NULL)
		return;
	sodium_memzero(cs->secret, cs->n * sizeof(cs->secret[0]));
	free(cs);
}

/* The workers' settings (struct worker_live) from config c, zones and
 * cookie secrets, into which it points: it must not outlive them. NULL on
 * ENOMEM. Freed with free(). */
static struct worker_live *live_new(struct server *s, struct conf *c,
				    struct zones *zones,
				    const struct cookie_secrets *cookies)
{
	struct worker_live *lv = calloc(1, sizeof(*lv));
	if (lv == NULL)
		return NULL;
	lv->answer = (struct answer_conf){
	    .zonedb = &zones->db,
	    .edns_size = c->edns_buffer_size,
	    .identity = c->identity,
	    .version = c->version,
	    .nsid = c->nsid_len ? c->nsid : NULL,
	    .nsid_len = c->nsid_len,
	    .cookies = cookies,
	    .cookie_require = c->cookie_require,
	    .rrl = {
		.rate = c->rrl_rate,
		.slip = c->rrl_slip,
		.ipv4_prefix = c->rrl_ipv4_prefix,
		.ipv6_prefix = c->rrl_ipv6_prefix,
		.exempt = c->rrl_exempt,
		.nexempt = c->nrrl_exempt,
	    },
	};
	lv->request = (struct request_env){
	    .answer = &lv->answer,
	    .conf = c,
	    .log = &s->log,
	    .notify_fd = s->notify_pipe[1],
	};
	lv->tcp_idle_timeout = c->tcp_idle_timeout;
	lv->tcp_max_time = c->tcp_max_time;
	lv->tcp_max_message_size = c->tcp_max_message_size;
	return lv;
}

/* The control socket's limits from the config. */
static void control_limits(struct server *s, const struct conf *c)
{
	if (s->control == NULL)
		return;
	control_set_timeout(s->control, c->control_timeout * 1000);
	control_set_limits(s->control, c->control_max_request,
			   c->control_max_clients);
}

static void sum_stats(struct server *s, struct worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < s->nworkers; i++)
		worker_stats_add(out, s->workers[i]);
}



/* Config errors for the control client: every one, as file:line. */
struct conf_errors {
	struct control_reply *r;
	int count;
};

static void reconfig_error(void *arg, const char *file, unsigned long line,
			   const char *msg)
{
	struct conf_errors *ce = arg;
	ce->count++;
	if (line > 0)
		control_printf(ce->r, "%s:%lu: %s", file, line, msg);
	else
		control_printf(ce->r, "%s: %s", file, msg);
}

static bool same_listens(const struct conf *a, const struct conf *b)
{
	if (a->nlistens != b->nlistens || a->workers != b->workers)
		return false;
	for (size_t i = 0; i < a->nlistens; i++)
		if (strcmp(a->listens[i].text, b->listens[i].text) != 0)
			return false;
	return true;
}

/* Re-reads the config: zones and keys added, removed and changed at once,
 * with the zones kept as they are served. Nothing changes when the new
 * config has an error. */
static const char *reconfig(struct server *s, struct control_reply *r)
{
	struct conf *conf = calloc(1, sizeof(*conf));
	struct zones *zones = calloc(1, sizeof(*zones));
	if (conf == NULL || zones == NULL) {
		free(conf);
		free(zones);
		return "out of memory";
	}
	struct conf_errors ce = { .r = r };
	/* The file as found at start-up, from inside the chroot if any;
	 * user: and chroot: cannot change. */
	int ret = conf_reload(s->conf, conf, reconfig_error, &ce);
	if (ret != 0) {
		conf_free(conf);
		free(conf);
		free(zones);
		return control_error(r, "%s: %d error(s); nothing changed",
				     s->conf_path, ce.count ? ce.count : 1);
	}
	const char *e = NULL;
	char why[PATH_MAX + 512];
	if (s->dropped && !same_listens(s->conf, conf))
		e = control_error(r,
				  "listen or workers changed, but tandemd "
				  "runs as user %s and can no longer bind "
				  "sockets: restart it to apply; nothing "
				  "changed",
				  conf->user.text);
	else if (conf->storage && mkdir(conf->storage, 0750) != 0 &&
		 errno != EEXIST)
		e = control_error(r, "storage %s: %s; nothing changed",
				  conf->storage, strerror(errno));
	else if (conf->storage && geteuid() == 0 &&
		 storage_unsafe(conf, conf->storage, why, sizeof(why)))
		e = control_error(r, "%s; nothing changed", why);
	else if (s->dropped && not_writable(conf, why, sizeof(why)))
		e = control_error(r, "%s; nothing changed", why);
	/* Cookie secrets follow the config (rotation); without any, the
	 * random one stays. */
	struct cookie_secrets *old_cookies = s->cookies;
	struct cookie_secrets *cookies = NULL;
	struct worker_live *live = NULL;
	if (e == NULL &&
	    ((cookies = cookie_secrets_of(conf, old_cookies)) == NULL ||
	     (live = live_new(s, conf, zones, cookies)) == NULL))
		e = "out of memory; nothing changed";
	int failed =
	    e == NULL ? zones_load(zones, conf, &s->log, s->base, s->zones) : 0;
	if (e == NULL && failed < 0) {
		zones_clear(zones);
		e = "out of memory; nothing changed";
	}
	if (e != NULL) {
		if (cookies != old_cookies)
			cookie_secrets_free(cookies);
		free(live);
		conf_free(conf);
		free(conf);
		free(zones);
		return e;
	}
	/* Publish, wait until no worker can see the old ones, free them.
	 * Everything the workers use changes at once: zones, keys, cookie
	 * secrets and cookie-require, rate limiting, identity, version,
	 * NSID, EDNS size, the TCP timeouts and message size. */
	struct zones *old_zones = s->zones;
	struct conf *old_conf = s->conf;
	struct worker_live *old_live = s->live;
	s->cookies = cookies;
	rcu_assign_pointer(s->live, live);
	synchronize_rcu();
	if (cookies != old_cookies)
		cookie_secrets_free(old_cookies);
	free(old_live);
	s->zones = zones;
	s->conf = conf;
	zones_clear(old_zones);
	free(old_zones);
	control_limits(s, conf);
	if (!same_listens(old_conf, conf))
		control_printf(r, "note: listen and workers changes need a restart");
	/* The workers' connection slots are made at start. */
	if (old_conf->tcp_max_clients != conf->tcp_max_clients ||
	    old_conf->tcp_max_clients_per_worker !=
		conf->tcp_max_clients_per_worker)
		control_printf(r, "note: tcp-max-clients and "
			       "tcp-max-clients-per-worker changes need a "
			       "restart");
	conf_free(old_conf);
	free(old_conf);
	zones_start(zones);
	log_info(&s->log, "reconfig: %zu zones", zones->nzones);
	control_printf(r, "zones: %zu", zones->nzones);
	if (failed > 0)
		return control_error(r, "%d zone(s) failed to load and answer "
				     "SERVFAIL; see zonestatus", failed);
	return NULL;
}

static const char *on_control(void *arg, int argc, char **argv,
			      struct control_reply *r)
{
	struct server *s = arg;
	const char *cmd = argv[0];
	const char *err = NULL;
	if (strcmp(cmd, "status") == 0) {
		control_printf(r, "version: tandem %s", TANDEM_VERSION);
		control_printf(r, "uptime: %lld", (long long)(time(NULL) - s->started));
		control_printf(r, "workers: %u", s->nworkers);
		control_printf(r, "zones: %zu", s->zones->nzones);
		return NULL;
	}
	if (strcmp(cmd, "reload") == 0) {
		char errs[1024];
		const char *name = argc > 1 ? argv[1] : NULL;
		int failed = zones_reload(s->zones, name, errs, sizeof(errs));
		if (failed == ERR_NOTFOUND)
			return control_error(r, "no zone %s", name);
		if (failed > 0)
			return control_error(r, "%s", errs);
		return NULL;
	}
	if (strcmp(cmd, "zonestatus") == 0) {
		if (argc > 1) {
			struct server_zone *sz = arg_zone(s, argc, argv, r, &err);
			if (sz)
				zone_status(s, sz, r);
			return err;
		}
		for (size_t i = 0; i < s->zones->nzones; i++)
			zone_status(s, &s->zones->zones[i], r);
		return NULL;
	}
	if (strcmp(cmd, "notify") == 0 || strcmp(cmd, "refresh") == 0 ||
	    strcmp(cmd, "retransfer") == 0) {
		struct server_zone *sz = arg_zone(s, argc, argv, r, &err);
		if (sz == NULL)
			return err;
		bool secondary = sz->conf->xfr.secondary;
		if (cmd[0] == 'n')
			xfrd_zone_notify(sz->xfrd);
		else if (!secondary)
			return control_error(r, "%s is not a secondary zone", argv[1]);
		else if (cmd[0] == 'r' && cmd[2] == 'f')
			xfrd_zone_refresh(sz->xfrd);
		else
			xfrd_zone_retransfer(sz->xfrd);
		return NULL;
	}
	if (strcmp(cmd, "stats") == 0) {
		struct worker_stats now;
		sum_stats(s, &now);
		if (argc > 1 && strcmp(argv[1], "reset") == 0) {
			s->stats_base = now;
			return NULL;
		}
		control_printf(r, "udp-queries: %llu",
			       (unsigned long long)(now.udp_queries - s->stats_base.udp_queries));
		control_printf(r, "udp-dropped: %llu",
			       (unsigned long long)(now.udp_dropped - s->stats_base.udp_dropped));
		control_printf(r, "tcp-queries: %llu",
			       (unsigned long long)(now.tcp_queries - s->stats_base.tcp_queries));
		control_printf(r, "tcp-connections: %llu",
			       (unsigned long long)(now.tcp_accepted - s->stats_base.tcp_accepted));
		control_printf(r, "tcp-refused: %llu",
			       (unsigned long long)(now.tcp_refused - s->stats_base.tcp_refused));
		control_printf(r, "tcp-timeouts: %llu",
			       (unsigned long long)(now.tcp_timeouts - s->stats_base.tcp_timeouts));
		control_printf(r, "tcp-overtime: %llu",
			       (unsigned long long)(now.tcp_overtime - s->stats_base.tcp_overtime));
		control_printf(r, "tcp-oversize: %llu",
			       (unsigned long long)(now.tcp_oversize - s->stats_base.tcp_oversize));
		control_printf(r, "responses: %llu",
			       (unsigned long long)(now.responses - s->stats_base.responses));
		control_printf(r, "rrl-dropped: %llu",
			       (unsigned long long)(now.rrl_dropped - s->stats_base.rrl_dropped));
		control_printf(r, "rrl-slipped: %llu",
			       (unsigned long long)(now.rrl_slipped - s->stats_base.rrl_slipped));
		static const char *rcodes[16] = {
			"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
			"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
			"NOTZONE" };
		for (int k = 0; k < 16; k++) {
			uint64_t v = now.rcode[k] - s->stats_base.rcode[k];
			if (v == 0)
				continue;
			if (rcodes[k])
				control_printf(r, "rcode.%s: %llu", rcodes[k],
					       (unsigned long long)v);
			else
				control_printf(r, "rcode.%d: %llu", k,
					       (unsigned long long)v);
		}
		for (int k = 0; k < 256; k++) {
			uint64_t v = now.qtype[k] - s->stats_base.qtype[k];
			char tname[16];
			if (v > 0)
				control_printf(r, "qtype.%s: %llu",
					       rrtype_to_str((uint16_t)k, tname),
					       (unsigned long long)v);
		}
		if (now.qtype_other - s->stats_base.qtype_other > 0)
			control_printf(r, "qtype.other: %llu",
				       (unsigned long long)(now.qtype_other -
							    s->stats_base.qtype_other));
		return NULL;
	}
	if (strcmp(cmd, "log-reopen") == 0)
		return NULL; /* logs go to stderr or syslog: nothing to reopen */
	if (strcmp(cmd, "stop") == 0) {
		log_info(&s->log, "stop requested over the control socket");
		event_base_loopexit(s->base, NULL);
		return NULL;
	}
	if (strcmp(cmd, "reconfig") == 0)
		return reconfig(s, r);
	return control_error(r, "unknown command '%s'", cmd);
}

/* Creates the workers, each binding its own sockets. */
static int create_workers(struct server *s)
{
	struct conf *c = s->conf;
	s->nworkers = c->workers;
	s->workers = calloc(s->nworkers, sizeof(*s->workers));
	if (s->workers == NULL)
		return ERR_NOMEM;
	struct worker_settings ws = {
	    .live = &s->live,
	    .log = &s->log,
	    .tcp_max_clients = conf_tcp_clients_per_worker(c),
	};
	for (unsigned i = 0; i < s->nworkers; i++) {
		int ret = worker_create(i, &ws, c->listens, c->nlistens,
					&s->workers[i]);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < c->nlistens; i++)
		log_info(&s->log, "listening on %s (UDP and TCP), %u workers",
			 c->listens[i].text, s->nworkers);
	return 0;
}

static void destroy_workers(struct server *s)
{
	if (s->workers == NULL)
		return;
	for (unsigned i = 0; i < s->nworkers; i++)
		if (s->workers[i] != NULL)
			worker_stop(s->workers[i]);
	for (unsigned i = 0; i < s->nworkers; i++) {
		if (s->workers[i] == NULL)
			continue;
		struct worker_stats sum = {0}, *st = &sum;
		worker_stats_add(st, s->workers[i]);
		log_debug(&s->log,
			  "worker %u: %llu UDP queries (%llu dropped), %llu "
			  "TCP queries on %llu connections (%llu refused, %llu "
			  "timed out)",
			  i, (unsigned long long)st->udp_queries,
			  (unsigned long long)st->udp_dropped,
			  (unsigned long long)st->tcp_queries,
			  (unsigned long long)st->tcp_accepted,
			  (unsigned long long)st->tcp_refused,
			  (unsigned long long)st->tcp_timeouts);
		worker_free(s->workers[i]);
	}
	free(s->workers);
	s->workers = NULL;
}

/* Runs the main loop until SIGTERM or SIGINT. */
static int run(struct server *s)
{
	struct event *ev_term = evsignal_new(s->base, SIGTERM, on_stop, s);
	struct event *ev_int = evsignal_new(s->base, SIGINT, on_stop, s);
	struct event *ev_hup = evsignal_new(s->base, SIGHUP, on_reload, s);
	int ret = -1;
	if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) ||
	    evsignal_add(ev_int, NULL) || evsignal_add(ev_hup, NULL))
		goto out;
	/* The secondaries' stored copies are published before any worker
	 * answers: the sockets were bound before the zones were loaded, and
	 * the queries that arrived meanwhile are answered the moment a
	 * worker starts -- not with SERVFAIL. */
	s->started = time(NULL);
	zones_start(s->zones);
	/* Workers start after the signal handlers exist, and after fork(). */
	for (unsigned i = 0; i < s->nworkers; i++) {
		if (worker_start(s->workers[i]) < 0) {
			log_error(&s->log, "cannot start worker %u", i);
			goto out;
		}
	}
	s->notify_ev = event_new(s->base, s->notify_pipe[0], EV_READ | EV_PERSIST,
				 on_notify, s);
	if (s->notify_ev == NULL || event_add(s->notify_ev, NULL) != 0)
		goto out;
	log_info(&s->log, "tandemd %s started", TANDEM_VERSION);
	tell_ready(s);
	event_base_dispatch(s->base);
	ret = 0;
out:
	if (s->control) {
		control_close(s->control);
		s->control = NULL;
	}
	remove_control(s);
	if (s->notify_ev) {
		event_free(s->notify_ev);
		s->notify_ev = NULL;
	}
	destroy_workers(s);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	return ret;
}

/* Raises the descriptor limit to the hard limit, as NSD and Knot do: each
 * TCP client takes one, and running out stalls accepting. Says so when
 * the TCP and control clients cannot fit even then. */
static void raise_fd_limit(struct server *s)
{
	const struct conf *c = s->conf;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Every worker's TCP clients, the control clients, and 64 for the
	 * listening sockets, transfers in, journals and zone files. */
	rlim_t tcp = (rlim_t)conf_tcp_clients_per_worker(c) * c->workers;
	rlim_t want = tcp + c->control_max_clients + 64;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warning(&s->log,
			    "descriptor limit %llu is below the %llu "
			    "TCP clients of the workers (%s) + "
			    "control-max-clients + 64 (%llu): TCP clients past "
			    "it wait until others leave",
			    (unsigned long long)rl.rlim_cur,
			    (unsigned long long)tcp,
			    c->tcp_max_clients_per_worker
				? "tcp-max-clients-per-worker x workers"
				: "tcp-max-clients",
			    (unsigned long long)want);
}

int main(int argc, char **argv)
{
	struct options opt = {0};
	if (parse_args(argc, argv, &opt) < 0)
		return 1;

	struct server server = {.ready_fd = -1, .notify_pipe = {-1, -1}};
	struct server *s = &server;
	log_init(&s->log, LOG_LEVEL_INFO);

	s->conf = calloc(1, sizeof(*s->conf));
	s->zones = calloc(1, sizeof(*s->zones));
	if (s->conf == NULL || s->zones == NULL)
		return 1;
	s->conf_path = opt.conf_path;
	int ret = conf_load(opt.conf_path, s->conf, conf_error, NULL);
	if (opt.check_only || ret < 0) {
		int failed = ret < 0 ? 1 : zones_check(s->conf);
		conf_free(s->conf);
		free(s->conf);
		free(s->zones);
		return failed ? 1 : 0;
	}
	s->log.level = s->conf->log_level;

	/* A client closing its TCP connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(s);
	/* Buffers of 32 KB and more (a TCP message being received, a
	 * transfer's) get their own mapping, given back when freed: a
	 * flood of large TCP messages otherwise leaves its memory stranded
	 * in the workers' heaps behind smaller allocations. */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024);

	int status = 1;
	/* The crypto libraries find their randomness source and their
	 * configuration now, while /dev and /usr are in reach: TSIG and
	 * transfers run inside the chroot. */
	if (sodium_init() < 0) {
		log_error(&s->log, "libsodium cannot start");
		goto out;
	}
	struct tsig_key warm_key = {.algorithm = TSIG_HMAC_SHA256};
	struct tsig_ctx warm;
	if (tsig_ctx_init(&warm, &warm_key, NULL, 0) == 0)
		tsig_ctx_free(&warm);
	if (prepare_storage(s) < 0)
		goto out;
	s->base = event_base_new();
	if (s->base == NULL ||
	    pipe2(s->notify_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error(&s->log, "cannot set up the main loop");
		goto out;
	}
	/* The zonedb it points to is filled by zones_load below, before
	 * any worker runs. */
	s->cookies = cookie_secrets_of(s->conf, NULL);
	if (s->cookies != NULL)
		s->live = live_new(s, s->conf, s->zones, s->cookies);
	if (s->live == NULL) {
		log_error(&s->log, "out of memory");
		goto out;
	}
	/* What needs root: the sockets (port 53), syslog's, the control
	 * socket, the pidfile. */
	if (create_workers(s) < 0)
		goto out;
	if (opt.daemonize && daemonize(s) < 0)
		goto out;
	if (opt.daemonize && event_reinit(s->base) != 0)
		goto out;
	if (open_control(s) < 0)
		goto out;
	control_limits(s, s->conf);
	if (write_pidfile(s) < 0)
		goto out;
	if (drop_privileges(s) < 0)
		goto out;
	/* The zones are read as they will be reloaded: inside the chroot,
	 * as user:. */
	ret = zones_load(s->zones, s->conf, &s->log, s->base, NULL);
	if (ret < 0) {
		log_error(&s->log, "loading zones: %s", error_str(ret));
		goto out;
	}
	if (run(s) == 0)
		status = 0;
	log_info(&s->log, "tandemd stopped");
out:
	if (s->control) {
		control_close(s->control);
		s->control = NULL;
	}
	remove_control(s);
	destroy_workers(s);
	zones_clear(s->zones);
	if (s->base)
		event_base_free(s->base);
	for (int i = 0; i < 2; i++)
		if (s->notify_pipe[i] >= 0)
			close(s->notify_pipe[i]);
	/* After a drop only removable when its directory is the user's. */
	if (s->pidfile != NULL && unlink(s->pidfile) != 0 && errno != ENOENT)
		log_info(&s->log, "pidfile %s left behind: %s", s->pidfile,
			 strerror(errno));
	free(s->pidfile);
	conf_free(s->conf);
	free(s->conf);
	free(s->zones);
	free(s->live);
	cookie_secrets_free(s->cookies);
	log_close(&s->log);
	return status;
}
