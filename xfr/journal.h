/*
 * journal.h -- a zone's history of differences on disk (for IXFR).
 *
 * One file per zone: a header, then records, each one difference from
 * serial `from` to serial `to` (RFC 1995 §4 deltas), with a checksum.
 * Records chain: each starts at the serial the previous one ended at.
 * Appends are written and fsync'd before journal_append returns; a record
 * torn by a crash fails its checksum and is cut off when the journal is
 * opened, never served. Trimming rewrites the file atomically (temp file,
 * fsync, rename, fsync of the directory).
 *
 * A journal is used by one thread at a time.
 */
#ifndef TANDEM_XFR_JOURNAL_H
#define TANDEM_XFR_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zonedb/load.h"

struct journal_entry {
	uint32_t from, to;
	uint64_t offset;          /* of the record in the file */
	uint32_t length;          /* of the whole record */
};

struct journal {
	char *path;
	int fd;
	uint64_t size;            /* bytes in the file */
	struct journal_entry *entries;
	size_t count, cap;
	size_t cut;               /* bytes of torn tail cut at open */
};

/* Opens (creating when absent) the journal at path, checking every record
 * and cutting a torn or corrupt tail. Returns 0 or ERR_IO / ERR_NOMEM /
 * ERR_MALFORMED (not a journal file: left untouched). */
int journal_open(const char *path, struct journal **out);

/* Opens a journal read-only, for serving IXFR from another thread while
 * the owner may append or trim: only record headers are read here (the
 * checksum is checked by journal_read), a record still being written at
 * the tail ends the list, and since trimming replaces the file by rename,
 * the open file stays consistent. Returns 0, ERR_NOTFOUND (no file),
 * ERR_IO, ERR_MALFORMED, ERR_NOMEM. */
int journal_open_readonly(const char *path, struct journal **out);

/* Closes and frees. */
void journal_close(struct journal *j);

/* Appends the difference from -> to. When the journal is not empty and
 * `from` is not its last serial, the history is broken: ERR_BADSTATE (call
 * journal_reset first). Returns 0 once the record is on disk. */
int journal_append(struct journal *j, uint32_t from, uint32_t to,
		   const struct zone_diff *diff);

/* Drops every record (the zone's history restarts). */
int journal_reset(struct journal *j);

/* Drops the oldest records until the file is at most max_size bytes
 * (possibly all of them). Returns 0 or ERR_IO. */
int journal_trim(struct journal *j, uint64_t max_size);

/* Serials covered: false when empty. */
bool journal_range(const struct journal *j, uint32_t *first, uint32_t *last);

/* Finds the chain of records from serial `from` to the last one: sets
 * *start to the index of the first record and returns 0, or ERR_NOTFOUND
 * when `from` is not a record's start serial. */
int journal_find(const struct journal *j, uint32_t from, size_t *start);

/* Reads record i into *diff (fresh storage; free with zone_diff_free).
 * Returns 0, ERR_IO, ERR_MALFORMED or ERR_NOMEM. */
int journal_read(const struct journal *j, size_t i, struct zone_diff *diff);

#endif
