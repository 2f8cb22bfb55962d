import Foundation
import Testing

struct VectorsMissing: Error, CustomStringConvertible { let description: String }

/// The shared vector files: POCKETSR_VECTORS_DIR when set, else the repository's validate/vectors.
enum Vectors {
    static var dir: URL {
        if let d = ProcessInfo.processInfo.environment["POCKETSR_VECTORS_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        // Tests/PocketSRCoreTests/Vectors.swift -> the repository root is five levels up
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("validate/vectors")
    }

    static func data(_ name: String) throws -> Data {
        let url = dir.appendingPathComponent(name)
        guard let d = FileManager.default.contents(atPath: url.path) else {
            throw VectorsMissing(description: "vector file \(url.path) not found (set POCKETSR_VECTORS_DIR)")
        }
        return d
    }

    static func json(_ name: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: data(name)) as? [String: Any])
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ k: String) -> Int { (self[k] as! NSNumber).intValue }
    func double(_ k: String) -> Double { (self[k] as! NSNumber).doubleValue }
    func ints(_ k: String) -> [Int] { (self[k] as! [Any]).map { ($0 as! NSNumber).intValue } }
    func dict(_ k: String) -> [String: Any] { self[k] as! [String: Any] }
    func list(_ k: String) -> [[String: Any]] { self[k] as! [[String: Any]] }
    func isNull(_ k: String) -> Bool { self[k] == nil || self[k] is NSNull }
}
