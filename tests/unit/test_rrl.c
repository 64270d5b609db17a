/*
 * test_rrl.c -- response rate limiting buckets, slip and exemptions.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "server/rrl.h"

static struct sockaddr_in v4(const char *addr)
{
	struct sockaddr_in s = {.sin_family = AF_INET};
	ck_assert_int_eq(inet_pton(AF_INET, addr, &s.sin_addr), 1);
	return s;
}

#define SA(x) ((const struct sockaddr *)&(x))

static const uint8_t www[] = "\3www\7example\3com";
static const uint8_t apex[] = "\7example\3com";

START_TEST(test_rate_and_slip)
{
	struct rrl *t = rrl_new(10);
	struct rrl_conf c = {.rate = 5, .slip = 2, .ipv4_prefix = 24,
			     .ipv6_prefix = 56};
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.77"),
			   other = v4("198.51.100.1");
	uint32_t now = 1000;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, www, 1, 0,
					     now), RRL_SEND);
	/* Limited: every second one slips. The /24 shares the bucket. */
	ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, www, 1, 0, now),
			 RRL_DROP);
	ck_assert_int_eq(rrl_account(t, &c, SA(b), RRL_ANSWER, www, 1, 0, now),
			 RRL_SLIP);
	ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, www, 1, 0, now),
			 RRL_DROP);
	/* Another prefix, another name or type: buckets of their own. */
	ck_assert_int_eq(rrl_account(t, &c, SA(other), RRL_ANSWER, www, 1, 0,
				     now), RRL_SEND);
	ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, www, 28, 0, now),
			 RRL_SEND);
	ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, apex, 1, 0, now),
			 RRL_SEND);
	/* Names are compared without case. */
	static const uint8_t WWW[] = "\3WWW\7example\3COM";
	ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, WWW, 1, 0, now),
			 RRL_SLIP);
	/* The debt is a second's worth at most: two seconds later the
	 * bucket is full again. */
	now += 2;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(rrl_account(t, &c, SA(a), RRL_ANSWER, www, 1, 0,
					     now), RRL_SEND);
	ck_assert_int_ne(rrl_account(t, &c, SA(a), RRL_ANSWER, www, 1, 0, now),
			 RRL_SEND);
	rrl_free(t);
}
END_TEST

START_TEST(test_off_exempt_and_slip_settings)
{
	struct rrl *t = rrl_new(8);
	struct rrl_netblock nb;
	ck_assert_int_eq(rrl_netblock_parse(&nb, "192.0.2.0/25"), 0);
	struct rrl_conf c = {.rate = 1, .slip = 0, .ipv4_prefix = 32,
			     .ipv6_prefix = 64, .exempt = &nb, .nexempt = 1};
	struct sockaddr_in in = v4("192.0.2.100"), out = v4("192.0.2.200");
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(rrl_account(t, &c, SA(in), RRL_NXDOMAIN, apex, 1,
					     3, 5), RRL_SEND);
	ck_assert_int_eq(rrl_account(t, &c, SA(out), RRL_NXDOMAIN, apex, 1, 3, 5),
			 RRL_SEND);
	/* slip 0: limited responses are all dropped. */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(rrl_account(t, &c, SA(out), RRL_NXDOMAIN, apex,
					     1, 3, 5), RRL_DROP);
	ck_assert_int_eq(rrl_account(t, &c, SA(out), RRL_EXEMPT, apex, 1, 3, 5),
			 RRL_SEND);
	c.slip = 1;
	ck_assert_int_eq(rrl_account(t, &c, SA(out), RRL_NXDOMAIN, apex, 1, 3, 5),
			 RRL_SLIP);
	c.rate = 0; /* off */
	ck_assert_int_eq(rrl_account(t, &c, SA(out), RRL_NXDOMAIN, apex, 1, 3, 5),
			 RRL_SEND);
	/* IPv6 clients by their /64. */
	c.rate = 1;
	c.slip = 0;
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6}, s6b = s6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &s6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2::ffff", &s6b.sin6_addr);
	ck_assert_int_eq(rrl_account(t, &c, SA(s6), RRL_ERROR, NULL, 1, 5, 9),
			 RRL_SEND);
	ck_assert_int_eq(rrl_account(t, &c, SA(s6b), RRL_ERROR, NULL, 1, 5, 9),
			 RRL_DROP);
	rrl_free(t);
}
END_TEST

START_TEST(test_netblocks)
{
	struct rrl_netblock nb;
	ck_assert_int_eq(rrl_netblock_parse(&nb, "10.0.0.0/8"), 0);
	ck_assert_uint_eq(nb.prefix, 8);
	ck_assert_int_eq(rrl_netblock_parse(&nb, "2001:db8::/32"), 0);
	ck_assert_uint_eq(nb.family_len, 16);
	ck_assert_int_eq(rrl_netblock_parse(&nb, "192.0.2.1"), 0);
	ck_assert_uint_eq(nb.prefix, 32);
	static const char *bad[] = {"", "10.0.0.0/33", "::/129", "x", "1.2.3.4/",
				    "1.2.3.4/8x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(rrl_netblock_parse(&nb, bad[i]), ERR_SYNTAX);
}
END_TEST

START_TEST(test_truncate)
{
	uint8_t m[64] = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 2, 0, 1, 0, 1,
			 3, 'w', 'w', 'w', 0, 0, 1, 0, 1, 0xc0, 0x0c};
	size_t len = rrl_truncate(m, 40);
	ck_assert_uint_eq(len, 12 + 5 + 4);
	ck_assert(m[2] & (MSG_FLAG_TC >> 8));
	ck_assert(m[2] & 0x84); /* QR AA kept */
	ck_assert_uint_eq(m[7] + m[9] + m[11], 0);
	uint8_t noq[12] = {0};
	ck_assert_uint_eq(rrl_truncate(noq, 12), 0);
}
END_TEST

int main(void)
{
	if (sodium_init() < 0)
		return EXIT_FAILURE;
	Suite *s = suite_create("rrl");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_rate_and_slip);
	tcase_add_test(tc, test_off_exempt_and_slip_settings);
	tcase_add_test(tc, test_netblocks);
	tcase_add_test(tc, test_truncate);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
