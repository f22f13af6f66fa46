/*
 * util: allocation that never returns NULL (it aborts, as redis and kore
 * do), secret wiping, monotonic time, small string checks.
 */
#ifndef TOKEND_UTIL_H
#define TOKEND_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/*
 * Die on purpose (out of memory, an impossible library failure): run the
 * hook set with util_set_abort_hook(), then abort(). main sets a hook
 * that writes the log lines still batched by the workers, so that the
 * lines before the abort are not lost; the hook must not wait for a lock
 * (another thread, or this one, may hold it).
 */
void	 util_set_abort_hook(void (*)(void));
void	 xabort(void) __attribute__((noreturn));

/* Overwrite n bytes so the compiler cannot drop it. */
void	 secret_wipe(void *, size_t);
/* Wipe a NUL-terminated string and free it. NULL is fine. */
void	 secret_free_str(char *);

/*
 * printf into a caller's error buffer (errlen may be 0, errbuf NULL):
 * the one way pure modules report a reason.
 */
void	 errbuf_set(char *errbuf, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* The value of a hex digit (either case), or -1. */
int	 hex_digit(int c);

/* Whether s holds a control character (below 0x20, or DEL). */
bool	 has_ctl(const char *s);

/* Monotonic clock in microseconds. */
uint64_t now_usec(void);

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#endif
