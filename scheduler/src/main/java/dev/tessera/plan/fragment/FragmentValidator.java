package dev.tessera.plan.fragment;

import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.RemoteEdge;
import dev.tessera.sbp.DeviceId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a plan fragment before any of its actors starts: it is for this process's job, plan
 * version and devices, and every data edge that crosses the process is a remote edge with a
 * partner. Each problem names the actor, device or edge involved and says what to change.
 */
public final class FragmentValidator {
    private FragmentValidator() {
    }

    /** Throws {@link InvalidFragmentException} listing every problem of {@code fragment} for {@code self}. */
    public static void requireValid(PlanFragment fragment, ProcessIdentity self) {
        List<String> problems = problems(fragment, self);
        if (!problems.isEmpty()) {
            throw new InvalidFragmentException(problems);
        }
    }

    /** Every problem of {@code fragment} as the fragment of process {@code self}; empty when it can run. */
    public static List<String> problems(PlanFragment fragment, ProcessIdentity self) {
        List<String> problems = new ArrayList<>();
        String which = "the fragment for process " + fragment.getProcess();
        if (!fragment.getJobId().equals(self.jobId())) {
            problems.add(which + " is of job '" + fragment.getJobId() + "' but this process runs job '" + self.jobId()
                    + "'; send it the fragment of its own job");
        }
        if (fragment.getPlanVersion() != self.planVersion()) {
            problems.add(which + " is of plan version " + fragment.getPlanVersion() + " but this process expects "
                    + "version " + self.planVersion() + "; send it the fragment of the current plan");
        }
        if (fragment.getProcess() != self.process()) {
            problems.add(which + " was sent to process " + self.process() + "; send each process its own fragment");
        }
        Set<Integer> deviceIndices = new HashSet<>();
        for (DeviceProto device : fragment.getDevicesList()) {
            DeviceId id = new DeviceId(device.getNode(), device.getDevice());
            if (!self.devices().contains(id)) {
                problems.add(which + " names device " + id + " (plan index " + device.getIndex()
                        + "), which is not in this process (it holds " + self.devices() + "); cut the plan with "
                        + "this process's devices");
            }
            if (!deviceIndices.add(device.getIndex())) {
                problems.add(which + " names device index " + device.getIndex() + " twice");
            }
        }
        problems.addAll(edgeProblems(fragment, deviceIndices));
        return problems;
    }

    private static List<String> edgeProblems(PlanFragment fragment, Set<Integer> deviceIndices) {
        List<String> problems = new ArrayList<>();
        Map<Integer, ActorProto> local = new HashMap<>();
        for (ActorProto actor : fragment.getActorsList()) {
            if (local.put(actor.getId(), actor) != null) {
                problems.add("actor " + actor.getId() + " ('" + actor.getName() + "') appears twice in the fragment");
            }
            if (!deviceIndices.contains(actor.getDevice())) {
                problems.add("actor '" + actor.getName() + "' (" + actor.getOp() + ") runs on device index "
                        + actor.getDevice() + ", which is not one of the fragment's devices " + deviceIndices
                        + "; it belongs to another process's fragment");
            }
        }
        Set<Integer> ids = new HashSet<>();
        Map<Long, RemoteEdge> receivesByInput = new HashMap<>();
        for (RemoteEdge receive : fragment.getReceivesList()) {
            if (!ids.add(receive.getId())) {
                problems.add("remote edge " + receive.getId() + " appears twice in the fragment");
            }
            ActorProto consumer = local.get(receive.getConsumer());
            if (consumer == null) {
                problems.add("remote receive " + describe(receive) + " delivers to actor " + receive.getConsumer()
                        + ", which is not in this fragment");
            } else if (receive.getConsumerInput() >= consumer.getInputsCount()
                    || !matches(consumer.getInputs(receive.getConsumerInput()), receive)) {
                problems.add("remote receive " + describe(receive) + " does not match input "
                        + receive.getConsumerInput() + " of '" + consumer.getName() + "'; cut the plan again");
            }
            if (local.containsKey(receive.getProducer())) {
                problems.add("remote receive " + describe(receive) + " comes from actor " + receive.getProducer()
                        + " of this fragment; a local edge needs no remote receive");
            }
            receivesByInput.put(key(receive.getConsumer(), receive.getConsumerInput()), receive);
        }
        for (RemoteEdge send : fragment.getSendsList()) {
            if (!ids.add(send.getId())) {
                problems.add("remote edge " + send.getId() + " appears twice in the fragment");
            }
            ActorProto producer = local.get(send.getProducer());
            if (producer == null) {
                problems.add("remote send " + describe(send) + " comes from actor " + send.getProducer()
                        + ", which is not in this fragment");
            } else if (send.getOutput() >= producer.getOutputsCount()) {
                problems.add("remote send " + describe(send) + " reads output " + send.getOutput() + " of '"
                        + producer.getName() + "', which has " + producer.getOutputsCount() + " outputs");
            }
            if (local.containsKey(send.getConsumer())) {
                problems.add("remote send " + describe(send) + " goes to actor " + send.getConsumer()
                        + " of this fragment; a local edge needs no remote send");
            }
        }
        for (ActorProto actor : fragment.getActorsList()) {
            for (int input = 0; input < actor.getInputsCount(); input++) {
                InputEdge edge = actor.getInputs(input);
                if (!local.containsKey(edge.getProducer()) && !receivesByInput.containsKey(key(actor.getId(), input))) {
                    problems.add("input " + input + " of '" + actor.getName() + "' (" + actor.getOp()
                            + ") reads actor " + edge.getProducer() + " of another process without a remote "
                            + "receive: the edge has no partner; cut the plan with PlanFragments.cut");
                }
            }
        }
        return problems;
    }

    /** Problems of a set of fragments as one plan: same job and cut, each process once, every remote edge matched. */
    static List<String> joinProblems(List<PlanFragment> fragments) {
        List<String> problems = new ArrayList<>();
        if (fragments.isEmpty()) {
            problems.add("no fragment to join; pass the fragment of every process");
            return problems;
        }
        PlanFragment first = fragments.get(0);
        boolean[] seen = new boolean[Math.max(first.getProcesses(), 0)];
        Map<Integer, RemoteEdge> sends = new HashMap<>();
        Map<Integer, RemoteEdge> receives = new HashMap<>();
        for (PlanFragment fragment : fragments) {
            if (!fragment.getJobId().equals(first.getJobId()) || fragment.getPlanVersion() != first.getPlanVersion()) {
                problems.add("the fragment for process " + fragment.getProcess() + " is of job '" + fragment.getJobId()
                        + "' version " + fragment.getPlanVersion() + ", the first of job '" + first.getJobId()
                        + "' version " + first.getPlanVersion() + "; join fragments of one plan");
            }
            if (fragment.getProcesses() != first.getProcesses() || fragment.getMicroBatches() != first.getMicroBatches()) {
                problems.add("the fragment for process " + fragment.getProcess() + " comes from another cut ("
                        + fragment.getProcesses() + " processes, " + fragment.getMicroBatches() + " micro-batches)");
            }
            int process = fragment.getProcess();
            if (process < 0 || process >= seen.length) {
                problems.add("process " + process + " is outside the cut's " + seen.length + " processes");
            } else if (seen[process]) {
                problems.add("process " + process + " is given twice");
            } else {
                seen[process] = true;
            }
            fragment.getSendsList().forEach(edge -> sends.put(edge.getId(), edge));
            fragment.getReceivesList().forEach(edge -> receives.put(edge.getId(), edge));
        }
        for (int process = 0; process < seen.length; process++) {
            if (!seen[process]) {
                problems.add("the fragment of process " + process + " is missing");
            }
        }
        sends.forEach((id, send) -> {
            RemoteEdge receive = receives.get(id);
            if (receive == null) {
                problems.add("remote send " + describe(send) + " has no partner receive in process "
                        + send.getConsumerProcess());
            } else if (!receive.equals(send)) {
                problems.add("remote edge " + id + " differs between its send " + describe(send) + " and its receive "
                        + describe(receive));
            }
        });
        receives.forEach((id, receive) -> {
            if (!sends.containsKey(id)) {
                problems.add("remote receive " + describe(receive) + " has no partner send in process "
                        + receive.getProducerProcess());
            }
        });
        return problems;
    }

    private static boolean matches(InputEdge input, RemoteEdge edge) {
        return input.getProducer() == edge.getProducer() && input.getOutput() == edge.getOutput();
    }

    private static long key(int actor, int input) {
        return ((long) actor << 32) | input;
    }

    private static String describe(RemoteEdge edge) {
        return edge.getId() + " (actor " + edge.getProducer() + " output " + edge.getOutput() + " in process "
                + edge.getProducerProcess() + " -> actor " + edge.getConsumer() + " input " + edge.getConsumerInput()
                + " in process " + edge.getConsumerProcess() + ")";
    }
}
