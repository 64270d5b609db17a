/*
 * dname.c -- domain names in uncompressed wire form.
 */
#include "dns/dname.h"

#include <string.h>

#include "dns/error.h"

static inline uint8_t lower_octet(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int dname_from_str(uint8_t out[DNAME_MAXLEN], const char *str, size_t len,
		   const uint8_t *origin)
{
	if (len == 0)
		return ERR_SYNTAX;
	if (len == 1 && str[0] == '@') {
		if (origin == NULL)
			return ERR_SYNTAX;
		size_t olen = dname_len(origin);
		memcpy(out, origin, olen);
		return (int)olen;
	}
	if (len == 1 && str[0] == '.') {
		out[0] = 0;
		return 1;
	}

	size_t pos = 0;      /* write position in out */
	size_t label = 0;    /* position of the current label's length octet */
	bool absolute = false;
	out[0] = 0;
	pos = 1;
	for (size_t i = 0; i < len; i++) {
		char c = str[i];
		if (c == '.') {
			size_t llen = pos - label - 1;
			if (llen == 0)
				return ERR_SYNTAX; /* empty label */
			out[label] = (uint8_t)llen;
			if (i + 1 == len) {
				absolute = true;
				break;
			}
			label = pos;
			if (pos >= DNAME_MAXLEN)
				return ERR_NAMELEN;
			out[pos++] = 0;
			continue;
		}
		uint8_t octet;
		if (c == '\\') {
			if (i + 1 >= len)
				return ERR_SYNTAX;
			if (is_digit(str[i + 1])) {
				if (i + 3 >= len || !is_digit(str[i + 2]) ||
				    !is_digit(str[i + 3]))
					return ERR_SYNTAX;
				int v = (str[i + 1] - '0') * 100 +
					(str[i + 2] - '0') * 10 + (str[i + 3] - '0');
				if (v > 255)
					return ERR_SYNTAX;
				octet = (uint8_t)v;
				i += 3;
			} else {
				octet = (uint8_t)str[i + 1];
				i += 1;
			}
		} else {
			octet = (uint8_t)c;
		}
		if (pos - label - 1 >= DNAME_MAXLABEL)
			return ERR_LABELLEN;
		if (pos >= DNAME_MAXLEN)
			return ERR_NAMELEN;
		out[pos++] = octet;
	}
	if (!absolute) {
		size_t llen = pos - label - 1;
		if (llen == 0)
			return ERR_SYNTAX;
		out[label] = (uint8_t)llen;
		if (origin == NULL)
			return ERR_SYNTAX;
		size_t olen = dname_len(origin);
		if (pos + olen > DNAME_MAXLEN)
			return ERR_NAMELEN;
		memcpy(out + pos, origin, olen);
		return (int)(pos + olen);
	}
	if (pos >= DNAME_MAXLEN)
		return ERR_NAMELEN;
	out[pos++] = 0;
	return (int)pos;
}

/* Characters that must be escaped in presentation form (RFC 1035 §5.1 and
 * what BIND/NSD/Knot escape). */
static bool needs_escape(uint8_t c)
{
	switch (c) {
	case '.': case '\\': case '"': case '(': case ')': case ';':
	case '@': case '$':
		return true;
	default:
		return false;
	}
}

int dname_to_str(char *out, size_t outlen, const uint8_t *name)
{
	size_t pos = 0;
	if (name[0] == 0) {
		if (outlen < 2)
			return ERR_SPACE;
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	while (name[0] != 0) {
		uint8_t llen = name[0];
		for (uint8_t i = 1; i <= llen; i++) {
			uint8_t c = name[i];
			if (c <= 0x20 || c >= 0x7f) {
				if (pos + 4 >= outlen)
					return ERR_SPACE;
				out[pos++] = '\\';
				out[pos++] = (char)('0' + c / 100);
				out[pos++] = (char)('0' + (c / 10) % 10);
				out[pos++] = (char)('0' + c % 10);
			} else if (needs_escape(c)) {
				if (pos + 2 >= outlen)
					return ERR_SPACE;
				out[pos++] = '\\';
				out[pos++] = (char)c;
			} else {
				if (pos + 1 >= outlen)
					return ERR_SPACE;
				out[pos++] = (char)c;
			}
		}
		if (pos + 1 >= outlen)
			return ERR_SPACE;
		out[pos++] = '.';
		name += llen + 1;
	}
	out[pos] = '\0';
	return (int)pos;
}

int dname_check(const uint8_t *buf, size_t buflen)
{
	size_t pos = 0;
	for (;;) {
		if (pos >= buflen)
			return ERR_TRUNCATED;
		uint8_t llen = buf[pos];
		if (llen == 0)
			break;
		if (llen & 0xC0)
			return ERR_BADLABEL;
		pos += (size_t)llen + 1;
		if (pos >= DNAME_MAXLEN)
			return ERR_NAMELEN;
	}
	return (int)(pos + 1);
}

size_t dname_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p != 0)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}

int dname_labels(const uint8_t *name)
{
	int n = 0;
	while (*name != 0) {
		name += *name + 1;
		n++;
	}
	return n;
}

void dname_lower(uint8_t *name)
{
	while (*name != 0) {
		uint8_t llen = *name++;
		for (uint8_t i = 0; i < llen; i++)
			name[i] = lower_octet(name[i]);
		name += llen;
	}
}

size_t dname_copy_lower(uint8_t out[DNAME_MAXLEN], const uint8_t *name)
{
	size_t len = dname_len(name);
	memcpy(out, name, len);
	dname_lower(out);
	return len;
}

/* Both names have the same wire layout when equal: label by label, the
 * length octets exactly, the rest folded. */
bool dname_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (!dname_label_equal(a, b))
			return false;
		if (*a == 0)
			return true;
		a += *a + 1;
		b += *b + 1;
	}
}

/* Fills offs[] with the offset of each label (root excluded); returns the
 * count. */
static int label_offsets(const uint8_t *name, uint8_t offs[DNAME_MAXLABELS])
{
	int n = 0;
	size_t pos = 0;
	while (name[pos] != 0) {
		offs[n++] = (uint8_t)pos;
		pos += name[pos] + 1;
	}
	return n;
}

static int label_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t alen = a[0], blen = b[0];
	uint8_t n = alen < blen ? alen : blen;
	for (uint8_t i = 1; i <= n; i++) {
		uint8_t ca = lower_octet(a[i]), cb = lower_octet(b[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return (int)alen - (int)blen;
}

int dname_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t aoffs[DNAME_MAXLABELS], boffs[DNAME_MAXLABELS];
	int an = label_offsets(a, aoffs);
	int bn = label_offsets(b, boffs);
	while (an > 0 && bn > 0) {
		int c = label_cmp(a + aoffs[--an], b + boffs[--bn]);
		if (c != 0)
			return c;
	}
	return an - bn;
}

bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent)
{
	int nl = dname_labels(name), pl = dname_labels(parent);
	if (nl < pl)
		return false;
	return dname_equal(dname_strip(name, nl - pl), parent);
}

const uint8_t *dname_parent(const uint8_t *name)
{
	return name[0] == 0 ? name : name + name[0] + 1;
}

const uint8_t *dname_strip(const uint8_t *name, int n)
{
	while (n-- > 0 && name[0] != 0)
		name += name[0] + 1;
	return name;
}

int dname_common_labels(const uint8_t *a, const uint8_t *b)
{
	uint8_t aoffs[DNAME_MAXLABELS], boffs[DNAME_MAXLABELS];
	int an = label_offsets(a, aoffs);
	int bn = label_offsets(b, boffs);
	int common = 0;
	while (an > 0 && bn > 0) {
		if (label_cmp(a + aoffs[--an], b + boffs[--bn]) != 0)
			break;
		common++;
	}
	return common;
}

bool dname_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

int dname_wildcard_of(uint8_t out[DNAME_MAXLEN], const uint8_t *name)
{
	size_t len = dname_len(name);
	if (len + 2 > DNAME_MAXLEN)
		return ERR_NAMELEN;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, name, len);
	return (int)(len + 2);
}

int dname_replace_suffix(uint8_t out[DNAME_MAXLEN], const uint8_t *name,
			 const uint8_t *old_suffix, const uint8_t *new_suffix)
{
	int keep = dname_labels(name) - dname_labels(old_suffix);
	if (keep < 0)
		return ERR_INVAL;
	const uint8_t *rest = dname_strip(name, keep);
	size_t prefix = (size_t)(rest - name);
	size_t slen = dname_len(new_suffix);
	if (prefix + slen > DNAME_MAXLEN)
		return ERR_NAMELEN;
	memmove(out, name, prefix);
	memcpy(out + prefix, new_suffix, slen);
	return (int)(prefix + slen);
}
