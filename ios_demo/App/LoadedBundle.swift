// Reads the imported bundle (bundle.json + goldens, copied as the folder reference "PocketSRBundle") and finds the
// compiled Core ML models (Xcode compiles each imported .mlpackage into NAME.mlmodelc at the app's top level).
#if canImport(CoreML)
import Foundation
import PocketSRCore

/// The folder reference that ios_demo/import_bundle.sh fills (ImportedBundle/PocketSRBundle); checked by tools/app_check.
let bundleFolderName = "PocketSRBundle"

/// A parsed bundle plus where its files are inside the app. Everything in it is a Sendable value.
struct LoadedBundle: Sendable {
    let bundle: PocketBundle
    let folder: URL
    /// Core ML artifacts whose compiled model is in the app, with that model's URL.
    let models: [BundledModel]
    /// Artifacts listed by bundle.json that this app cannot run (TFLite, or a package missing from the build).
    let skipped: [String]

    var imageModels: [BundledModel] { models.filter { $0.artifact.io == .image } }

    func fileURL(_ relative: String) -> URL { folder.appending(path: relative) }
}

struct BundledModel: Sendable, Identifiable, Hashable {
    let artifact: BundleArtifact
    let compiledURL: URL
    var id: String { artifact.file }
    var label: String { artifact.label }

    static func == (a: BundledModel, b: BundledModel) -> Bool { a.id == b.id }
    func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

extension LoadedBundle {
    struct Refusal: Error { let text: String }

    static func read(from app: Bundle) -> Result<LoadedBundle, Refusal> {
        guard let folder = app.url(forResource: bundleFolderName, withExtension: nil) else {
            return .failure(
                Refusal(text: "no bundle in the app: run ios_demo/import_bundle.sh BUNDLE, then xcodegen generate"))
        }
        let jsonURL = folder.appending(path: "bundle.json")
        let data: Data
        do {
            data = try Data(contentsOf: jsonURL)
        } catch {
            return .failure(Refusal(text: "bundle.json unreadable: \(error.localizedDescription)"))
        }
        let bundle: PocketBundle
        do {
            bundle = try PocketBundle.parse(data)
        } catch let error as BundleError {
            return .failure(Refusal(text: error.description))
        } catch {
            return .failure(Refusal(text: "bundle.json: \(error)"))
        }
        var models: [BundledModel] = []
        var skipped: [String] = []
        for artifact in bundle.artifacts {
            guard artifact.target == "coreml" else {
                skipped.append("\(artifact.file): \(artifact.target) (the Android app runs it)")
                continue
            }
            let name = (artifact.file as NSString).deletingPathExtension
            if let url = app.url(forResource: name, withExtension: "mlmodelc") {
                models.append(BundledModel(artifact: artifact, compiledURL: url))
            } else {
                skipped.append(
                    "\(artifact.file): not compiled into the app (was it imported before xcodegen generate?)")
            }
        }
        if models.isEmpty {
            let why = skipped.isEmpty ? "" : " (" + skipped.joined(separator: "; ") + ")"
            return .failure(Refusal(text: "bundle has no Core ML artifact this app can run\(why)"))
        }
        return .success(LoadedBundle(bundle: bundle, folder: folder, models: models, skipped: skipped))
    }
}
#endif
