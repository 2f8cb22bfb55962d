// Stand-in: the PhotosPickerItem the photo state receives (a Sendable value, as in the SDK) and the Transferable
// loading it offers.
@_exported import Foundation

public protocol Transferable {}
extension Data: Transferable {}

public struct PhotosPickerItem: Sendable, Equatable {
    public func loadTransferable<T: Transferable>(type: T.Type) async throws -> T? { fatalError() }
}
