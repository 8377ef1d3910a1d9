package dev.tessera.worker.transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything the Aeron transport of one process depends on. {@link #defaults} gives the
 * documented defaults (docs/transport.md); {@link #check} says, in Tessera's words, which
 * setting is wrong and what to change, before any driver starts.
 *
 * @param jobId the job; frames of another job are rejected
 * @param planVersion the plan's version; frames of another version are rejected
 * @param externalDriverDirectory an already running media driver's directory, or null to start an
 *     embedded driver in a fresh directory under {@code driverRoot}
 * @param driverRoot where embedded drivers' directories go (default /dev/shm, else java.io.tmpdir)
 * @param termLength bytes of one term of each publication's log (the log is three terms): a power
 *     of two from 64 KiB to 1 GiB; default 16 MiB
 * @param mtu bytes of one Aeron frame, header included (a chunk carries mtu - 32 - 75 bytes,
 *     rounded down to 64): a multiple of 32 from 1 KiB to 64 KiB - 32; default 8 KiB (use 1408 between
 *     hosts without jumbo frames)
 * @param socketBufferBytes UDP socket send and receive buffer, 0 for the operating system's; default 2 MiB
 * @param idleStrategy what the transport thread does when a duty cycle did nothing: "backoff"
 *     (default: spin, yield, then park up to 1 ms), "yielding", "busy-spin" or "sleeping"
 * @param deliveryTimeout how long one side of a message waits for the other; default 30 s
 * @param connectTimeout how long a send waits for its peer's process to connect; default 10 s
 * @param peerTimeout how long a peer may stay silent (its heartbeats are sent every tenth of
 *     this) before every message with it fails naming it; default 3 s
 * @param clientLivenessTimeout the driver drops a client silent for this long; default 10 s
 * @param publicationUnblockTimeout the driver unblocks a publication stuck this long by a dead
 *     client; must exceed the client liveness time-out; default 15 s
 */
public record AeronSettings(long jobId, int planVersion, Path externalDriverDirectory, Path driverRoot, int termLength,
        int mtu, int socketBufferBytes, String idleStrategy, Duration deliveryTimeout, Duration connectTimeout,
        Duration peerTimeout, Duration clientLivenessTimeout, Duration publicationUnblockTimeout) {
    public static final int MIN_TERM_LENGTH = 64 * 1024;
    public static final int MAX_TERM_LENGTH = 1024 * 1024 * 1024;
    static final List<String> IDLE_STRATEGIES = List.of("backoff", "yielding", "busy-spin", "sleeping");

    /** The documented defaults for job {@code jobId}, plan version 1. */
    public static AeronSettings defaults(long jobId) {
        Path shm = Path.of("/dev/shm");
        Path root = shm.toFile().isDirectory() ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return new AeronSettings(jobId, 1, null, root, 16 * 1024 * 1024, 8192, 2 * 1024 * 1024, "backoff",
                Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(3), Duration.ofSeconds(10),
                Duration.ofSeconds(15));
    }

    public AeronSettings withTermLength(int bytes) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, driverRoot, bytes, mtu, socketBufferBytes,
                idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout, publicationUnblockTimeout);
    }

    public AeronSettings withMtu(int bytes) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, driverRoot, termLength, bytes,
                socketBufferBytes, idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout,
                publicationUnblockTimeout);
    }

    public AeronSettings withSocketBuffer(int bytes) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, driverRoot, termLength, mtu, bytes,
                idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout, publicationUnblockTimeout);
    }

    /** The same settings for another job and plan version (a coordinator sets them per job). */
    public AeronSettings forJob(long job, int version) {
        return new AeronSettings(job, version, externalDriverDirectory, driverRoot, termLength, mtu, socketBufferBytes,
                idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout, publicationUnblockTimeout);
    }

    public AeronSettings withExternalDriver(Path directory) {
        return new AeronSettings(jobId, planVersion, directory, driverRoot, termLength, mtu, socketBufferBytes,
                idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout, publicationUnblockTimeout);
    }

    public AeronSettings withDriverRoot(Path root) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, root, termLength, mtu, socketBufferBytes,
                idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout, publicationUnblockTimeout);
    }

    public AeronSettings withIdleStrategy(String name) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, driverRoot, termLength, mtu,
                socketBufferBytes, name, deliveryTimeout, connectTimeout, peerTimeout, clientLivenessTimeout,
                publicationUnblockTimeout);
    }

    public AeronSettings withTimeouts(Duration delivery, Duration connect, Duration peer) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, driverRoot, termLength, mtu,
                socketBufferBytes, idleStrategy, delivery, connect, peer, clientLivenessTimeout, publicationUnblockTimeout);
    }

    public AeronSettings withDriverTimeouts(Duration clientLiveness, Duration publicationUnblock) {
        return new AeronSettings(jobId, planVersion, externalDriverDirectory, driverRoot, termLength, mtu,
                socketBufferBytes, idleStrategy, deliveryTimeout, connectTimeout, peerTimeout, clientLiveness,
                publicationUnblock);
    }

    /** A fresh instance of the idle strategy named by {@link #idleStrategy} (one per thread). */
    public org.agrona.concurrent.IdleStrategy newIdleStrategy() {
        return AeronTransport.idleStrategy(idleStrategy);
    }

    /** Payload bytes of one chunk: what a claimed frame holds after Aeron's and Tessera's headers, rounded down to 64. */
    public int chunkBytes() {
        return (mtu - 32 - TensorFrameHeaders.LENGTH) & ~63;
    }

    /**
     * @throws IllegalArgumentException listing every setting that is out of range and what to set instead
     */
    public AeronSettings check() {
        List<String> problems = new ArrayList<>();
        if (termLength < MIN_TERM_LENGTH || termLength > MAX_TERM_LENGTH || Integer.bitCount(termLength) != 1) {
            problems.add("transport.aeron.term-length is " + termLength + " bytes; Aeron needs a power of two from 64 KiB "
                    + "(65536) to 1 GiB (1073741824), e.g. 16777216");
        }
        if (mtu < 1024 || mtu > 65504 || mtu % 32 != 0) {
            problems.add("transport.aeron.mtu is " + mtu + " bytes; use a multiple of 32 from 1024 to 65504 (8192 on one "
                    + "host, 1408 between hosts without jumbo frames)");
        } else if (termLength >= MIN_TERM_LENGTH && mtu > termLength / 8) {
            problems.add("transport.aeron.mtu (" + mtu + ") exceeds an eighth of the term length (" + termLength
                    + "); raise transport.aeron.term-length or lower the mtu");
        }
        if (socketBufferBytes < 0) {
            problems.add("transport.aeron.socket-buffer is " + socketBufferBytes + "; use 0 (the system's) or a byte count");
        }
        if (!IDLE_STRATEGIES.contains(idleStrategy)) {
            problems.add("transport.aeron.idle-strategy '" + idleStrategy + "' is not one of " + IDLE_STRATEGIES);
        }
        positive(problems, "transport.delivery-timeout", deliveryTimeout);
        positive(problems, "transport.aeron.connect-timeout", connectTimeout);
        positive(problems, "transport.aeron.peer-timeout", peerTimeout);
        positive(problems, "transport.aeron.client-liveness-timeout", clientLivenessTimeout);
        positive(problems, "transport.aeron.publication-unblock-timeout", publicationUnblockTimeout);
        if (clientLivenessTimeout != null && publicationUnblockTimeout != null
                && publicationUnblockTimeout.compareTo(clientLivenessTimeout) <= 0) {
            problems.add("transport.aeron.publication-unblock-timeout (" + publicationUnblockTimeout + ") must be longer "
                    + "than transport.aeron.client-liveness-timeout (" + clientLivenessTimeout + "): the driver may only "
                    + "unblock a publication after it could have noticed that the blocking client died; raise the "
                    + "unblock time-out, e.g. to the liveness time-out plus 5 s");
        }
        if (externalDriverDirectory == null && driverRoot == null) {
            problems.add("transport.aeron.driver-root is not set; name a directory for the embedded driver (/dev/shm)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("the Aeron transport's settings are not valid:\n  - "
                    + String.join("\n  - ", problems));
        }
        return this;
    }

    private static void positive(List<String> problems, String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            problems.add(name + " is " + d + "; it must be a positive duration");
        }
    }
}
