/*
 * client_record: decode a client's Redis hash into struct client_record.
 *
 * The input is an HGETALL reply as db.c hands it over: field/value
 * pairs with lengths, any bytes at all. Each known field has one row in
 * fields[]: its name, its longest value and its decoder. A value is
 * refused as a whole when it holds a NUL byte (C strings would silently
 * cut it) or is longer than its cap, before its decoder sees it. Unknown
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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_record.h"
#include "secret.h"
#include "sjson.h"
#include "util.h"

#define DECIMAL_MAX	19	/* digits of a non-negative int64 */

typedef int	(*field_decode_fn)(struct client_record *, const char *,
		    size_t, char *, size_t);

struct field_def {
	const char	*name;
	size_t		 max;		/* longest value accepted */
	field_decode_fn	 decode;
};

static int	decode_secret(struct client_record *, const char *, size_t,
		    char *, size_t);
static int	decode_scopes(struct client_record *, const char *, size_t,
		    char *, size_t);
static int	decode_audience(struct client_record *, const char *, size_t,
		    char *, size_t);
static int	decode_ttl(struct client_record *, const char *, size_t,
		    char *, size_t);
static int	decode_claims(struct client_record *, const char *, size_t,
		    char *, size_t);
static int	decode_disabled(struct client_record *, const char *, size_t,
		    char *, size_t);
static int	decode_revoked_before(struct client_record *, const char *,
		    size_t, char *, size_t);
static int	decode_introspect(struct client_record *, const char *,
		    size_t, char *, size_t);
static int	decode_created_at(struct client_record *, const char *,
		    size_t, char *, size_t);
static int	decode_updated_at(struct client_record *, const char *,
		    size_t, char *, size_t);
static int	decode_generation(struct client_record *, const char *,
		    size_t, char *, size_t);

static const struct field_def fields_def[] = {
	{ "secret",		CLIENT_SECRET_HASH_MAX,	decode_secret },
	{ "scopes",		SCOPE_MAX_LEN,		decode_scopes },
	{ "audience",		CLIENT_AUDIENCE_MAX,	decode_audience },
	{ "ttl",		DECIMAL_MAX,		decode_ttl },
	{ "claims",		CLIENT_CLAIMS_MAX,	decode_claims },
	{ "disabled",		1,			decode_disabled },
	{ "revoked_before",	DECIMAL_MAX,		decode_revoked_before },
	{ "introspect",		1,			decode_introspect },
	{ "created_at",		DECIMAL_MAX,		decode_created_at },
	{ "updated_at",		DECIMAL_MAX,		decode_updated_at },
	{ "generation",		CLIENT_GEN_LEN,		decode_generation },
};

/*
 * RFC 7519 4.1 registered claims, those RFC 9068 gives a meaning, and
 * ours (client_gen: the client's generation, verify.h).
 */
static const char *const reserved_claims[] = {
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id",
	"client_gen", "scope", "auth_time", "acr", "amr", "cnf",
};

/*
 * A non-negative decimal of at most DECIMAL_MAX digits (leading zeros
 * allowed, no sign, no spaces) that is at most max.
 */
static int
parse_decimal(const char *v, size_t len, long long max, long long *out)
{
	char		 buf[DECIMAL_MAX + 1];
	long long	 n;
	size_t		 i;

	if (len == 0 || len > DECIMAL_MAX)
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

static int
decode_flag(const char *name, bool *dst, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	if (len == 1 && (v[0] == '0' || v[0] == '1')) {
		*dst = v[0] == '1';
		return 0;
	}
	errbuf_set(errbuf, errlen, "%s: not 0 or 1", name);
	return -1;
}

static int
decode_time(const char *name, int64_t *dst, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	long long	 n;

	if (parse_decimal(v, len, INT64_MAX, &n) == -1) {
		errbuf_set(errbuf, errlen, "%s: not a non-negative decimal number "
		    "of seconds", name);
		return -1;
	}
	*dst = n;
	return 0;
}

static int
decode_secret(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	if (len == 0) {
		errbuf_set(errbuf, errlen, "secret: empty");
		return -1;
	}
	rec->secret_hash = xstrndup(v, len);
	return 0;
}

static int
decode_scopes(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	enum scope_result	 r;

	if ((r = scope_parse(v, len, 0, &rec->scopes)) != SCOPE_OK) {
		errbuf_set(errbuf, errlen, "scopes: not a scope list (%s)",
		    scope_result_name(r));
		return -1;
	}
	return 0;
}

static int
decode_audience(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			errbuf_set(errbuf, errlen, "audience: control character");
			return -1;
		}
	}
	/* "" means the server's --default-audience */
	if (len > 0)
		rec->audience = xstrndup(v, len);
	return 0;
}

static int
decode_ttl(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	long long	 n = 0;

	/* "" and "0" both mean the server's --token-ttl */
	if (len > 0 && parse_decimal(v, len, CLIENT_TTL_MAX, &n) == -1) {
		errbuf_set(errbuf, errlen, "ttl: not a decimal number of seconds "
		    "in 0..%ld", CLIENT_TTL_MAX);
		return -1;
	}
	rec->ttl = (long)n;
	return 0;
}

/*
 * Strict JSON as sjson_parse() takes it (RFC 8259, RFC 3629 UTF-8, finite
 * numbers, no duplicate names, no \u0000), at most CLIENT_CLAIMS_DEPTH
 * deep, the top object included; an object, no reserved name among its
 * members. The admin script checks much the same before it writes (not
 * yet duplicates, lone surrogate escapes or \u0000 in a value); this is
 * for records written by hand.
 */
static int
decode_claims(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	struct json_object	*obj = NULL;
	int			 rc = -1;

	if (len == 0)
		return 0;	/* as "{}": none */
	if ((obj = sjson_parse(v, len, CLIENT_CLAIMS_DEPTH)) == NULL) {
		errbuf_set(errbuf, errlen, "claims: not valid JSON");
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		errbuf_set(errbuf, errlen, "claims: not a JSON object");
		goto out;
	}
	json_object_object_foreach(obj, name, val) {
		(void)val;
		if (client_record_claim_is_reserved(name)) {
			errbuf_set(errbuf, errlen, "claims: reserved claim name "
			    "\"%s\"", name);
			goto out;
		}
	}
	if (json_object_object_length(obj) > 0) {
		rec->claims = obj;
		obj = NULL;
	}
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}

static int
decode_disabled(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	return decode_flag("disabled", &rec->disabled, v, len, errbuf,
	    errlen);
}

static int
decode_revoked_before(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	return decode_time("revoked_before", &rec->revoked_before, v, len,
	    errbuf, errlen);
}

static int
decode_introspect(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	return decode_flag("introspect", &rec->introspect, v, len, errbuf,
	    errlen);
}

static int
decode_created_at(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	return decode_time("created_at", &rec->created_at, v, len, errbuf,
	    errlen);
}

static int
decode_updated_at(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	return decode_time("updated_at", &rec->updated_at, v, len, errbuf,
	    errlen);
}

static int
decode_generation(struct client_record *rec, const char *v, size_t len,
    char *errbuf, size_t errlen)
{
	if (!client_record_gen_is_valid(v, len)) {
		errbuf_set(errbuf, errlen, "generation: not INCARNATION.SERIAL "
		    "(16 and 16 lowercase hex digits)");
		return -1;
	}
	memcpy(rec->generation, v, len);
	rec->generation[len] = '\0';
	return 0;
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
	bool			 seen[nitems(fields_def)];
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
		if (value_lens[i] > def->max) {
			errbuf_set(errbuf, errlen, "%s: longer than %zu bytes",
			    def->name, def->max);
			goto out;
		}
		if (value_lens[i] > 0 &&
		    memchr(values[i], '\0', value_lens[i]) != NULL) {
			errbuf_set(errbuf, errlen, "%s: NUL byte", def->name);
			goto out;
		}
		if (def->decode(rec, values[i], value_lens[i], errbuf,
		    errlen) == -1)
			goto out;
	}
	if (rec->secret_hash == NULL) {
		errbuf_set(errbuf, errlen, "secret: missing");
		goto out;
	}
	if ((rec->secret_key = secret_key_new(rec->secret_hash)) == NULL) {
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
	free(rec->audience);
	json_object_put(rec->claims);
	free(rec);
}

bool
client_record_is_valid_id(const char *id, size_t len)
{
	static const char	 ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789._~:@-";
	size_t			 i;

	if (id == NULL || len == 0 || len > CLIENT_ID_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (id[i] == '\0' || strchr(ok, id[i]) == NULL)
			return false;
	return true;
}

bool
client_record_gen_is_valid(const char *s, size_t len)
{
	size_t	 i;

	if (s == NULL || len != CLIENT_GEN_LEN || s[CLIENT_GEN_HEX] != '.')
		return false;
	for (i = 0; i < len; i++) {
		if (i == CLIENT_GEN_HEX)
			continue;
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

bool
client_record_claim_is_reserved(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(reserved_claims); i++)
		if (strcmp(name, reserved_claims[i]) == 0)
			return true;
	return false;
}
