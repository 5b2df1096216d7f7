/* The C ABI exercised from C11, linked against the shared libapr. Prints TAP. */
#include <stdio.h>
#include <string.h>

#include "apr.h"

static int test_count = 0;
static int failures = 0;

static void check(int ok, const char* what) {
    ++test_count;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", test_count, what);
    if (!ok) ++failures;
}

int main(void) {
    check(apr_version_number() == APR_VERSION_NUMBER, "run-time version matches the header");
    check(strcmp(apr_status_str(APR_OK), "ok") == 0, "apr_status_str names APR_OK");
    check(strcmp(apr_last_error(), "") == 0, "no error before any call");
    check(strstr(apr_build_info(), "libapr") != NULL, "build info names the library");
    printf("1..%d\n", test_count);
    return failures == 0 ? 0 : 1;
}
