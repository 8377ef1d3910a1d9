package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.control.CoordinatorMessage;
import dev.tessera.proto.control.Ready;
import dev.tessera.proto.control.Register;
import dev.tessera.proto.control.WorkerMessage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The coordinator's control server over plain sockets: frames are a 4-byte big-endian length and
 * one Protobuf message; a connection must first register a process of this job that has not
 * registered yet, or it is closed; a registered worker's loss and silence become events.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ControlServerTest {
    private final BlockingQueue<ControlServer.Event> events = new LinkedBlockingQueue<>();

    private static void write(Socket socket, WorkerMessage message) throws IOException {
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        byte[] bytes = message.toByteArray();
        out.writeInt(bytes.length);
        out.write(bytes);
        out.flush();
    }

    private static WorkerMessage register(String job, int process) {
        return WorkerMessage.newBuilder().setRegister(Register.newBuilder().setJobId(job).setProcess(process).setPid(1))
                .build();
    }

    /** Whether the server closes the connection within 3 s (reading the heartbeats it sends meanwhile). */
    private static boolean closedByServer(Socket socket) throws IOException {
        socket.setSoTimeout(1000);
        DataInputStream in = new DataInputStream(socket.getInputStream());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        try {
            while (System.nanoTime() < deadline) {
                int length = in.readInt();
                in.readFully(new byte[length]);
            }
            return false;
        } catch (java.io.EOFException e) {
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        }
    }

    @Test
    void shouldAcceptARegisteredWorkerAndPassItsMessagesOn() throws Exception {
        try (ControlServer server = ControlServer.start("job-a", 2, Duration.ofSeconds(10), events);
                Socket worker = new Socket(server.address().getAddress(), server.address().getPort())) {
            write(worker, register("job-a", 1));
            write(worker, WorkerMessage.newBuilder().setReady(Ready.newBuilder().setProcess(1)).build());
            ControlServer.Event registered = events.poll(5, TimeUnit.SECONDS);
            ControlServer.Event ready = events.poll(5, TimeUnit.SECONDS);
            assertNotNull(ready);
            assertEquals(1, registered.process());
            assertTrue(registered.message().hasRegister() && ready.message().hasReady());

            server.send(1, CoordinatorMessage.newBuilder().setShutdown(dev.tessera.proto.control.Shutdown.newBuilder()
                    .setReason("test")).build());
            worker.setSoTimeout(5000);
            DataInputStream in = new DataInputStream(worker.getInputStream());
            CoordinatorMessage received;
            do {
                byte[] frame = new byte[in.readInt()];
                in.readFully(frame);
                received = CoordinatorMessage.parseFrom(frame);
            } while (received.hasHeartbeat());
            assertEquals("test", received.getShutdown().getReason());

            worker.close();
            ControlServer.Event lost = events.poll(5, TimeUnit.SECONDS);
            assertEquals(1, lost.process());
            assertTrue(lost.lost().startsWith("its control connection was closed by the other side"), lost.lost());
        }
    }

    @Test
    void shouldCloseAConnectionOfAnotherJobAnUnknownProcessASecondRegistrationOrGarbage() throws Exception {
        try (ControlServer server = ControlServer.start("job-a", 2, Duration.ofSeconds(10), events);
                Socket first = new Socket(server.address().getAddress(), server.address().getPort());
                Socket otherJob = new Socket(server.address().getAddress(), server.address().getPort());
                Socket unknown = new Socket(server.address().getAddress(), server.address().getPort());
                Socket twice = new Socket(server.address().getAddress(), server.address().getPort());
                Socket garbage = new Socket(server.address().getAddress(), server.address().getPort())) {
            write(first, register("job-a", 0));
            assertNotNull(events.poll(5, TimeUnit.SECONDS));
            write(otherJob, register("job-b", 1));
            write(unknown, register("job-a", 2));
            write(twice, register("job-a", 0));
            DataOutputStream out = new DataOutputStream(garbage.getOutputStream());
            out.writeInt(3);
            out.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
            out.flush();

            assertTrue(closedByServer(otherJob), "another job's worker");
            assertTrue(closedByServer(unknown), "process 2 of 2");
            assertTrue(closedByServer(twice), "process 0 a second time");
            assertTrue(closedByServer(garbage), "a frame that is not a message");
            assertNull(events.poll(200, TimeUnit.MILLISECONDS), "no event of a refused connection");
            assertTrue(!closedByServer(first), "the registered worker stays connected");
        }
    }

    @Test
    void shouldTakeASilentWorkerForDead() throws Exception {
        try (ControlServer server = ControlServer.start("job-a", 1, Duration.ofSeconds(1), events);
                Socket worker = new Socket(server.address().getAddress(), server.address().getPort())) {
            write(worker, register("job-a", 0));
            assertTrue(events.poll(5, TimeUnit.SECONDS).message().hasRegister());
            ControlServer.Event silent = events.poll(5, TimeUnit.SECONDS);
            assertNotNull(silent, "no event for a worker silent beyond the heartbeat time-out");
            assertTrue(silent.lost().contains("sent nothing on its control connection"), silent.lost());
        }
    }
}
