package dev.tessera.deploy.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code manifest.json} of a checkpoint: what it continues from and, for every file, its size and
 * SHA-256 so a reader detects truncation and bit rot before using the weights.
 */
public record Manifest(long step, long seed, String configHash, long nextBatchIndex, Map<String, FileEntry> files) {
    static final String FORMAT = "tessera-checkpoint-1";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Size in bytes and lower-case hex SHA-256 of one file of the checkpoint. */
    public record FileEntry(long bytes, String sha256) {
    }

    public Manifest {
        files = Map.copyOf(files);
    }

    byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("step", step);
        root.put("seed", seed);
        root.put("config_sha256", configHash);
        root.put("next_batch_index", nextBatchIndex);
        ObjectNode filesNode = root.putObject("files");
        files.keySet().stream().sorted().forEach(name -> filesNode.putObject(name)
                .put("bytes", files.get(name).bytes()).put("sha256", files.get(name).sha256()));
        try {
            return JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot render a manifest", e);
        }
    }

    /** @throws IllegalArgumentException saying what is missing when the text is not a manifest */
    static Manifest fromJson(byte[] json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new IllegalArgumentException("not a " + FORMAT + " manifest");
        }
        for (String key : new String[] {"step", "seed", "config_sha256", "next_batch_index", "files"}) {
            if (!root.has(key)) {
                throw new IllegalArgumentException("missing '" + key + "'");
            }
        }
        Map<String, FileEntry> files = new LinkedHashMap<>();
        root.get("files").fields().forEachRemaining(f -> files.put(f.getKey(),
                new FileEntry(f.getValue().path("bytes").asLong(-1), f.getValue().path("sha256").asText(""))));
        return new Manifest(root.get("step").asLong(), root.get("seed").asLong(), root.get("config_sha256").asText(),
                root.get("next_batch_index").asLong(), files);
    }
}
