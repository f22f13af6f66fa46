/*
 * test_client_record: decoding an HGETALL reply into a client record:
 * every field, the defaults of missing ones, and malformed, binary and
 * over-long values. Values are passed with explicit lengths and without
 * NUL termination, as hiredis gives them.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_record.h"
#include "util.h"
#include "test.h"

#define MAXPAIRS	32

#define HASH		"hmac-sha256:000102030405060708090a0b0c0d0e0f:" \
			"5bc2b981340ce75043a2abb4bfa14c282d4104122bb01da8" \
			"9fd1199c416c2c3a"

struct pairs {
	size_t		 n;
	const char	*f[MAXPAIRS];
	size_t		 flen[MAXPAIRS];
	const char	*v[MAXPAIRS];
	size_t		 vlen[MAXPAIRS];
	/* unterminated copies of the values, so overreads are caught */
	char		*copy[MAXPAIRS];
};

static void
add_bin(struct pairs *p, const char *f, const char *v, size_t vlen)
{
	p->f[p->n] = f;
	p->flen[p->n] = strlen(f);
	p->copy[p->n] = xmalloc(vlen);
	if (vlen > 0)
		memcpy(p->copy[p->n], v, vlen);
	p->v[p->n] = p->copy[p->n];
	p->vlen[p->n] = vlen;
	p->n++;
}

static void
add(struct pairs *p, const char *f, const char *v)
{
	add_bin(p, f, v, strlen(v));
}

static void
pairs_finish(struct pairs *p)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		free(p->copy[i]);
	memset(p, 0, sizeof(*p));
}

/* decode, keep the reason in err */
static int
decode(const char *id, struct pairs *p, struct client_record **rec,
    char *err, size_t errlen)
{
	return client_record_decode(id, p->n, p->f, p->flen, p->v, p->vlen,
	    rec, err, errlen);
}

/* A pair list with a good secret and one field (or just that secret). */
static int
decode_one(const char *field, const char *v, size_t vlen, char *err,
    size_t errlen)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	int			 rc;

	memset(&p, 0, sizeof(p));
	if (strcmp(field, "secret") != 0)
		add(&p, "secret", HASH);
	add_bin(&p, field, v, vlen);
	rc = decode("c1", &p, &rec, err, errlen);
	if (rc == 0 && rec == NULL)
		rc = -2;
	if (rc == -1 && rec != NULL)
		rc = -3;
	client_record_free(rec);
	pairs_finish(&p);
	return rc;
}

static int
one(const char *field, const char *v)
{
	char	 err[256];

	return decode_one(field, v, strlen(v), err, sizeof(err));
}

static void
test_client_record_all_fields(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	struct json_object	*v;
	char			 err[256];

	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	add(&p, "scopes", "read write");
	add(&p, "audience", "https://api.example.com");
	add(&p, "ttl", "600");
	add(&p, "claims", "{\"tenant\":\"acme\",\"n\":[1,2]}");
	add(&p, "disabled", "1");
	add(&p, "revoked_before", "1700000001");
	add(&p, "introspect", "1");
	add(&p, "created_at", "1700000000");
	add(&p, "updated_at", "1700000002");
	add(&p, "generation", "0123456789abcdef.fedcba9876543210");
	add(&p, "future_field", "anything \x01\x02");
	TEST_ASSERT(decode("svc.a-1~:@x", &p, &rec, err, sizeof(err)) == 0);
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(strcmp(rec->id, "svc.a-1~:@x") == 0);
	TEST_ASSERT(strcmp(rec->secret_hash, HASH) == 0);
	TEST_ASSERT(rec->scopes.n == 2);
	TEST_ASSERT(scope_contains(&rec->scopes, "write"));
	TEST_ASSERT(strcmp(rec->audience, "https://api.example.com") == 0);
	TEST_ASSERT(rec->n_audiences == 1 &&
	    rec->audiences[0] == rec->audience);
	TEST_ASSERT(rec->ttl == 600);
	TEST_ASSERT(rec->claims != NULL);
	TEST_ASSERT(json_object_object_get_ex(rec->claims, "tenant", &v));
	TEST_ASSERT(strcmp(json_object_get_string(v), "acme") == 0);
	TEST_ASSERT(rec->disabled);
	TEST_ASSERT(rec->revoked_before == 1700000001);
	TEST_ASSERT(rec->introspect);
	TEST_ASSERT(rec->created_at == 1700000000);
	TEST_ASSERT(rec->updated_at == 1700000002);
	TEST_ASSERT(strcmp(rec->generation,
	    "0123456789abcdef.fedcba9876543210") == 0);
	TEST_ASSERT(rec->read_us == 0 && !rec->vouched);
	client_record_free(rec);
	pairs_finish(&p);
}

/* The audience field is a list, kept whole and in order. */
static void
test_client_record_audiences(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256];

	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	add(&p, "audience",
	    "https://a.example/v1 orders urn:acme:b caf\xc3\xa9");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == 0);
	TEST_ASSERT(rec->n_audiences == 4);
	TEST_ASSERT(rec->audience == rec->audiences[0]);
	TEST_ASSERT(strcmp(rec->audiences[0], "https://a.example/v1") == 0);
	TEST_ASSERT(strcmp(rec->audiences[1], "orders") == 0);
	TEST_ASSERT(strcmp(rec->audiences[2], "urn:acme:b") == 0);
	TEST_ASSERT(strcmp(rec->audiences[3], "caf\xc3\xa9") == 0);
	client_record_free(rec);
	pairs_finish(&p);
	/* refused as before: a doubled space, an item twice */
	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	add(&p, "audience", "a  b");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	pairs_finish(&p);
	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	add(&p, "audience", "a b a");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	pairs_finish(&p);
}

static void
test_client_record_defaults(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256];

	/* only the secret: a record written by hand */
	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == 0);
	TEST_ASSERT(rec->scopes.n == 0);
	TEST_ASSERT(rec->audience == NULL);
	TEST_ASSERT(rec->n_audiences == 0 && rec->audiences == NULL);
	TEST_ASSERT(rec->ttl == 0);
	TEST_ASSERT(rec->claims == NULL);
	TEST_ASSERT(!rec->disabled);
	TEST_ASSERT(rec->revoked_before == 0);
	TEST_ASSERT(!rec->introspect);
	TEST_ASSERT(rec->created_at == 0 && rec->updated_at == 0);
	/* no generation: a record of an older script (verify.h's rules) */
	TEST_ASSERT(rec->generation[0] == '\0');
	client_record_free(rec);
	rec = NULL;
	pairs_finish(&p);

	/* what the admin script writes for "add ID" */
	add(&p, "secret", HASH);
	add(&p, "scopes", "");
	add(&p, "audience", "");
	add(&p, "ttl", "0");
	add(&p, "claims", "{}");
	add(&p, "disabled", "0");
	add(&p, "revoked_before", "0");
	add(&p, "introspect", "0");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == 0);
	TEST_ASSERT(rec->scopes.n == 0);
	TEST_ASSERT(rec->audience == NULL);
	TEST_ASSERT(rec->ttl == 0);
	TEST_ASSERT(rec->claims == NULL);
	client_record_free(rec);
	rec = NULL;
	pairs_finish(&p);

	/* empty ttl and claims mean the defaults too */
	TEST_ASSERT(one("ttl", "") == 0);
	TEST_ASSERT(one("claims", "") == 0);
	TEST_ASSERT(one("claims", " { } ") == 0);
}

static void
test_client_record_missing_secret(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256];

	memset(&p, 0, sizeof(p));
	add(&p, "scopes", "a");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(rec == NULL);
	TEST_ASSERT(strcmp(err, "secret: missing") == 0);
	pairs_finish(&p);
	/* no fields at all (HGETALL of a missing key is the caller's) */
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(decode_one("secret", "", 0, err, sizeof(err)) == -1);
	/* a field name is matched whole, not by prefix */
	add(&p, "secrets", HASH);
	add(&p, "Secret", HASH);
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	pairs_finish(&p);
	add_bin(&p, "secret", HASH, strlen(HASH));
	p.flen[0] = 5;	/* "secre" */
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	pairs_finish(&p);
}

static void
test_client_record_unknown_tag_accepted(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256];

	/* secret_hash_check() judges it, like a wrong secret */
	memset(&p, 0, sizeof(p));
	add(&p, "secret", "argon2id:whatever");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == 0);
	TEST_ASSERT(strcmp(rec->secret_hash, "argon2id:whatever") == 0);
	client_record_free(rec);
	pairs_finish(&p);
}

static void
test_client_record_duplicate_field(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256];

	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	add(&p, "ttl", "5");
	add(&p, "ttl", "6");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "ttl: given twice") == 0);
	pairs_finish(&p);
	add(&p, "secret", HASH);
	add(&p, "secret", HASH);
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	pairs_finish(&p);
	/* unknown fields may repeat: they are not looked at */
	add(&p, "secret", HASH);
	add(&p, "x", "1");
	add(&p, "x", "2");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == 0);
	client_record_free(rec);
	pairs_finish(&p);
}

static void
test_client_record_bad_ttl(void)
{
	char	 err[256];

	TEST_ASSERT(one("ttl", "31536000") == 0);
	TEST_ASSERT(one("ttl", "0600") == 0);
	TEST_ASSERT(one("ttl", "31536001") == -1);
	TEST_ASSERT(one("ttl", "-1") == -1);
	TEST_ASSERT(one("ttl", "+5") == -1);
	TEST_ASSERT(one("ttl", " 5") == -1);
	TEST_ASSERT(one("ttl", "5 ") == -1);
	TEST_ASSERT(one("ttl", "5s") == -1);
	TEST_ASSERT(one("ttl", "0x10") == -1);
	TEST_ASSERT(one("ttl", "1e3") == -1);
	TEST_ASSERT(one("ttl", "99999999999999999999") == -1);
	TEST_ASSERT(decode_one("ttl", "60\0" "0", 4, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "ttl: NUL byte") == 0);
	/* the digits run on past the value's length: not read */
	TEST_ASSERT(decode_one("ttl", "60000000000", 2, err,
	    sizeof(err)) == 0);
}

static void
test_client_record_bad_flags_and_times(void)
{
	TEST_ASSERT(one("disabled", "0") == 0);
	TEST_ASSERT(one("disabled", "1") == 0);
	TEST_ASSERT(one("disabled", "2") == -1);
	TEST_ASSERT(one("disabled", "") == -1);
	TEST_ASSERT(one("disabled", "true") == -1);
	TEST_ASSERT(one("disabled", "01") == -1);
	TEST_ASSERT(one("introspect", "yes") == -1);
	TEST_ASSERT(one("revoked_before", "9223372036854775807") == 0);
	TEST_ASSERT(one("revoked_before", "9223372036854775808") == -1);
	TEST_ASSERT(one("revoked_before", "-1") == -1);
	TEST_ASSERT(one("revoked_before", "") == -1);
	TEST_ASSERT(one("created_at", "1.5") == -1);
	TEST_ASSERT(one("updated_at", "now") == -1);
}

static void
test_client_record_bad_scopes_audience(void)
{
	char	 err[256];

	TEST_ASSERT(one("scopes", "a  b") == -1);
	TEST_ASSERT(one("scopes", " a") == -1);
	TEST_ASSERT(decode_one("scopes", "a a", 3, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "scopes: not a scope list (duplicate)") ==
	    0);
	TEST_ASSERT(one("scopes", "a\"b") == -1);
	TEST_ASSERT(one("audience", "a\nb") == -1);
	TEST_ASSERT(one("audience", "a\x7f") == -1);
	TEST_ASSERT(one("audience", "urn:x y caf\xc3\xa9") == 0);
}

static void
test_client_record_bad_claims(void)
{
	char	 err[256];

	TEST_ASSERT(decode_one("claims", "{", 1, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "claims: not valid JSON") == 0);
	TEST_ASSERT(one("claims", "{\"a\":1,}") == -1);
	TEST_ASSERT(one("claims", "{'a':1}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":1} x") == -1);
	TEST_ASSERT(one("claims", "{\"a\":1}{}") == -1);
	/* json-c takes these even in strict mode; we do not */
	TEST_ASSERT(one("claims", "{\"a\":NaN}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":Infinity}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":-Infinity}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":1.}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":1e999}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\t\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":01}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":.5}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":+1}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":0x10}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":tru}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\\x\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\\u12g4\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\" 1}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":1 \"b\":2}") == -1);
	TEST_ASSERT(one("claims", "{a:1}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":[1,]}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"x}") == -1);
	/* UTF-8: overlong, surrogate, past U+10FFFF, cut short */
	TEST_ASSERT(one("claims", "{\"a\":\"\xc0\x80\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\xe0\x80\x80\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\xed\xa0\x80\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\xf4\x90\x80\x80\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\xf5\x80\x80\x80\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\xe2\x82\"}") == -1);
	TEST_ASSERT(one("claims", "{\"\xf0\x9f\x98\x80\":\"\xf4\x8f\xbf\xbf\"}")
	    == 0);
	/* \u0000: in a value or a name (json-c cuts names), never */
	TEST_ASSERT(one("claims", "{\"a\":\"x\\u0000y\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\\u0000b\":1}") == -1);
	TEST_ASSERT(one("claims", "{\"sub\\u0000x\":1}") == -1);
	TEST_ASSERT(one("claims", "{\"a\\\\u0000b\":1}") == 0);
	/* a lone surrogate escape, a name given twice */
	TEST_ASSERT(one("claims", "{\"a\":\"\\ud800\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":\"\\ud83d\\ude00\"}") == 0);
	TEST_ASSERT(one("claims", "{\"a\":1,\"a\":2}") == -1);
	TEST_ASSERT(one("claims", "{\"x\":{\"b\":1,\"\\u0062\":2}}") == -1);
	/* and the JSON that is fine */
	TEST_ASSERT(one("claims", "{\"a\":-0.5e+3,\"b\":[true,false,null"
	    ",{}],\"c\":\"\\u00e9\\n\\\"\\/\",\"d\":0,\"e\":1E2}") == 0);
	TEST_ASSERT(one("claims", "\t{\r\n\"a\" : [ ] }\n") == 0);
	TEST_ASSERT(one("claims", "{\"caf\xc3\xa9\":\"\xe2\x82\xac\"}") == 0);
	TEST_ASSERT(one("claims", "{\"a\":\"\xff\"}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":1 /* c */}") == -1);
	/* valid JSON but not an object */
	TEST_ASSERT(decode_one("claims", "[]", 2, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "claims: not a JSON object") == 0);
	TEST_ASSERT(one("claims", "\"x\"") == -1);
	TEST_ASSERT(one("claims", "null") == -1);
	TEST_ASSERT(one("claims", "1") == -1);
	/* reserved names, also written with escapes */
	TEST_ASSERT(decode_one("claims", "{\"sub\":\"x\"}", 11, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "claims: reserved claim name \"sub\"") == 0);
	TEST_ASSERT(one("claims", "{\"a\":1,\"client_id\":\"x\"}") == -1);
	TEST_ASSERT(one("claims", "{\"s\\u0075b\":1}") == -1);
	TEST_ASSERT(one("claims", "{\"cnf\":{}}") == -1);
	/* nested reserved names are fine: only members count */
	TEST_ASSERT(one("claims", "{\"x\":{\"sub\":1}}") == 0);
	TEST_ASSERT(one("claims", "{\"Sub\":1}") == 0);
	/* deeper than CLIENT_CLAIMS_DEPTH */
	TEST_ASSERT(one("claims", "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]"
	    "]]]]]]]]]}") == -1);
	TEST_ASSERT(one("claims", "{\"a\":[[[[1]]]]}") == 0);
	/* exactly CLIENT_CLAIMS_DEPTH (16) levels, the object included */
	TEST_ASSERT(one("claims", "{\"a\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}") ==
	    0);
	TEST_ASSERT(one("claims", "{\"a\":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}")
	    == -1);
}

static void
test_client_record_binary_garbage(void)
{
	static const char	 garbage[] = "\xff\xfe\x00\x01{\"\x80\x00";
	char			 err[256];
	size_t			 i;
	const char		*names[] = { "secret", "scopes", "audience",
				    "ttl", "claims", "disabled",
				    "revoked_before", "introspect",
				    "created_at", "updated_at", "generation" };

	for (i = 0; i < nitems(names); i++) {
		TEST_ASSERT(decode_one(names[i], garbage, sizeof(garbage) - 1,
		    err, sizeof(err)) == -1);
		TEST_ASSERT(strstr(err, "NUL byte") != NULL ||
		    strstr(err, "longer than") != NULL);
		TEST_ASSERT(strncmp(err, names[i], strlen(names[i])) == 0);
	}
	/* NUL-free garbage still fails where a value has a shape */
	TEST_ASSERT(decode_one("claims", "\xff\xfe\x80", 3, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(decode_one("scopes", "\xff\xfe\x80", 3, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(decode_one("ttl", "\xff", 1, err, sizeof(err)) == -1);
	/* a NUL in the secret could hide a cut; never allowed */
	TEST_ASSERT(decode_one("secret", HASH "\0x", sizeof(HASH) + 1, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "secret: NUL byte") == 0);
}

static void
test_client_record_huge_values(void)
{
	char	 err[256], *big;
	size_t	 n = 1024 * 1024;

	big = xmalloc(n);
	memset(big, '1', n);
	TEST_ASSERT(decode_one("ttl", big, n, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "ttl: longer than 19 bytes") == 0);
	TEST_ASSERT(decode_one("secret", big, n, err, sizeof(err)) == -1);
	TEST_ASSERT(decode_one("audience", big, CLIENT_AUDIENCE_MAX, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(decode_one("audience", big, CLIENT_AUDIENCE_MAX + 1, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(decode_one("scopes", big, n, err, sizeof(err)) == -1);
	/* claims: 4096 bytes is the cap */
	memset(big, ' ', n);
	big[0] = '{';
	big[CLIENT_CLAIMS_MAX - 1] = '}';
	TEST_ASSERT(decode_one("claims", big, CLIENT_CLAIMS_MAX, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(decode_one("claims", big, CLIENT_CLAIMS_MAX + 1, err,
	    sizeof(err)) == -1);
	/* an unknown field may be any size: it is skipped */
	TEST_ASSERT(decode_one("blob", big, n, err, sizeof(err)) == 0);
	free(big);
}

static void
test_client_record_bad_id(void)
{
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256], id[CLIENT_ID_MAX + 2];

	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	TEST_ASSERT(decode("", &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "invalid client id") == 0);
	TEST_ASSERT(decode(NULL, &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(decode("a b", &p, &rec, err, sizeof(err)) == -1);
	memset(id, 'a', CLIENT_ID_MAX);
	id[CLIENT_ID_MAX] = '\0';
	TEST_ASSERT(decode(id, &p, &rec, err, sizeof(err)) == 0);
	client_record_free(rec);
	rec = NULL;
	id[CLIENT_ID_MAX] = 'a';
	id[CLIENT_ID_MAX + 1] = '\0';
	TEST_ASSERT(decode(id, &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(rec == NULL);
	pairs_finish(&p);
	/* the error buffer may be absent */
	TEST_ASSERT(decode_one("ttl", "x", 1, NULL, 0) == -1);
}

static void
test_client_record_valid_id(void)
{
	TEST_ASSERT(client_record_is_valid_id("a", 1));
	TEST_ASSERT(client_record_is_valid_id("A-z_0.9~:@", 10));
	TEST_ASSERT(!client_record_is_valid_id("", 0));
	TEST_ASSERT(!client_record_is_valid_id(NULL, 0));
	TEST_ASSERT(!client_record_is_valid_id("a/b", 3));
	TEST_ASSERT(!client_record_is_valid_id("a b", 3));
	TEST_ASSERT(!client_record_is_valid_id("a%20", 4));
	TEST_ASSERT(!client_record_is_valid_id("a+b", 3));
	TEST_ASSERT(!client_record_is_valid_id("caf\xc3\xa9", 5));
	TEST_ASSERT(!client_record_is_valid_id("a\0b", 3));
	TEST_ASSERT(!client_record_is_valid_id("a\n", 2));
}

/*
 * "generation": INCARNATION.SERIAL, 16 + 16 lowercase hex digits, nothing
 * else; a record with a bad one is refused as a whole (its client then
 * gets no tokens, and its tokens are rejected: fail closed).
 */
static void
test_client_record_generation(void)
{
	static const char *const bad[] = {
		"",
		"0123456789abcdef",
		"0123456789abcdef.",
		".fedcba9876543210",
		"0123456789abcdef.fedcba987654321",
		"0123456789abcdef.fedcba98765432100",
		"0123456789ABCDEF.fedcba9876543210",
		"0123456789abcdef-fedcba9876543210",
		"0123456789abcdef.fedcba987654321g",
		"0123456789abcdef.fedcba98765432 0",
		" 0123456789abcdef.fedcba987654321",
		"0123456789abcdef.fedcba9876543210\n",
		"0123456789abcdeffedcba9876543210.",
		"0123456789abcde.ffedcba9876543210",
	};
	struct pairs		 p;
	struct client_record	*rec = NULL;
	char			 err[256];
	size_t			 i;

	TEST_ASSERT(one("generation", "0123456789abcdef.fedcba9876543210")
	    == 0);
	TEST_ASSERT(one("generation", "0000000000000000.0000000000000000")
	    == 0);
	for (i = 0; i < nitems(bad); i++) {
		TEST_ASSERT(decode_one("generation", bad[i], strlen(bad[i]),
		    err, sizeof(err)) == -1);
		TEST_ASSERT(strncmp(err, "generation: ", 12) == 0);
		TEST_ASSERT(!client_record_gen_is_valid(bad[i],
		    strlen(bad[i])));
	}
	TEST_ASSERT(decode_one("generation", "0123456789abcdef\0fedcba98765"
	    "43210", 33, err, sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "generation: NUL byte") == 0);
	TEST_ASSERT(!client_record_gen_is_valid(NULL, 0));
	TEST_ASSERT(client_record_gen_is_valid(
	    "0123456789abcdef.fedcba9876543210", CLIENT_GEN_LEN));

	/* given twice */
	memset(&p, 0, sizeof(p));
	add(&p, "secret", HASH);
	add(&p, "generation", "0123456789abcdef.fedcba9876543210");
	add(&p, "generation", "0123456789abcdef.fedcba9876543211");
	TEST_ASSERT(decode("c1", &p, &rec, err, sizeof(err)) == -1);
	TEST_ASSERT(rec == NULL);
	TEST_ASSERT(strcmp(err, "generation: given twice") == 0);
	pairs_finish(&p);

	/* client_gen is the token's: never a metadata claim */
	TEST_ASSERT(one("claims", "{\"client_gen\":\"x\"}") == -1);
}

static void
test_client_record_reserved_claims(void)
{
	static const char *const reserved[] = { "iss", "sub", "aud", "exp",
	    "nbf", "iat", "jti", "client_id", "client_gen", "scope",
	    "auth_time", "acr", "amr", "cnf" };
	size_t	 i;

	for (i = 0; i < nitems(reserved); i++)
		TEST_ASSERT(record_rules_claim_is_reserved(reserved[i]));
	TEST_ASSERT(!record_rules_claim_is_reserved("tenant"));
	TEST_ASSERT(!record_rules_claim_is_reserved("ISS"));
	TEST_ASSERT(!record_rules_claim_is_reserved("scopes"));
	TEST_ASSERT(!record_rules_claim_is_reserved(""));
}

static void
test_client_record_free_null(void)
{
	client_record_free(NULL);
}

int
main(void)
{
	test_run(test_client_record_all_fields);
	test_run(test_client_record_defaults);
	test_run(test_client_record_audiences);
	test_run(test_client_record_missing_secret);
	test_run(test_client_record_unknown_tag_accepted);
	test_run(test_client_record_duplicate_field);
	test_run(test_client_record_bad_ttl);
	test_run(test_client_record_bad_flags_and_times);
	test_run(test_client_record_bad_scopes_audience);
	test_run(test_client_record_bad_claims);
	test_run(test_client_record_binary_garbage);
	test_run(test_client_record_huge_values);
	test_run(test_client_record_bad_id);
	test_run(test_client_record_valid_id);
	test_run(test_client_record_generation);
	test_run(test_client_record_reserved_claims);
	test_run(test_client_record_free_null);
	return test_summary();
}
