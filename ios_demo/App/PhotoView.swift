// Photo mode: pick a photo, upscale it tile by tile with the core's TiledUpscaler (Tiling.plan with the artifact's
// default overlap), show progress, allow cancel, save the result to Photos (add-only permission).
#if canImport(SwiftUI) && canImport(PhotosUI) && canImport(UIKit)
import Photos
import PhotosUI
import PocketSRCore
import SwiftUI

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

@MainActor
@Observable
final class PhotoState {
    var progress: (done: Int, total: Int) = (0, 0)
    var job: Task<Void, Never>?
    var result: UpscaledPhoto?
    var message: String?

    func start(item: PhotosPickerItem, model: BundledModel, choice: ComputeChoice) {
        job?.cancel()
        result = nil
        message = nil
        progress = (0, 0)
        job = Task {
            defer { job = nil }
            do {
                guard let data = try await item.loadTransferable(type: Data.self) else {
                    message = "the photo could not be loaded"
                    return
                }
                let report: @Sendable (Int, Int) -> Void = { done, total in
                    Task { @MainActor in self.progress = (done, total) }
                }
                if let upscaled = try await PhotoUpscaler.run(
                    model: model, choice: choice, photo: data, progress: report)
                {
                    result = upscaled
                } else {
                    message = "cancelled"
                }
            } catch is CancellationError {
                message = "cancelled"
            } catch {
                message = "failed: \(error)"
            }
        }
    }

    func save(_ photo: UpscaledPhoto) {
        let png = photo.png
        Task {
            do {
                try await PhotoSaver.save(png: png)
                message = "saved to Photos"
            } catch {
                message = "not saved: \(error)"
            }
        }
    }
}

struct PhotoView: View {
    let loaded: LoadedBundle
    @State private var item: PhotosPickerItem?
    @State private var selected: BundledModel?
    @State private var choice: ComputeChoice = .all
    @State private var state = PhotoState()

    var body: some View {
        NavigationStack {
            Form {
                Section("Model") {
                    Picker("Package", selection: $selected) {
                        ForEach(loaded.imageModels) { Text($0.label).tag(Optional($0)) }
                    }
                    Picker("Compute units", selection: $choice) {
                        ForEach(ComputeChoice.allCases) { Text($0.title).tag($0) }
                    }
                    if let a = selected?.artifact {
                        Text(
                            "tile \(a.tileW)x\(a.tileH), overlap \(a.defaultOverlap)\(a.exactTiling ? " (exact)" : " (not exact: seams may differ)")"
                        )
                        .font(.caption).foregroundStyle(.secondary)
                    }
                }
                Section("Photo") {
                    PhotosPicker("Choose a photo", selection: $item, matching: .images)
                    Text("Photos are reduced to \(PhotoUpscaler.maxInputSide) px on the long side first.")
                        .font(.caption).foregroundStyle(.secondary)
                    if state.job != nil {
                        ProgressView(value: Double(state.progress.done), total: Double(max(state.progress.total, 1))) {
                            Text("tile \(state.progress.done) of \(state.progress.total)")
                        }
                        Button("Cancel", role: .cancel) { state.job?.cancel() }
                    }
                    if let message = state.message { Text(message).font(.callout) }
                }
                if let result = state.result {
                    Section("Result \(result.width)x\(result.height)") {
                        Image(uiImage: result.image).resizable().scaledToFit()
                        Text(String(format: "%d tiles in %.1f s", result.tiles, result.seconds)).font(.caption)
                        Button("Save to Photos") { state.save(result) }
                    }
                }
            }
            .navigationTitle("Photo x4")
        }
        .onAppear { if selected == nil { selected = loaded.imageModels.first } }
        .onChange(of: item) {
            if let item, let model = selected { state.start(item: item, model: model, choice: choice) }
        }
    }
}
#endif
