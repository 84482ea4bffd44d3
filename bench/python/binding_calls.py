"""Sequential AddMyPasswordlessLink calls through the Python bindings, timed per call.

Usage: binding_calls.py URL TRANSPORT CALLS ROUNDS. Prints one JSON line: the median call of each
round, in microseconds. Run by `zp-bench run` with PYTHONPATH at the package of
`cargo xtask bindings python`; `ffi-calls` does the same calls from Rust through the same library.
"""

import asyncio
import json
import sys
import time

import zitadel_passkey as z

TOKEN = "bench-token-0123456789"
TRANSPORTS = {"grpc": z.Transport.GRPC, "grpc-web": z.Transport.GRPC_WEB, "json": z.Transport.JSON}


async def main(url: str, transport: str, calls: int, rounds: int) -> None:
    client = z.PasskeyClient.with_token(
        z.ClientConfig(endpoint=url, transport=TRANSPORTS[transport]), TOKEN
    )
    for _ in range(calls // 4 + 10):  # warm the connection and the interpreter
        await client.add_passkey_link()
    medians = []
    for _ in range(rounds):
        samples = []
        for _ in range(calls):
            started = time.perf_counter_ns()
            await client.add_passkey_link()
            samples.append(time.perf_counter_ns() - started)
        samples.sort()
        medians.append(samples[len(samples) // 2] / 1000.0)
    print(json.dumps({"p50_us": medians}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
