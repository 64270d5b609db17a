/*
 * test_dname.c -- domain names: presentation and wire forms, comparison,
 * and the helpers the zone lookup builds on.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"

/* Parses an absolute name (or fails the test). */
static int mk(uint8_t out[DNAME_MAXLEN], const char *str)
{
	int n = dname_from_str(out, str, strlen(str), NULL);
	ck_assert_msg(n > 0, "cannot parse '%s': %d", str, n);
	return n;
}

static int parse(uint8_t out[DNAME_MAXLEN], const char *str,
		 const uint8_t *origin)
{
	return dname_from_str(out, str, strlen(str), origin);
}

/* Presentation form of a wire name (or fails the test). */
static const char *str_of(const uint8_t *name, char buf[DNAME_STRLEN])
{
	int n = dname_to_str(buf, DNAME_STRLEN, name);
	ck_assert_int_ge(n, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	return buf;
}

/* Builds "x.x.x..." style strings: `labels` labels of `llen` 'a's. */
static void repeat_labels(char *out, int labels, int llen, bool absolute)
{
	size_t p = 0;
	for (int i = 0; i < labels; i++) {
		if (i > 0)
			out[p++] = '.';
		memset(out + p, 'a' + (i % 26), (size_t)llen);
		p += (size_t)llen;
	}
	if (absolute)
		out[p++] = '.';
	out[p] = '\0';
}

/*
 * Presentation to wire.
 */

START_TEST(test_from_str_basic)
{
	uint8_t n[DNAME_MAXLEN];
	ck_assert_int_eq(parse(n, "example.com.", NULL), 13);
	ck_assert_mem_eq(n, "\7example\3com\0", 13);
	ck_assert_int_eq(parse(n, "a.", NULL), 3);
	ck_assert_mem_eq(n, "\1a\0", 3);
	ck_assert_int_eq(parse(n, "WwW.Example.COM.", NULL), 17);
	ck_assert_mem_eq(n, "\3WwW\7Example\3COM\0", 17); /* case kept */
}
END_TEST

START_TEST(test_from_str_root)
{
	uint8_t n[DNAME_MAXLEN];
	uint8_t origin[DNAME_MAXLEN];
	mk(origin, "example.");
	ck_assert_int_eq(parse(n, ".", NULL), 1);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_int_eq(parse(n, ".", origin), 1); /* "." is absolute */
	ck_assert_uint_eq(n[0], 0);
}
END_TEST

START_TEST(test_from_str_origin)
{
	uint8_t n[DNAME_MAXLEN], origin[DNAME_MAXLEN], root[1] = {0};
	mk(origin, "example.com.");

	ck_assert_int_eq(parse(n, "@", origin), 13);
	ck_assert_mem_eq(n, "\7example\3com\0", 13);
	ck_assert_int_eq(parse(n, "@", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "@", root), 1);

	ck_assert_int_eq(parse(n, "www", origin), 17);
	ck_assert_mem_eq(n, "\3www\7example\3com\0", 17);
	ck_assert_int_eq(parse(n, "a.b", origin), 17);
	ck_assert_mem_eq(n, "\1a\1b\7example\3com\0", 17);
	ck_assert_int_eq(parse(n, "www", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "www", root), 5);
	ck_assert_mem_eq(n, "\3www\0", 5);

	/* An absolute name ignores the origin. */
	ck_assert_int_eq(parse(n, "www.", origin), 5);
	/* "@" is only special alone. */
	ck_assert_int_eq(parse(n, "@.", NULL), 3);
	ck_assert_mem_eq(n, "\1@\0", 3);
	ck_assert_int_eq(parse(n, "\\@", origin), 15);
	ck_assert_mem_eq(n, "\1@\7example", 10);
}
END_TEST

START_TEST(test_from_str_escapes)
{
	uint8_t n[DNAME_MAXLEN];
	/* \DDD: decimal octets, three digits. */
	ck_assert_int_eq(parse(n, "\\065.", NULL), 3);
	ck_assert_mem_eq(n, "\1A\0", 3);
	ck_assert_int_eq(parse(n, "\\000.", NULL), 3);
	ck_assert_mem_eq(n, "\1\0\0", 3);
	ck_assert_int_eq(parse(n, "\\255\\128.", NULL), 4);
	ck_assert_mem_eq(n, "\2\377\200\0", 4);
	ck_assert_int_eq(parse(n, "a\\0461.", NULL), 5); /* \046 then '1' */
	ck_assert_mem_eq(n, "\3a.1\0", 5);
	/* \X: the character itself. */
	ck_assert_int_eq(parse(n, "a\\.b.c.", NULL), 7);
	ck_assert_mem_eq(n, "\3a.b\1c\0", 7);
	ck_assert_int_eq(parse(n, "\\\\.", NULL), 3);
	ck_assert_mem_eq(n, "\1\\\0", 3);
	ck_assert_int_eq(parse(n, "\\ x.", NULL), 4);
	ck_assert_mem_eq(n, "\2 x\0", 4);
	ck_assert_int_eq(parse(n, "\\\"\\(\\)\\;\\$.", NULL), 7);
	ck_assert_mem_eq(n, "\5\"();$\0", 7);
	/* An escaped dot at the end does not make the name absolute. */
	uint8_t origin[DNAME_MAXLEN];
	mk(origin, "org.");
	ck_assert_int_eq(parse(n, "a\\.", origin), 8);
	ck_assert_mem_eq(n, "\2a.\3org\0", 8);
	/* An escaped backslash before a final dot: absolute. */
	ck_assert_int_eq(parse(n, "a\\\\.", origin), 4);
	ck_assert_mem_eq(n, "\2a\\\0", 4);
}
END_TEST

START_TEST(test_from_str_bad_escapes)
{
	uint8_t n[DNAME_MAXLEN];
	ck_assert_int_eq(parse(n, "\\256.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\999.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\1.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\12.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\12a.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\1", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\12", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "a\\", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "\\", NULL), ERR_SYNTAX);
}
END_TEST

START_TEST(test_from_str_empty_labels)
{
	uint8_t n[DNAME_MAXLEN];
	ck_assert_int_eq(parse(n, "", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "..", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "a..", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, "a..b.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, ".a.", NULL), ERR_SYNTAX);
	ck_assert_int_eq(parse(n, ".a", NULL), ERR_SYNTAX);
}
END_TEST

START_TEST(test_label_length)
{
	uint8_t n[DNAME_MAXLEN];
	char s[DNAME_STRLEN * 2];
	repeat_labels(s, 1, 63, true);
	ck_assert_int_eq(parse(n, s, NULL), 65);
	ck_assert_uint_eq(n[0], 63);
	repeat_labels(s, 1, 64, true);
	ck_assert_int_eq(parse(n, s, NULL), ERR_LABELLEN);
	repeat_labels(s, 1, 64, false);
	ck_assert_int_eq(parse(n, s, n), ERR_LABELLEN);
	/* A 64-octet label in the middle, too. */
	strcpy(s, "a.");
	repeat_labels(s + 2, 1, 64, false);
	strcat(s, ".b.");
	ck_assert_int_eq(parse(n, s, NULL), ERR_LABELLEN);

	/* Escapes count as one octet each: 63 x \097 is fine. */
	s[0] = '\0';
	for (int i = 0; i < 63; i++)
		strcat(s, "\\097");
	strcat(s, ".");
	ck_assert_int_eq(parse(n, s, NULL), 65);
	ck_assert_uint_eq(n[1], 'a');
	ck_assert_uint_eq(n[63], 'a');
	strcpy(s + strlen(s) - 1, "\\097.");
	ck_assert_int_eq(parse(n, s, NULL), ERR_LABELLEN);
}
END_TEST

START_TEST(test_name_length)
{
	uint8_t n[DNAME_MAXLEN];
	char s[DNAME_STRLEN * 2];
	/* 3 x 63 + 61: 3 * 64 + 62 + root = 255 octets. */
	repeat_labels(s, 3, 63, false);
	strcat(s, ".");
	memset(s + strlen(s), 'z', 61);
	s[3 * 64 + 61] = '.';
	s[3 * 64 + 62] = '\0';
	ck_assert_int_eq(parse(n, s, NULL), 255);
	ck_assert_int_eq(dname_check(n, 255), 255);
	/* One more octet: 256. */
	s[3 * 64 + 61] = 'z';
	s[3 * 64 + 62] = '.';
	s[3 * 64 + 63] = '\0';
	ck_assert_int_eq(parse(n, s, NULL), ERR_NAMELEN);
	/* 127 one-octet labels: 255 octets, the most labels a name has. */
	repeat_labels(s, 127, 1, true);
	ck_assert_int_eq(parse(n, s, NULL), 255);
	ck_assert_int_eq(dname_labels(n), DNAME_MAXLABELS);
	repeat_labels(s, 128, 1, true);
	ck_assert_int_eq(parse(n, s, NULL), ERR_NAMELEN);
	/* Relative names: the origin counts. */
	uint8_t origin[DNAME_MAXLEN];
	repeat_labels(s, 2, 63, true);
	ck_assert_int_eq(parse(origin, s, NULL), 129);
	repeat_labels(s, 1, 63, false);
	strcat(s, ".");
	memset(s + strlen(s), 'q', 61);
	s[64 + 61] = '\0';
	ck_assert_int_eq(parse(n, s, origin), 255); /* 64 + 62 + 129 */
	s[64 + 61] = 'q';
	s[64 + 62] = '\0';
	ck_assert_int_eq(parse(n, s, origin), ERR_NAMELEN);
}
END_TEST

/*
 * Wire to presentation.
 */

START_TEST(test_to_str)
{
	char buf[DNAME_STRLEN];
	uint8_t n[DNAME_MAXLEN];
	ck_assert_str_eq(str_of((const uint8_t *)"", buf), ".");
	ck_assert_str_eq(str_of((const uint8_t *)"\7example\3com", buf),
			 "example.com.");
	ck_assert_str_eq(str_of((const uint8_t *)"\3WwW\2Ex", buf), "WwW.Ex.");
	memcpy(n, "\5a.b\\c\0", 7);
	ck_assert_str_eq(str_of(n, buf), "a\\.b\\\\c.");
	memcpy(n, "\7\"();@$ \0", 9);
	ck_assert_str_eq(str_of(n, buf), "\\\"\\(\\)\\;\\@\\$\\032.");
	memcpy(n, "\4\0\37\177\377\0", 6);
	ck_assert_str_eq(str_of(n, buf), "\\000\\031\\127\\255.");
	memcpy(n, "\1*\3foo\0", 7);
	ck_assert_str_eq(str_of(n, buf), "*.foo.");
	memcpy(n, "\3a-b\3_x~\0", 9);
	ck_assert_str_eq(str_of(n, buf), "a-b._x~.");
}
END_TEST

START_TEST(test_to_str_space)
{
	char buf[64];
	const uint8_t *n = (const uint8_t *)"\3abc\2de";
	/* "abc.de." needs 7 characters and the NUL. */
	ck_assert_int_eq(dname_to_str(buf, 8, n), 7);
	ck_assert_str_eq(buf, "abc.de.");
	for (size_t len = 0; len < 8; len++)
		ck_assert_int_eq(dname_to_str(buf, len, n), ERR_SPACE);
	ck_assert_int_eq(dname_to_str(buf, 2, (const uint8_t *)""), 1);
	ck_assert_int_eq(dname_to_str(buf, 1, (const uint8_t *)""), ERR_SPACE);
	ck_assert_int_eq(dname_to_str(buf, 0, (const uint8_t *)""), ERR_SPACE);
	/* Escapes need their full width. */
	n = (const uint8_t *)"\1\001";
	ck_assert_int_eq(dname_to_str(buf, 6, n), 5);
	ck_assert_str_eq(buf, "\\001.");
	ck_assert_int_eq(dname_to_str(buf, 5, n), ERR_SPACE);
	n = (const uint8_t *)"\1.";
	ck_assert_int_eq(dname_to_str(buf, 4, n), 3);
	ck_assert_int_eq(dname_to_str(buf, 3, n), ERR_SPACE);
}
END_TEST

/* Every octet value survives wire -> text -> wire, and the longest
 * presentation form fits DNAME_STRLEN. */
START_TEST(test_round_trip_all_octets)
{
	uint8_t wire[DNAME_MAXLEN], back[DNAME_MAXLEN];
	char buf[DNAME_STRLEN];
	for (int start = 0; start < 256; start += 50) {
		size_t p = 0;
		int v = start;
		while (p + 64 + 1 <= DNAME_MAXLEN - 1) {
			wire[p] = 63;
			for (int i = 1; i <= 63; i++)
				wire[p + i] = (uint8_t)(v++ % 256);
			p += 64;
		}
		wire[p++] = 0;
		int slen = dname_to_str(buf, sizeof(buf), wire);
		ck_assert_int_gt(slen, 0);
		ck_assert_int_eq(dname_from_str(back, buf, (size_t)slen, NULL),
				 (int)p);
		ck_assert_mem_eq(back, wire, p);
	}
	/* Worst case: 255 octets, every label octet escaped as \DDD. */
	memset(wire, 0, sizeof(wire));
	for (size_t p = 0; p < 192; p += 64)
		wire[p] = 63;
	wire[192] = 61;
	wire[254] = 0;
	ck_assert_int_eq(dname_check(wire, sizeof(wire)), 255);
	int slen = dname_to_str(buf, sizeof(buf), wire);
	ck_assert_int_eq(slen, 250 * 4 + 4);
	ck_assert_int_eq(dname_from_str(back, buf, (size_t)slen, NULL), 255);
	ck_assert_mem_eq(back, wire, 255);
}
END_TEST

START_TEST(test_round_trip_strings)
{
	static const char *names[] = {
	    ".",
	    "a.",
	    "example.com.",
	    "WwW.ExAmPle.CoM.",
	    "*.wild.test.",
	    "a\\.b.c.",
	    "\\\\.",
	    "\\000.\\255.",
	    "sp\\032ace.",
	    "xn--bcher-kva.example.",
	    "_sip._tcp.example.",
	    "\\\"\\(\\)\\;\\@\\$.",
	};
	uint8_t n[DNAME_MAXLEN];
	char buf[DNAME_STRLEN];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		mk(n, names[i]);
		ck_assert_str_eq(str_of(n, buf), names[i]);
	}
}
END_TEST

/*
 * Wire validation and basic accessors.
 */

START_TEST(test_check)
{
	ck_assert_int_eq(dname_check((const uint8_t *)"", 1), 1);
	ck_assert_int_eq(dname_check((const uint8_t *)"\1a", 3), 3);
	ck_assert_int_eq(dname_check((const uint8_t *)"\1a\0zz", 5), 3);
	ck_assert_int_eq(dname_check((const uint8_t *)"", 0), ERR_TRUNCATED);
	ck_assert_int_eq(dname_check((const uint8_t *)"\1a", 2), ERR_TRUNCATED);
	ck_assert_int_eq(dname_check((const uint8_t *)"\5ab", 3),
			 ERR_TRUNCATED);
	ck_assert_int_eq(dname_check((const uint8_t *)"\100aaaa", 6),
			 ERR_BADLABEL);
	ck_assert_int_eq(dname_check((const uint8_t *)"\200aaaa", 6),
			 ERR_BADLABEL);
	ck_assert_int_eq(dname_check((const uint8_t *)"\1a\300\14", 4),
			 ERR_BADLABEL); /* no pointers here */

	uint8_t big[300];
	memset(big, 'x', sizeof(big));
	for (size_t p = 0; p < 256; p += 64)
		big[p] = 63;
	big[256] = 0;
	ck_assert_int_eq(dname_check(big, sizeof(big)), ERR_NAMELEN);
	big[192] = 61; /* 3 * 64 + 62 + 1 = 255 */
	big[254] = 0;
	ck_assert_int_eq(dname_check(big, sizeof(big)), 255);
	ck_assert_int_eq(dname_check(big, 254), ERR_TRUNCATED);
	big[192] = 62; /* 256 */
	big[254] = 'x';
	big[255] = 0;
	ck_assert_int_eq(dname_check(big, sizeof(big)), ERR_NAMELEN);
}
END_TEST

START_TEST(test_len_labels)
{
	uint8_t n[DNAME_MAXLEN];
	ck_assert_uint_eq(dname_len((const uint8_t *)""), 1);
	ck_assert_int_eq(dname_labels((const uint8_t *)""), 0);
	mk(n, "a.bc.def.");
	ck_assert_uint_eq(dname_len(n), 10);
	ck_assert_int_eq(dname_labels(n), 3);
}
END_TEST

START_TEST(test_lower)
{
	uint8_t n[DNAME_MAXLEN], out[DNAME_MAXLEN];
	memcpy(n, "\6AbC@[Z\2\301\332\0", 11); /* non-ASCII untouched */
	ck_assert_uint_eq(dname_copy_lower(out, n), 11);
	ck_assert_mem_eq(out, "\6abc@[z\2\301\332\0", 11);
	ck_assert_mem_eq(n, "\6AbC@[Z", 7); /* source untouched */
	dname_lower(n);
	ck_assert_mem_eq(n, out, 11);
	/* Every label is folded, up to the last one of a 255-octet name. */
	memset(n, 'Q', sizeof(n));
	for (size_t p = 0; p < 192; p += 64)
		n[p] = 63;
	n[192] = 61;
	n[254] = 0;
	dname_lower(n);
	ck_assert_uint_eq(n[1], 'q');
	ck_assert_uint_eq(n[253], 'q');
	ck_assert_uint_eq(n[192], 61);
}
END_TEST

START_TEST(test_equal)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	mk(a, "Example.COM.");
	mk(b, "eXAMPLE.com.");
	ck_assert(dname_equal(a, b));
	mk(b, "example.org.");
	ck_assert(!dname_equal(a, b));
	/* Same octets, different label boundaries. */
	mk(a, "ab.c.");
	mk(b, "a.bc.");
	ck_assert(!dname_equal(a, b));
	mk(a, "a.");
	mk(b, "a.a.");
	ck_assert(!dname_equal(a, b));
	ck_assert(dname_equal((const uint8_t *)"", (const uint8_t *)""));
	/* Only ASCII folds: 0xC1 and 0xE1 differ. */
	ck_assert(
	    !dname_equal((const uint8_t *)"\1\301", (const uint8_t *)"\1\341"));
	/* '@' (0x40) and '`' (0x60) differ by 0x20 but are not letters. */
	ck_assert(!dname_equal((const uint8_t *)"\1@", (const uint8_t *)"\1`"));
	ck_assert(!dname_equal((const uint8_t *)"\1[", (const uint8_t *)"\1{"));
	/* Labels of 4-7 and of 8 or more octets go a word at a time: the
	 * same rules in every position of the word, the last one too. */
	static const char *const eq[][2] = {
	    {"\5ab-Cd", "\5AB-cD"},
	    {"\7abcdefg", "\7ABCDEFG"},
	    {"\14abcdefghijkl", "\14ABCDEFGHIJKL"},
	    {"\20abcdefgh12345678", "\20ABCDEFGH12345678"},
	};
	static const char *const ne[][2] = {
	    {"\5ab@cd", "\5ab`cd"},   {"\5abcd[", "\5abcd{"},
	    {"\7\301bcdefg", "\7\341bcdefg"},
	    {"\14abcdefghijk@", "\14abcdefghijk`"},
	    {"\14@bcdefghijkl", "\14`bcdefghijkl"},
	    {"\11abcdefgh[", "\11ABCDEFGH{"},
	};
	for (size_t i = 0; i < sizeof(eq) / sizeof(eq[0]); i++)
		ck_assert_msg(dname_equal((const uint8_t *)eq[i][0],
					  (const uint8_t *)eq[i][1]),
			      "eq %zu", i);
	for (size_t i = 0; i < sizeof(ne) / sizeof(ne[0]); i++)
		ck_assert_msg(!dname_equal((const uint8_t *)ne[i][0],
					   (const uint8_t *)ne[i][1]),
			      "ne %zu", i);
}
END_TEST

/*
 * Canonical order, RFC 4034 §6.1.
 */

START_TEST(test_cmp_rfc4034)
{
	static const char *sorted[] = {
	    "example.",		"a.example.",	   "yljkjljk.a.example.",
	    "Z.a.example.",	"zABC.a.EXAMPLE.", "z.example.",
	    "\\001.z.example.", "*.z.example.",	   "\\200.z.example.",
	};
	const size_t count = sizeof(sorted) / sizeof(sorted[0]);
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	for (size_t i = 0; i < count; i++) {
		mk(a, sorted[i]);
		ck_assert_int_eq(dname_cmp(a, a), 0);
		for (size_t j = 0; j < count; j++) {
			mk(b, sorted[j]);
			int c = dname_cmp(a, b);
			if (i < j)
				ck_assert_msg(c < 0, "%s < %s", sorted[i],
					      sorted[j]);
			else if (i > j)
				ck_assert_msg(c > 0, "%s > %s", sorted[i],
					      sorted[j]);
			else
				ck_assert_int_eq(c, 0);
		}
	}
}
END_TEST

START_TEST(test_cmp_more)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	/* Case does not matter. */
	mk(a, "FOO.example.");
	mk(b, "foo.EXAMPLE.");
	ck_assert_int_eq(dname_cmp(a, b), 0);
	/* The root sorts first; a parent before its children. */
	ck_assert_int_lt(dname_cmp((const uint8_t *)"", b), 0);
	ck_assert_int_gt(dname_cmp(b, (const uint8_t *)""), 0);
	mk(a, "example.");
	ck_assert_int_lt(dname_cmp(a, b), 0);
	/* Labels compare as left-justified octet strings: a prefix first. */
	mk(a, "ab.example.");
	mk(b, "abc.example.");
	ck_assert_int_lt(dname_cmp(a, b), 0);
	/* The rightmost label decides first. */
	mk(a, "z.a.");
	mk(b, "a.b.");
	ck_assert_int_lt(dname_cmp(a, b), 0);
	/* Octets compare unsigned; letters as lowercase ('_' 0x5F sorts
	 * before 'a' 0x61 though 'A' is 0x41). */
	mk(a, "_x.");
	mk(b, "A.");
	ck_assert_int_lt(dname_cmp(a, b), 0);
	mk(a, "\\255.");
	mk(b, "z.");
	ck_assert_int_gt(dname_cmp(a, b), 0);
	/* Deepest names: 127 labels. */
	char s[DNAME_STRLEN];
	uint8_t c[DNAME_MAXLEN];
	char *p = s;
	for (int i = 0; i < 127; i++) {
		*p++ = 'a';
		*p++ = '.';
	}
	*p = '\0';
	mk(c, s);
	ck_assert_int_eq(dname_cmp(c, c), 0);
	s[0] = 'b';
	mk(a, s);
	ck_assert_int_lt(dname_cmp(c, a), 0);
}
END_TEST

/*
 * Name relations and wildcards.
 */

START_TEST(test_subdomain)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	mk(a, "www.Example.com.");
	mk(b, "example.COM.");
	ck_assert(dname_is_subdomain(a, b));
	ck_assert(!dname_is_subdomain(b, a));
	ck_assert(dname_is_subdomain(b, b));
	ck_assert(dname_is_subdomain(a, (const uint8_t *)""));
	ck_assert(dname_is_subdomain((const uint8_t *)"", (const uint8_t *)""));
	ck_assert(!dname_is_subdomain((const uint8_t *)"", b));
	/* Label boundaries matter: xexample.com is not under example.com. */
	mk(a, "xexample.com.");
	ck_assert(!dname_is_subdomain(a, b));
	mk(a, "example.com.org.");
	ck_assert(!dname_is_subdomain(a, b));
}
END_TEST

START_TEST(test_parent_strip)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	mk(a, "a.b.c.");
	mk(b, "b.c.");
	ck_assert_mem_eq(dname_parent(a), b, 5);
	ck_assert_ptr_eq(dname_parent(a), a + 2);
	ck_assert_ptr_eq(dname_strip(a, 0), a);
	ck_assert_ptr_eq(dname_strip(a, 2), a + 4);
	ck_assert_ptr_eq(dname_strip(a, 3), a + 6);
	ck_assert_ptr_eq(dname_strip(a, 10), a + 6); /* stops at root */
	const uint8_t *root = (const uint8_t *)"";
	ck_assert_ptr_eq(dname_parent(root), root);
}
END_TEST

START_TEST(test_common_labels)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	mk(a, "a.b.Example.com.");
	mk(b, "c.B.example.COM.");
	ck_assert_int_eq(dname_common_labels(a, b), 3);
	ck_assert_int_eq(dname_common_labels(a, a), 4);
	mk(b, "example.net.");
	ck_assert_int_eq(dname_common_labels(a, b), 0);
	ck_assert_int_eq(dname_common_labels(a, (const uint8_t *)""), 0);
	mk(b, "com.");
	ck_assert_int_eq(dname_common_labels(a, b), 1);
	mk(b, "xcom.");
	ck_assert_int_eq(dname_common_labels(a, b), 0);
}
END_TEST

START_TEST(test_wildcard)
{
	uint8_t a[DNAME_MAXLEN], w[DNAME_MAXLEN];
	mk(a, "*.example.");
	ck_assert(dname_is_wildcard(a));
	mk(a, "\\042.example."); /* '*' escaped is still '*' on the wire */
	ck_assert(dname_is_wildcard(a));
	mk(a, "a*.example.");
	ck_assert(!dname_is_wildcard(a));
	mk(a, "*a.example.");
	ck_assert(!dname_is_wildcard(a));
	mk(a, "a.*.example.");
	ck_assert(!dname_is_wildcard(a));
	ck_assert(!dname_is_wildcard((const uint8_t *)""));

	mk(a, "Example.com.");
	ck_assert_int_eq(dname_wildcard_of(w, a), 15);
	ck_assert_mem_eq(w, "\1*\7Example\3com\0", 15);
	ck_assert_int_eq(dname_wildcard_of(w, (const uint8_t *)""), 3);
	ck_assert_mem_eq(w, "\1*\0", 3);

	/* 253 octets + 2 = 255: fits; 254 + 2: does not. */
	char s[DNAME_STRLEN];
	repeat_labels(s, 3, 63, false);
	strcat(s, ".");
	memset(s + strlen(s), 'z', 59);
	strcpy(s + 3 * 64 + 59, ".");
	ck_assert_int_eq(mk(a, s), 253);
	ck_assert_int_eq(dname_wildcard_of(w, a), 255);
	ck_assert_int_eq(dname_check(w, 255), 255);
	strcpy(s + 3 * 64 + 59, "z.");
	ck_assert_int_eq(mk(a, s), 254);
	ck_assert_int_eq(dname_wildcard_of(w, a), ERR_NAMELEN);
}
END_TEST

START_TEST(test_replace_suffix)
{
	uint8_t name[DNAME_MAXLEN], old[DNAME_MAXLEN], new[DNAME_MAXLEN];
	uint8_t out[DNAME_MAXLEN], want[DNAME_MAXLEN];
	char buf[DNAME_STRLEN];

	mk(name, "www.sub.Example.com.");
	mk(old, "example.com.");
	mk(new, "example.net.");
	int n = dname_replace_suffix(out, name, old, new);
	ck_assert_int_eq(n, mk(want, "www.sub.example.net."));
	ck_assert_str_eq(str_of(out, buf), "www.sub.example.net.");

	/* The whole name is the suffix. */
	n = dname_replace_suffix(out, old, old, new);
	ck_assert_int_eq(n, 13);
	ck_assert_mem_eq(out, new, 13);

	/* Replacing with the root, and the root suffix. */
	n = dname_replace_suffix(out, name, old, (const uint8_t *)"");
	ck_assert_int_eq(n, 9);
	ck_assert_str_eq(str_of(out, buf), "www.sub.");
	n = dname_replace_suffix(out, name, (const uint8_t *)"", new);
	ck_assert_str_eq(str_of(out, buf), "www.sub.Example.com.example.net.");

	/* Old suffix longer than the name. */
	ck_assert_int_eq(dname_replace_suffix(out, old, name, new), ERR_INVAL);

	/* In place. */
	memcpy(out, name, dname_len(name));
	n = dname_replace_suffix(out, out, old, new);
	ck_assert_str_eq(str_of(out, buf), "www.sub.example.net.");

	/* Too long: the YXDOMAIN case of RFC 6672. */
	char s[DNAME_STRLEN];
	repeat_labels(s, 3, 63, true);
	mk(new, s);
	ck_assert_int_eq(dname_len(new), 193);
	/* A 63-octet label in front: 64 + 193 = 257. */
	repeat_labels(s, 1, 63, false);
	strcat(s, ".example.com.");
	mk(name, s);
	ck_assert_int_eq(dname_replace_suffix(out, name, old, new),
			 ERR_NAMELEN);
	/* ...while a 61-octet one gives exactly 255. */
	repeat_labels(s, 1, 61, false);
	strcat(s, ".example.com.");
	mk(name, s);
	ck_assert_int_eq(dname_replace_suffix(out, name, old, new), 255);
	ck_assert_int_eq(dname_check(out, 255), 255);
	repeat_labels(s, 1, 62, false);
	strcat(s, ".example.com.");
	mk(name, s);
	ck_assert_int_eq(dname_replace_suffix(out, name, old, new),
			 ERR_NAMELEN);
}
END_TEST

static Suite *dname_suite(void)
{
	Suite *s = suite_create("dname");
	TCase *tc = tcase_create("text");
	tcase_add_test(tc, test_from_str_basic);
	tcase_add_test(tc, test_from_str_root);
	tcase_add_test(tc, test_from_str_origin);
	tcase_add_test(tc, test_from_str_escapes);
	tcase_add_test(tc, test_from_str_bad_escapes);
	tcase_add_test(tc, test_from_str_empty_labels);
	tcase_add_test(tc, test_label_length);
	tcase_add_test(tc, test_name_length);
	tcase_add_test(tc, test_to_str);
	tcase_add_test(tc, test_to_str_space);
	tcase_add_test(tc, test_round_trip_all_octets);
	tcase_add_test(tc, test_round_trip_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("wire");
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_len_labels);
	tcase_add_test(tc, test_lower);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("relations");
	tcase_add_test(tc, test_cmp_rfc4034);
	tcase_add_test(tc, test_cmp_more);
	tcase_add_test(tc, test_subdomain);
	tcase_add_test(tc, test_parent_strip);
	tcase_add_test(tc, test_common_labels);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_replace_suffix);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dname_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
