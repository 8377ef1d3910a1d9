package dev.tessera.autodiff;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.Graph;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What one gradient rule sees while autodiff runs it; checks what the rule declares. */
final class GradientContext implements GradientBuilder {
    private final Graph store;
    private final Op op;
    private final List<Tensor> outputGrads;
    private final Set<Tensor> needsGrad;
    private final Map<Integer, Tensor> inputGrads = new LinkedHashMap<>();

    GradientContext(Graph store, Op op, List<Tensor> outputGrads, Set<Tensor> needsGrad) {
        this.store = store;
        this.op = op;
        this.outputGrads = outputGrads;
        this.needsGrad = needsGrad;
    }

    @Override
    public Op op() {
        return op;
    }

    @Override
    public Tensor input(int index) {
        return op.input(index);
    }

    @Override
    public Tensor output(int index) {
        return op.output(index);
    }

    @Override
    public Tensor outputGrad(int index) {
        return outputGrads.get(index);
    }

    @Override
    public boolean requiresGrad(int index) {
        return op.def().differentiable(index) && needsGrad.contains(op.input(index));
    }

    @Override
    public Tensor emit(OpDef def, Tensor... inputs) {
        List<Tensor> outs = emitAll(def, inputs);
        if (outs.size() != 1) {
            throw new IllegalStateException("gradient op '" + def.type() + "' has " + outs.size() + " outputs; use emitAll");
        }
        return outs.get(0);
    }

    @Override
    public List<Tensor> emitAll(OpDef def, Tensor... inputs) {
        return store.addOp(op.name() + ".grad", def, List.of(inputs), Phase.BACKWARD_INPUT, op).outputs();
    }

    @Override
    public void inputGrad(int index, Tensor grad) {
        Tensor input = op.input(index);
        if (!requiresGrad(index)) {
            return;
        }
        if (!grad.type().equals(input.type())) {
            throw new IllegalStateException("gradient rule of op '" + op.name() + "' (" + op.def().type()
                    + ") gave input " + index + " a gradient of type " + grad.type() + ", expected " + input.type());
        }
        if (inputGrads.putIfAbsent(index, grad) != null) {
            throw new IllegalStateException("gradient rule of op '" + op.name() + "' set input " + index + " twice");
        }
    }

    Map<Integer, Tensor> inputGrads() {
        return inputGrads;
    }
}
