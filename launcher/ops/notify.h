/*
 * systemd notifications (sd_notify(3)): the only code that talks to
 * systemd.  Without NOTIFY_SOCKET, or when built without libsystemd, every
 * call does nothing.  NOTIFY_SOCKET is never unset here: the broker's
 * environment is where it is removed.
 */
#ifndef FL_NOTIFY_H
#define FL_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* Asks for usec more from now before systemd's stop timeout strikes. */
void notify_extend_timeout(uint64_t usec);
/* The watchdog interval for this process in usec, 0 when not enabled. */
uint64_t notify_watchdog_usec(void);

#endif
