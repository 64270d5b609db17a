/*
 * test_xfrout.c -- AXFR and IXFR responses, read back with the message
 * reader and rebuilt into zones.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "xfr/xfrout.h"
#include "zonedb/load.h"

static struct zone_version *load_data(const char *origin, const char *file)
{
	static const uint8_t root[1] = { 0 };
	char path[512];
	uint8_t apex[DNAME_MAXLEN];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, file);
	dname_from_str(apex, origin, strlen(origin), root);
	struct zone_version *v = NULL;
	ck_assert_int_eq(zone_load_file(apex, path, NULL, NULL, &v), 0);
	return v;
}

struct received {
	struct zone_builder *b;
	size_t messages, rrs, soas;
	uint16_t first_type, last_type;
	size_t qdcounts;
	struct zone_diff ixfr; /* for IXFR: RRs seen, in order */
	uint32_t serials[64];
	size_t nserials;
};

/* Reads every RR of one message into r (the builder for AXFR). */
static void read_message(struct received *r, const uint8_t *msg, size_t len,
			 uint16_t want_id, bool ixfr)
{
	struct msg_reader rd;
	struct msg_header h;
	msg_reader_init(&rd, msg, len);
	ck_assert_int_eq(msg_read_header(&rd, &h), 0);
	ck_assert_uint_eq(h.id, want_id);
	ck_assert(h.flags & MSG_FLAG_QR);
	ck_assert(h.flags & MSG_FLAG_AA);
	ck_assert_uint_eq(msg_flags_rcode(h.flags), RCODE_NOERROR);
	r->qdcounts += h.count[0];
	for (unsigned i = 0; i < h.count[0]; i++) {
		struct msg_question q;
		ck_assert_int_eq(msg_read_question(&rd, &q), 0);
	}
	static uint8_t rdata[65535];
	for (unsigned i = 0; i < h.count[1]; i++) {
		struct msg_rr rr;
		ck_assert_int_eq(msg_read_rr(&rd, &rr, rdata, sizeof(rdata)), 0);
		if (r->rrs == 0)
			r->first_type = rr.type;
		r->last_type = rr.type;
		r->rrs++;
		if (rr.type == RRTYPE_SOA) {
			r->soas++;
			size_t m = dname_len(rdata);
			size_t n = dname_len(rdata + m);
			const uint8_t *p = rdata + m + n;
			if (r->nserials < 64)
				r->serials[r->nserials++] = (uint32_t)p[0] << 24 |
					(uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		}
		if (ixfr)
			zone_diff_add(&r->ixfr, true, rr.owner, rr.type, rr.ttl,
				      rdata, rr.rdlen);
		else if (r->soas < 2)
			ck_assert_int_eq(zone_builder_add(r->b, rr.owner, rr.type, rr.ttl,
							  rdata, rr.rdlen, NULL, 0, NULL, NULL), 0);
	}
	ck_assert_uint_eq(h.count[2], 0);
	/* ARCOUNT: the TSIG, if any */
	r->messages++;
}

/* The AXFR read into r (its builder, taken) is zone v, RR for RR. */
static void assert_received_zone(struct received *r,
				 const struct zone_version *v)
{
	ck_assert_uint_eq(r->rrs, v->rr_count + 1); /* and the closing SOA */
	struct zone_version *got = NULL;
	ck_assert_int_eq(zone_builder_finish(r->b, NULL, NULL, &got), 0);
	struct zone_diff d;
	ck_assert_int_eq(zone_diff_compute(v, got, &d), 0);
	ck_assert_uint_eq(d.nadded + d.nremoved, 0);
	zone_diff_free(&d);
	zone_version_release(got);
}

static void axfr_roundtrip(size_t limit, bool sign)
{
	struct zone_version *v = load_data("example.com.", "example.com.zone");
	struct tsig_key key;
	ck_assert_int_eq(tsig_key_init(&key, "k.", "hmac-sha256", "c2VjcmV0c2VjcmV0"), 0);
	struct tsig_ctx server, client;
	tsig_ctx_init(&server, &key, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
	tsig_ctx_init(&client, &key, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
	struct xfrout x;
	ck_assert_int_eq(xfrout_axfr_init(&x, v, 77, MSG_FLAG_RD, v->apex_name, RRTYPE_AXFR), 0);
	struct received r = { .b = zone_builder_new(v->apex_name) };
	static uint8_t buf[65535];
	int more;
	do {
		size_t len = 0;
		more = xfrout_next(&x, buf, limit, &len, sign ? &server : NULL, 1000);
		ck_assert_int_ge(more, 0);
		ck_assert_uint_le(len, limit);
		if (sign) {
			struct tsig_rr rr;
			ck_assert_int_eq(tsig_find(buf, len, &rr), 0);
			ck_assert_int_eq(tsig_verify(&client, buf, len, &rr, 1000), 0);
			len = rr.offset; /* the reader need not see it */
			buf[11]--;
		}
		read_message(&r, buf, len, 77, false);
	} while (more == 1);
	ck_assert_int_eq(xfrout_next(&x, buf, limit, &(size_t){ 0 }, NULL, 0), ERR_BADSTATE);
	ck_assert_uint_eq(r.qdcounts, 1);
	ck_assert_uint_eq(r.first_type, RRTYPE_SOA);
	ck_assert_uint_eq(r.last_type, RRTYPE_SOA);
	ck_assert_uint_eq(r.soas, 2);
	if (limit < 1000)
		ck_assert_uint_gt(r.messages, 3);
	assert_received_zone(&r, v);
	xfrout_free(&x);
	tsig_ctx_free(&server);
	tsig_ctx_free(&client);
	zone_version_release(v);
}

START_TEST(axfr_one_message)
{
	axfr_roundtrip(65535, false);
}
END_TEST

START_TEST(axfr_many_messages_signed)
{
	axfr_roundtrip(512, true);
}
END_TEST

static void add_rr(struct zone_builder *b, const char *owner, uint16_t type,
		   const uint8_t *rdata, uint16_t rdlen)
{
	static const uint8_t root[1] = { 0 };
	uint8_t name[DNAME_MAXLEN];
	ck_assert_int_ge(dname_from_str(name, owner, strlen(owner), root), 0);
	ck_assert_int_eq(zone_builder_add(b, name, type, 3600, rdata, rdlen,
					  NULL, 0, NULL, NULL), 0);
}

/* Messages are filled to XFROUT_MESSAGE_SIZE even when the buffer allows
 * 64 KB, so that every name stays a compression target (pointers reach
 * 16 KB); a record larger than that still goes, alone in a larger one. */
START_TEST(axfr_message_size)
{
	static const uint8_t root[1] = { 0 };
	uint8_t apex[DNAME_MAXLEN];
	dname_from_str(apex, "big.test.", 9, root);
	struct zone_builder *b = zone_builder_new(apex);
	static const uint8_t soa[] = {
		2, 'n', 's', 0, 2, 'h', 'm', 0, 0, 0, 0, 1, 0, 0, 14, 16,
		0, 0, 3, 132, 0, 9, 58, 128, 0, 0, 1, 44 };
	add_rr(b, "big.test.", RRTYPE_SOA, soa, sizeof(soa));
	static const uint8_t ns[] = { 2, 'n', 's', 3, 'b', 'i', 'g', 4,
				      't', 'e', 's', 't', 0 };
	add_rr(b, "big.test.", RRTYPE_NS, ns, sizeof(ns));
	char owner[64];
	for (int i = 0; i < 3000; i++) {
		uint8_t a[4] = { 192, 0, 2, (uint8_t)i };
		snprintf(owner, sizeof(owner), "host%d.big.test.", i);
		add_rr(b, owner, RRTYPE_A, a, sizeof(a));
	}
	/* 120 strings of 255 octets: 30,720 octets of rdata. */
	static uint8_t txt[120 * 256];
	memset(txt, 'x', sizeof(txt));
	for (size_t i = 0; i < sizeof(txt); i += 256)
		txt[i] = 255;
	add_rr(b, "host1500.big.test.", RRTYPE_TXT, txt, sizeof(txt));
	struct zone_version *v = NULL;
	ck_assert_int_eq(zone_builder_finish(b, NULL, NULL, &v), 0);

	struct xfrout x;
	ck_assert_int_eq(xfrout_axfr_init(&x, v, 9, 0, v->apex_name, RRTYPE_AXFR), 0);
	struct received r = { .b = zone_builder_new(v->apex_name) };
	static uint8_t buf[65535];
	size_t large = 0;
	int more;
	do {
		size_t len = 0;
		more = xfrout_next(&x, buf, sizeof(buf), &len, NULL, 0);
		ck_assert_int_ge(more, 0);
		if (len > XFROUT_MESSAGE_SIZE) {
			large++;
			ck_assert_uint_gt(len, sizeof(txt));
		}
		read_message(&r, buf, len, 9, false);
	} while (more == 1);
	ck_assert_uint_eq(large, 1);
	/* 3,000 A RRs of ~20 octets each: more than four 16 KB messages. */
	ck_assert_uint_ge(r.messages, 5);
	assert_received_zone(&r, v);
	xfrout_free(&x);
	zone_version_release(v);
}
END_TEST

/* A reload that publishes a newer version does not disturb a transfer in
 * progress: it holds its own reference. */
START_TEST(axfr_holds_version)
{
	struct zone_version *v = load_data("example.", "rfc4592.zone");
	struct xfrout x;
	ck_assert_int_eq(xfrout_axfr_init(&x, v, 1, 0, v->apex_name, RRTYPE_AXFR), 0);
	zone_version_release(v); /* the publisher lets go */
	static uint8_t buf[65535];
	size_t len;
	size_t total = 0;
	int more;
	do {
		more = xfrout_next(&x, buf, 300, &len, NULL, 0);
		ck_assert_int_ge(more, 0);
		total++;
	} while (more == 1);
	ck_assert_uint_gt(total, 1);
	xfrout_free(&x);
}
END_TEST

START_TEST(ixfr_sequence)
{
	static const uint8_t root[1] = { 0 };
	struct zone_version *v1 = load_data("example.com.", "example.com.zone");
	/* v2: serial +1, one A changed; v3: serial +2, one name added */
	uint8_t mail[DNAME_MAXLEN], extra[DNAME_MAXLEN];
	dname_from_str(mail, "mail.example.com.", 17, root);
	dname_from_str(extra, "extra.example.com.", 18, root);
	const struct zone_rrset *soa = zone_node_rrset(v1->apex, RRTYPE_SOA);
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
	uint8_t a_old[4] = { 192, 0, 2, 2 }, a_new[4] = { 192, 0, 2, 222 };

	struct zone_diff *diffs = calloc(2, sizeof(*diffs));
	zone_diff_add(&diffs[0], false, v1->apex_name, RRTYPE_SOA, soa->ttl, soa1, soalen);
	zone_diff_add(&diffs[0], false, mail, RRTYPE_A, 3600, a_old, 4);
	zone_diff_add(&diffs[0], true, v1->apex_name, RRTYPE_SOA, soa->ttl, soa2, soalen);
	zone_diff_add(&diffs[0], true, mail, RRTYPE_A, 3600, a_new, 4);
	zone_diff_add(&diffs[1], false, v1->apex_name, RRTYPE_SOA, soa->ttl, soa2, soalen);
	zone_diff_add(&diffs[1], true, v1->apex_name, RRTYPE_SOA, soa->ttl, soa3, soalen);
	zone_diff_add(&diffs[1], true, extra, RRTYPE_A, 60, a_new, 4);
	struct zone_version *v2 = NULL, *v3 = NULL;
	ck_assert_int_eq(zone_apply(v1, &diffs[0], NULL, NULL, &v2), 0);
	ck_assert_int_eq(zone_apply(v2, &diffs[1], NULL, NULL, &v3), 0);

	struct xfrout x;
	ck_assert_int_eq(xfrout_ixfr_init(&x, v3, 5, 0, v1->apex_name, diffs, 2), 0);
	struct received r = { 0 };
	static uint8_t buf[65535];
	size_t len;
	int more;
	do {
		more = xfrout_next(&x, buf, 65535, &len, NULL, 0);
		ck_assert_int_ge(more, 0);
		read_message(&r, buf, len, 5, true);
	} while (more == 1);
	/* SOA3, SOA1 -A, SOA2 +A, SOA2, SOA3 +extra, SOA3 */
	ck_assert_uint_eq(r.rrs, 9);
	ck_assert_uint_eq(r.nserials, 6);
	uint32_t s1 = v1->serial;
	uint32_t want[6] = { s1 + 2, s1, s1 + 1, s1 + 1, s1 + 2, s1 + 2 };
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(r.serials[i], want[i]);
	ck_assert_uint_eq(v3->serial, s1 + 2);
	zone_diff_free(&r.ixfr);
	xfrout_free(&x);

	/* an up-to-date client: the SOA alone */
	ck_assert_int_eq(xfrout_ixfr_init(&x, v3, 6, 0, v1->apex_name, NULL, 0), 0);
	struct received alone = { 0 };
	ck_assert_int_eq(xfrout_next(&x, buf, 65535, &len, NULL, 0), 0);
	read_message(&alone, buf, len, 6, true);
	ck_assert_uint_eq(alone.rrs, 1);
	ck_assert_uint_eq(alone.serials[0], s1 + 2);
	zone_diff_free(&alone.ixfr);
	xfrout_free(&x);
	zone_version_release(v1);
	zone_version_release(v2);
	zone_version_release(v3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xfrout");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, axfr_one_message);
	tcase_add_test(tc, axfr_many_messages_signed);
	tcase_add_test(tc, axfr_holds_version);
	tcase_add_test(tc, axfr_message_size);
	tcase_add_test(tc, ixfr_sequence);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
