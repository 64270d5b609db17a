/*
 * test_journal.c -- the on-disk history of differences.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rrtype.h"
#include "xfr/journal.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tandem-test-journalXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/example.com.journal", dir);
}

static void teardown(void)
{
	char tmp[160];
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
}

/* A difference of n removed and n added A records, tagged by serial. */
static void make_diff(struct zone_diff *d, uint32_t serial, int n)
{
	static const uint8_t root[1] = { 0 };
	memset(d, 0, sizeof(*d));
	uint8_t owner[DNAME_MAXLEN];
	for (int i = 0; i < n; i++) {
		char label[64];
		snprintf(label, sizeof(label), "host%d.example.com.", i);
		dname_from_str(owner, label, strlen(label), root);
		uint8_t old_addr[4] = { 10, 0, (uint8_t)serial, (uint8_t)i };
		uint8_t new_addr[4] = { 10, 1, (uint8_t)serial, (uint8_t)i };
		ck_assert_int_eq(zone_diff_add(d, false, owner, RRTYPE_A, 300, old_addr, 4), 0);
		ck_assert_int_eq(zone_diff_add(d, true, owner, RRTYPE_A, 600, new_addr, 4), 0);
	}
}

static void assert_diff_eq(const struct zone_diff *a, const struct zone_diff *b)
{
	ck_assert_uint_eq(a->nremoved, b->nremoved);
	ck_assert_uint_eq(a->nadded, b->nadded);
	for (size_t i = 0; i < a->nadded; i++) {
		ck_assert(dname_equal(a->added[i].owner, b->added[i].owner));
		ck_assert_uint_eq(a->added[i].type, b->added[i].type);
		ck_assert_uint_eq(a->added[i].ttl, b->added[i].ttl);
		ck_assert_uint_eq(a->added[i].rdlen, b->added[i].rdlen);
		ck_assert_mem_eq(a->added[i].rdata, b->added[i].rdata, a->added[i].rdlen);
	}
	for (size_t i = 0; i < a->nremoved; i++)
		ck_assert_mem_eq(a->removed[i].rdata, b->removed[i].rdata, 4);
}

START_TEST(append_and_reopen)
{
	struct journal *j;
	ck_assert_int_eq(journal_open(path, &j), 0);
	uint32_t first, last;
	ck_assert(!journal_range(j, &first, &last));
	for (uint32_t s = 1; s <= 5; s++) {
		struct zone_diff d;
		make_diff(&d, s, (int)s);
		ck_assert_int_eq(journal_append(j, s, s + 1, &d), 0);
		zone_diff_free(&d);
	}
	journal_close(j);

	ck_assert_int_eq(journal_open(path, &j), 0);
	ck_assert_uint_eq(j->cut, 0);
	ck_assert(journal_range(j, &first, &last));
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(last, 6);
	size_t start;
	ck_assert_int_eq(journal_find(j, 3, &start), 0);
	ck_assert_uint_eq(start, 2);
	ck_assert_int_eq(journal_find(j, 6, &start), ERR_NOTFOUND);
	for (size_t i = 0; i < 5; i++) {
		struct zone_diff got, want;
		ck_assert_int_eq(journal_read(j, i, &got), 0);
		make_diff(&want, (uint32_t)i + 1, (int)i + 1);
		assert_diff_eq(&got, &want);
		zone_diff_free(&got);
		zone_diff_free(&want);
	}
	/* a reader on another fd sees the same records */
	struct journal *ro;
	ck_assert_int_eq(journal_open_readonly(path, &ro), 0);
	ck_assert_uint_eq(ro->count, 5);
	struct zone_diff rd, rwant;
	ck_assert_int_eq(journal_read(ro, 4, &rd), 0);
	make_diff(&rwant, 5, 5);
	assert_diff_eq(&rd, &rwant);
	zone_diff_free(&rd);
	zone_diff_free(&rwant);
	journal_close(ro);
	char missing[200];
	snprintf(missing, sizeof(missing), "%s.none", path);
	ck_assert_int_eq(journal_open_readonly(missing, &ro), ERR_NOTFOUND);
	/* history must chain */
	struct zone_diff d;
	make_diff(&d, 9, 1);
	ck_assert_int_eq(journal_append(j, 9, 10, &d), ERR_BADSTATE);
	ck_assert_int_eq(journal_reset(j), 0);
	ck_assert(!journal_range(j, &first, &last));
	ck_assert_int_eq(journal_append(j, 9, 10, &d), 0);
	zone_diff_free(&d);
	journal_close(j);
	ck_assert_int_eq(journal_open(path, &j), 0);
	ck_assert(journal_range(j, &first, &last));
	ck_assert_uint_eq(first, 9);
	journal_close(j);
}
END_TEST

/* A crash in the middle of an append leaves a torn record: every cut
 * point is detected at open and the intact records survive. */
START_TEST(torn_tail_is_cut)
{
	struct journal *j;
	ck_assert_int_eq(journal_open(path, &j), 0);
	for (uint32_t s = 1; s <= 3; s++) {
		struct zone_diff d;
		make_diff(&d, s, 4);
		ck_assert_int_eq(journal_append(j, s, s + 1, &d), 0);
		zone_diff_free(&d);
	}
	uint64_t full = j->size;
	uint64_t two = j->entries[2].offset;
	journal_close(j);
	for (uint64_t len = two + 1; len < full; len += 7) {
		ck_assert_int_eq(truncate(path, (off_t)len), 0);
		/* a reader while the tail is being written sees two records */
		struct journal *ro;
		ck_assert_int_eq(journal_open_readonly(path, &ro), 0);
		ck_assert_uint_eq(ro->count, 2);
		journal_close(ro);
		ck_assert_int_eq(journal_open(path, &j), 0);
		ck_assert_uint_eq(j->count, 2);
		ck_assert_uint_eq(j->size, two);
		ck_assert_uint_eq(j->cut, len - two);
		struct zone_diff d;
		make_diff(&d, 3, 4);
		ck_assert_int_eq(journal_append(j, 3, 4, &d), 0);
		zone_diff_free(&d);
		ck_assert_uint_eq(j->size, full);
		journal_close(j);
	}
	/* a flipped bit in the middle record cuts it and what follows */
	int fd = open(path, O_RDWR);
	uint8_t byte;
	ck_assert_int_eq(pread(fd, &byte, 1, (off_t)two - 20), 1);
	byte ^= 0x40;
	ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t)two - 20), 1);
	close(fd);
	ck_assert_int_eq(journal_open(path, &j), 0);
	ck_assert_uint_eq(j->count, 1);
	journal_close(j);
}
END_TEST

START_TEST(trim_oldest)
{
	struct journal *j;
	ck_assert_int_eq(journal_open(path, &j), 0);
	for (uint32_t s = 1; s <= 10; s++) {
		struct zone_diff d;
		make_diff(&d, s, 10);
		ck_assert_int_eq(journal_append(j, s, s + 1, &d), 0);
		zone_diff_free(&d);
	}
	uint64_t one = j->entries[0].length;
	uint64_t limit = j->size - 3 * one;
	ck_assert_int_eq(journal_trim(j, limit), 0);
	ck_assert_uint_le(j->size, limit);
	ck_assert_uint_eq(j->count, 7);
	uint32_t first, last;
	ck_assert(journal_range(j, &first, &last));
	ck_assert_uint_eq(first, 4);
	ck_assert_uint_eq(last, 11);
	struct zone_diff got, want;
	ck_assert_int_eq(journal_read(j, 0, &got), 0);
	make_diff(&want, 4, 10);
	assert_diff_eq(&got, &want);
	zone_diff_free(&got);
	zone_diff_free(&want);
	/* appends go on after a trim, and survive a reopen */
	struct zone_diff d;
	make_diff(&d, 11, 2);
	ck_assert_int_eq(journal_append(j, 11, 12, &d), 0);
	zone_diff_free(&d);
	journal_close(j);
	ck_assert_int_eq(journal_open(path, &j), 0);
	ck_assert_uint_eq(j->count, 8);
	ck_assert_uint_eq(j->cut, 0);
	/* a limit below one record empties the journal */
	ck_assert_int_eq(journal_trim(j, 10), 0);
	ck_assert_uint_eq(j->count, 0);
	journal_close(j);
}
END_TEST

START_TEST(not_a_journal)
{
	FILE *f = fopen(path, "w");
	fputs("this is some other file\n", f);
	fclose(f);
	struct journal *j;
	ck_assert_int_eq(journal_open(path, &j), ERR_MALFORMED);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 24); /* left untouched */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, append_and_reopen);
	tcase_add_test(tc, torn_tail_is_cut);
	tcase_add_test(tc, trim_oldest);
	tcase_add_test(tc, not_a_journal);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
