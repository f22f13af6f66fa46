/*
 * dpop_seen: the DPoP proof jtis a process has accepted at /verify, so
 * that every worker of an instance accepts a proof once within its
 * window (RFC 9449 11.1). The token endpoint uses the store instead
 * (db_dpop_jti_use()), across instances.
 *
 * Bounded: at most the capacity given to dpop_seen_new(), split into
 * stripes by the entry's hash, each under a mutex of its own held for one
 * short probe (no allocation, no I/O). An entry lives until the end of
 * the window its proof could be accepted in, then its slot is free again.
 * When the slots a new entry may take all hold live entries, the proof is
 * refused (DPOP_SEEN_FULL): a live jti is never forgotten to make room,
 * so a flood can deny fresh proofs for at most one window but never lets
 * a replay through.
 *
 * Pure module: no libevent, no hiredis; thread safe.
 */
#ifndef TOKEND_DPOP_SEEN_H
#define TOKEND_DPOP_SEEN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Entries of the process's table per worker (24 bytes each: 16 of hash, 8
 * of time; 24 MiB, which the kernel backs only as entries are written).
 * About three quarters of them can be live at once: some 786,000 per
 * worker, more than one worker can verify proofs in a window of the
 * default --dpop-max-age and --leeway (121 s at about 6,000 proofs a
 * second), so a flood the instance can take cannot fill the table.
 */
#define DPOP_SEEN_PER_WORKER	(1u << 20)

enum dpop_seen_result {
	DPOP_SEEN_FRESH = 0,	/* first use: remembered until `until` */
	DPOP_SEEN_REPLAY,	/* seen, and its window has not ended */
	DPOP_SEEN_FULL,		/* no room: refused, not remembered */
};

struct dpop_seen;

/* A table of about max_entries entries (rounded up). Caller owns it. */
struct dpop_seen *dpop_seen_new(size_t max_entries);
void		 dpop_seen_free(struct dpop_seen *);

/*
 * Use the proof of key thumbprint jkt with jti at now (unix seconds):
 * FRESH the first time (the entry then lives while now < until), REPLAY
 * while a live entry has the same jkt and jti, FULL when there is no room.
 * Thread safe; holds one stripe's mutex for a bounded probe.
 */
enum dpop_seen_result dpop_seen_use(struct dpop_seen *, const char *jkt,
	    const char *jti, int64_t now, int64_t until);

/* Live entries (for tests). */
size_t		 dpop_seen_count(struct dpop_seen *, int64_t now);

/*
 * The table the workers of this process share, made on first use with
 * DPOP_SEEN_PER_WORKER entries for each of the workers given to
 * dpop_seen_process_size() before (1 if it was not called).
 */
struct dpop_seen *dpop_seen_process(void);
void		 dpop_seen_process_size(size_t workers);

#endif
