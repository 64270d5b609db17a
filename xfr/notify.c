/*
 * notify.c -- NOTIFY (RFC 1996) and SOA queries.
 */
#include "xfr/notify.h"

#include <string.h>

#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/msg.h"
#include "dns/rrtype.h"

static int finish(uint8_t *buf, size_t cap, size_t *len, struct msg_writer *w,
		  struct tsig_ctx *tsig, uint64_t now)
{
	*len = msg_writer_len(w);
	if (tsig == NULL)
		return 0;
	return tsig_sign(tsig, buf, len, cap, now, TSIG_DEFAULT_FUDGE, 0, NULL, 0);
}

static int start(struct msg_writer *w, uint8_t *buf, size_t cap,
		 struct tsig_ctx *tsig)
{
	size_t reserve = tsig ? tsig_space(tsig->key) : 0;
	if (cap <= MSG_HDRLEN + reserve)
		return ERR_SPACE;
	return msg_writer_init(w, buf, cap, cap - reserve);
}

int notify_request(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		   const uint8_t *apex, const uint8_t *soa, uint16_t soa_len,
		   uint32_t soa_ttl, struct tsig_ctx *tsig, uint64_t now)
{
	struct msg_writer w;
	int r = start(&w, buf, cap, tsig);
	if (r != 0)
		return r;
	msg_write_header(&w, id, msg_flags_set_opcode(MSG_FLAG_AA, OPCODE_NOTIFY));
	r = msg_write_question(&w, apex, RRTYPE_SOA, RRCLASS_IN);
	if (r == 0 && soa != NULL)
		r = msg_write_rr(&w, MSG_ANSWER, apex, RRTYPE_SOA, RRCLASS_IN,
				 soa_ttl, soa, soa_len);
	return r != 0 ? r : finish(buf, cap, len, &w, tsig, now);
}

/* Common checks of an answer: signature, id, QR, opcode, the question.
 * Leaves the reader after the question. */
static int check_answer(struct msg_reader *rd, struct msg_header *h,
			const uint8_t *msg, size_t len, uint16_t id,
			unsigned opcode, const uint8_t *apex,
			struct tsig_ctx *tsig, uint64_t now)
{
	struct tsig_rr trr;
	int r = tsig_find(msg, len, &trr);
	if (r == ERR_MALFORMED || r == ERR_NOMEM)
		return ERR_MALFORMED;
	bool has_tsig = r == 0;
	if (tsig != NULL) {
		if (!has_tsig)
			return ERR_BADSIG;
		r = tsig_verify(tsig, msg, len, &trr, now);
		if (r != 0)
			return r;
	}
	msg_reader_init(rd, msg, has_tsig ? trr.offset : len);
	if (msg_read_header(rd, h) != 0 || h->id != id ||
	    !(h->flags & MSG_FLAG_QR) || msg_flags_opcode(h->flags) != opcode)
		return ERR_MALFORMED;
	if (h->count[0] != 1)
		return ERR_MALFORMED;
	struct msg_question q;
	if (msg_read_question(rd, &q) != 0 || !dname_equal(q.name, apex) ||
	    q.type != RRTYPE_SOA)
		return ERR_MALFORMED;
	return 0;
}

int notify_check_answer(const uint8_t *msg, size_t len, uint16_t id,
			const uint8_t *apex, struct tsig_ctx *tsig,
			uint64_t now, unsigned *rcode)
{
	struct msg_reader rd;
	struct msg_header h;
	int r = check_answer(&rd, &h, msg, len, id, OPCODE_NOTIFY, apex, tsig, now);
	if (r != 0)
		return r;
	*rcode = msg_flags_rcode(h.flags);
	return *rcode == RCODE_NOERROR ? 0 : ERR_REFUSED;
}

int notify_parse(const uint8_t *msg, size_t len, struct notify_in *out)
{
	struct msg_reader rd;
	struct msg_header h;
	memset(out, 0, sizeof(*out));
	msg_reader_init(&rd, msg, len);
	if (msg_read_header(&rd, &h) != 0 || (h.flags & MSG_FLAG_QR) ||
	    msg_flags_opcode(h.flags) != OPCODE_NOTIFY || h.count[0] != 1)
		return ERR_MALFORMED;
	struct msg_question q;
	if (msg_read_question(&rd, &q) != 0 || q.type != RRTYPE_SOA ||
	    q.rrclass != RRCLASS_IN)
		return ERR_MALFORMED;
	out->id = h.id;
	memcpy(out->apex, q.name, q.name_len);
	/* RFC 1996 §3.7: the answer may carry the new SOA as a hint. */
	static __thread uint8_t rdata[MSG_RDATA_MAX];
	for (unsigned i = 0; i < h.count[1]; i++) {
		struct msg_rr rr;
		if (msg_read_rr(&rd, &rr, rdata, sizeof(rdata)) != 0)
			return ERR_MALFORMED;
		if (rr.type == RRTYPE_SOA && dname_equal(rr.owner, q.name)) {
			out->has_serial = true;
			out->serial = rdata_soa_field(rdata, SOA_SERIAL);
		}
	}
	return 0;
}

int notify_answer(const struct notify_in *q, uint8_t *buf, size_t cap,
		  size_t *len, unsigned rcode, struct tsig_ctx *tsig,
		  uint64_t now)
{
	struct msg_writer w;
	int r = start(&w, buf, cap, tsig);
	if (r != 0)
		return r;
	uint16_t flags = MSG_FLAG_QR | MSG_FLAG_AA;
	flags = msg_flags_set_opcode(flags, OPCODE_NOTIFY);
	msg_write_header(&w, q->id, msg_flags_set_rcode(flags, rcode));
	r = msg_write_question(&w, q->apex, RRTYPE_SOA, RRCLASS_IN);
	return r != 0 ? r : finish(buf, cap, len, &w, tsig, now);
}

int refresh_request(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		    const uint8_t *apex, struct tsig_ctx *tsig, uint64_t now)
{
	struct msg_writer w;
	int r = start(&w, buf, cap, tsig);
	if (r != 0)
		return r;
	msg_write_header(&w, id, 0);
	r = msg_write_question(&w, apex, RRTYPE_SOA, RRCLASS_IN);
	return r != 0 ? r : finish(buf, cap, len, &w, tsig, now);
}

int refresh_check_answer(const uint8_t *msg, size_t len, uint16_t id,
			 const uint8_t *apex, struct tsig_ctx *tsig,
			 uint64_t now, uint32_t *serial, unsigned *rcode)
{
	struct msg_reader rd;
	struct msg_header h;
	*rcode = 0;
	int r = check_answer(&rd, &h, msg, len, id, OPCODE_QUERY, apex, tsig, now);
	if (r != 0)
		return r;
	if (h.flags & MSG_FLAG_TC)
		return 1;
	*rcode = msg_flags_rcode(h.flags);
	if (*rcode != RCODE_NOERROR)
		return ERR_REFUSED;
	static __thread uint8_t rdata[MSG_RDATA_MAX];
	for (unsigned i = 0; i < h.count[1]; i++) {
		struct msg_rr rr;
		if (msg_read_rr(&rd, &rr, rdata, sizeof(rdata)) != 0)
			return ERR_MALFORMED;
		if (rr.type == RRTYPE_SOA && dname_equal(rr.owner, apex)) {
			/* A lame primary answers without AA. */
			if (!(h.flags & MSG_FLAG_AA))
				return ERR_REFUSED;
			*serial = rdata_soa_field(rdata, SOA_SERIAL);
			return 0;
		}
	}
	return ERR_REFUSED; /* no SOA: not authoritative for the zone */
}
