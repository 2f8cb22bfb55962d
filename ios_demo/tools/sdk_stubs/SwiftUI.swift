// Stand-in: the SwiftUI surface the app's five view files use, enough to type-check them in Swift 6 mode
// (view builders, bindings, @MainActor views and their closures, implicit-member styles as in SE-0299).
// Modifiers are loosely typed (each returns a ModifiedView); what this checks is the app's own Swift:
// types flowing between its views, state and models, closure isolation, and the names it calls.
@_exported import Foundation
@_exported import Observation
@_exported import UIKit

// MARK: views and builders

@MainActor @preconcurrency
public protocol View {
    associatedtype Body: View
    @ViewBuilder var body: Body { get }
}
extension Never: View {
    public var body: Never { fatalError() }
}
extension Optional: View where Wrapped: View {
    public var body: Never { fatalError() }
}
public protocol PrimitiveView: View where Body == Never {}
extension PrimitiveView {
    public var body: Never { fatalError() }
}

public struct EmptyView: PrimitiveView { public init() {} }
public struct TupleView: PrimitiveView {}
public struct AnyView: PrimitiveView { public init<V: View>(_ view: V) {} }
public struct ConditionalView<T: View, F: View>: PrimitiveView {}
public struct ModifiedView: PrimitiveView {}

@resultBuilder @MainActor
public struct ViewBuilder {
    public static func buildExpression<C: View>(_ content: C) -> C { content }
    public static func buildBlock() -> EmptyView { EmptyView() }
    public static func buildBlock<C: View>(_ content: C) -> C { content }
    public static func buildBlock<each C: View>(_ content: repeat each C) -> TupleView { TupleView() }
    public static func buildIf<C: View>(_ content: C?) -> C? { content }
    public static func buildEither<T: View, F: View>(first: T) -> ConditionalView<T, F> { ConditionalView() }
    public static func buildEither<T: View, F: View>(second: F) -> ConditionalView<T, F> { ConditionalView() }
    public static func buildLimitedAvailability<C: View>(_ content: C) -> AnyView { AnyView(content) }
}

@MainActor @preconcurrency
public protocol Scene {}
@resultBuilder
public struct SceneBuilder {
    public static func buildBlock<S: Scene>(_ scene: S) -> S { scene }
}
@MainActor @preconcurrency
public protocol App {
    associatedtype Body: Scene
    @SceneBuilder var body: Body { get }
    init()
}
extension App {
    public static func main() {}
}
public struct WindowGroup<Content: View>: Scene {
    public init(@ViewBuilder content: () -> Content) {}
}

// MARK: state

public protocol DynamicProperty {}

@propertyWrapper
public struct State<Value>: DynamicProperty {
    public init(wrappedValue: Value) {}
    public var wrappedValue: Value {
        get { fatalError() }
        nonmutating set {}
    }
    public var projectedValue: Binding<Value> { fatalError() }
}

@propertyWrapper @dynamicMemberLookup
public struct Binding<Value> {
    public init(wrappedValue: Value) {}
    public var wrappedValue: Value {
        get { fatalError() }
        nonmutating set {}
    }
    public subscript<Subject>(dynamicMember keyPath: WritableKeyPath<Value, Subject>) -> Binding<Subject> {
        fatalError()
    }
}

@propertyWrapper
public struct Environment<Value>: DynamicProperty {
    public init(_ objectType: Value.Type) where Value: AnyObject & Observable {}
    public var wrappedValue: Value { fatalError() }
}

// MARK: styles (implicit members as SwiftUI declares them)

public protocol ShapeStyle {}
public struct Color: ShapeStyle, PrimitiveView, Hashable {
    public static let red = Color()
    public static let green = Color()
    public static let orange = Color()
    public static let white = Color()
    public static let black = Color()
    public static let primary = Color()
    public static let secondary = Color()
    public func opacity(_ opacity: Double) -> Color { self }
}
public struct HierarchicalShapeStyle: ShapeStyle {}
extension ShapeStyle where Self == Color {
    public static var red: Color { Color() }
    public static var green: Color { Color() }
    public static var orange: Color { Color() }
    public static var white: Color { Color() }
    public static var black: Color { Color() }
}
extension ShapeStyle where Self == HierarchicalShapeStyle {
    public static var primary: HierarchicalShapeStyle { HierarchicalShapeStyle() }
    public static var secondary: HierarchicalShapeStyle { HierarchicalShapeStyle() }
}

public struct Font: Hashable, Sendable {
    public static let largeTitle = Font()
    public static let headline = Font()
    public static let subheadline = Font()
    public static let callout = Font()
    public static let footnote = Font()
    public static let caption = Font()
    public static let caption2 = Font()
    public func bold() -> Font { self }
    public func monospaced() -> Font { self }
    public func monospacedDigit() -> Font { self }
}

public enum TextAlignment: Sendable { case leading, center, trailing }
public enum ContentMode: Sendable { case fit, fill }
public struct HorizontalAlignment: Sendable {
    public static let leading = HorizontalAlignment()
    public static let center = HorizontalAlignment()
    public static let trailing = HorizontalAlignment()
}
public struct VerticalAlignment: Sendable {
    public static let top = VerticalAlignment()
    public static let center = VerticalAlignment()
    public static let bottom = VerticalAlignment()
}
public struct Alignment: Sendable {
    public static let leading = Alignment()
    public static let trailing = Alignment()
    public static let top = Alignment()
    public static let bottom = Alignment()
    public static let center = Alignment()
}
public enum Edge: Sendable {
    public struct Set: OptionSet, Sendable {
        public let rawValue: Int8
        public init(rawValue: Int8) { self.rawValue = rawValue }
        public static let all = Set(rawValue: 15)
        public static let horizontal = Set(rawValue: 10)
        public static let vertical = Set(rawValue: 5)
    }
}

public protocol TextSelectability {}
public struct EnabledTextSelectability: TextSelectability {}
extension TextSelectability where Self == EnabledTextSelectability {
    public static var enabled: EnabledTextSelectability { EnabledTextSelectability() }
}
public protocol PickerStyle {}
public struct SegmentedPickerStyle: PickerStyle {}
extension PickerStyle where Self == SegmentedPickerStyle {
    public static var segmented: SegmentedPickerStyle { SegmentedPickerStyle() }
}
public protocol PrimitiveButtonStyle {}
public struct BorderedProminentButtonStyle: PrimitiveButtonStyle {}
extension PrimitiveButtonStyle where Self == BorderedProminentButtonStyle {
    public static var borderedProminent: BorderedProminentButtonStyle { BorderedProminentButtonStyle() }
}
public struct ButtonRole: Sendable {
    public static let cancel = ButtonRole()
    public static let destructive = ButtonRole()
}

// MARK: primitive views

public struct Text: PrimitiveView {
    public init(_ content: String) {}
    public func bold() -> Text { self }
    public func font(_ font: Font?) -> Text { self }
}
public struct Image: PrimitiveView {
    public enum Interpolation: Sendable { case none, low, medium, high }
    public init(systemName: String) {}
    public init(uiImage: UIImage) {}
    public func resizable() -> Image { self }
    public func interpolation(_ interpolation: Interpolation) -> Image { self }
}
public struct Label: PrimitiveView { public init(_ title: String, systemImage: String) {} }
public struct Spacer: PrimitiveView { public init() {} }
public struct Rectangle: PrimitiveView {
    public init() {}
    public func fill<S: ShapeStyle>(_ content: S) -> ModifiedView { ModifiedView() }
}
public struct ProgressView: PrimitiveView {
    public init(_ title: String) {}
    public init<V: BinaryFloatingPoint, L: View>(value: V?, total: V = 1.0, @ViewBuilder label: () -> L) {}
}
public struct ContentUnavailableView: PrimitiveView {
    public init(_ title: String, systemImage: String, description: Text? = nil) {}
}
public struct VStack: PrimitiveView {
    public init<C: View>(
        alignment: HorizontalAlignment = .center, spacing: CGFloat? = nil, @ViewBuilder content: () -> C
    ) {}
}
public struct HStack: PrimitiveView {
    public init<C: View>(alignment: VerticalAlignment = .center, spacing: CGFloat? = nil, @ViewBuilder content: () -> C)
    {}
}
public struct ZStack: PrimitiveView {
    public init<C: View>(alignment: Alignment = .center, @ViewBuilder content: () -> C) {}
}
public struct TabView: PrimitiveView { public init<C: View>(@ViewBuilder content: () -> C) {} }
public struct NavigationStack: PrimitiveView { public init<C: View>(@ViewBuilder root: () -> C) {} }
public struct List: PrimitiveView { public init<C: View>(@ViewBuilder content: () -> C) {} }
public struct Form: PrimitiveView { public init<C: View>(@ViewBuilder content: () -> C) {} }
public struct Section: PrimitiveView {
    public init<C: View>(@ViewBuilder content: () -> C) {}
    public init<C: View>(_ title: String, @ViewBuilder content: () -> C) {}
    public init<C: View, F: View>(@ViewBuilder content: () -> C, @ViewBuilder footer: () -> F) {}
}
public struct ForEach: PrimitiveView {
    public init<Data: RandomAccessCollection, ID: Hashable, C: View>(
        _ data: Data, id: KeyPath<Data.Element, ID>, @ViewBuilder content: @escaping (Data.Element) -> C
    ) {}
    public init<Data: RandomAccessCollection, C: View>(
        _ data: Data, @ViewBuilder content: @escaping (Data.Element) -> C
    ) where Data.Element: Identifiable {}
}
public struct Picker: PrimitiveView {
    public init<S: Hashable, C: View>(_ title: String, selection: Binding<S>, @ViewBuilder content: () -> C) {}
}
public struct Toggle: PrimitiveView { public init(_ title: String, isOn: Binding<Bool>) {} }
public struct Stepper: PrimitiveView {
    public init(_ title: String, value: Binding<Int>, in bounds: ClosedRange<Int>) {}
}
public struct Button: PrimitiveView {
    public init(_ title: String, action: @escaping @MainActor () -> Void) {}
    public init(_ title: String, role: ButtonRole?, action: @escaping @MainActor () -> Void) {}
}
public protocol Transferable {}
extension Data: Transferable {}
extension URL: Transferable {}
public struct ShareLink: PrimitiveView { public init<T: Transferable>(_ title: String, item: T) {} }
public struct GeometryProxy { public var size: CGSize { fatalError() } }
public struct GeometryReader: PrimitiveView {
    public init<C: View>(@ViewBuilder content: @escaping (GeometryProxy) -> C) {}
}

// MARK: gestures

public protocol Gesture {}
public struct DragGesture: Gesture {
    public struct Value { public var location: CGPoint { fatalError() } }
    public init(minimumDistance: CGFloat = 10) {}
    public func onChanged(_ action: @escaping @MainActor (Value) -> Void) -> DragGesture { self }
}

// MARK: modifiers

extension View {
    public func font(_ font: Font?) -> ModifiedView { ModifiedView() }
    public func foregroundStyle<S: ShapeStyle>(_ style: S) -> ModifiedView { ModifiedView() }
    public func background<S: ShapeStyle>(_ style: S) -> ModifiedView { ModifiedView() }
    public func padding(_ edges: Edge.Set = .all, _ length: CGFloat? = nil) -> ModifiedView { ModifiedView() }
    public func padding(_ length: CGFloat) -> ModifiedView { ModifiedView() }
    public func frame(width: CGFloat? = nil, height: CGFloat? = nil, alignment: Alignment = .center) -> ModifiedView {
        ModifiedView()
    }
    public func frame(
        maxWidth: CGFloat? = nil, maxHeight: CGFloat? = nil, alignment: Alignment = .center
    )
        -> ModifiedView
    { ModifiedView() }
    public func offset(x: CGFloat = 0, y: CGFloat = 0) -> ModifiedView { ModifiedView() }
    public func shadow(radius: CGFloat) -> ModifiedView { ModifiedView() }
    public func scaledToFit() -> ModifiedView { ModifiedView() }
    public func aspectRatio(_ ratio: CGFloat? = nil, contentMode: ContentMode) -> ModifiedView { ModifiedView() }
    public func mask<M: View>(alignment: Alignment = .center, @ViewBuilder _ mask: () -> M) -> ModifiedView {
        ModifiedView()
    }
    public func overlay<V: View>(alignment: Alignment = .center, @ViewBuilder content: () -> V) -> ModifiedView {
        ModifiedView()
    }
    public func gesture<G: Gesture>(_ gesture: G) -> ModifiedView { ModifiedView() }
    public func multilineTextAlignment(_ alignment: TextAlignment) -> ModifiedView { ModifiedView() }
    public func textSelection<S: TextSelectability>(_ selectability: S) -> ModifiedView { ModifiedView() }
    public func pickerStyle<S: PickerStyle>(_ style: S) -> ModifiedView { ModifiedView() }
    public func buttonStyle<S: PrimitiveButtonStyle>(_ style: S) -> ModifiedView { ModifiedView() }
    public func navigationTitle(_ title: String) -> ModifiedView { ModifiedView() }
    public func tabItem<V: View>(@ViewBuilder _ label: () -> V) -> ModifiedView { ModifiedView() }
    public func tag<V: Hashable>(_ tag: V) -> ModifiedView { ModifiedView() }
    public func environment<T: AnyObject & Observable>(_ object: T?) -> ModifiedView { ModifiedView() }
    public func onAppear(perform action: (@MainActor () -> Void)? = nil) -> ModifiedView { ModifiedView() }
    public func onDisappear(perform action: (@MainActor () -> Void)? = nil) -> ModifiedView { ModifiedView() }
    public func onChange<V: Equatable>(
        of value: V, initial: Bool = false, _ action: @escaping @MainActor () -> Void
    )
        -> ModifiedView
    { ModifiedView() }
    public func task(_ action: @escaping @Sendable @MainActor () async -> Void) -> ModifiedView { ModifiedView() }
    public func task<T: Equatable>(
        id value: T, _ action: @escaping @Sendable @MainActor () async -> Void
    )
        -> ModifiedView
    { ModifiedView() }
}
