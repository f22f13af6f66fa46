/*
 * record_rules: the table of what each kind of client-record value may
 * be (record_rules.h), and one check per kind.
 *
 * record_rules_check() refuses, for every kind, a value longer than the
 * row's max and a NUL byte (C strings would silently cut it); then the
 * row's check judges the rest. The grammar of scopes is scope.c's (the
 * same parser reads a token request's "scope"), the alphabet of secrets
 * params.c's (RFC 6749 appendix A VSCHAR, which the request side checks
 * too), and strict JSON sjson.c's; this module says how they combine into
 * the rule of each kind.
 *
 * Left to others: turning a valid value into its in-memory form and the
 * meaning of empty values (client_record.c), the secret's own check
 * against its hash (secret.c).
 *
 * Pure module: json-c (through sjson) only; no state.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "b64url.h"
#include "jwk.h"
#include "params.h"
#include "record_rules.h"
#include "scope.h"
#include "sjson.h"
#include "util.h"

typedef bool	(*rule_check_fn)(const char *, size_t, char *, size_t);

struct record_rule {
	const char	*name;
	size_t		 max;		/* longest value, bytes */
	rule_check_fn	 check;
};

static bool	check_id(const char *, size_t, char *, size_t);
static bool	check_secret(const char *, size_t, char *, size_t);
static bool	check_secret_hash(const char *, size_t, char *, size_t);
static bool	check_scope(const char *, size_t, char *, size_t);
static bool	check_scopes(const char *, size_t, char *, size_t);
static bool	check_audience(const char *, size_t, char *, size_t);
static bool	check_audiences(const char *, size_t, char *, size_t);
static bool	check_claims(const char *, size_t, char *, size_t);
static bool	check_ttl(const char *, size_t, char *, size_t);
static bool	check_flag(const char *, size_t, char *, size_t);
static bool	check_time(const char *, size_t, char *, size_t);
static bool	check_generation(const char *, size_t, char *, size_t);
static bool	check_auth_method(const char *, size_t, char *, size_t);
static bool	check_jwks(const char *, size_t, char *, size_t);
static bool	check_tls_subject(const char *, size_t, char *, size_t);
static bool	check_tls_san(const char *, size_t, char *, size_t);
static bool	check_thumbprint(const char *, size_t, char *, size_t);
static bool	check_thumbprints(const char *, size_t, char *, size_t);

static const struct record_rule rules[RECORD_KIND_COUNT] = {
	[RECORD_ID] =		{ "id",		CLIENT_ID_MAX,	check_id },
	[RECORD_SECRET] =	{ "secret",	CLIENT_SECRET_MAX, check_secret },
	[RECORD_SECRET_HASH] =	{ "secret_hash", CLIENT_SECRET_HASH_MAX,
				    check_secret_hash },
	[RECORD_SCOPE] =	{ "scope",	SCOPE_MAX_TOKEN, check_scope },
	[RECORD_SCOPES] =	{ "scopes",	SCOPE_MAX_LEN,	check_scopes },
	[RECORD_AUDIENCE] =	{ "audience",	CLIENT_AUDIENCE_MAX,
				    check_audience },
	[RECORD_AUDIENCES] =	{ "audiences",	CLIENT_AUDIENCES_MAX,
				    check_audiences },
	[RECORD_CLAIMS] =	{ "claims",	CLIENT_CLAIMS_MAX, check_claims },
	[RECORD_TTL] =		{ "ttl",	CLIENT_DECIMAL_MAX, check_ttl },
	[RECORD_FLAG] =		{ "flag",	1,		check_flag },
	[RECORD_TIME] =		{ "time",	CLIENT_DECIMAL_MAX, check_time },
	[RECORD_GENERATION] =	{ "generation",	CLIENT_GEN_LEN,	check_generation },
	[RECORD_AUTH_METHOD] =	{ "auth_method", CLIENT_AUTH_METHOD_MAX,
				    check_auth_method },
	[RECORD_JWKS] =		{ "jwks",	CLIENT_JWKS_MAX, check_jwks },
	[RECORD_TLS_SUBJECT] =	{ "tls_subject", CLIENT_TLS_SUBJECT_MAX,
				    check_tls_subject },
	[RECORD_TLS_SAN] =	{ "tls_san",	CLIENT_TLS_SAN_MAX, check_tls_san },
	[RECORD_TLS_THUMBPRINT] = { "tls_thumbprint", CLIENT_THUMBPRINT_LEN,
				    check_thumbprint },
	[RECORD_TLS_THUMBPRINTS] = { "tls_thumbprints", CLIENT_THUMBPRINTS_MAX,
				    check_thumbprints },
};

static const char *const auth_method_names[AUTH_METHOD_COUNT] = {
	[AUTH_METHOD_SECRET_BASIC] =	"client_secret_basic",
	[AUTH_METHOD_SECRET_POST] =	"client_secret_post",
	[AUTH_METHOD_PRIVATE_KEY_JWT] =	"private_key_jwt",
	[AUTH_METHOD_TLS] =		"tls_client_auth",
	[AUTH_METHOD_SELF_SIGNED_TLS] =	"self_signed_tls_client_auth",
};

/* The members of a JWK that hold private or symmetric key material. */
static const char *const jwk_private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/*
 * RFC 7519 4.1 registered claims, those RFC 9068 gives a meaning, and
 * ours (client_gen: the client's generation, verify.h).
 */
static const char *const reserved_claims[] = {
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id",
	"client_gen", "scope", "auth_time", "acr", "amr", "cnf",
};

static bool
why_set(char *why, size_t whylen, const char *reason)
{
	if (why != NULL && whylen > 0)
		errbuf_set(why, whylen, "%s", reason);
	return false;
}

/*
 * The code point of the UTF-8 sequence at v[*i] (RFC 3629 4: no overlong
 * forms, no surrogates, nothing above U+10FFFF; C0, C1 and F5..FF never
 * lead), *i moved past it; -1 for an invalid or cut-short sequence.
 */
static long
utf8_next(const unsigned char *v, size_t len, size_t *i)
{
	unsigned char	 c = v[*i], lo = 0x80, hi = 0xbf;
	long		 cp;
	size_t		 n, k;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return -1;
	}
	if (len - *i - 1 < n)
		return -1;
	for (k = 1; k <= n; k++) {
		c = v[*i + k];
		if (c < lo || c > hi)
			return -1;
		cp = (cp << 6) | (c & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*i += n + 1;
	return cp;
}

/*
 * 1..len bytes of UTF-8 text (RFC 3629) without a control character
 * (U+0000..001F, U+007F..009F), and without a space unless space_ok.
 */
static bool
utf8_text(const char *v, size_t len, bool space_ok, char *why, size_t whylen)
{
	const unsigned char	*u = (const unsigned char *)v;
	size_t			 i = 0;
	long			 cp;

	if (len == 0)
		return why_set(why, whylen, "empty");
	while (i < len) {
		if ((cp = utf8_next(u, len, &i)) == -1)
			return why_set(why, whylen, "not UTF-8");
		if (cp == ' ' && !space_ok)
			return why_set(why, whylen, "a space");
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return why_set(why, whylen, "control character");
	}
	return true;
}

/* 1..len bytes of printable ASCII without space (%x21-7E). */
static bool
graph_ascii(const char *v, size_t len, char *why, size_t whylen)
{
	size_t	 i;

	if (len == 0)
		return why_set(why, whylen, "empty");
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return why_set(why, whylen, "a byte other than "
			    "printable ASCII without space");
	return true;
}

/*
 * Items separated by single spaces, each a valid value of kind item
 * (record_rules_check(), so its own length cap applies): a leading,
 * trailing or doubled space, more than cap items (and never more than
 * CLIENT_AUDIENCES_COUNT) and
 * an item given twice (byte for byte) are refused. "" is the empty list.
 */
static bool
check_list(const char *v, size_t len, enum record_kind item, size_t cap,
    char *why, size_t whylen)
{
	const char	*start[CLIENT_AUDIENCES_COUNT];
	size_t		 tlen[CLIENT_AUDIENCES_COUNT];
	size_t		 i, j, n = 0, s = 0;

	if (len == 0)
		return true;
	for (i = 0; i <= len; i++) {
		if (i < len && v[i] != ' ')
			continue;
		if (i == s)
			return why_set(why, whylen, "a leading, trailing or "
			    "doubled space");
		if (!record_rules_check(item, v + s, i - s, why, whylen))
			return false;
		for (j = 0; j < n; j++)
			if (tlen[j] == i - s && memcmp(start[j], v + s,
			    i - s) == 0)
				return why_set(why, whylen, "an item given "
				    "twice");
		if (n == cap || n == CLIENT_AUDIENCES_COUNT)
			return why_set(why, whylen, "too many items");
		start[n] = v + s;
		tlen[n++] = i - s;
		s = i + 1;
	}
	return true;
}

/* 1..CLIENT_ID_MAX bytes of A-Z a-z 0-9 . _ ~ : @ - */
static bool
check_id(const char *v, size_t len, char *why, size_t whylen)
{
	static const char	 ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789._~:@-";
	size_t			 i;

	if (len == 0)
		return why_set(why, whylen, "empty");
	for (i = 0; i < len; i++)
		if (strchr(ok, v[i]) == NULL)
			return why_set(why, whylen, "a character other than "
			    "A-Z a-z 0-9 . _ ~ : @ -");
	return true;
}

/*
 * RFC 6749 appendix A: client-secret = *VSCHAR (%x20-7E), so a secret
 * with any other byte could never be presented; at least 256 bits' worth
 * of characters.
 */
static bool
check_secret(const char *v, size_t len, char *why, size_t whylen)
{
	if (len < CLIENT_SECRET_MIN) {
		if (why != NULL && whylen > 0)
			errbuf_set(why, whylen, "shorter than %d characters",
			    CLIENT_SECRET_MIN);
		return false;
	}
	if (!params_is_vschar(v, len))
		return why_set(why, whylen, "a character other than printable "
		    "ASCII (space included)");
	return true;
}

/*
 * TAG:REST in printable ASCII without spaces. Which tags exist and what
 * REST holds are secret.c's: an unknown tag or a malformed REST is a
 * record that decodes but whose secret never matches.
 */
static bool
check_secret_hash(const char *v, size_t len, char *why, size_t whylen)
{
	if (!graph_ascii(v, len, why, whylen))
		return false;
	if (memchr(v, ':', len) == NULL)
		return why_set(why, whylen, "no ':' after the tag");
	return true;
}

static bool
scope_result_why(enum scope_result r, char *why, size_t whylen)
{
	if (r == SCOPE_OK)
		return true;
	if (why != NULL && whylen > 0)
		errbuf_set(why, whylen, "not a scope list (%s)",
		    scope_result_name(r));
	return false;
}

/* RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
check_scope(const char *v, size_t len, char *why, size_t whylen)
{
	struct scope_set	 set;
	enum scope_result	 r;

	if (len == 0)
		return why_set(why, whylen, "empty");
	if (memchr(v, ' ', len) != NULL)
		return why_set(why, whylen, "a space");
	r = scope_parse(v, len, 0, &set);
	scope_set_finish(&set);
	return scope_result_why(r, why, whylen);
}

/* RFC 6749 3.3: scope-tokens separated by single spaces, none twice. */
static bool
check_scopes(const char *v, size_t len, char *why, size_t whylen)
{
	struct scope_set	 set;
	enum scope_result	 r;

	r = scope_parse(v, len, 0, &set);
	scope_set_finish(&set);
	return scope_result_why(r, why, whylen);
}

/*
 * An absolute URI or a plain name: 1..CLIENT_AUDIENCE_MAX bytes of UTF-8
 * text (RFC 3629) with no space (the list separator) and no control
 * character (U+0000..001F, U+007F..009F): it goes into a JSON string of
 * every token, which strict JSON readers (ours included) refuse when it
 * is not UTF-8.
 */
static bool
check_audience(const char *v, size_t len, char *why, size_t whylen)
{
	return utf8_text(v, len, false, why, whylen);
}

/* Audiences separated by single spaces, none twice; "" = none. */
static bool
check_audiences(const char *v, size_t len, char *why, size_t whylen)
{
	return check_list(v, len, RECORD_AUDIENCE, CLIENT_AUDIENCES_COUNT,
	    why, whylen);
}

static bool
check_claims(const char *v, size_t len, char *why, size_t whylen)
{
	struct json_object	*obj = NULL;

	if (record_rules_claims(v, len, &obj, why, whylen) == -1)
		return false;
	json_object_put(obj);
	return true;
}

/* "" (the server's --token-ttl) or a decimal in 0..CLIENT_TTL_MAX */
static bool
check_ttl(const char *v, size_t len, char *why, size_t whylen)
{
	long long	 n;

	if (len > 0 && record_rules_decimal(v, len, CLIENT_TTL_MAX, &n) == -1)
		return why_set(why, whylen, "not a decimal number of seconds "
		    "in 0..31536000");
	return true;
}

static bool
check_flag(const char *v, size_t len, char *why, size_t whylen)
{
	if (len == 1 && (v[0] == '0' || v[0] == '1'))
		return true;
	return why_set(why, whylen, "not 0 or 1");
}

/* unix seconds: a non-negative decimal that fits in an int64 */
static bool
check_time(const char *v, size_t len, char *why, size_t whylen)
{
	long long	 n;

	if (record_rules_decimal(v, len, INT64_MAX, &n) == -1)
		return why_set(why, whylen, "not a non-negative decimal number "
		    "of seconds");
	return true;
}

bool
record_rules_check(enum record_kind kind, const char *v, size_t len,
    char *why, size_t whylen)
{
	const struct record_rule	*r;

	if ((unsigned)kind >= RECORD_KIND_COUNT || rules[kind].check == NULL)
		return why_set(why, whylen, "unknown kind");
	r = &rules[kind];
	if (v == NULL && len > 0)
		return why_set(why, whylen, "missing");
	if (len > r->max) {
		if (why != NULL && whylen > 0)
			errbuf_set(why, whylen, "longer than %zu bytes",
			    r->max);
		return false;
	}
	if (len > 0 && memchr(v, '\0', len) != NULL)
		return why_set(why, whylen, "NUL byte");
	return r->check(v != NULL ? v : "", len, why, whylen);
}

int
record_rules_kind(const char *name)
{
	size_t	 i;

	for (i = 0; i < RECORD_KIND_COUNT; i++)
		if (rules[i].name != NULL && strcmp(rules[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
record_rules_kind_name(enum record_kind kind)
{
	if ((unsigned)kind >= RECORD_KIND_COUNT || rules[kind].name == NULL)
		return "unknown";
	return rules[kind].name;
}

/*
 * Strict JSON as sjson_parse() takes it (RFC 8259, RFC 3629 UTF-8, finite
 * numbers, no duplicate names, no \u0000), at most CLIENT_CLAIMS_DEPTH
 * deep, the top object included; an object, no reserved name among its
 * members (nested objects may use any name: they are the claims' own).
 */
int
record_rules_claims(const char *v, size_t len, struct json_object **out,
    char *why, size_t whylen)
{
	struct json_object	*obj = NULL;
	int			 rc = -1;

	*out = NULL;
	if (len > CLIENT_CLAIMS_MAX) {
		if (why != NULL && whylen > 0)
			errbuf_set(why, whylen, "longer than %d bytes",
			    CLIENT_CLAIMS_MAX);
		goto out;
	}
	if (len == 0)
		return 0;	/* as "{}": none */
	if ((obj = sjson_parse(v, len, CLIENT_CLAIMS_DEPTH)) == NULL) {
		why_set(why, whylen, "not valid JSON");
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		why_set(why, whylen, "not a JSON object");
		goto out;
	}
	json_object_object_foreach(obj, name, val) {
		(void)val;
		if (record_rules_claim_is_reserved(name)) {
			/* a reserved name is one of ours: fine to quote */
			if (why != NULL && whylen > 0)
				errbuf_set(why, whylen, "reserved claim name "
				    "\"%s\"", name);
			goto out;
		}
	}
	if (json_object_object_length(obj) > 0) {
		*out = obj;
		obj = NULL;
	}
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}

/* INCARNATION "." SERIAL: CLIENT_GEN_HEX lowercase hex digits each. */
static bool
check_generation(const char *v, size_t len, char *why, size_t whylen)
{
	size_t	 i;

	if (len != CLIENT_GEN_LEN || v[CLIENT_GEN_HEX] != '.')
		return why_set(why, whylen, "not INCARNATION.SERIAL (16 and "
		    "16 lowercase hex digits)");
	for (i = 0; i < len; i++) {
		if (i == CLIENT_GEN_HEX)
			continue;
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			return why_set(why, whylen, "not lowercase hex");
	}
	return true;
}

bool
record_rules_claim_is_reserved(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(reserved_claims); i++)
		if (strcmp(name, reserved_claims[i]) == 0)
			return true;
	return false;
}

int
record_rules_decimal(const char *v, size_t len, long long max,
    long long *out)
{
	char		 buf[CLIENT_DECIMAL_MAX + 1];
	long long	 n;
	size_t		 i;

	if (len == 0 || len > CLIENT_DECIMAL_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	errno = 0;
	n = strtoll(buf, NULL, 10);
	if (errno == ERANGE || n > max)
		return -1;
	*out = n;
	return 0;
}

int
auth_method_parse(const char *name, size_t len)
{
	size_t	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < AUTH_METHOD_COUNT; i++)
		if (strlen(auth_method_names[i]) == len &&
		    memcmp(auth_method_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

const char *
auth_method_name(enum auth_method m)
{
	if ((unsigned)m >= AUTH_METHOD_COUNT)
		return "unknown";
	return auth_method_names[m];
}

bool
auth_method_uses_secret(enum auth_method m)
{
	return m == AUTH_METHOD_SECRET_BASIC || m == AUTH_METHOD_SECRET_POST;
}

static bool
check_auth_method(const char *v, size_t len, char *why, size_t whylen)
{
	if (auth_method_parse(v, len) == -1)
		return why_set(why, whylen, "not client_secret_basic, "
		    "client_secret_post, private_key_jwt, tls_client_auth or "
		    "self_signed_tls_client_auth");
	return true;
}

static bool
check_jwks(const char *v, size_t len, char *why, size_t whylen)
{
	struct json_object	*set = NULL;

	if (record_rules_jwks(v, len, &set, why, whylen) == -1)
		return false;
	json_object_put(set);
	return true;
}

/* One key of a set: see record_rules_jwks(). */
static bool
jwk_shape_ok(struct json_object *key, char *why, size_t whylen)
{
	struct json_object	*m;
	const char		*kty;
	size_t			 i;

	if (!json_object_is_type(key, json_type_object))
		return why_set(why, whylen, "a key that is not an object");
	for (i = 0; i < nitems(jwk_private_members); i++)
		if (json_object_object_get_ex(key, jwk_private_members[i],
		    NULL)) {
			/* the member's name is ours to quote, never its value */
			if (why != NULL && whylen > 0)
				errbuf_set(why, whylen, "a private or symmetric "
				    "key member \"%s\"", jwk_private_members[i]);
			return false;
		}
	if (!json_object_object_get_ex(key, "kty", &m) ||
	    !json_object_is_type(m, json_type_string))
		return why_set(why, whylen, "a key without \"kty\"");
	kty = json_object_get_string(m);
	if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0 &&
	    strcmp(kty, "OKP") != 0)
		return why_set(why, whylen, "a key whose kty is not EC, RSA or "
		    "OKP");
	if (json_object_object_get_ex(key, "kid", &m) &&
	    !json_object_is_type(m, json_type_string))
		return why_set(why, whylen, "a kid that is not a string");
	return true;
}

int
record_rules_jwks(const char *v, size_t len, struct json_object **out,
    char *why, size_t whylen)
{
	return record_rules_jwk_set(v, len, out, NULL, why, whylen);
}

int
record_rules_jwk_set(const char *v, size_t len, struct json_object **out,
    struct jwk_set **keys_out, char *why, size_t whylen)
{
	struct json_object	*set = NULL, *keys, *key, *kid, *other;
	struct jwk_set		*js;
	char			 jwhy[192];
	size_t			 i, j, n;
	int			 rc = -1;

	*out = NULL;
	if (keys_out != NULL)
		*keys_out = NULL;
	if (len == 0) {
		why_set(why, whylen, "empty");
		goto out;
	}
	if (len > CLIENT_JWKS_MAX) {
		if (why != NULL && whylen > 0)
			errbuf_set(why, whylen, "longer than %d bytes",
			    CLIENT_JWKS_MAX);
		goto out;
	}
	if ((set = sjson_parse(v, len, CLIENT_JWKS_DEPTH)) == NULL) {
		why_set(why, whylen, "not valid JSON");
		goto out;
	}
	if (!json_object_is_type(set, json_type_object) ||
	    !json_object_object_get_ex(set, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		why_set(why, whylen, "not a JWK Set (an object with a \"keys\" "
		    "array)");
		goto out;
	}
	n = json_object_array_length(keys);
	if (n == 0 || n > CLIENT_JWKS_KEYS) {
		if (why != NULL && whylen > 0)
			errbuf_set(why, whylen, "not 1..%d keys",
			    CLIENT_JWKS_KEYS);
		goto out;
	}
	for (i = 0; i < n; i++) {
		key = json_object_array_get_idx(keys, i);
		if (!jwk_shape_ok(key, why, whylen))
			goto out;
		if (!json_object_object_get_ex(key, "kid", &kid))
			continue;
		for (j = 0; j < i; j++) {
			if (json_object_object_get_ex(
			    json_object_array_get_idx(keys, j), "kid", &other) &&
			    strcmp(json_object_get_string(other),
			    json_object_get_string(kid)) == 0) {
				why_set(why, whylen, "a kid given twice");
				goto out;
			}
		}
	}
	/* every key usable: the JWK decoder's rules (jwk.h) */
	if ((js = jwk_set_decode(set, jwhy, sizeof(jwhy))) == NULL) {
		if (why != NULL && whylen > 0)
			errbuf_set(why, whylen, "%s", jwhy);
		goto out;
	}
	if (keys_out != NULL)
		*keys_out = js;
	else
		jwk_set_free(js);
	*out = set;
	set = NULL;
	rc = 0;
out:
	json_object_put(set);
	return rc;
}

/*
 * An RFC 4514 string as `openssl x509 -noout -subject -nameopt RFC2253`
 * prints it: printable ASCII (spaces included), at least one '=', no
 * leading space and no unescaped trailing one (RFC 4514 2.4 escapes
 * both). XN_FLAG_RFC2253 escapes every byte >= 0x80 as \XX (an e with
 * acute accent, UTF-8 C3 A9, prints as \C3\A9), so a subject holding
 * such a byte raw could never match. The DN itself is compared as a
 * string, so this only keeps out what no certificate's subject can
 * print as.
 */
static bool
check_tls_subject(const char *v, size_t len, char *why, size_t whylen)
{
	size_t	 i;

	if (len == 0)
		return why_set(why, whylen, "empty");
	for (i = 0; i < len; i++) {
		if ((unsigned char)v[i] >= 0x80)
			return why_set(why, whylen, "a byte >= 0x80: write it "
			    "as openssl -nameopt RFC2253 prints it, e.g. "
			    "\\C3\\A9 for UTF-8 C3 A9");
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return why_set(why, whylen, "control character");
	}
	if (memchr(v, '=', len) == NULL)
		return why_set(why, whylen, "no '=' (want an RFC 4514 string "
		    "such as CN=svc,O=Acme)");
	if (v[0] == ' ' || (v[len - 1] == ' ' && (len < 2 ||
	    v[len - 2] != '\\')))
		return why_set(why, whylen, "a leading or unescaped trailing "
		    "space");
	return true;
}

/*
 * A subjectAltName DNS name or URI: both are IA5String, so 1..1024 bytes
 * of printable ASCII; no space.
 */
static bool
check_tls_san(const char *v, size_t len, char *why, size_t whylen)
{
	return graph_ascii(v, len, why, whylen);
}

/* base64url (no padding, canonical) of 32 bytes: 43 characters */
static bool
check_thumbprint(const char *v, size_t len, char *why, size_t whylen)
{
	unsigned char	 d[B64URL_DECODED_MAX(CLIENT_THUMBPRINT_LEN)];
	size_t		 dlen;

	if (len != CLIENT_THUMBPRINT_LEN || b64url_decode(d, &dlen, v,
	    len) == -1 || dlen != 32)
		return why_set(why, whylen, "not a SHA-256 thumbprint (43 "
		    "characters of base64url)");
	return true;
}

/* Thumbprints separated by single spaces, 1..16, none twice; "" = none */
static bool
check_thumbprints(const char *v, size_t len, char *why, size_t whylen)
{
	return check_list(v, len, RECORD_TLS_THUMBPRINT,
	    CLIENT_THUMBPRINTS_COUNT, why, whylen);
}
