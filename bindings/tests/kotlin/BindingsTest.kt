// JUnit tests of the Kotlin bindings on the JVM against the mock, run by `mvn -B install` in
// bindings/kotlin/ (which `cargo xtask bindings kotlin` runs).
// Reads ZP_MOCK_URL, ZP_TOKEN, ZP_USER_ID, ZP_ORG_ID, ZP_NO_USER_TOKEN and ZP_CLIENT_ID from the environment;
// scripts faults through the mock's admin API (/__mock).

import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import zitadel.passkey.CallOptions
import zitadel.passkey.CancellationToken
import zitadel.passkey.ClientConfig
import zitadel.passkey.DeviceAuthorization
import zitadel.passkey.PasskeyClient
import zitadel.passkey.PasskeyException
import zitadel.passkey.PasskeyState
import zitadel.passkey.SignInConfig
import zitadel.passkey.SignInException
import zitadel.passkey.SignInTokens
import zitadel.passkey.TokenProvider
import zitadel.passkey.TokenProviderException
import zitadel.passkey.TokensRefreshed
import zitadel.passkey.Transport

val MOCK: String = System.getenv("ZP_MOCK_URL")
val TOKEN: String = System.getenv("ZP_TOKEN")
val USER_ID: String = System.getenv("ZP_USER_ID")
val ORG_ID: String = System.getenv("ZP_ORG_ID")
val NO_USER_TOKEN: String = System.getenv("ZP_NO_USER_TOKEN")
val CLIENT_ID: String = System.getenv("ZP_CLIENT_ID")
val TRANSPORTS = listOf(Transport.GRPC, Transport.GRPC_WEB, Transport.JSON)
fun wire(t: Transport) = when (t) { Transport.GRPC -> "grpc"; Transport.GRPC_WEB -> "grpc-web"; Transport.JSON -> "json" }

val http: HttpClient = HttpClient.newHttpClient()

fun admin(method: String, path: String, body: String? = null): String {
    val request = HttpRequest.newBuilder(URI.create("$MOCK/__mock$path"))
        .header("content-type", "application/json")
        .method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body))
        .build()
    val response = http.send(request, HttpResponse.BodyHandlers.ofString())
    check(response.statusCode() in 200..299) { "admin $method $path: ${response.statusCode()} ${response.body()}" }
    return response.body()
}

fun fault(transport: Transport, spec: String) =
    admin("POST", "/faults", """{"method":"AddMyPasswordlessLink","transport":"${wire(transport)}",$spec}""")

fun client(transport: Transport, token: String = TOKEN) =
    PasskeyClient.withToken(ClientConfig(endpoint = MOCK, transport = transport), token)

fun codeOf(url: String): String = Regex("[?&]code=([^&#]+)").find(url)!!.groupValues[1]

fun assertHidden(vararg texts: String?, secrets: List<String>) {
    for (text in texts) for (secret in secrets) check(text == null || !text.contains(secret)) { "a secret shows in: $text" }
}

inline fun <reified E : PasskeyException> expect(grpcCode: Int, errorId: String? = null, block: () -> Unit): E {
    try {
        block()
    } catch (e: PasskeyException) {
        check(e is E) { "expected ${E::class.simpleName}, got $e (${e.message})" }
        val (code, id, description) = when (e) {
            is PasskeyException.Unauthenticated -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.PermissionDenied -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.NotFound -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.InvalidArgument -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.Unavailable -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.Timeout -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.OutcomeUnknown -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.Cancelled -> Triple(e.grpcCode, e.errorId, e.description)
            is PasskeyException.Other -> Triple(e.grpcCode, e.errorId, e.description)
        }
        check(grpcCode < 0 || code == grpcCode) { "expected gRPC code $grpcCode, got ${e.message}" }
        if (errorId != null) check(id == errorId) { "expected error id $errorId, got ${e.message}" }
        assertHidden(e.toString(), e.message, description, secrets = listOf(TOKEN))
        return e
    }
    error("expected ${E::class.simpleName}, but the call succeeded")
}

suspend fun addSendListRemoveOnEveryTransport() {
    for (transport in TRANSPORTS) {
        admin("POST", "/reset")
        val c = client(transport)
        check(c.transport() == transport)
        val link = c.addPasskeyLink()
        val url = link.url()
        val code = codeOf(url)
        check(url.startsWith("$MOCK/ui/login/login/passwordless/init?")) { url }
        check(link.userId() == USER_ID && link.orgId() == ORG_ID) { link.toString() }
        check(admin("GET", "/codes").contains("\"code_id\":\"${link.codeId()}\"")) { "the code is not live" }
        check(link.expiresIn() == Duration.ofHours(1)) { "${link.expiresIn()}" }
        check(link.expiresAt() != null)
        val details = link.details()
        check(details.resourceOwner == ORG_ID && details.sequence > 0UL && details.creationDate != null && details.changeDate == null) { "$details" }
        check(link.toString().contains("code=***")) { link.toString() }
        check(link.toString() == link.redactedUrl())
        check(c.toString().contains("static token (***)")) { c.toString() }
        assertHidden(link.toString(), details.toString(), c.toString(), "$link", secrets = listOf(code, TOKEN))

        val sent = c.sendPasskeyLink()
        check(sent.creationDate != null)
        check(admin("GET", "/outbox").contains(USER_ID)) { "nothing e-mailed" }

        val created = admin("POST", "/users/$USER_ID/passkeys", """{"name":"Pixel ${wire(transport)}"}""")
        val id = Regex("\"id\":\"([^\"]+)\"").find(created)!!.groupValues[1]
        val passkeys = c.listPasskeys()
        check(passkeys.map { Triple(it.id, it.name, it.state) } == listOf(Triple(id, "Pixel ${wire(transport)}", PasskeyState.READY))) { "$passkeys" }
        val removed = c.removePasskey(id)
        check(removed.changeDate != null)
        check(c.listPasskeys().isEmpty())
        c.close()
    }
}

suspend fun serverErrorsMapToKindsOnEveryTransport() {
    for (transport in TRANSPORTS) {
        admin("POST", "/reset")
        val e = expect<PasskeyException.Unauthenticated>(16, "AUTH-7fs1e") { client(transport, "not-a-known-token").addPasskeyLink() }
        check(e.description == "Errors.Token.Invalid") { e.description }
        expect<PasskeyException.PermissionDenied>(7, "AUTH-Bs7Ds") {
            client(transport).addPasskeyLink(CallOptions(orgId = "999999999999999999"))
        }
        expect<PasskeyException.NotFound>(5) { client(transport).removePasskey("123456789") }
        fault(transport, """"kind":"error","code":3,"id":"MOCK-inv01","message":"Errors.Invalid"""")
        expect<PasskeyException.InvalidArgument>(3, "MOCK-inv01") { client(transport).addPasskeyLink() }
        fault(transport, """"kind":"error","code":14,"id":"","message":"upstream down"""")
        expect<PasskeyException.Unavailable>(14) { client(transport).addPasskeyLink() }
        expect<PasskeyException.Other>(9, "COMMAND-GVfg3") { client(transport, NO_USER_TOKEN).addPasskeyLink() }
        fault(transport, """"kind":"delay","millis":3000""")
        expect<PasskeyException.Timeout>(4) {
            client(transport).addPasskeyLink(CallOptions(timeout = Duration.ofMillis(200)))
        }
        fault(transport, """"kind":"drop_after_handler"""")
        expect<PasskeyException.OutcomeUnknown>(-1) { client(transport).addPasskeyLink() }
    }
}

suspend fun localErrors() {
    expect<PasskeyException.InvalidArgument>(3) {
        PasskeyClient.withToken(ClientConfig(endpoint = "not a url", transport = Transport.JSON), TOKEN)
    }
    val port = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
    for (transport in TRANSPORTS) {
        val c = PasskeyClient.withToken(ClientConfig(endpoint = "http://127.0.0.1:$port", transport = transport), TOKEN)
        expect<PasskeyException.Unavailable>(14) { c.addPasskeyLink() }
    }
}

class Refreshing : TokenProvider {
    val calls = mutableListOf<Boolean>()
    override suspend fun token(refresh: Boolean): String {
        calls.add(refresh)
        delay(1) // a real provider would ask its identity provider here
        return if (refresh) TOKEN else "stale-token"
    }
}

suspend fun tokenProvider() {
    for (transport in TRANSPORTS) {
        val provider = Refreshing()
        val c = PasskeyClient.withTokenProvider(ClientConfig(endpoint = MOCK, transport = transport), provider)
        check(c.addPasskeyLink().userId() == USER_ID)
        check(provider.calls == listOf(false, true)) { "${provider.calls}" }
    }
    admin("POST", "/reset")
    val failing = listOf(
        "no session" to object : TokenProvider {
            override suspend fun token(refresh: Boolean): String = throw TokenProviderException.Failed("no session")
        },
        "bug in the app" to object : TokenProvider {
            override suspend fun token(refresh: Boolean): String = throw IllegalStateException("bug in the app")
        },
    )
    for ((text, provider) in failing) {
        val c = PasskeyClient.withTokenProvider(ClientConfig(endpoint = MOCK, transport = Transport.JSON), provider)
        val e = expect<PasskeyException.Unauthenticated>(16) { c.addPasskeyLink() }
        check(e.description.contains(text)) { e.description }
    }
    check(admin("GET", "/journal").trim() == "[]") { "a call was sent without a token" }
}

suspend fun cancellingTheCoroutineDropsTheCall() = coroutineScope {
    // A user of its own, so that delayed calls of other tests cannot add codes for it.
    val userId = "200000000000000009"
    val token = "cancel-token-Xy7q"
    for (transport in TRANSPORTS) {
        admin("POST", "/reset")
        admin("POST", "/users", """{"token":"$token","user_id":"$userId","org_id":"$ORG_ID"}""")
        fault(transport, """"kind":"delay","millis":4000""")
        val call = async { client(transport, token).addPasskeyLink() }
        delay(300)
        val started = System.nanoTime()
        call.cancel()
        try {
            call.await()
            error("the cancelled call completed")
        } catch (_: CancellationException) {
        }
        check(System.nanoTime() - started < 2_000_000_000L) { "cancellation took too long" }
        if (transport == Transport.GRPC) {
            // HTTP/2: the stream is reset and the mock drops the handler before it creates a code.
            delay(4500)
            check(!admin("GET", "/codes").contains("\"user_id\":\"$userId\"")) { "the cancelled call created a code" }
        }
        // withTimeout cancels the same way.
        fault(transport, """"kind":"delay","millis":4000""")
        try {
            withTimeout(200) { client(transport).addPasskeyLink() }
            error("the call outlived its timeout")
        } catch (_: CancellationException) {
        }
    }
}

suspend fun cancellationToken() = coroutineScope {
    for (transport in TRANSPORTS) {
        admin("POST", "/reset")
        fault(transport, """"kind":"delay","millis":5000""")
        val cancel = CancellationToken()
        launch { delay(200); cancel.cancel() }
        val started = System.nanoTime()
        expect<PasskeyException.Cancelled>(1) { client(transport).addPasskeyLink(CallOptions(cancel = cancel)) }
        check(System.nanoTime() - started < 3_000_000_000L) { "cancellation took too long" }
        check(cancel.isCancelled())
        expect<PasskeyException.Cancelled>(1) { client(transport).listPasskeys(CallOptions(cancel = cancel)) }
    }
}

class KeepTokens : TokensRefreshed {
    val seen = java.util.Collections.synchronizedList(mutableListOf<SignInTokens>())
    override fun refreshed(tokens: SignInTokens) {
        seen.add(tokens)
    }
}

suspend fun deviceSignIn() {
    admin("POST", "/reset")
    val flow = DeviceAuthorization(SignInConfig(issuer = MOCK, clientId = CLIENT_ID))
    val pending = flow.start()
    val code = pending.userCode()
    check(Regex("^[A-Z]{4}-[A-Z]{4}$").matches(code)) { code }
    check(pending.verificationUri() == "$MOCK/device") { pending.verificationUri() }
    check(pending.verificationUriComplete()!!.contains(code))
    assertHidden(pending.toString(), secrets = listOf(code))
    admin("POST", "/device/approve", """{"user_code":"$code","user_id":"$USER_ID"}""")
    val tokens = pending.waitForTokens()
    val secrets = listOf(tokens.accessToken(), tokens.refreshToken()!!)
    assertHidden(tokens.toString(), secrets = secrets)
    check(tokens.scope()!!.contains("offline_access")) { "${tokens.scope()}" }

    // The client sends the person's token; once it expires on the mock's clock (12 h), the
    // first call is refused, the token refreshed, the call retried, and the app told.
    val listener = KeepTokens()
    val c = PasskeyClient.withSignIn(ClientConfig(endpoint = MOCK, transport = Transport.GRPC_WEB), flow, tokens, listener)
    check(c.addPasskeyLink().userId() == USER_ID)
    admin("POST", "/clock/advance", """{"seconds":46800}""")
    check(c.listPasskeys().isEmpty())
    check(listener.seen.size == 1) { "${listener.seen}" }
    check(listener.seen[0].accessToken() != tokens.accessToken())
    check(listener.seen[0].refreshToken() != tokens.refreshToken()) { "rotated" }
    assertHidden(c.toString(), secrets = secrets + listener.seen[0].accessToken())

    val denied = flow.start()
    admin("POST", "/device/deny", """{"user_code":"${denied.userCode()}"}""")
    try {
        denied.waitForTokens()
        error("a denied sign-in gave tokens")
    } catch (e: SignInException.Denied) {
        check(e.oauthError == "access_denied") { "$e" }
    }
    val cancel = CancellationToken()
    cancel.cancel()
    try {
        flow.start().waitForTokens(cancel)
        error("a cancelled wait gave tokens")
    } catch (_: SignInException.Cancelled) {
    }
    try {
        DeviceAuthorization(SignInConfig(issuer = "http://example.com", clientId = "x"))
        error("plain http to another host was accepted")
    } catch (_: SignInException.InvalidArgument) {
    }
}

suspend fun readmeExample() {
    admin("POST", "/reset")
    val url = passkeyLinkForCurrentUser(MOCK, SessionTokens { refresh -> if (refresh) TOKEN else "expired" })
    check(admin("GET", "/codes").contains(codeOf(url)))
}

// The library's thread that resumes suspended calls stays attached to the JVM (a JNA
// CallbackThreadInitializer that `cargo xtask bindings` adds to the generated code), rather than
// being attached and detached, a new java.lang.Thread each time, for every wake-up.
suspend fun wakeThreadsStayAttached() {
    val c = client(Transport.GRPC)
    repeat(20) { c.addPasskeyLink().close() }
    val wakers = Thread.getAllStackTraces().keys.filter { it.name == "zitadel-passkey-wake" }
    check(wakers.isNotEmpty()) { "no attached zitadel-passkey-wake thread after 20 calls" }
    check(wakers.all { it.isDaemon }) { "a wake thread is not a daemon: it would keep the JVM alive" }
    // A handful of library threads, not one per wake-up.
    check(wakers.size <= 8) { "${wakers.size} wake threads after 20 calls" }
    c.close()
}

// JNA loaded the library this package ships (its resources), not another copy it found on a
// library search path first, such as the test build in cargo's target/<profile>/deps.
fun theLibraryIsThePackages() {
    client(Transport.GRPC).close()
    val file = com.sun.jna.NativeLibrary.getInstance("zitadel_passkey_ffi").file
    val fromPackage = file != null &&
        (file.path.contains(com.sun.jna.Platform.RESOURCE_PREFIX) || file.name.startsWith("jna"))
    check(fromPackage) {
        "the library was loaded from ${file?.path}, not from the package"
    }
}

class BindingsTest {
    @Test fun `the library is the package's`() {
        theLibraryIsThePackages()
    }

    @Test fun `wake threads stay attached`() {
        runBlocking { wakeThreadsStayAttached() }
    }

    @Test fun `add, send, list, remove on every transport`() {
        runBlocking { addSendListRemoveOnEveryTransport() }
    }

    @Test fun `server errors map to kinds on every transport`() {
        runBlocking { serverErrorsMapToKindsOnEveryTransport() }
    }

    @Test fun `local errors`() {
        runBlocking { localErrors() }
    }

    @Test fun `token provider`() {
        runBlocking { tokenProvider() }
    }

    @Test fun `cancelling the coroutine drops the call`() {
        runBlocking { cancellingTheCoroutineDropsTheCall() }
    }

    @Test fun `cancellation token`() {
        runBlocking { cancellationToken() }
    }

    @Test fun `device sign-in`() {
        runBlocking { deviceSignIn() }
    }

    @Test fun `README example`() {
        runBlocking { readmeExample() }
    }
}
