package dev.tessera.runtime;

import dev.tessera.graph.Phase;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random valid plans: 1 to 3 devices, 1 or 2 sources, up to 10 compute actors each reading
 * 1 to 3 earlier outputs, a sink, quotas 1 to 3, some control edges between actors of one
 * device, and a transfer actor wherever a tensor crosses devices. Every edge goes from a lower
 * id to a higher one, so the plan is acyclic by construction.
 */
final class RandomPlans {
    private RandomPlans() {
    }

    static Plan create(Random random) {
        PlanBuilder plan = new PlanBuilder();
        int deviceCount = 1 + random.nextInt(3);
        for (int device = 0; device < deviceCount; device++) {
            plan.device("cpu:" + device);
        }
        List<ActorInfo> actors = new ArrayList<>();
        Map<String, Integer> transfers = new HashMap<>();
        int sources = 1 + random.nextInt(2);
        for (int source = 0; source < sources; source++) {
            int device = random.nextInt(deviceCount);
            int outputs = 1 + random.nextInt(2);
            PlanBuilder.ActorBuilder actor = plan.actor("source" + source, "Source", device).kind(ActorKind.SOURCE);
            for (int output = 0; output < outputs; output++) {
                actor.output(1 + random.nextInt(3));
            }
            actors.add(new ActorInfo(actor.add(), device, outputs));
        }
        int computes = 1 + random.nextInt(10);
        Phase[] phases = Phase.values();
        for (int compute = 0; compute < computes; compute++) {
            int device = random.nextInt(deviceCount);
            int inputCount = 1 + random.nextInt(3);
            List<int[]> inputs = new ArrayList<>();
            for (int input = 0; input < inputCount; input++) {
                inputs.add(reachable(plan, random, actors, transfers, device));
            }
            PlanBuilder.ActorBuilder actor = plan.actor("op" + compute, "Op" + compute, device)
                    .phase(phases[random.nextInt(phases.length)]);
            inputs.forEach(ref -> actor.input(ref[0], ref[1]));
            int outputs = 1 + random.nextInt(2);
            for (int output = 0; output < outputs; output++) {
                actor.output(1 + random.nextInt(3));
            }
            if (random.nextInt(3) == 0) {
                List<ActorInfo> sameDevice = actors.stream().filter(info -> info.device() == device).toList();
                if (!sameDevice.isEmpty()) {
                    actor.after(sameDevice.get(random.nextInt(sameDevice.size())).id());
                }
            }
            actors.add(new ActorInfo(actor.add(), device, outputs));
        }
        int sinkDevice = random.nextInt(deviceCount);
        int[] last = reachableOutput(plan, random, actors.get(actors.size() - 1), 0, transfers, sinkDevice);
        PlanBuilder.ActorBuilder sink = plan.actor("sink", "Loss", sinkDevice).kind(ActorKind.SINK).input(last[0], last[1]);
        if (random.nextBoolean()) {
            int[] other = reachable(plan, random, actors, transfers, sinkDevice);
            sink.input(other[0], other[1]);
        }
        sink.add();
        return withIterationEdges(plan.build(), random);
    }

    /**
     * Some actors act in an iteration only after another actor of their device, earlier or
     * later in the plan, finished the previous iteration (as a parameter waits for its update).
     */
    private static Plan withIterationEdges(Plan plan, Random random) {
        List<ActorSpec> actors = new ArrayList<>();
        for (ActorSpec actor : plan.actors()) {
            List<Integer> candidates = plan.actors().stream()
                    .filter(other -> other.device() == actor.device() && other.id() != actor.id()
                            && !actor.controlPredecessors().contains(other.id()))
                    .map(ActorSpec::id).toList();
            List<Integer> iterationPredecessors = candidates.isEmpty() || random.nextInt(4) != 0
                    ? List.of() : List.of(candidates.get(random.nextInt(candidates.size())));
            actors.add(new ActorSpec(actor.id(), actor.name(), actor.op(), actor.device(), actor.phase(),
                    actor.kind(), actor.inputs(), actor.outputs(), actor.controlPredecessors(), iterationPredecessors));
        }
        return Plan.of(plan.devices(), actors);
    }

    /** A random output of an earlier actor, through a transfer actor when it is on another device. */
    private static int[] reachable(PlanBuilder plan, Random random, List<ActorInfo> actors,
                                   Map<String, Integer> transfers, int device) {
        ActorInfo producer = actors.get(random.nextInt(actors.size()));
        return reachableOutput(plan, random, producer, random.nextInt(producer.outputs()), transfers, device);
    }

    private static int[] reachableOutput(PlanBuilder plan, Random random, ActorInfo producer, int output,
                                         Map<String, Integer> transfers, int device) {
        if (producer.device() == device) {
            return new int[] {producer.id(), output};
        }
        String key = producer.id() + ":" + output + "->" + device;
        Integer transfer = transfers.get(key);
        if (transfer == null) {
            transfer = plan.actor("transfer" + transfers.size(), "Transfer", device).kind(ActorKind.TRANSFER)
                    .input(producer.id(), output).output(1 + random.nextInt(3)).add();
            transfers.put(key, transfer);
        }
        return new int[] {transfer, 0};
    }

    private record ActorInfo(int id, int device, int outputs) {
    }

    static boolean isTransfer(ActorSpec spec) {
        return spec.kind() == ActorKind.TRANSFER;
    }
}
