/*
 * test_tcache: the verified-token cache. Hits, misses, the CLOCK eviction
 * at capacity, expiry at exp + leeway and a clock that goes back (time is
 * a parameter: nothing sleeps), bucket and partial-digest collisions with
 * crafted keys, flush, and the cache turned off.
 *
 * The last test checks the one promise that matters for security against
 * token_verify() itself: at every moment, a hit is only ever served when a
 * fresh verification at that moment accepts the token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "b64url.h"
#include "config.h"
#include "keys.h"
#include "tcache.h"
#include "test.h"
#include "token.h"
#include "util.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define ISSUER	"https://issuer.test"

/* Claims as token_verify() would give them; the payload is new. */
static struct token_claims
claims_for(const char *jti, int64_t iat, int64_t exp)
{
	struct token_claims	 c;
	struct json_object	*pl = json_object_new_object();

	json_object_object_add(pl, "jti", json_object_new_string(jti));
	json_object_object_add(pl, "client_id", json_object_new_string("c1"));
	json_object_object_add(pl, "iat", json_object_new_int64(iat));
	json_object_object_add(pl, "exp", json_object_new_int64(exp));
	memset(&c, 0, sizeof(c));
	c.payload = pl;
	c.jti = json_object_get_string(json_object_object_get(pl, "jti"));
	c.client_id = "c1";
	c.iss = c.sub = "c1";
	c.iat = iat;
	c.exp = exp;
	return c;
}

/* A key whose digest bytes are all b except the last, which is last. */
static struct tcache_key
mkkey(unsigned char b, unsigned char last)
{
	struct tcache_key	 k;

	memset(k.d, b, sizeof(k.d));
	k.d[sizeof(k.d) - 1] = last;
	return k;
}

static size_t
count(const struct tcache *c)
{
	struct tcache_stats	 st;

	tcache_stats(c, &st);
	return st.count;
}

/* Whether key hits at now, and with claims whose jti is jti. */
static int
hits(struct tcache *c, const struct tcache_key *k, time_t now,
    const char *jti)
{
	struct token_claims	*got;
	int			 ok;

	if ((got = tcache_lookup(c, k, now)) == NULL)
		return 0;
	ok = jti == NULL || strcmp(got->jti, jti) == 0;
	token_claims_free(got);
	return ok ? 1 : -1;
}

static void
test_tcache_off(void)
{
	struct tcache_key	 k = mkkey(1, 1);
	struct token_claims	 cl = claims_for("a", 100, 1000);
	struct tcache_stats	 st;

	TEST_ASSERT(tcache_new(0, 30) == NULL);
	TEST_ASSERT(!tcache_key(NULL, "a.b.c", 5, &k));
	tcache_insert(NULL, &k, 100, &cl);
	TEST_ASSERT(tcache_lookup(NULL, &k, 100) == NULL);
	tcache_flush(NULL);
	tcache_stats(NULL, &st);
	TEST_ASSERT(st.count == 0 && st.capacity == 0 && st.hits == 0);
	tcache_free(NULL);
	json_object_put(cl.payload);
}

static void
test_tcache_key(void)
{
	/* FIPS 180-2 B.1: SHA-256("abc") */
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	struct tcache		*c = tcache_new(8, 30);
	struct tcache_key	 k1, k2;
	char			*big = xmalloc(TCACHE_TOKEN_MAX + 1);

	TEST_ASSERT(c != NULL);
	TEST_ASSERT(tcache_key(c, "abc", 3, &k1));
	TEST_ASSERT(memcmp(k1.d, abc, 32) == 0);
	/* the whole text counts, not a prefix */
	TEST_ASSERT(tcache_key(c, "abcd", 3, &k2));
	TEST_ASSERT(memcmp(k1.d, k2.d, 32) == 0);
	TEST_ASSERT(tcache_key(c, "abcd", 4, &k2));
	TEST_ASSERT(memcmp(k1.d, k2.d, 32) != 0);
	/* the size bound: longer tokens are not cached */
	memset(big, 'a', TCACHE_TOKEN_MAX + 1);
	TEST_ASSERT(tcache_key(c, big, TCACHE_TOKEN_MAX, &k2));
	TEST_ASSERT(!tcache_key(c, big, TCACHE_TOKEN_MAX + 1, &k2));
	free(big);
	tcache_free(c);
}

static void
test_tcache_hit_miss(void)
{
	struct tcache		*c = tcache_new(16, 30);
	struct tcache_key	 k = mkkey(7, 7), other = mkkey(8, 8);
	struct token_claims	 cl = claims_for("j1", 100, 1000);
	struct token_claims	*got, *got2;
	struct tcache_stats	 st;

	TEST_ASSERT(hits(c, &k, 100, NULL) == 0);
	tcache_insert(c, &k, 100, &cl);
	TEST_ASSERT(count(c) == 1);
	/* the caller keeps its own claims */
	json_object_put(cl.payload);
	got = tcache_lookup(c, &k, 200);
	TEST_ASSERT(got != NULL);
	TEST_ASSERT(strcmp(got->jti, "j1") == 0 && got->exp == 1000 &&
	    got->iat == 100 && strcmp(got->client_id, "c1") == 0);
	TEST_ASSERT(hits(c, &other, 200, NULL) == 0);
	/* the claims handed out outlive the cache */
	got2 = tcache_lookup(c, &k, 200);
	TEST_ASSERT(got2 != NULL && got2->payload == got->payload);
	tcache_stats(c, &st);
	TEST_ASSERT(st.hits == 2 && st.misses == 2 && st.count == 1 &&
	    st.capacity == 16);
	tcache_free(c);
	TEST_ASSERT(strcmp(json_object_get_string(json_object_object_get(
	    got->payload, "jti")), "j1") == 0);
	token_claims_free(got);
	token_claims_free(got2);
}

/* token.c: expired when exp <= now - leeway. */
static void
test_tcache_expiry(void)
{
	struct tcache		*c = tcache_new(16, 5);
	struct tcache_key	 k = mkkey(1, 1);
	struct token_claims	 cl = claims_for("j", 100, 1000);
	struct tcache_stats	 st;

	tcache_insert(c, &k, 100, &cl);
	TEST_ASSERT(hits(c, &k, 999, "j") == 1);
	TEST_ASSERT(hits(c, &k, 1000, "j") == 1);
	TEST_ASSERT(hits(c, &k, 1004, "j") == 1);
	TEST_ASSERT(hits(c, &k, 1005, NULL) == 0);
	/* dropped, so even an earlier clock no longer finds it */
	TEST_ASSERT(count(c) == 0);
	TEST_ASSERT(hits(c, &k, 1000, NULL) == 0);
	tcache_stats(c, &st);
	TEST_ASSERT(st.expired == 1);

	/* a token already past exp + leeway is not kept */
	tcache_insert(c, &k, 1005, &cl);
	TEST_ASSERT(count(c) == 0);

	/* leeway 0 */
	tcache_free(c);
	c = tcache_new(16, 0);
	tcache_insert(c, &k, 100, &cl);
	TEST_ASSERT(hits(c, &k, 999, "j") == 1);
	TEST_ASSERT(hits(c, &k, 1000, NULL) == 0);
	tcache_free(c);
	json_object_put(cl.payload);
}

/* nbf and iat held when it was verified; a clock gone back voids that. */
static void
test_tcache_clock_back(void)
{
	struct tcache		*c = tcache_new(16, 30);
	struct tcache_key	 k = mkkey(2, 2);
	struct token_claims	 cl = claims_for("j", 500, 1000);

	tcache_insert(c, &k, 500, &cl);
	TEST_ASSERT(hits(c, &k, 500, "j") == 1);
	TEST_ASSERT(hits(c, &k, 499, NULL) == 0);
	TEST_ASSERT(count(c) == 0);
	TEST_ASSERT(hits(c, &k, 500, NULL) == 0);
	tcache_free(c);
	json_object_put(cl.payload);
}

/* Same bucket, digests equal but for one byte: never confused. */
static void
test_tcache_collisions(void)
{
	struct tcache		*c = tcache_new(4, 30);
	struct tcache_key	 a = mkkey(9, 1), b = mkkey(9, 2);
	struct tcache_key	 d = mkkey(9, 3), near = mkkey(9, 4);
	struct tcache_key	 first;
	struct token_claims	 ca = claims_for("a", 100, 1000);
	struct token_claims	 cb = claims_for("b", 100, 2000);
	struct token_claims	 cd = claims_for("d", 100, 3000);

	tcache_insert(c, &a, 100, &ca);
	TEST_ASSERT(hits(c, &b, 100, NULL) == 0);
	TEST_ASSERT(hits(c, &near, 100, NULL) == 0);
	tcache_insert(c, &b, 100, &cb);
	tcache_insert(c, &d, 100, &cd);
	TEST_ASSERT(count(c) == 3);
	TEST_ASSERT(hits(c, &a, 100, "a") == 1);
	TEST_ASSERT(hits(c, &b, 100, "b") == 1);
	TEST_ASSERT(hits(c, &d, 100, "d") == 1);
	TEST_ASSERT(hits(c, &near, 100, NULL) == 0);
	/* a digest differing in the first byte only */
	first = a;
	first.d[0] ^= 0x80;
	TEST_ASSERT(hits(c, &first, 100, NULL) == 0);
	/* drop the middle of the chain (b expires first); a and d stay */
	TEST_ASSERT(hits(c, &b, 2030, NULL) == 0);
	TEST_ASSERT(count(c) == 2);
	TEST_ASSERT(hits(c, &d, 2030, "d") == 1);
	TEST_ASSERT(hits(c, &a, 900, "a") == 1);
	/* the same key again replaces, it does not duplicate */
	tcache_insert(c, &a, 900, &cd);
	TEST_ASSERT(count(c) == 2);
	TEST_ASSERT(hits(c, &a, 900, "d") == 1);
	tcache_free(c);
	json_object_put(ca.payload);
	json_object_put(cb.payload);
	json_object_put(cd.payload);
}

/* CLOCK: the entry used since the hand passed survives; capacity holds. */
static void
test_tcache_eviction(void)
{
	struct tcache		*c = tcache_new(4, 30);
	struct tcache_key	 k[6];
	struct token_claims	 cl[6];
	struct tcache_stats	 st;
	char			 jti[6][4];
	int			 i;

	for (i = 0; i < 6; i++) {
		k[i] = mkkey((unsigned char)(i + 1), (unsigned char)i);
		snprintf(jti[i], sizeof(jti[i]), "j%d", i);
		cl[i] = claims_for(jti[i], 100, i == 2 ? 150 : 1000);
	}
	for (i = 0; i < 4; i++)
		tcache_insert(c, &k[i], 100, &cl[i]);
	TEST_ASSERT(count(c) == 4);
	TEST_ASSERT(hits(c, &k[0], 100, "j0") == 1);
	tcache_insert(c, &k[4], 100, &cl[4]);
	TEST_ASSERT(count(c) == 4);
	/* k0 was referenced, so k1 went */
	TEST_ASSERT(hits(c, &k[1], 100, NULL) == 0);
	TEST_ASSERT(hits(c, &k[0], 100, "j0") == 1);
	TEST_ASSERT(hits(c, &k[3], 100, "j3") == 1);
	TEST_ASSERT(hits(c, &k[4], 100, "j4") == 1);
	/* an expired entry goes first even though it was used */
	TEST_ASSERT(hits(c, &k[2], 100, "j2") == 1);
	tcache_insert(c, &k[5], 200, &cl[5]);
	TEST_ASSERT(count(c) == 4);
	TEST_ASSERT(hits(c, &k[0], 200, "j0") == 1);
	TEST_ASSERT(hits(c, &k[3], 200, "j3") == 1);
	TEST_ASSERT(hits(c, &k[4], 200, "j4") == 1);
	TEST_ASSERT(hits(c, &k[5], 200, "j5") == 1);
	tcache_stats(c, &st);
	TEST_ASSERT(st.evictions == 2);
	tcache_free(c);
	for (i = 0; i < 6; i++)
		json_object_put(cl[i].payload);
}

/* Many more tokens than room: never more than capacity, never wrong. */
static void
test_tcache_churn(void)
{
	struct tcache		*c = tcache_new(100, 30);
	struct tcache_key	 k;
	struct token_claims	 cl;
	char			 jti[32];
	int			 i, j, found = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		TEST_ASSERT(tcache_key(c, jti, strlen(jti), &k));
		cl = claims_for(jti, 100, 1000);
		tcache_insert(c, &k, 100, &cl);
		json_object_put(cl.payload);
		TEST_ASSERT(count(c) <= 100);
		/* look a few recent ones up, so some are referenced */
		for (j = i; j >= 0 && j > i - 3; j--) {
			snprintf(jti, sizeof(jti), "j%d", j);
			tcache_key(c, jti, strlen(jti), &k);
			TEST_ASSERT(hits(c, &k, 100, jti) >= 0);
		}
	}
	TEST_ASSERT(count(c) == 100);
	for (i = 0; i < 5000; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		tcache_key(c, jti, strlen(jti), &k);
		j = hits(c, &k, 100, jti);
		TEST_ASSERT(j >= 0);
		found += j;
	}
	TEST_ASSERT(found == 100);
	tcache_flush(c);
	TEST_ASSERT(count(c) == 0);
	snprintf(jti, sizeof(jti), "j4999");
	tcache_key(c, jti, strlen(jti), &k);
	TEST_ASSERT(hits(c, &k, 100, NULL) == 0);
	cl = claims_for(jti, 100, 1000);
	tcache_insert(c, &k, 100, &cl);
	TEST_ASSERT(hits(c, &k, 100, jti) == 1);
	tcache_free(c);
	json_object_put(cl.payload);
}

/* ---- against token_verify() ---- */

static char *
sign_token(const struct key *key, const char *payload)
{
	const char	*hdr = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"hs256\"}";
	unsigned char	 sig[KEY_SIG_MAX];
	size_t		 siglen, off, cap;
	char		*buf;

	cap = b64url_encoded_len(strlen(hdr)) +
	    b64url_encoded_len(strlen(payload)) +
	    b64url_encoded_len(KEY_SIG_MAX) + 3;
	buf = xmalloc(cap);
	off = b64url_encode(buf, (const unsigned char *)hdr, strlen(hdr));
	buf[off++] = '.';
	off += b64url_encode(buf + off, (const unsigned char *)payload,
	    strlen(payload));
	if (key_sign(key, buf, off, sig, &siglen) == -1) {
		free(buf);
		return NULL;
	}
	buf[off++] = '.';
	b64url_encode(buf + off, sig, siglen);
	return buf;
}

/*
 * For tokens with whole and fractional exp, nbf and iat, and every pair
 * (moment verified, moment asked) around them: a hit only when a fresh
 * token_verify() at the moment asked says TOKEN_OK; and with whole-second
 * dates, asked at or after verified, exactly then.
 */
static void
test_tcache_never_more_permissive(void)
{
	static const struct {
		const char	*claims;
		int		 whole;
	} cases[] = {
		{ "\"iat\":1000,\"exp\":1060", 1 },
		{ "\"iat\":1000,\"nbf\":1020,\"exp\":1060", 1 },
		{ "\"iat\":1000.5,\"exp\":1060.5", 0 },
		{ "\"iat\":1000,\"nbf\":1019.5,\"exp\":1059.9", 0 },
		{ "\"iat\":1045,\"exp\":1050", 1 },
	};
	struct config		 cfg;
	struct keyset		*ks;
	struct token_rules	 rules;
	struct tcache		*c;
	struct tcache_key	 k;
	struct token_claims	*fresh, *got;
	char			 path[512], err[256], payload[512], *tok;
	char			*retired[1] = { NULL };
	size_t			 i;
	time_t			 t0, now;
	enum token_verdict	 v;
	int			 hit, ok;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(path, sizeof(path), "%s/hs256.key", TEST_DATA_DIR);
	cfg.hs256_secret_file = path;
	cfg.hs256_kid = (char *)(uintptr_t)"hs256";
	cfg.retired_keys = retired;
	ks = keyset_load(&cfg, err, sizeof(err));
	if (ks == NULL)
		fprintf(stderr, "keyset_load: %s\n", err);
	TEST_ASSERT(ks != NULL);
	memset(&rules, 0, sizeof(rules));
	rules.issuer = ISSUER;
	rules.typ = TOKEN_TYP_AT_JWT_STR;
	rules.leeway = 7;
	c = tcache_new(4, rules.leeway);
	for (i = 0; i < nitems(cases); i++) {
		snprintf(payload, sizeof(payload), "{\"iss\":\"" ISSUER "\","
		    "\"sub\":\"c1\",\"client_id\":\"c1\",\"jti\":\"j%zu\",%s}",
		    i, cases[i].claims);
		tok = sign_token(keyset_signing_key(ks), payload);
		TEST_ASSERT(tok != NULL);
		TEST_ASSERT(tcache_key(c, tok, strlen(tok), &k));
		for (t0 = 980; t0 <= 1075; t0++) {
			v = token_verify(ks, tok, strlen(tok), t0, &rules,
			    &fresh);
			if (v != TOKEN_OK)
				continue;
			for (now = t0 - 10; now <= 1075; now++) {
				tcache_flush(c);
				tcache_insert(c, &k, t0, fresh);
				got = tcache_lookup(c, &k, now);
				hit = got != NULL;
				token_claims_free(got);
				v = token_verify(ks, tok, strlen(tok), now,
				    &rules, &got);
				ok = v == TOKEN_OK;
				token_claims_free(got);
				if (hit && !ok)
					fprintf(stderr, "case %zu: t0=%lld "
					    "now=%lld: cached but %s\n", i,
					    (long long)t0, (long long)now,
					    token_verdict_name(v));
				TEST_ASSERT(!hit || ok);
				if (cases[i].whole && now >= t0)
					TEST_ASSERT(hit == ok);
			}
			token_claims_free(fresh);
		}
		free(tok);
	}
	tcache_free(c);
	keyset_unref(ks);
}

int
main(void)
{
	test_run(test_tcache_off);
	test_run(test_tcache_key);
	test_run(test_tcache_hit_miss);
	test_run(test_tcache_expiry);
	test_run(test_tcache_clock_back);
	test_run(test_tcache_collisions);
	test_run(test_tcache_eviction);
	test_run(test_tcache_churn);
	test_run(test_tcache_never_more_permissive);
	return test_summary();
}
