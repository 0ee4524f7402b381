import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request, once its head has arrived, does not arrive whole within
/// `timeout`. Hummingbird's idle timeout already closes connections whose head never completes
/// (no request part is read, so the connection stays idle), but every body byte counts as
/// activity: a client sending one byte a second would hold its connection and buffer forever.
/// A timer per request on the event loop costs far less than racing each body read in a task.
final class RequestReadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            timer?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) { loopBound.value.close(promise: nil) }
        case .end:
            timer?.cancel()
            timer = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
