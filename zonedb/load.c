/*
 * load.c -- reading zone files (RFC 1035 §5) through ldns.
 *
 * This file splits the master file into records itself (comments, quotes,
 * parentheses, line numbers, and the $ORIGIN/$TTL/$INCLUDE directives, which
 * ldns's stream reader cannot report back). Records of the common types
 * whose rdata is plain (A, AAAA, NS, CNAME, PTR, DNAME, MX, SRV, TXT, SOA)
 * are read here straight into wire form; every other record, and any
 * record this reader is not sure of, goes to ldns, which reads it or says
 * what is wrong. Every error names file:line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "zonedb/load.h"
#include "zonedb/node.h"

#define MAX_INCLUDE_DEPTH 10
#define DEFAULT_TTL 3600 /* without $TTL, as NSD does */

struct load_ctx {
	struct zone_builder *builder;
	zone_log_fn log;
	void *arg;
	int errors;
	uint32_t default_ttl;
	bool ldns_only;           /* every record through ldns (tests) */
	bool have_prev;           /* a record was read: blank owners */
	uint8_t prev_owner[DNAME_MAXLEN];
	uint8_t rdata[MSG_RDATA_MAX]; /* the record being read */
	ldns_buffer *wire;        /* ldns's rdata, reused */
};

struct record {
	char *text;
	size_t len, cap;
	unsigned long line;       /* where the record starts */
};

static void load_error(struct load_ctx *ctx, const char *file,
		       unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void load_error(struct load_ctx *ctx, const char *file,
		       unsigned long line, const char *fmt, ...)
{
	ctx->errors++;
	va_list ap;
	va_start(ap, fmt);
	zone_vlogf(ctx->log, ctx->arg, ZONE_LOG_ERROR, file, line, fmt, ap);
	va_end(ap);
}

/* Appends n octets to a record, keeping it NUL-terminated. */
static int record_append(struct record *r, const char *text, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *grown = realloc(r->text, cap);
		if (grown == NULL)
			return ERR_NOMEM;
		r->text = grown;
		r->cap = cap;
	}
	memcpy(r->text + r->len, text, n);
	r->len += n;
	r->text[r->len] = '\0';
	return 0;
}

static int record_put(struct record *r, char c)
{
	return record_append(r, &c, 1);
}

/* The characters next_record() must look at; runs of others are copied
 * whole. */
static const bool special[256] = {
	['\n'] = true, ['\\'] = true, ['"'] = true,
	[';'] = true,  ['('] = true,  [')'] = true,
};

/* A zone file is read in pieces, so that a large one costs no memory
 * beyond a window of its text: the window is refilled whenever less than
 * REFILL_AT octets are left ahead, more than any record can take (a
 * record's rdata is at most 65535 octets, four characters each as \DDD
 * escapes). Not mapped: a file truncated while it is read would crash a
 * mapping with SIGBUS. */
#define WINDOW (2u << 20)
#define REFILL_AT (512u << 10)

struct reader {
	const char *buf;
	size_t len, pos;
	unsigned long line;
	bool more;                /* the file goes on past buf[len] */
};

static bool blank(const struct record *r)
{
	for (size_t i = 0; i < r->len; i++)
		if (r->text[i] != ' ' && r->text[i] != '\t' && r->text[i] != '\r')
			return false;
	return true;
}

/* Reads the next logical record: parentheses join lines, comments and the
 * parentheses themselves are dropped, quoted text and escapes are kept.
 * Returns 1 with a record, 2 for a blank one, 0 at the end, or ERR_SYNTAX
 * (message in *err). */
static int next_record(struct reader *rd, struct record *r, const char **err)
{
	for (;;) {
		r->len = 0;
		if (r->text)
			r->text[0] = '\0';
		if (rd->pos >= rd->len)
			return 0;
		r->line = rd->line;
		int depth = 0;
		bool quoted = false, comment = false;
		while (rd->pos < rd->len) {
			if (comment) {
				const char *nl = memchr(rd->buf + rd->pos, '\n',
							rd->len - rd->pos);
				rd->pos = nl ? (size_t)(nl - rd->buf) : rd->len;
				comment = false;
				continue;
			}
			size_t start = rd->pos;
			while (rd->pos < rd->len &&
			       !special[(uint8_t)rd->buf[rd->pos]])
				rd->pos++;
			if (rd->pos > start &&
			    record_append(r, rd->buf + start, rd->pos - start) != 0)
				return ERR_NOMEM;
			if (rd->pos >= rd->len)
				break;
			char c = rd->buf[rd->pos++];
			if (c == '\n') {
				rd->line++;
				if (quoted) {
					*err = "newline inside quoted text";
					return ERR_SYNTAX;
				}
				if (depth == 0)
					break;
				if (record_put(r, ' ') != 0)
					return ERR_NOMEM;
				continue;
			}
			if (c == '\\') {
				if (record_put(r, c) != 0)
					return ERR_NOMEM;
				if (rd->pos < rd->len) {
					c = rd->buf[rd->pos++];
					if (c == '\n')
						rd->line++;
					if (record_put(r, c) != 0)
						return ERR_NOMEM;
				}
				continue;
			}
			if (c == '"') {
				quoted = !quoted;
			} else if (!quoted && c == ';') {
				comment = true;
				continue;
			} else if (!quoted && c == '(') {
				depth++;
				c = ' ';
			} else if (!quoted && c == ')') {
				if (--depth < 0) {
					*err = "')' without '('";
					return ERR_SYNTAX;
				}
				c = ' ';
			}
			if (record_put(r, c) != 0)
				return ERR_NOMEM;
		}
		if (r->len > REFILL_AT || (rd->pos >= rd->len && rd->more)) {
			*err = "record longer than 512 KB";
			return ERR_SYNTAX;
		}
		if (quoted) {
			*err = "unterminated quoted text";
			return ERR_SYNTAX;
		}
		if (depth > 0) {
			*err = "'(' without ')'";
			return ERR_SYNTAX;
		}
		/* A blank one (comments only) goes back to the caller too,
		 * which refills the window between records. */
		return blank(r) ? 2 : 1;
	}
}

/* Splits off the next whitespace-separated word of s (no quoting needed
 * for directives' arguments). Returns NULL when there is none. */
static char *next_word(char **s)
{
	char *p = *s;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0')
		return NULL;
	char *word = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\r')
		p++;
	if (*p)
		*p++ = '\0';
	*s = p;
	return word;
}

/* ---- records of the common types, without ldns ---- */

/* The next token of a record: a run of characters up to a blank, or a
 * quoted string (quotes included); escapes stay as written. False at the
 * end of the record. */
static bool next_token(const char **s, const char **tok, size_t *len)
{
	const char *p = *s;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0')
		return false;
	const char *start = p;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return false;
			if (*p == '\\' && p[1] != '\0')
				p++;
		}
		p++;
	} else {
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			p++;
		}
	}
	*tok = start;
	*len = (size_t)(p - start);
	*s = p;
	return true;
}

/* A decimal number of at most `max`, digits only. */
static bool token_number(const char *t, size_t len, uint32_t max,
			 uint32_t *out)
{
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(t[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A TTL: seconds, or BIND's units (1h30m, 2W) as ldns reads them. */
static bool token_ttl(const char *t, size_t len, uint32_t *out)
{
	if (token_number(t, len, UINT32_MAX, out))
		return true;
	char buf[32];
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, t, len);
	buf[len] = '\0';
	const char *end = NULL;
	*out = ldns_str2period(buf, &end);
	return end != NULL && *end == '\0';
}

struct rdata_out {
	uint8_t *buf;
	size_t len;
	bool overflow;            /* more than 65535 octets */
};

static bool put_octets(struct rdata_out *o, const void *data, size_t len)
{
	if (o->len + len > MSG_RDATA_MAX) {
		o->overflow = true;
		return false;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return true;
}

static bool put_u16(struct rdata_out *o, uint32_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return put_octets(o, b, 2);
}

static bool put_u32(struct rdata_out *o, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	return put_octets(o, b, 4);
}

static bool rd_name(const char **s, const uint8_t *origin,
		    struct rdata_out *o)
{
	const char *t;
	size_t len;
	uint8_t name[DNAME_MAXLEN];
	if (!next_token(s, &t, &len) || t[0] == '"')
		return false;
	int n = dname_from_str(name, t, len, origin);
	return n > 0 && put_octets(o, name, (size_t)n);
}

static bool rd_number(const char **s, uint32_t max, struct rdata_out *o)
{
	const char *t;
	size_t len;
	uint32_t v;
	if (!next_token(s, &t, &len) || !token_number(t, len, max, &v))
		return false;
	return max == UINT16_MAX ? put_u16(o, v) : put_u32(o, v);
}

static bool rd_address(const char **s, int family, struct rdata_out *o)
{
	const char *t;
	size_t len;
	char buf[64];
	uint8_t addr[16];
	if (!next_token(s, &t, &len) || len >= sizeof(buf))
		return false;
	memcpy(buf, t, len);
	buf[len] = '\0';
	if (inet_pton(family, buf, addr) != 1)
		return false;
	return put_octets(o, addr, family == AF_INET ? 4 : 16);
}

/* One <character-string> (RFC 1035 §5.1): quoted or not, with \X and
 * \DDD escapes; at most 255 octets (longer ones go to ldns). */
static bool rd_string(const char *t, size_t len, struct rdata_out *o)
{
	if (len >= 2 && t[0] == '"' && t[len - 1] == '"') {
		t++;
		len -= 2;
	} else if (memchr(t, '"', len) != NULL) {
		return false;
	}
	uint8_t text[256];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)t[i];
		if (c == '\\') {
			if (i + 1 >= len)
				return false;
			if (t[i + 1] >= '0' && t[i + 1] <= '9') {
				if (i + 3 >= len)
					return false;
				uint32_t v;
				if (!token_number(t + i + 1, 3, 255, &v))
					return false;
				c = (uint8_t)v;
				i += 3;
			} else {
				c = (uint8_t)t[++i];
			}
		}
		if (n == 255)
			return false;
		text[n++] = c;
	}
	uint8_t l = (uint8_t)n;
	return put_octets(o, &l, 1) && put_octets(o, text, n);
}

static bool rd_strings(const char **s, struct rdata_out *o)
{
	const char *t;
	size_t len;
	int count = 0;
	while (next_token(s, &t, &len)) {
		if (!rd_string(t, len, o))
			return false;
		count++;
	}
	return count > 0;
}

/* The rdata of a common type; false when it is not (or not plainly)
 * one this reader knows. */
static bool fast_rdata(uint16_t type, const char **s, const uint8_t *origin,
		       struct rdata_out *o)
{
	switch (type) {
	case RRTYPE_A:
		return rd_address(s, AF_INET, o);
	case RRTYPE_AAAA:
		return rd_address(s, AF_INET6, o);
	case RRTYPE_NS:
	case RRTYPE_CNAME:
	case RRTYPE_PTR:
	case RRTYPE_DNAME:
		return rd_name(s, origin, o);
	case RRTYPE_MX:
		return rd_number(s, UINT16_MAX, o) && rd_name(s, origin, o);
	case RRTYPE_SRV:
		return rd_number(s, UINT16_MAX, o) &&
		       rd_number(s, UINT16_MAX, o) &&
		       rd_number(s, UINT16_MAX, o) && rd_name(s, origin, o);
	case RRTYPE_TXT:
		return rd_strings(s, o);
	case RRTYPE_SOA:
		if (!rd_name(s, origin, o) || !rd_name(s, origin, o))
			return false;
		for (int i = 0; i < 5; i++)
			if (!rd_number(s, UINT32_MAX, o))
				return false;
		return true;
	default:
		return false;
	}
}

/* Reads a record of a common type: owner (blank: the previous one),
 * TTL and class IN in either order, type, rdata. False for anything
 * else, which ldns then reads, except rdata over 65535 octets (*overflow:
 * ldns would cut it short without a word). */
static bool fast_record(struct load_ctx *ctx, const char *text,
			const uint8_t *origin, uint8_t owner[DNAME_MAXLEN],
			uint16_t *type, uint32_t *ttl, size_t *rdlen,
			bool *overflow)
{
	const char *s = text, *t;
	size_t len;
	if (*s == ' ' || *s == '\t') {
		if (!ctx->have_prev)
			return false;
		memcpy(owner, ctx->prev_owner, dname_len(ctx->prev_owner));
	} else {
		if (!next_token(&s, &t, &len) || t[0] == '"' ||
		    dname_from_str(owner, t, len, origin) < 0)
			return false;
	}
	bool have_ttl = false, have_class = false;
	for (;;) {
		if (!next_token(&s, &t, &len))
			return false;
		if (!have_ttl && t[0] >= '0' && t[0] <= '9') {
			if (!token_ttl(t, len, ttl))
				return false;
			have_ttl = true;
		} else if (!have_class && len == 2 &&
			   strncasecmp(t, "IN", 2) == 0) {
			have_class = true;
		} else {
			break;
		}
	}
	char tname[16];
	if (len >= sizeof(tname))
		return false;
	memcpy(tname, t, len);
	tname[len] = '\0';
	if (rrtype_from_str(tname, type) != 0)
		return false;
	if (!have_ttl)
		*ttl = ctx->default_ttl;
	struct rdata_out o = {ctx->rdata, 0, false};
	if (!fast_rdata(*type, &s, origin, &o) || next_token(&s, &t, &len)) {
		*overflow = o.overflow;
		return false;
	}
	*rdlen = o.len;
	return true;
}

static void builder_add(struct load_ctx *ctx, const char *path,
			unsigned long line, const uint8_t *owner,
			uint16_t type, uint32_t ttl, const uint8_t *rdata,
			size_t rdlen)
{
	int r = zone_builder_add(ctx->builder, owner, type, ttl, rdata,
				 (uint16_t)rdlen, path, line, ctx->log,
				 ctx->arg);
	if (r == ERR_NOMEM)
		load_error(ctx, path, line, "out of memory");
	else if (r != 0)
		ctx->errors++; /* already logged by the builder */
	memcpy(ctx->prev_owner, owner, dname_len(owner));
	ctx->have_prev = true;
}

static int load_file(struct load_ctx *ctx, const char *path,
		     const uint8_t *origin, int depth);

/* Any record, through ldns. */
static void ldns_record(struct load_ctx *ctx, const char *path,
			unsigned long line, const char *text,
			const uint8_t *origin)
{
	ldns_rr *rr = NULL;
	ldns_rdf *orig = ldns_dname_new_frm_data((uint16_t)dname_len(origin),
						 origin);
	ldns_rdf *prev = NULL;
	if (ctx->have_prev)
		prev = ldns_dname_new_frm_data(
			(uint16_t)dname_len(ctx->prev_owner), ctx->prev_owner);
	ldns_status st = ldns_rr_new_frm_str(&rr, text, ctx->default_ttl, orig,
					     &prev);
	ldns_rdf_deep_free(orig);
	if (prev != NULL)
		ldns_rdf_deep_free(prev);
	if (st != LDNS_STATUS_OK) {
		load_error(ctx, path, line, "%s", ldns_get_errorstr_by_id(st));
		return;
	}
	/* ldns joins a relative name to the origin without checking the
	 * length (RFC 1035 §2.3.4: 255 octets at most). */
	if (ldns_rdf_size(ldns_rr_owner(rr)) > DNAME_MAXLEN) {
		load_error(ctx, path, line, "owner name longer than 255 octets");
		ldns_rr_free(rr);
		return;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		char cname[16];
		load_error(ctx, path, line, "class %s not supported (only IN)",
			   rrclass_to_str((uint16_t)ldns_rr_get_class(rr), cname));
		ldns_rr_free(rr);
		return;
	}
	if (ctx->wire == NULL)
		ctx->wire = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	ldns_buffer *buf = ctx->wire;
	if (buf != NULL)
		ldns_buffer_clear(buf);
	if (buf == NULL || ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > 65535) {
		load_error(ctx, path, line, "rdata too long");
	} else {
		builder_add(ctx, path, line, ldns_rdf_data(ldns_rr_owner(rr)),
			    (uint16_t)ldns_rr_get_type(rr), ldns_rr_ttl(rr),
			    ldns_buffer_begin(buf), ldns_buffer_position(buf));
	}
	ldns_rr_free(rr);
}

static void add_rr(struct load_ctx *ctx, const char *path, unsigned long line,
		   const char *text, const uint8_t *origin)
{
	uint8_t owner[DNAME_MAXLEN];
	uint16_t type;
	uint32_t ttl;
	size_t rdlen;
	bool overflow = false;
	if (!ctx->ldns_only && fast_record(ctx, text, origin, owner, &type,
					   &ttl, &rdlen, &overflow))
		builder_add(ctx, path, line, owner, type, ttl, ctx->rdata,
			    rdlen);
	else if (overflow)
		load_error(ctx, path, line, "rdata longer than 65535 octets");
	else
		ldns_record(ctx, path, line, text, origin);
}

/* $ORIGIN, $TTL, $INCLUDE (RFC 1035 §5.1, RFC 2308 §4). */
static void directive(struct load_ctx *ctx, const char *path,
		      unsigned long line, char *text, uint8_t *origin,
		      int depth)
{
	char *rest = text;
	char *word = next_word(&rest);
	char *value = next_word(&rest);
	if (strcasecmp(word, "$ORIGIN") == 0) {
		uint8_t name[DNAME_MAXLEN];
		if (value == NULL ||
		    dname_from_str(name, value, strlen(value), origin) < 0) {
			load_error(ctx, path, line, "bad $ORIGIN");
			return;
		}
		memcpy(origin, name, dname_len(name));
	} else if (strcasecmp(word, "$TTL") == 0) {
		const char *end = NULL;
		uint32_t ttl = value ? ldns_str2period(value, &end) : 0;
		if (value == NULL || end == NULL || *end != '\0') {
			load_error(ctx, path, line, "bad $TTL");
			return;
		}
		ctx->default_ttl = ttl;
	} else if (strcasecmp(word, "$INCLUDE") == 0) {
		if (value == NULL) {
			load_error(ctx, path, line, "$INCLUDE without a file");
			return;
		}
		uint8_t inc_origin[DNAME_MAXLEN];
		memcpy(inc_origin, origin, dname_len(origin));
		char *oword = next_word(&rest);
		if (oword && dname_from_str(inc_origin, oword, strlen(oword),
					    origin) < 0) {
			load_error(ctx, path, line, "bad $INCLUDE origin");
			return;
		}
		/* A relative file name is relative to the including file,
		 * as Knot does. */
		char incpath[4096];
		const char *slash = strrchr(path, '/');
		if (value[0] != '/' && slash != NULL)
			snprintf(incpath, sizeof(incpath), "%.*s/%s",
				 (int)(slash - path), path, value);
		else
			snprintf(incpath, sizeof(incpath), "%s", value);
		if (depth >= MAX_INCLUDE_DEPTH) {
			load_error(ctx, path, line, "$INCLUDE nested too deep");
			return;
		}
		int r = load_file(ctx, incpath, inc_origin, depth + 1);
		if (r == ERR_IO)
			load_error(ctx, path, line, "cannot read %s: %s",
				   incpath, strerror(errno));
	} else {
		load_error(ctx, path, line, "unknown directive %s", word);
	}
}


struct zone_text {
	int fd;
	bool eof;
	char *buf;
};

/* Moves what is left ahead to the start of the window and reads more.
 * Returns 0 or ERR_IO. */
static int text_refill(struct zone_text *t, struct reader *rd)
{
	size_t left = rd->len - rd->pos;
	memmove(t->buf, t->buf + rd->pos, left);
	rd->pos = 0;
	rd->len = left;
	while (!t->eof && rd->len < WINDOW) {
		ssize_t n = read(t->fd, t->buf + rd->len, WINDOW - rd->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR_IO;
		if (n == 0)
			t->eof = true;
		rd->len += (size_t)n;
	}
	rd->more = !t->eof;
	return 0;
}

static int load_file(struct load_ctx *ctx, const char *path,
		     const uint8_t *origin_in, int depth)
{
	struct zone_text text = { .fd = open(path, O_RDONLY | O_CLOEXEC) };
	if (text.fd < 0)
		return ERR_IO;
	text.buf = malloc(WINDOW);
	if (text.buf == NULL) {
		close(text.fd);
		return ERR_NOMEM;
	}
	uint8_t origin[DNAME_MAXLEN];
	memcpy(origin, origin_in, dname_len(origin_in));
	struct reader rd = { .buf = text.buf, .len = 0, .line = 1 };
	struct record rec = { 0 };
	const char *err = NULL;
	int r = text_refill(&text, &rd);
	while (r == 0 && (r = next_record(&rd, &rec, &err)) > 0) {
		if (r == 1 && rec.text[0] == '$')
			directive(ctx, path, rec.line, rec.text, origin, depth);
		else if (r == 1)
			add_rr(ctx, path, rec.line, rec.text, origin);
		r = 0;
		if (!text.eof && rd.len - rd.pos < REFILL_AT)
			r = text_refill(&text, &rd);
	}
	if (r == ERR_SYNTAX)
		load_error(ctx, path, rec.line, "%s", err);
	else if (r == ERR_NOMEM)
		load_error(ctx, path, rec.line, "out of memory");
	else if (r == ERR_IO)
		load_error(ctx, path, rd.line, "cannot read: %s", strerror(errno));
	free(rec.text);
	free(text.buf);
	close(text.fd);
	return 0;
}

static int load(const uint8_t *apex, const char *path, bool ldns_only,
		zone_log_fn log, void *arg, struct zone_version **out)
{
	struct load_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL)
		return ERR_NOMEM;
	ctx->log = log;
	ctx->arg = arg;
	ctx->errors = 0;
	ctx->default_ttl = DEFAULT_TTL;
	ctx->ldns_only = ldns_only;
	ctx->have_prev = false;
	ctx->wire = NULL;
	ctx->builder = zone_builder_new(apex);
	if (ctx->builder == NULL) {
		free(ctx);
		return ERR_NOMEM;
	}
	int r = load_file(ctx, path, apex, 0);
	if (r == ERR_IO && log) {
		char msg[512];
		snprintf(msg, sizeof(msg), "cannot read zone file: %s",
			 strerror(errno));
		log(arg, ZONE_LOG_ERROR, path, 0, msg);
	}
	if (ctx->wire != NULL)
		ldns_buffer_free(ctx->wire);
	struct zone_builder *b = ctx->builder;
	int errors = ctx->errors;
	free(ctx);
	if (r != 0 || errors > 0) {
		zone_builder_free(b);
		return r != 0 ? r : ERR_SYNTAX;
	}
	return zone_builder_finish(b, log, arg, out);
}

int zone_load_file(const uint8_t *apex, const char *path, zone_log_fn log,
		   void *arg, struct zone_version **out)
{
	return load(apex, path, false, log, arg, out);
}

int zone_load_file_ldns(const uint8_t *apex, const char *path,
			zone_log_fn log, void *arg,
			struct zone_version **out)
{
	return load(apex, path, true, log, arg, out);
}
