package dev.tessera.plan.fragment;

import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.MemberDevice;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.plan.RemoteEdge;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Cuts a plan into one fragment per process and joins fragments back into the plan. Every data
 * edge from an actor of one process to an actor of another becomes a {@link RemoteEdge} that the
 * producer's fragment holds among its sends and the consumer's among its receives, with the same
 * id. Control and iteration edges order actors of one device, so they never leave a process.
 * Each fragment also holds the plan's whole device table and the device of every collective
 * member of another process, so a process can address the far end of each of its messages.
 */
public final class PlanFragments {
    private PlanFragments() {
    }

    /**
     * @param processOfDevice for each device index of the plan, the process that runs it;
     *     processes are numbered 0..n-1 and each runs at least one device
     * @return the fragment of each process, in process order
     * @throws IllegalArgumentException when a device has no process, or a process number is
     *     skipped
     */
    public static List<PlanFragment> cut(PlanProto plan, Map<Integer, Integer> processOfDevice) {
        int processes = processCount(plan, processOfDevice);
        List<PlanFragment.Builder> fragments = new ArrayList<>();
        for (int process = 0; process < processes; process++) {
            fragments.add(PlanFragment.newBuilder().setJobId(plan.getJobId()).setPlanVersion(plan.getPlanVersion())
                    .setMicroBatches(plan.getMicroBatches()).setProcess(process).setProcesses(processes));
        }
        for (DeviceProto device : plan.getDevicesList()) {
            fragments.get(processOfDevice.get(device.getIndex())).addDevices(device);
        }
        int edges = 0;
        for (ActorProto actor : plan.getActorsList()) {
            int process = processOf(plan, actor.getId(), processOfDevice);
            fragments.get(process).addActors(actor);
            for (int input = 0; input < actor.getInputsCount(); input++) {
                InputEdge edge = actor.getInputs(input);
                int producerProcess = processOf(plan, edge.getProducer(), processOfDevice);
                if (producerProcess != process) {
                    ActorProto producer = plan.getActors(edge.getProducer());
                    RemoteEdge remote = RemoteEdge.newBuilder().setId(edges++).setProducer(edge.getProducer())
                            .setOutput(edge.getOutput()).setConsumer(actor.getId()).setConsumerInput(input)
                            .setProducerProcess(producerProcess).setConsumerProcess(process)
                            .setProducerDevice(producer.getDevice()).setConsumerDevice(actor.getDevice())
                            .setProducerOutput(producer.getOutputs(edge.getOutput())).build();
                    fragments.get(producerProcess).addSends(remote);
                    fragments.get(process).addReceives(remote);
                }
            }
        }
        for (PlanFragment.Builder fragment : fragments) {
            fragment.addAllPlanDevices(plan.getDevicesList());
        }
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            boolean[] added = new boolean[processes];
            for (int member : group.getMembersList()) {
                int process = processOf(plan, member, processOfDevice);
                if (!added[process]) {
                    added[process] = true;
                    fragments.get(process).addCollectiveGroups(group);
                }
            }
            for (int process = 0; process < processes; process++) {
                if (!added[process]) {
                    continue;
                }
                for (int member : group.getMembersList()) {
                    if (processOf(plan, member, processOfDevice) != process) {
                        fragments.get(process).addMemberDevices(MemberDevice.newBuilder().setActor(member)
                                .setDevice(plan.getActors(member).getDevice()));
                    }
                }
            }
        }
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            fragments.get(processOfDevice.get(order.getDevice())).addActionOrders(order);
        }
        return fragments.stream().map(PlanFragment.Builder::build).toList();
    }

    /** Every device of a plan in the process of its node: the usual cut, one worker process per node. */
    public static Map<Integer, Integer> processPerNode(PlanProto plan) {
        Map<Integer, Integer> processOfNode = new TreeMap<>();
        plan.getDevicesList().forEach(device -> processOfNode.put(device.getNode(), 0));
        int next = 0;
        for (Map.Entry<Integer, Integer> node : processOfNode.entrySet()) {
            node.setValue(next++);
        }
        Map<Integer, Integer> processOfDevice = new LinkedHashMap<>();
        plan.getDevicesList().forEach(device -> processOfDevice.put(device.getIndex(),
                processOfNode.get(device.getNode())));
        return processOfDevice;
    }

    /**
     * The plan the fragments were cut from.
     *
     * @throws InvalidFragmentException when the fragments are of different jobs, plan versions
     *     or cuts, a process is missing or given twice, or a remote edge has no partner
     */
    public static PlanProto join(List<PlanFragment> fragments) {
        List<String> problems = FragmentValidator.joinProblems(fragments);
        if (!problems.isEmpty()) {
            throw new InvalidFragmentException(problems);
        }
        PlanFragment first = fragments.get(0);
        PlanProto.Builder plan = PlanProto.newBuilder().setJobId(first.getJobId())
                .setPlanVersion(first.getPlanVersion()).setMicroBatches(first.getMicroBatches());
        List<DeviceProto> devices = new ArrayList<>();
        List<ActorProto> actors = new ArrayList<>();
        Map<Integer, CollectiveGroup> groups = new TreeMap<>();
        List<DeviceActionOrder> orders = new ArrayList<>();
        for (PlanFragment fragment : fragments) {
            devices.addAll(fragment.getDevicesList());
            actors.addAll(fragment.getActorsList());
            fragment.getCollectiveGroupsList().forEach(group -> groups.putIfAbsent(group.getIndex(), group));
            orders.addAll(fragment.getActionOrdersList());
        }
        devices.sort(Comparator.comparingInt(DeviceProto::getIndex));
        actors.sort(Comparator.comparingInt(ActorProto::getId));
        orders.sort(Comparator.comparingInt(DeviceActionOrder::getDevice));
        return plan.addAllDevices(devices).addAllActors(actors).addAllCollectiveGroups(groups.values())
                .addAllActionOrders(orders).build();
    }

    private static int processCount(PlanProto plan, Map<Integer, Integer> processOfDevice) {
        int processes = 0;
        for (DeviceProto device : plan.getDevicesList()) {
            Integer process = processOfDevice.get(device.getIndex());
            if (process == null || process < 0) {
                throw new IllegalArgumentException("device " + device.getNode() + ":" + device.getDevice()
                        + " (index " + device.getIndex() + ") has no process; map every device of the plan to one");
            }
            processes = Math.max(processes, process + 1);
        }
        boolean[] used = new boolean[processes];
        plan.getDevicesList().forEach(device -> used[processOfDevice.get(device.getIndex())] = true);
        for (int process = 0; process < processes; process++) {
            if (!used[process]) {
                throw new IllegalArgumentException("process " + process + " runs no device; number the processes "
                        + "0.." + (processes - 1) + " without gaps");
            }
        }
        return processes;
    }

    private static int processOf(PlanProto plan, int actor, Map<Integer, Integer> processOfDevice) {
        return processOfDevice.get(plan.getActors(actor).getDevice());
    }
}
