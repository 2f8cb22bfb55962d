// Live mode's camera pipeline. Everything non-Sendable (AVCaptureSession, CVPixelBuffers, pools, Core Image,
// Apple's baseline scaler) is owned by the `LiveEngine` actor, whose executor *is* the capture queue: the
// sample-buffer delegate runs on that queue and enters the actor synchronously with `assumeIsolated` (checked at
// run time), so frames never cross to another thread. The only escape is the scoped hand-over of the delegate's
// CMSampleBuffer (`nonisolated(unsafe)`, explained at FrameReceiver); each frame's own buffers are `sending`.
#if canImport(AVFoundation) && canImport(CoreML) && canImport(UIKit)
import AVFoundation
import CoreImage
import CoreML
import Foundation
import PocketSRCore
import UIKit

/// One processed frame, for the UI. UIImage is Sendable; the numbers are plain values.
struct LiveUpdate: Sendable {
    var ours: UIImage?
    var bilinear: UIImage?
    var apple: UIImage?
    var appleNote: String?
    var inferenceMs: Double?
    var fps: Double = 0
    var thermal: String = "nominal"
    var thermalMessage: String?
    var units: ComputeChoice = .all
    var backings: String = ""
    var error: String?
}

actor LiveEngine {
    private let queue = DispatchSerialQueue(label: "pocketsr.capture", qos: .userInitiated)
    nonisolated var unownedExecutor: UnownedSerialExecutor { queue.asUnownedSerialExecutor() }

    nonisolated let updates: AsyncStream<LiveUpdate>
    private let continuation: AsyncStream<LiveUpdate>.Continuation

    private var session: AVCaptureSession?
    private var receiver: FrameReceiver?
    private var rotation: AVCaptureDevice.RotationCoordinator?
    private var running: ModelHandle?
    private var inputPool: CVPixelBufferPool?
    private var outputPool: CVPixelBufferPool?
    private let ciContext = CIContext(options: [.cacheIntermediates: false])
    private var inFlight = false
    private var frameIndex = 0
    private var meter = FpsMeter()
    private var useBackings = true
    private var backingsNote = "output backings: on"
    private var baselineWanted = false
    private var baseline: AnyObject?  // AppleBaseline on iOS 26+, created lazily on the capture queue
    private var loadToken = 0

    init() {
        (updates, continuation) = AsyncStream.makeStream(of: LiveUpdate.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: control (called from the UI)

    func start(model: BundledModel, choice: ComputeChoice) async {
        loadToken += 1
        let token = loadToken
        running = nil
        do {
            let loaded = try await ModelHandle.load(url: model.compiledURL, artifact: model.artifact, choice: choice)
            guard token == loadToken else { return }  // a newer start() won
            let a = loaded.artifact
            inputPool = try PixelIO.makePool(width: a.inputW, height: a.inputH)
            outputPool = try PixelIO.makePool(width: a.outputW, height: a.outputH)
            running = loaded
            baseline = nil
            try configureSessionIfNeeded()
            if session?.isRunning == false { session?.startRunning() }
        } catch {
            publish(LiveUpdate(units: choice, error: "\(model.label): \(error)"))
        }
    }

    func stop() {
        session?.stopRunning()
        running = nil
    }

    func setBackings(_ on: Bool) {
        useBackings = on
        backingsNote = on ? "output backings: on" : "output backings: off"
    }

    func setBaseline(_ on: Bool) {
        baselineWanted = on
        if !on { baseline = nil }
    }

    // MARK: capture

    private func configureSessionIfNeeded() throws {
        if session != nil { return }
        let session = AVCaptureSession()
        session.beginConfiguration()
        session.sessionPreset = .hd1280x720
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            throw ModelError(description: "no back camera")
        }
        let input = try AVCaptureDeviceInput(device: device)
        guard session.canAddInput(input) else { throw ModelError(description: "camera input refused") }
        session.addInput(input)
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        let receiver = FrameReceiver(engine: self)
        output.setSampleBufferDelegate(receiver, queue: queue)
        guard session.canAddOutput(output) else { throw ModelError(description: "video data output refused") }
        session.addOutput(output)
        session.commitConfiguration()
        self.receiver = receiver
        self.rotation = AVCaptureDevice.RotationCoordinator(device: device, previewLayer: nil)
        self.session = session
    }

    /// Called on the capture queue (= this actor's executor) for every delivered frame.
    fileprivate func receive(_ sampleBuffer: CMSampleBuffer) {
        frameIndex += 1
        guard !inFlight, let handle = running, let inputPool, let outputPool,
            let camera = CMSampleBufferGetImageBuffer(sampleBuffer)
        else { return }
        let thermal = DeviceFacts.thermalName()
        let advice = ThermalPolicy.advice(for: thermal)
        guard advice.frameStride > 0 else {
            publish(
                LiveUpdate(thermal: thermal, thermalMessage: advice.message ?? "paused (thermal)", units: handle.choice)
            )
            return
        }
        guard frameIndex % advice.frameStride == 0 else { return }
        let a = handle.artifact
        let degrees = Self.quarterTurns(rotation?.videoRotationAngleForHorizonLevelCapture ?? 90)
        let lrImage: CIImage
        do {
            lrImage = try Self.cropAndScale(
                camera, rotationDegrees: degrees, inputW: a.inputW, inputH: a.inputH)
        } catch {
            publish(LiveUpdate(units: handle.choice, error: "crop: \(error)"))
            return
        }
        guard let input = PixelIO.buffer(from: inputPool) else { return }
        let bounds = CGRect(x: 0, y: 0, width: a.inputW, height: a.inputH)
        ciContext.render(lrImage, to: input, bounds: bounds, colorSpace: CGColorSpace(name: CGColorSpace.sRGB))

        var update = LiveUpdate(thermal: thermal, thermalMessage: advice.message, units: handle.choice)
        update.bilinear = bilinearUpscale(input, scale: a.scale, width: a.outputW, height: a.outputH)
        let backing = useBackings ? PixelIO.buffer(from: outputPool) : nil
        update.backings = backingsNote
        inFlight = true
        let prepared = update
        Task {
            var frame = prepared
            if self.baselineWanted {
                (frame.apple, frame.appleNote) = await self.runBaseline(on: input, artifact: a)
            }
            await self.finish(update: frame, handle: handle, input: input, backing: backing)
        }
    }

    private func finish(
        update: LiveUpdate, handle: ModelHandle, input: sending CVPixelBuffer, backing: sending CVPixelBuffer?
    ) async {
        var update = update
        let hadBacking = backing != nil
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let output = try await handle.predictImage(input, backing: backing)
            let end = DispatchTime.now().uptimeNanoseconds
            update.inferenceMs = Double(end - start) / 1e6
            update.fps = meter.tick(nanoseconds: end)
            update.ours = displayImage(output.buffer)
            if hadBacking {
                update.backings =
                    output.usedBacking ? "output backings: used" : "output backings: Core ML allocated its own"
            }
        } catch {
            if hadBacking {
                // Some OS versions / units refuse a caller-provided output buffer: fall back for the rest of the run.
                useBackings = false
                backingsNote = "output backings: refused (\(error.localizedDescription)), off"
            } else {
                update.error = "prediction: \(error)"
            }
        }
        inFlight = false
        publish(update)
    }

    private func publish(_ update: LiveUpdate) {
        continuation.yield(update)
    }

    // MARK: pixels

    /// 0, 90, 180 or 270 (clockwise), from the rotation coordinator's angle.
    static func quarterTurns(_ angle: CGFloat) -> Int {
        let turns = Int((Double(angle) / 90).rounded()) % 4
        return ((turns + 4) % 4) * 90
    }

    static func orientation(forClockwiseDegrees degrees: Int) -> CGImagePropertyOrientation {
        switch degrees {
        case 90: .right
        case 180: .down
        case 270: .left
        default: .up
        }
    }

    /// Rotates the camera frame upright, takes the core's centre crop (same aspect as the model input) and scales it
    /// to the input size. CropRect is in upright pixels with a top-left origin; Core Image's origin is bottom-left.
    static func cropAndScale(_ camera: CVPixelBuffer, rotationDegrees: Int, inputW: Int, inputH: Int) throws -> CIImage
    {
        let frameW = CVPixelBufferGetWidth(camera)
        let frameH = CVPixelBufferGetHeight(camera)
        let crop = try FrameGeometry.centreCrop(
            frameWidth: frameW, frameHeight: frameH, rotationDegrees: rotationDegrees, inputH: inputH, inputW: inputW)
        var upright = CIImage(cvPixelBuffer: camera).oriented(orientation(forClockwiseDegrees: rotationDegrees))
        upright = upright.transformed(
            by: CGAffineTransform(translationX: -upright.extent.minX, y: -upright.extent.minY))
        let rect = CGRect(
            x: crop.x, y: Double(upright.extent.height) - crop.y - crop.height, width: crop.width, height: crop.height)
        return
            upright
            .cropped(to: rect)
            .transformed(by: CGAffineTransform(translationX: -rect.minX, y: -rect.minY))
            .transformed(by: CGAffineTransform(scaleX: Double(inputW) / crop.width, y: Double(inputH) / crop.height))
    }

    /// The comparison side: the same LR input, bilinear x`scale`.
    private func bilinearUpscale(_ input: CVPixelBuffer, scale: Int, width: Int, height: Int) -> UIImage? {
        let image = CIImage(cvPixelBuffer: input).samplingLinear()
            .transformed(by: CGAffineTransform(scaleX: CGFloat(scale), y: CGFloat(scale)))
        return ciContext.createCGImage(image, from: CGRect(x: 0, y: 0, width: width, height: height))
            .map { UIImage(cgImage: $0) }
    }

    private func displayImage(_ buffer: CVPixelBuffer) -> UIImage? {
        let image = CIImage(cvPixelBuffer: buffer)
        return ciContext.createCGImage(image, from: image.extent).map { UIImage(cgImage: $0) }
    }

    // MARK: Apple's own video super-resolution (iOS 26+)

    private func runBaseline(on input: CVPixelBuffer, artifact: BundleArtifact) async -> (UIImage?, String?) {
        #if canImport(VideoToolbox)
        if #available(iOS 26.0, *) {
            do {
                let scaler: AppleBaseline
                if let existing = baseline as? AppleBaseline {
                    scaler = existing
                } else {
                    scaler = try AppleBaseline(width: artifact.inputW, height: artifact.inputH, scale: artifact.scale)
                    baseline = scaler
                }
                let output = try await scaler.upscale(input)
                return (displayImage(output), scaler.note)
            } catch {
                baselineWanted = false
                return (nil, "Apple's scaler: \(error)")
            }
        }
        #endif
        return (nil, "Apple's low-latency super-resolution needs iOS 26")
    }
}

/// The sample-buffer delegate. Sendable (final, immutable, its only property an actor), so AVFoundation may call it
/// on the capture queue; it hands each frame to the engine synchronously because that queue is the engine's executor.
/// `assumeIsolated` verifies that at run time (the Swift 6 runtime asks the DispatchSerialQueue executor, SE-0424);
/// it traps rather than race if AVFoundation ever called on another queue. Device-only: confirm on iOS 17.x.
final class FrameReceiver: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, Sendable {
    let engine: LiveEngine

    init(engine: LiveEngine) {
        self.engine = engine
    }

    func captureOutput(
        _ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection
    ) {
        // `nonisolated(unsafe)` is sound here: the closure below runs synchronously, on this thread, before this
        // callback returns (assumeIsolated does not escape it), and `receive` keeps nothing of the sample buffer:
        // it renders the frame into the engine's own pooled buffer. AVFoundation's ownership of the buffer (valid for
        // the duration of the callback) is therefore respected; the checker cannot see that the hand-over is scoped.
        nonisolated(unsafe) let frame = sampleBuffer
        engine.assumeIsolated { engine in
            engine.receive(frame)
        }
    }
}
#endif
