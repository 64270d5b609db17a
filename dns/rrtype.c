/*
 * rrtype.c -- RR type and class tables.
 */
#include "dns/rrtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/error.h"

struct type_info {
	uint16_t type;
	const char *name;
	uint8_t layout[RDATA_MAXFIELDS];
};

#define NC RDF_NAME_COMPRESS
#define NF RDF_NAME_FOLD
#define NP RDF_NAME_PLAIN
#define REM RDF_REMAINDER

/* Sorted by type number (looked up by binary search). */
static const struct type_info types[] = {
	{ RRTYPE_A, "A", { RDF_FIX4 } },
	{ RRTYPE_NS, "NS", { NC } },
	{ RRTYPE_MD, "MD", { NC } },
	{ RRTYPE_MF, "MF", { NC } },
	{ RRTYPE_CNAME, "CNAME", { NC } },
	{ RRTYPE_SOA, "SOA", { NC, NC, RDF_FIX4, RDF_FIX4, RDF_FIX4, RDF_FIX4,
			       RDF_FIX4 } },
	{ RRTYPE_MB, "MB", { NC } },
	{ RRTYPE_MG, "MG", { NC } },
	{ RRTYPE_MR, "MR", { NC } },
	{ RRTYPE_NULL, "NULL", { REM } },
	{ RRTYPE_WKS, "WKS", { RDF_FIX4, RDF_FIX1, REM } },
	{ RRTYPE_PTR, "PTR", { NC } },
	{ RRTYPE_HINFO, "HINFO", { RDF_STRING, RDF_STRING } },
	{ RRTYPE_MINFO, "MINFO", { NC, NC } },
	{ RRTYPE_MX, "MX", { RDF_FIX2, NC } },
	{ RRTYPE_TXT, "TXT", { RDF_STRINGS } },
	{ RRTYPE_RP, "RP", { NF, NF } },
	{ RRTYPE_AFSDB, "AFSDB", { RDF_FIX2, NF } },
	{ RRTYPE_X25, "X25", { RDF_STRING } },
	{ RRTYPE_ISDN, "ISDN", { RDF_STRINGS } },
	{ RRTYPE_RT, "RT", { RDF_FIX2, NF } },
	{ RRTYPE_NSAP, "NSAP", { REM } },
	/* Not in RFC 4034 §6.2: case kept in canonical form (as Knot). */
	{ RRTYPE_NSAP_PTR, "NSAP-PTR", { NP } },
	{ RRTYPE_SIG, "SIG", { RDF_FIX2, RDF_FIX1, RDF_FIX1, RDF_FIX4, RDF_FIX4,
			       RDF_FIX4, RDF_FIX2, NF, REM } },
	{ RRTYPE_KEY, "KEY", { RDF_FIX2, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_PX, "PX", { RDF_FIX2, NF, NF } },
	{ RRTYPE_GPOS, "GPOS", { RDF_STRING, RDF_STRING, RDF_STRING } },
	{ RRTYPE_AAAA, "AAAA", { RDF_FIX16 } },
	{ RRTYPE_LOC, "LOC", { REM } },
	{ RRTYPE_NXT, "NXT", { NF, REM } },
	{ RRTYPE_SRV, "SRV", { RDF_FIX2, RDF_FIX2, RDF_FIX2, NF } },
	{ RRTYPE_NAPTR, "NAPTR", { RDF_FIX2, RDF_FIX2, RDF_STRING, RDF_STRING,
				   RDF_STRING, NF } },
	{ RRTYPE_KX, "KX", { RDF_FIX2, NF } },
	{ RRTYPE_CERT, "CERT", { RDF_FIX2, RDF_FIX2, RDF_FIX1, REM } },
	{ RRTYPE_A6, "A6", { REM } },
	{ RRTYPE_DNAME, "DNAME", { NF } },
	{ RRTYPE_OPT, "OPT", { REM } },
	{ RRTYPE_APL, "APL", { REM } },
	{ RRTYPE_DS, "DS", { RDF_FIX2, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_SSHFP, "SSHFP", { RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_IPSECKEY, "IPSECKEY", { REM } },
	{ RRTYPE_RRSIG, "RRSIG", { RDF_FIX2, RDF_FIX1, RDF_FIX1, RDF_FIX4,
				   RDF_FIX4, RDF_FIX4, RDF_FIX2, NF, REM } },
	{ RRTYPE_NSEC, "NSEC", { NP, REM } },
	{ RRTYPE_DNSKEY, "DNSKEY", { RDF_FIX2, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_DHCID, "DHCID", { REM } },
	{ RRTYPE_NSEC3, "NSEC3", { RDF_FIX1, RDF_FIX1, RDF_FIX2, RDF_STRING,
				   RDF_STRING, REM } },
	{ RRTYPE_NSEC3PARAM, "NSEC3PARAM", { RDF_FIX1, RDF_FIX1, RDF_FIX2,
					     RDF_STRING } },
	{ RRTYPE_TLSA, "TLSA", { RDF_FIX1, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_SMIMEA, "SMIMEA", { RDF_FIX1, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_HIP, "HIP", { REM } },
	{ RRTYPE_CDS, "CDS", { RDF_FIX2, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_CDNSKEY, "CDNSKEY", { RDF_FIX2, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_OPENPGPKEY, "OPENPGPKEY", { REM } },
	{ RRTYPE_CSYNC, "CSYNC", { RDF_FIX4, RDF_FIX2, REM } },
	{ RRTYPE_ZONEMD, "ZONEMD", { RDF_FIX4, RDF_FIX1, RDF_FIX1, REM } },
	{ RRTYPE_SVCB, "SVCB", { RDF_FIX2, NP, REM } },
	{ RRTYPE_HTTPS, "HTTPS", { RDF_FIX2, NP, REM } },
	{ RRTYPE_SPF, "SPF", { RDF_STRINGS } },
	{ RRTYPE_NID, "NID", { RDF_FIX2, RDF_FIX8 } },
	{ RRTYPE_L32, "L32", { RDF_FIX2, RDF_FIX4 } },
	{ RRTYPE_L64, "L64", { RDF_FIX2, RDF_FIX8 } },
	{ RRTYPE_LP, "LP", { RDF_FIX2, NP } },
	{ RRTYPE_EUI48, "EUI48", { RDF_FIX6 } },
	{ RRTYPE_EUI64, "EUI64", { RDF_FIX8 } },
	{ RRTYPE_TKEY, "TKEY", { NP, REM } },
	{ RRTYPE_TSIG, "TSIG", { NP, REM } },
	{ RRTYPE_IXFR, "IXFR", { REM } },
	{ RRTYPE_AXFR, "AXFR", { REM } },
	{ RRTYPE_MAILB, "MAILB", { REM } },
	{ RRTYPE_MAILA, "MAILA", { REM } },
	{ RRTYPE_ANY, "ANY", { REM } },
	{ RRTYPE_URI, "URI", { RDF_FIX2, RDF_FIX2, REM } },
	{ RRTYPE_CAA, "CAA", { RDF_FIX1, RDF_STRING, REM } },
	{ RRTYPE_AVC, "AVC", { RDF_STRINGS } },
	{ RRTYPE_DLV, "DLV", { RDF_FIX2, RDF_FIX1, RDF_FIX1, REM } },
};

static const uint8_t unknown_layout[RDATA_MAXFIELDS] = { REM };

static const struct type_info *find_type(uint16_t type)
{
	/* Types 1-16 (A to TXT) open the table in order: the ones every
	 * answer writes are found without the search. */
	if (type - 1u < 16u && types[type - 1u].type == type)
		return &types[type - 1u];
	size_t lo = 0, hi = sizeof(types) / sizeof(types[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (types[mid].type == type)
			return &types[mid];
		if (types[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const uint8_t *rrtype_layout(uint16_t type)
{
	const struct type_info *t = find_type(type);
	return t ? t->layout : unknown_layout;
}

bool rrtype_compresses(uint16_t type)
{
	/* RFC 3597 §4: only the RFC 1035 types with names in their rdata
	 * (NS MD MF CNAME SOA MB MG MR PTR MINFO MX) are compressed. A mask,
	 * not the table search: this runs for every RR written. */
	static const uint32_t mask =
		1u << RRTYPE_NS | 1u << 3 | 1u << 4 | 1u << RRTYPE_CNAME |
		1u << RRTYPE_SOA | 1u << 7 | 1u << 8 | 1u << 9 |
		1u << RRTYPE_PTR | 1u << 14 | 1u << RRTYPE_MX;
	return type < 32 && (mask >> type & 1u);
}

bool rrtype_has_names(uint16_t type)
{
	for (const uint8_t *f = rrtype_layout(type); *f != RDF_END; f++)
		if (*f == NC || *f == NF || *f == NP)
			return true;
	return false;
}

const char *rrtype_to_str(uint16_t type, char buf[16])
{
	const struct type_info *t = find_type(type);
	if (t)
		snprintf(buf, 16, "%s", t->name);
	else
		snprintf(buf, 16, "TYPE%u", (unsigned)type);
	return buf;
}

/* Parses "<prefix><decimal>" (RFC 3597 §5) into a 16-bit number. */
static int parse_generic(const char *str, const char *prefix, uint16_t *out)
{
	size_t plen = strlen(prefix);
	if (strncasecmp(str, prefix, plen) != 0)
		return ERR_SYNTAX;
	const char *digits = str + plen;
	if (*digits < '0' || *digits > '9')
		return ERR_SYNTAX;
	char *end;
	unsigned long v = strtoul(digits, &end, 10);
	if (*end != '\0' || v > 65535)
		return ERR_SYNTAX;
	*out = (uint16_t)v;
	return 0;
}

int rrtype_from_str(const char *str, uint16_t *type)
{
	/* The first letter first: zone files name a type on every line. */
	int first = str[0] | 0x20;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((types[i].name[0] | 0x20) == first &&
		    strcasecmp(str, types[i].name) == 0) {
			*type = types[i].type;
			return 0;
		}
	}
	return parse_generic(str, "TYPE", type);
}

const char *rrclass_to_str(uint16_t rrclass, char buf[16])
{
	switch (rrclass) {
	case RRCLASS_IN: snprintf(buf, 16, "IN"); break;
	case RRCLASS_CH: snprintf(buf, 16, "CH"); break;
	case RRCLASS_HS: snprintf(buf, 16, "HS"); break;
	case RRCLASS_NONE: snprintf(buf, 16, "NONE"); break;
	case RRCLASS_ANY: snprintf(buf, 16, "ANY"); break;
	default: snprintf(buf, 16, "CLASS%u", (unsigned)rrclass); break;
	}
	return buf;
}

int rrclass_from_str(const char *str, uint16_t *rrclass)
{
	static const struct { const char *name; uint16_t value; } classes[] = {
		{ "IN", RRCLASS_IN }, { "CH", RRCLASS_CH }, { "CHAOS", RRCLASS_CH },
		{ "HS", RRCLASS_HS }, { "NONE", RRCLASS_NONE },
		{ "ANY", RRCLASS_ANY },
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strcasecmp(str, classes[i].name) == 0) {
			*rrclass = classes[i].value;
			return 0;
		}
	}
	return parse_generic(str, "CLASS", rrclass);
}

bool rrtype_is_meta(uint16_t type)
{
	switch (type) {
	case RRTYPE_OPT: case RRTYPE_TSIG: case RRTYPE_TKEY:
	case RRTYPE_IXFR: case RRTYPE_AXFR: case RRTYPE_MAILA:
	case RRTYPE_MAILB: case RRTYPE_ANY:
		return true;
	default:
		return false;
	}
}

bool rrtype_is_dnssec(uint16_t type)
{
	return type == RRTYPE_RRSIG || type == RRTYPE_NSEC;
}
