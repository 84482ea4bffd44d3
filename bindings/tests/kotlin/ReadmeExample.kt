import zitadel.passkey.ClientConfig
import zitadel.passkey.PasskeyClient
import zitadel.passkey.PasskeyException
import zitadel.passkey.TokenProvider
import zitadel.passkey.Transport

// The app's session hands out access tokens, and a new one when ZITADEL rejected the last.
class SessionTokens(private val fetch: suspend (refresh: Boolean) -> String) : TokenProvider {
    override suspend fun token(refresh: Boolean): String = fetch(refresh)
}

suspend fun passkeyLinkForCurrentUser(endpoint: String, tokens: TokenProvider): String {
    val client = PasskeyClient.withTokenProvider(
        ClientConfig(endpoint = endpoint, transport = Transport.GRPC),
        tokens,
    )
    val link = try {
        client.addPasskeyLink()
    } catch (e: PasskeyException.OutcomeUnknown) {
        throw e // a link may have been created: check before asking for another
    }
    println("created $link, expires in ${link.expiresIn()}") // the code shows as ***
    return link.url() // the full link, code included: give it only to the user
}
