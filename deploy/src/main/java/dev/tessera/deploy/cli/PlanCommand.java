package dev.tessera.deploy.cli;

import dev.tessera.deploy.InputException;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.plan.ParallelPlan;
import dev.tessera.deploy.plan.PlanDot;
import dev.tessera.deploy.plan.PlanJson;
import dev.tessera.deploy.plan.PlanText;
import dev.tessera.deploy.train.TrainingSetup;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code tessera plan <config>}: lays the config's training graph out over {@code parallel.devices}
 * and prints the result; trains nothing and reads no data.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Shows how a training iteration of the config's model is spread over parallel.devices: "
                + "every tensor's placement and NdSbp, every inserted conversion with its bytes per iteration, "
                + "and per-device memory, FLOPs and bytes sent.",
        footer = {"", "Examples:",
                "  tessera plan examples/configs/mlp-fashion.conf --set parallel.devices=4 --set parallel.data=4",
                "  tessera plan my.conf --set parallel.devices=4 --set parallel.data=2 --set parallel.tensor=2 \\",
                "      --set 'parallel.hints.\"fc1.weight\"=\"(B, S(1))\"'",
                "  tessera plan my.conf --json > plan.json",
                "  tessera plan my.conf --dot plan.dot && dot -Tsvg plan.dot -o plan.svg"})
public final class PlanCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "<config>", description = "The run config (HOCON).")
    Path config;

    @Option(names = "--set", paramLabel = "key=value",
            description = "Overrides any config key; the value is parsed as HOCON (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--json", description = "Print the plan as JSON instead of text.")
    boolean json;

    @Option(names = "--dot", paramLabel = "FILE", description = "Also write a Graphviz picture of the distributed graph to FILE.")
    Path dot;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        RunConfig run = new ConfigLoader(ModelRegistry.fromClassPath()).load(config, overrides);
        TrainingSetup setup = TrainingSetup.from(run);
        ParallelPlan plan = ParallelPlan.of(run.modelType(), setup.model().describe(), setup.graph(),
                run.settings().batchSize(), run.parallel());
        if (dot != null) {
            try {
                Files.writeString(dot, PlanDot.render(plan));
            } catch (IOException e) {
                throw new InputException("--dot " + dot + ": cannot write the file (" + e.getMessage() + ")");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? PlanJson.render(plan) : PlanText.render(plan));
        if (dot != null && !json) {
            out.println("\nwrote " + dot + " (render it with: dot -Tsvg " + dot + " -o plan.svg)");
        }
        out.flush();
        return 0;
    }
}
