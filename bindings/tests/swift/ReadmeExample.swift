import ZitadelPasskey

// The app's session hands out access tokens, and a new one when ZITADEL rejected the last.
final class SessionTokens: TokenProvider, @unchecked Sendable {
    private let fetch: @Sendable (Bool) async throws -> String
    init(fetch: @escaping @Sendable (Bool) async throws -> String) { self.fetch = fetch }
    func token(refresh: Bool) async throws -> String { try await fetch(refresh) }
}

// Swift tasks do not cancel Rust calls: keep `cancel` and call `cancel.cancel()` to stop it.
func passkeyLinkForCurrentUser(
    endpoint: String, tokens: TokenProvider, cancel: CancellationToken
) async throws -> String {
    let client = try PasskeyClient.withTokenProvider(
        config: ClientConfig(endpoint: endpoint, transport: .grpc),
        provider: tokens
    )
    do {
        let link = try await client.addPasskeyLink(options: CallOptions(cancel: cancel))
        print("created \(link), expires in \(link.expiresIn()) s") // the code shows as ***
        return link.url() // the full link, code included: give it only to the user
    } catch let error as PasskeyError {
        if case .OutcomeUnknown = error {
            print("a link may have been created: check before asking for another")
        }
        throw error // e.g. PasskeyError.Unauthenticated(grpcCode: 16, errorId: "AUTH-7fs1e", ...)
    }
}
