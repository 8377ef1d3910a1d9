package dev.tessera.bench;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.DType;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.MatMul;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every kernel but the matrix products (see {@link MatmulBenchmark}) of the PyTorch comparison's
 * models, timed alone on its real shapes: nanoseconds per output element and milliseconds per
 * training step (calls per step times the median call), largest first. Inputs are uniform in
 * [0.5, 1.5) (positive, so a reciprocal standard deviation or a norm is valid), integer inputs 0.
 * Times are this thread's CPU time, so a busy shared machine disturbs them less than wall time.
 * Arguments (optional): threads (1), models (mlp,gpt-addition,gpt-text), the text file of gpt-text.
 */
public final class KernelBenchmark {
    private static final int REPEATS = 7;
    /** CPU time of this thread: the kernels run on it (one compute thread), and other processes' load does not count. */
    private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();

    private KernelBenchmark() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        List<String> models = Arrays.asList((args.length > 1 ? args[1] : "mlp,gpt-addition,gpt-text").split(","));
        Path textFile = Path.of(args.length > 2 ? args[2] : "/usr/share/common-licenses/GPL-3");
        ComputeThreads.set(threads);
        for (String model : models) {
            PyTorchWorkload workload = PyTorchWorkload.named(model, textFile);
            report(workload.name(), workload.graph());
        }
    }

    private record Row(String name, double nanosPerElement, double millisPerStep) {
    }

    private static void report(String model, TrainingGraph graph) {
        Map<String, Op> distinct = new LinkedHashMap<>();
        Map<String, Integer> perStep = new LinkedHashMap<>();
        for (Op op : graph.ops()) {
            if (op.def() instanceof MatMul) {
                continue;
            }
            String key = op.def().type() + " " + op.inputTypes().stream().map(t -> t.shape().toString()).toList();
            distinct.putIfAbsent(key, op);
            perStep.merge(key, 1, Integer::sum);
        }
        KernelRegistry kernels = KernelRegistry.standard();
        KernelContext context = new KernelContext(1, 0);
        List<Row> rows = new java.util.ArrayList<>();
        double total = 0;
        for (Map.Entry<String, Op> e : distinct.entrySet()) {
            Op op = e.getValue();
            INDArray[] in = op.inputs().stream().map(KernelBenchmark::input).toArray(INDArray[]::new);
            INDArray[] out = op.outputs().stream().map(t -> Nd4j.create(dataType(t.dtype()), t.shape().toLongArray()))
                    .toArray(INDArray[]::new);
            // Mutated inputs (optimizer state, accumulators) are rewritten every call: time them on copies.
            Kernel kernel = kernels.create(op);
            long elements = 1;
            for (Tensor t : op.outputs().isEmpty() ? op.inputs() : op.outputs()) {
                elements = Math.max(elements, t.shape().size());
            }
            int calls = (int) Math.max(3, Math.min(500, 2e7 / elements));
            double micros = time(calls, () -> kernel.run(in, out, context));
            double perStepMillis = perStep.get(e.getKey()) * micros / 1e3;
            total += perStepMillis;
            rows.add(new Row(e.getKey() + " x" + perStep.get(e.getKey()), micros * 1e3 / elements, perStepMillis));
        }
        rows.sort((a, b) -> Double.compare(b.millisPerStep(), a.millisPerStep()));
        System.out.println();
        System.out.println(model + " (kernels alone, no matmul; ns per output element, ms per step):");
        for (Row r : rows) {
            System.out.printf("  %-90s %8.2f ns/el %8.3f ms/step%n", r.name(), r.nanosPerElement(), r.millisPerStep());
        }
        System.out.printf("  %-90s %8s       %8.3f ms/step%n", "all", "", total);
    }

    private static INDArray input(Tensor t) {
        if (t.dtype() == DType.I32) {
            return Nd4j.zeros(DataType.INT, t.shape().toLongArray());
        }
        return Nd4j.rand(dataType(t.dtype()), t.shape().toLongArray()).addi(0.5);
    }

    private static DataType dataType(DType dtype) {
        return switch (dtype) {
            case F32 -> DataType.FLOAT;
            case F64 -> DataType.DOUBLE;
            case I32 -> DataType.INT;
        };
    }

    private static double time(int calls, Runnable call) {
        // Warm up for at least half a second of CPU, so the JIT has compiled the loops even on a busy machine.
        long warm = THREAD.getCurrentThreadCpuTime();
        for (int i = 0; i < calls || THREAD.getCurrentThreadCpuTime() - warm < 500_000_000L; i++) {
            call.run();
        }
        double[] micros = new double[REPEATS];
        for (int r = 0; r < REPEATS; r++) {
            long start = THREAD.getCurrentThreadCpuTime();
            for (int i = 0; i < calls; i++) {
                call.run();
            }
            micros[r] = (THREAD.getCurrentThreadCpuTime() - start) / 1e3 / calls;
        }
        Arrays.sort(micros);
        return micros[REPEATS / 2];
    }
}
