/* Runs libapr's first CUDA kernel on a real device: n zeros, each +1, summed.
 * On a machine without a GPU it reports a TAP skip (the kernel is still
 * compiled and linked by every build that finds nvcc); on a machine whose
 * NVIDIA driver fails the device query it FAILS with the CUDA error, so a
 * broken GPU machine can never pass as "no GPU". */
#include <stdio.h>

#include "cuda/device_info.h"

int main(void) {
    int devices = 0;
    char error[256];
    if (apr_cuda_device_query(&devices, error, sizeof error) != 0) {
        fprintf(stderr, "*** FAILED: %s\n", error);
        printf("not ok 1 - the CUDA device query failed: %s\n1..1\n", error);
        return 1;
    }
    if (devices == 0) {
        fprintf(stderr, "*** SKIPPED: no CUDA device on this machine; the kernel was only compiled\n");
        printf("1..0 # SKIP no CUDA device\n");
        return 0;
    }
    int sum = -1;
    const int n = 1000;
    const int status = apr_cuda_smoke_test(n, &sum);
    printf("%s 1 - add_one kernel ran on one of %d device(s) (status %d)\n", status == 0 ? "ok" : "not ok", devices,
           status);
    printf("%s 2 - its %d outputs sum to %d (got %d)\n", sum == n ? "ok" : "not ok", n, n, sum);
    printf("1..2\n");
    return status == 0 && sum == n ? 0 : 1;
}
