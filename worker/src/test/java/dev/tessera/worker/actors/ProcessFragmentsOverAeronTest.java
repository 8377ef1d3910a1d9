package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.fragment.PlanFragments;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.process.AeronConfig;
import dev.tessera.proto.process.ProcessAssignment;
import dev.tessera.proto.process.ProcessPeer;
import dev.tessera.proto.process.ProcessReport;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.process.AssignedProcess;
import dev.tessera.worker.process.TensorValues;
import dev.tessera.worker.transport.AeronTransport;
import dev.tessera.worker.transport.DriverDirectories;
import io.aeron.driver.MediaDriver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Plan fragments run by real OS processes ({@link FragmentWorkerProcess} children, the test class
 * path, one shared media driver, Aeron IPC): the plan compiled and cut once here, each child
 * given only its fragments, and what the children report assembled here. Gradients, losses,
 * gradient norms, parameters, optimizer state and bytes sent are bit for bit those of the same
 * layout on virtual devices. A child killed mid-run (SIGKILL) makes its peer fail within seconds
 * naming it. No child and no driver directory outlives a test.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ProcessFragmentsOverAeronTest {
    private static final int ITERATIONS = 3;
    private final Path root = driverRoot();
    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void nothingLeft() throws Exception {
        for (Process child : children) {
            child.destroyForcibly();
        }
        for (Process child : children) {
            assertTrue(child.waitFor(10, TimeUnit.SECONDS), "child " + child.pid() + " still runs");
        }
        List<Path> left = new ArrayList<>(DriverDirectories.all(root));
        if (Files.exists(root.resolve("shared-driver"))) {
            left.add(root.resolve("shared-driver"));
        }
        try (var files = Files.walk(root)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        assertEquals(List.of(), left, "driver directories left in " + root);
    }

    @ParameterizedTest(name = "{0}, {1}, {2} processes, gradient buckets of {3} bytes")
    @CsvSource({"MLP_TWO_BY_TWO, NONE, 4, 0", "GPT_FOUR_STAGES, ZB_H1, 2, 0",
        "GPT_TWO_DATA_PARALLEL_STAGES, ONE_F_ONE_B, 4, 0", "MLP_DATA_PARALLEL, NONE, 4, 65536",
        "GPT_TWO_STAGES_PER_DEVICE, ZB_V, 2, 0", "MLP_SHARDED_STATE, NONE, 4, 65536",
        "GPT_TWO_DATA_PARALLEL_STAGES, ONE_F_ONE_B, 4, 16384"})
    void shouldTrainAsOsProcessesBitForBitLikeOnVirtualDevices(ProcessFragmentTrainingTest.Layout layout,
            ProcessFragmentTrainingTest.Schedule schedule, int processes, long bucketBytes) throws Exception {
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining distributed = ProcessFragmentTrainingTest.layout(layout, schedule, stageOfOp);
        ActorExecutorOptions options = ProcessFragmentTrainingTest.options(layout, schedule, distributed, stageOfOp)
                .withGradientBucketBytes(bucketBytes);
        Path shared = root.resolve("shared-driver");
        List<ProcessAssignment> assignments = assignments(distributed, options, processes, layout + " " + schedule,
                shared, ITERATIONS);
        try (MediaDriver driver = AeronTransport.launchSharedDriver(AssignedProcess.settings(assignments.get(0)),
                shared)) {
            List<Path> reports = start(assignments);
            for (int p = 0; p < processes; p++) {
                Process child = children.get(p);
                assertTrue(child.waitFor(150, TimeUnit.SECONDS), "process " + p + " did not finish");
                assertEquals(0, child.exitValue(), () -> "process " + child.pid() + ": " + output(child));
            }
            Map<String, HostTensor> gradients = new LinkedHashMap<>();
            Map<String, HostTensor> parameters = new LinkedHashMap<>();
            Map<String, HostTensor> state = new LinkedHashMap<>();
            List<Double> losses = new ArrayList<>();
            List<Double> norms = new ArrayList<>();
            long[] bytes = new long[distributed.devices().size()];
            for (Path file : reports) {
                ProcessReport report;
                try (InputStream in = Files.newInputStream(file)) {
                    report = ProcessReport.parseFrom(in);
                }
                gradients.putAll(TensorValues.toHost(report.getGradientsList()));
                parameters.putAll(TensorValues.toHost(report.getParametersList()));
                state.putAll(TensorValues.toHost(report.getOptimizerStateList()));
                losses.addAll(report.getLossesList());
                norms.addAll(report.getGradientNormsList());
                for (int d = 0; d < bytes.length; d++) {
                    bytes[d] += report.getBytesSent(d);
                }
            }
            LogicalShards shards = new LogicalShards(distributed);
            boolean gpt = layout.name().startsWith("GPT");
            int gptBatch = gpt ? distributed.logical().forward().store().tensor("tokens").shape().dim(0) : 0;
            List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, ProcessFragmentTrainingTest.MICRO_BATCHES,
                    42, gptBatch);
            try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, options)) {
                assertEquals(bucketBytes > 0, virtual.compiledPlan().getCollectiveGroupsList().stream()
                        .anyMatch(group -> group.getBucket() != 0), "gradient buckets in the plan");
                Tolerance.EXACT.requireClose("gradients before training", virtual.gradients(data.get(0)),
                        shards.assembleGradients(distributed.logical(), gradients));
                List<StepResult> expected = virtual.run(data, learningRates(ITERATIONS));
                assertEquals(expected.stream().map(StepResult::loss).toList(), losses, "losses");
                assertEquals(expected.stream().map(StepResult::gradNorm).toList(), norms, "gradient norms");
                Tolerance.EXACT.requireClose("parameters", virtual.parameters(),
                        shards.assembleAll(distributed.logical().parameters(), parameters));
                Tolerance.EXACT.requireClose("optimizer state", virtual.optimizerState(),
                        shards.assembleAll(distributed.logical().optimizerState(), state));
                assertArrayEquals(virtual.traffic().orElseThrow().sentSinceStart(), bytes, "bytes sent per device");
            }
        }
    }

    @Test
    void shouldFailThePeerOfAKilledProcessWithinSecondsNamingIt() throws Exception {
        ProcessFragmentTrainingTest.Layout layout = ProcessFragmentTrainingTest.Layout.MLP_DATA_PARALLEL;
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining distributed = ProcessFragmentTrainingTest.layout(layout,
                ProcessFragmentTrainingTest.Schedule.NONE, stageOfOp);
        ActorExecutorOptions options = ActorExecutorOptions.defaults();
        Path shared = root.resolve("shared-driver");
        List<ProcessAssignment> assignments = assignments(distributed, options, 2, layout + " NONE", shared, 100_000);
        try (MediaDriver driver = AeronTransport.launchSharedDriver(AssignedProcess.settings(assignments.get(0)),
                shared)) {
            start(assignments);
            Process survivor = children.get(0);
            Process victim = children.get(1);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!output(victim).contains("running") && System.nanoTime() < deadline && victim.isAlive()) {
                Thread.sleep(100);
            }
            assertTrue(output(victim).contains("running"), () -> "the victim never started: " + output(victim));
            Thread.sleep(1000);
            victim.destroyForcibly();
            long killed = System.nanoTime();
            survivor.waitFor(30, TimeUnit.SECONDS);
            assertFalse(survivor.isAlive(), () -> "the survivor still runs 30 s after its peer died: " + output(survivor));
            double seconds = (System.nanoTime() - killed) / 1e9;
            assertEquals(1, survivor.exitValue(), () -> output(survivor));
            assertTrue(output(survivor).contains("worker-1"), () -> "the failure should name worker-1: "
                    + output(survivor));
            assertTrue(seconds < 15, "the survivor took " + seconds + " s to stop");
        }
    }

    /** The plans compiled once and cut into contiguous blocks of devices, one assignment per process. */
    private static List<ProcessAssignment> assignments(DistributedTraining distributed, ActorExecutorOptions options,
            int processes, String graph, Path driver, int iterations) {
        PlanProto training = ParallelExecutor.compile(distributed, options, true);
        PlanProto gradients = ParallelExecutor.compile(distributed, options, false);
        Map<Integer, Integer> processOf = new LinkedHashMap<>();
        for (DeviceProto device : training.getDevicesList()) {
            processOf.put(device.getIndex(), device.getIndex() * processes / training.getDevicesCount());
        }
        List<PlanFragment> trainingFragments = PlanFragments.cut(training, processOf);
        List<PlanFragment> gradientFragments = PlanFragments.cut(gradients, processOf);
        List<ProcessPeer> peers = new ArrayList<>();
        for (int p = 0; p < processes; p++) {
            peers.add(ProcessPeer.newBuilder().setName("worker-" + p).setChannel("aeron:ipc").setStreamId(2000 + p)
                    .addAllDevices(trainingFragments.get(p).getDevicesList()).build());
        }
        AeronConfig aeron = AeronConfig.newBuilder().setDriverDirectory(driver.toString()).setTermLength(1 << 20)
                .setMtu(8192).setIdleStrategy("backoff").setDeliveryTimeoutMs(60_000).setConnectTimeoutMs(60_000)
                .setPeerTimeoutMs(3_000).build();
        List<ProcessAssignment> out = new ArrayList<>();
        for (int p = 0; p < processes; p++) {
            out.add(ProcessAssignment.newBuilder().setJobId(training.getJobId()).setPlanVersion(training
                    .getPlanVersion()).setProcess(p).setProcesses(processes).setGraph(graph)
                    .setTraining(trainingFragments.get(p)).setGradientsOnly(gradientFragments.get(p))
                    .addAllPeers(peers).setAeron(aeron).setSeed(7).setIterations(iterations).build());
        }
        return out;
    }

    /** Starts one child per assignment; returns where each writes its report. */
    private List<Path> start(List<ProcessAssignment> assignments) throws IOException {
        List<Path> reports = new ArrayList<>();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (ProcessAssignment assignment : assignments) {
            Path file = Files.createTempFile(root, "assignment-", ".pb");
            try (OutputStream out = Files.newOutputStream(file)) {
                assignment.writeTo(out);
            }
            Path report = root.resolve("report-" + assignment.getProcess() + ".pb");
            Path log = root.resolve("log-" + assignment.getProcess() + ".txt");
            reports.add(report);
            children.add(new ProcessBuilder(java, "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "--add-modules", "jdk.incubator.vector",
                    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "--add-opens",
                    "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                    "-Dorg.bytedeco.javacpp.maxbytes=0", "-cp", System.getProperty("java.class.path"),
                    FragmentWorkerProcess.class.getName(), file.toString(), report.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start());
        }
        return reports;
    }

    private String output(Process child) {
        try {
            return Files.readString(root.resolve("log-" + children.indexOf(child) + ".txt"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static Path driverRoot() {
        Path shm = Path.of("/dev/shm");
        try {
            return Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")),
                    "tessera-test-");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
