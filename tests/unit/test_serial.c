/*
 * test_serial.c -- RFC 1982 serial number arithmetic.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "dns/serial.h"

START_TEST(test_equal)
{
	ck_assert_int_eq(serial_cmp(0, 0), 0);
	ck_assert_int_eq(serial_cmp(1, 1), 0);
	ck_assert_int_eq(serial_cmp(0x80000000u, 0x80000000u), 0);
	ck_assert_int_eq(serial_cmp(0xFFFFFFFFu, 0xFFFFFFFFu), 0);
	ck_assert_int_eq(serial_cmp(2024010101u, 2024010101u), 0);
}
END_TEST

START_TEST(test_simple_order)
{
	ck_assert_int_eq(serial_cmp(1, 0), 1);
	ck_assert_int_eq(serial_cmp(0, 1), -1);
	ck_assert_int_eq(serial_cmp(2024010102u, 2024010101u), 1);
	ck_assert_int_eq(serial_cmp(2024010101u, 2024010102u), -1);
	ck_assert_int_eq(serial_cmp(1000, 44), 1);
}
END_TEST

/* RFC 1982 §3.2: i1 > i2 when i1 - i2 is in (0, 2^31) modulo 2^32. */
START_TEST(test_wraparound)
{
	ck_assert_int_eq(serial_cmp(0, 0xFFFFFFFFu), 1);
	ck_assert_int_eq(serial_cmp(0xFFFFFFFFu, 0), -1);
	ck_assert_int_eq(serial_cmp(5, 0xFFFFFFF0u), 1);
	ck_assert_int_eq(serial_cmp(0xFFFFFFF0u, 5), -1);
	ck_assert_int_eq(serial_cmp(0x7FFFFFFFu, 0), 1);
	ck_assert_int_eq(serial_cmp(0, 0x7FFFFFFFu), -1);
	/* 0 is 2^31 - 1 ahead of 0x80000001. */
	ck_assert_int_eq(serial_cmp(0, 0x80000001u), 1);
	ck_assert_int_eq(serial_cmp(0x80000001u, 0), -1);
	ck_assert_int_eq(serial_cmp(0x80000000u, 1), 1);
	ck_assert_int_eq(serial_cmp(1, 0x80000000u), -1);
	ck_assert_int_eq(serial_cmp(0xFFFFFFFFu, 0x80000000u), 1);
	ck_assert_int_eq(serial_cmp(0x80000000u, 0xFFFFFFFFu), -1);
}
END_TEST

/* RFC 1982 §3.2: exactly 2^31 apart the comparison is undefined. */
START_TEST(test_undefined)
{
	static const uint32_t pairs[][2] = {
	    {0, 0x80000000u},
	    {1, 0x80000001u},
	    {0x7FFFFFFFu, 0xFFFFFFFFu},
	    {1234567u, 1234567u + 0x80000000u},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		ck_assert_int_eq(serial_cmp(pairs[i][0], pairs[i][1]),
				 SERIAL_UNDEFINED);
		ck_assert_int_eq(serial_cmp(pairs[i][1], pairs[i][0]),
				 SERIAL_UNDEFINED);
	}
	/* Distinct from the defined results; never "newer" either way. */
	ck_assert_int_ne(SERIAL_UNDEFINED, -1);
	ck_assert_int_ne(SERIAL_UNDEFINED, 0);
	ck_assert_int_ne(SERIAL_UNDEFINED, 1);
	ck_assert(!(serial_cmp(0, 0x80000000u) > 0));
	ck_assert(!(serial_cmp(0x80000000u, 0) > 0));
}
END_TEST

/* The ends of the defined range on both sides of the undefined point. */
START_TEST(test_around_half)
{
	uint32_t base = 0xDEADBEEFu;
	ck_assert_int_eq(serial_cmp(base + 0x7FFFFFFFu, base), 1);
	ck_assert_int_eq(serial_cmp(base + 0x80000000u, base),
			 SERIAL_UNDEFINED);
	ck_assert_int_eq(serial_cmp(base + 0x80000001u, base), -1);
}
END_TEST

static uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Antisymmetry and the ordering rule, on many pseudo-random pairs. */
START_TEST(test_antisymmetry)
{
	uint32_t state = 0x12345678u;
	int undefined = 0;
	for (int i = 0; i < 100000; i++) {
		uint32_t a = xorshift32(&state), b = xorshift32(&state);
		if (i % 7 == 0)
			b = a + (xorshift32(&state) % 5) - 2;
		if (i % 11 == 0)
			b = a + 0x80000000u + (xorshift32(&state) % 3) - 1;
		int ab = serial_cmp(a, b), ba = serial_cmp(b, a);
		uint32_t d = a - b;
		int want = d == 0	      ? 0
			   : d == 0x80000000u ? SERIAL_UNDEFINED
			   : d < 0x80000000u  ? 1
					      : -1;
		/* Checked by hand: Check logs every passing ck_assert. */
		if (ab != want)
			ck_abort_msg("cmp(%u, %u) = %d", a, b, ab);
		if (ba != (want == SERIAL_UNDEFINED ? want : -want))
			ck_abort_msg("cmp(%u, %u) = %d", b, a, ba);
		undefined += ab == SERIAL_UNDEFINED;
	}
	ck_assert_int_gt(undefined, 1000);
}
END_TEST

START_TEST(test_add)
{
	ck_assert_uint_eq(serial_add(0, 1), 1);
	ck_assert_uint_eq(serial_add(41, 1), 42);
	ck_assert_uint_eq(serial_add(0xFFFFFFFFu, 1), 0);
	ck_assert_uint_eq(serial_add(0xFFFFFFF0u, 0x20), 0x10);
	ck_assert_uint_eq(serial_add(7, 0), 7);
	ck_assert_uint_eq(serial_add(0, SERIAL_MAXADD), 0x7FFFFFFFu);
	ck_assert_uint_eq(serial_add(0x80000000u, SERIAL_MAXADD), 0xFFFFFFFFu);
}
END_TEST

/* RFC 1982 §3.1: s + n > s for every n in [1, 2^31 - 1]. */
START_TEST(test_add_is_greater)
{
	static const uint32_t bases[] = {0,	      1,	   0x7FFFFFFFu,
					 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu,
					 2024010101u};
	static const uint32_t steps[] = {
	    1, 2, 1000, 0x3FFFFFFFu, 0x7FFFFFFEu, SERIAL_MAXADD};
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
			ck_assert_int_eq(
			    serial_cmp(serial_add(bases[i], steps[j]),
				       bases[i]),
			    1);
}
END_TEST

/* An out-of-range increment is clamped, never wraps to "older". */
START_TEST(test_add_clamped)
{
	ck_assert_uint_eq(serial_add(0, 0x80000000u), SERIAL_MAXADD);
	ck_assert_uint_eq(serial_add(10, 0xFFFFFFFFu), 10 + SERIAL_MAXADD);
	ck_assert_int_eq(serial_cmp(serial_add(5, 0xFFFFFFFFu), 5), 1);
}
END_TEST

/* A secondary following a primary that increments across the wrap. */
START_TEST(test_sequence_across_wrap)
{
	uint32_t s = 0xFFFFFF00u;
	for (int i = 0; i < 1000; i++) {
		uint32_t next = serial_add(s, 3);
		ck_assert_int_eq(serial_cmp(next, s), 1);
		ck_assert_int_eq(serial_cmp(s, next), -1);
		s = next;
	}
	ck_assert_uint_lt(s, 0x1000u);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_equal);
	tcase_add_test(tc, test_simple_order);
	tcase_add_test(tc, test_wraparound);
	tcase_add_test(tc, test_undefined);
	tcase_add_test(tc, test_around_half);
	tcase_add_test(tc, test_antisymmetry);
	tcase_add_test(tc, test_add);
	tcase_add_test(tc, test_add_is_greater);
	tcase_add_test(tc, test_add_clamped);
	tcase_add_test(tc, test_sequence_across_wrap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(serial_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
