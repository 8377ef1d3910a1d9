package dev.tessera.deploy.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads and writes the safetensors format, so checkpoints open in other ecosystems:
 *
 * <pre>
 * [8 bytes: header length N, unsigned little-endian]
 * [N bytes: UTF-8 JSON {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
 *                                                            "data_offsets": [begin, end]}, ...},
 *           padded with spaces to a multiple of 8 bytes]
 * [data: every tensor's elements, row-major, little-endian; offsets relative to the data start]
 * </pre>
 *
 * Tensors are written in name order, contiguous, without gaps. Only F32, F64 and I32 exist in
 * Tessera; a file with another dtype is rejected by name.
 */
public final class SafeTensors {
    /** Refuses headers larger than this, as the reference implementation does, so a garbage length fails fast. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The contents of one file: tensors in file order and the string metadata. */
    public record Contents(Map<String, HostTensor> tensors, Map<String, String> metadata) {
    }

    private SafeTensors() {
    }

    /**
     * Writes {@code tensors} and {@code metadata} to {@code file}, replacing it. Does not fsync;
     * callers that need durability (checkpoints) force the file themselves.
     *
     * @throws IOException when the file cannot be written
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, HostTensor> ordered = new TreeMap<>(tensors);
        byte[] header = header(ordered, metadata);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header).flip();
            writeFully(channel, prefix);
            for (HostTensor t : ordered.values()) {
                writeFully(channel, encode(t));
            }
        }
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes so the data starts aligned. */
    static byte[] header(Map<String, HostTensor> ordered, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(METADATA_KEY);
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : ordered.entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA_KEY);
            }
            HostTensor t = e.getValue();
            ObjectNode entry = root.putObject(e.getKey());
            entry.put("dtype", t.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape().toArray()) {
                shape.add(d);
            }
            long bytes = (long) t.size() * t.dtype().bytes();
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            out[i] = ' ';
        }
        return out;
    }

    private static ByteBuffer encode(HostTensor t) {
        ByteBuffer buffer = ByteBuffer.allocate(t.size() * t.dtype().bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F32 -> buffer.asFloatBuffer().put(t.floats());
            case F64 -> buffer.asDoubleBuffer().put(t.doubles());
            case I32 -> buffer.asIntBuffer().put(t.ints());
        }
        return buffer;
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /**
     * Reads a whole file.
     *
     * @throws IOException when the file cannot be read
     * @throws SafeTensorsFormatException naming the file and the problem when it is not valid
     *     safetensors (truncated, bad header, unsupported dtype, overlapping or missing data)
     */
    public static Contents read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw new SafeTensorsFormatException(file, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lengthBytes = readFully(channel, 0, 8, file);
            long headerLength = lengthBytes.order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
                throw new SafeTensorsFormatException(file, "header length " + headerLength
                        + " does not fit a file of " + fileSize + " bytes (truncated or not safetensors)");
            }
            ByteBuffer headerBytes = readFully(channel, 8, (int) headerLength, file);
            JsonNode root;
            try {
                root = JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw new SafeTensorsFormatException(file, "header is not valid JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw new SafeTensorsFormatException(file, "header is not a JSON object");
            }
            long dataStart = 8 + headerLength;
            return parse(file, channel, root, dataStart, fileSize - dataStart);
        }
    }

    private static Contents parse(Path file, FileChannel channel, JsonNode root, long dataStart, long dataLength)
            throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(METADATA_KEY)) {
                field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
            } else {
                entries.add(entry(file, field.getKey(), field.getValue()));
            }
        }
        entries.sort((a, b) -> Long.compare(a.begin, b.begin));
        long expected = 0;
        for (Entry e : entries) {
            if (e.begin != expected) {
                throw new SafeTensorsFormatException(file, "tensor '" + e.name + "' starts at data offset " + e.begin
                        + " but the previous tensor ends at " + expected + " (gaps and overlaps are invalid)");
            }
            expected = e.end;
        }
        if (expected != dataLength) {
            throw new SafeTensorsFormatException(file, "tensors need " + expected + " data bytes but the file holds "
                    + dataLength + (expected > dataLength ? " (file is truncated)" : ""));
        }
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            ByteBuffer data = readFully(channel, dataStart + e.begin, Math.toIntExact(e.end - e.begin), file);
            tensors.put(e.name, decode(e.dtype, e.shape, data.order(ByteOrder.LITTLE_ENDIAN)));
        }
        return new Contents(tensors, metadata);
    }

    private record Entry(String name, DType dtype, Shape shape, long begin, long end) {
    }

    private static Entry entry(Path file, String name, JsonNode node) {
        String dtypeName = node.path("dtype").asText("");
        DType dtype;
        try {
            dtype = DType.valueOf(dtypeName);
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' has dtype '" + dtypeName
                    + "'; Tessera reads only F32, F64 and I32");
        }
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' lacks a shape array or a [begin, end] data_offsets pair");
        }
        long[] dims = new long[shapeNode.size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shapeNode.get(i).asLong(-1);
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE) {
                throw new SafeTensorsFormatException(file, "tensor '" + name + "' has invalid shape " + shapeNode);
            }
        }
        Shape shape = Shape.of(dims);
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end - begin != shape.size() * dtype.bytes()) {
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' has data_offsets " + offsets + " but "
                    + dtype + shape + " needs " + shape.size() * dtype.bytes() + " bytes");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static HostTensor decode(DType dtype, Shape shape, ByteBuffer data) {
        int n = Math.toIntExact(shape.size());
        return switch (dtype) {
            case F32 -> {
                float[] values = new float[n];
                data.asFloatBuffer().get(values);
                yield HostTensor.ofFloats(shape, values);
            }
            case F64 -> {
                double[] values = new double[n];
                data.asDoubleBuffer().get(values);
                yield HostTensor.ofDoubles(shape, values);
            }
            case I32 -> {
                int[] values = new int[n];
                data.asIntBuffer().get(values);
                yield HostTensor.ofInts(shape, values);
            }
        };
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length, Path file) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, position + buffer.position());
            if (read < 0) {
                throw new SafeTensorsFormatException(file, "file ends at byte " + (position + buffer.position())
                        + " but " + (position + length) + " bytes are needed (truncated)");
            }
        }
        return buffer.flip();
    }
}
