package dev.tessera.worker.process;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToByteEncoder;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * The framing of the control channel (tessera_control.proto): each frame is a 4-byte big-endian
 * length and one Protobuf message. One place builds the pipeline for both ends: the length
 * decoder, the Protobuf parser handing each message to its consumer, and the encoder. A frame
 * that does not parse closes the connection, which the other side sees as the peer's loss.
 */
public final class ControlFrames {
    /** The largest frame: checkpoint parts of large models travel in one message. */
    public static final int MAX_FRAME_BYTES = Integer.MAX_VALUE - 8;

    private ControlFrames() {
    }

    /**
     * @param onMessage called on the channel's event loop for every message, in arrival order
     * @param onClose called once when the connection closes, with what closed it ("closed by the other
     *     side", or "broken" and the error)
     */
    public static <M extends MessageLite> void install(ChannelPipeline pipeline, Parser<M> parser,
                                                      Consumer<M> onMessage, Consumer<String> onClose) {
        pipeline.addLast("frames", new LengthFieldBasedFrameDecoder(MAX_FRAME_BYTES, 0, 4, 0, 4));
        pipeline.addLast("length", new LengthFieldPrepender(4));
        pipeline.addLast("encoder", new MessageToByteEncoder<MessageLite>(MessageLite.class) {
            @Override
            protected void encode(ChannelHandlerContext context, MessageLite message, ByteBuf out) throws IOException {
                message.writeTo(new io.netty.buffer.ByteBufOutputStream(out));
            }
        });
        pipeline.addLast("messages", new SimpleChannelInboundHandler<ByteBuf>() {
            private String cause = "closed by the other side";

            @Override
            protected void channelRead0(ChannelHandlerContext context, ByteBuf frame) throws IOException {
                onMessage.accept(parser.parseFrom(new ByteBufInputStream(frame)));
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext context, Throwable failure) {
                cause = "broken (" + failure + ")";
                context.close();
            }

            @Override
            public void channelInactive(ChannelHandlerContext context) {
                onClose.accept(cause);
            }
        });
    }
}
