/*
 * test_params: form, JSON and Basic parsing edge cases: escapes, '+',
 * names without '=', duplicates (RFC 6749 3.2), NUL bytes, strict JSON
 * and UTF-8 (overlong forms, encoded surrogates), the 2.3.1
 * form-urlencoding inside Basic credentials, malformed Base64.
 */
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "util.h"
#include "test.h"

static enum params_result
form(struct params *p, const char *body)
{
	params_init(p);
	return params_parse_form(p, body, strlen(body));
}

static void
test_params_form_basic(void)
{
	struct params	 p;

	TEST_ASSERT(form(&p, "grant_type=client_credentials&scope=a+b%20c")
	    == PARAMS_OK);
	TEST_ASSERT(p.count == 2);
	TEST_ASSERT(strcmp(params_get(&p, "grant_type"),
	    "client_credentials") == 0);
	TEST_ASSERT(strcmp(params_get(&p, "scope"), "a b c") == 0);
	TEST_ASSERT(params_get(&p, "missing") == NULL);
	params_finish(&p);
}

static void
test_params_form_edges(void)
{
	struct params	 p;

	/* A name without '=' has an empty value; empty pieces are skipped. */
	TEST_ASSERT(form(&p, "a&&b=1&") == PARAMS_OK);
	TEST_ASSERT(p.count == 2);
	TEST_ASSERT(strcmp(params_get(&p, "a"), "") == 0);
	TEST_ASSERT(strcmp(params_get(&p, "b"), "1") == 0);
	params_finish(&p);

	TEST_ASSERT(form(&p, "") == PARAMS_OK && p.count == 0);
	params_finish(&p);
	TEST_ASSERT(form(&p, "x==y") == PARAMS_OK);
	TEST_ASSERT(strcmp(params_get(&p, "x"), "=y") == 0);
	params_finish(&p);
	TEST_ASSERT(form(&p, "k=%41%62%2b") == PARAMS_OK);
	TEST_ASSERT(strcmp(params_get(&p, "k"), "Ab+") == 0);
	params_finish(&p);
	/* UTF-8 passes through; per-field checks decide. */
	TEST_ASSERT(form(&p, "k=%C3%A9") == PARAMS_OK);
	TEST_ASSERT(strcmp(params_get(&p, "k"), "\xc3\xa9") == 0);
	params_finish(&p);
}

static void
test_params_form_errors(void)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=%00", "a%00=1",
		"a=b%",
	};
	struct params	 p;
	char		 big[PARAMS_MAX * 8 + 16];
	size_t		 i, o = 0;

	for (i = 0; i < nitems(bad); i++) {
		TEST_ASSERT(form(&p, bad[i]) == PARAMS_BAD_ENCODING);
		params_finish(&p);
	}
	TEST_ASSERT(form(&p, "a=1&b=2&a=1") == PARAMS_DUPLICATE);
	params_finish(&p);
	/* Duplicates are found after decoding. */
	TEST_ASSERT(form(&p, "scope=x&sc%6fpe=y") == PARAMS_DUPLICATE);
	params_finish(&p);
	for (i = 0; i <= PARAMS_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "p%zu=&", i);
	TEST_ASSERT(form(&p, big) == PARAMS_TOO_MANY);
	params_finish(&p);
}

static void
test_params_form_binary(void)
{
	static const char	 body[] = "a=1\0&b=2";
	struct params		 p;

	/* A raw NUL inside a value is refused like a decoded one. */
	params_init(&p);
	TEST_ASSERT(params_parse_form(&p, body, sizeof(body) - 1) ==
	    PARAMS_BAD_ENCODING);
	params_finish(&p);
}

static void
test_params_json(void)
{
	static const char *const bad[] = {
		"", "[]", "\"x\"", "{", "{\"a\":}", "{\"a\":\"b\"} x",
		"{\"a\":\"b\"}{}", "{'a':'b'}", "{\"a\":\"\xff\"}", "null",
	};
	struct params	 p;
	const char	*ok = "{\"client_id\":\"c1\",\"client_secret\":\"s\","
	    "\"n\":5,\"o\":{\"x\":1}}";
	size_t		 i;

	params_init(&p);
	TEST_ASSERT(params_parse_json(&p, ok, strlen(ok)) == PARAMS_OK);
	TEST_ASSERT(p.count == 2);
	TEST_ASSERT(strcmp(params_get(&p, "client_id"), "c1") == 0);
	TEST_ASSERT(params_get(&p, "n") == NULL);
	params_finish(&p);
	for (i = 0; i < nitems(bad); i++) {
		params_init(&p);
		TEST_ASSERT(params_parse_json(&p, bad[i], strlen(bad[i])) ==
		    PARAMS_BAD_JSON);
		params_finish(&p);
	}
	/* An escaped NUL inside a string is refused by the JSON parser. */
	params_init(&p);
	TEST_ASSERT(params_parse_json(&p, "{\"a\":\"x\\u0000y\"}", 16) ==
	    PARAMS_BAD_JSON);
	TEST_ASSERT(p.count == 0);
	params_finish(&p);
	/* A raw NUL byte, in a string or after the object. */
	params_init(&p);
	TEST_ASSERT(params_parse_json(&p, "{\"a\":\"x\0y\"}", 11) ==
	    PARAMS_BAD_JSON);
	TEST_ASSERT(params_parse_json(&p, "{\"a\":\"x\"}\0", 10) ==
	    PARAMS_BAD_JSON);
	params_finish(&p);
}

/*
 * json-c, even with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8,
 * takes these; they are not UTF-8 (RFC 3629 3) or not strict JSON.
 */
static void
test_params_json_strict(void)
{
	static const char *const bad[] = {
		/* overlong "/" in 2, 3 and 4 bytes, overlong NUL */
		"{\"client_id\":\"\xc0\xaf" "c1\"}",
		"{\"client_id\":\"c1\xe0\x80\xaf\"}",
		"{\"client_id\":\"c1\xf0\x80\x80\xaf\"}",
		"{\"client_id\":\"c1\xc0\x80\"}",
		/* UTF-8-encoded surrogates, alone and as a CESU-8 pair */
		"{\"client_id\":\"c1\xed\xa0\x80\"}",
		"{\"client_id\":\"c1\xed\xbf\xbf\"}",
		"{\"client_id\":\"\xed\xa0\xbd\xed\xb8\x80\"}",
		/* in a name, and in a member that is not a string */
		"{\"c\xc0\xaf\":\"x\"}", "{\"o\":[\"\xed\xa0\x80\"]}",
		/* beyond U+10FFFF, cut short */
		"{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
		/* lone surrogate escapes */
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00x\"}",
		/* leniencies: NaN, comments, trailing comma, "1." */
		"{\"a\":NaN}", "{\"a\":\"b\"/**/}", "{\"a\":\"b\",}",
		"{\"a\":1.}",
		/* a name given twice (RFC 6749 3.2), also spelled otherwise */
		"{\"client_id\":\"a\",\"client_id\":\"b\"}",
		"{\"client_id\":\"a\",\"client\\u005fid\":\"b\"}",
	};
	struct params	 p;
	const char	*ok;
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		params_init(&p);
		TEST_ASSERT(params_parse_json(&p, bad[i], strlen(bad[i])) ==
		    PARAMS_BAD_JSON);
		TEST_ASSERT(p.count == 0);
		params_finish(&p);
	}
	/* valid UTF-8 and a surrogate pair escape pass through */
	ok = "{\"a\":\"caf\xc3\xa9\",\"b\":\"\\ud83d\\ude00\"}";
	params_init(&p);
	TEST_ASSERT(params_parse_json(&p, ok, strlen(ok)) == PARAMS_OK);
	TEST_ASSERT(strcmp(params_get(&p, "a"), "caf\xc3\xa9") == 0);
	TEST_ASSERT(strcmp(params_get(&p, "b"), "\xf0\x9f\x98\x80") == 0);
	params_finish(&p);
	/* nesting up to PARAMS_JSON_DEPTH, the body included */
	{
		char	 deep[2 * PARAMS_JSON_DEPTH + 16];
		size_t	 n;

		n = (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
		memset(deep + n, '[', PARAMS_JSON_DEPTH - 1);
		memset(deep + n + PARAMS_JSON_DEPTH - 1, ']',
		    PARAMS_JSON_DEPTH - 1);
		n += 2 * (PARAMS_JSON_DEPTH - 1);
		deep[n++] = '}';
		params_init(&p);
		TEST_ASSERT(params_parse_json(&p, deep, n) == PARAMS_OK);
		params_finish(&p);
		n = (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
		memset(deep + n, '[', PARAMS_JSON_DEPTH);
		memset(deep + n + PARAMS_JSON_DEPTH, ']', PARAMS_JSON_DEPTH);
		n += 2 * PARAMS_JSON_DEPTH;
		deep[n++] = '}';
		params_init(&p);
		TEST_ASSERT(params_parse_json(&p, deep, n) == PARAMS_BAD_JSON);
		params_finish(&p);
	}
}

static enum params_result
basic(const char *h, char **id, char **secret)
{
	return params_parse_basic(h, id, secret);
}

static void
test_params_basic(void)
{
	char	*id, *secret;

	/* "client:secret" */
	TEST_ASSERT(basic("Basic Y2xpZW50OnNlY3JldA==", &id, &secret) ==
	    PARAMS_OK);
	TEST_ASSERT(strcmp(id, "client") == 0);
	TEST_ASSERT(strcmp(secret, "secret") == 0);
	free(id);
	secret_free_str(secret);
	/* Scheme is case-insensitive; extra spaces tolerated. */
	TEST_ASSERT(basic("bAsIc   Y2xpZW50OnNlY3JldA==  ", &id, &secret) ==
	    PARAMS_OK);
	free(id);
	secret_free_str(secret);
	/* RFC 6749 2.3.1: "my%20client:p%3Ass+w" -> "my client", "p:ss w" */
	TEST_ASSERT(basic("Basic bXklMjBjbGllbnQ6cCUzQXNzK3c=", &id,
	    &secret) == PARAMS_OK);
	TEST_ASSERT(strcmp(id, "my client") == 0);
	TEST_ASSERT(strcmp(secret, "p:ss w") == 0);
	free(id);
	secret_free_str(secret);
	/* The first colon splits: "a:b:c" -> "a", "b:c". */
	TEST_ASSERT(basic("Basic YTpiOmM=", &id, &secret) == PARAMS_OK);
	TEST_ASSERT(strcmp(id, "a") == 0 && strcmp(secret, "b:c") == 0);
	free(id);
	secret_free_str(secret);
	/* ":" alone: empty id and secret are the caller's to refuse. */
	TEST_ASSERT(basic("Basic Og==", &id, &secret) == PARAMS_OK);
	TEST_ASSERT(id[0] == '\0' && secret[0] == '\0');
	free(id);
	secret_free_str(secret);
}

static void
test_params_basic_errors(void)
{
	static const struct {
		const char		*h;
		enum params_result	 r;
	} cases[] = {
		{ "Bearer abc", PARAMS_NOT_BASIC },
		{ "Basic", PARAMS_NOT_BASIC },
		{ "Basicx Y2xpZW50OnNlY3JldA==", PARAMS_NOT_BASIC },
		{ "Basic ", PARAMS_BAD_ENCODING },
		{ "Basic Y2xpZW50OnNlY3JldA", PARAMS_BAD_ENCODING },
		{ "Basic Y2xpZW50OnNlY3JldA=x", PARAMS_BAD_ENCODING },
		{ "Basic Y2xp ZW50OnNlY3JldA==", PARAMS_BAD_ENCODING },
		{ "Basic Y2xpZW50OnNlY3JldA-_", PARAMS_BAD_ENCODING },
		{ "Basic ====", PARAMS_BAD_ENCODING },
		{ "Basic Y2xpZW50", PARAMS_NO_COLON },		/* "client" */
		{ "Basic JXp6OnM=", PARAMS_BAD_ENCODING },	/* "%zz:s" */
		{ "Basic YTolMDA=", PARAMS_BAD_ENCODING },	/* "a:%00" */
		{ "Basic YQBiOmM=", PARAMS_BAD_ENCODING },	/* "a\0b:c" */
	};
	char	*id, *secret;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		TEST_ASSERT(basic(cases[i].h, &id, &secret) == cases[i].r);
		TEST_ASSERT(id == NULL && secret == NULL);
	}
}

/*
 * Names allowed to repeat (RFC 8707 resource, /verify's aud) keep every
 * value in order; every other name is still refused when repeated, an
 * escaped spelling of it included.
 */
static void
test_params_repeatable(void)
{
	static const char *const rep[] = { "resource", NULL };
	struct params	 p;
	const char	*v[4];
	const char	 body[] = "resource=https%3A%2F%2Fa&grant_type=x&"
			    "resource=b&r%65source=b&resource=";
	const char	 body2[] = "resource=a&resource=a&scope=x&sc%6fpe=y";

	params_init(&p);
	params_allow_repeat(&p, rep);
	TEST_ASSERT(params_parse_form(&p, body, strlen(body)) == PARAMS_OK);
	TEST_ASSERT(params_get_all(&p, "resource", v, 4) == 4);
	TEST_ASSERT(strcmp(v[0], "https://a") == 0);
	TEST_ASSERT(strcmp(v[1], "b") == 0 && strcmp(v[2], "b") == 0);
	TEST_ASSERT(strcmp(v[3], "") == 0);
	TEST_ASSERT(params_get_all(&p, "resource", v, 2) == 4);
	TEST_ASSERT(params_get_all(&p, "grant_type", v, 4) == 1);
	TEST_ASSERT(params_get_all(&p, "nope", v, 4) == 0);
	TEST_ASSERT(strcmp(params_get(&p, "resource"), "https://a") == 0);
	params_finish(&p);

	params_init(&p);
	params_allow_repeat(&p, rep);
	TEST_ASSERT(params_parse_form(&p, body2, strlen(body2)) ==
	    PARAMS_DUPLICATE);
	params_finish(&p);
	/* without the list, resource is an ordinary parameter */
	TEST_ASSERT(form(&p, "resource=a&resource=b") == PARAMS_DUPLICATE);
	params_finish(&p);
}

static void
test_params_vschar(void)
{
	TEST_ASSERT(params_is_vschar("abc ~!", 6));
	TEST_ASSERT(!params_is_vschar("", 0));
	TEST_ASSERT(!params_is_vschar("a\tb", 3));
	TEST_ASSERT(!params_is_vschar("\xc3\xa9", 2));
	TEST_ASSERT(!params_is_vschar("a\x7f", 2));
	TEST_ASSERT(strcmp(params_result_name(PARAMS_DUPLICATE),
	    "duplicate_parameter") == 0);
}

int
main(void)
{
	test_run(test_params_form_basic);
	test_run(test_params_form_edges);
	test_run(test_params_form_errors);
	test_run(test_params_form_binary);
	test_run(test_params_json);
	test_run(test_params_json_strict);
	test_run(test_params_basic);
	test_run(test_params_basic_errors);
	test_run(test_params_vschar);
	test_run(test_params_repeatable);
	return test_summary();
}
