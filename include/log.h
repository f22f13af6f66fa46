/*
 * log: one line per event on stderr, key=value:
 *   ts=2026-11-29T17:03:04.123Z level=warn event=store_down err="..."
 * Each line is written with a single write(2), so lines from different
 * worker threads never interleave. Thread safe; no allocation.
 *
 * Callers pass the rest of the line (after "level=..") as a printf format:
 *   log_warnx("event=store_down err=\"%s\"", msg);
 * log_warn() appends err="strerror(errno)".
 * Never pass a secret or a whole token.
 */
#ifndef TOKEND_LOG_H
#define TOKEND_LOG_H

#include <stdbool.h>

#include "config.h"

/*
 * Call once at start: when stderr is a pipe or a socket, make it
 * non-blocking, so that a log reader that stalls (a full pipe) costs log
 * lines, counted and reported later as event=log_dropped, instead of
 * freezing every worker in write(2). A file or a terminal is left alone.
 */
void	 log_init(void);
void	 log_set_level(enum log_level);
bool	 log_enabled(enum log_level);

void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Escape s for use inside a double-quoted log value: quotes and
 * backslashes get a backslash, control bytes, DEL and every byte >= 0x80
 * become \xNN, so the result is printable ASCII whatever s holds. The
 * result is cut at dstlen - 1 bytes, never inside an escape. Returns dst.
 */
char	*log_quote(char *dst, size_t dstlen, const char *s);

/* Print one line to stderr and exit(status). Start-up errors only. */
void	 fatalx(int status, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
