package dev.tessera.sbp.boxing;

/**
 * The bytes of a boxing plan without its steps: what all devices together send per iteration and
 * what the busiest device sends (which bounds the plan's time). From {@link Boxing#cost}.
 */
public record BoxingCost(double totalBytes, double maxBytesPerDevice) {
    public static final BoxingCost NONE = new BoxingCost(0, 0);
}
