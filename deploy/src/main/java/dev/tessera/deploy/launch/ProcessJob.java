package dev.tessera.deploy.launch;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.deploy.config.ProcessSettings;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.train.TrainingBackend;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.compile.PlanMemory;
import dev.tessera.plan.compile.PlanTraffic;
import dev.tessera.plan.fragment.PlanFragments;
import dev.tessera.proto.control.AbandonRun;
import dev.tessera.proto.control.ClockProbe;
import dev.tessera.proto.control.ClockReply;
import dev.tessera.proto.control.ComputeGradients;
import dev.tessera.proto.control.CoordinatorMessage;
import dev.tessera.proto.control.FindNonFinite;
import dev.tessera.proto.control.MicroBatch;
import dev.tessera.proto.control.NonFiniteFound;
import dev.tessera.proto.control.NonFiniteStop;
import dev.tessera.proto.control.Parts;
import dev.tessera.proto.control.PartsRequest;
import dev.tessera.proto.control.Restore;
import dev.tessera.proto.control.RunSteps;
import dev.tessera.proto.control.Shutdown;
import dev.tessera.proto.control.StepsDone;
import dev.tessera.proto.control.WorkerMessage;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.process.AeronConfig;
import dev.tessera.proto.process.ProcessAssignment;
import dev.tessera.proto.process.ProcessPeer;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.trace.ClockOffset;
import dev.tessera.runtime.trace.TraceTimeline;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.LogicalShards;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ForwardInference;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.RegisterUse;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.Traffic;
import dev.tessera.worker.process.TensorValues;
import dev.tessera.worker.transport.AeronSettings;
import dev.tessera.worker.transport.AeronTransport;
import dev.tessera.worker.transport.DriverDirectories;
import io.aeron.driver.MediaDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The coordinator of a multi-process job, in the process that runs {@code tessera train}: it
 * compiles the plan once, cuts it into one fragment per worker ({@link PlanFragments#cut}, the
 * devices in contiguous blocks), starts one shared Aeron media driver and the worker OS processes
 * ({@link WorkerLauncher}), sends each its assignment over the control channel
 * ({@link ControlServer}), and waits until all are ready. After that it only says which steps to
 * run and collects what comes back: the losses and norms of each step, and, for a checkpoint or an
 * evaluation, every worker's parts of the parameters and optimizer state, assembled with
 * {@link LogicalShards} into the logical tensors the training loop saves. With {@code --trace} the
 * workers record their actions and send them with each answer; the coordinator probes each
 * worker's clock after every chunk and keeps one timeline ({@link JobTrace}).
 *
 * <p>A loss or gradient norm that is not finite stops every worker at that iteration, which then
 * replays it together so that the error names the first op as on virtual devices
 * ({@link NonFiniteSearch}); the job stays usable until closed. A worker that fails, exits or goes
 * silent ends the job: the others are told to shut down and
 * killed if they do not within a second, and the waiting call throws {@link WorkerFailedException}
 * naming the worker. {@link #close} leaves no worker process and no driver directory behind.
 */
public final class ProcessJob implements TrainingBackend {
    /** How long workers get to leave after a shutdown before they are killed. */
    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
    private static final Duration FAILURE_GRACE = Duration.ofSeconds(1);
    /** Round trips per clock estimate of a traced job; the shortest gives the estimate. */
    private static final int CLOCK_PROBES = 5;

    private final DistributedTraining distributed;
    private final TrainingGraph graph;
    private final LogicalShards shards;
    private final ActorExecutorOptions options;
    private final PlanProto training;
    private final int processes;
    private final Path logDirectory;
    private final BlockingQueue<ControlServer.Event> events = new LinkedBlockingQueue<>();
    private final List<Process> workers = new ArrayList<>();
    private final long[] pids;
    private final int[] processOfDevice;
    /** Of the last StepsDone, by plan device: the owner's figures. */
    private final long[] peakRegisterBytes;
    private final long[] heldRegisterBytes;
    /** Null when the job is not traced. */
    private final JobTrace trace;
    private final Thread killWorkersOnExit = new Thread(this::killWorkers, "tessera-job-shutdown");
    private ControlServer control;
    private MediaDriver driver;
    private long request;
    private long iteration;
    private long[] bytesSent;
    /** The parts last collected and the iteration they are of, so a checkpoint after an eval asks once. */
    private Map<String, HostTensor> partsParameters;
    private Map<String, HostTensor> partsState;
    private long partsIteration = -1;
    private final Map<Tensor, INDArray> inferenceWeights = new LinkedHashMap<>();
    private WorkerFailedException failure;
    private boolean closed;

    private ProcessJob(DistributedTraining distributed, ActorExecutorOptions options, PlanProto training,
                       int processes, int[] processOfDevice, Path logDirectory) {
        this.distributed = distributed;
        this.graph = distributed.logical();
        this.shards = new LogicalShards(distributed);
        this.options = options;
        this.training = training;
        this.processes = processes;
        this.logDirectory = logDirectory;
        this.pids = new long[processes];
        this.bytesSent = new long[training.getDevicesCount()];
        this.processOfDevice = processOfDevice;
        this.peakRegisterBytes = new long[training.getDevicesCount()];
        this.heldRegisterBytes = new long[training.getDevicesCount()];
        this.trace = options.trace() ? new JobTrace(devices(training), graph.options().microBatches(), processes)
                : null;
    }

    private static List<Device> devices(PlanProto plan) {
        return plan.getDevicesList().stream().map(d -> new Device(d.getIndex(), d.getNode() + ":" + d.getDevice()))
                .toList();
    }

    /**
     * Compiles and cuts the plan, starts the driver and {@code config.processes().processes()}
     * workers, and returns once every worker is ready.
     *
     * @param runDirectory the workers' logs go to its {@code workers/} folder
     * @throws WorkerFailedException when a worker fails or exits while starting, naming it and its log
     * @throws IllegalStateException when the workers are not ready within {@code transport.control.start-timeout}
     */
    public static ProcessJob start(RunConfig config, DistributedTraining distributed, ActorExecutorOptions options,
                                   Path runDirectory, Consumer<String> note) {
        ProcessSettings settings = config.processes();
        int processes = settings.processes();
        PlanProto training = ParallelExecutor.compile(distributed, options, true);
        PlanProto gradients = ParallelExecutor.compile(distributed, options, false);
        Map<Integer, Integer> processOf = new LinkedHashMap<>();
        int devices = training.getDevicesCount();
        int[] processOfDevice = new int[devices];
        for (DeviceProto device : training.getDevicesList()) {
            processOf.put(device.getIndex(), device.getIndex() * processes / devices);
            processOfDevice[device.getIndex()] = device.getIndex() * processes / devices;
        }
        List<PlanFragment> trainingFragments = PlanFragments.cut(training, processOf);
        List<PlanFragment> gradientFragments = PlanFragments.cut(gradients, processOf);
        ProcessJob job = new ProcessJob(distributed, options, training, processes, processOfDevice,
                runDirectory.resolve("workers"));
        try {
            job.launch(config, settings, trainingFragments, gradientFragments, note);
            return job;
        } catch (RuntimeException | Error e) {
            job.close();
            throw e;
        }
    }

    private void launch(RunConfig config, ProcessSettings settings, List<PlanFragment> trainingFragments,
                        List<PlanFragment> gradientFragments, Consumer<String> note) {
        AeronSettings aeron = settings.aeron();
        Path driverDirectory = aeron.externalDriverDirectory();
        if (driverDirectory == null) {
            DriverDirectories.removeStale(aeron.driverRoot());
            driverDirectory = DriverDirectories.fresh(aeron.driverRoot());
            int logs = processes * (processes - 1);
            DriverDirectories.checkSpace(aeron.driverRoot(), DriverDirectories.bytesNeeded(aeron.termLength(), logs, 0),
                    aeron.termLength(), logs, 0);
            driver = AeronTransport.launchSharedDriver(aeron, driverDirectory);
        }
        Runtime.getRuntime().addShutdownHook(killWorkersOnExit);
        String jobId = training.getJobId();
        control = ControlServer.start(jobId, processes, settings.heartbeatTimeout(), events);
        List<ProcessPeer> peers = new ArrayList<>();
        for (int p = 0; p < processes; p++) {
            peers.add(ProcessPeer.newBuilder().setName("worker-" + p).setChannel("aeron:ipc").setStreamId(2000 + p)
                    .addAllDevices(trainingFragments.get(p).getDevicesList()).build());
        }
        AeronConfig aeronConfig = AeronConfig.newBuilder().setDriverDirectory(driverDirectory.toString())
                .setTermLength(aeron.termLength()).setMtu(aeron.mtu()).setIdleStrategy(aeron.idleStrategy())
                .setDeliveryTimeoutMs(aeron.deliveryTimeout().toMillis())
                .setConnectTimeoutMs(aeron.connectTimeout().toMillis())
                .setPeerTimeoutMs(aeron.peerTimeout().toMillis()).build();
        String graphText = config.render();
        for (int p = 0; p < processes; p++) {
            workers.add(WorkerLauncher.start(WorkerLauncher.command(control.address(), jobId, p,
                    settings.workerJvmOptions(), settings.startTimeout(), settings.heartbeatTimeout()), logDirectory.resolve("worker-" + p + ".log")));
            int process = p;
            workers.get(p).onExit().thenAccept(exited -> events.add(new ControlServer.Event(process, null,
                    "it exited with " + exitStatus(exited.exitValue()))));
        }
        long deadline = System.nanoTime() + settings.startTimeout().toNanos();
        int ready = 0;
        while (ready < processes) {
            ControlServer.Event event = next(deadline, () -> "the workers were not ready within "
                    + settings.startTimeout().toSeconds() + " s (transport.control.start-timeout); their logs are in "
                    + logDirectory);
            WorkerMessage message = event.message();
            if (message.hasRegister()) {
                pids[event.process()] = message.getRegister().getPid();
                control.send(event.process(), CoordinatorMessage.newBuilder().setAssignment(ProcessAssignment.newBuilder()
                        .setJobId(jobId).setPlanVersion(training.getPlanVersion()).setProcess(event.process())
                        .setProcesses(processes).setGraph(graphText).setTraining(trainingFragments.get(event.process()))
                        .setGradientsOnly(gradientFragments.get(event.process())).addAllPeers(peers)
                        .setAeron(aeronConfig).setSeed(config.settings().seed()).setTrace(trace != null).build())
                        .build());
            } else if (message.hasReady()) {
                ready++;
            } else {
                throw unexpected(event);
            }
        }
        StringBuilder started = new StringBuilder(processes + " worker processes ready (");
        for (int p = 0; p < processes; p++) {
            started.append(p == 0 ? "" : ", ").append("worker-").append(p).append(" pid ").append(pids[p])
                    .append(" devices ").append(trainingFragments.get(p).getDevicesList().stream()
                            .map(d -> d.getNode() + ":" + d.getDevice()).toList());
        }
        note.accept(started.append("); Aeron IPC through the media driver in ").append(driverDirectory)
                .append("; worker logs in ").append(logDirectory).toString());
    }

    @Override
    public boolean drawsOwnBatches() {
        return true;
    }

    /**
     * Every worker draws the batches of these iterations itself and trains its fragment. When
     * traced, each worker's actions come before its answer and its clock is probed after it.
     *
     * @throws NonFiniteException as one executor throws it, when a loss or gradient norm is not
     *     finite; the job then stays at the failing iteration, none of its updates made
     * @throws WorkerFailedException when a worker fails, exits or goes silent
     */
    @Override
    public List<StepResult> run(long firstBatch, List<List<Map<String, HostTensor>>> batches, double[] learningRates) {
        RunSteps.Builder steps = RunSteps.newBuilder().setRequest(++request).setFirstBatch(firstBatch);
        Arrays.stream(learningRates).forEach(steps::addLearningRates);
        long started = System.nanoTime();
        broadcast(CoordinatorMessage.newBuilder().setRunSteps(steps).build());
        double[] losses = new double[learningRates.length];
        double[] norms = new double[learningRates.length];
        long[] sent = new long[training.getDevicesCount()];
        WorkerMessage[] replies = new WorkerMessage[processes];
        long answered = started;
        boolean abandoned = false;
        for (int missing = processes; missing > 0; ) {
            ControlServer.Event event = next(Long.MAX_VALUE, () -> "no answer");
            int process = event.process();
            if (trace != null && event.message().hasTraceEvents() && replies[process] == null) {
                trace.received(process, event.message().getTraceEvents());
                continue;
            }
            boolean answer = event.message().hasStepsDone() || event.message().hasNonFiniteStop();
            if (!answer || replies[process] != null) {
                throw unexpected(event);
            }
            replies[process] = event.message();
            answered = Math.max(answered, event.receivedNanos());
            missing--;
            if (event.message().hasNonFiniteStop() && !abandoned) {
                // the others may wait for tensors the stopped worker will not send
                abandoned = true;
                CoordinatorMessage abandon = CoordinatorMessage.newBuilder().setAbandonRun(AbandonRun.newBuilder()
                        .setPeer(event.message().getNonFiniteStop())).build();
                for (int p = 0; p < processes; p++) {
                    if (replies[p] == null) {
                        control.send(p, abandon);
                    }
                }
            }
        }
        if (Arrays.stream(replies).anyMatch(WorkerMessage::hasNonFiniteStop)) {
            throw nonFinite(firstBatch, replies);
        }
        for (int p = 0; p < processes; p++) {
            StepsDone done = replies[p].getStepsDone();
            for (int i = 0; i < learningRates.length; i++) {
                if (done.getRecordsLoss()) {
                    losses[i] = done.getLosses(i);
                }
                if (done.getRecordsGradientNorm()) {
                    norms[i] = done.getGradientNorms(i);
                }
            }
            for (int d = 0; d < sent.length; d++) {
                sent[d] += done.getBytesSent(d);
                if (processOfDevice[d] == p) {
                    peakRegisterBytes[d] = done.getPeakRegisterBytes(d);
                    heldRegisterBytes[d] = done.getHeldRegisterBytes(d);
                }
            }
            if (trace != null && trace.pendingChunks(p) != done.getTraceChunks()) {
                throw fail(worker(p) + " sent " + trace.pendingChunks(p) + " trace messages of request "
                        + done.getRequest() + " but counted " + done.getTraceChunks());
            }
        }
        if (trace != null) {
            ClockOffset[] clocks = probeClocks();
            for (int p = 0; p < processes; p++) {
                trace.aligned(p, clocks[p]);
            }
            trace.window(started, answered, iteration, learningRates.length);
        }
        bytesSent = sent;
        iteration += learningRates.length;
        List<StepResult> results = new ArrayList<>(learningRates.length);
        for (int i = 0; i < learningRates.length; i++) {
            results.add(new StepResult(losses[i], norms[i]));
        }
        return results;
    }

    /**
     * A sink of some worker found the loss or the gradient norm not finite. Every worker must have
     * stopped at that iteration with its updates undone: by its own sink, or, told to abandon the
     * run, where it waited for a tensor of the stopped worker; then every worker replays it,
     * checking every op's outputs, and the earliest finding names the op as on virtual devices
     * ({@link NonFiniteSearch}). The workers stay at the
     * failing iteration, so parameters and optimizer state can still be read.
     *
     * @return the error one executor raises for this iteration
     * @throws WorkerFailedException when a worker finished the chunk or stopped at another iteration
     */
    private NonFiniteException nonFinite(long firstBatch, WorkerMessage[] replies) {
        NonFiniteStop stop = Arrays.stream(replies).filter(WorkerMessage::hasNonFiniteStop).findFirst().orElseThrow()
                .getNonFiniteStop();
        for (int p = 0; p < processes; p++) {
            if (!replies[p].hasNonFiniteStop() || replies[p].getNonFiniteStop().getIteration() != stop.getIteration()) {
                throw fail("'" + stop.getTensor() + "' not finite at step " + (stop.getIteration() + 1)
                        + " stopped some workers, but " + worker(p) + (replies[p].hasNonFiniteStop()
                        ? " stopped at step " + (replies[p].getNonFiniteStop().getIteration() + 1)
                        : " finished the chunk") + ", so the workers' states disagree");
            }
        }
        long failedBatch = firstBatch + (stop.getIteration() - iteration) * graph.options().microBatches();
        broadcast(CoordinatorMessage.newBuilder().setFindNonFinite(FindNonFinite.newBuilder().setRequest(++request)
                .setFirstBatch(failedBatch)).build());
        List<NonFiniteFound> found = await(WorkerMessage::hasNonFiniteFound, "the non-finite search").stream()
                .map(WorkerMessage::getNonFiniteFound).toList();
        iteration = stop.getIteration();
        partsIteration = -1;
        return NonFiniteSearch.error(stop, found, distributed.physical().loss().name());
    }

    /**
     * Each worker's clock relative to this JVM's: {@link #CLOCK_PROBES} round trips to every
     * worker (answered by its network thread), the estimate of the shortest kept.
     */
    private ClockOffset[] probeClocks() {
        ClockOffset[] best = new ClockOffset[processes];
        for (int round = 0; round < CLOCK_PROBES; round++) {
            long probe = ++request;
            long[] sentNanos = new long[processes];
            for (int p = 0; p < processes; p++) {
                sentNanos[p] = System.nanoTime();
                control.send(p, CoordinatorMessage.newBuilder().setClockProbe(ClockProbe.newBuilder().setRequest(probe))
                        .build());
            }
            boolean[] answered = new boolean[processes];
            for (int missing = processes; missing > 0; missing--) {
                ControlServer.Event event = next(Long.MAX_VALUE, () -> "no answer");
                int p = event.process();
                ClockReply reply = event.message().getClockReply();
                if (!event.message().hasClockReply() || reply.getRequest() != probe || answered[p]) {
                    throw unexpected(event);
                }
                answered[p] = true;
                ClockOffset offset = ClockOffset.fromRoundTrip(sentNanos[p], reply.getNanos(), event.receivedNanos());
                best[p] = best[p] == null ? offset : best[p].tighter(offset);
            }
        }
        return best;
    }

    /** The gradients of the micro-batches without an update, assembled from the workers' parts. */
    public Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches) {
        ComputeGradients.Builder compute = ComputeGradients.newBuilder().setRequest(++request);
        for (Map<String, HostTensor> batch : microBatches) {
            compute.addMicroBatches(MicroBatch.newBuilder().addAllInputs(TensorValues.all(batch)));
        }
        broadcast(CoordinatorMessage.newBuilder().setComputeGradients(compute).build());
        Map<String, HostTensor> parts = new LinkedHashMap<>();
        for (WorkerMessage reply : await(WorkerMessage::hasParts, "the gradients")) {
            parts.putAll(TensorValues.toHost(reply.getParts().getGradientsList()));
        }
        return shards.assembleGradients(graph, parts);
    }

    @Override
    public Map<String, HostTensor> parameters() {
        collectParts();
        return partsParameters;
    }

    @Override
    public Map<String, HostTensor> optimizerState() {
        collectParts();
        return partsState;
    }

    /** The workers' parts of the parameters and optimizer state, once per iteration. */
    private void collectParts() {
        if (partsIteration == iteration) {
            return;
        }
        broadcast(CoordinatorMessage.newBuilder().setPartsRequest(PartsRequest.newBuilder().setRequest(++request))
                .build());
        Map<String, HostTensor> parameters = new LinkedHashMap<>();
        Map<String, HostTensor> state = new LinkedHashMap<>();
        for (WorkerMessage reply : await(WorkerMessage::hasParts, "the parameters")) {
            Parts parts = reply.getParts();
            parameters.putAll(TensorValues.toHost(parts.getParametersList()));
            state.putAll(TensorValues.toHost(parts.getOptimizerStateList()));
        }
        partsParameters = shards.assembleAll(graph.parameters(), parameters);
        partsState = shards.assembleAll(graph.optimizerState(), state);
        partsIteration = iteration;
    }

    @Override
    public void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration) {
        broadcast(CoordinatorMessage.newBuilder().setRestore(Restore.newBuilder().setRequest(++request)
                .addAllParameters(TensorValues.all(parameters)).addAllOptimizerState(TensorValues.all(optimizerState))
                .setIteration(iteration)).build());
        await(WorkerMessage::hasDone, "the restore");
        this.iteration = iteration;
        partsIteration = -1;
    }

    /** Forward-only evaluation here, with the parameters the workers hold. */
    @Override
    public Inference inference(Model model) {
        return ForwardInference.withParameters(model, graph, parameters(), inferenceWeights, options.kernels(),
                () -> iteration);
    }

    /** What each device sent as the workers counted it, and the plan's figure. */
    @Override
    public Optional<Traffic> traffic() {
        List<String> devices = training.getDevicesList().stream().map(d -> d.getNode() + ":" + d.getDevice()).toList();
        return Optional.of(new Traffic(devices, bytesSent, PlanTraffic.bytesPerIteration(training)));
    }

    /** Each device's register memory as its worker reported it with the last steps, and the plan's figure. */
    @Override
    public Optional<RegisterUse> registerUse() {
        List<String> devices = training.getDevicesList().stream().map(d -> d.getNode() + ":" + d.getDevice()).toList();
        return Optional.of(new RegisterUse(devices, peakRegisterBytes, heldRegisterBytes,
                PlanMemory.allocatedRegisterBytes(training)));
    }

    /** Every traced chunk: a row per worker, on this JVM's clock, and the coordinator's windows. */
    @Override
    public Optional<TraceTimeline> trace() {
        if (trace == null) {
            return Optional.empty();
        }
        String[] names = new String[processes];
        for (int p = 0; p < processes; p++) {
            names[p] = worker(p);
        }
        return trace.timeline(names, processOfDevice);
    }

    /** The worker processes' pids, by process (0 before one registered). */
    public long[] pids() {
        return pids.clone();
    }

    private void broadcast(CoordinatorMessage message) {
        if (failure != null) {
            throw failure;
        }
        for (int p = 0; p < processes; p++) {
            control.send(p, message);
        }
    }

    /** One reply of each worker to the request just sent, in process order; fails the job on a failure or a loss. */
    private List<WorkerMessage> await(java.util.function.Predicate<WorkerMessage> kind, String what) {
        WorkerMessage[] replies = new WorkerMessage[processes];
        int missing = processes;
        while (missing > 0) {
            ControlServer.Event event = next(Long.MAX_VALUE, () -> "no answer");
            if (!kind.test(event.message()) || replies[event.process()] != null) {
                throw unexpected(event);
            }
            replies[event.process()] = event.message();
            missing--;
        }
        return List.of(replies);
    }

    /**
     * The next worker message; a worker's failure or loss ends the job here.
     *
     * @throws WorkerFailedException naming the worker
     */
    private ControlServer.Event next(long deadlineNanos, java.util.function.Supplier<String> late) {
        ControlServer.Event event;
        try {
            long wait = deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadlineNanos - System.nanoTime();
            event = wait <= 0 ? null : events.poll(wait, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail("the coordinator was interrupted");
        }
        if (event == null) {
            throw fail(late.get());
        }
        if (event.lost() != null) {
            throw fail(worker(event.process()) + " died: " + event.lost() + exitOf(event.process(), event.lost()));
        }
        if (event.message().hasFailed()) {
            throw fail(event.message().getFailed().getMessage());
        }
        return event;
    }

    private RuntimeException unexpected(ControlServer.Event event) {
        return fail(worker(event.process()) + " sent " + event.message().getBodyCase() + " out of turn");
    }

    /** Ends every worker, and remembers why so that every later call fails alike. */
    private WorkerFailedException fail(String why) {
        if (failure == null) {
            failure = new WorkerFailedException(why + "; the job was ended on every worker (their logs are in "
                    + logDirectory + ")");
            stopWorkers("the job failed: " + why, FAILURE_GRACE);
        }
        return failure;
    }

    /** How the worker's process ended, when it did within a second of losing its connection. */
    private String exitOf(int process, String lost) {
        Process worker = workers.get(process);
        try {
            if (!lost.startsWith("it exited") && worker.waitFor(1, TimeUnit.SECONDS)) {
                return ", and it exited with " + exitStatus(worker.exitValue());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "";
    }

    private String worker(int process) {
        return "worker-" + process + (pids[process] != 0 ? " (pid " + pids[process] + ")" : "");
    }

    private static String exitStatus(int status) {
        return status > 128 ? "status " + status + " (killed by signal " + (status - 128)
                + (status == 137 ? ", SIGKILL" : status == 143 ? ", SIGTERM" : "") + ")" : "status " + status;
    }

    /** Asks the workers to shut down, then kills those still running after {@code grace}. */
    private void stopWorkers(String reason, Duration grace) {
        if (control != null) {
            CoordinatorMessage shutdown = CoordinatorMessage.newBuilder().setShutdown(Shutdown.newBuilder()
                    .setReason(reason)).build();
            for (int p = 0; p < processes; p++) {
                control.send(p, shutdown);
            }
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (Process worker : workers) {
            try {
                worker.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        killWorkers();
    }

    private void killWorkers() {
        for (Process worker : workers) {
            worker.destroyForcibly();
        }
        for (Process worker : workers) {
            try {
                worker.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Shuts the workers down (killing any that do not leave), then the control server and the driver. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopWorkers("training finished", SHUTDOWN_GRACE);
        if (control != null) {
            control.close();
        }
        if (driver != null) {
            driver.close();
        }
        inferenceWeights.values().forEach(INDArray::close);
        inferenceWeights.clear();
        try {
            Runtime.getRuntime().removeShutdownHook(killWorkersOnExit);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is exiting, or the hook was never added
        }
    }
}
