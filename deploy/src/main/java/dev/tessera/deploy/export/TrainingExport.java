package dev.tessera.deploy.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.api.DataSource;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.safetensors.SafeTensors;
import dev.tessera.deploy.train.TrainingSetup;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run trains on, written for an implementation that shares no code with Tessera (the
 * PyTorch oracle in {@code examples/oracle}): the initial parameters, the exact batches of its
 * first steps, and the config. Three files in one folder:
 *
 * <ul>
 *   <li>{@value #PARAMETERS_FILE}: every parameter's initial value in f64, by its Tessera name
 *       (a linear layer's weight is [in, out]); f32 runs start from these values rounded.
 *   <li>{@value #BATCHES_FILE}: the micro-batches in the order the trainer feeds them, named
 *       {@code <step>/<micro-batch>/<input>} (0-based; e.g. {@code 3/0/tokens}), each as the
 *       model's data source produced it.
 *   <li>{@value #RUN_FILE}: the resolved config as JSON ({@code config}), the number of steps, and
 *       the names and shapes of the inputs, parameters and optimizer state tensors.
 * </ul>
 *
 * The safetensors files are written canonically (tensors sorted by name, no metadata), so the
 * SHA-256 of a file identifies its contents: a fixture records it, and a test re-drawing the same
 * batches can prove it trains on what the oracle trained on.
 */
public final class TrainingExport {
    public static final String PARAMETERS_FILE = "parameters.safetensors";
    public static final String BATCHES_FILE = "batches.safetensors";
    public static final String RUN_FILE = "run.json";

    private TrainingExport() {
    }

    /**
     * The micro-batches of {@code steps} steps, as the trainer draws them: step {@code s} reads
     * batches {@code s * micro_batches + j} of the model's data.
     */
    public static List<List<Map<String, HostTensor>>> batches(RunConfig run, TrainingSetup setup, long steps) {
        DataSource data = setup.model().trainData(run.settings().seed(), run.settings().batchSize());
        int micro = run.settings().microBatches();
        List<List<Map<String, HostTensor>>> out = new ArrayList<>();
        for (long s = 0; s < steps; s++) {
            List<Map<String, HostTensor>> step = new ArrayList<>(micro);
            for (int j = 0; j < micro; j++) {
                step.add(data.batch(s * micro + j));
            }
            out.add(step);
        }
        return out;
    }

    /** The batches keyed as in {@value #BATCHES_FILE}. */
    public static Map<String, HostTensor> batchTensors(List<List<Map<String, HostTensor>>> batches) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (int s = 0; s < batches.size(); s++) {
            for (int j = 0; j < batches.get(s).size(); j++) {
                for (Map.Entry<String, HostTensor> e : batches.get(s).get(j).entrySet()) {
                    out.put(s + "/" + j + "/" + e.getKey(), e.getValue());
                }
            }
        }
        return out;
    }

    /** The initial value of every parameter of {@code graph} in f64, before any rounding to its dtype. */
    public static Map<String, HostTensor> initialParameters(TrainingGraph graph, long seed) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            out.put(p.name(), ParameterInit.draw(p, seed));
        }
        return out;
    }

    /**
     * Writes the three files into {@code folder} (created if needed).
     *
     * @throws IOException when a file cannot be written
     */
    public static void write(Path folder, RunConfig run, long steps) throws IOException {
        TrainingSetup setup = TrainingSetup.from(run);
        Files.createDirectories(folder);
        SafeTensors.write(folder.resolve(PARAMETERS_FILE), initialParameters(setup.graph(), run.settings().seed()),
                Map.of());
        SafeTensors.write(folder.resolve(BATCHES_FILE), batchTensors(batches(run, setup, steps)), Map.of());
        Files.writeString(folder.resolve(RUN_FILE), describe(run, setup.graph(), steps));
    }

    /** SHA-256 of the canonical safetensors encoding of {@code tensors}, as hex. */
    public static String sha256(Map<String, HostTensor> tensors) throws IOException {
        Path file = Files.createTempFile("tessera-export", ".safetensors");
        try {
            SafeTensors.write(file, tensors, Map.of());
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static String describe(RunConfig run, TrainingGraph graph, long steps) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
        ObjectNode root = json.createObjectNode();
        root.put("model", run.modelType());
        root.put("steps", steps);
        root.set("config", json.valueToTree(run.config().root().unwrapped()));
        root.set("inputs", shapes(json, graph.forward().inputs()));
        root.set("parameters", shapes(json, graph.parameters()));
        root.set("optimizer_state", shapes(json, graph.optimizerState()));
        return json.writeValueAsString(root) + "\n";
    }

    private static ArrayNode shapes(ObjectMapper json, List<Tensor> tensors) {
        ArrayNode out = json.createArrayNode();
        for (Tensor t : tensors) {
            ObjectNode entry = out.addObject();
            entry.put("name", t.name());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape().toArray()) {
                shape.add(d);
            }
        }
        return out;
    }
}
