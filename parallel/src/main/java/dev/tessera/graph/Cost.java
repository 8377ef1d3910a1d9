package dev.tessera.graph;

/** What running an op once costs: floating-point operations and bytes read plus written. */
public record Cost(long flops, long bytes) {
    public static Cost of(long flops, long bytes) {
        return new Cost(flops, bytes);
    }

    public Cost plus(Cost other) {
        return new Cost(flops + other.flops, bytes + other.bytes);
    }
}
