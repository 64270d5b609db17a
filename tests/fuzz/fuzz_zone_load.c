/*
 * fuzz_zone_load.c -- the zone-file loader (zone_load_file) on any text.
 *
 * The input is a zone file for example.com., unless its first line is
 * ";apex NAME", which names another apex (a comment to the loader). It is
 * written to a private directory that also holds "inc", a small file for
 * $INCLUDE. Invariant, besides the sanitizers: a zone that loads is
 * dumped (zone_dump) and the dump loads back to the same zone, as load.h
 * promises.
 *
 * Two kinds of input are skipped, as harness artifacts rather than
 * loader bugs: $INCLUDE with a '/' anywhere in the input (it could name
 * /dev/zero or any file of the machine), and more than one $INCLUDE (a
 * file including itself twice is read 2^10 times at the depth limit of
 * 10: an operator's mistake, not something an attacker sends).
 */
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include "dns/error.h"
#include "tests/fuzz/fuzz_util.h"
#include "zonedb/load.h"
#include "zonedb/zone.h"

static char dir[] = "/tmp/tandem-fuzz-zone-XXXXXX";
static char zone_path[64], dump_path[64], inc_path[64];

static const char inc_text[] = "; included by $INCLUDE inc\n"
			       "inc-a 300 IN A 192.0.2.77\n"
			       "inc-txt TXT \"from inc\" ( \"two\" )\n";

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_SETUP(fd >= 0);
	FUZZ_SETUP(len == 0 || write(fd, data, len) == (ssize_t)len);
	close(fd);
}

/* At exit (the end of a run, not a crash): the private directory goes. */
static void remove_dir(void)
{
	unlink(zone_path);
	unlink(dump_path);
	unlink(inc_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_SETUP(mkdtemp(dir) != NULL);
	snprintf(zone_path, sizeof(zone_path), "%s/zone", dir);
	snprintf(dump_path, sizeof(dump_path), "%s/dump", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/inc", dir);
	write_file(inc_path, inc_text, strlen(inc_text));
	atexit(remove_dir);
	return 0;
}

static void print_log(void *arg, enum zone_log_level level, const char *file,
		      unsigned long line, const char *msg)
{
	fprintf(stderr, "%s:%lu: %s\n", file ? file : "-", line, msg);
}

/* Occurrences of $INCLUDE, any case. */
static size_t count_includes(const uint8_t *data, size_t size)
{
	static const char word[] = "$include";
	size_t n = 0, wl = sizeof(word) - 1;
	for (size_t i = 0; i + wl <= size; i++)
		if (data[i] == '$' && strncasecmp((const char *)data + i, word,
						  wl) == 0)
			n++;
	return n;
}

/* The apex from a first line ";apex NAME", else example.com. */
static void pick_apex(const uint8_t *data, size_t size,
		      uint8_t apex[DNAME_MAXLEN])
{
	static const uint8_t root[1] = {0};
	if (size > 6 && memcmp(data, ";apex ", 6) == 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t end = nl ? (size_t)(nl - data) : size;
		if (dname_from_str(apex, (const char *)data + 6, end - 6,
				   root) > 0)
			return;
	}
	fuzz_name(apex, "example.com.");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t includes = count_includes(data, size);
	if (includes > 1 || (includes == 1 && memchr(data, '/', size)))
		return -1; /* not kept in the corpus */

	uint8_t apex[DNAME_MAXLEN];
	pick_apex(data, size, apex);
	write_file(zone_path, data, size);
	struct zone_version *v = NULL;
	int r = zone_load_file(apex, zone_path, fuzz_zone_log, NULL, &v);
	if (r != 0) {
		FUZZ_CHECK(v == NULL, "a version returned with error %d", r);
		return 0;
	}
	FUZZ_CHECK(v != NULL, "no version and no error");

	/* The dump reads back to the same zone. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	FUZZ_SETUP(f != NULL);
	r = zone_dump(v, f);
	FUZZ_SETUP(fclose(f) == 0);
	FUZZ_CHECK(r == 0, "zone_dump: %d", r);
	write_file(dump_path, text, len);
	struct zone_version *again = NULL;
	r = zone_load_file(apex, dump_path, fuzz_zone_log, NULL, &again);
	if (r != 0) {
		fprintf(stderr, "--- dump that does not load ---\n%s---\n", text);
		/* Again, with the errors shown. */
		zone_load_file(apex, dump_path, print_log, NULL, &again);
	}
	FUZZ_CHECK(r == 0, "the dump does not load back: %d", r);
	struct zone_diff d;
	FUZZ_SETUP(zone_diff_compute(v, again, &d) == 0);
	FUZZ_CHECK(d.nremoved == 0 && d.nadded == 0 &&
		       v->serial == again->serial &&
		       v->rr_count == again->rr_count,
		   "the dump loads back different: %zu removed, %zu added, "
		   "%zu vs %zu RRs",
		   d.nremoved, d.nadded, v->rr_count, again->rr_count);
	zone_diff_free(&d);
	zone_version_release(again);
	zone_version_release(v);
	free(text);
	return 0;
}
