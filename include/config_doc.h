/*
 * config_doc: --help, the manual page and the README's settings table,
 * all written from the settings table of config.c (config_describe()).
 *
 * Pure module: no libevent, no hiredis, no sockets. Each function writes
 * to out only and may be called any number of times, from any thread.
 */
#ifndef TOKEND_CONFIG_DOC_H
#define TOKEND_CONFIG_DOC_H

#include <stdio.h>

/*
 * Print --help: the usage line, then one line per setting with its flag,
 * variable, default, help text and range, then how flags, variables and
 * defaults combine and the exit statuses. config_parse() prints it for
 * -h and --help.
 */
void	 config_doc_help(FILE *out);

/*
 * Print the manual page tokend(8) in man(7) markup: every setting of the
 * table with its flag, variable, default and help text, and the signals,
 * files and exit statuses. `tokend --help-man` (not listed by --help)
 * prints it; the build makes tokend.8 that way.
 */
void	 config_doc_man(FILE *out);

/* Print the settings as a Markdown table (for the README). */
void	 config_doc_markdown(FILE *out);

#endif
