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
 * Indices {@code [start, end)} of one axis, all of every other axis. A negative axis counts from
 * the end. The gradient writes dy into zeros with {@link Pad}.
 */
public record Slice(int axis, int start, int end) implements OpDef {

    @Override
    public String type() {
        return "slice";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        Shape s = in.get(0).shape();
        int a = s.normalizeAxis(axis);
        require(0 <= start && start < end && end <= s.dim(a),
                "slice [" + start + ", " + end + ") of axis " + axis + " is out of range for shape " + s
                        + "; need 0 <= start < end <= " + s.dim(a));
        return List.of(new TensorType(s.with(a, end - start), in.get(0).dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        return Cost.of(0, 2 * out.get(0).shape().size() * out.get(0).dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return Axes.alongAxis(in.get(0).rank(), in.get(0).shape().normalizeAxis(axis), 1);
    }

    @Override
    public void gradient(GradientBuilder g) {
        int size = g.input(0).shape().dim(axis);
        g.inputGrad(0, g.emit(new Pad(axis, start, size - end), g.outputGrad(0)));
    }
}
