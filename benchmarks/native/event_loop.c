/* The minimal cost of one synaptic event on this machine: for each event, read its weight and
 * target and add the weight to the target's input (random targets, as in a network whose spikes
 * fan out to many neurons). Prints nanoseconds per event. Used by benchmarks/speed.py as the lower
 * bound of an event-driven simulation: synaptic events x this cost. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    long n_events = argc > 1 ? atol(argv[1]) : 50000000L;
    long n_targets = argc > 2 ? atol(argv[2]) : 1000000L;
    int32_t *target = malloc(n_events * sizeof(int32_t));
    double *weight = malloc(n_events * sizeof(double));
    double *input = calloc(n_targets, sizeof(double));
    uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < n_events; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        target[i] = (int32_t)(x % (uint64_t)n_targets);
        weight[i] = (double)(x >> 11) * 0x1.0p-53;
    }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (long i = 0; i < n_events; i++) input[target[i]] += weight[i];
        double t = now() - t0;
        if (t < best) best = t;
    }
    double checksum = 0;
    for (long j = 0; j < n_targets; j++) checksum += input[j];
    printf("%.4f %.6g\n", 1e9 * best / n_events, checksum);
    return 0;
}
