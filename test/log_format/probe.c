/*
 * probe FORMAT...: what the real logger makes of each format, one line
 * each: "ok", "cut" (the line ends with log_format_error=1) or "unnamed"
 * (no event= first). test/log_format/check.py compares it with
 * scripts/check-log-formats on many generated formats, so the two
 * grammars cannot drift apart.
 *
 * Every argument is a null pointer: whatever a conversion reads from it is
 * zero, and %s of NULL is "(null)" in the logger. The logger stops at the
 * first conversion it does not know, before reading its argument.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"

#define Z	((const char *)NULL)
#define Z8	Z, Z, Z, Z, Z, Z, Z, Z

int
main(int argc, char *argv[])
{
	char	 line[LOG_LINE_MAX + 1];
	size_t	 n;
	int	 i;

	for (i = 1; i < argc; i++) {
		/* not a literal on purpose: the probe reads any format */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = log_sformat(line, LOG_LINE_MAX, LOG_FORMAT_KV, "ts",
		    LOG_LEVEL_INFO, argv[i], Z8, Z8, Z8, Z8, Z8);
#pragma GCC diagnostic pop
		line[n] = '\0';
		if (strstr(line, " log_format_error=1") != NULL)
			puts("cut");
		else if (strncmp(line, "ts=ts level=info event=unnamed",
		    30) == 0)
			puts("unnamed");
		else
			puts("ok");
	}
	return 0;
}
