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

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Shape from = in.get(0).shape();
        boolean leadingKept = from.rank() > 0 && target.rank() > 0 && from.dim(0) == target.dim(0);
        return leadingKept
                ? List.of(SbpSignature.in(Sbp.split(0)).out(Sbp.split(0)),
                        SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()),
                        SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()))
                : List.of(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()),
                        SbpSignature.in(Sbp.partialSum()).out(Sbp.partialSum()));
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new Reshape(g.input(0).shape()), g.outputGrad(0)));
    }
}
