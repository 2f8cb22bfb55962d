// Stand-in: the Photos calls the app makes (add-only authorization, one asset creation). The change block is
// modelled `@Sendable` (the strict case).
@_exported import Foundation

public enum PHAccessLevel: Sendable { case addOnly, readWrite }
public enum PHAuthorizationStatus: Sendable { case notDetermined, restricted, denied, authorized, limited }
public enum PHAssetResourceType: Sendable { case photo }
public final class PHAssetResourceCreationOptions {}

public final class PHPhotoLibrary {
    public static func requestAuthorization(for level: PHAccessLevel) async -> PHAuthorizationStatus { fatalError() }
    public static func shared() -> PHPhotoLibrary { fatalError() }
    public func performChanges(_ changeBlock: @escaping @Sendable () -> Void) async throws {}
}

public final class PHAssetCreationRequest {
    public static func forAsset() -> PHAssetCreationRequest { fatalError() }
    public func addResource(with type: PHAssetResourceType, data: Data, options: PHAssetResourceCreationOptions?) {}
}
