/*
 * test_nsec3.c -- NSEC3 hashing against RFC 5155 Appendix A.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/nsec3.h"

/* RFC 5155 Appendix A: SHA-1, 12 iterations, salt aabbccdd. */
static const struct {
	const char *name, *hash;
} appendix_a[] = {
    {"example", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
    {"a.example", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
    {"ai.example", "gjeqe526plbf1g8mklp59enfd789njgi"},
    {"ns1.example", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
    {"ns2.example", "q04jkcevqvmu85r014c7dkba38o0ji5r"},
    {"w.example", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
    {"*.w.example", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
    {"x.w.example", "b4um86eghhds6nea196smvmlo4ors995"},
    {"y.w.example", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
    {"x.y.w.example", "2vptu5timamqttgl4luu9kg21e0aor3s"},
    {"xx.example", "t644ebqk9bibcna874givr6joj62mlhv"},
    /* Case does not matter: names are hashed in canonical form. */
    {"X.Y.W.Example", "2vptu5timamqttgl4luu9kg21e0aor3s"},
};

static struct nsec3_params appendix_params(void)
{
	struct nsec3_params p = {
	    .algorithm = NSEC3_HASH_SHA1, .iterations = 12, .salt_len = 4,
	    .salt = {0xaa, 0xbb, 0xcc, 0xdd},
	};
	return p;
}

static void name_of(uint8_t out[DNAME_MAXLEN], const char *s)
{
	ck_assert_int_gt(dname_from_str(out, s, strlen(s), (const uint8_t *)""),
			 0);
}

START_TEST(test_appendix_a)
{
	struct nsec3_params p = appendix_params();
	for (size_t i = 0; i < sizeof(appendix_a) / sizeof(appendix_a[0]);
	     i++) {
		uint8_t name[DNAME_MAXLEN], hash[NSEC3_HASH_LEN];
		char text[NSEC3_LABEL_LEN + 1];
		name_of(name, appendix_a[i].name);
		ck_assert_int_eq(nsec3_hash(hash, &p, name), 0);
		size_t n = nsec3_base32hex(text, hash, sizeof(hash));
		ck_assert_uint_eq(n, NSEC3_LABEL_LEN);
		text[n] = 0;
		ck_assert_str_eq(text, appendix_a[i].hash);
	}
}
END_TEST

START_TEST(test_owner)
{
	struct nsec3_params p = appendix_params();
	uint8_t name[DNAME_MAXLEN], apex[DNAME_MAXLEN], owner[DNAME_MAXLEN];
	name_of(name, "a.example.");
	name_of(apex, "example.");
	int len = nsec3_owner(owner, &p, name, apex);
	ck_assert_int_eq(len, 1 + 32 + 9);
	char text[DNAME_STRLEN];
	dname_to_str(text, sizeof(text), owner);
	ck_assert_str_eq(text, "35mthgpgcu1qg68fab165klnsnk3dpvl.example.");
}
END_TEST

/* No salt, no iterations: SHA-1 of the name itself (checked with
 * ldns-nsec3-hash -t 0 example). */
START_TEST(test_no_salt)
{
	struct nsec3_params p = {.algorithm = NSEC3_HASH_SHA1};
	uint8_t name[DNAME_MAXLEN], hash[NSEC3_HASH_LEN];
	char text[NSEC3_LABEL_LEN + 1];
	name_of(name, "example.");
	ck_assert_int_eq(nsec3_hash(hash, &p, name), 0);
	text[nsec3_base32hex(text, hash, sizeof(hash))] = 0;
	ck_assert_str_eq(text, "3msev9usmd4br9s97v51r2tdvmr9iqo1");
}
END_TEST

START_TEST(test_unknown_algorithm)
{
	struct nsec3_params p = appendix_params();
	p.algorithm = 2;
	uint8_t name[DNAME_MAXLEN], hash[NSEC3_HASH_LEN];
	name_of(name, "example.");
	ck_assert_int_eq(nsec3_hash(hash, &p, name), ERR_UNSUPPORTED);
}
END_TEST

/* RFC 4648 §10 test vectors for base32hex (padding left out). */
START_TEST(test_base32hex)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},	      {"f", "co"},	     {"fo", "cpng"},
	    {"foo", "cpnmu"}, {"foob", "cpnmuog"}, {"fooba", "cpnmuoj1"},
	    {"foobar", "cpnmuoj1e8"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char out[32];
		size_t n = nsec3_base32hex(out, (const uint8_t *)v[i].in,
					   strlen(v[i].in));
		out[n] = 0;
		ck_assert_str_eq(out, v[i].out);
	}
}
END_TEST

START_TEST(test_params)
{
	/* NSEC3: alg 1, flags 1 (opt-out), 12 iterations, salt aabbccdd,
	 * next hash of 20 octets, empty type bitmap. */
	uint8_t rdata[5 + 4 + 1 + 20];
	memset(rdata, 0, sizeof(rdata));
	rdata[0] = 1;
	rdata[1] = 1;
	rdata[3] = 12;
	rdata[4] = 4;
	memcpy(rdata + 5, "\xaa\xbb\xcc\xdd", 4);
	rdata[9] = 20;
	rdata[10] = 0x42;
	struct nsec3_params p, want = appendix_params();
	ck_assert_int_eq(nsec3_params_read(&p, rdata, sizeof(rdata)), 0);
	ck_assert_uint_eq(p.flags, NSEC3_FLAG_OPTOUT);
	ck_assert(nsec3_params_match(&want, rdata, sizeof(rdata)));
	uint8_t hlen;
	const uint8_t *next = nsec3_next_hash(rdata, sizeof(rdata), &hlen);
	ck_assert_ptr_nonnull(next);
	ck_assert_uint_eq(hlen, 20);
	ck_assert_uint_eq(next[0], 0x42);
	want.salt[3] = 0xde;
	ck_assert(!nsec3_params_match(&want, rdata, sizeof(rdata)));
	want = appendix_params();
	want.iterations = 11;
	ck_assert(!nsec3_params_match(&want, rdata, sizeof(rdata)));
	/* Too short: salt or next hash runs past the end. */
	ck_assert_int_eq(nsec3_params_read(&p, rdata, 7), ERR_MALFORMED);
	ck_assert_ptr_null(nsec3_next_hash(rdata, 15, &hlen));
	ck_assert(!nsec3_params_match(&want, rdata, 4));
}
END_TEST

static Suite *nsec3_suite(void)
{
	Suite *s = suite_create("nsec3");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_appendix_a);
	tcase_add_test(tc, test_owner);
	tcase_add_test(tc, test_no_salt);
	tcase_add_test(tc, test_unknown_algorithm);
	tcase_add_test(tc, test_base32hex);
	tcase_add_test(tc, test_params);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nsec3_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
