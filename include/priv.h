/*
 * priv: what the process gives up once it holds what it needed root for.
 *
 * tokend started as root with --user binds its sockets and loads its keys
 * and certificate as root, then calls priv_drop() in the main thread,
 * before any worker thread exists: from then on every thread runs as that
 * user, and files that SIGHUP reloads are read with its rights.
 */
#ifndef TOKEND_PRIV_H
#define TOKEND_PRIV_H

struct config;

/*
 * Make the process non-dumpable (PR_SET_DUMPABLE 0): no core file, and
 * no ptrace or /proc/PID/mem by another process of the same user, since
 * memory holds the signing keys. Returns 0, or -1 (logged).
 */
int	 priv_nodump(void);

/*
 * Switch to cfg->user when running as root: the user's supplementary
 * groups (initgroups), then its group, then its user id, each checked;
 * then check that root cannot be taken back (setuid(0) must fail) and
 * make the process non-dumpable again (the switch resets the flag).
 * Without --user, or when --user is the current user (config_parse()
 * refuses any other user without root), nothing changes.
 * Call from the main thread before any other thread starts.
 * Returns 0, or -1 with the failed step logged: the caller exits 1.
 */
int	 priv_drop(const struct config *cfg);

#endif
