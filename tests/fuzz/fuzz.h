/* fuzz — what every libFuzzer target here shares.
 *
 * FUZZ_CHECK is an assert() that NDEBUG cannot remove: a broken invariant
 * aborts, and libFuzzer saves the input that did it.
 */
#ifndef SYNGUARD_FUZZ_H
#define SYNGUARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
