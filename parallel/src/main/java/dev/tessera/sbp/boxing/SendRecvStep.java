package dev.tessera.sbp.boxing;

import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Moves a tensor from one placement to another: each device of {@code to} receives the pieces
 * of its region (under {@code toSbp}) from devices of {@code from} that hold them (under
 * {@code fromSbp}). Neither side has a PartialSum here: partial values are reduced before and
 * zero-filled after.
 */
public record SendRecvStep(Placement from, NdSbp fromSbp, Placement to, NdSbp toSbp, List<Transfer> transfers)
        implements BoxingStep {

    /**
     * One piece: {@code region} of the logical tensor from {@code source} to {@code target}.
     * {@code bytes} is 0 when both are the same device (a local copy).
     */
    public record Transfer(DeviceId source, DeviceId target, Region region, long bytes) {
        @Override
        public String toString() {
            return source + " -> " + target + " " + region + " " + bytes + " bytes";
        }
    }

    public SendRecvStep {
        transfers = List.copyOf(transfers);
    }

    @Override
    public Conversion conversion() {
        return Conversion.SEND_RECV;
    }

    @Override
    public double totalBytes() {
        return transfers.stream().mapToLong(Transfer::bytes).sum();
    }

    @Override
    public Map<DeviceId, Double> bytesByDevice() {
        Map<DeviceId, Double> bytes = new LinkedHashMap<>();
        for (Transfer t : transfers) {
            if (t.bytes() > 0) {
                bytes.merge(t.source(), (double) t.bytes(), Double::sum);
            }
        }
        return bytes;
    }

    @Override
    public String toString() {
        return "send/recv " + fromSbp + " on " + from + " -> " + toSbp + " on " + to + ", " + transfers.size()
                + " piece(s), " + (long) totalBytes() + " bytes";
    }
}
