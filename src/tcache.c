/*
 * tcache: the verified-token cache of one worker (see include/tcache.h).
 *
 * Layout. A fixed array of `capacity` entry slots, filled from the front
 * (slots past the high-water mark were never touched, so an idle cache
 * costs no resident memory), and a power-of-two array of bucket heads;
 * a bucket is a singly linked chain of slot indices. The bucket comes
 * from the first 8 bytes of the digest; every comparison is of the whole
 * digest. A slot freed by a lookup goes on a free list.
 *
 * Eviction is CLOCK: a hit sets the entry's reference bit; when no slot
 * is free the hand sweeps, clearing reference bits, and takes the first
 * entry whose bit was already clear, or one that has expired. It passes
 * each slot at most twice, so an insert is O(1) amortized.
 *
 * What it leaves to others: revocation (verify.c), when to flush
 * (worker.c). It stores no token text and logs none.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "log.h"
#include "tcache.h"
#include "token.h"
#include "util.h"

#define NIL	UINT32_MAX

struct tcache_entry {
	struct tcache_key	 key;
	struct token_claims	 claims;	/* holds a payload reference */
	int64_t			 verified_at;
	uint32_t		 next;		/* chain or free list */
	bool			 used;
	bool			 ref;		/* CLOCK reference bit */
};

struct tcache {
	struct tcache_entry	*slots;
	uint32_t		 capacity;
	uint32_t		 hwm;		/* slots [0, hwm) were used */
	uint32_t		 free_head;	/* free list of slots < hwm */
	uint32_t		 hand;
	uint32_t		*buckets;
	uint32_t		 mask;		/* nbuckets - 1 */
	int64_t			 leeway;
	EVP_MD			*md;
	EVP_MD_CTX		*mdctx;
	struct tcache_stats	 st;
};

struct tcache *
tcache_new(size_t capacity, long leeway)
{
	struct tcache	*c;
	size_t		 n = 1;

	if (capacity == 0)
		return NULL;
	if (capacity > TCACHE_CAPACITY_MAX)
		capacity = TCACHE_CAPACITY_MAX;
	c = xcalloc(1, sizeof(*c));
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->mdctx = EVP_MD_CTX_new();
	if (c->md == NULL || c->mdctx == NULL) {
		ERR_clear_error();
		log_error("event=verify_cache_disabled err=\"no SHA-256\"");
		tcache_free(c);
		return NULL;
	}
	c->capacity = (uint32_t)capacity;
	c->slots = xcalloc(capacity, sizeof(*c->slots));
	while (n < capacity)
		n <<= 1;
	c->buckets = xmalloc(n * sizeof(*c->buckets));
	memset(c->buckets, 0xff, n * sizeof(*c->buckets));	/* NIL */
	c->mask = (uint32_t)(n - 1);
	c->free_head = NIL;
	c->leeway = leeway > 0 ? leeway : 0;
	c->st.capacity = capacity;
	return c;
}

static void
entry_clear(struct tcache_entry *e)
{
	json_object_put(e->claims.payload);
	/* nothing secret, but a dead entry should point at nothing */
	memset(e, 0, sizeof(*e));
}

void
tcache_flush(struct tcache *c)
{
	uint32_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->hwm; i++)
		if (c->slots[i].used)
			entry_clear(&c->slots[i]);
	memset(c->buckets, 0xff, ((size_t)c->mask + 1) * sizeof(*c->buckets));
	c->hwm = 0;
	c->free_head = NIL;
	c->hand = 0;
	c->st.count = 0;
	c->st.flushes++;
}

void
tcache_free(struct tcache *c)
{
	if (c == NULL)
		return;
	if (c->slots != NULL)
		tcache_flush(c);
	free(c->slots);
	free(c->buckets);
	EVP_MD_CTX_free(c->mdctx);
	EVP_MD_free(c->md);
	free(c);
}

bool
tcache_key(struct tcache *c, const char *jws, size_t len,
    struct tcache_key *key)
{
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 dlen = 0;

	if (c == NULL || jws == NULL || len > TCACHE_TOKEN_MAX)
		return false;
	if (EVP_DigestInit_ex2(c->mdctx, c->md, NULL) != 1 ||
	    EVP_DigestUpdate(c->mdctx, jws, len) != 1 ||
	    EVP_DigestFinal_ex(c->mdctx, d, &dlen) != 1 ||
	    dlen != TCACHE_DIGEST_LEN) {
		ERR_clear_error();
		return false;
	}
	memcpy(key->d, d, TCACHE_DIGEST_LEN);
	return true;
}

static uint32_t
bucket_of(const struct tcache *c, const struct tcache_key *key)
{
	uint64_t	 h;

	memcpy(&h, key->d, sizeof(h));
	return (uint32_t)(h & c->mask);
}

/* The slot holding key, or NIL; *prevp is its predecessor in the chain. */
static uint32_t
find(const struct tcache *c, const struct tcache_key *key, uint32_t *prevp)
{
	uint32_t	 i, prev = NIL;

	for (i = c->buckets[bucket_of(c, key)]; i != NIL;
	    i = c->slots[i].next) {
		if (CRYPTO_memcmp(c->slots[i].key.d, key->d,
		    TCACHE_DIGEST_LEN) == 0)
			break;
		prev = i;
	}
	if (prevp != NULL)
		*prevp = prev;
	return i;
}

/* Take slot i out of its chain and clear it; it is then unused. */
static void
unlink_slot(struct tcache *c, uint32_t i)
{
	struct tcache_entry	*e = &c->slots[i];
	uint32_t		*pp;

	for (pp = &c->buckets[bucket_of(c, &e->key)]; *pp != NIL;
	    pp = &c->slots[*pp].next) {
		if (*pp == i) {
			*pp = e->next;
			break;
		}
	}
	entry_clear(e);
	c->st.count--;
}

/* May the entry be served at now? (See tcache.h.) */
static bool
servable(const struct tcache *c, const struct tcache_entry *e, int64_t now)
{
	/* token.c: expired when exp <= now - leeway */
	return e->claims.exp > now - c->leeway && now >= e->verified_at;
}

struct token_claims *
tcache_lookup(struct tcache *c, const struct tcache_key *key, time_t now)
{
	struct tcache_entry	*e;
	struct token_claims	*out;
	uint32_t		 i;

	if (c == NULL)
		return NULL;
	if ((i = find(c, key, NULL)) == NIL) {
		c->st.misses++;
		return NULL;
	}
	e = &c->slots[i];
	if (!servable(c, e, (int64_t)now)) {
		unlink_slot(c, i);
		e->next = c->free_head;
		c->free_head = i;
		c->st.expired++;
		c->st.misses++;
		return NULL;
	}
	e->ref = true;
	c->st.hits++;
	out = xmalloc(sizeof(*out));
	*out = e->claims;
	json_object_get(out->payload);
	return out;
}

/* A slot to fill: a free one, a fresh one, or an evicted one. */
static uint32_t
take_slot(struct tcache *c, int64_t now)
{
	struct tcache_entry	*e;
	uint32_t		 i;

	if (c->free_head != NIL) {
		i = c->free_head;
		c->free_head = c->slots[i].next;
		return i;
	}
	if (c->hwm < c->capacity)
		return c->hwm++;
	/* full: every slot is in use */
	for (;;) {
		i = c->hand;
		c->hand = c->hand + 1 == c->capacity ? 0 : c->hand + 1;
		e = &c->slots[i];
		if (e->ref && servable(c, e, now)) {
			e->ref = false;
			continue;
		}
		unlink_slot(c, i);
		c->st.evictions++;
		return i;
	}
}

void
tcache_insert(struct tcache *c, const struct tcache_key *key, time_t now,
    const struct token_claims *claims)
{
	struct tcache_entry	*e;
	uint32_t		 i, b;

	if (c == NULL || claims == NULL || claims->payload == NULL)
		return;
	if (claims->exp <= (int64_t)now - c->leeway)
		return;
	if ((i = find(c, key, NULL)) != NIL)
		unlink_slot(c, i);	/* its slot is reused below */
	else
		i = take_slot(c, (int64_t)now);
	e = &c->slots[i];
	e->key = *key;
	e->claims = *claims;
	json_object_get(e->claims.payload);
	e->verified_at = (int64_t)now;
	e->used = true;
	e->ref = false;
	b = bucket_of(c, key);
	e->next = c->buckets[b];
	c->buckets[b] = i;
	c->st.count++;
}

void
tcache_stats(const struct tcache *c, struct tcache_stats *st)
{
	if (c == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = c->st;
}
