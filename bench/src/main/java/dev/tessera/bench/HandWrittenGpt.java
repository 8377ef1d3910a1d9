package dev.tessera.bench;

import dev.tessera.tensor.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LogSoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The floor for the GPT training step: the GPT example's math (token + position embedding,
 * pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, final LayerNorm, linear
 * head, mean cross-entropy over targets >= 0, global-norm clipping, AdamW with decay on matrices
 * only) written by hand with ND4J calls, no Tessera in the loop. Activations are [rows, width]
 * with rows = batch * time; attention works on [batch * heads, time, headWidth].
 *
 * <p>Parameters carry Tessera's names so both start from the same weights and their losses can
 * be compared before anything is timed.
 */
final class HandWrittenGpt {
    private static final double EPSILON = 1e-5;
    private static final double GELU_K = 2 * Math.sqrt(2 / Math.PI);
    private static final double GELU_A = 0.044715;

    private final int batch;
    private final int time;
    private final int width;
    private final int heads;
    private final int layers;
    private final int vocabulary;
    private final int rows;
    private final int headWidth;
    private final double beta1;
    private final double beta2;
    private final double adamEpsilon;
    private final double weightDecay;
    private final double clipNorm;
    /** Views into {@link #flatParameters}, by Tessera's names. */
    private final Map<String, INDArray> parameters = new LinkedHashMap<>();
    /** Views into {@link #flatGradients}, by Tessera's names. */
    private final Map<String, INDArray> gradients = new LinkedHashMap<>();
    // Every parameter, gradient and moment lives in one flat buffer (as DL4J keeps its
    // parameters), so clipping and AdamW are a dozen ND4J calls for the whole model.
    private final INDArray flatParameters;
    private final INDArray flatGradients;
    private final INDArray firstMoment;
    private final INDArray secondMoment;
    /** 1 for matrices (decayed), 0 for vectors, as Tessera decides. */
    private final INDArray decayMask;
    private final INDArray causalMask;
    private long step;

    /** Saved forward values of one LayerNorm: normalized input and 1/std per row. */
    private record NormCache(INDArray normalized, INDArray inverseStd) {
    }

    /** Saved forward values of one block. */
    private record BlockCache(INDArray input, NormCache norm1, INDArray h1, INDArray q, INDArray k, INDArray v,
            INDArray probabilities, INDArray context, INDArray middle, NormCache norm2, INDArray h2,
            INDArray preActivation, INDArray sigmoid, INDArray hidden) {
    }

    HandWrittenGpt(Map<String, HostTensor> initial, int batch, int time, int width, int heads, int layers,
            int vocabulary, double beta1, double beta2, double adamEpsilon, double weightDecay, double clipNorm) {
        this.batch = batch;
        this.time = time;
        this.width = width;
        this.heads = heads;
        this.layers = layers;
        this.vocabulary = vocabulary;
        this.rows = batch * time;
        this.headWidth = width / heads;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.adamEpsilon = adamEpsilon;
        this.weightDecay = weightDecay;
        this.clipNorm = clipNorm;
        long total = initial.values().stream().mapToLong(HostTensor::size).sum();
        flatParameters = Nd4j.zeros(DataType.FLOAT, total);
        flatGradients = Nd4j.zeros(DataType.FLOAT, total);
        firstMoment = Nd4j.zeros(DataType.FLOAT, total);
        secondMoment = Nd4j.zeros(DataType.FLOAT, total);
        float[] mask = new float[(int) total];
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : initial.entrySet()) {
            HostTensor value = e.getValue();
            long[] shape = value.shape().toLongArray();
            long end = offset + value.size();
            INDArray parameter = flatParameters.get(NDArrayIndex.interval(offset, end)).reshape('c', shape);
            parameter.assign(Nd4j.createFromArray(value.floats()).reshape('c', shape));
            parameters.put(e.getKey(), parameter);
            gradients.put(e.getKey(), flatGradients.get(NDArrayIndex.interval(offset, end)).reshape('c', shape));
            if (shape.length >= 2) {
                Arrays.fill(mask, (int) offset, (int) end, 1f);
            }
            offset = end;
        }
        decayMask = Nd4j.createFromArray(mask);
        if (Math.abs(flatParameters.sumNumber().doubleValue() - parameters.values().stream()
                .mapToDouble(v -> v.sumNumber().doubleValue()).sum()) > 1e-3) {
            throw new IllegalStateException("parameter views do not share the flat buffer");
        }
        float[] causal = new float[time * time];
        for (int i = 0; i < time; i++) {
            for (int j = i + 1; j < time; j++) {
                causal[i * time + j] = -1e9f;
            }
        }
        causalMask = Nd4j.createFromArray(causal).reshape(1, time * time);
    }

    /** One training step on tokens and targets ([batch, time] row-major); returns the loss before the update. */
    double step(int[] tokens, int[] targets, double learningRate) {
        flatGradients.assign(0);
        INDArray tokenOneHot = oneHot(tokens);
        INDArray x = tokenOneHot.mmul(p("token_embedding.weight"));
        x.reshape(batch, time * width).addiRowVector(p("position_embedding.weight").reshape(1, time * width));
        List<BlockCache> caches = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            BlockCache cache = blockForward("block" + i + ".", x);
            caches.add(cache);
            x = cache.middle().add(linear("block" + i + ".proj.", cache.hidden()));
        }
        NormCache finalNorm = normalize(x);
        INDArray hf = affine("ln_final.", finalNorm);
        INDArray logits = linear("head.", hf);
        INDArray logProbabilities = Nd4j.exec(new LogSoftMax(logits, 1))[0];

        // Ignored targets (< 0) get an all-zero one-hot row: no loss and no gradient.
        INDArray targetOneHot = oneHot(targets);
        long counted = Arrays.stream(targets).filter(t -> t >= 0).count();
        double scale = 1.0 / Math.max(counted, 1);
        double loss = -logProbabilities.mul(targetOneHot).sumNumber().doubleValue() * scale;
        INDArray keep = targetOneHot.sum(1).reshape(rows, 1);
        INDArray dLogits = Transforms.exp(logProbabilities, false).subi(targetOneHot).muliColumnVector(keep).muli(scale);

        INDArray dx = affineBackward("ln_final.", finalNorm, linearBackward("head.", hf, dLogits));
        for (int i = layers - 1; i >= 0; i--) {
            dx = blockBackward("block" + i + ".", caches.get(i), dx);
        }
        Nd4j.gemm(tokenOneHot, dx, gradient("token_embedding.weight"), true, false, 1.0, 0.0);
        gradient("position_embedding.weight").assign(dx.reshape(batch, time * width).sum(0).reshape(time, width));
        update(learningRate);
        return loss;
    }

    /** [rows, vocabulary] with a 1 at each id >= 0, built on the heap and copied once. */
    private INDArray oneHot(int[] ids) {
        float[] values = new float[rows * vocabulary];
        for (int r = 0; r < rows; r++) {
            if (ids[r] >= 0) {
                values[r * vocabulary + ids[r]] = 1f;
            }
        }
        return Nd4j.createFromArray(values).reshape(rows, vocabulary);
    }

    private BlockCache blockForward(String prefix, INDArray x) {
        NormCache norm1 = normalize(x);
        INDArray h1 = affine(prefix + "ln1.", norm1);
        INDArray q = splitHeads(linear(prefix + "attention.q.", h1));
        INDArray k = splitHeads(linear(prefix + "attention.k.", h1));
        INDArray v = splitHeads(linear(prefix + "attention.v.", h1));
        INDArray scores = Nd4j.matmul(q, k, null, false, true, false).muli(1.0 / Math.sqrt(headWidth));
        scores.reshape(batch * heads, time * time).addiRowVector(causalMask);
        Nd4j.exec(new SoftMax(scores, scores, 2));
        INDArray context = mergeHeads(Nd4j.matmul(scores, v));
        INDArray middle = x.add(linear(prefix + "attention.proj.", context));
        NormCache norm2 = normalize(middle);
        INDArray h2 = affine(prefix + "ln2.", norm2);
        INDArray pre = linear(prefix + "fc.", h2);
        INDArray cubic = pre.mul(pre).muli(pre).muli(GELU_A);
        INDArray sigmoid = Transforms.sigmoid(cubic.addi(pre).muli(GELU_K), false);
        INDArray hidden = pre.mul(sigmoid);
        return new BlockCache(x, norm1, h1, q, k, v, scores, context, middle, norm2, h2, pre, sigmoid, hidden);
    }

    /** Gradient of the block's output with respect to its input, accumulating its weights' gradients. */
    private INDArray blockBackward(String prefix, BlockCache c, INDArray dOut) {
        INDArray dHidden = linearBackward(prefix + "proj.", c.hidden(), dOut);
        // gelu'(x) = s + x s (1 - s) K (1 + 3 A x^2), s = sigmoid(K (x + A x^3))
        INDArray pre = c.preActivation();
        INDArray s = c.sigmoid();
        INDArray slope = pre.mul(pre).muli(3 * GELU_A).addi(1).muli(GELU_K).muli(pre).muli(s).muli(s.rsub(1)).addi(s);
        INDArray dMiddle = affineBackward(prefix + "ln2.", c.norm2(),
                linearBackward(prefix + "fc.", c.h2(), dHidden.muli(slope))).addi(dOut);

        INDArray dContext = splitHeads(linearBackward(prefix + "attention.proj.", c.context(), dMiddle));
        INDArray probabilities = c.probabilities();
        INDArray dProbabilities = Nd4j.matmul(dContext, c.v(), null, false, true, false);
        INDArray dv = Nd4j.matmul(probabilities, dContext, null, true, false, false);
        INDArray p2 = probabilities.reshape(batch * heads * time, time);
        INDArray dp2 = dProbabilities.reshape(batch * heads * time, time);
        INDArray rowDot = dp2.mul(p2).sum(1).reshape(batch * heads * time, 1);
        dp2.subiColumnVector(rowDot).muli(p2).muli(1.0 / Math.sqrt(headWidth));
        INDArray dq = Nd4j.matmul(dProbabilities, c.k());
        INDArray dk = Nd4j.matmul(dProbabilities, c.q(), null, true, false, false);
        INDArray dH1 = linearBackward(prefix + "attention.q.", c.h1(), mergeHeads(dq))
                .addi(linearBackward(prefix + "attention.k.", c.h1(), mergeHeads(dk)))
                .addi(linearBackward(prefix + "attention.v.", c.h1(), mergeHeads(dv)));
        return affineBackward(prefix + "ln1.", c.norm1(), dH1).addi(dMiddle);
    }

    /** [rows, width] -> [batch * heads, time, headWidth]. */
    private INDArray splitHeads(INDArray x) {
        return x.reshape(batch, time, heads, headWidth).permute(0, 2, 1, 3).dup('c')
                .reshape(batch * heads, time, headWidth);
    }

    /** [batch * heads, time, headWidth] -> [rows, width]. */
    private INDArray mergeHeads(INDArray x) {
        return x.reshape(batch, heads, time, headWidth).permute(0, 2, 1, 3).dup('c').reshape(rows, width);
    }

    private INDArray linear(String prefix, INDArray x) {
        return x.mmul(p(prefix + "weight")).addiRowVector(p(prefix + "bias"));
    }

    /** Accumulates the weight and bias gradients; returns the input gradient. */
    private INDArray linearBackward(String prefix, INDArray x, INDArray dy) {
        Nd4j.gemm(x, dy, gradient(prefix + "weight"), true, false, 1.0, 0.0);
        gradient(prefix + "bias").assign(dy.sum(0));
        return Nd4j.gemm(dy, p(prefix + "weight"), false, true);
    }

    /** Normalizes each row: biased variance, epsilon inside the square root. */
    private static NormCache normalize(INDArray x) {
        long n = x.size(0);
        INDArray centered = x.subColumnVector(x.mean(1).reshape(n, 1));
        INDArray variance = centered.mul(centered).mean(1).reshape(n, 1);
        INDArray inverseStd = Transforms.pow(variance.addi(EPSILON), -0.5, false);
        return new NormCache(centered.muliColumnVector(inverseStd), inverseStd);
    }

    private INDArray affine(String prefix, NormCache norm) {
        return norm.normalized().mulRowVector(p(prefix + "scale")).addiRowVector(p(prefix + "bias"));
    }

    private INDArray affineBackward(String prefix, NormCache norm, INDArray dy) {
        INDArray xhat = norm.normalized();
        gradient(prefix + "scale").assign(dy.mul(xhat).sum(0));
        gradient(prefix + "bias").assign(dy.sum(0));
        long n = dy.size(0);
        INDArray dxhat = dy.mulRowVector(p(prefix + "scale"));
        INDArray meanDxhat = dxhat.mean(1).reshape(n, 1);
        INDArray meanDxhatXhat = dxhat.mul(xhat).mean(1).reshape(n, 1);
        return dxhat.subiColumnVector(meanDxhat).subi(xhat.mulColumnVector(meanDxhatXhat)).muliColumnVector(norm.inverseStd());
    }

    /** The gradient view of a parameter; every parameter's gradient is written exactly once per step. */
    private INDArray gradient(String name) {
        p(name);
        return gradients.get(name);
    }

    /** Global-norm clipping, then AdamW; weight decay only on matrices, as Tessera does. */
    private void update(double learningRate) {
        double norm = flatGradients.norm2Number().doubleValue();
        if (clipNorm > 0 && norm > clipNorm) {
            flatGradients.muli(clipNorm / (norm + 1e-6));
        }
        step++;
        double c1 = 1 - Math.pow(beta1, step);
        double c2 = 1 - Math.pow(beta2, step);
        INDArray g = flatGradients;
        firstMoment.muli(beta1).addi(g.mul(1 - beta1));
        secondMoment.muli(beta2).addi(g.muli(g).muli(1 - beta2));
        INDArray denominator = Transforms.sqrt(secondMoment.div(c2), false).addi(adamEpsilon);
        INDArray change = firstMoment.div(denominator).muli(1 / c1);
        if (weightDecay > 0) {
            change.addi(flatParameters.mul(decayMask).muli(weightDecay));
        }
        flatParameters.subi(change.muli(learningRate));
    }

    private INDArray p(String name) {
        INDArray value = parameters.get(name);
        if (value == null) {
            throw new IllegalArgumentException("hand-written GPT has no parameter '" + name + "'; the Tessera model has "
                    + parameters.keySet());
        }
        return value;
    }
}
