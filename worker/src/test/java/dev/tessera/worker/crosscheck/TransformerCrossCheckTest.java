package dev.tessera.worker.crosscheck;

import static dev.tessera.worker.crosscheck.Agreement.assertGradientsAgree;
import static dev.tessera.worker.crosscheck.Agreement.assertLossAgrees;
import static dev.tessera.worker.crosscheck.Agreement.rowMajor;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A small GPT-style decoder (token and position embeddings, two pre-LayerNorm blocks of causal
 * multi-head attention and a GELU MLP, final LayerNorm, linear head, cross-entropy with ignored
 * targets) in Tessera and in SameDiff, from the same weights on the same batch: the loss and
 * the gradient of every parameter must agree. The Tessera side is the architecture of the GPT
 * example, built with the public GraphBuilder calls ({@code attention}, {@code layerNorm},
 * {@code gelu}, {@code embedding}, {@code crossEntropy}).
 */
class TransformerCrossCheckTest {
    private static final int BATCH = 3;
    private static final int TIME = 8;
    private static final int WIDTH = 16;
    private static final int HEADS = 2;
    private static final int LAYERS = 2;
    private static final int VOCABULARY = 13;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldMatchSameDiffLossAndEveryParameterGradient(DType dtype) {
        int[] tokens = new int[BATCH * TIME];
        int[] targets = new int[BATCH * TIME];
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(VOCABULARY);
            // Like the addition task, the prompt positions carry no target.
            targets[i] = i % TIME < 3 ? -1 : random.nextInt(VOCABULARY);
        }
        Map<String, HostTensor> batch = Map.of(
                "tokens", HostTensor.ofInts(Shape.of(BATCH, TIME), tokens),
                "targets", HostTensor.ofInts(Shape.of(BATCH, TIME), targets));

        try (ReferenceExecutor exec = new ReferenceExecutor(tesseraModel(dtype), 77)) {
            perturb(exec, dtype);
            Map<String, HostTensor> weights = exec.parameters();
            double tesseraLoss = exec.loss(List.of(batch));
            Map<String, HostTensor> tesseraGradients = exec.gradients(List.of(batch));

            SameDiffGpt reference = new SameDiffGpt(weights, dtype);
            SDVariable loss = reference.build(tokens, targets, BATCH, TIME, WIDTH, HEADS, LAYERS, VOCABULARY);
            reference.sameDiff().setLossVariables(loss.name());
            double referenceLoss = reference.sameDiff().output(Map.<String, INDArray>of(), loss.name())
                    .get(loss.name()).getDouble(0);
            Map<String, String> variables = reference.variableNames();
            Map<String, INDArray> computed = reference.sameDiff().calculateGradients(Map.of(),
                    variables.values().toArray(String[]::new));
            Map<String, double[]> referenceGradients = new LinkedHashMap<>();
            variables.forEach((parameter, variable) -> referenceGradients.put(parameter, rowMajor(computed.get(variable))));

            assertLossAgrees(tesseraLoss, referenceLoss, dtype);
            assertGradientsAgree(tesseraGradients, referenceGradients, dtype);
        }
    }

    /** The GPT example's architecture without dropout. */
    private static TrainingGraph tesseraModel(DType dtype) {
        GraphBuilder g = new GraphBuilder(dtype);
        Tensor tokens = g.input("tokens", DType.I32, BATCH, TIME);
        Tensor targets = g.input("targets", DType.I32, BATCH, TIME);
        Tensor x = g.embedding("token_embedding", tokens, VOCABULARY, WIDTH);
        Tensor positions;
        try (GraphBuilder.Scope s = g.scope("position_embedding")) {
            positions = g.parameter("weight", Initializer.normal(0.02), TIME, WIDTH);
        }
        x = g.reshape(g.biasAdd(g.reshape(x, BATCH, TIME * WIDTH), g.reshape(positions, TIME * WIDTH)),
                BATCH, TIME, WIDTH);
        for (int i = 0; i < LAYERS; i++) {
            try (GraphBuilder.Scope block = g.scope("block" + i)) {
                x = g.add(x, g.attention("attention", g.layerNorm("ln1", x), HEADS, true));
                Tensor hidden = g.gelu(g.linear("fc", g.layerNorm("ln2", x), 4 * WIDTH));
                x = g.add(x, g.linear("proj", hidden, WIDTH));
            }
        }
        Tensor logits = g.linear("head", g.layerNorm("ln_final", x), VOCABULARY);
        Tensor loss = g.crossEntropy(logits, targets);
        return Autodiff.build(g.build(), loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
    }

    /**
     * Moves every parameter off its initial value (layer-norm scales of exactly 1 and biases of
     * exactly 0 would leave parts of the gradients untested) and makes the embeddings large
     * enough that attention is far from uniform.
     */
    private static void perturb(ReferenceExecutor exec, DType dtype) {
        SplittableRandom random = new SplittableRandom(9);
        for (Map.Entry<String, HostTensor> e : exec.parameters().entrySet()) {
            double[] values = e.getValue().convert(DType.F64).doubles();
            double spread = e.getKey().endsWith("embedding.weight") ? 1.0 : 0.2;
            for (int i = 0; i < values.length; i++) {
                values[i] += spread * (2 * random.nextDouble() - 1);
            }
            exec.setParameter(e.getKey(), HostTensor.ofDoubles(e.getValue().shape(), values).convert(dtype));
        }
    }
}
