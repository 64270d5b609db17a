/*
 * tsig.c -- TSIG message authentication (RFC 8945).
 */
#include "dns/tsig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"

struct algorithm_info {
	const char *name;
	const char *digest;
	const uint8_t *dname;
	size_t mac_len;
};

/* RFC 8945 §6: the algorithm names. */
static const uint8_t MD5_NAME[] = "\x08hmac-md5\x07sig-alg\x03reg\x03int";
static const uint8_t SHA1_NAME[] = "\x09hmac-sha1";
static const uint8_t SHA224_NAME[] = "\x0bhmac-sha224";
static const uint8_t SHA256_NAME[] = "\x0bhmac-sha256";
static const uint8_t SHA384_NAME[] = "\x0bhmac-sha384";
static const uint8_t SHA512_NAME[] = "\x0bhmac-sha512";

static const struct algorithm_info algorithms[] = {
	[TSIG_HMAC_MD5] = { "hmac-md5", "MD5", MD5_NAME, 16 },
	[TSIG_HMAC_SHA1] = { "hmac-sha1", "SHA1", SHA1_NAME, 20 },
	[TSIG_HMAC_SHA224] = { "hmac-sha224", "SHA224", SHA224_NAME, 28 },
	[TSIG_HMAC_SHA256] = { "hmac-sha256", "SHA256", SHA256_NAME, 32 },
	[TSIG_HMAC_SHA384] = { "hmac-sha384", "SHA384", SHA384_NAME, 48 },
	[TSIG_HMAC_SHA512] = { "hmac-sha512", "SHA512", SHA512_NAME, 64 },
};
#define NALGORITHMS (sizeof(algorithms) / sizeof(algorithms[0]))

int tsig_algorithm_from_str(const char *str, enum tsig_algorithm *out)
{
	for (size_t i = 0; i < NALGORITHMS; i++) {
		if (strcasecmp(str, algorithms[i].name) == 0) {
			*out = (enum tsig_algorithm)i;
			return 0;
		}
	}
	uint8_t name[DNAME_MAXLEN];
	static const uint8_t root[1] = { 0 };
	if (dname_from_str(name, str, strlen(str), root) < 0)
		return ERR_SYNTAX;
	for (size_t i = 0; i < NALGORITHMS; i++) {
		if (dname_equal(name, algorithms[i].dname)) {
			*out = (enum tsig_algorithm)i;
			return 0;
		}
	}
	return ERR_SYNTAX;
}

const char *tsig_algorithm_str(enum tsig_algorithm alg)
{
	return algorithms[alg].name;
}

const uint8_t *tsig_algorithm_dname(enum tsig_algorithm alg)
{
	return algorithms[alg].dname;
}

size_t tsig_mac_len(enum tsig_algorithm alg)
{
	return algorithms[alg].mac_len;
}

size_t tsig_space(const struct tsig_key *key)
{
	const struct algorithm_info *a = &algorithms[key->algorithm];
	/* owner, type/class/ttl/rdlength, algorithm, time/fudge/mac size,
	 * MAC, original id/error/other length; BADTIME's 6 other octets */
	return dname_len(key->name) + 10 + dname_len(a->dname) + 10 +
	       a->mac_len + 6 + 6;
}

int tsig_key_init(struct tsig_key *key, const char *name, const char *alg,
		  const char *secret_b64)
{
	static const uint8_t root[1] = { 0 };
	memset(key, 0, sizeof(*key));
	if (dname_from_str(key->name, name, strlen(name), root) < 0)
		return ERR_SYNTAX;
	dname_lower(key->name);
	if (tsig_algorithm_from_str(alg, &key->algorithm) != 0)
		return ERR_SYNTAX;
	size_t len = 0;
	if (sodium_base642bin(key->secret, sizeof(key->secret), secret_b64,
			      strlen(secret_b64), " \t\r\n", &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return strlen(secret_b64) / 4 * 3 > sizeof(key->secret) ? ERR_LIMIT
									: ERR_SYNTAX;
	if (len == 0)
		return ERR_SYNTAX;
	key->secret_len = len;
	return 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *out)
{
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, msg, len);
	if (msg_read_header(&r, &h) != 0)
		return ERR_MALFORMED;
	for (unsigned i = 0; i < h.count[0]; i++) {
		struct msg_question q;
		if (msg_read_question(&r, &q) != 0)
			return ERR_MALFORMED;
	}
	unsigned total = (unsigned)h.count[1] + h.count[2] + h.count[3];
	if (total == 0)
		return ERR_NOTFOUND;
	/* Skip all RRs but the last, checking none of them is a TSIG. */
	for (unsigned i = 0; i + 1 < total; i++) {
		size_t start = msg_reader_offset(&r);
		if (msg_skip_rr(&r) != 0)
			return ERR_MALFORMED;
		/* type follows the owner name */
		struct msg_reader peek;
		msg_reader_init(&peek, msg, len);
		peek.pos = start;
		uint8_t owner[DNAME_MAXLEN];
		if (msg_read_name(&peek, owner) < 0 ||
		    msg_reader_remaining(&peek) < 2)
			return ERR_MALFORMED;
		if (get16(msg + msg_reader_offset(&peek)) == RRTYPE_TSIG)
			return ERR_MALFORMED;
	}
	struct msg_rr rr;
	uint8_t *rdata = malloc(MSG_RDATA_MAX);
	if (rdata == NULL)
		return ERR_NOMEM;
	int res = msg_read_rr(&r, &rr, rdata, MSG_RDATA_MAX);
	if (res != 0 || rr.type != RRTYPE_TSIG) {
		free(rdata);
		return res != 0 ? ERR_MALFORMED : ERR_NOTFOUND;
	}
	if (h.count[3] == 0 || rr.rrclass != RRCLASS_ANY || rr.ttl != 0 ||
	    msg_reader_remaining(&r) != 0) {
		free(rdata);
		return ERR_MALFORMED;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->key_name, rr.owner, rr.owner_len);
	out->offset = rr.offset;
	/* Parse the rdata again in place in the message: the algorithm name
	 * is never compressed, so the rdata there is the same octets, and
	 * the MAC and other data can point into the message. */
	size_t rdstart = len - rr.rdlen;
	free(rdata);
	const uint8_t *p = msg + rdstart, *end = msg + len;
	int n = dname_check(p, (size_t)(end - p));
	if (n < 0)
		return ERR_MALFORMED;
	memcpy(out->alg_name, p, (size_t)n);
	p += n;
	if (end - p < 10)
		return ERR_MALFORMED;
	out->time_signed = 0;
	for (int i = 0; i < 6; i++)
		out->time_signed = out->time_signed << 8 | p[i];
	out->fudge = get16(p + 6);
	out->mac_len = get16(p + 8);
	p += 10;
	if (end - p < (ptrdiff_t)out->mac_len + 6)
		return ERR_MALFORMED;
	out->mac = p;
	p += out->mac_len;
	out->original_id = get16(p);
	out->error = get16(p + 2);
	out->other_len = get16(p + 4);
	p += 6;
	if (end - p != out->other_len)
		return ERR_MALFORMED;
	out->other = p;
	return 0;
}

int tsig_ctx_init(struct tsig_ctx *ctx, const struct tsig_key *key,
		  const uint8_t *request_mac, size_t request_mac_len)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->key = key;
	if (request_mac_len > TSIG_MAX_MAC)
		return ERR_INVAL;
	if (request_mac_len > 0)
		memcpy(ctx->prior_mac, request_mac, request_mac_len);
	ctx->prior_len = request_mac_len;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return ERR_CRYPTO;
	ctx->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	return ctx->mac ? 0 : ERR_NOMEM;
}

void tsig_ctx_free(struct tsig_ctx *ctx)
{
	EVP_MAC_CTX_free(ctx->mac);
	ctx->mac = NULL;
}

/* Starts the running HMAC with the prior MAC, if any (RFC 8945 §4.3.1,
 * §5.3.1). */
static int mac_start(struct tsig_ctx *ctx)
{
	const struct algorithm_info *a = &algorithms[ctx->key->algorithm];
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)a->digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(ctx->mac, ctx->key->secret, ctx->key->secret_len, params))
		return ERR_CRYPTO;
	if (ctx->prior_len > 0) {
		uint8_t len[2];
		put16(len, (uint16_t)ctx->prior_len);
		if (!EVP_MAC_update(ctx->mac, len, 2) ||
		    !EVP_MAC_update(ctx->mac, ctx->prior_mac, ctx->prior_len))
			return ERR_CRYPTO;
	}
	ctx->mac_started = true;
	return 0;
}

static int mac_update(struct tsig_ctx *ctx, const uint8_t *data, size_t len)
{
	return EVP_MAC_update(ctx->mac, data, len) ? 0 : ERR_CRYPTO;
}

/* Feeds the TSIG variables (RFC 8945 §4.3.3) or only the timers. */
static int mac_variables(struct tsig_ctx *ctx, bool full, uint64_t time,
			 uint16_t fudge, uint16_t error, const uint8_t *other,
			 uint16_t other_len)
{
	uint8_t buf[DNAME_MAXLEN * 2 + 32];
	size_t n = 0;
	if (full) {
		size_t klen = dname_copy_lower(buf, ctx->key->name);
		n += klen;
		put16(buf + n, RRCLASS_ANY);
		memset(buf + n + 2, 0, 4); /* TTL */
		n += 6;
		size_t alen = dname_copy_lower(buf + n,
					       algorithms[ctx->key->algorithm].dname);
		n += alen;
	}
	put48(buf + n, time);
	put16(buf + n + 6, fudge);
	n += 8;
	if (full) {
		put16(buf + n, error);
		put16(buf + n + 2, other_len);
		n += 4;
	}
	int r = mac_update(ctx, buf, n);
	if (r == 0 && full && other_len > 0)
		r = mac_update(ctx, other, other_len);
	return r;
}

static int mac_final(struct tsig_ctx *ctx, uint8_t out[TSIG_MAX_MAC],
		     size_t *len)
{
	ctx->mac_started = false;
	return EVP_MAC_final(ctx->mac, out, len, TSIG_MAX_MAC) ? 0 : ERR_CRYPTO;
}

/* Appends a TSIG RR (RFC 8945 §4.2) to msg[0..*len) and counts it in
 * ARCOUNT; the caller has checked that it fits. */
static void write_rr(uint8_t *msg, size_t *len, const uint8_t *key_name,
		     const uint8_t *alg, uint64_t time, uint16_t fudge,
		     const uint8_t *mac, uint16_t mac_len, uint16_t error,
		     const uint8_t *other, uint16_t other_len)
{
	size_t klen = dname_len(key_name), alen = dname_len(alg);
	size_t rdlen = alen + 10 + mac_len + 6 + other_len;
	uint8_t *p = msg + *len;
	memcpy(p, key_name, klen);
	p += klen;
	put16(p, RRTYPE_TSIG);
	put16(p + 2, RRCLASS_ANY);
	memset(p + 4, 0, 4);
	put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, alg, alen);
	p += alen;
	put48(p, time);
	put16(p + 6, fudge);
	put16(p + 8, mac_len);
	p += 10;
	if (mac_len > 0)
		memcpy(p, mac, mac_len);
	p += mac_len;
	memcpy(p, msg, 2); /* original ID */
	put16(p + 2, error);
	put16(p + 4, other_len);
	p += 6;
	if (other_len > 0)
		memcpy(p, other, other_len);
	*len += klen + 10 + rdlen;
	put16(msg + 10, (uint16_t)(get16(msg + 10) + 1));
}

int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
	      uint64_t now, uint16_t fudge, uint16_t error,
	      const uint8_t *other, uint16_t other_len)
{
	const struct tsig_key *key = ctx->key;
	const uint8_t *alg = algorithms[key->algorithm].dname;
	size_t klen = dname_len(key->name), alen = dname_len(alg);
	size_t mac_len = algorithms[key->algorithm].mac_len;
	size_t rdlen = alen + 10 + mac_len + 6 + other_len;
	size_t rrlen = klen + 10 + rdlen;
	if (*len < MSG_HDRLEN || *len + rrlen > cap || get16(msg + 10) == 0xffff)
		return ERR_SPACE;

	bool full = ctx->sent == 0;
	int r = ctx->mac_started ? 0 : mac_start(ctx);
	if (r == 0)
		r = mac_update(ctx, msg, *len);
	if (r == 0)
		r = mac_variables(ctx, full, now, fudge, error, other, other_len);
	uint8_t mac[TSIG_MAX_MAC];
	size_t got = 0;
	if (r == 0)
		r = mac_final(ctx, mac, &got);
	if (r != 0)
		return r;

	write_rr(msg, len, key->name, alg, now, fudge, mac, (uint16_t)got, error,
		 other, other_len);
	memcpy(ctx->prior_mac, mac, got);
	ctx->prior_len = got;
	ctx->sent++;
	return 0;
}

int tsig_append_unsigned(uint8_t *msg, size_t *len, size_t cap,
			 const struct tsig_rr *request, uint16_t error)
{
	size_t klen = dname_len(request->key_name);
	size_t alen = dname_len(request->alg_name);
	size_t rdlen = alen + 10 + 6;
	size_t rrlen = klen + 10 + rdlen;
	if (*len < MSG_HDRLEN || *len + rrlen > cap || get16(msg + 10) == 0xffff)
		return ERR_SPACE;
	write_rr(msg, len, request->key_name, request->alg_name,
		 request->time_signed, request->fudge, NULL, 0, error, NULL, 0);
	return 0;
}

int tsig_verify(struct tsig_ctx *ctx, const uint8_t *msg, size_t len,
		const struct tsig_rr *rr, uint64_t now)
{
	const struct tsig_key *key = ctx->key;
	int r;
	if (rr == NULL) {
		/* RFC 8945 §5.3.1: the first message is signed; then up to
		 * 99 in a row may be unsigned, their octets fold into the
		 * next signed message's digest. */
		if (ctx->received == 0 || ctx->unsigned_run >= 99)
			return ERR_BADSIG;
		r = ctx->mac_started ? 0 : mac_start(ctx);
		if (r == 0)
			r = mac_update(ctx, msg, len);
		if (r == 0)
			ctx->unsigned_run++;
		return r;
	}
	if (!dname_equal(rr->key_name, key->name) ||
	    !dname_equal(rr->alg_name, algorithms[key->algorithm].dname))
		return ERR_BADKEY;
	size_t full_len = algorithms[key->algorithm].mac_len;
	if (rr->mac_len != full_len)
		return ERR_BADSIG;
	if (rr->offset < MSG_HDRLEN || get16(msg + 10) == 0)
		return ERR_MALFORMED;

	bool full = ctx->received == 0;
	r = ctx->mac_started ? 0 : mac_start(ctx);
	/* The message as signed: original ID, ARCOUNT without the TSIG. */
	uint8_t header[MSG_HDRLEN];
	memcpy(header, msg, MSG_HDRLEN);
	put16(header, rr->original_id);
	put16(header + 10, (uint16_t)(get16(msg + 10) - 1));
	if (r == 0)
		r = mac_update(ctx, header, MSG_HDRLEN);
	if (r == 0)
		r = mac_update(ctx, msg + MSG_HDRLEN, rr->offset - MSG_HDRLEN);
	if (r == 0)
		r = mac_variables(ctx, full, rr->time_signed, rr->fudge,
				  rr->error, rr->other, rr->other_len);
	uint8_t mac[TSIG_MAX_MAC];
	size_t got = 0;
	if (r == 0)
		r = mac_final(ctx, mac, &got);
	if (r != 0)
		return r;
	if (got != rr->mac_len || sodium_memcmp(mac, rr->mac, got) != 0)
		return ERR_BADSIG;
	memcpy(ctx->prior_mac, rr->mac, got);
	ctx->prior_len = got;
	ctx->received++;
	ctx->unsigned_run = 0;
	uint64_t delta = now > rr->time_signed ? now - rr->time_signed
					       : rr->time_signed - now;
	if (delta > rr->fudge)
		return ERR_BADTIME;
	return 0;
}

bool tsig_ctx_pending(const struct tsig_ctx *ctx)
{
	return ctx->unsigned_run > 0;
}
