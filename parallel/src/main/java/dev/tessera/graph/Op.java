package dev.tessera.graph;

import java.util.List;
import java.util.Optional;

/**
 * One op instance in a graph: its definition (type and attributes), inputs, outputs and phase,
 * and for a backward or update op of a training graph the forward op it belongs to.
 */
public final class Op {
    private final int id;
    private final String name;
    private final OpDef def;
    private final List<Tensor> inputs;
    private final List<Tensor> outputs;
    private final Phase phase;
    private final Op forwardOp;

    Op(int id, String name, OpDef def, List<Tensor> inputs, List<Tensor> outputs, Phase phase, Op forwardOp) {
        this.id = id;
        this.name = name;
        this.def = def;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.phase = phase;
        this.forwardOp = forwardOp;
    }

    public int id() {
        return id;
    }

    public String name() {
        return name;
    }

    public OpDef def() {
        return def;
    }

    public List<Tensor> inputs() {
        return inputs;
    }

    public Tensor input(int i) {
        return inputs.get(i);
    }

    public List<Tensor> outputs() {
        return outputs;
    }

    public Tensor output(int i) {
        return outputs.get(i);
    }

    public Phase phase() {
        return phase;
    }

    /**
     * The forward op this backward or update op belongs to, as autodiff records it: the op whose
     * gradient rule emitted it (the loss's producer for the loss gradient's seed, the op whose
     * gradient gave the last part of a gradient sum), or, for a parameter's accumulation,
     * squared norm, clipping and update, the parameter's first forward reader. It runs on that
     * op's stage. Empty for forward ops and for what belongs to no single op (the global norm).
     */
    public Optional<Op> forwardOp() {
        return Optional.ofNullable(forwardOp);
    }

    /** A copy of this op with another phase (autodiff assigns B or W after the rules ran). */
    Op withPhase(Phase newPhase) {
        Op copy = new Op(id, name, def, inputs, outputs, newPhase, forwardOp);
        for (Tensor t : outputs) {
            t.setProducer(copy);
        }
        return copy;
    }

    public List<TensorType> inputTypes() {
        return inputs.stream().map(Tensor::type).toList();
    }

    public List<TensorType> outputTypes() {
        return outputs.stream().map(Tensor::type).toList();
    }

    @Override
    public String toString() {
        return name + " = " + def.type() + inputs.stream().map(Tensor::name).toList() + " [" + phase.letter() + "]";
    }
}
