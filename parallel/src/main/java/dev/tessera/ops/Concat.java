package dev.tessera.ops;

import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * Joins n >= 1 tensors along one axis; every other axis and the dtype must agree. A negative axis
 * counts from the end. The gradient of input i is the slice of dy where input i was placed.
 */
public record Concat(int axis) implements OpDef {

    @Override
    public String type() {
        return "concat";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        require(!in.isEmpty(), "concat needs at least one input");
        TensorType first = in.get(0);
        Shape s = first.shape();
        int a = s.normalizeAxis(axis);
        int total = 0;
        for (int i = 0; i < in.size(); i++) {
            TensorType t = in.get(i);
            require(t.dtype() == first.dtype(), "input " + i + " has dtype " + t.dtype() + ", input 0 has " + first.dtype());
            require(t.rank() == s.rank() && s.with(a, 0).equals(t.shape().with(a, 0)),
                    "input " + i + " has shape " + t.shape() + " but must match input 0 " + s
                            + " on every axis except the concat axis " + axis);
            total += t.shape().dim(a);
        }
        return List.of(new TensorType(s.with(a, total), first.dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        return Cost.of(0, 2 * out.get(0).shape().size() * out.get(0).dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return Axes.alongAxis(in.get(0).rank(), in.get(0).shape().normalizeAxis(axis), in.size());
    }

    @Override
    public void gradient(GradientBuilder g) {
        int offset = 0;
        for (int i = 0; i < g.op().inputs().size(); i++) {
            int size = g.input(i).shape().dim(axis);
            if (g.requiresGrad(i)) {
                g.inputGrad(i, g.emit(new Slice(axis, offset, offset + size), g.outputGrad(0)));
            }
            offset += size;
        }
    }
}
