package dev.tessera.worker.actors;

import dev.tessera.plan.fragment.ProcessIdentity;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.runtime.transport.Transport;
import java.time.Duration;
import java.util.Objects;

/**
 * What one process of a multi-process job runs: its fragments of the plans the coordinator
 * compiled, who it is (checked against each fragment before anything is bound), and the tensor
 * transport to the other processes, which the caller owns and closes.
 *
 * @param training the fragment of the training plan (with the update ops)
 * @param gradientsOnly the fragment of the same graph's plan without updates, for
 *     {@link ParallelExecutor#gradients}; null when the job never asks for gradients
 * @param deliveryTimeout how long a run waits for its last remote sends to be delivered
 */
public record ProcessFragments(PlanFragment training, PlanFragment gradientsOnly, ProcessIdentity self,
                               Transport transport, Duration deliveryTimeout) {
    public ProcessFragments {
        Objects.requireNonNull(training, "training fragment");
        Objects.requireNonNull(self, "process identity");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(deliveryTimeout, "delivery time-out");
    }
}
