/*
 * strmap: string-keyed open-addressing hash map (see include/strmap.h).
 *
 * Linear probing over a power-of-two table. A removed entry becomes a
 * tombstone, so removal never moves another entry and iteration may
 * remove as it goes. The table is rebuilt (to the size its live entries
 * need, which may be smaller) when live entries plus tombstones would pass
 * 3/4 of it; after a rebuild it is at most half full.
 *
 * The hash is FNV-1a finished with murmur3's fmix64, so that the low bits
 * the table uses depend on every byte. Keys here are our own token ids and
 * admin-chosen client ids, not attacker-chosen strings, so no keyed hash.
 *
 * Invariants: nslots is 0 or a power of two >= MIN_SLOTS; count + tombs <
 * nslots; an empty slot has key NULL, a tombstone key == tombstone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

#define MIN_SLOTS	16

struct slot {
	char		*key;
	void		*value;
	uint64_t	 hash;
};

struct strmap {
	struct slot	*slots;
	size_t		 nslots;
	size_t		 count;		/* live entries */
	size_t		 tombs;
};

static char	 tombstone[1];

static bool
is_live(const struct slot *sl)
{
	return sl->key != NULL && sl->key != tombstone;
}

uint64_t
strmap_hash(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct strmap *
strmap_new(void)
{
	return xcalloc(1, sizeof(struct strmap));
}

void
strmap_free(struct strmap *m, void (*free_value)(void *))
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nslots; i++) {
		if (!is_live(&m->slots[i]))
			continue;
		if (free_value != NULL)
			free_value(m->slots[i].value);
		free(m->slots[i].key);
	}
	free(m->slots);
	free(m);
}

/* The slot holding key, or NULL. */
static struct slot *
find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t	 mask, i;

	if (m->nslots == 0)
		return NULL;
	mask = m->nslots - 1;
	for (i = (size_t)h & mask; m->slots[i].key != NULL;
	    i = (i + 1) & mask) {
		const struct slot	*sl = &m->slots[i];

		if (sl->key != tombstone && sl->hash == h &&
		    strcmp(sl->key, key) == 0)
			return &m->slots[i];
	}
	return NULL;
}

/* Rebuild for the live entries plus one more, at most half full. */
static void
rehash(struct strmap *m)
{
	struct slot	*old = m->slots;
	size_t		 oldn = m->nslots, n = MIN_SLOTS, i, j, mask;

	while (n / 2 < m->count + 1)
		n *= 2;
	m->slots = xcalloc(n, sizeof(*m->slots));
	m->nslots = n;
	m->tombs = 0;
	mask = n - 1;
	for (i = 0; i < oldn; i++) {
		if (!is_live(&old[i]))
			continue;
		for (j = (size_t)old[i].hash & mask; m->slots[j].key != NULL;
		    j = (j + 1) & mask)
			;
		m->slots[j] = old[i];
	}
	free(old);
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	const struct slot	*sl = find(m, key, strmap_hash(key));

	return sl != NULL ? sl->value : NULL;
}

bool
strmap_has(const struct strmap *m, const char *key)
{
	return find(m, key, strmap_hash(key)) != NULL;
}

void *
strmap_put(struct strmap *m, const char *key, void *value, bool *replaced)
{
	struct slot	*sl, *dst = NULL;
	uint64_t	 h = strmap_hash(key);
	size_t		 mask, i;
	void		*old;

	if ((sl = find(m, key, h)) != NULL) {
		old = sl->value;
		sl->value = value;
		if (replaced != NULL)
			*replaced = true;
		return old;
	}
	if (replaced != NULL)
		*replaced = false;
	if ((m->count + m->tombs + 1) * 4 > m->nslots * 3)
		rehash(m);
	/* Not present: the first tombstone or empty slot on its path. */
	mask = m->nslots - 1;
	for (i = (size_t)h & mask; ; i = (i + 1) & mask) {
		sl = &m->slots[i];
		if (sl->key == tombstone) {
			dst = sl;
			m->tombs--;
			break;
		}
		if (sl->key == NULL) {
			dst = sl;
			break;
		}
	}
	dst->key = xstrdup(key);
	dst->value = value;
	dst->hash = h;
	m->count++;
	return NULL;
}

static void *
remove_slot(struct strmap *m, struct slot *sl)
{
	void	*value = sl->value;

	free(sl->key);
	sl->key = tombstone;
	sl->value = NULL;
	m->count--;
	m->tombs++;
	return value;
}

void *
strmap_remove(struct strmap *m, const char *key)
{
	struct slot	*sl = find(m, key, strmap_hash(key));

	return sl != NULL ? remove_slot(m, sl) : NULL;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

bool
strmap_next(const struct strmap *m, size_t *pos, const char **key,
    void **value)
{
	size_t	 i;

	for (i = *pos; i < m->nslots; i++) {
		if (is_live(&m->slots[i])) {
			*key = m->slots[i].key;
			*value = m->slots[i].value;
			*pos = i + 1;
			return true;
		}
	}
	*pos = m->nslots;
	return false;
}

void *
strmap_remove_at(struct strmap *m, size_t pos)
{
	if (pos == 0 || pos > m->nslots || !is_live(&m->slots[pos - 1]))
		return NULL;
	return remove_slot(m, &m->slots[pos - 1]);
}
