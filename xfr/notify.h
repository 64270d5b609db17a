/*
 * notify.h -- the small messages of replication: NOTIFY (RFC 1996) out and
 * in, and the SOA query a secondary makes to learn the primary's serial.
 * No I/O; every function works on whole wire messages.
 */
#ifndef TANDEM_XFR_NOTIFY_H
#define TANDEM_XFR_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "dns/tsig.h"

/* Writes a NOTIFY for zone apex (opcode NOTIFY, AA, question apex SOA IN)
 * with the new SOA as the answer's hint when soa is non-NULL, signed when
 * tsig is non-NULL. Returns 0 or ERR_SPACE. */
int notify_request(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		   const uint8_t *apex, const uint8_t *soa, uint16_t soa_len,
		   uint32_t soa_ttl, struct tsig_ctx *tsig, uint64_t now);

/* Checks the answer to our NOTIFY (id, opcode, question, signature).
 * Returns 0 for NOERROR, ERR_REFUSED with *rcode set for any other rcode,
 * ERR_MALFORMED, or a TSIG error. */
int notify_check_answer(const uint8_t *msg, size_t len, uint16_t id,
			const uint8_t *apex, struct tsig_ctx *tsig,
			uint64_t now, unsigned *rcode);

/* A NOTIFY received. */
struct notify_in {
	uint16_t id;
	uint8_t apex[DNAME_MAXLEN];   /* the question's name, as sent */
	bool has_serial;              /* the answer carried an SOA hint */
	uint32_t serial;
};

/* Parses a received NOTIFY request: opcode NOTIFY, QR clear, one question
 * of type SOA class IN, an optional SOA in the answer. Returns 0, or
 * ERR_MALFORMED (answer FORMERR). Signatures are checked by the caller. */
int notify_parse(const uint8_t *msg, size_t len, struct notify_in *out);

/* Writes the answer to a NOTIFY: same id and question, QR and AA set,
 * this rcode, signed when tsig is non-NULL (after verifying the request
 * with the same context). Returns 0 or ERR_SPACE. */
int notify_answer(const struct notify_in *q, uint8_t *buf, size_t cap,
		  size_t *len, unsigned rcode, struct tsig_ctx *tsig,
		  uint64_t now);

/* Writes an SOA query for apex (RD clear), signed when tsig is non-NULL. */
int refresh_request(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
		    const uint8_t *apex, struct tsig_ctx *tsig, uint64_t now);

/* Reads the primary's serial from the answer to refresh_request. Returns
 * 0 with *serial set; 1 when the answer is truncated (ask again over TCP);
 * ERR_REFUSED with *rcode for an error rcode or a non-authoritative
 * answer without the SOA; ERR_MALFORMED; or a TSIG error. */
int refresh_check_answer(const uint8_t *msg, size_t len, uint16_t id,
			 const uint8_t *apex, struct tsig_ctx *tsig,
			 uint64_t now, uint32_t *serial, unsigned *rcode);

#endif
