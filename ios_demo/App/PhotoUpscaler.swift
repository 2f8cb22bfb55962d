// Photo mode's work: upscale a photo tile by tile with the core's TiledUpscaler (Tiling.plan with the artifact's
// default overlap) and save the result to Photos with add-only permission.
#if canImport(UIKit) && canImport(Photos) && canImport(CoreML)
import Foundation
import Photos
import PocketSRCore
import UIKit

/// The x`scale` result, as values that may cross actors.
struct UpscaledPhoto: Sendable {
    let image: UIImage
    let png: Data
    let width: Int
    let height: Int
    let tiles: Int
    let seconds: Double
}

enum PhotoUpscaler {
    /// Longest side of the photo fed to the model: a 12 MP photo at x4 would need ~780 MB for the output alone.
    static let maxInputSide = 1024

    /// Runs in the caller's task, off the main actor; returns nil when cancelled.
    static func run(
        model: BundledModel, choice: ComputeChoice, photo: Data,
        progress: @escaping @Sendable (Int, Int) -> Void
    ) async throws -> UpscaledPhoto? {
        let started = DispatchTime.now().uptimeNanoseconds
        guard let decoded = UIImage(data: photo) else { throw ModelError(description: "not an image") }
        let upright = downscaled(decoded, maxSide: maxInputSide)
        guard let cgImage = upright.cgImage else { throw ModelError(description: "image has no bitmap") }
        let (rgba, width, height) = try PixelIO.rgba(of: cgImage, exact: false)
        let a = model.artifact
        let handle = try await ModelHandle.load(url: model.compiledURL, artifact: a, choice: choice)
        let plan = try Tiling.plan(
            imageH: height, imageW: width, tileH: a.tileH, tileW: a.tileW, overlap: a.defaultOverlap, scale: a.scale)
        var output = [UInt8](repeating: 255, count: height * a.scale * width * a.scale * 4)
        let finished = try await TiledUpscaler(plan: plan).upscale(
            source: rgba, destination: &output,
            runTile: { tile in try await handle.upscaleTileRGBA(tile) },
            progress: { done, total in progress(done, total) })
        guard finished else { return nil }
        let (outW, outH) = (width * a.scale, height * a.scale)
        guard let image = PixelIO.cgImage(rgba: output, width: outW, height: outH) else {
            throw ModelError(description: "cannot make the output image")
        }
        let ui = UIImage(cgImage: image)
        guard let png = ui.pngData() else { throw ModelError(description: "PNG encoding failed") }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return UpscaledPhoto(image: ui, png: png, width: outW, height: outH, tiles: plan.tiles.count, seconds: seconds)
    }

    /// Applies the photo's EXIF orientation and limits its longest side.
    static func downscaled(_ image: UIImage, maxSide: Int) -> UIImage {
        let size = image.size
        let factor = min(1, CGFloat(maxSide) / max(size.width, size.height))
        let target = CGSize(width: (size.width * factor).rounded(.down), height: (size.height * factor).rounded(.down))
        let format = UIGraphicsImageRendererFormat()
        format.scale = 1
        // 8-bit sRGB, not the extended-range (16-bit) images that wide-colour iPhones would get by default.
        format.preferredRange = .standard
        return UIGraphicsImageRenderer(size: target, format: format).image { _ in
            image.draw(in: CGRect(origin: .zero, size: target))
        }
    }
}

enum PhotoSaver {
    static func save(png: Data) async throws {
        let status = await PHPhotoLibrary.requestAuthorization(for: .addOnly)
        guard status == .authorized || status == .limited else {
            throw ModelError(description: "no permission to add photos (Settings > Privacy > Photos)")
        }
        try await PHPhotoLibrary.shared().performChanges {
            PHAssetCreationRequest.forAsset().addResource(with: .photo, data: png, options: nil)
        }
    }
}
#endif
