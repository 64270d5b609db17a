/*
 * error.h -- the one error enum of tandem.
 *
 * Every function that can fail returns 0 (or a non-negative count) on
 * success and one of these negative codes on failure. Callers propagate
 * them; nothing below server/main.c calls exit(). (OpenSSL owns some
 * ERR_* names, e.g. ERR_STATE: check before adding one.)
 */
#ifndef TANDEM_DNS_ERROR_H
#define TANDEM_DNS_ERROR_H

enum tandem_error {
	ERR_OK = 0,
	ERR_NOMEM = -1,       /* allocation failed */
	ERR_INVAL = -2,       /* invalid argument */
	ERR_SPACE = -3,       /* output buffer too small */
	ERR_MALFORMED = -4,   /* malformed wire data */
	ERR_TRUNCATED = -5,   /* input ends before the data it announces */
	ERR_PTRLOOP = -6,     /* compression pointer loop or forward pointer */
	ERR_LABELLEN = -7,    /* label longer than 63 octets */
	ERR_NAMELEN = -8,     /* name longer than 255 octets */
	ERR_SYNTAX = -9,      /* presentation-format syntax error */
	ERR_NOTFOUND = -10,   /* no such item */
	ERR_EXISTS = -11,     /* item already exists */
	ERR_OUTOFZONE = -12,  /* name outside the zone */
	ERR_SEMANTIC = -13,   /* zone content violates a DNS rule */
	ERR_IO = -14,         /* file or socket I/O failed; see errno */
	ERR_NOSOA = -15,      /* zone has no SOA at its apex */
	ERR_BADLABEL = -16,   /* bad label type (0x40/0x80 extended labels) */
	ERR_UNSUPPORTED = -17,/* feature not supported */
	ERR_LIMIT = -18,      /* a configured limit was exceeded */
	ERR_CRYPTO = -19,     /* cryptographic operation failed */
	ERR_BADSIG = -20,     /* signature verification failed */
	ERR_BADKEY = -21,     /* unknown key */
	ERR_BADTIME = -22,    /* signature time outside the window */
	ERR_TIMEOUT = -23,    /* operation timed out */
	ERR_REFUSED = -24,    /* peer refused */
	ERR_BADSTATE = -25,   /* operation invalid in the current state */
	ERR__LAST = -26
};

/* Returns a static, human-readable description of an error code. */
const char *error_str(int code);

#endif
