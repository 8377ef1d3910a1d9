package dev.tessera.examples.mlp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.tessera.examples.data.FashionMnist;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FashionMnistSourceTest {
    /** Image i has every pixel = i, label i % 10. */
    private static FashionMnist.Split split(int count) {
        byte[] pixels = new byte[count * FashionMnist.PIXELS];
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            Arrays.fill(pixels, i * FashionMnist.PIXELS, (i + 1) * FashionMnist.PIXELS, (byte) i);
            labels[i] = (byte) (i % 10);
        }
        return new FashionMnist.Split("test", pixels, labels, count);
    }

    @Test
    void shouldPairEachImageWithItsLabel() {
        FashionMnistSource source = new FashionMnistSource(split(30), 1, 8);

        Map<String, HostTensor> batch = source.batch(3);

        assertEquals(Shape.of(8, 784), batch.get("x").shape());
        assertEquals(Shape.of(8), batch.get("labels").shape());
        for (int j = 0; j < 8; j++) {
            int example = Math.round(batch.get("x").floats()[j * 784 + 100] * 255);
            assertEquals(example % 10, batch.get("labels").ints()[j]);
        }
        assertEquals(30, source.examplesPerEpoch());
    }

    @Test
    void shouldGiveTheSameBatchForTheSameSeedAndIndex() {
        FashionMnist.Split data = split(30);

        assertEquals(new FashionMnistSource(data, 9, 8).batch(5), new FashionMnistSource(data, 9, 8).batch(5));
        assertNotEquals(new FashionMnistSource(data, 9, 8).batch(5), new FashionMnistSource(data, 10, 8).batch(5));
    }
}
