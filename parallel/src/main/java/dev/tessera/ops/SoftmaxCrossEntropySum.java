package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.integer;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * Softmax and cross-entropy with integer labels, summed: inputs (logits [..., V] float, labels
 * [...] I32), outputs the scalar sum of {@code -log softmax(logits)[label]} over the counted
 * labels, and the probabilities [..., V] saved for backward so it need not recompute the
 * softmax. Negative labels are ignored (padding). A label of V or more is an error at run time.
 *
 * <p>The mean loss is this sum divided by {@link CountLabels} in {@link DivideByCount}, not
 * computed here: the mean divides by the global count of labels, so per-device means of split
 * rows would not sum to it (rows with 3 and 1 counted labels weigh 3/4 and 1/4 of the loss,
 * while summed per-device means weigh each device 1). A sum and a count of split rows are
 * partial sums, so every leading axis may be split: {@code [S(i), S(i)] -> [P, S(i)]}, and a
 * data-parallel plan need not gather the logits. The vocabulary axis stays whole (a row's
 * softmax needs all of it).
 */
public record SoftmaxCrossEntropySum() implements OpDef {

    @Override
    public String type() {
        return "softmax_cross_entropy_sum";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType logits = in.get(0);
        TensorType labels = in.get(1);
        floating(logits, "logits");
        integer(labels, "labels");
        require(logits.rank() >= 1, "logits must have a vocabulary axis");
        require(labels.shape().equals(logits.shape().dropLast()),
                "labels must have the shape of logits without the vocabulary axis, "
                        + logits.shape().dropLast() + ", got " + labels.shape());
        return List.of(new TensorType(Shape.scalar(), logits.dtype()), logits);
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(5 * n, 2 * n * in.get(0).dtype().bytes() + in.get(1).shape().size() * 4);
    }

    /** Rows split on any leading axis give a partial sum and split probabilities. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < in.get(0).rank() - 1; axis++) {
            Sbp s = Sbp.split(axis);
            sigs.add(SbpSignature.in(s, s).out(Sbp.partialSum(), s));
        }
        sigs.add(SbpSignature.uniform(2, 2, Sbp.broadcast()));
        return sigs;
    }

    @Override
    public boolean differentiable(int index) {
        return index == 0;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new SoftmaxCrossEntropySumGrad(), g.outputGrad(0), g.output(1), g.input(1)));
        }
    }
}
