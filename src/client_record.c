/*
 * client_record: decode a client's Redis hash into struct client_record.
 *
 * The input is an HGETALL reply as db.c hands it over: field/value
 * pairs with lengths, any bytes at all. Each known field has one row in
 * fields_def[]: its name, the kind of value it holds and its decoder.
 * Every value is first judged by its kind's rule (record_rules.h: the
 * one definition the admin script mirrors) and refused as a whole when
 * the rule says no; only then does its decoder turn it into the
 * record's form, which cannot fail on a value the rule passed. Unknown
 * fields are skipped, so a newer admin script can add fields; a known
 * field given twice is an error, since a hash cannot hold it twice and
 * the caller must have built the arrays wrongly.
 *
 * Errors name the field and never quote the value: values may be binary,
 * huge, or the secret hash.
 *
 * Left to others: fetching the hash (store.c), checking the secret
 * (secret.c), applying the server's defaults for audience and ttl, and
 * the lifecycle rules that read disabled, revoked_before, created_at and
 * generation (verify.c).
 *
 * Pure module: json-c only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_record.h"
#include "record_rules.h"
#include "secret.h"
#include "util.h"

/* Decode a value its kind's rule has passed; -1 only if that is broken. */
typedef int	(*field_decode_fn)(struct client_record *, const char *,
		    size_t);

struct field_def {
	const char		*name;
	enum record_kind	 kind;
	field_decode_fn		 decode;
};

static int	decode_secret(struct client_record *, const char *, size_t);
static int	decode_scopes(struct client_record *, const char *, size_t);
static int	decode_audience(struct client_record *, const char *, size_t);
static int	decode_ttl(struct client_record *, const char *, size_t);
static int	decode_claims(struct client_record *, const char *, size_t);
static int	decode_disabled(struct client_record *, const char *,
		    size_t);
static int	decode_revoked_before(struct client_record *, const char *,
		    size_t);
static int	decode_introspect(struct client_record *, const char *,
		    size_t);
static int	decode_created_at(struct client_record *, const char *,
		    size_t);
static int	decode_updated_at(struct client_record *, const char *,
		    size_t);

static int	decode_generation(struct client_record *, const char *,
		    size_t);
static int	decode_auth_method(struct client_record *, const char *,
		    size_t);
static int	decode_jwks(struct client_record *, const char *, size_t);
static int	decode_tls_subject(struct client_record *, const char *,
		    size_t);
static int	decode_tls_san(struct client_record *, const char *, size_t);
static int	decode_tls_thumbprints(struct client_record *, const char *,
		    size_t);
static int	decode_dpop_bound(struct client_record *, const char *,
		    size_t);

static const struct field_def fields_def[] = {
	{ "secret",		RECORD_SECRET_HASH,	decode_secret },
	{ "scopes",		RECORD_SCOPES,		decode_scopes },
	{ "audience",		RECORD_AUDIENCES,	decode_audience },
	{ "ttl",		RECORD_TTL,		decode_ttl },
	{ "claims",		RECORD_CLAIMS,		decode_claims },
	{ "disabled",		RECORD_FLAG,		decode_disabled },
	{ "revoked_before",	RECORD_TIME,		decode_revoked_before },
	{ "introspect",		RECORD_FLAG,		decode_introspect },
	{ "created_at",		RECORD_TIME,		decode_created_at },
	{ "updated_at",		RECORD_TIME,		decode_updated_at },
	{ "generation",		RECORD_GENERATION,	decode_generation },
	{ "token_endpoint_auth_method", RECORD_AUTH_METHOD,
						decode_auth_method },
	{ "jwks",		RECORD_JWKS,		decode_jwks },
	{ "tls_subject",	RECORD_TLS_SUBJECT,	decode_tls_subject },
	{ "tls_san",		RECORD_TLS_SAN,		decode_tls_san },
	{ "tls_thumbprints",	RECORD_TLS_THUMBPRINTS,	decode_tls_thumbprints },
	{ "dpop_bound",		RECORD_FLAG,		decode_dpop_bound },
};

static int
decode_time(int64_t *dst, const char *v, size_t len)
{
	long long	 n;

	if (record_rules_decimal(v, len, INT64_MAX, &n) == -1)
		return -1;
	*dst = n;
	return 0;
}

static int
decode_secret(struct client_record *rec, const char *v, size_t len)
{
	rec->secret_hash = xstrndup(v, len);
	return 0;
}

static int
decode_scopes(struct client_record *rec, const char *v, size_t len)
{
	return scope_parse(v, len, 0, &rec->scopes) == SCOPE_OK ? 0 : -1;
}

/*
 * Every audience, in order (the rule checked the list: single spaces, no
 * item twice, at most CLIENT_AUDIENCES_COUNT); the first is also
 * rec->audience. "" means the server's --default-audience.
 */
static int
decode_audience(struct client_record *rec, const char *v, size_t len)
{
	const char	*sp;
	size_t		 n = 1, i, l;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (v[i] == ' ')
			n++;
	rec->audiences = xcalloc(n, sizeof(*rec->audiences));
	while (rec->n_audiences < n) {
		sp = memchr(v, ' ', len);
		l = sp != NULL ? (size_t)(sp - v) : len;
		rec->audiences[rec->n_audiences++] = xstrndup(v, l);
		if (sp == NULL)
			break;
		len -= l + 1;
		v = sp + 1;
	}
	rec->audience = rec->audiences[0];
	return 0;
}

/* "" and "0" both mean the server's --token-ttl */
static int
decode_ttl(struct client_record *rec, const char *v, size_t len)
{
	long long	 n = 0;

	if (len > 0 && record_rules_decimal(v, len, CLIENT_TTL_MAX, &n) == -1)
		return -1;
	rec->ttl = (long)n;
	return 0;
}

static int
decode_claims(struct client_record *rec, const char *v, size_t len)
{
	return record_rules_claims(v, len, &rec->claims, NULL, 0);
}

static int
decode_disabled(struct client_record *rec, const char *v, size_t len)
{
	(void)len;
	rec->disabled = v[0] == '1';
	return 0;
}

static int
decode_revoked_before(struct client_record *rec, const char *v, size_t len)
{
	return decode_time(&rec->revoked_before, v, len);
}

static int
decode_introspect(struct client_record *rec, const char *v, size_t len)
{
	(void)len;
	rec->introspect = v[0] == '1';
	return 0;
}

static int
decode_created_at(struct client_record *rec, const char *v, size_t len)
{
	return decode_time(&rec->created_at, v, len);
}

static int
decode_updated_at(struct client_record *rec, const char *v, size_t len)
{
	return decode_time(&rec->updated_at, v, len);
}

static int
decode_generation(struct client_record *rec, const char *v, size_t len)
{
	memcpy(rec->generation, v, len);
	rec->generation[len] = '\0';
	return 0;
}

static int
decode_auth_method(struct client_record *rec, const char *v, size_t len)
{
	int	 m;

	if ((m = auth_method_parse(v, len)) == -1)
		return -1;
	rec->auth_method = (enum auth_method)m;
	return 0;
}

static int
decode_jwks(struct client_record *rec, const char *v, size_t len)
{
	return record_rules_jwks(v, len, &rec->jwks, NULL, 0);
}

static int
decode_tls_subject(struct client_record *rec, const char *v, size_t len)
{
	rec->tls_subject = xstrndup(v, len);
	return 0;
}

static int
decode_tls_san(struct client_record *rec, const char *v, size_t len)
{
	rec->tls_san = xstrndup(v, len);
	return 0;
}

/* The rule passed: 43-character items separated by single spaces. */
static int
decode_tls_thumbprints(struct client_record *rec, const char *v, size_t len)
{
	size_t	 i, n;

	if (len == 0)
		return 0;
	n = (len + 1) / (CLIENT_THUMBPRINT_LEN + 1);
	if (n * (CLIENT_THUMBPRINT_LEN + 1) != len + 1)
		return -1;
	rec->tls_thumbprints = xcalloc(n, sizeof(*rec->tls_thumbprints));
	for (i = 0; i < n; i++) {
		memcpy(rec->tls_thumbprints[i],
		    v + i * (CLIENT_THUMBPRINT_LEN + 1), CLIENT_THUMBPRINT_LEN);
		rec->tls_thumbprints[i][CLIENT_THUMBPRINT_LEN] = '\0';
	}
	rec->n_tls_thumbprints = n;
	return 0;
}

static int
decode_dpop_bound(struct client_record *rec, const char *v, size_t len)
{
	(void)len;
	rec->dpop_bound = v[0] == '1';
	return 0;
}

/*
 * What the record's method needs, once every field is decoded: NULL, or
 * the one-line reason.
 */
static const char *
method_complete(const struct client_record *rec)
{
	switch (rec->auth_method) {
	case AUTH_METHOD_SECRET_BASIC:
	case AUTH_METHOD_SECRET_POST:
		return rec->secret_hash == NULL ? "secret: missing" : NULL;
	case AUTH_METHOD_PRIVATE_KEY_JWT:
	case AUTH_METHOD_TLS:
	case AUTH_METHOD_SELF_SIGNED_TLS:
		if (rec->secret_hash != NULL)
			return "secret: not used by the client's "
			    "token_endpoint_auth_method";
		break;
	case AUTH_METHOD_COUNT:
		return "token_endpoint_auth_method: unknown";
	}
	switch (rec->auth_method) {
	case AUTH_METHOD_PRIVATE_KEY_JWT:
		return rec->jwks == NULL ? "jwks: missing" : NULL;
	case AUTH_METHOD_TLS:
		return rec->tls_subject == NULL && rec->tls_san == NULL ?
		    "tls_subject and tls_san: both missing" : NULL;
	case AUTH_METHOD_SELF_SIGNED_TLS:
		return rec->n_tls_thumbprints == 0 ?
		    "tls_thumbprints: missing" : NULL;
	default:
		return NULL;
	}
}

static const struct field_def *
field_lookup(const char *name, size_t len, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < nitems(fields_def); i++) {
		if (strlen(fields_def[i].name) == len &&
		    memcmp(fields_def[i].name, name, len) == 0) {
			*idx = i;
			return &fields_def[i];
		}
	}
	return NULL;
}

int
client_record_decode(const char *id, size_t n, const char *const *fields,
    const size_t *field_lens, const char *const *values,
    const size_t *value_lens, struct client_record **out, char *errbuf,
    size_t errlen)
{
	const struct field_def	*def;
	struct client_record	*rec = NULL;
	const char		*why_missing;
	bool			 seen[nitems(fields_def)];
	char			 why[128];
	size_t			 i, idx;
	int			 rc = -1;

	*out = NULL;
	errbuf_set(errbuf, errlen, "%s", "");
	memset(seen, 0, sizeof(seen));
	if (id == NULL || !client_record_is_valid_id(id, strlen(id))) {
		errbuf_set(errbuf, errlen, "invalid client id");
		goto out;
	}
	rec = xcalloc(1, sizeof(*rec));
	scope_set_init(&rec->scopes);
	rec->id = xstrdup(id);

	for (i = 0; i < n; i++) {
		if ((def = field_lookup(fields[i], field_lens[i], &idx)) ==
		    NULL)
			continue;	/* a newer writer's field */
		if (seen[idx]) {
			errbuf_set(errbuf, errlen, "%s: given twice", def->name);
			goto out;
		}
		seen[idx] = true;
		if (!record_rules_check(def->kind, values[i], value_lens[i],
		    why, sizeof(why))) {
			errbuf_set(errbuf, errlen, "%s: %s", def->name, why);
			goto out;
		}
		if (def->decode(rec, values[i], value_lens[i]) == -1) {
			errbuf_set(errbuf, errlen, "%s: not decoded",
			    def->name);
			goto out;
		}
	}
	if ((why_missing = method_complete(rec)) != NULL) {
		errbuf_set(errbuf, errlen, "%s", why_missing);
		goto out;
	}
	if (rec->secret_hash != NULL &&
	    (rec->secret_key = secret_key_new(rec->secret_hash)) == NULL) {
		errbuf_set(errbuf, errlen, "secret: HMAC-SHA256 unavailable");
		goto out;
	}
	*out = rec;
	rec = NULL;
	rc = 0;
out:
	client_record_free(rec);
	return rc;
}

void
client_record_free(struct client_record *rec)
{
	if (rec == NULL)
		return;
	free(rec->id);
	secret_free_str(rec->secret_hash);
	secret_key_free(rec->secret_key);
	scope_set_finish(&rec->scopes);
	for (size_t i = 0; i < rec->n_audiences; i++)
		free(rec->audiences[i]);
	free(rec->audiences);
	json_object_put(rec->claims);
	json_object_put(rec->jwks);
	free(rec->tls_subject);
	free(rec->tls_san);
	free(rec->tls_thumbprints);
	free(rec);
}

bool
client_record_is_valid_id(const char *id, size_t len)
{
	return id != NULL && record_rules_check(RECORD_ID, id, len, NULL, 0);
}

bool
client_record_gen_is_valid(const char *s, size_t len)
{
	return s != NULL &&
	    record_rules_check(RECORD_GENERATION, s, len, NULL, 0);
}
