/*
 * qp.h -- a copy-on-write qp-trie from byte-string keys to leaf pointers.
 *
 * The model is Tony Finch's qp-trie as used by Knot and BIND 9.20: branch
 * nodes test one nibble of the key and hold a bitmap of which nibbles have
 * children, so a lookup costs one step per distinguishing nibble, with no
 * hashing and no attacker-controlled worst case. Keys are ordered like
 * memcmp() with a shorter key before its extensions, so an in-order walk
 * is sorted.
 *
 * Copy-on-write: a trie is a small value (the root twig). qp_clone() makes
 * a second trie sharing every node; changes through qp_set()/qp_del() then
 * copy only the path from the root to the change. Twig arrays and leaves
 * carry atomic reference counts (number of parent slots pointing at them),
 * so versions can be released in any order from any thread.
 *
 * Leaves are caller objects; the trie asks the caller for a leaf's key and
 * tells it when a leaf gains or loses a reference (struct qp_ops).
 */
#ifndef TANDEM_ZONEDB_QP_H
#define TANDEM_ZONEDB_QP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QP_MAXKEY 512

/* How many octets a[] and b[] share at the start, up to max: eight at a
 * time, the first differing one found in the XOR of two words. */
static inline size_t qp_common_prefix(const uint8_t *a, const uint8_t *b,
				      size_t max)
{
	size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= max; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + ((size_t)__builtin_ctzll(x ^ y) >> 3);
	}
#endif
	while (i < max && a[i] == b[i])
		i++;
	return i;
}

struct qp_ops {
	/* The key of `leaf` and its length: a key the leaf keeps, or one
	 * written into buf. Called on every lookup, so keep keys stored. */
	const uint8_t *(*key)(const void *leaf, uint8_t buf[QP_MAXKEY],
			      size_t *len);
	/* Adds one reference to `leaf`. */
	void (*ref)(void *leaf);
	/* Drops one reference to `leaf` (freeing it at zero). */
	void (*unref)(void *leaf);
};

struct qp_twigs;

/* One slot: a branch (bitmap != 0) or a leaf (bitmap == 0, leaf != NULL) or
 * empty (the root of an empty trie). */
struct qp_node {
	uint32_t bitmap;
	uint32_t pos;             /* branch: the nibble tested (qp.c) */
	union {
		struct qp_twigs *twigs;
		void *leaf;
	} u;
};

struct qp_trie {
	struct qp_node root;
	size_t count;
	const struct qp_ops *ops;
};

/* An empty trie using ops. */
void qp_init(struct qp_trie *t, const struct qp_ops *ops);

/* Makes `out` a trie with the same contents as `t`, sharing all nodes. */
void qp_clone(struct qp_trie *out, const struct qp_trie *t);

/* Drops t's references to its nodes (freeing what no other trie shares)
 * and leaves t empty. */
void qp_clear(struct qp_trie *t);

/* The leaf with exactly this key, or NULL. */
void *qp_get(const struct qp_trie *t, const uint8_t *key, size_t len);

/* The leaf with the largest key <= key, or NULL when every key is larger. */
void *qp_find_le(const struct qp_trie *t, const uint8_t *key, size_t len);

/* The leaf with the largest key < key, or NULL. */
void *qp_find_lt(const struct qp_trie *t, const uint8_t *key, size_t len);

/* The leaf with the largest key, or NULL when the trie is empty. */
void *qp_last(const struct qp_trie *t);

/* Inserts or replaces the leaf for its key (taken from ops->key). The trie
 * takes over the caller's reference to `leaf`; a replaced leaf loses one.
 * Returns 0 or ERR_NOMEM (the trie is unchanged then and the caller keeps
 * its reference). */
int qp_set(struct qp_trie *t, void *leaf);

/* Removes the leaf with this key. Returns 0, ERR_NOTFOUND or ERR_NOMEM. */
int qp_del(struct qp_trie *t, const uint8_t *key, size_t len);

/* Calls fn on each leaf whose key starts with `prefix` (all leaves for
 * len 0), in key order; stops and returns fn's value when non-zero. */
typedef int (*qp_fn)(void *leaf, void *arg);
int qp_walk_prefix(const struct qp_trie *t, const uint8_t *prefix,
		   size_t len, qp_fn fn, void *arg);

/* A resumable in-order walk (for streaming a whole zone out). The trie
 * must not change while an iterator is in use; a version's trie never
 * does. */
struct qp_iter {
	const struct qp_node *stack[QP_MAXKEY * 2 + 2];
	unsigned index[QP_MAXKEY * 2 + 2];
	int depth;
	bool started;
};

/* Starts an iteration over every leaf of t. */
void qp_iter_init(struct qp_iter *it, const struct qp_trie *t);

/* The next leaf in key order, or NULL at the end. */
void *qp_iter_next(struct qp_iter *it);

/* Number of leaves. */
size_t qp_count(const struct qp_trie *t);

/* Bytes used by the trie's own nodes (not leaves), counting shared ones. */
size_t qp_memory(const struct qp_trie *t);

#endif
