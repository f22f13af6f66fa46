/*
 * config_doc: --help, the manual page, the version line and the Markdown
 * settings table, all written from the settings table of config.c
 * (config_describe()).
 *
 * Where it sits: above config, which it reads and which never includes
 * it. config_parse() only reports that a document was asked for
 * (CONFIG_HELP, CONFIG_HELP_MAN, CONFIG_VERSION); main.c hands that
 * result to config_doc_print().
 *
 * Pure module: no libevent, no hiredis, no sockets. Each function writes
 * to out only and may be called any number of times, from any thread.
 */
#ifndef TOKEND_CONFIG_DOC_H
#define TOKEND_CONFIG_DOC_H

#include <stdio.h>

#include "config.h"

/*
 * Print the document config_parse() reported being asked for: --help for
 * CONFIG_HELP, the manual page for CONFIG_HELP_MAN, "tokend VERSION" and a
 * newline for CONFIG_VERSION. Any other result prints nothing. This is
 * what `tokend` writes to standard output before it exits 0.
 */
void	 config_doc_print(enum config_result asked, FILE *out);

/*
 * Print --help: the usage line, then one line per setting with its flag,
 * variable, default, help text and range, then how flags, variables and
 * defaults combine and the exit statuses: what -h and --help print.
 */
void	 config_doc_help(FILE *out);

/*
 * Print the manual page tokend(8) in man(7) markup: every setting of the
 * table with its flag, variable, default and help text, and the signals,
 * files and exit statuses. `tokend --help-man` (not listed by --help)
 * prints it; the build makes tokend.8 that way.
 */
void	 config_doc_man(FILE *out);

/* Print the settings as a Markdown table (docs/configuration.md). */
void	 config_doc_markdown(FILE *out);

#endif
