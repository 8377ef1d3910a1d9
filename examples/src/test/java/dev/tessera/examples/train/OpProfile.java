package dev.tessera.examples.train;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.api.ModelProvider;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Times every op type of one training iteration of a config's model, for tuning configs and
 * finding slow kernels: {@code OpProfile examples/configs/gpt-addition.conf [overrides...]}.
 */
public final class OpProfile {
    private OpProfile() {
    }

    public static void main(String[] args) {
        Config config = ConfigFactory.parseFile(new File(args[0]));
        for (int i = 1; i < args.length; i++) {
            config = ConfigFactory.parseString(args[i]).withFallback(config);
        }
        String type = config.getString("model.type");
        ModelProvider provider = ServiceLoader.load(ModelProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(type)).findFirst().orElseThrow();
        Model model = provider.create(config.withFallback(ConfigFactory.parseString(provider.referenceConfig())).resolve());
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph mg = model.build(g, config.getInt("train.batch_size"));
        TrainingGraph training = Autodiff.build(g.build(), mg.loss(),
                new TrainingOptions(1, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01), 1.0));
        KernelRegistry registry = KernelRegistry.standard();
        Map<Tensor, INDArray> buffers = new HashMap<>();
        Map<String, long[]> byType = new TreeMap<>();
        KernelContext context = new KernelContext(1, 0);
        int repeats = 20;
        long total = 0;
        for (Op op : training.ops()) {
            INDArray[] in = op.inputs().stream().map(t -> buffers.computeIfAbsent(t, OpProfile::allocate)).toArray(INDArray[]::new);
            INDArray[] out = op.outputs().stream().map(t -> buffers.computeIfAbsent(t, OpProfile::allocate)).toArray(INDArray[]::new);
            Kernel kernel = registry.create(op);
            kernel.run(in, out, context);
            long start = System.nanoTime();
            for (int r = 0; r < repeats; r++) {
                kernel.run(in, out, context);
            }
            long nanos = (System.nanoTime() - start) / repeats;
            total += nanos;
            long[] entry = byType.computeIfAbsent(op.def().type() + " [" + op.phase().letter() + "]", k -> new long[2]);
            entry[0]++;
            entry[1] += nanos;
            if (System.getProperty("profile.op") != null && op.def().type().equals(System.getProperty("profile.op"))) {
                System.out.printf("  %-40s %s -> %s %.3f ms%n", op.name(), op.inputTypes(), op.outputTypes(), nanos / 1e6);
            }
        }
        System.out.printf("%d ops, %.2f ms per iteration%n", training.ops().size(), total / 1e6);
        byType.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
                .forEach(e -> System.out.printf("%-36s %4d ops %8.3f ms%n", e.getKey(), e.getValue()[0], e.getValue()[1] / 1e6));
    }

    private static INDArray allocate(Tensor t) {
        DataType type = switch (t.dtype()) {
            case F32 -> DataType.FLOAT;
            case F64 -> DataType.DOUBLE;
            case I32 -> DataType.INT;
        };
        long[] shape = t.shape().toLongArray();
        INDArray a = shape.length == 0 ? Nd4j.scalar(type, 1) : Nd4j.zeros(type, shape);
        if (type != DataType.INT) {
            a.addi(0.01);
        }
        return a;
    }
}
