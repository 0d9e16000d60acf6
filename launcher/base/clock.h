/*
 * The two clocks of the launcher, in milliseconds.  Monotonic time for every
 * deadline, age and interval (it never jumps); wall-clock time only where a
 * date is the point: cache versions and expiry (compared across nodes), boot
 * ids, log text.
 */
#ifndef FL_CLOCK_H
#define FL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ms: since some unspecified start, never backwards. */
uint64_t clock_mono_ms(void);
/* CLOCK_REALTIME in ms since the epoch: may jump when the clock is set. */
uint64_t clock_wall_ms(void);
/* How late this process wakes from a 1 ms sleep, the worst of n tries, in
 * microseconds: the scheduling noise a timer of ours sees now (n ms at
 * least; for start-up, not for the event loop). */
uint64_t clock_sleep_noise_us(int n);

#endif
