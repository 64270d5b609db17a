/*
 * cookie.h -- DNS Cookies (RFC 7873) with the interoperable server
 * cookie of RFC 9018: version 1, reserved, a timestamp and
 * SipHash-2-4 over the client cookie, those fields and the client's
 * address, keyed with a secret that every server of a set can share.
 */
#ifndef TANDEM_DNS_COOKIE_H
#define TANDEM_DNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16   /* RFC 9018 §4 */
#define COOKIE_SECRET_LEN 16   /* a SipHash-2-4 key */
#define COOKIE_SERVER_MIN 8    /* RFC 7873 §4: server cookies are 8-32 */
#define COOKIE_SERVER_MAX 32

/* What a query's COOKIE option holds (RFC 7873 §5.2). */
enum cookie_kind {
	COOKIE_MALFORMED,      /* a length other than 8 or 16-40: FORMERR */
	COOKIE_CLIENT_ONLY,    /* 8 octets */
	COOKIE_WITH_SERVER,    /* 16 to 40 octets */
};

enum cookie_kind cookie_kind(size_t option_len);

/* The server cookie for a client cookie, made at `now` (seconds since the
 * epoch) for a client address of 4 or 16 octets. */
void cookie_make(uint8_t out[COOKIE_SERVER_LEN],
		 const uint8_t client[COOKIE_CLIENT_LEN],
		 const uint8_t secret[COOKIE_SECRET_LEN], uint32_t now,
		 const uint8_t *addr, size_t addr_len);

/* How a server cookie sent back by a client stands. */
enum cookie_verdict {
	COOKIE_INVALID,        /* not ours, or expired: make a new one */
	COOKIE_VALID,          /* ours and fresh */
	COOKIE_RENEW,          /* ours, but older than half an hour: valid,
				  answered with a new one (RFC 9018 §4.3) */
};

/* Checks a server cookie against each secret (the current one first,
 * then those being rotated out). Valid when made with one of them for
 * this client cookie and address, less than an hour ago and not more
 * than five minutes ahead (RFC 9018 §4.3; serial number arithmetic). */
enum cookie_verdict cookie_check(const uint8_t *server, size_t server_len,
				 const uint8_t client[COOKIE_CLIENT_LEN],
				 const uint8_t (*secrets)[COOKIE_SECRET_LEN],
				 size_t nsecrets, uint32_t now,
				 const uint8_t *addr, size_t addr_len);

#endif
