/*
 * dpop: the key-free rules of a DPoP proof (RFC 9449 4.3): the htu
 * comparison (RFC 3986 6.2.2 and 6.2.3 normalisation), the header rules
 * and the claims rules, with the clock a parameter.
 *
 * Leaves to others: the JWK's decoding, the signature and the thumbprint
 * (the JWK and JWS modules), the jti's single use (db.c at the token
 * endpoint, dpop_seen.c at /verify), what to answer (the handlers).
 *
 * Invariants: every input is bounded before it is looked at
 * (DPOP_HTU_MAX, DPOP_JTI_MAX); nothing is logged here (a proof is never
 * logged, its jti only, by the caller). The one allocation that outlives
 * a call is each thread's cache of decoded proof keys (below), freed when
 * the thread exits.
 */
#include "dpop.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "jwk.h"
#include "keys.h"
#include "token.h"
#include "util.h"

bool
dpop_alg_supported(const char *alg, size_t len)
{
	const char	*p = DPOP_ALGS, *e;

	if (len == 0 || memchr(alg, ' ', len) != NULL)
		return false;
	while (*p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == len && memcmp(p, alg, len) == 0)
			return true;
		p = *e == ' ' ? e + 1 : e;
	}
	return false;
}

/* RFC 3986 2.3 */
static bool
is_unreserved(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 2.2 */
static bool
is_sub_delim(int c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/*
 * Copy the n bytes at s to *o (bounded by end), normalising
 * percent-encodings: an unreserved character is decoded, the others keep
 * their encoding with uppercase hex. allowed() says which raw bytes may
 * appear; lower lowercases raw letters (the host). Returns 0 or -1.
 */
static int
copy_normalised(const char *s, size_t n, char **o, const char *end,
    bool (*allowed)(int), bool lower)
{
	size_t	i;
	int	hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			hi = hex_digit((unsigned char)s[i + 1]);
			lo = hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
			if (is_unreserved(c)) {
				if (*o >= end)
					return -1;
				*(*o)++ = (char)(lower ? tolower(c) : c);
			} else {
				if (end - *o < 3)
					return -1;
				*(*o)++ = '%';
				*(*o)++ = "0123456789ABCDEF"[c >> 4];
				*(*o)++ = "0123456789ABCDEF"[c & 15];
			}
			continue;
		}
		if (!allowed(c))
			return -1;
		if (*o >= end)
			return -1;
		*(*o)++ = (char)(lower ? tolower(c) : c);
	}
	return 0;
}

/* reg-name: unreserved / sub-delims (pct-encoded handled apart) */
static bool
host_char(int c)
{
	return is_unreserved(c) || is_sub_delim(c);
}

/* path: pchar / "/" */
static bool
path_char(int c)
{
	return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' ||
	    c == '/';
}

/* IP-literal: the hex digits, colons and dots of IPv6 (and v4 tail) */
static bool
ipv6_char(int c)
{
	return isxdigit(c) || c == ':' || c == '.';
}

/*
 * RFC 3986 5.2.4 remove_dot_segments, in place on the NUL-terminated
 * absolute path p (it starts with '/'). The output never grows.
 */
static void
remove_dot_segments(char *p)
{
	char	*in = p, *out = p;

	while (*in != '\0') {
		if (strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in[1] = '\0';
		} else if (strncmp(in, "/../", 4) == 0 ||
		    strcmp(in, "/..") == 0) {
			/* drop the last output segment */
			while (out > p && *--out != '/')
				;
			if (in[3] == '\0') {
				in += 2;
				*in = '/';
			} else {
				in += 3;
			}
		} else {
			/* move one segment: "/" and what follows up to the
			   next "/" */
			*out++ = *in++;
			while (*in != '\0' && *in != '/')
				*out++ = *in++;
		}
	}
	*out = '\0';
	if (out == p) {
		p[0] = '/';
		p[1] = '\0';
	}
}

int
dpop_htu_normalize(const char *url, size_t len, char out[DPOP_HTU_MAX + 1])
{
	const char	*p, *end, *auth, *auth_end, *host_end, *port;
	const char	*path, *path_end;
	char		*o = out, *oend = out + DPOP_HTU_MAX, *path_out;
	unsigned long	 portnum = 0, defport;
	size_t		 i;
	bool		 https;

	out[0] = '\0';
	if (len == 0 || len > DPOP_HTU_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return -1;
	}
	end = url + len;
	if (len >= 8 && strncasecmp(url, "https://", 8) == 0) {
		https = true;
		p = url + 8;
	} else if (len >= 7 && strncasecmp(url, "http://", 7) == 0) {
		https = false;
		p = url + 7;
	} else {
		return -1;
	}
	defport = https ? 443 : 80;
	auth = p;
	while (p < end && *p != '/' && *p != '?' && *p != '#')
		p++;
	auth_end = p;
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return -1;
	path = p;
	while (p < end && *p != '?' && *p != '#')
		p++;
	path_end = p;

	o = out + strlen(strcpy(out, https ? "https://" : "http://"));
	if (auth < auth_end && *auth == '[') {
		host_end = memchr(auth, ']', (size_t)(auth_end - auth));
		if (host_end == NULL || host_end == auth + 1)
			return -1;
		host_end++;
		if (oend - o < host_end - auth)
			return -1;
		*o++ = '[';
		for (p = auth + 1; p < host_end - 1; p++) {
			if (!ipv6_char((unsigned char)*p))
				return -1;
			*o++ = (char)tolower((unsigned char)*p);
		}
		*o++ = ']';
		if (host_end < auth_end && *host_end != ':')
			return -1;
	} else {
		host_end = memchr(auth, ':', (size_t)(auth_end - auth));
		if (host_end == NULL)
			host_end = auth_end;
		if (host_end == auth)
			return -1;
		if (copy_normalised(auth, (size_t)(host_end - auth), &o, oend,
		    host_char, true) != 0)
			return -1;
	}
	if (host_end < auth_end) {
		/* ":" port: digits only, maybe none */
		port = host_end + 1;
		if (port == auth_end)
			goto port_done;
		for (p = port; p < auth_end; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			portnum = portnum * 10 + (unsigned long)(*p - '0');
			if (portnum > 65535)
				return -1;
		}
		if (portnum != defport) {
			if (oend - o < 6)
				return -1;
			o += snprintf(o, 7, ":%lu", portnum);
		}
	}
port_done:
	path_out = o;
	if (path == path_end) {
		if (o >= oend)
			return -1;
		*o++ = '/';
	} else if (copy_normalised(path, (size_t)(path_end - path), &o, oend,
	    path_char, false) != 0) {
		return -1;
	}
	*o = '\0';
	remove_dot_segments(path_out);
	return 0;
}

const char *
dpop_verdict_name(enum dpop_verdict v)
{
	switch (v) {
	case DPOP_OK:			return "ok";
	case DPOP_MALFORMED:		return "malformed";
	case DPOP_BAD_TYP:		return "bad_typ";
	case DPOP_BAD_ALG:		return "bad_alg";
	case DPOP_BAD_JWK:		return "bad_jwk";
	case DPOP_BAD_SIGNATURE:	return "bad_signature";
	case DPOP_BAD_HTM:		return "bad_htm";
	case DPOP_BAD_HTU:		return "bad_htu";
	case DPOP_BAD_IAT:		return "bad_iat";
	case DPOP_BAD_JTI:		return "bad_jti";
	case DPOP_BAD_ATH:		return "bad_ath";
	case DPOP_REPLAY:		return "replay";
	case DPOP_KEY_MISMATCH:		return "key_mismatch";
	}
	return "unknown";
}

/* The string member name of o, or NULL when absent or not a string. */
static const char *
member_str(const struct json_object *o, const char *name, size_t *len)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

enum dpop_verdict
dpop_header_rules(const struct json_object *header)
{
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k",
	};
	struct json_object	*jwk;
	const char		*typ, *alg, *kty;
	size_t			 len, i;

	if (header == NULL || !json_object_is_type(header, json_type_object))
		return DPOP_MALFORMED;
	if (json_object_object_get_ex(header, "crit", NULL))
		return DPOP_MALFORMED;
	if ((typ = member_str(header, "typ", NULL)) == NULL)
		return DPOP_BAD_TYP;
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	if (strcasecmp(typ, "dpop+jwt") != 0)
		return DPOP_BAD_TYP;
	if ((alg = member_str(header, "alg", &len)) == NULL ||
	    !dpop_alg_supported(alg, len))
		return DPOP_BAD_ALG;
	if (!json_object_object_get_ex(header, "jwk", &jwk) ||
	    !json_object_is_type(jwk, json_type_object))
		return DPOP_BAD_JWK;
	if ((kty = member_str(jwk, "kty", NULL)) == NULL ||
	    (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0 &&
	    strcmp(kty, "OKP") != 0))
		return DPOP_BAD_JWK;
	for (i = 0; i < sizeof(private_members) / sizeof(*private_members);
	    i++) {
		if (json_object_object_get_ex(jwk, private_members[i], NULL))
			return DPOP_BAD_JWK;
	}
	return DPOP_OK;
}

enum dpop_verdict
dpop_claims_rules(const struct json_object *claims,
    const struct dpop_expect *e)
{
	struct json_object	*iatv;
	const char		*s;
	char			 htu[DPOP_HTU_MAX + 1];
	size_t			 len;
	int64_t			 iat;

	if (claims == NULL || !json_object_is_type(claims, json_type_object))
		return DPOP_MALFORMED;
	if ((s = member_str(claims, "jti", &len)) == NULL || len == 0 ||
	    len > DPOP_JTI_MAX)
		return DPOP_BAD_JTI;
	if ((s = member_str(claims, "htm", &len)) == NULL ||
	    len != strlen(e->htm) || memcmp(s, e->htm, len) != 0)
		return DPOP_BAD_HTM;
	if ((s = member_str(claims, "htu", &len)) == NULL ||
	    dpop_htu_normalize(s, len, htu) != 0 || strcmp(htu, e->htu) != 0)
		return DPOP_BAD_HTU;
	/* iat: an integer; a fraction is refused rather than rounded */
	if (!json_object_object_get_ex(claims, "iat", &iatv) ||
	    !json_object_is_type(iatv, json_type_int))
		return DPOP_BAD_IAT;
	iat = json_object_get_int64(iatv);
	if (iat > (int64_t)e->now + e->leeway ||
	    iat < (int64_t)e->now - e->max_age - e->leeway)
		return DPOP_BAD_IAT;
	if (e->ath != NULL) {
		if ((s = member_str(claims, "ath", &len)) == NULL ||
		    len != strlen(e->ath) || memcmp(s, e->ath, len) != 0)
			return DPOP_BAD_ATH;
	}
	return DPOP_OK;
}

int
dpop_ath(const char *token, size_t len, char out[DPOP_B64_SHA256_LEN + 1])
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return -1;
	(void)b64url_encode(out, md, sizeof(md));
	return 0;
}

/*
 * Each thread's decoded proof keys. A client signs its proofs with one key
 * for many requests, and decoding a JWK (a public key import and check)
 * costs as much as the signature check, so the keys are kept by the
 * SHA-256 of their JWK's JSON text as json-c writes it: direct-mapped,
 * KEY_CACHE entries, a new key replacing the entry of its slot. A key is
 * only ever used by the thread that decoded it, within one
 * dpop_proof_check(), so a replacement never frees a key in use.
 */
#define KEY_CACHE	64

struct cached_key {
	unsigned char	 h[32];
	struct key	*key;		/* owned; NULL: empty */
	char		 jkt[JWK_THUMBPRINT_LEN + 1];
};

struct key_cache {
	struct cached_key	 e[KEY_CACHE];
};

static pthread_key_t	 key_cache_key;
static pthread_once_t	 key_cache_once = PTHREAD_ONCE_INIT;

static void
key_cache_free(void *p)
{
	struct key_cache	*c = p;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < KEY_CACHE; i++)
		key_free(c->e[i].key);
	free(c);
}

static void
key_cache_init(void)
{
	if (pthread_key_create(&key_cache_key, key_cache_free) != 0)
		xabort();
}

void
dpop_key_cache_clear(void)
{
	(void)pthread_once(&key_cache_once, key_cache_init);
	key_cache_free(pthread_getspecific(key_cache_key));
	(void)pthread_setspecific(key_cache_key, NULL);
}

/*
 * The key of jwk and its thumbprint, from this thread's cache or decoded
 * (jwk.h) into it. Borrowed until this thread's next call. NULL when the
 * JWK does not decode.
 */
static const struct key *
cached_jwk_decode(struct json_object *jwk, char jkt[JWK_THUMBPRINT_LEN + 1])
{
	struct key_cache	*c;
	struct cached_key	*e;
	struct key		*k;
	const char		*text;
	unsigned char		 h[32];
	unsigned int		 hl = 0;
	char			 err[160];

	(void)pthread_once(&key_cache_once, key_cache_init);
	if ((c = pthread_getspecific(key_cache_key)) == NULL) {
		c = xcalloc(1, sizeof(*c));
		if (pthread_setspecific(key_cache_key, c) != 0) {
			free(c);
			c = NULL;
		}
	}
	text = json_object_to_json_string_ext(jwk, JSON_C_TO_STRING_PLAIN);
	if (c == NULL || text == NULL ||
	    EVP_Digest(text, strlen(text), h, &hl, EVP_sha256(), NULL) != 1 ||
	    hl != sizeof(h))
		c = NULL;
	e = c != NULL ? &c->e[h[0] % KEY_CACHE] : NULL;
	if (e != NULL && e->key != NULL && memcmp(e->h, h, sizeof(h)) == 0) {
		memcpy(jkt, e->jkt, JWK_THUMBPRINT_LEN + 1);
		return e->key;
	}
	if ((k = jwk_decode(jwk, jkt, err, sizeof(err))) == NULL)
		return NULL;
	if (e == NULL) {
		/* no cache: nowhere to keep it; refuse rather than leak */
		key_free(k);
		return NULL;
	}
	key_free(e->key);
	memcpy(e->h, h, sizeof(h));
	e->key = k;
	memcpy(e->jkt, jkt, JWK_THUMBPRINT_LEN + 1);
	return k;
}

/* jws_verify()'s key source for a proof: the header's own jwk, once. */
struct proof_key {
	enum dpop_verdict	 verdict;	/* of the header rules */
	const struct key	*key;		/* the thread's cache's */
	char			 jkt[JWK_THUMBPRINT_LEN + 1];
};

static enum token_verdict
proof_key_fn(void *arg, const struct json_object *hdr, const char *kid,
    size_t kidlen, size_t i, const struct key **key)
{
	struct proof_key	*pk = arg;
	struct json_object	*jwk, *alg, *pss = NULL, *name = NULL;
	const char		*kty;

	(void)kid;
	(void)kidlen;
	*key = NULL;
	if (i > 0)
		return TOKEN_OK;
	if ((pk->verdict = dpop_header_rules(hdr)) != DPOP_OK)
		return TOKEN_BAD_HEADER;
	(void)json_object_object_get_ex(hdr, "jwk", &jwk);
	/*
	 * An RSA JWK serves RS256 unless its alg says PS256 (jwk.h); a
	 * proof's JWK rarely names an alg, so the header's PS256 is given to
	 * a copy that names none. A JWK naming another alg keeps it, and a
	 * mismatch is refused. The thumbprint takes the required members
	 * only (RFC 7638), so it is the same.
	 */
	kty = member_str(jwk, "kty", NULL);
	(void)json_object_object_get_ex(hdr, "alg", &alg);
	if (kty != NULL && strcmp(kty, "RSA") == 0 &&
	    strcmp(json_object_get_string(alg), "PS256") == 0 &&
	    !json_object_object_get_ex(jwk, "alg", NULL)) {
		if (json_object_deep_copy(jwk, &pss, NULL) != 0 ||
		    (name = json_object_new_string("PS256")) == NULL ||
		    json_object_object_add(pss, "alg", name) != 0) {
			json_object_put(name);	/* not taken on failure */
			json_object_put(pss);
			pk->verdict = DPOP_BAD_JWK;
			return TOKEN_BAD_HEADER;
		}
		jwk = pss;
	}
	pk->key = cached_jwk_decode(jwk, pk->jkt);
	json_object_put(pss);
	if (pk->key == NULL) {
		pk->verdict = DPOP_BAD_JWK;
		return TOKEN_BAD_HEADER;
	}
	*key = pk->key;
	return TOKEN_OK;
}

enum dpop_verdict
dpop_proof_check(const char *proof, size_t len, const struct dpop_expect *e,
    struct dpop_proof *out)
{
	struct proof_key	 pk = { .verdict = DPOP_OK, .key = NULL };
	struct jws_parsed	 parsed;
	struct json_object	*v;
	enum token_verdict	 tv;
	enum dpop_verdict	 dv;
	const char		*jti;

	memset(out, 0, sizeof(*out));
	if (len > DPOP_PROOF_MAX)
		return DPOP_MALFORMED;
	tv = jws_verify(proof, len, DPOP_PROOF_MAX, "dpop+jwt", proof_key_fn,
	    &pk, &parsed);
	switch (tv) {
	case TOKEN_OK:
		dv = DPOP_OK;
		break;
	case TOKEN_BAD_HEADER:
		dv = pk.verdict != DPOP_OK ? pk.verdict : DPOP_MALFORMED;
		break;
	case TOKEN_ALG_MISMATCH:
		dv = DPOP_BAD_ALG;
		break;
	case TOKEN_BAD_SIGNATURE:
		dv = DPOP_BAD_SIGNATURE;
		break;
	case TOKEN_WRONG_TYPE:
		dv = DPOP_BAD_TYP;
		break;
	case TOKEN_UNKNOWN_KID:
		dv = DPOP_BAD_JWK;
		break;
	default:
		dv = DPOP_MALFORMED;
		break;
	}
	if (dv == DPOP_OK)
		dv = dpop_claims_rules(parsed.payload, e);
	if (dv == DPOP_OK) {
		memcpy(out->jkt, pk.jkt, sizeof(out->jkt));
		(void)json_object_object_get_ex(parsed.payload, "jti", &v);
		jti = json_object_get_string(v);
		memcpy(out->jti, jti, strlen(jti) + 1);
		(void)json_object_object_get_ex(parsed.payload, "iat", &v);
		out->iat = (long long)json_object_get_int64(v);
	}
	if (tv == TOKEN_OK)
		jws_parsed_clear(&parsed);
	return dv;
}
