/*
 * dump.c -- writing a zone version as a zone file.
 *
 * ldns prints each rdata field, so every type it knows comes out in its
 * standard presentation form and every other type in RFC 3597 generic
 * form, both of which zone_load_file() reads back to the same wire data.
 * Names are printed here, with every character a zone file gives a
 * meaning escaped (ldns leaves '"' and a leading '$' bare), and so are
 * RRSIG times (ldns prints those past 2094 as 1960s dates).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rrtype.h"
#include "zonedb/load.h"

struct dump_ctx {
	FILE *out;
	uint8_t wire[2 + 65535];
};

/* One rdata field, after a space. */
static int dump_field(FILE *out, const ldns_rdf *rdf)
{
	char text[DNAME_STRLEN];
	if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME) {
		dname_to_str(text, sizeof(text), ldns_rdf_data(rdf));
		return fprintf(out, " %s", text) < 0 ? ERR_IO : 0;
	}
	if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_TIME &&
	    ldns_rdf_size(rdf) == 4) {
		/* Seconds since 1970 as an unsigned number, up to 2106 (RFC
		 * 4034 §3.2), so that any time reads back the same. */
		const uint8_t *d = ldns_rdf_data(rdf);
		time_t t = (time_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
				    (uint32_t)d[2] << 8 | d[3]);
		struct tm tm;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(text, sizeof(text), "%Y%m%d%H%M%S", &tm) == 0)
			return ERR_MALFORMED;
		return fprintf(out, " %s", text) < 0 ? ERR_IO : 0;
	}
	char *s = ldns_rdf2str(rdf);
	if (s == NULL)
		return ERR_NOMEM;
	int r = fprintf(out, " %s", s) < 0 ? ERR_IO : 0;
	free(s);
	return r;
}

/* A wire name inside rdata, checked to end within it; its length or 0. */
static size_t rdata_name(char *text, const uint8_t *p, size_t left)
{
	int n = dname_check(p, left);
	if (n < 0 || dname_to_str(text, DNAME_STRLEN, p) < 0)
		return 0;
	return (size_t)n;
}

/* A <character-string> in quotes, escaping what a zone file would read
 * otherwise (RFC 1035 §5.1). */
static void put_string(FILE *out, const uint8_t *s, size_t len)
{
	fputs(" \"", out);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (c < 0x20 || c > 0x7e)
			fprintf(out, "\\%03u", c);
		else if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* The rdata of the commonest types, written here (ldns allocates for
 * every field: a large zone's dump took several times longer). False
 * for anything else, or rdata that does not parse. */
static bool fast_rdata(FILE *out, uint16_t type, const uint8_t *rd,
		       size_t len)
{
	char a[DNAME_STRLEN], b[DNAME_STRLEN];
	size_t n, m;
	switch (type) {
	case RRTYPE_A:
		if (len != 4 || !inet_ntop(AF_INET, rd, a, sizeof(a)))
			return false;
		fprintf(out, " %s", a);
		return true;
	case RRTYPE_AAAA:
		if (len != 16 || !inet_ntop(AF_INET6, rd, a, sizeof(a)))
			return false;
		fprintf(out, " %s", a);
		return true;
	case RRTYPE_NS:
	case RRTYPE_CNAME:
	case RRTYPE_PTR:
	case RRTYPE_DNAME:
		if ((n = rdata_name(a, rd, len)) == 0 || n != len)
			return false;
		fprintf(out, " %s", a);
		return true;
	case RRTYPE_MX:
		if (len < 3 || (n = rdata_name(a, rd + 2, len - 2)) == 0 ||
		    n != len - 2)
			return false;
		fprintf(out, " %u %s", (unsigned)(rd[0] << 8 | rd[1]), a);
		return true;
	case RRTYPE_SOA:
		if ((n = rdata_name(a, rd, len)) == 0 ||
		    (m = rdata_name(b, rd + n, len - n)) == 0 ||
		    n + m + 20 != len)
			return false;
		fprintf(out, " %s %s", a, b);
		for (size_t i = n + m; i < len; i += 4)
			fprintf(out, " %u", (unsigned)((uint32_t)rd[i] << 24 |
						       (uint32_t)rd[i + 1] << 16 |
						       (uint32_t)rd[i + 2] << 8 |
						       rd[i + 3]));
		return true;
	case RRTYPE_TXT:
		if (len == 0)
			return false;
		for (size_t i = 0; i < len; i += 1u + rd[i])
			if (i + 1u + rd[i] > len)
				return false;
		for (size_t i = 0; i < len; i += 1u + rd[i])
			put_string(out, rd + i + 1, rd[i]);
		return true;
	default:
		return false;
	}
}

/* Whether ldns prints every field so that it reads back the same: it
 * leaves SVCB/HTTPS parameter values bare, and a '(' or ';' in one is
 * then read as a parenthesis or a comment (found by the fuzzer). */
static bool fields_print_safely(const ldns_rr *rr)
{
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
		if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_SVCPARAMS)
			continue;
		char *s = ldns_rdf2str(rdf);
		bool safe = s != NULL && strpbrk(s, "();\"\\") == NULL;
		free(s);
		if (!safe)
			return false;
	}
	return true;
}

static int dump_rr(struct dump_ctx *ctx, const uint8_t *owner,
		   uint16_t type, uint32_t ttl, const uint8_t *rdata,
		   uint16_t len)
{
	char name[DNAME_STRLEN], tname[16];
	dname_to_str(name, sizeof(name), owner);
	char *type_text = ldns_rr_type2str((ldns_rr_type)type);
	int r = fprintf(ctx->out, "%s\t%u\tIN\t%s", name, ttl,
			type_text ? type_text : rrtype_to_str(type, tname)) < 0
			? ERR_IO : 0;
	free(type_text);
	if (r != 0)
		return r;
	if (fast_rdata(ctx->out, type, rdata, len))
		return fputc('\n', ctx->out) == EOF ? ERR_IO : 0;
	if (len == 0) /* RFC 3597 §5: empty rdata is written "\# 0" */
		return fputs(" \\# 0\n", ctx->out) == EOF ? ERR_IO : 0;

	/* Any other type: ldns reads the rdata into fields and prints each
	 * but the names and times, which dump_field prints itself. */
	ldns_rr *rr = ldns_rr_new();
	if (rr == NULL)
		return ERR_NOMEM;
	ldns_rr_set_type(rr, (ldns_rr_type)type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ctx->wire[0] = (uint8_t)(len >> 8);
	ctx->wire[1] = (uint8_t)len;
	memcpy(ctx->wire + 2, rdata, len);
	size_t pos = 0;
	if (ldns_wire2rdf(rr, ctx->wire, 2u + len, &pos) != LDNS_STATUS_OK) {
		ldns_rr_free(rr);
		return ERR_MALFORMED;
	}
	if (!fields_print_safely(rr)) {
		/* RFC 3597 §5 generic form: always reads back the same. */
		r = fprintf(ctx->out, " \\# %u", (unsigned)len) < 0 ? ERR_IO : 0;
		for (uint16_t i = 0; r == 0 && i < len; i++)
			r = fprintf(ctx->out, "%s%02x", i % 32 ? "" : " ",
				    rdata[i]) < 0 ? ERR_IO : 0;
		len = 0;
	}
	for (size_t i = 0; r == 0 && len > 0 && i < ldns_rr_rd_count(rr); i++)
		r = dump_field(ctx->out, ldns_rr_rdf(rr, i));
	if (r == 0 && fputc('\n', ctx->out) == EOF)
		r = ERR_IO;
	ldns_rr_free(rr);
	return r;
}

static int dump_node(const struct zone_node *node, void *arg)
{
	struct dump_ctx *ctx = arg;
	/* SOA first at the apex, so the dump reads like a zone file. */
	const struct zone_rrset *soa = zone_node_rrset(node, RRTYPE_SOA);
	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < node->nrrsets; i++) {
			const struct zone_rrset *rs = &node->rrsets[i];
			if ((pass == 0) != (rs == soa))
				continue;
			size_t pos = 0;
			uint16_t len;
			const uint8_t *rdata;
			while ((rdata = zone_rrset_next(rs, &pos, &len))) {
				int r = dump_rr(ctx, node->owner, rs->type,
						rs->ttl, rdata, len);
				if (r != 0)
					return r;
			}
		}
	}
	return 0;
}

int zone_dump(const struct zone_version *v, FILE *out)
{
	struct dump_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL)
		return ERR_NOMEM;
	ctx->out = out;
	char apex[DNAME_STRLEN];
	dname_to_str(apex, sizeof(apex), v->apex_name);
	fprintf(out, "; zone %s serial %u\n", apex, v->serial);
	int r = zone_walk(v, dump_node, ctx);
	free(ctx);
	if (r == 0 && ferror(out))
		r = ERR_IO;
	return r;
}

int zone_dump_file(const struct zone_version *v, const char *path)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	char *dir = strdup(path);
	if (tmp == NULL || dir == NULL) {
		free(tmp);
		free(dir);
		return ERR_NOMEM;
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int r = ERR_IO;
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = zone_dump(v, f);
	if (r == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		r = ERR_IO;
	if (fclose(f) != 0 && r == 0)
		r = ERR_IO;
	if (r == 0 && rename(tmp, path) != 0)
		r = ERR_IO;
	if (r != 0) {
		unlink(tmp);
		goto out;
	}
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || fsync(dfd) != 0)
		r = ERR_IO;
	if (dfd >= 0)
		close(dfd);
out:
	free(tmp);
	free(dir);
	return r;
}
