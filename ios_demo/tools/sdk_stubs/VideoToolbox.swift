// Stand-in: VideoToolbox's frame processor (iOS 26) as documented; all classes non-Sendable. The completion
// handler is `@escaping @Sendable` as in Apple's declaration of process(parameters:completionHandler:).
@_exported import CoreMedia

public protocol VTFrameProcessorConfiguration {}
public protocol VTFrameProcessorParameters {}

public final class VTFrameProcessorFrame {
    public init?(buffer: CVPixelBuffer, presentationTimeStamp: CMTime) {}
}

public final class VTLowLatencySuperResolutionScalerConfiguration: VTFrameProcessorConfiguration {
    public init(frameWidth: Int, frameHeight: Int, scaleFactor: Float) {}
    public class func supportedScaleFactors(frameWidth: Int, frameHeight: Int) -> [Float] { fatalError() }
}

public final class VTLowLatencySuperResolutionScalerParameters: VTFrameProcessorParameters {
    public init(sourceFrame: VTFrameProcessorFrame, destinationFrame: VTFrameProcessorFrame) {}
}

public final class VTFrameProcessor {
    public init() {}
    public func startSession(configuration: any VTFrameProcessorConfiguration) throws {}
    public func endSession() {}
    public func process(
        parameters: any VTFrameProcessorParameters,
        completionHandler: @escaping @Sendable (any VTFrameProcessorParameters, (any Error)?) -> Void
    ) {}
}
