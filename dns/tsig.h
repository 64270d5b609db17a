/*
 * tsig.h -- TSIG message authentication (RFC 8945).
 *
 * Keys, HMAC via OpenSSL's EVP_MAC, constant-time MAC comparison via
 * libsodium, and the multi-message rules of zone transfers: every message
 * of a stream is signed over the previous MAC, the messages since the last
 * signed one and, after the first, only the timers (RFC 8945 §5.3.1).
 * Works on whole wire messages; no I/O.
 */
#ifndef TANDEM_DNS_TSIG_H
#define TANDEM_DNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"

enum tsig_algorithm {
	TSIG_HMAC_MD5,
	TSIG_HMAC_SHA1,
	TSIG_HMAC_SHA224,
	TSIG_HMAC_SHA256,
	TSIG_HMAC_SHA384,
	TSIG_HMAC_SHA512,
};

#define TSIG_MAX_MAC 64
#define TSIG_MAX_SECRET 256
#define TSIG_DEFAULT_FUDGE 300

struct tsig_key {
	uint8_t name[DNAME_MAXLEN];   /* lowercase wire form */
	enum tsig_algorithm algorithm;
	uint8_t secret[TSIG_MAX_SECRET];
	size_t secret_len;
};

/* "hmac-sha256" etc. (case-insensitive; also the algorithm's domain name
 * with or without the final dot) -> algorithm. Returns 0 or ERR_SYNTAX. */
int tsig_algorithm_from_str(const char *str, enum tsig_algorithm *out);

/* The algorithm's configuration name ("hmac-sha256"). */
const char *tsig_algorithm_str(enum tsig_algorithm alg);

/* The algorithm's domain name in wire form (RFC 8945 §6). */
const uint8_t *tsig_algorithm_dname(enum tsig_algorithm alg);

/* Full MAC length of the algorithm, in octets. */
size_t tsig_mac_len(enum tsig_algorithm alg);

/* Octets a signed TSIG RR with this key takes (to reserve room for it). */
size_t tsig_space(const struct tsig_key *key);

/* Fills a key from its name (presentation form), algorithm name and
 * base64 secret. Returns 0, or ERR_SYNTAX naming nothing (the caller says
 * which field), ERR_LIMIT for a secret too long. */
int tsig_key_init(struct tsig_key *key, const char *name, const char *alg,
		  const char *secret_b64);

/* A TSIG RR found in a received message. Pointers point into it. */
struct tsig_rr {
	uint8_t key_name[DNAME_MAXLEN];   /* as received */
	uint8_t alg_name[DNAME_MAXLEN];
	uint64_t time_signed;             /* 48 bits */
	uint16_t fudge;
	uint16_t mac_len;
	const uint8_t *mac;
	uint16_t original_id;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
	size_t offset;                    /* where the TSIG RR starts */
};

/* Looks for a TSIG RR in a message. It must be the last RR of the
 * additional section, of class ANY and TTL 0 (RFC 8945 §5.1). Returns 0
 * with *out filled, ERR_NOTFOUND when there is none, or ERR_MALFORMED
 * (a TSIG elsewhere, or a malformed one: the answer is FORMERR). */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *out);

/* Running state of a signed exchange: a request and its response, or a
 * whole zone-transfer stream. */
struct tsig_ctx {
	const struct tsig_key *key;
	uint8_t prior_mac[TSIG_MAX_MAC]; /* request MAC, then each MAC */
	size_t prior_len;
	unsigned sent;                   /* messages signed */
	unsigned received;               /* signed messages verified */
	unsigned unsigned_run;           /* unsigned messages in a row */
	void *mac;                       /* running HMAC (EVP_MAC_CTX) */
	bool mac_started;
};

/* Starts a context. For the side that answers, request_mac is the MAC of
 * the verified request (NULL, 0 for the requester). Returns 0 or
 * ERR_NOMEM/ERR_CRYPTO. */
int tsig_ctx_init(struct tsig_ctx *ctx, const struct tsig_key *key,
		  const uint8_t *request_mac, size_t request_mac_len);

void tsig_ctx_free(struct tsig_ctx *ctx);

/* Signs the message msg[0..*len) in place: appends a TSIG RR (time
 * `now`, fudge, error; `other` for BADTIME's server time) and increments
 * ARCOUNT. The first message signed in a context carries all TSIG
 * variables in its digest, later ones only the timers (RFC 8945 §5.3.1). Returns 0, or
 * ERR_SPACE when the TSIG does not fit in cap (the message is unchanged). */
int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
	      uint64_t now, uint16_t fudge, uint16_t error,
	      const uint8_t *other, uint16_t other_len);

/* Appends an unsigned TSIG RR (MAC size 0) carrying an error, for BADKEY
 * and BADSIG answers (RFC 8945 §5.3.2), echoing the request's key name,
 * algorithm name and time. Returns 0 or ERR_SPACE. */
int tsig_append_unsigned(uint8_t *msg, size_t *len, size_t cap,
			 const struct tsig_rr *request, uint16_t error);

/* Verifies one received message against the context:
 *  - the message must carry a TSIG (rr non-NULL) unless the context has
 *    verified a first message already, in which case up to 99 unsigned
 *    messages in a row are accepted and folded into the next digest
 *    (RFC 8945 §5.3.1);
 *  - the key name and algorithm must be the context's (else ERR_BADKEY);
 *  - the MAC must have the full length (else ERR_BADSIG: truncation is
 *    not accepted) and match (else ERR_BADSIG);
 *  - time_signed must be within fudge of now (else ERR_BADTIME, checked
 *    after the MAC, as the RFC orders it).
 * Returns 0 when the message is accepted. */
int tsig_verify(struct tsig_ctx *ctx, const uint8_t *msg, size_t len,
		const struct tsig_rr *rr, uint64_t now);

/* True when the stream's last message must be signed and was not, i.e.
 * the stream may not end here (RFC 8945 §5.3.1: the last one is signed). */
bool tsig_ctx_pending(const struct tsig_ctx *ctx);

#endif
