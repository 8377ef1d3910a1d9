package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One device's member of a gradient bucket: the ring all-reduces of several gradients over the
 * same peers run as one. Each gradient's member arrives with its input and output
 * ({@link #arrive}); when the last one has, the bucket packs every input into one buffer,
 * part-major (the bucket's reduction part k is part k of each gradient in turn, parts as
 * {@link GroupParts#flatPartStart} cuts each gradient), runs one ring all-reduce over it with
 * those parts, unpacks into the outputs and completes every arrival. An element stays in its own
 * gradient's part k, so it is summed in the same order, and every member sends the same pieces,
 * as in that gradient's own ring: bit for bit and byte for byte the unbucketed result.
 *
 * <p>Buffers are allocated at construction; a run copies and posts messages only. Arrivals may come
 * from several threads (one per member actor); the bucket runs on the executor of the last one.
 */
public final class GradientBucket {
    private final String name;
    private final int peers;
    private final long[] elements;
    /** Per gradient j and part k: where the part starts in the gradient and in the packed buffer, and its length. */
    private final int[][] partStart;
    private final int[][] packedStart;
    private final int[][] partLength;
    private final TensorBuffer packedInput;
    private final TensorBuffer packedOutput;
    private final CollectiveMember member;
    private final CollectiveMember.Binding binding;
    private final TensorBuffer[] inputs;
    private final TensorBuffer[] outputs;
    private final CompletableFuture<?>[] arrivals;
    private int arrived;

    /**
     * @param elements the element count of each gradient, in bucket order
     * @param communicator this device's communicator of the bucket (the first gradient's group id)
     * @param chunkElements the most elements one ring message carries
     * @param window the member's rounds in flight ({@link CollectiveMember#DEFAULT_WINDOW})
     */
    public GradientBucket(String name, long[] elements, ElementType type, Communicator communicator, int chunkElements,
            int window) {
        if (elements.length < 1) {
            throw new IllegalArgumentException("gradient bucket '" + name + "' holds no gradient");
        }
        this.name = name;
        this.peers = communicator.size();
        this.elements = elements.clone();
        int n = elements.length;
        partStart = new int[n][peers];
        packedStart = new int[n][peers];
        partLength = new int[n][peers];
        long[] bucketPartStart = new long[peers];
        long[] bucketPartLength = new long[peers];
        long at = 0;
        for (int k = 0; k < peers; k++) {
            bucketPartStart[k] = at;
            for (int j = 0; j < n; j++) {
                partStart[j][k] = Math.toIntExact(GroupParts.flatPartStart(elements[j], peers, k));
                partLength[j][k] = Math.toIntExact(GroupParts.flatPartLength(elements[j], peers, k));
                packedStart[j][k] = Math.toIntExact(at);
                at += partLength[j][k];
            }
            bucketPartLength[k] = at - bucketPartStart[k];
        }
        int total = Math.toIntExact(at);
        int rank = communicator.rank();
        CollectiveSchedule schedule = RingSchedules.allReduce(peers, total,
                k -> ElementRuns.range(bucketPartStart[k], bucketPartLength[k]), rank, chunkElements,
                "ring all-reduce of gradient bucket '" + name + "' (" + n + " gradients, " + total + " elements), member "
                        + rank + " of " + peers);
        packedInput = TensorBuffer.allocate(type, total);
        packedOutput = TensorBuffer.allocate(type, total);
        member = new CollectiveMember(schedule, communicator, type, window);
        binding = member.bind(packedInput, packedOutput);
        inputs = new TensorBuffer[n];
        outputs = new TensorBuffer[n];
        arrivals = new CompletableFuture<?>[n];
    }

    /** Gradients in the bucket. */
    public int size() {
        return elements.length;
    }

    /**
     * Gradient {@code position}'s member is ready with its part before and its output.
     *
     * @return completes when {@code output} holds the all-reduced gradient; exceptionally with the
     *     ring's {@link CollectiveException} for every gradient of the bucket
     * @throws IllegalArgumentException when a buffer does not hold the gradient's elements
     * @throws IllegalStateException when the position arrives twice in one run
     */
    public synchronized CompletableFuture<Void> arrive(int position, TensorBuffer input, TensorBuffer output,
            Executor executor) {
        if (input.elements() != elements[position] || output.elements() != elements[position]) {
            throw new IllegalArgumentException("gradient " + position + " of bucket '" + name + "' has "
                    + elements[position] + " elements, got buffers of " + input.elements() + " and " + output.elements());
        }
        if (arrivals[position] != null) {
            throw new IllegalStateException("gradient " + position + " of bucket '" + name + "' arrived twice before "
                    + "the bucket ran");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        inputs[position] = input;
        outputs[position] = output;
        arrivals[position] = done;
        if (++arrived == elements.length) {
            run(executor);
        }
        return done;
    }

    private void run(Executor executor) {
        CompletableFuture<?>[] waiting = arrivals.clone();
        TensorBuffer[] in = inputs.clone();
        TensorBuffer[] out = outputs.clone();
        java.util.Arrays.fill(arrivals, null);
        arrived = 0;
        int bytes = packedInput.type().bytes();
        for (int j = 0; j < in.length; j++) {
            for (int k = 0; k < peers; k++) {
                packedInput.region().put(packedStart[j][k] * bytes, in[j].region(), partStart[j][k] * bytes,
                        partLength[j][k] * bytes);
            }
        }
        member.run(binding, executor).whenComplete((ignored, failure) -> {
            if (failure == null) {
                for (int j = 0; j < out.length; j++) {
                    for (int k = 0; k < peers; k++) {
                        out[j].region().put(partStart[j][k] * bytes, packedOutput.region(), packedStart[j][k] * bytes,
                                partLength[j][k] * bytes);
                    }
                }
            }
            for (CompletableFuture<?> f : waiting) {
                @SuppressWarnings("unchecked")
                CompletableFuture<Void> v = (CompletableFuture<Void>) f;
                if (failure == null) {
                    v.complete(null);
                } else {
                    v.completeExceptionally(failure);
                }
            }
        });
    }
}
