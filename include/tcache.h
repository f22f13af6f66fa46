/*
 * tcache: one worker's cache of verified tokens, so that a gateway sending
 * the same token again and again pays for the signature and the claims
 * checks once. A repeated token then costs a SHA-256 of its text and a
 * table lookup instead of a signature check (about 88,000 instructions
 * instead of about 1,000,000 in BENCHMARKS.md's profile), which keeps
 * /verify of a repeated token within 1.5 times the CPU of /healthz.
 *
 * What it keeps: for each token that passed token_verify() (and the
 * revocation rules, at the time), the SHA-256 digest of the whole token
 * text and the verified claims (struct token_claims, holding one
 * reference on the parsed payload). Never the token text itself.
 *
 * What it leaves to others: the revocation rules (jti revoked, client
 * removed or disabled) run on every call, hit or miss (verify.c); key
 * reloads are the worker's, which flushes the cache before it drops the
 * old key set (claims->key points into it).
 *
 * Rules it keeps:
 * - A hit needs the full 32-byte digest to match; the bucket index is
 *   only where the search starts.
 * - A hit is served only while now < exp + leeway (exp rounded down, so
 *   never later than token_verify() would accept), and only at or after
 *   the moment the entry was verified: nbf and iat were <= that moment +
 *   leeway then, so they still are. A clock that went back, or a token
 *   past its exp, drops the entry and the caller verifies afresh.
 * - Bounded: at most `capacity` entries, each for a token of at most
 *   TCACHE_TOKEN_MAX bytes (longer tokens are not cached). When full, a
 *   CLOCK sweep evicts an entry not used since the hand last passed it,
 *   preferring expired ones. Lookup and insert are O(1) on average.
 *
 * Pure module: no libevent, no hiredis. Not thread safe: one cache per
 * worker, used only on that worker's loop, so no lock.
 */
#ifndef TOKEND_TCACHE_H
#define TOKEND_TCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct tcache;
struct token_claims;

#define TCACHE_DIGEST_LEN	32	/* SHA-256 */
#define TCACHE_TOKEN_MAX	4096	/* bytes; longer tokens are not cached */
#define TCACHE_CAPACITY_MAX	1000000	/* entries */

/* What a token is found by: the SHA-256 digest of its whole text. */
struct tcache_key {
	unsigned char	 d[TCACHE_DIGEST_LEN];
};

struct tcache_stats {
	uint64_t	 hits;
	uint64_t	 misses;	/* lookups that found nothing usable */
	uint64_t	 expired;	/* entries dropped by a lookup: past exp
					   + leeway, or the clock went back */
	uint64_t	 evictions;	/* entries dropped to make room */
	uint64_t	 flushes;
	size_t		 count;		/* entries now */
	size_t		 capacity;
};

/*
 * A cache of at most capacity entries (<= TCACHE_CAPACITY_MAX) whose
 * hits honour exp with leeway seconds of clock skew, as token_verify()
 * does. capacity 0 turns caching off: the result is NULL, and every
 * function here takes NULL as an empty cache that keeps nothing. Returns
 * NULL (logged) also when OpenSSL cannot give SHA-256. The caller owns the
 * result: tcache_free().
 */
struct tcache	*tcache_new(size_t capacity, long leeway);

/* Drop every entry and free the cache. NULL is fine. */
void		 tcache_free(struct tcache *);

/*
 * Drop every entry (a key reload: a key that is gone must stop verifying
 * at once, and cached claims point at the old key set). NULL is fine.
 */
void		 tcache_flush(struct tcache *);

/*
 * Compute the key of the token at jws (len bytes). False, and *key
 * untouched, when the cache is off (NULL), the token is longer than
 * TCACHE_TOKEN_MAX, or the digest fails: then do not use the cache for it.
 */
bool		 tcache_key(struct tcache *, const char *jws, size_t len,
		    struct tcache_key *key);

/*
 * The claims cached under key if they may be served at now; else NULL
 * (and an entry that may no longer be served is dropped). The result is
 * a new struct token_claims, with its own reference on the shared payload,
 * owned by the caller (token_claims_free); the payload must only be read.
 * claims->key is valid until the next tcache_flush().
 */
struct token_claims
		*tcache_lookup(struct tcache *, const struct tcache_key *key,
		    time_t now);

/*
 * Remember that the token with this key verified at now with these
 * claims (only ever for a token that token_verify() accepted at now).
 * The cache copies the struct and takes its own reference on
 * claims->payload; the caller keeps its claims. Claims already past exp +
 * leeway at now are not kept. Replaces an entry with the same key; evicts
 * one when full.
 */
void		 tcache_insert(struct tcache *, const struct tcache_key *key,
		    time_t now, const struct token_claims *claims);

/* Counters and sizes; all zero for NULL. */
void		 tcache_stats(const struct tcache *, struct tcache_stats *);

#endif
