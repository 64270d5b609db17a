/*
 * nsec3.h -- NSEC3 owner-name hashing (RFC 5155 §5) and the fields of
 * NSEC3 and NSEC3PARAM rdata.
 */
#ifndef TANDEM_DNS_NSEC3_H
#define TANDEM_DNS_NSEC3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"

/* The only hash algorithm defined (RFC 5155 §11): SHA-1, 20 octets. */
#define NSEC3_HASH_SHA1 1
#define NSEC3_HASH_LEN	20
/* A hash as one base32hex label (RFC 4648 §7, no padding): 32 octets. */
#define NSEC3_LABEL_LEN 32
/* The Opt-Out flag (RFC 5155 §3.1.2.1). */
#define NSEC3_FLAG_OPTOUT 0x01

/* The hash parameters shared by NSEC3PARAM and NSEC3 rdata: algorithm,
 * flags, iterations, salt (RFC 5155 §3.2, §4.2). */
struct nsec3_params {
	uint8_t algorithm;
	uint8_t flags;
	uint16_t iterations;
	uint8_t salt_len;
	uint8_t salt[255];
};

/* Reads the parameters at the start of NSEC3 or NSEC3PARAM rdata.
 * Returns 0, or ERR_MALFORMED when the rdata is too short. */
int nsec3_params_read(struct nsec3_params *p, const uint8_t *rdata,
		      size_t len);

/* Whether NSEC3 rdata uses the hash parameters `p` (algorithm,
 * iterations and salt; flags do not take part, RFC 5155 §4.1.2). */
bool nsec3_params_match(const struct nsec3_params *p, const uint8_t *rdata,
			size_t len);

/* IH(salt, name, iterations) of RFC 5155 §5 for a wire name (any case: it
 * is hashed in canonical, lowercase form). Returns 0, or ERR_NOTIMPL for
 * an unknown algorithm. */
int nsec3_hash(uint8_t out[NSEC3_HASH_LEN], const struct nsec3_params *p,
	       const uint8_t *name);

/* The base32hex (lowercase) text of `len` octets; writes ceil(len*8/5)
 * characters, no padding, no terminator, and returns their number. */
size_t nsec3_base32hex(char *out, const uint8_t *data, size_t len);

/* The NSEC3 owner of `name`: the base32hex label of its hash followed by
 * `apex` (RFC 5155 §3). Returns the wire length, or a negative error. */
int nsec3_owner(uint8_t out[DNAME_MAXLEN], const struct nsec3_params *p,
		const uint8_t *name, const uint8_t *apex);

/* The Next Hashed Owner Name field of NSEC3 rdata and its length; NULL
 * when the rdata is malformed. */
const uint8_t *nsec3_next_hash(const uint8_t *rdata, size_t len,
			       uint8_t *hash_len);

#endif
