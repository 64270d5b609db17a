/*
 * addr.h -- the address octets of a socket address, as DNS Cookies
 * (RFC 9018 §4.4) and rate limiting key on them.
 */
#ifndef TANDEM_SERVER_ADDR_H
#define TANDEM_SERVER_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Points *addr at the 4 (IPv4) or 16 (IPv6) address octets of sa and
 * returns their number; 0 for other families. */
static inline size_t addr_octets(const struct sockaddr *sa,
				 const uint8_t **addr)
{
	if (sa->sa_family == AF_INET) {
		*addr = (const uint8_t *)&((const struct sockaddr_in *)sa)
				->sin_addr;
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		*addr = (const uint8_t *)&((const struct sockaddr_in6 *)sa)
				->sin6_addr;
		return 16;
	}
	return 0;
}

#endif
