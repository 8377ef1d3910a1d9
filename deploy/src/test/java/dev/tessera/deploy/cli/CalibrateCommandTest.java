package dev.tessera.deploy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.deploy.Main;
import dev.tessera.plan.simulate.DeviceProfile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera calibrate} on tiny sizes: it measures, and writes a profile that simulate reads. */
@Timeout(60)
class CalibrateCommandTest {
    @TempDir
    Path dir;

    private static int run(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
        return Main.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private static boolean positiveAndFinite(double value) {
        return value > 0 && Double.isFinite(value);
    }

    @Test
    void shouldMeasureThisMachineAndWriteAProfileThatReadsBack() throws IOException {
        Path file = dir.resolve("cpu.profile");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int status = run(out, err, "calibrate", "--sizes", "16,32", "--repeats", "3", "--warmups", "1",
                "--copy-elements", "4096", "--out", file.toString());

        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        DeviceProfile profile = DeviceProfile.read(file);
        assertEquals("cpu", profile.name());
        assertTrue(positiveAndFinite(profile.matmulFlopsPerSecond()), profile.toText());
        assertTrue(positiveAndFinite(profile.memoryBytesPerSecond()), profile.toText());
        assertTrue(positiveAndFinite(profile.linkBytesPerSecond()), profile.toText());
        assertTrue(positiveAndFinite(profile.memoryBytes()), profile.toText());
        double gemm16 = Double.parseDouble(profile.extra().get("gemm_16_flops_per_second"));
        double gemm32 = Double.parseDouble(profile.extra().get("gemm_32_flops_per_second"));
        assertTrue(positiveAndFinite(gemm16) && positiveAndFinite(gemm32), profile.toText());
        assertEquals(Math.max(gemm16, gemm32), profile.matmulFlopsPerSecond(), 1e-5 * profile.matmulFlopsPerSecond());
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("gemm    16 x 16") && printed.contains("wrote " + file), printed);
        assertTrue(Files.readString(file).contains("# op time = max(flops / matmul_flops_per_second"));

        ByteArrayOutputStream simulated = new ByteArrayOutputStream();
        assertEquals(0, run(simulated, err, "simulate", "--preset", "llama-7b", "--profile", file.toString(),
                "--stages", "2", "--micro-batches", "2", "--sequence-length", "64"), err.toString(StandardCharsets.UTF_8));
        assertTrue(simulated.toString(StandardCharsets.UTF_8).contains("on cpu, 2 stages, 2 micro-batches"));
    }

    @Test
    void shouldRejectZeroRepeats() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int status = run(out, err, "calibrate", "--repeats", "0");

        assertEquals(Main.EXIT_BAD_INPUT, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("error: calibrate: calibration needs"),
                err.toString(StandardCharsets.UTF_8));
    }
}
