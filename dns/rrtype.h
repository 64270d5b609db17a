/*
 * rrtype.h -- RR type and class numbers, mnemonics and rdata layouts.
 */
#ifndef TANDEM_DNS_RRTYPE_H
#define TANDEM_DNS_RRTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rr_type {
	RRTYPE_A = 1, RRTYPE_NS = 2, RRTYPE_MD = 3, RRTYPE_MF = 4,
	RRTYPE_CNAME = 5, RRTYPE_SOA = 6, RRTYPE_MB = 7, RRTYPE_MG = 8,
	RRTYPE_MR = 9, RRTYPE_NULL = 10, RRTYPE_WKS = 11, RRTYPE_PTR = 12,
	RRTYPE_HINFO = 13, RRTYPE_MINFO = 14, RRTYPE_MX = 15, RRTYPE_TXT = 16,
	RRTYPE_RP = 17, RRTYPE_AFSDB = 18, RRTYPE_X25 = 19, RRTYPE_ISDN = 20,
	RRTYPE_RT = 21, RRTYPE_NSAP = 22, RRTYPE_NSAP_PTR = 23,
	RRTYPE_SIG = 24, RRTYPE_KEY = 25, RRTYPE_PX = 26, RRTYPE_GPOS = 27,
	RRTYPE_AAAA = 28, RRTYPE_LOC = 29, RRTYPE_NXT = 30, RRTYPE_SRV = 33,
	RRTYPE_NAPTR = 35, RRTYPE_KX = 36, RRTYPE_CERT = 37, RRTYPE_A6 = 38,
	RRTYPE_DNAME = 39, RRTYPE_OPT = 41, RRTYPE_APL = 42, RRTYPE_DS = 43,
	RRTYPE_SSHFP = 44, RRTYPE_IPSECKEY = 45, RRTYPE_RRSIG = 46,
	RRTYPE_NSEC = 47, RRTYPE_DNSKEY = 48, RRTYPE_DHCID = 49,
	RRTYPE_NSEC3 = 50, RRTYPE_NSEC3PARAM = 51, RRTYPE_TLSA = 52,
	RRTYPE_SMIMEA = 53, RRTYPE_HIP = 55, RRTYPE_CDS = 59,
	RRTYPE_CDNSKEY = 60, RRTYPE_OPENPGPKEY = 61, RRTYPE_CSYNC = 62,
	RRTYPE_ZONEMD = 63, RRTYPE_SVCB = 64, RRTYPE_HTTPS = 65,
	RRTYPE_SPF = 99, RRTYPE_NID = 104, RRTYPE_L32 = 105, RRTYPE_L64 = 106,
	RRTYPE_LP = 107, RRTYPE_EUI48 = 108, RRTYPE_EUI64 = 109,
	RRTYPE_TKEY = 249, RRTYPE_TSIG = 250, RRTYPE_IXFR = 251,
	RRTYPE_AXFR = 252, RRTYPE_MAILB = 253, RRTYPE_MAILA = 254,
	RRTYPE_ANY = 255, RRTYPE_URI = 256, RRTYPE_CAA = 257, RRTYPE_AVC = 258,
	RRTYPE_DLV = 32769,
};

enum rr_class {
	RRCLASS_IN = 1, RRCLASS_CH = 3, RRCLASS_HS = 4, RRCLASS_NONE = 254,
	RRCLASS_ANY = 255,
};

/* Kinds of rdata field, in wire order. */
enum rdata_field {
	RDF_END = 0,
	RDF_NAME_COMPRESS, /* RFC 1035 name: may be compressed; lowercased in
			      canonical form (RFC 3597 §4, RFC 4034 §6.2) */
	RDF_NAME_FOLD,     /* never compressed on output, decompressed on
			      input; lowercased in canonical form */
	RDF_NAME_PLAIN,    /* never compressed, case kept (NSEC, RFC 6840 §5.1) */
	RDF_FIX1, RDF_FIX2, RDF_FIX4, RDF_FIX6, RDF_FIX8, RDF_FIX16,
	RDF_STRING,        /* one <character-string> */
	RDF_STRINGS,       /* <character-string>s to the end (at least one) */
	RDF_REMAINDER,     /* opaque octets to the end (possibly none) */
};

/* Longest descriptor, RDF_END included. */
#define RDATA_MAXFIELDS 10

/* The rdata layout of `type`: fields terminated by RDF_END. Unknown types
 * are { RDF_REMAINDER } (RFC 3597). Never NULL. */
const uint8_t *rrtype_layout(uint16_t type);

/* True when rdata of this type contains a name field of any kind. */
/* Whether rdata of this type has names that are compressed on the wire
 * (an RDF_NAME_COMPRESS field). */
bool rrtype_compresses(uint16_t type);

bool rrtype_has_names(uint16_t type);

/* Writes the mnemonic ("A", "TYPE65280") into buf (at least 16 octets).
 * Returns buf. */
const char *rrtype_to_str(uint16_t type, char buf[16]);

/* Parses a mnemonic or RFC 3597 "TYPEnnn", case-insensitively.
 * Returns 0, or ERR_SYNTAX. */
int rrtype_from_str(const char *str, uint16_t *type);

/* Same for classes: "IN", "CH", "CLASSnnn". */
const char *rrclass_to_str(uint16_t rrclass, char buf[16]);
int rrclass_from_str(const char *str, uint16_t *rrclass);

/* Meta and question-only types that never appear as zone data
 * (OPT, TSIG, TKEY, IXFR, AXFR, MAILA, MAILB, ANY). */
bool rrtype_is_meta(uint16_t type);

/* DNSSEC types that may coexist with a CNAME (RFC 4035 §2.5: RRSIG, NSEC). */
bool rrtype_is_dnssec(uint16_t type);

#endif
