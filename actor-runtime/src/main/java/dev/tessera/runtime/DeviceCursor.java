package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActionOrder;
import dev.tessera.runtime.plan.Device;

/**
 * Where an ordered device stands in its {@link ActionOrder}: the next action, which only its
 * actor may take. One cursor per ordered device, shared by that device's actors and touched only
 * on the device's thread: every actor of a device is spawned on the device's dispatcher, a
 * thread pool of exactly one thread ({@link DeviceDispatchers}), so reads and writes never race
 * and need no lock. The job creates it before spawning the actors, which publishes it to them.
 */
final class DeviceCursor {
    private final Device device;
    private final int[] actors;
    private final int[] microBatches;
    private final boolean[] movesOnAtStart;
    private final int iterations;
    private int position;
    private int iteration;

    DeviceCursor(Device device, ActionOrder order, int iterations) {
        this.device = device;
        this.actors = order.actions().stream().mapToInt(action -> action.actor()).toArray();
        this.microBatches = order.actions().stream().mapToInt(action -> action.microBatch()).toArray();
        this.movesOnAtStart = new boolean[actors.length];
        for (int position = 0; position < actors.length; position++) {
            movesOnAtStart[position] = order.actions().get(position).movesOnAtStart();
        }
        this.iterations = iterations;
    }

    Device device() {
        return device;
    }

    /** The actor of the next action, or -1 once every action of every iteration ran. */
    int nextActor() {
        return iteration == iterations ? -1 : actors[position];
    }

    /** The micro-batch of the next action; meaningful while {@link #nextActor()} is not -1. */
    int nextMicroBatch() {
        return microBatches[position];
    }

    /**
     * Whether the order moves on when the next action starts, before it completes
     * ({@link dev.tessera.runtime.plan.OrderedAction#movesOnAtStart}); meaningful while
     * {@link #nextActor()} is not -1.
     */
    boolean nextMovesOnAtStart() {
        return movesOnAtStart[position];
    }

    /** Position of the next action within the iteration's order, from 0. */
    int position() {
        return position;
    }

    /** Actions per iteration. */
    int length() {
        return actors.length;
    }

    /** Iteration of the next action. */
    int iteration() {
        return iteration;
    }

    /** The next action ran; returns the actor of the one after it, or -1 when none is left. */
    int advance() {
        if (++position == actors.length) {
            position = 0;
            iteration++;
        }
        return nextActor();
    }
}
