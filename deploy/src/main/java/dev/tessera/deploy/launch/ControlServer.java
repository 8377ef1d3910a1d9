package dev.tessera.deploy.launch;

import dev.tessera.proto.control.CoordinatorMessage;
import dev.tessera.proto.control.Heartbeat;
import dev.tessera.proto.control.Register;
import dev.tessera.proto.control.WorkerMessage;
import dev.tessera.worker.process.ControlFrames;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The coordinator's end of the control channel: a TCP server the workers connect to, one
 * connection each. A connection's first frame must register a process of this job that has not
 * registered yet; after that every message, and the connection's loss or its silence beyond the
 * heartbeat time-out, becomes an {@link Event} of that process on one queue, read by the
 * coordinator's thread. A heartbeat goes to every worker every 500 ms.
 */
final class ControlServer implements AutoCloseable {
    /**
     * @param message what the worker sent, or null when it is lost
     * @param lost why the worker is taken for dead (its connection closed, it went silent), or null
     * @param receivedNanos {@link System#nanoTime()} when the network thread read the message (clock
     *     probes are timed by it, not by when the coordinator's thread took the event)
     */
    record Event(int process, WorkerMessage message, String lost, long receivedNanos) {
        Event(int process, WorkerMessage message, String lost) {
            this(process, message, lost, System.nanoTime());
        }
    }

    private final EventLoopGroup group;
    private final Channel server;
    private final AtomicReferenceArray<Channel> workers;
    private final long[] lastHeardNanos;

    private ControlServer(EventLoopGroup group, Channel server, int processes) {
        this.group = group;
        this.server = server;
        this.workers = new AtomicReferenceArray<>(processes);
        this.lastHeardNanos = new long[processes];
    }

    /** Listens on a free port of the loopback address. */
    static ControlServer start(String jobId, int processes, Duration heartbeatTimeout, BlockingQueue<Event> events) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ControlServer[] self = new ControlServer[1];
        try {
            Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            int[] process = {-1};
                            ControlFrames.install(channel.pipeline(), WorkerMessage.parser(), message -> {
                                if (process[0] < 0) {
                                    process[0] = self[0].register(channel, message, jobId);
                                    if (process[0] < 0) {
                                        return;
                                    }
                                }
                                long now = System.nanoTime();
                                self[0].lastHeardNanos[process[0]] = now;
                                if (!message.hasHeartbeat()) {
                                    events.add(new Event(process[0], message, null, now));
                                }
                            }, why -> {
                                if (process[0] >= 0) {
                                    events.add(new Event(process[0], null, "its control connection was " + why));
                                }
                            });
                        }
                    }).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).syncUninterruptibly().channel();
            ControlServer control = new ControlServer(group, server, processes);
            self[0] = control;
            group.scheduleAtFixedRate(() -> control.beat(heartbeatTimeout, events), 500, 500, TimeUnit.MILLISECONDS);
            return control;
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    /** Binds a connection to the process its first frame names; refuses another job's or a second one. */
    private int register(Channel channel, WorkerMessage message, String jobId) {
        if (!message.hasRegister()) {
            channel.close();
            return -1;
        }
        Register register = message.getRegister();
        int process = register.getProcess();
        if (!register.getJobId().equals(jobId) || process < 0 || process >= workers.length()
                || !workers.compareAndSet(process, null, channel)) {
            channel.close();
            return -1;
        }
        return process;
    }

    private void beat(Duration heartbeatTimeout, BlockingQueue<Event> events) {
        long now = System.nanoTime();
        CoordinatorMessage beat = CoordinatorMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();
        for (int p = 0; p < workers.length(); p++) {
            Channel channel = workers.get(p);
            if (channel != null && channel.isActive()) {
                channel.writeAndFlush(beat);
                if (now - lastHeardNanos[p] > heartbeatTimeout.toNanos()) {
                    events.add(new Event(p, null, "it sent nothing on its control connection for "
                            + (now - lastHeardNanos[p]) / 1_000_000 + " ms (transport.control.heartbeat-timeout is "
                            + heartbeatTimeout.toMillis() + " ms)"));
                    lastHeardNanos[p] = now;
                }
            }
        }
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** Sends {@code message} to {@code process}, if it is connected. */
    void send(int process, CoordinatorMessage message) {
        Channel channel = workers.get(process);
        if (channel != null) {
            channel.writeAndFlush(message);
        }
    }

    @Override
    public void close() {
        for (int p = 0; p < workers.length(); p++) {
            Channel channel = workers.get(p);
            if (channel != null) {
                channel.close();
            }
        }
        server.close().awaitUninterruptibly(2000);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3000);
    }
}
