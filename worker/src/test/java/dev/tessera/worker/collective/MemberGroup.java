package dev.tessera.worker.collective;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.InProcessTransport;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportCommunicator;
import dev.tessera.tensor.HostTensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Devices of one JVM for collective tests: an in-process transport over {@code devices} devices,
 * one thread per device (the member's executor), the bytes each device sent. Runs the members of
 * one group concurrently and waits, with a time-out, for all of them.
 */
final class MemberGroup implements AutoCloseable {
    private final List<Device> devices = new ArrayList<>();
    private final List<ExecutorService> threads = new ArrayList<>();
    private final InProcessTransport transport;
    private final SentBytes sent;
    private int groups;

    MemberGroup(int devices) {
        for (int d = 0; d < devices; d++) {
            this.devices.add(new Device(d, "cpu:" + d));
            int index = d;
            threads.add(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "member-cpu:" + index);
                t.setDaemon(true);
                return t;
            }));
        }
        this.transport = new InProcessTransport(this.devices, Duration.ofSeconds(10));
        this.sent = new SentBytes(devices);
    }

    Device device(int index) {
        return devices.get(index);
    }

    long sentBy(int device) {
        return sent.of(devices.get(device));
    }

    void resetCounts() {
        sent.reset();
    }

    /** One schedule per member of the group {@code members} (device indices in rank order); runs them all once. */
    void run(int[] members, List<CollectiveSchedule> schedules, List<TensorBuffer> inputs, List<TensorBuffer> outputs)
            throws Exception {
        run(members, schedules, inputs, outputs, CollectiveMember.DEFAULT_WINDOW);
    }

    /** The same with members that keep up to {@code window} rounds in flight. */
    void run(int[] members, List<CollectiveSchedule> schedules, List<TensorBuffer> inputs, List<TensorBuffer> outputs,
            int window) throws Exception {
        List<Device> group = new ArrayList<>();
        for (int m : members) {
            group.add(devices.get(m));
        }
        int groupId = groups++ & 0xFFFF;
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int i = 0; i < members.length; i++) {
            Communicator communicator = new TransportCommunicator(transport, groupId, group, i, sent);
            CollectiveMember member = new CollectiveMember(schedules.get(i), communicator,
                    typeOf(inputs.get(i), outputs.get(i)), window);
            runs.add(member.run(member.bind(inputs.get(i), outputs.get(i)), threads.get(members[i])));
        }
        CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    int size() {
        return devices.size();
    }

    /** Communicators of a new group over {@code members} (device indices in rank order), rank 0 first. */
    List<Communicator> communicators(int[] members) {
        List<Device> group = new ArrayList<>();
        for (int m : members) {
            group.add(devices.get(m));
        }
        int groupId = groups++ & 0xFFFF;
        List<Communicator> out = new ArrayList<>();
        for (int i = 0; i < members.length; i++) {
            out.add(new TransportCommunicator(transport, groupId, group, i, sent));
        }
        return out;
    }

    /** The thread of device {@code device}, a member's executor. */
    ExecutorService thread(int device) {
        return threads.get(device);
    }

    /**
     * Runs only member {@code rank} of the group {@code members}, its peers never starting, with a
     * delivery time-out of {@code timeoutMillis}: how a stopped peer looks to a member.
     */
    void runAlone(int rank, int[] members, CollectiveSchedule schedule, TensorBuffer input, TensorBuffer output,
            long timeoutMillis) throws Exception {
        List<Device> group = new ArrayList<>();
        for (int m : members) {
            group.add(devices.get(m));
        }
        try (InProcessTransport impatient = new InProcessTransport(devices, Duration.ofMillis(timeoutMillis))) {
            Communicator communicator = new TransportCommunicator(impatient, 0, group, rank, sent);
            CollectiveMember member = new CollectiveMember(schedule, communicator, typeOf(input, output));
            member.run(member.bind(input, output), threads.get(members[rank])).get(30, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        transport.close();
        threads.forEach(ExecutorService::shutdownNow);
    }

    private static ElementType typeOf(TensorBuffer input, TensorBuffer output) {
        return (input != null ? input : output).type();
    }

    static ElementType elementType(DType dtype) {
        return switch (dtype) {
            case F32 -> ElementType.F32;
            case F64 -> ElementType.F64;
            case I32 -> ElementType.I32;
        };
    }

    static TensorBuffer toBuffer(HostTensor t) {
        TensorBuffer b = TensorBuffer.allocate(elementType(t.dtype()), t.shape().toArray());
        for (int i = 0; i < t.size(); i++) {
            switch (t.dtype()) {
                case F32 -> b.putFloat(i, t.floats()[i]);
                case F64 -> b.putDouble(i, t.doubles()[i]);
                case I32 -> b.putInt(i, t.ints()[i]);
            }
        }
        return b;
    }

    static HostTensor toHost(TensorBuffer b, DType dtype) {
        Shape shape = Shape.of(b.shape());
        HostTensor t = HostTensor.zeros(shape, dtype);
        for (int i = 0; i < t.size(); i++) {
            switch (dtype) {
                case F32 -> t.floats()[i] = b.getFloat(i);
                case F64 -> t.doubles()[i] = b.getDouble(i);
                case I32 -> t.ints()[i] = b.getInt(i);
            }
        }
        return t;
    }
}
