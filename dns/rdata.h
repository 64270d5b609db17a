/*
 * rdata.h -- uncompressed rdata: validation, canonical form and order.
 *
 * Rdata here is always stored uncompressed, names with their case as
 * received (RFC 4343 §4.1); only comparisons fold case.
 */
#ifndef TANDEM_DNS_RDATA_H
#define TANDEM_DNS_RDATA_H

#include <stddef.h>
#include <stdint.h>

/* Checks that uncompressed rdata matches the layout of `type` exactly
 * (every name valid, fixed fields complete, strings inside, nothing left
 * over). Returns 0 or ERR_MALFORMED. */
int rdata_check(uint16_t type, const uint8_t *rdata, size_t len);

/* Copies rdata into out (len octets) in canonical form (RFC 4034 §6.2:
 * names of the types listed there lowercased). */
void rdata_canonicalize(uint16_t type, uint8_t *out, const uint8_t *rdata,
			size_t len);

/* Canonical RR order within an RRset (RFC 4034 §6.3): compares canonical
 * forms as left-justified octet strings. <0, 0, >0. */
int rdata_cmp(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b,
	      size_t blen);

/* Calls fn for each name field in valid rdata with its offset and field
 * kind (RDF_NAME_*); stops and returns fn's value when non-zero. */
typedef int (*rdata_name_fn)(const uint8_t *name, size_t offset, int kind,
			     void *arg);
int rdata_foreach_name(uint16_t type, const uint8_t *rdata, size_t len,
		       rdata_name_fn fn, void *arg);

/* SOA fields after the two names (RFC 1035 §3.3.13). */
enum rdata_soa_field {
	SOA_SERIAL, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MINIMUM,
};

/* One of those fields of valid SOA rdata. */
uint32_t rdata_soa_field(const uint8_t *rdata, enum rdata_soa_field field);

#endif
