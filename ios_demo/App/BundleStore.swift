// The app's bundle state for SwiftUI: loading, refused (one line on screen) or ready.
#if canImport(Observation) && canImport(CoreML)
import Foundation
import Observation

@MainActor
@Observable
final class BundleStore {
    enum State {
        case loading
        case refused(String)
        case ready(LoadedBundle)
    }

    private(set) var state: State = .loading

    func load() {
        switch LoadedBundle.read(from: Bundle.main) {
        case .success(let loaded): state = .ready(loaded)
        case .failure(let message): state = .refused(message.text)
        }
    }

}
#endif
