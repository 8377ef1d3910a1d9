package dev.tessera.worker.actors;

import dev.tessera.runtime.TensorTransfer;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.SentBytes;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The transfer between devices of this JVM: hands the producer's buffer over by reference, as the
 * runtime's in-process transfer does, and counts its bytes as sent by the producer's device, so
 * that a run's counted traffic holds what a transfer between processes would carry. Ordering
 * tokens carry no payload and count nothing.
 */
final class CountingTransfer implements TensorTransfer {
    private final SentBytes sent;

    CountingTransfer(SentBytes sent) {
        this.sent = sent;
    }

    @Override
    public Object transfer(Object source, Object destination, Device from, Device to) {
        if (source instanceof INDArray array) {
            sent.add(from, array.length() * array.dataType().width());
        }
        return source;
    }

    @Override
    public boolean aliasesSource() {
        return true;
    }
}
