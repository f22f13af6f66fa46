/*
 * strmap: a hash map from NUL-terminated strings to void * values (open
 * addressing, linear probing, tombstones). The map owns copies of its
 * keys; values belong to the caller, who gets them back from
 * strmap_put() / strmap_remove() and may hand a destructor to
 * strmap_free().
 *
 * Iteration (strmap_next) visits every entry once, in no particular order.
 * Removing the entry just visited (strmap_remove_at), or any other, while
 * iterating is safe: removal never moves entries. Inserting while
 * iterating is not: it may rehash.
 *
 * Pure module apart from the hash key (strmap_hash); a map is not thread
 * safe.
 */
#ifndef TOKEND_STRMAP_H
#define TOKEND_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap;

/* An empty map; never fails (allocation aborts). */
struct strmap	*strmap_new(void);

/*
 * Free the map and its keys; free_value, when not NULL, is called on every
 * value. NULL is fine.
 */
void		 strmap_free(struct strmap *, void (*free_value)(void *));

/* The value of key, or NULL when absent. */
void		*strmap_get(const struct strmap *, const char *key);

/* Whether key is present (its value may be NULL). */
bool		 strmap_has(const struct strmap *, const char *key);

/*
 * Set key (copied) to value. Returns the value it replaces (the caller's
 * to free), or NULL when key was absent. *replaced, when not NULL, says
 * which (a stored value may itself be NULL).
 */
void		*strmap_put(struct strmap *, const char *key, void *value,
		    bool *replaced);

/*
 * Remove key. Returns its value (the caller's to free), or NULL when it
 * was absent.
 */
void		*strmap_remove(struct strmap *, const char *key);

size_t		 strmap_count(const struct strmap *);

/*
 * An estimate of the heap the map holds, in bytes, in O(1): the map
 * itself, its slot table and its copies of the keys, plus, when the
 * caller boxes each value in an allocation of its own, value_size bytes
 * per entry (0: values are not allocations). Each allocation is counted
 * as strmap_alloc_cost() says.
 */
size_t		 strmap_memory(const struct strmap *, size_t value_size);

/*
 * The heap an allocation of n bytes takes as glibc's malloc lays it out on
 * a 64-bit system: n plus an 8-byte header, rounded up to 16 bytes, at
 * least 32; from 128 KiB (its mmap threshold at start) n plus 16, in whole
 * 4 KiB pages. Another allocator's figure differs by a few bytes per
 * allocation.
 */
size_t		 strmap_alloc_cost(size_t n);

/*
 * Iterate: start with *pos = 0; each call that returns true sets *key
 * (borrowed: valid until the entry is removed or the map changes size) and
 * *value to the next entry. Returns false after the last one.
 */
bool		 strmap_next(const struct strmap *, size_t *pos,
		    const char **key, void **value);

/*
 * Remove the entry strmap_next() just returned (pos as it left it) and
 * return its value. Safe during iteration.
 */
void		*strmap_remove_at(struct strmap *, size_t pos);

/*
 * The hash of s the map uses: SipHash-1-3 under a key drawn at random
 * once per process (on the first call), so the same for every thread and
 * map of the process and unknown outside it. Callable from any thread.
 */
uint64_t	 strmap_hash(const char *s);

/*
 * Draw the hash key now, if no hash has drawn it yet. main() calls it at
 * start, before any worker runs, so that getrandom(), which may wait
 * while the kernel's pool is not ready early in boot, never runs on an
 * event loop.
 */
void		 strmap_seed(void);

#endif
