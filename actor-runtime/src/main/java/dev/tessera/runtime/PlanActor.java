package dev.tessera.runtime;

import dev.tessera.runtime.ActorMessage.Ack;
import dev.tessera.runtime.ActorMessage.ActionCompleted;
import dev.tessera.runtime.ActorMessage.ControlDone;
import dev.tessera.runtime.ActorMessage.EndOfStream;
import dev.tessera.runtime.ActorMessage.ExplainWait;
import dev.tessera.runtime.ActorMessage.Probe;
import dev.tessera.runtime.ActorMessage.Ready;
import dev.tessera.runtime.ActorMessage.RunTask;
import dev.tessera.runtime.ActorMessage.Turn;
import dev.tessera.runtime.DeadlockException.BlockedAction;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.InputRef;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.DeviceTraceBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One actor of a plan. It acts when every input has a ready register, every output a free
 * register and every control predecessor has acted for the step; then it tells each consumer
 * {@code ready}, each producer {@code ack} and each control successor {@code done}. After its
 * last step it sends end-of-stream downstream, waits until every register it owns is free
 * again, reports to the job and stops.
 *
 * <p>On a device with an action order it also waits for its turn: it acts only when its device's
 * {@link DeviceCursor} names it, advances the cursor after acting and wakes the actor of the next
 * action with {@code turn}; an action the order marks to move on at start (a gradient bucket's
 * member, which completes only once the bucket's later members arrived) advances it when it starts. On a device without one the cursor is null and costs one null check.
 * It counts the messages it sends to and receives from other actors, so that the job can tell a
 * deadlock (nothing in flight, nobody can act) from a slow run; see {@link Job}.
 *
 * <p>An {@link AsyncActorAction} (a collective member) is started instead of run: the actor keeps
 * its inputs and reserved output registers, handles other messages meanwhile (tasks of the action
 * through {@link #executor()}, registers arriving for later steps), and publishes when the action
 * tells it that it completed. The completion counts as a message in flight, so a run waiting for
 * one is never taken for a deadlock; a peer that never answers is the transport's time-out.
 */
final class PlanActor extends AbstractBehavior<ActorMessage> implements ActionContext {
    private final ActorSpec spec;
    private final Device device;
    private final ActorAction action;
    /** Whether the action lends its output payloads ({@link ActorAction#lendsPayloads}). */
    private final boolean lends;
    private final ActorRef<JobMessage> job;
    /** Filled by the job before it sends Start, so read only after a message arrived. */
    private final List<ActorRef<ActorMessage>> peers;
    private final DeviceTraceBuffer trace;
    private final long steps;
    private final int microBatches;
    /** Only for naming producers, consumers and predecessors when the run deadlocks. */
    private final Plan plan;
    /** The device's place in its action order; null when the device runs as its data arrives. */
    private final DeviceCursor cursor;

    private final InputQueue[] inputs;
    private final int[] inputProducers;
    private final int[] inputProducerOutputs;
    private final OutputRegisters[] outputs;
    /** Payload bytes of one register of each output, counted in {@link #memory} while in use. */
    private final long[] outputBytes;
    private final RegisterMemory memory;
    private final int[] controlPredecessors;
    /** Per control predecessor: true when it orders whole iterations rather than micro-batches. */
    private final boolean[] previousIterationOnly;
    private final long[] controlDone;
    private final int[] controlSuccessors;
    /** For a transfer that aliases its source: the input register each output register still holds. */
    private final int[] heldInputRegisters;

    private final Object[] currentInputs;
    private final Object[] currentOutputs;
    private final int[] currentRegisters;
    private long step;
    /** An asynchronous action was started and has not completed yet. */
    private boolean inFlight;
    /** The action in flight already gave the order's next action its turn when it started. */
    private boolean orderMovedOn;
    private long inFlightStart;
    private final Executor executor;
    private boolean endSent;
    private boolean failed;
    /** Messages sent to and received from other actors (not the job's), for deadlock detection. */
    private long sent;
    private long received;

    static Behavior<ActorMessage> create(Plan plan, ActorSpec spec, ActorAction action, boolean holdsInputs,
                                         ActorRef<JobMessage> job, List<ActorRef<ActorMessage>> peers,
                                         DeviceTraceBuffer trace, RegisterMemory memory, RunOptions options,
                                         DeviceCursor cursor) {
        return Behaviors.setup(context -> {
            try {
                return new PlanActor(context, plan, spec, action, holdsInputs, job, peers, trace, memory, options,
                        cursor);
            } catch (RuntimeException | Error error) {
                // Pekko would stop the actor silently and the job would wait for it forever.
                job.tell(new JobMessage.ActorFailed(spec.id(), error));
                return Behaviors.stopped();
            }
        });
    }

    private PlanActor(ActorContext<ActorMessage> context, Plan plan, ActorSpec spec, ActorAction action,
                      boolean holdsInputs, ActorRef<JobMessage> job, List<ActorRef<ActorMessage>> peers,
                      DeviceTraceBuffer trace, RegisterMemory memory, RunOptions options, DeviceCursor cursor) {
        super(context);
        this.memory = memory;
        this.spec = spec;
        this.plan = plan;
        this.cursor = cursor;
        this.device = plan.deviceOf(spec);
        this.action = action;
        this.job = job;
        this.peers = peers;
        this.trace = trace;
        this.steps = options.steps();
        this.microBatches = options.microBatches();
        int inputCount = spec.inputs().size();
        inputs = new InputQueue[inputCount];
        inputProducers = new int[inputCount];
        inputProducerOutputs = new int[inputCount];
        for (int input = 0; input < inputCount; input++) {
            InputRef ref = spec.inputs().get(input);
            inputProducers[input] = ref.producer();
            inputProducerOutputs[input] = ref.output();
            inputs[input] = new InputQueue(plan.actor(ref.producer()).outputs().get(ref.output()).quota());
        }
        int outputCount = spec.outputs().size();
        outputs = new OutputRegisters[outputCount];
        outputBytes = new long[outputCount];
        for (int output = 0; output < outputCount; output++) {
            outputBytes[output] = spec.outputs().get(output).bytes();
            outputs[output] = new OutputRegisters(spec.outputs().get(output).quota(),
                    plan.consumers(spec.id(), output));
        }
        int stepEdges = spec.controlPredecessors().size();
        controlPredecessors = new int[stepEdges + spec.iterationPredecessors().size()];
        previousIterationOnly = new boolean[controlPredecessors.length];
        for (int i = 0; i < controlPredecessors.length; i++) {
            controlPredecessors[i] = i < stepEdges ? spec.controlPredecessors().get(i)
                    : spec.iterationPredecessors().get(i - stepEdges);
            previousIterationOnly[i] = i >= stepEdges;
        }
        controlDone = new long[controlPredecessors.length];
        controlSuccessors = plan.controlSuccessors(spec.id()).stream().mapToInt(Integer::intValue).toArray();
        heldInputRegisters = holdsInputs ? new int[outputs[0].quota()] : null;
        currentInputs = new Object[inputCount];
        currentOutputs = new Object[outputCount];
        currentRegisters = new int[outputCount];
        ActorRef<ActorMessage> self = context.getSelf();
        executor = task -> self.tell(new RunTask(task));
        lends = action.lendsPayloads();
        try {
            for (int output = 0; output < outputCount && !lends; output++) {
                for (int register = 0; register < outputs[output].quota(); register++) {
                    outputs[output].setPayload(register, action.createPayload(output, register));
                }
            }
        } catch (RuntimeException | Error error) {
            fail(new ActionFailedException(spec.name(), spec.op(), device.name(), 0, 0, error));
        }
    }

    @Override
    public Receive<ActorMessage> createReceive() {
        return newReceiveBuilder().onMessage(ActorMessage.class, this::onMessage).build();
    }

    private Behavior<ActorMessage> onMessage(ActorMessage message) {
        if (failed) {
            return this;
        }
        try {
            if (message instanceof Probe probe) {
                job.tell(new JobMessage.ProbeReply(spec.id(), probe.wave(), sent, received));
                return this;
            }
            if (message instanceof ExplainWait) {
                job.tell(new JobMessage.Waiting(spec.id(), blockedAction()));
                return this;
            }
            if (message instanceof RunTask run) {
                // Sent from other threads, so counted by neither side: the action it belongs to is in flight.
                run.task().run();
                return this;
            }
            if (!(message instanceof ActorMessage.Start)) {
                received++;
            }
            if (message instanceof ActionCompleted completed) {
                completeAsync(completed.failure());
            } else if (message instanceof Ready ready) {
                if (!inputs[ready.input()].offer(ready.register(), ready.payload(), ready.step())) {
                    throw protocolError("input " + ready.input()
                            + " received more registers than its producer's quota");
                }
            } else if (message instanceof Ack ack) {
                if (outputs[ack.output()].acknowledge(ack.register())) {
                    freed(ack.output(), ack.register());
                    if (heldInputRegisters != null) {
                        acknowledgeInput(0, heldInputRegisters[ack.register()]);
                    }
                }
            } else if (message instanceof ControlDone done) {
                for (int i = 0; i < controlPredecessors.length; i++) {
                    if (controlPredecessors[i] == done.predecessor()) {
                        controlDone[i]++;
                    }
                }
            } else if (message instanceof EndOfStream end) {
                inputs[end.input()].end();
            }
            // A Turn carries no state: it only makes this actor look again whether it can act.
            while (canAct()) {
                act();
                if (failed) {
                    return this;
                }
            }
            return finishIfDone();
        } catch (RuntimeException | Error error) {
            fail(error);
            return this;
        }
    }

    private boolean canAct() {
        if (inFlight || failed) {
            return false;
        }
        if (inputs.length == 0 && step == steps) {
            return false;
        }
        if (cursor != null && cursor.nextActor() != spec.id()) {
            return false;
        }
        for (InputQueue input : inputs) {
            if (input.isEmpty()) {
                return false;
            }
        }
        for (OutputRegisters output : outputs) {
            if (!output.hasFree()) {
                return false;
            }
        }
        for (int i = 0; i < controlDone.length; i++) {
            long required = previousIterationOnly[i] ? step - step % microBatches : step + 1;
            if (controlDone[i] < required) {
                return false;
            }
        }
        return true;
    }

    private void act() {
        if (cursor != null && cursor.nextMicroBatch() != microBatch()) {
            throw protocolError("the order of device " + device.name() + " names micro-batch "
                    + cursor.nextMicroBatch() + " but this actor's next step is micro-batch " + microBatch());
        }
        for (int input = 0; input < inputs.length; input++) {
            if (inputs[input].headStep() != step) {
                throw protocolError("input " + input + " holds step " + inputs[input].headStep()
                        + " where step " + step + " was expected");
            }
            currentInputs[input] = inputs[input].headPayload();
        }
        for (int output = 0; output < outputs.length; output++) {
            int register = outputs[output].acquire();
            memory.taken(device.index(), outputBytes[output]);
            if (lends && outputs[output].payload(register) == null) {
                outputs[output].setPayload(register, action.createPayload(output, register));
            }
            currentRegisters[output] = register;
            currentOutputs[output] = outputs[output].payload(register);
        }
        long start = System.nanoTime();
        try {
            if (action instanceof AsyncActorAction async) {
                CompletionStage<Void> done = async.start(this);
                inFlight = true;
                inFlightStart = start;
                if (cursor != null && cursor.nextMovesOnAtStart()) {
                    // a bucket member completes only once the bucket's later members arrived
                    orderMovedOn = true;
                    moveOrderOn();
                }
                ActorRef<ActorMessage> self = getContext().getSelf();
                sent++;
                done.whenComplete((ignored, failure) -> self.tell(new ActionCompleted(failure)));
                return;
            }
            action.act(this);
        } catch (Exception | Error error) {
            fail(new ActionFailedException(spec.name(), spec.op(), device.name(), microBatch(), iteration(), error));
            return;
        }
        publish(start);
    }

    /** The started action completed: publish its outputs, or fail the job with its error. */
    private void completeAsync(Throwable failure) {
        if (!inFlight) {
            throw protocolError("an action completed that was not started");
        }
        inFlight = false;
        if (failure != null) {
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            fail(new ActionFailedException(spec.name(), spec.op(), device.name(), microBatch(), iteration(), cause));
            return;
        }
        publish(inFlightStart);
    }

    /** The action of this step is done: hand its outputs to the consumers, free the inputs, move on. */
    private void publish(long start) {
        long end = System.nanoTime();
        if (trace != null) {
            trace.record(spec.id(), step, start, end);
        }
        for (int output = 0; output < outputs.length; output++) {
            OutputRegisters registers = outputs[output];
            int register = currentRegisters[output];
            Object payload = currentOutputs[output];
            registers.setPayload(register, payload);
            currentOutputs[output] = null;
            for (int consumer = 0; consumer < registers.consumerCount(); consumer++) {
                send(registers.consumerActor(consumer),
                        new Ready(registers.consumerInput(consumer), register, payload, step));
            }
            if (heldInputRegisters != null) {
                heldInputRegisters[register] = inputs[0].headRegister();
            }
            if (registers.publish(register)) {
                freed(output, register);
                if (heldInputRegisters != null) {
                    acknowledgeInput(0, heldInputRegisters[register]);
                }
            }
        }
        for (int input = 0; input < inputs.length; input++) {
            if (heldInputRegisters == null) {
                acknowledgeInput(input, inputs[input].headRegister());
            }
            inputs[input].removeHead();
            currentInputs[input] = null;
        }
        for (int successor : controlSuccessors) {
            send(successor, new ControlDone(spec.id()));
        }
        step++;
        if (orderMovedOn) {
            orderMovedOn = false;
        } else if (cursor != null) {
            moveOrderOn();
        }
    }

    /** This actor's action is the order's past one: give the next action its turn. */
    private void moveOrderOn() {
        int next = cursor.advance();
        if (next >= 0 && next != spec.id()) {
            send(next, Turn.INSTANCE);
        }
    }

    /** A register of {@code output} is free: count it, and give a lent payload back to the action. */
    private void freed(int output, int register) {
        memory.freed(device.index(), outputBytes[output]);
        if (lends) {
            Object payload = outputs[output].payload(register);
            outputs[output].setPayload(register, null);
            if (payload != null) {
                action.returnPayload(output, payload);
            }
        }
    }

    private void acknowledgeInput(int input, int register) {
        send(inputProducers[input], new Ack(inputProducerOutputs[input], register));
    }

    private void send(int actor, ActorMessage message) {
        sent++;
        peers.get(actor).tell(message);
    }

    private Behavior<ActorMessage> finishIfDone() {
        if (inFlight) {
            return this;
        }
        if (!endSent) {
            if (!producedEverything()) {
                return this;
            }
            for (OutputRegisters registers : outputs) {
                for (int consumer = 0; consumer < registers.consumerCount(); consumer++) {
                    send(registers.consumerActor(consumer), new EndOfStream(registers.consumerInput(consumer)));
                }
            }
            endSent = true;
        }
        for (OutputRegisters registers : outputs) {
            if (!registers.allFree()) {
                return this;
            }
        }
        // Stay until every predecessor's last notice arrived, so none goes to a stopped actor.
        for (long done : controlDone) {
            if (done < steps) {
                return this;
            }
        }
        job.tell(new JobMessage.ActorFinished(spec.id(), sent, received));
        return Behaviors.stopped();
    }

    /** True once no more steps will come: all steps of a source, or every input ended and drained. */
    private boolean producedEverything() {
        if (inputs.length == 0) {
            return step == steps;
        }
        boolean anyEndedAndDrained = false;
        boolean allEndedAndDrained = true;
        for (InputQueue input : inputs) {
            boolean drained = input.ended() && input.isEmpty();
            anyEndedAndDrained |= drained;
            allEndedAndDrained &= drained;
        }
        if (anyEndedAndDrained && !allEndedAndDrained) {
            for (int input = 0; input < inputs.length; input++) {
                if (!inputs[input].isEmpty()) {
                    throw protocolError("input " + input + " still has " + inputs[input].size()
                            + " pieces after another input ended at step " + step
                            + "; every producer must emit one piece per micro-batch");
                }
            }
        }
        return allEndedAndDrained;
    }

    /**
     * What this actor's next action waits for, asked once the job found the run deadlocked; null
     * when it is not its ordered device's next action, or has no action left.
     */
    private BlockedAction blockedAction() {
        if (cursor != null && cursor.nextActor() != spec.id() || step == steps) {
            return null;
        }
        if (inFlight) {
            return new BlockedAction(device.name(), cursor != null, cursor == null ? -1 : cursor.position(),
                    cursor == null ? 0 : cursor.length(), spec.name(), microBatch(), iteration(),
                    List.of("its started action to complete (messages from its collective's peers)"));
        }
        List<String> waits = new ArrayList<>();
        for (int input = 0; input < inputs.length; input++) {
            if (inputs[input].isEmpty()) {
                ActorSpec producer = plan.actor(inputProducers[input]);
                waits.add("input " + input + " from '" + producer.name() + "' on " + plan.deviceOf(producer).name()
                        + (inputs[input].ended() ? ", which ended" : ", which has not produced this micro-batch yet"));
            }
        }
        for (int output = 0; output < outputs.length; output++) {
            OutputRegisters registers = outputs[output];
            if (!registers.hasFree()) {
                List<String> holders = new ArrayList<>();
                for (int consumer = 0; consumer < registers.consumerCount(); consumer++) {
                    holders.add("'" + plan.actor(registers.consumerActor(consumer)).name() + "'");
                }
                waits.add("a free register of output " + output + " (quota " + registers.quota()
                        + ", every register still held by its consumers " + String.join(", ", holders) + ")");
            }
        }
        for (int i = 0; i < controlPredecessors.length; i++) {
            String predecessor = "'" + plan.actor(controlPredecessors[i]).name() + "'";
            if (previousIterationOnly[i] && controlDone[i] < step - step % microBatches) {
                waits.add(predecessor + " to finish iteration " + (iteration() - 1) + " (iteration edge)");
            } else if (!previousIterationOnly[i] && controlDone[i] < step + 1) {
                waits.add(predecessor + " to act for this micro-batch first (control edge)");
            }
        }
        if (waits.isEmpty()) {
            waits.add("nothing it can name (it could act; report this plan as a runtime bug)");
        }
        return new BlockedAction(device.name(), cursor != null, cursor == null ? -1 : cursor.position(),
                cursor == null ? 0 : cursor.length(), spec.name(), microBatch(), iteration(), waits);
    }

    private IllegalStateException protocolError(String what) {
        return new IllegalStateException("actor '" + spec.name() + "' (" + spec.op() + ") on device "
                + device.name() + " at step " + step + ": " + what);
    }

    private void fail(Throwable error) {
        failed = true;
        job.tell(new JobMessage.ActorFailed(spec.id(), error));
    }

    @Override
    public ActorSpec actor() {
        return spec;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public int microBatch() {
        return (int) (step % microBatches);
    }

    @Override
    public long iteration() {
        return step / microBatches;
    }

    @Override
    public Object input(int index) {
        return currentInputs[index];
    }

    @Override
    public Object output(int index) {
        return currentOutputs[index];
    }

    @Override
    public void replaceOutput(int index, Object payload) {
        currentOutputs[index] = payload;
    }

    @Override
    public Executor executor() {
        return executor;
    }
}
