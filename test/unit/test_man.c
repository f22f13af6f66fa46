/*
 * test_man: the manual page tokend(8) that config_doc_man() writes (and
 * `tokend --help-man` prints) documents every setting of the table: its
 * flag and metavariable under OPTIONS, its variable there and under
 * ENVIRONMENT, its default and its help text. The settings are taken from
 * config_doc_markdown(), the README's table, so the two cannot drift.
 * The page's markup is linted by test/check_man.py (mandoc, groff).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_doc.h"
#include "test.h"

static char *
capture(void (*print)(FILE *))
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*out;

	if ((out = open_memstream(&buf, &len)) == NULL)
		abort();
	print(out);
	fclose(out);
	return buf;
}

/* s as man_text() writes it: '-' is \-, '\' is \e. */
static void
man_escape(char *dst, size_t len, const char *s, size_t n)
{
	size_t	 i = 0;

	for (; n > 0 && *s != '\0' && i + 3 < len; s++, n--) {
		if (*s == '-' || *s == '\\') {
			dst[i++] = '\\';
			dst[i++] = *s == '-' ? '-' : 'e';
		} else
			dst[i++] = *s;
	}
	dst[i] = '\0';
}

/* One Markdown cell (up to the next unescaped '|'), unescaped, trimmed. */
static const char *
cell(const char *p, char *dst, size_t len)
{
	size_t	 i = 0;

	while (*p == ' ')
		p++;
	for (; *p != '\0' && *p != '\n' && *p != '|'; p++) {
		if (*p == '\\' && p[1] == '|')
			p++;
		if (i + 1 < len)
			dst[i++] = *p;
	}
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
	return *p == '|' ? p + 1 : p;
}

static char	*man, *md;
static size_t	 n_settings;

static bool
has(const char *needle)
{
	if (strstr(man, needle) != NULL)
		return true;
	fprintf(stderr, "  not in the man page: %s\n", needle);
	return false;
}

static void
test_man_every_setting(void)
{
	const char	*p, *opts, *env;
	char		 flag[128], envv[128], def[256], help[512];
	char		 name[128], metavar[64], want[1024], esc[512];
	char		*sp;

	opts = strstr(man, "\n.SH OPTIONS\n");
	env = strstr(man, "\n.SH ENVIRONMENT\n");
	TEST_ASSERT(opts != NULL && env != NULL && opts < env);
	/* skip the header and the separator row */
	p = strchr(md, '\n') + 1;
	p = strchr(p, '\n') + 1;
	for (; *p == '|'; p = strchr(p, '\n') + 1) {
		p = cell(p + 1, flag, sizeof(flag));
		p = cell(p, envv, sizeof(envv));
		p = cell(p, def, sizeof(def));
		p = cell(p, help, sizeof(help));
		n_settings++;
		/* "`--name METAVAR`" */
		TEST_ASSERT(strncmp(flag, "`--", 3) == 0);
		flag[strlen(flag) - 1] = '\0';
		snprintf(name, sizeof(name), "%s", flag + 3);
		metavar[0] = '\0';
		if ((sp = strchr(name, ' ')) != NULL) {
			*sp = '\0';
			snprintf(metavar, sizeof(metavar), "%s", sp + 1);
		}
		man_escape(esc, sizeof(esc), name, strlen(name));
		if (metavar[0] != '\0') {
			snprintf(want, sizeof(want), "\n.TP\n.BI \\-\\-%s \" ",
			    esc);
			man_escape(esc, sizeof(esc), metavar, strlen(metavar));
			strncat(want, esc, sizeof(want) - strlen(want) - 1);
			strncat(want, "\"\n", sizeof(want) - strlen(want) - 1);
		} else
			snprintf(want, sizeof(want), "\n.TP\n.B \\-\\-%s\n",
			    esc);
		TEST_ASSERT(has(want));
		TEST_ASSERT(strstr(man, want) > opts &&
		    strstr(man, want) < env);
		/* the variable, under OPTIONS and under ENVIRONMENT */
		envv[strlen(envv) - 1] = '\0';
		man_escape(esc, sizeof(esc), envv + 1, strlen(envv + 1));
		snprintf(want, sizeof(want), "Environment:\n.BR %s .\n", esc);
		TEST_ASSERT(has(want));
		snprintf(want, sizeof(want), "\n.TP\n.B %s\nAs\n.BR \\-\\-",
		    esc);
		TEST_ASSERT(has(want));
		TEST_ASSERT(strstr(man, want) > env);
		/* the default: `value` or a description */
		if (def[0] == '`') {
			man_escape(esc, sizeof(esc), def + 1, strlen(def) - 2);
			snprintf(want, sizeof(want), "Default:\n.BR \"%s\" .\n",
			    esc);
		} else {
			man_escape(esc, sizeof(esc), def, strlen(def));
			snprintf(want, sizeof(want), "Default:\n%s.\n", esc);
		}
		TEST_ASSERT(has(want));
		/* the help text, range included */
		man_escape(esc, sizeof(esc), help, strlen(help));
		snprintf(want, sizeof(want), "\n%s.\n.br\nEnvironment:", esc);
		TEST_ASSERT(has(want));
	}
	TEST_ASSERT(n_settings >= 29);
	TEST_ASSERT(has("\n.BI \\-\\-user \" NAME\"\n"));
}

static void
test_man_sections(void)
{
	static const char *const sections[] = {
		"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS",
		"ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO",
	};
	const char	*p = man;
	char		 want[64];
	size_t		 i, n = 0;

	TEST_ASSERT(strstr(man, "\n.TH TOKEND 8 ") != NULL);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		snprintf(want, sizeof(want), "\n.SH %s\n", sections[i]);
		p = strstr(p, want);
		if (p == NULL)
			fprintf(stderr, "  missing or out of order: %s\n",
			    sections[i]);
		TEST_ASSERT(p != NULL);
	}
	/* no other section; one .TP per option: the settings, -h and -V */
	for (p = man; (p = strstr(p, "\n.SH ")) != NULL; p++)
		n++;
	TEST_ASSERT(n == i);
	n = 0;
	for (p = strstr(man, "\n.SH OPTIONS\n");
	    (p = strstr(p + 1, "\n.TP\n")) != NULL &&
	    p < strstr(man, "\n.SH SIGNALS\n");)
		n++;
	TEST_ASSERT(n == n_settings + 2);
	TEST_ASSERT(has("\n.B SIGHUP\n"));
	TEST_ASSERT(has("\n.I /etc/default/tokend\n"));
}

/*
 * `tokend --help-man` prints the same page (config_parse() says it was
 * asked for, main.c has config_doc_print() print it), and --help does not
 * list it.
 */
static void
test_man_help_man(void)
{
	struct config	 cfg;
	char		 err[256], *buf = NULL;
	size_t		 len = 0;
	FILE		*out;
	char		 a0[] = "tokend", a1[] = "--help-man", a2[] = "--help";
	char		*argv[] = { a0, a1, NULL };
	char		*argv2[] = { a0, a2, NULL };

	if ((out = open_memstream(&buf, &len)) == NULL)
		abort();
	TEST_ASSERT(config_parse(&cfg, 2, argv, NULL, err, sizeof(err)) ==
	    CONFIG_HELP_MAN);
	config_doc_print(CONFIG_HELP_MAN, out);
	fclose(out);
	TEST_ASSERT(strcmp(buf, man) == 0);
	free(buf);
	buf = NULL;
	if ((out = open_memstream(&buf, &len)) == NULL)
		abort();
	TEST_ASSERT(config_parse(&cfg, 2, argv2, NULL, err, sizeof(err)) ==
	    CONFIG_HELP);
	config_doc_print(CONFIG_HELP, out);
	fclose(out);
	TEST_ASSERT(strstr(buf, "help-man") == NULL);
	TEST_ASSERT(strstr(buf, "--user NAME") != NULL);
	free(buf);
}

int
main(void)
{
	man = capture(config_doc_man);
	md = capture(config_doc_markdown);
	test_run(test_man_every_setting);
	test_run(test_man_sections);
	test_run(test_man_help_man);
	free(man);
	free(md);
	return test_summary();
}
