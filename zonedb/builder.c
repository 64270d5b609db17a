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

/* The current owner's new rdata; reset when the owner changes. */
#define SCRATCH_CHUNK (64u * 1024)

/* Where a node was first seen, for messages (zone_node.build_seq - 1). */
struct origin {
	uint32_t file;            /* index in files[] */
	uint32_t line;
};

/*
 * The builder streams: records of one owner are collected in one draft,
 * frozen into the version's tree as soon as the owner changes (zone files
 * keep an owner's records together), and taken back out (thawed) when the
 * owner comes again. So building costs the new version plus one node,
 * not a second copy of the zone, which keeps a reload's peak memory near
 * twice the zone's. Flags and the checks that depend on the place in the
 * tree are done at the end, in one walk in canonical order.
 */
struct zone_builder {
	uint8_t apex[DNAME_MAXLEN];
	int apex_labels;
	struct zone_version *v;   /* being built */
	bool have_draft;          /* draft holds an owner's records */
	struct node_draft draft;
	uint8_t owner[DNAME_MAXLEN]; /* the draft's owner and key */
	uint8_t key[QP_MAXKEY];
	size_t key_len;
	uint32_t seq;             /* the draft's origin + 1 */
	struct zone_node *thawed; /* the node the draft was taken from */
	struct arena_chunk *scratch; /* the draft's new rdata */
	struct origin *origins;
	size_t norigins, origins_cap;
	char **files;             /* file names seen, for origins */
	size_t nfiles;
	int errors;
	int result;               /* ERR_NOMEM met on the way */
};

static const uint8_t *draft_rdata(struct zone_builder *b, const uint8_t *rdata,
				  uint16_t len)
{
	uint8_t *copy = arena_alloc(&b->scratch, len ? len : 1, SCRATCH_CHUNK);
	if (copy != NULL)
		memcpy(copy, rdata, len);
	return copy;
}

/* Empties the scratch arena, keeping its oldest chunk (the list runs
 * newest first). */
static void scratch_reset(struct zone_builder *b)
{
	struct arena_chunk *c = b->scratch;
	if (c == NULL)
		return;
	while (c->next != NULL) {
		struct arena_chunk *older = c->next;
		free(c);
		c = older;
	}
	c->used = 0;
	b->scratch = c;
}

/* The index of a file name in files[], added when new. */
static int file_index(struct zone_builder *b, const char *file, uint32_t *out)
{
	if (file == NULL)
		file = "";
	for (size_t i = b->nfiles; i-- > 0;)
		if (strcmp(b->files[i], file) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	char **grown = realloc(b->files, (b->nfiles + 1) * sizeof(*grown));
	if (grown == NULL)
		return ERR_NOMEM;
	b->files = grown;
	if ((b->files[b->nfiles] = strdup(file)) == NULL)
		return ERR_NOMEM;
	*out = (uint32_t)b->nfiles++;
	return 0;
}

static int new_origin(struct zone_builder *b, const char *file,
		      unsigned long line, uint32_t *seq)
{
	if (b->norigins == b->origins_cap) {
		size_t cap = b->origins_cap ? b->origins_cap * 2 : 1024;
		struct origin *grown = realloc(b->origins, cap * sizeof(*grown));
		if (grown == NULL)
			return ERR_NOMEM;
		b->origins = grown;
		b->origins_cap = cap;
	}
	struct origin *o = &b->origins[b->norigins];
	if (file_index(b, file, &o->file) != 0)
		return ERR_NOMEM;
	o->line = (uint32_t)line;
	*seq = (uint32_t)++b->norigins;
	return 0;
}

/* The file and line where a node was first seen (NULL, 0 for none). */
static const char *origin_of(const struct zone_builder *b, uint32_t seq,
			     unsigned long *line)
{
	if (seq == 0 || seq > b->norigins) {
		*line = 0;
		return NULL;
	}
	const struct origin *o = &b->origins[seq - 1];
	*line = o->line;
	const char *f = b->files[o->file];
	return f[0] ? f : NULL;
}

/* Puts a frozen node into the tree (which takes the reference). */
static int put_node(struct zone_builder *b, struct zone_node *n)
{
	if (n == NULL)
		return ERR_NOMEM;
	if (qp_set(&b->v->tree, n) != 0) {
		node_unref(n);
		return ERR_NOMEM;
	}
	return 0;
}

/* Adds empty non-terminals above a new node up to the first ancestor
 * the tree has; an ancestor's key is a prefix of the node's. */
static int add_ancestors(struct zone_builder *b, const uint8_t *owner,
			 const uint8_t *key, size_t klen, uint32_t seq)
{
	int labels = dname_labels(owner);
	const uint8_t *name = owner;
	while (labels > b->apex_labels) {
		name = dname_parent(name);
		labels--;
		klen--;
		while (klen > 0 && key[klen - 1] != 0)
			klen--;
		if (qp_get(&b->v->tree, key, klen) != NULL)
			return 0;
		struct node_draft ent = {.owner = name, .key = key,
					 .key_len = (uint16_t)klen};
		struct zone_node *n = node_freeze(&ent);
		if (n != NULL)
			n->build_seq = seq;
		int r = put_node(b, n);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Freezes the draft into the tree, replacing the node it was thawed from
 * or adding it (and its missing ancestors). */
static int flush_draft(struct zone_builder *b)
{
	if (!b->have_draft)
		return 0;
	b->have_draft = false;
	b->draft.owner = b->owner;
	b->draft.key = b->key;
	b->draft.key_len = (uint16_t)b->key_len;
	struct zone_node *n = node_freeze(&b->draft);
	if (n != NULL)
		n->build_seq = b->seq;
	int r = put_node(b, n); /* frees the thawed node: after the freeze */
	if (r == 0 && b->thawed == NULL)
		r = add_ancestors(b, b->owner, b->key, b->key_len, b->seq);
	b->thawed = NULL;
	node_draft_clear(&b->draft);
	scratch_reset(b);
	return r;
}

/* Makes the draft the one of `owner` (lowercase): the current one, a node
 * already built (thawed), or a new one. */
static int select_draft(struct zone_builder *b, const uint8_t *owner,
			const char *file, unsigned long line)
{
	if (b->have_draft && dname_equal(b->owner, owner))
		return 0;
	int r = flush_draft(b);
	if (r != 0)
		return r;
	memcpy(b->owner, owner, dname_len(owner));
	b->key_len = node_key(owner, b->key);
	struct zone_node *n = qp_get(&b->v->tree, b->key, b->key_len);
	if (n != NULL) {
		r = node_thaw_into(n, &b->draft);
		if (r != 0)
			return r;
		b->thawed = n;
		b->seq = n->build_seq;
		if (b->seq == 0 && new_origin(b, file, line, &b->seq) != 0)
			return ERR_NOMEM;
	} else {
		b->thawed = NULL;
		if (new_origin(b, file, line, &b->seq) != 0)
			return ERR_NOMEM;
	}
	b->have_draft = true;
	return 0;
}

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
	b->v = calloc(1, sizeof(*b->v));
	if (b->v == NULL) {
		free(b);
		return NULL;
	}
	b->v->refs = 1;
	b->v->apex_len = dname_copy_lower(b->v->apex_name, b->apex);
	b->v->apex_labels = b->apex_labels;
	qp_init(&b->v->tree, &node_qp_ops);
	qp_init(&b->v->nsec3_tree, &node_qp_ops);
	return b;
}

void zone_builder_free(struct zone_builder *b)
{
	if (b == NULL)
		return;
	node_draft_free(&b->draft);
	zone_version_release(b->v);
	arena_free(&b->scratch);
	free(b->origins);
	for (size_t i = 0; i < b->nfiles; i++)
		free(b->files[i]);
	free(b->files);
	free(b);
}

int zone_builder_add(struct zone_builder *b, const uint8_t *owner,
		     uint16_t type, uint32_t ttl, const uint8_t *rdata,
		     uint16_t rdlen, const char *file, unsigned long line,
		     zone_log_fn log, void *arg)
{
	char name[DNAME_STRLEN], tname[16];
	uint8_t lower[DNAME_MAXLEN];
	if (dname_len(owner) > DNAME_MAXLEN) {
		zone_logf(log, arg, ZONE_LOG_ERROR, file, line,
			  "owner name longer than 255 octets");
		b->errors++;
		return ERR_NAMELEN;
	}
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
	int sr = select_draft(b, lower, file, line);
	const uint8_t *copy = sr == 0 ? draft_rdata(b, rdata, rdlen) : NULL;
	if (copy == NULL) {
		b->result = ERR_NOMEM;
		return ERR_NOMEM;
	}
	struct node_draft *d = &b->draft;
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
	if (r != 0) {
		b->result = r;
		return r;
	}
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
	/* Nodes whose flags are not 0, with them: set after the walk. */
	const struct zone_node **flagged;
	uint16_t *flags;
	size_t nflagged, cap;
	int result;
};

static size_t node_count_of(const struct zone_node *n, uint16_t type)
{
	const struct zone_rrset *set = zone_node_rrset(n, type);
	return set ? set->count : 0;
}

/* The owner of a node as text, made the first time a message needs it
 * (most nodes need none). */
static const char *owner_text(char text[DNAME_STRLEN],
			      const struct zone_node *n)
{
	if (text[0] == '\0')
		dname_to_str(text, DNAME_STRLEN, n->owner);
	return text;
}

#define CHECK_ERROR(ctx, n, ...)                                              \
	do {                                                                  \
		unsigned long line_;                                          \
		const char *file_ = origin_of((ctx)->b, (n)->build_seq, &line_); \
		zone_logf((ctx)->log, (ctx)->arg, ZONE_LOG_ERROR, file_, line_, \
			  __VA_ARGS__);                                       \
		(ctx)->errors++;                                              \
	} while (0)

/* Semantic checks on one node (RFC 1034 §3.6.2, RFC 2181 §10.1, RFC 6672
 * §2.4), and its flags from its place in the tree (nodes come in
 * canonical order). */
static uint16_t check_node(struct finish_ctx *ctx, const struct zone_node *n)
{
	char text[DNAME_STRLEN] = ""; /* the owner, for messages */
	bool apex = dname_equal(n->owner, ctx->b->apex);
	uint16_t flags = apex ? NODE_APEX : 0;
	if (dname_is_wildcard(n->owner))
		flags |= NODE_WILDCARD;
	if (dname_labels(n->owner) == ctx->b->apex_labels + 1 &&
	    node_nsec3_only(n))
		flags |= NODE_NSEC3;

	if (!apex && zone_node_rrset(n, RRTYPE_SOA))
		CHECK_ERROR(ctx, n, "%s: SOA record outside the zone apex",
			    owner_text(text, n));
	if (zone_node_rrset(n, RRTYPE_CNAME)) {
		if (node_count_of(n, RRTYPE_CNAME) > 1)
			CHECK_ERROR(ctx, n, "%s: more than one CNAME record",
				    owner_text(text, n));
		for (uint16_t i = 0; i < n->nrrsets; i++) {
			uint16_t t = n->rrsets[i].type;
			if (t != RRTYPE_CNAME && !rrtype_is_dnssec(t)) {
				char tname[16];
				CHECK_ERROR(ctx, n,
					    "%s: CNAME and other data (%s)",
					    owner_text(text, n),
					    rrtype_to_str(t, tname));
				break;
			}
		}
	}
	if (node_count_of(n, RRTYPE_DNAME) > 1)
		CHECK_ERROR(ctx, n, "%s: more than one DNAME record",
			    owner_text(text, n));

	if (ctx->redirect && dname_is_subdomain(n->owner, ctx->redirect)) {
		flags |= ctx->below_flag;
		for (uint16_t i = 0; i < n->nrrsets; i++) {
			uint16_t t = n->rrsets[i].type;
			if (ctx->below_flag == NODE_BELOW_CUT &&
			    (t == RRTYPE_A || t == RRTYPE_AAAA))
				continue;
			char tname[16];
			unsigned long line;
			const char *file = origin_of(ctx->b, n->build_seq, &line);
			zone_logf(ctx->log, ctx->arg, ZONE_LOG_WARNING, file,
				  line, "%s %s: occluded by the %s above; kept "
				  "but never answered", owner_text(text, n),
				  rrtype_to_str(t, tname),
				  ctx->below_flag == NODE_BELOW_CUT ? "delegation"
								    : "DNAME");
			break;
		}
		return flags;
	}
	ctx->redirect = NULL;
	if (!apex && zone_node_rrset(n, RRTYPE_NS)) {
		flags |= NODE_CUT;
		ctx->redirect = n->owner;
		ctx->below_flag = NODE_BELOW_CUT;
	} else if (zone_node_rrset(n, RRTYPE_DNAME)) {
		flags |= NODE_DNAME;
		ctx->redirect = n->owner;
		ctx->below_flag = NODE_BELOW_DNAME;
	}
	return flags;
}

static int finish_node(const struct zone_node *n, void *arg)
{
	struct finish_ctx *ctx = arg;
	uint16_t flags = check_node(ctx, n);
	ctx->v->node_count++;
	for (uint16_t i = 0; i < n->nrrsets; i++)
		ctx->v->rr_count += n->rrsets[i].count;
	if (flags == n->flags)
		return 0;
	if (ctx->nflagged == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 256;
		const struct zone_node **nodes =
			realloc(ctx->flagged, cap * sizeof(*nodes));
		if (nodes == NULL)
			return ctx->result = ERR_NOMEM;
		ctx->flagged = nodes;
		uint16_t *f = realloc(ctx->flags, cap * sizeof(*f));
		if (f == NULL)
			return ctx->result = ERR_NOMEM;
		ctx->flags = f;
		ctx->cap = cap;
	}
	ctx->flagged[ctx->nflagged] = n;
	ctx->flags[ctx->nflagged++] = flags;
	return 0;
}

/* Gives the nodes found by the walk their flags (copies: nodes are
 * immutable), and indexes the NSEC3 owners. */
static int set_flags(struct finish_ctx *ctx)
{
	struct zone_version *v = ctx->v;
	for (size_t i = 0; i < ctx->nflagged; i++) {
		struct zone_node *copy =
			node_with_flags(ctx->flagged[i], ctx->flags[i]);
		if (copy == NULL)
			return ERR_NOMEM;
		copy->build_seq = 0;
		if (copy->flags & NODE_NSEC3) {
			node_ref(copy);
			if (qp_set(&v->nsec3_tree, copy) != 0) {
				node_unref(copy);
				node_unref(copy);
				return ERR_NOMEM;
			}
		}
		if (qp_set(&v->tree, copy) != 0) {
			node_unref(copy);
			return ERR_NOMEM;
		}
	}
	return 0;
}

int zone_builder_finish(struct zone_builder *b, zone_log_fn log, void *arg,
			struct zone_version **out)
{
	int result = 0;
	char apex_str[DNAME_STRLEN];
	dname_to_str(apex_str, sizeof(apex_str), b->apex);
	struct zone_version *v = b->v;
	struct finish_ctx ctx = { .b = b, .v = v, .log = log, .arg = arg };
	if (b->result != 0) {
		result = b->result;
		goto fail;
	}
	if (b->errors > 0) {
		result = ERR_SEMANTIC;
		goto fail;
	}
	result = flush_draft(b);
	if (result != 0)
		goto fail;
	zone_walk(v, finish_node, &ctx);
	if (ctx.result == 0)
		ctx.result = set_flags(&ctx);
	if (ctx.result != 0) {
		result = ctx.result;
		goto fail;
	}
	v->apex = zone_get(v, v->apex_name);
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
	b->v = NULL;
	free(ctx.flagged);
	free(ctx.flags);
	zone_builder_free(b);
	*out = v;
	return 0;
fail:
	free(ctx.flagged);
	free(ctx.flags);
	zone_builder_free(b);
	return result;
}
