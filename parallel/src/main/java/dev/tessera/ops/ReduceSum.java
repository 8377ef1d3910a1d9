package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/** Sum over one axis, which is removed: [2, 3, 4] summed over axis 1 is [2, 4]. A negative axis counts from the end. */
public record ReduceSum(int axis) implements OpDef {

    @Override
    public String type() {
        return "sum";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        return reducedType(in, axis);
    }

    /** A split of the reduced axis leaves each device a partial sum of the result. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return reductionSignatures(in.get(0).shape(), axis, true);
    }

    @Override
    public void gradient(GradientBuilder g) {
        Shape s = g.input(0).shape();
        int a = s.normalizeAxis(axis);
        g.inputGrad(0, g.emit(new BroadcastAxis(a, s.dim(a)), g.outputGrad(0)));
    }

    static List<TensorType> reducedType(List<TensorType> in, int axis) {
        arity(in, 1);
        floating(in.get(0), "x");
        Shape s = in.get(0).shape();
        require(s.rank() >= 1, "cannot reduce a scalar");
        return List.of(new TensorType(Axes.remove(s, s.normalizeAxis(axis)), in.get(0).dtype()));
    }

    static List<SbpSignature> reductionSignatures(Shape s, int axis, boolean splitReducedAxisGivesPartial) {
        int a = s.normalizeAxis(axis);
        List<SbpSignature> sigs = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) {
            if (i != a) {
                sigs.add(SbpSignature.in(Sbp.split(i)).out(Sbp.split(i < a ? i : i - 1)));
            } else if (splitReducedAxisGivesPartial) {
                sigs.add(SbpSignature.in(Sbp.split(i)).out(Sbp.partialSum()));
            }
        }
        sigs.add(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()));
        sigs.add(SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()));
        return sigs;
    }
}
