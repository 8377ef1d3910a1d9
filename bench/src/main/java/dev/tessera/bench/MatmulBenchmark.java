package dev.tessera.bench;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Shape;
import dev.tessera.ops.MatMul;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every matrix product of the PyTorch comparison's models (issue 12), by stored shapes and
 * transpose flags, timed three ways in one run: Tessera's matmul kernel as the executors call it
 * (C-ordered inputs, preallocated C-ordered output), one raw OpenBLAS {@code cblas_sgemm} per
 * matrix on the same buffers (the floor the kernel can reach with the BLAS it ships), and
 * PyTorch's {@code torch.matmul(..., out=)} on the same shapes (bench/pytorch/matmul_times.py,
 * a child process). Prints microseconds per call (median of 7 repeats; with one thread each
 * side's thread CPU time, which other processes disturb less, else wall time) and the calls per step,
 * so the table says which products cost a step the most and where Tessera loses.
 *
 * <p>Arguments: the Python with torch (bench/pytorch/run.sh makes one), then optionally threads
 * (1), the models (mlp,gpt-addition,gpt-text) and the text file of gpt-text.
 */
public final class MatmulBenchmark {
    private static final int REPEATS = 7;
    private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();
    private static boolean cpuTime;

    private MatmulBenchmark() {
    }

    /** One distinct product: stored shapes, flags, and how often a training step runs it. */
    private record Product(Shape a, Shape b, boolean transposeA, boolean transposeB, Op example) {
        long flops() {
            int r = a.rank();
            long m = a.dim(transposeA ? r - 1 : r - 2);
            long k = a.dim(transposeA ? r - 2 : r - 1);
            long n = b.dim(transposeB ? r - 2 : r - 1);
            return 2 * m * n * k * batch();
        }

        long batch() {
            long batch = 1;
            for (int i = 0; i < a.rank() - 2; i++) {
                batch *= a.dim(i);
            }
            return batch;
        }

        String key() {
            return dims(a) + " ; " + dims(b) + " ; " + transposeA + " " + transposeB;
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: MatmulBenchmark PYTHON [threads] [models] [text file]");
            System.exit(2);
        }
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        List<String> models = Arrays.asList((args.length > 2 ? args[2] : "mlp,gpt-addition,gpt-text").split(","));
        Path textFile = Path.of(args.length > 3 ? args[3] : "/usr/share/common-licenses/GPL-3");
        ComputeThreads.set(threads);
        cpuTime = threads == 1;
        System.out.println("Matrix products of the PyTorch comparison, " + threads + " thread(s), microseconds per "
                + "call (median of " + REPEATS + " repeats); BLAS " + Nd4j.factory().blas().getBlasVendor());
        Process python = new ProcessBuilder(args[0], "bench/pytorch/matmul_times.py", Integer.toString(threads))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (PrintWriter toTorch = new PrintWriter(python.getOutputStream(), true, StandardCharsets.UTF_8);
             BufferedReader fromTorch = new BufferedReader(
                     new InputStreamReader(python.getInputStream(), StandardCharsets.UTF_8))) {
            for (String model : models) {
                PyTorchWorkload workload = PyTorchWorkload.named(model, textFile);
                report(workload.name(), workload.graph(), toTorch, fromTorch);
            }
        } finally {
            python.destroy();
        }
    }

    private static void report(String model, TrainingGraph graph, PrintWriter toTorch, BufferedReader fromTorch)
            throws IOException {
        Map<String, Product> products = new LinkedHashMap<>();
        Map<String, Integer> perStep = new LinkedHashMap<>();
        for (Op op : graph.ops()) {
            if (op.def() instanceof MatMul mm) {
                Product p = new Product(op.input(0).shape(), op.input(1).shape(), mm.transposeA(), mm.transposeB(),
                        op);
                products.putIfAbsent(p.key(), p);
                perStep.merge(p.key(), 1, Integer::sum);
            }
        }
        System.out.println();
        System.out.println(model + ":");
        System.out.printf("  %-44s %5s %6s %10s %10s %10s %7s %7s%n", "A ; B ; transpose A, B", "calls", "GFLOP",
                "kernel us", "sgemm us", "torch us", "k/torch", "s/torch");
        double kernelTotal = 0;
        double blasTotal = 0;
        double torchTotal = 0;
        KernelRegistry kernels = KernelRegistry.standard();
        for (Product p : products.values()) {
            int calls = Math.max(3, (int) Math.min(200, 2e8 / p.flops()));
            INDArray a = Nd4j.rand(DataType.FLOAT, p.a().toLongArray()).subi(0.5);
            INDArray b = Nd4j.rand(DataType.FLOAT, p.b().toLongArray()).subi(0.5);
            INDArray out = Nd4j.create(DataType.FLOAT, p.example().output(0).shape().toLongArray());
            Kernel kernel = kernels.create(p.example());
            INDArray[] in = {a, b};
            INDArray[] outs = {out};
            KernelContext context = new KernelContext(0, 0);
            double kernelMicros = time(calls, () -> kernel.run(in, outs, context));
            double blasMicros = time(calls, () -> sgemm(p, a, b, out));
            toTorch.println(p.key() + " ; " + calls);
            String answer = fromTorch.readLine();
            if (answer == null) {
                throw new UncheckedIOException(new IOException("matmul_times.py ended early"));
            }
            double torchMicros = Double.parseDouble(answer.trim());
            int n = perStep.get(p.key());
            kernelTotal += n * kernelMicros;
            blasTotal += n * blasMicros;
            torchTotal += n * torchMicros;
            System.out.printf("  %-44s %5d %6.3f %10.1f %10.1f %10.1f %7.2f %7.2f%n", p.key(), n, p.flops() / 1e9,
                    kernelMicros, blasMicros, torchMicros, kernelMicros / torchMicros, blasMicros / torchMicros);
        }
        System.out.printf("  per step: kernel %.2f ms, sgemm %.2f ms, torch %.2f ms%n", kernelTotal / 1e3,
                blasTotal / 1e3, torchTotal / 1e3);
    }

    /** One row-major cblas_sgemm per matrix of the batch, straight on the arrays' buffers. */
    private static void sgemm(Product p, INDArray a, INDArray b, INDArray out) {
        int r = p.a().rank();
        int m = p.a().dim(p.transposeA() ? r - 1 : r - 2);
        int k = p.a().dim(p.transposeA() ? r - 2 : r - 1);
        int n = p.b().dim(p.transposeB() ? r - 2 : r - 1);
        FloatPointer pa = new FloatPointer(a.data().addressPointer());
        FloatPointer pb = new FloatPointer(b.data().addressPointer());
        FloatPointer pc = new FloatPointer(out.data().addressPointer());
        int lda = p.transposeA() ? m : k;
        int ldb = p.transposeB() ? k : n;
        for (long i = 0; i < p.batch(); i++) {
            openblas.cblas_sgemm(openblas.CblasRowMajor,
                    p.transposeA() ? openblas.CblasTrans : openblas.CblasNoTrans,
                    p.transposeB() ? openblas.CblasTrans : openblas.CblasNoTrans,
                    m, n, k, 1f, pa.position(i * m * k), lda, pb.position(i * k * n), ldb, 0f,
                    pc.position(i * m * n), n);
        }
    }

    private static double time(int calls, Runnable call) {
        for (int i = 0; i < calls; i++) {
            call.run();
        }
        double[] micros = new double[REPEATS];
        for (int r = 0; r < REPEATS; r++) {
            long start = now();
            for (int i = 0; i < calls; i++) {
                call.run();
            }
            micros[r] = (now() - start) / 1e3 / calls;
        }
        Arrays.sort(micros);
        return micros[REPEATS / 2];
    }

    /** With one thread this thread's CPU time (a busy machine disturbs it less), else wall time. */
    private static long now() {
        return cpuTime ? THREAD.getCurrentThreadCpuTime() : System.nanoTime();
    }

    private static String dims(Shape shape) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.rank(); i++) {
            sb.append(i == 0 ? "" : " ").append(shape.dim(i));
        }
        return sb.toString();
    }
}
