// One loaded Core ML model and the ways the app runs it. All prediction goes through
// `MLModel.prediction(from:options:) async` (iOS 17).
#if canImport(CoreML) && canImport(CoreImage) && canImport(CoreVideo)
import CoreImage
import CoreML
import CoreVideo
import Foundation
import PocketSRCore

struct ModelError: Error, CustomStringConvertible {
    let description: String
}

/// BGRA bytes of an 8-bit image output, as Core ML wrote them (rows may be padded).
struct ImageBytes: Sendable {
    let bytes: [UInt8]
    let width: Int
    let height: Int
    let bytesPerRow: Int
    /// Byte offsets of R, G, B within a pixel (BGRA = (2, 1, 0)).
    let rgbOffsets: (Int, Int, Int)
}

/// The output of an image-I/O prediction: the buffer holding it and whether it is the caller's output backing.
struct ImageOutput {
    let buffer: CVPixelBuffer
    let usedBacking: Bool
}

/// A loaded model, shared by the task that loaded it and the tasks that run it.
///
/// `@unchecked Sendable` is sound here because every stored property is a `let` set in `init` and never mutated,
/// and the two non-Sendable ones are documented as safe to use from several threads:
/// - `MLModel`: Core ML's async prediction API is thread-safe (WWDC23 "Improve Core ML integration with async
///   prediction"); this app additionally never runs two predictions of one handle at once.
/// - `CIContext`: Core Image contexts are immutable and thread-safe (Core Image Programming Guide).
/// Pixel buffers are never stored here: they are created, sent into one call and returned, never shared.
final class ModelHandle: @unchecked Sendable {
    let model: MLModel
    let artifact: BundleArtifact
    let choice: ComputeChoice
    /// Wall time of the first `MLModel.load` (includes the on-device compile/specialisation for these units).
    let loadMs: Double
    let ciContext: CIContext
    private let inputName: String
    private let outputName: String

    private init(model: MLModel, artifact: BundleArtifact, choice: ComputeChoice, loadMs: Double) {
        self.model = model
        self.artifact = artifact
        self.choice = choice
        self.loadMs = loadMs
        self.ciContext = CIContext(options: [.cacheIntermediates: false])
        self.inputName = artifact.input.name
        self.outputName = artifact.output.name
    }

    static func load(url: URL, artifact: BundleArtifact, choice: ComputeChoice) async throws -> ModelHandle {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = choice.units
        let start = DispatchTime.now().uptimeNanoseconds
        let model = try await MLModel.load(contentsOf: url, configuration: configuration)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return ModelHandle(model: model, artifact: artifact, choice: choice, loadMs: ms)
    }

    // MARK: image I/O (8-bit RGB CVPixelBuffer in, 8-bit RGB image out)

    /// Runs the image-I/O package on `input` (BGRA, the artifact's input size) and returns the output buffer.
    func predictImage(_ input: sending CVPixelBuffer) async throws -> sending CVPixelBuffer {
        try await predictImage(input, backing: nil).buffer
    }

    /// As above; with `backing`, Core ML is asked to write into that pooled buffer
    /// (`MLPredictionOptions.outputBackings`). Core ML may allocate its own instead (documented: compare by identity),
    /// so the result says which buffer holds the output and whether the backing was used.
    func predictImage(
        _ input: sending CVPixelBuffer, backing: sending CVPixelBuffer?
    ) async throws -> sending ImageOutput {
        let provider = try MLDictionaryFeatureProvider(dictionary: [inputName: MLFeatureValue(pixelBuffer: input)])
        let options = MLPredictionOptions()
        if let backing {
            options.outputBackings = [outputName: backing]
        }
        let result = try await model.prediction(from: provider, options: options)
        guard let output = result.featureValue(for: outputName)?.imageBufferValue else {
            throw ModelError(description: "output \(outputName) is not an image (is this a tensor-I/O package?)")
        }
        return ImageOutput(buffer: output, usedBacking: backing.map { $0 === output } ?? false)
    }

    /// Runs the model on one RGBA8 tile (photo mode) and returns the x`scale` tile as RGBA8, tightly packed.
    func upscaleTileRGBA(_ rgba: [UInt8]) async throws -> [UInt8] {
        let input = try PixelIO.makeBGRA(fromRGBA: rgba, width: artifact.inputW, height: artifact.inputH)
        let output = try await predictImage(input)
        let bytes = try PixelIO.readBytes(output)
        return PixelIO.packedRGBA(bytes)
    }

    /// Runs the model on an RGBA8 image of the input size and returns the raw 8-bit output (self-check).
    func predictImageBytes(rgba: [UInt8]) async throws -> ImageBytes {
        let input = try PixelIO.makeBGRA(fromRGBA: rgba, width: artifact.inputW, height: artifact.inputH)
        let output = try await predictImage(input)
        return try PixelIO.readBytes(output)
    }

    // MARK: tensor I/O (MultiArray (1, 3, H, W) float32 in [0, 1])

    /// Runs a tensor-I/O package; `rgba` is converted by the pixel rule v / 255 (Pixels.u8ToFloat).
    /// Returns the output as contiguous NCHW floats.
    func predictTensor(rgba: [UInt8]) async throws -> [Float] {
        let h = artifact.inputH
        let w = artifact.inputW
        let array = try MLMultiArray(shape: [1, 3, NSNumber(value: h), NSNumber(value: w)], dataType: .float32)
        array.withUnsafeMutableBufferPointer(ofType: Float.self) { pointer, strides in
            for y in 0..<h {
                for x in 0..<w {
                    let p = (y * w + x) * 4
                    for c in 0..<3 {
                        pointer[c * strides[1] + y * strides[2] + x * strides[3]] = Pixels.u8ToFloat(rgba[p + c])
                    }
                }
            }
        }
        let provider = try MLDictionaryFeatureProvider(dictionary: [inputName: MLFeatureValue(multiArray: array)])
        let result = try await model.prediction(from: provider, options: MLPredictionOptions())
        guard let out = result.featureValue(for: outputName)?.multiArrayValue else {
            throw ModelError(description: "output \(outputName) is not a MultiArray (is this an image-I/O package?)")
        }
        return try Self.contiguousNCHW(out)
    }

    private static func contiguousNCHW(_ out: MLMultiArray) throws -> [Float] {
        let shape = out.shape.map(\.intValue)
        guard shape.count == 4, shape[0] == 1, shape[1] == 3 else {
            throw ModelError(description: "output shape \(shape), expected (1, 3, H, W)")
        }
        let (h, w) = (shape[2], shape[3])
        let strides = out.strides.map(\.intValue)
        var values = [Float](repeating: 0, count: 3 * h * w)
        if out.dataType == .float32 {
            out.withUnsafeBufferPointer(ofType: Float.self) { pointer in
                for c in 0..<3 {
                    for y in 0..<h {
                        for x in 0..<w {
                            values[(c * h + y) * w + x] = pointer[c * strides[1] + y * strides[2] + x * strides[3]]
                        }
                    }
                }
            }
        } else {
            // float16 or double outputs: the slow, type-agnostic subscript.
            for c in 0..<3 {
                for y in 0..<h {
                    for x in 0..<w {
                        let index = [0, c, y, x].map { NSNumber(value: $0) }
                        values[(c * h + y) * w + x] = out[index].floatValue
                    }
                }
            }
        }
        return values
    }
}
#endif
