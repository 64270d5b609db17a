/*
 * test_worker.c -- worker threads on loopback: UDP, TCP framing,
 * pipelining, idle timeout, connection cap, and RCU publishing while the
 * workers run.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define URCU_INLINE_SMALL_FUNCTIONS
#include <urcu-qsbr.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "server/answer.h"
#include "server/conf.h"
#include "server/worker.h"
#include "zonedb/load.h"
#include "zonedb/zonedb.h"

#define IO_TIMEOUT_MS 3000

static const char zone_v1[] = "$ORIGIN example.com.\n$TTL 60\n"
			      "@ SOA ns hm 1 2 3 4 5\n@ NS ns\n"
			      "ns A 192.0.2.1\nwww A 192.0.2.80\n";
static const char zone_v2[] = "$ORIGIN example.com.\n$TTL 60\n"
			      "@ SOA ns hm 2 2 3 4 5\n@ NS ns\n"
			      "ns A 192.0.2.1\nwww A 192.0.2.81\n";

static struct zonedb db;
static struct zonedb_entry *entry;
static struct answer_conf aconf;
static struct logger logger;
static struct worker *workers[2];
static struct conf_listen listen_addr;

static struct zone_version *load(const char *text)
{
	char path[] = "/tmp/tandem-worker-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	uint8_t apex[DNAME_MAXLEN];
	static const uint8_t root[1] = {0};
	dname_from_str(apex, "example.com.", 12, root);
	struct zone_version *v = NULL;
	ck_assert_int_eq(zone_load_file(apex, path, NULL, NULL, &v), 0);
	unlink(path);
	return v;
}

/* Starts n workers on 127.0.0.1, port chosen by the kernel. */
static void start(unsigned n, unsigned idle, unsigned max_clients)
{
	zonedb_init(&db);
	uint8_t apex[DNAME_MAXLEN];
	static const uint8_t root[1] = {0};
	dname_from_str(apex, "example.com.", 12, root);
	ck_assert_int_eq(zonedb_add(&db, apex, &entry), 0);
	rcu_assign_pointer(entry->version, load(zone_v1));
	aconf = (struct answer_conf){.zonedb = &db, .edns_size = 1232};
	log_init(&logger, LOG_LEVEL_WARNING);
	ck_assert_int_eq(conf_parse_listen("127.0.0.1@0", 53, &listen_addr), 0);
	struct worker_settings ws = {
	    .answer = &aconf,
	    .log = &logger,
	    .tcp_idle_timeout = idle,
	    .tcp_max_clients = max_clients,
	};
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(
		    worker_create(i, &ws, &listen_addr, 1, &workers[i]), 0);
		ck_assert_int_eq(worker_start(workers[i]), 0);
	}
}

static void stop(void)
{
	for (size_t i = 0; i < 2; i++) {
		if (workers[i] != NULL)
			worker_free(workers[i]);
		workers[i] = NULL;
	}
	zone_version_release(entry->version);
	entry->version = NULL;
	zonedb_clear(&db);
}

static size_t make_query(uint8_t *buf, uint16_t id, const char *qname)
{
	struct msg_writer w;
	msg_writer_init(&w, buf, 512, 512);
	msg_write_header(&w, id, 0);
	uint8_t n[DNAME_MAXLEN];
	static const uint8_t root[1] = {0};
	dname_from_str(n, qname, strlen(qname), root);
	msg_write_question(&w, n, RRTYPE_A, RRCLASS_IN);
	return msg_writer_len(&w);
}

/* The last octet of the first A record in a response. */
static int answer_octet(const uint8_t *buf, size_t len)
{
	struct msg_reader r;
	struct msg_header h;
	struct msg_question q;
	struct msg_rr rr;
	uint8_t rdata[512];
	msg_reader_init(&r, buf, len);
	if (msg_read_header(&r, &h) < 0 || msg_read_question(&r, &q) < 0 ||
	    h.count[MSG_ANSWER] == 0 ||
	    msg_read_rr(&r, &rr, rdata, sizeof(rdata)) < 0 || rr.rdlen != 4)
		return -1;
	return rdata[3];
}

static int connect_to(int type)
{
	int fd = socket(AF_INET, type, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&listen_addr.addr,
				 listen_addr.addrlen),
			 0);
	return fd;
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* One UDP exchange; returns the answer octet or -1. */
static int udp_ask(const char *qname)
{
	int fd = connect_to(SOCK_DGRAM);
	uint8_t q[512], r[4096];
	size_t qlen = make_query(q, 77, qname);
	ck_assert_int_eq(send(fd, q, qlen, 0), (ssize_t)qlen);
	int ret = -1;
	if (wait_readable(fd, IO_TIMEOUT_MS)) {
		ssize_t n = recv(fd, r, sizeof(r), 0);
		if (n > 0)
			ret = answer_octet(r, (size_t)n);
	}
	close(fd);
	return ret;
}

/* Reads exactly n octets within the timeout. */
static bool read_exact(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	for (int i = 0; got < n && i < 1000; i++) {
		if (!wait_readable(fd, IO_TIMEOUT_MS))
			return false;
		ssize_t r = recv(fd, buf + got, n - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return got == n;
}

static int tcp_read_answer(int fd, uint16_t *id)
{
	uint8_t len[2], buf[65535];
	if (!read_exact(fd, len, 2))
		return -1;
	size_t n = (size_t)len[0] << 8 | len[1];
	if (!read_exact(fd, buf, n))
		return -1;
	*id = (uint16_t)(buf[0] << 8 | buf[1]);
	return answer_octet(buf, n);
}

/* True when the peer closes within ms. */
static bool closed_by_peer(int fd, int ms)
{
	if (!wait_readable(fd, ms))
		return false;
	uint8_t c;
	ssize_t n = recv(fd, &c, 1, 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

START_TEST(udp_and_rcu_publish)
{
	start(2, 10, 10);
	ck_assert_uint_ne(
	    ntohs(((struct sockaddr_in *)&listen_addr.addr)->sin_port), 0);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(udp_ask("www.example.com."), 80);

	/* Publish v2 while the workers run. They are idle, hence offline:
	 * the grace period must end at once, not when a packet arrives. */
	struct zone_version *old =
	    rcu_xchg_pointer(&entry->version, load(zone_v2));
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	synchronize_rcu();
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_int_lt(b.tv_sec - a.tv_sec, 2);
	zone_version_release(old);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(udp_ask("WWW.example.com."), 81);

	/* And while queries flow. */
	for (int round = 0; round < 20; round++) {
		old = rcu_xchg_pointer(&entry->version,
				       load(round % 2 ? zone_v2 : zone_v1));
		ck_assert_int_ge(udp_ask("www.example.com."), 80);
		synchronize_rcu();
		zone_version_release(old);
	}
	stop();
}
END_TEST

START_TEST(tcp_framing_and_pipelining)
{
	start(1, 10, 10);
	int fd = connect_to(SOCK_STREAM);
	/* 50 queries in one write, answered in order */
	uint8_t buf[50 * 64];
	size_t len = 0;
	for (uint16_t i = 0; i < 50; i++) {
		size_t q = make_query(buf + len + 2, i, "www.example.com.");
		buf[len] = (uint8_t)(q >> 8);
		buf[len + 1] = (uint8_t)q;
		len += q + 2;
	}
	ck_assert_int_eq(send(fd, buf, len, 0), (ssize_t)len);
	for (uint16_t i = 0; i < 50; i++) {
		uint16_t id;
		ck_assert_int_eq(tcp_read_answer(fd, &id), 80);
		ck_assert_uint_eq(id, i);
	}
	/* one query one octet at a time */
	size_t q = make_query(buf + 2, 999, "www.example.com.");
	buf[0] = 0;
	buf[1] = (uint8_t)q;
	for (size_t i = 0; i < q + 2; i++) {
		ck_assert_int_eq(send(fd, buf + i, 1, 0), 1);
		usleep(1000);
	}
	uint16_t id;
	ck_assert_int_eq(tcp_read_answer(fd, &id), 80);
	ck_assert_uint_eq(id, 999);
	/* half-close after a query: still answered, then closed */
	ck_assert_int_eq(send(fd, buf, q + 2, 0), (ssize_t)(q + 2));
	shutdown(fd, SHUT_WR);
	ck_assert_int_eq(tcp_read_answer(fd, &id), 80);
	ck_assert(closed_by_peer(fd, IO_TIMEOUT_MS));
	close(fd);
	stop();
}
END_TEST

START_TEST(tcp_idle_timeout_and_cap)
{
	start(1, 1, 2);
	int a = connect_to(SOCK_STREAM);
	int b = connect_to(SOCK_STREAM);
	usleep(100000);
	/* over the cap: closed at once */
	int c = connect_to(SOCK_STREAM);
	ck_assert(closed_by_peer(c, IO_TIMEOUT_MS));
	close(c);
	/* idle for 1 s: closed */
	ck_assert(closed_by_peer(a, IO_TIMEOUT_MS));
	ck_assert(closed_by_peer(b, IO_TIMEOUT_MS));
	close(a);
	close(b);
	/* the slots are free again */
	int d = connect_to(SOCK_STREAM);
	uint8_t buf[512];
	size_t q = make_query(buf + 2, 5, "www.example.com.");
	buf[0] = 0;
	buf[1] = (uint8_t)q;
	ck_assert_int_eq(send(d, buf, q + 2, 0), (ssize_t)(q + 2));
	uint16_t id;
	ck_assert_int_eq(tcp_read_answer(d, &id), 80);
	close(d);
	worker_stop(workers[0]);
	struct worker_stats sum = {0}, *st = &sum;
	worker_stats_add(st, workers[0]);
	ck_assert_uint_eq(st->tcp_refused, 1);
	ck_assert_uint_eq(st->tcp_timeouts, 2);
	ck_assert_uint_eq(st->tcp_queries, 1);
	stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, udp_and_rcu_publish);
	tcase_add_test(tc, tcp_framing_and_pipelining);
	tcase_add_test(tc, tcp_idle_timeout_and_cap);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
