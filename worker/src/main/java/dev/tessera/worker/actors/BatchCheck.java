package dev.tessera.worker.actors;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import java.util.List;
import java.util.Map;

/**
 * Checks batches and checkpoints before a run starts, with the reference executor's messages:
 * a bad batch found by a source actor would stop the job halfway through its iterations.
 */
final class BatchCheck {
    private BatchCheck() {
    }

    static void check(TrainingGraph graph, List<Map<String, HostTensor>> microBatches, int expected) {
        if (microBatches.size() != expected) {
            throw new IllegalArgumentException("expected " + expected + " micro-batches (train.micro_batches), got "
                    + microBatches.size());
        }
        for (Map<String, HostTensor> batch : microBatches) {
            for (Tensor input : graph.forward().inputs()) {
                HostTensor value = batch.get(input.name());
                if (value == null) {
                    throw new IllegalArgumentException("batch has no value for input '" + input.name() + "'; it has "
                            + batch.keySet());
                }
                if (!value.shape().equals(input.shape()) || value.dtype() != input.dtype()) {
                    throw new IllegalArgumentException("input '" + input.name() + "' expects " + input.shape() + " "
                            + input.dtype() + ", got " + value.shape() + " " + value.dtype());
                }
            }
        }
    }

    static void requireAll(List<Tensor> tensors, Map<String, HostTensor> values, String what) {
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
