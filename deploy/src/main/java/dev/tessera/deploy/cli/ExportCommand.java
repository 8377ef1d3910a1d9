package dev.tessera.deploy.cli;

import dev.tessera.deploy.InputException;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.export.TrainingExport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tessera export <config> --steps N --out DIR}: writes what the first N steps of the run
 * train on (initial parameters, batches, config) for an independent implementation to train the
 * same model on; trains nothing. The formats are described in {@link TrainingExport}.
 */
@Command(name = "export", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Writes the initial parameters (f64), the exact batches of the first --steps steps and the "
                + "resolved config of a run, so that another implementation (examples/oracle/pytorch_oracle.py) "
                + "can train the same model on the same data.",
        footer = {"", "Example:",
                "  tessera export examples/configs/gpt-addition.conf --steps 30 --out /tmp/gpt-export"})
public final class ExportCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "<config>", description = "The run config (HOCON).")
    Path config;

    @Option(names = "--set", paramLabel = "key=value",
            description = "Overrides any config key; the value is parsed as HOCON (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--steps", required = true, paramLabel = "N", description = "How many steps' batches to write.")
    long steps;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to write into.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (steps < 1) {
            throw new InputException("--steps must be >= 1, got " + steps);
        }
        RunConfig run = new ConfigLoader(ModelRegistry.fromClassPath()).load(config, overrides);
        try {
            TrainingExport.write(out, run, steps);
        } catch (IOException e) {
            throw new InputException("--out " + out + ": cannot write the export (" + e.getMessage() + ")");
        }
        PrintWriter writer = spec.commandLine().getOut();
        writer.println("wrote " + out.resolve(TrainingExport.PARAMETERS_FILE) + ", "
                + out.resolve(TrainingExport.BATCHES_FILE) + " and " + out.resolve(TrainingExport.RUN_FILE)
                + " (" + steps + " steps of " + run.settings().microBatches() + " micro-batch(es) of "
                + run.settings().batchSize() + ")");
        writer.flush();
        return 0;
    }
}
