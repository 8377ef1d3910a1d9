package dev.tessera.graph;

import java.util.List;

/** One op instance in a graph: its definition (type and attributes), inputs, outputs and phase. */
public final class Op {
    private final int id;
    private final String name;
    private final OpDef def;
    private final List<Tensor> inputs;
    private final List<Tensor> outputs;
    private final Phase phase;

    Op(int id, String name, OpDef def, List<Tensor> inputs, List<Tensor> outputs, Phase phase) {
        this.id = id;
        this.name = name;
        this.def = def;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.phase = phase;
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

    /** A copy of this op with another phase (autodiff assigns B or W after the rules ran). */
    Op withPhase(Phase newPhase) {
        Op copy = new Op(id, name, def, inputs, outputs, newPhase);
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
