/*
 * test_cookie.c -- DNS Cookies against the RFC 9018 Appendix A vectors.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dns/cookie.h"

static void unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static uint8_t secret[COOKIE_SECRET_LEN], client[COOKIE_CLIENT_LEN];
static const uint8_t ip4[4] = {198, 51, 100, 100};

static void setup(void)
{
	unhex(secret, "e5e973e5a6b2a43f48e7dc849e37bfcf");
	unhex(client, "2464c4abcf10c957");
}

/* A.1: a server cookie made at 1559731985 for 198.51.100.100. */
START_TEST(test_a1_learning)
{
	uint8_t got[COOKIE_SERVER_LEN], want[COOKIE_SERVER_LEN];
	cookie_make(got, client, secret, 1559731985u, ip4, sizeof(ip4));
	unhex(want, "010000005cf79f111f8130c3eee29480");
	ck_assert_mem_eq(got, want, COOKIE_SERVER_LEN);
}
END_TEST

/* A.2: the same cookie 40 minutes later is valid but renewed; the new one
 * is the published one. */
START_TEST(test_a2_renewed)
{
	uint8_t a1[COOKIE_SERVER_LEN], got[COOKIE_SERVER_LEN];
	uint8_t want[COOKIE_SERVER_LEN];
	unhex(a1, "010000005cf79f111f8130c3eee29480");
	ck_assert_int_eq(cookie_check(a1, sizeof(a1), client, &secret, 1,
				      1559734385u, ip4, sizeof(ip4)),
			 COOKIE_RENEW);
	cookie_make(got, client, secret, 1559734385u, ip4, sizeof(ip4));
	unhex(want, "010000005cf7a871d4a564a1442aca77");
	ck_assert_mem_eq(got, want, COOKIE_SERVER_LEN);
	/* Ten minutes after it was made: simply valid. */
	ck_assert_int_eq(cookie_check(a1, sizeof(a1), client, &secret, 1,
				      1559731985u + 600, ip4, sizeof(ip4)),
			 COOKIE_VALID);
}
END_TEST

/* Stale, early, another client, another address, another secret, a bad
 * version or length: all invalid. */
START_TEST(test_invalid)
{
	uint8_t c[COOKIE_SERVER_LEN];
	uint32_t t = 1559731985u;
	cookie_make(c, client, secret, t, ip4, sizeof(ip4));
	ck_assert_int_eq(cookie_check(c, sizeof(c), client, &secret, 1,
				      t + 3601, ip4, 4), COOKIE_INVALID);
	ck_assert_int_eq(cookie_check(c, sizeof(c), client, &secret, 1,
				      t - 301, ip4, 4), COOKIE_INVALID);
	ck_assert_int_eq(cookie_check(c, sizeof(c), client, &secret, 1,
				      t - 299, ip4, 4), COOKIE_VALID);
	uint8_t other_client[COOKIE_CLIENT_LEN];
	memcpy(other_client, client, sizeof(client));
	other_client[0] ^= 1;
	ck_assert_int_eq(cookie_check(c, sizeof(c), other_client, &secret, 1,
				      t, ip4, 4), COOKIE_INVALID);
	const uint8_t ip4b[4] = {198, 51, 100, 101};
	ck_assert_int_eq(cookie_check(c, sizeof(c), client, &secret, 1, t,
				      ip4b, 4), COOKIE_INVALID);
	uint8_t other[COOKIE_SECRET_LEN];
	memcpy(other, secret, sizeof(other));
	other[15] ^= 0x80;
	ck_assert_int_eq(cookie_check(c, sizeof(c), client, &other, 1, t, ip4,
				      4), COOKIE_INVALID);
	ck_assert_int_eq(cookie_check(c, 15, client, &secret, 1, t, ip4, 4),
			 COOKIE_INVALID);
	c[0] = 2;
	ck_assert_int_eq(cookie_check(c, sizeof(c), client, &secret, 1, t,
				      ip4, 4), COOKIE_INVALID);
}
END_TEST

/* Rotation: a cookie made with the old secret is still valid while that
 * secret is listed after the new one. */
START_TEST(test_rotation)
{
	uint8_t secrets[2][COOKIE_SECRET_LEN];
	randombytes_buf(secrets[0], COOKIE_SECRET_LEN);
	memcpy(secrets[1], secret, COOKIE_SECRET_LEN);
	uint8_t c[COOKIE_SERVER_LEN];
	const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	cookie_make(c, client, secret, 1000000, ip6, sizeof(ip6));
	ck_assert_int_eq(cookie_check(c, sizeof(c), client,
				      (const uint8_t (*)[COOKIE_SECRET_LEN])secrets,
				      2, 1000010, ip6, sizeof(ip6)),
			 COOKIE_VALID);
	ck_assert_int_eq(cookie_check(c, sizeof(c), client,
				      (const uint8_t (*)[COOKIE_SECRET_LEN])secrets,
				      1, 1000010, ip6, sizeof(ip6)),
			 COOKIE_INVALID);
}
END_TEST

START_TEST(test_kinds)
{
	ck_assert_int_eq(cookie_kind(8), COOKIE_CLIENT_ONLY);
	ck_assert_int_eq(cookie_kind(16), COOKIE_WITH_SERVER);
	ck_assert_int_eq(cookie_kind(40), COOKIE_WITH_SERVER);
	static const size_t bad[] = {0, 1, 7, 9, 15, 41, 100};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(cookie_kind(bad[i]), COOKIE_MALFORMED);
}
END_TEST

int main(void)
{
	if (sodium_init() < 0)
		return EXIT_FAILURE;
	Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_a1_learning);
	tcase_add_test(tc, test_a2_renewed);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_kinds);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
