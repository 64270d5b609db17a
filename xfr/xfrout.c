/*
 * xfrout.c -- AXFR and IXFR responses, one message at a time.
 *
 * AXFR (RFC 5936 §2.2): the SOA, every other RR of the zone (glue and
 * occluded data included: a transfer carries the whole zone), the SOA
 * again. The question is echoed in the first message only (§2.2.1 lets
 * later ones omit it, as BIND, NSD and Knot do). RRs are packed as many as
 * fit per message, with name compression.
 *
 * IXFR (RFC 1995 §4): the new SOA, then for each difference the old SOA
 * and the RRs removed, the new SOA and the RRs added (the journal keeps the
 * SOAs first in each list), then the new SOA again.
 */
#include "xfr/xfrout.h"

#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"

static void init_common(struct xfrout *x, struct zone_version *v, uint16_t id,
			uint16_t query_flags, const uint8_t *qname,
			uint16_t qtype)
{
	memset(x, 0, sizeof(*x));
	zone_version_ref(v);
	x->version = v;
	x->soa = zone_node_rrset(v->apex, RRTYPE_SOA);
	x->id = id;
	x->flags = MSG_FLAG_QR | MSG_FLAG_AA | (query_flags & MSG_FLAG_RD);
	memcpy(x->qname, qname, dname_len(qname));
	x->qtype = qtype;
	x->first_message = true;
	x->phase = XFROUT_FIRST_SOA;
}

int xfrout_axfr_init(struct xfrout *x, struct zone_version *v, uint16_t id,
		     uint16_t query_flags, const uint8_t *qname, uint16_t qtype)
{
	init_common(x, v, id, query_flags, qname, qtype);
	x->iter = malloc(sizeof(*x->iter));
	if (x->iter == NULL) {
		xfrout_free(x);
		return ERR_NOMEM;
	}
	zone_iter_init(x->iter, v);
	x->node = zone_iter_next(x->iter);
	return 0;
}

int xfrout_ixfr_init(struct xfrout *x, struct zone_version *v, uint16_t id,
		     uint16_t query_flags, const uint8_t *qname,
		     struct zone_diff *diffs, size_t ndiffs)
{
	init_common(x, v, id, query_flags, qname, RRTYPE_IXFR);
	x->diffs = diffs;
	x->ndiffs = ndiffs;
	return 0;
}

void xfrout_free(struct xfrout *x)
{
	if (x->version)
		zone_version_release(x->version);
	free(x->iter);
	for (size_t i = 0; i < x->ndiffs; i++)
		zone_diff_free(&x->diffs[i]);
	free(x->diffs);
	memset(x, 0, sizeof(*x));
}

static int write_soa(struct xfrout *x, struct msg_writer *w)
{
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata = zone_rrset_next(x->soa, &pos, &len);
	return msg_write_rr(w, MSG_ANSWER, x->version->apex->owner,
			    RRTYPE_SOA, RRCLASS_IN, x->soa->ttl, rdata, len);
}

/* The next RR of the AXFR body, or false at the end. */
static bool axfr_peek(struct xfrout *x, const struct zone_rrset **set,
		      const uint8_t **rdata, uint16_t *len)
{
	while (x->node != NULL) {
		if (x->set < x->node->nrrsets) {
			const struct zone_rrset *rs = &x->node->rrsets[x->set];
			/* The apex SOA goes first and last only. */
			if (rs->type == RRTYPE_SOA && (x->node->flags & NODE_APEX)) {
				x->set++;
				continue;
			}
			size_t pos = x->rr_pos;
			*rdata = zone_rrset_next(rs, &pos, len);
			if (*rdata != NULL) {
				*set = rs;
				return true;
			}
			x->set++;
			x->rr_pos = 0;
			continue;
		}
		x->node = zone_iter_next(x->iter);
		x->set = 0;
		x->rr_pos = 0;
	}
	return false;
}

/* The bodies write RRs until the message is full (ERR_SPACE), at most
 * `max` of them (ERR_SPACE too when that stops them), or the end. */
static int axfr_body(struct xfrout *x, struct msg_writer *w, size_t max)
{
	const struct zone_rrset *set;
	const uint8_t *rdata;
	uint16_t len;
	for (size_t n = 0; axfr_peek(x, &set, &rdata, &len); n++) {
		if (n == max)
			return ERR_SPACE;
		int r = msg_write_rr(w, MSG_ANSWER, x->node->owner,
				     set->type, RRCLASS_IN, set->ttl, rdata, len);
		if (r != 0)
			return r;
		x->rr_pos += 2u + len;
		x->rrs++;
	}
	x->phase = XFROUT_LAST_SOA;
	return 0;
}

static int ixfr_body(struct xfrout *x, struct msg_writer *w, size_t max)
{
	for (size_t n = 0; x->diff < x->ndiffs;) {
		const struct zone_diff *d = &x->diffs[x->diff];
		const struct zone_change_rr *list = x->in_added ? d->added : d->removed;
		size_t nrr = x->in_added ? d->nadded : d->nremoved;
		if (x->rr < nrr) {
			if (n == max)
				return ERR_SPACE;
			const struct zone_change_rr *rr = &list[x->rr];
			int r = msg_write_rr(w, MSG_ANSWER, rr->owner,
					     rr->type, RRCLASS_IN, rr->ttl,
					     rr->rdata, rr->rdlen);
			if (r != 0)
				return r;
			x->rr++;
			x->rrs++;
			n++;
			continue;
		}
		x->rr = 0;
		if (!x->in_added) {
			x->in_added = true;
		} else {
			x->in_added = false;
			x->diff++;
		}
	}
	x->phase = XFROUT_LAST_SOA;
	return 0;
}

int xfrout_next(struct xfrout *x, uint8_t *buf, size_t limit, size_t *len,
		struct tsig_ctx *tsig, uint64_t now)
{
	if (x->phase == XFROUT_DONE)
		return ERR_BADSTATE;
	struct msg_writer w;
	size_t reserve = tsig ? tsig_space(tsig->key) : 0;
	if (limit > MSG_MAXLEN)
		limit = MSG_MAXLEN;
	if (limit <= MSG_HDRLEN + reserve)
		return ERR_SPACE;
	/* Filled to XFROUT_MESSAGE_SIZE; up to `limit` only for an RR that
	 * would not fit a message of that size even alone. */
	size_t fill = limit < XFROUT_MESSAGE_SIZE ? limit : XFROUT_MESSAGE_SIZE;
	int r = msg_writer_init(&w, buf, limit, fill - reserve);
	if (r != 0)
		return r;
	msg_write_header(&w, x->id, x->flags);
	if (x->first_message) {
		r = msg_write_question(&w, x->qname, x->qtype, RRCLASS_IN);
		if (r != 0)
			return r;
	}
	size_t before = x->rrs;
	if (x->phase == XFROUT_FIRST_SOA) {
		r = write_soa(x, &w);
		if (r != 0)
			return r;
		x->rrs++;
		/* An up-to-date IXFR client gets the SOA alone. */
		bool alone = x->iter == NULL && x->ndiffs == 0;
		x->phase = alone ? XFROUT_DONE : XFROUT_BODY;
	}
	if (x->phase == XFROUT_BODY) {
		r = x->iter ? axfr_body(x, &w, SIZE_MAX)
			    : ixfr_body(x, &w, SIZE_MAX);
		if (r == ERR_SPACE && x->rrs == before && fill < limit) {
			/* A record larger than the usual message: alone in
			 * one as large as it needs. Nothing was written. */
			r = msg_writer_set_limit(&w, limit - reserve);
			if (r == 0)
				r = x->iter ? axfr_body(x, &w, 1)
					    : ixfr_body(x, &w, 1);
		}
		if (r == ERR_SPACE && x->rrs > before)
			r = 0; /* message full: more follow */
		else if (r != 0)
			return r;
	}
	if (x->phase == XFROUT_LAST_SOA) {
		r = write_soa(x, &w);
		if (r == 0) {
			x->rrs++;
			x->phase = XFROUT_DONE;
		} else if (r != ERR_SPACE || x->rrs == before) {
			return r;
		}
	}
	*len = msg_writer_len(&w);
	if (tsig) {
		r = tsig_sign(tsig, buf, len, limit, now, TSIG_DEFAULT_FUDGE, 0,
			      NULL, 0);
		if (r != 0)
			return r;
	}
	x->first_message = false;
	x->messages++;
	return x->phase == XFROUT_DONE ? 0 : 1;
}
