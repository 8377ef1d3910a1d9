package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One device's member of a gradient bucket: the ring all-reduces (or reduce-scatters) of several
 * gradients over the same peers run as one. Each gradient's member arrives with its input and
 * output ({@link #arrive}); when the last one has, the bucket packs every input into one buffer,
 * part-major (the bucket's reduction part k is part k of each gradient in turn: for an all-reduce
 * the range {@link GroupParts#flatPartStart} cuts, for a reduce-scatter the gradient's region
 * {@code after(k)}), runs one ring all-reduce (reduce-scatter) over it with those parts, unpacks
 * into the outputs (a reduce-scatter member: its part of each gradient into that gradient's
 * shard) and completes every arrival. An element stays in its own gradient's part k, so it is
 * summed in the same order, and every member sends the same pieces, as in that gradient's own
 * ring: bit for bit and byte for byte the unbucketed result.
 *
 * <p>Buffers are allocated at construction; a run copies and posts messages only. Arrivals may come
 * from several threads (one per member actor); the bucket runs on the executor of the last one.
 */
public final class GradientBucket {
    private final String name;
    private final int peers;
    private final int rank;
    private final boolean scatter;
    private final long[] inputElements;
    private final long[] outputElements;
    /** Per gradient j and part k: the part's runs in the gradient, where it starts in the packed buffer, its length. */
    private final ElementRuns[][] partRuns;
    private final int[][] packedStart;
    private final int[][] partLength;
    /** The packed output's first element: the bucket's part {@code rank} for a reduce-scatter, else 0. */
    private final int outputOffset;
    private final TensorBuffer packedInput;
    private final TensorBuffer packedOutput;
    private final CollectiveMember member;
    private final CollectiveMember.Binding binding;
    private final TensorBuffer[] inputs;
    private final TensorBuffer[] outputs;
    private final CompletableFuture<?>[] arrivals;
    private int arrived;

    /**
     * A bucket of all-reduces.
     *
     * @param elements the element count of each gradient, in bucket order
     * @param communicator this device's communicator of the bucket (the first gradient's group id)
     * @param chunkElements the most elements one ring message carries
     * @param window the member's rounds in flight ({@link CollectiveMember#DEFAULT_WINDOW})
     */
    public GradientBucket(String name, long[] elements, ElementType type, Communicator communicator, int chunkElements,
            int window) {
        this(name, flatParts(elements, communicator.size()), elements, elements, false, type, communicator,
                chunkElements, window);
    }

    /**
     * A bucket of reduce-scatters (P to S, e.g. ZeRO's gradient reduction): gradient j's member
     * holds the whole partial gradient of {@code parts.get(j).shape()} and receives its reduced
     * region {@code after(rank)}.
     *
     * @throws IllegalArgumentException when a gradient's conversion is not a reduce-scatter over
     *     the communicator's peers
     */
    public static GradientBucket reduceScatter(String name, List<GroupParts> parts, ElementType type,
            Communicator communicator, int chunkElements, int window) {
        int peers = communicator.size();
        ElementRuns[][] runs = new ElementRuns[parts.size()][peers];
        long[] inputElements = new long[parts.size()];
        long[] outputElements = new long[parts.size()];
        for (int j = 0; j < parts.size(); j++) {
            GroupParts gradient = parts.get(j);
            if (gradient.conversion() != Conversion.REDUCE_SCATTER || gradient.peers() != peers) {
                throw new IllegalArgumentException("gradient " + j + " of bucket '" + name + "' is a "
                        + gradient.conversion() + " over " + gradient.peers() + " peers, not a reduce-scatter over "
                        + peers + "; compile the plan again");
            }
            Region whole = Region.whole(gradient.shape());
            for (int k = 0; k < peers; k++) {
                runs[j][k] = ElementRuns.of(gradient.after(k), whole);
            }
            inputElements[j] = gradient.elements();
            outputElements[j] = gradient.after(communicator.rank()).elements();
        }
        return new GradientBucket(name, runs, inputElements, outputElements, true, type, communicator, chunkElements,
                window);
    }

    private static ElementRuns[][] flatParts(long[] elements, int peers) {
        ElementRuns[][] runs = new ElementRuns[elements.length][peers];
        for (int j = 0; j < elements.length; j++) {
            for (int k = 0; k < peers; k++) {
                runs[j][k] = ElementRuns.range(GroupParts.flatPartStart(elements[j], peers, k),
                        GroupParts.flatPartLength(elements[j], peers, k));
            }
        }
        return runs;
    }

    private GradientBucket(String name, ElementRuns[][] partRuns, long[] inputElements, long[] outputElements,
            boolean scatter, ElementType type, Communicator communicator, int chunkElements, int window) {
        if (partRuns.length < 1) {
            throw new IllegalArgumentException("gradient bucket '" + name + "' holds no gradient");
        }
        this.name = name;
        this.peers = communicator.size();
        this.rank = communicator.rank();
        this.scatter = scatter;
        this.partRuns = partRuns;
        this.inputElements = inputElements.clone();
        this.outputElements = outputElements.clone();
        int n = partRuns.length;
        packedStart = new int[n][peers];
        partLength = new int[n][peers];
        long[] bucketPartStart = new long[peers];
        long[] bucketPartLength = new long[peers];
        long at = 0;
        for (int k = 0; k < peers; k++) {
            bucketPartStart[k] = at;
            for (int j = 0; j < n; j++) {
                partLength[j][k] = partRuns[j][k].elements();
                packedStart[j][k] = Math.toIntExact(at);
                at += partLength[j][k];
            }
            bucketPartLength[k] = at - bucketPartStart[k];
        }
        int total = Math.toIntExact(at);
        String description = "ring " + (scatter ? "reduce-scatter" : "all-reduce") + " of gradient bucket '" + name
                + "' (" + n + " gradients, " + total + " elements), member " + rank + " of " + peers;
        CollectiveSchedule schedule = scatter
                ? RingSchedules.reduceScatter(peers, total, k -> ElementRuns.range(bucketPartStart[k],
                        bucketPartLength[k]), rank, chunkElements, description)
                : RingSchedules.allReduce(peers, total, k -> ElementRuns.range(bucketPartStart[k],
                        bucketPartLength[k]), rank, chunkElements, description);
        outputOffset = scatter ? Math.toIntExact(bucketPartStart[rank]) : 0;
        packedInput = TensorBuffer.allocate(type, total);
        packedOutput = TensorBuffer.allocate(type, scatter ? Math.toIntExact(bucketPartLength[rank]) : total);
        member = new CollectiveMember(schedule, communicator, type, window);
        binding = member.bind(packedInput, packedOutput);
        inputs = new TensorBuffer[n];
        outputs = new TensorBuffer[n];
        arrivals = new CompletableFuture<?>[n];
    }

    /** Gradients in the bucket. */
    public int size() {
        return partRuns.length;
    }

    /**
     * Gradient {@code position}'s member is ready with its part before and its output.
     *
     * @return completes when {@code output} holds the reduced gradient; exceptionally for every
     *     gradient of the bucket with the ring's {@link CollectiveException}, or with what failed
     *     while the bucket copied the results into the outputs
     * @throws IllegalArgumentException when a buffer does not hold the gradient's elements
     * @throws IllegalStateException when the position arrives twice in one run
     */
    public synchronized CompletableFuture<Void> arrive(int position, TensorBuffer input, TensorBuffer output,
            Executor executor) {
        if (input.elements() != inputElements[position] || output.elements() != outputElements[position]) {
            throw new IllegalArgumentException("gradient " + position + " of bucket '" + name + "' has "
                    + inputElements[position] + " elements and " + outputElements[position] + " in its result here, got "
                    + "buffers of " + input.elements() + " and " + output.elements());
        }
        if (arrivals[position] != null) {
            throw new IllegalStateException("gradient " + position + " of bucket '" + name + "' arrived twice before "
                    + "the bucket ran");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        inputs[position] = input;
        outputs[position] = output;
        arrivals[position] = done;
        if (++arrived == partRuns.length) {
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
                copy(in[j], partRuns[j][k], packedInput, packedStart[j][k], true, bytes);
            }
        }
        member.run(binding, executor).whenComplete((ignored, ringFailure) -> {
            Throwable failure = ringFailure;
            try {
                for (int j = 0; j < out.length && failure == null; j++) {
                    if (scatter) {
                        // this member's part of gradient j is the whole of its shard
                        out[j].region().put(0, packedOutput.region(), (packedStart[j][rank] - outputOffset) * bytes,
                                partLength[j][rank] * bytes);
                        continue;
                    }
                    for (int k = 0; k < peers; k++) {
                        copy(out[j], partRuns[j][k], packedOutput, packedStart[j][k], false, bytes);
                    }
                }
            } catch (RuntimeException unpack) {
                // an arrival left waiting would hold its member actor, and an ordered device, for good
                failure = unpack;
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

    /** Copies the runs of {@code gradient} to ({@code pack}) or from consecutive elements of {@code packed} from {@code at}. */
    private static void copy(TensorBuffer gradient, ElementRuns runs, TensorBuffer packed, int at, boolean pack,
            int bytes) {
        int offset = at;
        for (int r = 0; r < runs.runs(); r++) {
            int length = runs.length(r) * bytes;
            if (pack) {
                packed.region().put(offset * bytes, gradient.region(), runs.start(r) * bytes, length);
            } else {
                gradient.region().put(runs.start(r) * bytes, packed.region(), offset * bytes, length);
            }
            offset += runs.length(r);
        }
    }
}
