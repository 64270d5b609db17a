/*
 * test_rdata.c -- rdata validation, canonical form and canonical order.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

/* Rdata assembled piece by piece. */
struct rd {
	uint8_t b[70000];
	size_t n;
};

static void rd_bytes(struct rd *r, const void *data, size_t len)
{
	memcpy(r->b + r->n, data, len);
	r->n += len;
}

static void rd_u8(struct rd *r, uint8_t v)
{
	r->b[r->n++] = v;
}

static void rd_u16(struct rd *r, uint16_t v)
{
	rd_u8(r, (uint8_t)(v >> 8));
	rd_u8(r, (uint8_t)v);
}

static void rd_u32(struct rd *r, uint32_t v)
{
	rd_u16(r, (uint16_t)(v >> 16));
	rd_u16(r, (uint16_t)v);
}

static void rd_name(struct rd *r, const char *str)
{
	uint8_t n[DNAME_MAXLEN];
	int len = dname_from_str(n, str, strlen(str), NULL);
	ck_assert_int_gt(len, 0);
	rd_bytes(r, n, (size_t)len);
}

static void rd_string(struct rd *r, const char *s)
{
	rd_u8(r, (uint8_t)strlen(s));
	rd_bytes(r, s, strlen(s));
}

/* Every proper prefix of valid rdata is rejected (for layouts that do
 * not end in an open-ended field). */
static void assert_prefixes_rejected(uint16_t type, const struct rd *r)
{
	for (size_t len = 0; len < r->n; len++)
		ck_assert_msg(rdata_check(type, r->b, len) == ERR_MALFORMED,
			      "type %u prefix %zu accepted", type, len);
}

START_TEST(test_check_fixed)
{
	static const struct {
		uint16_t type;
		size_t len;
	} fixed[] = {
	    {RRTYPE_A, 4},     {RRTYPE_AAAA, 16}, {RRTYPE_EUI48, 6},
	    {RRTYPE_EUI64, 8}, {RRTYPE_NID, 10},  {RRTYPE_L32, 6},
	    {RRTYPE_L64, 10},
	};
	uint8_t buf[32];
	memset(buf, 0xAB, sizeof(buf));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		for (size_t len = 0; len < sizeof(buf); len++) {
			int want = len == fixed[i].len ? 0 : ERR_MALFORMED;
			ck_assert_msg(rdata_check(fixed[i].type, buf, len) ==
					  want,
				      "type %u len %zu", fixed[i].type, len);
		}
	}
}
END_TEST

START_TEST(test_check_names)
{
	static struct rd r;
	r.n = 0;
	rd_name(&r, "ns1.example.com.");
	ck_assert_int_eq(rdata_check(RRTYPE_NS, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_CNAME, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_DNAME, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_NSAP_PTR, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_NS, &r);
	/* Trailing octet. */
	rd_u8(&r, 0);
	ck_assert_int_eq(rdata_check(RRTYPE_NS, r.b, r.n), ERR_MALFORMED);
	/* Root name is a fine target. */
	ck_assert_int_eq(rdata_check(RRTYPE_NS, (const uint8_t *)"", 1), 0);
	/* Pointers and extended labels are never valid in stored rdata. */
	ck_assert_int_eq(
	    rdata_check(RRTYPE_NS, (const uint8_t *)"\1a\300\14", 4),
	    ERR_MALFORMED);
	ck_assert_int_eq(rdata_check(RRTYPE_NS, (const uint8_t *)"\101a", 3),
			 ERR_MALFORMED);
	/* A name over 255 octets. */
	uint8_t big[300];
	memset(big, 'x', sizeof(big));
	for (size_t p = 0; p < 256; p += 64)
		big[p] = 63;
	big[256] = 0;
	ck_assert_int_eq(rdata_check(RRTYPE_NS, big, 257), ERR_MALFORMED);
}
END_TEST

START_TEST(test_check_mx_soa)
{
	static struct rd r;
	r.n = 0;
	rd_u16(&r, 10);
	rd_name(&r, "mail.example.");
	ck_assert_int_eq(rdata_check(RRTYPE_MX, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_MX, &r);

	r.n = 0;
	rd_name(&r, "ns.example.");
	rd_name(&r, "hostmaster.example.");
	for (int i = 0; i < 5; i++)
		rd_u32(&r, 1000u * (uint32_t)i);
	ck_assert_int_eq(rdata_check(RRTYPE_SOA, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_SOA, &r);
	rd_u8(&r, 1);
	ck_assert_int_eq(rdata_check(RRTYPE_SOA, r.b, r.n), ERR_MALFORMED);

	r.n = 0;
	rd_u16(&r, 1);
	rd_u16(&r, 2);
	rd_u16(&r, 5060);
	rd_name(&r, "sip.example.");
	ck_assert_int_eq(rdata_check(RRTYPE_SRV, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_SRV, &r);
}
END_TEST

START_TEST(test_check_string)
{
	static struct rd r;
	r.n = 0;
	rd_string(&r, "PC");
	rd_string(&r, "Unix");
	ck_assert_int_eq(rdata_check(RRTYPE_HINFO, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_HINFO, &r);
	rd_u8(&r, 0);
	ck_assert_int_eq(rdata_check(RRTYPE_HINFO, r.b, r.n), ERR_MALFORMED);
	/* Empty strings are strings. */
	ck_assert_int_eq(rdata_check(RRTYPE_HINFO, (const uint8_t *)"\0", 2),
			 0);
	/* A string length past the end. */
	ck_assert_int_eq(
	    rdata_check(RRTYPE_HINFO, (const uint8_t *)"\1a\3ab", 5),
	    ERR_MALFORMED);
	/* 255-octet string. */
	r.n = 0;
	rd_u8(&r, 255);
	memset(r.b + r.n, 'x', 255);
	r.n += 255;
	ck_assert_int_eq(rdata_check(RRTYPE_X25, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_X25, r.b, r.n - 1), ERR_MALFORMED);
}
END_TEST

START_TEST(test_check_strings)
{
	ck_assert_int_eq(rdata_check(RRTYPE_TXT, (const uint8_t *)"\0", 1), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_TXT, (const uint8_t *)"\3abc", 4),
			 0);
	ck_assert_int_eq(
	    rdata_check(RRTYPE_TXT, (const uint8_t *)"\3abc\0\1x", 7), 0);
	/* At least one string (RFC 1035 §3.3.14). */
	ck_assert_int_eq(rdata_check(RRTYPE_TXT, (const uint8_t *)"", 0),
			 ERR_MALFORMED);
	ck_assert_int_eq(rdata_check(RRTYPE_TXT, (const uint8_t *)"\4abc", 4),
			 ERR_MALFORMED);
	ck_assert_int_eq(
	    rdata_check(RRTYPE_TXT, (const uint8_t *)"\3abc\2x", 6),
	    ERR_MALFORMED);
	ck_assert_int_eq(rdata_check(RRTYPE_SPF, (const uint8_t *)"\1x", 2), 0);
	/* A long TXT made of many strings. */
	static struct rd r;
	r.n = 0;
	for (int i = 0; i < 200; i++) {
		rd_u8(&r, 255);
		memset(r.b + r.n, 'a' + i % 26, 255);
		r.n += 255;
	}
	ck_assert_int_eq(rdata_check(RRTYPE_TXT, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_TXT, r.b, r.n - 1), ERR_MALFORMED);
}
END_TEST

START_TEST(test_check_remainder)
{
	uint8_t buf[64] = {0};
	/* Empty rdata may come as NULL. */
	ck_assert_int_eq(rdata_check(RRTYPE_NULL, NULL, 0), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_NS, NULL, 0), ERR_MALFORMED);
	ck_assert_int_eq(rdata_check(RRTYPE_A, NULL, 0), ERR_MALFORMED);
	rdata_canonicalize(RRTYPE_NS, buf, NULL, 0);
	/* NULL, unknown types: anything goes, even nothing. */
	for (size_t len = 0; len < sizeof(buf); len++) {
		ck_assert_int_eq(rdata_check(RRTYPE_NULL, buf, len), 0);
		ck_assert_int_eq(rdata_check(65280, buf, len), 0);
	}
	/* DS: 4 fixed octets then the digest. */
	ck_assert_int_eq(rdata_check(RRTYPE_DS, buf, 3), ERR_MALFORMED);
	ck_assert_int_eq(rdata_check(RRTYPE_DS, buf, 4), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_DS, buf, 36), 0);
	/* NSEC: a name then the bitmap. */
	static struct rd r;
	r.n = 0;
	rd_name(&r, "Next.example.");
	ck_assert_int_eq(rdata_check(RRTYPE_NSEC, r.b, r.n), 0);
	rd_bytes(&r, "\0\6\100\0\0\0\0\3", 8);
	ck_assert_int_eq(rdata_check(RRTYPE_NSEC, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_NSEC, r.b, 5), ERR_MALFORMED);
	/* NSEC3: three fixed fields, salt and hash strings, bitmap. */
	r.n = 0;
	rd_u8(&r, 1);
	rd_u8(&r, 0);
	rd_u16(&r, 10);
	rd_string(&r, "salt");
	rd_u8(&r, 20);
	memset(r.b + r.n, 0x55, 20);
	r.n += 20;
	ck_assert_int_eq(rdata_check(RRTYPE_NSEC3, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_NSEC3, &r);
	/* CAA: flags, tag string, value to the end. */
	r.n = 0;
	rd_u8(&r, 0);
	rd_string(&r, "issue");
	rd_bytes(&r, "ca.example", 10);
	ck_assert_int_eq(rdata_check(RRTYPE_CAA, r.b, r.n), 0);
	ck_assert_int_eq(rdata_check(RRTYPE_CAA, r.b, 7), 0); /* no value */
	ck_assert_int_eq(rdata_check(RRTYPE_CAA, r.b, 6), ERR_MALFORMED);
}
END_TEST

START_TEST(test_check_rrsig)
{
	static struct rd r;
	r.n = 0;
	rd_u16(&r, RRTYPE_A);
	rd_u8(&r, 13);
	rd_u8(&r, 2);
	rd_u32(&r, 3600);
	rd_u32(&r, 2000000000u);
	rd_u32(&r, 1900000000u);
	rd_u16(&r, 12345);
	rd_name(&r, "example.");
	ck_assert_int_eq(rdata_check(RRTYPE_RRSIG, r.b, r.n), 0);
	assert_prefixes_rejected(RRTYPE_RRSIG, &r);
	memset(r.b + r.n, 0x77, 64);
	r.n += 64;
	ck_assert_int_eq(rdata_check(RRTYPE_RRSIG, r.b, r.n), 0);
}
END_TEST

/* Canonical form: RFC 4034 §6.2 types lowercase names, NSEC does not
 * (RFC 6840 §5.1), and nothing but names changes. */
START_TEST(test_canonicalize)
{
	static struct rd r;
	uint8_t out[600];

	r.n = 0;
	rd_u16(&r, 0x4142); /* "AB" in a fixed field stays */
	rd_name(&r, "Mail.EXAMPLE.");
	rdata_canonicalize(RRTYPE_MX, out, r.b, r.n);
	ck_assert_mem_eq(out, "AB\4mail\7example\0", r.n);
	ck_assert_mem_eq(r.b + 2, "\4Mail", 5); /* source untouched */

	r.n = 0;
	rd_name(&r, "NS1.Example.");
	rd_name(&r, "HostMaster.Example.");
	for (int i = 0; i < 5; i++)
		rd_u32(&r, 0x41424344u);
	rdata_canonicalize(RRTYPE_SOA, out, r.b, r.n);
	ck_assert_mem_eq(out, "\3ns1\7example\0\12hostmaster\7example\0", 33);
	ck_assert_mem_eq(out + 33, "ABCD", 4);

	r.n = 0;
	rd_name(&r, "Next.Example.");
	rd_bytes(&r, "\0\1\100", 3);
	rdata_canonicalize(RRTYPE_NSEC, out, r.b, r.n);
	ck_assert_mem_eq(out, r.b, r.n);

	r.n = 0;
	rd_u16(&r, 0);
	rd_u16(&r, 0);
	rd_u16(&r, 0);
	rd_name(&r, "SIP.Example.");
	rdata_canonicalize(RRTYPE_SRV, out, r.b, r.n);
	ck_assert_mem_eq(out + 6, "\3sip\7example\0", 13);

	r.n = 0;
	rd_string(&r, "Hello World");
	rdata_canonicalize(RRTYPE_TXT, out, r.b, r.n);
	ck_assert_mem_eq(out, r.b, r.n);
	rdata_canonicalize(RRTYPE_HINFO, out, (const uint8_t *)"\2PC\4UNIX", 8);
	ck_assert_mem_eq(out, "\2PC\4UNIX", 8);

	/* In place. */
	r.n = 0;
	rd_name(&r, "WWW.Example.");
	rdata_canonicalize(RRTYPE_CNAME, r.b, r.b, r.n);
	ck_assert_mem_eq(r.b, "\3www\7example\0", r.n);
}
END_TEST

START_TEST(test_cmp_fold)
{
	static struct rd a, b;
	a.n = b.n = 0;
	rd_u16(&a, 10);
	rd_name(&a, "Mail.Example.");
	rd_u16(&b, 10);
	rd_name(&b, "mail.example.");
	ck_assert_int_eq(rdata_cmp(RRTYPE_MX, a.b, a.n, b.b, b.n), 0);

	a.n = b.n = 0;
	rd_name(&a, "NS1.EXAMPLE.");
	rd_name(&b, "ns1.example.");
	ck_assert_int_eq(rdata_cmp(RRTYPE_NS, a.b, a.n, b.b, b.n), 0);
	/* Canonical order compares the lowercased forms: 'B' (0x42) sorts
	 * after 'a' once folded, though before it as raw octets. */
	a.n = b.n = 0;
	rd_name(&a, "B.example.");
	rd_name(&b, "a.example.");
	ck_assert_int_gt(rdata_cmp(RRTYPE_NS, a.b, a.n, b.b, b.n), 0);
	ck_assert_int_lt(rdata_cmp(RRTYPE_NS, b.b, b.n, a.b, a.n), 0);
}
END_TEST

START_TEST(test_cmp_no_fold)
{
	static struct rd a, b;
	/* NSEC next names keep their case (RFC 6840 §5.1). */
	a.n = b.n = 0;
	rd_name(&a, "Next.example.");
	rd_bytes(&a, "\0\1\100", 3);
	rd_name(&b, "next.example.");
	rd_bytes(&b, "\0\1\100", 3);
	ck_assert_int_lt(rdata_cmp(RRTYPE_NSEC, a.b, a.n, b.b, b.n), 0);
	ck_assert_int_gt(rdata_cmp(RRTYPE_NSEC, b.b, b.n, a.b, a.n), 0);
	ck_assert_int_eq(rdata_cmp(RRTYPE_NSEC, a.b, a.n, a.b, a.n), 0);
	/* NSAP-PTR is not in the RFC 4034 §6.2 list either. */
	a.n = b.n = 0;
	rd_name(&a, "Host.example.");
	rd_name(&b, "host.example.");
	ck_assert_int_ne(rdata_cmp(RRTYPE_NSAP_PTR, a.b, a.n, b.b, b.n), 0);
	/* TXT is text, not names: case matters. */
	ck_assert_int_lt(rdata_cmp(RRTYPE_TXT, (const uint8_t *)"\1A", 2,
				   (const uint8_t *)"\1a", 2),
			 0);
}
END_TEST

START_TEST(test_cmp_order)
{
	/* Left-justified octet strings: a prefix sorts first. */
	ck_assert_int_lt(rdata_cmp(RRTYPE_NULL, (const uint8_t *)"ab", 2,
				   (const uint8_t *)"abc", 3),
			 0);
	ck_assert_int_gt(rdata_cmp(RRTYPE_NULL, (const uint8_t *)"abc", 3,
				   (const uint8_t *)"ab", 2),
			 0);
	ck_assert_int_lt(rdata_cmp(RRTYPE_NULL, (const uint8_t *)"", 0,
				   (const uint8_t *)"a", 1),
			 0);
	ck_assert_int_eq(rdata_cmp(RRTYPE_NULL, (const uint8_t *)"", 0,
				   (const uint8_t *)"", 0),
			 0);
	/* Empty rdata may come as NULL (UPDATE deletions). */
	ck_assert_int_eq(rdata_cmp(RRTYPE_NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(rdata_cmp(RRTYPE_NS, NULL, 0, NULL, 0), 0);
	ck_assert_int_lt(
	    rdata_cmp(RRTYPE_NULL, NULL, 0, (const uint8_t *)"a", 1), 0);
	/* Octets compare unsigned. */
	ck_assert_int_gt(rdata_cmp(RRTYPE_A, (const uint8_t *)"\200\0\0\0", 4,
				   (const uint8_t *)"\1\0\0\0", 4),
			 0);
	/* MX: preference first. */
	static struct rd a, b;
	a.n = b.n = 0;
	rd_u16(&a, 20);
	rd_name(&a, "a.example.");
	rd_u16(&b, 10);
	rd_name(&b, "z.example.");
	ck_assert_int_gt(rdata_cmp(RRTYPE_MX, a.b, a.n, b.b, b.n), 0);
}
END_TEST

/* Rdata over the 512-octet stack buffers of rdata_cmp. */
START_TEST(test_cmp_large)
{
	static struct rd a, b;
	a.n = b.n = 0;
	struct rd *both[2] = {&a, &b};
	for (int i = 0; i < 2; i++) {
		struct rd *r = both[i];
		rd_u16(r, RRTYPE_A);
		rd_u8(r, 8);
		rd_u8(r, 2);
		rd_u32(r, 3600);
		rd_u32(r, 2000000000u);
		rd_u32(r, 1900000000u);
		rd_u16(r, 4242);
		rd_name(r, i == 0 ? "EXAMPLE.com." : "example.COM.");
		memset(r->b + r->n, 0x5A, 1000);
		r->n += 1000;
	}
	ck_assert_int_eq(rdata_cmp(RRTYPE_RRSIG, a.b, a.n, b.b, b.n), 0);
	b.b[b.n - 1] = 0x5B;
	ck_assert_int_lt(rdata_cmp(RRTYPE_RRSIG, a.b, a.n, b.b, b.n), 0);
	ck_assert_int_gt(rdata_cmp(RRTYPE_RRSIG, b.b, b.n, a.b, a.n), 0);
	ck_assert_int_lt(rdata_cmp(RRTYPE_RRSIG, a.b, a.n - 1, b.b, b.n), 0);
}
END_TEST

struct seen {
	int count;
	size_t offset[4];
	int kind[4];
	int stop_after;
};

static int collect(const uint8_t *name, size_t offset, int kind, void *arg)
{
	struct seen *s = arg;
	(void)name;
	s->offset[s->count] = offset;
	s->kind[s->count] = kind;
	s->count++;
	return s->count == s->stop_after ? 42 : 0;
}

START_TEST(test_foreach_name)
{
	static struct rd r;
	struct seen s = {0};

	r.n = 0;
	rd_name(&r, "ns.example.");
	rd_name(&r, "h.example.");
	for (int i = 0; i < 5; i++)
		rd_u32(&r, 0);
	ck_assert_int_eq(rdata_foreach_name(RRTYPE_SOA, r.b, r.n, collect, &s),
			 0);
	ck_assert_int_eq(s.count, 2);
	ck_assert_uint_eq(s.offset[0], 0);
	ck_assert_uint_eq(s.offset[1], 12);
	ck_assert_int_eq(s.kind[0], RDF_NAME_COMPRESS);

	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	ck_assert_int_eq(rdata_foreach_name(RRTYPE_SOA, r.b, r.n, collect, &s),
			 42);
	ck_assert_int_eq(s.count, 1);

	memset(&s, 0, sizeof(s));
	r.n = 0;
	rd_u16(&r, 0);
	rd_u16(&r, 0);
	rd_u16(&r, 0);
	rd_name(&r, "t.example.");
	ck_assert_int_eq(rdata_foreach_name(RRTYPE_SRV, r.b, r.n, collect, &s),
			 0);
	ck_assert_int_eq(s.count, 1);
	ck_assert_uint_eq(s.offset[0], 6);
	ck_assert_int_eq(s.kind[0], RDF_NAME_FOLD);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(rdata_foreach_name(RRTYPE_NSEC,
					    (const uint8_t *)"\1a\0\0\1\100", 6,
					    collect, &s),
			 0);
	ck_assert_int_eq(s.kind[0], RDF_NAME_PLAIN);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(rdata_foreach_name(RRTYPE_A,
					    (const uint8_t *)"\1\2\3\4", 4,
					    collect, &s),
			 0);
	ck_assert_int_eq(s.count, 0);
	/* Malformed rdata: an error, and no call past the damage. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_lt(rdata_foreach_name(RRTYPE_MX,
					    (const uint8_t *)"\0\1\5ab", 5,
					    collect, &s),
			 0);
	ck_assert_int_eq(s.count, 0);
}
END_TEST

static Suite *rdata_suite(void)
{
	Suite *s = suite_create("rdata");
	TCase *tc = tcase_create("check");
	tcase_add_test(tc, test_check_fixed);
	tcase_add_test(tc, test_check_names);
	tcase_add_test(tc, test_check_mx_soa);
	tcase_add_test(tc, test_check_string);
	tcase_add_test(tc, test_check_strings);
	tcase_add_test(tc, test_check_remainder);
	tcase_add_test(tc, test_check_rrsig);
	suite_add_tcase(s, tc);

	tc = tcase_create("canonical");
	tcase_add_test(tc, test_canonicalize);
	tcase_add_test(tc, test_cmp_fold);
	tcase_add_test(tc, test_cmp_no_fold);
	tcase_add_test(tc, test_cmp_order);
	tcase_add_test(tc, test_cmp_large);
	tcase_add_test(tc, test_foreach_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rdata_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
