/*
 * test_notify.c -- NOTIFY and SOA-query messages, both ends.
 */
#include <check.h>
#include <string.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "xfr/notify.h"

static const uint8_t root[1] = { 0 };

static size_t make_soa(uint8_t *rdata, uint32_t serial)
{
	uint8_t ns[DNAME_MAXLEN];
	int n = dname_from_str(ns, "ns1.example.com.", 16, root);
	memcpy(rdata, ns, (size_t)n);
	memcpy(rdata + n, ns, (size_t)n);
	uint8_t *p = rdata + 2 * n;
	uint32_t vals[5] = { serial, 3600, 600, 86400, 60 };
	for (int i = 0; i < 5; i++, p += 4) {
		p[0] = (uint8_t)(vals[i] >> 24);
		p[1] = (uint8_t)(vals[i] >> 16);
		p[2] = (uint8_t)(vals[i] >> 8);
		p[3] = (uint8_t)vals[i];
	}
	return (size_t)(p - rdata);
}

START_TEST(notify_roundtrip_signed)
{
	uint8_t apex[DNAME_MAXLEN];
	dname_from_str(apex, "Example.COM.", 12, root);
	struct tsig_key key;
	tsig_key_init(&key, "xfr.", "hmac-sha256", "c2VjcmV0c2VjcmV0");
	struct tsig_ctx primary, secondary;
	tsig_ctx_init(&primary, &key, NULL, 0);
	tsig_ctx_init(&secondary, &key, NULL, 0);
	uint8_t soa[128], req[512], ans[512];
	size_t soalen = make_soa(soa, 2024), rlen, alen;
	ck_assert_int_eq(notify_request(req, sizeof(req), &rlen, 4242, apex, soa,
					(uint16_t)soalen, 3600, &primary, 500), 0);
	/* the secondary verifies, parses and answers */
	struct tsig_rr trr;
	ck_assert_int_eq(tsig_find(req, rlen, &trr), 0);
	ck_assert_int_eq(tsig_verify(&secondary, req, rlen, &trr, 500), 0);
	struct notify_in in;
	ck_assert_int_eq(notify_parse(req, trr.offset, &in), 0);
	ck_assert_uint_eq(in.id, 4242);
	ck_assert(in.has_serial);
	ck_assert_uint_eq(in.serial, 2024);
	ck_assert(dname_equal(in.apex, apex));
	ck_assert_int_eq(notify_answer(&in, ans, sizeof(ans), &alen, RCODE_NOERROR,
				       &secondary, 501), 0);
	unsigned rcode = 99;
	ck_assert_int_eq(notify_check_answer(ans, alen, 4242, apex, &primary, 501, &rcode), 0);
	ck_assert_uint_eq(rcode, 0);
	tsig_ctx_free(&primary);
	tsig_ctx_free(&secondary);

	/* unsigned, refused, and a wrong id */
	ck_assert_int_eq(notify_request(req, sizeof(req), &rlen, 7, apex, NULL, 0, 0, NULL, 0), 0);
	ck_assert_int_eq(notify_parse(req, rlen, &in), 0);
	ck_assert(!in.has_serial);
	ck_assert_int_eq(notify_answer(&in, ans, sizeof(ans), &alen, RCODE_REFUSED, NULL, 0), 0);
	ck_assert_int_eq(notify_check_answer(ans, alen, 7, apex, NULL, 0, &rcode), ERR_REFUSED);
	ck_assert_uint_eq(rcode, RCODE_REFUSED);
	ck_assert_int_eq(notify_check_answer(ans, alen, 8, apex, NULL, 0, &rcode), ERR_MALFORMED);
	/* a query is not a NOTIFY; an answer is not a request */
	ck_assert_int_eq(refresh_request(req, sizeof(req), &rlen, 7, apex, NULL, 0), 0);
	ck_assert_int_eq(notify_parse(req, rlen, &in), ERR_MALFORMED);
	ck_assert_int_eq(notify_parse(ans, alen, &in), ERR_MALFORMED);
	ck_assert_int_eq(notify_parse(ans, 5, &in), ERR_MALFORMED);
}
END_TEST

/* An answer to an SOA query, written as a primary would. */
static size_t soa_answer(uint8_t *buf, uint16_t id, const uint8_t *apex,
			 uint16_t flags, unsigned rcode, bool with_soa)
{
	struct msg_writer w;
	msg_writer_init(&w, buf, 512, 512);
	msg_write_header(&w, id, msg_flags_set_rcode(MSG_FLAG_QR | flags, rcode));
	msg_write_question(&w, apex, RRTYPE_SOA, RRCLASS_IN);
	if (with_soa) {
		uint8_t soa[128];
		size_t n = make_soa(soa, 77);
		msg_write_rr(&w, MSG_ANSWER, apex, RRTYPE_SOA, RRCLASS_IN, 60, soa, n);
	}
	return msg_writer_len(&w);
}

START_TEST(refresh_answers)
{
	uint8_t apex[DNAME_MAXLEN], buf[512];
	dname_from_str(apex, "example.com.", 12, root);
	uint32_t serial = 0;
	unsigned rcode;
	size_t len = soa_answer(buf, 9, apex, MSG_FLAG_AA, 0, true);
	ck_assert_int_eq(refresh_check_answer(buf, len, 9, apex, NULL, 0, &serial, &rcode), 0);
	ck_assert_uint_eq(serial, 77);
	len = soa_answer(buf, 9, apex, MSG_FLAG_AA | MSG_FLAG_TC, 0, false);
	ck_assert_int_eq(refresh_check_answer(buf, len, 9, apex, NULL, 0, &serial, &rcode), 1);
	len = soa_answer(buf, 9, apex, 0, 0, true); /* lame: no AA */
	ck_assert_int_eq(refresh_check_answer(buf, len, 9, apex, NULL, 0, &serial, &rcode), ERR_REFUSED);
	len = soa_answer(buf, 9, apex, 0, RCODE_NOTAUTH, false);
	ck_assert_int_eq(refresh_check_answer(buf, len, 9, apex, NULL, 0, &serial, &rcode), ERR_REFUSED);
	ck_assert_uint_eq(rcode, RCODE_NOTAUTH);
	len = soa_answer(buf, 10, apex, MSG_FLAG_AA, 0, true);
	ck_assert_int_eq(refresh_check_answer(buf, len, 9, apex, NULL, 0, &serial, &rcode), ERR_MALFORMED);
	/* the key is required when we sign */
	struct tsig_key key;
	tsig_key_init(&key, "xfr.", "hmac-sha256", "c2VjcmV0c2VjcmV0");
	struct tsig_ctx ctx;
	tsig_ctx_init(&ctx, &key, NULL, 0);
	len = soa_answer(buf, 9, apex, MSG_FLAG_AA, 0, true);
	ck_assert_int_eq(refresh_check_answer(buf, len, 9, apex, &ctx, 0, &serial, &rcode), ERR_BADSIG);
	tsig_ctx_free(&ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, notify_roundtrip_signed);
	tcase_add_test(tc, refresh_answers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
