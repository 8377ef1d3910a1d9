package dev.tessera.bench;

import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.examples.gpt.AdditionTask;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpText;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.collective.CollectiveSchedule;
import dev.tessera.worker.collective.Collectives;
import dev.tessera.worker.exec.ComputeThreads;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the execution plan of the GPT example (examples/configs/gpt-addition.conf) moves between
 * devices when trained data parallel on 2 and 4 virtual devices, read off the compiled plan:
 * actors, transfer actors and collective members; per iteration, the messages (a transfer's hand-off
 * is one, so is each message a collective member sends) and the bytes each device sends. Then
 * the step time of 1, 2 and 4 devices, interleaved in one process, each relative to 1 device.
 *
 * <p>Written against the plan's Protobuf form only, so that the same file measures an older
 * build of the plan (fields it lacks are read through the descriptor and count as absent).
 *
 * <p>Arguments: warm-up chunks (2), repeats (7), steps per chunk (10), GPT batch (64).
 */
public final class PlanTrafficBenchmark {
    private PlanTrafficBenchmark() {
    }

    public static void main(String[] args) {
        int warmup = argument(args, 0, 2);
        int repeats = argument(args, 1, 7);
        int chunk = argument(args, 2, 10);
        int batchSize = argument(args, 3, 64);
        ComputeThreads.set(1);
        AdditionTask task = new AdditionTask(3, 0, 1000);
        TrainingGraph graph = GptBench.trainingGraph(task, batchSize);
        List<List<Map<String, HostTensor>>> batches = GptBench.steps(task, batchSize, chunk);
        double[] rates = GptBench.rates(chunk);
        Map<Tensor, NdSbp> hints = new HashMap<>();
        for (Tensor input : graph.forward().inputs()) {
            hints.put(input, NdSbp.of(Sbp.split(0)));
        }
        List<ParallelExecutor> executors = new ArrayList<>();
        List<Harness.Contender> contenders = new ArrayList<>();
        try {
            for (int devices : new int[] {1, 2, 4}) {
                DistributedTraining layout = DistributedTraining.plan(graph, Placement.onNode(0, devices), hints,
                        CostModel.standard());
                ParallelExecutor executor = new ParallelExecutor(layout, 1, ActorExecutorOptions.defaults());
                executors.add(executor);
                report("GPT batch " + batchSize + " on " + devices + " device(s)", executor.compiledPlan(),
                        layout.physical());
                contenders.add(new Harness.Contender(devices + " device(s)", () -> executor.run(batches, rates)));
            }
            List<Harness.Result> results = new Harness(warmup, repeats, 1).measure(contenders);
            System.out.println(warmup + " warm-up chunks each, then " + repeats + " interleaved repeats of " + chunk
                    + " steps:");
            for (Harness.Result result : results) {
                System.out.println(String.format(Locale.ROOT, "  %-12s median %7.2f ms/step; relative to 1 device "
                        + "%.3f (median of back-to-back ratios)", result.name(), result.median() / chunk,
                        Harness.pairedRatio(result, results.get(0))));
            }
        } finally {
            executors.forEach(ParallelExecutor::close);
        }
    }

    /** Actors, transfers, collective members, messages and bytes per iteration of one plan. */
    private static void report(String what, PlanProto plan, TrainingGraph graph) {
        int microBatches = plan.getMicroBatches();
        int transfers = 0;
        int tokenTransfers = 0;
        int members = 0;
        long[] bytes = new long[plan.getDevicesCount()];
        long messages = 0;
        for (ActorProto actor : plan.getActorsList()) {
            if (actor.getKind().name().equals("COLLECTIVE")) {
                members++;
            }
            if (!actor.getKind().name().equals("TRANSFER")) {
                continue;
            }
            transfers++;
            String tensor = actor.getOutputs(0).getTensor();
            long size = 0;
            if (tensor.isEmpty()) {
                tokenTransfers++;
            } else {
                Tensor moved = graph.forward().store().tensor(tensor);
                size = moved.shape().size() * moved.dtype().bytes();
            }
            messages += microBatches;
            bytes[plan.getActors(actor.getInputs(0).getProducer()).getDevice()] += size * microBatches;
        }
        FieldDescriptor bytesSent = CollectiveGroup.getDescriptor().findFieldByName("bytes_sent");
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            if (bytesSent == null) {
                break; // a plan from before collectives ran over the transport: its transfers fed them
            }
            for (int rank = 0; rank < group.getMembersCount(); rank++) {
                ActorProto member = plan.getActors(group.getMembers(rank));
                int runs = member.getPhase().name().equals("UPDATE") ? 1 : microBatches;
                bytes[member.getDevice()] += (Long) group.getRepeatedField(bytesSent, rank) * runs;
                messages += (long) sends(group, rank) * runs;
            }
        }
        long total = Arrays.stream(bytes).sum();
        System.out.println(String.format(Locale.ROOT, "%s: %d actors, %d transfer actors (%d of them tokens), %d "
                + "collective members, %d collective groups; per iteration %d messages, %.1f KiB sent in all, per "
                + "device %s KiB", what, plan.getActorsCount(), transfers, tokenTransfers, members,
                plan.getCollectiveGroupsCount(), messages, total / 1024.0, Arrays.toString(Arrays.stream(bytes)
                        .mapToObj(b -> String.format(Locale.ROOT, "%.1f", b / 1024.0)).toArray())));
    }

    /** Messages member {@code rank} of {@code group} sends in one run, by its schedule. */
    private static int sends(CollectiveGroup group, int rank) {
        FieldDescriptor shapeField = CollectiveGroup.getDescriptor().findFieldByName("shape");
        long[] shape = ((List<?>) group.getField(shapeField)).stream().mapToLong(d -> (Long) d).toArray();
        String conversion = (String) group.getField(CollectiveGroup.getDescriptor().findFieldByName("conversion"));
        String from = (String) group.getField(CollectiveGroup.getDescriptor().findFieldByName("from_sbp"));
        String to = (String) group.getField(CollectiveGroup.getDescriptor().findFieldByName("to_sbp"));
        GroupParts parts = GroupParts.of(Conversion.valueOf(conversion), SbpText.parse(from).get(0),
                SbpText.parse(to).get(0), Shape.of(shape), group.getMembersCount());
        CollectiveAlgorithm algorithm = CollectiveAlgorithm.valueOf(group.getAlgorithm().name());
        int elementBytes = (int) Math.max(1, group.getBytes() / Math.max(1, parts.elements()));
        int chunk = group.getChunkBytes() == 0 ? Integer.MAX_VALUE : (int) (group.getChunkBytes() / elementBytes);
        CollectiveSchedule schedule = Collectives.conversion(parts, algorithm, rank, chunk);
        return schedule.rounds().stream().mapToInt(round -> round.sends().size()).sum();
    }

    private static int argument(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
