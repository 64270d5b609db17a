/*
 * test_acl.c -- address prefixes and keys.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "dns/error.h"
#include "xfr/acl.h"

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	return ss;
}

START_TEST(parse)
{
	struct acl_entry e;
	ck_assert_int_eq(acl_parse("192.0.2.0/24", &e), 0);
	ck_assert_int_eq(e.prefix, 24);
	ck_assert_int_eq(acl_parse("192.0.2.7", &e), 0);
	ck_assert_int_eq(e.prefix, 32);
	ck_assert_int_eq(acl_parse("2001:db8::/32", &e), 0);
	ck_assert_int_eq(e.family, AF_INET6);
	ck_assert_int_eq(acl_parse("::1", &e), 0);
	ck_assert_int_eq(e.prefix, 128);
	const char *bad[] = { "192.0.2.0/33", "example.com", "1.2.3.4/", "1.2.3.4/x",
			      "::/129", "", "1.2.3.4/-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(acl_parse(bad[i], &e), ERR_SYNTAX);
}
END_TEST

START_TEST(matching)
{
	struct tsig_key k1, k2;
	tsig_key_init(&k1, "k1.", "hmac-sha256", "c2VjcmV0");
	tsig_key_init(&k2, "k2.", "hmac-sha256", "c2VjcmV0");
	struct acl_entry acl[3];
	acl_parse("192.0.2.0/25", &acl[0]);
	acl[0].key = &k1;
	acl_parse("198.51.100.1", &acl[1]);
	acl[1].key = NULL; /* key NONE */
	acl_parse("2001:db8::/48", &acl[2]);
	acl[2].key = &k2;
	struct {
		const char *from;
		const struct tsig_key *key;
		bool allowed;
	} cases[] = {
		{ "192.0.2.1", &k1, true },
		{ "192.0.2.127", &k1, true },
		{ "192.0.2.128", &k1, false },   /* outside the /25 */
		{ "192.0.2.1", NULL, false },    /* unsigned where a key is named */
		{ "192.0.2.1", &k2, false },     /* the other key */
		{ "198.51.100.1", NULL, true },
		{ "198.51.100.1", &k2, true },
		{ "198.51.100.2", NULL, false },
		{ "2001:db8:0:1::5", &k2, true },
		{ "2001:db8:1::5", &k2, false },
		{ "::ffff:192.0.2.5", &k1, true }, /* v4-mapped */
		{ "::1", NULL, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss = addr(cases[i].from);
		ck_assert_msg(acl_allows(acl, 3, (struct sockaddr *)&ss, cases[i].key) ==
				      cases[i].allowed, "case %zu (%s)", i, cases[i].from);
	}
	struct sockaddr_storage ss = addr("192.0.2.1");
	ck_assert(!acl_allows(acl, 0, (struct sockaddr *)&ss, &k1)); /* no lines */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parse);
	tcase_add_test(tc, matching);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
