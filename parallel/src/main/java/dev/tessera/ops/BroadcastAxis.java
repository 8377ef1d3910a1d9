package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
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
 * Inserts a new axis at position {@code axis} of the output and repeats x {@code size} times along
 * it: [2, 4] with axis 1, size 3 is [2, 3, 4]. The gradient of a reduction; a negative axis counts
 * from the end of the output.
 */
public record BroadcastAxis(int axis, int size) implements OpDef {

    @Override
    public String type() {
        return "broadcast_axis";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        Shape s = in.get(0).shape();
        require(size >= 1, "broadcast size must be at least 1, got " + size);
        return List.of(new TensorType(Axes.insert(s, outputAxis(s.rank()), size), in.get(0).dtype()));
    }

    /** The position of the new axis in an output of rank {@code inputRank + 1}. */
    public int outputAxis(int inputRank) {
        int a = axis < 0 ? axis + inputRank + 1 : axis;
        require(a >= 0 && a <= inputRank,
                "broadcast axis " + axis + " is out of range for an output of rank " + (inputRank + 1));
        return a;
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = out.get(0).shape().size();
        return Cost.of(0, (in.get(0).shape().size() + n) * out.get(0).dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        int r = in.get(0).rank();
        int a = outputAxis(r);
        List<SbpSignature> sigs = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            sigs.add(SbpSignature.in(Sbp.split(i)).out(Sbp.split(i < a ? i : i + 1)));
        }
        sigs.add(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()));
        sigs.add(SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()));
        return sigs;
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new ReduceSum(outputAxis(g.input(0).shape().rank())), g.outputGrad(0)));
    }
}
