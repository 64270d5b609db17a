/*
 * test_answer.c -- answer_query() on in-memory zones, without sockets.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/cookie.h"
#include "dns/dname.h"
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "server/answer.h"
#include "zonedb/load.h"
#include "zonedb/zonedb.h"

/* ---- the zones ---- */

static const char example_com[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    "@ NS ns1\n"
    "@ NS ns2.example.net.\n"
    "@ MX 10 mail\n"
    "@ MX 20 mx.example.net.\n"
    "@ A 192.0.2.1\n"
    "@ TXT \"apex\"\n"
    "ns1 A 192.0.2.53\n"
    "ns1 AAAA 2001:db8::53\n"
    "mail A 192.0.2.25\n"
    "www A 192.0.2.80\n"
    "www TXT \"web\"\n"
    "MixedCase A 192.0.2.9\n"
    "_sip._udp SRV 10 60 5060 www\n"
    "_dns SVCB 1 ns1 alpn=dot\n"
    "svc HTTPS 1 . alpn=h2\n"
    "svc A 192.0.2.7\n"
    "alias HTTPS 0 svc\n"
    "mxw MX 10 Foo.wild\n"
    "mxw MX 20 bar.wild\n"
    "sub NS ns1.sub\n"
    "sub NS ns.example.net.\n"
    "sub DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef"
    "0123456789abcdef\n"
    "ns1.sub A 192.0.2.101\n"
    "child NS ns1.child\n"
    "ns1.child A 192.0.2.110\n"
    "a.b.ent A 192.0.2.130\n"
    "*.wild A 192.0.2.200\n"
    "*.wild MX 10 mail\n"
    "x.ent2.wild A 192.0.2.202\n"
    "*.wcname CNAME www\n"
    "c1 CNAME c2\n"
    "c2 CNAME www\n"
    "cloop1 CNAME cloop2\n"
    "cloop2 CNAME cloop1\n"
    "cnx CNAME nothere\n"
    "cext CNAME www.example.net.\n"
    "cdeleg CNAME www.sub\n"
    "dn 7200 DNAME target\n"
    "www.target A 192.0.2.140\n"
    "dnlong DNAME "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
    "example.net.\n";

static const char child_example_com[] =
    "$ORIGIN child.example.com.\n"
    "$TTL 1800\n"
    "@ IN SOA ns1 hostmaster 7 3600 600 604800 900\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.110\n";

static struct zonedb db;
static struct answer_conf conf;
static struct answer_scratch *scratch;
static uint8_t nsid_payload[] = "ns1";

static void fail_log(void *arg, enum zone_log_level level, const char *file,
		     unsigned long line, const char *msg)
{
	if (level == ZONE_LOG_ERROR)
		fprintf(stderr, "%s:%lu: %s\n", file ? file : "-", line, msg);
}

static void name(uint8_t out[DNAME_MAXLEN], const char *str)
{
	static const uint8_t root[1] = {0};
	ck_assert_int_gt(dname_from_str(out, str, strlen(str), root), 0);
}

static void add_zone(const char *origin, const char *text)
{
	char path[] = "/tmp/tandem-answer-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	uint8_t apex[DNAME_MAXLEN];
	name(apex, origin);
	struct zonedb_entry *e;
	ck_assert_int_eq(zonedb_add(&db, apex, &e), 0);
	ck_assert_int_eq(
	    zone_load_file(apex, path, fail_log, NULL, &e->version), 0);
	unlink(path);
}

static int release(struct zonedb_entry *e, void *arg)
{
	zone_version_release(e->version);
	e->version = NULL;
	return 0;
}

static void setup(void)
{
	zonedb_init(&db);
	add_zone("example.com.", example_com);
	add_zone("child.example.com.", child_example_com);
	/* configured, not loaded */
	uint8_t apex[DNAME_MAXLEN];
	struct zonedb_entry *e;
	name(apex, "broken.example.");
	ck_assert_int_eq(zonedb_add(&db, apex, &e), 0);
	scratch = malloc(sizeof(*scratch));
	conf = (struct answer_conf){
	    .zonedb = &db,
	    .edns_size = 1232,
	    .identity = "ns1.example.net",
	    .version = "tandem-test",
	    .nsid = nsid_payload,
	    .nsid_len = 3,
	};
}

static void teardown(void)
{
	zonedb_foreach(&db, release, NULL);
	zonedb_clear(&db);
	free(scratch);
}

/* ---- building queries ---- */

struct query_opts {
	uint16_t qclass; /* 0: IN */
	uint16_t flags;	 /* header flags (RD, opcode...) */
	bool edns;
	uint16_t udp_size; /* 0: 1232 */
	uint8_t version;
	bool dnssec_ok;
	bool nsid;
};

static size_t make_query(uint8_t *buf, size_t cap, const char *qname,
			 uint16_t qtype, const struct query_opts *o)
{
	struct msg_writer w;
	ck_assert_int_eq(msg_writer_init(&w, buf, cap, cap), 0);
	msg_write_header(&w, 0x1234, o ? o->flags : 0);
	uint8_t n[DNAME_MAXLEN];
	name(n, qname);
	ck_assert_int_eq(
	    msg_write_question(&w, n, qtype,
			       o && o->qclass ? o->qclass : RRCLASS_IN),
	    0);
	if (o && o->edns) {
		static const uint8_t nsid_opt[] = {0, EDNS_OPT_NSID, 0, 0};
		struct msg_edns e = {
		    .udp_size = o->udp_size ? o->udp_size : 1232,
		    .version = o->version,
		    .dnssec_ok = o->dnssec_ok,
		    .options = o->nsid ? nsid_opt : NULL,
		    .options_len = o->nsid ? sizeof(nsid_opt) : 0,
		};
		ck_assert_int_eq(msg_write_opt(&w, &e, NULL, 0), 0);
	}
	return msg_writer_len(&w);
}

/* ---- reading responses ---- */

struct rr {
	int section;
	char owner[DNAME_STRLEN];
	uint16_t type, rrclass;
	uint32_t ttl;
	uint8_t rdata[512];
	uint16_t rdlen;
};

struct response {
	size_t len;
	struct msg_header h;
	struct msg_question q;
	char qname[DNAME_STRLEN];
	int nrr;
	struct rr rr[300];
	bool edns;
	struct msg_edns opt;
	bool nsid;
	uint8_t nsid_data[64];
	uint16_t nsid_len;
	int ede; /* -1: none */
};

static uint8_t wire[MSG_MAXLEN];
static uint8_t out[MSG_MAXLEN];
static uint8_t rdata_buf[MSG_RDATA_MAX];

static void parse_response(const uint8_t *buf, size_t len, struct response *r)
{
	memset(r, 0, sizeof(*r));
	r->len = len;
	r->ede = -1;
	struct msg_reader rd;
	msg_reader_init(&rd, buf, len);
	ck_assert_int_eq(msg_read_header(&rd, &r->h), 0);
	ck_assert_int_le(r->h.count[MSG_QUESTION], 1);
	if (r->h.count[MSG_QUESTION] == 1) {
		ck_assert_int_eq(msg_read_question(&rd, &r->q), 0);
		dname_to_str(r->qname, sizeof(r->qname), r->q.name);
	}
	for (int s = MSG_ANSWER; s <= MSG_ADDITIONAL; s++) {
		for (unsigned i = 0; i < r->h.count[s]; i++) {
			struct msg_rr mrr;
			ck_assert_int_eq(msg_read_rr(&rd, &mrr, rdata_buf,
						     sizeof(rdata_buf)),
					 0);
			if (mrr.type == RRTYPE_OPT) {
				ck_assert_int_eq(s, MSG_ADDITIONAL);
				ck_assert(!r->edns);
				r->edns = true;
				ck_assert_int_eq(
				    msg_edns_parse(&mrr, rdata_buf, &r->opt),
				    0);
				const uint8_t *data;
				uint16_t dlen;
				if (msg_edns_find_option(&r->opt, EDNS_OPT_NSID,
							 &data, &dlen) == 0) {
					r->nsid = true;
					r->nsid_len = dlen;
					memcpy(r->nsid_data, data, dlen);
				}
				if (msg_edns_find_option(&r->opt, EDNS_OPT_EDE,
							 &data, &dlen) == 0) {
					ck_assert_uint_ge(dlen, 2);
					r->ede = data[0] << 8 | data[1];
				}
				r->opt.options = NULL;
				continue;
			}
			ck_assert_int_lt(r->nrr, 300);
			struct rr *x = &r->rr[r->nrr++];
			x->section = s;
			dname_to_str(x->owner, sizeof(x->owner), mrr.owner);
			x->type = mrr.type;
			x->rrclass = mrr.rrclass;
			x->ttl = mrr.ttl;
			x->rdlen = mrr.rdlen;
			memcpy(x->rdata, rdata_buf,
			       mrr.rdlen < sizeof(x->rdata) ? mrr.rdlen
							    : sizeof(x->rdata));
		}
	}
	ck_assert_uint_eq(msg_reader_remaining(&rd), 0);
}

/* Sends a query to answer_query and parses the response. */
static void ask(const char *qname, uint16_t qtype, const struct query_opts *o,
		enum answer_transport t, struct response *r)
{
	size_t qlen = make_query(wire, sizeof(wire), qname, qtype, o);
	size_t len =
	    answer_query(&conf, scratch, t, wire, qlen, out, sizeof(out));
	ck_assert_uint_gt(len, 0);
	parse_response(out, len, r);
	ck_assert_uint_eq(r->h.id, 0x1234);
	ck_assert(r->h.flags & MSG_FLAG_QR);
	ck_assert(!(r->h.flags & MSG_FLAG_RA));
}

static void ask_udp(const char *qname, uint16_t qtype, struct response *r)
{
	ask(qname, qtype, NULL, ANSWER_UDP, r);
}

static unsigned rcode(const struct response *r)
{
	return msg_flags_rcode(r->h.flags) |
	       (r->edns ? (unsigned)r->opt.ext_rcode << 4 : 0);
}

static bool aa(const struct response *r)
{
	return (r->h.flags & MSG_FLAG_AA) != 0;
}

static bool tc(const struct response *r)
{
	return (r->h.flags & MSG_FLAG_TC) != 0;
}

/* Number of RRs in a section, optionally of one type and owner. */
static int count(const struct response *r, int section, uint16_t type,
		 const char *owner)
{
	int n = 0;
	for (int i = 0; i < r->nrr; i++) {
		const struct rr *x = &r->rr[i];
		if (x->section != section)
			continue;
		if (type != 0 && x->type != type)
			continue;
		if (owner != NULL && strcmp(x->owner, owner) != 0)
			continue;
		n++;
	}
	return n;
}

static const struct rr *find(const struct response *r, int section,
			     uint16_t type, int index)
{
	for (int i = 0; i < r->nrr; i++) {
		const struct rr *x = &r->rr[i];
		if (x->section == section && x->type == type && index-- == 0)
			return x;
	}
	return NULL;
}

/* The name at the start of an RR's rdata, as text. */
static const char *rdata_name(const struct rr *x, size_t skip)
{
	static char buf[DNAME_STRLEN];
	dname_to_str(buf, sizeof(buf), x->rdata + skip);
	return buf;
}

/* ---- positive answers ---- */

START_TEST(exact_answer)
{
	struct response r;
	struct query_opts o = {.flags = MSG_FLAG_RD | MSG_FLAG_CD |
					 MSG_FLAG_AD};
	ask("www.example.com.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert(aa(&r));
	ck_assert(r.h.flags & MSG_FLAG_RD);    /* copied */
	ck_assert(r.h.flags & MSG_FLAG_CD);    /* copied, RFC 4035 §3.1.6 */
	ck_assert(!(r.h.flags & MSG_FLAG_AD)); /* we do not validate */
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 0);
	ck_assert_int_eq(r.h.count[MSG_ADDITIONAL], 0);
	ck_assert_str_eq(r.rr[0].owner, "www.example.com.");
	ck_assert_uint_eq(r.rr[0].ttl, 3600);
	ck_assert_int_eq(memcmp(r.rr[0].rdata, "\xc0\x00\x02\x50", 4), 0);
	ck_assert(!r.edns);
}
END_TEST

START_TEST(query_case_preserved)
{
	struct response r;
	ask_udp("WwW.ExAmPlE.cOm.", RRTYPE_A, &r);
	ck_assert_str_eq(r.qname, "WwW.ExAmPlE.cOm.");
	ck_assert_str_eq(r.rr[0].owner, "WwW.ExAmPlE.cOm.");
	ask_udp("mixedcase.example.com.", RRTYPE_A, &r);
	ck_assert_str_eq(r.rr[0].owner, "mixedcase.example.com.");
}
END_TEST

START_TEST(additional_addresses)
{
	struct response r;
	ask_udp("example.com.", RRTYPE_MX, &r);
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_MX, NULL), 2);
	/* mail is in the zone, mx.example.net is not */
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "mail.example.com."), 1);
	ck_assert_int_eq(r.h.count[MSG_ADDITIONAL], 1);

	ask_udp("example.com.", RRTYPE_NS, &r);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "ns1.example.com."), 1);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_AAAA, "ns1.example.com."), 1);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 0);

	ask_udp("_sip._udp.example.com.", RRTYPE_SRV, &r);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "www.example.com."), 1);
	ask_udp("_dns.example.com.", RRTYPE_SVCB, &r);
	ck_assert_int_eq(count(&r, MSG_ADDITIONAL, 0, "ns1.example.com."), 2);
	/* SVCB/HTTPS: "." (the owner) gets nothing, as in Knot; an alias
	 * target gets its addresses and its own HTTPS RRset */
	ask_udp("svc.example.com.", RRTYPE_HTTPS, &r);
	ck_assert_int_eq(r.h.count[MSG_ADDITIONAL], 0);
	ask_udp("alias.example.com.", RRTYPE_HTTPS, &r);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "svc.example.com."), 1);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_HTTPS, "svc.example.com."), 1);
	/* targets synthesized by a wildcard, each under its own name */
	ask_udp("mxw.example.com.", RRTYPE_MX, &r);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "Foo.wild.example.com."), 1);
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "bar.wild.example.com."), 1);
	/* no additional processing for A */
	ask_udp("ns1.example.com.", RRTYPE_A, &r);
	ck_assert_int_eq(r.h.count[MSG_ADDITIONAL], 0);
}
END_TEST

START_TEST(qtype_any)
{
	struct response r;
	/* RFC 8482: one RRset, the lowest type */
	ask_udp("www.example.com.", RRTYPE_ANY, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_A);
	ask_udp("example.com.", RRTYPE_ANY, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_A);
	/* over TCP too */
	ask("www.example.com.", RRTYPE_ANY, NULL, ANSWER_TCP, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	/* at a CNAME: the CNAME, not followed */
	ask_udp("c1.example.com.", RRTYPE_ANY, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_CNAME);
	/* at a wildcard: the lowest type, owner the query name */
	ask_udp("foo.wild.example.com.", RRTYPE_ANY, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_A);
	ck_assert_str_eq(r.rr[0].owner, "foo.wild.example.com.");
}
END_TEST

/* ---- negative answers ---- */

START_TEST(nxdomain_and_nodata)
{
	struct response r;
	ask_udp("nx.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NXDOMAIN);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 1);
	const struct rr *soa = find(&r, MSG_AUTHORITY, RRTYPE_SOA, 0);
	ck_assert_ptr_nonnull(soa);
	ck_assert_str_eq(soa->owner, "example.com.");
	/* RFC 2308 §3: min(SOA TTL 3600, MINIMUM 300) */
	ck_assert_uint_eq(soa->ttl, 300);

	ask_udp("www.example.com.", RRTYPE_AAAA, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_uint_eq(find(&r, MSG_AUTHORITY, RRTYPE_SOA, 0)->ttl, 300);

	/* empty non-terminals exist: NODATA, not NXDOMAIN */
	ask_udp("b.ent.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_SOA, NULL), 1);
	ask_udp("ent.example.com.", RRTYPE_TXT, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ask_udp("x.b.ent.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NXDOMAIN);

	/* the child zone's own SOA: min(1800, 900) */
	ask_udp("nx.child.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NXDOMAIN);
	soa = find(&r, MSG_AUTHORITY, RRTYPE_SOA, 0);
	ck_assert_str_eq(soa->owner, "child.example.com.");
	ck_assert_uint_eq(soa->ttl, 900);
}
END_TEST

START_TEST(refused_and_servfail)
{
	struct response r;
	ask_udp("example.net.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.nrr, 0);
	ck_assert_str_eq(r.qname, "example.net.");
	ask_udp(".", RRTYPE_NS, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	/* with EDNS: EDE 20 Not Authoritative, as NSD and Knot */
	struct query_opts o = {.edns = true};
	ask("xexample.com.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	ck_assert_int_eq(r.ede, 20);
	/* a configured zone that did not load */
	ask_udp("www.broken.example.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_SERVFAIL);
	ck_assert(!aa(&r));
}
END_TEST

/* ---- referrals and DS ---- */

START_TEST(referral)
{
	struct response r;
	ask_udp("www.sub.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_int_eq(
	    count(&r, MSG_AUTHORITY, RRTYPE_NS, "sub.example.com."), 2);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 2);
	/* in-bailiwick glue only */
	ck_assert_int_eq(
	    count(&r, MSG_ADDITIONAL, RRTYPE_A, "ns1.sub.example.com."), 1);
	ck_assert_int_eq(r.h.count[MSG_ADDITIONAL], 1);

	/* the cut itself, any type but DS */
	ask_udp("sub.example.com.", RRTYPE_NS, &r);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 2);
	/* glue is never an answer */
	ask_udp("ns1.sub.example.com.", RRTYPE_A, &r);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_NS, NULL), 2);
}
END_TEST

START_TEST(ds_at_cut)
{
	struct response r;
	/* RFC 4035 §3.1.4.1: the parent answers DS at the cut */
	ask_udp("sub.example.com.", RRTYPE_DS, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_DS, NULL), 1);
	/* and at the apex of a served child zone: from the parent */
	ask_udp("child.example.com.", RRTYPE_DS, &r);
	ck_assert(aa(&r));
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_str_eq(find(&r, MSG_AUTHORITY, RRTYPE_SOA, 0)->owner,
			 "example.com.");
	/* other types at the child apex come from the child */
	ask_udp("child.example.com.", RRTYPE_NS, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_NS, NULL), 1);
	/* DS below a cut: a referral */
	ask_udp("x.sub.example.com.", RRTYPE_DS, &r);
	ck_assert(!aa(&r));
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_NS, NULL), 2);
	/* DS at an apex with no parent served: NODATA */
	ask_udp("example.com.", RRTYPE_DS, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_SOA, NULL), 1);
}
END_TEST

/* ---- CNAME, DNAME, wildcards ---- */

START_TEST(cname_chains)
{
	struct response r;
	ask_udp("C1.example.com.", RRTYPE_A, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 3);
	ck_assert_str_eq(r.rr[0].owner, "C1.example.com.");
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_CNAME);
	ck_assert_str_eq(r.rr[1].owner, "c2.example.com.");
	ck_assert_str_eq(r.rr[2].owner, "www.example.com.");
	ck_assert_uint_eq(r.rr[2].type, RRTYPE_A);

	/* QTYPE CNAME: not followed */
	ask_udp("c1.example.com.", RRTYPE_CNAME, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);

	/* loop: each name once, then stop, NOERROR, no SOA */
	ask_udp("cloop1.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 2);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 0);

	/* to a name that does not exist: NXDOMAIN (RFC 6604 §3), AA */
	ask_udp("cnx.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NXDOMAIN);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_SOA, NULL), 1);

	/* out of the zone: stop there */
	ask_udp("cext.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 0);

	/* into a delegation: referral data, AA kept */
	ask_udp("cdeleg.example.com.", RRTYPE_A, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_NS, NULL), 2);
	ck_assert_int_eq(count(&r, MSG_ADDITIONAL, RRTYPE_A, NULL), 1);

	/* RRSIG lives beside a CNAME: NODATA at the owner */
	ask_udp("c1.example.com.", RRTYPE_RRSIG, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_SOA, NULL), 1);
}
END_TEST

START_TEST(dname_synthesis)
{
	struct response r;
	ask_udp("WWW.DN.example.com.", RRTYPE_A, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 3);
	const struct rr *d = find(&r, MSG_ANSWER, RRTYPE_DNAME, 0);
	ck_assert_str_eq(d->owner, "DN.example.com.");
	ck_assert_uint_eq(d->ttl, 7200);
	const struct rr *c = find(&r, MSG_ANSWER, RRTYPE_CNAME, 0);
	ck_assert_str_eq(c->owner, "WWW.DN.example.com.");
	ck_assert_uint_eq(c->ttl, 7200); /* the DNAME's TTL */
	ck_assert_str_eq(rdata_name(c, 0), "www.target.example.com.");
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_A, NULL), 1);

	/* QTYPE DNAME at the owner: the DNAME itself */
	ask_udp("dn.example.com.", RRTYPE_DNAME, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	/* the owner itself is not rewritten */
	ask_udp("dn.example.com.", RRTYPE_A, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);

	/* RFC 6672 §2.2: too long -> YXDOMAIN, DNAME only */
	ask_udp("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"dnlong.example.com.",
		RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_YXDOMAIN);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_DNAME);

	/* QTYPE CNAME below a DNAME: DNAME + synthesized CNAME, stop */
	ask_udp("nx.dn.example.com.", RRTYPE_CNAME, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 2);
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 0);
	/* and the rewritten name does not exist */
	ask_udp("nx.dn.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NXDOMAIN);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 2);
}
END_TEST

START_TEST(wildcards)
{
	struct response r;
	ask_udp("Foo.Wild.example.com.", RRTYPE_A, &r);
	ck_assert(aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_str_eq(r.rr[0].owner, "Foo.Wild.example.com.");
	ask_udp("a.b.wild.example.com.", RRTYPE_MX, &r);
	ck_assert_int_eq(
	    count(&r, MSG_ANSWER, RRTYPE_MX, "a.b.wild.example.com."), 1);
	ck_assert_int_eq(count(&r, MSG_ADDITIONAL, RRTYPE_A, NULL), 1);
	/* NODATA at a wildcard */
	ask_udp("foo.wild.example.com.", RRTYPE_TXT, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_SOA, NULL), 1);
	/* RFC 4592 §2.2.2: the empty non-terminal ent2 blocks the
	 * wildcard below it */
	ask_udp("y.ent2.wild.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NXDOMAIN);
	ask_udp("ent2.wild.example.com.", RRTYPE_A, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 0);
	/* wildcard CNAME, followed */
	ask_udp("x.wcname.example.com.", RRTYPE_A, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 2);
	ck_assert_str_eq(r.rr[0].owner, "x.wcname.example.com.");
	ck_assert_uint_eq(r.rr[0].type, RRTYPE_CNAME);
	ck_assert_str_eq(r.rr[1].owner, "www.example.com.");
}
END_TEST

/* ---- CHAOS ---- */

START_TEST(chaos)
{
	struct response r;
	struct query_opts ch = {.qclass = RRCLASS_CH};
	ask("id.server.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(r.rr[0].rrclass, RRCLASS_CH);
	ck_assert_uint_eq(r.rr[0].ttl, 0);
	ck_assert_uint_eq(r.rr[0].rdata[0], 15);
	ck_assert_int_eq(memcmp(r.rr[0].rdata + 1, "ns1.example.net", 15), 0);
	ask("HOSTNAME.BIND.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
	ask("version.bind.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_int_eq(memcmp(r.rr[0].rdata + 1, "tandem-test", 11), 0);
	ask("version.server.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);

	ask("authors.bind.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	ask("id.server.", RRTYPE_A, &ch, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	ask("www.example.com.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);

	conf.identity = NULL; /* 'hide' */
	ask("id.server.", RRTYPE_TXT, &ch, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	ck_assert_int_eq(r.nrr, 0);
}
END_TEST

START_TEST(other_classes)
{
	struct response r;
	struct query_opts hs = {.qclass = RRCLASS_HS};
	ask("www.example.com.", RRTYPE_A, &hs, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);
	ck_assert_int_eq(r.h.count[MSG_QUESTION], 1);
	/* QCLASS ANY: IN data, never authoritative (RFC 6895 §3.2) */
	struct query_opts any = {.qclass = RRCLASS_ANY};
	ask("www.example.com.", RRTYPE_A, &any, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 1);
}
END_TEST

/* ---- EDNS ---- */

START_TEST(edns)
{
	struct response r;
	struct query_opts o = {
	    .edns = true, .udp_size = 4096, .dnssec_ok = true};
	ask("www.example.com.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(r.edns);
	ck_assert_uint_eq(r.opt.udp_size, 1232); /* ours */
	ck_assert_uint_eq(r.opt.version, 0);
	ck_assert(r.opt.dnssec_ok); /* RFC 3225: copied */
	ck_assert(!r.nsid);

	/* NSID only when asked */
	o.nsid = true;
	o.dnssec_ok = false;
	ask("www.example.com.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(r.nsid);
	ck_assert_uint_eq(r.nsid_len, 3);
	ck_assert_int_eq(memcmp(r.nsid_data, "ns1", 3), 0);
	ck_assert(!r.opt.dnssec_ok);
	/* and not when not configured */
	conf.nsid = NULL;
	conf.nsid_len = 0;
	ask("www.example.com.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(r.edns);
	ck_assert(!r.nsid);

	/* RFC 6891 §6.1.3: BADVERS for version 1, OPT version 0 */
	struct query_opts v1 = {.edns = true, .version = 1};
	ask("www.example.com.", RRTYPE_A, &v1, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_BADVERS);
	ck_assert_uint_eq(msg_flags_rcode(r.h.flags), 0);
	ck_assert_uint_eq(r.opt.ext_rcode, 1);
	ck_assert_uint_eq(r.opt.version, 0);
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.nrr, 0);
	ck_assert_int_eq(r.h.count[MSG_QUESTION], 1);
}
END_TEST

START_TEST(two_opt_formerr)
{
	struct query_opts o = {.edns = true};
	size_t qlen =
	    make_query(wire, sizeof(wire), "www.example.com.", RRTYPE_A, &o);
	/* append a second copy of the OPT RR (11 octets) */
	memcpy(wire + qlen, wire + qlen - 11, 11);
	wire[11] = 2;
	size_t len = answer_query(&conf, scratch, ANSWER_UDP, wire, qlen + 11,
				  out, sizeof(out));
	struct response r;
	parse_response(out, len, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_FORMERR);
	ck_assert(!r.edns);
}
END_TEST

/* ---- truncation ---- */

static void add_big_zone(void)
{
	/* 40 A (about 700 octets) and 60 TXT of 70 octets (about 5 KB) */
	static char text[16384];
	size_t n = (size_t)snprintf(text, sizeof(text),
				    "$ORIGIN big.example.\n$TTL 60\n"
				    "@ SOA ns hm 1 2 3 4 5\n@ NS ns\n"
				    "ns A 192.0.2.1\n");
	for (int i = 1; i <= 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "manya A 198.51.100.%d\n", i);
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "big TXT \"record %03d padding padding "
				      "padding padding padding padding pad\"\n",
				      i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "cbig CNAME big\n");
	/* a delegation whose glue cannot all fit in 512 octets, and one
	 * whose name servers live elsewhere in the zone (sibling glue) */
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "deleg NS ns%d.deleg\n"
				      "ns%d.deleg A 198.51.100.%d\n"
				      "ns%d.deleg AAAA 2001:db8::%d\n"
				      "sib NS ns%d.deleg\n",
				      i, i, i, i, i, i);
	add_zone("big.example.", text);
}

START_TEST(truncation)
{
	add_big_zone();
	struct response r;
	/* no EDNS: 512 octets; TC and no records at all */
	ask_udp("manya.big.example.", RRTYPE_A, &r);
	ck_assert(tc(&r));
	ck_assert(aa(&r));
	ck_assert_int_eq(r.nrr, 0);
	ck_assert_int_eq(r.h.count[MSG_QUESTION], 1);
	/* EDNS 1232: fits */
	struct query_opts o = {.edns = true};
	ask("manya.big.example.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(!tc(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 40);
	ck_assert_uint_le(r.len, 1232);
	/* the client's smaller size wins, never below 512 */
	o.udp_size = 600;
	ask("manya.big.example.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(tc(&r));
	ck_assert(r.edns); /* the OPT is always there */
	ck_assert_uint_le(r.len, 600);
	o.udp_size = 100;
	ask("manya.big.example.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(tc(&r));
	/* ours is smaller than the client's */
	o.udp_size = 4096;
	ask("big.big.example.", RRTYPE_TXT, &o, ANSWER_UDP, &r);
	ck_assert(tc(&r));
	ck_assert_int_eq(r.nrr, 0);
	/* a CNAME that fits, a target RRset that does not: nothing */
	ask("cbig.big.example.", RRTYPE_TXT, &o, ANSWER_UDP, &r);
	ck_assert(tc(&r));
	ck_assert_int_eq(r.nrr, 0);
	/* RFC 9471: in-domain glue that does not fit sets TC, keeping the
	 * referral and the glue that fits (as Knot) */
	ask_udp("x.deleg.big.example.", RRTYPE_A, &r);
	ck_assert(tc(&r));
	ck_assert(!aa(&r));
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 12);
	ck_assert_int_gt(r.h.count[MSG_ADDITIONAL], 0);
	ck_assert_int_lt(r.h.count[MSG_ADDITIONAL], 24);
	ck_assert_uint_le(r.len, 512);
	/* sibling glue is optional: no TC */
	ask_udp("x.sib.big.example.", RRTYPE_A, &r);
	ck_assert(!tc(&r));
	ck_assert_int_eq(r.h.count[MSG_AUTHORITY], 12);
	ck_assert_int_lt(r.h.count[MSG_ADDITIONAL], 24);
	/* with EDNS it all fits */
	o.udp_size = 1232;
	ask("x.deleg.big.example.", RRTYPE_A, &o, ANSWER_UDP, &r);
	ck_assert(!tc(&r));
	ck_assert_int_eq(count(&r, MSG_ADDITIONAL, 0, NULL), 24);
	/* TCP: all of it */
	ask("big.big.example.", RRTYPE_TXT, NULL, ANSWER_TCP, &r);
	ck_assert(!tc(&r));
	ck_assert_int_eq(r.h.count[MSG_ANSWER], 60);
	ck_assert_uint_gt(r.len, 4096);
}
END_TEST

/* ---- malformed and unusual queries ---- */

START_TEST(drops_and_errors)
{
	size_t qlen =
	    make_query(wire, sizeof(wire), "www.example.com.", RRTYPE_A, NULL);
	struct response r;

	/* too short for a header, and responses: dropped */
	ck_assert_uint_eq(answer_query(&conf, scratch, ANSWER_UDP, wire, 11,
				       out, sizeof(out)),
			  0);
	wire[2] |= 0x80; /* QR */
	ck_assert_uint_eq(answer_query(&conf, scratch, ANSWER_UDP, wire, qlen,
				       out, sizeof(out)),
			  0);
	wire[2] &= 0x7F;

	/* QDCOUNT 0 and 2: FORMERR, header only */
	wire[5] = 0;
	size_t len = answer_query(&conf, scratch, ANSWER_UDP, wire, qlen, out,
				  sizeof(out));
	parse_response(out, len, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_FORMERR);
	ck_assert_uint_eq(r.len, MSG_HDRLEN);
	wire[5] = 2;
	len = answer_query(&conf, scratch, ANSWER_UDP, wire, qlen, out,
			   sizeof(out));
	parse_response(out, len, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_FORMERR);
	wire[5] = 1;

	/* a question cut short */
	len = answer_query(&conf, scratch, ANSWER_UDP, wire, qlen - 3, out,
			   sizeof(out));
	parse_response(out, len, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_FORMERR);
	ck_assert_uint_eq(r.len, MSG_HDRLEN);

	/* ANCOUNT 1 in a query */
	wire[7] = 1;
	len = answer_query(&conf, scratch, ANSWER_UDP, wire, qlen, out,
			   sizeof(out));
	parse_response(out, len, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_FORMERR);
	wire[7] = 0;

	/* unknown opcodes: NOTIMP, question echoed, RD copied */
	struct query_opts op = {
	    .flags = msg_flags_set_opcode(MSG_FLAG_RD, OPCODE_STATUS)};
	ask("www.example.com.", RRTYPE_A, &op, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOTIMP);
	ck_assert_uint_eq(msg_flags_opcode(r.h.flags), OPCODE_STATUS);
	ck_assert(r.h.flags & MSG_FLAG_RD);
	ck_assert_int_eq(r.h.count[MSG_QUESTION], 1);
	op.flags = msg_flags_set_opcode(0, 9);
	ask("www.example.com.", RRTYPE_A, &op, ANSWER_UDP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOTIMP);

	/* zone transfers are not served here (yet) */
	ask_udp("example.com.", RRTYPE_AXFR, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOTIMP);
	ask("example.com.", RRTYPE_AXFR, NULL, ANSWER_TCP, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_REFUSED);

	/* meta types as QTYPE: plain NODATA */
	ask_udp("www.example.com.", RRTYPE_MAILB, &r);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(count(&r, MSG_AUTHORITY, RRTYPE_SOA, NULL), 1);

	/* too small an output buffer */
	ck_assert_uint_eq(
	    answer_query(&conf, scratch, ANSWER_UDP, wire, qlen, out, 100), 0);
}
END_TEST

/* Random and mutated packets: never a crash, never past the limit, and
 * every reply parses. */
START_TEST(garbage_never_crashes)
{
	add_big_zone();
	static const char *names[] = {
	    "www.example.com.",	     "c1.example.com.",	   "x.dn.example.com.",
	    "foo.wild.example.com.", "a.sub.example.com.", "big.big.example.",
	    "nx.example.com.",
	};
	unsigned seed = 4242;
	for (int round = 0; round < 20000; round++) {
		struct query_opts o = {.edns = round % 2 == 0,
				       .nsid = round % 3 == 0};
		size_t qlen = make_query(wire, sizeof(wire), names[round % 7],
					 (uint16_t)(rand_r(&seed) % 70), &o);
		int flips = 1 + rand_r(&seed) % 4;
		for (int f = 0; f < flips; f++)
			wire[rand_r(&seed) % qlen] = (uint8_t)rand_r(&seed);
		if (round % 5 == 0)
			qlen = (size_t)rand_r(&seed) % (qlen + 1);
		enum answer_transport t =
		    round % 4 == 0 ? ANSWER_TCP : ANSWER_UDP;
		size_t len = answer_query(&conf, scratch, t, wire, qlen, out,
					  sizeof(out));
		if (len == 0)
			continue;
		ck_assert_uint_le(len, t == ANSWER_TCP ? MSG_MAXLEN : 1232);
		struct response r;
		parse_response(out, len, &r);
	}
}
END_TEST

/* ---- DNS Cookies (RFC 7873, RFC 9018) ---- */

static struct {
	size_t n;
	uint8_t secret[1][COOKIE_SECRET_LEN];
} cookie_store;
#define cookie_secret cookie_store.secret
static const uint8_t cookie_client[COOKIE_CLIENT_LEN] = {
	0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};

/* A query with a COOKIE option of `len` octets (client cookie, then
 * `server`), from 198.51.100.100; qdcount 0 leaves the question out.
 * Returns the parsed response and its cookie option (cookie_len 0: none). */
static void ask_cookie(const uint8_t *server, size_t server_len, bool question,
		       enum answer_transport t, struct response *r,
		       uint8_t *cookie, uint16_t *cookie_len)
{
	struct msg_writer w;
	ck_assert_int_eq(msg_writer_init(&w, wire, sizeof(wire), sizeof(wire)), 0);
	msg_write_header(&w, 0x1234, 0);
	if (question) {
		uint8_t n[DNAME_MAXLEN];
		name(n, "www.example.com.");
		ck_assert_int_eq(msg_write_question(&w, n, RRTYPE_A, RRCLASS_IN), 0);
	}
	uint8_t opt[4 + COOKIE_CLIENT_LEN + 40];
	size_t len = COOKIE_CLIENT_LEN + server_len;
	opt[0] = 0;
	opt[1] = EDNS_OPT_COOKIE;
	opt[2] = 0;
	opt[3] = (uint8_t)len;
	memcpy(opt + 4, cookie_client, COOKIE_CLIENT_LEN);
	if (server_len)
		memcpy(opt + 4 + COOKIE_CLIENT_LEN, server, server_len);
	struct msg_edns e = {.udp_size = 1232, .options = opt,
			     .options_len = (uint16_t)(4 + len)};
	ck_assert_int_eq(msg_write_opt(&w, &e, NULL, 0), 0);
	struct sockaddr_in from = {.sin_family = AF_INET};
	from.sin_addr.s_addr = htonl(0xc6336464); /* 198.51.100.100 */
	size_t n = answer_query_reserve(&conf, scratch, t,
					(const struct sockaddr *)&from, wire,
					msg_writer_len(&w), out, sizeof(out), 0);
	ck_assert_uint_gt(n, 0);
	parse_response(out, n, r);
	*cookie_len = 0;
	/* parse_response dropped the options: read the OPT again. */
	struct msg_reader rd;
	msg_reader_init(&rd, out, n);
	struct msg_header h;
	ck_assert_int_eq(msg_read_header(&rd, &h), 0);
	if (h.count[MSG_QUESTION])
		ck_assert_int_eq(msg_read_question(&rd, &r->q), 0);
	for (int s = MSG_ANSWER; s <= MSG_ADDITIONAL; s++)
		for (unsigned i = 0; i < h.count[s]; i++) {
			struct msg_rr rr;
			ck_assert_int_eq(msg_read_rr(&rd, &rr, rdata_buf,
						     sizeof(rdata_buf)), 0);
			struct msg_edns oe;
			const uint8_t *data;
			uint16_t dlen;
			if (rr.type == RRTYPE_OPT &&
			    msg_edns_parse(&rr, rdata_buf, &oe) == 0 &&
			    msg_edns_find_option(&oe, EDNS_OPT_COOKIE, &data,
						 &dlen) == 0) {
				memcpy(cookie, data, dlen);
				*cookie_len = dlen;
			}
		}
}

static enum cookie_verdict verdict_of(const uint8_t *cookie, uint16_t len)
{
	static const uint8_t ip[4] = {198, 51, 100, 100};
	ck_assert_uint_eq(len, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
	ck_assert_mem_eq(cookie, cookie_client, COOKIE_CLIENT_LEN);
	return cookie_check(cookie + COOKIE_CLIENT_LEN, COOKIE_SERVER_LEN,
			    cookie_client,
			    (const uint8_t (*)[COOKIE_SECRET_LEN])cookie_secret,
			    1, (uint32_t)time(NULL), ip, 4);
}

START_TEST(cookies)
{
	memset(cookie_secret, 0x5a, sizeof(cookie_secret));
	cookie_store.n = 1;
	conf.cookies = (const struct cookie_secrets *)&cookie_store;
	struct response r;
	uint8_t c[64], first[64];
	uint16_t clen, first_len;

	/* A client cookie alone: answered, with a server cookie of ours. */
	ask_cookie(NULL, 0, true, ANSWER_UDP, &r, first, &first_len);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_A, NULL), 1);
	ck_assert_int_eq(verdict_of(first, first_len), COOKIE_VALID);

	/* Sent back: valid, echoed as it is. */
	ask_cookie(first + 8, 16, true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_uint_eq(clen, first_len);
	ck_assert_mem_eq(c, first, clen);

	/* A stale one (two hours old) or a forged one: answered, with a
	 * new cookie. */
	static const uint8_t ip[4] = {198, 51, 100, 100};
	uint8_t stale[COOKIE_SERVER_LEN];
	cookie_make(stale, cookie_client, cookie_secret[0],
		    (uint32_t)time(NULL) - 7200, ip, 4);
	ask_cookie(stale, sizeof(stale), true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_A, NULL), 1);
	ck_assert_int_eq(verdict_of(c, clen), COOKIE_VALID);
	ck_assert(memcmp(c + 8, stale, sizeof(stale)) != 0);
	uint8_t forged[COOKIE_SERVER_LEN];
	memcpy(forged, first + 8, sizeof(forged));
	forged[15] ^= 1;
	ask_cookie(forged, sizeof(forged), true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(verdict_of(c, clen), COOKIE_VALID);

	/* A wrong length: FORMERR (RFC 7873 §5.2.2). */
	ask_cookie(first + 8, 4, true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_FORMERR);
	ck_assert_uint_eq(clen, 0);

	/* No question, a client cookie: NOERROR with a server cookie
	 * (RFC 7873 §5.4). */
	ask_cookie(NULL, 0, false, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_uint_eq(r.h.count[MSG_QUESTION], 0);
	ck_assert_int_eq(verdict_of(c, clen), COOKIE_VALID);

	/* cookie-require: UDP without a valid server cookie gets BADCOOKIE
	 * and one to retry with; with it, or over TCP, the answer. */
	conf.cookie_require = true;
	ask_cookie(NULL, 0, true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_BADCOOKIE);
	ck_assert_int_eq(count(&r, MSG_ANSWER, 0, NULL), 0);
	ck_assert_int_eq(verdict_of(c, clen), COOKIE_VALID);
	ask_cookie(c + 8, 16, true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_int_eq(count(&r, MSG_ANSWER, RRTYPE_A, NULL), 1);
	ask_cookie(forged, sizeof(forged), true, ANSWER_TCP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	conf.cookie_require = false;

	/* Without secrets, no cookies: the option is ignored. */
	conf.cookies = NULL;
	ask_cookie(NULL, 0, true, ANSWER_UDP, &r, c, &clen);
	ck_assert_uint_eq(rcode(&r), RCODE_NOERROR);
	ck_assert_uint_eq(clen, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("answer");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exact_answer);
	tcase_add_test(tc, query_case_preserved);
	tcase_add_test(tc, additional_addresses);
	tcase_add_test(tc, qtype_any);
	tcase_add_test(tc, nxdomain_and_nodata);
	tcase_add_test(tc, refused_and_servfail);
	tcase_add_test(tc, referral);
	tcase_add_test(tc, ds_at_cut);
	tcase_add_test(tc, cname_chains);
	tcase_add_test(tc, dname_synthesis);
	tcase_add_test(tc, wildcards);
	tcase_add_test(tc, chaos);
	tcase_add_test(tc, other_classes);
	tcase_add_test(tc, edns);
	tcase_add_test(tc, two_opt_formerr);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, drops_and_errors);
	tcase_add_test(tc, garbage_never_crashes);
	tcase_add_test(tc, cookies);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
