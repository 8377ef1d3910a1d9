package dev.tessera.examples.mlp;

import dev.tessera.api.DataSource;
import dev.tessera.examples.data.EpochOrder;
import dev.tessera.examples.data.FashionMnist;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.util.Map;

/**
 * Training batches of Fashion-MNIST: inputs "x" [B, 784] F32 in [0, 1] and "labels" [B] I32,
 * visited in a seeded order that is reshuffled every epoch.
 */
public final class FashionMnistSource implements DataSource {
    private final FashionMnist.Split split;
    private final EpochOrder order;
    private final int batchSize;

    public FashionMnistSource(FashionMnist.Split split, long seed, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        this.split = split;
        this.order = new EpochOrder(seed, split.count());
        this.batchSize = batchSize;
    }

    @Override
    public Map<String, HostTensor> batch(long index) {
        int[] rows = order.batch(index, batchSize);
        return examples(split, rows);
    }

    @Override
    public long examplesPerEpoch() {
        return split.count();
    }

    /** The inputs "x" and "labels" for the given examples of {@code split}, in that order. */
    static Map<String, HostTensor> examples(FashionMnist.Split split, int[] rows) {
        float[] x = new float[rows.length * FashionMnist.PIXELS];
        int[] labels = new int[rows.length];
        for (int j = 0; j < rows.length; j++) {
            split.copyImage(rows[j], x, j * FashionMnist.PIXELS);
            labels[j] = split.label(rows[j]);
        }
        return Map.of(
                "x", HostTensor.ofFloats(Shape.of(rows.length, FashionMnist.PIXELS), x),
                "labels", HostTensor.ofInts(Shape.of(rows.length), labels));
    }
}
