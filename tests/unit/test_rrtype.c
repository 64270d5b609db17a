/*
 * test_rrtype.c -- type and class mnemonics, rdata layouts.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "dns/rrtype.h"

/* ck_assert_msg that records nothing when it passes: Check logs every
 * passing assertion to a file, which dominates loops over 65536 types. */
#define expect(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

static bool layout_has(uint16_t type, int kind)
{
	for (const uint8_t *f = rrtype_layout(type); *f != RDF_END; f++)
		if (*f == kind)
			return true;
	return false;
}

static bool is_name_kind(int f)
{
	return f == RDF_NAME_COMPRESS || f == RDF_NAME_FOLD ||
	       f == RDF_NAME_PLAIN;
}

START_TEST(test_type_to_str)
{
	char buf[16];
	ck_assert_str_eq(rrtype_to_str(RRTYPE_A, buf), "A");
	ck_assert_str_eq(rrtype_to_str(RRTYPE_AAAA, buf), "AAAA");
	ck_assert_str_eq(rrtype_to_str(RRTYPE_NSAP_PTR, buf), "NSAP-PTR");
	ck_assert_str_eq(rrtype_to_str(RRTYPE_NSEC3PARAM, buf), "NSEC3PARAM");
	ck_assert_str_eq(rrtype_to_str(RRTYPE_DLV, buf), "DLV");
	ck_assert_str_eq(rrtype_to_str(RRTYPE_CAA, buf), "CAA");
	ck_assert_str_eq(rrtype_to_str(0, buf), "TYPE0");
	ck_assert_str_eq(rrtype_to_str(65280, buf), "TYPE65280");
	ck_assert_str_eq(rrtype_to_str(65535, buf), "TYPE65535");
	ck_assert_ptr_eq(rrtype_to_str(1, buf), buf);
}
END_TEST

START_TEST(test_type_from_str)
{
	uint16_t t = 0;
	ck_assert_int_eq(rrtype_from_str("A", &t), 0);
	ck_assert_uint_eq(t, RRTYPE_A);
	ck_assert_int_eq(rrtype_from_str("aaaa", &t), 0);
	ck_assert_uint_eq(t, RRTYPE_AAAA);
	ck_assert_int_eq(rrtype_from_str("NsEc3PaRaM", &t), 0);
	ck_assert_uint_eq(t, RRTYPE_NSEC3PARAM);
	ck_assert_int_eq(rrtype_from_str("nsap-ptr", &t), 0);
	ck_assert_uint_eq(t, RRTYPE_NSAP_PTR);
	/* RFC 3597 §5 generic form, also for known types. */
	ck_assert_int_eq(rrtype_from_str("TYPE1", &t), 0);
	ck_assert_uint_eq(t, RRTYPE_A);
	ck_assert_int_eq(rrtype_from_str("type65280", &t), 0);
	ck_assert_uint_eq(t, 65280);
	ck_assert_int_eq(rrtype_from_str("TYPE0", &t), 0);
	ck_assert_uint_eq(t, 0);
	ck_assert_int_eq(rrtype_from_str("TYPE65535", &t), 0);
	ck_assert_uint_eq(t, 65535);
}
END_TEST

START_TEST(test_type_from_str_bad)
{
	static const char *bad[] = {
	    "",		 "TYPE",
	    "TYPE65536", "TYPE-1",
	    "TYPE+1",	 "TYPE 1",
	    "TYPE1 ",	 "TYPE1x",
	    "TYPEx",	 "TYP1",
	    "A ",	 " A",
	    "AA",	 "TYPE99999999999999999999",
	    "CLASS1",	 "IN",
	    "NSAP_PTR",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t t = 4242;
		ck_assert_msg(rrtype_from_str(bad[i], &t) == ERR_SYNTAX,
			      "'%s' accepted", bad[i]);
	}
}
END_TEST

/* Every type number survives to_str -> from_str. */
START_TEST(test_type_round_trip_all)
{
	char buf[16];
	for (uint32_t v = 0; v <= 65535; v++) {
		uint16_t t = 0;
		rrtype_to_str((uint16_t)v, buf);
		expect(rrtype_from_str(buf, &t) == 0 && t == v, "'%s'", buf);
		/* The generic form always works too. */
		snprintf(buf, sizeof(buf), "TYPE%u", (unsigned)v);
		t = 0;
		expect(rrtype_from_str(buf, &t) == 0 && t == v, "'%s'", buf);
	}
}
END_TEST

START_TEST(test_class)
{
	char buf[16];
	uint16_t c = 0;
	ck_assert_str_eq(rrclass_to_str(RRCLASS_IN, buf), "IN");
	ck_assert_str_eq(rrclass_to_str(RRCLASS_CH, buf), "CH");
	ck_assert_str_eq(rrclass_to_str(RRCLASS_HS, buf), "HS");
	ck_assert_str_eq(rrclass_to_str(RRCLASS_NONE, buf), "NONE");
	ck_assert_str_eq(rrclass_to_str(RRCLASS_ANY, buf), "ANY");
	ck_assert_str_eq(rrclass_to_str(2, buf), "CLASS2");
	ck_assert_str_eq(rrclass_to_str(65535, buf), "CLASS65535");

	ck_assert_int_eq(rrclass_from_str("in", &c), 0);
	ck_assert_uint_eq(c, RRCLASS_IN);
	ck_assert_int_eq(rrclass_from_str("CHAOS", &c), 0);
	ck_assert_uint_eq(c, RRCLASS_CH);
	ck_assert_int_eq(rrclass_from_str("ch", &c), 0);
	ck_assert_uint_eq(c, RRCLASS_CH);
	ck_assert_int_eq(rrclass_from_str("CLASS1", &c), 0);
	ck_assert_uint_eq(c, RRCLASS_IN);
	ck_assert_int_eq(rrclass_from_str("class32769", &c), 0);
	ck_assert_uint_eq(c, 32769);

	static const char *bad[] = {"",	       "CLASS", "CLASS65536", "CLASS-1",
				    "CLASS1a", "TYPE1", "INN",	      "A"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rrclass_from_str(bad[i], &c) == ERR_SYNTAX,
			      "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_class_round_trip_all)
{
	char buf[16];
	for (uint32_t v = 0; v <= 65535; v++) {
		uint16_t c = 0;
		rrclass_to_str((uint16_t)v, buf);
		expect(rrclass_from_str(buf, &c) == 0 && c == v, "'%s'", buf);
	}
}
END_TEST

/* RFC 3597: unknown types are opaque. */
START_TEST(test_unknown_layout)
{
	static const uint16_t unknown[] = {0,	 54,	100,   244,  260,
					   4242, 32768, 65280, 65535};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const uint8_t *l = rrtype_layout(unknown[i]);
		ck_assert_ptr_nonnull(l);
		ck_assert_uint_eq(l[0], RDF_REMAINDER);
		ck_assert_uint_eq(l[1], RDF_END);
		ck_assert(!rrtype_has_names(unknown[i]));
	}
}
END_TEST

START_TEST(test_known_layouts)
{
	const uint8_t *l = rrtype_layout(RRTYPE_A);
	ck_assert_uint_eq(l[0], RDF_FIX4);
	ck_assert_uint_eq(l[1], RDF_END);
	l = rrtype_layout(RRTYPE_AAAA);
	ck_assert_uint_eq(l[0], RDF_FIX16);
	l = rrtype_layout(RRTYPE_MX);
	ck_assert_uint_eq(l[0], RDF_FIX2);
	ck_assert_uint_eq(l[1], RDF_NAME_COMPRESS);
	ck_assert_uint_eq(l[2], RDF_END);
	l = rrtype_layout(RRTYPE_SOA);
	ck_assert_uint_eq(l[0], RDF_NAME_COMPRESS);
	ck_assert_uint_eq(l[1], RDF_NAME_COMPRESS);
	for (int i = 2; i < 7; i++)
		ck_assert_uint_eq(l[i], RDF_FIX4);
	ck_assert_uint_eq(l[7], RDF_END);
	l = rrtype_layout(RRTYPE_SRV);
	ck_assert_uint_eq(l[3], RDF_NAME_FOLD);
	l = rrtype_layout(RRTYPE_NSEC);
	ck_assert_uint_eq(l[0], RDF_NAME_PLAIN);
	ck_assert_uint_eq(l[1], RDF_REMAINDER);
	l = rrtype_layout(RRTYPE_RRSIG);
	ck_assert_uint_eq(l[7], RDF_NAME_FOLD);
	ck_assert_uint_eq(l[8], RDF_REMAINDER);
	l = rrtype_layout(RRTYPE_TXT);
	ck_assert_uint_eq(l[0], RDF_STRINGS);
	ck_assert(rrtype_has_names(RRTYPE_NS));
	ck_assert(rrtype_has_names(RRTYPE_NSEC));
	ck_assert(rrtype_has_names(RRTYPE_SRV));
	ck_assert(!rrtype_has_names(RRTYPE_A));
	ck_assert(!rrtype_has_names(RRTYPE_TXT));
	ck_assert(!rrtype_has_names(RRTYPE_DNSKEY));
}
END_TEST

/* Every layout ends within RDATA_MAXFIELDS, and RDF_STRINGS or
 * RDF_REMAINDER, which run to the end, only come last. */
START_TEST(test_layouts_well_formed)
{
	for (uint32_t v = 0; v <= 65535; v++) {
		const uint8_t *l = rrtype_layout((uint16_t)v);
		int i = 0;
		while (i < RDATA_MAXFIELDS && l[i] != RDF_END) {
			expect(l[i] <= RDF_REMAINDER, "type %u", (unsigned)v);
			expect((l[i] != RDF_STRINGS && l[i] != RDF_REMAINDER) ||
				   l[i + 1] == RDF_END,
			       "type %u: open-ended field not last",
			       (unsigned)v);
			i++;
		}
		expect(i > 0 && i < RDATA_MAXFIELDS, "type %u", (unsigned)v);
	}
}
END_TEST

/* RFC 3597 §4: only the RFC 1035 types may have their rdata names
 * compressed. */
START_TEST(test_compressible_types)
{
	static const uint16_t rfc1035[] = {
	    RRTYPE_NS,	RRTYPE_MD,    RRTYPE_MF, RRTYPE_CNAME,
	    RRTYPE_SOA, RRTYPE_MB,    RRTYPE_MG, RRTYPE_MR,
	    RRTYPE_PTR, RRTYPE_MINFO, RRTYPE_MX,
	};
	for (uint32_t v = 0; v <= 65535; v++) {
		bool listed = false;
		for (size_t i = 0; i < sizeof(rfc1035) / sizeof(rfc1035[0]);
		     i++)
			listed = listed || rfc1035[i] == v;
		expect(layout_has((uint16_t)v, RDF_NAME_COMPRESS) == listed,
		       "type %u", (unsigned)v);
	}
}
END_TEST

/* RFC 4034 §6.2 as updated by RFC 6840 §5.1 (NSEC removed; A6 has no
 * name field here): the types whose rdata names are lowercased in
 * canonical form are exactly those with COMPRESS or FOLD names. */
START_TEST(test_canonical_lowercase_types)
{
	static const uint16_t lower[] = {
	    RRTYPE_NS,	  RRTYPE_MD,	RRTYPE_MF,  RRTYPE_CNAME,
	    RRTYPE_SOA,	  RRTYPE_MB,	RRTYPE_MG,  RRTYPE_MR,
	    RRTYPE_PTR,	  RRTYPE_MINFO, RRTYPE_MX,  RRTYPE_RP,
	    RRTYPE_AFSDB, RRTYPE_RT,	RRTYPE_SIG, RRTYPE_PX,
	    RRTYPE_NXT,	  RRTYPE_NAPTR, RRTYPE_KX,  RRTYPE_SRV,
	    RRTYPE_DNAME, RRTYPE_RRSIG,
	};
	for (uint32_t v = 0; v <= 65535; v++) {
		bool listed = false;
		for (size_t i = 0; i < sizeof(lower) / sizeof(lower[0]); i++)
			listed = listed || lower[i] == v;
		bool folds = layout_has((uint16_t)v, RDF_NAME_COMPRESS) ||
			     layout_has((uint16_t)v, RDF_NAME_FOLD);
		expect(folds == listed, "type %u", (unsigned)v);
	}
}
END_TEST

/* Names never compressed and never lowercased: NSEC (RFC 6840 §5.1),
 * NSAP-PTR (not in RFC 4034 §6.2), SVCB/HTTPS (RFC 9460 §2.2), LP,
 * TSIG/TKEY algorithm names. */
START_TEST(test_plain_name_types)
{
	static const uint16_t plain[] = {
	    RRTYPE_NSEC, RRTYPE_NSAP_PTR, RRTYPE_SVCB, RRTYPE_HTTPS,
	    RRTYPE_LP,	 RRTYPE_TSIG,	  RRTYPE_TKEY,
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		ck_assert(layout_has(plain[i], RDF_NAME_PLAIN));
		ck_assert(!layout_has(plain[i], RDF_NAME_COMPRESS));
		ck_assert(!layout_has(plain[i], RDF_NAME_FOLD));
	}
	const uint8_t *l = rrtype_layout(RRTYPE_NSAP_PTR);
	ck_assert_uint_eq(l[0], RDF_NAME_PLAIN);
	ck_assert_uint_eq(l[1], RDF_END);
}
END_TEST

START_TEST(test_has_names_matches_layout)
{
	for (uint32_t v = 0; v <= 65535; v++) {
		bool names = false;
		for (const uint8_t *f = rrtype_layout((uint16_t)v);
		     *f != RDF_END; f++)
			names = names || is_name_kind(*f);
		expect(rrtype_has_names((uint16_t)v) == names, "type %u",
		       (unsigned)v);
	}
}
END_TEST

START_TEST(test_meta_dnssec)
{
	static const uint16_t meta[] = {
	    RRTYPE_OPT,	 RRTYPE_TSIG,  RRTYPE_TKEY,  RRTYPE_IXFR,
	    RRTYPE_AXFR, RRTYPE_MAILA, RRTYPE_MAILB, RRTYPE_ANY,
	};
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		ck_assert(rrtype_is_meta(meta[i]));
	ck_assert(!rrtype_is_meta(RRTYPE_A));
	ck_assert(!rrtype_is_meta(RRTYPE_SOA));
	ck_assert(!rrtype_is_meta(RRTYPE_RRSIG));
	ck_assert(!rrtype_is_meta(65280));

	ck_assert(rrtype_is_dnssec(RRTYPE_RRSIG));
	ck_assert(rrtype_is_dnssec(RRTYPE_NSEC));
	ck_assert(!rrtype_is_dnssec(RRTYPE_DNSKEY));
	ck_assert(!rrtype_is_dnssec(RRTYPE_NSEC3));
	ck_assert(!rrtype_is_dnssec(RRTYPE_CNAME));
}
END_TEST

/* rrtype_compresses() is a mask: it must say what the layouts say. */
START_TEST(test_compresses_matches_layouts)
{
	for (uint32_t t = 0; t <= 0xFFFF; t++) {
		bool nc = false;
		for (const uint8_t *f = rrtype_layout((uint16_t)t); *f != RDF_END; f++)
			if (*f == RDF_NAME_COMPRESS)
				nc = true;
		ck_assert_msg(rrtype_compresses((uint16_t)t) == nc, "type %u", t);
	}
}
END_TEST

static Suite *rrtype_suite(void)
{
	Suite *s = suite_create("rrtype");
	/* The exhaustive loops over all 65536 numbers are slow under
	 * sanitizers: more than Check's default 4 seconds. */
	TCase *tc = tcase_create("mnemonics");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_type_to_str);
	tcase_add_test(tc, test_type_from_str);
	tcase_add_test(tc, test_type_from_str_bad);
	tcase_add_test(tc, test_type_round_trip_all);
	tcase_add_test(tc, test_class);
	tcase_add_test(tc, test_class_round_trip_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("layouts");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_unknown_layout);
	tcase_add_test(tc, test_known_layouts);
	tcase_add_test(tc, test_layouts_well_formed);
	tcase_add_test(tc, test_compressible_types);
	tcase_add_test(tc, test_canonical_lowercase_types);
	tcase_add_test(tc, test_plain_name_types);
	tcase_add_test(tc, test_has_names_matches_layout);
	tcase_add_test(tc, test_meta_dnssec);
	tcase_add_test(tc, test_compresses_matches_layouts);
	suite_add_tcase(s, tc);
	return s;
}


int main(void)
{
	SRunner *sr = srunner_create(rrtype_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
