import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request, once its head has arrived, does not arrive whole within
/// `timeout`. Hummingbird's idle timeout already closes connections whose head never completes
/// (no request part is read, so the connection stays idle), but every body byte counts as
/// activity: a client sending one byte a second would hold its connection and buffer forever.
/// One timer per connection, not one per request: scheduling and cancelling a task for every
/// request cost about 9,000 instructions each (callgrind). The timer is armed when a request
/// starts and none is pending. When it fires, it closes the connection if the request being read
/// began `timeout` ago or more, or re-arms for that request's own deadline.
final class RequestReadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// When the head of the request being read arrived; nil between requests.
    private var readingSince: NIODeadline?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            let now = NIODeadline.now()
            readingSince = now
            if timer == nil { arm(context, at: now + timeout) }
        case .end:
            readingSince = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard let since = handler.readingSince else { return }
            if NIODeadline.now() >= since + handler.timeout {
                context.close(promise: nil)
            } else {
                handler.arm(context, at: since + handler.timeout)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
