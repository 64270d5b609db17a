/*
 * cookie.c -- DNS Cookies (RFC 7873, RFC 9018).
 */
#include "dns/cookie.h"

#include <string.h>

#include <sodium.h>

#include "dns/serial.h"

#define COOKIE_VERSION 1
#define COOKIE_LIFETIME 3600   /* RFC 9018 §4.3: valid for an hour */
#define COOKIE_RENEW_AFTER 1800 /* ... and renewed after half of it */
#define COOKIE_FUTURE 300      /* ... and up to five minutes ahead */

enum cookie_kind cookie_kind(size_t len)
{
	if (len == COOKIE_CLIENT_LEN)
		return COOKIE_CLIENT_ONLY;
	if (len >= COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN &&
	    len <= COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX)
		return COOKIE_WITH_SERVER;
	return COOKIE_MALFORMED;
}

/* RFC 9018 §4.4: Hash = SipHash-2-4(Client Cookie | Version | Reserved |
 * Timestamp | Client-IP, Server Secret). */
static void cookie_hash(uint8_t out[8], const uint8_t client[COOKIE_CLIENT_LEN],
			const uint8_t head[8],
			const uint8_t secret[COOKIE_SECRET_LEN],
			const uint8_t *addr, size_t addr_len)
{
	uint8_t input[COOKIE_CLIENT_LEN + 8 + 16];
	memcpy(input, client, COOKIE_CLIENT_LEN);
	memcpy(input + COOKIE_CLIENT_LEN, head, 8);
	memcpy(input + COOKIE_CLIENT_LEN + 8, addr, addr_len);
	crypto_shorthash_siphash24(out, input, COOKIE_CLIENT_LEN + 8 + addr_len,
				   secret);
}

void cookie_make(uint8_t out[COOKIE_SERVER_LEN],
		 const uint8_t client[COOKIE_CLIENT_LEN],
		 const uint8_t secret[COOKIE_SECRET_LEN], uint32_t now,
		 const uint8_t *addr, size_t addr_len)
{
	out[0] = COOKIE_VERSION;
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(now >> 24);
	out[5] = (uint8_t)(now >> 16);
	out[6] = (uint8_t)(now >> 8);
	out[7] = (uint8_t)now;
	cookie_hash(out + 8, client, out, secret, addr, addr_len);
}

enum cookie_verdict cookie_check(const uint8_t *server, size_t server_len,
				 const uint8_t client[COOKIE_CLIENT_LEN],
				 const uint8_t (*secrets)[COOKIE_SECRET_LEN],
				 size_t nsecrets, uint32_t now,
				 const uint8_t *addr, size_t addr_len)
{
	if (server_len != COOKIE_SERVER_LEN || server[0] != COOKIE_VERSION)
		return COOKIE_INVALID;
	uint32_t stamp = (uint32_t)server[4] << 24 | (uint32_t)server[5] << 16 |
			 (uint32_t)server[6] << 8 | server[7];
	/* Older than an hour, or more than five minutes ahead. */
	if (serial_cmp(stamp, serial_add(now, COOKIE_FUTURE)) > 0 ||
	    serial_cmp(serial_add(stamp, COOKIE_LIFETIME), now) < 0)
		return COOKIE_INVALID;
	for (size_t i = 0; i < nsecrets; i++) {
		uint8_t hash[8];
		cookie_hash(hash, client, server, secrets[i], addr, addr_len);
		if (sodium_memcmp(hash, server + 8, 8) != 0)
			continue;
		return serial_cmp(serial_add(stamp, COOKIE_RENEW_AFTER), now) < 0
			       ? COOKIE_RENEW
			       : COOKIE_VALID;
	}
	return COOKIE_INVALID;
}
