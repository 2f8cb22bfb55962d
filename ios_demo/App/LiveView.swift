// Live mode screen: our x4 beside a bilinear x4 of the same input (split slider or toggle), with inference ms,
// smoothed FPS, the compute units, the thermal state and (iOS 26+) Apple's own video super-resolution.
#if canImport(SwiftUI) && canImport(AVFoundation) && canImport(UIKit)
import SwiftUI
import UIKit

struct LiveView: View {
    let loaded: LoadedBundle
    @State private var vm = LiveViewModel()
    @State private var selected: BundledModel?
    @State private var choice: ComputeChoice = .all
    @State private var split: Double = 0.5
    @State private var showOursOnly = false
    @State private var backings = true
    @State private var appleBaseline = false

    var body: some View {
        NavigationStack {
            VStack(spacing: 8) {
                if loaded.imageModels.isEmpty {
                    ContentUnavailableView(
                        "No image-I/O Core ML package", systemImage: "camera.metering.unknown",
                        description: Text("Live mode needs a package converted with io=\"image\" (the default)."))
                } else {
                    comparison
                    overlay
                    controls
                }
            }
            .padding(.horizontal)
            .navigationTitle("Live x4")
        }
        .onAppear {
            vm.listen()
            if selected == nil { selected = loaded.imageModels.first }
        }
        .onDisappear { Task { await vm.stop() } }
        .onChange(of: selected) { restart() }
        .onChange(of: choice) { restart() }
        .onChange(of: backings) { Task { await vm.engine.setBackings(backings) } }
        .onChange(of: appleBaseline) { Task { await vm.engine.setBaseline(appleBaseline) } }
    }

    private func restart() {
        guard vm.running, let selected else { return }
        Task { await vm.start(selected, choice) }
    }

    private var comparison: some View {
        GeometryReader { geometry in
            ZStack(alignment: .leading) {
                frameImage(vm.latest.bilinear)
                if showOursOnly {
                    frameImage(vm.latest.ours)
                } else {
                    frameImage(vm.latest.ours)
                        .mask(alignment: .leading) {
                            Rectangle().frame(width: geometry.size.width * split)
                        }
                    Rectangle().fill(.white).frame(width: 2)
                        .offset(x: geometry.size.width * split - 1)
                }
            }
            .gesture(
                DragGesture(minimumDistance: 0).onChanged { value in
                    split = min(max(value.location.x / max(geometry.size.width, 1), 0), 1)
                })
        }
        .aspectRatio(aspect, contentMode: .fit)
        .overlay(alignment: .bottom) {
            if let apple = vm.latest.apple {
                VStack(alignment: .trailing, spacing: 2) {
                    Image(uiImage: apple).resizable().interpolation(.none).scaledToFit().frame(height: 120)
                    Text(vm.latest.appleNote ?? "Apple").font(.caption2)
                }
                .padding(6).background(.black.opacity(0.6)).frame(maxWidth: .infinity, alignment: .trailing)
            }
        }
        .overlay(alignment: .top) {
            HStack {
                Text(showOursOnly ? "ours" : "ours ◀︎").font(.caption.bold())
                Spacer()
                Text(showOursOnly ? "" : "▶︎ bilinear").font(.caption.bold())
            }
            .padding(6).foregroundStyle(.white).shadow(radius: 2)
        }
    }

    private var aspect: CGFloat {
        guard let a = selected?.artifact, a.outputH > 0 else { return 1 }
        return CGFloat(a.outputW) / CGFloat(a.outputH)
    }

    @ViewBuilder
    private func frameImage(_ image: UIImage?) -> some View {
        if let image {
            Image(uiImage: image).resizable().interpolation(.none).scaledToFit()
        } else {
            Rectangle().fill(.black)
        }
    }

    private var overlay: some View {
        let u = vm.latest
        return VStack(alignment: .leading, spacing: 2) {
            HStack {
                Text(u.inferenceMs.map { String(format: "%.1f ms", $0) } ?? "– ms")
                Text(String(format: "%.1f fps", u.fps))
                Text(u.units.title)
                Text("thermal: \(u.thermal)")
                    .foregroundStyle(u.thermal == "serious" || u.thermal == "critical" ? Color.red : Color.primary)
            }
            .font(.caption.monospacedDigit())
            if let message = u.thermalMessage { Text(message).font(.caption).foregroundStyle(.orange) }
            if !u.backings.isEmpty { Text(u.backings).font(.caption2).foregroundStyle(.secondary) }
            if let note = u.appleNote, u.apple == nil { Text(note).font(.caption2).foregroundStyle(.secondary) }
            if let error = u.error { Text(error).font(.caption).foregroundStyle(.red) }
        }
        .frame(maxWidth: .infinity, alignment: .leading)
    }

    private var controls: some View {
        VStack(spacing: 8) {
            Picker("Model", selection: $selected) {
                ForEach(loaded.imageModels) { model in
                    Text(model.label).tag(Optional(model))
                }
            }
            Picker("Compute units", selection: $choice) {
                ForEach(ComputeChoice.allCases) { Text($0.title).tag($0) }
            }
            .pickerStyle(.segmented)
            Toggle("Ours only (hide split)", isOn: $showOursOnly)
            Toggle("Core ML writes into pooled buffers", isOn: $backings)
            if #available(iOS 26.0, *) {
                Toggle("Apple's video super-resolution beside ours", isOn: $appleBaseline)
            }
            Button(vm.running ? "Stop" : "Start camera") {
                Task {
                    if vm.running {
                        await vm.stop()
                    } else if let selected {
                        await vm.start(selected, choice)
                    }
                }
            }
            .buttonStyle(.borderedProminent)
        }
    }
}
#endif
