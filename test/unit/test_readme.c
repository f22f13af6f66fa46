/*
 * test_readme: the settings table of docs/configuration.md (the README
 * links it) is the one config.c prints, so the table, --help and the code
 * cannot drift apart. The table is the text between the
 * <!-- settings:begin --> and <!-- settings:end --> markers.
 *
 *   test_readme docs/configuration.md  compare (the unit test "readme")
 *   test_readme --print                print the table, to paste between
 *                                      the markers
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_doc.h"
#include "test.h"

static const char	*doc_path;

static char *
slurp(FILE *fp, size_t *len)
{
	char	*buf = NULL;
	size_t	 cap = 0, n = 0, r;

	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		if ((r = fread(buf + n, 1, 4096, fp)) == 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
test_readme_settings_table(void)
{
	static const char	 begin[] = "<!-- settings:begin -->\n";
	static const char	 end[] = "<!-- settings:end -->";
	FILE			*fp, *mem;
	char			*doc, *table, *b, *e;
	size_t			 dlen, tlen;
	int			 same;

	fp = fopen(doc_path, "r");
	TEST_ASSERT(fp != NULL);
	doc = slurp(fp, &dlen);
	fclose(fp);
	mem = tmpfile();
	TEST_ASSERT(mem != NULL);
	config_doc_markdown(mem);
	rewind(mem);
	table = slurp(mem, &tlen);
	fclose(mem);
	b = strstr(doc, begin);
	e = b != NULL ? strstr(b, end) : NULL;
	same = b != NULL && e != NULL &&
	    (size_t)(e - (b + sizeof(begin) - 1)) == tlen &&
	    memcmp(b + sizeof(begin) - 1, table, tlen) == 0;
	if (!same)
		fprintf(stderr, "%s: the settings table differs from "
		    "config.c's; regenerate it with build-dir/test/test_readme "
		    "--print\n", doc_path);
	free(doc);
	free(table);
	TEST_ASSERT(same);
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--print") == 0) {
		config_doc_markdown(stdout);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: test_readme docs/configuration.md | "
		    "--print\n");
		return 2;
	}
	doc_path = argv[1];
	test_run(test_readme_settings_table);
	return test_summary();
}
