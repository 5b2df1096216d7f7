/* TAP output shared by the C tests of the C ABI: one "ok N - what" line per
 * check (with the library's last error after a failure) and the plan at the
 * end. Include once per test program, after apr.h. */
#ifndef LIBAPR_TEST_TAP_H_INCLUDED
#define LIBAPR_TEST_TAP_H_INCLUDED

#include <stdio.h>

static int test_count = 0;
static int failures = 0;

static void check(int ok, const char* what) {
    ++test_count;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", test_count, what);
    if (!ok) {
        ++failures;
        printf("# last error: %s\n", apr_last_error());
    }
}

/* Prints the plan; the program's exit status. */
static int tap_done(void) {
    printf("1..%d\n", test_count);
    return failures == 0 ? 0 : 1;
}

#endif
