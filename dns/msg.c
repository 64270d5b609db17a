/*
 * msg.c -- DNS messages on the wire.
 */
#include "dns/msg.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

/* Compression pointers carry 14 bits of offset (RFC 1035 §4.1.4). */
#define PTR_MAX_OFFSET 0x3FFF
#define PTR_BITS       0xC0

/* Names one RR can hold that are compression targets: the owner and the
 * RDF_NAME_COMPRESS fields (two at most, SOA and MINFO). */
#define RR_MAXNAMES 4

/* Network-order fields as one load or store and a byte swap (the octet
 * by octet form compiles to a shift and a store per octet). */
static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return ntohs(v);
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static bool is_name_field(int f)
{
	return f == RDF_NAME_COMPRESS || f == RDF_NAME_FOLD ||
	       f == RDF_NAME_PLAIN;
}

/* Length of a fixed-size field kind, 0 for the others. */
static size_t fixed_len(int f)
{
	switch (f) {
	case RDF_FIX1:
		return 1;
	case RDF_FIX2:
		return 2;
	case RDF_FIX4:
		return 4;
	case RDF_FIX6:
		return 6;
	case RDF_FIX8:
		return 8;
	case RDF_FIX16:
		return 16;
	default:
		return 0;
	}
}

/*
 * Reading.
 */

void msg_reader_init(struct msg_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
}

int msg_read_header(struct msg_reader *r, struct msg_header *h)
{
	if (r->len - r->pos < MSG_HDRLEN)
		return ERR_TRUNCATED;
	const uint8_t *p = r->buf + r->pos;
	h->id = get16(p);
	h->flags = get16(p + 2);
	for (int i = 0; i < 4; i++)
		h->count[i] = get16(p + 4 + 2 * i);
	r->pos += MSG_HDRLEN;
	return 0;
}

/*
 * Decompresses the name at msg[*posp] into out. Its first labels must end
 * before `end` (the message end, or the end of the rdata that holds it);
 * labels reached through a pointer may lie anywhere in msg[0..len).
 *
 * Each pointer must point strictly before the first octet of the run of
 * labels it ends (for the first pointer: before the name itself). Every
 * jump therefore goes to a smaller offset than the one before, so no
 * input loops, and no compressor that only points at names already
 * written is ever refused. This also rules out self, forward and
 * out-of-bounds pointers.
 *
 * With allow_ptr false a pointer is ERR_MALFORMED. On success moves *posp
 * past the name as written and returns the uncompressed length.
 */
static int read_name(const uint8_t *msg, size_t len, size_t *posp, size_t end,
		     bool allow_ptr, uint8_t out[DNAME_MAXLEN])
{
	size_t pos = *posp;
	size_t run_start = pos;
	size_t after = 0; /* end of the name as written; 0: no pointer yet */
	size_t outlen = 0;
	/* Labels are checked one by one and copied a run at a time (the
	 * labels between two pointers are contiguous in the message). */
	size_t copy_from = pos, copy_to = 0;

	for (;;) {
		if (pos >= end)
			return ERR_TRUNCATED;
		uint8_t octet = msg[pos];
		if (octet == 0)
			break;
		switch (octet & PTR_BITS) {
		case 0x00:
			if ((size_t)octet + 1 > end - pos)
				return ERR_TRUNCATED;
			/* The label plus the root label still to come. */
			if (outlen + octet + 2 > DNAME_MAXLEN)
				return ERR_NAMELEN;
			outlen += (size_t)octet + 1;
			pos += (size_t)octet + 1;
			break;
		case PTR_BITS: {
			if (!allow_ptr)
				return ERR_MALFORMED;
			if (end - pos < 2)
				return ERR_TRUNCATED;
			size_t target =
			    ((size_t)(octet & 0x3F) << 8) | msg[pos + 1];
			if (after == 0)
				after = pos + 2;
			if (target >= run_start)
				return ERR_PTRLOOP;
			memcpy(out + copy_to, msg + copy_from, outlen - copy_to);
			pos = run_start = copy_from = target;
			copy_to = outlen;
			end = len;
			break;
		}
		default:
			return ERR_BADLABEL; /* 0x40 extended, 0x80 reserved */
		}
	}
	memcpy(out + copy_to, msg + copy_from, outlen - copy_to);
	out[outlen++] = 0;
	*posp = after != 0 ? after : pos + 1;
	return (int)outlen;
}

int msg_read_name(struct msg_reader *r, uint8_t out[DNAME_MAXLEN])
{
	return read_name(r->buf, r->len, &r->pos, r->len, true, out);
}

int msg_read_question(struct msg_reader *r, struct msg_question *q)
{
	size_t pos = r->pos;
	int n = read_name(r->buf, r->len, &pos, r->len, true, q->name);
	if (n < 0)
		return n;
	if (r->len - pos < 4)
		return ERR_TRUNCATED;
	q->name_len = (uint16_t)n;
	q->type = get16(r->buf + pos);
	q->rrclass = get16(r->buf + pos + 2);
	r->pos = pos + 4;
	return 0;
}

/*
 * Copies the rdata at msg[pos..end) into out[0..cap), decompressing the
 * names the layout of `type` allows to be compressed. Returns the
 * uncompressed length or an error.
 */
static int read_rdata(const uint8_t *msg, size_t len, size_t pos, size_t end,
		      uint16_t type, uint8_t *out, size_t cap)
{
	size_t outlen = 0;
	for (const uint8_t *f = rrtype_layout(type); *f != RDF_END; f++) {
		size_t n;
		if (is_name_field(*f)) {
			uint8_t name[DNAME_MAXLEN];
			int rc = read_name(msg, len, &pos, end,
					   *f != RDF_NAME_PLAIN, name);
			if (rc < 0)
				return rc == ERR_TRUNCATED ? ERR_MALFORMED : rc;
			if ((size_t)rc > cap - outlen)
				return ERR_SPACE;
			memcpy(out + outlen, name, (size_t)rc);
			outlen += (size_t)rc;
			continue;
		}
		if (fixed_len(*f) != 0) {
			n = fixed_len(*f);
		} else if (*f == RDF_STRING) {
			if (pos >= end)
				return ERR_MALFORMED;
			n = (size_t)msg[pos] + 1;
		} else {
			/* RDF_STRINGS and RDF_REMAINDER run to the end;
			 * rdata_check below validates the strings. */
			n = end - pos;
		}
		if (n > end - pos)
			return ERR_MALFORMED;
		if (n > cap - outlen)
			return ERR_SPACE;
		memcpy(out + outlen, msg + pos, n);
		outlen += n;
		pos += n;
	}
	if (pos != end)
		return ERR_MALFORMED; /* rdlength not consumed exactly */
	if (outlen > MSG_RDATA_MAX)
		return ERR_MALFORMED; /* decompressed past what an RR holds */
	if (rdata_check(type, out, outlen) != 0)
		return ERR_MALFORMED;
	return (int)outlen;
}

int msg_read_rr(struct msg_reader *r, struct msg_rr *rr, uint8_t *rdata,
		size_t cap)
{
	size_t pos = r->pos;
	int n = read_name(r->buf, r->len, &pos, r->len, true, rr->owner);
	if (n < 0)
		return n;
	if (r->len - pos < 10)
		return ERR_TRUNCATED;
	const uint8_t *p = r->buf + pos;
	uint16_t type = get16(p);
	uint16_t rrclass = get16(p + 2);
	uint32_t ttl = get32(p + 4);
	size_t wire_rdlen = get16(p + 8);
	pos += 10;
	if (wire_rdlen > r->len - pos)
		return ERR_TRUNCATED;

	int rdlen = 0;
	/* UPDATE prerequisites and RRset deletions carry class ANY or NONE
	 * and no rdata at all, whatever the type. */
	if (wire_rdlen != 0 ||
	    (rrclass != RRCLASS_ANY && rrclass != RRCLASS_NONE)) {
		rdlen = read_rdata(r->buf, r->len, pos, pos + wire_rdlen, type,
				   rdata, cap);
		if (rdlen < 0)
			return rdlen;
	}
	rr->owner_len = (uint16_t)n;
	rr->type = type;
	rr->rrclass = rrclass;
	rr->ttl = ttl;
	rr->rdlen = (uint16_t)rdlen;
	rr->offset = r->pos;
	r->pos = pos + wire_rdlen;
	return 0;
}

int msg_skip_rr(struct msg_reader *r)
{
	uint8_t owner[DNAME_MAXLEN];
	size_t pos = r->pos;
	int n = read_name(r->buf, r->len, &pos, r->len, true, owner);
	if (n < 0)
		return n;
	if (r->len - pos < 10)
		return ERR_TRUNCATED;
	size_t wire_rdlen = get16(r->buf + pos + 8);
	pos += 10;
	if (wire_rdlen > r->len - pos)
		return ERR_TRUNCATED;
	r->pos = pos + wire_rdlen;
	return 0;
}

/*
 * Writing.
 *
 * Compression: the writer remembers the offsets of up to MSG_COMPRESS_MAX
 * names it wrote. To write a name it expands each remembered name by
 * following the labels and pointers already in the buffer, finds the
 * longest common suffix (labels compared case-insensitively, as NSD and
 * Knot do; RFC 4343 allows the case of an earlier occurrence to show) whose
 * start lies below 0x4000, and writes the labels in front of it followed
 * by a pointer. Nothing is allocated.
 *
 * An item (question or RR) is encoded by one routine in two modes: measure
 * (nothing written) and write. Names of the item being encoded are also
 * targets for its later names (SOA RNAME after MNAME), so the encoder keeps
 * them as "pending" names with the offsets they have, or would have, in
 * the message; that is what lets measuring give the exact length. When
 * the uncompressed length surely fits, measuring is skipped.
 */

/* The labels of a name, root excluded, each with its offset in the
 * message; an offset above PTR_MAX_OFFSET cannot be pointed at. */
struct name_labels {
	int n;
	const uint8_t *label[DNAME_MAXLABELS];
	uint16_t off[DNAME_MAXLABELS];
};

struct pending_name {
	const uint8_t *name; /* uncompressed */
	uint16_t len;	     /* of name */
	int n;		     /* labels */
	int literal;	     /* leading labels written out, before a pointer */
	uint16_t off[DNAME_MAXLABELS];
};

struct encoder {
	struct msg_writer *w;
	struct msg_image *img; /* being built: notes its names */
	bool write;
	bool owner_is_hint; /* the owner matched the hint octet for octet */
	size_t pos;
	int npending;
	struct pending_name pending[RR_MAXNAMES];
};

/* An item to encode: a question (rdata NULL and is_question) or an RR. */
struct item {
	bool is_question;
	const uint8_t *owner;
	uint16_t type;
	uint16_t rrclass;
	uint32_t ttl;
	const uint8_t *rdata;
	size_t rdlen;
};

static uint16_t clamp_offset(size_t off)
{
	return off > 0xFFFF ? 0xFFFF : (uint16_t)off;
}

static void labels_of_name(const uint8_t *name, struct name_labels *nl)
{
	int n = 0;
	while (*name != 0 && n < DNAME_MAXLABELS) {
		nl->label[n++] = name;
		name += *name + 1;
	}
	nl->n = n;
}

/* Expands a name the writer wrote at `off`. Pointers in it were written
 * by the writer too, always to an earlier label, so the walk ends. */
static void labels_in_buffer(const uint8_t *buf, size_t off,
			     struct name_labels *nl)
{
	int n = 0;
	while (buf[off] != 0 && n < DNAME_MAXLABELS) {
		if ((buf[off] & PTR_BITS) == PTR_BITS) {
			off = get16(buf + off) & PTR_MAX_OFFSET;
			continue;
		}
		nl->label[n] = buf + off;
		nl->off[n] = (uint16_t)off;
		n++;
		off += buf[off] + 1u;
	}
	nl->n = n;
}

static void labels_of_pending(const struct pending_name *p,
			      struct name_labels *nl)
{
	labels_of_name(p->name, nl);
	memcpy(nl->off, p->off, (size_t)p->n * sizeof(p->off[0]));
}

/* Hashes of every suffix of a name: h[i] covers labels i..n-1 (FNV-1a
 * over the lowercase labels, from the root up). */
static void suffix_hashes(const struct name_labels *nl, uint32_t *h)
{
	uint32_t v = 2166136261u;
	for (int i = nl->n - 1; i >= 0; i--) {
		const uint8_t *l = nl->label[i];
		v = (v ^ l[0]) * 16777619u;
		for (uint8_t k = 1; k <= l[0]; k++)
			v = (v ^ (l[k] | ((uint8_t)(l[k] - 'A') < 26 ? 0x20 : 0))) *
			    16777619u;
		h[i] = v;
	}
}

/* The first entry of a chain that a rollback did not take back (entries
 * past nsuffix are gone; their links to older ones still hold). */
static uint16_t live_entry(const struct msg_writer *w, uint16_t e)
{
	while (e != 0 && e > w->nsuffix)
		e = w->suffix_next[e - 1];
	return e;
}

/* Adds the suffixes of the target written at `off` to the index. */
static void index_target(struct msg_writer *w, size_t off)
{
	struct name_labels nl;
	uint32_t h[DNAME_MAXLABELS];
	labels_in_buffer(w->buf, off, &nl);
	suffix_hashes(&nl, h);
	for (int i = 0; i < nl.n && w->nsuffix < MSG_SUFFIX_MAX; i++) {
		/* Labels reached through a pointer belong to an earlier
		 * target: their suffixes are indexed already. */
		if (nl.off[i] > PTR_MAX_OFFSET || nl.off[i] < off)
			continue;
		uint16_t *bucket = &w->suffix_bucket[h[i] % MSG_SUFFIX_BUCKETS];
		/* Linked before nsuffix grows, so that a stale head equal to
		 * the new entry is skipped, not linked to itself. */
		uint16_t idx = w->nsuffix;
		w->suffix_next[idx] = live_entry(w, *bucket);
		w->suffix_hash[idx] = h[i];
		w->suffix_off[idx] = nl.off[i];
		*bucket = (uint16_t)(idx + 1);
		w->nsuffix++;
	}
}

/* The longest suffix of `name` (labels from `from` on) already among the
 * targets: returns its label count and fills off[] with the offsets of
 * its labels, or 0. The earliest target wins a tie, as a walk over the
 * targets in order would pick it. */
static int index_lookup(const struct msg_writer *w, const struct name_labels *nl,
			const uint32_t *h, uint16_t *off)
{
	for (int i = 0; i < nl->n; i++) {
		int want = nl->n - i;
		int found = -1;
		struct name_labels cand;
		/* The chain runs newest first: keep the last (oldest) match. */
		uint16_t e = live_entry(w, w->suffix_bucket[h[i] % MSG_SUFFIX_BUCKETS]);
		for (; e != 0; e = live_entry(w, w->suffix_next[e - 1])) {
			uint16_t k = (uint16_t)(e - 1);
			if (w->suffix_hash[k] != h[i])
				continue;
			struct name_labels c;
			labels_in_buffer(w->buf, w->suffix_off[k], &c);
			if (c.n != want)
				continue;
			int j = 0;
			while (j < want &&
			       dname_label_equal(nl->label[i + j], c.label[j]))
				j++;
			if (j == want) {
				found = k;
				cand = c;
			}
		}
		if (found >= 0) {
			memcpy(off, cand.off, (size_t)want * sizeof(off[0]));
			return want;
		}
	}
	return 0;
}

/* Number of trailing labels `name` shares with `cand`, reduced until the
 * shared suffix starts at an offset a pointer can reach. */
static int common_suffix(const struct name_labels *name,
			 const struct name_labels *cand)
{
	int m = 0;
	while (m < name->n && m < cand->n &&
	       dname_label_equal(name->label[name->n - 1 - m],
				 cand->label[cand->n - 1 - m]))
		m++;
	while (m > 0 && cand->off[cand->n - m] > PTR_MAX_OFFSET)
		m--;
	return m;
}

/* common_suffix for a target whose label offsets the writer kept. */
static inline __attribute__((always_inline)) int
common_suffix_kept(const struct name_labels *name, const uint8_t *buf,
		   const uint16_t *off, int n)
{
	int m = 0;
	while (m < name->n && m < n &&
	       dname_label_equal(name->label[name->n - 1 - m],
				 buf + off[n - 1 - m]))
		m++;
	while (m > 0 && off[n - m] > PTR_MAX_OFFSET)
		m--;
	return m;
}

/* Keeps the label offsets of target k for the walk. */
static void keep_target_labels(struct msg_writer *w, int k, const uint16_t *off,
			       int n)
{
	if (k >= MSG_INDEX_FROM)
		return;
	w->walk_n[k] = (uint8_t)n;
	memcpy(w->walk_off[k], off, (size_t)n * sizeof(off[0]));
}

/* When `name` is a sibling or a child of the last owner (as names come in
 * a zone transfer, in canonical order), the labels it shares with it:
 * returns their count and fills off[], or 0. Not always the longest
 * match in the message (the name itself may be there as rdata), but a
 * good one without an index lookup. */
static int sibling_of_hint(const struct msg_writer *w,
			   const struct name_labels *nl, uint16_t *off)
{
	if (w->hint_len == 0 || nl->n < 2)
		return 0;
	const uint8_t *tail = nl->label[1];
	size_t tail_len = (size_t)(nl->label[nl->n - 1] - tail) +
			  nl->label[nl->n - 1][0] + 2;
	/* A child: all of the last owner after its first label. */
	if (nl->n - 1 == w->hint_n && tail_len == w->hint_len &&
	    w->hint_off[0] <= PTR_MAX_OFFSET &&
	    memcmp(tail, w->hint_name, tail_len) == 0) {
		memcpy(off, w->hint_off, (size_t)w->hint_n * sizeof(off[0]));
		return w->hint_n;
	}
	/* A sibling: the same labels after the first. */
	const uint8_t *htail = w->hint_name + 1 + w->hint_name[0];
	size_t htail_len = w->hint_len - 1u - w->hint_name[0];
	if (nl->n == w->hint_n && tail_len == htail_len &&
	    w->hint_off[1] <= PTR_MAX_OFFSET &&
	    memcmp(tail, htail, tail_len) == 0) {
		memcpy(off, w->hint_off + 1,
		       (size_t)(w->hint_n - 1) * sizeof(off[0]));
		return w->hint_n - 1;
	}
	return 0;
}

/* While an image is built (msg_image_build: the question is the owner
 * itself, the RR follows it), notes where a name's pointer is and, for a
 * name below the owner, where its label just above the owner's is:
 * offsets from the start of the image. */
static void note_image_name(struct encoder *e, const struct name_labels *nl,
			    const uint8_t *name, int literal,
			    size_t literal_len, int best,
			    const uint16_t *best_off)
{
	struct msg_image *img = e->img;
	size_t start = MSG_HDRLEN + img->base_len + 4u;
	if (best > 0 && img->nptr < MSG_IMAGE_NAMES)
		img->ptr[img->nptr++] =
		    (uint16_t)(e->pos + literal_len - start);
	/* Below the owner: its last labels are the question's, all of it
	 * (a name that only ends like the owner is written out). */
	int k = nl->n - img->base_labels;
	if (k <= 0 || k < literal || best_off[k - literal] != MSG_HDRLEN ||
	    img->nabove >= MSG_IMAGE_NAMES)
		return;
	size_t above = k - 1 < literal
			   ? e->pos + (size_t)(nl->label[k - 1] - name)
			   : best_off[k - 1 - literal];
	img->above[img->nabove++] = (uint16_t)(above - start);
}

/* Encodes `name` at e->pos, compressed when `compress`; compressed names
 * become pending targets for the rest of the item. */
static void encode_name(struct encoder *e, const uint8_t *name, bool compress)
{
	struct name_labels nl, cand;
	uint16_t best_off[DNAME_MAXLABELS];
	int best = 0;

	labels_of_name(name, &nl);
	const struct msg_writer *hw = e->w;
	if (compress && hw->hint_len != 0 && hw->hint_n == nl.n && nl.n > 0 &&
	    hw->hint_off[0] <= PTR_MAX_OFFSET &&
	    (size_t)(nl.label[nl.n - 1] - name) + nl.label[nl.n - 1][0] + 2 ==
		hw->hint_len &&
	    memcmp(name, hw->hint_name, hw->hint_len) == 0) {
		/* The same owner as the item before, byte for byte: all of
		 * it is there already. */
		best = nl.n;
		e->owner_is_hint = e->npending == 0;
		memcpy(best_off, hw->hint_off, (size_t)best * sizeof(best_off[0]));
	} else if (compress && e->w->indexed &&
		   (best = sibling_of_hint(hw, &nl, best_off)) > 0) {
		/* A large message (a zone transfer): the previous owner's
		 * sibling or child, found without the index. */
	} else if (compress && e->w->indexed) {
		uint32_t h[DNAME_MAXLABELS];
		suffix_hashes(&nl, h);
		best = index_lookup(e->w, &nl, h, best_off);
	} else if (compress) {
		/* Few targets: walk them (the first longest match wins).
		 * Unindexed, there are fewer than MSG_INDEX_FROM, all kept. */
		const struct msg_writer *w = e->w;
		for (int i = 0; i < w->ncompress && best < nl.n; i++) {
			int n = w->walk_n[i];
			const uint16_t *off = w->walk_off[i];
			int m = common_suffix_kept(&nl, w->buf, off, n);
			if (m > best) {
				best = m;
				memcpy(best_off, off + n - m,
				       (size_t)m * sizeof(best_off[0]));
			}
		}
	}
	if (compress) {
		for (int i = 0; i < e->npending && best < nl.n; i++) {
			/* A name written as a bare pointer offers only labels
			 * of an earlier target, compared already. */
			if (e->pending[i].literal == 0)
				continue;
			labels_of_pending(&e->pending[i], &cand);
			int m = common_suffix(&nl, &cand);
			if (m > best) {
				best = m;
				memcpy(best_off, cand.off + cand.n - m,
				       (size_t)m * sizeof(best_off[0]));
			}
		}
	}

	int literal = nl.n - best;
	/* All of it but the root label when nothing matched: the end of
	 * the last label, known from the label walk. */
	size_t literal_len =
		literal < nl.n ? (size_t)(nl.label[literal] - name)
		: nl.n == 0    ? 0
			       : (size_t)(nl.label[nl.n - 1] - name) +
				 nl.label[nl.n - 1][0] + 1;
	if (e->write) {
		uint8_t *out = e->w->buf + e->pos;
		memcpy(out, name, literal_len);
		if (best > 0)
			put16(out + literal_len,
			      (uint16_t)(0xC000 | best_off[0]));
		else
			out[literal_len] = 0;
	}
	if (compress && e->npending < RR_MAXNAMES) {
		struct pending_name *p = &e->pending[e->npending++];
		p->name = name;
		p->len = (uint16_t)(nl.n == 0 ? 1
				    : (size_t)(nl.label[nl.n - 1] - name) +
					      nl.label[nl.n - 1][0] + 2);
		p->n = nl.n;
		p->literal = literal;
		for (int i = 0; i < literal; i++)
			p->off[i] =
			    clamp_offset(e->pos + (size_t)(nl.label[i] - name));
		memcpy(p->off + literal, best_off,
		       (size_t)best * sizeof(best_off[0]));
	}
	if (e->img != NULL && e->write && compress)
		note_image_name(e, &nl, name, literal, literal_len, best,
				best_off);
	e->pos += literal_len + (best > 0 ? 2 : 1);
}

static void encode_bytes(struct encoder *e, const uint8_t *data, size_t len)
{
	/* Empty rdata may be NULL, which memcpy must not see. */
	if (e->write && len != 0)
		memcpy(e->w->buf + e->pos, data, len);
	e->pos += len;
}

/* Encodes rdata field by field, compressing RDF_NAME_COMPRESS names.
 * Returns 0 or ERR_INVAL when the rdata does not match the layout. */
static int encode_rdata(struct encoder *e, const uint8_t *layout,
			const uint8_t *rdata, size_t rdlen)
{
	size_t pos = 0;
	for (const uint8_t *f = layout; *f != RDF_END; f++) {
		size_t n;
		if (is_name_field(*f)) {
			int len = dname_check(rdata + pos, rdlen - pos);
			if (len < 0)
				return ERR_INVAL;
			if (*f == RDF_NAME_COMPRESS) {
				encode_name(e, rdata + pos, true);
				pos += (size_t)len;
				continue;
			}
			n = (size_t)len;
		} else if (fixed_len(*f) != 0) {
			n = fixed_len(*f);
		} else if (*f == RDF_STRING) {
			if (pos >= rdlen)
				return ERR_INVAL;
			n = (size_t)rdata[pos] + 1;
		} else {
			n = rdlen - pos;
		}
		if (n > rdlen - pos)
			return ERR_INVAL;
		encode_bytes(e, rdata + pos, n);
		pos += n;
	}
	return pos == rdlen ? 0 : ERR_INVAL;
}

static int encode_item(struct encoder *e, const struct item *it)
{
	uint8_t *buf = e->w->buf;
	encode_name(e, it->owner, true);
	size_t fixed = e->pos;
	if (it->is_question) {
		if (e->write) {
			put16(buf + fixed, it->type);
			put16(buf + fixed + 2, it->rrclass);
		}
		e->pos += 4;
		return 0;
	}
	e->pos += 10;
	size_t rdstart = e->pos;
	/* Empty rdata (UPDATE class ANY/NONE, RFC 2136 §2.4-2.5) has no
	 * fields to walk whatever the type. */
	if (it->rdlen != 0 && rrtype_compresses(it->type)) {
		int rc = encode_rdata(e, rrtype_layout(it->type), it->rdata,
				      it->rdlen);
		if (rc < 0)
			return rc;
	} else {
		encode_bytes(e, it->rdata, it->rdlen);
	}
	if (e->write) {
		put16(buf + fixed, it->type);
		put16(buf + fixed + 2, it->rrclass);
		put32(buf + fixed + 4, it->ttl);
		put16(buf + fixed + 8, (uint16_t)(e->pos - rdstart));
	}
	return 0;
}

static struct item rr_item(const uint8_t *owner, uint16_t type,
			   uint16_t rrclass, uint32_t ttl, const uint8_t *rdata,
			   size_t rdlen)
{
	struct item it = {
	    .owner = owner,
	    .type = type,
	    .rrclass = rrclass,
	    .ttl = ttl,
	    .rdata = rdata,
	    .rdlen = rdlen,
	};
	return it;
}

static void set_count(struct msg_writer *w, int section, uint16_t n)
{
	w->count[section] = n;
	put16(w->buf + 4 + 2 * section, n);
}

/* Writes an item whole or not at all. */
static int write_item(struct msg_writer *w, int section, const struct item *it,
		      struct msg_image *img)
{
	/* Not a designated initializer: that would clear every pending
	 * name's offsets (a kilobyte) for each RR. */
	struct encoder e;
	e.w = w;
	e.img = img;
	e.pos = w->pos;
	e.write = false;
	e.owner_is_hint = false;
	e.npending = 0;
	if (w->count[section] == 0xFFFF)
		return ERR_SPACE;
	/* Written in one pass when the buffer has room for the item even
	 * uncompressed: what goes past the limit is not committed. Only
	 * near the end of the buffer is it measured first. */
	size_t room = w->cap - w->pos;
	if (room < DNAME_MAXLEN + 10 + (size_t)it->rdlen &&
	    dname_len(it->owner) + (it->is_question ? 4 : 10) + it->rdlen >
		    room) {
		int rc = encode_item(&e, it);
		if (rc < 0)
			return rc;
		if (e.pos > w->limit)
			return ERR_SPACE;
		e.pos = w->pos;
		e.npending = 0;
		e.owner_is_hint = false;
	}
	e.write = true;
	int rc = encode_item(&e, it);
	if (rc < 0)
		return rc;
	if (e.pos > w->limit)
		return ERR_SPACE;

	for (int i = 0; i < e.npending; i++) {
		const struct pending_name *p = &e.pending[i];
		/* A name written as a bare pointer adds no new suffix. */
		if (p->literal == 0 || p->off[0] > PTR_MAX_OFFSET ||
		    w->ncompress >= MSG_COMPRESS_MAX)
			continue;
		keep_target_labels(w, w->ncompress, p->off, p->n);
		w->compress[w->ncompress++] = p->off[0];
		if (w->indexed) {
			index_target(w, p->off[0]);
		} else if (w->ncompress >= MSG_INDEX_FROM) {
			/* Enough targets: index them all from now on. */
			memset(w->suffix_bucket, 0, sizeof(w->suffix_bucket));
			w->nsuffix = 0;
			w->indexed = true;
			for (int k = 0; k < w->ncompress; k++)
				index_target(w, w->compress[k]);
		}
	}
	/* The owner is the first name encoded; the hint stays when it was
	 * the same. */
	const struct pending_name *owner = &e.pending[0];
	if (e.owner_is_hint) {
		/* the hint is this owner already */
	} else if (e.npending > 0 && owner->n > 0) {
		w->hint_len = owner->len;
		w->hint_n = (uint8_t)owner->n;
		memcpy(w->hint_name, owner->name, w->hint_len);
		memcpy(w->hint_off, owner->off,
		       (size_t)owner->n * sizeof(owner->off[0]));
	} else {
		w->hint_len = 0;
	}
	w->pos = e.pos;
	w->section = (uint8_t)section;
	set_count(w, section, (uint16_t)(w->count[section] + 1));
	return 0;
}

int msg_writer_init(struct msg_writer *w, uint8_t *buf, size_t cap,
		    size_t limit)
{
	/* The target arrays are only read below their counts: leave them,
	 * this runs once per answer. */
	memset(w, 0, offsetof(struct msg_writer, compress));
	w->nsuffix = 0;
	w->indexed = false;
	w->hint_len = 0;
	if (limit > cap)
		limit = cap;
	if (limit > MSG_MAXLEN)
		limit = MSG_MAXLEN;
	if (limit < MSG_HDRLEN)
		return ERR_SPACE;
	w->buf = buf;
	w->cap = cap;
	w->limit = limit;
	w->pos = MSG_HDRLEN;
	memset(buf, 0, MSG_HDRLEN);
	return 0;
}

int msg_writer_set_limit(struct msg_writer *w, size_t limit)
{
	if (limit > w->cap)
		limit = w->cap;
	if (limit > MSG_MAXLEN)
		limit = MSG_MAXLEN;
	if (limit < w->pos)
		return ERR_INVAL;
	w->limit = limit;
	return 0;
}

void msg_write_header(struct msg_writer *w, uint16_t id, uint16_t flags)
{
	put16(w->buf, id);
	put16(w->buf + 2, flags);
}

uint16_t msg_writer_flags(const struct msg_writer *w)
{
	return get16(w->buf + 2);
}

void msg_writer_set_flags(struct msg_writer *w, uint16_t flags)
{
	put16(w->buf + 2, flags);
}

void msg_writer_set_count(struct msg_writer *w, enum msg_section section,
			  uint16_t n)
{
	set_count(w, section, n);
}

int msg_write_question(struct msg_writer *w, const uint8_t *name, uint16_t type,
		       uint16_t rrclass)
{
	if (w->section != MSG_QUESTION)
		return ERR_BADSTATE;
	if (w->pos == MSG_HDRLEN && w->ncompress == 0 && !w->indexed &&
	    w->count[MSG_QUESTION] == 0) {
		/* The first name of the message (every answer's question):
		 * nothing to compress against, so it is copied as it is and
		 * becomes the first target and the owner hint, its label
		 * offsets taken on the way. */
		size_t len = 0;
		int n = 0;
		while (name[len] != 0) {
			w->hint_off[n++] = (uint16_t)(MSG_HDRLEN + len);
			len += name[len] + 1u;
		}
		len++;
		if (MSG_HDRLEN + len + 4 > w->limit)
			return ERR_SPACE;
		uint8_t *out = w->buf + MSG_HDRLEN;
		memcpy(out, name, len);
		put16(out + len, type);
		put16(out + len + 2, rrclass);
		w->hint_len = 0;
		if (n > 0) {
			keep_target_labels(w, w->ncompress, w->hint_off, n);
			w->compress[w->ncompress++] = MSG_HDRLEN;
			w->hint_len = (uint16_t)len;
			w->hint_n = (uint8_t)n;
			memcpy(w->hint_name, name, len);
		}
		w->pos = MSG_HDRLEN + len + 4;
		set_count(w, MSG_QUESTION, 1);
		return 0;
	}
	struct item it = {
	    .is_question = true,
	    .owner = name,
	    .type = type,
	    .rrclass = rrclass,
	};
	return write_item(w, MSG_QUESTION, &it, NULL);
}

/* Where a name already in the message starts, found as write_item would
 * find it, when all of it is there: the owner hint octet for octet, or
 * else (few targets) the first target that ends with all of its labels.
 * Sets *off to that target's label offsets; *is_hint when it is the hint.
 * Returns the name's label count, or 0. */
static int known_name(const struct msg_writer *w, const uint8_t *name,
		      const uint16_t **off, bool *is_hint)
{
	struct name_labels nl;
	labels_of_name(name, &nl);
	if (nl.n == 0)
		return 0;
	const uint8_t *last = nl.label[nl.n - 1];
	size_t len = (size_t)(last - name) + last[0] + 2u;
	*is_hint = w->hint_len == len && w->hint_off[0] <= PTR_MAX_OFFSET &&
		   memcmp(name, w->hint_name, len) == 0;
	if (*is_hint) {
		*off = w->hint_off;
		return nl.n;
	}
	if (w->indexed)
		return 0;
	for (int i = 0; i < w->ncompress; i++) {
		int n = w->walk_n[i];
		if (common_suffix_kept(&nl, w->buf, w->walk_off[i], n) ==
		    nl.n) {
			*off = w->walk_off[i] + n - nl.n;
			return nl.n;
		}
	}
	return 0;
}

/* An RR whose owner is all in the message already (the question name
 * for an answer, the last owner for the rest of an RRset, an NS or MX
 * target for its addresses) and whose rdata holds no name to compress.
 * It is the owner as a pointer, the fixed fields and the rdata as they
 * are, and the owner becomes the hint: what write_item would make of it
 * (no target is added), without the encoder. Returns ERR_NOTFOUND when
 * the owner is not all there. */
static int write_rr_known_owner(struct msg_writer *w, int section,
				const uint8_t *owner, uint16_t type,
				uint16_t rrclass, uint32_t ttl,
				const uint8_t *rdata, size_t rdlen)
{
	const uint16_t *off;
	bool is_hint;
	int n = known_name(w, owner, &off, &is_hint);
	if (n == 0)
		return ERR_NOTFOUND;
	if (w->count[section] == 0xFFFF || w->pos + 12 + rdlen > w->limit)
		return ERR_SPACE;
	uint8_t *out = w->buf + w->pos;
	put16(out, (uint16_t)(0xC000 | off[0]));
	put16(out + 2, type);
	put16(out + 4, rrclass);
	put32(out + 6, ttl);
	put16(out + 10, (uint16_t)rdlen);
	if (rdlen != 0)
		memcpy(out + 12, rdata, rdlen);
	if (!is_hint) {
		w->hint_len = (uint16_t)dname_len(owner);
		w->hint_n = (uint8_t)n;
		memcpy(w->hint_name, owner, w->hint_len);
		memcpy(w->hint_off, off, (size_t)n * sizeof(off[0]));
	}
	w->pos += 12 + rdlen;
	w->section = (uint8_t)section;
	set_count(w, section, (uint16_t)(w->count[section] + 1));
	return 0;
}

int msg_write_rr(struct msg_writer *w, enum msg_section section,
		 const uint8_t *owner, uint16_t type, uint16_t rrclass,
		 uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	if (section < MSG_ANSWER || section > MSG_ADDITIONAL ||
	    rdlen > MSG_RDATA_MAX)
		return ERR_INVAL;
	if (section < w->section)
		return ERR_BADSTATE;
	if (rdlen == 0 || !rrtype_compresses(type)) {
		int rc = write_rr_known_owner(w, section, owner, type, rrclass,
					      ttl, rdata, rdlen);
		if (rc != ERR_NOTFOUND)
			return rc;
	}
	struct item it = rr_item(owner, type, rrclass, ttl, rdata, rdlen);
	return write_item(w, section, &it, NULL);
}

int msg_image_build(struct msg_image *img, const uint8_t *owner, uint16_t type,
		    uint16_t rrclass, uint32_t ttl, const uint8_t *rdata,
		    size_t rdlen)
{
	uint8_t buf[MSG_HDRLEN + DNAME_MAXLEN + 4 + MSG_IMAGE_WIRE];
	struct msg_writer w;
	img->len = 0;
	img->nptr = img->nabove = img->ntarget = 0;
	int labels = dname_labels(owner);
	/* The root's negative answers are written as they go. */
	if (labels <= 0 || rdlen > MSG_RDATA_MAX)
		return ERR_INVAL;
	img->base_len = (uint16_t)dname_len(owner);
	img->base_labels = (uint8_t)labels;
	memcpy(img->owner, owner, img->base_len);
	/* The message the image is cut from: the owner as the question,
	 * then the RR, compressed against it by the usual encoder. */
	size_t start = MSG_HDRLEN + img->base_len + 4u;
	int rc = msg_writer_init(&w, buf, sizeof(buf), start + MSG_IMAGE_WIRE);
	if (rc == 0)
		rc = msg_write_question(&w, owner, type, rrclass);
	struct item it = rr_item(owner, type, rrclass, ttl, rdata, rdlen);
	if (rc == 0)
		rc = write_item(&w, MSG_ANSWER, &it, img);
	if (rc < 0) {
		img->nptr = img->nabove = 0;
		return rc;
	}
	for (int k = 1; k < w.ncompress && img->ntarget < MSG_IMAGE_NAMES; k++)
		img->target[img->ntarget++] = (uint16_t)(w.compress[k] - start);
	img->len = (uint16_t)(w.pos - start);
	memcpy(img->wire, buf + start, img->len);
	return 0;
}

int msg_write_image(struct msg_writer *w, enum msg_section section,
		    const struct msg_image *img)
{
	if (section < MSG_ANSWER || section > MSG_ADDITIONAL)
		return ERR_INVAL;
	if (section < w->section)
		return ERR_BADSTATE;
	/* Nothing but the question, written as the first name. */
	if (img->len == 0 || w->ncompress != 1 || w->indexed ||
	    w->compress[0] != MSG_HDRLEN || w->count[MSG_ANSWER] != 0 ||
	    w->count[MSG_AUTHORITY] != 0 || w->count[MSG_ADDITIONAL] != 0)
		return ERR_NOTFOUND;
	int qn = w->walk_n[0], bn = img->base_labels;
	if (qn < bn)
		return ERR_NOTFOUND;
	const uint16_t *qoff = w->walk_off[0];
	size_t at = qoff[qn - bn]; /* where the owner's labels start */
	if (!dname_equal(w->buf + at, img->owner))
		return ERR_NOTFOUND;
	/* A name of the RR that shares more than the owner with the
	 * question would be compressed further against it. */
	for (int i = 0; qn > bn && i < img->nabove; i++)
		if (dname_label_equal(w->buf + qoff[qn - bn - 1],
				      img->wire + img->above[i]))
			return ERR_NOTFOUND;
	if (w->count[section] == 0xFFFF || w->pos + img->len > w->limit)
		return ERR_SPACE;

	size_t pos = w->pos;
	size_t start = MSG_HDRLEN + img->base_len + 4u;
	uint8_t *out = w->buf + pos;
	memcpy(out, img->wire, img->len);
	for (int i = 0; i < img->nptr; i++) {
		uint8_t *p = out + img->ptr[i];
		size_t v = get16(p) & PTR_MAX_OFFSET;
		v = v < start ? at + (v - MSG_HDRLEN) : pos + (v - start);
		put16(p, (uint16_t)(0xC000 | v));
	}
	w->pos = pos + img->len;
	w->section = (uint8_t)section;
	set_count(w, section, (uint16_t)(w->count[section] + 1));
	/* The writer as write_item leaves it: the RR's written-out names
	 * are targets, its owner is the hint. */
	for (int k = 0; k < img->ntarget; k++) {
		struct name_labels nl;
		size_t off = pos + img->target[k];
		labels_in_buffer(w->buf, off, &nl);
		keep_target_labels(w, w->ncompress, nl.off, nl.n);
		w->compress[w->ncompress++] = (uint16_t)off;
	}
	w->hint_len = img->base_len;
	w->hint_n = (uint8_t)bn;
	memcpy(w->hint_name, img->owner, img->base_len);
	memcpy(w->hint_off, qoff + qn - bn, (size_t)bn * sizeof(qoff[0]));
	return 0;
}

void msg_writer_mark(const struct msg_writer *w, struct msg_mark *mark)
{
	mark->pos = w->pos;
	memcpy(mark->count, w->count, sizeof(mark->count));
	mark->section = w->section;
	mark->ncompress = w->ncompress;
	mark->nsuffix = w->nsuffix;
	mark->indexed = w->indexed;
}

void msg_writer_rollback(struct msg_writer *w, const struct msg_mark *mark)
{
	w->pos = mark->pos;
	for (int i = 0; i < 4; i++)
		set_count(w, i, mark->count[i]);
	w->section = mark->section;
	w->ncompress = mark->ncompress;
	w->nsuffix = mark->nsuffix;
	w->indexed = mark->indexed;
	w->hint_len = 0; /* its offsets may be gone */
}

/*
 * EDNS.
 */

int msg_edns_next_option(const struct msg_edns *edns, size_t *pos,
			 uint16_t *code, const uint8_t **data, uint16_t *len)
{
	size_t area = edns->options_len;
	if (*pos >= area)
		return 0;
	if (area - *pos < 4)
		return ERR_MALFORMED;
	const uint8_t *p = edns->options + *pos;
	uint16_t optlen = get16(p + 2);
	if (optlen > area - *pos - 4)
		return ERR_MALFORMED;
	*code = get16(p);
	*len = optlen;
	*data = p + 4;
	*pos += 4 + (size_t)optlen;
	return 1;
}

int msg_edns_find_option(const struct msg_edns *edns, uint16_t code,
			 const uint8_t **data, uint16_t *len)
{
	size_t pos = 0;
	uint16_t c;
	while (msg_edns_next_option(edns, &pos, &c, data, len) == 1)
		if (c == code)
			return 0;
	return ERR_NOTFOUND;
}

int msg_edns_parse(const struct msg_rr *rr, const uint8_t *rdata,
		   struct msg_edns *out)
{
	if (rr->type != RRTYPE_OPT)
		return ERR_INVAL;
	if (rr->owner[0] != 0)
		return ERR_MALFORMED;
	out->udp_size = rr->rrclass;
	out->ext_rcode = (uint8_t)(rr->ttl >> 24);
	out->version = (uint8_t)(rr->ttl >> 16);
	out->flags = (uint16_t)rr->ttl;
	out->dnssec_ok = (out->flags & EDNS_FLAG_DO) != 0;
	out->options = rdata;
	out->options_len = rr->rdlen;

	size_t pos = 0;
	uint16_t code, len;
	const uint8_t *data;
	int rc;
	while ((rc = msg_edns_next_option(out, &pos, &code, &data, &len)) == 1)
		;
	return rc;
}

int msg_write_opt(struct msg_writer *w, const struct msg_edns *edns,
		  const uint8_t *nsid, size_t nsid_len)
{
	size_t options_len = edns->options != NULL ? edns->options_len : 0;
	size_t rdlen = options_len;
	if (nsid != NULL) {
		if (nsid_len > MSG_RDATA_MAX - 4)
			return ERR_INVAL;
		rdlen += 4 + nsid_len;
	}
	if (rdlen > MSG_RDATA_MAX)
		return ERR_INVAL;
	if (w->count[MSG_ADDITIONAL] == 0xFFFF ||
	    1 + 10 + rdlen > w->limit - w->pos)
		return ERR_SPACE;

	uint8_t *p = w->buf + w->pos;
	p[0] = 0; /* owner: the root */
	put16(p + 1, RRTYPE_OPT);
	put16(p + 3, edns->udp_size);
	put32(p + 5, ((uint32_t)edns->ext_rcode << 24) |
			 ((uint32_t)edns->version << 16) |
			 (edns->dnssec_ok ? EDNS_FLAG_DO : 0));
	put16(p + 9, (uint16_t)rdlen);
	p += 11;
	if (options_len != 0) {
		memcpy(p, edns->options, options_len);
		p += options_len;
	}
	if (nsid != NULL) {
		put16(p, EDNS_OPT_NSID);
		put16(p + 2, (uint16_t)nsid_len);
		if (nsid_len != 0)
			memcpy(p + 4, nsid, nsid_len);
	}
	w->pos += 11 + rdlen;
	w->section = MSG_ADDITIONAL;
	set_count(w, MSG_ADDITIONAL, (uint16_t)(w->count[MSG_ADDITIONAL] + 1));
	return 0;
}
