package dev.tessera.worker.kernel;

import dev.tessera.ops.Dropout;
import dev.tessera.ops.DropoutGrad;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Dropout and its gradient: both multiply by the same keep mask scaled by {@code 1 / (1 - p)}, the
 * mask recomputed from {@link DropoutMask} rather than stored. One pass over the raw buffers, since
 * a counter-based hash per element has no ND4J op.
 */
final class DropoutKernels {
    private DropoutKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Dropout.class, (def, op) -> new MaskKernel(def.p(), def.seed()));
        r.register(DropoutGrad.class, (def, op) -> new MaskKernel(def.p(), def.seed()));
    }

    /** {@code out = in * mask / (1 - p)}, one pass over the raw buffers. */
    private static final class MaskKernel implements Kernel {
        private final double p;
        private final long seed;
        private final long threshold;

        MaskKernel(double p, long seed) {
            this.p = p;
            this.seed = seed;
            this.threshold = DropoutMask.threshold(p);
        }

        @Override
        public void run(INDArray[] in, INDArray[] out, KernelContext context) {
            if (p == 0) {
                out[0].assign(in[0]);
                return;
            }
            long key = DropoutMask.streamKey(seed, context.iteration(), context.microBatch());
            INDArray x = RawBuffers.readable(in[0]);
            INDArray y = RawBuffers.writable(out[0]);
            int n = Math.toIntExact(x.length());
            if (x.dataType() == DataType.FLOAT) {
                applyFloat(x, y, n, key);
            } else if (x.dataType() == DataType.DOUBLE) {
                applyDouble(x, y, n, key);
            } else {
                throw new IllegalArgumentException("dropout supports F32 and F64 tensors, got " + x.dataType());
            }
            RawBuffers.commit(y, out[0]);
        }

        private void applyFloat(INDArray x, INDArray y, int n, long key) {
            FloatBuffer src = x.data().asNioFloat();
            FloatBuffer dst = y.data().asNioFloat();
            int xo = RawBuffers.offset(x);
            int yo = RawBuffers.offset(y);
            float scale = (float) (1.0 / (1.0 - p));
            for (int i = 0; i < n; i++) {
                dst.put(yo + i, DropoutMask.keep(key, i, threshold) ? src.get(xo + i) * scale : 0f);
            }
        }

        private void applyDouble(INDArray x, INDArray y, int n, long key) {
            DoubleBuffer src = x.data().asNioDouble();
            DoubleBuffer dst = y.data().asNioDouble();
            int xo = RawBuffers.offset(x);
            int yo = RawBuffers.offset(y);
            double scale = 1.0 / (1.0 - p);
            for (int i = 0; i < n; i++) {
                dst.put(yo + i, DropoutMask.keep(key, i, threshold) ? src.get(xo + i) * scale : 0.0);
            }
        }
    }
}
