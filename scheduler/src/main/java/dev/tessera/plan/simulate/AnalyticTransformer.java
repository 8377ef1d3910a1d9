package dev.tessera.plan.simulate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A LLaMa-like decoder-only transformer described in closed form, without building a graph: per layer
 * the FLOPs and bytes of every op of one micro-batch's forward (F), gradient w.r.t. inputs (B) and
 * gradient w.r.t. weights (W), and the bytes a micro-batch keeps alive. It lets the simulator predict a
 * 7B model on GPU profiles, where building and lowering the real graph would be pointless.
 *
 * <p>Notation: b = micro-batch size, s = sequence, T = b*s tokens, d = model width, f = FFN width, h =
 * heads, V = vocabulary, e = bytes per element. A matmul of an (m x k) by a (k x n) costs 2mkn FLOPs.
 * Per layer (pre-norm, RMSNorm, rotary embeddings, SwiGLU FFN = 3 matmuls, no biases):
 *
 * <ul>
 * <li>weighted matmuls, F: Q, K, V projections 3 * 2Td^2, output projection 2Td^2, gate and up 2 * 2Tdf,
 * down 2Tdf: 8Td^2 + 6Tdf. B (dX = dY W^T) costs the same, and so does W (dW = X^T dY);</li>
 * <li>attention matmuls, which have no weights: QK^T and AV over all h heads, 2bs^2d each, F = 4bs^2d
 * (the full s x s scores, no causal skipping). Their backward is all B: dQ, dK, dP and dV, 8bs^2d;</li>
 * <li>elementwise ops (RMSNorm, rotary, softmax, SwiGLU, residual adds) are charged by bytes read and
 * written (their FLOPs are a few per element, noted but never the bound on a GPU);</li>
 * <li>memory held per micro-batch, in elements: freed by W (the inputs of the weighted matmuls) 3Td + Tf;
 * freed by B (everything else the backward reads: layer input, Q, K, V, softmax probabilities, the
 * residual stream mid-layer, gate and up outputs) 5Td + 2Tf + bhs^2; and with a split backward, from B
 * to W, the output gradients of the weighted matmuls (dQ, dK, dV, d(output projection), d(gate), d(up),
 * d(down)) 5Td + 2Tf;</li>
 * <li>crossing a stage boundary: the residual stream, Td elements forward and its gradient back.</li>
 * </ul>
 *
 * The token embedding (a gather, its W a scatter-add of Td rows) is on the first stage; the final
 * RMSNorm, the LM head (2TdV for F, B and W each) and the softmax cross-entropy on the last.
 */
public record AnalyticTransformer(String name, int layers, int modelDim, int ffnDim, int heads, int vocabulary,
        int sequence, int microBatchSize, int bytesPerElement) {

    /** Which part of a micro-batch's step an op belongs to. */
    public enum Phase {
        FORWARD, INPUT_GRADIENT, WEIGHT_GRADIENT
    }

    /**
     * One op of the closed form.
     *
     * @param matmul whether it is a matmul (FLOP-bound); else elementwise (bytes-bound)
     * @param weighted for a matmul, whether one operand is a weight (attention's QK^T and AV are not)
     */
    public record AnalyticOp(String name, Phase phase, double flops, double bytes, boolean matmul, boolean weighted) {
    }

    public AnalyticTransformer {
        if (layers < 1 || modelDim < 1 || ffnDim < 1 || heads < 1 || vocabulary < 1 || sequence < 1
                || microBatchSize < 1 || bytesPerElement < 1 || modelDim % heads != 0) {
            throw new IllegalArgumentException("transformer " + name + ": sizes must be positive and the width "
                    + modelDim + " divisible by the " + heads + " heads");
        }
    }

    /**
     * LLaMa-7B's shape (Touvron et al. 2023): 32 layers, d = 4096, f = 11008, 32 heads, vocabulary 32000,
     * bf16 (2 bytes per element), with the given sequence length and micro-batch size.
     */
    public static AnalyticTransformer llama7b(int sequence, int microBatchSize) {
        return new AnalyticTransformer("llama-7b", 32, 4096, 11008, 32, 32000, sequence, microBatchSize, 2);
    }

    /** Parameters: per layer 4d^2 + 3df + 2d (norms), plus embedding and head Vd each and the final norm d. */
    public double parameters() {
        double d = modelDim;
        double f = ffnDim;
        return layers * (4 * d * d + 3 * d * f + 2 * d) + 2.0 * vocabulary * d + d;
    }

    private double tokens() {
        return (double) microBatchSize * sequence;
    }

    /** Elements of one head-stacked score matrix: b * h * s^2. */
    private double scores() {
        return (double) microBatchSize * heads * sequence * (double) sequence;
    }

    /** The ops of one layer for one micro-batch, F, then B, then W (see the class comment). */
    public List<AnalyticOp> layerOps() {
        double t = tokens();
        double d = modelDim;
        double f = ffnDim;
        double p = scores();
        double e = bytesPerElement;
        double attention = 2 * t * sequence * d; // one of QK^T or AV over all heads: 2 b s^2 d
        List<AnalyticOp> ops = new ArrayList<>();
        // forward
        ops.add(elementwise("rms_norm_1", Phase.FORWARD, 4 * t * d, 2 * t * d * e));
        ops.add(weighted("qkv_projection", Phase.FORWARD, 2 * t * d * 3 * d, (t * d + 3 * d * d + 3 * t * d) * e));
        ops.add(elementwise("rotary", Phase.FORWARD, 6 * t * d, 4 * t * d * e));
        ops.add(attention("scores_qk", Phase.FORWARD, attention, (2 * t * d + p) * e));
        ops.add(elementwise("softmax", Phase.FORWARD, 5 * p, 2 * p * e));
        ops.add(attention("probs_v", Phase.FORWARD, attention, (p + 2 * t * d) * e));
        ops.add(weighted("output_projection", Phase.FORWARD, 2 * t * d * d, (2 * t * d + d * d) * e));
        ops.add(elementwise("residual_1", Phase.FORWARD, t * d, 3 * t * d * e));
        ops.add(elementwise("rms_norm_2", Phase.FORWARD, 4 * t * d, 2 * t * d * e));
        ops.add(weighted("gate_up_projection", Phase.FORWARD, 2 * 2 * t * d * f, (t * d + 2 * d * f + 2 * t * f) * e));
        ops.add(elementwise("swiglu", Phase.FORWARD, 5 * t * f, 3 * t * f * e));
        ops.add(weighted("down_projection", Phase.FORWARD, 2 * t * f * d, (t * f + d * f + t * d) * e));
        ops.add(elementwise("residual_2", Phase.FORWARD, t * d, 3 * t * d * e));
        // gradient w.r.t. inputs: each weighted matmul's dX = dY W^T, both attention matmuls' operands
        ops.add(elementwise("residual_2_grad", Phase.INPUT_GRADIENT, t * d, 3 * t * d * e));
        ops.add(weighted("down_projection_grad_input", Phase.INPUT_GRADIENT, 2 * t * f * d, (t * d + d * f + t * f) * e));
        ops.add(elementwise("swiglu_grad", Phase.INPUT_GRADIENT, 10 * t * f, 5 * t * f * e));
        ops.add(weighted("gate_up_projection_grad_input", Phase.INPUT_GRADIENT, 2 * 2 * t * d * f,
                (2 * t * f + 2 * d * f + t * d) * e));
        ops.add(elementwise("rms_norm_2_grad", Phase.INPUT_GRADIENT, 8 * t * d, 3 * t * d * e));
        ops.add(elementwise("residual_1_grad", Phase.INPUT_GRADIENT, t * d, 3 * t * d * e));
        ops.add(weighted("output_projection_grad_input", Phase.INPUT_GRADIENT, 2 * t * d * d, (2 * t * d + d * d) * e));
        ops.add(attention("probs_v_grad", Phase.INPUT_GRADIENT, 2 * attention, (2 * p + 4 * t * d) * e));
        ops.add(elementwise("softmax_grad", Phase.INPUT_GRADIENT, 4 * p, 3 * p * e));
        ops.add(attention("scores_qk_grad", Phase.INPUT_GRADIENT, 2 * attention, (2 * p + 4 * t * d) * e));
        ops.add(elementwise("rotary_grad", Phase.INPUT_GRADIENT, 6 * t * d, 4 * t * d * e));
        ops.add(weighted("qkv_projection_grad_input", Phase.INPUT_GRADIENT, 2 * t * 3 * d * d,
                (3 * t * d + 3 * d * d + t * d) * e));
        ops.add(elementwise("rms_norm_1_grad", Phase.INPUT_GRADIENT, 8 * t * d, 3 * t * d * e));
        // gradient w.r.t. weights: each weighted matmul's dW = X^T dY, and the two norm scales
        ops.add(weighted("qkv_projection_grad_weight", Phase.WEIGHT_GRADIENT, 2 * t * d * 3 * d,
                (t * d + 3 * t * d + 3 * d * d) * e));
        ops.add(weighted("output_projection_grad_weight", Phase.WEIGHT_GRADIENT, 2 * t * d * d, (2 * t * d + d * d) * e));
        ops.add(weighted("gate_up_projection_grad_weight", Phase.WEIGHT_GRADIENT, 2 * 2 * t * d * f,
                (t * d + 2 * t * f + 2 * d * f) * e));
        ops.add(weighted("down_projection_grad_weight", Phase.WEIGHT_GRADIENT, 2 * t * f * d, (t * f + t * d + d * f) * e));
        ops.add(elementwise("rms_norm_scales_grad_weight", Phase.WEIGHT_GRADIENT, 4 * t * d, 4 * t * d * e));
        return ops;
    }

    /** The token embedding on the first stage: a gather forward, nothing to pass back, a scatter-add for W. */
    public List<AnalyticOp> embeddingOps() {
        double t = tokens();
        double e = bytesPerElement;
        return List.of(elementwise("embedding", Phase.FORWARD, 0, 2 * t * modelDim * e),
                elementwise("embedding_grad_weight", Phase.WEIGHT_GRADIENT, t * modelDim, 3 * t * modelDim * e));
    }

    /** Final norm, LM head and softmax cross-entropy on the last stage. */
    public List<AnalyticOp> headOps() {
        double t = tokens();
        double d = modelDim;
        double v = vocabulary;
        double e = bytesPerElement;
        return List.of(elementwise("rms_norm_final", Phase.FORWARD, 4 * t * d, 2 * t * d * e),
                weighted("lm_head", Phase.FORWARD, 2 * t * d * v, (t * d + d * v + t * v) * e),
                elementwise("softmax_cross_entropy", Phase.FORWARD, 5 * t * v, 2 * t * v * e),
                elementwise("softmax_cross_entropy_grad", Phase.INPUT_GRADIENT, 2 * t * v, 2 * t * v * e),
                weighted("lm_head_grad_input", Phase.INPUT_GRADIENT, 2 * t * v * d, (t * v + d * v + t * d) * e),
                elementwise("rms_norm_final_grad", Phase.INPUT_GRADIENT, 8 * t * d, 3 * t * d * e),
                weighted("lm_head_grad_weight", Phase.WEIGHT_GRADIENT, 2 * t * d * v, (t * d + t * v + d * v) * e));
    }

    /** Bytes that cross a stage boundary per micro-batch each way: the residual stream, T*d elements. */
    public double boundaryBytes() {
        return tokens() * modelDim * bytesPerElement;
    }

    /** Bytes of one layer a micro-batch holds from F until B: (5Td + 2Tf + bhs^2) e. */
    public double layerActivationBytes() {
        double t = tokens();
        return (5 * t * modelDim + 2 * t * ffnDim + scores()) * bytesPerElement;
    }

    /** Bytes of one layer a micro-batch holds from F until W, the weighted matmuls' inputs: (3Td + Tf) e. */
    public double layerWeightInputBytes() {
        double t = tokens();
        return (3 * t * modelDim + t * ffnDim) * bytesPerElement;
    }

    /** Bytes of one layer a split backward holds from B until W, the weighted matmuls' output gradients: (5Td + 2Tf) e. */
    public double layerGradientBytes() {
        double t = tokens();
        return (5 * t * modelDim + 2 * t * ffnDim) * bytesPerElement;
    }

    /** Layers per stage: as even as possible, the earlier stages taking one more where they do not divide. */
    public List<Integer> layersPerStage(int stages) {
        if (stages < 1 || stages > layers) {
            throw new IllegalArgumentException("transformer " + name + " has " + layers + " layers, so 1 to " + layers
                    + " pipeline stages, not " + stages);
        }
        List<Integer> counts = new ArrayList<>();
        for (int stage = 0; stage < stages; stage++) {
            counts.add(layers / stages + (stage < layers % stages ? 1 : 0));
        }
        return counts;
    }

    /** Every op of each stage for one micro-batch: the embedding on stage 0, the layers, the head on the last. */
    public List<List<AnalyticOp>> stageOps(int stages) {
        List<Integer> counts = layersPerStage(stages);
        List<AnalyticOp> layer = layerOps();
        List<List<AnalyticOp>> result = new ArrayList<>();
        for (int stage = 0; stage < stages; stage++) {
            List<AnalyticOp> ops = new ArrayList<>();
            if (stage == 0) {
                ops.addAll(embeddingOps());
            }
            for (int i = 0; i < counts.get(stage); i++) {
                ops.addAll(layer);
            }
            if (stage == stages - 1) {
                ops.addAll(headOps());
            }
            result.add(ops);
        }
        return result;
    }

    /**
     * The simulator's costs on {@code profile} with {@code stages} stages: per stage the roofline seconds
     * ({@link DeviceProfile#computeSeconds}) of its F, B and W ops, summed per op; each boundary's
     * transfer {@link #boundaryBytes()} over the profile's link; memory in bytes per micro-batch (the
     * stage's layers' {@link #layerActivationBytes()} freed at B, {@link #layerWeightInputBytes()}
     * freed at W, and {@link #layerGradientBytes()} held from B to W).
     */
    public CostModel costModel(DeviceProfile profile, int stages) {
        List<List<AnalyticOp>> perStage = stageOps(stages);
        List<Double> f = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        List<Double> w = new ArrayList<>();
        for (List<AnalyticOp> ops : perStage) {
            f.add(seconds(ops, Phase.FORWARD, profile));
            b.add(seconds(ops, Phase.INPUT_GRADIENT, profile));
            w.add(seconds(ops, Phase.WEIGHT_GRADIENT, profile));
        }
        List<Double> activation = new ArrayList<>();
        List<Double> weightInput = new ArrayList<>();
        List<Double> gradients = new ArrayList<>();
        for (int count : layersPerStage(stages)) {
            activation.add(count * layerActivationBytes());
            weightInput.add(count * layerWeightInputBytes());
            gradients.add(count * layerGradientBytes());
        }
        return new CostModel(f, b, w, profile.linkLatencySeconds(), profile.linkBytesPerSecond(),
                Collections.nCopies(stages - 1, boundaryBytes()), activation, weightInput, 0.0, gradients);
    }

    /** Sum of the FLOPs of {@code ops} in {@code phase}; {@code matmulOnly} keeps only the matmuls. */
    public static double flops(List<AnalyticOp> ops, Phase phase, boolean matmulOnly) {
        return ops.stream().filter(op -> op.phase() == phase && (!matmulOnly || op.matmul()))
                .mapToDouble(AnalyticOp::flops).sum();
    }

    /** Sum of each op's roofline time on {@code profile}. */
    public static double seconds(List<AnalyticOp> ops, Phase phase, DeviceProfile profile) {
        return ops.stream().filter(op -> op.phase() == phase)
                .mapToDouble(op -> profile.computeSeconds(op.flops(), op.bytes())).sum();
    }

    private static AnalyticOp weighted(String name, Phase phase, double flops, double bytes) {
        return new AnalyticOp(name, phase, flops, bytes, true, true);
    }

    private static AnalyticOp attention(String name, Phase phase, double flops, double bytes) {
        return new AnalyticOp(name, phase, flops, bytes, true, false);
    }

    private static AnalyticOp elementwise(String name, Phase phase, double flops, double bytes) {
        return new AnalyticOp(name, phase, flops, bytes, false, false);
    }
}
