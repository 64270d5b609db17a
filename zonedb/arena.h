/*
 * arena.h -- allocation by lifetime: many small pieces from large chunks,
 * all freed at once (the builder's names and rdata, a diff's RRs).
 */
#ifndef TANDEM_ZONEDB_ARENA_H
#define TANDEM_ZONEDB_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	uint8_t data[];
};

/* size octets from the arena at *head, taking a new chunk of at least
 * chunk_size when the current one is full. NULL on ENOMEM. */
void *arena_alloc(struct arena_chunk **head, size_t size, size_t chunk_size);

/* Frees every chunk and empties the arena. */
void arena_free(struct arena_chunk **head);

#endif
