package dev.tessera.graph;

import java.util.List;

/**
 * What a gradient rule sees of the op being differentiated, and how it emits backward ops.
 * Emitted ops go into the training graph; autodiff later marks each one B (needed for an
 * activation gradient) or W (needed only for weight gradients).
 */
public interface GradientBuilder {
    Op op();

    Tensor input(int index);

    Tensor output(int index);

    /** The gradient of the loss with respect to output {@code index}, or null if none flows there. */
    Tensor outputGrad(int index);

    /** Whether the gradient of input {@code index} is needed (it leads to a parameter). */
    boolean requiresGrad(int index);

    /** Adds an op with one output and returns that output. */
    Tensor emit(OpDef def, Tensor... inputs);

    /** Adds an op and returns all its outputs. */
    List<Tensor> emitAll(OpDef def, Tensor... inputs);

    /** Declares the gradient of input {@code index}; call at most once per input. */
    void inputGrad(int index, Tensor grad);
}
