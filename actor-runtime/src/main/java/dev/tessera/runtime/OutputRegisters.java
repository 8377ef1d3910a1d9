package dev.tessera.runtime;

import dev.tessera.runtime.plan.ConsumerRef;
import java.util.List;

/**
 * The registers of one output: their payloads, which are free, and how many consumers still
 * hold each filled one. A register is free again once every consumer acknowledged it.
 */
final class OutputRegisters {
    private final int[] consumerActors;
    private final int[] consumerInputs;
    private final Object[] payloads;
    private final int[] pendingAcks;
    private final int[] free;
    private int freeHead;
    private int freeCount;

    OutputRegisters(int quota, List<ConsumerRef> consumers) {
        consumerActors = consumers.stream().mapToInt(ConsumerRef::consumer).toArray();
        consumerInputs = consumers.stream().mapToInt(ConsumerRef::input).toArray();
        payloads = new Object[quota];
        pendingAcks = new int[quota];
        free = new int[quota];
        for (int register = 0; register < quota; register++) {
            free[register] = register;
        }
        freeCount = quota;
    }

    int quota() {
        return payloads.length;
    }

    int consumerCount() {
        return consumerActors.length;
    }

    int consumerActor(int index) {
        return consumerActors[index];
    }

    int consumerInput(int index) {
        return consumerInputs[index];
    }

    Object payload(int register) {
        return payloads[register];
    }

    void setPayload(int register, Object payload) {
        payloads[register] = payload;
    }

    boolean hasFree() {
        return freeCount > 0;
    }

    boolean allFree() {
        return freeCount == payloads.length;
    }

    /** Takes the oldest free register; call only when {@link #hasFree()}. */
    int acquire() {
        int register = free[freeHead];
        freeHead = (freeHead + 1) % free.length;
        freeCount--;
        return register;
    }

    /**
     * Marks a filled register as read by every consumer; returns true when it has no consumer
     * and is therefore free again at once.
     */
    boolean publish(int register) {
        pendingAcks[register] = consumerActors.length;
        if (consumerActors.length == 0) {
            release(register);
            return true;
        }
        return false;
    }

    /**
     * One consumer acknowledged the register; returns true when that was the last one and the
     * register is free again.
     *
     * @throws IllegalStateException when the register is not held by any consumer
     */
    boolean acknowledge(int register) {
        if (register < 0 || register >= pendingAcks.length || pendingAcks[register] == 0) {
            throw new IllegalStateException("acknowledgement of register " + register
                    + " that no consumer holds");
        }
        if (--pendingAcks[register] == 0) {
            release(register);
            return true;
        }
        return false;
    }

    private void release(int register) {
        free[(freeHead + freeCount) % free.length] = register;
        freeCount++;
    }
}
