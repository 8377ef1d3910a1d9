package dev.tessera.autodiff;

import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A forward graph together with everything one training iteration runs: per micro-batch the F
 * ops, then the backward ops (each B or W) ending in gradient accumulation; once per iteration
 * the update ops (the gradient norm, clipping and the optimizer, or with post-validation the
 * optimizer and its validation). Produced by {@link Autodiff#build}.
 */
public final class TrainingGraph {
    private final LogicalGraph forward;
    private final Tensor loss;
    private final List<Op> backwardOps;
    private final List<Op> updateOps;
    private final Map<Tensor, Tensor> gradients;
    private final Map<Tensor, Tensor> accumulators;
    private final List<Tensor> optimizerState;
    private final List<Tensor> rollbackCopies;
    private final Tensor learningRate;
    private final Tensor optimizerStep;
    private final Tensor gradNorm;
    private final TrainingOptions options;

    TrainingGraph(LogicalGraph forward, Tensor loss, List<Op> backwardOps, List<Op> updateOps,
            Map<Tensor, Tensor> gradients, Map<Tensor, Tensor> accumulators, List<Tensor> optimizerState,
            List<Tensor> rollbackCopies, Tensor learningRate, Tensor optimizerStep, Tensor gradNorm,
            TrainingOptions options) {
        this.forward = forward;
        this.loss = loss;
        this.backwardOps = List.copyOf(backwardOps);
        this.updateOps = List.copyOf(updateOps);
        this.gradients = Map.copyOf(gradients);
        this.accumulators = Map.copyOf(accumulators);
        this.optimizerState = List.copyOf(optimizerState);
        this.rollbackCopies = List.copyOf(rollbackCopies);
        this.learningRate = learningRate;
        this.optimizerStep = optimizerStep;
        this.gradNorm = gradNorm;
        this.options = options;
    }

    /**
     * A training graph assembled from parts, for graphs not made by {@link Autodiff#build}: the
     * lowering's physical graph, whose ops and tensors are per device. Every map and list is
     * keyed by tensors of {@code forward}'s store.
     */
    public static TrainingGraph of(LogicalGraph forward, Tensor loss, List<Op> backwardOps, List<Op> updateOps,
            Map<Tensor, Tensor> gradients, Map<Tensor, Tensor> accumulators, List<Tensor> optimizerState,
            List<Tensor> rollbackCopies, Tensor learningRate, Tensor optimizerStep, Tensor gradNorm,
            TrainingOptions options) {
        return new TrainingGraph(forward, loss, backwardOps, updateOps, gradients, accumulators, optimizerState,
                rollbackCopies, learningRate, optimizerStep, gradNorm, options);
    }

    public LogicalGraph forward() {
        return forward;
    }

    /** The scalar loss of one micro-batch. */
    public Tensor loss() {
        return loss;
    }

    public List<Op> forwardOps() {
        return forward.ops();
    }

    /** B and W ops in an order that respects their dependencies, accumulation last per parameter. */
    public List<Op> backwardOps() {
        return backwardOps;
    }

    /** Clipping and optimizer ops, run once per iteration after every micro-batch. */
    public List<Op> updateOps() {
        return updateOps;
    }

    /** The ops of one micro-batch, then the update: the reference execution order. */
    public List<Op> ops() {
        List<Op> all = new ArrayList<>(forward.ops());
        all.addAll(backwardOps);
        all.addAll(updateOps);
        return all;
    }

    public List<Op> opsOfPhase(Phase phase) {
        return ops().stream().filter(op -> op.phase() == phase).toList();
    }

    public List<Tensor> parameters() {
        return forward.parameters();
    }

    /** A parameter's gradient for one micro-batch; absent for parameters the loss does not depend on. */
    public Tensor gradient(Tensor parameter) {
        return gradients.get(parameter);
    }

    /** A parameter's gradient summed over the iteration's micro-batches (state, zeroed per iteration). */
    public Tensor accumulator(Tensor parameter) {
        return accumulators.get(parameter);
    }

    /** Momentum or Adam moments, kept across iterations and saved in checkpoints. */
    public List<Tensor> optimizerState() {
        return optimizerState;
    }

    /**
     * With post-validation, the copy of each parameter and state tensor an update overwrites,
     * kept until the update is validated; not saved in checkpoints. Empty otherwise.
     */
    public List<Tensor> rollbackCopies() {
        return rollbackCopies;
    }

    /** Scalar input fed once per iteration from the learning-rate schedule. */
    public Tensor learningRate() {
        return learningRate;
    }

    /** Scalar input: the 1-based number of the optimizer step (Adam's bias correction). */
    public Tensor optimizerStep() {
        return optimizerStep;
    }

    /** The global gradient norm before clipping, computed every iteration. */
    public Tensor gradNorm() {
        return gradNorm;
    }

    public TrainingOptions options() {
        return options;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(forward.toString());
        for (Op op : backwardOps) {
            sb.append(op).append('\n');
        }
        for (Op op : updateOps) {
            sb.append(op).append('\n');
        }
        return sb.toString();
    }
}
