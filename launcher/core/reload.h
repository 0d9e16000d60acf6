/*
 * SIGHUP: the configuration read again and checked whole before anything
 * of it is applied.  A bad one is refused and the running one stays; what
 * a reload cannot change (config.def's reload column) keeps its running
 * value, and each changed key is logged with what becomes of it.
 */
#ifndef FL_RELOAD_H
#define FL_RELOAD_H

#include "auth.h"
#include "config.h"
#include "health.h"
#include "supervisor.h"

struct reload {
	struct config *cfg;       /* the new configuration (owned until taken) */
	struct sup_params sup;    /* the broker's settings from it */
	struct health_params health;
	struct auth_keys keys;    /* the key file read again (with cluster.auth = hmac) */
	unsigned char changed[CFG_COUNT];
};

/* 0 with *r ready to apply, or -1 with the reasons logged (nothing to
 * free then).  keys: the running keys, NULL without authentication. */
int reload_prepare(const char *ini, const struct strlist *overrides, const struct config *running,
		   const struct auth_keys *keys, struct reload *r);
/* One line per changed key, saying when it takes effect. */
void reload_log_changes(const struct reload *r);
void reload_free(struct reload *r);

#endif
