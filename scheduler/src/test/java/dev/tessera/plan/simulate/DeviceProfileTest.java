package dev.tessera.plan.simulate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DeviceProfileTest {
    @Test
    void shouldTakeTheStatedFractionsOfTheDatasheetPeaks() {
        DeviceProfile a100 = DeviceProfile.a100();
        assertEquals(156e12, a100.matmulFlopsPerSecond(), 1);
        assertEquals(1.6e12, a100.memoryBytesPerSecond(), 1);
        assertEquals(300e9, a100.linkBytesPerSecond(), 1);
        assertEquals(0.5 * 989e12, DeviceProfile.h100().matmulFlopsPerSecond(), 1);
        assertEquals("h100", DeviceProfile.builtIn("H100").name());
        assertNull(DeviceProfile.builtIn("tpu"));
    }

    @Test
    void shouldChargeAnOpTheLargerOfItsComputeAndMemoryTimes() {
        DeviceProfile profile = new DeviceProfile("toy", 100, 10, 5, 0.5, 1e9, "test", Map.of());
        assertEquals(2.0, profile.computeSeconds(200, 10));
        assertEquals(3.0, profile.computeSeconds(200, 30));
        assertEquals(0.5 + 2.0, profile.transferSeconds(10));
        assertEquals(0, profile.transferSeconds(0));
    }

    @Test
    void shouldReadBackWhatItWrites() {
        DeviceProfile profile = new DeviceProfile("cpu", 3.5e10, 1.2e10, 1.2e10, 1e-5, 8e9, "measured",
                Map.of("gemm_256_flops_per_second", "2.1e10"));
        DeviceProfile read = DeviceProfile.parse(profile.toText());
        assertEquals(profile.name(), read.name());
        assertEquals(profile.matmulFlopsPerSecond(), read.matmulFlopsPerSecond(), 1e4);
        assertEquals(profile.memoryBytes(), read.memoryBytes(), 1e4);
        assertEquals("2.1e10", read.extra().get("gemm_256_flops_per_second"));
        assertTrue(profile.toText().startsWith("# "));
    }

    @Test
    void shouldNameTheMissingOrMalformedKey() {
        String text = DeviceProfile.a100().toText();
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> DeviceProfile.parse(text.replaceAll("(?m)^memory_bytes = .*$", "")));
        assertTrue(missing.getMessage().contains("memory_bytes"), missing.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> DeviceProfile.parse(text.replaceAll("(?m)^link_latency_seconds = .*$", "link_latency_seconds = soon")));
        assertTrue(bad.getMessage().contains("link_latency_seconds = soon"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DeviceProfile.parse("just words"));
        assertThrows(IllegalArgumentException.class,
                () -> new DeviceProfile("x", 0, 1, 1, 0, 1, "", Map.of()));
    }
}
