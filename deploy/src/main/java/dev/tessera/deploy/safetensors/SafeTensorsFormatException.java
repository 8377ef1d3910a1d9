package dev.tessera.deploy.safetensors;

import java.nio.file.Path;

/** A file that is not valid safetensors; the message names the file and what is wrong with it. */
public final class SafeTensorsFormatException extends RuntimeException {
    private final transient Path file;

    public SafeTensorsFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
