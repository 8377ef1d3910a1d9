package dev.tessera.sbp.boxing;

import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sharding;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pieces a send/recv between two placements moves. Neither layout has a partial sum, so the
 * distinct regions of the source cover the tensor exactly once (replicas aside). Each target
 * device takes every overlap with a distinct source region from one replica: its own device if
 * it holds one (a local copy), otherwise replica {@code targetRank % replicas}, which spreads the
 * sending over the replicas.
 */
final class RegionTransfers {
    private RegionTransfers() {
    }

    static SendRecvStep plan(TensorType type, Placement from, NdSbp fromSbp, Placement to, NdSbp toSbp) {
        Map<Region, List<DeviceId>> sources = new LinkedHashMap<>();
        for (int rank = 0; rank < from.size(); rank++) {
            Region region = Sharding.region(type.shape(), from, fromSbp, rank);
            sources.computeIfAbsent(region, r -> new ArrayList<>()).add(from.device(rank));
        }
        List<SendRecvStep.Transfer> transfers = new ArrayList<>();
        for (int rank = 0; rank < to.size(); rank++) {
            DeviceId target = to.device(rank);
            Region needed = Sharding.region(type.shape(), to, toSbp, rank);
            if (needed.elements() == 0) {
                continue;
            }
            for (Map.Entry<Region, List<DeviceId>> source : sources.entrySet()) {
                Region piece = source.getKey().intersect(needed);
                if (piece.elements() == 0) {
                    continue;
                }
                List<DeviceId> replicas = source.getValue();
                DeviceId sender = replicas.contains(target) ? target : replicas.get(rank % replicas.size());
                long bytes = sender.equals(target) ? 0 : piece.elements() * type.dtype().bytes();
                transfers.add(new SendRecvStep.Transfer(sender, target, piece, bytes));
            }
        }
        return new SendRecvStep(from, fromSbp, to, toSbp, transfers);
    }
}
