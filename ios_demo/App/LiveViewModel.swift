// Live mode's UI state: owns the LiveEngine, asks for camera access, and mirrors the engine's updates on the
// main actor.
#if canImport(AVFoundation) && canImport(UIKit)
import AVFoundation
import Foundation
import Observation

@MainActor
@Observable
final class LiveViewModel {
    let engine = LiveEngine()
    var latest = LiveUpdate()
    var running = false
    private var listener: Task<Void, Never>?

    func listen() {
        guard listener == nil else { return }
        let updates = engine.updates
        listener = Task { [weak self] in
            for await update in updates {
                self?.latest = update
            }
        }
    }

    func start(_ model: BundledModel, _ choice: ComputeChoice) async {
        guard await AVCaptureDevice.requestAccess(for: .video) else {
            latest.error = "camera access denied (Settings > Privacy > Camera)"
            return
        }
        running = true
        await engine.start(model: model, choice: choice)
    }

    func stop() async {
        running = false
        await engine.stop()
    }
}
#endif
