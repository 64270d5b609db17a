/*
 * serial.h -- SOA serial number arithmetic (RFC 1982, SERIAL_BITS = 32).
 *
 * Serials live on a circle of 2^32 values: a is greater than b when it lies
 * less than half the circle ahead of it. Exactly half the circle apart, the
 * order is undefined (RFC 1982 §3.2).
 */
#ifndef TANDEM_DNS_SERIAL_H
#define TANDEM_DNS_SERIAL_H

#include <limits.h>
#include <stdint.h>

/* Result of serial_cmp for two serials exactly 2^31 apart. It is INT_MIN,
 * so a caller that only asks "serial_cmp(a, b) > 0?" (is a newer?) gets
 * "no" both ways round, as with BIND's isc_serial_gt; test for it first
 * wherever undefined must be told apart from "less". */
#define SERIAL_UNDEFINED INT_MIN

/* Largest increment RFC 1982 §3.1 allows: 2^31 - 1. */
#define SERIAL_MAXADD 0x7fffffffu

/* Compares a and b in serial number arithmetic. Returns -1 when a < b,
 * 0 when equal, 1 when a > b, and SERIAL_UNDEFINED when a - b == 2^31
 * (mod 2^32), where RFC 1982 leaves the order undefined. */
int serial_cmp(uint32_t a, uint32_t b);

/* Returns s + n (mod 2^32), the RFC 1982 §3.1 addition. n must be at most
 * SERIAL_MAXADD; a larger n is a caller bug and is clamped to SERIAL_MAXADD
 * so the result still compares greater than s. */
uint32_t serial_add(uint32_t s, uint32_t n);

#endif
