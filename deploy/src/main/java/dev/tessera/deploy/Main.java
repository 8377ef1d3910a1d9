package dev.tessera.deploy;

import dev.tessera.deploy.checkpoint.CorruptCheckpointException;
import dev.tessera.deploy.cli.CalibrateCommand;
import dev.tessera.deploy.cli.ExportCommand;
import dev.tessera.deploy.cli.LaunchCommand;
import dev.tessera.deploy.cli.PlanCommand;
import dev.tessera.deploy.cli.SimulateCommand;
import dev.tessera.deploy.cli.TrainCommand;
import dev.tessera.deploy.cli.VersionProvider;
import dev.tessera.deploy.safetensors.SafeTensorsFormatException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code tessera} command line. Errors are printed as {@code error: ...} lines on stderr with
 * exit status 2 for bad input (config, arguments, data, checkpoints) and 1 for failures during
 * training; a stack trace is printed only with {@code --debug}.
 */
@Command(name = "tessera", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        subcommands = {TrainCommand.class, LaunchCommand.class, PlanCommand.class, SimulateCommand.class, CalibrateCommand.class, ExportCommand.class, CommandLine.HelpCommand.class},
        description = "Distributed deep-learning training on the JVM.")
public final class Main implements Runnable {
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_BAD_INPUT = 2;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(execute(args, System.out, System.err));
    }

    /** Runs the command line and returns the exit status, printing to the given streams. */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        boolean debug = Arrays.asList(args).contains("--debug");
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setParameterExceptionHandler((e, arguments) -> {
            err.println("error: " + e.getMessage() + " (see '" + e.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help')");
            return EXIT_BAD_INPUT;
        });
        cli.setExecutionExceptionHandler((e, command, parseResult) -> report(e, debug, err));
        return cli.execute(args);
    }

    static int report(Exception e, boolean debug, PrintStream err) {
        if (e instanceof InputException input) {
            input.problems().forEach(p -> err.println("error: " + p));
        } else {
            err.println("error: " + (e.getMessage() == null ? e.getClass().getName() : e.getMessage().lines()
                    .findFirst().orElse("")));
        }
        if (debug) {
            e.printStackTrace(err);
        }
        return isBadInput(e) ? EXIT_BAD_INPUT : EXIT_FAILURE;
    }

    private static boolean isBadInput(Exception e) {
        return e instanceof InputException || e instanceof IllegalArgumentException
                || e instanceof CorruptCheckpointException || e instanceof SafeTensorsFormatException;
    }
}
