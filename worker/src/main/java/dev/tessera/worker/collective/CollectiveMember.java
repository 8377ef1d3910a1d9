package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.Communicator;
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
 * scratch buffers, per-message views, packing buffers for pieces that are not contiguous — is
 * made here, once; a run only copies, adds and posts messages.
 *
 * <p>Each round's continuation runs on {@code executor} (the member's own thread, e.g. its
 * device's dispatcher), never on the thread that completed a message, so one member's work never
 * runs inside another's. Not thread-safe: one run at a time.
 */
public final class CollectiveMember {
    private final CollectiveSchedule schedule;
    private final Communicator communicator;
    private final Executor executor;
    private final TensorBuffer[] buffers;
    /** Per round, per send / receive: the contiguous buffer that goes on the wire. */
    private final TensorBuffer[][] sendWire;
    private final TensorBuffer[][] receiveWire;
    private final CompletableFuture<?>[][] pending;
    private int runs;

    /**
     * @param input this member's part before (may be null when the schedule never reads it)
     * @param output this member's part after (may be null when the schedule never writes it)
     */
    public CollectiveMember(CollectiveSchedule schedule, Communicator communicator, TensorBuffer input,
            TensorBuffer output, Executor executor) {
        this.schedule = schedule;
        this.communicator = communicator;
        this.executor = executor;
        TensorBuffer typed = input != null ? input : output;
        List<Integer> scratch = schedule.scratchElements();
        buffers = new TensorBuffer[CollectiveSchedule.SCRATCH + scratch.size()];
        buffers[CollectiveSchedule.INPUT] = input;
        buffers[CollectiveSchedule.OUTPUT] = output;
        for (int s = 0; s < scratch.size(); s++) {
            buffers[CollectiveSchedule.SCRATCH + s] = TensorBuffer.allocate(typed.type(), scratch.get(s));
        }
        List<Round> rounds = schedule.rounds();
        sendWire = new TensorBuffer[rounds.size()][];
        receiveWire = new TensorBuffer[rounds.size()][];
        pending = new CompletableFuture<?>[rounds.size()][];
        for (int r = 0; r < rounds.size(); r++) {
            sendWire[r] = wires(rounds.get(r).sends());
            receiveWire[r] = wires(rounds.get(r).receives());
            pending[r] = new CompletableFuture<?>[sendWire[r].length + receiveWire[r].length];
        }
    }

    private TensorBuffer[] wires(List<Message> messages) {
        TensorBuffer[] wires = new TensorBuffer[messages.size()];
        for (int m = 0; m < wires.length; m++) {
            Message message = messages.get(m);
            TensorBuffer buffer = buffer(message.buffer());
            ElementRuns runs = message.runs();
            wires[m] = runs.contiguous() ? buffer.slice(runs.first(), runs.elements())
                    : TensorBuffer.allocate(buffer.type(), runs.elements());
        }
        return wires;
    }

    private TensorBuffer buffer(int index) {
        TensorBuffer b = buffers[index];
        if (b == null) {
            throw new IllegalArgumentException(schedule.description() + " on " + communicator.device(communicator.rank())
                    .name() + " uses its " + (index == CollectiveSchedule.INPUT ? "input" : "output")
                    + " but none was given");
        }
        return b;
    }

    /**
     * Runs the schedule once.
     *
     * @return completes when this member's output holds its result; completes exceptionally with
     *     a {@link CollectiveException} naming the collective, the member's device and the round
     *     when a message fails (the transport's error, which names the peer, is its cause)
     */
    public CompletableFuture<Void> run() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        long runBits = (long) (runs++ & 0xFF) << 40;
        executor.execute(() -> advance(0, runBits, done));
        return done;
    }

    private void advance(int first, long runBits, CompletableFuture<Void> done) {
        List<Round> rounds = schedule.rounds();
        try {
            for (int r = first; r < rounds.size(); r++) {
                Round round = rounds.get(r);
                if (round.sends().isEmpty() && round.receives().isEmpty()) {
                    finish(r, round);
                    continue;
                }
                CompletableFuture<Void> posted = post(r, round, runBits);
                int next = r;
                posted.whenCompleteAsync((ignored, failure) -> {
                    if (failure != null) {
                        done.completeExceptionally(failed(next, failure));
                        return;
                    }
                    try {
                        finish(next, round);
                    } catch (RuntimeException e) {
                        done.completeExceptionally(failed(next, e));
                        return;
                    }
                    advance(next + 1, runBits, done);
                }, executor);
                return;
            }
            done.complete(null);
        } catch (RuntimeException e) {
            done.completeExceptionally(failed(first, e));
        }
    }

    private CompletableFuture<Void> post(int r, Round round, long runBits) {
        CompletableFuture<?>[] futures = pending[r];
        List<Message> sends = round.sends();
        for (int m = 0; m < sends.size(); m++) {
            Message message = sends.get(m);
            if (!message.runs().contiguous()) {
                BufferMath.apply(BufferMath.Kind.COPY, buffers[message.buffer()], message.runs(), sendWire[r][m],
                        ElementRuns.range(0, message.runs().elements()));
            }
            futures[m] = communicator.send(message.peer(), runBits | message.tag(), sendWire[r][m]);
        }
        List<Message> receives = round.receives();
        for (int m = 0; m < receives.size(); m++) {
            Message message = receives.get(m);
            futures[sends.size() + m] = communicator.receive(message.peer(), runBits | message.tag(), receiveWire[r][m]);
        }
        return CompletableFuture.allOf(futures);
    }

    private void finish(int r, Round round) {
        List<Message> receives = round.receives();
        for (int m = 0; m < receives.size(); m++) {
            Message message = receives.get(m);
            if (!message.runs().contiguous()) {
                BufferMath.apply(BufferMath.Kind.COPY, receiveWire[r][m], ElementRuns.range(0, message.runs().elements()),
                        buffers[message.buffer()], message.runs());
            }
        }
        for (Local local : round.then()) {
            switch (local.operation()) {
                case COPY -> BufferMath.apply(BufferMath.Kind.COPY, buffer(local.source()), local.sourceRuns(),
                        buffer(local.target()), local.targetRuns());
                case ADD -> BufferMath.apply(BufferMath.Kind.ADD, buffer(local.source()), local.sourceRuns(),
                        buffer(local.target()), local.targetRuns());
                case ZERO -> BufferMath.zero(buffer(local.target()), local.targetRuns());
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
