/*
 * acl.h -- who may transfer a zone or notify us: address prefixes paired
 * with the TSIG key a request must be signed with.
 */
#ifndef TANDEM_XFR_ACL_H
#define TANDEM_XFR_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/tsig.h"

struct acl_entry {
	int family;                /* AF_INET or AF_INET6 */
	uint8_t addr[16];          /* network address */
	uint8_t prefix;            /* prefix length in bits */
	const struct tsig_key *key; /* required key; NULL: unsigned ("key NONE") */
};

/* Parses "ADDRESS[/PREFIX]" into an entry (key left NULL). Returns 0 or
 * ERR_SYNTAX. */
int acl_parse(const char *str, struct acl_entry *out);

/* True when the address falls inside the entry's prefix. */
bool acl_match_addr(const struct acl_entry *e, const struct sockaddr *sa);

/* True when some entry matches the source address and the request's key:
 * an entry naming a key matches only requests verified with that key; an
 * entry with no key matches unsigned requests (and signed ones too, which
 * are then answered signed). `key` is the verified request key or NULL.
 * No entries at all: nothing is allowed. */
bool acl_allows(const struct acl_entry *acl, size_t n,
		const struct sockaddr *sa, const struct tsig_key *key);

#endif
