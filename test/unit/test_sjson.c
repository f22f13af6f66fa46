/*
 * test_sjson: every rule of sjson_parse(). RFC 8259 syntax and the
 * leniencies json-c has even in strict mode, RFC 3629 UTF-8 (overlong
 * forms, encoded surrogates, beyond U+10FFFF, cut-short sequences, bytes
 * that never occur), \u escapes (surrogate pairs, lone surrogates,
 * \u0000), NUL bytes, duplicate member names at any depth, and the depth
 * cap.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sjson.h"
#include "util.h"
#include "test.h"

#define DEPTH	16

static struct json_object *
parse(const char *text)
{
	return sjson_parse(text, strlen(text), DEPTH);
}

/* True when text is accepted; the object is freed. */
static int
accepted_n(const char *text, size_t len, size_t depth)
{
	struct json_object	*o;

	if ((o = sjson_parse(text, len, depth)) == NULL)
		return 0;
	json_object_put(o);
	return 1;
}

/* Each of n texts must be accepted (ok) or refused (!ok). */
static int
all(const char *const *texts, size_t n, int ok)
{
	size_t	 i;
	int	 good = 1;

	for (i = 0; i < n; i++) {
		if (accepted_n(texts[i], strlen(texts[i]), DEPTH) != ok) {
			fprintf(stderr, "%s: ", ok ? "refused" : "accepted");
			for (const char *c = texts[i]; *c != '\0'; c++)
				if ((unsigned char)*c < 0x20 ||
				    (unsigned char)*c >= 0x7f)
					fprintf(stderr, "\\x%02x",
					    (unsigned char)*c);
				else
					fputc(*c, stderr);
			fputc('\n', stderr);
			good = 0;
		}
	}
	return good;
}

/* The string member "a" of text, as json-c decoded it. */
static int
member_is(const char *text, const char *want, size_t wantlen)
{
	struct json_object	*o, *v;
	int			 ok;

	if ((o = parse(text)) == NULL)
		return 0;
	ok = json_object_object_get_ex(o, "a", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) == wantlen &&
	    memcmp(json_object_get_string(v), want, wantlen) == 0;
	json_object_put(o);
	return ok;
}

static void
test_sjson_valid(void)
{
	static const char *const	 good[] = {
		"{}", "[]", " {\"a\":[1,2,{\"b\":null}],\"c\":-0.5e+3} ",
		"\t\r\n[ ]\n", "{\"a\":1,\"b\":{\"a\":1}}",
		"{\"a\":\"\\u00e9\\n\\\"\\\\\\/\\b\\f\\r\\t\"}",
		"{\"a\":true,\"b\":false,\"c\":0,\"d\":-0}",
		"{\"\xc3\xa9\":1}", "[0,-1,1.5,1e5,1E+5,1e-5,-0.0,10]",
		"[99999999999999999999]", "[1e308,-1e308,1e-400]",
		"{\"\":\"\"}", "[\"\\u0001\\u001f\\u007f\"]",
		/* BMP edges around the surrogates, and the top */
		"[\"\\ud7ff\",\"\\ue000\",\"\\uffff\",\"\\uFFFD\"]",
	};

	TEST_ASSERT(all(good, nitems(good), 1));
}

/* The tree is json-c's: values, types and nesting as written. */
static void
test_sjson_result(void)
{
	struct json_object	*o, *a, *v;

	TEST_ASSERT((o = parse("{\"a\":[1,\"x\",null],\"b\":{\"c\":2.5}}"))
	    != NULL);
	TEST_ASSERT(json_object_is_type(o, json_type_object));
	TEST_ASSERT(json_object_object_get_ex(o, "a", &a));
	TEST_ASSERT(json_object_array_length(a) == 3);
	TEST_ASSERT(json_object_get_int(json_object_array_get_idx(a, 0)) == 1);
	TEST_ASSERT(strcmp(json_object_get_string(
	    json_object_array_get_idx(a, 1)), "x") == 0);
	TEST_ASSERT(json_object_array_get_idx(a, 2) == NULL);
	TEST_ASSERT(json_object_object_get_ex(o, "b", &v));
	TEST_ASSERT(json_object_object_get_ex(v, "c", &v));
	TEST_ASSERT(json_object_get_double(v) == 2.5);
	json_object_put(o);
	/* len is honoured: what follows it is not read */
	TEST_ASSERT(accepted_n("{\"a\":1}garbage", 7, DEPTH));
	TEST_ASSERT(!accepted_n("{\"a\":1}", 6, DEPTH));
	TEST_ASSERT(sjson_parse(NULL, 0, DEPTH) == NULL);
}

/* RFC 8259 syntax, including what json-c's strict mode lets through. */
static void
test_sjson_rfc8259(void)
{
	static const char *const	 bad[] = {
		/* not an object or array at the top, or nothing */
		"", "  ", "\"s\"", "1", "-1", "true", "false", "null",
		/* json-c leniencies */
		"{'a':1}", "['a']", "{\"a\":'b'}",
		"{\"a\":NaN}", "{\"a\":-NaN}", "{\"a\":nan}",
		"{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":infinity}",
		"{/*c*/\"a\":1}", "{\"a\":1 /* c */}", "{\"a\":1}// c",
		"[1]#", "{\"a\":1,}", "[1,]", "[1,,2]", "[,1]",
		"{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":1.}",
		"{\"a\":.5}", "{\"a\":-.5}", "{\"a\":+1}", "{\"a\":1.e5}",
		"{\"a\":1e}", "{\"a\":1e+}", "{\"a\":-}", "{\"a\":0x10}",
		"{\"a\":\"x\ty\"}", "{\"a\":\"x\ny\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\x1f\"}", "{\"a\tb\":1}",
		"{a:1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{1:1}",
		"{\"a\":True}", "{\"a\":NULL}", "{\"a\":nul}", "{\"a\":tru}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\a\"}", "{\"a\":\"\\'\"}",
		"{\"a\":\"\\U0041\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"\\u12g4\"}", "{\"a\":\"\\u\"}", "{\"a\":\"x}",
		"{\"a\":\"x\\\"}",
		/* trailing data, also a second document */
		"{\"a\":1}x", "{\"a\":1}{}", "[][]", "{} 1",
		/* whitespace RFC 8259 2 does not name */
		"{\"a\":1}\f", "\v[]", "[\xc2\xa0]",
		/* unclosed */
		"{\"a\":1", "[1", "{\"a\":", "{\"a\"", "{",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

/* RFC 8259 6 allows a range limit; json-c would print "Infinity". */
static void
test_sjson_numbers_finite(void)
{
	static const char *const	 bad[] = {
		"[1e400]", "[-1e400]", "[1e999]", "[1.5E+309]", "[0.1e310]",
	};
	char				 big[512];

	TEST_ASSERT(all(bad, nitems(bad), 0));
	/* 300 digits is 1e299: finite; 400 digits overflow a double */
	big[0] = '[';
	memset(big + 1, '9', 300);
	big[301] = ']';
	TEST_ASSERT(accepted_n(big, 302, DEPTH));
	memset(big + 1, '9', 400);
	big[401] = ']';
	TEST_ASSERT(!accepted_n(big, 402, DEPTH));
	/* a long fraction is still small */
	big[1] = '0';
	big[2] = '.';
	TEST_ASSERT(accepted_n(big, 402, DEPTH));
}

static void
test_sjson_utf8_valid(void)
{
	static const char *const	 good[] = {
		"[\"\xc2\x80\"]",		/* U+0080, first 2-byte */
		"[\"\xdf\xbf\"]",		/* U+07FF */
		"[\"\xe0\xa0\x80\"]",		/* U+0800, first 3-byte */
		"[\"\xed\x9f\xbf\"]",		/* U+D7FF, below surrogates */
		"[\"\xee\x80\x80\"]",		/* U+E000, above them */
		"[\"\xef\xbf\xbf\"]",		/* U+FFFF */
		"[\"\xf0\x90\x80\x80\"]",	/* U+10000, first 4-byte */
		"[\"\xf4\x8f\xbf\xbf\"]",	/* U+10FFFF, the last */
		"{\"caf\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}",
	};

	TEST_ASSERT(all(good, nitems(good), 1));
}

/* RFC 3629 3: overlong forms are not UTF-8 (0xC0 0xAF is "/"). */
static void
test_sjson_utf8_overlong(void)
{
	static const char *const	 bad[] = {
		/* 2-byte */
		"[\"\xc0\xaf\"]", "[\"\xc0\x80\"]", "[\"\xc1\xbf\"]",
		"{\"\xc0\xaf\":1}",
		/* 3-byte */
		"[\"\xe0\x80\xaf\"]", "[\"\xe0\x80\x80\"]",
		"[\"\xe0\x9f\xbf\"]",
		/* 4-byte */
		"[\"\xf0\x80\x80\xaf\"]", "[\"\xf0\x80\x80\x80\"]",
		"[\"\xf0\x8f\xbf\xbf\"]",
		/* 5- and 6-byte forms of "/" */
		"[\"\xf8\x80\x80\x80\xaf\"]", "[\"\xfc\x80\x80\x80\x80\xaf\"]",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

/* RFC 3629 3: U+D800..DFFF may not be encoded, alone or in pairs. */
static void
test_sjson_utf8_surrogates(void)
{
	static const char *const	 bad[] = {
		"[\"\xed\xa0\x80\"]",		/* U+D800 */
		"[\"\xed\xaf\xbf\"]",		/* U+DBFF */
		"[\"\xed\xb0\x80\"]",		/* U+DC00 */
		"[\"\xed\xbf\xbf\"]",		/* U+DFFF */
		"[\"\xed\xa0\xbd\xed\xb8\x80\"]", /* CESU-8 U+1F600 */
		"{\"a\xed\xa0\x80\":1}",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

static void
test_sjson_utf8_beyond(void)
{
	static const char *const	 bad[] = {
		"[\"\xf4\x90\x80\x80\"]",	/* U+110000 */
		"[\"\xf4\xbf\xbf\xbf\"]",
		"[\"\xf5\x80\x80\x80\"]", "[\"\xf7\xbf\xbf\xbf\"]",
		/* bytes that never occur */
		"[\"\xf8\"]", "[\"\xfb\"]", "[\"\xfe\"]", "[\"\xff\"]",
		"[\"\xff\xfe\"]", "[\"\xc0\"]", "[\"\xc1\"]",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

static void
test_sjson_utf8_truncated(void)
{
	static const char *const	 bad[] = {
		/* a lead byte without enough continuations */
		"[\"\xc3\"]", "[\"\xe2\x82\"]", "[\"\xe2\"]",
		"[\"\xf0\x9f\x98\"]", "[\"\xf0\x9f\"]", "[\"\xf0\"]",
		/* a continuation byte without a lead */
		"[\"\x80\"]", "[\"\xbf\"]", "[\"a\x80\"]",
		"[\"\xc3\xa9\xa9\"]",
		/* a lead byte followed by a non-continuation */
		"[\"\xc3\x28\"]", "[\"\xe2\x28\xa1\"]", "[\"\xe2\x82\x28\"]",
		"[\"\xf0\x9f\x98\x28\"]", "[\"\xc3\xc3\xa9\"]",
		/* cut by the end of the text */
		"[\"\xc3", "[\"\xe2\x82", "[\"\xf0\x9f\x98",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

/* Outside strings no byte >= 0x80 is JSON; a BOM is refused too. */
static void
test_sjson_utf8_outside_strings(void)
{
	static const char *const	 bad[] = {
		"\xef\xbb\xbf{}", "{\xc3\xa9:1}", "[1]\xc3\xa9",
		"[\xe2\x80\x8b]",
		"[1\xc2\xa0]",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

/* RFC 8259 7: a pair names one character; json-c writes it as UTF-8. */
static void
test_sjson_escape_pairs(void)
{
	TEST_ASSERT(member_is("{\"a\":\"\\ud83d\\ude00\"}",
	    "\xf0\x9f\x98\x80", 4));
	TEST_ASSERT(member_is("{\"a\":\"\\uD83D\\uDE00\"}",
	    "\xf0\x9f\x98\x80", 4));
	TEST_ASSERT(member_is("{\"a\":\"\\ud800\\udc00\"}",
	    "\xf0\x90\x80\x80", 4));
	TEST_ASSERT(member_is("{\"a\":\"\\udbff\\udfff\"}",
	    "\xf4\x8f\xbf\xbf", 4));
	TEST_ASSERT(member_is("{\"a\":\"x\\ud83d\\ude00y\"}",
	    "x\xf0\x9f\x98\x80y", 6));
	TEST_ASSERT(member_is("{\"a\":\"\\u00e9\\u20ac\"}",
	    "\xc3\xa9\xe2\x82\xac", 5));
	TEST_ASSERT(member_is("{\"a\":\"\\u0001\"}", "\x01", 1));
}

static void
test_sjson_escape_lone_surrogates(void)
{
	static const char *const	 bad[] = {
		"[\"\\ud800\"]", "[\"\\udbff\"]", "[\"\\ud800x\"]",
		"[\"x\\ud83d\"]", "[\"\\ud800\\u0041\"]",
		"[\"\\ud800\\ud800\"]",
		"[\"\\ud800\\n\"]", "[\"\\ud800\\\"]", "[\"\\ud800\\u\"]",
		"[\"\\ud800\\udc0\"]", "[\"\\ud800\xed\xb0\x80\"]",
		"[\"\\udc00\"]", "[\"\\udfff\"]", "[\"\\ude00\\ud83d\"]",
		"[\"\\udc00\\udc00\"]", "{\"\\ud800\":1}",
		/* cut by the end of the text */
		"[\"\\ud800", "[\"\\ud800\\", "[\"\\ud800\\u",
		"[\"\\ud800\\udc",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
}

/* Our strings are C strings: U+0000 and a NUL byte are both refused. */
static void
test_sjson_nul(void)
{
	static const char *const	 bad[] = {
		"[\"\\u0000\"]", "[\"x\\u0000y\"]", "{\"a\\u0000b\":1}",
		"{\"sub\\u0000x\":1}",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
	/* an escaped backslash, then the text "u0000": fine */
	TEST_ASSERT(member_is("{\"a\":\"\\\\u0000\"}", "\\u0000", 6));
	/* a NUL byte inside a string, between tokens, after, before */
	TEST_ASSERT(!accepted_n("{\"a\":\"\0\"}", 9, DEPTH));
	TEST_ASSERT(!accepted_n("{\"a\":\"x\0y\"}", 11, DEPTH));
	TEST_ASSERT(!accepted_n("{\"a\":\0 1}", 9, DEPTH));
	TEST_ASSERT(!accepted_n("{\"a\":1}\0", 8, DEPTH));
	TEST_ASSERT(!accepted_n("\0{\"a\":1}", 8, DEPTH));
	TEST_ASSERT(!accepted_n("[1\0]", 4, DEPTH));
}

/* A name given twice, anywhere, however it is spelled. */
static void
test_sjson_duplicates(void)
{
	static const char *const	 bad[] = {
		"{\"a\":1,\"a\":1}", "{\"a\":1,\"a\":2}",
		"{\"a\":1,\"b\":2,\"a\":3}",
		"{\"\\u0061\":1,\"a\":2}", "{\"\\/\":1,\"/\":2}",
		"{\"\\u00e9\":1,\"\xc3\xa9\":2}",
		"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
		"{\"\":1,\"\":2}",
		"{\"x\":{\"a\":1,\"a\":2}}", "[{\"a\":1},{\"a\":1,\"a\":1}]",
		"{\"a\":{\"b\":1},\"b\":{\"c\":1,\"c\":2}}",
		"{\"a\":{\"x\":{}},\"b\":2,\"a\":3}",
		"[[[[[[[[{\"k\":[{\"a\":1,\"b\":{\"c\":1,\"c\":1}}]}]]]]]]]]",
		"{\"a\":[{},{},{\"z\":1,\"y\":2,\"z\":3}],\"b\":{}}",
		"[{},{\"a\":{}},{\"a\":{},\"b\":[],\"a\":null}]",
	};
	static const char *const	 good[] = {
		"{\"a\":1,\"A\":1}", "{\"a\":{\"a\":{\"a\":1}}}",
		"[{\"a\":1},{\"a\":1}]", "{\"a\":1,\"b\":{\"a\":1,\"b\":1}}",
		"{\"\\\\u0061\":1,\"a\":2}",
	};

	TEST_ASSERT(all(bad, nitems(bad), 0));
	TEST_ASSERT(all(good, nitems(good), 1));
}

/* max_depth levels of containers, the top one included, and no more. */
static void
test_sjson_depth(void)
{
	char	 deep[256];
	size_t	 n, i;

	for (n = 1; n <= 32; n++) {
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		TEST_ASSERT(accepted_n(deep, 2 * n, n));
		TEST_ASSERT(!accepted_n(deep, 2 * n, n - 1));
	}
	/* objects count the same */
	n = 0;
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "1");
	for (i = 0; i < 20; i++)
		deep[n++] = '}';
	TEST_ASSERT(accepted_n(deep, n, 20));
	TEST_ASSERT(!accepted_n(deep, n, 19));
	/* siblings do not add up, only nesting does */
	TEST_ASSERT(accepted_n("[[1],[2],{\"a\":1}]", 17, 2));
	TEST_ASSERT(!accepted_n("[[1],[2],{\"a\":[]}]", 18, 2));
	TEST_ASSERT(!accepted_n("[[1],[[2]]]", 11, 2));
	/* 0 allows nothing, not even "{}" */
	TEST_ASSERT(!accepted_n("{}", 2, 0));
	TEST_ASSERT(accepted_n("{}", 2, 1));
	/* the json-c default is 32; a cap above it is honoured */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	TEST_ASSERT(accepted_n(deep, 200, 100));
	TEST_ASSERT(!accepted_n(deep, 200, 99));
}

int
main(void)
{
	test_run(test_sjson_valid);
	test_run(test_sjson_result);
	test_run(test_sjson_rfc8259);
	test_run(test_sjson_numbers_finite);
	test_run(test_sjson_utf8_valid);
	test_run(test_sjson_utf8_overlong);
	test_run(test_sjson_utf8_surrogates);
	test_run(test_sjson_utf8_beyond);
	test_run(test_sjson_utf8_truncated);
	test_run(test_sjson_utf8_outside_strings);
	test_run(test_sjson_escape_pairs);
	test_run(test_sjson_escape_lone_surrogates);
	test_run(test_sjson_nul);
	test_run(test_sjson_duplicates);
	test_run(test_sjson_depth);
	return test_summary();
}
