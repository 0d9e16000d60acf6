/* libFuzzer harness for the control protocol's request parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	char err[256];

	if (ctl_parse((const char *)data, size, &req, err, sizeof(err)) == 0) {
		if (req.argc < 0 || req.argc > CTL_ARGS_MAX)
			abort();
		for (int i = 0; i < req.argc; i++)
			if (req.argv[i] < req.buf || req.argv[i] >= req.buf + sizeof(req.buf))
				abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
	return 0;
}
