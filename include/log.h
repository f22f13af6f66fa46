/*
 * log: one line per event on stderr, in one of two formats (--log-format):
 *   kv:   ts=2026-11-29T17:03:04.123Z level=warn event=store_down err="..."
 *   json: {"ts":"2026-11-29T17:03:04.123Z","level":"warn","event":...}
 * Every line starts with ts, level and event, in that order;
 * docs/operations.md ("Logs") lists the events and their keys. Each line
 * is written with a single write(2), so lines from different worker
 * threads never interleave. Thread safe; no allocation.
 *
 * Callers pass the rest of the line (after "level=..") as a printf format
 * made of space-separated key=value tokens, the first one event=NAME:
 *   log_warnx("event=store_down err=%s retry_in_ms=%d", msg, ms);
 * The logger, not the caller, quotes and escapes each value, so a value
 * cannot hold a newline or start a key of its own whatever it contains.
 * A value written `"..."` in the format is the same as one without the
 * quotes (a literal with spaces needs them: msg="two words").
 * A value that is exactly one integer conversion (%d, %u, %ld, %lld, %zu,
 * ...) is a number (bare in kv, a JSON number); every other value is a
 * string. Supported conversions: d i u x c s, with the length modifiers
 * hh h l ll z j t and a precision on %s (%.8s, %.*s); no widths or flags.
 * log_warn() appends err=strerror(errno).
 * Never pass a secret or a whole token.
 *
 * The build enforces that grammar. The format attribute below has the
 * compiler check each argument against its conversion, but printf takes
 * more than this parser (%p, %5d, %f, %-s ...), and such a format would
 * compile and then cut its line at run time with log_format_error=1.
 * So scripts/check-log-formats, run by meson.build before any object of
 * tokend_core is compiled, reads every call of the functions below in
 * src/ after the C preprocessor, the way the compiler reads it: over
 * several lines, with adjacent literals joined and macros expanded
 * (PRIu64, a macro that builds the format, a macro that makes the call).
 * It fails the build on a format this parser would stop at, or whose
 * first key is not event. Hence the format of a call in src/ must be a
 * string literal, or adjacent literals, in the call itself (not a
 * variable, not a ?: of two literals); only log.c passes one on. The
 * check mirrors the parser in log.c: test/log_format compares the two.
 * (A typed field API would need no check but rewrites every call; a
 * compile-time test of the literal with __builtin_constant_p and an error
 * attribute depends on the optimizer and misses at -O0.)
 */
#ifndef TOKEND_LOG_H
#define TOKEND_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The longest line written, newline included; longer ones are cut at a
   value and end with truncated=1. */
#define LOG_LINE_MAX	2048

/*
 * Call once at start: when stderr is a pipe or a socket, make it
 * non-blocking, so that a log reader that stalls (a full pipe) costs log
 * lines, counted and reported later as event=log_dropped, instead of
 * freezing every worker in write(2). A file or a terminal is left alone.
 */
void	 log_init(void);
void	 log_set_level(enum log_level);
void	 log_set_format(enum log_format);
bool	 log_enabled(enum log_level);

/*
 * Gather this thread's lines in a batch (PIPE_BUF bytes) instead of
 * writing each: for a thread that runs an event loop. wake(arg) is called
 * when the first line of an empty batch is added; the loop then calls
 * log_batch_flush() before it waits again (one write(2) per loop turn).
 * A line that does not fit writes the batch first, so no line is lost to
 * a full batch and the lines of a thread stay in order. log_batch_end()
 * writes what is left and goes back to one write per line; call it before
 * the thread exits. Without memory for a batch, lines are written one by
 * one, as before.
 */
void	 log_batch_begin(void (*wake)(void *), void *arg);
void	 log_batch_flush(void);
void	 log_batch_end(void);
/*
 * Write every thread's batch now (SIGHUP, fatal paths). fatal: skip a
 * batch whose lock another thread holds instead of waiting for it.
 */
void	 log_flush_all(bool fatal);
/* log_flush_all(true): the hook main gives util_set_abort_hook(). */
void	 log_flush_fatal(void);

void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One key and its value, for log_format_line(). */
struct log_field {
	const char	*key;		/* [a-z0-9_]+ */
	const char	*val;		/* len bytes, any bytes */
	size_t		 len;
	bool		 num;		/* an integer: bare in both formats */
};

/*
 * The pure core of the logger. Write one line, newline included and not
 * NUL-terminated, into buf (bufsz >= 128) and return its length:
 * ts and level first, then the fields in order. In kv a string value is
 * written bare when it is non-empty printable ASCII without space, '"',
 * '=' or '\\', and otherwise in double quotes with '"' and '\\' escaped by
 * a backslash and every other byte outside printable ASCII as \xNN. In
 * json strings escape '"' and '\\' the same way and every byte outside
 * printable ASCII as \u00NN. A field with num set whose value is not an
 * integer is written as a string. A line that would not fit is cut
 * before the first field that does not fit whole (a string is cut inside
 * its quotes, never inside an escape) and ends with truncated=1.
 */
size_t	 log_format_line(char *buf, size_t bufsz, enum log_format,
	    const char *ts, const char *level, const struct log_field *,
	    size_t nfields);

/*
 * Parse fmt as described at the top of this file, take its arguments
 * from ap, and write the line with log_format_line(). errnum != 0 adds
 * err=strerror(errnum). A format whose first key is not "event" gets
 * event=unnamed in front; a format the parser cannot read ends the line
 * with log_format_error=1 at that point (the build refuses both in src/,
 * see above; tests may pass anything). Pure: no clock, no I/O.
 */
size_t	 log_vformat(char *buf, size_t bufsz, enum log_format,
	    const char *ts, enum log_level, int errnum, const char *fmt,
	    va_list ap) __attribute__((format(printf, 7, 0)));
/*
 * Formats are parsed once per thread and kept by address (log.c); off,
 * this thread parses every format each time. The output is the same
 * either way: for tests, which compare the two.
 */
void	 log_format_cache(bool on);
size_t	 log_sformat(char *buf, size_t bufsz, enum log_format,
	    const char *ts, enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));

/*
 * Escape s for use inside a double-quoted value: quotes and backslashes
 * get a backslash, control bytes, DEL and every byte >= 0x80 become \xNN,
 * so the result is printable ASCII whatever s holds. The result is cut at
 * dstlen - 1 bytes, never inside an escape. Returns dst. Log calls do not
 * need it (the logger escapes every value); it is for other messages.
 */
char	*log_quote(char *dst, size_t dstlen, const char *s);

/* Print one line to stderr and exit(status). Start-up errors only. */
void	 fatalx(int status, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
