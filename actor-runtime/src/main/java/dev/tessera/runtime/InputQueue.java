package dev.tessera.runtime;

/**
 * Ready registers of one input, in arrival order. Its capacity is the producer's quota: a
 * producer never has more registers alive, so overflowing means the protocol broke.
 */
final class InputQueue {
    private final int[] registers;
    private final Object[] payloads;
    private final long[] steps;
    private int head;
    private int size;
    private boolean ended;

    InputQueue(int capacity) {
        registers = new int[capacity];
        payloads = new Object[capacity];
        steps = new long[capacity];
    }

    /** Returns false when full (the producer sent more registers than its quota). */
    boolean offer(int register, Object payload, long step) {
        if (size == registers.length) {
            return false;
        }
        int tail = (head + size) % registers.length;
        registers[tail] = register;
        payloads[tail] = payload;
        steps[tail] = step;
        size++;
        return true;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    int headRegister() {
        return registers[head];
    }

    Object headPayload() {
        return payloads[head];
    }

    long headStep() {
        return steps[head];
    }

    void removeHead() {
        payloads[head] = null;
        head = (head + 1) % registers.length;
        size--;
    }

    void end() {
        ended = true;
    }

    boolean ended() {
        return ended;
    }
}
