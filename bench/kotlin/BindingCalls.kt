// Sequential AddMyPasswordlessLink calls through the Kotlin bindings on the JVM, timed per call:
// the Kotlin twin of bench/python/binding_calls.py.
//
// Usage: BindingCallsKt URL TRANSPORT CALLS ROUNDS. Prints one JSON line: the median call of each
// round, in microseconds. Built by `cargo xtask bench` with bench/kotlin/pom.xml against the jar
// `cargo xtask bindings kotlin` installed, and run by `zp-bench run`.

import kotlinx.coroutines.runBlocking
import zitadel.passkey.ClientConfig
import zitadel.passkey.PasskeyClient
import zitadel.passkey.Transport

const val TOKEN = "bench-token-0123456789"

fun main(args: Array<String>) = runBlocking {
    require(args.size == 4) { "usage: BindingCallsKt URL TRANSPORT CALLS ROUNDS" }
    val (url, wire, callsText, roundsText) = args
    val calls = callsText.toInt()
    val rounds = roundsText.toInt()
    val transport = when (wire) {
        "grpc" -> Transport.GRPC
        "grpc-web" -> Transport.GRPC_WEB
        "json" -> Transport.JSON
        else -> error("unknown transport $wire")
    }
    val client = PasskeyClient.withToken(ClientConfig(endpoint = url, transport = transport), TOKEN)
    // Warm the connection and the JIT: more than Python's warm-up, since HotSpot compiles the
    // call path only after some thousand runs.
    repeat(maxOf(calls, 500)) { client.addPasskeyLink().close() }
    val medians = (1..rounds).map {
        val samples = LongArray(calls) {
            val started = System.nanoTime()
            val link = client.addPasskeyLink()
            val took = System.nanoTime() - started
            link.close()
            took
        }
        samples.sort()
        samples[calls / 2] / 1000.0
    }
    println("{\"p50_us\": [${medians.joinToString(",")}]}")
    client.close()
}
