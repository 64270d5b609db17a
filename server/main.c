/*
 * main.c -- tandemd: command line, daemon life cycle, signals.
 *
 * The main thread loads the config and the zones, binds every socket
 * (so that any error is reported before going to the background), starts
 * the workers and then waits for signals: SIGHUP reloads the zone files,
 * SIGTERM and SIGINT stop the server.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
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
	struct conf *conf;          /* replaced by reconfig (RCU for workers) */
	const char *conf_path;
	struct logger log;
	struct zones *zones;        /* replaced by reconfig */
	struct answer_conf answer;
	struct request_env request;
	int notify_pipe[2];         /* workers -> main: NOTIFYs received */
	struct event *notify_ev;
	struct control *control;
	time_t started;
	struct worker_stats stats_base; /* "stats reset" */
	uint8_t nsid[CONF_MAX_NSID];
	struct worker **workers;
	unsigned nworkers;
	struct event_base *base;
	bool pidfile_written;
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
	s->pidfile_written = true;
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

static void sum_stats(struct server *s, struct worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < s->nworkers; i++) {
		const struct worker_stats *st = worker_stats(s->workers[i]);
		out->udp_queries += st->udp_queries;
		out->udp_dropped += st->udp_dropped;
		out->tcp_queries += st->tcp_queries;
		out->tcp_accepted += st->tcp_accepted;
		out->tcp_refused += st->tcp_refused;
		out->tcp_timeouts += st->tcp_timeouts;
		out->responses += st->responses;
		for (int k = 0; k < 16; k++)
			out->rcode[k] += st->rcode[k];
		for (int k = 0; k < 256; k++)
			out->qtype[k] += st->qtype[k];
		out->qtype_other += st->qtype_other;
	}
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
	int ret = conf_load(s->conf_path, conf, reconfig_error, &ce);
	if (ret != 0) {
		conf_free(conf);
		free(conf);
		free(zones);
		return control_error(r, "%s: %d error(s); nothing changed",
				     s->conf_path, ce.count ? ce.count : 1);
	}
	if (conf->storage && mkdir(conf->storage, 0750) != 0 && errno != EEXIST) {
		const char *e = control_error(r, "storage %s: %s; nothing changed",
					      conf->storage, strerror(errno));
		conf_free(conf);
		free(conf);
		free(zones);
		return e;
	}
	int failed = zones_load(zones, conf, &s->log, s->base, s->zones);
	if (failed < 0) {
		zones_clear(zones);
		conf_free(conf);
		free(conf);
		free(zones);
		return "out of memory; nothing changed";
	}
	/* Publish, wait until no worker can see the old ones, free them. */
	struct zones *old_zones = s->zones;
	struct conf *old_conf = s->conf;
	rcu_assign_pointer(s->answer.zonedb, &zones->db);
	rcu_assign_pointer(s->request.conf, conf);
	synchronize_rcu();
	s->zones = zones;
	s->conf = conf;
	zones_clear(old_zones);
	free(old_zones);
	if (!same_listens(old_conf, conf))
		control_printf(r, "note: listen and workers changes need a restart");
	/* The other server settings answers use are kept as they were:
	 * identity, version, nsid and EDNS size need a restart too. */
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
		control_printf(r, "responses: %llu",
			       (unsigned long long)(now.responses - s->stats_base.responses));
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
	    .answer = &s->answer,
	    .request = &s->request,
	    .log = &s->log,
	    .tcp_idle_timeout = c->tcp_idle_timeout,
	    /* tcp-max-clients is for the whole server; each worker
	     * takes its share, rounded up. */
	    .tcp_max_clients =
		(c->tcp_max_clients + s->nworkers - 1) / s->nworkers,
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
		const struct worker_stats *st = worker_stats(s->workers[i]);
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
	if (s->conf->control != NULL) {
		int r = control_open(s->base, s->conf->control, s->conf->control_mode,
				     on_control, s, &s->control);
		if (r != 0) {
			log_error(&s->log, "control socket %s: %s", s->conf->control,
				  r == ERR_EXISTS ? "another tandemd is listening there"
						  : strerror(errno));
			goto out;
		}
	}
	s->started = time(NULL);
	zones_start(s->zones);
	log_info(&s->log, "tandemd %s started", TANDEM_VERSION);
	tell_ready(s);
	event_base_dispatch(s->base);
	ret = 0;
out:
	if (s->control) {
		control_close(s->control);
		s->control = NULL;
	}
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
 * tcp-max-clients cannot fit even then. */
static void raise_fd_limit(struct server *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Listening sockets, transfers, journals, the control socket. */
	rlim_t want = (rlim_t)s->conf->tcp_max_clients + 64;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warning(&s->log, "descriptor limit %llu is below "
			    "tcp-max-clients + 64 (%llu): TCP clients past it "
			    "wait until others leave",
			    (unsigned long long)rl.rlim_cur,
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
	if (s->conf->storage != NULL && mkdir(s->conf->storage, 0750) != 0 &&
	    errno != EEXIST) {
		log_error(&s->log, "storage %s: %s", s->conf->storage, strerror(errno));
		conf_free(s->conf);
		free(s->conf);
		free(s->zones);
		return 1;
	}
	s->base = event_base_new();
	if (s->base == NULL ||
	    pipe2(s->notify_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error(&s->log, "cannot set up the main loop");
		goto out;
	}
	ret = zones_load(s->zones, s->conf, &s->log, s->base, NULL);
	if (ret < 0) {
		log_error(&s->log, "loading zones: %s", error_str(ret));
		goto out;
	}
	memcpy(s->nsid, s->conf->nsid, s->conf->nsid_len);
	s->answer = (struct answer_conf){
	    .zonedb = &s->zones->db,
	    .edns_size = s->conf->edns_buffer_size,
	    /* Copies: reconfig frees the config they come from. */
	    .identity = s->conf->identity ? strdup(s->conf->identity) : NULL,
	    .version = s->conf->version ? strdup(s->conf->version) : NULL,
	    .nsid = s->conf->nsid_len ? s->nsid : NULL,
	    .nsid_len = s->conf->nsid_len,
	};
	s->request = (struct request_env){
	    .answer = &s->answer,
	    .conf = s->conf,
	    .log = &s->log,
	    .notify_fd = s->notify_pipe[1],
	};
	if (create_workers(s) < 0)
		goto out;
	if (opt.daemonize && daemonize(s) < 0)
		goto out;
	if (opt.daemonize && event_reinit(s->base) != 0)
		goto out;
	if (write_pidfile(s) < 0)
		goto out;
	if (run(s) == 0)
		status = 0;
	log_info(&s->log, "tandemd stopped");
out:
	destroy_workers(s);
	zones_clear(s->zones);
	if (s->base)
		event_base_free(s->base);
	for (int i = 0; i < 2; i++)
		if (s->notify_pipe[i] >= 0)
			close(s->notify_pipe[i]);
	if (s->pidfile_written)
		unlink(s->conf->pidfile);
	conf_free(s->conf);
	free(s->conf);
	free(s->zones);
	free((char *)s->answer.identity);
	free((char *)s->answer.version);
	log_close(&s->log);
	return status;
}
