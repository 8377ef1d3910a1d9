package dev.tessera.graph;

import dev.tessera.ops.Add;
import dev.tessera.ops.BiasAdd;
import dev.tessera.ops.Concat;
import dev.tessera.ops.CountLabels;
import dev.tessera.ops.DivideByCount;
import dev.tessera.ops.Dropout;
import dev.tessera.ops.Embedding;
import dev.tessera.ops.Gelu;
import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.MatMul;
import dev.tessera.ops.Mul;
import dev.tessera.ops.ReduceMean;
import dev.tessera.ops.ReduceSum;
import dev.tessera.ops.Relu;
import dev.tessera.ops.Reshape;
import dev.tessera.ops.Scale;
import dev.tessera.ops.Slice;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.SoftmaxCrossEntropySum;
import dev.tessera.ops.Tanh;
import dev.tessera.ops.Transpose;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Builds a {@link LogicalGraph} with calls that read like model code:
 *
 * <pre>{@code
 * GraphBuilder g = new GraphBuilder(DType.F32);
 * Tensor x = g.input("x", DType.F32, batch, 784);
 * Tensor labels = g.input("labels", DType.I32, batch);
 * Tensor h = g.relu(g.linear("fc1", x, 256));
 * Tensor loss = g.crossEntropy(g.linear("fc2", h, 10), labels);
 * LogicalGraph graph = g.build();
 * }</pre>
 *
 * Shapes are checked as each op is added; a mismatch throws {@link ShapeException} naming the op
 * and its inputs. Parameter names are prefixed by the open scopes ({@code block0.attn.qkv.weight}).
 */
public final class GraphBuilder {
    private final Graph graph = new Graph();
    private final DType floatType;
    private final List<Tensor> inputs = new ArrayList<>();
    private final List<Tensor> parameters = new ArrayList<>();
    private final Deque<String> scopes = new ArrayDeque<>();
    private final boolean training;

    /** @param floatType the dtype of parameters and activations: F32 to train, F64 for gradient checks */
    public GraphBuilder(DType floatType) {
        this(floatType, true);
    }

    private GraphBuilder(DType floatType, boolean training) {
        if (!floatType.isFloating()) {
            throw new IllegalArgumentException("graph float type must be F32 or F64, not " + floatType);
        }
        this.floatType = floatType;
        this.training = training;
    }

    /** A builder for evaluation graphs: training-only ops such as dropout become the identity. */
    public static GraphBuilder forInference(DType floatType) {
        return new GraphBuilder(floatType, false);
    }

    /** Whether this graph is for training (dropout active) rather than evaluation. */
    public boolean training() {
        return training;
    }

    public DType floatType() {
        return floatType;
    }

    /** Opens a name scope; close it (try-with-resources) to leave. */
    public Scope scope(String name) {
        scopes.addLast(name);
        return () -> scopes.removeLast();
    }

    /** A name scope, closed by try-with-resources. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** {@code base} prefixed with the open scopes. */
    public String scopedName(String base) {
        if (scopes.isEmpty()) {
            return base;
        }
        return String.join(".", scopes) + "." + base;
    }

    /** A data input fed each micro-batch. */
    public Tensor input(String name, DType dtype, int... dims) {
        Tensor t = graph.newTensor(name, Shape.of(dims), dtype, TensorKind.INPUT, null);
        inputs.add(t);
        return t;
    }

    /** A trainable parameter in the graph's float type, named within the open scopes. */
    public Tensor parameter(String name, Initializer init, int... dims) {
        Tensor t = graph.newTensor(scopedName(name), Shape.of(dims), floatType, TensorKind.PARAMETER, init);
        parameters.add(t);
        return t;
    }

    /** Adds an op with exactly one output and returns it. */
    public Tensor apply(OpDef def, Tensor... inputs) {
        List<Tensor> outs = applyAll(def, inputs);
        if (outs.size() != 1) {
            throw new IllegalArgumentException("op type '" + def.type() + "' has " + outs.size() + " outputs; use applyAll");
        }
        return outs.get(0);
    }

    /** Adds an op and returns all its outputs. */
    public List<Tensor> applyAll(OpDef def, Tensor... inputs) {
        return graph.addOp(scopedName(def.type()), def, List.of(inputs), Phase.FORWARD).outputs();
    }

    public LogicalGraph build() {
        return new LogicalGraph(graph, graph.ops(), inputs, parameters);
    }

    // ---- linear algebra ------------------------------------------------------------------

    /** Matrix product of the last two axes; leading axes are batch axes and must agree. */
    public Tensor matmul(Tensor a, Tensor b) {
        return apply(new MatMul(false, false), a, b);
    }

    public Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        return apply(new MatMul(transposeA, transposeB), a, b);
    }

    /** {@code x @ weight + bias} over the last axis, with weight [in, out] (Xavier) and bias [out] (zeros). */
    public Tensor linear(String name, Tensor x, int outFeatures) {
        return linear(name, x, outFeatures, true);
    }

    public Tensor linear(String name, Tensor x, int outFeatures, boolean bias) {
        int in = x.shape().dim(-1);
        try (Scope s = scope(name)) {
            Tensor w = parameter("weight", Initializer.xavier(in, outFeatures), in, outFeatures);
            Tensor y = matmulLastAxis(x, w);
            if (bias) {
                Tensor b = parameter("bias", Initializer.zeros(), outFeatures);
                y = biasAdd(y, b);
            }
            return y;
        }
    }

    /** Multiplies the last axis of {@code x} (any rank >= 2) by a [in, out] matrix. */
    private Tensor matmulLastAxis(Tensor x, Tensor w) {
        if (x.shape().rank() == 2) {
            return matmul(x, w);
        }
        Shape s = x.shape();
        Tensor flat = reshape(x, (int) s.rows(), s.dim(-1));
        Tensor y = matmul(flat, w);
        return reshape(y, s.with(-1, w.shape().dim(1)).toArray());
    }

    // ---- element-wise --------------------------------------------------------------------

    /** Element-wise sum of two tensors of the same shape. */
    public Tensor add(Tensor a, Tensor b) {
        return apply(new Add(), a, b);
    }

    /** Adds a vector to every row: {@code x[..., j] + bias[j]}. */
    public Tensor biasAdd(Tensor x, Tensor bias) {
        return apply(new BiasAdd(), x, bias);
    }

    // ---- element-wise, reductions, slicing (ops group A) ----

    /** Element-wise product of two tensors of the same shape. */
    public Tensor mul(Tensor a, Tensor b) {
        return apply(new Mul(), a, b);
    }

    /** {@code x * factor} for a constant factor. */
    public Tensor scale(Tensor x, double factor) {
        return apply(new Scale(factor), x);
    }

    public Tensor relu(Tensor x) {
        return apply(new Relu(), x);
    }

    /** GELU, tanh approximation. */
    public Tensor gelu(Tensor x) {
        return apply(new Gelu(), x);
    }

    public Tensor tanh(Tensor x) {
        return apply(new Tanh(), x);
    }

    /** Indices {@code [start, end)} of one axis (negative axis counts from the end), all of the others. */
    public Tensor slice(Tensor x, int axis, int start, int end) {
        return apply(new Slice(axis, start, end), x);
    }

    /** Joins tensors along one axis; every other axis must agree. */
    public Tensor concat(int axis, Tensor... parts) {
        return apply(new Concat(axis), parts);
    }

    /** Sum over one axis, which is removed. */
    public Tensor sum(Tensor x, int axis) {
        return apply(new ReduceSum(axis), x);
    }

    /** Mean over one axis, which is removed. */
    public Tensor mean(Tensor x, int axis) {
        return apply(new ReduceMean(axis), x);
    }

    /**
     * Inverted dropout with drop probability {@code p}; the mask depends only on {@code seed},
     * the iteration, the micro-batch and the element index. Give every dropout its own seed. In an
     * inference builder ({@link #forInference}) it is the identity and adds no op.
     */
    public Tensor dropout(Tensor x, double p, long seed) {
        if (!training) {
            return x;
        }
        return apply(new Dropout(p, seed), x);
    }

    // ---- shape ---------------------------------------------------------------------------

    public Tensor reshape(Tensor x, int... dims) {
        return apply(new Reshape(Shape.of(dims)), x);
    }

    /** Permutes axes: output axis i is input axis {@code permutation[i]}. */
    public Tensor transpose(Tensor x, int... permutation) {
        return apply(new Transpose(permutation), x);
    }

    // ---- normalization, attention, loss, embedding (ops group B) ----

    /** Softmax over the last axis. */
    public Tensor softmax(Tensor x) {
        return apply(new Softmax(false), x);
    }

    /** Softmax over the last axis of [..., T, T] scores where row i sees only columns j <= i. */
    public Tensor causalSoftmax(Tensor x) {
        return apply(new Softmax(true), x);
    }

    /** Layer normalization over the last axis with parameters {@code name.scale} (ones) and {@code name.bias} (zeros). */
    public Tensor layerNorm(String name, Tensor x) {
        int n = x.shape().dim(-1);
        try (Scope s = scope(name)) {
            Tensor scale = parameter("scale", Initializer.constant(1.0), n);
            Tensor bias = parameter("bias", Initializer.zeros(), n);
            return applyAll(new LayerNorm(1e-5), x, scale, bias).get(0);
        }
    }

    /**
     * Mean cross-entropy of softmax(logits) against integer labels; negative labels are ignored.
     * Labels either have the shape of logits without the last axis, or are flat with one label
     * per row of logits (then logits are flattened to [rows, V]).
     *
     * <p>Three ops: the summed loss, the count of labels, and their quotient (0 when no label is
     * counted). Apart, the sum and the count of rows split over devices are partial sums, so a
     * data-parallel plan keeps the logits split instead of gathering them for one fused mean.
     */
    public Tensor crossEntropy(Tensor logits, Tensor labels) {
        Shape s = logits.shape();
        if (s.rank() > 2 && labels.shape().rank() == 1 && labels.shape().dim(0) == s.rows()) {
            logits = reshape(logits, (int) s.rows(), s.dim(-1));
        }
        Tensor sum = applyAll(new SoftmaxCrossEntropySum(), logits, labels).get(0);
        Tensor count = apply(new CountLabels(logits.dtype()), labels);
        return apply(new DivideByCount(), sum, count);
    }

    /** Looks up rows of a [vocab, dim] table {@code name.weight} (Normal(0.02)): ids [...] -> [..., dim]. */
    public Tensor embedding(String name, Tensor ids, int vocab, int dim) {
        try (Scope s = scope(name)) {
            Tensor table = parameter("weight", Initializer.normal(0.02), vocab, dim);
            return apply(new Embedding(), table, ids);
        }
    }

    /**
     * Multi-head self-attention on x [B, T, D]: separate projections {@code name.q}, {@code name.k},
     * {@code name.v} (each [D, D]; q and v with bias, k without: a key bias adds the same
     * {@code q . b} to every score of a query, which the softmax cancels, so its gradient is zero in
     * exact arithmetic and only rounding noise in practice, noise an adaptive optimizer would
     * follow with full-sized steps), heads of size D / heads, {@code softmax(q k^T / sqrt(hd))}
     * (the 1/sqrt(hd) is the softmax's scale attribute, so no separate scaling pass), masked to
     * j <= i when causal, then the output projection {@code name.proj}.
     */
    public Tensor attention(String name, Tensor x, int heads, boolean causal) {
        Shape s = x.shape();
        if (s.rank() != 3) {
            throw new IllegalArgumentException("attention '" + name + "' needs x of shape [batch, time, model], got " + s);
        }
        int batch = s.dim(0);
        int time = s.dim(1);
        int model = s.dim(2);
        if (heads <= 0 || model % heads != 0) {
            throw new IllegalArgumentException("attention '" + name + "': model width " + model
                    + " is not divisible by " + heads + " heads; choose a head count that divides it");
        }
        int headDim = model / heads;
        try (Scope scope = scope(name)) {
            Tensor q = splitHeads(linear("q", x, model), heads);
            Tensor k = splitHeads(linear("k", x, model, false), heads);
            Tensor v = splitHeads(linear("v", x, model), heads);
            Tensor scores = matmul(q, k, false, true);
            Tensor probabilities = apply(new Softmax(causal, 1.0 / Math.sqrt(headDim)), scores);
            Tensor context = matmul(probabilities, v);
            Tensor merged = reshape(transpose(context, 0, 2, 1, 3), batch, time, model);
            return linear("proj", merged, model);
        }
    }

    /** [B, T, D] -> [B, H, T, D / H]. */
    private Tensor splitHeads(Tensor x, int heads) {
        Shape s = x.shape();
        return transpose(reshape(x, s.dim(0), s.dim(1), heads, s.dim(2) / heads), 0, 2, 1, 3);
    }
}
