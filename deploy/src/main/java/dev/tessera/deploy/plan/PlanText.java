package dev.tessera.deploy.plan;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.lowering.PhysicalLowering;
import dev.tessera.plan.compile.PlanMemory;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.BoxingStep;
import dev.tessera.sbp.boxing.CollectiveStep;
import dev.tessera.sbp.boxing.SendRecvStep;
import dev.tessera.sbp.infer.PlanEstimate;
import dev.tessera.sbp.infer.SbpAssignment;
import dev.tessera.sbp.infer.StageBalancer;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.stream.Collectors;

/** The human-readable form of a {@link ParallelPlan}: tensors, conversions, per-device totals. */
public final class PlanText {
    /** Beyond this many devices the per-device table shows the first ones and the busiest. */
    private static final int DEVICE_ROWS = 32;

    private PlanText() {
    }

    public static String render(ParallelPlan plan) {
        StringBuilder s = new StringBuilder();
        int[] hierarchy = plan.placement().hierarchy();
        int stages = plan.stages().size();
        s.append(String.format(Locale.ROOT, "plan of %s (%s): %d device(s) as %s[data %d, tensor %d], %d micro-batch(es) per iteration%n",
                plan.model(), plan.description(), plan.devices().size(),
                stages > 1 ? stages + " pipeline stages of " : "", hierarchy[0], hierarchy[1],
                plan.graph().options().microBatches()));
        for (int stage = 0; stage < stages; stage++) {
            Placement placement = plan.stages().get(stage);
            s.append("placement p").append(stage).append(": ").append(placement).append(" (axes: ")
                    .append(String.join(", ", ParallelPlan.AXIS_NAMES)).append(")")
                    .append(stages > 1 ? ", stage " + stage + ": " + stageRules(plan, stage) : "").append("\n");
        }
        s.append(plan.ops().size()).append(" ops, ").append(plan.tensors().size()).append(" tensors, ")
                .append(plan.assignment().boxings().size()).append(" conversions\n");
        if (plan.search() != null) {
            s.append(String.format(Locale.ROOT, "auto-parallel: the fastest of %d layouts searched in %.2f s that fits "
                    + "the memory budget of %s per device%n", plan.search().plans(), plan.search().seconds(),
                    PlanEstimate.bytes(plan.search().memoryBudgetBytes())));
        }
        s.append("estimate (cost model, busiest device): ").append(plan.estimate()).append("\n");
        if (!plan.stageCosts().isEmpty()) {
            s.append(plan.stagesBalanced() ? "stages cut by the cost model" : "stages by parallel.stages")
                    .append(" (modeled per micro-batch; sends: activations out and their gradients back):\n");
            s.append(String.format(Locale.ROOT, "  %-6s %9s %10s %10s %10s %10s %12s %12s%n", "stage", "fwd ops",
                    "F ms", "B ms", "W ms", "send ms", "parameters", "activations"));
            for (StageBalancer.StageCost c : plan.stageCosts()) {
                s.append(String.format(Locale.ROOT, "  %-6d %9d %10.4f %10.4f %10.4f %10.4f %12s %12s%n", c.stage(),
                        c.forwardOps(), c.forwardSeconds() * 1e3, c.inputGradientSeconds() * 1e3,
                        c.weightGradientSeconds() * 1e3, c.sendSeconds() * 1e3, bytes(c.parameterBytes()),
                        bytes(c.activationBytes())));
            }
        }
        plan.settings().schedule().ifPresent(name -> {
            DistributedTraining distributed = PhysicalLowering.lower(plan.graph(), plan.assignment());
            PipelineSetup pipeline = PipelineSetup.of(plan, distributed);
            s.append("schedule ").append(name.configName())
                    .append(pipeline.autoOrigin().map(origin -> " (chose " + origin + ")").orElse(""))
                    .append(", every device's actions per iteration (F, B, W of stage s and micro-batch j as sFj):\n");
            pipeline.schedule().orElseThrow().toText().lines().forEach(line -> s.append("  ").append(line).append("\n"));
            PlanProto compiled = ParallelExecutor.compile(distributed, ActorExecutorOptions.defaults()
                    .withSchedule(pipeline.schedule().orElseThrow(), pipeline.stageOfOp()), true);
            long[] registers = PlanMemory.allocatedRegisterBytes(compiled);
            s.append("registers the schedule's plan allocates (every output's quota x payload: an activation a "
                    + "deferred W reads is kept until it runs; tessera train reports the peak in use):\n ");
            for (int d = 0; d < registers.length; d++) {
                DeviceProto device = compiled.getDevices(d);
                s.append(' ').append(device.getNode()).append(':').append(device.getDevice()).append(' ')
                        .append(bytes(registers[d]));
            }
            s.append("\n");
        });
        s.append("\n");

        s.append("tensors (placement, NdSbp; * = fixed by a hint")
                .append(plan.search() != null ? ", others chosen by the auto search" : "")
                .append(stages > 1 ? "; local shape on the first device of its placement):\n"
                        : "; local shape on device " + plan.placement().device(0) + "):\n");
        int width = plan.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4);
        for (Tensor t : plan.tensors()) {
            NdSbp sbp = plan.assignment().layout(t);
            Placement placement = plan.assignment().placement(t);
            s.append(String.format(Locale.ROOT, "  %-" + width + "s  %-10s  %-22s  %s  %-12s %s%n", t.name(),
                    t.kind().name().toLowerCase(Locale.ROOT), t.type(), plan.placementId(placement),
                    sbp + (plan.hints().containsKey(t) ? "*" : ""), Sharding.localShape(t.shape(), placement, sbp, 0)));
        }

        List<SbpAssignment.InsertedBoxing> boxings = plan.assignment().boxings();
        double allBytes = boxings.stream().mapToDouble(plan::bytesPerIteration).sum();
        s.append("\nconversions (").append(boxings.size()).append(", ").append(bytes(allBytes))
                .append(" per iteration over all devices):\n");
        if (boxings.isEmpty()) {
            s.append("  none: every op reads its inputs in the layout they were produced in\n");
        }
        for (SbpAssignment.InsertedBoxing b : boxings) {
            BoxingPlan p = b.plan();
            s.append(String.format(Locale.ROOT, "  %-" + width + "s  %s -> %s  %-28s %s  %s per iteration%n", p.tensor(),
                    p.from(), p.to(), kinds(plan, p), consumer(b), bytes(plan.bytesPerIteration(b))));
        }

        gradientBuckets(plan, s);

        List<DeviceTotals> devices = DeviceTotals.of(plan);
        Map<String, long[]> registers = registers(plan);
        s.append("\nper device and iteration (memory without buffer reuse, an upper bound; registers: the "
                + "execution plan's activations and their gradients, one buffer each, and reused: with compute "
                + "outputs sharing buffers by liveness as the runtime does, one iteration simulated):\n");
        s.append(String.format(Locale.ROOT, "  %-7s %12s %12s %12s %12s %12s %12s %12s %12s %12s%n", "device",
                "parameters", "optimizer", "gradients", "activations", "memory", "registers", "reused", "GFLOP",
                "sent"));
        List<DeviceTotals> shown = devices.size() <= DEVICE_ROWS ? devices : devices.subList(0, DEVICE_ROWS);
        for (DeviceTotals d : shown) {
            s.append(row(d, registers));
        }
        if (shown.size() < devices.size()) {
            s.append("  ... ").append(devices.size() - shown.size()).append(" more (--json lists every device); busiest:\n");
            s.append(row(devices.stream().max((a, b) -> Double.compare(a.memoryBytes(), b.memoryBytes())).orElseThrow(),
                    registers));
        }
        return s.toString();
    }

    /**
     * Per device ({@code node:device}), the register memory of the execution plan the runtime runs:
     * one buffer per register, and with the compute outputs' registers sharing buffers by liveness
     * as the worker's register pools do (simulated over one iteration, {@link PlanMemory#withReuse};
     * -1 when the simulation could not finish).
     */
    private static Map<String, long[]> registers(ParallelPlan plan) {
        PlanProto compiled = executionPlan(plan);
        long[] without = PlanMemory.allocatedRegisterBytes(compiled);
        java.util.Optional<long[]> with = PlanMemory.withReuse(compiled);
        Map<String, long[]> out = new java.util.HashMap<>();
        for (int d = 0; d < without.length; d++) {
            DeviceProto device = compiled.getDevices(d);
            out.put(device.getNode() + ":" + device.getDevice(),
                    new long[] {without[d], with.isPresent() ? with.get()[d] : -1});
        }
        return out;
    }

    /** The plan the runtime compiles for this layout, with its schedule when there is one. */
    private static PlanProto executionPlan(ParallelPlan plan) {
        DistributedTraining distributed = PhysicalLowering.lower(plan.graph(), plan.assignment());
        ActorExecutorOptions options = ActorExecutorOptions.defaults()
                .withGradientBucketBytes(plan.settings().gradientBucketBytes());
        if (plan.settings().schedule().isPresent()) {
            PipelineSetup pipeline = PipelineSetup.of(plan, distributed);
            options = options.withSchedule(pipeline.schedule().orElseThrow(), pipeline.stageOfOp());
        }
        return ParallelExecutor.compile(distributed, options, true);
    }

    /**
     * The gradient buckets the plan compiler forms under {@code parallel.gradient_bucket_bytes}:
     * each one all-reduce over its gradients, listed in the order the backward produces them.
     */
    private static void gradientBuckets(ParallelPlan plan, StringBuilder s) {
        long limit = plan.settings().gradientBucketBytes();
        s.append("\ngradient buckets (parallel.gradient_bucket_bytes = ").append(limit == 0 ? "0" : bytes(limit))
                .append("): ");
        if (plan.settings().devices() == 1) {
            s.append("none, one device\n");
            return;
        }
        if (limit == 0) {
            s.append("none, one all-reduce per gradient\n");
            return;
        }
        // the plan the runtime runs, with its pipeline schedule when there is one
        PlanProto compiled = executionPlan(plan);
        Map<Integer, List<dev.tessera.proto.plan.CollectiveGroup>> buckets = new java.util.TreeMap<>();
        for (dev.tessera.proto.plan.CollectiveGroup group : compiled.getCollectiveGroupsList()) {
            if (group.getBucket() != 0) {
                buckets.computeIfAbsent(group.getBucket(), b -> new java.util.ArrayList<>()).add(group);
            }
        }
        if (buckets.isEmpty()) {
            s.append("none, no two gradient all-reduces share peers, dtype and phase\n");
            return;
        }
        s.append(buckets.size()).append(", each one ring all-reduce (or reduce-scatter) that starts when its last "
                + "gradient is produced\n");
        buckets.forEach((bucket, groups) -> {
            long total = groups.stream().mapToLong(dev.tessera.proto.plan.CollectiveGroup::getBytes).sum();
            dev.tessera.proto.plan.CollectiveGroup first = groups.get(0);
            StringBuilder devices = new StringBuilder();
            for (int member : first.getMembersList()) {
                DeviceProto device = compiled.getDevices(compiled.getActors(member).getDevice());
                devices.append(devices.length() == 0 ? "" : " ").append(device.getNode()).append(':')
                        .append(device.getDevice());
            }
            s.append(String.format(Locale.ROOT, "  bucket %d  %s  %d gradients%s, %s, on [%s]:%n", bucket,
                    compiled.getActors(first.getMembers(0)).getPhase() == dev.tessera.proto.graph.Phase.UPDATE
                            ? "update" : "W     ", groups.size(),
                    first.getConversion().equals("REDUCE_SCATTER") ? " reduce-scattered" : "", bytes(total), devices));
            StringBuilder names = new StringBuilder("   ");
            for (dev.tessera.proto.plan.CollectiveGroup group : groups) {
                String name = group.getName().replace("/all_reduce", "").replace("/reduce_scatter", "");
                if (names.length() + name.length() > 100) {
                    s.append(names).append('\n');
                    names = new StringBuilder("   ");
                }
                names.append(' ').append(name);
            }
            s.append(names).append('\n');
        });
    }

    private static String row(DeviceTotals d, Map<String, long[]> registers) {
        long[] r = registers.getOrDefault(d.device().toString(), new long[] {-1, -1});
        return String.format(Locale.ROOT, "  %-7s %12s %12s %12s %12s %12s %12s %12s %12.3f %12s%n", d.device(),
                bytes(d.parameterBytes()), bytes(d.optimizerStateBytes()), bytes(d.gradientBytes()),
                bytes(d.activationBytes()), bytes(d.memoryBytes()), r[0] < 0 ? "n/a" : bytes(r[0]),
                r[1] < 0 ? "n/a" : bytes(r[1]), d.flops() / 1e9, bytes(d.sentBytes()));
    }

    /** The steps' kinds, e.g. {@code all-reduce on data} or {@code send/recv p0 -> p1}. */
    static String kinds(ParallelPlan plan, BoxingPlan boxing) {
        return boxing.steps().stream().map(step -> kind(plan, step)).collect(Collectors.joining(", "));
    }

    static String kind(ParallelPlan plan, BoxingStep step) {
        if (step instanceof CollectiveStep c) {
            return c.conversion() + " on " + ParallelPlan.AXIS_NAMES.get(c.hierarchyAxis());
        }
        if (step instanceof SendRecvStep send) {
            return send.conversion() + " " + plan.placementId(send.from()) + " -> " + plan.placementId(send.to());
        }
        return step.conversion().toString();
    }

    /** The prefixes {@code parallel.stages} gives a stage, e.g. {@code "block1.", "head."}; stage 0 adds "the rest". */
    private static String stageRules(ParallelPlan plan, int stage) {
        if (plan.stagesBalanced()) {
            return "cut by the cost model";
        }
        List<String> prefixes = plan.settings().stages().entrySet().stream()
                .filter(e -> plan.settings().positionOfStage(e.getValue()) == stage)
                .map(e -> "\"" + e.getKey() + "\"").collect(Collectors.toList());
        if (stage == 0) {
            prefixes.add("every op no prefix names");
        }
        return String.join(", ", prefixes);
    }

    /** Where the conversion sits: before an op's input, or after an op whose output a hint fixed. */
    static String consumer(SbpAssignment.InsertedBoxing b) {
        Op op = b.op();
        return b.inputIndex() < 0 ? "after " + op.name() + " (hinted output)"
                : "into " + op.name() + " (" + op.def().type() + " input " + b.inputIndex() + ")"
                        + (b.shared() ? ", reusing an earlier consumer's conversion" : "");
    }

    /** Bytes with a binary unit, e.g. {@code 1.50 MiB}. */
    static String bytes(double value) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int unit = 0;
        while (Math.abs(value) >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? String.format(Locale.ROOT, "%.0f B", value) : String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
    }
}
