/*
 * dname.h -- domain names in uncompressed wire form.
 *
 * A name is a sequence of length-prefixed labels ending with the root label
 * (a zero octet), at most 255 octets in all (RFC 1035 §3.1). Functions that
 * take a `const uint8_t *name` expect a name already validated (by
 * dname_from_str, dname_check or the message reader); nothing here reads
 * from the network directly.
 */
#ifndef TANDEM_DNS_DNAME_H
#define TANDEM_DNS_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DNAME_MAXLEN 255
#define DNAME_MAXLABEL 63
#define DNAME_MAXLABELS 127
/* Longest presentation form: every octet as \DDD plus dots and a NUL. */
#define DNAME_STRLEN (DNAME_MAXLEN * 4 + 2)

/* Parses presentation form (RFC 1035 §5.1: \X and \DDD escapes; "@" is the
 * origin) into `out`. A name without a trailing dot is relative to `origin`
 * (which may be NULL, in which case relative names are ERR_SYNTAX).
 * Returns the wire length, or ERR_SYNTAX, ERR_LABELLEN, ERR_NAMELEN. */
int dname_from_str(uint8_t out[DNAME_MAXLEN], const char *str, size_t len,
		   const uint8_t *origin);

/* Writes the presentation form (absolute, with a trailing dot, special
 * characters escaped) into `out`. Returns the string length or ERR_SPACE. */
int dname_to_str(char *out, size_t outlen, const uint8_t *name);

/* Validates an uncompressed name at the start of `buf` (no pointers).
 * Returns its length, or ERR_TRUNCATED, ERR_LABELLEN, ERR_NAMELEN,
 * ERR_BADLABEL. */
int dname_check(const uint8_t *buf, size_t buflen);

/* Length in octets of a valid name, including the root label. */
size_t dname_len(const uint8_t *name);

/* Number of labels, not counting the root ("." has 0). */
int dname_labels(const uint8_t *name);

/* Lowercases ASCII letters in place (RFC 4343). */
void dname_lower(uint8_t *name);

/* Copies `name` into `out`, lowercased. Returns the length. */
size_t dname_copy_lower(uint8_t out[DNAME_MAXLEN], const uint8_t *name);

/* Case-insensitive equality. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/* Canonical order (RFC 4034 §6.1): <0, 0, >0 as a sorts before, equal to
 * or after b. */
int dname_cmp(const uint8_t *a, const uint8_t *b);

/* True when `name` equals `parent` or lies below it. */
bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent);

/* The name with its first label removed; "." for ".". Points into name. */
const uint8_t *dname_parent(const uint8_t *name);

/* The name with its first n labels removed. Points into name. */
const uint8_t *dname_strip(const uint8_t *name, int n);

/* Number of trailing labels a and b share (case-insensitive). */
int dname_common_labels(const uint8_t *a, const uint8_t *b);

/* True when the first label is "*" (RFC 4592 wildcard owner). */
bool dname_is_wildcard(const uint8_t *name);

/* Builds "*.<name>" into out. Returns the length or ERR_NAMELEN. */
int dname_wildcard_of(uint8_t out[DNAME_MAXLEN], const uint8_t *name);

/* Replaces the suffix `old_suffix` of `name` by `new_suffix` (DNAME
 * substitution, RFC 6672 §2.2). Returns the length, or ERR_NAMELEN when the
 * result would be too long (the YXDOMAIN case). */
int dname_replace_suffix(uint8_t out[DNAME_MAXLEN], const uint8_t *name,
			 const uint8_t *old_suffix, const uint8_t *new_suffix);

/* Eight octets at once (a word loaded with memcpy): each of 'A'-'Z'
 * lowered, every other octet (0x80 and up included) kept. The hot paths
 * that fold labels (trie keys, compression) go a word at a time. */
#define DNAME_WORD_ONES 0x0101010101010101ULL
static inline uint64_t dname_lower_word(uint64_t x)
{
	uint64_t heptets = x & (0x7F * DNAME_WORD_ONES);
	uint64_t from_a = heptets + (0x80 - 'A') * DNAME_WORD_ONES; /* >= 'A' */
	uint64_t past_z = heptets + (0x7F - 'Z') * DNAME_WORD_ONES; /* > 'Z' */
	uint64_t upper = (from_a ^ past_z) & ~x & (0x80 * DNAME_WORD_ONES);
	return x | (upper >> 2);
}

/* Whether two labels (length octet first) are equal, ASCII case folded.
 * Labels of 4 octets or more are compared a word at a time (the last
 * word overlapping the one before), folding case only where the words
 * differ: names compared mostly have the same case. Inlined into the
 * loops over labels (compression, name equality); most calls end at the
 * length octet. */
static inline __attribute__((always_inline)) bool
dname_label_equal(const uint8_t *a, const uint8_t *b)
{
	size_t len = a[0];
	if (len != b[0])
		return false;
	a++;
	b++;
	if (len >= 8) {
		for (size_t i = 0;; i += 8) {
			uint64_t x, y;
			if (i + 8 > len)
				i = len - 8;
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y &&
			    dname_lower_word(x) != dname_lower_word(y))
				return false;
			if (i + 8 == len)
				return true;
		}
	}
	if (len >= 4) {
		uint32_t a0, a1, b0, b1;
		memcpy(&a0, a, 4);
		memcpy(&a1, a + len - 4, 4);
		memcpy(&b0, b, 4);
		memcpy(&b1, b + len - 4, 4);
		uint64_t x = (uint64_t)a0 | (uint64_t)a1 << 32;
		uint64_t y = (uint64_t)b0 | (uint64_t)b1 << 32;
		return x == y || dname_lower_word(x) == dname_lower_word(y);
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i], y = b[i];
		if (x == y)
			continue;
		if ((uint8_t)(x - 'A') < 26)
			x = (uint8_t)(x + 32);
		if ((uint8_t)(y - 'A') < 26)
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

#endif
