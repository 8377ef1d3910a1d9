package dev.tessera.sbp.infer;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.BoxingPlan;
import java.util.List;
import java.util.Map;

/**
 * The result of SBP inference on one placement: the layout of every tensor, the signature of
 * every op, and the boxing inserted where a tensor's layout is not the one its consumer needs.
 */
public record SbpAssignment(Placement placement, Map<Tensor, NdSbp> layouts, Map<Op, NdSbpSignature> signatures,
        List<InsertedBoxing> boxings, Map<Op, Placement> opPlacements, Map<Tensor, Placement> tensorPlacements) {

    /**
     * A conversion in front of input {@code inputIndex} of {@code op}, or, with index -1, of an
     * output of {@code op} into the layout a hint fixed for it. {@code shared}: the same
     * conversion of the same activation was inserted for an earlier consumer, whose result this
     * one reuses.
     */
    public record InsertedBoxing(Op op, int inputIndex, BoxingPlan plan, boolean shared) {
        /** A conversion of its own. */
        public InsertedBoxing(Op op, int inputIndex, BoxingPlan plan) {
            this(op, inputIndex, plan, false);
        }

        /**
         * Bytes all devices send for it per run: 0 when {@code shared}, i.e. an earlier consumer
         * already converted the same activation to the same layout on the same placement and this
         * one reads that result (the lowering emits the conversion once).
         */
        public double sentBytes() {
            return shared ? 0 : plan.totalBytes();
        }
    }

    public SbpAssignment {
        layouts = Map.copyOf(layouts);
        signatures = Map.copyOf(signatures);
        boxings = List.copyOf(boxings);
        opPlacements = Map.copyOf(opPlacements);
        tensorPlacements = Map.copyOf(tensorPlacements);
    }

    /** Every op and tensor on {@code placement}. */
    public SbpAssignment(Placement placement, Map<Tensor, NdSbp> layouts, Map<Op, NdSbpSignature> signatures,
            List<InsertedBoxing> boxings) {
        this(placement, layouts, signatures, boxings, Map.of(), Map.of());
    }

    /**
     * The placement an op runs on: its stage's, or {@link #placement()} when no stage placement
     * was given for it.
     */
    public Placement placement(Op op) {
        return opPlacements.getOrDefault(op, placement);
    }

    /** The placement a tensor lives on: its producer's, or for inputs and parameters their first consumer's. */
    public Placement placement(Tensor tensor) {
        return tensorPlacements.getOrDefault(tensor, placement);
    }

    /** Every device some op runs on, node by node. */
    public List<DeviceId> devices() {
        java.util.TreeSet<DeviceId> all = new java.util.TreeSet<>(
                java.util.Comparator.comparingInt(DeviceId::node).thenComparingInt(DeviceId::device));
        for (Op op : signatures.keySet()) {
            all.addAll(placement(op).devices());
        }
        return List.copyOf(all);
    }

    public NdSbp layout(Tensor tensor) {
        NdSbp sbp = layouts.get(tensor);
        if (sbp == null) {
            throw new IllegalArgumentException("tensor '" + tensor.name() + "' has no layout: no op of the graph reads or writes it");
        }
        return sbp;
    }

    /** Bytes all devices send per iteration for the inserted boxing. */
    public double totalBoxingBytes() {
        return boxings.stream().mapToDouble(InsertedBoxing::sentBytes).sum();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("SBP on " + placement + "\n");
        signatures.entrySet().stream().sorted(Map.Entry.comparingByKey(java.util.Comparator.comparingInt(Op::id)))
                .forEach(e -> sb.append("  ").append(e.getKey().name()).append(": ").append(e.getValue()).append('\n'));
        for (InsertedBoxing b : boxings) {
            sb.append("  ").append(b.plan().toString().replace("\n", "\n  ")).append('\n');
        }
        return sb.toString();
    }
}
