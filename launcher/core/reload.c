/*
 * Reading a configuration again (see reload.h).
 */
#include "reload.h"

#include <string.h>

#include "command.h"
#include "log.h"
#include "settings.h"

extern char **environ;

int reload_prepare(const char *ini, const struct strlist *overrides, const struct config *running,
		   const struct auth_keys *keys, struct reload *r)
{
	struct command cmd;
	char err[2048];

	memset(r, 0, sizeof(*r));
	r->cfg = config_new();
	if (r->cfg == NULL || config_load(r->cfg, ini, overrides, environ) != 0) {
		for (size_t i = 0; r->cfg != NULL && i < r->cfg->errors.n; i++)
			log_err("%s", r->cfg->errors.v[i]);
		log_err("reload refused: the configuration is not valid; keeping the running one");
		goto refused;
	}
	/* first the running values of the keys a reload keeps, so that the
	 * checks below see what will run (the broker's CDS archive lives in
	 * the running state_dir) */
	if (settings_reload_keys(r->cfg, running, r->changed) != 0 || settings_supervisor(r->cfg, &r->sup) != 0 ||
	    settings_health(r->cfg, &r->health) != 0) {
		log_err("reload refused: out of memory; keeping the running configuration");
		goto refused;
	}
	if (supervisor_resolve_ready(&r->sup, err, sizeof(err)) != 0) {
		log_err("reload refused: %s; keeping the running configuration", err);
		goto refused;
	}
	if (command_build(r->cfg, environ, &cmd, err, sizeof(err)) != 0) {
		log_err("reload refused: %s; keeping the running configuration", err);
		goto refused;
	}
	command_free(&cmd);
	if (keys != NULL) {
		r->keys = *keys;
		if (auth_load(&r->keys, r->cfg->cluster_key_file, (int)r->cfg->cluster_key_id, err, sizeof(err)) != 0) {
			log_err("reload refused: %s; keeping the running configuration", err);
			goto refused;
		}
	}
	return 0;
refused:
	reload_free(r);
	return -1;
}

void reload_log_changes(const struct reload *r)
{
	for (int id = 0; id < CFG_COUNT; id++) {
		const struct cfg_desc *k = &cfg_table[id];

		if (!r->changed[id])
			continue;
		if (k->reload == CFG_RELOAD_RESTART)
			log_warn("reload: %s.%s changed: it takes effect after a restart; the running value is kept",
				 k->section, k->key);
		else
			log_info("reload: %s.%s changed: applied%s", k->section, k->key,
				 k->reload == CFG_RELOAD_START ? " from the broker's next start" : "");
	}
}

void reload_free(struct reload *r)
{
	config_free(r->cfg);
	r->cfg = NULL;
	sup_params_free(&r->sup);
	health_params_free(&r->health);
}
