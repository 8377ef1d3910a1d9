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
import java.util.Arrays;
import java.util.List;

/** Permutes axes: output axis i is input axis {@code permutation[i]}. */
public record Transpose(int[] permutation) implements OpDef {

    public Transpose {
        permutation = permutation.clone();
        int[] sorted = permutation.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            if (sorted[i] != i) {
                throw new IllegalArgumentException("not a permutation: " + Arrays.toString(permutation));
            }
        }
    }

    @Override
    public String type() {
        return "transpose";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        Shape s = in.get(0).shape();
        require(s.rank() == permutation.length,
                "permutation " + Arrays.toString(permutation) + " does not match rank " + s.rank());
        int[] dims = new int[s.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = s.dim(permutation[i]);
        }
        return List.of(new TensorType(Shape.of(dims), in.get(0).dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        return Cost.of(0, 2 * in.get(0).shape().size() * in.get(0).dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int i = 0; i < permutation.length; i++) {
            sigs.add(SbpSignature.in(Sbp.split(permutation[i])).out(Sbp.split(i)));
        }
        sigs.add(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()));
        sigs.add(SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()));
        return sigs;
    }

    @Override
    public void gradient(GradientBuilder g) {
        int[] inverse = new int[permutation.length];
        for (int i = 0; i < permutation.length; i++) {
            inverse[permutation[i]] = i;
        }
        g.inputGrad(0, g.emit(new Transpose(inverse), g.outputGrad(0)));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Transpose t && Arrays.equals(permutation, t.permutation);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(permutation);
    }

    @Override
    public String toString() {
        return "Transpose" + Arrays.toString(permutation);
    }
}
