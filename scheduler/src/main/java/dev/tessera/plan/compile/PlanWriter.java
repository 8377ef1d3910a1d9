package dev.tessera.plan.compile;

import dev.tessera.collective.GroupCollective;
import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveAlgorithm;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.ComputeProto;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.Operand;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.plan.SinkProto;
import dev.tessera.proto.plan.SourceProto;
import dev.tessera.proto.graph.Phase;
import dev.tessera.sbp.DeviceId;
import dev.tessera.proto.graph.DataType;
import dev.tessera.sbp.boxing.CollectiveBytes;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes the compiler's actors as a {@link PlanProto}, with one collective group per collective. */
final class PlanWriter {
    private PlanWriter() {
    }

    static PlanProto write(PlanOptions options, int microBatches, List<DeviceId> devices, List<ActorDraft> actors) {
        PlanProto.Builder plan = PlanProto.newBuilder().setJobId(options.jobId()).setPlanVersion(options.planVersion())
                .setMicroBatches(microBatches);
        for (int d = 0; d < devices.size(); d++) {
            plan.addDevices(DeviceProto.newBuilder().setIndex(d).setNode(devices.get(d).node())
                    .setDevice(devices.get(d).device()));
        }
        for (ActorDraft actor : actors) {
            plan.addActors(actor(actor));
        }
        collectiveGroups(options, actors).forEach(plan::addCollectiveGroups);
        return plan.build();
    }

    private static ActorProto actor(ActorDraft actor) {
        ActorProto.Builder proto = ActorProto.newBuilder().setId(actor.id).setName(actor.name).setOp(actor.opType)
                .setDevice(actor.device).setKind(actor.kind)
                .setPhase(actor.phase == null ? Phase.PHASE_UNSPECIFIED : Phase.valueOf(actor.phase.name()));
        actor.inputs.forEach(input -> proto.addInputs(InputEdge.newBuilder().setProducer(input[0]).setOutput(input[1])));
        for (int o = 0; o < actor.quotas.size(); o++) {
            Tensor holds = actor.outputTensors.get(o);
            proto.addOutputs(OutputProto.newBuilder().setQuota(actor.quotas.get(o))
                    .setTensor(holds == null ? "" : holds.name())
                    .setBytes(holds == null ? 0 : holds.shape().size() * holds.dtype().bytes())
                    .setPayloadType(holds == null ? "" : holds.type().toString()));
        }
        actor.after.forEach(proto::addControlPredecessors);
        actor.afterPreviousIteration.forEach(proto::addIterationPredecessors);
        switch (actor.kind) {
            case COMPUTE, COLLECTIVE -> {
                ComputeProto.Builder compute = ComputeProto.newBuilder().setGraphOp(actor.op.name());
                for (int k = 0; k < actor.operands.length; k++) {
                    Operand.Builder operand = Operand.newBuilder().setTensor(actor.reads[k].name());
                    switch (actor.operands[k]) {
                        case ActorDraft.PERSISTENT -> operand.setPersistent(true);
                        case ActorDraft.LEARNING_RATE -> operand.setLearningRate(true);
                        case ActorDraft.OPTIMIZER_STEP -> operand.setOptimizerStep(true);
                        default -> operand.setRegisterInput(actor.operands[k]);
                    }
                    compute.addOperands(operand);
                }
                proto.setCompute(compute);
            }
            case SOURCE -> proto.setSource(SourceProto.newBuilder().setTensor(actor.tensor.name()));
            case SINK -> proto.setSink(SinkProto.newBuilder().setRole(actor.sinkRole).setTensor(actor.tensor.name()));
            default -> {
            }
        }
        return proto.build();
    }

    /** For each group, the groups whose member actors its members wait for, through data and control edges. */
    private static List<java.util.Set<Integer>> dependencies(List<ActorDraft> actors,
            List<CollectiveGroup.Builder> groups) {
        Map<Integer, ActorDraft> byId = new java.util.HashMap<>();
        actors.forEach(a -> byId.put(a.id, a));
        Map<Integer, Integer> groupOfActor = new java.util.HashMap<>();
        for (int g = 0; g < groups.size(); g++) {
            for (int member : groups.get(g).getMembersList()) {
                groupOfActor.put(member, g);
            }
        }
        List<java.util.Set<Integer>> out = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            java.util.Set<Integer> found = new java.util.HashSet<>();
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>(groups.get(g).getMembersList());
            while (!todo.isEmpty()) {
                ActorDraft actor = byId.get(todo.pop());
                if (actor == null) {
                    continue;
                }
                for (int[] input : actor.inputs) {
                    if (seen.add(input[0])) {
                        todo.push(input[0]);
                    }
                }
                for (int before : actor.after) {
                    if (seen.add(before)) {
                        todo.push(before);
                    }
                }
            }
            for (int id : seen) {
                Integer other = groupOfActor.get(id);
                if (other != null && other != g) {
                    found.add(other);
                }
            }
            out.add(found);
        }
        return out;
    }

    /** The schedule stage of a member's op, else of the op producing its input; -1 when neither has one. */
    private static int stage(PlanOptions options, ActorDraft member, Map<Integer, ActorDraft> byId) {
        Integer stage = options.stageOfOp().get(member.op.name());
        if (stage == null && !member.inputs.isEmpty()) {
            ActorDraft producer = byId.get(member.inputs.get(0)[0]);
            stage = producer == null || producer.op == null ? null : options.stageOfOp().get(producer.op.name());
        }
        return stage == null ? -1 : stage;
    }

    /**
     * One group per collective: the member actors of the {@link GroupCollective} ops that share a
     * collective id, in rank order, with everything a worker needs to build the member's schedule
     * and the bytes each member sends as the boxing table counts them.
     */
    private static List<CollectiveGroup> collectiveGroups(PlanOptions options, List<ActorDraft> actors) {
        Map<Integer, ActorDraft[]> groups = new LinkedHashMap<>();
        for (ActorDraft actor : actors) {
            if (actor.kind == ActorKind.COLLECTIVE) {
                GroupCollective def = (GroupCollective) actor.op.def();
                ActorDraft[] members = groups.computeIfAbsent(def.group(), g -> new ActorDraft[def.members()]);
                if (members.length != def.members() || members[def.member()] != null) {
                    throw new IllegalArgumentException("collective " + def.group() + " has two members of rank "
                            + def.member() + " or disagrees on its size (actor '" + actor.name + "')");
                }
                members[def.member()] = actor;
            }
        }
        List<CollectiveGroup.Builder> out = new ArrayList<>();
        List<GroupParts> partsOf = new ArrayList<>();
        List<GradientBuckets.Candidate> candidates = new ArrayList<>();
        Map<Integer, Integer> producedAt = new java.util.HashMap<>();
        Map<Integer, ActorDraft> byId = new java.util.HashMap<>();
        actors.forEach(a -> byId.put(a.id, a));
        groups.forEach((id, members) -> {
            for (int rank = 0; rank < members.length; rank++) {
                if (members[rank] == null) {
                    throw new IllegalArgumentException("collective " + id + " has no member of rank " + rank
                            + "; every device of a peer group runs its member");
                }
            }
            ActorDraft first = members[0];
            GroupCollective def = (GroupCollective) first.op.def();
            DType dtype = first.op.input(0).dtype();
            GroupParts parts = def.parts();
            String name = first.name.contains("@") ? first.name.substring(0, first.name.lastIndexOf('@')) : first.name;
            CollectiveGroup.Builder group = CollectiveGroup.newBuilder().setIndex(out.size()).setName(name)
                    .setOp(first.opType).setBytes(parts.elements() * dtype.bytes())
                    .setAlgorithm(CollectiveAlgorithm.valueOf(def.algorithm().name()))
                    .setChunkBytes(options.collectiveChunkBytes())
                    .setConversion(def.conversion().name()).setFromSbp(def.from().toString())
                    .setToSbp(def.to().toString()).setDtype(DataType.valueOf(dtype.name())).setGroupId(id);
            for (long d : def.groupShape().toLongArray()) {
                group.addShape(d);
            }
            List<Integer> devices = new ArrayList<>();
            for (int rank = 0; rank < members.length; rank++) {
                group.addMembers(members[rank].id);
                group.addBytesSent(CollectiveBytes.sentBy(parts, def.algorithm(), rank, dtype.bytes()));
                devices.add(members[rank].device);
            }
            candidates.add(new GradientBuckets.Candidate(out.size(), first.phase, def.conversion(), def.algorithm(),
                    dtype, devices, group.getBytes(), stage(options, first, byId)));
            // the order gradients become ready: their producer's place in the plan (a W op, in backward order)
            producedAt.put(out.size(), first.inputs.isEmpty() ? first.id : first.inputs.get(0)[0]);
            out.add(group);
            partsOf.add(parts);
        });
        // under a pipeline schedule too: the orders let a bucket's members move on when they start
        if (options.gradientBucketBytes() > 0) {
            candidates.sort(java.util.Comparator.comparingInt(c -> producedAt.get(c.index())));
            int[] buckets = GradientBuckets.assign(candidates, options.gradientBucketBytes(),
                    dependencies(actors, out));
            for (int g = 0; g < out.size(); g++) {
                CollectiveGroup.Builder group = out.get(g);
                group.setBucket(buckets[g]);
                if (buckets[g] != 0) {
                    // the bucket runs as a ring: each member sends the ring's pieces of this gradient
                    int elementBytes = (int) (group.getBytes() / Math.max(1, partsOf.get(g).elements()));
                    group.clearBytesSent();
                    for (int rank = 0; rank < group.getMembersCount(); rank++) {
                        group.addBytesSent(CollectiveBytes.sentBy(partsOf.get(g),
                                dev.tessera.sbp.boxing.CollectiveAlgorithm.RING, rank, elementBytes));
                    }
                }
            }
        }
        return out.stream().map(CollectiveGroup.Builder::build).toList();
    }
}
