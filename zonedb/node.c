/*
 * node.c -- zone nodes: building, freezing and trie keys.
 */
#include "zonedb/node.h"

#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

static inline uint8_t lower_octet(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static size_t make_key(const uint8_t *name, uint8_t key[QP_MAXKEY], bool fold)
{
	const uint8_t *labels[DNAME_MAXLABELS];
	int n = 0;
	for (const uint8_t *p = name; *p != 0; p += *p + 1)
		labels[n++] = p;
	size_t pos = 0;
	while (n > 0) {
		const uint8_t *label = labels[--n];
		for (uint8_t i = 1; i <= label[0]; i++) {
			uint8_t c = fold ? lower_octet(label[i]) : label[i];
			/* 0x00 ends a label, so 0x00 and 0x01 become two
			 * octets that still sort below 0x02. */
			if (c < 2) {
				key[pos++] = 1;
				key[pos++] = (uint8_t)(c + 1);
			} else {
				key[pos++] = c;
			}
		}
		key[pos++] = 0;
	}
	return pos;
}

/* Octets in lowercase, for keys made once per query name. */
#define LOWER1(c) ((c) + ((c) >= 'A' && (c) <= 'Z' ? 32 : 0))
#define LOWER4(c) LOWER1(c), LOWER1(c + 1), LOWER1(c + 2), LOWER1(c + 3)
#define LOWER16(c) LOWER4(c), LOWER4(c + 4), LOWER4(c + 8), LOWER4(c + 12)
#define LOWER64(c) LOWER16(c), LOWER16(c + 16), LOWER16(c + 32), LOWER16(c + 48)
static const uint8_t lower_table[256] = {
	LOWER64(0), LOWER64(64), LOWER64(128), LOWER64(192),
};

/* Whether any of eight octets is 0x00 or 0x01 (the octets keys escape);
 * exact as a yes/no. */
static inline bool has_below_two(uint64_t x)
{
	return ((x - 2 * DNAME_WORD_ONES) & ~x & (0x80 * DNAME_WORD_ONES)) != 0;
}

/* Copies a label's octets lowercased into out; false when one needs an
 * escape (then out is garbage). Labels of 4 octets or more go a word at
 * a time, the last word overlapping the one before. */
static inline bool copy_lower(uint8_t *out, const uint8_t *in, size_t len)
{
	if (len >= 8) {
		uint64_t x, bad = 0;
		for (size_t i = 0;; i += 8) {
			if (i + 8 > len)
				i = len - 8;
			memcpy(&x, in + i, 8);
			x = dname_lower_word(x);
			bad |= has_below_two(x);
			memcpy(out + i, &x, 8);
			if (i + 8 == len)
				return !bad;
		}
	}
	if (len >= 4) {
		uint32_t a, b;
		memcpy(&a, in, 4);
		memcpy(&b, in + len - 4, 4);
		uint64_t x = (uint64_t)a | (uint64_t)b << 32;
		x = dname_lower_word(x);
		a = (uint32_t)x;
		b = (uint32_t)(x >> 32);
		memcpy(out, &a, 4);
		memcpy(out + len - 4, &b, 4);
		return !has_below_two(x);
	}
	bool ok = true;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = lower_table[in[i]];
		out[i] = c;
		ok &= c >= 2;
	}
	return ok;
}

size_t node_key_ends(const uint8_t *name, uint8_t key[QP_MAXKEY],
		     uint16_t ends[DNAME_MAXLABELS + 1], int *nlabels)
{
	const uint8_t *labels[DNAME_MAXLABELS];
	int n = 0;
	for (const uint8_t *p = name; *p != 0; p += *p + 1)
		labels[n++] = p;
	*nlabels = n;
	size_t pos = 0;
	ends[0] = 0;
	for (int k = 1; n > 0; k++) {
		const uint8_t *label = labels[--n];
		uint8_t len = label[0];
		/* Octets 0 and 1 need escapes; they are rare, so copy the
		 * label straight and redo it only when one turns up. */
		if (copy_lower(key + pos, label + 1, len)) {
			pos += len;
		} else {
			for (uint8_t i = 1; i <= len; i++) {
				uint8_t c = lower_table[label[i]];
				if (c < 2)
					key[pos++] = 1;
				key[pos++] = c < 2 ? (uint8_t)(c + 1) : c;
			}
		}
		key[pos++] = 0;
		ends[k] = (uint16_t)pos;
	}
	return pos;
}

size_t node_key(const uint8_t *name, uint8_t key[QP_MAXKEY])
{
	return make_key(name, key, false);
}

size_t node_key_fold(const uint8_t *name, uint8_t key[QP_MAXKEY])
{
	return make_key(name, key, true);
}

uint16_t node_rrsig_covered(const uint8_t *rdata, uint16_t len)
{
	return len >= 2 ? (uint16_t)(rdata[0] << 8 | rdata[1]) : 0;
}

bool node_draft_nsec3_only(const struct node_draft *d)
{
	bool nsec3 = false;
	for (size_t i = 0; i < d->nsets; i++) {
		if (d->sets[i].count == 0)
			continue;
		if (d->sets[i].type == RRTYPE_NSEC3)
			nsec3 = true;
		else if (d->sets[i].type != RRTYPE_RRSIG)
			return false;
	}
	return nsec3;
}

bool node_nsec3_only(const struct zone_node *n)
{
	bool nsec3 = false;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		if (n->rrsets[i].type == RRTYPE_NSEC3)
			nsec3 = true;
		else if (n->rrsets[i].type != RRTYPE_RRSIG)
			return false;
	}
	return nsec3;
}

struct node_set_draft *node_draft_find(struct node_draft *d, uint16_t type,
				       uint16_t covered)
{
	for (size_t i = 0; i < d->nsets; i++)
		if (d->sets[i].type == type && d->sets[i].covered == covered)
			return &d->sets[i];
	return NULL;
}

int node_draft_add(struct node_draft *d, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t len, bool *ttl_mismatch)
{
	uint16_t covered = type == RRTYPE_RRSIG ? node_rrsig_covered(rdata, len) : 0;
	struct node_set_draft *set = node_draft_find(d, type, covered);
	*ttl_mismatch = false;
	if (set == NULL) {
		if (d->nsets == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 2;
			struct node_set_draft *sets = realloc(d->sets, cap * sizeof(*sets));
			if (sets == NULL)
				return ERR_NOMEM;
			/* Slots past nsets keep their RR arrays for reuse
			 * (node_draft_clear): new ones start empty. */
			memset(sets + d->cap, 0, (cap - d->cap) * sizeof(*sets));
			d->sets = sets;
			d->cap = cap;
		}
		set = &d->sets[d->nsets++];
		set->count = 0;
		set->type = type;
		set->covered = covered;
		set->ttl = ttl;
	} else if (set->ttl != ttl) {
		*ttl_mismatch = true;
	}
	if (set->count >= UINT16_MAX)
		return ERR_LIMIT;
	if (set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1;
		struct node_rr *rrs = realloc(set->rrs, cap * sizeof(*rrs));
		if (rrs == NULL)
			return ERR_NOMEM;
		set->rrs = rrs;
		set->cap = cap;
	}
	set->rrs[set->count].rdata = rdata;
	set->rrs[set->count].len = len;
	set->count++;
	return 0;
}

int node_draft_remove(struct node_draft *d, uint16_t type,
		      const uint8_t *rdata, uint16_t len)
{
	uint16_t covered = type == RRTYPE_RRSIG ? node_rrsig_covered(rdata, len) : 0;
	struct node_set_draft *set = node_draft_find(d, type, covered);
	if (set == NULL)
		return ERR_NOTFOUND;
	for (size_t i = 0; i < set->count; i++) {
		if (rdata_cmp(type, set->rrs[i].rdata, set->rrs[i].len, rdata,
			      len) != 0)
			continue;
		set->rrs[i] = set->rrs[--set->count];
		if (set->count == 0) {
			/* Swap the empty set with the last one in use, which
			 * keeps each RR array in exactly one slot. */
			struct node_set_draft empty = *set;
			*set = d->sets[--d->nsets];
			d->sets[d->nsets] = empty;
		}
		return 0;
	}
	return ERR_NOTFOUND;
}

int node_thaw(const struct zone_node *n, struct node_draft *d)
{
	memset(d, 0, sizeof(*d));
	if (node_thaw_into(n, d) != 0) {
		node_draft_free(d);
		return ERR_NOMEM;
	}
	return 0;
}

void node_draft_free(struct node_draft *d)
{
	for (size_t i = 0; i < d->cap; i++)
		free(d->sets[i].rrs);
	free(d->sets);
	d->sets = NULL;
	d->nsets = d->cap = 0;
}

void node_draft_clear(struct node_draft *d)
{
	for (size_t i = 0; i < d->nsets; i++)
		d->sets[i].count = 0;
	d->nsets = 0;
	d->flags = 0;
}

int node_thaw_into(const struct zone_node *n, struct node_draft *d)
{
	node_draft_clear(d);
	d->owner = n->owner;
	d->flags = n->flags;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct zone_rrset *rs = &n->rrsets[i];
		size_t pos = 0;
		uint16_t len;
		const uint8_t *rdata;
		while ((rdata = zone_rrset_next(rs, &pos, &len)) != NULL) {
			bool mismatch;
			if (node_draft_add(d, rs->type, rs->ttl, rdata, len,
					   &mismatch) != 0)
				return ERR_NOMEM;
		}
	}
	return 0;
}

static int rr_cmp(const void *a, const void *b, void *arg)
{
	const struct node_rr *x = a, *y = b;
	return rdata_cmp(*(const uint16_t *)arg, x->rdata, x->len, y->rdata,
			 y->len);
}

static int set_cmp(const void *a, const void *b)
{
	const struct node_set_draft *x = a, *y = b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return (int)x->covered - (int)y->covered;
}

struct zone_node *node_freeze(const struct node_draft *d)
{
	size_t owner_len = dname_len(d->owner);
	size_t nsets = 0, rdata_size = 0;
	for (size_t i = 0; i < d->nsets; i++) {
		if (d->sets[i].count == 0)
			continue;
		nsets++;
		qsort_r(d->sets[i].rrs, d->sets[i].count, sizeof(struct node_rr),
			rr_cmp, (void *)&d->sets[i].type);
		for (size_t j = 0; j < d->sets[i].count; j++)
			rdata_size += 2u + d->sets[i].rrs[j].len;
	}
	struct node_set_draft *sorted = NULL, on_stack[8];
	if (nsets > 0) {
		sorted = nsets <= 8 ? on_stack : malloc(nsets * sizeof(*sorted));
		if (sorted == NULL)
			return NULL;
		size_t k = 0;
		for (size_t i = 0; i < d->nsets; i++)
			if (d->sets[i].count > 0)
				sorted[k++] = d->sets[i];
		qsort(sorted, nsets, sizeof(*sorted), set_cmp);
	}

	uint8_t buf[QP_MAXKEY];
	const uint8_t *key = d->key;
	size_t key_len = d->key_len;
	if (key == NULL) {
		key_len = node_key(d->owner, buf);
		key = buf;
	}
	size_t size = sizeof(struct zone_node) + nsets * sizeof(struct zone_rrset) +
		      owner_len + key_len + rdata_size;
	uint8_t *mem = malloc(size);
	if (mem == NULL) {
		if (sorted != on_stack)
			free(sorted);
		return NULL;
	}
	struct zone_node *n = (struct zone_node *)mem;
	struct zone_rrset *sets = (struct zone_rrset *)(mem + sizeof(*n));
	uint8_t *owner = (uint8_t *)(sets + nsets);
	uint8_t *data = owner + owner_len + key_len;
	memcpy(owner, d->owner, owner_len);
	memcpy(owner + owner_len, key, key_len);
	n->refs = 1;
	n->owner_len = (uint8_t)owner_len;
	n->key_len = (uint16_t)key_len;
	n->flags = d->flags;
	n->nrrsets = (uint16_t)nsets;
	n->owner = owner;
	n->rrsets = sets;
	for (size_t i = 0; i < nsets; i++) {
		const struct node_set_draft *sd = &sorted[i];
		struct zone_rrset *rs = &sets[i];
		rs->type = sd->type;
		rs->covered = sd->covered;
		rs->ttl = sd->ttl;
		rs->rdata = data;
		uint16_t count = 0;
		const struct node_rr *prev = NULL;
		for (size_t j = 0; j < sd->count; j++) {
			const struct node_rr *rr = &sd->rrs[j];
			/* Sorted, so duplicates are neighbours. */
			if (prev && rdata_cmp(sd->type, prev->rdata, prev->len,
					      rr->rdata, rr->len) == 0)
				continue;
			data[0] = (uint8_t)(rr->len >> 8);
			data[1] = (uint8_t)rr->len;
			memcpy(data + 2, rr->rdata, rr->len);
			data += 2u + rr->len;
			count++;
			prev = rr;
		}
		rs->count = count;
		rs->size = (uint32_t)(data - rs->rdata);
	}
	if (sorted != on_stack)
		free(sorted);
	return n;
}

static size_t node_size(const struct zone_node *n)
{
	size_t size = sizeof(*n) + n->nrrsets * sizeof(struct zone_rrset) +
		      n->owner_len + n->key_len;
	for (uint16_t i = 0; i < n->nrrsets; i++)
		size += n->rrsets[i].size;
	return size;
}

struct zone_node *node_with_flags(const struct zone_node *n, uint16_t flags)
{
	size_t size = node_size(n);
	uint8_t *mem = malloc(size);
	if (mem == NULL)
		return NULL;
	memcpy(mem, n, size);
	struct zone_node *copy = (struct zone_node *)mem;
	ptrdiff_t shift = mem - (const uint8_t *)n;
	struct zone_rrset *sets = (struct zone_rrset *)(mem + sizeof(*copy));
	copy->refs = 1;
	copy->flags = flags;
	copy->rrsets = sets;
	copy->owner = n->owner + shift;
	for (uint16_t i = 0; i < copy->nrrsets; i++)
		sets[i].rdata = n->rrsets[i].rdata + shift;
	return copy;
}

void node_ref(const struct zone_node *n)
{
	__atomic_add_fetch(&((struct zone_node *)n)->refs, 1, __ATOMIC_RELAXED);
}

void node_unref(const struct zone_node *n)
{
	if (__atomic_sub_fetch(&((struct zone_node *)n)->refs, 1,
			       __ATOMIC_ACQ_REL) == 0)
		free((void *)n);
}

static const uint8_t *qp_node_key(const void *leaf, uint8_t buf[QP_MAXKEY],
				  size_t *len)
{
	const struct zone_node *n = leaf;
	(void)buf;
	*len = n->key_len;
	return n->owner + n->owner_len;
}

static void qp_node_ref(void *leaf)
{
	node_ref(leaf);
}

static void qp_node_unref(void *leaf)
{
	node_unref(leaf);
}

const struct qp_ops node_qp_ops = {
	.key = qp_node_key,
	.ref = qp_node_ref,
	.unref = qp_node_unref,
};
