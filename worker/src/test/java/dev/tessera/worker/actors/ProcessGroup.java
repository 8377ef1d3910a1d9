package dev.tessera.worker.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.fragment.PlanFragments;
import dev.tessera.plan.fragment.ProcessIdentity;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.InProcessTransport;
import dev.tessera.sbp.DeviceId;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.StepResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The processes of a multi-process job, as {@link ProcessExecutor}s in this JVM over one
 * {@link InProcessTransport}: the plans compiled once, cut into one fragment per process (devices
 * in contiguous blocks), each process bound to its own fragment only and run on its own thread,
 * as a coordinator drives worker processes. What it assembles is what a coordinator would.
 */
final class ProcessGroup implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private final DistributedTraining distributed;
    private final LogicalShards shards;
    private final InProcessTransport transport;
    private final List<ProcessExecutor> processes = new ArrayList<>();
    private final ExecutorService threads;

    ProcessGroup(DistributedTraining distributed, long seed, ActorExecutorOptions options, int processCount) {
        this.distributed = distributed;
        this.shards = new LogicalShards(distributed);
        PlanProto training = ParallelExecutor.compile(distributed, options, true);
        PlanProto gradients = ParallelExecutor.compile(distributed, options, false);
        Map<Integer, Integer> processOf = new LinkedHashMap<>();
        int devices = training.getDevicesCount();
        for (DeviceProto device : training.getDevicesList()) {
            processOf.put(device.getIndex(), device.getIndex() * processCount / devices);
        }
        List<PlanFragment> trainingFragments = PlanFragments.cut(training, processOf);
        List<PlanFragment> gradientFragments = PlanFragments.cut(gradients, processOf);
        List<Device> all = training.getDevicesList().stream()
                .map(d -> new Device(d.getIndex(), d.getNode() + ":" + d.getDevice())).toList();
        transport = new InProcessTransport(all, TIMEOUT);
        threads = Executors.newFixedThreadPool(processCount);
        for (int p = 0; p < processCount; p++) {
            PlanFragment fragment = trainingFragments.get(p);
            List<DeviceId> own = fragment.getDevicesList().stream()
                    .map(d -> new DeviceId(d.getNode(), d.getDevice())).toList();
            ProcessIdentity self = new ProcessIdentity(training.getJobId(), training.getPlanVersion(), p, own);
            processes.add(new ProcessExecutor(distributed, seed, options,
                    new ProcessFragments(fragment, gradientFragments.get(p), self, transport, TIMEOUT)));
        }
    }

    /** Every process runs the iterations; each loss and norm comes from the one process that records it. */
    List<StepResult> run(List<List<Map<String, HostTensor>>> batches, double[] rates) {
        List<List<StepResult>> each = onEvery(process -> process.run(batches, rates));
        List<StepResult> out = new ArrayList<>();
        for (int t = 0; t < batches.size(); t++) {
            double loss = Double.NaN;
            double norm = Double.NaN;
            for (int p = 0; p < processes.size(); p++) {
                if (processes.get(p).recordsLoss()) {
                    loss = each.get(p).get(t).loss();
                }
                if (processes.get(p).recordsGradientNorm()) {
                    norm = each.get(p).get(t).gradNorm();
                }
            }
            out.add(new StepResult(loss, norm));
        }
        return out;
    }

    Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches) {
        Map<String, HostTensor> local = new LinkedHashMap<>();
        onEvery(process -> process.localGradients(microBatches)).forEach(local::putAll);
        return shards.assembleGradients(distributed.logical(), local);
    }

    Map<String, HostTensor> parameters() {
        Map<String, HostTensor> local = new LinkedHashMap<>();
        processes.forEach(process -> local.putAll(process.localParameters()));
        return shards.assembleAll(distributed.logical().parameters(), local);
    }

    Map<String, HostTensor> optimizerState() {
        Map<String, HostTensor> local = new LinkedHashMap<>();
        processes.forEach(process -> local.putAll(process.localOptimizerState()));
        return shards.assembleAll(distributed.logical().optimizerState(), local);
    }

    long[] bytesSent() {
        long[] total = new long[distributed.devices().size()];
        for (ProcessExecutor process : processes) {
            long[] sent = process.bytesSent();
            for (int d = 0; d < total.length; d++) {
                total[d] += sent[d];
            }
        }
        return total;
    }

    private <T> List<T> onEvery(Function<ProcessExecutor, T> work) {
        List<Future<T>> futures = new ArrayList<>();
        for (ProcessExecutor process : processes) {
            futures.add(threads.submit(() -> work.apply(process)));
        }
        List<T> results = new ArrayList<>();
        try {
            for (Future<T> future : futures) {
                results.add(future.get(TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS));
            }
        } catch (Exception e) {
            throw new IllegalStateException("a process failed: " + e, e);
        }
        return results;
    }

    @Override
    public void close() {
        processes.forEach(ProcessExecutor::close);
        transport.close();
        threads.shutdownNow();
    }

    /**
     * Trains {@code data} on {@code virtual} and on these processes and requires the same loss and gradient norm
     * of every iteration and the same parameters and optimizer state after them, exactly (rtol 0, atol 0).
     */
    void requireTrainsLike(ParallelExecutor virtual, List<List<Map<String, HostTensor>>> data, double[] rates) {
        List<StepResult> expected = virtual.run(data, rates);
        List<StepResult> actual = run(data, rates);
        assertEquals(expected.size(), actual.size(), "iterations run");
        for (int t = 0; t < expected.size(); t++) {
            assertEquals(expected.get(t).loss(), actual.get(t).loss(), "loss of iteration " + t);
            assertEquals(expected.get(t).gradNorm(), actual.get(t).gradNorm(), "gradient norm of iteration " + t);
        }
        Tolerance.EXACT.requireClose("parameters after training", virtual.parameters(), parameters());
        Tolerance.EXACT.requireClose("optimizer state after training", virtual.optimizerState(), optimizerState());
    }
}
