/*
 * xfrout.h -- zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995)
 * responses, one message at a time.
 *
 * A transfer holds a reference to the version it streams, so a reload that
 * publishes a newer one does not disturb it, and it never builds more than
 * one message ahead: the caller asks for the next message when the
 * connection can take it.
 */
#ifndef TANDEM_XFR_XFROUT_H
#define TANDEM_XFR_XFROUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "dns/tsig.h"
#include "zonedb/load.h"
#include "zonedb/zone.h"

/* Size of each transfer message over TCP. A compression pointer reaches
 * only the first 16 KB of a message (RFC 1035 §4.1.4: 14-bit offsets), so
 * names written past that are no targets for later ones; 16 KB messages
 * keep every name a target (NSD and Knot send about this much), which
 * makes the whole transfer smaller than 64 KB messages would, and lets the
 * client parse one while the next is on the way. */
#define XFROUT_MESSAGE_SIZE 16384

enum xfrout_phase {
	XFROUT_FIRST_SOA,
	XFROUT_BODY,
	XFROUT_LAST_SOA,
	XFROUT_DONE,
};

struct xfrout {
	struct zone_version *version;  /* referenced */
	const struct zone_rrset *soa;
	uint16_t id, flags;
	uint8_t qname[DNAME_MAXLEN];   /* as asked, case kept */
	uint16_t qtype;
	bool first_message;
	enum xfrout_phase phase;
	/* AXFR: position in the zone */
	struct zone_iter *iter;
	const struct zone_node *node;
	uint16_t set;                  /* index of the RRset in node */
	size_t rr_pos;                 /* offset in the RRset's rdata */
	/* IXFR: the differences, oldest first */
	struct zone_diff *diffs;
	size_t ndiffs, diff;           /* current difference */
	bool in_added;                 /* in its added list */
	size_t rr;                     /* index in the current list */
	size_t messages, rrs;          /* counters, for the log */
};

/* Starts an AXFR of version v (a reference is taken) answering the query
 * with this id, flags (RD is copied) and question. Returns 0 or
 * ERR_NOMEM. */
int xfrout_axfr_init(struct xfrout *x, struct zone_version *v, uint16_t id,
		     uint16_t query_flags, const uint8_t *qname, uint16_t qtype);

/* Starts an IXFR answer made of `ndiffs` differences (oldest first,
 * chaining from the client's serial to v's; the array and its diffs are
 * taken over and freed by xfrout_free). With ndiffs 0 the answer is v's
 * SOA alone (the client is up to date, RFC 1995 §2). */
int xfrout_ixfr_init(struct xfrout *x, struct zone_version *v, uint16_t id,
		     uint16_t query_flags, const uint8_t *qname,
		     struct zone_diff *diffs, size_t ndiffs);

/* Writes the next message into buf (at most `limit` octets, 65535 on
 * TCP), signing it with tsig when non-NULL (every message is signed).
 * Returns 1 when more messages follow, 0 when this was the last, or a
 * negative error (ERR_SPACE: an RR larger than a message). */
int xfrout_next(struct xfrout *x, uint8_t *buf, size_t limit, size_t *len,
		struct tsig_ctx *tsig, uint64_t now);

/* Releases the version and any differences. */
void xfrout_free(struct xfrout *x);

#endif
