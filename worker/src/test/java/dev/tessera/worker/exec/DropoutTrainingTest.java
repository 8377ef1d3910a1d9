package dev.tessera.worker.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.GradientCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Dropout inside training: a fresh mask per iteration and micro-batch, identical on resume. */
class DropoutTrainingTest {
    private static final Optimizer ADAMW = new Optimizer.AdamW(0.9, 0.99, 1e-8, 0.01);

    /** mean over rows of sum(gelu(dropout(linear(x))) * r) in F32, two micro-batches. */
    private static TrainingGraph model(double p, Optimizer optimizer) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 4, 6);
        Tensor r = g.input("r", DType.F32, 4, 8);
        Tensor h = g.dropout(g.gelu(g.linear("fc", x, 8)), p, 17);
        Tensor loss = g.mean(g.sum(g.mul(h, r), 1), 0);
        return Autodiff.build(g.build(), loss, new TrainingOptions(2, optimizer, 0));
    }

    private static Map<String, HostTensor> batch(long seed) {
        return Map.of("x", GradientCheck.random(Shape.of(4, 6), seed).convert(DType.F32),
                "r", GradientCheck.random(Shape.of(4, 8), seed + 50).convert(DType.F32));
    }

    private static List<Map<String, HostTensor>> microBatches(int step) {
        return List.of(batch(2L * step), batch(2L * step + 1));
    }

    @Test
    void shouldContinueBitForBitAfterRestoreWithDropout() {
        List<Double> uninterrupted = new ArrayList<>();
        Map<String, HostTensor> params;
        Map<String, HostTensor> state;
        Map<String, HostTensor> finalParams;
        try (ReferenceExecutor exec = new ReferenceExecutor(model(0.3, ADAMW), 9)) {
            for (int i = 0; i < 2; i++) {
                exec.step(microBatches(i), 0.05);
            }
            params = exec.parameters();
            state = exec.optimizerState();
            for (int i = 2; i < 5; i++) {
                uninterrupted.add(exec.step(microBatches(i), 0.05).loss());
            }
            finalParams = exec.parameters();
        }
        try (ReferenceExecutor resumed = new ReferenceExecutor(model(0.3, ADAMW), 1234)) {
            resumed.restore(params, state, 2);
            for (int i = 2; i < 5; i++) {
                assertEquals(uninterrupted.get(i - 2), resumed.step(microBatches(i), 0.05).loss(), 0.0, "step " + i);
            }
            for (String name : finalParams.keySet()) {
                assertArrayEquals(finalParams.get(name).floats(), resumed.parameters().get(name).floats(), 0f, name);
            }
        }
    }

    @Test
    void shouldDrawANewMaskEachIterationAndNoneWhenProbabilityIsZero() {
        Optimizer frozen = new Optimizer.Sgd(0, 0);
        List<Map<String, HostTensor>> same = microBatches(0);
        try (ReferenceExecutor dropping = new ReferenceExecutor(model(0.5, frozen), 3);
                ReferenceExecutor keeping = new ReferenceExecutor(model(0.0, frozen), 3)) {
            double first = dropping.step(same, 0.0).loss();
            double second = dropping.step(same, 0.0).loss();
            assertNotEquals(first, second, "weights are frozen, so only the mask can change the loss");
            assertEquals(keeping.step(same, 0.0).loss(), keeping.step(same, 0.0).loss(), 0.0);
        }
    }
}
