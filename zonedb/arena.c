/*
 * arena.c -- allocation by lifetime.
 */
#include "zonedb/arena.h"

#include <stdlib.h>

void *arena_alloc(struct arena_chunk **head, size_t size, size_t chunk_size)
{
	struct arena_chunk *c = *head;
	if (c == NULL || c->size - c->used < size) {
		size_t csize = size > chunk_size ? size : chunk_size;
		c = malloc(sizeof(*c) + csize);
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->size = csize;
		c->next = *head;
		*head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

void arena_free(struct arena_chunk **head)
{
	while (*head) {
		struct arena_chunk *next = (*head)->next;
		free(*head);
		*head = next;
	}
}
