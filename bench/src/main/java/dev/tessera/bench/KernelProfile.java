package dev.tessera.bench;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.ops.MatMul;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Wraps every kernel of a training graph to sum the wall time and the device thread's CPU time
 * spent per op type, so the benchmark can say where a Tessera step's time goes. Wall time above
 * CPU time is time the thread was not running (other processes on a busy machine), so CPU time is
 * the figure to compare with a kernel timed alone. Only for the profile pass: the timer calls
 * (about a microsecond for the CPU clock) add a little to every op.
 */
final class KernelProfile {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** Per op type: wall nanoseconds, CPU nanoseconds, calls. */
    private final Map<String, long[]> nanosAndCalls = new HashMap<>();

    /** A registry with the standard kernels of every op type in {@code graph}, timed. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    KernelRegistry registry(TrainingGraph graph) {
        KernelRegistry standard = KernelRegistry.standard();
        KernelRegistry timed = new KernelRegistry();
        Set<Class<?>> seen = new HashSet<>();
        for (Op op : graph.ops()) {
            Class<? extends OpDef> type = op.def().getClass();
            if (seen.add(type)) {
                timed.register((Class) type, (def, o) -> timed(key((Op) o), standard.create((Op) o)));
            }
        }
        return timed;
    }

    /** The op type, and for a matrix product its stored shapes and transpose flags. */
    private static String key(Op op) {
        if (op.def() instanceof MatMul mm) {
            return "matmul " + op.input(0).shape() + (mm.transposeA() ? "T" : "") + " " + op.input(1).shape()
                    + (mm.transposeB() ? "T" : "");
        }
        return op.def().type();
    }

    private Kernel timed(String type, Kernel kernel) {
        long[] slot = nanosAndCalls.computeIfAbsent(type, t -> new long[3]);
        return (in, out, ctx) -> {
            long cpu = THREADS.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            kernel.run(in, out, ctx);
            slot[0] += System.nanoTime() - start;
            slot[1] += THREADS.getCurrentThreadCpuTime() - cpu;
            slot[2]++;
        };
    }

    void reset() {
        nanosAndCalls.values().forEach(slot -> {
            Arrays.fill(slot, 0);
        });
    }

    /** Op types by total wall time, per step, largest first, each with its CPU time. */
    String report(int steps) {
        StringBuilder sb = new StringBuilder();
        long total = nanosAndCalls.values().stream().mapToLong(slot -> slot[0]).sum();
        long totalCpu = nanosAndCalls.values().stream().mapToLong(slot -> slot[1]).sum();
        nanosAndCalls.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> sb.append(String.format("  %-44s %8.2f ms/step (CPU %6.2f)  %5.1f%%  %5d calls/step%n",
                        e.getKey(), e.getValue()[0] / 1e6 / steps, e.getValue()[1] / 1e6 / steps,
                        100.0 * e.getValue()[0] / total, e.getValue()[2] / steps)));
        sb.append(String.format("  %-44s %8.2f ms/step (CPU %6.2f)%n", "all kernels", total / 1e6 / steps,
                totalCpu / 1e6 / steps));
        return sb.toString();
    }
}
