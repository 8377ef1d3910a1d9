package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** The same elements, row-major, under another shape with the same number of elements. */
public record Reshape(Shape target) implements OpDef {

    @Override
    public String type() {
        return "reshape";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        require(in.get(0).shape().size() == target.size(),
                "cannot reshape " + in.get(0).shape() + " to " + target + ": element counts differ");
        return List.of(new TensorType(target, in.get(0).dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        return Cost.of(0, 2 * in.get(0).shape().size() * in.get(0).dtype().bytes());
    }

    /**
     * Row splits are declared whenever both shapes have a leading axis: merging or splitting
     * leading axes ([B, T, D] to [B*T, D] and back) keeps a split of axis 0 valid when each
     * device's rows before and after are the same elements. Whether they are depends on the
     * device count (balanced parts of B rows times T are balanced parts of B*T rows only when
     * the parts line up), so {@link #acceptsLayout} checks it per placement.
     */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Shape from = in.get(0).shape();
        boolean rowsExist = from.rank() > 0 && target.rank() > 0;
        return rowsExist
                ? List.of(SbpSignature.in(Sbp.split(0)).out(Sbp.split(0)),
                        SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()),
                        SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()))
                : List.of(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()),
                        SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()));
    }

    /**
     * A reshape runs locally (no data moves), so every device must hold, in row-major order,
     * exactly the elements of the output region it is assigned. Regions that narrow only axis 0
     * are contiguous runs of the row-major order; they agree when their first element and their
     * element count agree.
     */
    @Override
    public boolean acceptsLayout(List<TensorType> inputs, List<TensorType> outputs, Placement placement,
            NdSbpSignature signature) {
        Shape from = inputs.get(0).shape();
        for (int rank = 0; rank < placement.size(); rank++) {
            Region before = Sharding.region(from, placement, signature.inputs().get(0), rank);
            Region after = Sharding.region(target, placement, signature.outputs().get(0), rank);
            if (!sameElements(from, before, target, after)) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameElements(Shape fromShape, Region before, Shape toShape, Region after) {
        long[] beforeRun = rowMajorRun(fromShape, before);
        long[] afterRun = rowMajorRun(toShape, after);
        return beforeRun != null && afterRun != null && beforeRun[0] == afterRun[0] && beforeRun[1] == afterRun[1];
    }

    /** {first element, element count} of a region narrowed only on axis 0; null otherwise. */
    private static long[] rowMajorRun(Shape shape, Region region) {
        if (shape.rank() == 0) {
            return new long[] {0, 1};
        }
        long rowElements = 1;
        for (int axis = 1; axis < shape.rank(); axis++) {
            if (region.offset(axis) != 0 || region.size(axis) != shape.dim(axis)) {
                return null;
            }
            rowElements *= shape.dim(axis);
        }
        return new long[] {region.offset(0) * rowElements, region.elements()};
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new Reshape(g.input(0).shape()), g.outputGrad(0)));
    }
}
