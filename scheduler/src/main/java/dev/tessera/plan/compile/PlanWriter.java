package dev.tessera.plan.compile;

import dev.tessera.collective.AllGather;
import dev.tessera.collective.AllReduce;
import dev.tessera.collective.AllToAll;
import dev.tessera.collective.ReduceScatter;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
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
import dev.tessera.sbp.boxing.Conversion;
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
                    .setTensor(holds == null ? "" : holds.name()));
        }
        actor.after.forEach(proto::addControlPredecessors);
        actor.afterPreviousIteration.forEach(proto::addIterationPredecessors);
        switch (actor.kind) {
            case COMPUTE -> {
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

    /**
     * The members of one collective are the compute actors of a collective op that read the same
     * tensors (every member reads all members' parts, in rank order), one per device.
     */
    private static List<CollectiveGroup> collectiveGroups(PlanOptions options, List<ActorDraft> actors) {
        Map<List<Tensor>, List<ActorDraft>> groups = new LinkedHashMap<>();
        for (ActorDraft actor : actors) {
            if (actor.kind == ActorKind.COMPUTE && collective(actor.op.def())) {
                groups.computeIfAbsent(actor.op.inputs(), inputs -> new ArrayList<>()).add(actor);
            }
        }
        List<CollectiveGroup> out = new ArrayList<>();
        groups.values().forEach(members -> {
            Op op = members.get(0).op;
            Tensor part = op.input(0);
            long bytes = part.shape().size() * part.dtype().bytes();
            CollectiveGroup.Builder group = CollectiveGroup.newBuilder().setIndex(out.size()).setName(members.get(0).name)
                    .setOp(members.get(0).opType).setBytes(bytes)
                    .setAlgorithm(algorithm(op))
                    .setChunkBytes(options.collectiveChunkBytes());
            members.forEach(member -> group.addMembers(member.id));
            out.add(group.build());
        });
        return out;
    }

    /**
     * The boxing table's choice for this collective ({@link dev.tessera.sbp.boxing.CollectiveAlgorithm#choose}
     * over the tensor the group holds together), so the plan runs what the cost model charged.
     */
    private static CollectiveAlgorithm algorithm(Op op) {
        OpDef def = op.def();
        Conversion conversion;
        Tensor group;
        if (def instanceof AllReduce) {
            conversion = Conversion.ALL_REDUCE;
            group = op.output(0);
        } else if (def instanceof AllGather) {
            conversion = Conversion.ALL_GATHER;
            group = op.output(0);
        } else if (def instanceof ReduceScatter) {
            conversion = Conversion.REDUCE_SCATTER;
            group = op.input(0);
        } else {
            conversion = Conversion.ALL_TO_ALL;
            group = op.input(0);
        }
        long bytes = group.shape().size() * group.dtype().bytes();
        return dev.tessera.sbp.boxing.CollectiveAlgorithm.choose(conversion, bytes)
                == dev.tessera.sbp.boxing.CollectiveAlgorithm.DIRECT ? CollectiveAlgorithm.DIRECT : CollectiveAlgorithm.RING;
    }

    private static boolean collective(OpDef def) {
        return def instanceof AllReduce || def instanceof AllGather || def instanceof ReduceScatter
                || def instanceof AllToAll;
    }
}
