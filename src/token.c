/*
 * token: the access token itself. Building the header and the claims,
 * signing (through keys.c), and strict verification.
 *
 * What it leaves to others: key loading and the signature math (keys.c),
 * revocation and client state (the store and the handlers), what a
 * verdict means over HTTP (the handlers).
 *
 * Invariants:
 * - Verification runs its checks in a fixed order (see token.h) and stops
 *   at the first failure; nothing is skipped. Everything the header says
 *   is checked before any cryptography, and the only keys ever tried are
 *   the caller's candidates (for access tokens: the one the kid names in
 *   the keyset), each with its own algorithm: "alg" must agree with the
 *   key, it never chooses. jku, x5u and x5c are never read; "jwk" only by
 *   a caller's find_key (DPoP proofs).
 * - One implementation, jws_verify(), checks every JWS: access tokens,
 *   client assertions, DPoP proofs.
 * - JSON is accepted only when it is strict RFC 8259 with strict UTF-8
 *   and no object in it names a member twice (RFC 7515 4, RFC 7519 4
 *   allow rejecting; json-c would silently keep the last one). See
 *   sjson_parse().
 * - No clock is read: the caller passes now. Nothing logs a token.
 *
 * Pure module: no libevent, no Redis client. Thread safe: no shared mutable
 * state; json-c objects are per call.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "b64url.h"
#include "jsonw.h"
#include "jwk.h"
#include "keys.h"
#include "log.h"
#include "record_rules.h"
#include "sjson.h"
#include "token.h"
#include "util.h"

#define JSON_DEPTH_MAX		16
#define JSON_TO_STRING_FLAGS	(JSON_C_TO_STRING_PLAIN | \
				 JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *const	 verdict_names[] = {
	[TOKEN_OK] = "ok",
	[TOKEN_MALFORMED] = "malformed",
	[TOKEN_TOO_LARGE] = "too_large",
	[TOKEN_BAD_HEADER] = "bad_header",
	[TOKEN_UNSUPPORTED_CRIT] = "unsupported_crit",
	[TOKEN_UNKNOWN_KID] = "unknown_kid",
	[TOKEN_ALG_MISMATCH] = "alg_mismatch",
	[TOKEN_BAD_SIGNATURE] = "bad_signature",
	[TOKEN_WRONG_TYPE] = "wrong_type",
	[TOKEN_WRONG_ISSUER] = "wrong_issuer",
	[TOKEN_MISSING_CLAIM] = "missing_claim",
	[TOKEN_BAD_CLAIM] = "bad_claim",
	[TOKEN_EXPIRED] = "expired",
	[TOKEN_NOT_YET_VALID] = "not_yet_valid",
};

const char *
token_verdict_name(enum token_verdict v)
{
	if ((size_t)v >= nitems(verdict_names) || verdict_names[v] == NULL)
		return "unknown";
	return verdict_names[v];
}

/*
 * json-c's read-only accessors (iterators, deep copy) take non-const
 * pointers. Objects passed through here are only read.
 */
static struct json_object *
unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

/*
 * The client's own claims as JSON members ("a":1,"b":2, no braces), the
 * registered ones left out; appended to w after a ','. Deep copies first:
 * json-c keeps an object's text inside the object, so serializing the
 * shared one would write to it. -1 if json-c fails.
 */
static int
put_extra_claims(struct jsonw *w, const struct json_object *extra)
{
	struct json_object		*obj, *copy, *val;
	struct json_object_iterator	 it, end;
	const char			*name, *text;
	size_t				 len;
	int				 rc = -1;

	if ((obj = json_object_new_object()) == NULL)
		return -1;
	it = json_object_iter_begin(unconst(extra));
	end = json_object_iter_end(unconst(extra));
	while (!json_object_iter_equal(&it, &end)) {
		name = json_object_iter_peek_name(&it);
		if (!record_rules_claim_is_reserved(name)) {
			/* a JSON null is a NULL json_object, copied as such */
			copy = NULL;
			if ((val = json_object_iter_peek_value(&it)) != NULL &&
			    json_object_deep_copy(val, &copy, NULL) != 0)
				goto out;
			if (json_object_object_add(obj, name, copy) != 0) {
				json_object_put(copy);
				goto out;
			}
		}
		json_object_iter_next(&it);
	}
	if (json_object_object_length(obj) == 0) {
		rc = 0;
		goto out;
	}
	if ((text = json_object_to_json_string_length(obj,
	    JSON_TO_STRING_FLAGS, &len)) == NULL || len < 2)
		goto out;
	jsonw_raw(w, ",", 1);
	jsonw_raw(w, text + 1, len - 2);
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}

/*
 * The header and the claims, written by hand (jsonw.h escapes strings as
 * json-c does): building them as json-c objects and serializing them cost
 * more than an HS256 signature. Same members, same order as before.
 */
static void
put_header(struct jsonw *w, const struct key *key, const char *typ)
{
	jsonw_begin(w);
	jsonw_key(w, "alg");
	jsonw_str(w, key_alg_name(key_alg(key)));
	jsonw_key(w, "typ");
	jsonw_str(w, typ);
	jsonw_key(w, "kid");
	jsonw_str(w, key_kid(key));
	jsonw_end(w);
}

static int
put_payload(struct jsonw *w, const struct token_params *p, const char *jti)
{
	jsonw_begin(w);
	jsonw_key(w, "iss");
	jsonw_str(w, p->issuer);
	jsonw_key(w, "sub");
	jsonw_str(w, p->client_id);
	jsonw_key(w, "aud");
	if (p->n_audiences >= 2) {
		size_t	 i;

		jsonw_raw(w, "[", 1);
		for (i = 0; i < p->n_audiences; i++) {
			if (i > 0)
				jsonw_raw(w, ",", 1);
			jsonw_str(w, p->audiences[i]);
		}
		jsonw_raw(w, "]", 1);
	} else
		jsonw_str(w, p->audience);
	jsonw_key(w, "exp");
	jsonw_int(w, (int64_t)p->iat + p->ttl);
	jsonw_key(w, "iat");
	jsonw_int(w, (int64_t)p->iat);
	jsonw_key(w, "jti");
	jsonw_str(w, jti);
	jsonw_key(w, "client_id");
	jsonw_str(w, p->client_id);
	if (p->client_gen != NULL && p->client_gen[0] != '\0') {
		jsonw_key(w, "client_gen");
		jsonw_str(w, p->client_gen);
	}
	/* RFC 9068 2.2.3: scope only when there is one */
	if (p->scope != NULL && p->scope[0] != '\0') {
		jsonw_key(w, "scope");
		jsonw_str(w, p->scope);
	}
	if (p->cnf_x5t != NULL || p->cnf_jkt != NULL) {
		jsonw_key(w, "cnf");
		jsonw_begin(w);
		if (p->cnf_x5t != NULL) {
			jsonw_key(w, "x5t#S256");
			jsonw_str(w, p->cnf_x5t);
		}
		if (p->cnf_jkt != NULL) {
			jsonw_key(w, "jkt");
			jsonw_str(w, p->cnf_jkt);
		}
		jsonw_end(w);
	}
	if (p->extra_claims != NULL &&
	    put_extra_claims(w, p->extra_claims) == -1)
		return -1;
	jsonw_end(w);
	return 0;
}

/*
 * TOKEN_JTI_BYTES random bytes for a jti. RAND_bytes() costs about as
 * much per call as for a few hundred bytes, so each thread takes 64 jtis'
 * worth at once and hands them out in turn; a byte handed out is wiped
 * from the pool. The jti is public (it is in the token), unpredictable
 * and unique: the bytes come from the same generator as before.
 */
#define JTI_POOL	(64 * TOKEN_JTI_BYTES)

static int
jti_random(unsigned char out[TOKEN_JTI_BYTES])
{
	static _Thread_local unsigned char	 pool[JTI_POOL];
	static _Thread_local size_t		 left;

	if (left < TOKEN_JTI_BYTES) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			return -1;
		left = sizeof(pool);
	}
	left -= TOKEN_JTI_BYTES;
	memcpy(out, pool + left, TOKEN_JTI_BYTES);
	OPENSSL_cleanse(pool + left, TOKEN_JTI_BYTES);
	return 0;
}

int
token_issue(const struct key *key, const struct token_params *p,
    char **jws, char jti_out[TOKEN_JTI_LEN + 1])
{
	struct jsonw		 hdr, pl;
	unsigned char		 rnd[TOKEN_JTI_BYTES], sig[KEY_SIG_MAX];
	char			 jti[TOKEN_JTI_LEN + 1], *buf = NULL;
	size_t			 siglen, cap, off;
	int			 rc = -1;

	*jws = NULL;
	jsonw_init(&hdr, 128);
	jsonw_init(&pl, 512);
	if (p->issuer == NULL || p->issuer[0] == '\0' ||
	    p->client_id == NULL || p->client_id[0] == '\0' ||
	    p->audience == NULL || p->audience[0] == '\0' ||
	    p->typ == NULL || p->ttl <= 0 ||
	    (p->extra_claims != NULL &&
	    !json_object_is_type(p->extra_claims, json_type_object))) {
		log_warnx("event=token_issue_failed kid=\"%s\" "
		    "err=\"bad parameters\"", key_kid(key));
		goto out;
	}
	/* RFC 9068 2.2 and RFC 7519 4.1.7: 128 bits, not a UUIDv4's 122 */
	if (jti_random(rnd) == -1) {
		ERR_clear_error();
		log_warnx("event=token_issue_failed kid=\"%s\" "
		    "err=\"RAND_bytes failed\"", key_kid(key));
		goto out;
	}
	b64url_encode(jti, rnd, sizeof(rnd));
	put_header(&hdr, key, p->typ);
	if (put_payload(&pl, p, jti) == -1) {
		log_warnx("event=token_issue_failed kid=\"%s\" "
		    "err=\"json-c failed\"", key_kid(key));
		goto out;
	}
	cap = b64url_encoded_len(hdr.len) + b64url_encoded_len(pl.len) +
	    b64url_encoded_len(KEY_SIG_MAX) + 3;
	buf = xmalloc(cap);
	off = b64url_encode(buf, (const unsigned char *)hdr.buf, hdr.len);
	buf[off++] = '.';
	off += b64url_encode(buf + off, (const unsigned char *)pl.buf,
	    pl.len);
	if (key_sign(key, buf, off, sig, &siglen) == -1)
		goto out;		/* logged */
	buf[off++] = '.';
	b64url_encode(buf + off, sig, siglen);
	*jws = buf;
	buf = NULL;
	memcpy(jti_out, jti, sizeof(jti));
	rc = 0;
out:
	free(buf);
	jsonw_free(&pl);
	jsonw_free(&hdr);
	return rc;
}

void
token_claims_free(struct token_claims *c)
{
	if (c == NULL)
		return;
	json_object_put(c->payload);
	free(c);
}

/* Decode one segment into a new buffer (NUL-terminated for convenience). */
static unsigned char *
decode_segment(const char *src, size_t n, size_t *outlen)
{
	unsigned char	*buf;

	buf = xmalloc(B64URL_DECODED_MAX(n) + 1);
	if (b64url_decode(buf, outlen, src, n) == -1) {
		free(buf);
		return NULL;
	}
	buf[*outlen] = '\0';
	return buf;
}

/* A member that must be a string if present; BAD_HEADER otherwise. */
static int
header_string(struct json_object *hdr, const char *name, const char **s,
    size_t *len)
{
	struct json_object	*v;

	*s = NULL;
	*len = 0;
	if (!json_object_object_get_ex(hdr, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
}

/*
 * RFC 7515 4.1.9: "application/" may be left out of a media type, and
 * media types compare case-insensitively (RFC 2045 5.1).
 */
static bool
typ_matches(const char *typ, size_t len, const char *want)
{
	size_t	 wlen = strlen(want);

	if (len == wlen + 12 && strncasecmp(typ, "application/", 12) == 0) {
		typ += 12;
		len -= 12;
	}
	return len == wlen && strncasecmp(typ, want, wlen) == 0;
}

/* A string claim: present (if required), a string, no embedded NUL. */
static enum token_verdict
claim_string(struct json_object *pl, const char *name, bool required,
    const char **out)
{
	struct json_object	*v;
	const char		*s;
	size_t			 n;

	*out = NULL;
	if (!json_object_object_get_ex(pl, name, &v))
		return required ? TOKEN_MISSING_CLAIM : TOKEN_OK;
	if (!json_object_is_type(v, json_type_string))
		return TOKEN_BAD_CLAIM;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n || (required && n == 0))
		return TOKEN_BAD_CLAIM;
	*out = s;
	return TOKEN_OK;
}

/*
 * aud: absent, a string (c->aud) or an array of strings (c->aud_array),
 * none holding a NUL; anything else is BAD_CLAIM.
 */
static enum token_verdict
claim_aud(struct json_object *pl, struct token_claims *c)
{
	struct json_object	*v, *e;
	size_t			 i, n;

	if (!json_object_object_get_ex(pl, "aud", &v))
		return TOKEN_OK;
	if (json_object_is_type(v, json_type_string))
		return claim_string(pl, "aud", false, &c->aud);
	if (!json_object_is_type(v, json_type_array))
		return TOKEN_BAD_CLAIM;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    strlen(json_object_get_string(e)) !=
		    (size_t)json_object_get_string_len(e))
			return TOKEN_BAD_CLAIM;
	}
	c->aud_array = v;
	return TOKEN_OK;
}

bool
token_claims_has_aud(const struct token_claims *c, const char *want)
{
	size_t	 i, n;

	if (c->aud != NULL)
		return strcmp(c->aud, want) == 0;
	if (c->aud_array == NULL)
		return false;
	n = json_object_array_length(c->aud_array);
	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(
		    c->aud_array, i)), want) == 0)
			return true;
	return false;
}

static bool
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
token_claims_aud_join(const struct token_claims *c, char *buf, size_t size)
{
	const char	*a;
	size_t		 i, n, len, off = 0;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	n = c->aud != NULL ? 1 : c->aud_array != NULL ?
	    json_object_array_length(c->aud_array) : 0;
	for (i = 0; i < n; i++) {
		a = c->aud != NULL ? c->aud : json_object_get_string(
		    json_object_array_get_idx(c->aud_array, i));
		if (!header_safe(a))
			continue;
		len = strlen(a);
		if (off + (off > 0) + len + 1 > size) {
			buf[0] = '\0';
			return -1;
		}
		if (off > 0)
			buf[off++] = ' ';
		memcpy(buf + off, a, len + 1);
		off += len;
	}
	return (int)off;
}

/* cnf's member name: a non-empty string without NUL (token.h) */
static const char *
cnf_member(const struct token_claims *c, const char *name, bool *malformed)
{
	struct json_object	*cnf, *x;
	const char		*s;

	*malformed = false;
	if (!json_object_object_get_ex(c->payload, "cnf", &cnf))
		return NULL;
	if (!json_object_is_type(cnf, json_type_object)) {
		*malformed = true;
		return NULL;
	}
	if (!json_object_object_get_ex(cnf, name, &x))
		return NULL;
	if (!json_object_is_type(x, json_type_string) ||
	    (s = json_object_get_string(x))[0] == '\0' ||
	    strlen(s) != (size_t)json_object_get_string_len(x)) {
		*malformed = true;
		return NULL;
	}
	return s;
}

const char *
token_claims_cnf_x5t(const struct token_claims *c, bool *malformed)
{
	return cnf_member(c, "x5t#S256", malformed);
}

const char *
token_claims_cnf_jkt(const struct token_claims *c, bool *malformed)
{
	return cnf_member(c, "jkt", malformed);
}

/* A NumericDate (RFC 7519 2): an integer or a finite fraction. */
struct numeric_date {
	bool	 is_int;
	int64_t	 i;
	double	 d;
};

static enum token_verdict
claim_date(struct json_object *pl, const char *name, bool *present,
    struct numeric_date *nd)
{
	struct json_object	*v;

	*present = false;
	if (!json_object_object_get_ex(pl, name, &v))
		return TOKEN_OK;
	*present = true;
	if (json_object_is_type(v, json_type_int)) {
		/* beyond INT64_MAX (json-c keeps it as uint64) clamps */
		nd->is_int = true;
		nd->i = json_object_get_int64(v);
		return TOKEN_OK;
	}
	if (json_object_is_type(v, json_type_double)) {
		nd->is_int = false;
		nd->d = json_object_get_double(v);
		/* 1e400 parses as infinity */
		if (nd->d != nd->d || nd->d > 1e300 || nd->d < -1e300)
			return TOKEN_BAD_CLAIM;
		return TOKEN_OK;
	}
	return TOKEN_BAD_CLAIM;
}

/* -1, 0, 1 as the date is before, at, after t. */
static int
date_cmp(const struct numeric_date *nd, int64_t t)
{
	if (nd->is_int)
		return nd->i < t ? -1 : nd->i > t;
	return nd->d < (double)t ? -1 : nd->d > (double)t;
}

/* The date in whole seconds, rounded down, clamped to int64_t. */
static int64_t
date_seconds(const struct numeric_date *nd)
{
	int64_t	 v;

	if (nd->is_int)
		return nd->i;
	if (nd->d >= 9.2e18)
		return INT64_MAX;
	if (nd->d <= -9.2e18)
		return INT64_MIN;
	v = (int64_t)nd->d;
	if ((double)v > nd->d)
		v--;
	return v;
}

static enum token_verdict
check_claims(struct json_object *pl, time_t now,
    const struct token_rules *rules, struct token_claims *c)
{
	struct numeric_date	 exp, nbf, iat;
	enum token_verdict	 v;
	bool			 present;
	int64_t			 leeway = rules->leeway > 0 ? rules->leeway : 0;
	int64_t			 t = (int64_t)now;

	if ((v = claim_string(pl, "iss", true, &c->iss)) != TOKEN_OK)
		return v;
	if (rules->issuer == NULL || strcmp(c->iss, rules->issuer) != 0)
		return TOKEN_WRONG_ISSUER;

	/* RFC 7519 4.1.4, with leeway for clock skew */
	if ((v = claim_date(pl, "exp", &present, &exp)) != TOKEN_OK)
		return v;
	if (!present)
		return TOKEN_MISSING_CLAIM;
	if (date_cmp(&exp, t - leeway) <= 0)
		return TOKEN_EXPIRED;

	/* RFC 7519 4.1.5 */
	if ((v = claim_date(pl, "nbf", &c->has_nbf, &nbf)) != TOKEN_OK)
		return v;
	if (c->has_nbf && date_cmp(&nbf, t + leeway) > 0)
		return TOKEN_NOT_YET_VALID;

	/* RFC 9068 2.2: iat is required; one from the future is refused */
	if ((v = claim_date(pl, "iat", &present, &iat)) != TOKEN_OK)
		return v;
	if (!present)
		return TOKEN_MISSING_CLAIM;
	if (date_cmp(&iat, t + leeway) > 0)
		return TOKEN_NOT_YET_VALID;

	if ((v = claim_string(pl, "jti", true, &c->jti)) != TOKEN_OK ||
	    (v = claim_string(pl, "sub", true, &c->sub)) != TOKEN_OK ||
	    (v = claim_string(pl, "client_id", true, &c->client_id)) !=
	    TOKEN_OK ||
	    (v = claim_string(pl, "scope", false, &c->scope)) != TOKEN_OK ||
	    (v = claim_string(pl, "client_gen", false, &c->client_gen)) !=
	    TOKEN_OK)
		return v;
	/* RFC 7519 4.1.3: a string or an array of strings */
	if ((v = claim_aud(pl, c)) != TOKEN_OK)
		return v;

	c->exp = date_seconds(&exp);
	c->iat = date_seconds(&iat);
	c->nbf = c->has_nbf ? date_seconds(&nbf) : 0;
	return TOKEN_OK;
}

void
jws_parsed_clear(struct jws_parsed *j)
{
	if (j == NULL)
		return;
	json_object_put(j->header);
	json_object_put(j->payload);
	memset(j, 0, sizeof(*j));
}

enum token_verdict
jws_verify(const char *jws, size_t len, size_t max_len, const char *typ_want,
    jws_key_fn find_key, void *arg, struct jws_parsed *out)
{
	const char		*d1, *d2, *alg, *kid, *typ;
	unsigned char		*hbuf = NULL, *pbuf = NULL, *sbuf = NULL;
	struct json_object	*hdr = NULL, *pl = NULL;
	const struct key	*key = NULL, *cand;
	const char		*want_alg;
	size_t			 max, hlen, plen, slen, alglen, kidlen, typlen;
	size_t			 i;
	enum token_verdict	 v, kv;

	memset(out, 0, sizeof(*out));
	max = max_len > 0 ? max_len : TOKEN_MAX_LEN;
	if (len > max) {
		v = TOKEN_TOO_LARGE;
		goto out;
	}

	/*
	 * RFC 7515 7.1: exactly three segments; the strict decoder checks
	 * the alphabet, so a NUL, '=', '+', '/' or a space is malformed.
	 */
	v = TOKEN_MALFORMED;
	if (jws == NULL || (d1 = memchr(jws, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws))) ==
	    NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)) != NULL)
		goto out;
	if (d1 == jws || d2 == d1 + 1)
		goto out;
	if ((hbuf = decode_segment(jws, (size_t)(d1 - jws), &hlen)) == NULL ||
	    (pbuf = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1),
	    &plen)) == NULL ||
	    (sbuf = decode_segment(d2 + 1, len - (size_t)(d2 + 1 - jws),
	    &slen)) == NULL)
		goto out;

	/* the header, all of it before any cryptography */
	if ((hdr = sjson_parse((const char *)hbuf, hlen, JSON_DEPTH_MAX)) ==
	    NULL || !json_object_is_type(hdr, json_type_object))
		goto out;
	/* RFC 7515 4.1.11: we implement no extension, so any crit fails */
	if (json_object_object_get_ex(hdr, "crit", NULL)) {
		v = TOKEN_UNSUPPORTED_CRIT;
		goto out;
	}
	v = TOKEN_BAD_HEADER;
	if (header_string(hdr, "alg", &alg, &alglen) == -1 || alg == NULL ||
	    header_string(hdr, "kid", &kid, &kidlen) == -1 ||
	    header_string(hdr, "typ", &typ, &typlen) == -1)
		goto out;
	/* RFC 8725 3.1: "none" never, whatever the key */
	if (alglen == 4 && strncasecmp(alg, "none", 4) == 0) {
		v = TOKEN_ALG_MISMATCH;
		goto out;
	}

	/*
	 * The candidates find_key gives, in its order: RFC 8725 3.1, the key
	 * decides the algorithm and alg must agree; the signature over the
	 * ASCII of header.payload (RFC 7515 5.2).
	 */
	v = TOKEN_UNKNOWN_KID;
	for (i = 0; key == NULL; i++) {
		cand = NULL;
		if ((kv = find_key(arg, hdr, kid, kidlen, i, &cand)) !=
		    TOKEN_OK) {
			v = kv;
			goto out;
		}
		if (cand == NULL)
			goto out;
		want_alg = key_alg_name(key_alg(cand));
		if (alglen != strlen(want_alg) ||
		    memcmp(alg, want_alg, alglen) != 0) {
			if (v != TOKEN_BAD_SIGNATURE)
				v = TOKEN_ALG_MISMATCH;
			continue;
		}
		if (key_verify(cand, jws, (size_t)(d2 - jws), sbuf, slen) ==
		    -1) {
			v = TOKEN_BAD_SIGNATURE;
			continue;
		}
		key = cand;
	}

	/* RFC 9068 4 step 1, RFC 8725 3.11: explicit typing */
	if (typ_want != NULL && (typ == NULL ||
	    !typ_matches(typ, typlen, typ_want))) {
		v = TOKEN_WRONG_TYPE;
		goto out;
	}

	if ((pl = sjson_parse((const char *)pbuf, plen, JSON_DEPTH_MAX)) ==
	    NULL || !json_object_is_type(pl, json_type_object)) {
		v = TOKEN_MALFORMED;
		goto out;
	}
	out->header = hdr;
	out->payload = pl;
	out->key = key;
	hdr = pl = NULL;
	v = TOKEN_OK;
out:
	json_object_put(pl);
	json_object_put(hdr);
	free(sbuf);
	free(pbuf);
	free(hbuf);
	return v;
}

/* The keyset's key the kid names: one candidate; the kid is required. */
static enum token_verdict
keyset_candidate(void *arg, const struct json_object *hdr, const char *kid,
    size_t kidlen, size_t i, const struct key **key)
{
	const struct keyset	*ks = arg;

	(void)hdr;
	if (kid == NULL)
		return TOKEN_BAD_HEADER;
	*key = i == 0 ? keyset_find(ks, kid, kidlen) : NULL;
	return TOKEN_OK;
}

enum token_verdict
jws_key_from_set(void *arg, const struct json_object *hdr, const char *kid,
    size_t kidlen, size_t i, const struct key **key)
{
	const struct jwk_set	*set = arg;

	(void)hdr;
	if (kid != NULL) {
		*key = i == 0 ? jwk_set_find(set, kid, kidlen) : NULL;
		return TOKEN_OK;
	}
	*key = jwk_set_key(set, i);
	return TOKEN_OK;
}

enum token_verdict
token_verify(const struct keyset *ks, const char *jws, size_t len,
    time_t now, const struct token_rules *rules,
    struct token_claims **claims)
{
	struct jws_parsed	 j;
	struct token_claims	*c;
	enum token_verdict	 v;

	*claims = NULL;
	if (rules->typ == NULL)
		return TOKEN_WRONG_TYPE;
	v = jws_verify(jws, len, rules->max_len, rules->typ,
	    keyset_candidate, (void *)(uintptr_t)ks, &j);
	if (v != TOKEN_OK)
		return v;
	c = xcalloc(1, sizeof(*c));
	if ((v = check_claims(j.payload, now, rules, c)) != TOKEN_OK) {
		free(c);
		jws_parsed_clear(&j);
		return v;
	}
	c->payload = j.payload;
	j.payload = NULL;
	c->key = j.key;
	jws_parsed_clear(&j);
	*claims = c;
	return TOKEN_OK;
}
