package dev.tessera.sbp.infer;

/**
 * No layout the auto-parallel search found fits the memory budget per device. An
 * IllegalArgumentException like the planner's other errors; its own type so that a caller can
 * name the setting that holds the budget.
 */
public final class MemoryBudgetException extends IllegalArgumentException {
    private final long budgetBytes;
    private final long smallestBytes;

    public MemoryBudgetException(String message, long budgetBytes, long smallestBytes) {
        super(message);
        this.budgetBytes = budgetBytes;
        this.smallestBytes = smallestBytes;
    }

    public long budgetBytes() {
        return budgetBytes;
    }

    /** The smallest peak memory per device among the plans the search evaluated. */
    public long smallestBytes() {
        return smallestBytes;
    }
}
