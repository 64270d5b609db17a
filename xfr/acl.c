/*
 * acl.c -- address prefixes and keys.
 */
#include "xfr/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns/error.h"

int acl_parse(const char *str, struct acl_entry *out)
{
	memset(out, 0, sizeof(*out));
	char buf[64];
	size_t len = strlen(str);
	if (len >= sizeof(buf))
		return ERR_SYNTAX;
	memcpy(buf, str, len + 1);
	char *slash = strchr(buf, '/');
	long prefix = -1;
	if (slash) {
		*slash = '\0';
		char *end;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0' || prefix < 0)
			return ERR_SYNTAX;
	}
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		if (prefix > 32)
			return ERR_SYNTAX;
		out->prefix = (uint8_t)(prefix < 0 ? 32 : prefix);
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		if (prefix > 128)
			return ERR_SYNTAX;
		out->prefix = (uint8_t)(prefix < 0 ? 128 : prefix);
	} else {
		return ERR_SYNTAX;
	}
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool acl_match_addr(const struct acl_entry *e, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family = sa->sa_family;
	uint8_t mapped[4];
	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		addr = a6->s6_addr;
		/* An IPv4 client on a dual-stack socket. */
		if (e->family == AF_INET && IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(mapped, a6->s6_addr + 12, 4);
			addr = mapped;
			family = AF_INET;
		}
	} else {
		return false;
	}
	return family == e->family && prefix_equal(addr, e->addr, e->prefix);
}

bool acl_allows(const struct acl_entry *acl, size_t n,
		const struct sockaddr *sa, const struct tsig_key *key)
{
	for (size_t i = 0; i < n; i++) {
		const struct acl_entry *e = &acl[i];
		if (!acl_match_addr(e, sa))
			continue;
		if (e->key == NULL)
			return true;
		if (key != NULL && dname_equal(key->name, e->key->name) &&
		    key->algorithm == e->key->algorithm)
			return true;
	}
	return false;
}
