/*
 * sd_notify wrappers.  The status text is kept so that it is sent only when
 * it changes: the daemon can call notify_status() on every event.
 */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

static char last_status[256];

static void notify_send(const char *text)
{
#ifdef HAVE_SYSTEMD
	int r = sd_notify(0, text);
	if (r < 0)
		log_debug("sd_notify(%s) failed: %s", text, strerror(-r));
#else
	(void)text;
#endif
}

void notify_status(const char *status)
{
	char buf[300];

	if (strcmp(status, last_status) == 0)
		return;
	snprintf(last_status, sizeof(last_status), "%s", status);
	snprintf(buf, sizeof(buf), "STATUS=%s", status);
	notify_send(buf);
}

void notify_ready(const char *status)
{
	char buf[300];

	snprintf(last_status, sizeof(last_status), "%s", status);
	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status);
	notify_send(buf);
}

void notify_reloading(void) { notify_send("RELOADING=1"); }
void notify_stopping(void) { notify_send("STOPPING=1"); }
void notify_watchdog(void) { notify_send("WATCHDOG=1"); }

void notify_extend_timeout(uint64_t usec)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)usec);
	notify_send(buf);
}

uint64_t notify_watchdog_usec(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}
