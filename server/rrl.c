/*
 * rrl.c -- response rate limiting (see rrl.h).
 */
#include "server/rrl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/msg.h"
#include "server/addr.h"

struct bucket {
	uint32_t tag;     /* the rest of the key's hash: tells keys apart */
	uint32_t stamp;   /* when tokens was last brought up to date */
	int32_t tokens;   /* responses still allowed; negative: limited */
	uint32_t limited; /* responses limited since the bucket began */
};

struct rrl {
	unsigned bits;
	uint8_t key[crypto_shorthash_siphash24_KEYBYTES];
	struct bucket buckets[];
};

struct rrl *rrl_new(unsigned bits)
{
	struct rrl *t = calloc(1, sizeof(*t) + (sizeof(struct bucket) << bits));
	if (t == NULL)
		return NULL;
	t->bits = bits;
	/* Keyed, so a flood cannot aim at one bucket's neighbours. */
	randombytes_buf(t->key, sizeof(t->key));
	return t;
}

void rrl_free(struct rrl *t)
{
	free(t);
}

static bool in_block(const uint8_t *addr, size_t len,
		     const struct rrl_netblock *nb)
{
	if (nb->family_len != len)
		return false;
	unsigned bits = nb->prefix;
	for (size_t i = 0; bits > 0 && i < len; i++) {
		unsigned take = bits >= 8 ? 8 : bits;
		uint8_t mask = (uint8_t)(0xFF << (8 - take));
		if ((addr[i] & mask) != (nb->addr[i] & mask))
			return false;
		bits -= take;
	}
	return true;
}

bool rrl_exempt(const struct rrl_conf *c, const struct sockaddr *from)
{
	const uint8_t *addr = NULL;
	size_t len = addr_octets(from, &addr);
	if (len == 0)
		return false;
	for (size_t i = 0; i < c->nexempt; i++)
		if (in_block(addr, len, &c->exempt[i]))
			return true;
	return false;
}

enum rrl_action rrl_account(struct rrl *t, const struct rrl_conf *c,
			    const struct sockaddr *from, enum rrl_kind kind,
			    const uint8_t *name, uint16_t qtype,
			    unsigned rcode, uint32_t now)
{
	if (c->rate == 0 || kind == RRL_EXEMPT)
		return RRL_SEND;
	const uint8_t *addr = NULL;
	size_t alen = addr_octets(from, &addr);
	if (alen == 0 || rrl_exempt(c, from))
		return RRL_SEND;

	/* The key: client prefix, kind, rcode, and the name (lowercase)
	 * and type where the kind has them. */
	uint8_t key[16 + 4 + DNAME_MAXLEN];
	size_t n = 0;
	unsigned prefix = alen == 4 ? c->ipv4_prefix : c->ipv6_prefix;
	memset(key, 0, 16);
	for (unsigned i = 0; i < alen && i * 8 < prefix; i++) {
		unsigned take = prefix - i * 8 >= 8 ? 8 : prefix - i * 8;
		key[i] = (uint8_t)(addr[i] & (0xFF << (8 - take)));
	}
	n = 16;
	key[n++] = (uint8_t)alen;
	key[n++] = (uint8_t)kind;
	key[n++] = (uint8_t)rcode;
	key[n++] = kind == RRL_ANSWER ? (uint8_t)(qtype >> 8) ^ (uint8_t)qtype
				      : 0;
	if (name != NULL && kind != RRL_ERROR)
		n += dname_copy_lower(key + n, name);
	uint8_t hash[crypto_shorthash_siphash24_BYTES];
	crypto_shorthash_siphash24(hash, key, n, t->key);
	uint64_t h;
	memcpy(&h, hash, sizeof(h));
	struct bucket *b = &t->buckets[h & ((1u << t->bits) - 1)];
	uint32_t tag = (uint32_t)(h >> 32);

	int32_t rate = (int32_t)c->rate;
	if (b->tag != tag || b->stamp == 0) {
		/* A new key (or one pushed out by another): a full bucket. */
		b->tag = tag;
		b->stamp = now;
		b->tokens = rate;
		b->limited = 0;
	} else if (now != b->stamp) {
		/* Refill for the seconds gone by, up to one second's worth
		 * (no burst beyond the rate). */
		uint32_t gone = now - b->stamp;
		int64_t tokens = (int64_t)b->tokens + (int64_t)gone * rate;
		b->tokens = tokens > rate ? rate : (int32_t)tokens;
		b->stamp = now;
	}
	if (b->tokens > 0) {
		b->tokens--;
		return RRL_SEND;
	}
	/* Limited; keep the debt bounded so a flood ends a second after it
	 * stops. */
	if (b->tokens > -rate)
		b->tokens--;
	b->limited++;
	if (c->slip > 0 && b->limited % c->slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

int rrl_netblock_parse(struct rrl_netblock *nb, const char *text)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf))
		return ERR_SYNTAX;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(nb, 0, sizeof(*nb));
	if (inet_pton(AF_INET, buf, nb->addr) == 1)
		nb->family_len = 4;
	else if (inet_pton(AF_INET6, buf, nb->addr) == 1)
		nb->family_len = 16;
	else
		return ERR_SYNTAX;
	unsigned max = nb->family_len * 8u;
	unsigned prefix = max;
	if (slash != NULL) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || v > max)
			return ERR_SYNTAX;
		prefix = (unsigned)v;
	}
	nb->prefix = (uint8_t)prefix;
	return 0;
}

size_t rrl_truncate(uint8_t *resp, size_t len)
{
	if (len < MSG_HDRLEN || resp[4] != 0 || resp[5] != 1)
		return 0;
	size_t pos = MSG_HDRLEN;
	while (pos < len && resp[pos] != 0) {
		if ((resp[pos] & 0xC0) != 0)
			return 0;
		pos += resp[pos] + 1u;
	}
	pos += 1 + 4;
	if (pos > len)
		return 0;
	resp[2] |= (uint8_t)(MSG_FLAG_TC >> 8);
	memset(resp + 6, 0, 6); /* AN, NS, AR counts */
	return pos;
}
