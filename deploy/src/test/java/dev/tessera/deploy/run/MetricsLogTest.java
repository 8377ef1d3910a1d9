package dev.tessera.deploy.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    @TempDir
    Path dir;

    private static Map<String, Object> line(long step, double loss) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", step);
        line.put("loss", loss);
        return line;
    }

    @Test
    void shouldWriteOneJsonObjectPerLineAndReadDoublesBackExactly() throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file)) {
            log.append(line(1, 2.302585092994046));
            log.append(line(2, 0.1 + 0.2));
        }

        assertEquals(List.of("{\"step\":1,\"loss\":2.302585092994046}", "{\"step\":2,\"loss\":0.30000000000000004}"),
                Files.readAllLines(file));
        assertEquals(0.1 + 0.2, MetricsLog.read(file).get(1).get("loss"));
    }

    @Test
    void shouldSkipALineTornByACrash() throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file)) {
            log.append(line(1, 1.0));
        }
        Files.writeString(file, "{\"step\":2,\"lo", StandardOpenOption.APPEND);

        assertEquals(1, MetricsLog.read(file).size());
    }

    @Test
    void shouldDropTheLinesAfterTheResumedStep() {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file)) {
            for (long step = 1; step <= 5; step++) {
                log.append(line(step, step));
            }
        }

        MetricsLog.truncateAfter(file, 3);

        assertEquals(List.of(1, 2, 3), MetricsLog.read(file).stream().map(l -> l.get("step")).toList());
    }
}
