/*
 * fuzz_config: config_parse() on a command line and an environment made
 * from the input. The input is split on NUL bytes; a piece that starts
 * with "TOKEND_" goes to the environment, any other to argv (after
 * argv[0] "tokend"). At most 32 of each. What --help, --help-man and
 * --version ask for is printed to /dev/null by config_doc_print(), as
 * main.c prints it to standard output; errors go to errbuf only.
 *
 * Files named by --signing-key and the like are only stat()ed and
 * access()ed by config_parse(), never opened.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_doc.h"
#include "log.h"

#define MAX_ARGS	32

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static FILE	*devnull;
static char	 argv0[] = "tokend";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level((enum log_level)(LOG_LEVEL_ERROR + 1));
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*copy, *argv[MAX_ARGS + 2], *envp[MAX_ARGS + 1];
	char			 err[512], *p, *end;
	int			 argc = 1;
	size_t			 nenv = 0;
	struct config		 cfg;
	enum config_result	 rc;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = argv0;
	for (p = copy, end = copy + size; p <= end; p += strlen(p) + 1) {
		if (strncmp(p, "TOKEND_", 7) == 0) {
			if (nenv < MAX_ARGS)
				envp[nenv++] = p;
		} else if (argc < MAX_ARGS + 1) {
			argv[argc++] = p;
		}
		if (p == end)
			break;
	}
	argv[argc] = NULL;
	envp[nenv] = NULL;

	switch ((rc = config_parse(&cfg, argc, argv, envp, err,
	    sizeof(err)))) {
	case CONFIG_OK:
		if (cfg.issuer == NULL || cfg.default_audience == NULL ||
		    cfg.workers < 1)
			abort();
		config_finish(&cfg);
		break;
	case CONFIG_ERROR:
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		break;
	case CONFIG_HELP:
	case CONFIG_HELP_MAN:
	case CONFIG_VERSION:
		config_doc_print(rc, devnull);
		break;
	}
	free(copy);
	return 0;
}
