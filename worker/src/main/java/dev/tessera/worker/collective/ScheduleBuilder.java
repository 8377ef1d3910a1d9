package dev.tessera.worker.collective;

import dev.tessera.worker.collective.CollectiveSchedule.Local;
import dev.tessera.worker.collective.CollectiveSchedule.Message;
import dev.tessera.worker.collective.CollectiveSchedule.Round;
import java.util.ArrayList;
import java.util.List;

/** Collects the rounds of one member's schedule, cutting messages into chunks. */
final class ScheduleBuilder {
    private final int chunkElements;
    private final List<Round> rounds = new ArrayList<>();
    private final List<Integer> scratch = new ArrayList<>();
    private List<Message> sends = new ArrayList<>();
    private List<Message> receives = new ArrayList<>();
    private List<Local> then = new ArrayList<>();

    ScheduleBuilder(int chunkElements) {
        if (chunkElements < 1) {
            throw new IllegalArgumentException("the chunk size must be at least 1 element, got " + chunkElements);
        }
        this.chunkElements = chunkElements;
    }

    int chunkElements() {
        return chunkElements;
    }

    /** A new scratch buffer of {@code elements}; returns its number. */
    int scratch(int elements) {
        scratch.add(elements);
        return CollectiveSchedule.SCRATCH + scratch.size() - 1;
    }

    /** Sends piece {@code runs} of {@code buffer} to {@code peer} in this round, chunk c tagged (step, c). */
    void send(int peer, int step, int buffer, ElementRuns runs) {
        ElementRuns[] chunks = runs.chunks(chunkElements);
        for (int c = 0; c < chunks.length; c++) {
            sends.add(new Message(peer, CollectiveSchedule.tag(step, c), buffer, chunks[c]));
        }
    }

    /** Receives piece {@code runs} of {@code buffer} from {@code peer} in this round, chunked as {@link #send} cuts it. */
    void receive(int peer, int step, int buffer, ElementRuns runs) {
        ElementRuns[] chunks = runs.chunks(chunkElements);
        for (int c = 0; c < chunks.length; c++) {
            receives.add(new Message(peer, CollectiveSchedule.tag(step, c), buffer, chunks[c]));
        }
    }

    /** One chunk only: for ring steps, where each chunk is its own round. */
    void sendChunk(int peer, int step, int chunk, int buffer, ElementRuns runs) {
        sends.add(new Message(peer, CollectiveSchedule.tag(step, chunk), buffer, runs));
    }

    void receiveChunk(int peer, int step, int chunk, int buffer, ElementRuns runs) {
        receives.add(new Message(peer, CollectiveSchedule.tag(step, chunk), buffer, runs));
    }

    /** Receives one chunk and writes piece {@code baseRuns} of {@code base} plus it into piece {@code runs} of {@code buffer}. */
    void receiveSumChunk(int peer, int step, int chunk, int base, ElementRuns baseRuns, int buffer, ElementRuns runs) {
        receives.add(new Message(peer, CollectiveSchedule.tag(step, chunk), buffer, runs, base, baseRuns));
    }

    void then(Local local) {
        if (local.targetRuns().elements() > 0) {
            then.add(local);
        }
    }

    /** Closes the current round (dropped when empty). */
    void endRound() {
        if (!sends.isEmpty() || !receives.isEmpty() || !then.isEmpty()) {
            rounds.add(new Round(sends, receives, then));
        }
        sends = new ArrayList<>();
        receives = new ArrayList<>();
        then = new ArrayList<>();
    }

    CollectiveSchedule build(String description) {
        endRound();
        return new CollectiveSchedule(description, rounds, scratch);
    }
}
