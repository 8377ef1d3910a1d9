package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementSums;
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
 * <p>Rounds overlap: a member posts the messages of up to {@code window} rounds ahead, each as
 * soon as the rounds whose buffers it touches have finished ({@link RoundHazards}), and finishes
 * rounds in order, so sending, receiving and reducing proceed together and the result is bit for
 * bit that of rounds run one by one.
 *
 * <p>Each round's continuation runs on the run's {@code executor} (the member's own thread, e.g.
 * its actor's device thread, which may differ from run to run), never on the thread that completed
 * a message, so one member's work never runs inside another's. Not thread-safe: one run at a time.
 */
public final class CollectiveMember {
    /**
     * Rounds in flight unless told otherwise: enough that a ring keeps the transport busy while
     * it reduces (the ring's staging slots, {@link RingSchedules#STAGING_SLOTS}, let its
     * reduction rounds use half of it), few enough that the posted receives stay small.
     */
    public static final int DEFAULT_WINDOW = 8;

    private final CollectiveSchedule schedule;
    private final Communicator communicator;
    private final TensorBuffer[] scratch;
    /** Per round, per send / receive: the packing buffer of a piece that is not contiguous, null where it is. */
    private final TensorBuffer[][] sendPacking;
    private final TensorBuffer[][] receivePacking;
    private final CompletableFuture<?>[][] pending;
    /** Round r's messages may be posted once rounds 0 .. postAfter[r] have finished (-1: at once). */
    private final int[] postAfter;
    private final int window;
    private final BufferMath math;
    private int runs;

    /** A member that keeps up to {@link #DEFAULT_WINDOW} rounds in flight. */
    public CollectiveMember(CollectiveSchedule schedule, Communicator communicator, ElementType type) {
        this(schedule, communicator, type, DEFAULT_WINDOW);
    }

    /**
     * @param type the element type of the member's input, output and scratch
     * @param window the most rounds posted and not yet finished at a time; 1 runs the rounds one
     *     after the other (post, wait, reduce, post the next)
     * @throws IllegalArgumentException when the window is below 1
     */
    public CollectiveMember(CollectiveSchedule schedule, Communicator communicator, ElementType type, int window) {
        if (window < 1) {
            throw new IllegalArgumentException("a collective member needs a window of at least 1 round, got " + window);
        }
        this.schedule = schedule;
        this.communicator = communicator;
        this.window = window;
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
        postAfter = RoundHazards.postAfter(rounds, window);
        int largestSum = 0;
        for (Round round : rounds) {
            for (Local local : round.then()) {
                if (local.operation() == CollectiveSchedule.Operation.ADD
                        || local.operation() == CollectiveSchedule.Operation.SUM) {
                    largestSum = Math.max(largestSum, local.targetRuns().elements());
                }
            }
        }
        math = new BufferMath(type, largestSum);
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
        private final ElementSums.Views[] views;
        private final TensorBuffer[][] sendWire;
        private final TensorBuffer[][] receiveWire;
        /** Per round, per receive: the base piece of a receive that sums, null for a plain one. */
        private final TensorBuffer[][] receiveBase;

        private Binding(TensorBuffer input, TensorBuffer output) {
            buffers = new TensorBuffer[CollectiveSchedule.SCRATCH + scratch.length];
            buffers[CollectiveSchedule.INPUT] = input;
            buffers[CollectiveSchedule.OUTPUT] = output;
            System.arraycopy(scratch, 0, buffers, CollectiveSchedule.SCRATCH, scratch.length);
            views = new ElementSums.Views[buffers.length];
            for (int i = 0; i < buffers.length; i++) {
                views[i] = ElementSums.Views.of(buffers[i]);
            }
            List<Round> rounds = schedule.rounds();
            sendWire = new TensorBuffer[rounds.size()][];
            receiveWire = new TensorBuffer[rounds.size()][];
            receiveBase = new TensorBuffer[rounds.size()][];
            for (int r = 0; r < rounds.size(); r++) {
                sendWire[r] = wires(rounds.get(r).sends(), sendPacking[r]);
                receiveWire[r] = wires(rounds.get(r).receives(), receivePacking[r]);
                receiveBase[r] = bases(rounds.get(r).receives());
            }
            for (Round round : rounds) {
                for (Local local : round.then()) {
                    if (local.operation() != CollectiveSchedule.Operation.ZERO) {
                        buffer(local.source());
                    }
                    if (local.operation() == CollectiveSchedule.Operation.SUM) {
                        buffer(local.base());
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

        private TensorBuffer[] bases(List<Message> receives) {
            TensorBuffer[] bases = new TensorBuffer[receives.size()];
            for (int m = 0; m < bases.length; m++) {
                Message message = receives.get(m);
                if (message.sums()) {
                    bases[m] = buffer(message.base()).slice(message.baseRuns().first(), message.baseRuns().elements());
                }
            }
            return bases;
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
        Run run = new Run(binding, executor, runBits, done);
        executor.execute(run::pump);
        return done;
    }

    /**
     * The state of one run, touched only on the run's executor. Rounds are posted in order, up to
     * {@link #window} ahead of the first unfinished one and never before the round they depend on
     * ({@link #postAfter}) has finished; they finish (their local steps run) in order, as soon as
     * their messages completed. So a chunk is sent, the next ones received and an earlier one
     * reduced at the same time, and the results are those of running the rounds one by one.
     */
    private final class Run {
        private final Binding binding;
        private final Executor executor;
        private final long runBits;
        private final CompletableFuture<Void> done;
        private final boolean[] completed = new boolean[schedule.rounds().size()];
        private int posted;
        private int finished;

        Run(Binding binding, Executor executor, long runBits, CompletableFuture<Void> done) {
            this.binding = binding;
            this.executor = executor;
            this.runBits = runBits;
            this.done = done;
        }

        void pump() {
            List<Round> rounds = schedule.rounds();
            int round = finished;
            try {
                while (true) {
                    while (finished < posted && completed[finished]) {
                        round = finished;
                        finish(binding, finished, rounds.get(finished));
                        finished++;
                    }
                    if (finished == rounds.size()) {
                        done.complete(null);
                        return;
                    }
                    boolean local = false;
                    while (posted < rounds.size() && posted - finished < window && postAfter[posted] < finished) {
                        int r = posted++;
                        round = r;
                        Round next = rounds.get(r);
                        if (next.sends().isEmpty() && next.receives().isEmpty()) {
                            completed[r] = true;
                            local = true;
                            continue;
                        }
                        post(binding, r, next, runBits).whenCompleteAsync((ignored, failure) -> {
                            if (done.isDone()) {
                                return;
                            }
                            if (failure != null) {
                                done.completeExceptionally(failed(r, failure));
                                return;
                            }
                            completed[r] = true;
                            pump();
                        }, executor);
                    }
                    if (!local) {
                        return;
                    }
                }
            } catch (RuntimeException e) {
                done.completeExceptionally(failed(round, e));
            }
        }
    }

    private CompletableFuture<Void> post(Binding binding, int r, Round round, long runBits) {
        CompletableFuture<?>[] futures = pending[r];
        List<Message> sends = round.sends();
        for (int m = 0; m < sends.size(); m++) {
            Message message = sends.get(m);
            if (!message.runs().contiguous()) {
                BufferMath.copy(binding.buffers[message.buffer()], message.runs(),
                        binding.sendWire[r][m], ElementRuns.range(0, message.runs().elements()));
            }
            futures[m] = communicator.send(message.peer(), runBits | message.tag(), binding.sendWire[r][m]);
        }
        List<Message> receives = round.receives();
        for (int m = 0; m < receives.size(); m++) {
            Message message = receives.get(m);
            long tag = runBits | message.tag();
            futures[sends.size() + m] = message.sums()
                    ? communicator.receiveSum(message.peer(), tag, binding.receiveBase[r][m], binding.receiveWire[r][m])
                    : communicator.receive(message.peer(), tag, binding.receiveWire[r][m]);
        }
        return CompletableFuture.allOf(futures);
    }

    private void finish(Binding binding, int r, Round round) {
        TensorBuffer[] buffers = binding.buffers;
        ElementSums.Views[] views = binding.views;
        List<Message> receives = round.receives();
        for (int m = 0; m < receives.size(); m++) {
            Message message = receives.get(m);
            if (!message.runs().contiguous()) {
                BufferMath.copy(binding.receiveWire[r][m],
                        ElementRuns.range(0, message.runs().elements()), buffers[message.buffer()], message.runs());
            }
        }
        for (Local local : round.then()) {
            switch (local.operation()) {
                case COPY -> BufferMath.copy(buffers[local.source()], local.sourceRuns(),
                        buffers[local.target()], local.targetRuns());
                case ADD -> math.add(views[local.source()], local.sourceRuns(), views[local.target()],
                        local.targetRuns());
                case ZERO -> BufferMath.zero(buffers[local.target()], local.targetRuns());
                case SUM -> math.sum(views[local.base()], local.baseRuns(), views[local.source()],
                        local.sourceRuns(), views[local.target()], local.targetRuns());
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
