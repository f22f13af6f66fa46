/*
 * strmap: string-keyed open-addressing hash map (see include/strmap.h).
 *
 * Linear probing over a power-of-two table. A removed entry becomes a
 * tombstone, so removal never moves another entry and iteration may
 * remove as it goes. The table is rebuilt (to the size its live entries
 * need, which may be smaller) when live entries plus tombstones would pass
 * 3/4 of it; after a rebuild it is at most half full.
 *
 * Some keys are chosen by whoever sends us requests: the brute-force
 * table (limiter.c) is keyed by the sources of clients that failed to
 * authenticate (IPv6 networks of --auth-fail-ipv6-prefix bits: an attacker
 * with a shorter prefix picks among many), beside client
 * ids (chosen by the admin) and jtis (of tokens we signed). With a hash
 * anyone can compute, such a client could pick addresses that share a
 * table slot and make every probe sequence long. So the hash is keyed:
 * SipHash-1-3 with a key drawn from getrandom() once per process, on the
 * first hash. Nobody outside knows the key, so nobody can aim keys at a
 * slot; the order of entries differs from one run to the next.
 *
 * Invariants: nslots is 0 or a power of two >= MIN_SLOTS; count + tombs <
 * nslots; an empty slot has key NULL, a tombstone key == tombstone;
 * key_cost is the sum of strmap_alloc_cost(strlen(key) + 1) over the live
 * keys (strmap_memory() reads it instead of walking the table).
 */
#include <sys/random.h>

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	size_t		 key_cost;	/* heap of the live keys' copies */
};

static char	 tombstone[1];

static bool
is_live(const struct slot *sl)
{
	return sl->key != NULL && sl->key != tombstone;
}

/* ---- the hash: SipHash-1-3, keyed once per process ---- */

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* The little-endian 64-bit word at p. */
static uint64_t
le64(const unsigned char *p)
{
	uint64_t	 w;

	memcpy(&w, p, sizeof(w));
	return le64toh(w);
}

/* The same of the last n < 8 bytes, zero-padded. */
static uint64_t
le64_tail(const unsigned char *p, size_t n)
{
	unsigned char	 b[8] = { 0 };

	memcpy(b, p, n);
	return le64(b);
}

/* SipHash-1-3 of p[0 .. len) under k (one compression round per word,
   three finalization rounds). */
static uint64_t
siphash13(const uint64_t k[2], const unsigned char *p, size_t len)
{
	uint64_t	 v0 = k[0] ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k[0] ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t	 m;
	size_t		 left = len;

	for (; left >= 8; p += 8, left -= 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = le64_tail(p, left) | (uint64_t)(len & 0xff) << 56;
	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t		 hash_key[2];
static pthread_once_t	 hash_key_once = PTHREAD_ONCE_INIT;

static void
hash_key_init(void)
{
	unsigned char	 k[16] = { 0 };
	size_t		 got = 0, i;
	ssize_t		 n;

	while (got < sizeof(k)) {
		if ((n = getrandom(k + got, sizeof(k) - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got < sizeof(k)) {
		struct timespec	 ts;
		uint64_t	 v;

		/* No getrandom (a very old kernel, a syscall filter): the
		   clock, the pid and a stack address, which a client
		   cannot read either. */
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40 ^
		    (uint64_t)(uintptr_t)&ts;
		for (i = 0; i < sizeof(k); i++)
			k[i] ^= (unsigned char)(v >> (i % 8 * 8)) ^
			    (unsigned char)i;
	}
	hash_key[0] = le64(k);
	hash_key[1] = le64(k + 8);
}

void
strmap_seed(void)
{
	pthread_once(&hash_key_once, hash_key_init);
}

uint64_t
strmap_hash(const char *s)
{
	pthread_once(&hash_key_once, hash_key_init);
	return siphash13(hash_key, (const unsigned char *)s, strlen(s));
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
	m->key_cost += strmap_alloc_cost(strlen(key) + 1);
	return NULL;
}

static void *
remove_slot(struct strmap *m, struct slot *sl)
{
	void	*value = sl->value;

	m->key_cost -= strmap_alloc_cost(strlen(sl->key) + 1);
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

#define CHUNK_HEADER	8
#define CHUNK_ALIGN	16
#define CHUNK_MIN	32
#define MMAP_THRESHOLD	(128 * 1024)
#define PAGE		4096

size_t
strmap_alloc_cost(size_t n)
{
	if (n >= MMAP_THRESHOLD)
		return (n + 2 * CHUNK_HEADER + PAGE - 1) / PAGE * PAGE;
	n = (n + CHUNK_HEADER + CHUNK_ALIGN - 1) / CHUNK_ALIGN * CHUNK_ALIGN;
	return n < CHUNK_MIN ? CHUNK_MIN : n;
}

size_t
strmap_memory(const struct strmap *m, size_t value_size)
{
	size_t	 bytes = strmap_alloc_cost(sizeof(*m)) + m->key_cost;

	if (m->nslots > 0)
		bytes += strmap_alloc_cost(m->nslots * sizeof(*m->slots));
	if (value_size > 0)
		bytes += m->count * strmap_alloc_cost(value_size);
	return bytes;
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
	/* Past the last slot: strmap_remove_at() finds nothing there. */
	*pos = m->nslots + 1;
	return false;
}

void *
strmap_remove_at(struct strmap *m, size_t pos)
{
	if (pos == 0 || pos > m->nslots || !is_live(&m->slots[pos - 1]))
		return NULL;
	return remove_slot(m, &m->slots[pos - 1]);
}
