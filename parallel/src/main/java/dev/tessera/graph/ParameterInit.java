package dev.tessera.graph;

import dev.tessera.tensor.HostTensor;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Draws the first value of a parameter or state tensor on the host. The stream depends only on
 * the run seed and the tensor's name, so every executor, device layout and resumed run starts
 * from identical weights, and adding a parameter does not change the others.
 */
public final class ParameterInit {
    private ParameterInit() {
    }

    public static HostTensor materialize(Tensor t, long seed) {
        return draw(t, seed).convert(t.dtype());
    }

    /** The values {@link #materialize} rounds to the tensor's dtype, in f64, whatever that dtype. */
    public static HostTensor draw(Tensor t, long seed) {
        Initializer init = t.initializer() == null ? Initializer.zeros() : t.initializer();
        int n = Math.toIntExact(t.shape().size());
        double[] values = new double[n];
        SplittableRandom random = new SplittableRandom(seed ^ nameHash(t.name()));
        if (init instanceof Initializer.Constant c) {
            java.util.Arrays.fill(values, c.value());
        } else if (init instanceof Initializer.Normal normal) {
            for (int i = 0; i < n; i++) {
                values[i] = normal.std() * gaussian(random);
            }
        } else if (init instanceof Initializer.Uniform u) {
            for (int i = 0; i < n; i++) {
                values[i] = u.limit() * (2 * random.nextDouble() - 1);
            }
        }
        return HostTensor.ofDoubles(t.shape(), values);
    }

    /** Box-Muller from two uniforms: stable across JDK versions, unlike library Gaussians. */
    private static double gaussian(SplittableRandom random) {
        double u1 = 1.0 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** 64-bit FNV-1a of the UTF-8 name. */
    private static long nameHash(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
