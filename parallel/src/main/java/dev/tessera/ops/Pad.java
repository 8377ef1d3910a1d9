package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * Zero padding of one axis: {@code before} zeros, then x, then {@code after} zeros. The gradient
 * of {@link Slice}; its own gradient is the matching slice.
 */
public record Pad(int axis, int before, int after) implements OpDef {

    @Override
    public String type() {
        return "pad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        Shape s = in.get(0).shape();
        int a = s.normalizeAxis(axis);
        require(before >= 0 && after >= 0, "padding must not be negative, got before=" + before + " after=" + after);
        return List.of(new TensorType(s.with(a, before + s.dim(a) + after), in.get(0).dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        return Cost.of(0, (in.get(0).shape().size() + out.get(0).shape().size()) * out.get(0).dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return Axes.alongAxis(in.get(0).rank(), in.get(0).shape().normalizeAxis(axis), 1);
    }

    @Override
    public void gradient(GradientBuilder g) {
        int size = g.input(0).shape().dim(axis);
        g.inputGrad(0, g.emit(new Slice(axis, before, before + size), g.outputGrad(0)));
    }
}
