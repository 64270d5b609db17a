/*
 * test_zone.c -- zone loading, semantic checks, lookups, dump, diff.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dname.h"
#include "dns/nsec3.h"
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"
#include "zonedb/load.h"
#include "zonedb/node.h"
#include "zonedb/zone.h"
#include "zonedb/zonedb.h"

/* ---- helpers ---- */

struct log_capture {
	char text[8192];
	int errors, warnings;
};

static void capture(void *arg, enum zone_log_level level, const char *file,
		    unsigned long line, const char *msg)
{
	struct log_capture *c = arg;
	size_t used = strlen(c->text);
	snprintf(c->text + used, sizeof(c->text) - used, "%s:%lu: %s\n",
		 file ? file : "-", line, msg);
	if (level == ZONE_LOG_ERROR)
		c->errors++;
	else
		c->warnings++;
}

static void name(uint8_t out[DNAME_MAXLEN], const char *str)
{
	static const uint8_t root[1] = { 0 };
	ck_assert_int_gt(dname_from_str(out, str, strlen(str), root), 0);
}

static struct zone_version *load(const char *origin, const char *path,
				 struct log_capture *log)
{
	uint8_t apex[DNAME_MAXLEN];
	name(apex, origin);
	struct zone_version *v = NULL;
	int r = zone_load_file(apex, path, capture, log, &v);
	if (r != 0)
		return NULL;
	return v;
}

static struct zone_version *load_data(const char *origin, const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, file);
	struct log_capture log = { 0 };
	struct zone_version *v = load(origin, path, &log);
	ck_assert_msg(v != NULL, "load %s failed:\n%s", path, log.text);
	return v;
}

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *temp_zone(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/tandem-test-zone-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Loads text as a zone; returns the version or NULL with log filled. */
static struct zone_version *load_text(const char *origin, const char *text,
				       struct log_capture *log)
{
	const char *path = temp_zone(text);
	struct zone_version *v = load(origin, path, log);
	unlink(path);
	return v;
}

#define HEAD "$ORIGIN example.com.\n$TTL 300\n" \
	     "@ IN SOA ns1 host 1 3600 900 86400 60\n" \
	     "@ IN NS ns1\n" \
	     "ns1 IN A 192.0.2.1\n"

#define HEAD_EXAMPLE "$ORIGIN example.\n$TTL 300\n" \
	     "@ IN SOA ns1 host 1 3600 900 86400 60\n" \
	     "@ IN NS ns1\nns1 IN A 192.0.2.1\n"

static void lookup(const struct zone_version *v, const char *qname,
		   struct zone_lookup *out)
{
	uint8_t q[DNAME_MAXLEN];
	name(q, qname);
	zone_lookup(v, q, out);
}

static bool owner_is(const struct zone_node *n, const char *str)
{
	uint8_t want[DNAME_MAXLEN];
	name(want, str);
	return n != NULL && dname_equal(n->owner, want);
}

/* ---- loading ---- */

START_TEST(load_every_type)
{
	struct zone_version *v = load_data("example.com.", "example.com.zone");
	ck_assert_uint_eq(v->serial, 2024010101u);
	ck_assert_uint_eq(v->rr_count, 47);
	uint16_t types[] = { RRTYPE_SOA, RRTYPE_NS, RRTYPE_MX, RRTYPE_TXT,
			     RRTYPE_CAA, RRTYPE_DNSKEY, RRTYPE_NSEC3PARAM };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ck_assert_ptr_nonnull(zone_node_rrset(v->apex, types[i]));
	struct {
		const char *owner;
		uint16_t type;
		uint16_t count;
	} expect[] = {
		{ "ns1.example.com.", RRTYPE_AAAA, 1 },
		{ "www.example.com.", RRTYPE_CNAME, 1 },
		{ "_sip._udp.example.com.", RRTYPE_SRV, 1 },
		{ "2.0.192.in-addr.example.com.", RRTYPE_PTR, 1 },
		{ "naptr.example.com.", RRTYPE_NAPTR, 1 },
		{ "host.example.com.", RRTYPE_HINFO, 1 },
		{ "host.example.com.", RRTYPE_SSHFP, 1 },
		{ "host.example.com.", RRTYPE_LOC, 1 },
		{ "_443._tcp.www.example.com.", RRTYPE_TLSA, 1 },
		{ "rp.example.com.", RRTYPE_RP, 1 },
		{ "afs.example.com.", RRTYPE_AFSDB, 1 },
		{ "uri.example.com.", RRTYPE_URI, 1 },
		{ "svc.example.com.", RRTYPE_SVCB, 1 },
		{ "svc.example.com.", RRTYPE_HTTPS, 1 },
		{ "sig.example.com.", RRTYPE_NSEC, 1 },
		{ "unknown.example.com.", 65280, 1 },
		{ "sub.example.com.", RRTYPE_NS, 2 },
		{ "sub.example.com.", RRTYPE_DS, 1 },
		{ "dn.example.com.", RRTYPE_DNAME, 1 },
		{ "weird\\.name.example.com.", RRTYPE_A, 1 },
		{ "sp\\032ace.example.com.", RRTYPE_A, 1 },
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		uint8_t owner[DNAME_MAXLEN];
		name(owner, expect[i].owner);
		const struct zone_node *n = zone_get(v, owner);
		ck_assert_msg(n != NULL, "%s missing", expect[i].owner);
		const struct zone_rrset *rs = zone_node_rrset(n, expect[i].type);
		ck_assert_msg(rs != NULL, "%s type %u missing", expect[i].owner,
			      expect[i].type);
		ck_assert_uint_eq(rs->count, expect[i].count);
	}
	/* ftp has its own TTL; RRSIGs are kept per covered type. */
	uint8_t ftp[DNAME_MAXLEN], sig[DNAME_MAXLEN];
	name(ftp, "FTP.example.com.");
	ck_assert_uint_eq(zone_node_rrset(zone_get(v, ftp), RRTYPE_CNAME)->ttl, 600);
	name(sig, "sig.example.com.");
	ck_assert_ptr_nonnull(zone_node_rrsig(zone_get(v, sig), RRTYPE_A));
	ck_assert_ptr_null(zone_node_rrsig(zone_get(v, sig), RRTYPE_AAAA));
	zone_version_release(v);
}
END_TEST

START_TEST(load_directives)
{
	char dir[] = "/tmp/tandem-test-incXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char inc[600], main_path[600];
	snprintf(inc, sizeof(inc), "%s/inc.zone", dir);
	snprintf(main_path, sizeof(main_path), "%s/main.zone", dir);
	FILE *f = fopen(inc, "w");
	fputs("host 60 IN A 192.0.2.77\n$ORIGIN other.example.com.\nx A 192.0.2.78\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	fputs(HEAD "$INCLUDE inc.zone sub.example.com.\n"
	      "after IN A 192.0.2.79\n"
	      "$TTL 1h\n"
	      "multi IN TXT ( \"a;b\" ; comment\n  \"c\" )\n"
	      "  IN A 192.0.2.80\n", f);
	fclose(f);
	struct log_capture log = { 0 };
	struct zone_version *v = load("example.com", main_path, &log);
	ck_assert_msg(v != NULL, "%s", log.text);
	const char *present[] = { "host.sub.example.com.", "x.other.example.com.",
				  "after.example.com.", "multi.example.com." };
	for (size_t i = 0; i < 4; i++) {
		uint8_t n[DNAME_MAXLEN];
		name(n, present[i]);
		ck_assert_msg(zone_get(v, n) != NULL, "%s missing", present[i]);
	}
	uint8_t multi[DNAME_MAXLEN];
	name(multi, "multi.example.com.");
	const struct zone_node *m = zone_get(v, multi);
	const struct zone_rrset *txt = zone_node_rrset(m, RRTYPE_TXT);
	ck_assert_uint_eq(txt->ttl, 3600);
	/* "a;b" and "c": two strings, the ; inside quotes kept */
	ck_assert_uint_eq(txt->size, 2 + 4 + 2);
	ck_assert_ptr_nonnull(zone_node_rrset(m, RRTYPE_A)); /* blank owner */
	zone_version_release(v);
	unlink(inc);
	unlink(main_path);
	rmdir(dir);
}
END_TEST

/* Each semantic error: the zone is refused and the message names the
 * line. */
START_TEST(semantic_errors)
{
	struct {
		const char *text;
		const char *expect;
	} cases[] = {
		{ "$ORIGIN example.com.\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n",
		  "no SOA" },
		{ HEAD "@ IN SOA ns2 host 2 3600 900 86400 60\n", "SOA records" },
		{ "$ORIGIN example.com.\n@ 300 IN SOA ns1 host 1 1 1 1 1\n", "no NS" },
		{ HEAD "www IN CNAME ns1\nwww IN A 192.0.2.9\n", "CNAME and other data" },
		{ HEAD "www IN CNAME ns1\nwww IN CNAME ns2\n", "more than one CNAME" },
		{ HEAD "d IN DNAME a.example.\nd IN DNAME b.example.\n",
		  "more than one DNAME" },
		{ HEAD "www.example.net. IN A 192.0.2.9\n", "out of zone data" },
		{ HEAD "sub IN SOA ns1 host 1 1 1 1 1\n", "outside the zone apex" },
		{ HEAD "x IN A 999.1.1.1\n", ":6:" },
		{ HEAD "x IN TXT ( \"a\"\n", "'(' without ')'" },
		{ HEAD "x IN A 192.0.2.1 )\n", "')' without '('" },
		{ HEAD "$GENERATE 1-2 x$ A 192.0.2.$\n", "unknown directive" },
		{ HEAD "$INCLUDE /nonexistent/file\n", "cannot read" },
		{ HEAD "x CH TXT \"a\"\n", "class CH" },
		{ HEAD "x IN OPT \\# 0\n", "cannot be zone data" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct log_capture log = { 0 };
		struct zone_version *v = load_text("example.com", cases[i].text, &log);
		ck_assert_msg(v == NULL, "case %zu loaded", i);
		ck_assert_msg(strstr(log.text, cases[i].expect) != NULL,
			      "case %zu: want '%s' in:\n%s", i, cases[i].expect,
			      log.text);
		ck_assert_int_gt(log.errors, 0);
	}
}
END_TEST

START_TEST(semantic_warnings)
{
	struct log_capture log = { 0 };
	struct zone_version *v = load_text("example.com",
		HEAD "x 300 IN A 192.0.2.1\nx 600 IN A 192.0.2.2\n"
		"sub IN NS ns.sub\nns.sub IN A 192.0.2.3\nmx.sub IN MX 1 x\n"
		"x IN A 192.0.2.1\n", &log);
	ck_assert_msg(v != NULL, "%s", log.text);
	ck_assert_int_eq(log.errors, 0);
	ck_assert_int_eq(log.warnings, 2);
	ck_assert_ptr_nonnull(strstr(log.text, ":7: x.example.com. A: TTL 600"));
	ck_assert_ptr_nonnull(strstr(log.text, "occluded by the delegation"));
	uint8_t x[DNAME_MAXLEN];
	name(x, "x.example.com.");
	const struct zone_rrset *a = zone_node_rrset(zone_get(v, x), RRTYPE_A);
	ck_assert_uint_eq(a->ttl, 300);
	ck_assert_uint_eq(a->count, 2); /* the duplicate is dropped */
	zone_version_release(v);
}
END_TEST

/* ---- lookups ---- */

START_TEST(lookup_rfc4592)
{
	struct zone_version *v = load_data("example.", "rfc4592.zone");
	struct zone_lookup l;
	/* §2.2.1: synthesized from *.example. */
	lookup(v, "host3.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	ck_assert(owner_is(l.node, "*.example."));
	ck_assert(owner_is(l.encloser, "example."));
	lookup(v, "foo.bar.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	/* not synthesized */
	lookup(v, "host1.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	lookup(v, "sub.*.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	/* _tcp.host1.example. is an empty non-terminal: it blocks */
	lookup(v, "_telnet._tcp.host1.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	ck_assert(owner_is(l.encloser, "_tcp.host1.example."));
	lookup(v, "_tcp.host1.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	ck_assert_uint_eq(l.node->nrrsets, 0);
	lookup(v, "host.subdel.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_DELEGATION);
	ck_assert(owner_is(l.node, "subdel.example."));
	lookup(v, "ghost.*.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	ck_assert(owner_is(l.encloser, "*.example."));
	zone_version_release(v);
}
END_TEST

START_TEST(lookup_cases)
{
	struct zone_version *v = load_data("example.com.", "example.com.zone");
	struct zone_lookup l;
	lookup(v, "WWW.Example.COM.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	ck_assert_ptr_nonnull(zone_node_rrset(l.node, RRTYPE_CNAME));
	/* delegation: at the cut, below it, and glue below it */
	lookup(v, "sub.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_DELEGATION);
	ck_assert(owner_is(l.node, "sub.example.com."));
	lookup(v, "ns.sub.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_DELEGATION);
	ck_assert(owner_is(l.node, "sub.example.com."));
	lookup(v, "nothing.deep.below.sub.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_DELEGATION);
	lookup(v, "x.other.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_DELEGATION);
	ck_assert(owner_is(l.node, "other.example.com."));
	/* glue is reachable by exact get, flagged below the cut */
	uint8_t glue[DNAME_MAXLEN];
	name(glue, "ns.sub.example.com.");
	ck_assert(zone_get(v, glue)->flags & NODE_BELOW_CUT);
	/* DNAME applies below its owner only */
	lookup(v, "dn.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	lookup(v, "a.b.dn.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_DNAME);
	ck_assert(owner_is(l.node, "dn.example.com."));
	/* wildcards */
	lookup(v, "anything.wild.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	ck_assert(owner_is(l.node, "*.wild.example.com."));
	lookup(v, "a.b.wild.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	lookup(v, "x.cname.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	ck_assert_ptr_nonnull(zone_node_rrset(l.node, RRTYPE_CNAME));
	/* the apex wildcard catches the rest, but not below a.ent (an
	 * empty non-terminal) */
	lookup(v, "nonexistent.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	ck_assert(owner_is(l.node, "*.example.com."));
	lookup(v, "y.a.ent.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	ck_assert(owner_is(l.encloser, "a.ent.example.com."));
	ck_assert(owner_is(l.previous, "x.a.ent.example.com."));
	lookup(v, "ent.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	ck_assert_uint_eq(l.node->nrrsets, 0);
	/* escapes */
	lookup(v, "WEIRD\\.NAME.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	lookup(v, "weird.name.example.com.", &l);
	ck_assert_int_ne(l.kind, ZONE_FOUND);
	zone_version_release(v);
}
END_TEST

START_TEST(lookup_nxdomain_previous)
{
	struct log_capture log = { 0 };
	struct zone_version *v = load_text("example.com",
		HEAD "b IN A 192.0.2.2\nd IN A 192.0.2.4\nz.d IN A 192.0.2.5\n", &log);
	ck_assert_msg(v != NULL, "%s", log.text);
	struct zone_lookup l;
	lookup(v, "c.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	ck_assert(owner_is(l.previous, "b.example.com."));
	ck_assert(owner_is(l.encloser, "example.com."));
	lookup(v, "e.example.com.", &l);
	ck_assert(owner_is(l.previous, "z.d.example.com."));
	ck_assert(owner_is(l.encloser, "example.com."));
	lookup(v, "a.example.com.", &l);
	ck_assert(owner_is(l.previous, "example.com."));
	lookup(v, "y.d.example.com.", &l);
	ck_assert(owner_is(l.previous, "d.example.com."));
	ck_assert(owner_is(l.encloser, "d.example.com."));
	zone_version_release(v);
}
END_TEST

/* ---- dump, diff, apply ---- */

static void assert_same(const struct zone_version *a, const struct zone_version *b)
{
	struct zone_diff d;
	ck_assert_int_eq(zone_diff_compute(a, b, &d), 0);
	ck_assert_msg(d.nremoved == 0 && d.nadded == 0,
		      "versions differ: %zu removed, %zu added", d.nremoved,
		      d.nadded);
	zone_diff_free(&d);
	ck_assert_uint_eq(a->node_count, b->node_count);
	ck_assert_uint_eq(a->rr_count, b->rr_count);
}

struct flag_list {
	uint16_t flags[256];
	int n;
};

static int collect_flags(const struct zone_node *n, void *arg)
{
	struct flag_list *l = arg;
	if (l->n < 256)
		l->flags[l->n++] = n->flags;
	return 0;
}

static void assert_same_flags(const struct zone_version *a, const struct zone_version *b)
{
	struct flag_list fa = { .n = 0 }, fb = { .n = 0 };
	zone_walk(a, collect_flags, &fa);
	zone_walk(b, collect_flags, &fb);
	ck_assert_int_eq(fa.n, fb.n);
	for (int i = 0; i < fa.n; i++)
		ck_assert_uint_eq(fa.flags[i], fb.flags[i]);
}

START_TEST(dump_roundtrip)
{
	static const struct { const char *origin, *file; } files[] = {
		{"example.com.", "example.com.zone"},
		{"example.", "rfc4592.zone"},
		{"example.", "signed-nsec3.zone"},
		{"example.", "signed-nsec.zone"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct zone_version *v = load_data(files[i].origin, files[i].file);
		char path[] = "/tmp/tandem-test-dumpXXXXXX";
		int fd = mkstemp(path);
		FILE *f = fdopen(fd, "w");
		ck_assert_int_eq(zone_dump(v, f), 0);
		fclose(f);
		struct log_capture log = { 0 };
		struct zone_version *again = load(files[i].origin, path, &log);
		ck_assert_msg(again != NULL, "%s: %s", files[i].file, log.text);
		assert_same(v, again);
		assert_same_flags(v, again);
		ck_assert_uint_eq(again->serial, v->serial);
		unlink(path);
		zone_version_release(again);
		zone_version_release(v);
	}
}
END_TEST

START_TEST(dump_file_atomic)
{
	struct zone_version *v = load_data("example.", "rfc4592.zone");
	char dir[] = "/tmp/tandem-test-dumpdirXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/example.zone", dir);
	FILE *f = fopen(path, "w");
	fputs("old content\n", f);
	fclose(f);
	ck_assert_int_eq(zone_dump_file(v, path), 0);
	struct log_capture log = { 0 };
	struct zone_version *again = load("example.", path, &log);
	ck_assert_msg(again != NULL, "%s", log.text);
	assert_same(v, again);
	/* nothing else is left in the directory */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	ck_assert_int_eq(system(cmd), 0);
	/* an unwritable place fails cleanly */
	ck_assert_int_eq(zone_dump_file(v, "/nonexistent/dir/x.zone"), ERR_IO);
	unlink(path);
	rmdir(dir);
	zone_version_release(again);
	zone_version_release(v);
}
END_TEST

static const char *zone_v1 = HEAD
	"a IN A 192.0.2.10\n"
	"a IN A 192.0.2.11\n"
	"b.c.d IN TXT \"deep\"\n"
	"*.w IN A 192.0.2.12\n"
	"ttl 300 IN A 192.0.2.13\n"
	"sub IN NS ns.sub\n"
	"ns.sub IN A 192.0.2.14\n"
	"glue.later IN A 192.0.2.15\n"
	"mx.later IN MX 10 a\n";

static const char *zone_v2 = "$ORIGIN example.com.\n$TTL 300\n"
	"@ IN SOA ns1 host 2 3600 900 86400 60\n"
	"@ IN NS ns1\n"
	"ns1 IN A 192.0.2.1\n"
	"a IN A 192.0.2.10\n"
	"a IN A 192.0.2.99\n"
	"new.deep.name IN A 192.0.2.16\n"
	"ttl 900 IN A 192.0.2.13\n"
	"ns.sub IN A 192.0.2.14\n"
	"later IN NS ns.example.net.\n"
	"glue.later IN A 192.0.2.15\n"
	"mx.later IN MX 10 a\n";

/* A version's negative-answer SOA: TTL min(SOA TTL, MINIMUM), and its
 * image writes the octets msg_write_rr writes of the apex SOA (serial
 * included) after a question below the apex. Returns the serial seen. */
static uint32_t assert_negative_soa(const struct zone_version *v,
				    uint32_t ttl)
{
	static uint8_t a_buf[512], b_buf[512];
	uint8_t q[DNAME_MAXLEN];
	struct msg_writer a, b;
	name(q, "nothing.here.example.com.");
	ck_assert_uint_eq(v->negative_ttl, ttl);
	ck_assert_uint_gt(v->negative_soa.len, 0);
	const struct zone_rrset *soa = zone_node_rrset(v->apex, RRTYPE_SOA);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata = zone_rrset_next(soa, &pos, &len);
	ck_assert_ptr_nonnull(rdata);
	ck_assert_int_eq(msg_writer_init(&a, a_buf, sizeof(a_buf), 512), 0);
	ck_assert_int_eq(msg_writer_init(&b, b_buf, sizeof(b_buf), 512), 0);
	ck_assert_int_eq(msg_write_question(&a, q, RRTYPE_A, RRCLASS_IN), 0);
	ck_assert_int_eq(msg_write_question(&b, q, RRTYPE_A, RRCLASS_IN), 0);
	ck_assert_int_eq(msg_write_rr(&a, MSG_AUTHORITY, v->apex->owner,
				      RRTYPE_SOA, RRCLASS_IN, ttl, rdata, len),
			 0);
	ck_assert_int_eq(msg_write_image(&b, MSG_AUTHORITY, &v->negative_soa),
			 0);
	ck_assert_uint_eq(msg_writer_len(&a), msg_writer_len(&b));
	ck_assert_mem_eq(a_buf, b_buf, msg_writer_len(&a));
	return rdata_soa_field(rdata, SOA_SERIAL);
}

START_TEST(diff_apply)
{
	struct log_capture log = { 0 };
	struct zone_version *v1 = load_text("example.com", zone_v1, &log);
	struct zone_version *v2 = load_text("example.com", zone_v2, &log);
	ck_assert_msg(v1 && v2, "%s", log.text);
	struct zone_diff d;
	ck_assert_int_eq(zone_diff_compute(v1, v2, &d), 0);
	ck_assert_int_eq(d.removed[0].type, RRTYPE_SOA);
	ck_assert_int_eq(d.added[0].type, RRTYPE_SOA);
	struct zone_version *v3 = NULL;
	ck_assert_int_eq(zone_apply(v1, &d, capture, &log, &v3), 0);
	ck_assert_uint_eq(v3->serial, 2);
	/* The new version has its own negative SOA, new serial. */
	ck_assert_uint_eq(assert_negative_soa(v1, 60), 1);
	ck_assert_uint_eq(assert_negative_soa(v3, 60), 2);
	assert_same(v3, v2);
	assert_same_flags(v3, v2);
	/* v1 is untouched and still answers as before */
	ck_assert_uint_eq(v1->serial, 1);
	struct zone_lookup l;
	lookup(v1, "x.w.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_WILDCARD);
	lookup(v3, "x.w.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	lookup(v1, "mx.later.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	lookup(v3, "mx.later.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_DELEGATION);
	/* the reverse difference takes v3 back to v1 */
	struct zone_diff back;
	ck_assert_int_eq(zone_diff_compute(v3, v1, &back), 0);
	struct zone_version *v4 = NULL;
	ck_assert_int_eq(zone_apply(v3, &back, capture, &log, &v4), 0);
	assert_same(v4, v1);
	assert_same_flags(v4, v1);
	zone_diff_free(&back);
	zone_diff_free(&d);
	/* release in an order that leaves shared nodes to the last one */
	zone_version_release(v3);
	zone_version_release(v1);
	zone_version_release(v4);
	zone_version_release(v2);
}
END_TEST

START_TEST(apply_strict)
{
	struct log_capture log = { 0 };
	struct zone_version *v1 = load_text("example.com", zone_v1, &log);
	ck_assert(v1 != NULL);
	uint8_t owner[DNAME_MAXLEN], other[DNAME_MAXLEN];
	name(owner, "a.example.com.");
	name(other, "x.example.net.");
	uint8_t addr[4] = { 192, 0, 2, 200 };
	/* removing an RR that does not exist */
	struct zone_diff d = { 0 };
	zone_diff_add(&d, false, owner, RRTYPE_A, 300, addr, 4);
	struct zone_version *out = NULL;
	ck_assert_int_eq(zone_apply(v1, &d, capture, &log, &out), ERR_SEMANTIC);
	ck_assert_ptr_nonnull(strstr(log.text, "does not exist"));
	zone_diff_free(&d);
	/* adding out-of-zone data */
	memset(&d, 0, sizeof(d));
	zone_diff_add(&d, true, other, RRTYPE_A, 300, addr, 4);
	ck_assert_int_eq(zone_apply(v1, &d, capture, &log, &out), ERR_SEMANTIC);
	ck_assert_ptr_nonnull(strstr(log.text, "out of zone"));
	zone_diff_free(&d);
	/* adding a CNAME beside data */
	memset(&d, 0, sizeof(d));
	uint8_t target[DNAME_MAXLEN];
	int tlen = dname_from_str(target, "t.example.", 10, NULL);
	zone_diff_add(&d, true, owner, RRTYPE_CNAME, 300, target, (uint16_t)tlen);
	ck_assert_int_eq(zone_apply(v1, &d, capture, &log, &out), ERR_SEMANTIC);
	ck_assert_ptr_nonnull(strstr(log.text, "CNAME and other data"));
	zone_diff_free(&d);
	zone_version_release(v1);
}
END_TEST

/* A 1-record change to a larger zone shares all the other nodes. */
START_TEST(apply_shares_nodes)
{
	struct zone_builder *b;
	uint8_t apex[DNAME_MAXLEN];
	name(apex, "example.com.");
	b = zone_builder_new(apex);
	uint8_t soa[64];
	size_t pos = 0;
	uint8_t ns1[DNAME_MAXLEN];
	int nlen = dname_from_str(ns1, "ns1.example.com.", 16, NULL);
	memcpy(soa, ns1, (size_t)nlen);
	pos = (size_t)nlen;
	memcpy(soa + pos, ns1, (size_t)nlen);
	pos += (size_t)nlen;
	uint8_t nums[20] = { 0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 3, 132, 0, 1, 81, 128, 0, 0, 0, 60 };
	memcpy(soa + pos, nums, 20);
	pos += 20;
	ck_assert_int_eq(zone_builder_add(b, apex, RRTYPE_SOA, 300, soa, (uint16_t)pos,
					  NULL, 0, NULL, NULL), 0);
	ck_assert_int_eq(zone_builder_add(b, apex, RRTYPE_NS, 300, ns1, (uint16_t)nlen,
					  NULL, 0, NULL, NULL), 0);
	for (int i = 0; i < 20000; i++) {
		char label[32];
		uint8_t owner[DNAME_MAXLEN];
		snprintf(label, sizeof(label), "host%d", i);
		ck_assert_int_gt(dname_from_str(owner, label, strlen(label), apex), 0);
		uint8_t addr[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		ck_assert_int_eq(zone_builder_add(b, owner, RRTYPE_A, 300, addr, 4,
						  NULL, 0, NULL, NULL), 0);
	}
	struct zone_version *v1 = NULL, *v2 = NULL;
	ck_assert_int_eq(zone_builder_finish(b, NULL, NULL, &v1), 0);
	ck_assert_uint_eq(v1->node_count, 20001);

	struct zone_diff d = { 0 };
	uint8_t soa2[64];
	memcpy(soa2, soa, pos);
	soa2[2 * nlen + 3] = 2;
	uint8_t h5[DNAME_MAXLEN];
	name(h5, "host5.example.com.");
	uint8_t old_addr[4] = { 10, 0, 0, 5 }, new_addr[4] = { 10, 9, 9, 9 };
	zone_diff_add(&d, false, apex, RRTYPE_SOA, 300, soa, (uint16_t)pos);
	zone_diff_add(&d, false, h5, RRTYPE_A, 300, old_addr, 4);
	zone_diff_add(&d, true, apex, RRTYPE_SOA, 300, soa2, (uint16_t)pos);
	zone_diff_add(&d, true, h5, RRTYPE_A, 300, new_addr, 4);
	ck_assert_int_eq(zone_apply(v1, &d, NULL, NULL, &v2), 0);
	ck_assert_uint_eq(v2->serial, 2);
	/* all but two nodes are the very same objects */
	uint8_t h7[DNAME_MAXLEN];
	name(h7, "host7.example.com.");
	ck_assert_ptr_eq(zone_get(v1, h7), zone_get(v2, h7));
	ck_assert_ptr_ne(zone_get(v1, h5), zone_get(v2, h5));
	struct zone_diff check;
	ck_assert_int_eq(zone_diff_compute(v1, v2, &check), 0);
	ck_assert_uint_eq(check.nremoved, 2);
	ck_assert_uint_eq(check.nadded, 2);
	zone_diff_free(&check);
	zone_diff_free(&d);
	zone_version_release(v1);
	zone_version_release(v2);
}
END_TEST

START_TEST(zonedb_longest_match)
{
	struct zonedb db;
	zonedb_init(&db);
	/* a.example.com and zzz.com sort between an ancestor and the name
	 * for some queries: the longest match must not stop at them. */
	const char *apexes[] = { "example.com.", "sub.example.com.", "org.",
				 "a.example.com.", "zzz.com." };
	for (int i = 0; i < 5; i++) {
		uint8_t a[DNAME_MAXLEN];
		struct zonedb_entry *e;
		name(a, apexes[i]);
		ck_assert_int_eq(zonedb_add(&db, a, &e), 0);
		ck_assert_int_eq(zonedb_add(&db, a, &e), ERR_EXISTS);
	}
	struct {
		const char *q, *zone;
	} cases[] = {
		{ "www.example.com.", "example.com." },
		{ "a.b.SUB.example.com.", "sub.example.com." },
		{ "sub.example.com.", "sub.example.com." },
		{ "example.com.", "example.com." },
		{ "x.org.", "org." },
		{ "b.example.com.", "example.com." },
		{ "x.a.example.com.", "a.example.com." },
		{ "zz.b.example.com.", "example.com." },
		{ "zzzz.com.", NULL },
		{ "a.zzz.com.", "zzz.com." },
		{ "com.", NULL },
		{ "example.net.", NULL },
		{ ".", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t q[DNAME_MAXLEN];
		name(q, cases[i].q);
		struct zonedb_entry *e = zonedb_find(&db, q);
		if (cases[i].zone == NULL) {
			ck_assert_ptr_null(e);
		} else {
			ck_assert_ptr_nonnull(e);
			ck_assert_str_eq(e->name, cases[i].zone);
		}
	}
	ck_assert_uint_eq(zonedb_count(&db), 5);
	uint8_t sub[DNAME_MAXLEN], q[DNAME_MAXLEN];
	name(sub, "sub.example.com.");
	struct zonedb_entry *gone = zonedb_remove(&db, sub);
	ck_assert_ptr_nonnull(gone);
	zonedb_entry_free(gone);
	name(q, "a.sub.example.com.");
	ck_assert_str_eq(zonedb_find(&db, q)->name, "example.com.");
	/* The only one-label apex gone, then the root added: the lengths
	 * the lookup tries follow. */
	uint8_t org[DNAME_MAXLEN], root[DNAME_MAXLEN];
	name(org, "org.");
	zonedb_entry_free(zonedb_remove(&db, org));
	name(q, "x.org.");
	ck_assert_ptr_null(zonedb_find(&db, q));
	name(root, ".");
	struct zonedb_entry *re;
	ck_assert_int_eq(zonedb_add(&db, root, &re), 0);
	ck_assert_str_eq(zonedb_find(&db, q)->name, ".");
	name(q, "www.example.com.");
	ck_assert_str_eq(zonedb_find(&db, q)->name, "example.com.");
	zonedb_clear(&db);
	ck_assert_ptr_null(zonedb_find(&db, q));
}
END_TEST


/* ---- the built-in reader of common types against ldns ---- */

static const char *reader_zone =
	"$ORIGIN Example.COM.\n"
	"$TTL 1h\n"
	"@ IN SOA ( ns1 hostmaster.example.com. 2024010101\n"
	"           7200 900 1209600 300 ) ; comment\n"
	"@ NS ns1\n"
	"  IN NS ns2.example.com.\n"
	"ns1 3600 IN A 192.0.2.1\n"
	"ns2 7200 IN A 192.0.2.2\n"
	"ns2 IN AAAA 2001:db8::2\n"
	"v6 AAAA ::ffff:192.0.2.9\n"
	"mx 1d MX 10 mail\n"
	"mx MX 20 @\n"
	"_sip._udp SRV 0 5 5060 sip.example.com.\n"
	"txt TXT \"a b\" c \"\\\"quoted\\\"\" \"\\065\\066\\\\\" \"\"\n"
	"txt TXT ( \"multi\"\n \"line\" )\n"
	"cn CNAME www\n"
	"dn DNAME example.net.\n"
	"ptr PTR www.Example.COM.\n"
	"esc\\.dot A 192.0.2.3\n"
	"\\000.bin A 192.0.2.4\n"
	"*.wild A 192.0.2.5\n"
	"CaSe IN A 192.0.2.6\n"
	"www in a 192.0.2.7\n"
	"long TXT "
	"\"0123456789012345678901234567890123456789012345678901234567890123"
	"456789012345678901234567890123456789012345678901234567890123456789"
	"012345678901234567890123456789012345678901234567890123456789012345"
	"6789012345678901234567890123456789012345678901234567890\"\n"
	/* Not plain: ldns reads these. */
	"gen TYPE65280 \\# 2 abcd\n"
	"hinfo HINFO \"cpu\" \"os\"\n"
	"caa CAA 0 issue \"ca.example.net\"\n"
	"soa2 SOA ns1 h 1 1h 2h 3h 4h\n";

START_TEST(reader_matches_ldns)
{
	const char *path = temp_zone(reader_zone);
	uint8_t apex[DNAME_MAXLEN];
	name(apex, "example.com.");
	struct log_capture l1 = { 0 }, l2 = { 0 };
	struct zone_version *fast = NULL, *ref = NULL;
	int r1 = zone_load_file(apex, path, capture, &l1, &fast);
	int r2 = zone_load_file_ldns(apex, path, capture, &l2, &ref);
	unlink(path);
	/* soa2 is an SOA outside the apex: both refuse the zone alike. */
	ck_assert_msg(r1 == r2, "%d %d\n%s---\n%s", r1, r2, l1.text, l2.text);
	ck_assert_str_eq(l1.text, l2.text);
	ck_assert_msg(strstr(l1.text, "soa2.example.com.: SOA record outside")
		      != NULL, "%s", l1.text);
}
END_TEST

/* The same zone without the bad SOA loads to the same version. */
START_TEST(reader_same_version)
{
	char text[8192];
	snprintf(text, sizeof(text), "%s", reader_zone);
	*strstr(text, "soa2") = '\0';
	const char *path = temp_zone(text);
	uint8_t apex[DNAME_MAXLEN];
	name(apex, "example.com.");
	struct log_capture l1 = { 0 }, l2 = { 0 };
	struct zone_version *fast = NULL, *ref = NULL;
	ck_assert_msg(zone_load_file(apex, path, capture, &l1, &fast) == 0,
		      "%s", l1.text);
	ck_assert_msg(zone_load_file_ldns(apex, path, capture, &l2, &ref) == 0,
		      "%s", l2.text);
	unlink(path);
	ck_assert_str_eq(l1.text, l2.text);
	assert_same(fast, ref);
	ck_assert_uint_eq(fast->rr_count, 24);
	zone_version_release(fast);
	zone_version_release(ref);
	/* And every test zone of the repository. */
	static const struct { const char *origin, *file; } files[] = {
		{"example.com.", "example.com.zone"},
		{"example.", "rfc4592.zone"},
		{"example.", "signed-nsec3.zone"},
		{"example.", "signed-nsec.zone"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", TEST_DATA_DIR, files[i].file);
		name(apex, files[i].origin);
		struct log_capture a = { 0 }, b = { 0 };
		ck_assert_int_eq(zone_load_file(apex, p, capture, &a, &fast), 0);
		ck_assert_int_eq(zone_load_file_ldns(apex, p, capture, &b, &ref), 0);
		ck_assert_str_eq(a.text, b.text);
		assert_same(fast, ref);
		zone_version_release(fast);
		zone_version_release(ref);
	}
}
END_TEST

/* RFC 1035 §5.1 allows the class before the TTL, as NSD and Knot read
 * it; ldns does not, the built-in reader does for the common types. */
START_TEST(reader_class_then_ttl)
{
	struct log_capture log = { 0 };
	struct zone_version *v = load_text("example.com.",
		HEAD "x IN 7200 A 192.0.2.9\n", &log);
	ck_assert_msg(v != NULL, "%s", log.text);
	struct zone_lookup l;
	lookup(v, "x.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	ck_assert_uint_eq(zone_node_rrset(l.node, RRTYPE_A)->ttl, 7200);
	zone_version_release(v);
}
END_TEST

/* Records the built-in reader refuses are refused by ldns with the same
 * message at the same line. */
START_TEST(reader_errors_match_ldns)
{
	static const char *bad[] = {
		"x A 192.0.2.256\n", "x A 1.2.3\n", "x AAAA 2001:db8::g\n",
		"x MX 65536 mail\n", "x MX mail\n", "x TXT\n",
		"x SRV 1 2 mail\n", "x CNAME a..b\n", "x A 192.0.2.1 extra\n",
		"x CH TXT \"chaos\"\n", "x TXT \"\\1x\"\n",
		"x SOA a b 1 2 3 4\n", "x 99999999999 A 192.0.2.1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), HEAD "%s", bad[i]);
		const char *path = temp_zone(text);
		uint8_t apex[DNAME_MAXLEN];
		name(apex, "example.com.");
		struct log_capture l1 = { 0 }, l2 = { 0 };
		struct zone_version *v1 = NULL, *v2 = NULL;
		int r1 = zone_load_file(apex, path, capture, &l1, &v1);
		int r2 = zone_load_file_ldns(apex, path, capture, &l2, &v2);
		unlink(path);
		ck_assert_msg(r1 == r2, "%s: %d vs %d", bad[i], r1, r2);
		ck_assert_msg(strcmp(l1.text, l2.text) == 0, "%s:\n%s---\n%s",
			      bad[i], l1.text, l2.text);
		zone_version_release(v1);
		zone_version_release(v2);
	}
}
END_TEST

/* A zone file several times the reader's 2 MB window: records across
 * refills, multi-line records, a long run of comments. */
START_TEST(reader_large_file)
{
	char path[] = "/tmp/tandem-test-bigzoneXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs(HEAD, f);
	for (int i = 0; i < 40000; i++) {
		if (i == 20000)
			for (int c = 0; c < 12000; c++)
				fprintf(f, "; a comment line to fill the window %d\n", c);
		if (i % 7 == 0)
			fprintf(f, "h%d IN TXT ( \"part one of %d\"\n"
				   "\t\"part two\" ) ; note\n", i, i);
		else
			fprintf(f, "h%d IN A 10.%d.%d.%d\n", i, i >> 16,
				(i >> 8) & 255, i & 255);
	}
	fputs("last IN A 192.0.2.99\n", f);
	fclose(f);
	struct log_capture log = { 0 };
	struct zone_version *v = load("example.com.", path, &log);
	unlink(path);
	ck_assert_msg(v != NULL, "%s", log.text);
	ck_assert_uint_eq(v->rr_count, 3 + 40000 + 1);
	struct zone_lookup l;
	lookup(v, "last.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	lookup(v, "h39998.example.com.", &l);
	ck_assert_int_eq(l.kind, ZONE_FOUND);
	zone_version_release(v);
}
END_TEST

/* A record longer than the reader's look-ahead is an error, not cut;
 * so is rdata over 65535 octets (ldns would cut it short). */
START_TEST(reader_record_too_long)
{
	char path[] = "/tmp/tandem-test-longrecXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs(HEAD, f);
	fputs("x IN TXT (\n", f);
	for (int i = 0; i < 40000; i++)
		fputs("  \"0123456789\"\n", f);
	fputs(")\n", f);
	for (int i = 0; i < 200000; i++)
		fprintf(f, "h%d IN A 192.0.2.1\n", i);
	fclose(f);
	struct log_capture log = { 0 };
	struct zone_version *v = load("example.com.", path, &log);
	unlink(path);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(log.text, ":6: record longer than 512 KB") != NULL,
		      "%s", log.text);

	char text[200000];
	size_t n = (size_t)snprintf(text, sizeof(text), "%sx IN TXT", HEAD);
	for (int i = 0; i < 6000; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " \"0123456789\"");
	snprintf(text + n, sizeof(text) - n, "\n");
	struct log_capture log2 = { 0 };
	v = load_text("example.com.", text, &log2);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(log2.text, ":6: rdata longer than 65535 octets") !=
		      NULL, "%s", log2.text);

	/* A relative owner under a long $ORIGIN: ldns joins the two past
	 * 255 octets without a word (found by the zone_load fuzzer). */
	struct log_capture log3 = { 0 };
	v = load_text("example.com.", HEAD
		"$ORIGIN " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"example.com.\n"
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb A 192.0.2.2\n",
		&log3);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(log3.text, ":7: owner name longer than 255 octets")
		      != NULL, "%s", log3.text);
}
END_TEST

/* ---- keys ---- */

/* The query-path key (node_key_ends) equals the folded key, escapes of
 * octets 0 and 1 included, and its ends are the ancestors' key lengths. */
START_TEST(key_ends)
{
	static const char *names[] = {
		"www.Example.COM.", ".", "a\\000b.\\001.x\\002y.example.",
		"\\000.\\001\\001.EXAMPLE.", "*.w.example.",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t n[DNAME_MAXLEN], want[QP_MAXKEY], got[QP_MAXKEY];
		uint16_t ends[DNAME_MAXLABELS + 1];
		int labels;
		name(n, names[i]);
		size_t wlen = node_key_fold(n, want);
		size_t glen = node_key_ends(n, got, ends, &labels);
		ck_assert_uint_eq(glen, wlen);
		ck_assert_int_eq(memcmp(got, want, wlen), 0);
		ck_assert_int_eq(labels, dname_labels(n));
		for (int l = 0; l <= labels; l++) {
			uint8_t anc[QP_MAXKEY];
			size_t alen = node_key_fold(dname_strip(n, labels - l), anc);
			ck_assert_uint_eq(ends[l], alen);
		}
	}
}
END_TEST

/* The same on generated names: every label length 1-63 (the word-at-a-
 * time copy takes 4-7 and 8+ octets differently from 1-3), octets around
 * 'A', 'Z', 'a', 'z', 0x00-0x02, and high octets whose low seven bits are
 * letters (0xC1 is no letter). */
START_TEST(key_ends_generated)
{
	static const uint8_t octets[] = {
		'A', 'B', 'M', 'Z', 'a', 'm', 'z', '@', '[', '`', '{', '0',
		'9', '-', 0, 1, 2, 0x41 | 0x80, 0x5A | 0x80, 0x61 | 0x80, 0xFF,
	};
	uint32_t seed = 12345;
	for (int round = 0; round < 2000; round++) {
		uint8_t n[DNAME_MAXLEN];
		size_t pos = 0;
		int nlabels = 1 + round % 5;
		for (int l = 0; l < nlabels; l++) {
			seed = seed * 1103515245u + 12345u;
			size_t len = 1 + (seed >> 16) % 63;
			if (pos + 1 + len + 1 > DNAME_MAXLEN)
				break;
			n[pos++] = (uint8_t)len;
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				/* Mostly letters, sometimes anything. */
				unsigned r = (seed >> 16) % 100;
				unsigned any = (seed >> 8) % sizeof(octets);
				n[pos++] = r < 90 ? octets[r % 11] : octets[any];
			}
		}
		n[pos] = 0;
		uint8_t want[QP_MAXKEY], got[QP_MAXKEY];
		uint16_t ends[DNAME_MAXLABELS + 1];
		int labels;
		size_t wlen = node_key_fold(n, want);
		size_t glen = node_key_ends(n, got, ends, &labels);
		ck_assert_uint_eq(glen, wlen);
		ck_assert_int_eq(memcmp(got, want, wlen), 0);
		ck_assert_uint_eq(ends[labels], wlen);
	}
}
END_TEST

/* ---- DNSSEC: NSEC and NSEC3 chains ---- */

static size_t count_nsec3_flags(const struct zone_version *v)
{
	struct zone_iter it;
	zone_iter_init(&it, v);
	size_t n = 0;
	const struct zone_node *node;
	while ((node = zone_iter_next(&it)) != NULL)
		if (node->flags & NODE_NSEC3)
			n++;
	return n;
}

/* The NSEC3 found for `qname` matches it or covers its hash. */
static void assert_nsec3_proves(const struct zone_version *v, const char *qname,
				bool want_exact)
{
	uint8_t q[DNAME_MAXLEN], owner[DNAME_MAXLEN];
	name(q, qname);
	bool exact;
	const struct zone_node *n = zone_nsec3_find(v, q, &exact);
	ck_assert_ptr_nonnull(n);
	ck_assert_msg(exact == want_exact, "%s: exact %d", qname, exact);
	ck_assert(n->flags & NODE_NSEC3);
	ck_assert_int_gt(nsec3_owner(owner, &v->nsec3, q, v->apex_name), 0);
	/* Hash labels compare like the hashes (base32hex keeps order). */
	int c = memcmp(n->owner + 1, owner + 1, NSEC3_LABEL_LEN);
	const struct zone_rrset *set = zone_node_rrset(n, RRTYPE_NSEC3);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata = zone_rrset_next(set, &pos, &len);
	uint8_t hlen;
	const uint8_t *next = nsec3_next_hash(rdata, len, &hlen);
	char next_label[NSEC3_LABEL_LEN];
	ck_assert_uint_eq(nsec3_base32hex(next_label, next, hlen), NSEC3_LABEL_LEN);
	int cn = memcmp(owner + 1, next_label, NSEC3_LABEL_LEN);
	if (want_exact) {
		ck_assert_int_eq(c, 0);
	} else if (memcmp(n->owner + 1, next_label, NSEC3_LABEL_LEN) < 0) {
		ck_assert_msg(c < 0 && cn < 0, "%s not covered", qname);
	} else { /* the last NSEC3 wraps around to the first */
		ck_assert_msg(c < 0 || cn < 0, "%s not covered", qname);
	}
}

START_TEST(nsec3_chain)
{
	struct zone_version *v = load_data("example.", "signed-nsec3.zone");
	ck_assert(v->dnssec);
	ck_assert_int_eq(v->denial, ZONE_DENIAL_NSEC3);
	ck_assert_uint_eq(v->nsec3.iterations, 3);
	ck_assert_uint_eq(v->nsec3.salt_len, 2);
	/* Nine NSEC3 owners: every name but the glue below the cut. */
	ck_assert_uint_eq(qp_count(&v->nsec3_tree), 9);
	ck_assert_uint_eq(count_nsec3_flags(v), 9);

	/* An NSEC3 owner is not a name of the zone (RFC 5155 §7.2.9). */
	struct zone_lookup l;
	lookup(v, "35u2sm1ht0bc8qivkf68t0repdkb3mae.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	ck_assert(owner_is(l.encloser, "example."));
	lookup(v, "x.35U2SM1HT0BC8QIVKF68T0REPDKB3MAE.example.", &l);
	ck_assert_int_eq(l.kind, ZONE_NXDOMAIN);
	ck_assert(owner_is(l.encloser, "example."));

	static const char *exact[] = {"example.", "www.example.", "c.example.",
				      "b.c.example.", "*.wild.example.",
				      "sub.example."};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		assert_nsec3_proves(v, exact[i], true);
	static const char *covered[] = {"nx.example.", "a.example.",
					"zzz.example.", "ns.sub.example.",
					"0.example.", "x.www.example.",
					"*.example.", "*.c.example."};
	for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++)
		assert_nsec3_proves(v, covered[i], false);
	zone_version_release(v);
}
END_TEST

/* Removes the lines of `text` that start with `needle`. */
static char *without_lines(const char *text, const char *needle)
{
	char *out = calloc(1, strlen(text) + 1);
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);
		char line[4096];
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if (strncmp(line, needle, strlen(needle)) != 0)
			strcat(out, line);
		p += n;
	}
	return out;
}

static char *read_data(const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, file);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* zone_apply keeps the NSEC3 tree equal to the NODE_NSEC3 nodes. */
START_TEST(nsec3_chain_apply)
{
	/* ldns-nsec3-hash -t 3 -s 00ff www.example */
	const char *www_hash = "dkfob91ul8ddkf9sqpm80n1tsefn6r08";
	char *text = without_lines(read_data("signed-nsec3.zone"), www_hash);
	struct log_capture log = { 0 };
	struct zone_version *full = load_data("example.", "signed-nsec3.zone");
	struct zone_version *cut = load_text("example.", text, &log);
	free(text);
	ck_assert_msg(cut != NULL, "%s", log.text);
	ck_assert_uint_eq(qp_count(&cut->nsec3_tree), 8);

	struct zone_diff d;
	ck_assert_int_eq(zone_diff_compute(full, cut, &d), 0);
	struct zone_version *applied = NULL;
	ck_assert_int_eq(zone_apply(full, &d, capture, &log, &applied), 0);
	zone_diff_free(&d);
	ck_assert_uint_eq(qp_count(&applied->nsec3_tree), 8);
	ck_assert_uint_eq(count_nsec3_flags(applied), 8);
	/* www's NSEC3 is gone: the one before it is found instead. */
	uint8_t www[DNAME_MAXLEN];
	name(www, "www.example.");
	bool exact;
	const struct zone_node *n = zone_nsec3_find(applied, www, &exact);
	ck_assert(!exact);
	ck_assert(owner_is(n, "buob6obr7fecr6sml39bflnq38rd4tkt.example."));
	assert_nsec3_proves(full, "www.example.", true);

	ck_assert_int_eq(zone_diff_compute(applied, full, &d), 0);
	struct zone_version *back = NULL;
	ck_assert_int_eq(zone_apply(applied, &d, capture, &log, &back), 0);
	zone_diff_free(&d);
	ck_assert_uint_eq(qp_count(&back->nsec3_tree), 9);
	assert_nsec3_proves(back, "www.example.", true);
	assert_same(back, full);
	assert_same_flags(back, full);
	zone_version_release(applied);
	zone_version_release(cut);
	zone_version_release(full);
	zone_version_release(back);
}
END_TEST

static void assert_nsec_at(const struct zone_version *v, const char *qname,
			   const char *owner)
{
	uint8_t q[DNAME_MAXLEN];
	name(q, qname);
	const struct zone_node *n = zone_nsec_find(v, q);
	ck_assert_msg(owner_is(n, owner), "%s: NSEC not at %s", qname, owner);
	ck_assert_ptr_nonnull(zone_node_rrset(n, RRTYPE_NSEC));
}

START_TEST(nsec_chain)
{
	struct zone_version *v = load_data("example.", "signed-nsec.zone");
	ck_assert(v->dnssec);
	ck_assert_int_eq(v->denial, ZONE_DENIAL_NSEC);
	ck_assert_uint_eq(qp_count(&v->nsec3_tree), 0);
	/* Canonical order: example, c, b.c, a.b.c, ns1, sub, ns.sub, wild,
	 * *.wild, www; empty non-terminals and glue have no NSEC. */
	assert_nsec_at(v, "example.", "example.");
	assert_nsec_at(v, "b.c.example.", "example.");
	assert_nsec_at(v, "c.example.", "example.");
	assert_nsec_at(v, "a.b.c.example.", "a.b.c.example.");
	assert_nsec_at(v, "zz.ns.sub.example.", "sub.example.");
	assert_nsec_at(v, "wj.example.", "*.wild.example.");
	assert_nsec_at(v, "x.example.", "www.example.");
	assert_nsec_at(v, "zzz.example.", "www.example.");
	assert_nsec_at(v, "wild.example.", "sub.example.");

	struct log_capture log = { 0 };
	struct zone_version *plain = load_text("example.", HEAD_EXAMPLE, &log);
	ck_assert_msg(plain != NULL, "%s", log.text);
	ck_assert(!plain->dnssec);
	ck_assert_int_eq(plain->denial, ZONE_DENIAL_NONE);
	zone_version_release(plain);
	zone_version_release(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zone");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, load_every_type);
	tcase_add_test(tc, load_directives);
	tcase_add_test(tc, semantic_errors);
	tcase_add_test(tc, semantic_warnings);
	tcase_add_test(tc, lookup_rfc4592);
	tcase_add_test(tc, lookup_cases);
	tcase_add_test(tc, lookup_nxdomain_previous);
	tcase_add_test(tc, dump_roundtrip);
	tcase_add_test(tc, dump_file_atomic);
	tcase_add_test(tc, diff_apply);
	tcase_add_test(tc, apply_strict);
	tcase_add_test(tc, apply_shares_nodes);
	tcase_add_test(tc, zonedb_longest_match);
	tcase_add_test(tc, key_ends);
	tcase_add_test(tc, key_ends_generated);
	tcase_add_test(tc, reader_matches_ldns);
	tcase_add_test(tc, reader_same_version);
	tcase_add_test(tc, reader_errors_match_ldns);
	tcase_add_test(tc, reader_class_then_ttl);
	tcase_add_test(tc, reader_large_file);
	tcase_add_test(tc, reader_record_too_long);
	tcase_add_test(tc, nsec3_chain);
	tcase_add_test(tc, nsec3_chain_apply);
	tcase_add_test(tc, nsec_chain);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
