#!/usr/bin/env python3
"""PyTorch's side of dev.tessera.bench.MatmulBenchmark: times torch.matmul on given shapes.

Reads one product a line from stdin, "A_DIMS ; B_DIMS ; TRANSPOSE_A TRANSPOSE_B ; CALLS" (Tessera's
stored shapes; a transposed operand is used as the .mT view, as PyTorch's own backward does), and
answers each with the median microseconds per call of torch.matmul(a, b, out=c) over 7 repeats of
CALLS calls, after a warm-up (with one thread the thread's CPU time, else wall time). Float32,
torch.set_num_threads(THREADS) from argv[1].
"""

import statistics
import sys
import time

import torch


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    clock = time.thread_time_ns if threads == 1 else time.perf_counter_ns
    for line in sys.stdin:
        if not line.strip():
            continue
        a_dims, b_dims, flags, calls = [part.split() for part in line.split(";")]
        transpose_a, transpose_b = (flag == "true" for flag in flags)
        calls = int(calls[0])
        a = torch.randn([int(d) for d in a_dims])
        b = torch.randn([int(d) for d in b_dims])
        left = a.mT if transpose_a else a
        right = b.mT if transpose_b else b
        out = torch.matmul(left, right)
        for _ in range(calls):
            torch.matmul(left, right, out=out)
        times = []
        for _ in range(7):
            start = clock()
            for _ in range(calls):
                torch.matmul(left, right, out=out)
            times.append((clock() - start) / 1e3 / calls)
        print(f"{statistics.median(times):.2f}", flush=True)


if __name__ == "__main__":
    main()
