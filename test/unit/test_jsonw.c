/*
 * test_jsonw: the hand-written JSON is the text json-c writes for the
 * same members (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
 * strings with every escape included, and json-c reads it back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonw.h"
#include "reply.h"
#include "sjson.h"
#include "util.h"
#include "test.h"

#define FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *const strings[] = {
	"", "plain", "a/b", "quote \" backslash \\ end",
	"\b\f\n\r\t", "\x01\x02\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac",
	"https://issuer.example/x?y=1&z=2",
};

static void
test_strings_as_json_c(void)
{
	size_t	 i;

	for (i = 0; i < nitems(strings); i++) {
		struct json_object	*o = json_object_new_string(strings[i]);
		struct jsonw		 w;
		const char		*want;

		want = json_object_to_json_string_ext(o, FLAGS);
		jsonw_init(&w, 0);
		jsonw_str(&w, strings[i]);
		if (strcmp(w.buf, want) != 0)
			fprintf(stderr, "jsonw %s json-c %s\n", w.buf, want);
		TEST_ASSERT(strcmp(w.buf, want) == 0);
		TEST_ASSERT(w.len == strlen(want));
		jsonw_free(&w);
		json_object_put(o);
	}
}

static void
test_object_as_json_c(void)
{
	static const int64_t	 ints[] = { 0, 1, -1, 1700000000,
		INT64_MAX, INT64_MIN };
	struct json_object	*o = json_object_new_object();
	struct json_object	*back;
	struct jsonw		 w;
	char			 name[16];
	size_t			 i;
	char			*text;
	size_t			 len;

	jsonw_init(&w, 1);	/* grows from one byte */
	jsonw_begin(&w);
	for (i = 0; i < nitems(ints); i++) {
		snprintf(name, sizeof(name), "i%zu", i);
		json_object_object_add(o, name, json_object_new_int64(ints[i]));
		jsonw_key(&w, name);
		jsonw_int(&w, ints[i]);
	}
	for (i = 0; i < nitems(strings); i++) {
		snprintf(name, sizeof(name), "s\"%zu", i);
		json_object_object_add(o, name,
		    json_object_new_string(strings[i]));
		jsonw_key(&w, name);
		jsonw_str(&w, strings[i]);
	}
	jsonw_end(&w);
	text = jsonw_take(&w, &len);
	TEST_ASSERT(w.buf == NULL);
	TEST_ASSERT(strcmp(text, json_object_to_json_string_ext(o,
	    FLAGS)) == 0);
	TEST_ASSERT(len == strlen(text));
	back = json_tokener_parse(text);
	TEST_ASSERT(back != NULL);
	TEST_ASSERT(json_object_equal(back, o));
	json_object_put(back);
	json_object_put(o);
	free(text);
}

static void
test_empty_object(void)
{
	struct jsonw	 w;

	jsonw_init(&w, 0);
	jsonw_begin(&w);
	jsonw_end(&w);
	TEST_ASSERT(strcmp(w.buf, "{}") == 0);
	jsonw_free(&w);
	TEST_ASSERT(w.buf == NULL);
}

/* reply_put_json() writes what json-c writes, for any claims set. */
static void
test_reply_put_json(void)
{
	static const char *const docs[] = {
		"{}",
		"{\"iss\":\"https://a.example/x\",\"exp\":1700000000,"
		    "\"iat\":-5,\"aud\":[\"a\",\"b\",1,null,true],"
		    "\"n\":null,\"f\":1.5,\"e\":1e3,\"t\":true,"
		    "\"big\":18446744073709551615,"
		    "\"min\":-9223372036854775808,"
		    "\"max\":9223372036854775807,"
		    "\"o\":{\"k\":{\"q\\\"\":\"\\u0001\\n\\/\"},\"z\":[]},"
		    "\"u\":\"caf\\u00e9 \\ud83d\\ude00\"}",
	};
	size_t	 i;

	for (i = 0; i < nitems(docs); i++) {
		struct json_object	*o = sjson_parse(docs[i],
		    strlen(docs[i]), 16);
		struct jsonw		 w;
		char			*want;

		TEST_ASSERT(o != NULL);
		want = xstrdup(json_object_to_json_string_ext(o, FLAGS));
		jsonw_init(&w, 0);
		reply_put_json(&w, o);
		if (strcmp(w.buf, want) != 0)
			fprintf(stderr, "put %s\njson-c %s\n", w.buf, want);
		TEST_ASSERT(strcmp(w.buf, want) == 0);
		jsonw_free(&w);
		free(want);
		json_object_put(o);
	}
}

int
main(void)
{
	test_run(test_reply_put_json);
	test_run(test_strings_as_json_c);
	test_run(test_object_as_json_c);
	test_run(test_empty_object);
	return test_summary();
}
