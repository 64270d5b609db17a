/*
 * builder.c -- building a zone version from RRs, with the semantic checks
 * NSD and Knot make.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"
#include "zonedb/arena.h"
#include "zonedb/load.h"
#include "zonedb/node.h"

#define ARENA_CHUNK (1u << 20)

struct zone_builder {
	uint8_t apex[DNAME_MAXLEN];
	int apex_labels;
	struct qp_trie drafts;    /* lowercase owner -> struct node_draft */
	struct arena_chunk *arena; /* owner names, rdata, file names */
	struct node_draft *last;  /* the draft of the last RR added */
	const char *file_in;      /* last file name passed in */
	const char *file_copy;    /* ... and its copy in the arena */
	int errors;
};

static void *builder_alloc(struct zone_builder *b, size_t size)
{
	return arena_alloc(&b->arena, size, ARENA_CHUNK);
}

static const uint8_t *draft_key(const void *leaf, uint8_t buf[QP_MAXKEY],
				size_t *len)
{
	const struct node_draft *d = leaf;
	(void)buf;
	*len = d->key_len;
	return d->key;
}

static void draft_ref(void *leaf)
{
	(void)leaf;
}

static void draft_unref(void *leaf)
{
	node_draft_free(leaf);
	free(leaf);
}

static const struct qp_ops draft_ops = {
	.key = draft_key, .ref = draft_ref, .unref = draft_unref,
};

void zone_vlogf(zone_log_fn log, void *arg, enum zone_log_level level,
		const char *file, unsigned long line, const char *fmt,
		va_list ap)
{
	if (log == NULL)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log(arg, level, file, line, msg);
}

void zone_logf(zone_log_fn log, void *arg, enum zone_log_level level,
	       const char *file, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	zone_vlogf(log, arg, level, file, line, fmt, ap);
	va_end(ap);
}

struct zone_builder *zone_builder_new(const uint8_t *apex)
{
	struct zone_builder *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	dname_copy_lower(b->apex, apex);
	b->apex_labels = dname_labels(b->apex);
	qp_init(&b->drafts, &draft_ops);
	return b;
}

void zone_builder_free(struct zone_builder *b)
{
	if (b == NULL)
		return;
	qp_clear(&b->drafts);
	arena_free(&b->arena);
	free(b);
}

/* The draft for a lowercase owner in the zone whose trie key is key[0,
 * klen), created with every missing ancestor (empty non-terminals) when
 * absent. NULL on ENOMEM. */
static struct node_draft *find_draft(struct zone_builder *b,
				     const uint8_t *owner, const uint8_t *key,
				     size_t klen, const char *file,
				     unsigned long line)
{
	struct node_draft *d = qp_get(&b->drafts, key, klen);
	if (d != NULL)
		return d;
	size_t olen = dname_len(owner);
	uint8_t *copy = builder_alloc(b, olen + klen);
	d = calloc(1, sizeof(*d));
	if (copy == NULL || d == NULL) {
		free(d);
		return NULL;
	}
	memcpy(copy, owner, olen);
	memcpy(copy + olen, key, klen);
	d->owner = copy;
	d->key = copy + olen;
	d->key_len = (uint16_t)klen;
	d->file = file;
	d->line = line;
	if (qp_set(&b->drafts, d) != 0) {
		free(d);
		return NULL;
	}
	/* The parent's key is this key without its last label. */
	if (dname_labels(owner) > b->apex_labels) {
		size_t plen = klen - 1;
		while (plen > 0 && key[plen - 1] != 0)
			plen--;
		if (find_draft(b, dname_parent(copy), key, plen, file,
			       line) == NULL)
			return NULL;
	}
	return d;
}

static struct node_draft *get_draft(struct zone_builder *b,
				    const uint8_t *owner, const char *file,
				    unsigned long line)
{
	/* Zone files keep an owner's records together. */
	if (b->last != NULL && dname_equal(b->last->owner, owner))
		return b->last;
	uint8_t key[QP_MAXKEY];
	size_t klen = node_key(owner, key);
	return find_draft(b, owner, key, klen, file, line);
}

int zone_builder_add(struct zone_builder *b, const uint8_t *owner,
		     uint16_t type, uint32_t ttl, const uint8_t *rdata,
		     uint16_t rdlen, const char *file, unsigned long line,
		     zone_log_fn log, void *arg)
{
	char name[DNAME_STRLEN], tname[16];
	uint8_t lower[DNAME_MAXLEN];
	dname_copy_lower(lower, owner);
	if (!dname_is_subdomain(lower, b->apex)) {
		dname_to_str(name, sizeof(name), owner);
		zone_logf(log, arg, ZONE_LOG_ERROR, file, line,
		      "out of zone data: %s", name);
		b->errors++;
		return ERR_OUTOFZONE;
	}
	if (rrtype_is_meta(type)) {
		dname_to_str(name, sizeof(name), owner);
		zone_logf(log, arg, ZONE_LOG_ERROR, file, line,
		      "%s: type %s cannot be zone data", name,
		      rrtype_to_str(type, tname));
		b->errors++;
		return ERR_SEMANTIC;
	}
	if (rdata_check(type, rdata, rdlen) != 0) {
		dname_to_str(name, sizeof(name), owner);
		zone_logf(log, arg, ZONE_LOG_ERROR, file, line,
		      "%s %s: malformed rdata", name,
		      rrtype_to_str(type, tname));
		b->errors++;
		return ERR_MALFORMED;
	}
	if (file != NULL && (b->file_in == NULL || strcmp(file, b->file_in) != 0)) {
		size_t flen = strlen(file) + 1;
		char *fcopy = builder_alloc(b, flen);
		if (fcopy == NULL)
			return ERR_NOMEM;
		memcpy(fcopy, file, flen);
		b->file_in = b->file_copy = fcopy;
	}
	struct node_draft *d = get_draft(b, lower, file ? b->file_copy : NULL, line);
	b->last = d;
	uint8_t *copy = builder_alloc(b, rdlen ? rdlen : 1);
	if (d == NULL || copy == NULL)
		return ERR_NOMEM;
	memcpy(copy, rdata, rdlen);
	bool mismatch;
	int r = node_draft_add(d, type, ttl, copy, rdlen, &mismatch);
	if (r == ERR_LIMIT) {
		dname_to_str(name, sizeof(name), owner);
		zone_logf(log, arg, ZONE_LOG_ERROR, file, line,
		      "%s %s: too many RRs in one RRset", name,
		      rrtype_to_str(type, tname));
		b->errors++;
		return r;
	}
	if (r != 0)
		return r;
	if (mismatch) {
		dname_to_str(name, sizeof(name), owner);
		struct node_set_draft *set = node_draft_find(
			d, type,
			type == RRTYPE_RRSIG ? node_rrsig_covered(rdata, rdlen) : 0);
		zone_logf(log, arg, ZONE_LOG_WARNING, file, line,
		      "%s %s: TTL %u differs from the RRset's TTL %u; using %u",
		      name, rrtype_to_str(type, tname), ttl, set->ttl,
		      set->ttl);
	}
	return 0;
}

struct finish_ctx {
	struct zone_builder *b;
	struct zone_version *v;
	zone_log_fn log;
	void *arg;
	/* The topmost cut or DNAME whose subtree we are in, if any. */
	const uint8_t *redirect;
	uint16_t below_flag;
	int errors;
	int result;
};

static bool draft_has(struct node_draft *d, uint16_t type)
{
	for (size_t i = 0; i < d->nsets; i++)
		if (d->sets[i].type == type && d->sets[i].count > 0)
			return true;
	return false;
}

static size_t draft_count(struct node_draft *d, uint16_t type)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nsets; i++)
		if (d->sets[i].type == type)
			n += d->sets[i].count;
	return n;
}

#define CHECK_ERROR(ctx, d, ...)                                              \
	do {                                                                  \
		zone_logf((ctx)->log, (ctx)->arg, ZONE_LOG_ERROR, (d)->file,      \
		      (d)->line, __VA_ARGS__);                                \
		(ctx)->errors++;                                              \
	} while (0)

/* The owner of a draft as text, made the first time a message needs it
 * (most nodes need none). */
static const char *owner_text(char text[DNAME_STRLEN],
			      const struct node_draft *d)
{
	if (text[0] == '\0')
		dname_to_str(text, DNAME_STRLEN, d->owner);
	return text;
}

/* Semantic checks on one node (RFC 1034 §3.6.2, RFC 2181 §10.1, RFC 6672
 * §2.4), and its flags from its place in the tree. */
static uint16_t check_node(struct finish_ctx *ctx, struct node_draft *d)
{
	char text[DNAME_STRLEN] = ""; /* the owner, for messages */
	bool apex = dname_equal(d->owner, ctx->b->apex);
	uint16_t flags = apex ? NODE_APEX : 0;
	if (dname_is_wildcard(d->owner))
		flags |= NODE_WILDCARD;
	if (dname_labels(d->owner) == ctx->b->apex_labels + 1 &&
	    node_draft_nsec3_only(d))
		flags |= NODE_NSEC3;

	if (!apex && draft_has(d, RRTYPE_SOA))
		CHECK_ERROR(ctx, d, "%s: SOA record outside the zone apex",
			    owner_text(text, d));
	if (draft_has(d, RRTYPE_CNAME)) {
		if (draft_count(d, RRTYPE_CNAME) > 1)
			CHECK_ERROR(ctx, d, "%s: more than one CNAME record",
				    owner_text(text, d));
		for (size_t i = 0; i < d->nsets; i++) {
			uint16_t t = d->sets[i].type;
			if (t != RRTYPE_CNAME && !rrtype_is_dnssec(t) &&
			    d->sets[i].count > 0) {
				char tname[16];
				CHECK_ERROR(ctx, d,
					    "%s: CNAME and other data (%s)",
					    owner_text(text, d), rrtype_to_str(t, tname));
				break;
			}
		}
	}
	if (draft_count(d, RRTYPE_DNAME) > 1)
		CHECK_ERROR(ctx, d, "%s: more than one DNAME record",
			    owner_text(text, d));

	if (ctx->redirect && dname_is_subdomain(d->owner, ctx->redirect)) {
		flags |= ctx->below_flag;
		for (size_t i = 0; i < d->nsets; i++) {
			uint16_t t = d->sets[i].type;
			if (ctx->below_flag == NODE_BELOW_CUT &&
			    (t == RRTYPE_A || t == RRTYPE_AAAA))
				continue;
			char tname[16];
			zone_logf(ctx->log, ctx->arg, ZONE_LOG_WARNING, d->file,
			      d->line, "%s %s: occluded by the %s above; kept "
			      "but never answered", owner_text(text, d),
			      rrtype_to_str(t, tname),
			      ctx->below_flag == NODE_BELOW_CUT ? "delegation"
								: "DNAME");
			break;
		}
		return flags;
	}
	ctx->redirect = NULL;
	if (!apex && draft_has(d, RRTYPE_NS)) {
		flags |= NODE_CUT;
		ctx->redirect = d->owner;
		ctx->below_flag = NODE_BELOW_CUT;
	} else if (draft_has(d, RRTYPE_DNAME)) {
		flags |= NODE_DNAME;
		ctx->redirect = d->owner;
		ctx->below_flag = NODE_BELOW_DNAME;
	}
	return flags;
}

static int finish_node(void *leaf, void *arg)
{
	struct finish_ctx *ctx = arg;
	struct node_draft *d = leaf;
	d->flags = check_node(ctx, d);
	struct zone_node *n = node_freeze(d);
	if (n == NULL || qp_set(&ctx->v->tree, n) != 0) {
		if (n)
			node_unref(n);
		ctx->result = ERR_NOMEM;
		return ERR_NOMEM;
	}
	if (n->flags & NODE_NSEC3) {
		node_ref(n);
		if (qp_set(&ctx->v->nsec3_tree, n) != 0) {
			node_unref(n);
			ctx->result = ERR_NOMEM;
			return ERR_NOMEM;
		}
	}
	ctx->v->node_count++;
	for (uint16_t i = 0; i < n->nrrsets; i++)
		ctx->v->rr_count += n->rrsets[i].count;
	if (n->flags & NODE_APEX)
		ctx->v->apex = n;
	return 0;
}

int zone_builder_finish(struct zone_builder *b, zone_log_fn log, void *arg,
			struct zone_version **out)
{
	int result = 0;
	struct zone_version *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		zone_builder_free(b);
		return ERR_NOMEM;
	}
	v->refs = 1;
	v->apex_len = dname_copy_lower(v->apex_name, b->apex);
	v->apex_labels = b->apex_labels;
	qp_init(&v->tree, &node_qp_ops);
	qp_init(&v->nsec3_tree, &node_qp_ops);

	char apex_str[DNAME_STRLEN];
	dname_to_str(apex_str, sizeof(apex_str), b->apex);
	struct finish_ctx ctx = { .b = b, .v = v, .log = log, .arg = arg };
	if (b->errors > 0) {
		result = ERR_SEMANTIC;
		goto fail;
	}
	qp_walk_prefix(&b->drafts, NULL, 0, finish_node, &ctx);
	if (ctx.result != 0) {
		result = ctx.result;
		goto fail;
	}
	const struct zone_rrset *soa = v->apex ? zone_node_rrset(v->apex, RRTYPE_SOA) : NULL;
	if (soa == NULL) {
		zone_logf(log, arg, ZONE_LOG_ERROR, NULL, 0,
		      "%s: no SOA record at the zone apex", apex_str);
		result = ERR_NOSOA;
		goto fail;
	}
	if (soa->count != 1) {
		zone_logf(log, arg, ZONE_LOG_ERROR, NULL, 0,
		      "%s: %u SOA records at the apex; exactly one is allowed",
		      apex_str, soa->count);
		ctx.errors++;
	}
	if (zone_node_rrset(v->apex, RRTYPE_NS) == NULL) {
		zone_logf(log, arg, ZONE_LOG_ERROR, NULL, 0,
		      "%s: no NS records at the zone apex", apex_str);
		ctx.errors++;
	}
	if (ctx.errors > 0) {
		result = ERR_SEMANTIC;
		goto fail;
	}
	v->serial = rdata_soa_field(soa->rdata + 2, SOA_SERIAL);
	zone_version_index(v);
	zone_builder_free(b);
	*out = v;
	return 0;
fail:
	zone_builder_free(b);
	zone_version_release(v);
	return result;
}
