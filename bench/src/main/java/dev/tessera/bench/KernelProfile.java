package dev.tessera.bench;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.ops.MatMul;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Wraps every kernel of a training graph to sum the wall time spent per op type, so the
 * benchmark can say where a Tessera step's time goes. Only for the profile pass: the timer
 * calls add a little to every op.
 */
final class KernelProfile {
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
        long[] slot = nanosAndCalls.computeIfAbsent(type, t -> new long[2]);
        return (in, out, ctx) -> {
            long start = System.nanoTime();
            kernel.run(in, out, ctx);
            slot[0] += System.nanoTime() - start;
            slot[1]++;
        };
    }

    void reset() {
        nanosAndCalls.values().forEach(slot -> {
            slot[0] = 0;
            slot[1] = 0;
        });
    }

    /** Op types by total time, per step, largest first. */
    String report(int steps) {
        StringBuilder sb = new StringBuilder();
        long total = nanosAndCalls.values().stream().mapToLong(slot -> slot[0]).sum();
        nanosAndCalls.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> sb.append(String.format("  %-44s %8.2f ms/step  %5.1f%%  %5d calls/step%n", e.getKey(),
                        e.getValue()[0] / 1e6 / steps, 100.0 * e.getValue()[0] / total, e.getValue()[1] / steps)));
        sb.append(String.format("  %-44s %8.2f ms/step%n", "all kernels", total / 1e6 / steps));
        return sb.toString();
    }
}
