package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * A mean from a sum and a count: inputs (sum [] float, count [] of the same dtype), output
 * {@code sum / count}, or 0 when the count is 0 (a batch whose labels are all ignored has loss
 * 0, not NaN). The count is a constant of the data, so only the sum is differentiable, and
 * the gradient is this op again: {@code dSum = dMean / count}, 0 when the count is 0.
 */
public record DivideByCount() implements OpDef {

    @Override
    public String type() {
        return "divide_by_count";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType sum = in.get(0);
        floating(sum, "sum");
        require(sum.rank() == 0, "sum must be a scalar, got " + sum.shape());
        require(in.get(1).equals(sum), "count must be a scalar of dtype " + sum.dtype() + ", got " + in.get(1));
        return List.of(sum);
    }

    /**
     * Broadcast only, though the op is linear in the sum ({@code [P, B] -> [P]} would be valid):
     * the mean is usually the loss, which nothing consumes after it, so a partial mean would never
     * be reduced and a device reading the loss would read its own share. All-reducing the scalar
     * sum before the division costs as little as all-reducing the mean.
     */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return List.of(SbpSignature.uniform(2, 1, Sbp.broadcast()));
    }

    @Override
    public boolean differentiable(int index) {
        return index == 0;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new DivideByCount(), g.outputGrad(0), g.input(1)));
        }
    }
}
