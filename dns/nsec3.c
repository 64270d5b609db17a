/*
 * nsec3.c -- NSEC3 hashing (RFC 5155 §5).
 */
#include "dns/nsec3.h"

#include <string.h>

/* The one-shot SHA1() is deprecated in OpenSSL 3 in favour of EVP, whose
 * contexts are allocated; a negative answer in an NSEC3 zone hashes up to
 * three names, and the query path allocates nothing. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "dns/error.h"

/* Algorithm, flags, iterations, salt length. */
#define NSEC3_FIXED 5

int nsec3_params_read(struct nsec3_params *p, const uint8_t *rdata,
		      size_t len)
{
	if (len < NSEC3_FIXED || len < NSEC3_FIXED + (size_t)rdata[4])
		return ERR_MALFORMED;
	p->algorithm = rdata[0];
	p->flags = rdata[1];
	p->iterations = (uint16_t)(rdata[2] << 8 | rdata[3]);
	p->salt_len = rdata[4];
	memcpy(p->salt, rdata + NSEC3_FIXED, p->salt_len);
	return 0;
}

bool nsec3_params_match(const struct nsec3_params *p, const uint8_t *rdata,
			size_t len)
{
	if (len < NSEC3_FIXED || len < NSEC3_FIXED + (size_t)rdata[4])
		return false;
	return rdata[0] == p->algorithm &&
	       (uint16_t)(rdata[2] << 8 | rdata[3]) == p->iterations &&
	       rdata[4] == p->salt_len &&
	       memcmp(rdata + NSEC3_FIXED, p->salt, p->salt_len) == 0;
}

int nsec3_hash(uint8_t out[NSEC3_HASH_LEN], const struct nsec3_params *p,
	       const uint8_t *name)
{
	if (p->algorithm != NSEC3_HASH_SHA1)
		return ERR_UNSUPPORTED;
	/* IH(salt, x, 0) = H(x || salt); IH(salt, x, k) =
	 * H(IH(salt, x, k-1) || salt). */
	uint8_t buf[DNAME_MAXLEN + sizeof(p->salt)];
	size_t nlen = dname_copy_lower(buf, name);
	memcpy(buf + nlen, p->salt, p->salt_len);
	SHA1(buf, nlen + p->salt_len, out);
	memcpy(buf + NSEC3_HASH_LEN, p->salt, p->salt_len);
	for (unsigned i = 0; i < p->iterations; i++) {
		memcpy(buf, out, NSEC3_HASH_LEN);
		SHA1(buf, NSEC3_HASH_LEN + p->salt_len, out);
	}
	return 0;
}

size_t nsec3_base32hex(char *out, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = digits[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0)
		out[n++] = digits[(acc << (5 - bits)) & 0x1f];
	return n;
}

int nsec3_owner(uint8_t out[DNAME_MAXLEN], const struct nsec3_params *p,
		const uint8_t *name, const uint8_t *apex)
{
	uint8_t hash[NSEC3_HASH_LEN];
	int ret = nsec3_hash(hash, p, name);
	if (ret < 0)
		return ret;
	size_t alen = dname_len(apex);
	if (1 + NSEC3_LABEL_LEN + alen > DNAME_MAXLEN)
		return ERR_MALFORMED;
	out[0] = NSEC3_LABEL_LEN;
	nsec3_base32hex((char *)out + 1, hash, sizeof(hash));
	memcpy(out + 1 + NSEC3_LABEL_LEN, apex, alen);
	return (int)(1 + NSEC3_LABEL_LEN + alen);
}

const uint8_t *nsec3_next_hash(const uint8_t *rdata, size_t len,
			       uint8_t *hash_len)
{
	if (len < NSEC3_FIXED)
		return NULL;
	size_t pos = NSEC3_FIXED + rdata[4];
	if (pos >= len || pos + 1 + rdata[pos] > len)
		return NULL;
	*hash_len = rdata[pos];
	return rdata + pos + 1;
}
