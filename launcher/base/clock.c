/*
 * Reading the clocks; nothing else.
 */
#include "clock.h"

#include <time.h>

static uint64_t ms_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

uint64_t clock_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

static uint64_t us_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t clock_sleep_noise_us(int n)
{
	const struct timespec ms = {0, 1000000};
	uint64_t worst = 0;

	for (int i = 0; i < n; i++) {
		uint64_t t0 = us_now(), late;
		nanosleep(&ms, NULL);
		late = us_now() - t0;
		late = late > 1000 ? late - 1000 : 0;
		if (late > worst)
			worst = late;
	}
	return worst;
}
