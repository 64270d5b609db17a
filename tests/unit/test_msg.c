/*
 * test_msg.c -- DNS message reader, writer, compression and EDNS.
 *
 * Reader tests copy each message into a heap block of its exact size, so
 * AddressSanitizer reports any read past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

/*
 * Helpers.
 */

/* ck_assert_msg that records nothing when it passes: Check logs every
 * passing assertion to a file, which dominates loops of many thousands. */
#define expect(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

/* A message or rdata assembled by hand (all small here). */
struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put_bytes(struct buf *m, const void *data, size_t len)
{
	expect(m->n + len <= sizeof(m->b), "buf overflow");
	memcpy(m->b + m->n, data, len);
	m->n += len;
}

static void put_u8(struct buf *m, uint8_t v)
{
	put_bytes(m, &v, 1);
}

static void put_u16(struct buf *m, uint16_t v)
{
	put_u8(m, (uint8_t)(v >> 8));
	put_u8(m, (uint8_t)v);
}

static void put_u32(struct buf *m, uint32_t v)
{
	put_u16(m, (uint16_t)(v >> 16));
	put_u16(m, (uint16_t)v);
}

static void put_ptr(struct buf *m, uint16_t off)
{
	put_u16(m, (uint16_t)(0xC000 | off));
}

/* A label without the root after it. */
static void put_label(struct buf *m, const char *label)
{
	put_u8(m, (uint8_t)strlen(label));
	put_bytes(m, label, strlen(label));
}

static void put_header(struct buf *m, uint16_t id, uint16_t flags, uint16_t qd,
		       uint16_t an, uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put_u16(m, id);
	put_u16(m, flags);
	put_u16(m, qd);
	put_u16(m, an);
	put_u16(m, ns);
	put_u16(m, ar);
}

/* Parses an absolute name into one of a few rotating static slots. */
static const uint8_t *N(const char *str)
{
	static uint8_t slots[16][DNAME_MAXLEN];
	static int next;
	uint8_t *out = slots[next++ % 16];
	int n = dname_from_str(out, str, strlen(str), NULL);
	expect(n > 0, "bad name '%s'", str);
	return out;
}

static void put_name(struct buf *m, const char *str)
{
	const uint8_t *n = N(str);
	put_bytes(m, n, dname_len(n));
}

/* The fixed part of an RR after its owner. */
static void put_rr_fixed(struct buf *m, uint16_t type, uint16_t rrclass,
			 uint32_t ttl, uint16_t rdlen)
{
	put_u16(m, type);
	put_u16(m, rrclass);
	put_u32(m, ttl);
	put_u16(m, rdlen);
}

/* A heap copy of exactly len octets, so ASan sees over-reads. */
static uint8_t *exact_copy(const uint8_t *data, size_t len)
{
	uint8_t *p = malloc(len != 0 ? len : 1);
	expect(p != NULL, "out of memory");
	if (len != 0)
		memcpy(p, data, len);
	return p;
}

/* Reads the name at `pos` of m[0..len); returns the result and sets
 * *after to the reader position afterwards. */
static int read_name_at(const struct buf *m, size_t len, size_t pos,
			uint8_t out[DNAME_MAXLEN], size_t *after)
{
	uint8_t *copy = exact_copy(m->b, len);
	struct msg_reader r;
	msg_reader_init(&r, copy, len);
	r.pos = pos;
	int rc = msg_read_name(&r, out);
	if (after != NULL)
		*after = msg_reader_offset(&r);
	free(copy);
	return rc;
}

static int name_at(const struct buf *m, size_t pos, uint8_t out[DNAME_MAXLEN])
{
	return read_name_at(m, m->n, pos, out, NULL);
}

/* Reads a whole message the way a server would: header, questions, RRs.
 * Returns 0 or the first error. */
static int parse_all(const uint8_t *msg, size_t len)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	uint8_t *copy = exact_copy(msg, len);
	struct msg_reader r;
	struct msg_header h;
	struct msg_question q;
	struct msg_rr rr;
	int rc;

	msg_reader_init(&r, copy, len);
	rc = msg_read_header(&r, &h);
	for (int i = 0; rc == 0 && i < h.count[0]; i++)
		rc = msg_read_question(&r, &q);
	int rrs = h.count[1] + h.count[2] + h.count[3];
	for (int i = 0; rc == 0 && i < rrs; i++) {
		size_t before = msg_reader_offset(&r);
		rc = msg_read_rr(&r, &rr, rdata, sizeof(rdata));
		if (rc == 0) {
			expect(rr.offset == before, "offset %zu", rr.offset);
			expect(msg_reader_offset(&r) > before, "no progress");
			expect(dname_check(rr.owner, DNAME_MAXLEN) ==
				   rr.owner_len,
			       "bad owner");
		} else {
			expect(msg_reader_offset(&r) == before,
			       "reader moved on error %d", rc);
		}
	}
	free(copy);
	return rc;
}

/* A fresh writer over a static buffer. */
static uint8_t wbuf[4][MSG_MAXLEN + 1000];

static void writer(struct msg_writer *w, int slot, size_t limit)
{
	memset(wbuf[slot], 0xEE, sizeof(wbuf[slot]));
	ck_assert_int_eq(
	    msg_writer_init(w, wbuf[slot], sizeof(wbuf[slot]), limit), 0);
}

static int write_a(struct msg_writer *w, enum msg_section s, const char *owner,
		   uint32_t addr)
{
	uint8_t rd[4] = {(uint8_t)(addr >> 24), (uint8_t)(addr >> 16),
			 (uint8_t)(addr >> 8), (uint8_t)addr};
	return msg_write_rr(w, s, N(owner), RRTYPE_A, RRCLASS_IN, 300, rd, 4);
}

static int write_name_rr(struct msg_writer *w, enum msg_section s,
			 const char *owner, uint16_t type, const char *target)
{
	const uint8_t *t = N(target);
	return msg_write_rr(w, s, N(owner), type, RRCLASS_IN, 300, t,
			    dname_len(t));
}

static int write_mx(struct msg_writer *w, enum msg_section s, const char *owner,
		    uint16_t pref, const char *exchange)
{
	struct buf rd = {.n = 0};
	put_u16(&rd, pref);
	put_name(&rd, exchange);
	return msg_write_rr(w, s, N(owner), RRTYPE_MX, RRCLASS_IN, 300, rd.b,
			    rd.n);
}

static void soa_rdata(struct buf *rd, const char *mname, const char *rname)
{
	rd->n = 0;
	put_name(rd, mname);
	put_name(rd, rname);
	put_u32(rd, 2024010101u);
	put_u32(rd, 7200);
	put_u32(rd, 3600);
	put_u32(rd, 1209600);
	put_u32(rd, 300);
}

/* Searches for a byte string in the written message. */
static int count_occurrences(const struct msg_writer *w, const void *needle,
			     size_t len)
{
	int count = 0;
	const uint8_t *msg = msg_writer_data(w);
	for (size_t i = 0; i + len <= msg_writer_len(w); i++)
		if (memcmp(msg + i, needle, len) == 0)
			count++;
	return count;
}

static uint32_t rng_state;

static uint32_t rnd(void)
{
	uint32_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

/*
 * Header and flags.
 */

START_TEST(test_header)
{
	struct buf m = {.n = 0};
	put_header(&m, 0xBEEF, MSG_FLAG_QR | MSG_FLAG_AA | 0x2800 | 3, 1, 2, 3,
		   4);
	uint8_t *copy = exact_copy(m.b, m.n);
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, copy, m.n);
	ck_assert_int_eq(msg_read_header(&r, &h), 0);
	ck_assert_uint_eq(h.id, 0xBEEF);
	ck_assert_uint_eq(msg_flags_opcode(h.flags), OPCODE_UPDATE);
	ck_assert_uint_eq(msg_flags_rcode(h.flags), RCODE_NXDOMAIN);
	ck_assert(h.flags & MSG_FLAG_QR);
	ck_assert(h.flags & MSG_FLAG_AA);
	ck_assert(!(h.flags & MSG_FLAG_TC));
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(h.count[i], i + 1);
	ck_assert_uint_eq(msg_reader_offset(&r), 12);
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	free(copy);
}
END_TEST

START_TEST(test_header_truncated)
{
	struct buf m = {.n = 0};
	put_header(&m, 1, 0, 1, 0, 0, 0);
	for (size_t len = 0; len < MSG_HDRLEN; len++) {
		uint8_t *copy = exact_copy(m.b, len);
		struct msg_reader r;
		struct msg_header h;
		msg_reader_init(&r, copy, len);
		ck_assert_int_eq(msg_read_header(&r, &h), ERR_TRUNCATED);
		ck_assert_uint_eq(msg_reader_offset(&r), 0);
		free(copy);
	}
}
END_TEST

START_TEST(test_flags)
{
	ck_assert_uint_eq(MSG_FLAG_QR, 0x8000);
	ck_assert_uint_eq(MSG_FLAG_AA, 0x0400);
	ck_assert_uint_eq(MSG_FLAG_TC, 0x0200);
	ck_assert_uint_eq(MSG_FLAG_RD, 0x0100);
	ck_assert_uint_eq(MSG_FLAG_RA, 0x0080);
	ck_assert_uint_eq(MSG_FLAG_AD, 0x0020);
	ck_assert_uint_eq(MSG_FLAG_CD, 0x0010);

	uint16_t f = MSG_FLAG_QR | MSG_FLAG_RD | MSG_FLAG_CD;
	f = msg_flags_set_opcode(f, OPCODE_NOTIFY);
	ck_assert_uint_eq(msg_flags_opcode(f), OPCODE_NOTIFY);
	ck_assert_uint_eq(f & 0x7800, 4 << 11);
	f = msg_flags_set_rcode(f, RCODE_REFUSED);
	ck_assert_uint_eq(msg_flags_rcode(f), RCODE_REFUSED);
	ck_assert_uint_eq(msg_flags_opcode(f), OPCODE_NOTIFY);
	ck_assert(f & MSG_FLAG_QR);
	ck_assert(f & MSG_FLAG_RD);
	ck_assert(f & MSG_FLAG_CD);
	/* Replacing, not or-ing; other bits intact. */
	f = msg_flags_set_opcode(f, OPCODE_QUERY);
	f = msg_flags_set_rcode(f, RCODE_NOERROR);
	ck_assert_uint_eq(f, MSG_FLAG_QR | MSG_FLAG_RD | MSG_FLAG_CD);
	/* Extended rcodes: only the low 4 bits reach the header. */
	f = msg_flags_set_rcode(0xFFFF, RCODE_BADVERS);
	ck_assert_uint_eq(f, 0xFFF0);
	ck_assert_uint_eq(msg_rcode_ext(RCODE_BADVERS), 1);
	ck_assert_uint_eq(msg_rcode_ext(RCODE_BADCOOKIE), 1);
	ck_assert_uint_eq(
	    msg_flags_rcode(msg_flags_set_rcode(0, RCODE_BADCOOKIE)),
	    RCODE_BADCOOKIE & 0xF);
	ck_assert_uint_eq(msg_rcode_ext(RCODE_NOTZONE), 0);
	ck_assert_uint_eq(msg_rcode_ext(4095), 255);

	ck_assert_int_eq(RCODE_NOTAUTH, 9);
	ck_assert_int_eq(RCODE_NOTZONE, 10);
	ck_assert_int_eq(RCODE_BADVERS, 16);
	ck_assert_int_eq(RCODE_BADSIG, 16);
	ck_assert_int_eq(RCODE_BADKEY, 17);
	ck_assert_int_eq(RCODE_BADTIME, 18);
	ck_assert_int_eq(RCODE_BADCOOKIE, 23);
	ck_assert_int_eq(OPCODE_UPDATE, 5);
}
END_TEST

/*
 * Names.
 */

START_TEST(test_name_plain)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	size_t after;
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_name(&m, "WwW.Example.com.");
	put_u8(&m, 0xAA);
	ck_assert_int_eq(read_name_at(&m, m.n, 12, out, &after), 17);
	ck_assert_mem_eq(out, "\3WwW\7Example\3com\0", 17);
	ck_assert_uint_eq(after, 12 + 17);
	/* The root. */
	m.n = 12;
	put_u8(&m, 0);
	ck_assert_int_eq(read_name_at(&m, m.n, 12, out, &after), 1);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(after, 13);
}
END_TEST

START_TEST(test_name_compressed)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	size_t after;
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_name(&m, "example.com."); /* 12 */
	put_label(&m, "www");	      /* 25 */
	put_ptr(&m, 12);
	put_label(&m, "a"); /* 31 */
	put_ptr(&m, 25);    /* chain: a -> www -> example */
	put_ptr(&m, 20);    /* 35: "com." */
	put_ptr(&m, 31);    /* 37: bare pointer */
	ck_assert_int_eq(read_name_at(&m, m.n, 25, out, &after), 17);
	ck_assert_mem_eq(out, "\3www\7example\3com\0", 17);
	ck_assert_uint_eq(after, 31);
	ck_assert_int_eq(read_name_at(&m, m.n, 31, out, &after), 19);
	ck_assert_mem_eq(out, "\1a\3www\7example\3com\0", 19);
	ck_assert_uint_eq(after, 35);
	ck_assert_int_eq(read_name_at(&m, m.n, 35, out, &after), 5);
	ck_assert_mem_eq(out, "\3com\0", 5);
	ck_assert_uint_eq(after, 37);
	ck_assert_int_eq(read_name_at(&m, m.n, 37, out, &after), 19);
	ck_assert_uint_eq(after, 39);
}
END_TEST

START_TEST(test_name_self_pointer)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	size_t after = 999;
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_ptr(&m, 12);
	ck_assert_int_eq(read_name_at(&m, m.n, 12, out, &after), ERR_PTRLOOP);
	ck_assert_uint_eq(after, 12); /* the reader did not move */
}
END_TEST

START_TEST(test_name_pointer_loop)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	put_header(&m, 0, 0, 0, 0, 0, 0);
	/* A label then a pointer back to the name's own start. */
	put_label(&m, "a"); /* 12 */
	put_ptr(&m, 12);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);

	/* Two names pointing at each other: 12 -> 15 -> 12. */
	m.n = 12;
	put_label(&m, "a"); /* 12 */
	put_ptr(&m, 16);
	put_label(&m, "b"); /* 16 */
	put_ptr(&m, 12);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);
	ck_assert_int_eq(name_at(&m, 16, out), ERR_PTRLOOP);

	/* A pointer into the middle of its own labels: backwards from the
	 * pointer, but not before the name. */
	m.n = 12;
	put_label(&m, "abc"); /* 12 */
	put_label(&m, "de");  /* 16 */
	put_ptr(&m, 16);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);

	/* Three-step cycle through backward-looking pointers. */
	m.n = 12;
	put_ptr(&m, 16); /* 12 */
	put_ptr(&m, 12); /* 14 */
	put_ptr(&m, 14); /* 16 */
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);
	ck_assert_int_eq(name_at(&m, 14, out), ERR_PTRLOOP);
	ck_assert_int_eq(name_at(&m, 16, out), ERR_PTRLOOP);
}
END_TEST

START_TEST(test_name_forward_pointer)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_ptr(&m, 14);	      /* 12: points at a valid name... */
	put_name(&m, "example.com."); /* 14 */
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);
	ck_assert_int_eq(name_at(&m, 14, out), 13);

	/* A later pointer in the chain that goes forward again. */
	m.n = 12;
	put_name(&m, "x."); /* 12 */
	put_label(&m, "y"); /* 15 */
	put_ptr(&m, 22);    /* 17: forward */
	put_label(&m, "z"); /* 19 */
	put_ptr(&m, 15);    /* 21 -> 15 is fine, then 17 -> 22 is not */
	put_name(&m, "w."); /* 23 */
	ck_assert_int_eq(name_at(&m, 19, out), ERR_PTRLOOP);
}
END_TEST

START_TEST(test_name_pointer_out_of_bounds)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_ptr(&m, 0x3FFF);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);
	m.n = 12;
	put_label(&m, "a");
	put_ptr(&m, 200);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_PTRLOOP);
	/* Pointer octet cut off at the end of the message. */
	m.n = 12;
	put_label(&m, "a");
	put_u8(&m, 0xC0);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_TRUNCATED);
	m.n = 12;
	put_u8(&m, 0xC0);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_TRUNCATED);
}
END_TEST

START_TEST(test_name_label_types)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	static const uint8_t bad[] = {0x40, 0x41, 0x7F, 0x80, 0x81, 0xBF};
	for (size_t i = 0; i < sizeof(bad); i++) {
		put_header(&m, 0, 0, 0, 0, 0, 0);
		put_label(&m, "ok");
		put_u8(&m, bad[i]);
		for (int j = 0; j < 0x80; j++)
			put_u8(&m, 'x');
		put_u8(&m, 0);
		ck_assert_int_eq(name_at(&m, 12, out), ERR_BADLABEL);
		ck_assert_int_eq(name_at(&m, 15, out), ERR_BADLABEL);
	}
	/* A 63-octet label is the largest. */
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_u8(&m, 63);
	for (int j = 0; j < 63; j++)
		put_u8(&m, 'x');
	put_u8(&m, 0);
	ck_assert_int_eq(name_at(&m, 12, out), 65);
	/* "Label of 64" is the 0x40 type. */
	m.b[12] = 64;
	ck_assert_int_eq(name_at(&m, 12, out), ERR_BADLABEL);
}
END_TEST

START_TEST(test_name_truncated)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	put_header(&m, 0, 0, 0, 0, 0, 0);
	put_name(&m, "abc.example.");
	/* Every cut inside the name. */
	for (size_t len = 12; len < m.n; len++)
		ck_assert_int_eq(read_name_at(&m, len, 12, out, NULL),
				 ERR_TRUNCATED);
	ck_assert_int_eq(read_name_at(&m, m.n, 12, out, NULL), 13);
	/* A pointer (at 14, inside a label's data) to a label that runs
	 * off the end of the message. */
	m.n = 12;
	put_u8(&m, 5);
	put_u8(&m, 'a');
	put_ptr(&m, 12);
	ck_assert_int_eq(name_at(&m, 14, out), ERR_TRUNCATED);
}
END_TEST

START_TEST(test_name_too_long)
{
	struct buf m = {.n = 0};
	uint8_t out[DNAME_MAXLEN];
	char label[64];
	memset(label, 'x', 63);
	label[63] = '\0';

	/* Uncompressed: 4 x 63 labels is 257 octets. */
	put_header(&m, 0, 0, 0, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		put_label(&m, label);
	put_u8(&m, 0);
	ck_assert_int_eq(name_at(&m, 12, out), ERR_NAMELEN);

	/* Through pointers: each name adds one 63-octet label in front of
	 * the previous one; the fourth reaches 257. */
	put_header(&m, 0, 0, 0, 0, 0, 0);
	size_t starts[4];
	starts[0] = m.n;
	put_label(&m, label);
	put_u8(&m, 0);
	for (int i = 1; i < 4; i++) {
		starts[i] = m.n;
		put_label(&m, label);
		put_ptr(&m, (uint16_t)starts[i - 1]);
	}
	ck_assert_int_eq(name_at(&m, starts[0], out), 65);
	ck_assert_int_eq(name_at(&m, starts[1], out), 129);
	ck_assert_int_eq(name_at(&m, starts[2], out), 193);
	ck_assert_int_eq(name_at(&m, starts[3], out), ERR_NAMELEN);

	/* Exactly 255 through pointers: 193 + a 61-octet label. */
	size_t at = m.n;
	label[61] = '\0';
	put_label(&m, label);
	put_ptr(&m, (uint16_t)starts[2]);
	ck_assert_int_eq(name_at(&m, at, out), 255);
	ck_assert_int_eq(dname_check(out, DNAME_MAXLEN), 255);
	at = m.n;
	label[61] = 'x';
	label[62] = '\0';
	put_label(&m, label);
	put_ptr(&m, (uint16_t)starts[2]);
	ck_assert_int_eq(name_at(&m, at, out), ERR_NAMELEN);

	/* Many tiny labels via a long pointer chain. */
	put_header(&m, 0, 0, 0, 0, 0, 0);
	size_t prev = m.n;
	put_u8(&m, 0);
	for (int i = 0; i < 200; i++) {
		size_t here = m.n;
		put_label(&m, "a");
		put_ptr(&m, (uint16_t)prev);
		prev = here;
		int rc = name_at(&m, here, out);
		if (i < 127)
			ck_assert_int_eq(rc, 2 * (i + 1) + 1);
		else
			ck_assert_int_eq(rc, ERR_NAMELEN);
	}
}
END_TEST

/*
 * Questions and RRs.
 */

START_TEST(test_question)
{
	struct buf m = {.n = 0};
	put_header(&m, 7, 0, 1, 0, 0, 0);
	put_name(&m, "WwW.ExAmPlE.oRg.");
	put_u16(&m, RRTYPE_AAAA);
	put_u16(&m, RRCLASS_IN);
	uint8_t *copy = exact_copy(m.b, m.n);
	struct msg_reader r;
	struct msg_header h;
	struct msg_question q;
	msg_reader_init(&r, copy, m.n);
	ck_assert_int_eq(msg_read_header(&r, &h), 0);
	ck_assert_int_eq(msg_read_question(&r, &q), 0);
	ck_assert_uint_eq(q.name_len, 17);
	ck_assert_mem_eq(q.name, "\3WwW\7ExAmPlE\3oRg\0", 17);
	ck_assert_uint_eq(q.type, RRTYPE_AAAA);
	ck_assert_uint_eq(q.rrclass, RRCLASS_IN);
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	free(copy);

	/* Every truncation of the question. */
	for (size_t len = 12; len < m.n; len++) {
		copy = exact_copy(m.b, len);
		msg_reader_init(&r, copy, len);
		r.pos = 12;
		ck_assert_int_eq(msg_read_question(&r, &q), ERR_TRUNCATED);
		ck_assert_uint_eq(msg_reader_offset(&r), 12);
		free(copy);
	}
}
END_TEST

START_TEST(test_rr_basic)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct buf m = {.n = 0};
	put_header(&m, 7, MSG_FLAG_QR, 1, 1, 0, 0);
	put_name(&m, "Host.Example.");
	put_u16(&m, RRTYPE_A);
	put_u16(&m, RRCLASS_IN);
	size_t rr_at = m.n;
	put_ptr(&m, 12);
	put_rr_fixed(&m, RRTYPE_A, RRCLASS_IN, 0x01020304, 4);
	put_bytes(&m, "\xC0\x00\x02\x01", 4);

	uint8_t *copy = exact_copy(m.b, m.n);
	struct msg_reader r;
	struct msg_question q;
	struct msg_rr rr;
	msg_reader_init(&r, copy, m.n);
	r.pos = 12;
	ck_assert_int_eq(msg_read_question(&r, &q), 0);
	ck_assert_uint_eq(msg_reader_offset(&r), rr_at);
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_mem_eq(rr.owner, "\4Host\7Example\0", 14);
	ck_assert_uint_eq(rr.owner_len, 14);
	ck_assert_uint_eq(rr.type, RRTYPE_A);
	ck_assert_uint_eq(rr.rrclass, RRCLASS_IN);
	ck_assert_uint_eq(rr.ttl, 0x01020304);
	ck_assert_uint_eq(rr.rdlen, 4);
	ck_assert_mem_eq(rdata, "\xC0\x00\x02\x01", 4);
	ck_assert_uint_eq(rr.offset, rr_at);
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	/* Skipping lands at the same place. */
	r.pos = rr_at;
	ck_assert_int_eq(msg_skip_rr(&r), 0);
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	free(copy);
}
END_TEST

START_TEST(test_rr_truncated)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct buf m = {.n = 0};
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "mx.example.");
	put_rr_fixed(&m, RRTYPE_MX, RRCLASS_IN, 60, 9);
	put_u16(&m, 5);
	put_label(&m, "mail");
	put_ptr(&m, 12);
	ck_assert_int_eq(parse_all(m.b, m.n), 0);
	for (size_t len = 12; len < m.n; len++) {
		uint8_t *copy = exact_copy(m.b, len);
		struct msg_reader r;
		struct msg_rr rr;
		msg_reader_init(&r, copy, len);
		r.pos = 12;
		ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)),
				 ERR_TRUNCATED);
		ck_assert_uint_eq(msg_reader_offset(&r), 12);
		ck_assert_int_eq(msg_skip_rr(&r), ERR_TRUNCATED);
		ck_assert_uint_eq(msg_reader_offset(&r), 12);
		free(copy);
		ck_assert_int_eq(parse_all(m.b, len), ERR_TRUNCATED);
	}
}
END_TEST

START_TEST(test_rr_rdlength_past_end)
{
	struct buf m = {.n = 0};
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_A, RRCLASS_IN, 60, 5);
	put_bytes(&m, "\1\2\3\4", 4);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_TRUNCATED);
	/* rdlength 65535 in a short message. */
	m.b[12 + 9] = 0xFF;
	m.b[12 + 10] = 0xFF;
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_TRUNCATED);
}
END_TEST

/* rdlength and rdata content disagree. */
START_TEST(test_rr_rdlength_mismatch)
{
	struct buf m = {.n = 0};
	/* A with 3 and with 5 octets. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_A, RRCLASS_IN, 60, 3);
	put_bytes(&m, "\1\2\3", 3);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_A, RRCLASS_IN, 60, 5);
	put_bytes(&m, "\1\2\3\4\5", 5);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);

	/* NS whose name runs past rdlength (into the next octets). */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_NS, RRCLASS_IN, 60, 4);
	put_name(&m, "ns.example.");
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	/* NS with a trailing octet after its name. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_NS, RRCLASS_IN, 60, 13);
	put_name(&m, "ns.example.");
	put_u8(&m, 0);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	/* NS with a compressed name plus a trailing octet. */
	put_header(&m, 7, 0, 0, 2, 0, 0);
	put_name(&m, "example."); /* 12 */
	put_rr_fixed(&m, RRTYPE_NS, RRCLASS_IN, 60, 6);
	put_label(&m, "ns");
	put_ptr(&m, 12);
	put_u8(&m, 0);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	/* MX whose pointer octet straddles the end of the rdata. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "example."); /* 12 */
	put_rr_fixed(&m, RRTYPE_MX, RRCLASS_IN, 60, 3);
	put_u16(&m, 10);
	put_ptr(&m, 12);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	/* TXT whose string runs past rdlength. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_TXT, RRCLASS_IN, 60, 4);
	put_bytes(&m, "\4abcd", 5);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	/* SOA one octet short. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_SOA, RRCLASS_IN, 60, 2 + 19);
	put_u8(&m, 0);
	put_u8(&m, 0);
	for (int i = 0; i < 19; i++)
		put_u8(&m, 0);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	m.b[12 + 1 + 9] = 2 + 20;
	put_u8(&m, 0);
	ck_assert_int_eq(parse_all(m.b, m.n), 0);
}
END_TEST

START_TEST(test_rr_compressed_rdata)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct buf m = {.n = 0};
	put_header(&m, 7, 0, 1, 4, 0, 0);
	put_name(&m, "Example.COM."); /* 12: qname */
	put_u16(&m, RRTYPE_SOA);
	put_u16(&m, RRCLASS_IN);
	/* SOA: both names compressed. */
	put_ptr(&m, 12);
	put_rr_fixed(&m, RRTYPE_SOA, RRCLASS_IN, 60, 6 + 13 + 20);
	size_t ns_at = m.n;
	put_label(&m, "ns1");
	put_ptr(&m, 12);
	put_label(&m, "hostmaster");
	put_ptr(&m, 12);
	for (int i = 0; i < 5; i++)
		put_u32(&m, (uint32_t)i + 1);
	/* MX pointing into the SOA's MNAME. */
	put_ptr(&m, 12);
	put_rr_fixed(&m, RRTYPE_MX, RRCLASS_IN, 60, 4);
	put_u16(&m, 10);
	put_ptr(&m, (uint16_t)ns_at);
	/* SRV (a FOLD name): compression accepted on input. */
	put_ptr(&m, 12);
	put_rr_fixed(&m, RRTYPE_SRV, RRCLASS_IN, 60, 6 + 6);
	put_u16(&m, 1);
	put_u16(&m, 2);
	put_u16(&m, 3);
	put_label(&m, "sip");
	put_ptr(&m, 12);
	/* Unknown type: octets that look like a pointer stay as they are. */
	put_ptr(&m, 12);
	put_rr_fixed(&m, 65280, RRCLASS_IN, 60, 2);
	put_ptr(&m, 12);

	uint8_t *copy = exact_copy(m.b, m.n);
	struct msg_reader r;
	struct msg_question q;
	struct msg_rr rr;
	msg_reader_init(&r, copy, m.n);
	r.pos = 12;
	ck_assert_int_eq(msg_read_question(&r, &q), 0);

	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_uint_eq(rr.type, RRTYPE_SOA);
	ck_assert_mem_eq(rr.owner, "\7Example\3COM\0", 13);
	ck_assert_uint_eq(rr.rdlen, 17 + 24 + 20);
	ck_assert_mem_eq(rdata,
			 "\3ns1\7Example\3COM\0"
			 "\12hostmaster\7Example\3COM\0",
			 41);
	ck_assert_mem_eq(rdata + 41, "\0\0\0\1\0\0\0\2", 8);
	ck_assert_int_eq(rdata_check(RRTYPE_SOA, rdata, rr.rdlen), 0);

	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_uint_eq(rr.type, RRTYPE_MX);
	ck_assert_uint_eq(rr.rdlen, 2 + 17);
	ck_assert_mem_eq(rdata, "\0\12\3ns1\7Example\3COM\0", 19);

	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_uint_eq(rr.type, RRTYPE_SRV);
	ck_assert_uint_eq(rr.rdlen, 6 + 17);
	ck_assert_mem_eq(rdata + 6, "\3sip\7Example\3COM\0", 17);

	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_uint_eq(rr.type, 65280);
	ck_assert_uint_eq(rr.rdlen, 2);
	ck_assert_mem_eq(rdata, "\xC0\x0C", 2);
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	free(copy);
}
END_TEST

/* NSEC next names and TSIG algorithm names must not be compressed. */
START_TEST(test_rr_plain_name_compressed)
{
	struct buf m = {.n = 0};
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "a.example.");
	put_rr_fixed(&m, RRTYPE_NSEC, RRCLASS_IN, 60, 2 + 2 + 3);
	put_label(&m, "b");
	put_ptr(&m, 14);
	put_bytes(&m, "\0\1\100", 3);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);

	/* The same NSEC uncompressed is fine. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "a.example.");
	put_rr_fixed(&m, RRTYPE_NSEC, RRCLASS_IN, 60, 11 + 3);
	put_name(&m, "b.example.");
	put_bytes(&m, "\0\1\100", 3);
	ck_assert_int_eq(parse_all(m.b, m.n), 0);

	put_header(&m, 7, 0, 0, 0, 0, 1);
	put_name(&m, "hmac-sha256.");
	put_rr_fixed(&m, RRTYPE_TSIG, RRCLASS_ANY, 0, 2 + 4);
	put_ptr(&m, 12);
	put_bytes(&m, "\0\0\0\0", 4);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
}
END_TEST

START_TEST(test_rr_rdata_bad_pointers)
{
	struct buf m = {.n = 0};
	/* Forward pointer in rdata. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_CNAME, RRCLASS_IN, 60, 2);
	put_ptr(&m, (uint16_t)(m.n + 2));
	put_name(&m, "x.");
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_PTRLOOP);
	/* Self pointer in rdata. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_CNAME, RRCLASS_IN, 60, 2);
	put_ptr(&m, (uint16_t)m.n);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_PTRLOOP);
	/* Extended label type in rdata. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_CNAME, RRCLASS_IN, 60, 3);
	put_bytes(&m, "\101a\0", 3);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_BADLABEL);
	/* Pointer back to the RR's own owner: fine. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "owner.");
	put_rr_fixed(&m, RRTYPE_CNAME, RRCLASS_IN, 60, 2);
	put_ptr(&m, 12);
	ck_assert_int_eq(parse_all(m.b, m.n), 0);
}
END_TEST

/* RFC 2136: class ANY/NONE with empty rdata. */
START_TEST(test_rr_empty_rdata)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct buf m = {.n = 0};
	static const uint16_t ok[] = {RRCLASS_ANY, RRCLASS_NONE};
	for (size_t i = 0; i < 2; i++) {
		put_header(&m, 7, 0x2800, 1, 0, 1, 0);
		put_name(&m, "example.");
		put_u16(&m, RRTYPE_SOA);
		put_u16(&m, RRCLASS_IN);
		put_name(&m, "www.example.");
		put_rr_fixed(&m, RRTYPE_A, ok[i], 0, 0);
		ck_assert_int_eq(parse_all(m.b, m.n), 0);
		uint8_t *copy = exact_copy(m.b, m.n);
		struct msg_reader r;
		struct msg_rr rr;
		msg_reader_init(&r, copy, m.n);
		r.pos = 12 + 9 + 4;
		ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
		ck_assert_uint_eq(rr.rdlen, 0);
		ck_assert_uint_eq(rr.rrclass, ok[i]);
		free(copy);
	}
	/* Class IN: an A needs its 4 octets. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "www.example.");
	put_rr_fixed(&m, RRTYPE_A, RRCLASS_IN, 0, 0);
	ck_assert_int_eq(parse_all(m.b, m.n), ERR_MALFORMED);
	/* ...while an empty NULL or unknown rdata is fine in any class. */
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "www.example.");
	put_rr_fixed(&m, 65280, RRCLASS_IN, 0, 0);
	ck_assert_int_eq(parse_all(m.b, m.n), 0);
}
END_TEST

START_TEST(test_rr_small_buffer)
{
	uint8_t rdata[16];
	struct buf m = {.n = 0};
	put_header(&m, 7, 0, 0, 1, 0, 0);
	put_name(&m, "example.");
	put_rr_fixed(&m, RRTYPE_NS, RRCLASS_IN, 60, 5);
	put_label(&m, "ns");
	put_ptr(&m, 12);
	uint8_t *copy = exact_copy(m.b, m.n);
	struct msg_reader r;
	struct msg_rr rr;
	msg_reader_init(&r, copy, m.n);
	r.pos = 12;
	/* "ns.example." is 12 octets uncompressed. */
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, 11), ERR_SPACE);
	ck_assert_uint_eq(msg_reader_offset(&r), 12);
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, 12), 0);
	ck_assert_uint_eq(rr.rdlen, 12);
	/* Fixed fields too. */
	r.pos = 12;
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, 0), ERR_SPACE);
	free(copy);
}
END_TEST

START_TEST(test_rr_offsets_and_skip)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct buf m = {.n = 0};
	size_t starts[5];
	put_header(&m, 7, 0, 0, 5, 0, 0);
	for (int i = 0; i < 5; i++) {
		starts[i] = m.n;
		if (i == 0)
			put_name(&m, "a.example.");
		else
			put_ptr(&m, 12);
		put_rr_fixed(&m, RRTYPE_TXT, RRCLASS_IN, 60, (uint16_t)(i + 1));
		put_u8(&m, (uint8_t)i);
		for (int j = 0; j < i; j++)
			put_u8(&m, 'x');
	}
	uint8_t *copy = exact_copy(m.b, m.n);
	struct msg_reader r, s;
	struct msg_rr rr;
	msg_reader_init(&r, copy, m.n);
	msg_reader_init(&s, copy, m.n);
	r.pos = s.pos = 12;
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(msg_reader_offset(&s), starts[i]);
		ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
		ck_assert_uint_eq(rr.offset, starts[i]);
		ck_assert_uint_eq(rr.rdlen, i + 1);
		ck_assert_int_eq(msg_skip_rr(&s), 0);
		ck_assert_uint_eq(msg_reader_offset(&s), msg_reader_offset(&r));
	}
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	free(copy);
}
END_TEST

/*
 * Writer.
 */

START_TEST(test_writer_init)
{
	struct msg_writer w;
	uint8_t small[16];
	ck_assert_int_eq(msg_writer_init(&w, small, 11, 512), ERR_SPACE);
	ck_assert_int_eq(msg_writer_init(&w, small, 16, 11), ERR_SPACE);
	memset(small, 0xEE, sizeof(small));
	ck_assert_int_eq(msg_writer_init(&w, small, 12, 512), 0);
	ck_assert_uint_eq(w.limit, 12);
	ck_assert_uint_eq(msg_writer_len(&w), 12);
	for (int i = 0; i < 12; i++)
		ck_assert_uint_eq(small[i], 0);
	ck_assert_uint_eq(small[12], 0xEE);
	/* Nothing fits in a bare header. */
	ck_assert_int_eq(msg_write_question(&w, N("."), 1, 1), ERR_SPACE);

	writer(&w, 0, 100000);
	ck_assert_uint_eq(w.limit, MSG_MAXLEN);
	writer(&w, 0, 512);
	ck_assert_uint_eq(w.limit, 512);
}
END_TEST

START_TEST(test_writer_header)
{
	struct msg_writer w;
	writer(&w, 0, 512);
	msg_write_header(&w, 0x1234, MSG_FLAG_QR | MSG_FLAG_AA);
	ck_assert_uint_eq(msg_writer_flags(&w), MSG_FLAG_QR | MSG_FLAG_AA);
	msg_writer_set_flags(
	    &w, msg_flags_set_rcode(msg_writer_flags(&w), RCODE_NXDOMAIN) |
		    MSG_FLAG_TC);
	ck_assert_int_eq(
	    msg_write_question(&w, N("example."), RRTYPE_A, RRCLASS_IN), 0);
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, "example.", 1), 0);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "example.", 2), 0);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "example.", 3), 0);

	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, msg_writer_data(&w), msg_writer_len(&w));
	ck_assert_int_eq(msg_read_header(&r, &h), 0);
	ck_assert_uint_eq(h.id, 0x1234);
	ck_assert_uint_eq(h.flags, MSG_FLAG_QR | MSG_FLAG_AA | MSG_FLAG_TC |
				       RCODE_NXDOMAIN);
	ck_assert_uint_eq(h.count[MSG_QUESTION], 1);
	ck_assert_uint_eq(h.count[MSG_ANSWER], 1);
	ck_assert_uint_eq(h.count[MSG_AUTHORITY], 0);
	ck_assert_uint_eq(h.count[MSG_ADDITIONAL], 2);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);

	/* A count override (as TSIG digesting does), and counting on. */
	msg_writer_set_count(&w, MSG_ADDITIONAL, 1);
	ck_assert_uint_eq(wbuf[0][11], 1);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "example.", 4), 0);
	ck_assert_uint_eq(wbuf[0][11], 2);
}
END_TEST

START_TEST(test_write_question_case)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(
	    msg_write_question(&w, N("WwW.ExAmPlE.CoM."), RRTYPE_A, RRCLASS_IN),
	    0);
	ck_assert_mem_eq(wbuf[0] + 12, "\3WwW\7ExAmPlE\3CoM\0\0\1\0\1", 21);
	/* The zone stores lowercase; the answer shows the client's case. */
	ck_assert_int_eq(
	    write_a(&w, MSG_ANSWER, "www.example.com.", 0x7F000001), 0);
	ck_assert_mem_eq(wbuf[0] + 33, "\xC0\x0C", 2);

	struct msg_reader r;
	struct msg_rr rr;
	msg_reader_init(&r, msg_writer_data(&w), msg_writer_len(&w));
	r.pos = 33;
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_mem_eq(rr.owner, "\3WwW\7ExAmPlE\3CoM\0", 17);
}
END_TEST

START_TEST(test_write_compression_bytes)
{
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(
	    msg_write_question(&w, N("example.com."), RRTYPE_NS, RRCLASS_IN),
	    0);
	ck_assert_int_eq(write_name_rr(&w, MSG_ANSWER, "example.com.",
				       RRTYPE_NS, "NS1.example.com."),
			 0);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "ns1.example.com.", 1), 0);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "other.com.", 2), 0);

	static const uint8_t want[] =
	    /* question at 12 */
	    "\7example\3com\0"
	    "\0\2\0\1"
	    /* answer at 29: owner -> 12 */
	    "\xC0\x0C"
	    "\0\2\0\1\0\0\1\x2C\0\6"
	    /* rdata at 41: NS1 + pointer to 12 */
	    "\3NS1\xC0\x0C"
	    /* additional at 47: owner -> 41, case of the NS rdata */
	    "\xC0\x29"
	    "\0\1\0\1\0\0\1\x2C\0\4"
	    "\0\0\0\1"
	    /* additional at 63: "other" + pointer to "com" at 20 */
	    "\5other\xC0\x14"
	    "\0\1\0\1\0\0\1\x2C\0\4"
	    "\0\0\0\2";
	ck_assert_uint_eq(msg_writer_len(&w), 12 + sizeof(want) - 1);
	ck_assert_mem_eq(wbuf[0] + 12, want, sizeof(want) - 1);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

/* Labels are matched case-insensitively and whole, whatever their length
 * (1-3 octets one at a time, 4-7 and 8 or more by words): a difference in
 * any octet of any word breaks the match there. */
START_TEST(test_write_compression_label_lengths)
{
	struct msg_writer w;
	writer(&w, 0, 512);
	/* labels at 12 (x), 14 (Abc), 18 (AbCdE), 24 (AbcdefGHIJ),
	 * 35 (ABCDEFGHIJKLMNOPQ) */
	ck_assert_int_eq(msg_write_question(
			     &w, N("x.Abc.AbCdE.AbcdefGHIJ.ABCDEFGHIJKLMNOPQ."),
			     RRTYPE_A, RRCLASS_IN),
			 0);
	size_t at = msg_writer_len(&w);
	struct {
		const char *owner;
		size_t literal; /* octets before the pointer */
		uint16_t ptr;
	} cases[] = {
		{ "y.abc.abcde.abcdefghij.abcdefghijklmnopq.", 2, 14 },
		/* the 10-octet label differs in its last (overlapping) word */
		{ "z.abc.abcde.abcdefghiX.abcdefghijklmnopq.", 2 + 4 + 6 + 11, 35 },
		/* the 5-octet label differs in its last octet */
		{ "w.abc.abcdF.abcdefghij.abcdefghijklmnopq.", 2 + 4 + 6, 24 },
		/* the 3-octet label */
		{ "v.abd.abcde.abcdefghij.abcdefghijklmnopq.", 2 + 4, 18 },
		/* the 17-octet label differs in its first word only */
		{ "u.abcdefghijklmnopq.", 2, 35 },
		{ "t.abcdeXghijklmnopq.", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(write_a(&w, MSG_ANSWER, cases[i].owner, 1), 0);
		const uint8_t *o = wbuf[0] + at;
		if (cases[i].ptr == 0) {
			/* no match: the whole name, then the root */
			size_t len = dname_len(N(cases[i].owner));
			ck_assert_mem_eq(o, N(cases[i].owner), len);
			at += len + 10 + 4;
			continue;
		}
		ck_assert_msg(o[cases[i].literal] == (0xC0 | cases[i].ptr >> 8) &&
			      o[cases[i].literal + 1] == (cases[i].ptr & 0xFF),
			      "case %zu: no pointer to %u after %zu octets", i,
			      cases[i].ptr, cases[i].literal);
		at += cases[i].literal + 2 + 10 + 4;
	}
	ck_assert_uint_eq(msg_writer_len(&w), at);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

/* Targets are matched from the label offsets the writer keeps for them,
 * whatever their label count: the longest suffix, whichever target it is
 * in. */
START_TEST(test_write_compression_kept_labels)
{
	/* 16 and 20 labels: a.b...p.x. and a.b...t.y. */
	char q16[64] = "", q20[64] = "";
	for (char c = 'a'; c <= 'o'; c++) {
		char l[3] = {c, '.', 0};
		strcat(q16, l);
	}
	strcat(q16, "x.");
	for (char c = 'a'; c <= 's'; c++) {
		char l[3] = {c, '.', 0};
		strcat(q20, l);
	}
	strcat(q20, "y.");
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(msg_write_question(&w, N(q16), RRTYPE_A, RRCLASS_IN),
			 0);
	size_t at20 = msg_writer_len(&w);
	/* The 20-label name: its own literal labels (only the root is
	 * shared). */
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, q20, 1), 0);
	ck_assert_uint_eq(w.ncompress, 2);
	ck_assert_uint_eq(w.walk_n[0], 16);
	ck_assert_uint_eq(w.walk_n[1], 20);
	for (int i = 0; i < 20; i++)
		ck_assert_uint_eq(w.walk_off[1][i], at20 + 2 * (size_t)i);
	size_t at = msg_writer_len(&w);
	struct {
		const char *owner;
		uint16_t ptr; /* after one literal label of 2 octets */
	} cases[] = {
		{ "Z.b.c.d.e.f.g.h.i.j.k.l.m.n.o.x.", 14 },
		{ "Z.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.y.", (uint16_t)(at20 + 4) },
		{ "Z.o.x.", 14 + 13 * 2 },
		{ "Z.s.Y.", (uint16_t)(at20 + 18 * 2) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(write_a(&w, MSG_ANSWER, cases[i].owner, 1), 0);
		const uint8_t *o = wbuf[0] + at;
		ck_assert_msg(o[2] == (0xC0 | cases[i].ptr >> 8) &&
				  o[3] == (cases[i].ptr & 0xFF),
			      "case %zu: no pointer to %u", i, cases[i].ptr);
		at += 2 + 2 + 10 + 4;
	}
	ck_assert_uint_eq(msg_writer_len(&w), at);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

/* An RR with no name in its rdata whose owner is all in the message is
 * the owner as a pointer to the first place that holds all of it, and
 * the owner becomes the hint for the next RR. */
START_TEST(test_write_known_owner)
{
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(msg_write_question(&w, N("www.example."), RRTYPE_MX,
					    RRCLASS_IN),
			 0);
	ck_assert_int_eq(write_mx(&w, MSG_ANSWER, "www.example.", 10,
				  "mail.example."),
			 0);
	/* question 17 + owner 2 + fixed 10 + pref 2: "mail" at 43. */
	size_t at = msg_writer_len(&w);
	ck_assert_uint_eq(at, 12 + 17 + 2 + 10 + 2 + 7);
	/* Its address, owner in another case: a pointer to 43. */
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "MAIL.example.", 1), 0);
	ck_assert_mem_eq(wbuf[0] + at, "\xC0\x2B\0\1", 4);
	/* The same owner again (the hint), then a suffix of the question,
	 * then a name only partly there. */
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "MAIL.example.", 2), 0);
	ck_assert_mem_eq(wbuf[0] + at + 16, "\xC0\x2B\0\1", 4);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "example.", 3), 0);
	ck_assert_mem_eq(wbuf[0] + at + 32, "\xC0\x10\0\1", 4);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "x.www.example.", 4), 0);
	ck_assert_mem_eq(wbuf[0] + at + 48, "\1x\xC0\x0C\0\1", 6);
	/* After it, the new name is the hint. */
	ck_assert_uint_eq(w.hint_len, 15);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
	ck_assert_int_eq(count_occurrences(&w, "\4mail", 5), 1);
}
END_TEST

/* RFC 3597 §4: names in rdata of other types are written as they are,
 * and are not used as compression targets either. */
START_TEST(test_write_no_compress_fold_plain)
{
	struct msg_writer w;
	struct buf rd = {.n = 0};
	writer(&w, 0, 4096);
	ck_assert_int_eq(
	    msg_write_question(&w, N("q.example.com."), RRTYPE_ANY, RRCLASS_IN),
	    0);
	/* SRV target (FOLD). */
	put_u16(&rd, 0);
	put_u16(&rd, 0);
	put_u16(&rd, 5060);
	put_name(&rd, "sip.example.com.");
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("q.example.com."),
				      RRTYPE_SRV, RRCLASS_IN, 60, rd.b, rd.n),
			 0);
	/* NSEC next name (PLAIN). */
	rd.n = 0;
	put_name(&rd, "r.example.com.");
	put_bytes(&rd, "\0\1\100", 3);
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("q.example.com."),
				      RRTYPE_NSEC, RRCLASS_IN, 60, rd.b, rd.n),
			 0);
	/* DNAME target (FOLD), RRSIG signer (FOLD). */
	ck_assert_int_eq(write_name_rr(&w, MSG_ANSWER, "q.example.com.",
				       RRTYPE_DNAME, "d.example.com."),
			 0);
	/* Each name appears in full in the rdata. */
	ck_assert_int_eq(count_occurrences(&w, "\3sip\7example\3com\0", 17), 1);
	ck_assert_int_eq(count_occurrences(&w, "\1r\7example\3com\0", 15), 1);
	ck_assert_int_eq(count_occurrences(&w, "\1d\7example\3com\0", 15), 1);
	/* An owner equal to the SRV target must not point into it. */
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "sip.example.com.", 1), 0);
	size_t owner_at = msg_writer_len(&w) - 14 - 6;
	ck_assert_mem_eq(wbuf[0] + owner_at, "\3sip\xC0\x0E", 6);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

/* SOA: RNAME compresses against MNAME of the same RR, and MX/NS/CNAME
 * rdata against everything. */
START_TEST(test_write_soa)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct msg_writer w;
	struct buf rd;
	writer(&w, 0, 512);
	ck_assert_int_eq(
	    msg_write_question(&w, N("example.org."), RRTYPE_SOA, RRCLASS_IN),
	    0);
	soa_rdata(&rd, "ns.zone.net.", "admin.zone.net.");
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example.org."),
				      RRTYPE_SOA, RRCLASS_IN, 3600, rd.b, rd.n),
			 0);
	/* owner(2) + fixed(10) + "ns.zone.net."(13) + "admin"+ptr(8) + 20 */
	ck_assert_uint_eq(msg_writer_len(&w), 29 + 2 + 10 + 13 + 8 + 20);
	ck_assert_mem_eq(wbuf[0] + 29 + 12, "\2ns\4zone\3net\0\5admin\xC0\x2C",
			 21);

	struct msg_reader r;
	struct msg_rr rr;
	msg_reader_init(&r, msg_writer_data(&w), msg_writer_len(&w));
	r.pos = 29;
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_uint_eq(rr.rdlen, rd.n);
	ck_assert_mem_eq(rdata, rd.b, rd.n);
}
END_TEST

/*
 * RR images (msg_image_build, msg_write_image): the octets and the writer
 * afterwards must be those of msg_write_rr in the same place.
 */

/* Writes the SOA after the question `q`, by the image when `img` is not
 * NULL (falling back to msg_write_rr when it does not apply), then RRs
 * whose compression depends on the writer's targets and hint. Returns
 * what msg_write_image returned, or 0. */
static int soa_then_more(struct msg_writer *w, int slot, const char *q,
			 const char *owner, const struct buf *rd,
			 const struct msg_image *img)
{
	writer(w, slot, 1232);
	ck_assert_int_eq(msg_write_question(w, N(q), RRTYPE_A, RRCLASS_IN), 0);
	int rc = img ? msg_write_image(w, MSG_AUTHORITY, img) : ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND)
		ck_assert_int_eq(msg_write_rr(w, MSG_AUTHORITY, N(owner),
					      RRTYPE_SOA, RRCLASS_IN, 300,
					      rd->b, rd->n),
				 0);
	/* The owner again (the hint), names below it and below MNAME. */
	ck_assert_int_eq(write_name_rr(w, MSG_AUTHORITY, owner, RRTYPE_NS,
				       "ns1.bench.example."),
			 0);
	ck_assert_int_eq(write_mx(w, MSG_ADDITIONAL, "x.ns1.bench.example.",
				  10, "mail.other.example."),
			 0);
	ck_assert_int_eq(write_a(w, MSG_ADDITIONAL, owner, 0x0A000001), 0);
	return rc == ERR_NOTFOUND ? rc : 0;
}

/* Writes the SOA of (mname, rname) under `owner` after question q both
 * ways and checks that the messages are equal and read back. Returns
 * what msg_write_image returned (0 or ERR_NOTFOUND). */
static int image_vs_rr(const char *q, const char *owner, const char *mname,
		       const char *rname)
{
	struct buf rd;
	static struct msg_image img;
	struct msg_writer a, b;
	soa_rdata(&rd, mname, rname);
	expect(msg_image_build(&img, N(owner), RRTYPE_SOA, RRCLASS_IN, 300,
			       rd.b, rd.n) == 0,
	       "no image of owner %s", owner);
	soa_then_more(&a, 0, q, owner, &rd, NULL);
	int rc = soa_then_more(&b, 1, q, owner, &rd, &img);
	expect(msg_writer_len(&a) == msg_writer_len(&b) &&
		   memcmp(wbuf[0], wbuf[1], msg_writer_len(&a)) == 0 &&
		   parse_all(wbuf[1], msg_writer_len(&b)) == 0,
	       "q %s owner %s mname %s rname %s: other octets", q, owner,
	       mname, rname);
	return rc;
}

static void check_image(const char *q, const char *owner, const char *mname,
			const char *rname, bool applies)
{
	int rc = image_vs_rr(q, owner, mname, rname);
	ck_assert_msg(rc == (applies ? 0 : ERR_NOTFOUND),
		      "q %s owner %s mname %s rname %s: %d", q, owner, mname,
		      rname, rc);
}

START_TEST(test_image_same_octets)
{
	const char *apex = "Bench.Example.";
	const char *m = "ns1.bench.example.", *r = "hostmaster.bench.example.";
	check_image("nx1.bench.example.", apex, m, r, true);
	check_image("a.b.c.BENCH.example.", apex, m, r, true);
	check_image("bench.example.", apex, m, r, true);
	check_image("Bench.Example.", apex, m, r, true); /* the hint */
	/* The question shares a label above the owner with MNAME or
	 * RNAME: compressed against the question, so not the image. */
	check_image("ns1.bench.example.", apex, m, r, false);
	check_image("x.NS1.bench.example.", apex, m, r, false);
	check_image("HostMaster.bench.example.", apex, m, r, false);
	/* Not below the owner at all. */
	check_image("other.example.", apex, m, r, false);
	check_image("example.", apex, m, r, false);
	/* RNAME below MNAME; MNAME the apex; names outside the zone that
	 * share only its last label with the question. */
	check_image("y.bench.example.", apex, m, "h.ns1.bench.example.", true);
	check_image("ns1.bench.example.", apex, m, "h.ns1.bench.example.",
		    false);
	check_image("z.bench.example.", apex, apex, apex, true);
	check_image("other.bench.example.", apex, "ns.other.example.",
		    "root.other.example.", true);
	check_image("q.bench.example.", apex, "a.net.", "b.a.net.", true);
}
END_TEST

/* Random names from a few labels, so that they share suffixes often. */
static void random_name(char *out, size_t cap, int min, int max,
			const char *suffix)
{
	static const char *const pool[] = {"a", "B", "ns", "Ns", "b", "bench"};
	int n = min + (int)(rnd() % (unsigned)(max - min + 1));
	size_t len = 0;
	out[0] = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s.",
					pool[rnd() % 6]);
	snprintf(out + len, cap - len, "%s", suffix);
}

START_TEST(test_image_random)
{
	rng_state = 0x1234567u;
	int applied = 0, refused = 0;
	for (int i = 0; i < 3000; i++) {
		char owner[256], q[256], m[256], r[256];
		random_name(owner, sizeof(owner), 1, 2, "example.");
		random_name(q, sizeof(q), 0, 3, owner);
		random_name(m, sizeof(m), 0, 2,
			    rnd() % 4 ? owner : "b.example.");
		random_name(r, sizeof(r), 0, 2, rnd() % 2 ? owner : m);
		if (image_vs_rr(q, owner, m, r) == 0)
			applied++;
		else
			refused++;
	}
	/* Both ways taken many times, or the comparison proves little. */
	ck_assert_int_gt(applied, 1000);
	ck_assert_int_gt(refused, 300);
}
END_TEST

START_TEST(test_image_refused)
{
	struct buf rd;
	static struct msg_image img;
	struct msg_writer w;
	soa_rdata(&rd, "ns1.bench.example.", "hostmaster.bench.example.");
	ck_assert_int_eq(msg_image_build(&img, N("bench.example."), RRTYPE_SOA,
					 RRCLASS_IN, 300, rd.b, rd.n),
			 0);
	/* After an answer RR: its names are targets the image knows not. */
	writer(&w, 0, 1232);
	ck_assert_int_eq(msg_write_question(&w, N("c.bench.example."),
					    RRTYPE_A, RRCLASS_IN),
			 0);
	ck_assert_int_eq(write_name_rr(&w, MSG_ANSWER, "c.bench.example.",
				       RRTYPE_CNAME, "nx.bench.example."),
			 0);
	ck_assert_int_eq(msg_write_image(&w, MSG_AUTHORITY, &img),
			 ERR_NOTFOUND);
	/* Too little room: nothing written, ERR_SPACE. */
	writer(&w, 0, 1232);
	ck_assert_int_eq(msg_write_question(&w, N("c.bench.example."),
					    RRTYPE_A, RRCLASS_IN),
			 0);
	size_t before = msg_writer_len(&w);
	ck_assert_int_eq(msg_writer_set_limit(&w, before + 20), 0);
	ck_assert_int_eq(msg_write_image(&w, MSG_AUTHORITY, &img), ERR_SPACE);
	ck_assert_uint_eq(msg_writer_len(&w), before);
	ck_assert_uint_eq(w.count[MSG_AUTHORITY], 0);
	/* Sections in order. */
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "c.bench.example.", 1),
			 0);
	ck_assert_int_eq(msg_write_image(&w, MSG_AUTHORITY, &img),
			 ERR_BADSTATE);
	/* No image for the root, nor for rdata over the image's room. */
	ck_assert_int_eq(msg_image_build(&img, N("."), RRTYPE_SOA, RRCLASS_IN,
					 300, rd.b, rd.n),
			 ERR_INVAL);
	ck_assert_uint_eq(img.len, 0);
	writer(&w, 0, 1232);
	ck_assert_int_eq(
	    msg_write_question(&w, N("c.bench.example."), RRTYPE_A, RRCLASS_IN),
	    0);
	ck_assert_int_eq(msg_write_image(&w, MSG_AUTHORITY, &img),
			 ERR_NOTFOUND);
	static uint8_t big[MSG_IMAGE_WIRE];
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(msg_image_build(&img, N("bench.example."), RRTYPE_TXT,
					 RRCLASS_IN, 300, big, sizeof(big)),
			 ERR_SPACE);
	ck_assert_uint_eq(img.len, 0);
}
END_TEST

/* One RR of each interesting type, with names of mixed case. */
struct sample {
	enum msg_section section;
	char owner[DNAME_STRLEN];
	uint16_t type;
	uint32_t ttl;
	struct buf rdata;
};

static void make_sample(struct sample *s, int i, const char *suffix)
{
	char name[DNAME_STRLEN], target[DNAME_STRLEN];
	static const uint16_t types[] = {
	    RRTYPE_A,	  RRTYPE_NS,	RRTYPE_MX,  RRTYPE_CNAME, RRTYPE_SOA,
	    RRTYPE_SRV,	  RRTYPE_NSEC,	RRTYPE_TXT, RRTYPE_PTR,	  RRTYPE_AAAA,
	    RRTYPE_MINFO, RRTYPE_RRSIG, 65280,
	};
	uint32_t r = rnd();
	/* The root suffix is "." but "x." is written without a second dot. */
	const char *sfx = strcmp(suffix, ".") == 0 ? "" : suffix;
	snprintf(name, sizeof(name), "%s%u.%s", (r & 1) ? "Host" : "host",
		 (unsigned)(r % 97), sfx);
	snprintf(target, sizeof(target), "%s%u.%s", (r & 2) ? "T" : "t",
		 (unsigned)(r % 13), (r & 4) ? sfx : "Other.example.");
	strcpy(s->owner, (r & 8) ? name : suffix);
	s->type = types[(size_t)i % (sizeof(types) / sizeof(types[0]))];
	s->ttl = r;
	s->section = MSG_ANSWER;
	struct buf *rd = &s->rdata;
	rd->n = 0;
	switch (s->type) {
	case RRTYPE_A:
		put_u32(rd, r);
		break;
	case RRTYPE_AAAA:
		for (int k = 0; k < 4; k++)
			put_u32(rd, rnd());
		break;
	case RRTYPE_NS:
	case RRTYPE_CNAME:
	case RRTYPE_PTR:
		put_name(rd, target);
		break;
	case RRTYPE_MX:
		put_u16(rd, (uint16_t)r);
		put_name(rd, target);
		break;
	case RRTYPE_SOA:
		soa_rdata(rd, target, name);
		break;
	case RRTYPE_MINFO:
		put_name(rd, name);
		put_name(rd, target);
		break;
	case RRTYPE_SRV:
		put_u16(rd, 1);
		put_u16(rd, 2);
		put_u16(rd, 3);
		put_name(rd, target);
		break;
	case RRTYPE_NSEC:
		put_name(rd, target);
		put_bytes(rd, "\0\3\142\0\1", 5);
		break;
	case RRTYPE_RRSIG:
		put_u16(rd, RRTYPE_A);
		put_u8(rd, 13);
		put_u8(rd, 2);
		put_u32(rd, 300);
		put_u32(rd, r);
		put_u32(rd, r);
		put_u16(rd, 1);
		put_name(rd, suffix);
		for (int k = 0; k < 16; k++)
			put_u32(rd, rnd());
		break;
	case RRTYPE_TXT:
		put_u8(rd, 5);
		put_bytes(rd, "\xC0\x0C\3ab", 5); /* looks like names */
		break;
	default:
		put_bytes(rd, "\3www\xC0\x0C", 6);
		break;
	}
	expect(rdata_check(s->type, rd->b, rd->n) == 0, "bad sample");
}

/* Reads back what was written and compares it with the samples. */
static void check_samples(const struct msg_writer *w, const struct sample *s,
			  int count)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct msg_reader r;
	struct msg_header h;
	struct msg_question q;
	struct msg_rr rr;
	msg_reader_init(&r, msg_writer_data(w), msg_writer_len(w));
	ck_assert_int_eq(msg_read_header(&r, &h), 0);
	ck_assert_int_eq(h.count[1] + h.count[2] + h.count[3], count);
	for (int i = 0; i < h.count[0]; i++)
		ck_assert_int_eq(msg_read_question(&r, &q), 0);
	for (int i = 0; i < count; i++) {
		int rc = msg_read_rr(&r, &rr, rdata, sizeof(rdata));
		expect(rc == 0, "RR %d: %d", i, rc);
		expect(dname_equal(rr.owner, N(s[i].owner)), "RR %d owner", i);
		expect(rr.type == s[i].type, "RR %d type", i);
		expect(rr.rrclass == RRCLASS_IN, "RR %d class", i);
		expect(rr.ttl == s[i].ttl, "RR %d ttl", i);
		expect(rr.rdlen == s[i].rdata.n, "RR %d rdlen %u", i, rr.rdlen);
		/* Equal up to the case of compressible names; exactly equal
		 * for types whose names are never compressed. */
		expect(rdata_cmp(rr.type, rdata, rr.rdlen, s[i].rdata.b,
				 s[i].rdata.n) == 0,
		       "RR %d rdata", i);
		bool compressible = false;
		for (const uint8_t *f = rrtype_layout(rr.type); *f; f++)
			compressible |= *f == RDF_NAME_COMPRESS;
		expect(compressible ||
			   memcmp(rdata, s[i].rdata.b, rr.rdlen) == 0,
		       "RR %d rdata octets", i);
	}
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
}

START_TEST(test_round_trip_many)
{
	static struct sample samples[400];
	static const char *suffixes[] = {"example.com.", "Example.NET.",
					 "a.b.c.example.org.", "."};
	struct msg_writer w;
	size_t uncompressed = 12;
	rng_state = 0xC0FFEE;
	writer(&w, 0, MSG_MAXLEN);
	ck_assert_int_eq(
	    msg_write_question(&w, N("Q.Example.COM."), RRTYPE_ANY, RRCLASS_IN),
	    0);
	int count = (int)(sizeof(samples) / sizeof(samples[0]));
	for (int i = 0; i < count; i++) {
		struct sample *s = &samples[i];
		make_sample(s, i, suffixes[rnd() % 4]);
		s->section = i < 150   ? MSG_ANSWER
			     : i < 300 ? MSG_AUTHORITY
				       : MSG_ADDITIONAL;
		int rc =
		    msg_write_rr(&w, s->section, N(s->owner), s->type,
				 RRCLASS_IN, s->ttl, s->rdata.b, s->rdata.n);
		expect(rc == 0, "RR %d: %d", i, rc);
		uncompressed += dname_len(N(s->owner)) + 10 + s->rdata.n;
	}
	check_samples(&w, samples, count);
	ck_assert_uint_lt(msg_writer_len(&w), uncompressed * 3 / 4);
	ck_assert_uint_eq(w.count[MSG_ANSWER], 150);
	ck_assert_uint_eq(w.count[MSG_AUTHORITY], 150);
	ck_assert_uint_eq(w.count[MSG_ADDITIONAL], 100);
}
END_TEST

/* Past 0x4000 nothing can be pointed at: names there must be written so
 * that they still read back right, and the compression table (which
 * fills up) must never yield a wrong pointer. */
START_TEST(test_round_trip_large_offsets)
{
	static struct sample samples[4000];
	struct msg_writer w;
	rng_state = 0xBADC0DE;
	writer(&w, 0, MSG_MAXLEN);
	ck_assert_int_eq(
	    msg_write_question(&w, N("x.example."), RRTYPE_AXFR, RRCLASS_IN),
	    0);
	int count = 0;
	for (;;) {
		struct sample *s = &samples[count];
		char suffix[64];
		/* Suffixes introduced both below and above 0x4000. */
		snprintf(suffix, sizeof(suffix), "z%u.Example.",
			 (unsigned)(rnd() % (count < 200 ? 10 : 400)));
		make_sample(s, count, suffix);
		int rc =
		    msg_write_rr(&w, MSG_ANSWER, N(s->owner), s->type,
				 RRCLASS_IN, s->ttl, s->rdata.b, s->rdata.n);
		if (rc == ERR_SPACE)
			break;
		expect(rc == 0, "RR %d: %d", count, rc);
		count++;
		expect(count < 4000, "never full");
	}
	ck_assert_uint_gt(msg_writer_len(&w), 0x4000 * 3);
	ck_assert_uint_eq(w.ncompress, MSG_COMPRESS_MAX);
	for (int i = 0; i < w.ncompress; i++)
		ck_assert_uint_le(w.compress[i], 0x3FFF);
	check_samples(&w, samples, count);
}
END_TEST

/* Random messages: everything written reads back, under random limits. */
START_TEST(test_round_trip_random)
{
	static struct sample samples[64];
	rng_state = 0x5EED;
	for (int iter = 0; iter < 300; iter++) {
		struct msg_writer w;
		writer(&w, 0, 512 + rnd() % 4000);
		ck_assert_int_eq(msg_write_question(&w, N("Q.example.com."),
						    RRTYPE_A, RRCLASS_IN),
				 0);
		int count = 0;
		for (int i = 0; i < 64; i++) {
			struct sample *s = &samples[count];
			make_sample(s, (int)rnd(),
				    (rnd() & 1) ? "example.com."
						: "EXAMPLE.org.");
			struct msg_mark mark;
			msg_writer_mark(&w, &mark);
			int rc = msg_write_rr(&w, MSG_ANSWER, N(s->owner),
					      s->type, RRCLASS_IN, s->ttl,
					      s->rdata.b, s->rdata.n);
			if (rc == ERR_SPACE) {
				expect(msg_writer_len(&w) == mark.pos,
				       "refused RR left octets");
				continue;
			}
			expect(rc == 0, "RR %d: %d", i, rc);
			count++;
		}
		ck_assert_uint_le(msg_writer_len(&w), w.limit);
		check_samples(&w, samples, count);
	}
}
END_TEST

/*
 * Truncation and rollback.
 */

struct snapshot {
	uint8_t buf[sizeof(wbuf[0])];
	struct msg_writer w;
};

static void snap(struct snapshot *s, const struct msg_writer *w)
{
	memcpy(s->buf, w->buf, sizeof(s->buf));
	s->w = *w;
}

/* The writer and the message as they were; octets past the message may
 * differ (an RR is written in one pass and not committed when it turns
 * out to pass the limit). */
static void assert_unchanged(const struct snapshot *s,
			     const struct msg_writer *w)
{
	ck_assert_mem_eq(w->buf, s->buf, s->w.pos);
	ck_assert_uint_eq(w->pos, s->w.pos);
	ck_assert_uint_eq(w->limit, s->w.limit);
	ck_assert_uint_eq(w->section, s->w.section);
	ck_assert_uint_eq(w->ncompress, s->w.ncompress);
	ck_assert_mem_eq(w->count, s->w.count, sizeof(w->count));
	ck_assert_mem_eq(w->compress, s->w.compress,
			 w->ncompress * sizeof(w->compress[0]));
}

START_TEST(test_truncation_refuses)
{
	static struct snapshot before;
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(
	    msg_write_question(&w, N("example.com."), RRTYPE_A, RRCLASS_IN), 0);
	int written = 0;
	for (int i = 0;; i++) {
		char owner[64];
		snprintf(owner, sizeof(owner), "host-%d.example.com.", i);
		snap(&before, &w);
		int rc = write_a(&w, MSG_ANSWER, owner, (uint32_t)i);
		if (rc == ERR_SPACE) {
			assert_unchanged(&before, &w);
			break;
		}
		ck_assert_int_eq(rc, 0);
		written++;
	}
	ck_assert_uint_le(msg_writer_len(&w), 512);
	ck_assert_uint_gt(msg_writer_len(&w), 512 - 25);
	ck_assert_int_eq(w.count[MSG_ANSWER], written);
	/* A smaller RR still fits after a refusal. */
	size_t left = 512 - msg_writer_len(&w);
	if (left >= 16)
		ck_assert_int_eq(write_a(&w, MSG_ANSWER, "example.com.", 0), 0);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

/* Length of an RR written after the question into a roomy writer. */
static size_t rr_len_after_question(const char *qname, const char *owner,
				    uint16_t type, const struct buf *rd)
{
	struct msg_writer w;
	writer(&w, 1, MSG_MAXLEN);
	ck_assert_int_eq(msg_write_question(&w, N(qname), type, RRCLASS_IN), 0);
	size_t before = msg_writer_len(&w);
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N(owner), type,
				      RRCLASS_IN, 60, rd->b, rd->n),
			 0);
	return msg_writer_len(&w) - before;
}

/* At the limit exactly: fits; one octet less: refused. The SOA and MX
 * here compress to much less than their uncompressed size, so this goes
 * through the measuring path. */
START_TEST(test_truncation_exact_limit)
{
	static struct snapshot before;
	struct buf rd;
	soa_rdata(&rd, "ns1.Example.com.", "hostmaster.example.COM.");
	size_t soa_len = rr_len_after_question("example.com.", "example.com.",
					       RRTYPE_SOA, &rd);
	ck_assert_uint_lt(soa_len, 13 + 10 + rd.n);

	struct msg_writer w, roomy;
	for (int extra = -3; extra <= 3; extra++) {
		writer(&w, 0, 512);
		ck_assert_int_eq(msg_write_question(&w, N("example.com."),
						    RRTYPE_SOA, RRCLASS_IN),
				 0);
		size_t limit =
		    msg_writer_len(&w) + soa_len + (size_t)(extra + 3) - 3;
		ck_assert_int_eq(msg_writer_set_limit(&w, limit), 0);
		snap(&before, &w);
		int rc = msg_write_rr(&w, MSG_ANSWER, N("example.com."),
				      RRTYPE_SOA, RRCLASS_IN, 60, rd.b, rd.n);
		if (extra < 0) {
			ck_assert_int_eq(rc, ERR_SPACE);
			assert_unchanged(&before, &w);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_le(msg_writer_len(&w), limit);
		}
	}
	/* The measured path writes the very bytes the roomy one does. */
	writer(&roomy, 2, MSG_MAXLEN);
	ck_assert_int_eq(msg_write_question(&roomy, N("example.com."),
					    RRTYPE_SOA, RRCLASS_IN),
			 0);
	ck_assert_int_eq(msg_write_rr(&roomy, MSG_ANSWER, N("example.com."),
				      RRTYPE_SOA, RRCLASS_IN, 60, rd.b, rd.n),
			 0);
	ck_assert_uint_eq(msg_writer_len(&w), msg_writer_len(&roomy));
	ck_assert_mem_eq(wbuf[0], wbuf[2], msg_writer_len(&w));
	ck_assert_uint_eq(w.ncompress, roomy.ncompress);

	/* MX whose exchange compresses against the owner of the same RR. */
	rd.n = 0;
	put_u16(&rd, 10);
	put_name(&rd, "mail.sub.example.com.");
	size_t mx_len = rr_len_after_question(
	    "example.com.", "sub.example.com.", RRTYPE_MX, &rd);
	ck_assert_uint_eq(mx_len, 4 + 2 + 10 + 2 + 5 + 2);
	for (int extra = -1; extra <= 0; extra++) {
		writer(&w, 0, 512);
		ck_assert_int_eq(msg_write_question(&w, N("example.com."),
						    RRTYPE_MX, RRCLASS_IN),
				 0);
		ck_assert_int_eq(msg_writer_set_limit(&w, msg_writer_len(&w) +
							      mx_len + extra),
				 0);
		snap(&before, &w);
		int rc = msg_write_rr(&w, MSG_ANSWER, N("sub.example.com."),
				      RRTYPE_MX, RRCLASS_IN, 60, rd.b, rd.n);
		if (extra < 0) {
			ck_assert_int_eq(rc, ERR_SPACE);
			assert_unchanged(&before, &w);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_int_eq(
			    parse_all(msg_writer_data(&w), msg_writer_len(&w)),
			    0);
		}
	}
}
END_TEST

START_TEST(test_truncation_question)
{
	static struct snapshot before;
	struct msg_writer w;
	writer(&w, 0, 12 + 16);
	snap(&before, &w);
	/* 13 + 4 = 17 octets: one too many. */
	ck_assert_int_eq(
	    msg_write_question(&w, N("example.com."), RRTYPE_A, RRCLASS_IN),
	    ERR_SPACE);
	assert_unchanged(&before, &w);
	ck_assert_int_eq(msg_writer_set_limit(&w, 12 + 17), 0);
	ck_assert_int_eq(
	    msg_write_question(&w, N("example.com."), RRTYPE_A, RRCLASS_IN), 0);
	ck_assert_uint_eq(msg_writer_len(&w), 29);
}
END_TEST

START_TEST(test_rollback_rrset)
{
	static struct snapshot before;
	struct msg_writer w, fresh;
	writer(&w, 0, 512);
	writer(&fresh, 1, 512);
	struct msg_writer *both[2] = {&w, &fresh};
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(msg_write_question(both[i], N("example.com."),
						    RRTYPE_A, RRCLASS_IN),
				 0);
		ck_assert_int_eq(
		    write_a(both[i], MSG_ANSWER, "example.com.", 1), 0);
	}
	snap(&before, &w);
	struct msg_mark mark;
	msg_writer_mark(&w, &mark);
	/* An NS RRset in the authority section with new names. */
	ck_assert_int_eq(write_name_rr(&w, MSG_AUTHORITY, "example.com.",
				       RRTYPE_NS, "ns1.provider.net."),
			 0);
	ck_assert_int_eq(write_name_rr(&w, MSG_AUTHORITY, "example.com.",
				       RRTYPE_NS, "ns2.provider.net."),
			 0);
	ck_assert_uint_eq(w.count[MSG_AUTHORITY], 2);
	ck_assert_uint_gt(w.ncompress, before.w.ncompress);
	msg_writer_rollback(&w, &mark);
	/* Header counts, length, section and compression table are back
	 * (bytes past the end may differ, they are not part of it). */
	ck_assert_uint_eq(msg_writer_len(&w), before.w.pos);
	ck_assert_mem_eq(wbuf[0], before.buf, msg_writer_len(&w));
	ck_assert_uint_eq(w.count[MSG_AUTHORITY], 0);
	ck_assert_uint_eq(w.ncompress, before.w.ncompress);
	ck_assert_uint_eq(w.section, MSG_ANSWER);
	/* The answer section is open again. */
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, "example.com.", 2), 0);
	ck_assert_int_eq(write_a(&fresh, MSG_ANSWER, "example.com.", 2), 0);
	/* A name seen only in the rolled-back RRs is not pointed at. */
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "ns1.provider.net.", 3),
			 0);
	ck_assert_int_eq(
	    write_a(&fresh, MSG_ADDITIONAL, "ns1.provider.net.", 3), 0);
	ck_assert_uint_eq(msg_writer_len(&w), msg_writer_len(&fresh));
	ck_assert_mem_eq(wbuf[0], wbuf[1], msg_writer_len(&w));
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

/* The caller pattern of RFC 2181 §9: an RRset that does not fit whole is
 * left out whole, and TC is set. */
START_TEST(test_rollback_partial_rrset)
{
	struct msg_writer w;
	writer(&w, 0, 200);
	ck_assert_int_eq(
	    msg_write_question(&w, N("big.example."), RRTYPE_TXT, RRCLASS_IN),
	    0);
	struct msg_mark mark;
	msg_writer_mark(&w, &mark);
	struct buf rd = {.n = 0};
	put_u8(&rd, 40);
	for (int i = 0; i < 40; i++)
		put_u8(&rd, 'x');
	int rc = 0, members = 0;
	while (rc == 0) {
		rc = msg_write_rr(&w, MSG_ANSWER, N("big.example."), RRTYPE_TXT,
				  RRCLASS_IN, 60, rd.b, rd.n);
		members += rc == 0;
	}
	ck_assert_int_eq(rc, ERR_SPACE);
	ck_assert_int_gt(members, 1);
	msg_writer_rollback(&w, &mark);
	msg_writer_set_flags(&w, msg_writer_flags(&w) | MSG_FLAG_TC);
	ck_assert_uint_eq(msg_writer_len(&w), 12 + 13 + 4);
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, msg_writer_data(&w), msg_writer_len(&w));
	ck_assert_int_eq(msg_read_header(&r, &h), 0);
	ck_assert_uint_eq(h.count[MSG_ANSWER], 0);
	ck_assert(h.flags & MSG_FLAG_TC);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

START_TEST(test_section_order)
{
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(write_a(&w, MSG_AUTHORITY, "a.", 1), 0);
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, "a.", 1), ERR_BADSTATE);
	ck_assert_int_eq(msg_write_question(&w, N("a."), 1, 1), ERR_BADSTATE);
	ck_assert_int_eq(write_a(&w, MSG_AUTHORITY, "a.", 2), 0);
	ck_assert_int_eq(write_a(&w, MSG_ADDITIONAL, "a.", 3), 0);
	ck_assert_int_eq(write_a(&w, MSG_AUTHORITY, "a.", 4), ERR_BADSTATE);
	ck_assert_int_eq(write_a(&w, MSG_QUESTION, "a.", 4), ERR_INVAL);
	ck_assert_int_eq(write_a(&w, (enum msg_section)4, "a.", 4), ERR_INVAL);
	ck_assert_uint_eq(w.count[MSG_AUTHORITY], 2);
	ck_assert_uint_eq(w.count[MSG_ADDITIONAL], 1);
	/* Several questions are allowed before any RR. */
	writer(&w, 0, 512);
	ck_assert_int_eq(msg_write_question(&w, N("a.b."), 1, 1), 0);
	ck_assert_int_eq(msg_write_question(&w, N("c.b."), 1, 1), 0);
	ck_assert_uint_eq(w.count[MSG_QUESTION], 2);
	ck_assert_mem_eq(wbuf[0] + 21, "\1c\xC0\x0E", 4);
}
END_TEST

START_TEST(test_write_invalid)
{
	static struct snapshot before;
	struct msg_writer w;
	writer(&w, 0, 512);
	ck_assert_int_eq(msg_write_question(&w, N("example."), 1, 1), 0);
	snap(&before, &w);
	/* MX with a truncated name, SOA missing its numbers. */
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), RRTYPE_MX,
				      RRCLASS_IN, 0,
				      (const uint8_t *)"\0\1\3ab", 5),
			 ERR_INVAL);
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), RRTYPE_SOA,
				      RRCLASS_IN, 0, (const uint8_t *)"\0\0",
				      2),
			 ERR_INVAL);
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), RRTYPE_NS,
				      RRCLASS_IN, 0, (const uint8_t *)"\0\0",
				      2),
			 ERR_INVAL);
	ck_assert_uint_eq(w.pos, before.w.pos);
	ck_assert_uint_eq(w.ncompress, before.w.ncompress);
	ck_assert_mem_eq(w.count, before.w.count, sizeof(w.count));
	ck_assert_mem_eq(wbuf[0], before.buf, w.pos);
	/* Rdata over 65535 octets. */
	static uint8_t huge[MSG_RDATA_MAX + 1];
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), 65280,
				      RRCLASS_IN, 0, huge, sizeof(huge)),
			 ERR_INVAL);
	/* Empty rdata (UPDATE deletions) is written as it is, also for
	 * types whose rdata holds compressible names. */
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), RRTYPE_A,
				      RRCLASS_ANY, 0, NULL, 0),
			 0);
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), RRTYPE_NS,
				      RRCLASS_ANY, 0, NULL, 0),
			 0);
	ck_assert_int_eq(msg_write_rr(&w, MSG_ANSWER, N("example."), RRTYPE_SOA,
				      RRCLASS_NONE, 0, NULL, 0),
			 0);
	ck_assert_mem_eq(wbuf[0] + msg_writer_len(&w) - 10,
			 "\0\6\0\376\0\0\0\0\0\0", 10);
	ck_assert_uint_eq(w.count[MSG_ANSWER], 3);
	ck_assert_int_eq(parse_all(msg_writer_data(&w), msg_writer_len(&w)), 0);
}
END_TEST

START_TEST(test_set_limit)
{
	struct msg_writer w;
	uint8_t small[600];
	ck_assert_int_eq(msg_writer_init(&w, small, sizeof(small), 512), 0);
	ck_assert_int_eq(msg_write_question(&w, N("example."), 1, 1), 0);
	ck_assert_int_eq(msg_writer_set_limit(&w, 20), ERR_INVAL);
	ck_assert_uint_eq(w.limit, 512);
	ck_assert_int_eq(msg_writer_set_limit(&w, 100000), 0);
	ck_assert_uint_eq(w.limit, sizeof(small));
	ck_assert_int_eq(msg_writer_set_limit(&w, msg_writer_len(&w)), 0);
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, "example.", 1), ERR_SPACE);

	/* Reserving room for the OPT RR, then using it. */
	struct msg_edns edns = {.udp_size = 1232};
	ck_assert_int_eq(msg_writer_set_limit(&w, 512 - 11), 0);
	int rc;
	while ((rc = write_a(&w, MSG_ANSWER, "example.", 1)) == 0)
		;
	ck_assert_int_eq(rc, ERR_SPACE);
	ck_assert_uint_le(msg_writer_len(&w), 512 - 11);
	ck_assert_int_eq(msg_writer_set_limit(&w, 512), 0);
	ck_assert_int_eq(msg_write_opt(&w, &edns, NULL, 0), 0);
	ck_assert_uint_le(msg_writer_len(&w), 512);
	ck_assert_int_eq(parse_all(small, msg_writer_len(&w)), 0);
}
END_TEST

/*
 * EDNS.
 */

/* Reads the last RR of a message, which must be the OPT. */
static void read_opt(const struct msg_writer *w, struct msg_rr *rr,
		     uint8_t *rdata, struct msg_edns *edns)
{
	struct msg_reader r;
	struct msg_header h;
	struct msg_question q;
	msg_reader_init(&r, msg_writer_data(w), msg_writer_len(w));
	ck_assert_int_eq(msg_read_header(&r, &h), 0);
	for (int i = 0; i < h.count[0]; i++)
		ck_assert_int_eq(msg_read_question(&r, &q), 0);
	int rrs = h.count[1] + h.count[2] + h.count[3];
	for (int i = 0; i < rrs; i++)
		ck_assert_int_eq(msg_read_rr(&r, rr, rdata, MSG_RDATA_MAX), 0);
	ck_assert_uint_eq(msg_reader_remaining(&r), 0);
	ck_assert_uint_eq(rr->type, RRTYPE_OPT);
	ck_assert_int_eq(msg_edns_parse(rr, rdata, edns), 0);
}

START_TEST(test_opt_round_trip)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct msg_writer w;
	struct msg_rr rr;
	struct msg_edns out;
	writer(&w, 0, 1232);
	msg_write_header(&w, 99,
			 msg_flags_set_rcode(MSG_FLAG_QR, RCODE_BADVERS));
	ck_assert_int_eq(
	    msg_write_question(&w, N("example."), RRTYPE_SOA, RRCLASS_IN), 0);
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, "example.", 1), 0);
	struct msg_edns edns = {
	    .udp_size = 1232,
	    .ext_rcode = msg_rcode_ext(RCODE_BADVERS),
	    .version = 0,
	    .dnssec_ok = true,
	};
	ck_assert_int_eq(msg_write_opt(&w, &edns, (const uint8_t *)"ns1.ex", 6),
			 0);
	ck_assert_uint_eq(w.count[MSG_ADDITIONAL], 1);
	/* Root owner, type 41, class = size, ttl = ext rcode, version, DO. */
	size_t at = msg_writer_len(&w) - 11 - 10;
	ck_assert_mem_eq(wbuf[0] + at,
			 "\0\0\51\4\xD0\1\0\x80\0\0\12\0\3\0\6ns1.ex", 21);

	read_opt(&w, &rr, rdata, &out);
	ck_assert_uint_eq(out.udp_size, 1232);
	ck_assert_uint_eq(out.ext_rcode, 1);
	ck_assert_uint_eq(out.version, 0);
	ck_assert(out.dnssec_ok);
	ck_assert_uint_eq(out.flags, EDNS_FLAG_DO);
	ck_assert_uint_eq(out.options_len, 10);
	unsigned rcode = ((unsigned)out.ext_rcode << 4) |
			 msg_flags_rcode(msg_writer_flags(&w));
	ck_assert_uint_eq(rcode, RCODE_BADVERS);

	const uint8_t *data;
	uint16_t len;
	ck_assert_int_eq(msg_edns_find_option(&out, EDNS_OPT_NSID, &data, &len),
			 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(data, "ns1.ex", 6);
	ck_assert_int_eq(
	    msg_edns_find_option(&out, EDNS_OPT_COOKIE, &data, &len),
	    ERR_NOTFOUND);
}
END_TEST

START_TEST(test_opt_options)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct msg_writer w;
	struct msg_rr rr;
	struct msg_edns out;
	/* A cookie and an empty padding option from the caller, an empty
	 * NSID (the request form) from msg_write_opt. */
	static const uint8_t opts[] = "\0\12\0\10ABCDEFGH"
				      "\0\14\0\0";
	struct msg_edns edns = {
	    .udp_size = 4096,
	    .version = 0,
	    .dnssec_ok = false,
	    .options = opts,
	    .options_len = sizeof(opts) - 1,
	};
	writer(&w, 0, 512);
	ck_assert_int_eq(msg_write_opt(&w, &edns, (const uint8_t *)"", 0), 0);
	read_opt(&w, &rr, rdata, &out);
	ck_assert(!out.dnssec_ok);
	ck_assert_uint_eq(out.flags, 0);
	ck_assert_uint_eq(out.udp_size, 4096);
	ck_assert_uint_eq(out.options_len, 16 + 4);

	static const uint16_t want_code[] = {EDNS_OPT_COOKIE, EDNS_OPT_PADDING,
					     EDNS_OPT_NSID};
	static const uint16_t want_len[] = {8, 0, 0};
	size_t pos = 0;
	uint16_t code, len;
	const uint8_t *data;
	int n = 0, rc;
	while ((rc = msg_edns_next_option(&out, &pos, &code, &data, &len)) ==
	       1) {
		ck_assert_int_lt(n, 3);
		ck_assert_uint_eq(code, want_code[n]);
		ck_assert_uint_eq(len, want_len[n]);
		n++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(
	    msg_edns_find_option(&out, EDNS_OPT_COOKIE, &data, &len), 0);
	ck_assert_mem_eq(data, "ABCDEFGH", 8);

	/* No options at all; a version and Z bits as received. */
	writer(&w, 0, 512);
	struct msg_edns bare = {.udp_size = 512, .version = 1};
	ck_assert_int_eq(msg_write_opt(&w, &bare, NULL, 0), 0);
	ck_assert_uint_eq(msg_writer_len(&w), 12 + 11);
	read_opt(&w, &rr, rdata, &out);
	ck_assert_uint_eq(out.version, 1);
	ck_assert_uint_eq(out.options_len, 0);
	pos = 0;
	ck_assert_int_eq(msg_edns_next_option(&out, &pos, &code, &data, &len),
			 0);
}
END_TEST

START_TEST(test_opt_parse_errors)
{
	struct msg_rr rr = {.type = RRTYPE_OPT, .rrclass = 1232};
	struct msg_edns out;
	rr.owner[0] = 0;

	rr.rdlen = 0;
	ck_assert_int_eq(msg_edns_parse(&rr, NULL, &out), 0);
	/* Z bits and version come through untouched. */
	rr.ttl = 0x00027FFF;
	ck_assert_int_eq(msg_edns_parse(&rr, NULL, &out), 0);
	ck_assert_uint_eq(out.version, 2);
	ck_assert_uint_eq(out.flags, 0x7FFF);
	ck_assert(!out.dnssec_ok);

	/* Option header cut short; option data past the end. */
	rr.rdlen = 3;
	ck_assert_int_eq(msg_edns_parse(&rr, (const uint8_t *)"\0\3\0", &out),
			 ERR_MALFORMED);
	rr.rdlen = 6;
	ck_assert_int_eq(
	    msg_edns_parse(&rr, (const uint8_t *)"\0\3\0\3ab", &out),
	    ERR_MALFORMED);
	rr.rdlen = 7;
	ck_assert_int_eq(
	    msg_edns_parse(&rr, (const uint8_t *)"\0\3\0\3abc", &out), 0);
	rr.rdlen = 8;
	ck_assert_int_eq(
	    msg_edns_parse(&rr, (const uint8_t *)"\0\3\0\3abc\0", &out),
	    ERR_MALFORMED);
	rr.rdlen = 11;
	ck_assert_int_eq(
	    msg_edns_parse(&rr, (const uint8_t *)"\0\3\0\3abc\0\1\0\0", &out),
	    0);
	/* The owner of an OPT RR is the root (RFC 6891 §6.1.2). */
	memcpy(rr.owner, "\1a\0", 3);
	rr.rdlen = 0;
	ck_assert_int_eq(msg_edns_parse(&rr, NULL, &out), ERR_MALFORMED);
	rr.owner[0] = 0;
	rr.type = RRTYPE_A;
	ck_assert_int_eq(msg_edns_parse(&rr, NULL, &out), ERR_INVAL);

	/* Iterating an unchecked area stops at the damage. */
	struct msg_edns raw = {.options = (const uint8_t *)"\0\3\0\2a",
			       .options_len = 5};
	size_t pos = 0;
	uint16_t code, len;
	const uint8_t *data;
	ck_assert_int_eq(msg_edns_next_option(&raw, &pos, &code, &data, &len),
			 ERR_MALFORMED);
}
END_TEST

START_TEST(test_opt_space)
{
	static struct snapshot before;
	struct msg_writer w;
	struct msg_edns edns = {.udp_size = 1232};
	writer(&w, 0, 12 + 11 + 4 + 9);
	snap(&before, &w);
	ck_assert_int_eq(
	    msg_write_opt(&w, &edns, (const uint8_t *)"123456789a", 10),
	    ERR_SPACE);
	assert_unchanged(&before, &w);
	ck_assert_int_eq(
	    msg_write_opt(&w, &edns, (const uint8_t *)"123456789", 9), 0);
	ck_assert_uint_eq(msg_writer_len(&w), w.limit);
	static uint8_t big[MSG_RDATA_MAX];
	writer(&w, 0, MSG_MAXLEN);
	ck_assert_int_eq(msg_write_opt(&w, &edns, big, MSG_RDATA_MAX - 3),
			 ERR_INVAL);
	edns.options = big;
	edns.options_len = 100;
	ck_assert_int_eq(msg_write_opt(&w, &edns, big, MSG_RDATA_MAX - 4 - 99),
			 ERR_INVAL);
}
END_TEST

/* The OPT of a query read the way a server reads it. */
START_TEST(test_opt_from_query)
{
	static uint8_t rdata[MSG_RDATA_MAX];
	struct buf m = {.n = 0};
	put_header(&m, 1, MSG_FLAG_RD, 1, 0, 0, 1);
	put_name(&m, "example.");
	put_u16(&m, RRTYPE_A);
	put_u16(&m, RRCLASS_IN);
	put_u8(&m, 0);
	put_rr_fixed(&m, RRTYPE_OPT, 1400, 0x00008000, 4);
	put_bytes(&m, "\0\3\0\0", 4);
	ck_assert_int_eq(parse_all(m.b, m.n), 0);

	struct msg_reader r;
	struct msg_question q;
	struct msg_rr rr;
	struct msg_edns edns;
	msg_reader_init(&r, m.b, m.n);
	r.pos = 12;
	ck_assert_int_eq(msg_read_question(&r, &q), 0);
	ck_assert_int_eq(msg_read_rr(&r, &rr, rdata, sizeof(rdata)), 0);
	ck_assert_int_eq(msg_edns_parse(&rr, rdata, &edns), 0);
	ck_assert_uint_eq(edns.udp_size, 1400);
	ck_assert(edns.dnssec_ok);
	const uint8_t *data;
	uint16_t len;
	ck_assert_int_eq(
	    msg_edns_find_option(&edns, EDNS_OPT_NSID, &data, &len), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/*
 * Robustness: mutated and truncated messages.
 */

static void build_complex(struct buf *m)
{
	struct msg_writer w;
	struct buf rd;
	writer(&w, 3, MSG_MAXLEN);
	msg_write_header(&w, 0xABCD, MSG_FLAG_QR | MSG_FLAG_AA);
	ck_assert_int_eq(
	    msg_write_question(&w, N("www.Example.com."), RRTYPE_A, RRCLASS_IN),
	    0);
	ck_assert_int_eq(write_name_rr(&w, MSG_ANSWER, "www.example.com.",
				       RRTYPE_CNAME, "web.example.com."),
			 0);
	ck_assert_int_eq(write_a(&w, MSG_ANSWER, "web.example.com.", 1), 0);
	soa_rdata(&rd, "ns1.example.com.", "hostmaster.example.com.");
	ck_assert_int_eq(msg_write_rr(&w, MSG_AUTHORITY, N("example.com."),
				      RRTYPE_SOA, RRCLASS_IN, 60, rd.b, rd.n),
			 0);
	ck_assert_int_eq(write_mx(&w, MSG_AUTHORITY, "example.com.", 10,
				  "mail.example.com."),
			 0);
	rd.n = 0;
	put_name(&rd, "zz.example.com.");
	put_bytes(&rd, "\0\1\100", 3);
	ck_assert_int_eq(msg_write_rr(&w, MSG_AUTHORITY, N("example.com."),
				      RRTYPE_NSEC, RRCLASS_IN, 60, rd.b, rd.n),
			 0);
	ck_assert_int_eq(write_name_rr(&w, MSG_ADDITIONAL, "example.com.",
				       RRTYPE_NS, "ns1.example.com."),
			 0);
	struct msg_edns edns = {.udp_size = 1232, .dnssec_ok = true};
	ck_assert_int_eq(msg_write_opt(&w, &edns, (const uint8_t *)"id", 2), 0);
	m->n = 0;
	put_bytes(m, msg_writer_data(&w), msg_writer_len(&w));
	ck_assert_int_eq(parse_all(m->b, m->n), 0);
}

static bool known_error(int rc)
{
	return rc == 0 || rc == ERR_TRUNCATED || rc == ERR_MALFORMED ||
	       rc == ERR_PTRLOOP || rc == ERR_BADLABEL || rc == ERR_NAMELEN;
}

START_TEST(test_truncated_everywhere)
{
	static struct buf m;
	build_complex(&m);
	for (size_t len = 0; len < m.n; len++) {
		int rc = parse_all(m.b, len);
		expect(rc == ERR_TRUNCATED || rc == ERR_MALFORMED,
		       "len %zu: %d", len, rc);
	}
}
END_TEST

START_TEST(test_mutations)
{
	static struct buf m, mutant;
	build_complex(&m);
	rng_state = 0xFEEDF00D;
	int ok = 0, failed = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(mutant.b, m.b, m.n);
		mutant.n = m.n;
		int flips = 1 + (int)(rnd() % 4);
		for (int i = 0; i < flips && mutant.n > 12; i++) {
			size_t at = 12 + rnd() % (mutant.n - 12);
			switch (rnd() % 4) {
			case 0:
				mutant.b[at] = (uint8_t)rnd();
				break;
			case 1:
				mutant.b[at] = 0xC0;
				break;
			case 2:
				mutant.b[at] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			default:
				mutant.n = at;
				break;
			}
		}
		int rc = parse_all(mutant.b, mutant.n);
		expect(known_error(rc), "rc %d", rc);
		if (rc == 0)
			ok++;
		else
			failed++;
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(failed, 0);
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("header");
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_header_truncated);
	tcase_add_test(tc, test_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_name_plain);
	tcase_add_test(tc, test_name_compressed);
	tcase_add_test(tc, test_name_self_pointer);
	tcase_add_test(tc, test_name_pointer_loop);
	tcase_add_test(tc, test_name_forward_pointer);
	tcase_add_test(tc, test_name_pointer_out_of_bounds);
	tcase_add_test(tc, test_name_label_types);
	tcase_add_test(tc, test_name_truncated);
	tcase_add_test(tc, test_name_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_test(tc, test_question);
	tcase_add_test(tc, test_rr_basic);
	tcase_add_test(tc, test_rr_truncated);
	tcase_add_test(tc, test_rr_rdlength_past_end);
	tcase_add_test(tc, test_rr_rdlength_mismatch);
	tcase_add_test(tc, test_rr_compressed_rdata);
	tcase_add_test(tc, test_rr_plain_name_compressed);
	tcase_add_test(tc, test_rr_rdata_bad_pointers);
	tcase_add_test(tc, test_rr_empty_rdata);
	tcase_add_test(tc, test_rr_small_buffer);
	tcase_add_test(tc, test_rr_offsets_and_skip);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_writer_init);
	tcase_add_test(tc, test_writer_header);
	tcase_add_test(tc, test_write_question_case);
	tcase_add_test(tc, test_write_compression_bytes);
	tcase_add_test(tc, test_write_compression_label_lengths);
	tcase_add_test(tc, test_write_compression_kept_labels);
	tcase_add_test(tc, test_write_known_owner);
	tcase_add_test(tc, test_write_no_compress_fold_plain);
	tcase_add_test(tc, test_write_soa);
	tcase_add_test(tc, test_image_same_octets);
	tcase_add_test(tc, test_image_random);
	tcase_add_test(tc, test_image_refused);
	tcase_add_test(tc, test_round_trip_many);
	tcase_add_test(tc, test_round_trip_large_offsets);
	tcase_add_test(tc, test_round_trip_random);
	tcase_add_test(tc, test_section_order);
	tcase_add_test(tc, test_write_invalid);
	tcase_add_test(tc, test_set_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncation");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_truncation_refuses);
	tcase_add_test(tc, test_truncation_exact_limit);
	tcase_add_test(tc, test_truncation_question);
	tcase_add_test(tc, test_rollback_rrset);
	tcase_add_test(tc, test_rollback_partial_rrset);
	suite_add_tcase(s, tc);

	tc = tcase_create("edns");
	tcase_add_test(tc, test_opt_round_trip);
	tcase_add_test(tc, test_opt_options);
	tcase_add_test(tc, test_opt_parse_errors);
	tcase_add_test(tc, test_opt_space);
	tcase_add_test(tc, test_opt_from_query);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
