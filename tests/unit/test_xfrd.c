/*
 * test_xfrd.c -- the replication engine as a secondary of a small primary
 * run in the same event loop on loopback: first AXFR, IXFR after NOTIFY,
 * the stored copy served at restart, expiry with the primary gone, and a
 * hostile primary rejected.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "xfr/journal.h"
#include "xfr/xfrd.h"
#include "xfr/xfrout.h"
#include "zonedb/load.h"

static const uint8_t root[1] = { 0 };

/* ---- a small primary ---- */

struct primary {
	struct event_base *base;
	int udp;
	struct event *udp_ev;
	struct evconnlistener *listener;
	uint16_t port;
	struct zone_version *version;   /* what it serves */
	struct zone_version *previous;  /* for IXFR, with diff */
	struct zone_diff diff;          /* previous -> version */
	bool has_diff;
	bool evil;                      /* add an out-of-zone RR to AXFR */
	int ixfr_count, axfr_count;
};

static void answer_udp(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct primary *p = arg;
	uint8_t buf[512], out[1024];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	if (n < 12)
		return;
	struct msg_writer w;
	msg_writer_init(&w, out, sizeof(out), sizeof(out));
	msg_write_header(&w, (uint16_t)(buf[0] << 8 | buf[1]), MSG_FLAG_QR | MSG_FLAG_AA);
	msg_write_question(&w, p->version->apex_name, RRTYPE_SOA, RRCLASS_IN);
	const struct zone_rrset *soa = zone_node_rrset(p->version->apex, RRTYPE_SOA);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata = zone_rrset_next(soa, &pos, &len);
	msg_write_rr(&w, MSG_ANSWER, p->version->apex_name, RRTYPE_SOA, RRCLASS_IN,
		     soa->ttl, rdata, len);
	sendto(fd, out, msg_writer_len(&w), 0, (struct sockaddr *)&from, fromlen);
}

static void tcp_read(struct bufferevent *bev, void *arg)
{
	struct primary *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lenbuf[2], q[1024];
	if (evbuffer_copyout(in, lenbuf, 2) < 2)
		return;
	size_t len = (size_t)(lenbuf[0] << 8 | lenbuf[1]);
	if (evbuffer_get_length(in) < len + 2)
		return;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, q, len);
	struct msg_reader rd;
	struct msg_header h;
	struct msg_question qq;
	msg_reader_init(&rd, q, len);
	msg_read_header(&rd, &h);
	msg_read_question(&rd, &qq);
	struct xfrout x;
	if (qq.type == RRTYPE_IXFR && p->has_diff) {
		struct zone_diff *d = calloc(1, sizeof(*d));
		for (size_t i = 0; i < p->diff.nremoved; i++)
			zone_diff_add(d, false, p->diff.removed[i].owner, p->diff.removed[i].type,
				      p->diff.removed[i].ttl, p->diff.removed[i].rdata,
				      p->diff.removed[i].rdlen);
		for (size_t i = 0; i < p->diff.nadded; i++)
			zone_diff_add(d, true, p->diff.added[i].owner, p->diff.added[i].type,
				      p->diff.added[i].ttl, p->diff.added[i].rdata,
				      p->diff.added[i].rdlen);
		xfrout_ixfr_init(&x, p->version, h.id, 0, qq.name, d, 1);
		p->ixfr_count++;
	} else {
		xfrout_axfr_init(&x, p->version, h.id, 0, qq.name, qq.type);
		p->axfr_count++;
	}
	static uint8_t msg[65535 + 2];
	int more;
	bool first = true;
	do {
		size_t mlen;
		more = xfrout_next(&x, msg + 2, 65535, &mlen, NULL, 0);
		if (more < 0)
			break;
		if (p->evil && first) {
			/* append an out-of-zone A record to the first message */
			static const uint8_t evil_rr[] = {
				4, 'e', 'v', 'i', 'l', 3, 'n', 'e', 't', 0,
				0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 66 };
			memcpy(msg + 2 + mlen, evil_rr, sizeof(evil_rr));
			mlen += sizeof(evil_rr);
			msg[2 + 7] = (uint8_t)(msg[2 + 7] + 1); /* ANCOUNT */
		}
		first = false;
		msg[0] = (uint8_t)(mlen >> 8);
		msg[1] = (uint8_t)mlen;
		bufferevent_write(bev, msg, mlen + 2);
	} while (more == 1);
	xfrout_free(&x);
}

static void tcp_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void tcp_accept(struct evconnlistener *l, evutil_socket_t fd,
		       struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	struct primary *p = arg;
	struct bufferevent *bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, tcp_read, NULL, tcp_event, p);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void primary_start(struct primary *p, struct event_base *base)
{
	p->base = base;
	/* A port free for both UDP and TCP: take one for UDP, try TCP on
	 * it, and try again (bounded) if TCP has it taken. */
	for (int attempt = 0; attempt < 50 && p->listener == NULL; attempt++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		ck_assert_int_eq(bind(p->udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
		socklen_t len = sizeof(sin);
		getsockname(p->udp, (struct sockaddr *)&sin, &len);
		p->port = ntohs(sin.sin_port);
		p->listener = evconnlistener_new_bind(base, tcp_accept, p,
						      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
						      16, (struct sockaddr *)&sin, sizeof(sin));
		if (p->listener == NULL)
			close(p->udp);
	}
	ck_assert_ptr_nonnull(p->listener);
	p->udp_ev = event_new(base, p->udp, EV_READ | EV_PERSIST, answer_udp, p);
	event_add(p->udp_ev, NULL);
}

static void primary_stop(struct primary *p)
{
	if (p->udp_ev) {
		event_free(p->udp_ev);
		close(p->udp);
		p->udp_ev = NULL;
	}
	if (p->listener) {
		evconnlistener_free(p->listener);
		p->listener = NULL;
	}
}

/* ---- the server side of xfrd ---- */

struct served {
	struct zone_version *version;
	int publishes;
	int nulls;
	char log[8192];
};

static struct zone_version *op_current(void *arg, void *zone)
{
	(void)zone;
	return ((struct served *)arg)->version;
}

static void op_publish(void *arg, void *zone, struct zone_version *v)
{
	(void)zone;
	struct served *s = arg;
	if (s->version)
		zone_version_release(s->version);
	s->version = v;
	s->publishes++;
	if (v == NULL)
		s->nulls++;
}

static void op_log(void *arg, enum xfrd_log_level level, const char *zone,
		   const char *msg)
{
	(void)level;
	struct served *s = arg;
	size_t used = strlen(s->log);
	if (used > sizeof(s->log) - 600)
		used = 0;
	snprintf(s->log + used, sizeof(s->log) - used, "%s: %s\n", zone, msg);
}

static const struct xfrd_ops ops = { op_current, op_publish, op_log };

static struct zone_version *load_data(const char *file)
{
	char path[512];
	uint8_t apex[DNAME_MAXLEN];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, file);
	dname_from_str(apex, "example.com.", 12, root);
	struct zone_version *v = NULL;
	ck_assert_int_eq(zone_load_file(apex, path, NULL, NULL, &v), 0);
	return v;
}

/* A new version: serial + 1 and one more A record. */
static struct zone_version *next_version(const struct zone_version *v, struct zone_diff *d)
{
	const struct zone_rrset *soa = zone_node_rrset(v->apex, RRTYPE_SOA);
	size_t pos = 0;
	uint16_t soalen;
	const uint8_t *s1 = zone_rrset_next(soa, &pos, &soalen);
	uint8_t s2[512];
	memcpy(s2, s1, soalen);
	size_t at = dname_len(s1);
	at += dname_len(s1 + at);
	s2[at + 3] += 1;
	uint8_t owner[DNAME_MAXLEN];
	dname_from_str(owner, "new.example.com.", 16, root);
	uint8_t addr[4] = { 192, 0, 2, 77 };
	memset(d, 0, sizeof(*d));
	zone_diff_add(d, false, v->apex_name, RRTYPE_SOA, soa->ttl, s1, soalen);
	zone_diff_add(d, true, v->apex_name, RRTYPE_SOA, soa->ttl, s2, soalen);
	zone_diff_add(d, true, owner, RRTYPE_A, 300, addr, 4);
	struct zone_version *out = NULL;
	ck_assert_int_eq(zone_apply(v, d, NULL, NULL, &out), 0);
	return out;
}

static bool same(const struct zone_version *a, const struct zone_version *b)
{
	struct zone_diff d;
	ck_assert_int_eq(zone_diff_compute(a, b, &d), 0);
	bool eq = d.nadded + d.nremoved == 0;
	zone_diff_free(&d);
	return eq;
}

/* Runs the loop until cond() or about `seconds` pass. */
static bool run_until(struct event_base *base, bool (*cond)(void *), void *arg,
		      int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		if (cond(arg))
			return true;
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return cond(arg);
}

struct wait_serial {
	struct served *s;
	uint32_t serial;
};

static bool has_serial(void *arg)
{
	struct wait_serial *w = arg;
	return w->s->version && w->s->version->serial == w->serial;
}

static bool is_expired(void *arg)
{
	return ((struct served *)arg)->nulls > 0;
}

static char dir[64];

static void settings_init(struct xfr_settings *s, struct xfr_peer *peer, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	memset(peer, 0, sizeof(*peer));
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer->addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	peer->addrlen = sizeof(*sin);
	snprintf(peer->text, sizeof(peer->text), "127.0.0.1@%u", port);
	s->secondary = true;
	s->primaries = peer;
	s->nprimaries = 1;
	static char zf[128], jf[128], tf[128];
	snprintf(zf, sizeof(zf), "%s/example.com.zone", dir);
	snprintf(jf, sizeof(jf), "%s/example.com.journal", dir);
	snprintf(tf, sizeof(tf), "%s/example.com.timers", dir);
	s->zonefile = zf;
	s->journal = jf;
	s->timers = tf;
	s->journal_max_size = 1 << 20;
	s->refresh_min = 1;
	s->refresh_max = 3600;
	s->retry_min = 1;
	s->retry_max = 1;
	s->expire_min = 1;
	s->expire_max = 86400;
	s->transfer_timeout = 10;
}

START_TEST(secondary_lifecycle)
{
	snprintf(dir, sizeof(dir), "/tmp/tandem-test-xfrdXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct event_base *base = event_base_new();
	struct primary p = { 0 };
	p.version = load_data("example.com.zone");
	primary_start(&p, base);

	struct served s = { 0 };
	struct xfr_settings set;
	struct xfr_peer peer;
	settings_init(&set, &peer, p.port);
	struct xfrd *d = xfrd_new(base, &ops, &s);
	uint8_t apex[DNAME_MAXLEN];
	dname_from_str(apex, "example.com.", 12, root);
	struct xfrd_zone *z = xfrd_zone_new(d, apex, &set, NULL);
	ck_assert_int_eq(xfrd_zone_start(z), 0);

	/* 1. the first AXFR */
	struct wait_serial w = { &s, p.version->serial };
	ck_assert_msg(run_until(base, has_serial, &w, 10), "no AXFR:\n%s", s.log);
	ck_assert(same(s.version, p.version));
	ck_assert_int_eq(p.axfr_count, 1);
	struct stat st;
	ck_assert_int_eq(stat(set.zonefile, &st), 0);
	ck_assert_int_eq(stat(set.timers, &st), 0);

	/* 2. a change on the primary and a NOTIFY: IXFR */
	struct zone_version *v2 = next_version(p.version, &p.diff);
	p.has_diff = true;
	p.previous = p.version;
	p.version = v2;
	xfrd_zone_notified(z, "test");
	w.serial = v2->serial;
	ck_assert_msg(run_until(base, has_serial, &w, 10), "no IXFR:\n%s", s.log);
	ck_assert(same(s.version, v2));
	ck_assert_int_eq(p.ixfr_count, 1);
	ck_assert_int_eq(p.axfr_count, 1);
	char status[1024];
	xfrd_zone_status(z, status, sizeof(status));
	ck_assert_ptr_nonnull(strstr(status, "role: secondary"));
	ck_assert_ptr_nonnull(strstr(status, "last-error: -"));
	/* the journal holds the difference for our own secondaries */
	struct journal *j;
	ck_assert_int_eq(journal_open_readonly(set.journal, &j), 0);
	ck_assert_uint_eq(j->count, 1);
	journal_close(j);

	/* 3. restart with the primary gone: the stored copy is served at
	 * once, before any refresh */
	xfrd_zone_free(z);
	primary_stop(&p);
	zone_version_release(s.version);
	s.version = NULL;
	z = xfrd_zone_new(d, apex, &set, NULL);
	ck_assert_int_eq(xfrd_zone_start(z), 0);
	ck_assert_ptr_nonnull(s.version);
	ck_assert_uint_eq(s.version->serial, v2->serial);
	ck_assert(same(s.version, v2));

	/* 3b. a crash between the journal and the rewrite of the copy: the
	 * copy still has the old serial; the journal leads on to v2 */
	xfrd_zone_free(z);
	zone_version_release(s.version);
	s.version = NULL;
	ck_assert_int_eq(zone_dump_file(p.previous, set.zonefile), 0);
	z = xfrd_zone_new(d, apex, &set, NULL);
	ck_assert_int_eq(xfrd_zone_start(z), 0);
	ck_assert_ptr_nonnull(s.version);
	ck_assert_uint_eq(s.version->serial, v2->serial);
	ck_assert(same(s.version, v2));
	ck_assert_ptr_nonnull(strstr(s.log, "journal replayed"));

	/* 4. the primary stays away: after expire, SERVFAIL (NULL) */
	xfrd_zone_free(z);
	set.expire_max = 2; /* the SOA says more; the clamp wins */
	remove(set.timers);
	zone_version_release(s.version);
	s.version = NULL;
	z = xfrd_zone_new(d, apex, &set, NULL);
	xfrd_zone_refresh(z); /* refreshes count from now, never succeed */
	ck_assert_int_eq(xfrd_zone_start(z), 0);
	ck_assert_msg(run_until(base, is_expired, &s, 15), "no expiry:\n%s", s.log);
	ck_assert_ptr_null(s.version);
	ck_assert(xfrd_zone_expired(z));
	xfrd_zone_free(z);

	zone_version_release(p.previous);
	zone_version_release(p.version);
	zone_diff_free(&p.diff);
	xfrd_free(d);
	event_base_free(base);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(hostile_primary)
{
	snprintf(dir, sizeof(dir), "/tmp/tandem-test-xfrdXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct event_base *base = event_base_new();
	struct primary p = { 0 };
	p.version = load_data("example.com.zone");
	p.evil = true;
	primary_start(&p, base);
	struct served s = { 0 };
	struct xfr_settings set;
	struct xfr_peer peer;
	settings_init(&set, &peer, p.port);
	set.retry_min = set.retry_max = 60;
	struct xfrd *d = xfrd_new(base, &ops, &s);
	uint8_t apex[DNAME_MAXLEN];
	dname_from_str(apex, "example.com.", 12, root);
	struct xfrd_zone *z = xfrd_zone_new(d, apex, &set, NULL);
	ck_assert_int_eq(xfrd_zone_start(z), 0);
	struct wait_serial w = { &s, p.version->serial };
	ck_assert(!run_until(base, has_serial, &w, 2));
	ck_assert_ptr_null(s.version);
	ck_assert_ptr_nonnull(strstr(s.log, "out-of-zone RR evil.net."));
	char status[1024];
	xfrd_zone_status(z, status, sizeof(status));
	ck_assert_ptr_nonnull(strstr(status, "last-error: refresh failed"));
	struct stat st;
	ck_assert_int_ne(stat(set.zonefile, &st), 0); /* nothing stored */
	xfrd_zone_free(z);
	primary_stop(&p);
	zone_version_release(p.version);
	xfrd_free(d);
	event_base_free(base);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("xfrd");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, secondary_lifecycle);
	tcase_add_test(tc, hostile_primary);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
