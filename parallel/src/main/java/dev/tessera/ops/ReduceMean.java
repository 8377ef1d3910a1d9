package dev.tessera.ops;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** Mean over one axis, which is removed. A negative axis counts from the end. */
public record ReduceMean(int axis) implements OpDef {

    @Override
    public String type() {
        return "mean";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        return ReduceSum.reducedType(in, axis);
    }

    /**
     * Unlike {@link ReduceSum}, a split of the reduced axis gives no partial sum: each device would
     * divide by its local length, not the logical one. Such a plan must reduce with sum and scale.
     */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ReduceSum.reductionSignatures(in.get(0).shape(), axis, false);
    }

    /** Scales the small reduced gradient first, then broadcasts it: cheaper than the reverse. */
    @Override
    public void gradient(GradientBuilder g) {
        Shape s = g.input(0).shape();
        int a = s.normalizeAxis(axis);
        Tensor scaled = g.emit(new Scale(1.0 / s.dim(a)), g.outputGrad(0));
        g.inputGrad(0, g.emit(new BroadcastAxis(a, s.dim(a)), scaled));
    }
}
