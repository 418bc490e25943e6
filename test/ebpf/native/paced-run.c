// Runs a pinned XDP program on one frame with BPF_PROG_TEST_RUN, paced: one run every
// <spacing_us> microseconds on CLOCK_MONOTONIC (the clock bpf_ktime_get_ns reads), for
// <duration_ms>. Prints how many runs returned XDP_PASS and over how long, as JSON.
// A process spawn per packet (bpftool) is too slow for millisecond spacings.
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s <pinned prog> <frame file> <spacing_us> <duration_ms>\n", argv[0]);
		return 2;
	}
	int prog = bpf_obj_get(argv[1]);
	if (prog < 0) {
		fprintf(stderr, "bpf_obj_get %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	unsigned char frame[256];
	FILE *file = fopen(argv[2], "rb");
	size_t size = file ? fread(frame, 1, sizeof(frame), file) : 0;
	if (file)
		fclose(file);
	if (size == 0) {
		fprintf(stderr, "cannot read a frame from %s\n", argv[2]);
		return 1;
	}
	long long spacing = atoll(argv[3]) * 1000LL, duration = atoll(argv[4]) * 1000000LL;
	long long start = now_ns(), next = start;
	unsigned long runs = 0, passed = 0;
	while (next - start < duration) {
		struct timespec at = { .tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)size, .repeat = 1);
		if (bpf_prog_test_run_opts(prog, &opts) != 0) {
			fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			return 1;
		}
		runs++;
		passed += opts.retval == XDP_PASS;
		next += spacing;
	}
	printf("{\"runs\":%lu,\"passed\":%lu,\"elapsedNs\":%lld}\n", runs, passed, now_ns() - start);
	return 0;
}
