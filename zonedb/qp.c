/*
 * qp.c -- a copy-on-write qp-trie (see qp.h).
 *
 * A branch tests one nibble of the key (two nibbles per octet, high
 * first). Its bitmap has bit 0 for "the key ends before this nibble" and
 * bit 1+v for nibble value v, so twigs are kept in key order with shorter
 * keys first. Twig arrays are exactly popcount(bitmap) long. The branch
 * keeps the nibble's place as pos = octet << 5 | shift, shift 4 for the
 * high nibble and 0 for the low one: a step reads the octet and shifts it
 * by pos as it is (shifts take their count mod 32), with no arithmetic
 * on a nibble index. pos ^ 4 orders as the nibbles do.
 *
 * Copy-on-write rule: an array reachable from this trie may be changed in
 * place only when its reference count is 1, i.e. the only slot pointing at
 * it is one this trie already owns exclusively. Writers make every array
 * on the path exclusive (copying the shared ones) before they change it.
 */
#include "zonedb/qp.h"

#include <stdlib.h>
#include <string.h>

#include "dns/error.h"

struct qp_twigs {
	uint32_t refs;
	uint32_t size;
	struct qp_node nodes[];
};

static inline bool is_branch(const struct qp_node *n)
{
	return n->bitmap != 0;
}

static inline bool is_empty(const struct qp_node *n)
{
	return n->bitmap == 0 && n->u.leaf == NULL;
}

/* The pos of the high nibble of octet i; `pos & ~4` is its low one. */
static inline uint32_t high_pos(size_t i)
{
	return (uint32_t)(i << 5 | 4);
}

/* first_difference of equal keys: its order is past every branch's. */
#define SAME_KEYS UINT32_MAX

/* A value that orders poses as their nibbles. */
static inline uint32_t pos_order(uint32_t pos)
{
	return pos ^ 4;
}

static inline uint32_t twig_bit(const uint8_t *key, size_t len, uint32_t pos)
{
	size_t byte = pos >> 5;
	if (byte >= len)
		return 1;
	return 2u << ((unsigned)(key[byte] >> (pos & 31)) & 15);
}

/* Every function that counts twigs is built twice, with the POPCNT
 * instruction (x86-64 CPUs since 2008-2011) and without, and the loader
 * picks one at start (GCC's function multiversioning): there a popcount
 * is one instruction, in the baseline build (Debian's x86-64 has no
 * POPCNT) a libgcc call. Helpers are inlined into both. Clang 14 (the
 * fuzz build) leaves such functions undefined for other files, and
 * expands the builtin inline anyway. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QP_POPCNT __attribute__((target_clones("popcnt", "default")))
#else
#define QP_POPCNT
#endif
#define QP_INLINE static inline __attribute__((always_inline))

QP_INLINE unsigned twig_index(uint32_t bitmap, uint32_t bit)
{
	return (unsigned)__builtin_popcount(bitmap & (bit - 1));
}

QP_INLINE unsigned twig_count(const struct qp_node *n)
{
	return (unsigned)__builtin_popcount(n->bitmap);
}

static struct qp_twigs *twigs_alloc(unsigned size)
{
	struct qp_twigs *tw = malloc(sizeof(*tw) + size * sizeof(struct qp_node));
	if (tw == NULL)
		return NULL;
	tw->refs = 1;
	tw->size = size;
	return tw;
}

static void node_ref(const struct qp_trie *t, const struct qp_node *n)
{
	if (is_branch(n))
		__atomic_add_fetch(&n->u.twigs->refs, 1, __ATOMIC_RELAXED);
	else if (n->u.leaf != NULL)
		t->ops->ref(n->u.leaf);
}

static void node_unref(const struct qp_trie *t, const struct qp_node *n)
{
	if (!is_branch(n)) {
		if (n->u.leaf != NULL)
			t->ops->unref(n->u.leaf);
		return;
	}
	struct qp_twigs *tw = n->u.twigs;
	if (__atomic_sub_fetch(&tw->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (uint32_t i = 0; i < tw->size; i++)
		node_unref(t, &tw->nodes[i]);
	free(tw);
}

/* Makes branch n's twig array exclusive to this trie. */
static int make_mutable(const struct qp_trie *t, struct qp_node *n)
{
	struct qp_twigs *old = n->u.twigs;
	if (__atomic_load_n(&old->refs, __ATOMIC_ACQUIRE) == 1)
		return 0;
	struct qp_twigs *copy = twigs_alloc(old->size);
	if (copy == NULL)
		return ERR_NOMEM;
	memcpy(copy->nodes, old->nodes, old->size * sizeof(struct qp_node));
	for (uint32_t i = 0; i < old->size; i++)
		node_ref(t, &copy->nodes[i]);
	n->u.twigs = copy;
	struct qp_node old_node = *n;
	old_node.u.twigs = old;
	node_unref(t, &old_node);
	return 0;
}

void qp_init(struct qp_trie *t, const struct qp_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
}

void qp_clone(struct qp_trie *out, const struct qp_trie *t)
{
	*out = *t;
	node_ref(t, &t->root);
}

void qp_clear(struct qp_trie *t)
{
	node_unref(t, &t->root);
	memset(&t->root, 0, sizeof(t->root));
	t->count = 0;
}

size_t qp_count(const struct qp_trie *t)
{
	return t->count;
}

static bool key_equal(const uint8_t *a, size_t alen, const uint8_t *b,
		      size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

QP_POPCNT void *qp_get(const struct qp_trie *t, const uint8_t *key, size_t len)
{
	const struct qp_node *n = &t->root;
	if (is_empty(n))
		return NULL;
	while (is_branch(n)) {
		uint32_t bit = twig_bit(key, len, n->pos);
		if (!(n->bitmap & bit))
			return NULL;
		size_t i = twig_index(n->bitmap, bit);
		n = &n->u.twigs->nodes[i];
	}
	uint8_t buf[QP_MAXKEY];
	size_t llen;
	const uint8_t *lkey = t->ops->key(n->u.leaf, buf, &llen);
	return key_equal(key, len, lkey, llen) ? n->u.leaf : NULL;
}

/* Any leaf below n whose key shares the prefix tested on the way: follows
 * the key where it can, else the first twig. */
QP_INLINE const struct qp_node *closest_leaf(const struct qp_node *n,
					    const uint8_t *key, size_t len)
{
	while (is_branch(n)) {
		uint32_t bit = twig_bit(key, len, n->pos);
		unsigned i = (n->bitmap & bit) ? twig_index(n->bitmap, bit) : 0;
		n = &n->u.twigs->nodes[i];
	}
	return n;
}

/* The pos of the first nibble where the keys differ, or SAME_KEYS. */
static uint32_t first_difference(const uint8_t *a, size_t alen,
				 const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	size_t i = qp_common_prefix(a, b, n);
	if (i == n && alen == blen)
		return SAME_KEYS;
	uint32_t pos = high_pos(i);
	if (twig_bit(a, alen, pos) == twig_bit(b, blen, pos))
		pos &= ~4u; /* the low nibble then */
	return pos;
}

QP_INLINE const struct qp_node *max_leaf(const struct qp_node *n)
{
	while (is_branch(n))
		n = &n->u.twigs->nodes[twig_count(n) - 1];
	return n;
}

QP_POPCNT void *qp_find_le(const struct qp_trie *t, const uint8_t *key, size_t len)
{
	if (is_empty(&t->root))
		return NULL;
	/* Down to a leaf as closest_leaf goes, keeping the path. */
	const struct qp_node *path[QP_MAXKEY * 2 + 2];
	unsigned chosen[QP_MAXKEY * 2 + 2];
	int depth = 0;
	const struct qp_node *leaf = &t->root;
	while (is_branch(leaf)) {
		uint32_t bit = twig_bit(key, len, leaf->pos);
		unsigned i =
		    (leaf->bitmap & bit) ? twig_index(leaf->bitmap, bit) : 0;
		path[depth] = leaf;
		chosen[depth] = i;
		depth++;
		leaf = &leaf->u.twigs->nodes[i];
	}
	uint8_t buf[QP_MAXKEY];
	size_t llen;
	const uint8_t *lkey = t->ops->key(leaf->u.leaf, buf, &llen);
	uint32_t dpos = first_difference(key, len, lkey, llen);
	if (dpos == SAME_KEYS)
		return leaf->u.leaf;

	/* Back up to the divergence point. The branches above it test
	 * nibbles where the key and lkey agree, so there the key's own twig
	 * was taken, as a second descent would take it. */
	int above = 0;
	while (above < depth && pos_order(path[above]->pos) < pos_order(dpos))
		above++;
	const struct qp_node *n = above < depth ? path[above] : leaf;
	depth = above;
	uint32_t kbit = twig_bit(key, len, dpos);
	uint32_t lbit = twig_bit(lkey, llen, dpos);
	if (is_branch(n) && n->pos == dpos) {
		/* n branches at the divergence: the key's nibble is absent
		 * here. Take the largest twig below it, if any. */
		unsigned i = twig_index(n->bitmap, kbit);
		if (i > 0)
			return max_leaf(&n->u.twigs->nodes[i - 1])->u.leaf;
	} else if (kbit > lbit) {
		/* Everything below n is smaller than the key. */
		return max_leaf(n)->u.leaf;
	}
	/* Everything below n is larger: the answer precedes n's subtree. */
	while (depth > 0) {
		depth--;
		if (chosen[depth] > 0)
			return max_leaf(&path[depth]->u.twigs->nodes[chosen[depth] - 1])->u.leaf;
	}
	return NULL;
}

QP_POPCNT void *qp_find_lt(const struct qp_trie *t, const uint8_t *key, size_t len)
{
	if (qp_get(t, key, len) == NULL)
		return qp_find_le(t, key, len);
	/* The key is present: its predecessor is the largest leaf of the
	 * nearest twig to the left on the path down to it. */
	const struct qp_node *path[QP_MAXKEY * 2 + 2];
	unsigned chosen[QP_MAXKEY * 2 + 2];
	int depth = 0;
	const struct qp_node *n = &t->root;
	while (is_branch(n)) {
		unsigned i = twig_index(n->bitmap, twig_bit(key, len, n->pos));
		path[depth] = n;
		chosen[depth] = i;
		depth++;
		n = &n->u.twigs->nodes[i];
	}
	while (depth > 0) {
		depth--;
		if (chosen[depth] > 0)
			return max_leaf(&path[depth]->u.twigs->nodes[chosen[depth] - 1])->u.leaf;
	}
	return NULL;
}

QP_POPCNT void *qp_last(const struct qp_trie *t)
{
	if (is_empty(&t->root))
		return NULL;
	return max_leaf(&t->root)->u.leaf;
}

QP_POPCNT int qp_set(struct qp_trie *t, void *leaf)
{
	uint8_t kbuf[QP_MAXKEY];
	size_t len;
	const uint8_t *key = t->ops->key(leaf, kbuf, &len);
	if (is_empty(&t->root)) {
		t->root.bitmap = 0;
		t->root.u.leaf = leaf;
		t->count = 1;
		return 0;
	}
	const struct qp_node *near = closest_leaf(&t->root, key, len);
	uint8_t nbuf[QP_MAXKEY];
	size_t nlen;
	const uint8_t *nkey = t->ops->key(near->u.leaf, nbuf, &nlen);
	uint32_t dpos = first_difference(key, len, nkey, nlen);

	/* Walk down, making each array exclusive, to where the new leaf
	 * goes: the slot of the old leaf (replace), a branch testing nibble
	 * `dpos` (new twig) or the first slot past it (new branch). */
	struct qp_node *n = &t->root;
	while (is_branch(n) && pos_order(n->pos) < pos_order(dpos)) {
		if (make_mutable(t, n) != 0)
			return ERR_NOMEM;
		uint32_t bit = twig_bit(key, len, n->pos);
		n = &n->u.twigs->nodes[twig_index(n->bitmap, bit)];
	}
	if (dpos == SAME_KEYS) {
		void *old = n->u.leaf;
		n->u.leaf = leaf;
		t->ops->unref(old);
		return 0;
	}
	uint32_t kbit = twig_bit(key, len, dpos);
	if (is_branch(n) && n->pos == dpos) {
		if (make_mutable(t, n) != 0)
			return ERR_NOMEM;
		struct qp_twigs *old = n->u.twigs;
		unsigned size = old->size;
		struct qp_twigs *grown = twigs_alloc(size + 1);
		if (grown == NULL)
			return ERR_NOMEM;
		unsigned at = twig_index(n->bitmap, kbit);
		memcpy(grown->nodes, old->nodes, at * sizeof(struct qp_node));
		memcpy(grown->nodes + at + 1, old->nodes + at,
		       (size - at) * sizeof(struct qp_node));
		grown->nodes[at].bitmap = 0;
		grown->nodes[at].pos = 0;
		grown->nodes[at].u.leaf = leaf;
		free(old); /* exclusive: its twigs moved to `grown` */
		n->u.twigs = grown;
		n->bitmap |= kbit;
	} else {
		uint32_t nbit = twig_bit(nkey, nlen, dpos);
		struct qp_twigs *pair = twigs_alloc(2);
		if (pair == NULL)
			return ERR_NOMEM;
		unsigned kat = kbit < nbit ? 0 : 1;
		pair->nodes[1 - kat] = *n;
		pair->nodes[kat].bitmap = 0;
		pair->nodes[kat].pos = 0;
		pair->nodes[kat].u.leaf = leaf;
		n->bitmap = kbit | nbit;
		n->pos = dpos;
		n->u.twigs = pair;
	}
	t->count++;
	return 0;
}

QP_POPCNT int qp_del(struct qp_trie *t, const uint8_t *key, size_t len)
{
	if (qp_get(t, key, len) == NULL)
		return ERR_NOTFOUND;
	struct qp_node *n = &t->root, *parent = NULL;
	uint32_t pbit = 0;
	while (is_branch(n)) {
		if (make_mutable(t, n) != 0)
			return ERR_NOMEM;
		parent = n;
		pbit = twig_bit(key, len, n->pos);
		n = &n->u.twigs->nodes[twig_index(n->bitmap, pbit)];
	}
	void *leaf = n->u.leaf;
	if (parent == NULL) {
		memset(&t->root, 0, sizeof(t->root));
	} else {
		struct qp_twigs *old = parent->u.twigs;
		unsigned at = twig_index(parent->bitmap, pbit);
		if (old->size == 2) {
			*parent = old->nodes[1 - at];
			free(old);
		} else {
			struct qp_twigs *shrunk = twigs_alloc(old->size - 1);
			if (shrunk == NULL)
				return ERR_NOMEM;
			memcpy(shrunk->nodes, old->nodes, at * sizeof(struct qp_node));
			memcpy(shrunk->nodes + at, old->nodes + at + 1,
			       (old->size - at - 1) * sizeof(struct qp_node));
			free(old);
			parent->u.twigs = shrunk;
			parent->bitmap &= ~pbit;
		}
	}
	t->ops->unref(leaf);
	t->count--;
	return 0;
}

QP_POPCNT static int walk(const struct qp_node *n, qp_fn fn, void *arg)
{
	if (!is_branch(n))
		return n->u.leaf ? fn(n->u.leaf, arg) : 0;
	unsigned count = twig_count(n);
	for (unsigned i = 0; i < count; i++) {
		int r = walk(&n->u.twigs->nodes[i], fn, arg);
		if (r != 0)
			return r;
	}
	return 0;
}

QP_POPCNT int qp_walk_prefix(const struct qp_trie *t, const uint8_t *prefix,
		   size_t len, qp_fn fn, void *arg)
{
	const struct qp_node *n = &t->root;
	if (is_empty(n))
		return 0;
	while (is_branch(n) &&
	       pos_order(n->pos) < pos_order(high_pos(len))) {
		uint32_t bit = twig_bit(prefix, len, n->pos);
		if (!(n->bitmap & bit))
			return 0;
		n = &n->u.twigs->nodes[twig_index(n->bitmap, bit)];
	}
	/* All keys below n agree up to n's nibble; check one against the
	 * prefix. */
	if (len > 0) {
		const struct qp_node *leaf = closest_leaf(n, prefix, len);
		uint8_t buf[QP_MAXKEY];
		size_t llen;
		const uint8_t *lkey = t->ops->key(leaf->u.leaf, buf, &llen);
		if (llen < len || memcmp(lkey, prefix, len) != 0)
			return 0;
	}
	return walk(n, fn, arg);
}

static size_t memory(const struct qp_node *n)
{
	if (!is_branch(n))
		return 0;
	size_t total = sizeof(struct qp_twigs) +
		       n->u.twigs->size * sizeof(struct qp_node);
	for (uint32_t i = 0; i < n->u.twigs->size; i++)
		total += memory(&n->u.twigs->nodes[i]);
	return total;
}

size_t qp_memory(const struct qp_trie *t)
{
	return memory(&t->root);
}

void qp_iter_init(struct qp_iter *it, const struct qp_trie *t)
{
	it->depth = 0;
	it->started = false;
	if (!is_empty(&t->root)) {
		it->stack[0] = &t->root;
		it->index[0] = 0;
		it->depth = 1;
	}
}

QP_POPCNT void *qp_iter_next(struct qp_iter *it)
{
	/* The stack holds the path to the last leaf returned; index[d] is
	 * the twig taken at branch stack[d]. Advance to the next twig,
	 * climbing while a branch is exhausted, then descend leftmost. */
	if (it->started) {
		for (;;) {
			it->depth--; /* pop the leaf */
			if (it->depth <= 0)
				return NULL;
			const struct qp_node *b = it->stack[it->depth - 1];
			unsigned next = it->index[it->depth - 1] + 1;
			if (next < twig_count(b)) {
				it->index[it->depth - 1] = next;
				it->stack[it->depth] = &b->u.twigs->nodes[next];
				it->depth++;
				break;
			}
		}
	} else {
		if (it->depth == 0)
			return NULL;
		it->started = true;
	}
	const struct qp_node *n = it->stack[it->depth - 1];
	while (is_branch(n)) {
		it->index[it->depth - 1] = 0;
		n = &n->u.twigs->nodes[0];
		it->stack[it->depth++] = n;
	}
	return n->u.leaf;
}
