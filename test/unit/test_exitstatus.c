/* Unit tests of the wait-status text: statuses built by hand as the
 * kernel encodes them (exit code << 8; signal; 0x80 for a core). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>

#include "exitstatus.h"

static void words(void **state)
{
	char b[128];
	(void)state;
	exitstatus_describe(0, b, sizeof(b));
	assert_string_equal(b, "exit status 0");
	exitstatus_describe(127 << 8, b, sizeof(b));
	assert_string_equal(b, "exit status 127");
	exitstatus_describe(143 << 8, b, sizeof(b));
	assert_string_equal(b, "exit status 143");
	exitstatus_describe(SIGKILL, b, sizeof(b));
	assert_string_equal(b, "killed by signal 9 (Killed)");
	exitstatus_describe(SIGSEGV | 0x80, b, sizeof(b));
	assert_string_equal(b, "killed by signal 11 (Segmentation fault), core dumped");
	/* stopped: not an exit, said as it is */
	exitstatus_describe(0x7f | SIGSTOP << 8, b, sizeof(b));
	assert_string_equal(b, "status 0x137f");
}

static void truncates_safely(void **state)
{
	char b[8];
	(void)state;
	memset(b, 'x', sizeof(b));
	exitstatus_describe(SIGTERM, b, sizeof(b));
	assert_string_equal(b, "killed ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(words),
		cmocka_unit_test(truncates_safely),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
