package dev.tessera.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * bench/pytorch/torch_steps.py in a child process, driven one command a line (its docstring
 * lists them). The child runs with OMP_NUM_THREADS and MKL_NUM_THREADS set to the thread count
 * as well as {@code torch.set_num_threads}, so no library of PyTorch starts more threads.
 */
final class PyTorchProcess implements AutoCloseable {
    static final Path SCRIPT = Path.of("bench", "pytorch", "torch_steps.py");

    private final Process process;
    private final PrintWriter commands;
    private final BufferedReader answers;

    /** @throws IllegalStateException if the script is missing or the child cannot start */
    PyTorchProcess(String python, int threads) {
        if (!Files.isRegularFile(SCRIPT)) {
            throw new IllegalStateException(SCRIPT + " not found: run the benchmark from the repository root");
        }
        ProcessBuilder builder = new ProcessBuilder(python, SCRIPT.toString(), Integer.toString(threads))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        builder.environment().put("MKL_NUM_THREADS", Integer.toString(threads));
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + python + " (set it with the benchmark's first argument;"
                    + " bench/pytorch/run.sh makes a virtual environment with PyTorch)", e);
        }
        commands = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Builds the model exported to {@code folder}; returns PyTorch's version and thread count. */
    String load(Path folder) {
        String answer = ask("load " + folder.toAbsolutePath());
        if (!answer.startsWith("ok ")) {
            throw new IllegalStateException("PyTorch could not load " + folder + ": " + answer);
        }
        return answer.substring(3);
    }

    /** The losses of the next {@code steps} training steps. */
    double[] losses(int steps) {
        return Arrays.stream(ask("losses " + steps).split(" ")).mapToDouble(Double::parseDouble).toArray();
    }

    /** Runs {@code steps} training steps; the nanoseconds PyTorch measured around them. */
    long steps(int steps) {
        return Long.parseLong(ask("steps " + steps).split(" ")[0]);
    }

    /** The PyTorch process's peak resident set size so far, in bytes. */
    long peakResidentBytes() {
        return Long.parseLong(ask("peak"));
    }

    private String ask(String command) {
        commands.println(command);
        try {
            String answer = answers.readLine();
            if (answer == null) {
                throw new IllegalStateException("the PyTorch process ended at '" + command + "' (its errors are above)");
            }
            if (answer.startsWith("error")) {
                throw new IllegalStateException("PyTorch refused '" + command + "': " + answer);
            }
            return answer;
        } catch (IOException e) {
            throw new UncheckedIOException("lost the PyTorch process at '" + command + "'", e);
        }
    }

    @Override
    public void close() {
        commands.println("quit");
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    static List<String> describe(double[] values) {
        return Arrays.stream(values).mapToObj(v -> String.format("%.6f", v)).toList();
    }
}
