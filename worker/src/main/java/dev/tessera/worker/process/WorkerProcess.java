package dev.tessera.worker.process;

import dev.tessera.lowering.DistributedTraining;
import dev.tessera.proto.control.ComputeGradients;
import dev.tessera.proto.control.CoordinatorMessage;
import dev.tessera.proto.control.Done;
import dev.tessera.proto.control.Failed;
import dev.tessera.proto.control.FindNonFinite;
import dev.tessera.proto.control.MicroBatch;
import dev.tessera.proto.control.NonFiniteFound;
import dev.tessera.proto.control.NonFiniteKind;
import dev.tessera.proto.control.NonFiniteStop;
import dev.tessera.proto.control.Parts;
import dev.tessera.proto.control.Ready;
import dev.tessera.proto.control.Register;
import dev.tessera.proto.control.Restore;
import dev.tessera.proto.control.RunSteps;
import dev.tessera.proto.control.StepsDone;
import dev.tessera.proto.control.TraceEvents;
import dev.tessera.proto.control.WorkerMessage;
import dev.tessera.proto.process.ProcessAssignment;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ProcessExecutor;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.StepResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * The life of a worker process of a multi-process job, on its own thread: register with the
 * coordinator, build the job from the assignment (the graph is the caller's, rebuilt from the
 * assignment's {@code graph} text by a {@link JobFactory}), start the Aeron transport and bind the
 * fragments ({@link AssignedProcess}), report ready, then answer the coordinator's requests until
 * it says shut down. Training batches are drawn here, from the worker's own data source, so no
 * tensor of an iteration passes the coordinator.
 *
 * <p>A failure is sent to the coordinator as {@code Failed}, naming this worker, and
 * {@link #run} returns 1; the coordinator then ends the job on every other worker.
 */
public final class WorkerProcess {
    private final ControlClient control;
    private final String name;

    /**
     * What a worker trains, rebuilt from its assignment.
     *
     * @param batch the logical batch of each index, as every worker draws it alike
     */
    public record Job(DistributedTraining distributed, ActorExecutorOptions options, int microBatches,
                      LongFunction<Map<String, HostTensor>> batch) {
    }

    /** Rebuilds the job from an assignment's {@code graph} text. */
    @FunctionalInterface
    public interface JobFactory {
        Job build(ProcessAssignment assignment);
    }

    public WorkerProcess(ControlClient control, int process) {
        this.control = control;
        this.name = "worker-" + process + " (pid " + ProcessHandle.current().pid() + ")";
    }

    /**
     * Registers as process {@code process} of job {@code jobId} and serves the coordinator until
     * it says shut down.
     *
     * @return 0 after a shutdown, 1 after a failure (reported to the coordinator)
     */
    public int run(String jobId, int process, JobFactory factory) {
        control.send(WorkerMessage.newBuilder().setRegister(Register.newBuilder().setJobId(jobId).setProcess(process)
                .setPid(ProcessHandle.current().pid()).setHost(host())).build());
        try {
            CoordinatorMessage first = control.take();
            if (first.hasShutdown()) {
                return 0;
            }
            if (!first.hasAssignment()) {
                throw new IllegalStateException("the coordinator sent " + first.getBodyCase() + " before the assignment");
            }
            ProcessAssignment assignment = first.getAssignment();
            Job job = factory.build(assignment);
            try (AssignedProcess assigned = AssignedProcess.start(assignment, job.distributed(),
                    job.options().withTrace(assignment.getTrace()))) {
                control.onAbandon(abandon -> assigned.executor().abandonRun(finding(abandon.getPeer())));
                control.send(WorkerMessage.newBuilder().setReady(Ready.newBuilder().setProcess(process)).build());
                return serve(assigned.executor(), job);
            }
        } catch (Throwable failure) {
            control.sendAndWait(WorkerMessage.newBuilder().setFailed(Failed.newBuilder().setMessage(name + " failed: "
                    + describe(failure))).build(), Duration.ofSeconds(5));
            failure.printStackTrace(System.err);
            return 1;
        }
    }

    private int serve(ProcessExecutor executor, Job job) throws InterruptedException {
        while (true) {
            CoordinatorMessage message = control.take();
            switch (message.getBodyCase()) {
                case RUN_STEPS -> runSteps(executor, job, message.getRunSteps());
                case FIND_NON_FINITE -> findNonFinite(executor, job, message.getFindNonFinite());
                case PARTS_REQUEST -> control.send(WorkerMessage.newBuilder().setParts(Parts.newBuilder()
                        .setRequest(message.getPartsRequest().getRequest())
                        .addAllParameters(TensorValues.all(executor.localParameters()))
                        .addAllOptimizerState(TensorValues.all(executor.localOptimizerState()))).build());
                case COMPUTE_GRADIENTS -> {
                    ComputeGradients request = message.getComputeGradients();
                    List<Map<String, HostTensor>> microBatches = new ArrayList<>();
                    for (MicroBatch batch : request.getMicroBatchesList()) {
                        microBatches.add(TensorValues.toHost(batch.getInputsList()));
                    }
                    control.send(WorkerMessage.newBuilder().setParts(Parts.newBuilder().setRequest(request.getRequest())
                            .addAllGradients(TensorValues.all(executor.localGradients(microBatches)))).build());
                }
                case RESTORE -> {
                    Restore restore = message.getRestore();
                    executor.restore(TensorValues.toHost(restore.getParametersList()),
                            TensorValues.toHost(restore.getOptimizerStateList()), restore.getIteration());
                    control.send(WorkerMessage.newBuilder().setDone(Done.newBuilder().setRequest(restore.getRequest()))
                            .build());
                }
                case SHUTDOWN -> {
                    return 0;
                }
                default -> throw new IllegalStateException("the coordinator sent " + message.getBodyCase()
                        + " to a worker that is already running");
            }
        }
    }

    /**
     * Trains the request's iterations and answers: first the run's trace in chunks when tracing,
     * then {@code StepsDone} (the frames leave in this order on the one connection).
     */
    private void runSteps(ProcessExecutor executor, Job job, RunSteps request) {
        int iterations = request.getLearningRatesCount();
        List<List<Map<String, HostTensor>>> batches = new ArrayList<>(iterations);
        long next = request.getFirstBatch();
        for (int i = 0; i < iterations; i++) {
            List<Map<String, HostTensor>> microBatches = new ArrayList<>(job.microBatches());
            for (int j = 0; j < job.microBatches(); j++) {
                microBatches.add(job.batch().apply(next++));
            }
            batches.add(microBatches);
        }
        double[] rates = request.getLearningRatesList().stream().mapToDouble(Double::doubleValue).toArray();
        List<StepResult> results;
        try {
            results = executor.run(batches, rates);
        } catch (NonFiniteException stopped) {
            // the run undid the failing iteration's updates; the coordinator asks every worker to replay it
            control.send(WorkerMessage.newBuilder().setNonFiniteStop(NonFiniteStop.newBuilder()
                    .setRequest(request.getRequest()).setKind(kind(stopped.kind()))
                    .setIteration(stopped.iteration()).setTensor(stopped.tensorName()).setOp(stopped.opName())
                    .setDetail(stopped.detail())).build());
            return;
        }
        StepsDone.Builder done = StepsDone.newBuilder().setRequest(request.getRequest())
                .setRecordsLoss(executor.recordsLoss()).setRecordsGradientNorm(executor.recordsGradientNorm());
        for (StepResult result : results) {
            done.addLosses(result.loss()).addGradientNorms(result.gradNorm());
        }
        for (long bytes : executor.bytesSent()) {
            done.addBytesSent(bytes);
        }
        for (long bytes : executor.peakRegisterBytes()) {
            done.addPeakRegisterBytes(bytes);
        }
        for (long bytes : executor.heldRegisterBytes()) {
            done.addHeldRegisterBytes(bytes);
        }
        executor.lastTrace().ifPresent(trace -> {
            List<TraceEvents> chunks = TraceChunks.encode(request.getRequest(), trace);
            chunks.forEach(chunk -> control.send(WorkerMessage.newBuilder().setTraceEvents(chunk).build()));
            long dropped = 0;
            for (int d = 0; d < trace.plan().devices().size(); d++) {
                dropped += trace.buffer(d).dropped();
            }
            done.setTraceChunks(chunks.size()).setTraceDropped(dropped);
        });
        control.send(WorkerMessage.newBuilder().setStepsDone(done).build());
    }

    /** Replays the stopped iteration's gradients with the other workers and answers this worker's earliest finding. */
    private void findNonFinite(ProcessExecutor executor, Job job, FindNonFinite request) {
        List<Map<String, HostTensor>> microBatches = new ArrayList<>(job.microBatches());
        for (int j = 0; j < job.microBatches(); j++) {
            microBatches.add(job.batch().apply(request.getFirstBatch() + j));
        }
        ProcessExecutor.NonFiniteReplay replay = executor.findNonFinite(microBatches);
        control.send(WorkerMessage.newBuilder().setNonFiniteFound(NonFiniteFound.newBuilder()
                .setRequest(request.getRequest()).setFound(replay.microBatch() >= 0)
                .setMicroBatch(replay.microBatch()).setOpIndex(replay.opIndex()).setOp(replay.opName())
                .setTensor(replay.tensorName()).setGradientIndex(replay.gradientIndex())
                .setGradient(replay.gradientName())).build());
    }

    private static NonFiniteException finding(NonFiniteStop stop) {
        NonFiniteException.Kind kind = switch (stop.getKind()) {
            case NON_FINITE_LOSS -> NonFiniteException.Kind.LOSS;
            case NON_FINITE_GRADIENT -> NonFiniteException.Kind.GRADIENT;
            case NON_FINITE_GRADIENT_NORM, UNRECOGNIZED -> NonFiniteException.Kind.GRADIENT_NORM;
        };
        return NonFiniteException.of(kind, stop.getIteration(), stop.getTensor(), stop.getOp(), stop.getDetail());
    }

    private static NonFiniteKind kind(NonFiniteException.Kind kind) {
        return switch (kind) {
            case LOSS -> NonFiniteKind.NON_FINITE_LOSS;
            case GRADIENT -> NonFiniteKind.NON_FINITE_GRADIENT;
            case GRADIENT_NORM -> NonFiniteKind.NON_FINITE_GRADIENT_NORM;
        };
    }

    /** The failure and its causes on one line each, as the coordinator prints them. */
    static String describe(Throwable failure) {
        StringBuilder text = new StringBuilder(String.valueOf(failure.getMessage() != null ? failure.getMessage()
                : failure.getClass().getName()));
        for (Throwable cause = failure.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            if (cause.getMessage() != null && !text.toString().contains(cause.getMessage())) {
                text.append("; caused by: ").append(cause.getMessage());
            }
        }
        return text.toString();
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }
}
