/*
 * xfrin.h -- zone transfers in: the request, and the checks and assembly
 * of an AXFR (RFC 5936) or IXFR (RFC 1995) response, message by message.
 *
 * No I/O: the caller sends the request and feeds each response message.
 * Nothing is published here: a full transfer yields a new version built
 * off to the side, an incremental one a list of differences that
 * xfrin_finish() applies strictly to the version being served. Any
 * violation rejects the whole transfer (one out-of-zone RR, a bad SOA
 * sequence, a deletion of an RR that does not exist, a bad signature):
 * silently dropping parts of it would hide a broken or hostile primary.
 */
#ifndef TANDEM_XFR_XFRIN_H
#define TANDEM_XFR_XFRIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "dns/tsig.h"
#include "zonedb/load.h"
#include "zonedb/zone.h"

enum xfrin_result {
	XFRIN_MORE = 1,       /* feed the next message */
	XFRIN_DONE = 0,       /* the transfer is complete */
};

enum xfrin_kind {
	XFRIN_UNKNOWN,
	XFRIN_UPTODATE,       /* IXFR answered with our own serial: nothing */
	XFRIN_FULL,           /* a whole zone (AXFR, or IXFR answered AXFR-style) */
	XFRIN_INCREMENTAL,    /* differences to apply */
};

struct xfrin {
	uint8_t apex[DNAME_MAXLEN];
	uint16_t qtype;               /* AXFR or IXFR */
	uint16_t id;
	uint32_t our_serial;          /* IXFR: the serial we have */
	struct tsig_ctx *tsig;        /* NULL: unsigned transfer */
	size_t max_rrs;               /* 0: no limit */
	enum xfrin_kind kind;
	uint32_t new_serial;          /* the first SOA's serial */
	size_t messages, rrs, bytes;
	int rcode;                    /* the primary's rcode when not NOERROR */
	char error[256];              /* why it failed, for logs/zonestatus */
	/* assembly */
	struct zone_builder *builder; /* XFRIN_FULL */
	uint8_t *first_soa;           /* rdata of the first SOA */
	uint16_t first_soa_len;
	uint32_t first_soa_ttl;
	struct zone_diff *diffs;      /* XFRIN_INCREMENTAL */
	size_t ndiffs, cap;
	bool in_added;                /* IXFR: in the additions of a diff */
	bool done;
};

/* Starts a transfer of zone `apex`: qtype AXFR, or IXFR from our_serial.
 * tsig (kept, not owned) signs the request and checks every answer.
 * max_rrs bounds the zone size (a rogue primary cannot exhaust memory). */
int xfrin_init(struct xfrin *x, const uint8_t *apex, uint16_t qtype,
	       uint32_t our_serial, uint16_t id, struct tsig_ctx *tsig,
	       size_t max_rrs);

/* Writes the request: the question, for IXFR our SOA in the authority
 * section (RFC 1995 §3; soa_rdata is our apex SOA), and the TSIG. Returns
 * 0 or ERR_SPACE. */
int xfrin_request(struct xfrin *x, uint8_t *buf, size_t cap, size_t *len,
		  const uint8_t *soa_rdata, uint16_t soa_len, uint32_t soa_ttl,
		  uint64_t now);

/* Feeds one response message. Returns XFRIN_MORE, XFRIN_DONE, or an
 * error with x->error set: ERR_REFUSED (the primary's rcode is in
 * x->rcode), ERR_BADSIG/ERR_BADKEY/ERR_BADTIME, ERR_MALFORMED,
 * ERR_OUTOFZONE, ERR_SEMANTIC, ERR_LIMIT. */
int xfrin_message(struct xfrin *x, const uint8_t *msg, size_t len,
		  uint64_t now);

/* Turns a complete transfer into a version: builds the zone (FULL) or
 * applies the differences in order to `base` (INCREMENTAL), checking that
 * they chain from base's serial to the new one. Returns 0 with *out set
 * (NULL for UPTODATE), or an error with x->error set. */
int xfrin_finish(struct xfrin *x, const struct zone_version *base,
		 zone_log_fn log, void *arg, struct zone_version **out);

/* Frees everything (a half-done transfer included). */
void xfrin_free(struct xfrin *x);

#endif
