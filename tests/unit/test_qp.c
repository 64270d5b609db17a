/*
 * test_qp.c -- the copy-on-write qp-trie against a sorted-array model.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "zonedb/qp.h"

struct item {
	uint32_t refs;
	size_t len;
	uint8_t key[16];
};

static int live_items;

static const uint8_t *item_key(const void *leaf, uint8_t buf[QP_MAXKEY],
			       size_t *len)
{
	const struct item *it = leaf;
	(void)buf;
	*len = it->len;
	return it->key;
}

static void item_ref(void *leaf)
{
	((struct item *)leaf)->refs++;
}

static void item_unref(void *leaf)
{
	struct item *it = leaf;
	if (--it->refs == 0) {
		live_items--;
		free(it);
	}
}

static const struct qp_ops ops = { item_key, item_ref, item_unref };

static struct item *item_new(const uint8_t *key, size_t len)
{
	struct item *it = calloc(1, sizeof(*it));
	it->refs = 1;
	it->len = len;
	memcpy(it->key, key, len);
	live_items++;
	return it;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Random short keys over a small alphabet, so prefixes and shared
 * nibbles are common. */
static size_t random_key(uint8_t *key, unsigned *seed)
{
	static const uint8_t alphabet[] = { 0x00, 0x01, 0x10, 0x11, 0x1f,
					    0x61, 0x62, 0xf0, 0xff };
	size_t len = (size_t)(rand_r(seed) % 6);
	for (size_t i = 0; i < len; i++)
		key[i] = alphabet[rand_r(seed) % sizeof(alphabet)];
	return len;
}

#define MODEL_MAX 16384
struct model {
	uint8_t keys[MODEL_MAX][16];
	size_t lens[MODEL_MAX];
	size_t count;
};

static long model_find(const struct model *m, const uint8_t *key, size_t len)
{
	for (size_t i = 0; i < m->count; i++)
		if (key_cmp(m->keys[i], m->lens[i], key, len) == 0)
			return (long)i;
	return -1;
}

/* The model's largest key <= key (or < key when strict). */
static const uint8_t *model_before(const struct model *m, const uint8_t *key,
				   size_t len, bool strict, size_t *outlen)
{
	const uint8_t *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < m->count; i++) {
		int c = key_cmp(m->keys[i], m->lens[i], key, len);
		if (c > 0 || (strict && c == 0))
			continue;
		if (best == NULL || key_cmp(m->keys[i], m->lens[i], best, best_len) > 0) {
			best = m->keys[i];
			best_len = m->lens[i];
		}
	}
	*outlen = best_len;
	return best;
}

struct walk_state {
	uint8_t prev[16];
	size_t prev_len;
	int count;
	bool sorted;
};

static int walk_check(void *leaf, void *arg)
{
	struct walk_state *w = arg;
	struct item *it = leaf;
	if (w->count > 0 && key_cmp(w->prev, w->prev_len, it->key, it->len) >= 0)
		w->sorted = false;
	memcpy(w->prev, it->key, it->len);
	w->prev_len = it->len;
	w->count++;
	return 0;
}

static void check_one(const struct item *got, const uint8_t *want,
		      size_t want_len)
{
	if (want == NULL) {
		ck_assert_ptr_null(got);
	} else {
		ck_assert_ptr_nonnull(got);
		ck_assert_int_eq(key_cmp(got->key, got->len, want, want_len), 0);
	}
}

/* qp_find_le and qp_find_lt agree with the model at `probe`. */
static void check_before(const struct qp_trie *t, const struct model *m,
			 const uint8_t *probe, size_t plen)
{
	size_t want_len;
	const uint8_t *want = model_before(m, probe, plen, false, &want_len);
	check_one(qp_find_le(t, probe, plen), want, want_len);
	want = model_before(m, probe, plen, true, &want_len);
	check_one(qp_find_lt(t, probe, plen), want, want_len);
}

START_TEST(random_against_model)
{
	static struct model m;
	struct qp_trie t;
	unsigned seed = 12345;
	m.count = 0;
	qp_init(&t, &ops);
	for (int step = 0; step < 10000; step++) {
		uint8_t key[16];
		size_t len = random_key(key, &seed);
		int op = rand_r(&seed) % 3;
		long at = model_find(&m, key, len);
		if (op < 2) {
			ck_assert_int_eq(qp_set(&t, item_new(key, len)), 0);
			if (at < 0) {
				memcpy(m.keys[m.count], key, len);
				m.lens[m.count++] = len;
			}
		} else {
			int r = qp_del(&t, key, len);
			ck_assert_int_eq(r, at < 0 ? ERR_NOTFOUND : 0);
			if (at >= 0) {
				m.count--;
				memcpy(m.keys[at], m.keys[m.count], 16);
				m.lens[at] = m.lens[m.count];
			}
		}
		ck_assert_uint_eq(qp_count(&t), m.count);
		/* Probe: exact and predecessor lookups. */
		uint8_t probe[16];
		size_t plen = random_key(probe, &seed);
		struct item *got = qp_get(&t, probe, plen);
		ck_assert_int_eq(got != NULL, model_find(&m, probe, plen) >= 0);
		check_before(&t, &m, probe, plen);
		/* ... and at a key that is present, where < and <= differ. */
		if (m.count > 0) {
			size_t i = (size_t)rand_r(&seed) % m.count;
			check_before(&t, &m, m.keys[i], m.lens[i]);
		}
	}
	if (m.count > 0) {
		size_t last_len;
		const uint8_t *last = model_before(&m, (const uint8_t *)
			"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
			"\xff\xff\xff\xff\xff", 17, false, &last_len);
		struct item *l = qp_last(&t);
		ck_assert_int_eq(key_cmp(l->key, l->len, last, last_len), 0);
	}
	struct walk_state w = { .sorted = true };
	qp_walk_prefix(&t, NULL, 0, walk_check, &w);
	ck_assert_int_eq(w.count, (int)m.count);
	ck_assert(w.sorted);
	/* the resumable iterator visits the same leaves in the same order */
	static struct qp_iter it;
	struct walk_state wi = { .sorted = true };
	qp_iter_init(&it, &t);
	void *leaf;
	while ((leaf = qp_iter_next(&it)) != NULL)
		walk_check(leaf, &wi);
	ck_assert_int_eq(wi.count, (int)m.count);
	ck_assert(wi.sorted);
	ck_assert_ptr_null(qp_iter_next(&it));
	qp_clear(&t);
	/* empty and single-leaf tries */
	ck_assert_ptr_null(qp_last(&t));
	ck_assert_ptr_null(qp_find_lt(&t, (const uint8_t *)"k", 1));
	qp_iter_init(&it, &t);
	ck_assert_ptr_null(qp_iter_next(&it));
	struct item *one = item_new((const uint8_t *)"k", 1);
	qp_set(&t, one);
	qp_iter_init(&it, &t);
	ck_assert_ptr_eq(qp_iter_next(&it), one);
	ck_assert_ptr_null(qp_iter_next(&it));
	qp_clear(&t);
	ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(clone_is_independent)
{
	struct qp_trie a, b;
	qp_init(&a, &ops);
	unsigned seed = 7;
	for (int i = 0; i < 500; i++) {
		uint8_t key[16];
		size_t len = random_key(key, &seed);
		qp_set(&a, item_new(key, len));
	}
	size_t before = qp_count(&a);
	struct walk_state wa0 = { .sorted = true };
	qp_walk_prefix(&a, NULL, 0, walk_check, &wa0);

	qp_clone(&b, &a);
	for (int i = 0; i < 500; i++) {
		uint8_t key[16];
		size_t len = random_key(key, &seed);
		if (i % 2)
			qp_set(&b, item_new(key, len));
		else
			qp_del(&b, key, len);
	}
	/* a is exactly as it was. */
	ck_assert_uint_eq(qp_count(&a), before);
	struct walk_state wa1 = { .sorted = true };
	qp_walk_prefix(&a, NULL, 0, walk_check, &wa1);
	ck_assert_int_eq(wa1.count, wa0.count);
	ck_assert(wa1.sorted);
	struct walk_state wb = { .sorted = true };
	qp_walk_prefix(&b, NULL, 0, walk_check, &wb);
	ck_assert(wb.sorted);
	ck_assert_int_eq(wb.count, (int)qp_count(&b));

	/* Release in either order: everything is freed exactly once. */
	qp_clear(&a);
	qp_clear(&b);
	ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(prefix_walk)
{
	struct qp_trie t;
	qp_init(&t, &ops);
	const char *keys[] = { "a", "ab", "abc", "abd", "b", "ba", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		qp_set(&t, item_new((const uint8_t *)keys[i], strlen(keys[i])));
	struct walk_state w = { .sorted = true };
	qp_walk_prefix(&t, (const uint8_t *)"ab", 2, walk_check, &w);
	ck_assert_int_eq(w.count, 3);
	ck_assert(w.sorted);
	struct walk_state w2 = { .sorted = true };
	qp_walk_prefix(&t, (const uint8_t *)"c", 1, walk_check, &w2);
	ck_assert_int_eq(w2.count, 0);
	struct walk_state w3 = { .sorted = true };
	qp_walk_prefix(&t, NULL, 0, walk_check, &w3);
	ck_assert_int_eq(w3.count, 7);
	ck_assert(qp_memory(&t) > 0);
	qp_clear(&t);
	ck_assert_int_eq(live_items, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qp");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_against_model);
	tcase_add_test(tc, clone_is_independent);
	tcase_add_test(tc, prefix_walk);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
