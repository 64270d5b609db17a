/*
 * xfrin.c -- checking and assembling AXFR and IXFR responses.
 */
#include "xfr/xfrin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/serial.h"

static int fail(struct xfrin *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct xfrin *x, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
	return code;
}

int xfrin_init(struct xfrin *x, const uint8_t *apex, uint16_t qtype,
	       uint32_t our_serial, uint16_t id, struct tsig_ctx *tsig,
	       size_t max_rrs)
{
	memset(x, 0, sizeof(*x));
	memcpy(x->apex, apex, dname_len(apex));
	x->qtype = qtype;
	x->our_serial = our_serial;
	x->id = id;
	x->tsig = tsig;
	x->max_rrs = max_rrs;
	return 0;
}

void xfrin_free(struct xfrin *x)
{
	zone_builder_free(x->builder);
	x->builder = NULL;
	for (size_t i = 0; i < x->ndiffs; i++)
		zone_diff_free(&x->diffs[i]);
	free(x->diffs);
	x->diffs = NULL;
	x->ndiffs = 0;
	free(x->first_soa);
	x->first_soa = NULL;
}

int xfrin_request(struct xfrin *x, uint8_t *buf, size_t cap, size_t *len,
		  const uint8_t *soa_rdata, uint16_t soa_len, uint32_t soa_ttl,
		  uint64_t now)
{
	struct msg_writer w;
	size_t reserve = x->tsig ? tsig_space(x->tsig->key) : 0;
	if (cap <= MSG_HDRLEN + reserve)
		return ERR_SPACE;
	int r = msg_writer_init(&w, buf, cap, cap - reserve);
	if (r != 0)
		return r;
	msg_write_header(&w, x->id, 0);
	r = msg_write_question(&w, x->apex, x->qtype, RRCLASS_IN);
	if (r == 0 && x->qtype == RRTYPE_IXFR)
		r = msg_write_rr(&w, MSG_AUTHORITY, x->apex, RRTYPE_SOA,
				 RRCLASS_IN, soa_ttl, soa_rdata, soa_len);
	if (r != 0)
		return r;
	*len = msg_writer_len(&w);
	if (x->tsig)
		r = tsig_sign(x->tsig, buf, len, cap, now, TSIG_DEFAULT_FUDGE, 0,
			      NULL, 0);
	return r;
}

static struct zone_diff *new_diff(struct xfrin *x)
{
	if (x->ndiffs == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 4;
		struct zone_diff *grown = realloc(x->diffs, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		x->diffs = grown;
		x->cap = cap;
	}
	struct zone_diff *d = &x->diffs[x->ndiffs++];
	memset(d, 0, sizeof(*d));
	return d;
}

/* The serial a difference leads to: its added SOA's. */
static uint32_t diff_to(const struct zone_diff *d)
{
	return rdata_soa_field(d->added[0].rdata, SOA_SERIAL);
}

static int add_full(struct xfrin *x, const struct msg_rr *rr,
		    const uint8_t *rdata)
{
	int r = zone_builder_add(x->builder, rr->owner, rr->type, rr->ttl,
				 rdata, rr->rdlen, NULL, 0, NULL, NULL);
	if (r == ERR_NOMEM)
		return fail(x, r, "out of memory");
	if (r != 0)
		return fail(x, ERR_SEMANTIC, "RR %zu rejected: %s", x->rrs,
			    error_str(r));
	return 0;
}

/* One answer RR, in order. RFC 1995 §4 and RFC 5936 §2.2. */
static int take_rr(struct xfrin *x, const struct msg_rr *rr,
		   const uint8_t *rdata)
{
	bool soa = rr->type == RRTYPE_SOA;
	if (x->done)
		return fail(x, ERR_MALFORMED, "RRs after the final SOA");
	if (x->rrs == 1) {
		/* The first RR: the SOA of the version sent. */
		if (!soa || !dname_equal(rr->owner, x->apex))
			return fail(x, ERR_MALFORMED, "the answer does not start "
				    "with the zone's SOA");
		x->new_serial = rdata_soa_field(rdata, SOA_SERIAL);
		x->first_soa = malloc(rr->rdlen);
		if (x->first_soa == NULL)
			return fail(x, ERR_NOMEM, "out of memory");
		memcpy(x->first_soa, rdata, rr->rdlen);
		x->first_soa_len = rr->rdlen;
		x->first_soa_ttl = rr->ttl;
		return 0;
	}
	if (x->rrs == 2) {
		/* The second RR tells an incremental answer (an SOA with our
		 * serial) from a full one. */
		bool incremental = x->qtype == RRTYPE_IXFR && soa &&
				   rdata_soa_field(rdata, SOA_SERIAL) == x->our_serial &&
				   x->new_serial != x->our_serial;
		if (incremental) {
			x->kind = XFRIN_INCREMENTAL;
		} else {
			x->kind = XFRIN_FULL;
			x->builder = zone_builder_new(x->apex);
			if (x->builder == NULL)
				return fail(x, ERR_NOMEM, "out of memory");
			struct msg_rr first = *rr;
			first.type = RRTYPE_SOA;
			first.ttl = x->first_soa_ttl;
			first.rdlen = x->first_soa_len;
			memcpy(first.owner, x->apex, dname_len(x->apex));
			int r = add_full(x, &first, x->first_soa);
			if (r != 0)
				return r;
		}
	}
	if (x->kind == XFRIN_FULL) {
		if (soa && dname_equal(rr->owner, x->apex)) {
			if (rdata_soa_field(rdata, SOA_SERIAL) != x->new_serial)
				return fail(x, ERR_MALFORMED, "the final SOA's "
					    "serial %u is not the first one's %u",
					    rdata_soa_field(rdata, SOA_SERIAL), x->new_serial);
			x->done = true;
			return 0;
		}
		return add_full(x, rr, rdata);
	}

	/* Incremental: SOA(old) deletions SOA(new) additions ... SOA. */
	struct zone_diff *d = x->ndiffs ? &x->diffs[x->ndiffs - 1] : NULL;
	if (soa) {
		uint32_t s = rdata_soa_field(rdata, SOA_SERIAL);
		if (d == NULL || x->in_added) {
			if (d != NULL && diff_to(d) == x->new_serial) {
				if (s != x->new_serial)
					return fail(x, ERR_MALFORMED, "IXFR ends "
						    "with serial %u, not %u", s,
						    x->new_serial);
				x->done = true;
				return 0;
			}
			uint32_t from = d ? diff_to(d) : x->our_serial;
			if (s != from)
				return fail(x, ERR_MALFORMED, "IXFR difference "
					    "starts at serial %u, not %u", s, from);
			d = new_diff(x);
			if (d == NULL)
				return fail(x, ERR_NOMEM, "out of memory");
			x->in_added = false;
		} else {
			uint32_t from = rdata_soa_field(d->removed[0].rdata, SOA_SERIAL);
			if (serial_cmp(s, from) <= 0)
				return fail(x, ERR_MALFORMED, "IXFR difference "
					    "goes from serial %u to %u", from, s);
			if (serial_cmp(s, x->new_serial) > 0)
				return fail(x, ERR_MALFORMED, "IXFR difference "
					    "passes the final serial %u", x->new_serial);
			x->in_added = true;
		}
	}
	if (zone_diff_add(d, x->in_added, rr->owner, rr->type, rr->ttl, rdata,
			  rr->rdlen) != 0)
		return fail(x, ERR_NOMEM, "out of memory");
	return 0;
}

int xfrin_message(struct xfrin *x, const uint8_t *msg, size_t len,
		  uint64_t now)
{
	struct tsig_rr trr;
	int r = tsig_find(msg, len, &trr);
	if (r == ERR_MALFORMED || r == ERR_NOMEM)
		return fail(x, ERR_MALFORMED, "malformed TSIG");
	bool has_tsig = r == 0;
	if (x->tsig) {
		r = tsig_verify(x->tsig, msg, len, has_tsig ? &trr : NULL, now);
		if (r != 0)
			return fail(x, r, "TSIG check failed on message %zu: %s",
				    x->messages + 1, error_str(r));
	} else if (has_tsig) {
		return fail(x, ERR_BADKEY, "signed answer to an unsigned request");
	}
	size_t body = has_tsig ? trr.offset : len;

	struct msg_reader rd;
	struct msg_header h;
	msg_reader_init(&rd, msg, body);
	if (msg_read_header(&rd, &h) != 0)
		return fail(x, ERR_MALFORMED, "truncated header");
	if (h.id != x->id || !(h.flags & MSG_FLAG_QR) ||
	    msg_flags_opcode(h.flags) != OPCODE_QUERY)
		return fail(x, ERR_MALFORMED, "not an answer to our request");
	unsigned rcode = msg_flags_rcode(h.flags);
	if (rcode != RCODE_NOERROR) {
		x->rcode = (int)rcode;
		return fail(x, ERR_REFUSED, "the primary answered rcode %u", rcode);
	}
	if (h.flags & MSG_FLAG_TC)
		return fail(x, ERR_MALFORMED, "truncated answer");
	if (x->messages == 0 && h.count[0] != 1)
		return fail(x, ERR_MALFORMED, "first message without the question");
	for (unsigned i = 0; i < h.count[0]; i++) {
		struct msg_question q;
		if (msg_read_question(&rd, &q) != 0)
			return fail(x, ERR_MALFORMED, "malformed question");
		if (!dname_equal(q.name, x->apex) || q.type != x->qtype)
			return fail(x, ERR_MALFORMED, "the question is not ours");
	}
	x->messages++;
	x->bytes += len;
	static __thread uint8_t rdata[MSG_RDATA_MAX];
	for (unsigned i = 0; i < h.count[1]; i++) {
		struct msg_rr rr;
		if (msg_read_rr(&rd, &rr, rdata, sizeof(rdata)) != 0)
			return fail(x, ERR_MALFORMED, "malformed RR");
		x->rrs++;
		if (x->max_rrs && x->rrs > x->max_rrs)
			return fail(x, ERR_LIMIT, "more than %zu RRs", x->max_rrs);
		if (rr.rrclass != RRCLASS_IN)
			return fail(x, ERR_MALFORMED, "RR of class %u", rr.rrclass);
		if (!dname_is_subdomain(rr.owner, x->apex)) {
			char name[DNAME_STRLEN];
			dname_to_str(name, sizeof(name), rr.owner);
			return fail(x, ERR_OUTOFZONE, "out-of-zone RR %s", name);
		}
		r = take_rr(x, &rr, rdata);
		if (r != 0)
			return r;
	}
	/* Authority and additional sections carry nothing of the zone. */
	if (x->kind == XFRIN_UNKNOWN && x->rrs == 1 && x->qtype == RRTYPE_IXFR &&
	    serial_cmp(x->new_serial, x->our_serial) <= 0) {
		/* RFC 1995 §2: a lone SOA no newer than ours: up to date. */
		x->kind = XFRIN_UPTODATE;
		x->done = true;
	}
	if (!x->done)
		return XFRIN_MORE;
	if (x->tsig && !has_tsig)
		return fail(x, ERR_BADSIG, "the last message is not signed");
	return XFRIN_DONE;
}

int xfrin_finish(struct xfrin *x, const struct zone_version *base,
		 zone_log_fn log, void *arg, struct zone_version **out)
{
	*out = NULL;
	if (!x->done)
		return fail(x, ERR_BADSTATE, "transfer not complete");
	if (x->kind == XFRIN_UPTODATE)
		return 0;
	if (x->kind == XFRIN_FULL) {
		struct zone_builder *b = x->builder;
		x->builder = NULL;
		int r = zone_builder_finish(b, log, arg, out);
		if (r != 0)
			return fail(x, r, "the transferred zone is not valid: %s",
				    error_str(r));
		return 0;
	}
	if (base == NULL || base->serial != x->our_serial)
		return fail(x, ERR_BADSTATE, "no base version at serial %u",
			    x->our_serial);
	const struct zone_version *cur = base;
	struct zone_version *next = NULL;
	for (size_t i = 0; i < x->ndiffs; i++) {
		int r = zone_apply(cur, &x->diffs[i], log, arg, &next);
		if (cur != base)
			zone_version_release((struct zone_version *)cur);
		if (r != 0)
			return fail(x, r, "IXFR difference %zu does not apply: %s",
				    i + 1, error_str(r));
		cur = next;
	}
	if (cur == base || cur->serial != x->new_serial) {
		if (cur != base)
			zone_version_release((struct zone_version *)cur);
		return fail(x, ERR_MALFORMED, "IXFR does not end at serial %u",
			    x->new_serial);
	}
	*out = (struct zone_version *)cur;
	return 0;
}
