package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.AxisKernels.around;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import dev.tessera.collective.AllGather;
import dev.tessera.collective.AllReduce;
import dev.tessera.collective.AllToAll;
import dev.tessera.collective.LocalSlice;
import dev.tessera.collective.ReduceScatter;
import dev.tessera.collective.RegionJoin;
import dev.tessera.collective.RegionSlice;
import dev.tessera.collective.SendCopy;
import dev.tessera.collective.ZeroFill;
import dev.tessera.collective.ZeroPad;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;

/**
 * One member's part of each collective, on the virtual devices of one process: the members'
 * tensors arrive as inputs (through transfers), in coordinate order, and each member computes its
 * own result with exactly the semantics of {@code HostBoxing} ({@link GroupParts}): each reduction
 * part summed in its fixed order (so all members of an all-reduce hold identical bits), balanced
 * parts, concatenation in order.
 */
final class CollectiveKernels {
    private CollectiveKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(AllReduce.class, (def, op) -> {
            long n = op.output(0).shape().size();
            return (in, out, ctx) -> {
                INDArray flat = out[0].reshape('c', new long[] {n});
                int p = in.length;
                for (int k = 0; k < p; k++) {
                    long start = GroupParts.flatPartStart(n, p, k);
                    long end = start + GroupParts.flatPartLength(n, p, k);
                    if (end == start) {
                        continue;
                    }
                    INDArray target = flat.get(interval(start, end));
                    for (int position = 0; position < p; position++) {
                        INDArray source = in[GroupParts.summand(p, k, position)].reshape('c', new long[] {n}).get(interval(start, end));
                        if (position == 0) {
                            target.assign(source);
                        } else {
                            target.addi(source);
                        }
                    }
                }
                if (flat.data() != out[0].data()) {
                    out[0].assign(flat.reshape(out[0].shape()));
                }
            };
        });
        r.register(ReduceScatter.class, (def, op) -> {
            int axis = def.axis();
            INDArrayIndex part = part(op.input(0).shape().dim(axis), def.members(), def.member());
            return (in, out, ctx) -> {
                INDArray target = around(out[0], axis);
                for (int position = 0; position < in.length; position++) {
                    INDArray source = around(in[GroupParts.summand(in.length, def.member(), position)], axis)
                            .get(all(), part, all());
                    if (position == 0) {
                        target.assign(source);
                    } else {
                        target.addi(source);
                    }
                }
            };
        });
        r.register(AllGather.class, (def, op) -> (in, out, ctx) -> AxisKernels.concatenate(in, out[0], def.axis()));
        r.register(AllToAll.class, (def, op) -> {
            int rank = op.input(0).shape().rank();
            INDArrayIndex mine = part(op.input(0).shape().dim(def.toAxis()), def.members(), def.member());
            return (in, out, ctx) -> {
                long offset = 0;
                for (INDArray piece : in) {
                    long length = piece.size(def.fromAxis());
                    INDArrayIndex[] source = everything(rank);
                    source[def.toAxis()] = mine;
                    INDArrayIndex[] target = everything(rank);
                    target[def.fromAxis()] = interval(offset, offset + length);
                    out[0].get(target).assign(piece.get(source));
                    offset += length;
                }
            };
        });
        r.register(LocalSlice.class, (def, op) -> {
            int axis = def.axis();
            INDArrayIndex part = part(op.input(0).shape().dim(axis), def.members(), def.member());
            return (in, out, ctx) -> around(out[0], axis).assign(around(in[0], axis).get(all(), part, all()));
        });
        r.register(ZeroFill.class, (def, op) -> def.keep()
                ? (in, out, ctx) -> out[0].assign(in[0])
                : (in, out, ctx) -> out[0].assign(0));
        r.register(ZeroPad.class, (def, op) -> {
            int axis = def.axis();
            long size = op.input(0).shape().dim(axis);
            return (in, out, ctx) -> {
                out[0].assign(0);
                around(out[0], axis).get(all(), interval(def.offset(), def.offset() + size), all())
                        .assign(around(in[0], axis));
            };
        });
        r.register(SendCopy.class, (def, op) -> (in, out, ctx) -> out[0].assign(in[0]));
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

    /** Member {@code member}'s balanced part of {@code size} elements, as {@code Sharding} cuts it. */
    private static INDArrayIndex part(int size, int members, int member) {
        long start = Sharding.partStart(size, members, member);
        return interval(start, start + Sharding.partLength(size, members, member));
    }

    private static INDArrayIndex[] box(List<Integer> offsets, List<Integer> sizes) {
        INDArrayIndex[] index = new INDArrayIndex[offsets.size()];
        for (int a = 0; a < index.length; a++) {
            index[a] = interval(offsets.get(a), offsets.get(a) + sizes.get(a));
        }
        return index;
    }

    private static INDArrayIndex[] everything(int rank) {
        INDArrayIndex[] index = new INDArrayIndex[rank];
        for (int a = 0; a < rank; a++) {
            index[a] = all();
        }
        return index;
    }
}
