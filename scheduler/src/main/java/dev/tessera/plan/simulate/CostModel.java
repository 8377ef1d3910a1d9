package dev.tessera.plan.simulate;

import dev.tessera.plan.schedule.Action;
import java.util.Collections;
import java.util.List;

/**
 * What the simulator charges, per stage: the compute times T_F, T_B and T_W (BW costs T_B + T_W),
 * the time of one transfer across each stage boundary (latency + bytes / bandwidth), and the
 * activation memory of one micro-batch. Memory is in two parts: {@code activationMemory}, held from
 * the start of F to the end of B (or BW), and {@code weightInputMemory}, the inputs W needs, held from
 * the start of F to the end of W (or BW); a split backward also holds {@code gradientMemory}, the output
 * gradients W needs, from the end of B to the end of W (none with a fused BW). Times are in one unit of the caller's choice; sends and
 * receives take no device time (the transfer runs beside compute), the optimizer step takes
 * {@code optimizerStep}.
 */
public record CostModel(List<Double> forward, List<Double> backwardInput, List<Double> backwardWeight,
        double transferLatency, double bandwidth, List<Double> boundaryBytes, List<Double> activationMemory,
        List<Double> weightInputMemory, double optimizerStep, List<Double> gradientMemory) {

    /** No output-gradient memory between B and W. */
    public CostModel(List<Double> forward, List<Double> backwardInput, List<Double> backwardWeight,
            double transferLatency, double bandwidth, List<Double> boundaryBytes, List<Double> activationMemory,
            List<Double> weightInputMemory, double optimizerStep) {
        this(forward, backwardInput, backwardWeight, transferLatency, bandwidth, boundaryBytes, activationMemory,
                weightInputMemory, optimizerStep, Collections.nCopies(forward.size(), 0.0));
    }

    public CostModel {
        forward = List.copyOf(forward);
        backwardInput = List.copyOf(backwardInput);
        backwardWeight = List.copyOf(backwardWeight);
        boundaryBytes = List.copyOf(boundaryBytes);
        activationMemory = List.copyOf(activationMemory);
        weightInputMemory = List.copyOf(weightInputMemory);
        gradientMemory = List.copyOf(gradientMemory);
        int stages = forward.size();
        if (stages == 0) {
            throw new IllegalArgumentException("a cost model needs the times of at least one stage");
        }
        requireSize("backward-input times", backwardInput, stages);
        requireSize("weight-gradient times", backwardWeight, stages);
        requireSize("activation memory", activationMemory, stages);
        requireSize("weight-input memory", weightInputMemory, stages);
        requireSize("output-gradient memory", gradientMemory, stages);
        if (boundaryBytes.size() != Math.max(0, stages - 1)) {
            throw new IllegalArgumentException("the cost model has " + stages + " stages, so " + (stages - 1)
                    + " stage boundaries, but " + boundaryBytes.size() + " boundary sizes");
        }
        for (List<Double> values : List.of(forward, backwardInput, backwardWeight, boundaryBytes, activationMemory,
                weightInputMemory, gradientMemory)) {
            for (double value : values) {
                if (!(value >= 0) || Double.isInfinite(value)) {
                    throw new IllegalArgumentException("cost model values must be finite and non-negative, not " + value);
                }
            }
        }
        if (!(transferLatency >= 0) || !(bandwidth > 0) || !(optimizerStep >= 0)) {
            throw new IllegalArgumentException("transfer latency (" + transferLatency + ") and optimizer step ("
                    + optimizerStep + ") must be non-negative and bandwidth (" + bandwidth + ") positive");
        }
    }

    /**
     * Every stage costs the same: T_F, T_B, T_W, and each transfer {@code transfer} time units.
     * Memory per micro-batch and stage: 0.5 held until B, 0.5 until W (one unit for a fused backward).
     */
    public static CostModel uniform(int stages, double forward, double backwardInput, double backwardWeight,
            double transfer) {
        return perStage(Collections.nCopies(stages, forward), Collections.nCopies(stages, backwardInput),
                Collections.nCopies(stages, backwardWeight), transfer);
    }

    /** Per-stage times with one plain time per transfer, and {@link #uniform}'s memory. */
    public static CostModel perStage(List<Double> forward, List<Double> backwardInput, List<Double> backwardWeight,
            double transfer) {
        int stages = forward.size();
        return new CostModel(forward, backwardInput, backwardWeight, transfer, 1.0,
                Collections.nCopies(Math.max(0, stages - 1), 0.0), Collections.nCopies(stages, 0.5),
                Collections.nCopies(stages, 0.5), 0.0);
    }

    /** This model with each boundary's transfer costing {@code latency + bytes / bandwidth}. */
    public CostModel withLinks(double latency, double bandwidth, List<Double> boundaryBytes) {
        return new CostModel(forward, backwardInput, backwardWeight, latency, bandwidth, boundaryBytes,
                activationMemory, weightInputMemory, optimizerStep, gradientMemory);
    }

    /** This model with the given memory per micro-batch: the part freed at B and the part freed at W. */
    public CostModel withMemory(List<Double> activationMemory, List<Double> weightInputMemory) {
        return new CostModel(forward, backwardInput, backwardWeight, transferLatency, bandwidth, boundaryBytes,
                activationMemory, weightInputMemory, optimizerStep, gradientMemory);
    }

    /** This model with the output gradients a split backward holds from the end of B to the end of W. */
    public CostModel withGradientMemory(List<Double> gradientMemory) {
        return new CostModel(forward, backwardInput, backwardWeight, transferLatency, bandwidth, boundaryBytes,
                activationMemory, weightInputMemory, optimizerStep, gradientMemory);
    }

    public CostModel withOptimizerStep(double time) {
        return new CostModel(forward, backwardInput, backwardWeight, transferLatency, bandwidth, boundaryBytes,
                activationMemory, weightInputMemory, time, gradientMemory);
    }

    public int stages() {
        return forward.size();
    }

    /** Device time of {@code action}. */
    public double duration(Action action) {
        int stage = action.stage();
        return switch (action.kind()) {
            case FORWARD -> forward.get(stage);
            case BACKWARD_INPUT -> backwardInput.get(stage);
            case BACKWARD_WEIGHT -> backwardWeight.get(stage);
            case FULL_BACKWARD -> backwardInput.get(stage) + backwardWeight.get(stage);
            case OPTIMIZER_STEP -> optimizerStep;
            default -> 0.0;
        };
    }

    /** Time of one transfer across the boundary between stages {@code boundary} and {@code boundary + 1}. */
    public double transfer(int boundary) {
        return transferLatency + boundaryBytes.get(boundary) / bandwidth;
    }

    private static void requireSize(String what, List<Double> values, int stages) {
        if (values.size() != stages) {
            throw new IllegalArgumentException("the cost model has " + stages + " stages but " + values.size() + " "
                    + what + "; give one per stage");
        }
    }
}
