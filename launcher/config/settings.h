/*
 * From the configuration to each module's settings.  Modules never keep a
 * pointer to a configuration (a reload frees it): the daemon hands each one
 * its own settings by value, here, at start and again on every reload.
 * Which keys a reload may change is config.def's reload column.
 */
#ifndef FL_SETTINGS_H
#define FL_SETTINGS_H

#include "cache.h"
#include "config.h"
#include "election.h"
#include "health.h"
#include "http.h"
#include "mastership.h"
#include "supervisor.h"
#include "transport.h"

struct el_params settings_election(const struct config *c, const char *self);

struct ms_params settings_mastership(const struct config *c, const char *self);
void settings_cache(const struct config *c, struct cache_params *p);
/* 0, or -1 when a value does not fit (config_load refuses those first). */
int settings_transport(const struct config *c, struct transport_params *p);
/* 0, or -1 when out of memory (p is then empty). */
int settings_supervisor(const struct config *c, struct sup_params *p);

/* The HTTP endpoint: the address, and its fixed bounds. */
void settings_http(const struct config *c, struct http_params *p);

/* 0, or -1 when out of memory (p is then empty). */
int settings_health(const struct config *c, struct health_params *p);

/* A reload: changed[id] says whether key id differs in n from old; then
 * every key marked RESTART gets back its running value (and origin) from
 * old.  0, or -1 when out of memory. */
int settings_reload_keys(struct config *n, const struct config *old, unsigned char changed[CFG_COUNT]);

#endif
