package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.integer;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.LocalLayout;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * Row lookup: inputs (table [V, D], ids [...] I32), output [..., D] with
 * {@code out[p] = table[ids[p]]}. An id outside [0, V) is an error at run time. The table
 * gradient, {@link EmbeddingGrad}, needs only dy and the ids: a W op by construction.
 */
public record Embedding() implements OpDef {

    @Override
    public String type() {
        return "embedding";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType table = in.get(0);
        TensorType ids = in.get(1);
        floating(table, "table");
        integer(ids, "ids");
        require(table.rank() == 2, "table must be a [vocabulary, dimension] matrix, got " + table.shape());
        return List.of(new TensorType(ids.shape().append(table.shape().dim(1)), table.dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = out.get(0).shape().size();
        return Cost.of(0, 2 * n * out.get(0).dtype().bytes() + in.get(1).shape().size() * 4);
    }

    /**
     * Vocabulary-parallel: each device holds a block of table rows, looks up the ids it owns and
     * writes zeros elsewhere, so the outputs sum to the result (table S(0), ids B -> P). Data
     * parallel: ids split on any axis give an output split the same way. A table split by
     * columns gives an output split on its last axis. Lookup is linear in the table.
     */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Sbp b = Sbp.broadcast();
        int idsRank = in.get(1).rank();
        List<SbpSignature> sigs = new ArrayList<>();
        sigs.add(SbpSignature.in(Sbp.split(0), b).out(Sbp.partialSum()));
        for (int axis = 0; axis < idsRank; axis++) {
            sigs.add(SbpSignature.in(b, Sbp.split(axis)).out(Sbp.split(axis)));
        }
        sigs.add(SbpSignature.in(Sbp.split(1), b).out(Sbp.split(idsRank)));
        sigs.add(SbpSignature.in(Sbp.partialSum(), b).out(Sbp.partialSum()));
        sigs.add(SbpSignature.in(b, b).out(b));
        return sigs;
    }

    @Override
    public boolean differentiable(int index) {
        return index == 0;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            int vocabulary = g.input(0).shape().dim(0);
            g.inputGrad(0, g.emit(new EmbeddingGrad(vocabulary), g.outputGrad(0), g.input(1)));
        }
    }

    /**
     * With the table split by rows (vocabulary-parallel), a device looks up only the ids in its
     * rows and writes zeros for the others: the partial sum the signature promises.
     */
    @Override
    public OpDef onDevice(LocalLayout layout) {
        Region table = layout.inputRegions().get(0);
        int vocabulary = layout.logicalInputs().get(0).shape().dim(0);
        return table.size(0) == vocabulary ? this : new EmbeddingShard(table.offset(0), vocabulary);
    }
}
