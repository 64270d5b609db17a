#include "dns/error.h"

const char *error_str(int code)
{
	switch (code) {
	case ERR_OK: return "success";
	case ERR_NOMEM: return "out of memory";
	case ERR_INVAL: return "invalid argument";
	case ERR_SPACE: return "no space left in buffer";
	case ERR_MALFORMED: return "malformed data";
	case ERR_TRUNCATED: return "data truncated";
	case ERR_PTRLOOP: return "bad compression pointer";
	case ERR_LABELLEN: return "label longer than 63 octets";
	case ERR_NAMELEN: return "name longer than 255 octets";
	case ERR_SYNTAX: return "syntax error";
	case ERR_NOTFOUND: return "not found";
	case ERR_EXISTS: return "already exists";
	case ERR_OUTOFZONE: return "name outside the zone";
	case ERR_SEMANTIC: return "semantic error";
	case ERR_IO: return "I/O error";
	case ERR_NOSOA: return "no SOA record at the zone apex";
	case ERR_BADLABEL: return "unsupported label type";
	case ERR_UNSUPPORTED: return "not supported";
	case ERR_LIMIT: return "limit exceeded";
	case ERR_CRYPTO: return "cryptographic failure";
	case ERR_BADSIG: return "bad signature";
	case ERR_BADKEY: return "unknown key";
	case ERR_BADTIME: return "signature time out of window";
	case ERR_TIMEOUT: return "timed out";
	case ERR_REFUSED: return "refused";
	case ERR_BADSTATE: return "invalid state";
	default: return "unknown error";
	}
}
