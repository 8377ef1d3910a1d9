package dev.tessera.deploy.cli;

import dev.tessera.deploy.InputException;
import dev.tessera.deploy.checkpoint.AtomicFiles;
import dev.tessera.deploy.simulate.Calibration;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tessera calibrate}: measures this machine's gemm rate and copy bandwidth with ND4J and writes
 * the CPU device profile that {@code tessera simulate --profile FILE} reads.
 */
@Command(name = "calibrate", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Measures this machine with the kernels training uses: square f32 gemms (median of the "
                + "repeats after warm-up, per size) and a large f32 copy, and prints a device profile: the best gemm "
                + "rate as the matmul rate, the copy's bytes read and written per second as memory and link "
                + "bandwidth, an assumed 20 us link latency. Takes about a second with the defaults.",
                "Use the profile with 'tessera simulate <config> --profile FILE'."},
        footer = {"", "Examples:", "  tessera calibrate --out cpu.profile",
                "  tessera calibrate --sizes 128,256 --repeats 3 --copy-elements 1048576"})
public final class CalibrateCommand implements Callable<Integer> {
    @Option(names = "--out", paramLabel = "FILE", description = "Write the profile (documented 'key = value' lines) "
            + "to FILE as well as printing it.")
    Path out;

    @Option(names = "--sizes", paramLabel = "N,N,...", split = ",", description = "Gemm sizes n (default: 256,512,1024).")
    List<Integer> sizes;

    @Option(names = "--repeats", paramLabel = "R", description = "Timed runs per measurement, the median is kept "
            + "(default 7).")
    Integer repeats;

    @Option(names = "--warmups", paramLabel = "W", description = "Untimed runs before each measurement (default 2).")
    Integer warmups;

    @Option(names = "--copy-elements", paramLabel = "E", description = "f32 elements of the copy (default 16777216, "
            + "64 MiB).")
    Long copyElements;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Calibration standard = Calibration.standard();
        Calibration calibration;
        try {
            calibration = new Calibration(sizes == null ? standard.sizes() : sizes,
                    copyElements == null ? standard.copyElements() : copyElements,
                    warmups == null ? standard.warmups() : warmups, repeats == null ? standard.repeats() : repeats);
        } catch (IllegalArgumentException e) {
            throw new InputException("calibrate: " + e.getMessage() + "; give --sizes, --copy-elements and --repeats "
                    + "of at least 1 and --warmups of at least 0");
        }
        Calibration.Result result = calibration.run();
        PrintWriter printer = spec.commandLine().getOut();
        printer.print(Calibration.summary(result));
        printer.println();
        String text = result.profile().toText();
        printer.print(text);
        if (out != null) {
            try {
                AtomicFiles.write(out, text.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new InputException("--out " + out + ": cannot write the profile (" + e.getMessage() + ")");
            }
            printer.println("wrote " + out);
        }
        printer.flush();
        return 0;
    }
}
