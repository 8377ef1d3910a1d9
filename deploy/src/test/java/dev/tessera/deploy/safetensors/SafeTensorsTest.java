package dev.tessera.deploy.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void shouldRoundTripEveryDtypeShapeAndMetadata() throws IOException {
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("fc1.weight", HostTensor.ofFloats(Shape.of(2, 3), new float[] {1f, -2.5f, 3e-8f, Float.MAX_VALUE, 0f, -0f}));
        tensors.put("adam.step", HostTensor.ofDoubles(Shape.scalar(), new double[] {Math.PI}));
        tensors.put("labels", HostTensor.ofInts(Shape.of(4), new int[] {0, -1, Integer.MAX_VALUE, 7}));
        tensors.put("empty", HostTensor.ofFloats(Shape.of(0, 5), new float[0]));
        Path file = dir.resolve("t.safetensors");

        SafeTensors.write(file, tensors, Map.of("step", "12", "format", "pt"));
        SafeTensors.Contents read = SafeTensors.read(file);

        assertEquals(tensors.keySet().stream().sorted().toList(), List.copyOf(read.tensors().keySet()).stream().sorted().toList());
        tensors.forEach((name, t) -> assertEquals(t, read.tensors().get(name), name));
        assertEquals(Map.of("step", "12", "format", "pt"), read.metadata());
    }

    @Test
    void shouldWriteTheExactByteLayoutOfTheSpecification() throws IOException {
        Path file = dir.resolve("tiny.safetensors");
        SafeTensors.write(file, Map.of(
                "b", HostTensor.ofInts(Shape.of(1), new int[] {258}),
                "a", HostTensor.ofFloats(Shape.of(2), new float[] {1.0f, -2.0f})), Map.of("k", "v"));

        String json = "{\"__metadata__\":{\"k\":\"v\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        byte[] jsonBytes = json.getBytes(StandardCharsets.UTF_8);
        int padded = (jsonBytes.length + 7) / 8 * 8;
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        expected.writeBytes(jsonBytes);
        for (int i = jsonBytes.length; i < padded; i++) {
            expected.write(' ');
        }
        // 1.0f = 0x3F800000, -2.0f = 0xC0000000, 258 = 0x00000102, each little-endian.
        expected.writeBytes(new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, (byte) 0xC0, 2, 1, 0, 0});

        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(file));
    }

    @Test
    void shouldReadAFileWrittenByHandWithUnpaddedHeaderAndNoMetadata() throws IOException {
        byte[] json = "{\"x\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + json.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json).putDouble(-0.5);
        Path path = dir.resolve("hand.safetensors");
        Files.write(path, file.array());

        SafeTensors.Contents read = SafeTensors.read(path);

        assertEquals(-0.5, read.tensors().get("x").doubles()[0]);
        assertTrue(read.metadata().isEmpty());
    }

    /**
     * Written by the reference implementation: safetensors.numpy.save_file({"a": arange(6, float32)
     * .reshape(2, 3), "b": int32 [1, 2], "c": float64 2.5}, metadata={"k": "v"}) with safetensors 0.8.
     */
    @Test
    void shouldReadAFileWrittenByTheReferenceImplementation() throws Exception {
        Path file = Path.of(getClass().getResource("/safetensors/written-by-python-safetensors-0.8.safetensors").toURI());

        SafeTensors.Contents read = SafeTensors.read(file);

        assertEquals(HostTensor.ofFloats(Shape.of(2, 3), new float[] {0, 1, 2, 3, 4, 5}), read.tensors().get("a"));
        assertEquals(HostTensor.ofInts(Shape.of(2), new int[] {1, 2}), read.tensors().get("b"));
        assertEquals(HostTensor.ofDoubles(Shape.scalar(), new double[] {2.5}), read.tensors().get("c"));
        assertEquals(Map.of("k", "v"), read.metadata());
    }

    @Test
    void shouldRejectTruncatedDataNamingTheFile() throws IOException {
        Path file = dir.resolve("cut.safetensors");
        SafeTensors.write(file, Map.of("w", HostTensor.ofFloats(Shape.of(4), new float[4])), Map.of());
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 3));

        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.read(file));

        assertTrue(e.getMessage().contains("cut.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void shouldRejectAGarbageHeaderLength() throws IOException {
        Path file = dir.resolve("garbage.safetensors");
        Files.write(file, new byte[] {(byte) 0xFF, (byte) 0xFF, 0, 0, 0, 0, 0, 0, '{', '}'});

        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.read(file));

        assertTrue(e.getMessage().contains("header length"), e.getMessage());
    }

    @Test
    void shouldRejectAnUnsupportedDtypeByName() throws IOException {
        byte[] json = "{\"h\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer bytes = ByteBuffer.allocate(8 + json.length + 2).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(json.length).put(json);
        Path file = dir.resolve("bf16.safetensors");
        Files.write(file, bytes.array());

        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.read(file));

        assertTrue(e.getMessage().contains("'h'") && e.getMessage().contains("BF16"), e.getMessage());
    }
}
