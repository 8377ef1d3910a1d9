package dev.tessera.runtime;

import java.util.List;

/**
 * The run can never progress: no actor can act and no message is in flight, yet actors have
 * actions left. With valid plans this happens only through action orders (an order that lists a
 * consumer before its producer, two devices whose orders wait for each other, or quotas too small
 * for how far an order runs ahead). The message names, per device, the next action and what it
 * waits for, and says what to change.
 */
public final class DeadlockException extends IllegalStateException {
    private final List<BlockedAction> blocked;

    public DeadlockException(List<BlockedAction> blocked) {
        super(message(blocked));
        this.blocked = List.copyOf(blocked);
    }

    /** The blocked next action of every ordered device that has actions left, in device order. */
    public List<BlockedAction> blocked() {
        return blocked;
    }

    /**
     * One action that cannot run.
     *
     * @param device     the device's name, e.g. {@code "0:1"}
     * @param ordered    true when the device has an action order and this is its next action
     * @param position   position of the action in its device's order (from 0), -1 when unordered
     * @param orderLength actions per iteration in the device's order, 0 when unordered
     * @param actor      the actor's name
     * @param microBatch the micro-batch the actor would act for
     * @param iteration  the iteration it would act in
     * @param waitsFor   what is missing, each item naming the input and its producer, the output
     *                   and its consumers, or the predecessor; never empty
     */
    public record BlockedAction(String device, boolean ordered, int position, int orderLength, String actor,
                                int microBatch, long iteration, List<String> waitsFor) {
        public BlockedAction {
            waitsFor = List.copyOf(waitsFor);
        }

        @Override
        public String toString() {
            String where = ordered
                    ? "device " + device + " is stuck at action " + position + " of " + orderLength + " of its order: '"
                    : "device " + device + " (no order): '";
            return where + actor + "' for micro-batch " + microBatch + " of iteration " + iteration + " waits for "
                    + String.join("; and for ", waitsFor);
        }
    }

    private static String message(List<BlockedAction> blocked) {
        StringBuilder text = new StringBuilder("deadlock: no actor can act and no message is in flight, but ")
                .append(blocked.size()).append(blocked.size() == 1 ? " action waits" : " actions wait")
                .append(" for what only a blocked action can make:");
        for (BlockedAction action : blocked) {
            text.append("\n  ").append(action);
        }
        return text.append("\nchange the action orders so that every action comes after the actions it reads "
                + "and waits for (on every device), or raise the quota of an output named above so that its "
                + "producer can run as far ahead as the order asks").toString();
    }
}
