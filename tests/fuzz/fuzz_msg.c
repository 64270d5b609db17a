/*
 * fuzz_msg.c -- the message reader (dns/msg.h) on any octets.
 *
 * The input is one DNS message. It is read the way tandem reads what it
 * receives: header, questions, every RR with its rdata (names
 * decompressed), the OPT RR and its options, the TSIG RR. Besides the
 * sanitizers, four invariants are checked:
 *  - msg_skip_rr accepts every RR msg_read_rr accepts and ends at the
 *    same offset;
 *  - after a successful msg_edns_parse, msg_edns_next_option never fails;
 *  - every message read is written again with msg_writer (compressed
 *    afresh) and that message reads back to the same RRs (names compared
 *    without case: compression may take another spelling's case);
 *  - the writer never passes its limit;
 *  - an RR written from its image (msg_image_build, msg_write_image)
 *    after the message's question is the octets msg_write_rr writes
 *    there, and so is an RR written after it (the writer is the same).
 */
#include <ctype.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "tests/fuzz/fuzz_util.h"

static uint8_t rdata[MSG_RDATA_MAX];
static uint8_t rdata2[MSG_RDATA_MAX];
static uint8_t out[MSG_MAXLEN];
static uint8_t img_out[2][MSG_MAXLEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static bool same_nocase(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (tolower(a[i]) != tolower(b[i]))
			return false;
	return true;
}

static void check_edns(const struct msg_rr *rr, const uint8_t *rd)
{
	struct msg_edns edns;
	if (msg_edns_parse(rr, rd, &edns) != 0)
		return;
	size_t pos = 0, n = 0;
	uint16_t code, len;
	const uint8_t *data;
	int r;
	while ((r = msg_edns_next_option(&edns, &pos, &code, &data, &len)) ==
	       1) {
		FUZZ_CHECK(data >= edns.options &&
			       data + len <= edns.options + edns.options_len,
			   "option outside the OPT rdata");
		n++;
	}
	FUZZ_CHECK(r == 0, "msg_edns_next_option %d after msg_edns_parse", r);
	(void)msg_edns_find_option(&edns, EDNS_OPT_NSID, &data, &len);
	(void)msg_edns_find_option(&edns, EDNS_OPT_COOKIE, &data, &len);
	(void)n;
}

/* Reads the written copy back and compares it, RR by RR, with a second
 * read of the original. */
static void check_copy(const uint8_t *msg, size_t size, size_t copy_len,
		       const struct msg_header *h)
{
	struct msg_reader a, b;
	struct msg_header ha, hb;
	msg_reader_init(&a, msg, size);
	msg_reader_init(&b, out, copy_len);
	FUZZ_CHECK(msg_read_header(&a, &ha) == 0, "header");
	FUZZ_CHECK(msg_read_header(&b, &hb) == 0, "copy: header");
	FUZZ_CHECK(memcmp(ha.count, hb.count, sizeof(ha.count)) == 0 &&
		       ha.id == hb.id && ha.flags == hb.flags,
		   "copy: header differs");
	for (unsigned i = 0; i < h->count[MSG_QUESTION]; i++) {
		struct msg_question qa, qb;
		FUZZ_CHECK(msg_read_question(&a, &qa) == 0, "question");
		int r = msg_read_question(&b, &qb);
		FUZZ_CHECK(r == 0, "copy: question %u unreadable: %d", i, r);
		FUZZ_CHECK(qa.name_len == qb.name_len && qa.type == qb.type &&
			       qa.rrclass == qb.rrclass &&
			       same_nocase(qa.name, qb.name, qa.name_len),
			   "copy: question %u differs", i);
	}
	unsigned total = (unsigned)h->count[1] + h->count[2] + h->count[3];
	for (unsigned i = 0; i < total; i++) {
		struct msg_rr ra, rb;
		FUZZ_CHECK(msg_read_rr(&a, &ra, rdata, sizeof(rdata)) == 0,
			   "RR %u", i);
		int r = msg_read_rr(&b, &rb, rdata2, sizeof(rdata2));
		FUZZ_CHECK(r == 0, "copy: RR %u (type %u) unreadable: %d", i,
			   ra.type, r);
		FUZZ_CHECK(ra.owner_len == rb.owner_len &&
			       same_nocase(ra.owner, rb.owner, ra.owner_len),
			   "copy: RR %u owner differs", i);
		FUZZ_CHECK(ra.type == rb.type && ra.rrclass == rb.rrclass &&
			       ra.ttl == rb.ttl,
			   "copy: RR %u type/class/ttl differ", i);
		FUZZ_CHECK(ra.rdlen == rb.rdlen &&
			       same_nocase(rdata, rdata2, ra.rdlen),
			   "copy: RR %u (type %u) rdata differs (%u vs %u "
			   "octets)",
			   i, ra.type, ra.rdlen, rb.rdlen);
	}
	FUZZ_CHECK(msg_reader_remaining(&b) == 0, "copy: %zu trailing octets",
		   msg_reader_remaining(&b));
}

/* Writes question q, then rr from its image (when one applies) or with
 * msg_write_rr, then rr again with msg_write_rr, into img_out[k].
 * Returns the length, or 0 when a write fails; *applied says whether the
 * image was used. */
static size_t write_with_image(int k, const struct msg_question *q,
			       const struct msg_rr *rr, const uint8_t *rd,
			       const struct msg_image *img, bool *applied)
{
	struct msg_writer w;
	*applied = false;
	if (msg_writer_init(&w, img_out[k], sizeof(img_out[k]), 4096) != 0 ||
	    msg_write_question(&w, q->name, q->type, q->rrclass) != 0)
		return 0;
	int r = img ? msg_write_image(&w, MSG_AUTHORITY, img) : ERR_NOTFOUND;
	*applied = r == 0;
	if (r == ERR_NOTFOUND)
		r = msg_write_rr(&w, MSG_AUTHORITY, rr->owner, rr->type,
				 rr->rrclass, rr->ttl, rd, rr->rdlen);
	if (r != 0 || msg_write_rr(&w, MSG_ADDITIONAL, rr->owner, rr->type,
				   rr->rrclass, rr->ttl, rd, rr->rdlen) != 0)
		return 0;
	return msg_writer_len(&w);
}

static void check_image(const struct msg_question *q, const struct msg_rr *rr,
			const uint8_t *rd)
{
	static struct msg_image img;
	if (msg_image_build(&img, rr->owner, rr->type, rr->rrclass, rr->ttl, rd,
			    rr->rdlen) != 0)
		return;
	bool plain, applied;
	size_t a = write_with_image(0, q, rr, rd, NULL, &plain);
	size_t b = write_with_image(1, q, rr, rd, &img, &applied);
	FUZZ_CHECK(a == b && memcmp(img_out[0], img_out[1], a) == 0,
		   "image: %zu octets, msg_write_rr %zu, or others (%s)", b,
		   a, applied ? "image used" : "image not used");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_reader r, skip;
	struct msg_header h;
	msg_reader_init(&r, data, size);
	if (msg_read_header(&r, &h) != 0)
		return 0;
	skip = r;

	struct msg_writer w;
	FUZZ_SETUP(msg_writer_init(&w, out, sizeof(out), MSG_MAXLEN) == 0);
	msg_write_header(&w, h.id, h.flags);
	bool copy_ok = true;
	static struct msg_question q0;
	bool image_checked = h.count[MSG_QUESTION] == 0;

	for (unsigned i = 0; i < h.count[MSG_QUESTION]; i++) {
		struct msg_question q;
		if (msg_read_question(&r, &q) != 0)
			return 0;
		if (i == 0)
			q0 = q;
		FUZZ_CHECK(q.name_len == dname_len(q.name) &&
			       dname_check(q.name, q.name_len) ==
				   (int)q.name_len,
			   "question name not a valid name");
		if (copy_ok && msg_write_question(&w, q.name, q.type,
						  q.rrclass) != 0)
			copy_ok = false;
	}
	skip = r;

	for (int s = MSG_ANSWER; s <= MSG_ADDITIONAL; s++) {
		for (unsigned i = 0; i < h.count[s]; i++) {
			struct msg_rr rr;
			if (msg_read_rr(&r, &rr, rdata, sizeof(rdata)) != 0)
				goto done;
			FUZZ_CHECK(rr.owner_len == dname_len(rr.owner),
				   "owner length");
			FUZZ_CHECK(msg_skip_rr(&skip) == 0,
				   "msg_skip_rr rejects an RR msg_read_rr "
				   "accepts");
			FUZZ_CHECK(msg_reader_offset(&skip) ==
				       msg_reader_offset(&r),
				   "msg_skip_rr ends at %zu, msg_read_rr at %zu",
				   msg_reader_offset(&skip),
				   msg_reader_offset(&r));
			if (rr.type == RRTYPE_OPT)
				check_edns(&rr, rdata);
			if (!image_checked) {
				check_image(&q0, &rr, rdata);
				image_checked = true;
			}
			if (!copy_ok)
				continue;
			struct msg_mark mark;
			msg_writer_mark(&w, &mark);
			int ret = msg_write_rr(&w, (enum msg_section)s,
					       rr.owner, rr.type, rr.rrclass,
					       rr.ttl, rdata, rr.rdlen);
			if (ret != 0) {
				/* e.g. empty rdata of class NONE, which only
				 * the reader accepts; or no room left */
				msg_writer_rollback(&w, &mark);
				copy_ok = false;
			}
			FUZZ_CHECK(msg_writer_len(&w) <= MSG_MAXLEN,
				   "writer past its limit");
		}
	}
	if (copy_ok)
		check_copy(data, size, msg_writer_len(&w), &h);
done:;
	struct tsig_rr trr;
	if (tsig_find(data, size, &trr) == 0)
		FUZZ_CHECK(trr.offset >= MSG_HDRLEN && trr.offset < size &&
			       trr.mac + trr.mac_len <= data + size &&
			       trr.other + trr.other_len == data + size,
			   "tsig_find: fields outside the message");
	return 0;
}
