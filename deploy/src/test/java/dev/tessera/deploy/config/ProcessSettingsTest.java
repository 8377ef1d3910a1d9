package dev.tessera.deploy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.tessera.deploy.InputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The parallel.processes and transport.* keys: read with their documented defaults, and every bad value named. */
class ProcessSettingsTest {
    private static RunConfig load(String... overrides) {
        return new ConfigLoader(ModelRegistry.fromClassPath()).load(ConfigFactory.parseString(
                "model.type = tiny-linear\nparallel { devices = 4, data = 4 }\n"), List.of(overrides));
    }

    @Test
    void shouldReadTheDefaultsAndTheKeysSet() {
        ProcessSettings defaults = load().processes();
        assertEquals(1, defaults.processes());
        assertEquals(16 << 20, defaults.aeron().termLength());
        assertEquals(8192, defaults.aeron().mtu());
        assertEquals(Duration.ofSeconds(3), defaults.aeron().peerTimeout());
        assertNull(defaults.aeron().externalDriverDirectory());

        ProcessSettings set = load("parallel.processes=4", "transport.aeron.term-length=\"1 MiB\"",
                "transport.aeron.mtu=4096", "transport.aeron.idle-strategy=yielding", "transport.aeron.peer-timeout=5s",
                "transport.aeron.driver-directory=/tmp/driver", "transport.delivery-timeout=1m",
                "transport.control.heartbeat-timeout=20s").processes();
        assertEquals(4, set.processes());
        assertEquals(1 << 20, set.aeron().termLength());
        assertEquals(4096, set.aeron().mtu());
        assertEquals("yielding", set.aeron().idleStrategy());
        assertEquals(Duration.ofSeconds(5), set.aeron().peerTimeout());
        assertEquals(Duration.ofMinutes(1), set.aeron().deliveryTimeout());
        assertEquals(Path.of("/tmp/driver"), set.aeron().externalDriverDirectory());
        assertEquals(Duration.ofSeconds(20), set.heartbeatTimeout());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "transport.aeron.term-length=100000|transport.aeron.term-length is 100000 bytes; Aeron needs a power of two",
        "transport.aeron.term-length=lots|transport.aeron.term-length: expected a size in bytes",
        "transport.aeron.mtu=1000|transport.aeron.mtu is 1000 bytes; use a multiple of 32 from 1024 to 65504",
        "transport.aeron.idle-strategy=fast|transport.aeron.idle-strategy 'fast' is not one of",
        "transport.aeron.peer-timeout=0s|transport.aeron.peer-timeout is PT0S; it must be a positive duration",
        "transport.aeron.connect-timeout=soon|transport.aeron.connect-timeout: expected a duration such as 10s",
        "transport.aeron.socket-buffer=-1|transport.aeron.socket-buffer: expected a size in bytes",
        "transport.aeron.client-liveness-timeout=20s|transport.aeron.publication-unblock-timeout (PT15S) must be longer "
            + "than transport.aeron.client-liveness-timeout (PT20S)",
        "transport.control.heartbeat-timeout=100ms|transport.control.heartbeat-timeout is PT0.1S",
        "transport.aeron.window=1|unknown key transport.aeron.window",
        "parallel.processes=5|parallel.processes: 5 processes for 4 devices",
        "parallel.processes=0|parallel.processes: must be a whole number of at least 1",
        "parallel.worker_jvm_options=[[1]]|parallel.worker_jvm_options: expected a list of strings"})
    void shouldNameTheKeyOfABadValue(String override, String expected) {
        InputException e = assertThrows(InputException.class, () -> load(override));
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith(expected)), e.problems().toString());
    }
}
