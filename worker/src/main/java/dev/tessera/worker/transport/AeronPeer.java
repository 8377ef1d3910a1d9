package dev.tessera.worker.transport;

import dev.tessera.runtime.plan.Device;
import java.util.List;

/**
 * One process of the job as the transport sees it: where it listens and which devices it owns.
 * Every process is given the same list of peers, in the same order (its index is the process's
 * number on the wire), and its own index in it.
 *
 * @param name shown in errors, e.g. {@code "worker-1 (pid 4711)"}
 * @param channel the Aeron channel this process subscribes on: {@code aeron:ipc} (processes that
 *     share one driver) or {@code aeron:udp?endpoint=host:port}
 * @param streamId the stream this process subscribes on; processes sharing an IPC channel differ here
 * @param devices the devices this process owns
 */
public record AeronPeer(String name, String channel, int streamId, List<Device> devices) {
    public AeronPeer {
        devices = List.copyOf(devices);
        if (!channel.startsWith("aeron:ipc") && !channel.startsWith("aeron:udp")) {
            throw new IllegalArgumentException("peer " + name + " has channel '" + channel + "'; use aeron:ipc or "
                    + "aeron:udp?endpoint=host:port");
        }
    }

    /** A peer on the IPC channel of a shared driver. */
    public static AeronPeer ipc(String name, int streamId, List<Device> devices) {
        return new AeronPeer(name, "aeron:ipc", streamId, devices);
    }

    /** A peer listening on UDP {@code host:port}. */
    public static AeronPeer udp(String name, String host, int port, List<Device> devices) {
        return new AeronPeer(name, "aeron:udp?endpoint=" + host + ":" + port, 1001, devices);
    }

    boolean isIpc() {
        return channel.startsWith("aeron:ipc");
    }
}
