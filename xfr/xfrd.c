/*
 * xfrd.c -- the replication engine on the main thread's event loop.
 *
 * Secondary zone, one refresh (RFC 1034 §4.3.5, RFC 1996, RFC 1995):
 *
 *   IDLE --refresh--> SOA query over UDP to primary i
 *        newer serial, or none served, or TC --> IXFR (AXFR if we serve
 *        nothing) over TCP to primary i
 *        same or older serial                --> done (refreshed)
 *        no answer, error                    --> primary i+1
 *   transfer done --> verify, apply, store, journal, publish, NOTIFY
 *   IXFR refused, not implemented, or not applicable --> AXFR, same primary
 *   any other failure                                --> primary i+1
 *   no primary left --> retry timer; the expire timer keeps running
 */
#include "xfr/xfrd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/serial.h"
#include "xfr/journal.h"
#include "xfr/notify.h"
#include "xfr/xfrin.h"
#include "zonedb/load.h"

#define SOA_QUERY_TIMEOUT 3       /* seconds per try */
#define SOA_QUERY_TRIES 2
#define NOTIFY_TRIES 5            /* RFC 1996 §3.6: retransmit, bounded */

struct xfrd {
	struct event_base *base;
	const struct xfrd_ops *ops;
	void *arg;
	uint8_t buf[MSG_MAXLEN];      /* one message at a time, main thread */
};

struct notify_send {
	struct xfrd_zone *z;
	const struct xfr_peer *peer;
	int fd;
	struct event *ev;
	unsigned tries;
	uint16_t id;
	struct tsig_ctx tsig;
	bool tsig_live;
};

enum refresh_state { REFRESH_IDLE, REFRESH_SOA, REFRESH_TRANSFER };

struct xfrd_zone {
	struct xfrd *d;
	void *zone;
	const struct xfr_settings *s;
	uint8_t apex[DNAME_MAXLEN];
	char name[DNAME_STRLEN];
	struct journal *journal;
	struct notify_send *sends;

	/* secondary */
	enum refresh_state state;
	bool again;               /* a refresh was asked while one ran */
	bool force_axfr;
	bool fell_back;           /* this primary: AXFR after a failed IXFR */
	size_t primary;
	struct event *timer;      /* next refresh or retry */
	struct event *expire_ev;
	time_t last_refresh, next_refresh, expires_at;
	uint32_t serial;
	bool have_serial, expired;
	uint32_t stored_serial;   /* serial of the copy on disk */
	bool stored;
	struct event *copy_ev;    /* rewrite the copy (after IXFRs) */
	/* The copy being written by a thread of its own (a large zone takes
	 * seconds, which the main loop must not wait for). */
	bool copy_busy;
	pthread_t copy_thread;
	struct zone_version *copy_version;
	int copy_result;
	int copy_pipe[2];         /* the thread says it is done */
	struct event *copy_done_ev;
	char last_primary[80];
	char last_error[512];
	/* the SOA query */
	int udp_fd;
	struct event *udp_ev;
	unsigned udp_tries;
	uint16_t qid;
	struct tsig_ctx qtsig;
	bool qtsig_live;
	/* the transfer */
	struct bufferevent *bev;
	struct event *xfr_timer;
	struct xfrin xin;
	struct tsig_ctx xtsig;
	bool xin_live, xtsig_live;
	time_t xfr_started;
};

static void zlog(struct xfrd_zone *z, enum xfrd_log_level level,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void zlog(struct xfrd_zone *z, enum xfrd_log_level level,
		 const char *fmt, ...)
{
	char msg[sizeof(z->last_error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level == XFRD_LOG_ERROR || level == XFRD_LOG_WARNING)
		snprintf(z->last_error, sizeof(z->last_error), "%s", msg);
	z->d->ops->log(z->d->arg, level, z->name, msg);
}

static uint16_t new_id(void)
{
	return (uint16_t)randombytes_uniform(65536);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	if (hi && v > hi)
		v = hi;
	return v < lo ? lo : v;
}

/* The SOA timer fields of a version (RFC 1035 §3.3.13). */
struct soa_timers {
	uint32_t serial, refresh, retry, expire;
};

static bool version_timers(const struct zone_version *v, struct soa_timers *t)
{
	if (v == NULL)
		return false;
	const struct zone_rrset *soa = zone_node_rrset(v->apex, RRTYPE_SOA);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata = zone_rrset_next(soa, &pos, &len);
	t->serial = rdata_soa_field(rdata, SOA_SERIAL);
	t->refresh = rdata_soa_field(rdata, SOA_REFRESH);
	t->retry = rdata_soa_field(rdata, SOA_RETRY);
	t->expire = rdata_soa_field(rdata, SOA_EXPIRE);
	return true;
}

/* Up to 10% less than the interval, so that secondaries of one primary
 * drift apart. */
static time_t jitter(uint32_t seconds)
{
	uint32_t spread = seconds / 10;
	return (time_t)(seconds - (spread ? randombytes_uniform(spread + 1) : 0));
}

/* ---- timers on disk ---- */

static int write_atomic(const char *path, const char *text)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	char *dir = strdup(path);
	int r = ERR_NOMEM;
	if (tmp == NULL || dir == NULL)
		goto out;
	snprintf(tmp, plen + 8, "%s.tmp", path);
	r = ERR_IO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto out;
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	r = 0;
out:
	free(tmp);
	free(dir);
	return r;
}

static void save_timers(struct xfrd_zone *z)
{
	if (z->s->timers == NULL)
		return;
	char text[256];
	snprintf(text, sizeof(text),
		 "last-refresh: %lld\nexpires-at: %lld\nserial: %u\n",
		 (long long)z->last_refresh, (long long)z->expires_at, z->serial);
	if (write_atomic(z->s->timers, text) != 0)
		zlog(z, XFRD_LOG_WARNING, "cannot write %s: %s", z->s->timers,
		     strerror(errno));
}

static bool load_timers(struct xfrd_zone *z)
{
	if (z->s->timers == NULL)
		return false;
	FILE *f = fopen(z->s->timers, "r");
	if (f == NULL)
		return false;
	long long last = 0, expires = 0;
	unsigned serial = 0;
	int n = fscanf(f, "last-refresh: %lld\nexpires-at: %lld\nserial: %u",
		       &last, &expires, &serial);
	fclose(f);
	if (n != 3)
		return false;
	z->last_refresh = (time_t)last;
	z->expires_at = (time_t)expires;
	return true;
}

/* ---- scheduling ---- */

static void refresh_now(struct xfrd_zone *z);

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	refresh_now(arg);
}

static void schedule(struct xfrd_zone *z, time_t at)
{
	time_t now = time(NULL);
	struct timeval tv = { at > now ? at - now : 0, 0 };
	z->next_refresh = at;
	evtimer_add(z->timer, &tv);
}

static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct xfrd_zone *z = arg;
	if (z->expired || time(NULL) < z->expires_at)
		return;
	z->expired = true;
	zlog(z, XFRD_LOG_ERROR, "expired: no successful refresh since %lld; "
	     "answering SERVFAIL until a transfer succeeds",
	     (long long)z->last_refresh);
	z->d->ops->publish(z->d->arg, z->zone, NULL);
}

static void schedule_expire(struct xfrd_zone *z)
{
	time_t now = time(NULL);
	struct timeval tv = { z->expires_at > now ? z->expires_at - now : 0, 0 };
	evtimer_add(z->expire_ev, &tv);
}

/* After a successful refresh (transfer or same serial). */
static void refreshed(struct xfrd_zone *z)
{
	struct soa_timers t;
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	time_t now = time(NULL);
	z->last_refresh = now;
	z->last_error[0] = '\0';
	if (version_timers(cur, &t)) {
		z->serial = t.serial;
		z->have_serial = true;
		z->expires_at = now + clamp(t.expire, z->s->expire_min, z->s->expire_max);
		schedule_expire(z);
		schedule(z, now + jitter(clamp(t.refresh, z->s->refresh_min,
					       z->s->refresh_max)));
	} else {
		schedule(z, now + jitter(z->s->retry_min));
	}
	save_timers(z);
}

static void refresh_failed(struct xfrd_zone *z)
{
	struct soa_timers t;
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	uint32_t retry = version_timers(cur, &t) ? t.retry : z->s->retry_min;
	retry = clamp(retry, z->s->retry_min, z->s->retry_max);
	zlog(z, XFRD_LOG_WARNING, "refresh failed on every primary (%s); "
	     "retrying in %u s", z->last_error[0] ? z->last_error : "no answer",
	     retry);
	schedule(z, time(NULL) + jitter(retry));
}

/* ---- the refresh state machine ---- */

static void try_primary(struct xfrd_zone *z);
static void start_transfer(struct xfrd_zone *z, uint16_t qtype);

static void stop_soa_query(struct xfrd_zone *z)
{
	if (z->udp_ev) {
		event_free(z->udp_ev);
		z->udp_ev = NULL;
	}
	if (z->udp_fd >= 0) {
		close(z->udp_fd);
		z->udp_fd = -1;
	}
	if (z->qtsig_live) {
		tsig_ctx_free(&z->qtsig);
		z->qtsig_live = false;
	}
}

static void stop_transfer(struct xfrd_zone *z)
{
	if (z->bev) {
		bufferevent_free(z->bev);
		z->bev = NULL;
	}
	if (z->xfr_timer)
		evtimer_del(z->xfr_timer);
	if (z->xin_live) {
		xfrin_free(&z->xin);
		z->xin_live = false;
	}
	if (z->xtsig_live) {
		tsig_ctx_free(&z->xtsig);
		z->xtsig_live = false;
	}
}

static void finish_refresh(struct xfrd_zone *z, bool ok)
{
	stop_soa_query(z);
	stop_transfer(z);
	z->state = REFRESH_IDLE;
	z->force_axfr = false;
	if (ok)
		refreshed(z);
	else
		refresh_failed(z);
	if (z->again) {
		z->again = false;
		refresh_now(z);
	}
}

static void next_primary(struct xfrd_zone *z)
{
	stop_soa_query(z);
	stop_transfer(z);
	z->primary++;
	z->fell_back = false;
	if (z->primary >= z->s->nprimaries)
		finish_refresh(z, false);
	else
		try_primary(z);
}

static void send_soa_query(struct xfrd_zone *z);

static void soa_answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xfrd_zone *z = arg;
	const struct xfr_peer *p = &z->s->primaries[z->primary];
	if (what & EV_TIMEOUT) {
		if (++z->udp_tries < SOA_QUERY_TRIES) {
			send_soa_query(z);
			return;
		}
		zlog(z, XFRD_LOG_WARNING, "no answer to the SOA query from %s", p->text);
		next_primary(z);
		return;
	}
	ssize_t n = recv(fd, z->d->buf, sizeof(z->d->buf), 0);
	if (n <= 0) {
		zlog(z, XFRD_LOG_WARNING, "SOA query to %s: %s", p->text,
		     n < 0 ? strerror(errno) : "empty answer");
		next_primary(z);
		return;
	}
	uint32_t serial = 0;
	unsigned rcode = 0;
	int r = refresh_check_answer(z->d->buf, (size_t)n, z->qid, z->apex,
				     z->qtsig_live ? &z->qtsig : NULL,
				     (uint64_t)time(NULL), &serial, &rcode);
	if (r == ERR_MALFORMED) {
		/* Not the answer (another id, a stray packet): keep
		 * waiting until the timeout. */
		struct timeval tv = { SOA_QUERY_TIMEOUT, 0 };
		event_add(z->udp_ev, &tv);
		return;
	}
	stop_soa_query(z);
	snprintf(z->last_primary, sizeof(z->last_primary), "%s", p->text);
	if (r < 0) {
		if (r == ERR_REFUSED)
			zlog(z, XFRD_LOG_WARNING, "SOA query to %s: refused or "
			     "not authoritative (rcode %u)", p->text, rcode);
		else
			zlog(z, XFRD_LOG_WARNING, "SOA query to %s: %s", p->text,
			     error_str(r));
		next_primary(z);
		return;
	}
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	if (r == 1) {
		/* Truncated: let the IXFR over TCP compare serials. */
		start_transfer(z, cur ? RRTYPE_IXFR : RRTYPE_AXFR);
		return;
	}
	if (cur == NULL || z->force_axfr) {
		start_transfer(z, RRTYPE_AXFR);
	} else if (serial_cmp(serial, cur->serial) > 0) {
		zlog(z, XFRD_LOG_INFO, "%s has serial %u, we have %u",
		     p->text, serial, cur->serial);
		start_transfer(z, RRTYPE_IXFR);
	} else {
		if (serial_cmp(serial, cur->serial) < 0)
			zlog(z, XFRD_LOG_WARNING, "%s has serial %u, older than "
			     "ours %u; keeping ours", p->text, serial, cur->serial);
		finish_refresh(z, true);
	}
}

static void send_soa_query(struct xfrd_zone *z)
{
	const struct xfr_peer *p = &z->s->primaries[z->primary];
	stop_soa_query(z);
	z->udp_fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (z->udp_fd < 0 || connect(z->udp_fd, (const struct sockaddr *)&p->addr,
				     p->addrlen) != 0) {
		zlog(z, XFRD_LOG_WARNING, "SOA query to %s: %s", p->text, strerror(errno));
		next_primary(z);
		return;
	}
	z->qid = new_id();
	if (p->key) {
		tsig_ctx_init(&z->qtsig, p->key, NULL, 0);
		z->qtsig_live = true;
	}
	size_t len;
	int r = refresh_request(z->d->buf, sizeof(z->d->buf), &len, z->qid, z->apex,
				z->qtsig_live ? &z->qtsig : NULL, (uint64_t)time(NULL));
	if (r != 0 || send(z->udp_fd, z->d->buf, len, 0) != (ssize_t)len) {
		zlog(z, XFRD_LOG_WARNING, "SOA query to %s: %s", p->text,
		     r ? error_str(r) : strerror(errno));
		next_primary(z);
		return;
	}
	z->udp_ev = event_new(z->d->base, z->udp_fd, EV_READ, soa_answer_cb, z);
	struct timeval tv = { SOA_QUERY_TIMEOUT, 0 };
	event_add(z->udp_ev, &tv);
}

static void try_primary(struct xfrd_zone *z)
{
	z->udp_tries = 0;
	z->state = REFRESH_SOA;
	if (z->force_axfr) {
		start_transfer(z, RRTYPE_AXFR);
		return;
	}
	send_soa_query(z);
}

static void refresh_now(struct xfrd_zone *z)
{
	if (!z->s->secondary)
		return;
	if (z->state != REFRESH_IDLE) {
		z->again = true; /* bursts of NOTIFY coalesce */
		return;
	}
	evtimer_del(z->timer);
	if (z->s->nprimaries == 0) {
		zlog(z, XFRD_LOG_ERROR, "secondary zone without a primary");
		return;
	}
	z->primary = 0;
	z->fell_back = false;
	try_primary(z);
}

/* ---- transfers in ---- */

/* Writes what a transfer changed into the journal, so that our own
 * secondaries can get IXFR too. */
static void journal_transfer(struct xfrd_zone *z, const struct zone_version *old,
			     const struct zone_version *new_version)
{
	if (z->journal == NULL)
		return;
	uint32_t first, last;
	int r = 0;
	bool chained = journal_range(z->journal, &first, &last) && old &&
		       last == old->serial;
	if (old == NULL || (!chained && z->journal->count > 0))
		r = journal_reset(z->journal);
	if (r == 0 && old != NULL && z->xin.kind == XFRIN_INCREMENTAL) {
		for (size_t i = 0; r == 0 && i < z->xin.ndiffs; i++) {
			const struct zone_diff *d = &z->xin.diffs[i];
			/* Each difference starts with its SOAs (RFC 1995). */
			uint32_t from = rdata_soa_field(d->removed[0].rdata, SOA_SERIAL);
			uint32_t to = rdata_soa_field(d->added[0].rdata, SOA_SERIAL);
			r = journal_append(z->journal, from, to, d);
		}
	} else if (r == 0 && old != NULL) {
		struct zone_diff d;
		r = zone_diff_compute(old, new_version, &d);
		if (r == 0) {
			r = journal_append(z->journal, old->serial,
					   new_version->serial, &d);
			zone_diff_free(&d);
		}
	}
	if (r == 0)
		r = journal_trim(z->journal, z->s->journal_max_size);
	if (r != 0)
		zlog(z, XFRD_LOG_WARNING, "journal %s: %s (IXFR clients get AXFR)",
		     z->s->journal, error_str(r));
}

static void zone_log_cb(void *arg, enum zone_log_level level, const char *file,
			unsigned long line, const char *msg)
{
	(void)file;
	(void)line;
	zlog(arg, level == ZONE_LOG_ERROR ? XFRD_LOG_ERROR : XFRD_LOG_WARNING,
	     "%s", msg);
}

/* Waits for the copy being written in the background, if any, and takes
 * its outcome. */
static void copy_join(struct xfrd_zone *z);

/* Writes the zone's copy atomically, now. */
static void store_copy(struct xfrd_zone *z, const struct zone_version *v)
{
	if (z->s->zonefile == NULL)
		return;
	copy_join(z); /* an older copy must not land after this one */
	int r = zone_dump_file(v, z->s->zonefile);
	if (r != 0) {
		zlog(z, XFRD_LOG_WARNING, "cannot store %s: %s", z->s->zonefile,
		     error_str(r));
		return;
	}
	z->stored = true;
	z->stored_serial = v->serial;
}

static void *copy_thread_main(void *arg)
{
	struct xfrd_zone *z = arg;
	z->copy_result = zone_dump_file(z->copy_version, z->s->zonefile);
	uint8_t done = 1;
	if (write(z->copy_pipe[1], &done, 1) != 1) {
		/* The join at zone_free or the next copy still ends it. */
	}
	return NULL;
}

static void copy_finish(struct xfrd_zone *z)
{
	if (z->copy_result != 0) {
		zlog(z, XFRD_LOG_WARNING, "cannot store %s: %s", z->s->zonefile,
		     error_str(z->copy_result));
	} else {
		z->stored = true;
		z->stored_serial = z->copy_version->serial;
	}
	zone_version_release(z->copy_version);
	z->copy_version = NULL;
	z->copy_busy = false;
}

static void copy_join(struct xfrd_zone *z)
{
	if (!z->copy_busy)
		return;
	pthread_join(z->copy_thread, NULL);
	uint8_t done;
	while (read(z->copy_pipe[0], &done, 1) == 1)
		;
	copy_finish(z);
}

static void copy_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xfrd_zone *z = arg;
	uint8_t done;
	if (read(fd, &done, 1) == 1 && z->copy_busy) {
		pthread_join(z->copy_thread, NULL);
		copy_finish(z);
	}
}

/* The copy on disk is rewritten this long after an IXFR that the
 * journal alone made durable: rewriting a large zone per IXFR would cost
 * seconds each (and the journal already leads from the copy on disk to
 * the zone served, and is replayed at start). It is written by a thread
 * of its own, from the immutable version, while the main loop goes on. */
#define COPY_DELAY 60

static void copy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xfrd_zone *z = arg;
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	if (cur == NULL || z->s->zonefile == NULL ||
	    (z->stored && cur->serial == z->stored_serial))
		return;
	if (z->copy_busy) {
		struct timeval again = {1, 0};
		evtimer_add(z->copy_ev, &again);
		return;
	}
	zone_version_ref(cur);
	z->copy_version = cur;
	z->copy_busy = true;
	if (pthread_create(&z->copy_thread, NULL, copy_thread_main, z) != 0) {
		z->copy_busy = false;
		z->copy_version = NULL;
		store_copy(z, cur);
		zone_version_release(cur);
	}
}

/* Milliseconds since `t0` on the monotonic clock. */
static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void transfer_done(struct xfrd_zone *z)
{
	/* From the last message to the new version served: the log says how
	 * long applying, journalling and publishing took. */
	struct timespec last_message;
	clock_gettime(CLOCK_MONOTONIC, &last_message);
	const struct xfr_peer *p = &z->s->primaries[z->primary];
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	struct zone_version *v = NULL;
	int r = xfrin_finish(&z->xin, cur, zone_log_cb, z, &v);
	if (r != 0) {
		zlog(z, XFRD_LOG_WARNING, "transfer from %s rejected: %s", p->text,
		     z->xin.error);
		if (z->xin.qtype == RRTYPE_IXFR && !z->fell_back) {
			z->fell_back = true;
			stop_transfer(z);
			start_transfer(z, RRTYPE_AXFR);
			return;
		}
		next_primary(z);
		return;
	}
	time_t took = time(NULL) - z->xfr_started;
	if (v == NULL) {
		zlog(z, XFRD_LOG_INFO, "%s: up to date at serial %u", p->text,
		     cur ? cur->serial : 0);
		finish_refresh(z, true);
		return;
	}
	const char *kind = z->xin.kind == XFRIN_INCREMENTAL ? "IXFR" : "AXFR";
	/* Nothing is served that a crash could lose: either the journal
	 * (fsync'd) leads from the copy on disk to the new serial, and the
	 * copy is rewritten after publishing, or the copy is written first.
	 * At start-up the copy is read and the journal replayed on it. */
	journal_transfer(z, z->expired ? NULL : cur, v);
	uint32_t first, last;
	size_t start;
	bool durable = z->stored && z->journal &&
		       journal_range(z->journal, &first, &last) &&
		       last == v->serial &&
		       journal_find(z->journal, z->stored_serial, &start) == 0;
	if (!durable)
		store_copy(z, v);
	z->expired = false;
	zone_version_ref(v);
	z->d->ops->publish(z->d->arg, z->zone, v);
	zlog(z, XFRD_LOG_INFO, "%s from %s: serial %u, %zu messages, %zu RRs, "
	     "%lld s; served %.1f ms after the last message", kind, p->text,
	     v->serial, z->xin.messages, z->xin.rrs, (long long)took,
	     ms_since(&last_message));
	/* A zone built whole leaves the builder's memory free in the heap:
	 * give it back (an IXFR leaves little). */
	if (z->xin.kind != XFRIN_INCREMENTAL)
		malloc_trim(0);
	finish_refresh(z, true);
	xfrd_zone_notify(z);
	if (durable && !evtimer_pending(z->copy_ev, NULL)) {
		struct timeval delay = {COPY_DELAY, 0};
		evtimer_add(z->copy_ev, &delay);
	}
	zone_version_release(v);
}

static void transfer_read_cb(struct bufferevent *bev, void *arg)
{
	struct xfrd_zone *z = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		uint8_t lenbuf[2];
		if (evbuffer_copyout(in, lenbuf, 2) < 2)
			return;
		size_t len = (size_t)(lenbuf[0] << 8 | lenbuf[1]);
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, z->d->buf, len);
		int r = xfrin_message(&z->xin, z->d->buf, len, (uint64_t)time(NULL));
		if (r == XFRIN_MORE)
			continue;
		if (r == XFRIN_DONE) {
			transfer_done(z);
			return;
		}
		const struct xfr_peer *p = &z->s->primaries[z->primary];
		zlog(z, XFRD_LOG_WARNING, "%s from %s failed: %s",
		     z->xin.qtype == RRTYPE_IXFR ? "IXFR" : "AXFR", p->text,
		     z->xin.error);
		/* An IXFR the primary cannot or will not do, or whose
		 * sequence is inconsistent: AXFR from the same primary. */
		if (z->xin.qtype == RRTYPE_IXFR && !z->fell_back &&
		    (r == ERR_REFUSED || r == ERR_MALFORMED || r == ERR_SEMANTIC)) {
			z->fell_back = true;
			stop_transfer(z);
			start_transfer(z, RRTYPE_AXFR);
			return;
		}
		next_primary(z);
		return;
	}
}

static void transfer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct xfrd_zone *z = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	const struct xfr_peer *p = &z->s->primaries[z->primary];
	const char *why = (what & BEV_EVENT_TIMEOUT) ? "timed out"
			  : (what & BEV_EVENT_EOF)   ? "connection closed"
						     : strerror(EVUTIL_SOCKET_ERROR());
	zlog(z, XFRD_LOG_WARNING, "transfer from %s: %s after %zu messages",
	     p->text, why, z->xin.messages);
	next_primary(z);
}

/* max-transfer-time-in: seconds a transfer may take in all. */
static unsigned transfer_limit(const struct xfrd_zone *z)
{
	return z->s->transfer_timeout ? z->s->transfer_timeout
				      : XFRD_DEFAULT_TRANSFER_TIME;
}

/* The whole transfer took too long. The idle timeout alone would let a
 * primary that sends a few octets every 29 s hold the refresh of the zone
 * for ever. */
static void transfer_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct xfrd_zone *z = arg;
	const struct xfr_peer *p = &z->s->primaries[z->primary];
	zlog(z, XFRD_LOG_WARNING,
	     "transfer from %s took more than %u s (max-transfer-time-in) "
	     "after %zu messages; abandoned",
	     p->text, transfer_limit(z), z->xin.messages);
	next_primary(z);
}

static void start_transfer(struct xfrd_zone *z, uint16_t qtype)
{
	const struct xfr_peer *p = &z->s->primaries[z->primary];
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	if (cur == NULL)
		qtype = RRTYPE_AXFR;
	z->state = REFRESH_TRANSFER;
	z->xfr_started = time(NULL);
	if (p->key) {
		tsig_ctx_init(&z->xtsig, p->key, NULL, 0);
		z->xtsig_live = true;
	}
	xfrin_init(&z->xin, z->apex, qtype, cur ? cur->serial : 0, new_id(),
		   z->xtsig_live ? &z->xtsig : NULL, z->s->max_zone_rrs);
	z->xin_live = true;

	size_t len = 0;
	int r;
	if (qtype == RRTYPE_IXFR) {
		const struct zone_rrset *soa = zone_node_rrset(cur->apex, RRTYPE_SOA);
		size_t pos = 0;
		uint16_t soalen;
		const uint8_t *rdata = zone_rrset_next(soa, &pos, &soalen);
		r = xfrin_request(&z->xin, z->d->buf + 2, sizeof(z->d->buf) - 2, &len,
				  rdata, soalen, soa->ttl, (uint64_t)time(NULL));
	} else {
		r = xfrin_request(&z->xin, z->d->buf + 2, sizeof(z->d->buf) - 2, &len,
				  NULL, 0, 0, (uint64_t)time(NULL));
	}
	z->bev = bufferevent_socket_new(z->d->base, -1,
					BEV_OPT_CLOSE_ON_FREE);
	if (r != 0 || z->bev == NULL) {
		zlog(z, XFRD_LOG_ERROR, "cannot start a transfer: %s",
		     r ? error_str(r) : "out of memory");
		next_primary(z);
		return;
	}
	z->d->buf[0] = (uint8_t)(len >> 8);
	z->d->buf[1] = (uint8_t)len;
	bufferevent_setcb(z->bev, transfer_read_cb, NULL, transfer_event_cb, z);
	struct timeval idle = { XFRD_IDLE_TIMEOUT, 0 };
	bufferevent_set_timeouts(z->bev, &idle, &idle);
	bufferevent_write(z->bev, z->d->buf, len + 2);
	bufferevent_enable(z->bev, EV_READ | EV_WRITE);
	struct timeval total = { transfer_limit(z), 0 };
	evtimer_add(z->xfr_timer, &total);
	zlog(z, XFRD_LOG_INFO, "%s from %s", qtype == RRTYPE_IXFR ? "IXFR" : "AXFR",
	     p->text);
	if (bufferevent_socket_connect(z->bev, (struct sockaddr *)&p->addr,
				       (int)p->addrlen) != 0) {
		zlog(z, XFRD_LOG_WARNING, "cannot connect to %s: %s", p->text,
		     strerror(errno));
		next_primary(z);
	}
}

/* ---- NOTIFY out ---- */

static void notify_stop(struct notify_send *n)
{
	if (n->ev) {
		event_free(n->ev);
		n->ev = NULL;
	}
	if (n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
	}
	if (n->tsig_live) {
		tsig_ctx_free(&n->tsig);
		n->tsig_live = false;
	}
}

static void notify_send(struct notify_send *n);

/* The retransmission timer after an ICMP error. */
static void notify_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	notify_send(arg);
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_send *n = arg;
	struct xfrd_zone *z = n->z;
	if (what & EV_TIMEOUT) {
		if (++n->tries >= NOTIFY_TRIES) {
			zlog(z, XFRD_LOG_WARNING, "NOTIFY to %s: no answer after "
			     "%u tries", n->peer->text, n->tries);
			notify_stop(n);
			return;
		}
		notify_send(n);
		return;
	}
	ssize_t len = recv(fd, z->d->buf, sizeof(z->d->buf), 0);
	if (len <= 0) {
		/* ICMP unreachable (ECONNREFUSED) and the like: the target
		 * may be starting; retransmit as for a timeout. */
		if (++n->tries >= NOTIFY_TRIES) {
			zlog(z, XFRD_LOG_WARNING, "NOTIFY to %s: %s after %u tries",
			     n->peer->text, len < 0 ? strerror(errno) : "empty answer",
			     n->tries);
			notify_stop(n);
			return;
		}
		event_del(n->ev);
		struct timeval tv = { 1 << n->tries, 0 };
		event_free(n->ev);
		n->ev = evtimer_new(z->d->base, notify_retry_cb, n);
		evtimer_add(n->ev, &tv);
		return;
	}
	unsigned rcode = 0;
	int r = notify_check_answer(z->d->buf, (size_t)len, n->id, z->apex,
				    n->tsig_live ? &n->tsig : NULL,
				    (uint64_t)time(NULL), &rcode);
	if (r == ERR_MALFORMED) {
		struct timeval tv = { 1 << n->tries, 0 };
		event_add(n->ev, &tv); /* not ours: keep waiting */
		return;
	}
	if (r == 0)
		zlog(z, XFRD_LOG_INFO, "NOTIFY acknowledged by %s", n->peer->text);
	else if (r == ERR_REFUSED)
		zlog(z, XFRD_LOG_WARNING, "NOTIFY to %s: answered rcode %u",
		     n->peer->text, rcode);
	else
		zlog(z, XFRD_LOG_WARNING, "NOTIFY to %s: %s", n->peer->text,
		     error_str(r));
	notify_stop(n);
}

static void notify_send(struct notify_send *n)
{
	struct xfrd_zone *z = n->z;
	struct zone_version *cur = z->d->ops->current(z->d->arg, z->zone);
	notify_stop(n);
	if (cur == NULL)
		return;
	n->fd = socket(n->peer->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || connect(n->fd, (const struct sockaddr *)&n->peer->addr,
				 n->peer->addrlen) != 0) {
		zlog(z, XFRD_LOG_WARNING, "NOTIFY to %s: %s", n->peer->text,
		     strerror(errno));
		notify_stop(n);
		return;
	}
	n->id = new_id();
	if (n->peer->key) {
		tsig_ctx_init(&n->tsig, n->peer->key, NULL, 0);
		n->tsig_live = true;
	}
	const struct zone_rrset *soa = zone_node_rrset(cur->apex, RRTYPE_SOA);
	size_t pos = 0, len;
	uint16_t soalen;
	const uint8_t *rdata = zone_rrset_next(soa, &pos, &soalen);
	int r = notify_request(z->d->buf, sizeof(z->d->buf), &len, n->id, z->apex,
			       rdata, soalen, soa->ttl, n->tsig_live ? &n->tsig : NULL,
			       (uint64_t)time(NULL));
	if (r != 0 || send(n->fd, z->d->buf, len, 0) != (ssize_t)len) {
		zlog(z, XFRD_LOG_WARNING, "NOTIFY to %s: %s", n->peer->text,
		     r ? error_str(r) : strerror(errno));
		notify_stop(n);
		return;
	}
	n->ev = event_new(z->d->base, n->fd, EV_READ, notify_cb, n);
	/* RFC 1996 §3.6: retransmit with a growing interval. */
	struct timeval tv = { 1 << n->tries, 0 };
	event_add(n->ev, &tv);
}

void xfrd_zone_notify(struct xfrd_zone *z)
{
	for (size_t i = 0; i < z->s->nnotify; i++) {
		z->sends[i].tries = 0;
		notify_send(&z->sends[i]);
	}
}

/* ---- the zone ---- */

struct xfrd *xfrd_new(struct event_base *base, const struct xfrd_ops *ops,
		      void *arg)
{
	if (sodium_init() < 0)
		return NULL;
	struct xfrd *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->base = base;
	d->ops = ops;
	d->arg = arg;
	return d;
}

void xfrd_free(struct xfrd *d)
{
	free(d);
}

struct xfrd_zone *xfrd_zone_new(struct xfrd *d, const uint8_t *apex,
				const struct xfr_settings *settings,
				void *zone)
{
	struct xfrd_zone *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->d = d;
	z->zone = zone;
	z->s = settings;
	z->udp_fd = -1;
	dname_copy_lower(z->apex, apex);
	dname_to_str(z->name, sizeof(z->name), z->apex);
	z->sends = calloc(settings->nnotify ? settings->nnotify : 1, sizeof(*z->sends));
	z->timer = evtimer_new(d->base, timer_cb, z);
	z->expire_ev = evtimer_new(d->base, expire_cb, z);
	z->xfr_timer = evtimer_new(d->base, transfer_timeout_cb, z);
	z->copy_ev = evtimer_new(d->base, copy_cb, z);
	z->copy_pipe[0] = z->copy_pipe[1] = -1;
	if (pipe2(z->copy_pipe, O_NONBLOCK | O_CLOEXEC) == 0)
		z->copy_done_ev = event_new(d->base, z->copy_pipe[0],
					    EV_READ | EV_PERSIST, copy_done_cb,
					    z);
	if (z->copy_done_ev != NULL && event_add(z->copy_done_ev, NULL) != 0) {
		event_free(z->copy_done_ev);
		z->copy_done_ev = NULL;
	}
	if (z->sends == NULL || z->timer == NULL || z->expire_ev == NULL ||
	    z->xfr_timer == NULL || z->copy_ev == NULL ||
	    z->copy_done_ev == NULL) {
		xfrd_zone_free(z);
		return NULL;
	}
	for (size_t i = 0; i < settings->nnotify; i++) {
		z->sends[i].z = z;
		z->sends[i].peer = &settings->notify[i];
		z->sends[i].fd = -1;
	}
	return z;
}

void xfrd_zone_free(struct xfrd_zone *z)
{
	if (z == NULL)
		return;
	stop_soa_query(z);
	stop_transfer(z);
	for (size_t i = 0; z->sends && i < z->s->nnotify; i++)
		notify_stop(&z->sends[i]);
	free(z->sends);
	if (z->timer)
		event_free(z->timer);
	if (z->expire_ev)
		event_free(z->expire_ev);
	if (z->xfr_timer)
		event_free(z->xfr_timer);
	if (z->copy_ev)
		event_free(z->copy_ev);
	copy_join(z);
	if (z->copy_done_ev)
		event_free(z->copy_done_ev);
	for (int i = 0; i < 2; i++)
		if (z->copy_pipe[i] >= 0)
			close(z->copy_pipe[i]);
	journal_close(z->journal);
	free(z);
}

static void open_journal(struct xfrd_zone *z)
{
	if (z->s->journal == NULL || z->journal != NULL)
		return;
	int r = journal_open(z->s->journal, &z->journal);
	if (r != 0) {
		zlog(z, XFRD_LOG_WARNING, "journal %s: %s (IXFR clients get AXFR)",
		     z->s->journal, error_str(r));
		z->journal = NULL;
	} else if (z->journal->cut > 0) {
		zlog(z, XFRD_LOG_WARNING, "journal %s: cut a torn tail of %zu "
		     "bytes", z->s->journal, z->journal->cut);
	}
}

/* Applies the journal's differences that lead on from the stored copy
 * (written after the copy, before a crash). Returns the newest version
 * reached; v is released when a newer one replaces it. */
static struct zone_version *replay_journal(struct xfrd_zone *z,
					   struct zone_version *v)
{
	size_t start;
	if (z->journal == NULL || journal_find(z->journal, v->serial, &start) != 0)
		return v;
	for (size_t i = start; i < z->journal->count; i++) {
		struct zone_diff d;
		struct zone_version *next = NULL;
		int r = journal_read(z->journal, i, &d);
		if (r == 0)
			r = zone_apply(v, &d, zone_log_cb, z, &next);
		zone_diff_free(&d);
		if (r != 0) {
			zlog(z, XFRD_LOG_WARNING, "journal record %zu does not apply "
			     "to the stored copy: %s", i, error_str(r));
			break;
		}
		zone_version_release(v);
		v = next;
	}
	if (v->serial != z->stored_serial)
		zlog(z, XFRD_LOG_INFO, "journal replayed from serial %u to %u",
		     z->stored_serial, v->serial);
	return v;
}

int xfrd_zone_start(struct xfrd_zone *z)
{
	open_journal(z);
	if (!z->s->secondary) {
		xfrd_zone_notify(z);
		return 0;
	}
	time_t now = time(NULL);
	struct zone_version *v = NULL;
	struct stat st;
	if (z->s->zonefile && stat(z->s->zonefile, &st) == 0) {
		int r = zone_load_file(z->apex, z->s->zonefile, zone_log_cb, z, &v);
		if (r != 0)
			zlog(z, XFRD_LOG_ERROR, "stored copy %s unusable: %s",
			     z->s->zonefile, error_str(r));
	}
	if (v != NULL) {
		z->stored = true;
		z->stored_serial = v->serial;
		v = replay_journal(z, v);
		malloc_trim(0); /* the loader's memory, as after an AXFR */
	}
	struct soa_timers t;
	if (v != NULL && version_timers(v, &t)) {
		if (!load_timers(z)) {
			/* No timers: the copy is as old as its file. */
			z->last_refresh = st.st_mtime;
			z->expires_at = st.st_mtime +
				clamp(t.expire, z->s->expire_min, z->s->expire_max);
		}
		z->serial = v->serial;
		z->have_serial = true;
		if (z->expires_at <= now) {
			z->expired = true;
			zlog(z, XFRD_LOG_ERROR, "stored copy (serial %u) expired at "
			     "%lld; not served until a transfer succeeds",
			     v->serial, (long long)z->expires_at);
			zone_version_release(v);
			refresh_now(z);
			return 0;
		}
		zlog(z, XFRD_LOG_INFO, "serving the stored copy, serial %u", v->serial);
		bool replayed = v->serial != z->stored_serial;
		zone_version_ref(v);
		z->d->ops->publish(z->d->arg, z->zone, v);
		/* The journal took us past the copy on disk: bring the copy
		 * up to date, now that the zone is served. */
		if (replayed)
			store_copy(z, v);
		zone_version_release(v);
		schedule_expire(z);
		time_t at = z->last_refresh +
			    clamp(t.refresh, z->s->refresh_min, z->s->refresh_max);
		schedule(z, at > now ? at : now);
		return 0;
	}
	refresh_now(z);
	return 0;
}

int xfrd_zone_changed(struct xfrd_zone *z,
		      const struct zone_version *old_version,
		      const struct zone_version *new_version)
{
	int r = 0;
	open_journal(z);
	if (z->journal && old_version &&
	    serial_cmp(new_version->serial, old_version->serial) > 0) {
		uint32_t first, last;
		if (journal_range(z->journal, &first, &last) &&
		    last != old_version->serial)
			r = journal_reset(z->journal);
		struct zone_diff d;
		if (r == 0)
			r = zone_diff_compute(old_version, new_version, &d);
		if (r == 0) {
			r = journal_append(z->journal, old_version->serial,
					   new_version->serial, &d);
			zone_diff_free(&d);
		}
		if (r == 0)
			r = journal_trim(z->journal, z->s->journal_max_size);
		if (r != 0)
			zlog(z, XFRD_LOG_WARNING, "journal %s: %s (IXFR clients "
			     "get AXFR)", z->s->journal, error_str(r));
	}
	z->serial = new_version->serial;
	z->have_serial = true;
	xfrd_zone_notify(z);
	return r;
}

void xfrd_zone_refresh(struct xfrd_zone *z)
{
	refresh_now(z);
}

void xfrd_zone_retransfer(struct xfrd_zone *z)
{
	if (!z->s->secondary)
		return;
	z->force_axfr = true;
	refresh_now(z);
}

void xfrd_zone_notified(struct xfrd_zone *z, const char *from)
{
	zlog(z, XFRD_LOG_INFO, "NOTIFY from %s", from);
	refresh_now(z);
}

bool xfrd_zone_expired(const struct xfrd_zone *z)
{
	return z->expired;
}

static void put_time(char *buf, size_t len, time_t t)
{
	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void xfrd_zone_status(const struct xfrd_zone *z, char *buf, size_t len)
{
	char last[32], next[32], expires[32];
	if (!z->s->secondary) {
		snprintf(buf, len, "role: primary\nnotify-targets: %zu\n",
			 z->s->nnotify);
		return;
	}
	put_time(last, sizeof(last), z->last_refresh);
	put_time(next, sizeof(next), z->state == REFRESH_IDLE ? z->next_refresh : 0);
	put_time(expires, sizeof(expires), z->expires_at);
	snprintf(buf, len,
		 "role: secondary\nrefresh-state: %s\nprimary: %s\nlast-refresh: %s\n"
		 "next-refresh: %s\nexpires-at: %s\nlast-error: %s\n",
		 z->expired ? "expired" : z->state == REFRESH_IDLE ? "idle"
				  : z->state == REFRESH_SOA ? "checking serial"
							    : "transferring",
		 z->last_primary[0] ? z->last_primary : "-", last, next, expires,
		 z->last_error[0] ? z->last_error : "-");
}
