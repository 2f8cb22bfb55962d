// Stand-in: the UIKit image API the app uses off the main actor. UIImage is Sendable (as in the SDK).
@_exported import CoreImage
@_exported import Foundation

public final class UIImage: Sendable {
    public init(cgImage: CGImage) {}
    public init?(data: Data) {}
    public var cgImage: CGImage? { fatalError() }
    public var size: CGSize { fatalError() }
    public func pngData() -> Data? { fatalError() }
    public func draw(in rect: CGRect) {}
}
public final class UIGraphicsImageRendererFormat {
    public enum Range: Sendable { case unspecified, automatic, extended, standard }
    public init() {}
    public var scale: CGFloat = 1
    public var preferredRange: Range = .automatic
}
public final class UIGraphicsImageRendererContext {}
public final class UIGraphicsImageRenderer {
    public init(size: CGSize, format: UIGraphicsImageRendererFormat) {}
    public func image(actions: (UIGraphicsImageRendererContext) -> Void) -> UIImage { fatalError() }
}
