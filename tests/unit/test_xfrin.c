/*
 * test_xfrin.c -- transfers in: streams made by xfrout are accepted and
 * rebuild the zone exactly; hostile or broken ones are rejected whole.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "xfr/xfrin.h"
#include "xfr/xfrout.h"
#include "zonedb/load.h"

static const uint8_t root[1] = { 0 };

static struct zone_version *load_data(const char *origin, const char *file)
{
	char path[512];
	uint8_t apex[DNAME_MAXLEN];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, file);
	dname_from_str(apex, origin, strlen(origin), root);
	struct zone_version *v = NULL;
	ck_assert_int_eq(zone_load_file(apex, path, NULL, NULL, &v), 0);
	return v;
}

/* Streams xfrout's messages into xfrin; returns xfrin's last result. */
static int pipe_transfer(struct xfrout *out, struct xfrin *in, size_t limit,
			 struct tsig_ctx *sign)
{
	static uint8_t buf[65535];
	int more, r;
	do {
		size_t len;
		more = xfrout_next(out, buf, limit, &len, sign, 1000);
		ck_assert_int_ge(more, 0);
		r = xfrin_message(in, buf, len, 1000);
		if (r < 0)
			return r;
	} while (more == 1);
	return r;
}

static void assert_same(const struct zone_version *a, const struct zone_version *b)
{
	struct zone_diff d;
	ck_assert_int_eq(zone_diff_compute(a, b, &d), 0);
	ck_assert_uint_eq(d.nremoved + d.nadded, 0);
	zone_diff_free(&d);
}

START_TEST(axfr_signed)
{
	struct zone_version *v = load_data("example.com.", "example.com.zone");
	struct tsig_key key;
	tsig_key_init(&key, "xfr.", "hmac-sha256", "c2VjcmV0c2VjcmV0");
	struct tsig_ctx client, server;
	tsig_ctx_init(&client, &key, NULL, 0);
	tsig_ctx_init(&server, &key, NULL, 0);
	struct xfrin in;
	xfrin_init(&in, v->apex_name, RRTYPE_AXFR, 0, 99, &client, 0);
	uint8_t req[512];
	size_t rlen;
	ck_assert_int_eq(xfrin_request(&in, req, sizeof(req), &rlen, NULL, 0, 0, 1000), 0);
	/* the primary checks the request, then answers signed */
	struct tsig_rr trr;
	ck_assert_int_eq(tsig_find(req, rlen, &trr), 0);
	ck_assert_int_eq(tsig_verify(&server, req, rlen, &trr, 1000), 0);
	struct xfrout out;
	xfrout_axfr_init(&out, v, 99, 0, v->apex_name, RRTYPE_AXFR);
	ck_assert_int_eq(pipe_transfer(&out, &in, 700, &server), XFRIN_DONE);
	ck_assert_int_eq(in.kind, XFRIN_FULL);
	ck_assert_uint_gt(in.messages, 2);
	struct zone_version *got;
	ck_assert_int_eq(xfrin_finish(&in, NULL, NULL, NULL, &got), 0);
	assert_same(v, got);
	ck_assert_uint_eq(got->serial, v->serial);
	zone_version_release(got);
	xfrout_free(&out);
	xfrin_free(&in);
	tsig_ctx_free(&client);
	tsig_ctx_free(&server);
	zone_version_release(v);
}
END_TEST

/* Versions v1 -> v2 -> v3 and their differences. */
struct history {
	struct zone_version *v[3];
	struct zone_diff d[2];
};

static void make_history(struct history *h)
{
	h->v[0] = load_data("example.com.", "example.com.zone");
	const struct zone_rrset *soa = zone_node_rrset(h->v[0]->apex, RRTYPE_SOA);
	size_t pos = 0;
	uint16_t soalen;
	const uint8_t *soa1 = zone_rrset_next(soa, &pos, &soalen);
	uint8_t soa2[512], soa3[512];
	memcpy(soa2, soa1, soalen);
	memcpy(soa3, soa1, soalen);
	size_t at = dname_len(soa1);
	at += dname_len(soa1 + at);
	soa2[at + 3] += 1;
	soa3[at + 3] += 2;
	uint8_t mail[DNAME_MAXLEN], extra[DNAME_MAXLEN];
	dname_from_str(mail, "mail.example.com.", 17, root);
	dname_from_str(extra, "extra.example.com.", 18, root);
	uint8_t a_old[4] = { 192, 0, 2, 2 }, a_new[4] = { 192, 0, 2, 222 };
	const uint8_t *apex = h->v[0]->apex_name;
	memset(h->d, 0, sizeof(h->d));
	zone_diff_add(&h->d[0], false, apex, RRTYPE_SOA, soa->ttl, soa1, soalen);
	zone_diff_add(&h->d[0], false, mail, RRTYPE_A, 3600, a_old, 4);
	zone_diff_add(&h->d[0], true, apex, RRTYPE_SOA, soa->ttl, soa2, soalen);
	zone_diff_add(&h->d[0], true, mail, RRTYPE_A, 3600, a_new, 4);
	zone_diff_add(&h->d[1], false, apex, RRTYPE_SOA, soa->ttl, soa2, soalen);
	zone_diff_add(&h->d[1], true, apex, RRTYPE_SOA, soa->ttl, soa3, soalen);
	zone_diff_add(&h->d[1], true, extra, RRTYPE_A, 60, a_new, 4);
	ck_assert_int_eq(zone_apply(h->v[0], &h->d[0], NULL, NULL, &h->v[1]), 0);
	ck_assert_int_eq(zone_apply(h->v[1], &h->d[1], NULL, NULL, &h->v[2]), 0);
}

static void free_history(struct history *h)
{
	for (int i = 0; i < 3; i++)
		zone_version_release(h->v[i]);
	zone_diff_free(&h->d[0]);
	zone_diff_free(&h->d[1]);
}

/* Copies the history's differences for an xfrout to own. */
static struct zone_diff *copy_diffs(const struct history *h, int n)
{
	struct zone_diff *out = calloc(2, sizeof(*out));
	for (int i = 0; i < n; i++) {
		const struct zone_diff *d = &h->d[i];
		for (size_t k = 0; k < d->nremoved; k++)
			zone_diff_add(&out[i], false, d->removed[k].owner, d->removed[k].type,
				      d->removed[k].ttl, d->removed[k].rdata, d->removed[k].rdlen);
		for (size_t k = 0; k < d->nadded; k++)
			zone_diff_add(&out[i], true, d->added[k].owner, d->added[k].type,
				      d->added[k].ttl, d->added[k].rdata, d->added[k].rdlen);
	}
	return out;
}

START_TEST(ixfr_incremental)
{
	struct history h;
	make_history(&h);
	struct xfrin in;
	xfrin_init(&in, h.v[0]->apex_name, RRTYPE_IXFR, h.v[0]->serial, 7, NULL, 0);
	struct xfrout out;
	xfrout_ixfr_init(&out, h.v[2], 7, 0, h.v[0]->apex_name, copy_diffs(&h, 2), 2);
	ck_assert_int_eq(pipe_transfer(&out, &in, 65535, NULL), XFRIN_DONE);
	ck_assert_int_eq(in.kind, XFRIN_INCREMENTAL);
	ck_assert_uint_eq(in.ndiffs, 2);
	struct zone_version *got;
	ck_assert_int_eq(xfrin_finish(&in, h.v[0], NULL, NULL, &got), 0);
	assert_same(got, h.v[2]);
	zone_version_release(got);
	xfrout_free(&out);
	xfrin_free(&in);

	/* up to date: the lone SOA */
	xfrin_init(&in, h.v[2]->apex_name, RRTYPE_IXFR, h.v[2]->serial, 8, NULL, 0);
	xfrout_ixfr_init(&out, h.v[2], 8, 0, h.v[2]->apex_name, NULL, 0);
	ck_assert_int_eq(pipe_transfer(&out, &in, 65535, NULL), XFRIN_DONE);
	ck_assert_int_eq(in.kind, XFRIN_UPTODATE);
	ck_assert_int_eq(xfrin_finish(&in, h.v[2], NULL, NULL, &got), 0);
	ck_assert_ptr_null(got);
	xfrout_free(&out);
	xfrin_free(&in);

	/* an IXFR answered AXFR-style */
	xfrin_init(&in, h.v[0]->apex_name, RRTYPE_IXFR, h.v[0]->serial, 9, NULL, 0);
	xfrout_axfr_init(&out, h.v[2], 9, 0, h.v[0]->apex_name, RRTYPE_IXFR);
	ck_assert_int_eq(pipe_transfer(&out, &in, 65535, NULL), XFRIN_DONE);
	ck_assert_int_eq(in.kind, XFRIN_FULL);
	ck_assert_int_eq(xfrin_finish(&in, h.v[0], NULL, NULL, &got), 0);
	assert_same(got, h.v[2]);
	zone_version_release(got);
	xfrout_free(&out);
	xfrin_free(&in);
	free_history(&h);
}
END_TEST

/* IXFR differences that do not apply to what we have are rejected at
 * finish: the caller then falls back to AXFR. */
START_TEST(ixfr_not_applicable)
{
	struct history h;
	make_history(&h);
	/* Pretend we are at v2 while holding v1: the first difference
	 * removes an RR our base does not have. */
	struct zone_version *fake = NULL;
	ck_assert_int_eq(zone_apply(h.v[0], &h.d[0], NULL, NULL, &fake), 0);
	struct xfrin in;
	xfrin_init(&in, h.v[0]->apex_name, RRTYPE_IXFR, h.v[0]->serial, 7, NULL, 0);
	struct xfrout out;
	xfrout_ixfr_init(&out, h.v[2], 7, 0, h.v[0]->apex_name, copy_diffs(&h, 2), 2);
	ck_assert_int_eq(pipe_transfer(&out, &in, 65535, NULL), XFRIN_DONE);
	struct zone_version *got = NULL;
	/* base at the wrong serial */
	ck_assert_int_eq(xfrin_finish(&in, h.v[2], NULL, NULL, &got), ERR_BADSTATE);
	/* base at the right serial but other content: delete fails */
	struct zone_version *other = load_data("example.", "rfc4592.zone");
	other->serial = h.v[0]->serial;
	ck_assert_int_lt(xfrin_finish(&in, other, NULL, NULL, &got), 0);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(in.error, "does not apply"));
	zone_version_release(other);
	zone_version_release(fake);
	xfrout_free(&out);
	xfrin_free(&in);
	free_history(&h);
}
END_TEST

/* Hand-made answers from a broken or hostile primary. */
struct forge {
	uint8_t buf[4096];
	struct msg_writer w;
};

static void forge_start(struct forge *f, uint16_t id, uint16_t rcode, const uint8_t *apex,
			uint16_t qtype)
{
	msg_writer_init(&f->w, f->buf, sizeof(f->buf), sizeof(f->buf));
	msg_write_header(&f->w, id, msg_flags_set_rcode(MSG_FLAG_QR | MSG_FLAG_AA, rcode));
	msg_write_question(&f->w, apex, qtype, RRCLASS_IN);
}

static void forge_soa(struct forge *f, const uint8_t *apex, uint32_t serial)
{
	uint8_t rdata[64];
	uint8_t ns[DNAME_MAXLEN];
	int n = dname_from_str(ns, "ns1.example.com.", 16, root);
	memcpy(rdata, ns, (size_t)n);
	memcpy(rdata + n, ns, (size_t)n);
	uint8_t *p = rdata + 2 * n;
	uint32_t vals[5] = { serial, 3600, 600, 86400, 60 };
	for (int i = 0; i < 5; i++) {
		p[0] = (uint8_t)(vals[i] >> 24);
		p[1] = (uint8_t)(vals[i] >> 16);
		p[2] = (uint8_t)(vals[i] >> 8);
		p[3] = (uint8_t)vals[i];
		p += 4;
	}
	ck_assert_int_eq(msg_write_rr(&f->w, MSG_ANSWER, apex, RRTYPE_SOA, RRCLASS_IN,
				      3600, rdata, (size_t)(p - rdata)), 0);
}

static void forge_a(struct forge *f, const char *owner)
{
	uint8_t name[DNAME_MAXLEN];
	dname_from_str(name, owner, strlen(owner), root);
	uint8_t addr[4] = { 192, 0, 2, 1 };
	ck_assert_int_eq(msg_write_rr(&f->w, MSG_ANSWER, name, RRTYPE_A, RRCLASS_IN,
				      60, addr, 4), 0);
}

static int feed(struct forge *f, struct xfrin *in)
{
	return xfrin_message(in, f->buf, msg_writer_len(&f->w), 0);
}

START_TEST(hostile_answers)
{
	uint8_t apex[DNAME_MAXLEN], ns[DNAME_MAXLEN];
	dname_from_str(apex, "example.com.", 12, root);
	dname_from_str(ns, "ns1.example.com.", 16, root);
	struct xfrin in;
	struct forge f;

	/* one out-of-zone RR rejects the whole AXFR */
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_AXFR);
	forge_soa(&f, apex, 5);
	forge_a(&f, "www.example.com.");
	forge_a(&f, "evil.example.net.");
	forge_soa(&f, apex, 5);
	ck_assert_int_eq(feed(&f, &in), ERR_OUTOFZONE);
	ck_assert_ptr_nonnull(strstr(in.error, "evil.example.net"));
	xfrin_free(&in);

	/* the final SOA's serial differs from the first */
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_AXFR);
	forge_soa(&f, apex, 5);
	forge_a(&f, "www.example.com.");
	forge_soa(&f, apex, 6);
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	xfrin_free(&in);

	/* not starting with the SOA */
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_AXFR);
	forge_a(&f, "www.example.com.");
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	xfrin_free(&in);

	/* RRs after the end */
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_AXFR);
	forge_soa(&f, apex, 5);
	forge_a(&f, "www.example.com.");
	forge_soa(&f, apex, 5);
	forge_a(&f, "late.example.com.");
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	xfrin_free(&in);

	/* a refusal carries the rcode (IXFR refused: fall back to AXFR) */
	xfrin_init(&in, apex, RRTYPE_IXFR, 4, 1, NULL, 0);
	forge_start(&f, 1, RCODE_NOTIMP, apex, RRTYPE_IXFR);
	ck_assert_int_eq(feed(&f, &in), ERR_REFUSED);
	ck_assert_int_eq(in.rcode, RCODE_NOTIMP);
	xfrin_free(&in);

	/* wrong id, wrong question */
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 0);
	forge_start(&f, 2, 0, apex, RRTYPE_AXFR);
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	xfrin_free(&in);
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 0);
	forge_start(&f, 1, 0, ns, RRTYPE_AXFR);
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	xfrin_free(&in);

	/* IXFR differences that do not chain: 4->5 then 6->7 */
	xfrin_init(&in, apex, RRTYPE_IXFR, 4, 1, NULL, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_IXFR);
	forge_soa(&f, apex, 7);
	forge_soa(&f, apex, 4);
	forge_soa(&f, apex, 5);
	forge_a(&f, "a.example.com.");
	forge_soa(&f, apex, 6);
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	ck_assert_ptr_nonnull(strstr(in.error, "starts at serial 6"));
	xfrin_free(&in);

	/* an IXFR difference going backwards */
	xfrin_init(&in, apex, RRTYPE_IXFR, 4, 1, NULL, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_IXFR);
	forge_soa(&f, apex, 7);
	forge_soa(&f, apex, 4);
	forge_soa(&f, apex, 3);
	ck_assert_int_eq(feed(&f, &in), ERR_MALFORMED);
	xfrin_free(&in);

	/* the size limit */
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, NULL, 3);
	forge_start(&f, 1, 0, apex, RRTYPE_AXFR);
	forge_soa(&f, apex, 5);
	forge_a(&f, "a.example.com.");
	forge_a(&f, "b.example.com.");
	forge_a(&f, "c.example.com.");
	ck_assert_int_eq(feed(&f, &in), ERR_LIMIT);
	xfrin_free(&in);

	/* a signed answer to an unsigned request, and the reverse */
	struct tsig_key key;
	tsig_key_init(&key, "xfr.", "hmac-sha256", "c2VjcmV0c2VjcmV0");
	struct tsig_ctx ctx;
	tsig_ctx_init(&ctx, &key, NULL, 0);
	xfrin_init(&in, apex, RRTYPE_AXFR, 0, 1, &ctx, 0);
	forge_start(&f, 1, 0, apex, RRTYPE_AXFR);
	forge_soa(&f, apex, 5);
	ck_assert_int_eq(feed(&f, &in), ERR_BADSIG);
	xfrin_free(&in);
	tsig_ctx_free(&ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xfrin");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, axfr_signed);
	tcase_add_test(tc, ixfr_incremental);
	tcase_add_test(tc, ixfr_not_applicable);
	tcase_add_test(tc, hostile_answers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
