package dev.tessera.sbp.boxing;

import dev.tessera.sbp.DeviceId;
import java.util.Map;

/** One step of a {@link BoxingPlan}: a collective over one hierarchy axis, or a send/recv between placements. */
public sealed interface BoxingStep permits CollectiveStep, SendRecvStep {

    Conversion conversion();

    /** Bytes all devices together send in this step, per iteration. */
    double totalBytes();

    /** Bytes each device sends in this step; devices that send nothing may be absent. */
    Map<DeviceId, Double> bytesByDevice();
}
