package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.worker.collective.CollectiveSchedule.Local;
import dev.tessera.worker.collective.CollectiveSchedule.Message;
import dev.tessera.worker.collective.CollectiveSchedule.Round;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * One member of a collective: runs its {@link CollectiveSchedule} over a {@link Communicator},
 * holding only its own input and output (and the schedule's scratch). Everything a run needs —
 * scratch buffers, packing buffers for pieces that are not contiguous, and per {@link Binding}
 * the views of the messages' pieces — is made before the first run; a run only copies, adds and
 * posts messages.
 *
 * <p>An actor's input and output registers rotate (one of a few buffers per step), so the member
 * is bound once to each pair of buffers it meets ({@link #bind}) and runs one binding at a time.
 * The run counter, which tells the messages of successive runs apart, belongs to the member, so
 * every member of a group counts the same runs whatever buffers they used.
 *
 * <p>Each round's continuation runs on the run's {@code executor} (the member's own thread, e.g.
 * its actor's device thread, which may differ from run to run), never on the thread that completed
 * a message, so one member's work never runs inside another's. Not thread-safe: one run at a time.
 */
public final class CollectiveMember {
    private final CollectiveSchedule schedule;
    private final Communicator communicator;
    private final TensorBuffer[] scratch;
    /** Per round, per send / receive: the packing buffer of a piece that is not contiguous, null where it is. */
    private final TensorBuffer[][] sendPacking;
    private final TensorBuffer[][] receivePacking;
    private final CompletableFuture<?>[][] pending;
    private int runs;

    /**
     * @param type the element type of the member's input, output and scratch
     */
    public CollectiveMember(CollectiveSchedule schedule, Communicator communicator, ElementType type) {
        this.schedule = schedule;
        this.communicator = communicator;
        List<Integer> sizes = schedule.scratchElements();
        scratch = new TensorBuffer[sizes.size()];
        for (int s = 0; s < scratch.length; s++) {
            scratch[s] = TensorBuffer.allocate(type, sizes.get(s));
        }
        List<Round> rounds = schedule.rounds();
        sendPacking = new TensorBuffer[rounds.size()][];
        receivePacking = new TensorBuffer[rounds.size()][];
        pending = new CompletableFuture<?>[rounds.size()][];
        for (int r = 0; r < rounds.size(); r++) {
            sendPacking[r] = packing(rounds.get(r).sends(), type);
            receivePacking[r] = packing(rounds.get(r).receives(), type);
            pending[r] = new CompletableFuture<?>[sendPacking[r].length + receivePacking[r].length];
        }
    }

    private static TensorBuffer[] packing(List<Message> messages, ElementType type) {
        TensorBuffer[] buffers = new TensorBuffer[messages.size()];
        for (int m = 0; m < buffers.length; m++) {
            ElementRuns runs = messages.get(m).runs();
            buffers[m] = runs.contiguous() ? null : TensorBuffer.allocate(type, runs.elements());
        }
        return buffers;
    }

    /**
     * This member's buffers for some runs: its part before and after, and the pieces of them
     * (or of the scratch) that go on the wire.
     *
     * @param input this member's part before (may be null when the schedule never reads it)
     * @param output this member's part after (may be null when the schedule never writes it)
     * @throws IllegalArgumentException when the schedule uses a buffer that is not given
     */
    public Binding bind(TensorBuffer input, TensorBuffer output) {
        return new Binding(input, output);
    }

    /** The buffers of one binding and the views of its messages' pieces. */
    public final class Binding {
        private final TensorBuffer[] buffers;
        private final TensorBuffer[][] sendWire;
        private final TensorBuffer[][] receiveWire;

        private Binding(TensorBuffer input, TensorBuffer output) {
            buffers = new TensorBuffer[CollectiveSchedule.SCRATCH + scratch.length];
            buffers[CollectiveSchedule.INPUT] = input;
            buffers[CollectiveSchedule.OUTPUT] = output;
            System.arraycopy(scratch, 0, buffers, CollectiveSchedule.SCRATCH, scratch.length);
            List<Round> rounds = schedule.rounds();
            sendWire = new TensorBuffer[rounds.size()][];
            receiveWire = new TensorBuffer[rounds.size()][];
            for (int r = 0; r < rounds.size(); r++) {
                sendWire[r] = wires(rounds.get(r).sends(), sendPacking[r]);
                receiveWire[r] = wires(rounds.get(r).receives(), receivePacking[r]);
            }
            for (Round round : rounds) {
                for (Local local : round.then()) {
                    if (local.operation() != CollectiveSchedule.Operation.ZERO) {
                        buffer(local.source());
                    }
                    buffer(local.target());
                }
            }
        }

        private TensorBuffer[] wires(List<Message> messages, TensorBuffer[] packing) {
            TensorBuffer[] wires = new TensorBuffer[messages.size()];
            for (int m = 0; m < wires.length; m++) {
                Message message = messages.get(m);
                ElementRuns runs = message.runs();
                wires[m] = packing[m] != null ? packing[m] : buffer(message.buffer()).slice(runs.first(), runs.elements());
            }
            return wires;
        }

        private TensorBuffer buffer(int index) {
            TensorBuffer b = buffers[index];
            if (b == null) {
                throw new IllegalArgumentException(schedule.description() + " on "
                        + communicator.device(communicator.rank()).name() + " uses its "
                        + (index == CollectiveSchedule.INPUT ? "input" : "output") + " but none was given");
            }
            return b;
        }
    }

    /**
     * Runs the schedule once.
     *
     * @return completes when this member's output holds its result; completes exceptionally with
     *     a {@link CollectiveException} naming the collective, the member's device and the round
     *     when a message fails (the transport's error, which names the peer, is its cause)
     */
    public CompletableFuture<Void> run(Binding binding, Executor executor) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        long runBits = (long) (runs++ & 0xFF) << 40;
        executor.execute(() -> advance(binding, executor, 0, runBits, done));
        return done;
    }

    private void advance(Binding binding, Executor executor, int first, long runBits, CompletableFuture<Void> done) {
        List<Round> rounds = schedule.rounds();
        try {
            for (int r = first; r < rounds.size(); r++) {
                Round round = rounds.get(r);
                if (round.sends().isEmpty() && round.receives().isEmpty()) {
                    finish(binding, r, round);
                    continue;
                }
                CompletableFuture<Void> posted = post(binding, r, round, runBits);
                int next = r;
                posted.whenCompleteAsync((ignored, failure) -> {
                    if (failure != null) {
                        done.completeExceptionally(failed(next, failure));
                        return;
                    }
                    try {
                        finish(binding, next, round);
                    } catch (RuntimeException e) {
                        done.completeExceptionally(failed(next, e));
                        return;
                    }
                    advance(binding, executor, next + 1, runBits, done);
                }, executor);
                return;
            }
            done.complete(null);
        } catch (RuntimeException e) {
            done.completeExceptionally(failed(first, e));
        }
    }

    private CompletableFuture<Void> post(Binding binding, int r, Round round, long runBits) {
        CompletableFuture<?>[] futures = pending[r];
        List<Message> sends = round.sends();
        for (int m = 0; m < sends.size(); m++) {
            Message message = sends.get(m);
            if (!message.runs().contiguous()) {
                BufferMath.apply(BufferMath.Kind.COPY, binding.buffers[message.buffer()], message.runs(),
                        binding.sendWire[r][m], ElementRuns.range(0, message.runs().elements()));
            }
            futures[m] = communicator.send(message.peer(), runBits | message.tag(), binding.sendWire[r][m]);
        }
        List<Message> receives = round.receives();
        for (int m = 0; m < receives.size(); m++) {
            Message message = receives.get(m);
            futures[sends.size() + m] = communicator.receive(message.peer(), runBits | message.tag(),
                    binding.receiveWire[r][m]);
        }
        return CompletableFuture.allOf(futures);
    }

    private void finish(Binding binding, int r, Round round) {
        TensorBuffer[] buffers = binding.buffers;
        List<Message> receives = round.receives();
        for (int m = 0; m < receives.size(); m++) {
            Message message = receives.get(m);
            if (!message.runs().contiguous()) {
                BufferMath.apply(BufferMath.Kind.COPY, binding.receiveWire[r][m],
                        ElementRuns.range(0, message.runs().elements()), buffers[message.buffer()], message.runs());
            }
        }
        for (Local local : round.then()) {
            switch (local.operation()) {
                case COPY -> BufferMath.apply(BufferMath.Kind.COPY, buffers[local.source()], local.sourceRuns(),
                        buffers[local.target()], local.targetRuns());
                case ADD -> BufferMath.apply(BufferMath.Kind.ADD, buffers[local.source()], local.sourceRuns(),
                        buffers[local.target()], local.targetRuns());
                case ZERO -> BufferMath.zero(buffers[local.target()], local.targetRuns());
            }
        }
    }

    private CollectiveException failed(int round, Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        return new CollectiveException(schedule.description() + " on " + communicator.device(communicator.rank()).name()
                + " failed in round " + round + " of " + schedule.rounds().size() + ": " + cause.getMessage(), cause);
    }

    /** The bytes this member has sent so far, as its communicator counted them. */
    public long bytesSent() {
        return communicator.bytesSent();
    }
}
