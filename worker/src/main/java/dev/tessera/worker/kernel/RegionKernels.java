package dev.tessera.worker.kernel;

import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import dev.tessera.collective.RegionJoin;
import dev.tessera.collective.RegionSlice;
import java.util.List;
import org.nd4j.linalg.indexing.INDArrayIndex;

/**
 * The two halves of a send/recv step between placements: a sender cuts the piece a receiver
 * needs from its part ({@code RegionSlice}), the plan's transfer moves it, and the receiver
 * writes every piece it got into its part ({@code RegionJoin}). Conversions within a peer group
 * are collective members ({@code GroupCollective}), run by the worker's collective actors.
 */
final class RegionKernels {
    private RegionKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(RegionSlice.class, (def, op) -> {
            INDArrayIndex[] box = box(def.offsets(), def.sizes());
            return box.length == 0 ? (in, out, ctx) -> out[0].assign(in[0])
                    : (in, out, ctx) -> out[0].assign(in[0].get(box));
        });
        r.register(RegionJoin.class, (def, op) -> {
            INDArrayIndex[][] boxes = new INDArrayIndex[def.offsets().size()][];
            for (int i = 0; i < boxes.length; i++) {
                boxes[i] = box(def.offsets().get(i), java.util.Arrays.stream(op.input(i).shape().toArray()).boxed()
                        .toList());
            }
            return (in, out, ctx) -> {
                for (int i = 0; i < in.length; i++) {
                    if (boxes[i].length == 0) {
                        out[0].assign(in[i]);
                    } else {
                        out[0].get(boxes[i]).assign(in[i]);
                    }
                }
            };
        });
    }

    private static INDArrayIndex[] box(List<Integer> offsets, List<Integer> sizes) {
        INDArrayIndex[] index = new INDArrayIndex[offsets.size()];
        for (int a = 0; a < index.length; a++) {
            index[a] = interval(offsets.get(a), offsets.get(a) + sizes.get(a));
        }
        return index;
    }
}
