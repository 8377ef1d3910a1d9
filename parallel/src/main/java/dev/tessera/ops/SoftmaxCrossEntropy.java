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
import java.util.List;

/**
 * Fused softmax and cross-entropy with integer labels: inputs (logits [..., V] float, labels
 * [...] I32), outputs the scalar mean loss {@code -log softmax(logits)[label]} over the counted
 * labels, and the probabilities [..., V] saved for backward so it need not recompute the
 * softmax. Negative labels are ignored (padding); if no label is counted the loss is 0. A label
 * of V or more is an error at run time.
 *
 * <p>The mean divides by the global count of labels, so splitting rows over devices would give
 * per-device means that do not sum to it: [S(0), S(0)] -> [P, S(0)] would be wrong (rows with
 * 3 and 1 counted labels weigh 3/4 and 1/4 of the loss, while per-device means summed weigh each
 * device 1). A row split needs the count carried beside the partial sum (or the op split into
 * a sum and a count), which changes the op; until then only the broadcast signature is declared
 * and a data-parallel plan all-gathers logits and labels before the loss, priced by the boxing
 * table like any other all-gather ((p-1)/p of the logits per device).
 */
public record SoftmaxCrossEntropy() implements OpDef {

    @Override
    public String type() {
        return "softmax_cross_entropy";
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

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return List.of(SbpSignature.uniform(2, 2, Sbp.broadcast()));
    }

    @Override
    public boolean differentiable(int index) {
        return index == 0;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new SoftmaxCrossEntropyGrad(), g.outputGrad(0), g.output(1), g.input(1)));
        }
    }
}
