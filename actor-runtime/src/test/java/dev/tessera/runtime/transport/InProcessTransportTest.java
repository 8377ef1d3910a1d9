package dev.tessera.runtime.transport;

import java.time.Duration;
import java.util.List;

/** The transport contract ({@link TransportContractTest}) for devices of one JVM: one transport owns both. */
class InProcessTransportTest extends TransportContractTest {
    @Override
    protected Transports open(Duration deliveryTimeout) {
        InProcessTransport transport = new InProcessTransport(List.of(CPU0, CPU1), deliveryTimeout);
        return new Transports() {
            @Override
            public Transport of(dev.tessera.runtime.plan.Device device) {
                return transport;
            }

            @Override
            public void close() {
                transport.close();
            }
        };
    }
}
