// Apple's own video super-resolution, shown beside ours where the OS offers it: VideoToolbox's
// VTFrameProcessor with VTLowLatencySuperResolutionScalerConfiguration (iOS 26+). Owned by LiveEngine
// (never leaves the capture actor). API names checked against Apple's documentation; not run (no device here).
#if canImport(VideoToolbox) && canImport(CoreMedia)
import CoreMedia
import CoreVideo
import Foundation
import VideoToolbox

@available(iOS 26.0, *)
final class AppleBaseline {
    private let processor = VTFrameProcessor()
    private let pool: CVPixelBufferPool
    private var frameNumber: Int64 = 0
    let note: String

    init(width: Int, height: Int, scale: Int) throws {
        let factors = VTLowLatencySuperResolutionScalerConfiguration.supportedScaleFactors(
            frameWidth: width, frameHeight: height)
        guard factors.contains(Float(scale)) else {
            throw ModelError(description: "x\(scale) not offered for \(width)x\(height) (offers \(factors))")
        }
        let configuration = VTLowLatencySuperResolutionScalerConfiguration(
            frameWidth: width, frameHeight: height, scaleFactor: Float(scale))
        try processor.startSession(configuration: configuration)
        pool = try PixelIO.makePool(width: width * scale, height: height * scale)
        note = "Apple low-latency SR x\(scale)"
    }

    deinit {
        processor.endSession()
    }

    /// Upscales one BGRA frame into a pooled buffer. Runs on the caller's actor (`isolation`), so this non-Sendable
    /// object never leaves LiveEngine; the completion handler only carries an error across threads.
    func upscale(_ input: CVPixelBuffer, isolation: isolated (any Actor)? = #isolation) async throws -> CVPixelBuffer {
        guard let destination = PixelIO.buffer(from: pool) else { throw ModelError(description: "pool exhausted") }
        frameNumber += 1
        let time = CMTime(value: frameNumber, timescale: 30)
        guard let source = VTFrameProcessorFrame(buffer: input, presentationTimeStamp: time),
            let target = VTFrameProcessorFrame(buffer: destination, presentationTimeStamp: time)
        else { throw ModelError(description: "buffers are not IOSurface-backed") }
        let parameters = VTLowLatencySuperResolutionScalerParameters(sourceFrame: source, destinationFrame: target)
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            processor.process(parameters: parameters) { _, error in
                if let error { done.resume(throwing: error) } else { done.resume() }
            }
        }
        return destination
    }
}
#endif
