package dev.tessera.deploy.cli;

import dev.tessera.deploy.InputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera launch --nproc N <config>}: {@code tessera train} with {@code parallel.processes = N},
 * N worker OS processes on this machine with this process as their coordinator. Every option of
 * {@code train} applies; the run directory, its logs and checkpoints are those {@code train} writes.
 */
@Command(name = "launch", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains like 'train', in N worker processes on this machine (parallel.processes = N): this "
                + "process compiles the plan, hands each worker its fragment and collects losses and checkpoints; "
                + "tensors go between the workers over Aeron IPC.",
        footer = {"", "Examples:",
                "  tessera launch --nproc 2 my.conf --set parallel.devices=2 --set parallel.data=2",
                "  tessera launch --nproc 4 my.conf --run-dir runs/a --set checkpoint.every=100"})
public final class LaunchCommand extends TrainCommand {
    @Option(names = "--nproc", required = true, paramLabel = "N",
            description = "Worker processes; each owns parallel.devices / N of the layout's devices.")
    int processes;

    @Override
    public Integer call() {
        if (processes < 1) {
            throw new InputException("--nproc " + processes + ": give at least 1 worker process");
        }
        // the last override wins: --nproc over a --set parallel.processes
        overrides.add("parallel.processes=" + processes);
        return super.call();
    }
}
