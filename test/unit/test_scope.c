/*
 * test_scope: RFC 6749 3.3 scope lists: the token alphabet, separators,
 * the caps, duplicates, subset, contains and join.
 */
#include <stdlib.h>
#include <string.h>

#include "scope.h"
#include "util.h"
#include "test.h"

static enum scope_result
parse(const char *s, struct scope_set *set)
{
	return scope_parse(s, strlen(s), 0, set);
}

static void
test_scope_parse_simple(void)
{
	struct scope_set	 set;

	TEST_ASSERT(parse("read write", &set) == SCOPE_OK);
	TEST_ASSERT(set.n == 2);
	TEST_ASSERT(strcmp(set.v[0], "read") == 0);
	TEST_ASSERT(strcmp(set.v[1], "write") == 0);
	scope_set_finish(&set);
	TEST_ASSERT(set.n == 0);
	TEST_ASSERT(parse("a", &set) == SCOPE_OK);
	TEST_ASSERT(set.n == 1);
	scope_set_finish(&set);
	/* every allowed punctuation byte */
	TEST_ASSERT(parse("!#$%&'()*+,-./:;<=>?@[]^_`{|}~ api:read", &set) ==
	    SCOPE_OK);
	TEST_ASSERT(set.n == 2);
	scope_set_finish(&set);
}

static void
test_scope_parse_empty(void)
{
	struct scope_set	 set;

	TEST_ASSERT(parse("", &set) == SCOPE_OK);
	TEST_ASSERT(set.n == 0);
	scope_set_finish(&set);
	TEST_ASSERT(scope_parse(NULL, 0, 0, &set) == SCOPE_OK);
	TEST_ASSERT(set.n == 0);
}

static void
test_scope_parse_spaces(void)
{
	struct scope_set	 set;

	TEST_ASSERT(parse(" ", &set) == SCOPE_EMPTY_TOKEN);
	TEST_ASSERT(set.n == 0);
	TEST_ASSERT(parse("a  b", &set) == SCOPE_EMPTY_TOKEN);
	TEST_ASSERT(set.n == 0);
	TEST_ASSERT(parse(" a", &set) == SCOPE_EMPTY_TOKEN);
	TEST_ASSERT(parse("a ", &set) == SCOPE_EMPTY_TOKEN);
	TEST_ASSERT(parse("a\tb", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(parse("a\nb", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(parse("a+b", &set) == SCOPE_OK);	/* '+' is a byte */
	TEST_ASSERT(set.n == 1);
	scope_set_finish(&set);
}

static void
test_scope_parse_bad_chars(void)
{
	struct scope_set	 set;
	char			 s[2];
	int			 c;

	TEST_ASSERT(parse("a\"b", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(parse("a\\b", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(parse("caf\xc3\xa9", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(parse("a\x7f", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(parse("ok b\x01", &set) == SCOPE_BAD_CHAR);
	TEST_ASSERT(set.n == 0);
	/* a NUL inside the given length is a byte like any other */
	TEST_ASSERT(scope_parse("a\0b", 3, 0, &set) == SCOPE_BAD_CHAR);
	/* and a NUL past it is not looked at */
	TEST_ASSERT(scope_parse("ab\0", 2, 0, &set) == SCOPE_OK);
	scope_set_finish(&set);
	/* exactly %x21 / %x23-5B / %x5D-7E */
	for (c = 1; c < 256; c++) {
		s[0] = (char)c;
		s[1] = '\0';
		if (c == ' ')
			continue;
		if (c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
		    (c >= 0x5d && c <= 0x7e)) {
			TEST_ASSERT(scope_parse(s, 1, 0, &set) == SCOPE_OK);
			scope_set_finish(&set);
		} else
			TEST_ASSERT(scope_parse(s, 1, 0, &set) ==
			    SCOPE_BAD_CHAR);
	}
}

static void
test_scope_parse_caps(void)
{
	struct scope_set	 set;
	char			 buf[SCOPE_MAX_LEN + 64], *p;
	int			 i;

	/* 64 tokens are fine, 65 are not */
	p = buf;
	for (i = 0; i < SCOPE_MAX_COUNT; i++)
		p += sprintf(p, "%ss%d", i > 0 ? " " : "", i);
	TEST_ASSERT(parse(buf, &set) == SCOPE_OK);
	TEST_ASSERT(set.n == SCOPE_MAX_COUNT);
	scope_set_finish(&set);
	sprintf(p, " s%d", i);
	TEST_ASSERT(parse(buf, &set) == SCOPE_TOO_MANY);
	TEST_ASSERT(set.n == 0);

	/* a 128-byte token is fine, 129 is not */
	memset(buf, 'x', SCOPE_MAX_TOKEN);
	buf[SCOPE_MAX_TOKEN] = '\0';
	TEST_ASSERT(parse(buf, &set) == SCOPE_OK);
	scope_set_finish(&set);
	buf[SCOPE_MAX_TOKEN] = 'x';
	buf[SCOPE_MAX_TOKEN + 1] = '\0';
	TEST_ASSERT(parse(buf, &set) == SCOPE_TOKEN_TOO_LONG);

	/* the whole string: 4096 bytes at most, checked first */
	memset(buf, 'a', SCOPE_MAX_LEN + 1);
	TEST_ASSERT(scope_parse(buf, SCOPE_MAX_LEN + 1, 0, &set) ==
	    SCOPE_TOO_LONG);
	TEST_ASSERT(scope_parse(buf, SCOPE_MAX_LEN, 0, &set) ==
	    SCOPE_TOKEN_TOO_LONG);
}

static void
test_scope_parse_duplicates(void)
{
	struct scope_set	 set;
	char			 buf[1024], *p;
	int			 i;

	TEST_ASSERT(parse("a b a", &set) == SCOPE_DUPLICATE);
	TEST_ASSERT(set.n == 0);
	TEST_ASSERT(parse("a A", &set) == SCOPE_OK);	/* case matters */
	scope_set_finish(&set);
	TEST_ASSERT(parse("ab a", &set) == SCOPE_OK);	/* no prefix match */
	scope_set_finish(&set);
	TEST_ASSERT(scope_parse("a b a b c", 9, SCOPE_DEDUP, &set) ==
	    SCOPE_OK);
	TEST_ASSERT(set.n == 3);
	TEST_ASSERT(strcmp(set.v[2], "c") == 0);
	scope_set_finish(&set);
	/* the cap counts distinct tokens */
	p = buf;
	for (i = 0; i < 200; i++)
		p += sprintf(p, "%sx", i > 0 ? " " : "");
	TEST_ASSERT(scope_parse(buf, strlen(buf), SCOPE_DEDUP, &set) ==
	    SCOPE_OK);
	TEST_ASSERT(set.n == 1);
	scope_set_finish(&set);
}

static void
test_scope_subset_contains(void)
{
	struct scope_set	 all, some, none, other;

	TEST_ASSERT(parse("read write admin", &all) == SCOPE_OK);
	TEST_ASSERT(parse("admin read", &some) == SCOPE_OK);
	TEST_ASSERT(parse("", &none) == SCOPE_OK);
	TEST_ASSERT(parse("read delete", &other) == SCOPE_OK);
	TEST_ASSERT(scope_is_subset(&some, &all));
	TEST_ASSERT(!scope_is_subset(&all, &some));
	TEST_ASSERT(scope_is_subset(&all, &all));
	TEST_ASSERT(scope_is_subset(&none, &all));
	TEST_ASSERT(scope_is_subset(&none, &none));
	TEST_ASSERT(!scope_is_subset(&some, &none));
	TEST_ASSERT(!scope_is_subset(&other, &all));
	TEST_ASSERT(scope_contains(&all, "write"));
	TEST_ASSERT(!scope_contains(&all, "writ"));
	TEST_ASSERT(!scope_contains(&all, "writes"));
	TEST_ASSERT(!scope_contains(&all, ""));
	TEST_ASSERT(!scope_contains(&none, "read"));
	scope_set_finish(&all);
	scope_set_finish(&some);
	scope_set_finish(&none);
	scope_set_finish(&other);
}

static void
test_scope_join(void)
{
	struct scope_set	 set;
	char			*s;

	TEST_ASSERT(parse("b a c", &set) == SCOPE_OK);
	s = scope_join(&set);
	TEST_ASSERT(strcmp(s, "b a c") == 0);
	free(s);
	scope_set_finish(&set);
	TEST_ASSERT(parse("", &set) == SCOPE_OK);
	s = scope_join(&set);
	TEST_ASSERT(strcmp(s, "") == 0);
	free(s);
	scope_set_init(&set);
	scope_set_finish(&set);
}

static void
test_scope_result_names(void)
{
	TEST_ASSERT(strcmp(scope_result_name(SCOPE_OK), "ok") == 0);
	TEST_ASSERT(strcmp(scope_result_name(SCOPE_DUPLICATE),
	    "duplicate") == 0);
	TEST_ASSERT(strcmp(scope_result_name(SCOPE_EMPTY_TOKEN),
	    "empty_token") == 0);
	TEST_ASSERT(strcmp(scope_result_name((enum scope_result)99),
	    "unknown") == 0);
}

int
main(void)
{
	test_run(test_scope_parse_simple);
	test_run(test_scope_parse_empty);
	test_run(test_scope_parse_spaces);
	test_run(test_scope_parse_bad_chars);
	test_run(test_scope_parse_caps);
	test_run(test_scope_parse_duplicates);
	test_run(test_scope_subset_contains);
	test_run(test_scope_join);
	test_run(test_scope_result_names);
	return test_summary();
}
