// Photo mode screen: PhotosPicker, progress and cancel of PhotoUpscaler, save to Photos.
#if canImport(SwiftUI) && canImport(PhotosUI) && canImport(UIKit)
import PhotosUI
import PocketSRCore
import SwiftUI
import UIKit

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
                            "tile \(a.tileW)x\(a.tileH), overlap \(a.defaultOverlap)\(Self.seamNote(a))"
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

    /// How exact tiling is for this artifact (validate/TILING.md): exact, approximate because the
    /// tile is too small, or approximate because the network is not local (with the measured seam PSNR).
    static func seamNote(_ a: BundleArtifact) -> String {
        if a.exactTiling { return " (exact)" }
        if let db = a.seamPsnrDb {
            return " (not local: seams approximate, \(String(format: "%.1f", db)) dB vs whole image)"
        }
        return " (not exact: seams may differ)"
    }
}
#endif
