// Stand-in: the PhotosPickerItem the photo state receives (a Sendable value, as in the SDK), the Transferable
// loading it offers, and the SwiftUI PhotosPicker view.
@_exported import Foundation
@_exported import SwiftUI

public struct PhotosPickerItem: Sendable, Equatable {
    public func loadTransferable<T: Transferable>(type: T.Type) async throws -> T? { fatalError() }
}

public struct PHPickerFilter: Sendable {
    public static let images = PHPickerFilter()
}
public struct PhotosPicker: PrimitiveView {
    public init(_ title: String, selection: Binding<PhotosPickerItem?>, matching filter: PHPickerFilter? = nil) {}
}
