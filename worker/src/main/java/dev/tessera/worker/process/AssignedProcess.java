package dev.tessera.worker.process;

import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.fragment.ProcessIdentity;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.process.AeronConfig;
import dev.tessera.proto.process.ProcessAssignment;
import dev.tessera.proto.process.ProcessPeer;
import dev.tessera.runtime.plan.Device;
import dev.tessera.sbp.DeviceId;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ProcessExecutor;
import dev.tessera.worker.actors.ProcessFragments;
import dev.tessera.worker.transport.AeronPeer;
import dev.tessera.worker.transport.AeronSettings;
import dev.tessera.worker.transport.AeronTransport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A worker process set up from its {@code ProcessAssignment}: the Aeron transport to the other
 * processes (settings checked at start-up, each bad one named), and the executor of its
 * fragments over it. The graph is the caller's, rebuilt from the assignment's {@code graph} text.
 */
public final class AssignedProcess implements AutoCloseable {
    private final AeronTransport transport;
    private final ProcessExecutor executor;

    private AssignedProcess(AeronTransport transport, ProcessExecutor executor) {
        this.transport = transport;
        this.executor = executor;
    }

    /**
     * @throws IllegalArgumentException when a transport setting is out of range, or a fragment
     *     names an op or tensor {@code distributed} lacks (it was compiled from another graph)
     * @throws dev.tessera.plan.fragment.InvalidFragmentException when a fragment is not this process's
     */
    public static AssignedProcess start(ProcessAssignment assignment, DistributedTraining distributed,
                                        ActorExecutorOptions options) {
        AeronSettings settings = settings(assignment);
        List<AeronPeer> peers = new ArrayList<>();
        for (ProcessPeer peer : assignment.getPeersList()) {
            peers.add(new AeronPeer(peer.getName(), peer.getChannel(), peer.getStreamId(), devices(peer.getDevicesList())));
        }
        AeronTransport transport = AeronTransport.start(settings, peers, assignment.getProcess());
        try {
            List<DeviceId> own = assignment.getTraining().getDevicesList().stream()
                    .map(d -> new DeviceId(d.getNode(), d.getDevice())).toList();
            ProcessIdentity self = new ProcessIdentity(assignment.getJobId(), assignment.getPlanVersion(),
                    assignment.getProcess(), own);
            ProcessExecutor executor = new ProcessExecutor(distributed, assignment.getSeed(), options,
                    new ProcessFragments(assignment.getTraining(), assignment.hasGradientsOnly()
                            ? assignment.getGradientsOnly() : null, self, transport, settings.deliveryTimeout()));
            return new AssignedProcess(transport, executor);
        } catch (RuntimeException | Error e) {
            transport.close();
            throw e;
        }
    }

    /** The transport settings of the assignment, checked. */
    public static AeronSettings settings(ProcessAssignment assignment) {
        AeronConfig aeron = assignment.getAeron();
        AeronSettings defaults = AeronSettings.defaults(assignment.getJobId().hashCode());
        AeronSettings settings = defaults.withExternalDriver(Path.of(aeron.getDriverDirectory()))
                .withTermLength(aeron.getTermLength()).withMtu(aeron.getMtu())
                .withIdleStrategy(aeron.getIdleStrategy())
                .withTimeouts(Duration.ofMillis(aeron.getDeliveryTimeoutMs()),
                        Duration.ofMillis(aeron.getConnectTimeoutMs()), Duration.ofMillis(aeron.getPeerTimeoutMs()));
        return settings.check();
    }

    private static List<Device> devices(List<DeviceProto> devices) {
        return devices.stream().map(d -> new Device(d.getIndex(), d.getNode() + ":" + d.getDevice())).toList();
    }

    public ProcessExecutor executor() {
        return executor;
    }

    @Override
    public void close() {
        executor.close();
        transport.close();
    }
}
