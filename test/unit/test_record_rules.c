/*
 * test_record_rules: the table of good and bad client-record values
 * (test/data/record_rules.txt, RECORD_RULES_TABLE), which the admin
 * script's integration test reads too, against the server's checks:
 * record_rules_check() for every case, and for each kind the code that
 * applies it where the server meets such a value: client_record_decode()
 * for every field of that kind, client_record_is_valid_id(), and for ids
 * and secrets the request side (client_creds_extract(), Basic and body,
 * and the secret's hash). Every kind must have at least one good and one
 * bad case, so a kind added without rows fails here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "client_creds.h"
#include "client_record.h"
#include "params.h"
#include "record_rules.h"
#include "secret.h"
#include "util.h"
#include "test.h"

#define HASH		"hmac-sha256:000102030405060708090a0b0c0d0e0f:" \
			"5bc2b981340ce75043a2abb4bfa14c282d4104122bb01da8" \
			"9fd1199c416c2c3a"
#define LINE_MAX_BYTES	65536
#define VALUE_MAX	(1024 * 1024)

struct rule_case {
	int		 line;
	int		 kind;
	bool		 valid;
	char		*v;		/* len bytes, NUL-terminated too */
	size_t		 len;
};

static struct rule_case	*cases;
static size_t		 ncases;

/* One "TEXT" piece at *p, its bytes appended to out; -1 if malformed. */
static int
parse_piece(const char **pp, char *out, size_t *olen, size_t cap)
{
	const char	*p = *pp;
	char		 text[LINE_MAX_BYTES];
	size_t		 tlen = 0, i;
	long		 rep = 1;
	int		 hi, lo;

	if (*p++ != '"')
		return -1;
	while (*p != '"') {
		if (*p == '\0')
			return -1;
		if (*p != '\\') {
			text[tlen++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case '"': case '\\':
			text[tlen++] = *p++;
			break;
		case 't':
			text[tlen++] = '\t';
			p++;
			break;
		case 'n':
			text[tlen++] = '\n';
			p++;
			break;
		case 'r':
			text[tlen++] = '\r';
			p++;
			break;
		case 'x':
			if ((hi = hex_digit(p[1])) == -1 ||
			    (lo = hex_digit(p[2])) == -1)
				return -1;
			text[tlen++] = (char)(hi * 16 + lo);
			p += 3;
			break;
		default:
			return -1;
		}
	}
	p++;
	if (*p == '*') {
		rep = 0;
		for (p++; *p >= '0' && *p <= '9' && rep < VALUE_MAX; p++)
			rep = rep * 10 + (*p - '0');
		if (rep < 1)
			return -1;
	}
	for (i = 0; i < (size_t)rep; i++) {
		if (*olen + tlen > cap)
			return -1;
		memcpy(out + *olen, text, tlen);
		*olen += tlen;
	}
	*pp = p;
	return 0;
}

static void
load_table(const char *path)
{
	FILE		*fp;
	char		 line[LINE_MAX_BYTES], kind[32], expect[16];
	const char	*p;
	char		*v;
	int		 lineno = 0, n;
	size_t		 len;

	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			fprintf(stderr, "%s:%d: line too long or cut\n", path,
			    lineno);
			exit(1);
		}
		line[len - 1] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (sscanf(line, "%31s %15s %n", kind, expect, &n) != 2)
			goto bad;
		cases = xrealloc(cases, (ncases + 1) * sizeof(*cases));
		cases[ncases].line = lineno;
		if ((cases[ncases].kind = record_rules_kind(kind)) == -1)
			goto bad;
		if (strcmp(expect, "valid") == 0)
			cases[ncases].valid = true;
		else if (strcmp(expect, "invalid") == 0)
			cases[ncases].valid = false;
		else
			goto bad;
		v = xmalloc(VALUE_MAX + 1);
		len = 0;
		for (p = line + n; *p != '\0';) {
			if (parse_piece(&p, v, &len, VALUE_MAX) == -1) {
				free(v);
				goto bad;
			}
			if (*p != ' ' && *p != '\0') {
				free(v);
				goto bad;
			}
			while (*p == ' ')
				p++;
		}
		v[len] = '\0';
		cases[ncases].v = v;
		cases[ncases].len = len;
		ncases++;
	}
	fclose(fp);
	return;
bad:
	fprintf(stderr, "%s:%d: malformed case\n", path, lineno);
	exit(1);
}

/*
 * client_record_decode() of a record with a good secret and one field
 * (or only that secret, when the field is "secret").
 */
static int
decode_field(const char *id, const char *field, const char *v, size_t len,
    struct client_record **rec)
{
	const char	*f[2] = { "secret", field };
	size_t		 fl[2] = { 6, strlen(field) };
	const char	*vals[2] = { HASH, NULL };
	size_t		 vl[2] = { strlen(HASH), len };
	char		 err[256];
	char		*copy;
	size_t		 i = 1;
	int		 rc;

	if (strcmp(field, "secret") == 0)
		i = 0;
	/* an unterminated copy, so that an overread is caught by ASan */
	copy = xmalloc(len > 0 ? len : 1);
	memcpy(copy, v, len);
	vals[i] = copy;
	vl[i] = len;
	rc = client_record_decode(id, i + 1, f, fl, vals, vl, rec, err,
	    sizeof(err));
	free(copy);
	if (rc == 0 && *rec == NULL)
		abort();
	return rc;
}

static bool
decodes(const char *field, const char *v, size_t len)
{
	struct client_record	*rec = NULL;
	int			 rc;

	rc = decode_field("c1", field, v, len, &rec);
	client_record_free(rec);
	return rc == 0;
}

#define GOOD_JWKS	"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," \
			    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}"
#define GOOD_TP		"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/*
 * Decode a record of a key-bound client: token_endpoint_auth_method
 * method (NULL: none, and a secret instead), then field = v (len bytes;
 * NULL: none), then, unless field is the one the method needs, a good
 * value of what it needs. Returns what client_record_decode() returns;
 * *rec as it sets it.
 */
static int
decode_bound(const char *method, const char *field, const char *v,
    size_t len, struct client_record **rec)
{
	const char	*f[3], *vals[3];
	size_t		 fl[3], vl[3], n = 0;
	char		 err[256];
	char		*copy = NULL;
	int		 rc, m;

	*rec = NULL;
	m = method != NULL ? auth_method_parse(method, strlen(method)) : -1;
	if (method != NULL) {
		f[n] = "token_endpoint_auth_method";
		vals[n++] = method;
	} else {
		f[n] = "secret";
		vals[n++] = HASH;
	}
	if (field != NULL) {
		/* an unterminated copy, so that an overread is caught */
		copy = xmalloc(len > 0 ? len : 1);
		memcpy(copy, v, len);
		f[n] = field;
		vals[n] = copy;
		vl[n++] = len;
	}
	if (m == AUTH_METHOD_PRIVATE_KEY_JWT &&
	    (field == NULL || strcmp(field, "jwks") != 0)) {
		f[n] = "jwks";
		vals[n++] = GOOD_JWKS;
	} else if (m == AUTH_METHOD_TLS && (field == NULL ||
	    (strcmp(field, "tls_subject") != 0 &&
	    strcmp(field, "tls_san") != 0))) {
		f[n] = "tls_san";
		vals[n++] = "svc.example";
	} else if (m == AUTH_METHOD_SELF_SIGNED_TLS && (field == NULL ||
	    strcmp(field, "tls_thumbprints") != 0)) {
		f[n] = "tls_thumbprints";
		vals[n++] = GOOD_TP;
	} else if (m == AUTH_METHOD_SECRET_BASIC ||
	    m == AUTH_METHOD_SECRET_POST) {
		f[n] = "secret";
		vals[n++] = HASH;
	}
	for (size_t i = 0; i < n; i++) {
		fl[i] = strlen(f[i]);
		if (vals[i] != copy)
			vl[i] = strlen(vals[i]);
	}
	rc = client_record_decode("c1", n, f, fl, vals, vl, rec, err,
	    sizeof(err));
	free(copy);
	if (rc == 0 && *rec == NULL)
		abort();
	return rc;
}

/* %-encode every byte but A-Z a-z 0-9 - . _ ~ (RFC 3986 unreserved). */
static char *
form_encode(const char *v, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out = xmalloc(len * 3 + 1), *o = out;
	size_t			 i;
	unsigned char		 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)v[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/*
 * Whether a request presenting id and secret (both as the client would:
 * form-urlencoded, in a Basic header or in the body) gets them through
 * client_creds_extract() unchanged.
 */
static bool
presentable(const char *id, const char *secret, size_t slen)
{
	struct client_creds	 creds;
	struct params		 p;
	char			*eid, *esec, *raw, *body, *hdr;
	size_t			 rawlen;
	bool			 ok = true;
	int			 m;

	eid = form_encode(id, strlen(id));
	esec = form_encode(secret, slen);
	rawlen = strlen(eid) + 1 + strlen(esec);
	raw = xmalloc(rawlen + 1);
	snprintf(raw, rawlen + 1, "%s:%s", eid, esec);
	hdr = xmalloc(6 + (rawlen + 2) / 3 * 4 + 1);
	memcpy(hdr, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)hdr + 6, (unsigned char *)raw,
	    (int)rawlen);
	body = xmalloc(rawlen + 64);
	snprintf(body, rawlen + 64, "client_id=%s&client_secret=%s", eid,
	    esec);
	for (m = 0; m < 2 && ok; m++) {
		memset(&creds, 0, sizeof(creds));
		params_init(&p);
		if (m == 1 && params_parse_form(&p, body, strlen(body)) !=
		    PARAMS_OK)
			ok = false;
		else if (client_creds_extract(m == 0 ? hdr : NULL,
		    m == 1 ? &p : NULL, &creds) != CREDS_OK)
			ok = false;
		else if (strcmp(creds.id, id) != 0 || creds.secret_len != slen ||
		    memcmp(creds.secret, secret, slen) != 0)
			ok = false;
		client_creds_finish(&creds);
		params_finish(&p);
	}
	free(body);
	free(hdr);
	secret_wipe(raw, rawlen);
	free(raw);
	free(esec);
	free(eid);
	return ok;
}

/* The server's other checks of the case's kind agree with the table. */
static bool
server_agrees(const struct rule_case *c)
{
	static const char *const flags[] = { "disabled", "introspect" };
	static const char *const times[] = { "revoked_before", "created_at",
	    "updated_at" };
	struct client_record	*rec = NULL;
	struct scope_set	 set;
	char			 stored[SECRET_HASH_SIZE];
	bool			 nul = memchr(c->v, '\0', c->len) != NULL;
	bool			 space = memchr(c->v, ' ', c->len) != NULL;
	bool			 ok = true;
	size_t			 i, first;

	switch ((enum record_kind)c->kind) {
	case RECORD_ID:
		if (client_record_is_valid_id(c->v, c->len) != c->valid)
			return false;
		if (nul)	/* a C-string id cannot hold it */
			return true;
		if ((decode_field(c->v, "ttl", "5", 1, &rec) == 0) != c->valid)
			ok = false;
		client_record_free(rec);
		if (ok && c->valid)
			ok = presentable(c->v, "0123456789abcdef0123456789abcdef",
			    32);
		return ok;
	case RECORD_SECRET:
		if (!c->valid)
			return true;
		/* a secret the script takes can be presented, and matches */
		if (!presentable("c1", c->v, c->len))
			return false;
		if (secret_hash_new(c->v, c->len, stored, sizeof(stored)) != 0)
			return false;
		return secret_hash_check(stored, c->v, c->len) &&
		    !secret_hash_check(stored, c->v, c->len - 1);
	case RECORD_SECRET_HASH:
		return decodes("secret", c->v, c->len) == c->valid;
	case RECORD_SCOPE:
		if (c->valid) {
			if (scope_parse(c->v, c->len, 0, &set) != SCOPE_OK)
				return false;
			ok = set.n == 1 && strcmp(set.v[0], c->v) == 0;
			scope_set_finish(&set);
			return ok && decodes("scopes", c->v, c->len);
		}
		/* a one-token list is the token ("" is the empty list) */
		return space || c->len == 0 ||
		    !decodes("scopes", c->v, c->len);
	case RECORD_SCOPES:
		return decodes("scopes", c->v, c->len) == c->valid;
	case RECORD_AUDIENCE:
		if (!c->valid)
			return space || c->len == 0 ||
			    !decodes("audience", c->v, c->len);
		if (decode_field("c1", "audience", c->v, c->len, &rec) != 0)
			return false;
		ok = rec->audience != NULL && strcmp(rec->audience, c->v) == 0;
		client_record_free(rec);
		return ok;
	case RECORD_AUDIENCES:
		if (decode_field("c1", "audience", c->v, c->len, &rec) != 0)
			return !c->valid;
		/* the first audience is the tokens' aud; "" the default */
		for (first = 0; first < c->len && c->v[first] != ' '; first++)
			;
		if (first == 0)
			ok = rec->audience == NULL;
		else
			ok = rec->audience != NULL &&
			    strlen(rec->audience) == first &&
			    memcmp(rec->audience, c->v, first) == 0;
		client_record_free(rec);
		return ok && c->valid;
	case RECORD_CLAIMS:
		return decodes("claims", c->v, c->len) == c->valid;
	case RECORD_TTL:
		return decodes("ttl", c->v, c->len) == c->valid;
	case RECORD_FLAG:
		for (i = 0; i < nitems(flags); i++)
			if (decodes(flags[i], c->v, c->len) != c->valid)
				return false;
		return true;
	case RECORD_TIME:
		for (i = 0; i < nitems(times); i++)
			if (decodes(times[i], c->v, c->len) != c->valid)
				return false;
		return true;
	case RECORD_GENERATION:
		/* the field, and the claim's check (client_record.h) */
		return decodes("generation", c->v, c->len) == c->valid &&
		    client_record_gen_is_valid(c->v, c->len) == c->valid;
	case RECORD_AUTH_METHOD:
		if (!c->valid)
			return nul || decode_bound("client_secret_basic",
			    "token_endpoint_auth_method", c->v, c->len,
			    &rec) == -1;
		/* a good method, with what it needs, is the record's */
		if (decode_bound(c->v, NULL, NULL, 0, &rec) != 0)
			return false;
		ok = (int)rec->auth_method == auth_method_parse(c->v, c->len) &&
		    (rec->secret_key != NULL) ==
		    auth_method_uses_secret(rec->auth_method);
		client_record_free(rec);
		return ok;
	case RECORD_JWKS:
		ok = decode_bound("private_key_jwt", "jwks", c->v, c->len,
		    &rec) == 0;
		ok = ok == c->valid && (!ok || rec->jwks != NULL);
		client_record_free(rec);
		return ok;
	case RECORD_TLS_SUBJECT:
	case RECORD_TLS_SAN:
		first = c->kind == RECORD_TLS_SUBJECT;
		ok = decode_bound("tls_client_auth", first ? "tls_subject" :
		    "tls_san", c->v, c->len, &rec) == 0;
		if (ok && c->valid)
			ok = strcmp(first ? rec->tls_subject : rec->tls_san,
			    c->v) == 0;
		else
			ok = ok == c->valid;
		client_record_free(rec);
		return ok;
	case RECORD_TLS_THUMBPRINT:
		if (!c->valid)
			return space || c->len == 0 || decode_bound(
			    "self_signed_tls_client_auth", "tls_thumbprints",
			    c->v, c->len, &rec) == -1;
		if (decode_bound("self_signed_tls_client_auth",
		    "tls_thumbprints", c->v, c->len, &rec) != 0)
			return false;
		ok = rec->n_tls_thumbprints == 1 &&
		    strcmp(rec->tls_thumbprints[0], c->v) == 0;
		client_record_free(rec);
		return ok;
	case RECORD_TLS_THUMBPRINTS:
		/* "" is valid, and no thumbprint at all: the method's missing */
		ok = decode_bound(c->len == 0 ? NULL :
		    "self_signed_tls_client_auth", "tls_thumbprints", c->v,
		    c->len, &rec) == 0;
		if (ok && c->valid && c->len > 0)
			ok = rec->n_tls_thumbprints == (c->len + 1) /
			    (CLIENT_THUMBPRINT_LEN + 1);
		else
			ok = ok == c->valid;
		client_record_free(rec);
		return ok;
	case RECORD_KIND_COUNT:
		break;
	}
	return false;
}

static void
test_record_rules_table(void)
{
	char	 why[256];
	size_t	 i, failed = 0;
	bool	 got;

	TEST_ASSERT(ncases > 100);
	for (i = 0; i < ncases; i++) {
		why[0] = '\0';
		got = record_rules_check(cases[i].kind, cases[i].v,
		    cases[i].len, why, sizeof(why));
		if (got != cases[i].valid) {
			fprintf(stderr, "record_rules.txt:%d: %s: want %s, "
			    "got %s (%s)\n", cases[i].line,
			    record_rules_kind_name(cases[i].kind),
			    cases[i].valid ? "valid" : "invalid",
			    got ? "valid" : "invalid", why);
			failed++;
		} else if (!got && why[0] == '\0') {
			fprintf(stderr, "record_rules.txt:%d: no reason\n",
			    cases[i].line);
			failed++;
		}
	}
	TEST_ASSERT(failed == 0);
}

static void
test_record_rules_server_agrees(void)
{
	size_t	 i, failed = 0;

	for (i = 0; i < ncases; i++) {
		if (!server_agrees(&cases[i])) {
			fprintf(stderr, "record_rules.txt:%d: %s: the server's "
			    "own check disagrees\n", cases[i].line,
			    record_rules_kind_name(cases[i].kind));
			failed++;
		}
	}
	TEST_ASSERT(failed == 0);
}

static void
test_record_rules_every_kind_in_table(void)
{
	bool	 good[RECORD_KIND_COUNT] = { 0 }, bad[RECORD_KIND_COUNT] = { 0 };
	size_t	 i;
	int	 k;

	for (i = 0; i < ncases; i++) {
		if (cases[i].valid)
			good[cases[i].kind] = true;
		else
			bad[cases[i].kind] = true;
	}
	for (k = 0; k < RECORD_KIND_COUNT; k++) {
		if (!good[k] || !bad[k])
			fprintf(stderr, "record_rules.txt: kind %s needs a "
			    "good and a bad case\n", record_rules_kind_name(k));
		TEST_ASSERT(good[k] && bad[k]);
		TEST_ASSERT(record_rules_kind(record_rules_kind_name(k)) == k);
	}
	TEST_ASSERT(record_rules_kind("nonsense") == -1);
	TEST_ASSERT(strcmp(record_rules_kind_name(RECORD_KIND_COUNT),
	    "unknown") == 0);
	TEST_ASSERT(!record_rules_check(RECORD_KIND_COUNT, "a", 1, NULL, 0));
}

static void
test_record_rules_reasons(void)
{
	char	 why[128];
	char	*big;

	/* a reason never quotes the value */
	TEST_ASSERT(!record_rules_check(RECORD_SECRET, "short-s3cret", 12,
	    why, sizeof(why)));
	TEST_ASSERT(strcmp(why, "shorter than 32 characters") == 0);
	TEST_ASSERT(!record_rules_check(RECORD_SECRET,
	    "s3cret-\xc3\xa9-0123456789abcdef0123456789", 40, why,
	    sizeof(why)));
	TEST_ASSERT(strstr(why, "s3cret") == NULL);
	TEST_ASSERT(!record_rules_check(RECORD_AUDIENCE, "caf\xe9", 4, why,
	    sizeof(why)));
	TEST_ASSERT(strcmp(why, "not UTF-8") == 0);
	TEST_ASSERT(!record_rules_check(RECORD_ID, "a\0b", 3, why,
	    sizeof(why)));
	TEST_ASSERT(strcmp(why, "NUL byte") == 0);
	TEST_ASSERT(!record_rules_check(RECORD_CLAIMS, "{\"iss\":1}", 9, why,
	    sizeof(why)));
	TEST_ASSERT(strcmp(why, "reserved claim name \"iss\"") == 0);
	/* no reason buffer is fine; a short one is cut, not overrun */
	TEST_ASSERT(!record_rules_check(RECORD_TTL, "x", 1, NULL, 0));
	TEST_ASSERT(!record_rules_check(RECORD_TTL, "x", 1, why, 4));
	TEST_ASSERT(strlen(why) == 3);
	/* a huge value is refused by its length before it is read */
	big = xmalloc(VALUE_MAX);
	memset(big, 'a', VALUE_MAX);
	TEST_ASSERT(!record_rules_check(RECORD_AUDIENCES, big, VALUE_MAX, why,
	    sizeof(why)));
	TEST_ASSERT(strcmp(why, "longer than 4096 bytes") == 0);
	free(big);
	/* an empty value may come as NULL */
	TEST_ASSERT(record_rules_check(RECORD_SCOPES, NULL, 0, NULL, 0));
	TEST_ASSERT(!record_rules_check(RECORD_ID, NULL, 0, NULL, 0));
}

static void
test_record_rules_claims_keeps_object(void)
{
	struct json_object	*obj = (struct json_object *)1;

	TEST_ASSERT(record_rules_claims("", 0, &obj, NULL, 0) == 0);
	TEST_ASSERT(obj == NULL);
	TEST_ASSERT(record_rules_claims(" { } ", 5, &obj, NULL, 0) == 0);
	TEST_ASSERT(obj == NULL);
	TEST_ASSERT(record_rules_claims("{\"a\":1}", 7, &obj, NULL, 0) == 0);
	TEST_ASSERT(obj != NULL);
	json_object_put(obj);
	obj = (struct json_object *)1;
	TEST_ASSERT(record_rules_claims("[1]", 3, &obj, NULL, 0) == -1);
	TEST_ASSERT(obj == NULL);
}

int
main(void)
{
	size_t	 i;

	load_table(RECORD_RULES_TABLE);
	test_run(test_record_rules_table);
	test_run(test_record_rules_server_agrees);
	test_run(test_record_rules_every_kind_in_table);
	test_run(test_record_rules_reasons);
	test_run(test_record_rules_claims_keeps_object);
	for (i = 0; i < ncases; i++)
		free(cases[i].v);
	free(cases);
	return test_summary();
}
