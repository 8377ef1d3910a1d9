package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.LocalLayout;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
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
     * exactly the elements of the output region it is assigned. Only axis 0 is ever split, so
     * each device holds a run of whole rows; the runs agree when they start at the same element
     * and are as long. The nested partitions are walked part by part rather than device by
     * device, so a [64, 8, 8] placement splitting rows only on its first axis checks 64 parts.
     */
    @Override
    public boolean acceptsLayout(List<TensorType> inputs, List<TensorType> outputs, Placement placement,
            NdSbpSignature signature) {
        Shape from = inputs.get(0).shape();
        if (from.rank() == 0 || target.rank() == 0) {
            return true;
        }
        return sameRuns(placement, signature.inputs().get(0), signature.outputs().get(0), 0,
                rowElements(from), 0, from.dim(0), rowElements(target), 0, target.dim(0));
    }

    private static long rowElements(Shape shape) {
        long elements = 1;
        for (int axis = 1; axis < shape.rank(); axis++) {
            elements *= shape.dim(axis);
        }
        return elements;
    }

    private static boolean sameRuns(Placement placement, NdSbp in, NdSbp out, int axis, long inRow, int inStart,
            int inRows, long outRow, int outStart, int outRows) {
        if (axis == placement.axes()) {
            return inStart * inRow == outStart * outRow && inRows * inRow == outRows * outRow;
        }
        boolean inSplit = in.get(axis) instanceof Sbp.Split;
        boolean outSplit = out.get(axis) instanceof Sbp.Split;
        if (inSplit != outSplit) {
            return false;
        }
        if (!inSplit) {
            return sameRuns(placement, in, out, axis + 1, inRow, inStart, inRows, outRow, outStart, outRows);
        }
        int parts = placement.axisSize(axis);
        for (int part = 0; part < parts; part++) {
            if (!sameRuns(placement, in, out, axis + 1,
                    inRow, inStart + Sharding.partStart(inRows, parts, part), Sharding.partLength(inRows, parts, part),
                    outRow, outStart + Sharding.partStart(outRows, parts, part), Sharding.partLength(outRows, parts, part))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new Reshape(g.input(0).shape()), g.outputGrad(0)));
    }

    /** A part is reshaped to the part of the target it holds (a row split keeps its rows). */
    @Override
    public OpDef onDevice(LocalLayout layout) {
        Shape local = layout.outputRegions().get(0).shape();
        return local.equals(target) ? this : new Reshape(local);
    }
}
