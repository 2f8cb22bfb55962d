// Photo mode's UI state: the running upscale (cancellable), its progress, the result and the save.
#if canImport(PhotosUI) && canImport(UIKit)
import Foundation
import Observation
import PhotosUI

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
#endif
