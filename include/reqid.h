/*
 * reqid: request ids (X-Request-Id). A client's id is kept when it is
 * sane: 1 to REQID_MAX bytes of [A-Za-z0-9._:-]. Otherwise, or when the
 * client sends none, tokend makes one: a random 64-bit prefix per thread
 * (RAND_bytes once, on the thread's first id) in 16 hex digits, a '-',
 * and that thread's counter in hex, e.g. "3f9a0c1d2e4b5a69-1a". No system
 * call per request. Pure: no libevent; thread safe (per-thread state).
 */
#ifndef TOKEND_REQID_H
#define TOKEND_REQID_H

#include <stdbool.h>
#include <stddef.h>

#define REQID_MAX	128

/* True when s (NUL-terminated) may be used as a request id as it is. */
bool	 reqid_valid(const char *s);

/* A new id into dst (at least REQID_MAX + 1 bytes), NUL-terminated. */
void	 reqid_generate(char *dst);

/*
 * The id of a request: the client's (NULL if none) when reqid_valid(),
 * else a generated one. dst has REQID_MAX + 1 bytes. Returns true when
 * the client's id was kept.
 */
bool	 reqid_choose(const char *client, char *dst);

#endif
