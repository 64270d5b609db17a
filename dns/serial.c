/*
 * serial.c -- SOA serial number arithmetic (RFC 1982).
 */
#include "dns/serial.h"

int serial_cmp(uint32_t a, uint32_t b)
{
	/* Unsigned subtraction is the distance from b forward to a on the
	 * circle; less than half the circle means a is ahead (greater). */
	uint32_t ahead = a - b;
	if (ahead == 0)
		return 0;
	if (ahead == 0x80000000u)
		return SERIAL_UNDEFINED;
	return ahead < 0x80000000u ? 1 : -1;
}

uint32_t serial_add(uint32_t s, uint32_t n)
{
	if (n > SERIAL_MAXADD)
		n = SERIAL_MAXADD;
	return s + n;
}
