/*
 * priv: dropping root and the ability to dump core.
 *
 * The order is the one that works: supplementary groups and the group
 * while still root (afterwards they can no longer be changed), the user
 * id last. As root, setgid() and setuid() set the real, effective and
 * saved ids together, so nothing is left to switch back to; the switch is
 * verified by asking for root again. glibc applies set*id() to every
 * thread of the process, but the caller does not rely on that: no worker
 * thread exists yet.
 *
 * The user was looked up by config_parse() (an unknown name is a bad
 * setting, exit 2, before any socket is opened); here it is only used.
 */
#include <grp.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "priv.h"

int
priv_nodump(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_warn("event=nodump_failed");
		return -1;
	}
	return 0;
}

int
priv_drop(const struct config *cfg)
{
	uid_t	 uid = cfg->user_uid;
	gid_t	 gid = cfg->user_gid;

	if (cfg->user == NULL)
		return 0;
	if (geteuid() != 0 || uid == 0) {
		log_info("event=user user=%s uid=%u msg=\"already running as "
		    "this user\"", cfg->user, (unsigned)geteuid());
		return 0;
	}
	if (initgroups(cfg->user, gid) == -1) {
		log_warn("event=privdrop_failed step=initgroups user=%s",
		    cfg->user);
		return -1;
	}
	if (setgid(gid) == -1) {
		log_warn("event=privdrop_failed step=setgid user=%s gid=%u",
		    cfg->user, (unsigned)gid);
		return -1;
	}
	if (setuid(uid) == -1) {
		log_warn("event=privdrop_failed step=setuid user=%s uid=%u",
		    cfg->user, (unsigned)uid);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		log_error("event=privdrop_failed step=verify user=%s "
		    "msg=\"root can be taken back\"", cfg->user);
		return -1;
	}
	if (priv_nodump() == -1)
		return -1;
	log_info("event=privileges_dropped user=%s uid=%u gid=%u", cfg->user,
	    (unsigned)uid, (unsigned)gid);
	return 0;
}
