/*
 * fuzz_util.h -- small helpers shared by the libFuzzer targets.
 *
 * Header-only: each target is one .c file and includes what it needs.
 */
#ifndef TANDEM_FUZZ_UTIL_H
#define TANDEM_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "zonedb/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: print why and abort, so that libFuzzer saves the
 * input as a crash like any sanitizer report. */
#define FUZZ_CHECK(cond, ...)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s: ",     \
				__FILE__, __LINE__, #cond);                  \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			abort();                                             \
		}                                                            \
	} while (0)

/* Setup that must work: a failure is a broken harness, not a finding. */
#define FUZZ_SETUP(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: fuzz setup failed: %s\n",    \
				__FILE__, __LINE__, #cond);                  \
			exit(2);                                             \
		}                                                            \
	} while (0)

/* Splits an input into messages as a TCP stream carries them: a 2-octet
 * big-endian length, then that many octets (RFC 1035 §4.2.2). A last
 * length running past the end is cut to what is left. */
struct fuzz_stream {
	const uint8_t *data;
	size_t size, pos;
};

static inline bool fuzz_stream_next(struct fuzz_stream *s, const uint8_t **msg,
				    size_t *len)
{
	if (s->size - s->pos < 2)
		return false;
	size_t n = (size_t)s->data[s->pos] << 8 | s->data[s->pos + 1];
	s->pos += 2;
	if (n > s->size - s->pos)
		n = s->size - s->pos;
	*msg = s->data + s->pos;
	*len = n;
	s->pos += n;
	return true;
}

/* A message copied to the heap at its exact size, so that ASan sees any
 * read one octet past it (libFuzzer's own buffer is exact too, but a
 * message cut out of a stream would otherwise have neighbours). */
static inline uint8_t *fuzz_dup(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	FUZZ_SETUP(copy != NULL);
	if (len)
		memcpy(copy, data, len);
	return copy;
}

/* A name in wire form from presentation form; the harness's own names
 * must parse. */
static inline void fuzz_name(uint8_t out[DNAME_MAXLEN], const char *str)
{
	static const uint8_t root[1] = {0};
	FUZZ_SETUP(dname_from_str(out, str, strlen(str), root) > 0);
}

/* Zone log callback: reads the message (so that a bad one is seen by
 * ASan) and drops it; fuzzing output would drown in it otherwise. */
static inline void fuzz_zone_log(void *arg, enum zone_log_level level,
				 const char *file, unsigned long line,
				 const char *msg)
{
	volatile size_t n = strlen(msg) + (file ? strlen(file) : 0);
	(void)n;
}

/* Loads one of tests/data's zones; the harness needs it to load. */
static inline struct zone_version *fuzz_load_zone(const char *origin,
						  const char *path)
{
	uint8_t apex[DNAME_MAXLEN];
	fuzz_name(apex, origin);
	struct zone_version *v = NULL;
	int r = zone_load_file(apex, path, NULL, NULL, &v);
	if (r != 0)
		fprintf(stderr, "fuzz: cannot load %s: %d\n", path, r);
	FUZZ_SETUP(r == 0 && v != NULL);
	return v;
}

#endif
