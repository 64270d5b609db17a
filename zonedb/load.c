/*
 * load.c -- reading zone files (RFC 1035 §5) through ldns.
 *
 * This file splits the master file into records itself (comments, quotes,
 * parentheses, line numbers, and the $ORIGIN/$TTL/$INCLUDE directives, which
 * ldns's stream reader cannot report back) and hands each record to ldns
 * for the owner, TTL, class, type and rdata. Every error names file:line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "dns/dname.h"
#include "dns/error.h"
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
	ldns_rdf *prev_owner;     /* for records with a blank owner */
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

static int record_put(struct record *r, char c)
{
	if (r->len + 1 >= r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		char *text = realloc(r->text, cap);
		if (text == NULL)
			return ERR_NOMEM;
		r->text = text;
		r->cap = cap;
	}
	r->text[r->len++] = c;
	r->text[r->len] = '\0';
	return 0;
}

struct reader {
	const char *buf;
	size_t len, pos;
	unsigned long line;
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
 * Returns 1 with a record, 0 at the end, or ERR_SYNTAX (message in *err). */
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
			char c = rd->buf[rd->pos++];
			if (c == '\n') {
				rd->line++;
				comment = false;
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
			if (comment)
				continue;
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
		if (quoted) {
			*err = "unterminated quoted text";
			return ERR_SYNTAX;
		}
		if (depth > 0) {
			*err = "'(' without ')'";
			return ERR_SYNTAX;
		}
		if (!blank(r))
			return 1;
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

static ldns_rdf *origin_rdf(const uint8_t *origin)
{
	return ldns_dname_new_frm_data((uint16_t)dname_len(origin), origin);
}

static int load_file(struct load_ctx *ctx, const char *path,
		     const uint8_t *origin, int depth);

static void add_rr(struct load_ctx *ctx, const char *path, unsigned long line,
		   const char *text, const uint8_t *origin)
{
	ldns_rr *rr = NULL;
	ldns_rdf *orig = origin_rdf(origin);
	ldns_status st = ldns_rr_new_frm_str(&rr, text, ctx->default_ttl, orig,
					     &ctx->prev_owner);
	ldns_rdf_deep_free(orig);
	if (st != LDNS_STATUS_OK) {
		load_error(ctx, path, line, "%s", ldns_get_errorstr_by_id(st));
		return;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		char cname[16];
		load_error(ctx, path, line, "class %s not supported (only IN)",
			   rrclass_to_str((uint16_t)ldns_rr_get_class(rr), cname));
		ldns_rr_free(rr);
		return;
	}
	ldns_buffer *buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	if (buf == NULL || ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > 65535) {
		load_error(ctx, path, line, "rdata too long");
	} else {
		const ldns_rdf *owner = ldns_rr_owner(rr);
		int r = zone_builder_add(ctx->builder, ldns_rdf_data(owner),
					 (uint16_t)ldns_rr_get_type(rr),
					 ldns_rr_ttl(rr), ldns_buffer_begin(buf),
					 (uint16_t)ldns_buffer_position(buf),
					 path, line, ctx->log, ctx->arg);
		if (r == ERR_NOMEM)
			load_error(ctx, path, line, "out of memory");
		else if (r != 0)
			ctx->errors++; /* already logged by the builder */
	}
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
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

static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return ERR_IO;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		char *grown = realloc(buf, cap);
		if (grown == NULL) {
			free(buf);
			buf = NULL;
		}
		buf = grown;
	}
	int err = ferror(f);
	fclose(f);
	if (buf == NULL)
		return ERR_NOMEM;
	if (err) {
		free(buf);
		return ERR_IO;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int load_file(struct load_ctx *ctx, const char *path,
		     const uint8_t *origin_in, int depth)
{
	char *buf;
	size_t len;
	int r = read_all(path, &buf, &len);
	if (r != 0)
		return r;
	uint8_t origin[DNAME_MAXLEN];
	memcpy(origin, origin_in, dname_len(origin_in));
	struct reader rd = { .buf = buf, .len = len, .line = 1 };
	struct record rec = { 0 };
	const char *err = NULL;
	while ((r = next_record(&rd, &rec, &err)) > 0) {
		if (rec.text[0] == '$')
			directive(ctx, path, rec.line, rec.text, origin, depth);
		else
			add_rr(ctx, path, rec.line, rec.text, origin);
	}
	if (r == ERR_SYNTAX)
		load_error(ctx, path, rec.line, "%s", err);
	else if (r == ERR_NOMEM)
		load_error(ctx, path, rec.line, "out of memory");
	free(rec.text);
	free(buf);
	return 0;
}

int zone_load_file(const uint8_t *apex, const char *path, zone_log_fn log,
		   void *arg, struct zone_version **out)
{
	struct load_ctx ctx = {
		.log = log, .arg = arg, .default_ttl = DEFAULT_TTL,
	};
	ctx.builder = zone_builder_new(apex);
	if (ctx.builder == NULL)
		return ERR_NOMEM;
	int r = load_file(&ctx, path, apex, 0);
	if (r == ERR_IO && log) {
		char msg[512];
		snprintf(msg, sizeof(msg), "cannot read zone file: %s",
			 strerror(errno));
		log(arg, ZONE_LOG_ERROR, path, 0, msg);
	}
	if (ctx.prev_owner)
		ldns_rdf_deep_free(ctx.prev_owner);
	if (r != 0 || ctx.errors > 0) {
		zone_builder_free(ctx.builder);
		return r != 0 ? r : ERR_SYNTAX;
	}
	return zone_builder_finish(ctx.builder, log, arg, out);
}
