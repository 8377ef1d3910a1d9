package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.InputRef;
import dev.tessera.runtime.plan.Plan;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Test action that proves data flows right: it writes its step into its output pieces, checks
 * that each input piece was written for the same step by the expected producer (looking
 * through transfers, which hand pieces over), waits a random time, and checks again that no
 * producer overwrote an input it still reads. It can throw at one chosen step.
 */
final class CheckingAction implements ActorAction {
    private final ActorSpec spec;
    private final int microBatches;
    private final int[] expectedWriters;
    private final int[] expectedOutputs;
    private final SplittableRandom random;
    private final long maxDelayNanos;
    private final long failAtStep;
    private final AtomicLong actions;

    CheckingAction(Plan plan, ActorSpec spec, int microBatches, long seed, long maxDelayNanos, long failAtStep,
                   AtomicLong actions) {
        this.spec = spec;
        this.microBatches = microBatches;
        this.random = new SplittableRandom(seed);
        this.maxDelayNanos = maxDelayNanos;
        this.failAtStep = failAtStep;
        this.actions = actions;
        expectedWriters = new int[spec.inputs().size()];
        expectedOutputs = new int[spec.inputs().size()];
        for (int input = 0; input < expectedWriters.length; input++) {
            InputRef ref = spec.inputs().get(input);
            while (plan.actor(ref.producer()).kind() == ActorKind.TRANSFER) {
                ref = plan.actor(ref.producer()).inputs().get(0);
            }
            expectedWriters[input] = ref.producer();
            expectedOutputs[input] = ref.output();
        }
    }

    @Override
    public Object createPayload(int output, int register) {
        return new Piece();
    }

    @Override
    public void act(ActionContext context) {
        long step = context.iteration() * microBatches + context.microBatch();
        if (step == failAtStep) {
            throw new IllegalStateException("injected failure in " + spec.name() + " at step " + step);
        }
        checkInputs(context, step);
        for (int output = 0; output < spec.outputs().size(); output++) {
            Piece piece = (Piece) context.output(output);
            piece.step = step;
            piece.writer = spec.id();
            piece.output = output;
        }
        if (maxDelayNanos > 0) {
            LockSupport.parkNanos(random.nextLong(maxDelayNanos));
        }
        checkInputs(context, step);
        actions.incrementAndGet();
    }

    private void checkInputs(ActionContext context, long step) {
        for (int input = 0; input < expectedWriters.length; input++) {
            Piece piece = (Piece) context.input(input);
            if (piece.step != step || piece.writer != expectedWriters[input] || piece.output != expectedOutputs[input]) {
                throw new AssertionError(spec.name() + " input " + input + " at step " + step + " holds step "
                        + piece.step + " of actor " + piece.writer + " output " + piece.output + ", expected actor "
                        + expectedWriters[input] + " output " + expectedOutputs[input]);
            }
        }
    }
}
