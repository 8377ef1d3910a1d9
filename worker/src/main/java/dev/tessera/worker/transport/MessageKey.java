package dev.tessera.worker.transport;

/**
 * (source device, destination device, message id): the name of a message. Mutable so that the
 * transport thread looks frames up with one reused probe, allocating nothing per chunk; keys
 * stored in a table are never changed.
 */
final class MessageKey {
    int source;
    int destination;
    long id;

    MessageKey set(int source, int destination, long id) {
        this.source = source;
        this.destination = destination;
        this.id = id;
        return this;
    }

    MessageKey copy() {
        return new MessageKey().set(source, destination, id);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MessageKey k && k.source == source && k.destination == destination && k.id == id;
    }

    @Override
    public int hashCode() {
        return (int) (id ^ (id >>> 32)) * 31 + source * 65599 + destination;
    }
}
