package dev.tessera.runtime;

import dev.tessera.runtime.plan.Device;

/** The action of a TRANSFER actor: moves its one input to its device through a {@link TensorTransfer}. */
final class TransferAction implements ActorAction {
    private final TensorTransfer transfer;
    private final Device from;
    private final Device to;

    TransferAction(TensorTransfer transfer, Device from, Device to) {
        this.transfer = transfer;
        this.from = from;
        this.to = to;
    }

    @Override
    public Object createPayload(int output, int register) {
        return transfer.createDestination(to);
    }

    @Override
    public void act(ActionContext context) throws Exception {
        context.replaceOutput(0, transfer.transfer(context.input(0), context.output(0), from, to));
    }
}
