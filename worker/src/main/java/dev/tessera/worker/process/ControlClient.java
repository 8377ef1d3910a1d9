package dev.tessera.worker.process;

import dev.tessera.proto.control.AbandonRun;
import dev.tessera.proto.control.ClockReply;
import dev.tessera.proto.control.CoordinatorMessage;
import dev.tessera.proto.control.Heartbeat;
import dev.tessera.proto.control.WorkerMessage;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A worker's end of the control channel: one TCP connection to the coordinator, a heartbeat every
 * {@link #HEARTBEAT_INTERVAL}, and the coordinator's messages queued for the worker's own thread,
 * except requests to abandon a run (handed to {@link #onAbandon}) and clock probes, which the
 * network thread answers at once with this JVM's
 * {@link System#nanoTime()} (the coordinator aligns the workers' traces with them).
 * When the connection closes, or the coordinator stays silent longer than the heartbeat
 * time-out, {@code onLoss} is called once with what happened: a worker without its coordinator
 * has nobody to report to, so it ends.
 */
public final class ControlClient implements AutoCloseable {
    public static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(500);
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final BlockingQueue<CoordinatorMessage> inbox = new LinkedBlockingQueue<>();
    private volatile Channel channel;
    private volatile long lastHeardNanos = System.nanoTime();
    private volatile boolean closing;
    private boolean lossReported;
    private volatile Consumer<AbandonRun> onAbandon = abandon -> { };

    private ControlClient() {
    }

    /**
     * @throws IllegalStateException naming the address when no coordinator answers there within {@code connectTimeout}
     */
    public static ControlClient connect(InetSocketAddress coordinator, Duration connectTimeout,
                                        Duration heartbeatTimeout, Consumer<String> onLoss) {
        ControlClient client = new ControlClient();
        try {
            ChannelFuture connected = new Bootstrap().group(client.group).channel(NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            ControlFrames.install(channel.pipeline(), CoordinatorMessage.parser(), message -> {
                                long now = System.nanoTime();
                                client.lastHeardNanos = now;
                                if (message.hasClockProbe()) {
                                    // answered here, not by the busy worker thread, so the round trip
                                    // brackets the reading tightly
                                    channel.writeAndFlush(WorkerMessage.newBuilder().setClockReply(
                                            ClockReply.newBuilder().setRequest(message.getClockProbe().getRequest())
                                                    .setNanos(now)).build());
                                } else if (message.hasAbandonRun()) {
                                    // the worker's own thread may be blocked in the run it ends
                                    client.onAbandon.accept(message.getAbandonRun());
                                } else if (!message.hasHeartbeat()) {
                                    client.inbox.add(message);
                                }
                            }, why -> client.lost("the coordinator at " + coordinator + " is gone: its connection was "
                                    + why, onLoss));
                        }
                    }).connect(coordinator);
            if (!connected.awaitUninterruptibly(connectTimeout.toMillis() + 1000) || !connected.isSuccess()) {
                throw new IllegalStateException("cannot reach the coordinator at " + coordinator + " ("
                        + (connected.cause() == null ? "no answer in " + connectTimeout : connected.cause()) + ")");
            }
            client.channel = connected.channel();
            long interval = HEARTBEAT_INTERVAL.toMillis();
            client.group.scheduleAtFixedRate(() -> {
                client.channel.writeAndFlush(WorkerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance())
                        .build());
                long silent = System.nanoTime() - client.lastHeardNanos;
                if (silent > heartbeatTimeout.toNanos()) {
                    client.lost("the coordinator at " + coordinator + " sent nothing for " + silent / 1_000_000
                            + " ms (heartbeat time-out " + heartbeatTimeout.toMillis() + " ms)", onLoss);
                }
            }, interval, interval, TimeUnit.MILLISECONDS);
            return client;
        } catch (RuntimeException e) {
            client.group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    /** Tells {@code onLoss} once, unless this end is closing the connection itself. */
    private synchronized void lost(String why, Consumer<String> onLoss) {
        if (!lossReported && !closing) {
            lossReported = true;
            onLoss.accept(why);
        }
    }

    /** What the network thread does with an {@code AbandonRun}, instead of queueing it. */
    public void onAbandon(Consumer<AbandonRun> handler) {
        onAbandon = handler;
    }

    /** Queues {@code message} for sending; frames leave in the order they were sent. */
    public void send(WorkerMessage message) {
        channel.writeAndFlush(message);
    }

    /** Sends {@code message} and waits until it is written to the socket (the last words of a failing worker). */
    public void sendAndWait(WorkerMessage message, Duration timeout) {
        channel.writeAndFlush(message).awaitUninterruptibly(timeout.toMillis());
    }

    /** The coordinator's next message; blocks until one arrives. */
    public CoordinatorMessage take() throws InterruptedException {
        return inbox.take();
    }

    /** The coordinator's next message, or null when none came within {@code timeout}. */
    public CoordinatorMessage poll(Duration timeout) throws InterruptedException {
        return inbox.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        closing = true;
        channel.close().awaitUninterruptibly(2000);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3000);
    }
}
