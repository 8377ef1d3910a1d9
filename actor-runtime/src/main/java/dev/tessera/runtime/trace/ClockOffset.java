package dev.tessera.runtime.trace;

/**
 * How far another process's {@link System#nanoTime()} is from this one's, as estimated from a
 * round trip: this process sent a probe at {@code sent}, the other read its clock {@code other}
 * while answering, and the answer arrived at {@code received}. The other's reading happened
 * between the two, so its clock minus ours lies in {@code [other - received, other - sent]}; the
 * estimate is the middle of that interval and its error at most half the round trip. Of several
 * probes the one with the shortest round trip is the tightest ({@link #tighter}).
 *
 * @param offsetNanos the other clock minus ours: a time {@code t} of the other is {@code t - offsetNanos} here
 * @param errorNanos  the most the estimate can be off, half the round trip
 */
public record ClockOffset(long offsetNanos, long errorNanos) {
    public ClockOffset {
        if (errorNanos < 0) {
            throw new IllegalArgumentException("a clock offset's error cannot be negative, got " + errorNanos + " ns");
        }
    }

    /**
     * The estimate of one round trip.
     *
     * @throws IllegalArgumentException when the answer arrived before the probe was sent
     */
    public static ClockOffset fromRoundTrip(long sentNanos, long otherNanos, long receivedNanos) {
        long roundTrip = receivedNanos - sentNanos;
        if (roundTrip < 0) {
            throw new IllegalArgumentException("a clock probe was answered " + -roundTrip + " ns before it was sent");
        }
        return new ClockOffset(otherNanos - (sentNanos + roundTrip / 2), (roundTrip + 1) / 2);
    }

    /** The other's time {@code otherNanos} on this process's clock. */
    public long toLocal(long otherNanos) {
        return otherNanos - offsetNanos;
    }

    /** Whichever of the two estimates has the smaller error. */
    public ClockOffset tighter(ClockOffset other) {
        return other.errorNanos < errorNanos ? other : this;
    }
}
