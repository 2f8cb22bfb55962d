// The app's entry point and its four screens. Apple-only code: guarded so `swiftc -parse` works anywhere.
#if canImport(SwiftUI) && canImport(UIKit) && canImport(CoreML)
import SwiftUI

@main
struct PocketSRApp: App {
    @State private var store = BundleStore()

    var body: some Scene {
        WindowGroup {
            RootView()
                .environment(store)
                .task { store.load() }
        }
    }
}

struct RootView: View {
    @Environment(BundleStore.self) private var store

    var body: some View {
        switch store.state {
        case .loading:
            ProgressView("Reading bundle.json")
        case .refused(let message):
            RefusedBundleView(message: message)
        case .ready(let loaded):
            TabView {
                LiveView(loaded: loaded)
                    .tabItem { Label("Live", systemImage: "camera") }
                PhotoView(loaded: loaded)
                    .tabItem { Label("Photo", systemImage: "photo") }
                SelfCheckView(loaded: loaded)
                    .tabItem { Label("Self-check", systemImage: "checkmark.seal") }
                OpsView(loaded: loaded)
                    .tabItem { Label("Ops", systemImage: "cpu") }
            }
        }
    }
}

/// A bundle the app does not understand is refused with the core's one-line BundleError, on screen.
struct RefusedBundleView: View {
    let message: String

    var body: some View {
        VStack(spacing: 16) {
            Image(systemName: "xmark.octagon").font(.largeTitle).foregroundStyle(.red)
            Text("This app cannot use the bundle it was built with").font(.headline)
            Text(message).font(.callout.monospaced()).textSelection(.enabled)
            Text(
                "Import a bundle written by `pocketsr convert ... --bundle` (Core ML artifacts) with ios_demo/import_bundle.sh, then rebuild."
            )
            .font(.footnote).foregroundStyle(.secondary)
        }
        .multilineTextAlignment(.center)
        .padding()
    }
}
#endif
