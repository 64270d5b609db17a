/*
 * msg.h -- DNS messages on the wire (RFC 1035 §4, RFC 6891).
 *
 * The only place in tandem that knows the message format byte by byte.
 * A msg_reader is a bounds-checked cursor over a received message: every
 * malformed input ends in a negative error code, never a read past the
 * buffer. A msg_writer fills a caller-provided buffer up to a size limit,
 * compresses names, and refuses (without leaving a trace) any record that
 * does not fit, so the caller can set TC or drop a whole RRset. Neither
 * allocates memory.
 */
#ifndef TANDEM_DNS_MSG_H
#define TANDEM_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"

#define MSG_HDRLEN    12
#define MSG_UDPLEN    512   /* RFC 1035 §4.2.1 limit without EDNS */
#define MSG_MAXLEN    65535 /* largest message (TCP length prefix) */
#define MSG_RDATA_MAX 65535 /* largest rdata, uncompressed */

/* Header flag bits, in the 16-bit word after the ID (RFC 1035 §4.1.1,
 * RFC 4035 §3.2). Opcode and rcode are read and set with the helpers
 * below. */
#define MSG_FLAG_QR 0x8000
#define MSG_FLAG_AA 0x0400
#define MSG_FLAG_TC 0x0200
#define MSG_FLAG_RD 0x0100
#define MSG_FLAG_RA 0x0080
#define MSG_FLAG_Z  0x0040
#define MSG_FLAG_AD 0x0020
#define MSG_FLAG_CD 0x0010

enum msg_opcode {
	OPCODE_QUERY = 0,
	OPCODE_IQUERY = 1,
	OPCODE_STATUS = 2,
	OPCODE_NOTIFY = 4, /* RFC 1996 */
	OPCODE_UPDATE = 5, /* RFC 2136 */
};

/* Response codes. Values above 15 do not fit the header: they need an OPT
 * RR (extended RCODE, RFC 6891 §6.1.3) or live in the TSIG error field
 * (RFC 8945 §3), which is why BADVERS and BADSIG share 16. */
enum msg_rcode {
	RCODE_NOERROR = 0,
	RCODE_FORMERR = 1,
	RCODE_SERVFAIL = 2,
	RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4,
	RCODE_REFUSED = 5,
	RCODE_YXDOMAIN = 6,
	RCODE_YXRRSET = 7,
	RCODE_NXRRSET = 8,
	RCODE_NOTAUTH = 9,
	RCODE_NOTZONE = 10,
	RCODE_BADVERS = 16, /* OPT: unsupported EDNS version */
	RCODE_BADSIG = 16,  /* TSIG: signature failure */
	RCODE_BADKEY = 17,  /* TSIG: key not recognized */
	RCODE_BADTIME = 18, /* TSIG: time out of window */
	RCODE_BADMODE = 19,
	RCODE_BADNAME = 20,
	RCODE_BADALG = 21,
	RCODE_BADTRUNC = 22,  /* TSIG: bad truncation */
	RCODE_BADCOOKIE = 23, /* RFC 7873 */
};

/* Sections, in wire order; also the index of their count in the header.
 * For UPDATE they are ZONE, PREREQUISITE, UPDATE and ADDITIONAL. */
enum msg_section {
	MSG_QUESTION = 0,
	MSG_ANSWER = 1,
	MSG_AUTHORITY = 2,
	MSG_ADDITIONAL = 3,
};

/* EDNS option codes used by tandem. */
enum edns_option_code {
	EDNS_OPT_NSID = 3,	     /* RFC 5001 */
	EDNS_OPT_CLIENT_SUBNET = 8,  /* RFC 7871 */
	EDNS_OPT_COOKIE = 10,	     /* RFC 7873 */
	EDNS_OPT_TCP_KEEPALIVE = 11, /* RFC 7828 */
	EDNS_OPT_PADDING = 12,	     /* RFC 7830 */
	EDNS_OPT_EDE = 15,	     /* RFC 8914 */
};

struct msg_header {
	uint16_t id;
	uint16_t flags;	   /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode */
	uint16_t count[4]; /* QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
};

/* The opcode field of a flags word. */
static inline unsigned msg_flags_opcode(uint16_t flags)
{
	return (flags >> 11) & 0xF;
}

/* `flags` with its opcode field replaced by opcode (low 4 bits kept). */
static inline uint16_t msg_flags_set_opcode(uint16_t flags, unsigned opcode)
{
	return (uint16_t)((flags & ~0x7800u) | ((opcode & 0xFu) << 11));
}

/* The 4-bit header rcode of a flags word. */
static inline unsigned msg_flags_rcode(uint16_t flags)
{
	return flags & 0xF;
}

/* `flags` with its rcode field set to the low 4 bits of rcode; the upper
 * 8 bits of an extended rcode go into the OPT RR (msg_rcode_ext). */
static inline uint16_t msg_flags_set_rcode(uint16_t flags, unsigned rcode)
{
	return (uint16_t)((flags & ~0xFu) | (rcode & 0xFu));
}

/* The upper 8 bits of a 12-bit extended rcode, for struct msg_edns. */
static inline uint8_t msg_rcode_ext(unsigned rcode)
{
	return (uint8_t)((rcode >> 4) & 0xFF);
}

/*
 * Reading.
 */

struct msg_reader {
	const uint8_t *buf; /* the whole message: pointers are relative to it */
	size_t len;
	size_t pos;
};

struct msg_question {
	uint8_t name[DNAME_MAXLEN]; /* as received: case preserved */
	uint16_t name_len;
	uint16_t type;
	uint16_t rrclass;
};

struct msg_rr {
	uint8_t owner[DNAME_MAXLEN]; /* decompressed, case preserved */
	uint16_t owner_len;
	uint16_t type;
	uint16_t rrclass;
	uint32_t ttl;
	uint16_t rdlen; /* uncompressed rdata length, in the caller's buffer */
	size_t offset;	/* where the RR starts in the message (for TSIG) */
};

/* Starts a reader at the beginning of the len-octet message buf. */
void msg_reader_init(struct msg_reader *r, const uint8_t *buf, size_t len);

/* The reader's position: the offset where the next item starts. */
static inline size_t msg_reader_offset(const struct msg_reader *r)
{
	return r->pos;
}

/* Octets left after the reader's position. */
static inline size_t msg_reader_remaining(const struct msg_reader *r)
{
	return r->len - r->pos;
}

/* Reads the 12-octet header. Returns 0 or ERR_TRUNCATED. */
int msg_read_header(struct msg_reader *r, struct msg_header *h);

/* Reads a possibly compressed name into out, uncompressed and case kept;
 * the reader moves past the name only on success.
 * A pointer must point strictly before the first octet of the labels that
 * hold it (so before the name itself): returns the length, or ERR_PTRLOOP
 * (loop, self, forward or out-of-bounds pointer), ERR_BADLABEL (0x40/0x80
 * label types), ERR_NAMELEN (> 255 octets), ERR_TRUNCATED. */
int msg_read_name(struct msg_reader *r, uint8_t out[DNAME_MAXLEN]);

/* Reads a question entry (name, type, class). Returns 0 or an error of
 * msg_read_name, ERR_TRUNCATED. */
int msg_read_question(struct msg_reader *r, struct msg_question *q);

/* Reads a resource record; its rdata goes, uncompressed, into rdata[0..cap)
 * (names in RDF_NAME_COMPRESS and RDF_NAME_FOLD fields may arrive
 * compressed, RDF_NAME_PLAIN ones may not). Returns 0, an error of
 * msg_read_name for the owner or a name in the rdata, ERR_TRUNCATED (RR or
 * rdlength past the end of the message), ERR_MALFORMED (rdata does not
 * match its type's layout, rdlength not consumed exactly, compressed
 * RDF_NAME_PLAIN name), ERR_SPACE (cap too small: MSG_RDATA_MAX always
 * suffices). Empty rdata is accepted for class ANY and NONE (RFC 2136
 * §2.4, §2.5). The reader only moves on success. */
int msg_read_rr(struct msg_reader *r, struct msg_rr *rr, uint8_t *rdata,
		size_t cap);

/* Skips one resource record, checking its owner name and that its rdata
 * lies inside the message, but not the rdata itself. Returns 0, an error
 * of msg_read_name, or ERR_TRUNCATED. */
int msg_skip_rr(struct msg_reader *r);

/*
 * Writing.
 */

/* Names remembered per message as compression targets. Later names are
 * still written, only uncompressed against them. */
#define MSG_COMPRESS_MAX 64
#define MSG_SUFFIX_MAX (MSG_COMPRESS_MAX * 4)
#define MSG_SUFFIX_BUCKETS 256
/* Below this many targets a plain walk over them is cheaper than the
 * index (a query's answer); above it (a transfer's 64 KB) the index. */
#define MSG_INDEX_FROM 16

struct msg_writer {
	uint8_t *buf;
	size_t cap;   /* octets available in buf */
	size_t limit; /* maximum message size, <= cap */
	size_t pos;   /* message length so far */
	uint16_t count[4];
	uint8_t section; /* last section written to */
	uint8_t ncompress;
	uint16_t compress[MSG_COMPRESS_MAX]; /* offsets of names written */
	/* Of the first MSG_INDEX_FROM targets (the ones walked while there
	 * is no index), the label count and label offsets, so that the walk
	 * expands nothing. */
	uint8_t walk_n[MSG_INDEX_FROM];
	uint16_t walk_off[MSG_INDEX_FROM][DNAME_MAXLABELS];
	/* An index of every suffix of those names (hash of the lowercase
	 * labels, offset where the suffix starts), so that finding the
	 * longest suffix a new name shares costs one probe per label
	 * instead of a walk over every target. */
	bool indexed;     /* the index is in use (many targets) */
	uint16_t nsuffix;
	uint16_t suffix_bucket[MSG_SUFFIX_BUCKETS]; /* newest entry + 1 */
	uint16_t suffix_next[MSG_SUFFIX_MAX];       /* older one + 1 */
	uint32_t suffix_hash[MSG_SUFFIX_MAX];
	uint16_t suffix_off[MSG_SUFFIX_MAX];
	/* The owner of the last item written and the offsets of its labels:
	 * a repeated owner (each RR of an RRset, the question name as the
	 * owner of the answer) becomes a pointer without a search. */
	uint16_t hint_len; /* 0: none */
	uint8_t hint_n;
	uint8_t hint_name[DNAME_MAXLEN];
	uint16_t hint_off[DNAME_MAXLABELS];
};

/* A saved writer state; see msg_writer_mark. */
struct msg_mark {
	size_t pos;
	uint16_t count[4];
	uint8_t section;
	uint8_t ncompress;
	bool indexed;
	uint16_t nsuffix;
};

/* Starts a message in buf[0..cap) with a zeroed header. limit is the size
 * the message must not exceed (512, the client's EDNS size, 65535 for TCP);
 * it is clamped to cap and to 65535. Returns 0, or ERR_SPACE when cap or
 * limit is below MSG_HDRLEN. */
int msg_writer_init(struct msg_writer *w, uint8_t *buf, size_t cap,
		    size_t limit);

/* Changes the size limit (e.g. lowered to reserve room for OPT and TSIG,
 * then raised again to write them); clamped to cap and 65535. Returns 0,
 * or ERR_INVAL when the message is already longer than limit. */
int msg_writer_set_limit(struct msg_writer *w, size_t limit);

/* The message written so far and its length. */
static inline const uint8_t *msg_writer_data(const struct msg_writer *w)
{
	return w->buf;
}
static inline size_t msg_writer_len(const struct msg_writer *w)
{
	return w->pos;
}

/* Writes ID and flags into the header; the counts are kept by the writer
 * (each RR written increments its section's). */
void msg_write_header(struct msg_writer *w, uint16_t id, uint16_t flags);

/* The header's flags word, and a way to replace it (e.g. to add TC or set
 * the rcode with msg_flags_set_rcode). */
uint16_t msg_writer_flags(const struct msg_writer *w);
void msg_writer_set_flags(struct msg_writer *w, uint16_t flags);

/* Overrides a section count in the header (e.g. ARCOUNT - 1 to compute a
 * TSIG digest). The writer keeps counting from n. */
void msg_writer_set_count(struct msg_writer *w, enum msg_section section,
			  uint16_t n);

/* Writes a question. The name is copied as given, case included, and
 * becomes a compression target: an answer owner equal to it is written as
 * a pointer to it, so the answer shows the client's case. Returns 0,
 * ERR_SPACE (nothing written), or ERR_BADSTATE once an RR is written. */
int msg_write_question(struct msg_writer *w, const uint8_t *name, uint16_t type,
		       uint16_t rrclass);

/* Appends an RR to `section` (sections in wire order, else ERR_BADSTATE).
 * owner is a valid name, rdata valid uncompressed rdata of `type`. The
 * owner and RDF_NAME_COMPRESS rdata names (RFC 3597 §4) are compressed
 * against earlier names, matched case-insensitively; other rdata names
 * are copied as they are. Returns 0, ERR_SPACE when the RR would pass the
 * limit (the writer and the message are left exactly as before; octets of
 * buf past the message's end may have been written), or ERR_INVAL (rdata
 * not of type's layout, rdlen > 65535). */
int msg_write_rr(struct msg_writer *w, enum msg_section section,
		 const uint8_t *owner, uint16_t type, uint16_t rrclass,
		 uint32_t ttl, const uint8_t *rdata, size_t rdlen);

/*
 * An RR encoded ahead of time (the negative answer's SOA, RFC 2308 §3),
 * for a message that holds only a question at or below the RR's owner:
 * the RR as msg_write_rr would write it there, pointers into the question
 * relocated to where the owner sits in it. The bytes and the writer
 * afterwards are those msg_write_rr gives; only the name compression is
 * done once, when the image is built, instead of for every answer.
 */
#define MSG_IMAGE_WIRE (2 + 10 + 2 * DNAME_MAXLEN + 32)
#define MSG_IMAGE_NAMES 4

struct msg_image {
	uint16_t len;	    /* of wire; 0: no image */
	uint16_t base_len;  /* of owner */
	uint8_t base_labels;
	uint8_t nptr;	    /* compression pointers in wire */
	uint8_t nabove;	    /* names below the owner */
	uint8_t ntarget;    /* names that become compression targets */
	uint16_t ptr[MSG_IMAGE_NAMES];	  /* where each pointer is in wire */
	uint16_t above[MSG_IMAGE_NAMES];  /* label of each name just above the
					   * owner's labels, in wire */
	uint16_t target[MSG_IMAGE_NAMES]; /* where each target starts in wire */
	uint8_t owner[DNAME_MAXLEN];
	uint8_t wire[MSG_IMAGE_WIRE];	  /* pointers as after a question
					   * that is the owner itself */
};

/* Builds the image of one RR (arguments as for msg_write_rr). Returns 0,
 * ERR_SPACE (over MSG_IMAGE_WIRE octets; img->len is 0) or ERR_INVAL. */
int msg_image_build(struct msg_image *img, const uint8_t *owner,
		    uint16_t type, uint16_t rrclass, uint32_t ttl,
		    const uint8_t *rdata, size_t rdlen);

/* Appends the image's RR to `section`. Returns 0, ERR_SPACE (nothing
 * written), or ERR_NOTFOUND when the image does not apply: no image, the
 * message holds more than its question, the question is not at or below
 * the owner, or it shares more than the owner with a name of the RR
 * (msg_write_rr compresses it against the question then). */
int msg_write_image(struct msg_writer *w, enum msg_section section,
		    const struct msg_image *img);

/* Saves the writer state, so that msg_writer_rollback can undo everything
 * written since: the RRs, their counts and their compression targets
 * (RFC 2181 §9: an RRset is written whole or not at all). */
void msg_writer_mark(const struct msg_writer *w, struct msg_mark *mark);
void msg_writer_rollback(struct msg_writer *w, const struct msg_mark *mark);

/*
 * EDNS (RFC 6891).
 */

#define EDNS_FLAG_DO 0x8000

/* An OPT RR, decoded. For msg_write_opt only udp_size, ext_rcode,
 * version, dnssec_ok and options are used. */
struct msg_edns {
	uint16_t udp_size; /* requestor's payload size (the CLASS) */
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode */
	uint8_t version;
	bool dnssec_ok;		/* DO bit (RFC 3225) */
	uint16_t flags;		/* all 16 flag bits as received */
	const uint8_t *options; /* option area (the OPT rdata) */
	uint16_t options_len;
};

/* Decodes an OPT RR read by msg_read_rr, with its rdata; out->options
 * points into rdata. Checks that the owner is the root and that options
 * fill the rdata exactly. Returns 0, ERR_INVAL (not an OPT RR), or
 * ERR_MALFORMED (FORMERR, RFC 6891 §6.1.1). */
int msg_edns_parse(const struct msg_rr *rr, const uint8_t *rdata,
		   struct msg_edns *out);

/* Iterates options: start with *pos = 0. Returns 1 and sets code, data
 * and len for the next option, 0 at the end, ERR_MALFORMED when an option
 * runs past the area (not after a successful msg_edns_parse). */
int msg_edns_next_option(const struct msg_edns *edns, size_t *pos,
			 uint16_t *code, const uint8_t **data, uint16_t *len);

/* Finds the first option with this code. Returns 0, or ERR_NOTFOUND. */
int msg_edns_find_option(const struct msg_edns *edns, uint16_t code,
			 const uint8_t **data, uint16_t *len);

/* Appends an OPT RR to the additional section: edns->udp_size,
 * ext_rcode, version, DO, edns->options as they are (may be NULL), then an
 * NSID option (RFC 5001) with nsid[0..nsid_len) when nsid is not NULL.
 * Returns 0, ERR_SPACE (nothing written) or ERR_INVAL (rdata over
 * 65535). */
int msg_write_opt(struct msg_writer *w, const struct msg_edns *edns,
		  const uint8_t *nsid, size_t nsid_len);

#endif
