/*
 * rdata.c -- uncompressed rdata: validation, canonical form and order.
 */
#include "dns/rdata.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rrtype.h"

/* Returns the length of the field of kind `f` at rdata[pos..len), or
 * ERR_MALFORMED when it does not fit. */
static int field_len(int f, const uint8_t *rdata, size_t pos, size_t len)
{
	size_t left = len - pos;
	switch (f) {
	case RDF_NAME_COMPRESS:
	case RDF_NAME_FOLD:
	case RDF_NAME_PLAIN: {
		if (left == 0)
			return ERR_MALFORMED; /* no name; rdata may be NULL */
		int n = dname_check(rdata + pos, left);
		return n < 0 ? ERR_MALFORMED : n;
	}
	case RDF_FIX1: return left >= 1 ? 1 : ERR_MALFORMED;
	case RDF_FIX2: return left >= 2 ? 2 : ERR_MALFORMED;
	case RDF_FIX4: return left >= 4 ? 4 : ERR_MALFORMED;
	case RDF_FIX6: return left >= 6 ? 6 : ERR_MALFORMED;
	case RDF_FIX8: return left >= 8 ? 8 : ERR_MALFORMED;
	case RDF_FIX16: return left >= 16 ? 16 : ERR_MALFORMED;
	case RDF_STRING:
		if (left < 1 || (size_t)rdata[pos] + 1 > left)
			return ERR_MALFORMED;
		return rdata[pos] + 1;
	case RDF_STRINGS: {
		if (left < 1)
			return ERR_MALFORMED;
		size_t p = pos;
		while (p < len) {
			if ((size_t)rdata[p] + 1 > len - p)
				return ERR_MALFORMED;
			p += rdata[p] + 1u;
		}
		return (int)(p - pos);
	}
	case RDF_REMAINDER:
		return (int)left;
	default:
		return ERR_MALFORMED;
	}
}

int rdata_check(uint16_t type, const uint8_t *rdata, size_t len)
{
	size_t pos = 0;
	for (const uint8_t *f = rrtype_layout(type); *f != RDF_END; f++) {
		int n = field_len(*f, rdata, pos, len);
		if (n < 0)
			return n;
		pos += (size_t)n;
	}
	return pos == len ? 0 : ERR_MALFORMED;
}

int rdata_foreach_name(uint16_t type, const uint8_t *rdata, size_t len,
		       rdata_name_fn fn, void *arg)
{
	size_t pos = 0;
	for (const uint8_t *f = rrtype_layout(type); *f != RDF_END; f++) {
		int n = field_len(*f, rdata, pos, len);
		if (n < 0)
			return n;
		if (*f == RDF_NAME_COMPRESS || *f == RDF_NAME_FOLD ||
		    *f == RDF_NAME_PLAIN) {
			int r = fn(rdata + pos, pos, *f, arg);
			if (r != 0)
				return r;
		}
		pos += (size_t)n;
	}
	return 0;
}

static int lower_name(const uint8_t *name, size_t offset, int kind, void *arg)
{
	(void)name;
	uint8_t *out = arg;
	if (kind != RDF_NAME_PLAIN)
		dname_lower(out + offset);
	return 0;
}

void rdata_canonicalize(uint16_t type, uint8_t *out, const uint8_t *rdata,
			size_t len)
{
	if (len == 0)
		return; /* rdata may be NULL: memmove must not see it */
	memmove(out, rdata, len);
	rdata_foreach_name(type, out, len, lower_name, out);
}

static int octets_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
		      size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	/* Empty rdata may be NULL, which memcmp must not see even for 0. */
	int c = n != 0 ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

int rdata_cmp(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b,
	      size_t blen)
{
	const uint8_t *layout = rrtype_layout(type);
	bool fold = false;
	for (const uint8_t *f = layout; *f != RDF_END; f++)
		if (*f == RDF_NAME_COMPRESS || *f == RDF_NAME_FOLD)
			fold = true;
	if (!fold)
		return octets_cmp(a, alen, b, blen);

	uint8_t abuf[512], bbuf[512];
	uint8_t *ac = alen <= sizeof(abuf) ? abuf : malloc(alen);
	uint8_t *bc = blen <= sizeof(bbuf) ? bbuf : malloc(blen);
	int c;
	if ((alen && ac == NULL) || (blen && bc == NULL)) {
		/* Out of memory: fall back to a case-sensitive order, which
		 * is still a total order. */
		c = octets_cmp(a, alen, b, blen);
	} else {
		rdata_canonicalize(type, ac, a, alen);
		rdata_canonicalize(type, bc, b, blen);
		c = octets_cmp(ac, alen, bc, blen);
	}
	if (ac != abuf)
		free(ac);
	if (bc != bbuf)
		free(bc);
	return c;
}

uint32_t rdata_soa_field(const uint8_t *rdata, enum rdata_soa_field field)
{
	size_t mname = dname_len(rdata);
	const uint8_t *p = rdata + mname + dname_len(rdata + mname) + 4 * field;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
