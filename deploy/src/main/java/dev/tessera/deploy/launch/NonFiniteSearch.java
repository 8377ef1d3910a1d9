package dev.tessera.deploy.launch;

import dev.tessera.proto.control.NonFiniteFound;
import dev.tessera.proto.control.NonFiniteStop;
import dev.tessera.worker.exec.NonFiniteException;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The error of a non-finite iteration run as processes, made as one executor makes it: a sink's
 * finding names only the loss or norm, so every worker replays the iteration and reports its own
 * earliest op that wrote a NaN or an infinity; the earliest over all workers (micro-batch, then the
 * physical graph's op order, which every process shares) is the culprit, and the first non-finite
 * gradient (in the physical graph's parameter order) the tensor, exactly as
 * {@code ParallelExecutor} names them on virtual devices.
 */
final class NonFiniteSearch {
    private NonFiniteSearch() {
    }

    /**
     * @param stop     the sink's finding, as the first worker that stopped reported it
     * @param replays  every worker's answer to the replay, one each
     * @param lossName the physical graph's loss: a non-finite loss keeps its name rather than a gradient's
     */
    static NonFiniteException error(NonFiniteStop stop, List<NonFiniteFound> replays, String lossName) {
        NonFiniteException found = NonFiniteException.of(kind(stop), stop.getIteration(), stop.getTensor(),
                stop.getOp(), stop.getDetail());
        Optional<NonFiniteFound> culprit = replays.stream().filter(NonFiniteFound::getFound)
                .min(Comparator.comparingInt(NonFiniteFound::getMicroBatch).thenComparingInt(NonFiniteFound::getOpIndex));
        Optional<NonFiniteFound> gradient = replays.stream().filter(reply -> reply.getGradientIndex() >= 0)
                .min(Comparator.comparingInt(NonFiniteFound::getGradientIndex));
        boolean loss = found.tensorName().equals(lossName);
        return culprit.map(first -> {
            String detail = "micro-batch " + first.getMicroBatch() + ", tensor '" + first.getTensor() + "'";
            return gradient.isPresent() && !loss
                    ? NonFiniteException.gradient(found.iteration(), gradient.get().getGradient(), first.getOp(), detail)
                    : found.withCulprit(first.getOp(), detail);
        }).orElse(found);
    }

    private static NonFiniteException.Kind kind(NonFiniteStop stop) {
        return switch (stop.getKind()) {
            case NON_FINITE_LOSS -> NonFiniteException.Kind.LOSS;
            case NON_FINITE_GRADIENT -> NonFiniteException.Kind.GRADIENT;
            case NON_FINITE_GRADIENT_NORM -> NonFiniteException.Kind.GRADIENT_NORM;
            case UNRECOGNIZED -> throw new IllegalArgumentException("a worker sent an unknown kind of non-finite value");
        };
    }
}
