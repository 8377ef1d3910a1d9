package dev.tessera.worker.exec;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import java.util.List;
import java.util.Map;

/**
 * Checks batches and checkpoint contents against a training graph, with one set of messages for
 * every executor. The actor executor checks before a run starts: a bad batch found by a source
 * actor would stop the job halfway through its iterations.
 */
public final class BatchCheck {
    private BatchCheck() {
    }

    /** @throws IllegalArgumentException unless there are {@code expected} batches, each fitting every input */
    public static void check(TrainingGraph graph, List<Map<String, HostTensor>> microBatches, int expected) {
        requireCount(microBatches, expected);
        for (Map<String, HostTensor> batch : microBatches) {
            for (Tensor input : graph.forward().inputs()) {
                value(input, batch);
            }
        }
    }

    /** @throws IllegalArgumentException unless there are {@code expected} micro-batches */
    public static void requireCount(List<Map<String, HostTensor>> microBatches, int expected) {
        if (microBatches.size() != expected) {
            throw new IllegalArgumentException("expected " + expected + " micro-batches (train.micro_batches), got "
                    + microBatches.size());
        }
    }

    /**
     * The batch's value for {@code input}.
     *
     * @throws IllegalArgumentException if it is missing or has another shape or dtype
     */
    public static HostTensor value(Tensor input, Map<String, HostTensor> batch) {
        HostTensor value = batch.get(input.name());
        if (value == null) {
            throw new IllegalArgumentException("batch has no value for input '" + input.name() + "'; it has "
                    + batch.keySet());
        }
        if (!value.shape().equals(input.shape()) || value.dtype() != input.dtype()) {
            throw new IllegalArgumentException("input '" + input.name() + "' expects " + input.shape() + " "
                    + input.dtype() + ", got " + value.shape() + " " + value.dtype());
        }
        return value;
    }

    /** @throws IllegalArgumentException if a tensor is missing from {@code values} or has another shape or dtype */
    public static void requireAll(List<Tensor> tensors, Map<String, HostTensor> values, String what) {
        for (Tensor t : tensors) {
            HostTensor v = values.get(t.name());
            if (v == null) {
                throw new IllegalArgumentException("checkpoint has no " + what + " '" + t.name() + "'");
            }
            if (!v.shape().equals(t.shape()) || v.dtype() != t.dtype()) {
                throw new IllegalArgumentException("checkpoint " + what + " '" + t.name() + "' is " + v.shape() + " "
                        + v.dtype() + ", the model expects " + t.shape() + " " + t.dtype());
            }
        }
    }
}
