import Foundation

/// A bundle.json the app cannot use; the description is one line for the screen.
public struct BundleError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// An input or output tensor as bundle.json describes it.
public struct TensorSpec: Equatable, Sendable {
    public let name: String, shape: [Int], layout: String?, dtype: String
    public let scale: Double?, zeroPoint: Int?, values: String?
}

/// Parity floors (validate/PARITY.md section 4), dB.
public struct Gate: Equatable, Sendable {
    public let minParityPsnrDb: Double, minParityPsnrDbFp16: Double, reportOnly: Bool
}

/// One golden image: LR PNG, golden `.npy` (HWC, values in [0, 1]), its window `[y, x, h, w]` in the HR output.
public struct GoldenImage: Equatable, Sendable {
    public let name: String, inputFile: String, goldenFile: String, goldenDtype: String
    public let goldenShape: [Int], window: [Int]
}

/// The golden set of one (model, weights, input size).
public struct GoldenSet: Equatable, Sendable {
    public let key: String, model: String, inputH: Int, inputW: Int, scale: Int
    public let images: [GoldenImage]
}

/// How a Core ML package is fed: ImageType (8-bit `CVPixelBuffer` in and out) or MultiArray (NCHW float32).
public enum ModelIO: String, Sendable { case image, tensor }

/// One artifact of the bundle; paths are relative to the bundle folder.
public struct BundleArtifact: Equatable, Sendable {
    public let file: String, sha256: String, model: String, title: String, scale: Int
    public let target: String, precision: String, pickedAs: [String]
    public let input: TensorSpec, output: TensorSpec, io: ModelIO
    public let tileH: Int, tileW: Int, radius: Int?, defaultOverlap: Int, exactTiling: Bool
    /// Tiled vs whole-image PSNR (dB) measured at conversion for a network that is not local; nil otherwise.
    public let seamPsnrDb: Double?
    public let gate: Gate, goldenSet: String

    private var nhwc: Bool { input.layout == "NHWC" }
    public var inputH: Int { nhwc ? input.shape[1] : input.shape[input.shape.count - 2] }
    public var inputW: Int { nhwc ? input.shape[2] : input.shape[input.shape.count - 1] }
    public var outputH: Int { inputH * scale }
    public var outputW: Int { inputW * scale }
    /// e.g. "LKDN-S fp16 180x320".
    public var label: String { "\(title) \(precision) \(inputH)x\(inputW)" }

    /// The gate for the arithmetic used: float16 (Neural Engine, GPU, `.all`) or float32 (`.cpuOnly`).
    public func gate(fp16Arithmetic: Bool) -> Double {
        fp16Arithmetic ? gate.minParityPsnrDbFp16 : gate.minParityPsnrDb
    }
}

/// A parsed bundle.json (validate/schemas/bundle.schema.json, version ``PocketBundle/schemaVersion``).
public struct PocketBundle: Sendable {
    public static let schemaVersion = 1
    public let schemaVersion: Int, created: String, pocketsr: String
    public let artifacts: [BundleArtifact]
    public let goldenSets: [String: GoldenSet]

    /// The artifacts this app runs (Core ML packages).
    public var coreML: [BundleArtifact] { artifacts.filter { $0.target == "coreml" } }

    /// The golden set an artifact names (``parse(_:)`` checked that it exists).
    public func goldenSet(of a: BundleArtifact) -> GoldenSet { goldenSets[a.goldenSet]! }

    /// Parses and checks bundle.json. - Throws: ``BundleError`` (one line) for what the app does
    /// not understand: not JSON, another schema version, missing or mistyped fields, shapes that
    /// are not RGB `scale`x, I/O dtypes the runtimes do not feed, an unknown golden set.
    public static func parse(_ data: Data) throws -> PocketBundle {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch {
            throw BundleError(description: "bundle.json is not JSON")
        }
        guard let root = any as? [String: Any] else {
            throw BundleError(description: "bundle.json is not a JSON object")
        }
        let o = Node(root, "bundle.json")
        guard try o.string("bundle") == "pocketsr app bundle" else {
            throw BundleError(description: "bundle.json: not a pocketsr app bundle")
        }
        let version = try o.int("schema_version")
        guard version == schemaVersion else {
            throw BundleError(
                description:
                    "bundle.json schema_version \(version): this app reads version \(schemaVersion) (update the app or re-bundle)"
            )
        }
        var sets: [String: GoldenSet] = [:]
        for (key, value) in try o.object("golden_sets").dict {
            guard let d = value as? [String: Any] else {
                throw BundleError(description: "golden_sets.\(key) is not an object")
            }
            sets[key] = try goldenSet(key, Node(d, "golden_sets.\(key)"))
        }
        let list = try o.list("artifacts")
        guard !list.isEmpty else { throw BundleError(description: "bundle.json has no artifacts") }
        let artifacts = try list.enumerated().map { i, e -> BundleArtifact in
            guard let d = e as? [String: Any] else {
                throw BundleError(description: "artifacts[\(i)] is not an object")
            }
            return try artifact(Node(d, "artifacts[\(i)]"), sets)
        }
        return PocketBundle(
            schemaVersion: version, created: try o.string("created"), pocketsr: try o.string("pocketsr"),
            artifacts: artifacts, goldenSets: sets)
    }

    private static func tensor(_ o: Node) throws -> TensorSpec {
        TensorSpec(
            name: try o.string("name"), shape: try o.ints("shape"), layout: o.optionalString("layout"),
            dtype: try o.string("dtype"), scale: o.optionalDouble("scale"), zeroPoint: o.optionalInt("zero_point"),
            values: o.optionalString("values"))
    }

    private static func artifact(_ raw: Node, _ sets: [String: GoldenSet]) throws -> BundleArtifact {
        let file = try raw.string("file")
        let o = Node(raw.dict, "\(raw.at) (\(file))")
        let tiling = try o.object("tiling")
        let gate = try o.object("gate")
        let tile = try tiling.ints("tile")
        guard tile.count == 2 else { throw BundleError(description: "\(o.at).tiling: tile is not [h, w]") }
        guard let exact = tiling.dict["exact"] as? Bool else {
            throw BundleError(description: "\(o.at).tiling: missing 'exact'")
        }
        guard let io = ModelIO(rawValue: try o.string("io")) else {
            throw BundleError(description: "\(o.at): io is not image or tensor")
        }
        let model = try o.string("model")
        let a = BundleArtifact(
            file: file, sha256: try o.string("sha256"), model: model,
            title: o.optionalString("title") ?? model, scale: try o.int("scale"),
            target: try o.string("target"), precision: try o.string("precision"),
            pickedAs: (try o.list("picked_as")).compactMap { $0 as? String },
            input: try tensor(try o.object("input")), output: try tensor(try o.object("output")), io: io,
            tileH: tile[0], tileW: tile[1], radius: tiling.optionalInt("radius"),
            defaultOverlap: try tiling.int("default_overlap"), exactTiling: exact,
            seamPsnrDb: tiling.optionalDouble("seam_psnr_db"),
            gate: Gate(
                minParityPsnrDb: try gate.double("min_parity_psnr_db"),
                minParityPsnrDbFp16: try gate.double("min_parity_psnr_db_fp16"),
                reportOnly: gate.dict["report_only"] as? Bool ?? false),
            goldenSet: try o.string("golden_set"))
        guard a.sha256.count == 64 else { throw BundleError(description: "\(o.at): sha256 is not 64 hex digits") }
        guard sets[a.goldenSet] != nil else {
            throw BundleError(description: "\(o.at): golden set '\(a.goldenSet)' is not in golden_sets")
        }
        if a.target == "coreml" { try checkCoreML(a, o.at) }
        return a
    }

    /// What the iOS app feeds (convert/CONTRACT.md): image I/O (uint8 RGB images) or NCHW float32 MultiArrays.
    private static func checkCoreML(_ a: BundleArtifact, _ at: String) throws {
        let i = a.input
        let o = a.output
        guard i.shape.count == 4, i.shape[0] == 1, i.shape[1] == 3 else {
            throw BundleError(description: "\(at): input \(i.shape) is not (1, 3, h, w) RGB")
        }
        guard o.shape == [1, 3, i.shape[2] * a.scale, i.shape[3] * a.scale] else {
            throw BundleError(description: "\(at): output \(o.shape) is not the input \(i.shape) x\(a.scale)")
        }
        switch a.io {
        case .image:
            guard i.dtype == "uint8", o.dtype == "uint8", o.values == "8bit" else {
                throw BundleError(
                    description: "\(at): image I/O needs uint8 images, got dtype \(i.dtype) -> \(o.dtype)")
            }
        case .tensor:
            guard i.dtype == "float32", o.dtype == "float32", i.layout == "NCHW" else {
                throw BundleError(
                    description: "\(at): tensor I/O needs float32 NCHW, got dtype \(i.dtype) -> \(o.dtype)")
            }
        }
        guard a.tileH == i.shape[2], a.tileW == i.shape[3] else {
            throw BundleError(description: "\(at): tiling.tile \(a.tileH)x\(a.tileW) is not the input size")
        }
        guard a.defaultOverlap >= 0, 2 * a.defaultOverlap < min(a.tileH, a.tileW) else {
            throw BundleError(
                description: "\(at): default overlap \(a.defaultOverlap) does not fit a \(a.tileH)x\(a.tileW) tile")
        }
    }

    private static func goldenSet(_ key: String, _ o: Node) throws -> GoldenSet {
        let size = try o.ints("input_size")
        guard size.count == 2 else { throw BundleError(description: "\(o.at): input_size is not [h, w]") }
        let images = try o.list("images").enumerated().map { i, e -> GoldenImage in
            guard let d = e as? [String: Any] else {
                throw BundleError(description: "\(o.at).images[\(i)] is not an object")
            }
            let im = Node(d, "\(o.at).images[\(i)]")
            let golden = try im.object("golden")
            let dtype = try golden.string("dtype")
            guard dtype == "float32" || dtype == "float16" else {
                throw BundleError(description: "\(im.at).golden: dtype \(dtype) is not float32/float16")
            }
            let window = try im.ints("window")
            guard window.count == 4 else { throw BundleError(description: "\(im.at): window is not [y, x, h, w]") }
            return GoldenImage(
                name: try im.string("name"), inputFile: try im.object("input").string("file"),
                goldenFile: try golden.string("file"), goldenDtype: dtype,
                goldenShape: try golden.ints("shape"), window: window)
        }
        guard !images.isEmpty else { throw BundleError(description: "\(o.at) has no images") }
        return GoldenSet(
            key: key, model: try o.string("model"), inputH: size[0], inputW: size[1],
            scale: try o.int("scale"), images: images)
    }
}

/// A JSON object with the path that leads to it, for one-line errors.
private struct Node {
    let dict: [String: Any]
    let at: String
    init(_ dict: [String: Any], _ at: String) {
        self.dict = dict
        self.at = at
    }

    func field(_ k: String) throws -> Any {
        guard let v = dict[k], !(v is NSNull) else { throw BundleError(description: "\(at): missing '\(k)'") }
        return v
    }
    func object(_ k: String) throws -> Node {
        guard let d = try field(k) as? [String: Any] else {
            throw BundleError(description: "\(at).\(k) is not an object")
        }
        return Node(d, "\(at).\(k)")
    }
    func list(_ k: String) throws -> [Any] {
        guard let l = try field(k) as? [Any] else { throw BundleError(description: "\(at).\(k) is not a list") }
        return l
    }
    func string(_ k: String) throws -> String {
        guard let s = try field(k) as? String else { throw BundleError(description: "\(at).\(k) is not a string") }
        return s
    }
    func double(_ k: String) throws -> Double {
        guard let n = try field(k) as? NSNumber else { throw BundleError(description: "\(at).\(k) is not a number") }
        return n.doubleValue
    }
    func int(_ k: String) throws -> Int {
        let d = try double(k)
        guard d == d.rounded(), abs(d) < 1e15 else { throw BundleError(description: "\(at).\(k) is not an integer") }
        return Int(d)
    }
    func ints(_ k: String) throws -> [Int] {
        try list(k).map { e in
            guard let n = e as? NSNumber, n.doubleValue == n.doubleValue.rounded() else {
                throw BundleError(description: "\(at).\(k) is not a list of integers")
            }
            return n.intValue
        }
    }
    func optionalString(_ k: String) -> String? { dict[k] as? String }
    func optionalDouble(_ k: String) -> Double? { (dict[k] as? NSNumber).map(\.doubleValue) }
    func optionalInt(_ k: String) -> Int? { (dict[k] as? NSNumber).map(\.intValue) }
}
