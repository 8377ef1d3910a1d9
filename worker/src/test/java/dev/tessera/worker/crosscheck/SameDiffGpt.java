package dev.tessera.worker.crosscheck;

import dev.tessera.graph.DType;
import dev.tessera.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The same decoder-only transformer as {@code TransformerCrossCheckTest#tesseraModel}, written
 * independently in SameDiff from its basic ops (matmul, softmax, exp, log, tanh,
 * mean, sqrt, broadcasting add/mul), so that nothing of Tessera's op definitions is reused.
 * Every SameDiff variable is created from the Tessera weight of the same name (dots become
 * underscores, which SameDiff's names keep free of scope syntax).
 */
final class SameDiffGpt {
    /** Large enough that exp underflows to exactly 0 in F32 and F64, like a masked entry. */
    private static final double MASKED = -1e9;
    private static final double LAYER_NORM_EPSILON = 1e-5;

    private final SameDiff sd = SameDiff.create();
    private final Map<String, HostTensor> weights;
    private final Map<String, String> variableNames = new LinkedHashMap<>();
    private final DType dtype;

    SameDiffGpt(Map<String, HostTensor> weights, DType dtype) {
        this.weights = weights;
        this.dtype = dtype;
    }

    /**
     * Builds the model and returns the loss; {@code tokens} and {@code targets} are [batch, time]
     * with targets < 0 ignored.
     */
    SDVariable build(int[] tokens, int[] targets, int batch, int time, int width, int heads, int layers,
            int vocabulary) {
        SDVariable x = embedding(tokens, vocabulary).reshape(batch, time, width);
        x = x.add(weight("position_embedding.weight"));
        SDVariable mask = sd.constant("causal_mask", causalMask(time));
        for (int i = 0; i < layers; i++) {
            String block = "block" + i + ".";
            SDVariable attended = attention(block + "attention.", layerNorm(block + "ln1.", x), mask, batch, time,
                    width, heads);
            x = x.add(attended);
            SDVariable hidden = gelu(linear(block + "fc.", layerNorm(block + "ln2.", x), batch * time, width));
            x = x.add(linear(block + "proj.", hidden, batch * time, 4 * width).reshape(batch, time, width));
        }
        SDVariable logits = linear("head.", layerNorm("ln_final.", x), batch * time, width);
        return crossEntropy(logits, targets, vocabulary);
    }

    SameDiff sameDiff() {
        return sd;
    }

    /** SameDiff variable name by Tessera parameter name, for every weight the model used. */
    Map<String, String> variableNames() {
        return variableNames;
    }

    private SDVariable weight(String name) {
        HostTensor value = weights.get(name);
        if (value == null) {
            throw new IllegalArgumentException("Tessera model has no parameter '" + name + "'; it has "
                    + weights.keySet());
        }
        String variable = name.replace('.', '_');
        variableNames.put(name, variable);
        return sd.var(variable, Agreement.array(value, dtype, value.shape().toLongArray()));
    }

    /**
     * Rows of the token table as {@code oneHot(tokens) @ table}. Not {@code sd.gather}: its
     * backward in 1.0.0-M2.1 writes, rather than adds, the gradient of a repeated id (ids
     * {0, 0, 1, 0} under a sum give row 0 a gradient of 1 instead of 3).
     */
    private SDVariable embedding(int[] tokens, int vocabulary) {
        double[] oneHot = new double[tokens.length * vocabulary];
        for (int row = 0; row < tokens.length; row++) {
            oneHot[row * vocabulary + tokens[row]] = 1;
        }
        SDVariable selection = sd.constant("token_one_hot",
                Nd4j.createFromArray(oneHot).castTo(Agreement.nd4jType(dtype)).reshape(tokens.length, vocabulary));
        return sd.mmul(selection, weight("token_embedding.weight"));
    }

    /** {@code x @ W + b} on [rows, in] (x of any shape holding rows * in elements). */
    private SDVariable linear(String prefix, SDVariable x, int rows, int in) {
        return linearWithoutBias(prefix, x, rows, in).add(weight(prefix + "bias"));
    }

    /** {@code x @ W}: the attention's key projection has no bias. */
    private SDVariable linearWithoutBias(String prefix, SDVariable x, int rows, int in) {
        return sd.mmul(x.reshape(rows, in), weight(prefix + "weight"));
    }

    /**
     * Biased variance, epsilon inside the square root, over the last axis of [batch, time, width].
     * The axis is written as 2: SameDiff 1.0.0-M2.1's keep-dims mean over axis -1 returns wrong
     * values for every row but the first.
     */
    private SDVariable layerNorm(String prefix, SDVariable x) {
        SDVariable centered = x.sub(x.mean(true, 2));
        SDVariable variance = centered.mul(centered).mean(true, 2);
        SDVariable normalized = centered.div(sd.math().sqrt(variance.add(LAYER_NORM_EPSILON)));
        return normalized.mul(weight(prefix + "scale")).add(weight(prefix + "bias"));
    }

    /** GELU, tanh approximation: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    private SDVariable gelu(SDVariable x) {
        SDVariable cubic = x.mul(x).mul(x).mul(0.044715);
        SDVariable inner = x.add(cubic).mul(Math.sqrt(2 / Math.PI));
        return x.mul(sd.math().tanh(inner).add(1.0)).mul(0.5);
    }

    private SDVariable attention(String prefix, SDVariable x, SDVariable mask, int batch, int time, int width,
            int heads) {
        int rows = batch * time;
        int headWidth = width / heads;
        SDVariable q = splitHeads(linear(prefix + "q.", x, rows, width), batch, time, heads, headWidth);
        SDVariable k = splitHeads(linearWithoutBias(prefix + "k.", x, rows, width), batch, time, heads, headWidth);
        SDVariable v = splitHeads(linear(prefix + "v.", x, rows, width), batch, time, heads, headWidth);
        SDVariable scores = sd.mmul(q, k, false, true, false).mul(1.0 / Math.sqrt(headWidth)).add(mask);
        SDVariable probabilities = sd.nn().softmax(scores, 3);
        SDVariable context = sd.mmul(probabilities, v).permute(0, 2, 1, 3).reshape(rows, width);
        return linear(prefix + "proj.", context, rows, width).reshape(batch, time, width);
    }

    /** [rows, width] -> [batch, heads, time, headWidth]. */
    private static SDVariable splitHeads(SDVariable x, int batch, int time, int heads, int headWidth) {
        return x.reshape(batch, time, heads, headWidth).permute(0, 2, 1, 3);
    }

    /** Mean of {@code -log softmax(logits)[target]} over the targets that are not negative. */
    private SDVariable crossEntropy(SDVariable logits, int[] targets, int vocabulary) {
        double[] oneHot = new double[targets.length * vocabulary];
        int counted = 0;
        for (int row = 0; row < targets.length; row++) {
            if (targets[row] >= 0) {
                oneHot[row * vocabulary + targets[row]] = 1;
                counted++;
            }
        }
        SDVariable picks = sd.constant("target_one_hot",
                Nd4j.createFromArray(oneHot).castTo(Agreement.nd4jType(dtype)).reshape(targets.length, vocabulary));
        // log softmax = logits - log(sum(exp(logits))). SameDiff's own LogSoftMax op with an axis
        // fails when calculateGradients clones the graph (its axis property cannot be restored);
        // the logits here are a few units at most, so exp cannot overflow without the usual shift.
        SDVariable logProbabilities = logits.sub(sd.math().log(sd.math().exp(logits).sum(true, 1)));
        return logProbabilities.mul(picks).sum().mul(-1.0 / counted);
    }

    /** [time, time]: 0 where column <= row, a large negative number above the diagonal. */
    private INDArray causalMask(int time) {
        double[] mask = new double[time * time];
        for (int row = 0; row < time; row++) {
            for (int column = row + 1; column < time; column++) {
                mask[row * time + column] = MASKED;
            }
        }
        return Nd4j.createFromArray(mask).castTo(Agreement.nd4jType(dtype)).reshape(time, time);
    }
}
