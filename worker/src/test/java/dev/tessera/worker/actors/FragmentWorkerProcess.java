package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;

import dev.tessera.lowering.DistributedTraining;
import dev.tessera.proto.process.ProcessAssignment;
import dev.tessera.proto.process.ProcessReport;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.process.AssignedProcess;
import dev.tessera.worker.process.TensorValues;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A worker process of {@link ProcessFragmentsOverAeronTest}: reads its assignment (a Protobuf
 * file), rebuilds the layout the assignment's {@code graph} names ("LAYOUT SCHEDULE"), binds its
 * fragments over the Aeron transport, computes the gradients of the first batch, trains the
 * assigned iterations on the batches every process draws alike (those of 3 iterations, repeated),
 * and writes its report. Any
 * failure is printed and the process exits with status 1.
 */
public final class FragmentWorkerProcess {
    private FragmentWorkerProcess() {
    }

    public static void main(String[] args) throws Exception {
        int status = 0;
        try {
            ProcessAssignment assignment;
            try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
                assignment = ProcessAssignment.parseFrom(in);
            }
            String[] graph = assignment.getGraph().split(" ");
            ProcessFragmentTrainingTest.Layout layout = ProcessFragmentTrainingTest.Layout.valueOf(graph[0]);
            ProcessFragmentTrainingTest.Schedule schedule = ProcessFragmentTrainingTest.Schedule.valueOf(graph[1]);
            Map<String, Integer> stageOfOp = new LinkedHashMap<>();
            DistributedTraining distributed = ProcessFragmentTrainingTest.layout(layout, schedule, stageOfOp);
            boolean gpt = layout.name().startsWith("GPT");
            int gptBatch = gpt ? distributed.logical().forward().store().tensor("tokens").shape().dim(0) : 0;
            // the batches of at most 3 iterations, trained over and over for longer runs
            int chunk = Math.min(3, assignment.getIterations());
            List<List<Map<String, HostTensor>>> data = batches(gpt, chunk, ProcessFragmentTrainingTest.MICRO_BATCHES, 42,
                    gptBatch);
            double[] rates = learningRates(chunk);
            try (AssignedProcess process = AssignedProcess.start(assignment, distributed,
                    ProcessFragmentTrainingTest.options(layout, schedule, distributed, stageOfOp))) {
                ProcessExecutor executor = process.executor();
                ProcessReport.Builder report = ProcessReport.newBuilder().setProcess(assignment.getProcess());
                report.addAllGradients(TensorValues.all(executor.localGradients(data.get(0))));
                for (int done = 0; done < assignment.getIterations(); done += chunk) {
                    for (StepResult result : executor.run(data, rates)) {
                        if (executor.recordsLoss()) {
                            report.addLosses(result.loss());
                        }
                        if (executor.recordsGradientNorm()) {
                            report.addGradientNorms(result.gradNorm());
                        }
                    }
                    if (done == 0) {
                        System.out.println("running " + assignment.getIterations() + " iterations");
                    }
                }
                report.addAllParameters(TensorValues.all(executor.localParameters()));
                report.addAllOptimizerState(TensorValues.all(executor.localOptimizerState()));
                for (long bytes : executor.bytesSent()) {
                    report.addBytesSent(bytes);
                }
                try (OutputStream out = Files.newOutputStream(Path.of(args[1]))) {
                    report.build().writeTo(out);
                }
            }
        } catch (Throwable failure) {
            System.out.println("process failed: " + failure);
            failure.printStackTrace(System.out);
            status = 1;
        }
        System.out.flush();
        Runtime.getRuntime().halt(status);
    }
}
