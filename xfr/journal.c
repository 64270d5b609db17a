/*
 * journal.c -- a zone's history of differences on disk.
 *
 * File:   "TANDEMJ1" (8 octets), then records.
 * Record: "TDJR", u32 length (whole record), u32 from, u32 to,
 *         u32 removed, u32 added, then each RR (removed first) as
 *         owner (wire), u16 type, u32 ttl, u16 rdlength, rdata,
 *         then a 16-octet BLAKE2b of everything before it.
 * All integers big-endian.
 */
#include "xfr/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "dns/dname.h"
#include "dns/error.h"

static const char FILE_MAGIC[8] = { 'T', 'A', 'N', 'D', 'E', 'M', 'J', '1' };
static const char RECORD_MAGIC[4] = { 'T', 'D', 'J', 'R' };
#define HEADER_LEN 24
#define SUM_LEN 16
#define MAX_RECORD (1u << 30)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int read_full(int fd, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done,
				  (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? ERR_TRUNCATED : ERR_IO;
		done += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done,
				   (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		done += (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return ERR_NOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	free(copy);
	if (fd < 0)
		return ERR_IO;
	int r = fsync(fd);
	close(fd);
	return r == 0 ? 0 : ERR_IO;
}

static int add_entry(struct journal *j, uint32_t from, uint32_t to,
		     uint64_t offset, uint32_t length)
{
	if (j->count == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 16;
		struct journal_entry *grown = realloc(j->entries, cap * sizeof(*grown));
		if (grown == NULL)
			return ERR_NOMEM;
		j->entries = grown;
		j->cap = cap;
	}
	j->entries[j->count++] = (struct journal_entry){ from, to, offset, length };
	return 0;
}

/* Reads and checks the record at offset: header, length, checksum and
 * chaining. Returns 0 with the entry added, or ERR_MALFORMED/ERR_TRUNCATED
 * for a bad or torn record. */
static int scan_record(struct journal *j, uint64_t offset)
{
	uint8_t header[HEADER_LEN];
	int r = read_full(j->fd, header, HEADER_LEN, offset);
	if (r != 0)
		return r;
	uint32_t length = get32(header + 4);
	if (memcmp(header, RECORD_MAGIC, 4) != 0 ||
	    length < HEADER_LEN + SUM_LEN || length > MAX_RECORD ||
	    offset + length > j->size)
		return ERR_MALFORMED;
	uint8_t *buf = malloc(length);
	if (buf == NULL)
		return ERR_NOMEM;
	r = read_full(j->fd, buf, length, offset);
	if (r == 0) {
		uint8_t sum[SUM_LEN];
		crypto_generichash(sum, SUM_LEN, buf, length - SUM_LEN, NULL, 0);
		if (sodium_memcmp(sum, buf + length - SUM_LEN, SUM_LEN) != 0)
			r = ERR_MALFORMED;
	}
	free(buf);
	if (r != 0)
		return r;
	uint32_t from = get32(header + 8), to = get32(header + 12);
	if (j->count > 0 && j->entries[j->count - 1].to != from)
		return ERR_MALFORMED;
	return add_entry(j, from, to, offset, length);
}

int journal_open(const char *path, struct journal **out)
{
	if (sodium_init() < 0)
		return ERR_CRYPTO;
	struct journal *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return ERR_NOMEM;
	j->path = strdup(path);
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (j->path == NULL || j->fd < 0) {
		int r = j->path == NULL ? ERR_NOMEM : ERR_IO;
		journal_close(j);
		return r;
	}
	struct stat st;
	if (fstat(j->fd, &st) != 0) {
		journal_close(j);
		return ERR_IO;
	}
	j->size = (uint64_t)st.st_size;
	if (j->size < sizeof(FILE_MAGIC)) {
		/* New (or torn while being created): start it. */
		if (ftruncate(j->fd, 0) != 0 ||
		    write_full(j->fd, FILE_MAGIC, sizeof(FILE_MAGIC), 0) != 0 ||
		    fsync(j->fd) != 0) {
			journal_close(j);
			return ERR_IO;
		}
		j->size = sizeof(FILE_MAGIC);
		fsync_dir(path);
		*out = j;
		return 0;
	}
	char magic[sizeof(FILE_MAGIC)];
	if (read_full(j->fd, magic, sizeof(magic), 0) != 0 ||
	    memcmp(magic, FILE_MAGIC, sizeof(magic)) != 0) {
		journal_close(j);
		return ERR_MALFORMED;
	}
	uint64_t offset = sizeof(FILE_MAGIC);
	while (offset < j->size) {
		int r = scan_record(j, offset);
		if (r == ERR_NOMEM || r == ERR_IO) {
			journal_close(j);
			return r;
		}
		if (r != 0)
			break; /* torn or corrupt: cut here */
		offset += j->entries[j->count - 1].length;
	}
	if (offset < j->size) {
		j->cut = (size_t)(j->size - offset);
		if (ftruncate(j->fd, (off_t)offset) != 0 || fsync(j->fd) != 0) {
			journal_close(j);
			return ERR_IO;
		}
		j->size = offset;
	}
	*out = j;
	return 0;
}

int journal_open_readonly(const char *path, struct journal **out)
{
	if (sodium_init() < 0)
		return ERR_CRYPTO;
	struct journal *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return ERR_NOMEM;
	j->fd = open(path, O_RDONLY | O_CLOEXEC);
	j->path = strdup(path);
	if (j->fd < 0 || j->path == NULL) {
		int r = j->fd < 0 ? (errno == ENOENT ? ERR_NOTFOUND : ERR_IO)
				  : ERR_NOMEM;
		journal_close(j);
		return r;
	}
	struct stat st;
	char magic[sizeof(FILE_MAGIC)];
	if (fstat(j->fd, &st) != 0 ||
	    read_full(j->fd, magic, sizeof(magic), 0) != 0 ||
	    memcmp(magic, FILE_MAGIC, sizeof(magic)) != 0) {
		journal_close(j);
		return ERR_MALFORMED;
	}
	j->size = (uint64_t)st.st_size;
	uint64_t offset = sizeof(FILE_MAGIC);
	while (offset + HEADER_LEN <= j->size) {
		uint8_t header[HEADER_LEN];
		if (read_full(j->fd, header, HEADER_LEN, offset) != 0)
			break;
		uint32_t length = get32(header + 4);
		uint32_t from = get32(header + 8), to = get32(header + 12);
		if (memcmp(header, RECORD_MAGIC, 4) != 0 ||
		    length < HEADER_LEN + SUM_LEN || offset + length > j->size ||
		    (j->count > 0 && j->entries[j->count - 1].to != from))
			break;
		if (add_entry(j, from, to, offset, length) != 0) {
			journal_close(j);
			return ERR_NOMEM;
		}
		offset += length;
	}
	j->size = offset;
	*out = j;
	return 0;
}

void journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->entries);
	free(j->path);
	free(j);
}

static size_t rr_size(const struct zone_change_rr *rr)
{
	return dname_len(rr->owner) + 2 + 4 + 2 + rr->rdlen;
}

static uint8_t *put_rr(uint8_t *p, const struct zone_change_rr *rr)
{
	size_t olen = dname_len(rr->owner);
	memcpy(p, rr->owner, olen);
	p += olen;
	put16(p, rr->type);
	put32(p + 2, rr->ttl);
	put16(p + 6, rr->rdlen);
	memcpy(p + 8, rr->rdata, rr->rdlen);
	return p + 8 + rr->rdlen;
}

int journal_append(struct journal *j, uint32_t from, uint32_t to,
		   const struct zone_diff *diff)
{
	if (j->count > 0 && j->entries[j->count - 1].to != from)
		return ERR_BADSTATE;
	uint64_t length = HEADER_LEN + SUM_LEN;
	for (size_t i = 0; i < diff->nremoved; i++)
		length += rr_size(&diff->removed[i]);
	for (size_t i = 0; i < diff->nadded; i++)
		length += rr_size(&diff->added[i]);
	if (length > MAX_RECORD)
		return ERR_LIMIT;
	uint8_t *buf = malloc(length);
	if (buf == NULL)
		return ERR_NOMEM;
	memcpy(buf, RECORD_MAGIC, 4);
	put32(buf + 4, (uint32_t)length);
	put32(buf + 8, from);
	put32(buf + 12, to);
	put32(buf + 16, (uint32_t)diff->nremoved);
	put32(buf + 20, (uint32_t)diff->nadded);
	uint8_t *p = buf + HEADER_LEN;
	for (size_t i = 0; i < diff->nremoved; i++)
		p = put_rr(p, &diff->removed[i]);
	for (size_t i = 0; i < diff->nadded; i++)
		p = put_rr(p, &diff->added[i]);
	crypto_generichash(p, SUM_LEN, buf, length - SUM_LEN, NULL, 0);
	int r = write_full(j->fd, buf, length, j->size);
	if (r == 0 && fdatasync(j->fd) != 0)
		r = ERR_IO;
	free(buf);
	if (r != 0) {
		/* Leave no partial record behind. */
		if (ftruncate(j->fd, (off_t)j->size) != 0)
			return ERR_IO;
		return r;
	}
	r = add_entry(j, from, to, j->size, (uint32_t)length);
	j->size += length;
	return r;
}

/* Rewrites the journal keeping records [keep, count). */
static int rewrite(struct journal *j, size_t keep)
{
	size_t plen = strlen(j->path);
	char *tmp = malloc(plen + 8);
	if (tmp == NULL)
		return ERR_NOMEM;
	snprintf(tmp, plen + 8, "%s.tmp", j->path);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		free(tmp);
		return ERR_IO;
	}
	int r = write_full(fd, FILE_MAGIC, sizeof(FILE_MAGIC), 0);
	uint64_t offset = sizeof(FILE_MAGIC);
	uint8_t *buf = NULL;
	for (size_t i = keep; r == 0 && i < j->count; i++) {
		const struct journal_entry *e = &j->entries[i];
		uint8_t *grown = realloc(buf, e->length);
		if (grown == NULL) {
			r = ERR_NOMEM;
			break;
		}
		buf = grown;
		r = read_full(j->fd, buf, e->length, e->offset);
		if (r == 0)
			r = write_full(fd, buf, e->length, offset);
		offset += e->length;
	}
	free(buf);
	if (r == 0 && fsync(fd) != 0)
		r = ERR_IO;
	if (r == 0 && rename(tmp, j->path) != 0)
		r = ERR_IO;
	if (r != 0) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return r; /* the old file is untouched */
	}
	free(tmp);
	fsync_dir(j->path);
	close(j->fd);
	j->fd = fd;
	j->size = offset;
	if (keep > 0 && keep < j->count)
		memmove(j->entries, j->entries + keep,
			(j->count - keep) * sizeof(*j->entries));
	j->count -= keep;
	offset = sizeof(FILE_MAGIC);
	for (size_t i = 0; i < j->count; i++) {
		j->entries[i].offset = offset;
		offset += j->entries[i].length;
	}
	return 0;
}

int journal_reset(struct journal *j)
{
	return rewrite(j, j->count);
}

int journal_trim(struct journal *j, uint64_t max_size)
{
	if (j->size <= max_size)
		return 0;
	uint64_t size = j->size;
	size_t keep = 0;
	while (keep < j->count && size > max_size)
		size -= j->entries[keep++].length;
	return rewrite(j, keep);
}

bool journal_range(const struct journal *j, uint32_t *first, uint32_t *last)
{
	if (j->count == 0)
		return false;
	*first = j->entries[0].from;
	*last = j->entries[j->count - 1].to;
	return true;
}

int journal_find(const struct journal *j, uint32_t from, size_t *start)
{
	/* Serials may wrap, so search rather than bisect. */
	for (size_t i = 0; i < j->count; i++) {
		if (j->entries[i].from == from) {
			*start = i;
			return 0;
		}
	}
	return ERR_NOTFOUND;
}

static int parse_rr(const uint8_t *buf, size_t len, size_t *pos,
		    struct zone_diff *diff, bool add)
{
	int n = dname_check(buf + *pos, len - *pos);
	if (n < 0)
		return ERR_MALFORMED;
	const uint8_t *owner = buf + *pos;
	*pos += (size_t)n;
	if (len - *pos < 8)
		return ERR_MALFORMED;
	uint16_t type = get16(buf + *pos);
	uint32_t ttl = get32(buf + *pos + 2);
	uint16_t rdlen = get16(buf + *pos + 6);
	*pos += 8;
	if (len - *pos < rdlen)
		return ERR_MALFORMED;
	int r = zone_diff_add(diff, add, owner, type, ttl, buf + *pos, rdlen);
	*pos += rdlen;
	return r;
}

int journal_read(const struct journal *j, size_t i, struct zone_diff *diff)
{
	memset(diff, 0, sizeof(*diff));
	if (i >= j->count)
		return ERR_NOTFOUND;
	const struct journal_entry *e = &j->entries[i];
	uint8_t *buf = malloc(e->length);
	if (buf == NULL)
		return ERR_NOMEM;
	int r = read_full(j->fd, buf, e->length, e->offset);
	if (r == 0) {
		/* Checked at open, but the disk may have changed since. */
		uint8_t sum[SUM_LEN];
		crypto_generichash(sum, SUM_LEN, buf, e->length - SUM_LEN, NULL, 0);
		if (sodium_memcmp(sum, buf + e->length - SUM_LEN, SUM_LEN) != 0)
			r = ERR_MALFORMED;
	}
	size_t len = e->length - SUM_LEN, pos = HEADER_LEN;
	uint32_t nremoved = r == 0 ? get32(buf + 16) : 0;
	uint32_t nadded = r == 0 ? get32(buf + 20) : 0;
	for (uint32_t k = 0; r == 0 && k < nremoved; k++)
		r = parse_rr(buf, len, &pos, diff, false);
	for (uint32_t k = 0; r == 0 && k < nadded; k++)
		r = parse_rr(buf, len, &pos, diff, true);
	if (r == 0 && pos != len)
		r = ERR_MALFORMED;
	free(buf);
	if (r != 0)
		zone_diff_free(diff);
	return r;
}
