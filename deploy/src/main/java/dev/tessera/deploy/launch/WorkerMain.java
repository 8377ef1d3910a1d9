package dev.tessera.deploy.launch;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.tessera.api.DataSource;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.train.Trainer;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.lowering.PhysicalLowering;
import dev.tessera.proto.process.ProcessAssignment;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.process.ControlClient;
import dev.tessera.worker.process.WorkerProcess;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * A worker process of {@code tessera train} with {@code parallel.processes} > 1, started by the
 * coordinator ({@link ProcessJob}): connects to it, registers, rebuilds the training graph from the
 * run config its assignment carries (the same code path as the coordinator's), binds its fragments
 * and serves until told to shut down. It ends as soon as it loses the coordinator. Not a user
 * command: the arguments are the launcher's.
 */
public final class WorkerMain {
    private WorkerMain() {
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        String coordinator = argument(args, "--coordinator");
        String job = argument(args, "--job");
        int process = Integer.parseInt(argument(args, "--process"));
        Duration connect = Duration.ofMillis(Long.parseLong(argument(args, "--connect-timeout-ms")));
        Duration heartbeat = Duration.ofMillis(Long.parseLong(argument(args, "--heartbeat-timeout-ms")));
        int colon = coordinator.lastIndexOf(':');
        InetSocketAddress address = new InetSocketAddress(coordinator.substring(0, colon),
                Integer.parseInt(coordinator.substring(colon + 1)));
        int status;
        try {
            ControlClient control = ControlClient.connect(address, connect, heartbeat, why -> {
                System.err.println("worker-" + process + ": " + why + "; exiting");
                System.err.flush();
                Runtime.getRuntime().halt(1);
            });
            status = new WorkerProcess(control, process).run(job, process, WorkerMain::build);
            control.close();
        } catch (RuntimeException e) {
            System.err.println("worker-" + process + ": " + e.getMessage());
            status = 1;
        }
        System.out.flush();
        System.err.flush();
        // Aeron's and ND4J's threads are not daemons; the work is done or reported
        Runtime.getRuntime().halt(status);
    }

    /** The job from the run config the assignment carries, built as the coordinator built it. */
    static WorkerProcess.Job build(ProcessAssignment assignment) {
        RunConfig config = new ConfigLoader(ModelRegistry.fromClassPath()).load(ConfigFactory.parseString(
                assignment.getGraph(), ConfigParseOptions.defaults().setOriginDescription("the coordinator's run config")),
                List.of());
        ComputeThreads.set(config.settings().threads());
        Trainer.Prepared prepared = Trainer.prepare(config);
        DistributedTraining distributed = PhysicalLowering.lower(prepared.setup().graph(), prepared.plan().assignment());
        DataSource data = prepared.setup().model().trainData(config.settings().seed(), config.settings().batchSize());
        return new WorkerProcess.Job(distributed, ActorExecutorOptions.defaults(), config.settings().microBatches(),
                data::batch);
    }

    private static String argument(String[] args, String name) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        throw new IllegalArgumentException("WorkerMain needs " + name + "; it is started by the coordinator of "
                + "'tessera train' with parallel.processes > 1, not by hand");
    }
}
